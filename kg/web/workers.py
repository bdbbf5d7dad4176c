"""``kg serve``'s worker processes: one serves at a time, and is replaced when it dies or asks to be.

The server process builds the application once, opens the listening socket,
then forks a worker that serves on it. CPython seldom gives back the memory
a crowd of connections took (its small-object arenas stay pinned by the few
objects that outlive the crowd), so a worker whose memory grew by more than
:data:`GROWTH` during a crowd asks, once the crowd is gone, to be replaced:
the supervisor forks a fresh worker from its own clean state (no rebuild),
which accepts on the same socket at once, and only then asks the old one to
finish (SIGTERM: uvicorn stops accepting and completes the requests in
flight). A worker that dies is replaced at once, with one log line.
"""

from __future__ import annotations

import logging
import os
import select
import signal
from collections.abc import Callable

from kg.sandbox import resident_kb

LOG = logging.getLogger("uvicorn.error")
GROWTH = 0.1  # a worker whose memory grew by more than this share during a crowd asks to be replaced
RETIRE = b"r"  # what a worker writes to the supervisor to ask for its successor


class Worker:
    """What a worker keeps to ask for its successor: the pipe to the supervisor, asked once."""

    def __init__(self, to_supervisor: int, first: bool = True):
        self.to_supervisor = to_supervisor
        self.asked = False
        self.first = first  # the server's first worker (the one whose start is announced)

    def crowd_passed(self, before_kb: int) -> None:
        """A crowd of connections is gone: ask for a successor if memory grew past :data:`GROWTH` meanwhile."""
        now = resident_kb()
        if not self.asked and before_kb and now > before_kb * (1 + GROWTH):
            self.asked = True
            LOG.warning(
                "kg serve: after a crowd of connections this worker holds %d MB (%d MB before): a fresh one takes over",
                now >> 10,
                before_kb >> 10,
            )
            try:
                os.write(self.to_supervisor, RETIRE)
            except OSError:
                pass


def supervise(serve: Callable[[Worker], None]) -> None:
    """Run ``serve(worker)`` in a forked worker process; replace it when it asks or dies; return on SIGTERM/SIGINT.

    ``serve`` runs in the worker and returns when the worker has finished
    (after SIGTERM); the worker then exits.
    """
    workers: dict[int, int] = {}  # pid -> the read end of its pipe
    retiring: set[int] = set()
    stopping = False
    spawned = 0

    def spawn() -> int:
        nonlocal spawned
        first = spawned == 0
        spawned += 1
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the worker; coverage cannot follow it
            os.close(read_end)
            for fd in workers.values():
                os.close(fd)
            code = 0
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                _die_with_supervisor()
                serve(Worker(write_end, first))
            except BaseException:  # noqa: BLE001 - a worker never returns into the supervisor's code
                code = 1
            finally:
                os._exit(code)
        os.close(write_end)
        workers[pid] = read_end
        return pid

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in workers:
            _signal(pid, signal.SIGTERM)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        spawn()
        while workers:
            try:
                ready, _, _ = select.select(list(workers.values()), [], [], 1.0)
            except InterruptedError:
                ready = []
            for fd in ready:
                pid = next(p for p, f in workers.items() if f == fd)
                data = os.read(fd, 64)
                if RETIRE in data and not stopping and pid not in retiring:
                    spawn()  # the successor accepts before the old worker stops
                    retiring.add(pid)
                    _signal(pid, signal.SIGTERM)
            while workers:
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    pid = 0
                if pid == 0:
                    break
                if pid not in workers:
                    continue
                os.close(workers.pop(pid))
                if pid in retiring:
                    retiring.discard(pid)
                elif not stopping:
                    how = (
                        f"signal {os.WTERMSIG(status)}"
                        if os.WIFSIGNALED(status)
                        else f"status {os.WEXITSTATUS(status)}"
                    )
                    LOG.error("kg serve: the worker process ended (%s); a new one takes over", how)
                    spawn()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _die_with_supervisor() -> None:
    """SIGTERM this worker when the supervisor dies (Linux), so no worker outlives its server."""
    import ctypes
    import ctypes.util
    import platform

    name = ctypes.util.find_library("c")
    if platform.system() == "Linux" and name:
        pr_set_pdeathsig = 1
        ctypes.CDLL(name).prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
