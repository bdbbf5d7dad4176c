"""Run one function in a forked child: a time-out, a memory cap, no network, and a crash is one line.

Queries a user writes run here (``/sparql``, ``kg query --file``), because
the engine can take the whole process down: pyoxigraph 0.5.13 *aborts* on some
``ORDER BY`` (a Rust panic, SIGABRT) and aborts when an allocation fails. In a
child that costs one process, and the parent turns it into one line.

- **Time-out**: the child is killed (SIGKILL) when it runs longer.
- **Memory**: ``RLIMIT_AS`` in the child caps the address space it may *add* to
  what it inherited; past it an allocation fails and the child dies.
- **No network** (``network=False``): on Linux x86-64 and aarch64 a seccomp
  filter makes ``socket(AF_INET/AF_INET6)`` fail with EACCES in the child, so
  nothing it runs can connect anywhere, whatever a query says.
- **Its stderr** goes to a pipe the parent reads: a panic's backtrace never
  reaches the server's log; the panic message becomes part of the one line.

The child inherits the parent's memory (copy on write), so a store is shared
without copying. Every child is forked by one long-lived thread of the
process (:func:`_on_forker`), which also makes its pipes, so a child never
holds another child's write ends (which would hide its end-of-file), and the
child's parent-death signal (Linux ties it to the *thread* that forked) comes
only when the process ends: forked from a server's pool thread, a query
streaming its answer was killed when the pool retired that idle thread, and
the answer ended early.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import io
import os
import pickle
import platform
import queue
import re
import resource
import selectors
import signal
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
_FORKER_LOCK = threading.Lock()
_forker: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] | None = None  # this process's forker's jobs
_EXIT_WAIT = 1.0  # seconds a child that closed its answer may take to exit before it counts as failed
_STDERR_KEPT = 64 * 1024  # bytes of the child's stderr kept for the message; the rest is drained


@dataclass
class Outcome:
    """How a child run ended: its value, or why there is none."""

    value: Any = None
    ok: bool = False
    raised: BaseException | None = None  # an exception the function raised (re-raise it)
    timed_out: bool = False
    out_of_memory: bool = False
    signal: int | None = None  # the signal that ended the child
    exit_code: int | None = None
    message: str = ""  # the child's own last words, one line (a panic message, an allocation failure)

    def describe(self) -> str:
        """One line saying why the child gave no value (empty when it did).

        >>> Outcome(out_of_memory=True, exit_code=0).describe(), Outcome(signal=9).describe()
        ('it ran out of memory', 'killed by SIGKILL')
        """
        if self.ok or self.raised is not None:
            return ""
        if self.timed_out:
            return "it ran longer than the time-out"
        if self.signal:
            how = f"killed by {signal.Signals(self.signal).name}" + (", out of memory" if self.out_of_memory else "")
        elif self.out_of_memory:  # a MemoryError the child caught and reported before it exited
            how = "it ran out of memory"
        else:
            how = f"exited with status {self.exit_code} without an answer"
        return how + (f" ({self.message})" if self.message else "")


def _fork(start: Callable[[int, int], None]) -> tuple[int, int, int]:
    """Fork a child that runs ``start(result_w, err_w)`` (and never returns); its pid and the two read ends.

    Done on the process's forker thread (:func:`_on_forker`): pipes and forks
    one after another there, so no other child inherits these write ends.
    """

    def here() -> tuple[int, int, int]:
        _libc()  # looked up before the fork (it runs a program), so the child need not
        opened: list[int] = []
        try:
            result_r, result_w = os.pipe()
            opened += (result_r, result_w)
            err_r, err_w = os.pipe()
            opened += (err_r, err_w)
            parent = os.getpid()
            pid = os.fork()
        except BaseException:  # no pipe or no process to be had now (EMFILE, EAGAIN): nothing left open
            for fd in opened:
                os.close(fd)
            raise
        if pid == 0:  # pragma: no cover - the child; coverage cannot follow it
            try:
                os.close(result_r)
                os.close(err_r)
                _die_with_parent(parent)
                start(result_w, err_w)
            finally:  # start never returns; whatever happens, the child never runs on in the forker's loop
                os._exit(70)
        os.close(result_w)
        os.close(err_w)
        return pid, result_r, err_r

    return _on_forker(here)


def _on_forker(func: Callable[[], T]) -> T:
    """``func()`` on this process's forker thread, which lives as long as the process: its result or its exception.

    A child's parent-death signal (``PR_SET_PDEATHSIG``) follows the thread
    that forked it, and thread pools retire idle threads (anyio after 10 s),
    while a child may still be streaming its answer. A forked process has no
    threads but the one that forked it, so each process starts its own forker.
    """
    global _forker
    with _FORKER_LOCK:
        if _forker is None:  # the first in this process (a forked one starts without: _forget_forker)
            _forker = queue.SimpleQueue()
            threading.Thread(target=_forks, args=(_forker,), name="kg-sandbox-forker", daemon=True).start()
        jobs = _forker
    done: Future[T] = Future()
    jobs.put((func, done))
    return done.result()


def _forks(jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]]) -> None:
    """The forker thread: run each job in turn, for good."""
    while True:
        func, done = jobs.get()
        try:
            done.set_result(func())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller (fork: EAGAIN, pipe: EMFILE)
            done.set_exception(exc)
        del func, done  # nothing of a job outlives it while the thread waits for the next


def _forget_forker() -> None:
    """In a child just forked: the parent's forker (and its lock, perhaps held at the fork) are not this process's."""
    global _forker, _FORKER_LOCK
    _forker = None
    _FORKER_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_forget_forker)


def run(
    func: Callable[..., Any],
    *args: Any,
    timeout: float | None = None,
    max_memory_mb: int | None = None,
    network: bool = True,
) -> Outcome:
    """Call ``func(*args)`` in a forked child and return how it went; never raises for the child's sake."""
    pid, result_r, err_r = _fork(lambda out, err: _child(func, args, out, err, timeout, max_memory_mb, network))
    return _outcome(pid, result_r, err_r, timeout)


class ForkError(OSError):
    """No child could be started for :func:`ordered` (no process or no pipe to be had)."""


def ordered(
    func: Callable[[Any], Any], items: Iterable[Any], workers: int, network: bool = True
) -> Generator[Outcome, None, None]:
    """How ``func(item)`` went for each item, in the items' order, each in a forked child, ``workers`` at a time.

    The next child starts as soon as one is collected, so while the caller
    reads one answer the others are being computed (a whole-store query's
    batches on every core). A caller that stops early has the children still
    running killed and reaped.
    """
    pending = iter(items)
    running: deque[tuple[int, int, int]] = deque()

    def start() -> bool:
        for item in pending:
            try:
                running.append(_fork(functools.partial(_in_child, func, item, network)))
            except OSError as exc:  # no process or no pipe to be had now (EAGAIN, EMFILE)
                raise ForkError(exc.errno, exc.strerror) from exc
            return True
        return False

    try:
        for _ in range(max(1, workers)):
            if not start():
                break
        while running:
            pid, result_r, err_r = running.popleft()
            outcome = _outcome(pid, result_r, err_r, None)  # closes its pipes; interrupted, kills and reaps it
            start()
            yield outcome
    finally:
        for pid, result_r, err_r in running:
            os.close(result_r)
            os.close(err_r)
            _reap(pid, kill=True)


def cores() -> int:
    """The processors this process may run on: its CPU affinity, or a cgroup v2 CPU quota (a container's
    ``--cpus``) where that is lower, at least one."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        with open("/sys/fs/cgroup/cpu.max", encoding="ascii") as fh:
            quota, period = fh.read().split()[:2]
        if quota != "max":
            n = min(n, int(quota) // int(period))  # rounded down: each process holds a batch in memory
    except (OSError, ValueError, ZeroDivisionError):
        pass  # no cgroup v2 here, or no quota
    return max(1, n)


def _in_child(func: Callable[[Any], Any], item: Any, network: bool, result_w: int, err_w: int) -> None:
    """A child of :func:`ordered`: ``func(item)``, answered as :func:`run`'s children answer."""
    _child(func, (item,), result_w, err_w, None, None, network)


def _outcome(pid: int, result_r: int, err_r: int, timeout: float | None) -> Outcome:
    """Collect a child's answer (:func:`_child`), reap it, and say how it went (interrupted while collecting, as by
    Ctrl-C: the child is killed and reaped before the interruption goes on)."""
    try:
        try:
            data, err, timed_out = _collect(pid, result_r, err_r, timeout)
        finally:
            os.close(result_r)
            os.close(err_r)
    except BaseException:
        _reap(pid, kill=True)
        raise
    outcome = _how_it_ended(_reap(pid, kill=timed_out))
    outcome.timed_out, outcome.message = timed_out, last_words(err)
    outcome.out_of_memory = "memory allocation of" in err.decode("utf-8", "replace")
    if not timed_out and data:
        try:
            kind, payload = pickle.loads(data)
        except Exception:  # noqa: BLE001 - a truncated answer is the same as none
            return outcome
        if kind == "ok":
            outcome.ok, outcome.value = True, payload
        elif kind == "memory":
            outcome.out_of_memory = True
        else:
            outcome.raised = payload
    return outcome


@dataclass
class Stream:
    """A child's answer after its head: the body as the child writes it; :meth:`close` ends the child.

    :meth:`read` waits at most ``idle`` seconds for each chunk (the child gone
    quiet: TimeoutError), so a stuck child never holds its caller for good. Its
    ``b""`` means the child wrote the whole body and exited with status 0; a
    child that ended otherwise (killed, crashed while writing) is an OSError,
    so an answer cut short never reads as a shorter whole one.
    """

    pid: int
    fd: int
    err_fd: int
    pending: bytes
    idle: float | None
    closed: bool = False
    status: int | None = None  # the child's wait status, once reaped

    def read(self, size: int = 1 << 16) -> bytes:
        """The next chunk of the body (``b""`` at its end)."""
        if self.pending:
            chunk, self.pending = self.pending[:size], self.pending[size:]
            return chunk
        with selectors.DefaultSelector() as sel:
            sel.register(self.fd, selectors.EVENT_READ)
            if not sel.select(self.idle):
                raise TimeoutError(f"the query process sent nothing for {self.idle:g} s")
        return os.read(self.fd, size) or self._ended()

    async def aread(self, size: int = 1 << 16) -> bytes:
        """:meth:`read` for an event loop: waits on the pipe without a thread (the loop's own memory, no other)."""
        if self.pending:
            chunk, self.pending = self.pending[:size], self.pending[size:]
            return chunk
        import asyncio

        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(self.fd, wake)
        try:
            await asyncio.wait_for(ready, self.idle)
        except TimeoutError:
            raise TimeoutError(f"the query process sent nothing for {self.idle:g} s") from None
        finally:
            loop.remove_reader(self.fd)
        chunk = os.read(self.fd, size)
        if not chunk:
            deadline = time.monotonic() + _EXIT_WAIT
            while not self._reaped(deadline):
                await asyncio.sleep(0.001)  # the loop serves others meanwhile
        return chunk or self._ended()

    def _reaped(self, deadline: float) -> bool:
        """Whether the child has been reaped (its status kept); past ``deadline``, an OSError: it has failed."""
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = status
            elif time.monotonic() > deadline:
                raise OSError("the query process closed its answer but did not end")
        return self.status is not None

    def _ended(self) -> bytes:
        """The body's end of file: ``b""`` if the child then exited with status 0, else OSError saying how it ended.

        End of file comes as the child exits (nothing else closes its end), so
        the wait is short; one that does not exit within :data:`_EXIT_WAIT` has failed.
        """
        deadline = time.monotonic() + _EXIT_WAIT
        while not self._reaped(deadline):
            time.sleep(0.001)
        assert self.status is not None
        if os.WIFEXITED(self.status) and os.WEXITSTATUS(self.status) == 0:
            return b""
        ended = _how_it_ended(self.status)
        raise OSError(
            f"the query process ended before its answer did: {ended.describe().replace(' without an answer', '')}"
        )

    def close(self) -> Outcome:
        """Kill the child if it still runs, reap it, close the pipes; how it ended."""
        outcome = Outcome()
        if self.closed:
            return outcome
        self.closed = True
        try:
            os.close(self.fd)
        finally:
            try:
                outcome = _how_it_ended(self.status if self.status is not None else _reap(self.pid, kill=True))
            finally:
                os.close(self.err_fd)
        return outcome


def stream(
    func: Callable[..., Any],
    *args: Any,
    timeout: float | None = None,
    max_memory_mb: int | None = None,
    network: bool = True,
    idle: float | None = None,
) -> tuple[Outcome, Stream | None]:
    """Call ``func(*args)`` in a forked child that returns ``(head, body)``: the head comes back, the body streams.

    ``body`` is bytes, or a function the child calls with a binary file to
    write into: either way the parent never holds it whole. ``timeout`` is for
    the head (the answer computed); then each chunk may take ``idle`` seconds.
    On success the outcome holds the head and a :class:`Stream` of the body
    (close it); otherwise the outcome says why, and there is no stream.
    """
    pid, result_r, err_r = _fork(
        lambda out, err: _child(func, args, out, err, timeout, max_memory_mb, network, streamed=True)
    )
    try:
        head, rest, err, timed_out = _read_head(result_r, err_r, timeout)
    except BaseException:
        Stream(pid, result_r, err_r, b"", idle).close()
        raise
    if head is not None and not timed_out:
        try:
            kind, payload = pickle.loads(head)
        except Exception:  # noqa: BLE001 - a garbled head is the same as none
            kind, payload = "", None
        if kind == "ok":
            return Outcome(value=payload, ok=True), Stream(pid, result_r, err_r, rest, idle)
    else:
        kind, payload = "", None
    if not timed_out:
        err = _drain(err_r, bytearray(err))  # a panic message comes just before the abort
    status = Stream(pid, result_r, err_r, b"", idle).close()
    outcome = Outcome(timed_out=timed_out, message=last_words(err), signal=status.signal, exit_code=status.exit_code)
    outcome.out_of_memory = kind == "memory" or "memory allocation of" in err.decode("utf-8", "replace")
    if kind == "raised":
        outcome.raised = payload
    return outcome, None


def _read_head(result_r: int, err_r: int, timeout: float | None) -> tuple[bytes | None, bytes, bytes, bool]:
    """Read the child's framed head; (head or None if it ended first, bytes after it, its stderr, timed out)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    data, err = bytearray(), bytearray()
    with selectors.DefaultSelector() as sel:
        sel.register(result_r, selectors.EVENT_READ, data)
        sel.register(err_r, selectors.EVENT_READ, err)
        while True:
            if len(data) >= 8 and len(data) >= 8 + int.from_bytes(data[:8], "big"):
                n = 8 + int.from_bytes(data[:8], "big")
                return bytes(data[8:n]), bytes(data[n:]), bytes(err), False
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                return None, b"", bytes(err), True
            for key, _ in sel.select(wait):
                chunk = os.read(key.fd, 1 << 16)
                if not chunk:
                    sel.unregister(key.fd)
                    if key.fd == result_r:
                        return None, b"", bytes(err), False
                elif key.data is data or len(err) < _STDERR_KEPT:
                    key.data.extend(chunk)


def _child(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    result_w: int,
    err_w: int,
    timeout: float | None,
    max_memory_mb: int | None,
    network: bool,
    streamed: bool = False,
) -> None:  # pragma: no cover
    code = 0
    try:
        os.dup2(err_w, 2)
        os.close(err_w)
        if timeout is not None:  # a backstop: the parent kills the child at the time-out
            signal.alarm(int(timeout) + 2)
        if max_memory_mb:
            limit_memory(max_memory_mb)
        if not network:
            block_network()
        body: Any = None
        try:
            value = func(*args)
            if streamed:
                value, body = value
            data = pickle.dumps(("ok", value))
        except MemoryError:
            data = pickle.dumps(("memory", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the parent to re-raise
            try:
                data = pickle.dumps(("raised", exc))
            except Exception:  # noqa: BLE001 - an exception that does not pickle becomes its text
                data = pickle.dumps(("raised", RuntimeError(str(exc))))
        if streamed:  # the head, framed by its length; then the body as it is written
            data = len(data).to_bytes(8, "big") + data
        _write_all(result_w, data)
        if body is not None:
            if timeout is not None:  # the answer is ready: sending it has its own, longer backstop
                signal.alarm(int(timeout) * 10 + 60)
            out = _PipeWriter(result_w)
            body(out) if callable(body) else out.write(body)
    except BaseException:  # noqa: BLE001 - the child must never return into the parent's code
        code = 70
    finally:
        os._exit(code)


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class _PipeWriter(io.RawIOBase):
    """The child's end of the answer pipe as a binary file, for serializers that write into one."""

    def __init__(self, fd: int):
        self.fd = fd

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        _write_all(self.fd, view)
        return len(view)


def _collect(pid: int, result_r: int, err_r: int, timeout: float | None) -> tuple[bytes, bytes, bool]:
    """Read the child's answer and stderr until it closes its answer pipe or the time-out passes."""
    deadline = None if timeout is None else time.monotonic() + timeout
    data, err = bytearray(), bytearray()
    with selectors.DefaultSelector() as sel:
        sel.register(result_r, selectors.EVENT_READ, data)
        sel.register(err_r, selectors.EVENT_READ, err)
        open_fds = 2
        while open_fds:
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                return bytes(data), bytes(err), True
            for key, _ in sel.select(wait):
                chunk = os.read(key.fd, 1 << 16)
                if not chunk:
                    sel.unregister(key.fd)
                    open_fds -= 1
                    if key.fd == result_r:
                        return bytes(data), _drain(err_r, err), False
                elif key.data is data or len(err) < _STDERR_KEPT:
                    key.data.extend(chunk)
    return bytes(data), bytes(err), False


def _drain(fd: int, err: bytearray, seconds: float = 1.0) -> bytes:
    """What else the child writes to stderr before it ends (a panic message comes just before the abort)."""
    deadline = time.monotonic() + seconds
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0 and sel.select(left):
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            if len(err) < _STDERR_KEPT:
                err += chunk
    return bytes(err)


def _how_it_ended(status: int) -> Outcome:
    """The signal or exit status a wait status says a child ended with."""
    return Outcome(
        signal=os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        exit_code=os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
    )


def _reap(pid: int, kill: bool) -> int:
    if kill:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _, status = os.waitpid(pid, 0)
    return status


def _die_with_parent(parent: int) -> None:
    """SIGKILL this process when the thread that forked it ends (Linux: the forker, which ends with the process
    ``parent``), so no query outlives its server; a parent already gone before this ran is caught too."""
    libc = _libc()
    if platform.system() == "Linux" and libc is not None:
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent ended before the signal was asked for
        os._exit(70)


def last_words(err: bytes) -> str:
    """The one line worth keeping from a dying child's stderr: a panic message, else its first line.

    >>> last_words(b"\\nthread '<unnamed>' (1) panicked at src/sort.rs:8:5:\\nnot a total order\\nstack backtrace:\\n  0: x")
    'pyoxigraph panicked: not a total order'
    >>> last_words(b"memory allocation of 1024 bytes failed\\n")
    'memory allocation of 1024 bytes failed'
    """
    text = err.decode("utf-8", "replace")
    panic = re.search(r"panicked at [^\n]*?:\n([^\n]+)", text) or re.search(r"panicked at '([^\n]+?)'", text)
    if panic:
        return "pyoxigraph panicked: " + panic.group(1).strip()[:300]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0][:300] if lines else ""


def limit_memory(max_mb: int) -> None:
    """Cap this process's address space at what it has now plus ``max_mb`` MiB (``RLIMIT_AS``)."""
    current = 0
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    current = int(line.split()[1]) * 1024
    except OSError:
        pass
    limit = current + max_mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


# seccomp: (AUDIT_ARCH_*, number of the socket syscall) per machine
_ARCH = {"x86_64": (0xC000003E, 41), "aarch64": (0xC00000B7, 198)}


def block_network() -> bool:
    """Make ``socket(AF_INET)`` and ``socket(AF_INET6)`` fail with EACCES in this process and its threads.

    A seccomp filter (Linux x86-64 and aarch64); it cannot be lifted again.
    Calls through another ABI than the machine's own (i386 or x32 on x86-64),
    which would reach socket() by other numbers, are refused whole: a Python
    process makes none. Returns False, changing nothing, where that is not possible.
    """
    arch = _ARCH.get(platform.machine())
    libc = _libc()
    if arch is None or platform.system() != "Linux" or libc is None:
        return False
    audit_arch, socket_nr = arch
    ld, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_JMP|JGE|K, BPF_RET|K
    allow, deny = 0x7FFF0000, 0x00050000 | errno.EACCES  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO
    x32 = 0x40000000  # __X32_SYSCALL_BIT: x32-ABI calls come with the x86-64 arch and this bit in the number
    program = [  # jump offsets count from the next instruction
        (ld, 0, 0, 4),  # seccomp_data.arch
        (jeq, 0, 7, audit_arch),  # another ABI (i386 through int 0x80, say): deny, as libseccomp's default does
        (ld, 0, 0, 0),  # seccomp_data.nr
        (jge, 5, 0, x32),  # an x32-ABI call (a socket() this filter would not see by its number): deny
        (jeq, 0, 3, socket_nr),  # not socket(): allow
        (ld, 0, 0, 16),  # args[0], the address family
        (jeq, 2, 0, socket.AF_INET),
        (jeq, 1, 0, socket.AF_INET6),
        (ret, 0, 0, allow),
        (ret, 0, 0, deny),
    ]
    code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *ins) for ins in program))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = SockFprog(len(program), ctypes.addressof(code))
    pr_set_no_new_privs, pr_set_seccomp, seccomp_mode_filter = 38, 22, 2
    if libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) != 0:
        return False
    return int(libc.prctl(pr_set_seccomp, seccomp_mode_filter, ctypes.byref(prog), 0, 0)) == 0


def resident_kb(pid: int | str = "self") -> int:
    """A process's resident memory (VmRSS) in kB, 0 where it cannot be read."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def release_memory() -> None:
    """Give memory the process freed back to the system (glibc's ``malloc_trim``; nothing elsewhere).

    A server thread that relayed a large answer leaves its freed chunks in its
    own malloc arena, where they stay counted in the process's memory; this
    returns them.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    """glibc's ``malloc_trim``, or None."""
    libc = _libc()
    return getattr(libc, "malloc_trim", None) if libc is not None else None


@functools.cache
def _libc() -> Any:
    """The C library on Linux, looked up once (finding it runs a program), or None."""
    name = ctypes.util.find_library("c") if platform.system() == "Linux" else None
    return ctypes.CDLL(name, use_errno=True) if name else None
