"""How many connections ``kg serve`` keeps, for how long without a request, and a log that says so once.

Each open connection costs the server a file descriptor; past the process's
limit it can accept nothing, not even the connections it would close, and
every failed accept is a log line. So:

- **A cap** (``max_connections``, kept well below the descriptor limit, which
  is first raised to its hard limit): past it, the connections that have
  waited longest without sending a complete request are closed (the slow
  ones: a quick request is answered long before it is the oldest). Every
  connection first gets ``GRACE`` seconds to send its request, so a burst of
  new connections may take the count up to ``BURST`` times the cap for that long;
  beyond that, a new connection is closed at once unless an older one
  waiting for a request can go. Over the cap, a connection whose complete
  request head already waits in its socket when it is accepted (a quick
  client; a slow one never has one) is never the one closed, and makes room
  by closing the oldest waiting one even within its grace.
- **A deadline**: a connection must send a complete request (head and body)
  within ``request_timeout`` seconds of opening or of its last answer, else it
  is closed (slowloris: one header line every few seconds). Idle keep-alive
  connections are closed sooner by uvicorn (5 s).
- **A quiet log**: repeated log lines (refusals, bad requests, failed accepts)
  are written once per ``LOG_EVERY`` seconds with a count of the rest, and the
  connections closed by the cap or the deadline are one summary line per period.
"""

from __future__ import annotations

import logging
import resource
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kg.sandbox import resident_kb

if TYPE_CHECKING:
    import asyncio

LOG_EVERY = 10.0  # seconds: at most one line of a kind per period
MAX_CONNECTIONS = 1000  # open connections (fewer where the process may open fewer files)
GRACE = 0.5  # seconds a new connection has to send its request before the cap may close it
SWEEP = 0.25  # seconds between two passes over the connections (deadlines, the cap)
BURST = 3  # times the cap that connections may reach while the newest are within their grace
#: seconds a connection refused at the crowded door is held, unread, before it is looked at once more: a client
#: sends its request right after connecting, but on a busy machine the accept can come first
SECOND_LOOK = 0.05
CROWD = 64  # open connections that make a crowd (its passing gives memory back)
REQUEST_TIMEOUT = 20.0  # seconds a connection may take to send a whole request
LOG = logging.getLogger("uvicorn.error")


def raise_descriptor_limit() -> int:
    """Raise this process's soft limit of open files to its hard limit; the limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def accept_batch(descriptors: int) -> int:
    """How many connections to accept at a time (and queue in the kernel): at most half the descriptors kept free.

    Connections accepted together are looked at only after all of them, and
    those refused hold their descriptors until then.

    >>> accept_batch(20000), accept_batch(1024), accept_batch(512)
    (2048, 128, 64)
    """
    return max(16, min(2048, max(64, descriptors // 4) // 2))


def connection_cap(wanted: int, descriptors: int) -> int:
    """The cap: ``wanted``, so that ``BURST`` times it leaves a quarter of the descriptors (at least 64) free.

    >>> connection_cap(1000, 20000), connection_cap(1000, 1024), connection_cap(5000, 4096), connection_cap(1000, 512)
    (1000, 256, 1024, 128)
    """
    return max(1, min(wanted, (descriptors - max(64, descriptors // 4)) // BURST))


class Guard:
    """The open connections, those waiting longest for a request first; admits, evicts and expires them."""

    def __init__(self, cap: int, request_timeout: float):
        self.cap = cap
        self.request_timeout = request_timeout
        self.open: dict[Any, float] = {}  # connection -> since when it waits for a request (insertion order)
        self.ready: set[Any] = set()  # connections accepted with a whole request head waiting to be read
        self.closed = {"cap": 0, "deadline": 0, "refused": 0}
        self._timer: asyncio.TimerHandle | None = None
        self._logged = time.monotonic()
        self._peak = 0  # the most connections open since memory was last given back
        self._before = 0  # this process's memory (kB) when there was no crowd, last looked at
        #: called with that memory when a crowd of connections is gone (a worker then may ask to be replaced)
        self.on_crowd_passed: Callable[[int], None] | None = None

    def waiting(self, conn: Any) -> bool:
        """Whether a connection is waiting for its request (or the rest of its body), not being answered."""
        cycle = getattr(conn, "cycle", None)
        if cycle is None or cycle.response_complete:
            return conn not in self.ready
        return bool(cycle.more_body) and not cycle.response_started

    @property
    def crowded(self) -> bool:
        """Whether the cap is reached (new connections are then looked at before they are read)."""
        return len(self.open) >= self.cap

    def admit(self, conn: Any, head_ready: bool = False) -> bool:
        """Take a new connection; False if it must be closed (``BURST`` times the cap reached, none other can go).

        ``head_ready``: its whole request head was already in its socket.
        """
        if self._timer is None:
            import asyncio

            self._timer = asyncio.get_running_loop().call_later(SWEEP, self._sweep)
        now = time.monotonic()
        if len(self.open) >= BURST * self.cap and not (
            self._close_oldest_waiting(now) or (head_ready and self._close_oldest_waiting(now, grace=0.0))
        ):
            self.closed["refused"] += 1
            return False
        self.open[conn] = now
        if head_ready:
            self.ready.add(conn)
        return True

    def _close_oldest_waiting(self, now: float, grace: float = GRACE) -> bool:
        """Close the connection that has waited longest for a request, if it had its grace; whether one went."""
        for conn, since in self.open.items():
            if now - since < grace:
                return False  # the rest are newer
            if self.waiting(conn):
                self.forget(conn)
                conn.transport.abort()
                self.closed["cap"] += 1
                return True
        return False

    def answered(self, conn: Any) -> None:
        """A connection's answer went out: its wait for the next request starts now (last in line)."""
        self.ready.discard(conn)
        if conn in self.open:
            del self.open[conn]
            self.open[conn] = time.monotonic()

    def forget(self, conn: Any) -> None:
        """A connection closed."""
        self.open.pop(conn, None)
        self.ready.discard(conn)

    def _sweep(self) -> None:
        """Every ``SWEEP`` s: close connections past their deadline, then the longest waiting down to the cap; now
        and then, one line saying so."""
        now = time.monotonic()
        for conn, since in list(self.open.items()):
            if now - since < self.request_timeout:
                break  # the rest waited less (insertion order), or are newer
            if self.waiting(conn):
                self.forget(conn)
                conn.transport.abort()
                self.closed["deadline"] += 1
        while len(self.open) > self.cap and self._close_oldest_waiting(now):
            pass
        if len(self.open) <= CROWD and self._peak <= CROWD:
            self._before = resident_kb()  # calm: what the memory is without a crowd
        self._peak = max(self._peak, len(self.open))
        if self._peak > CROWD and len(self.open) < self._peak // 4:  # a crowd has gone: give its memory back
            trim_memory()
            if self.on_crowd_passed is not None:
                self.on_crowd_passed(self._before)
            self._peak = len(self.open)
        if now - self._logged >= LOG_EVERY and any(self.closed.values()):
            LOG.warning(
                "kg serve: in the last %.0f s, closed %d connection(s) to stay within %d (the longest waiting "
                "for a request first), %d with no complete request within %g s, and %d new one(s) at once, all "
                "others being busy or new",
                now - self._logged,
                self.closed["cap"],
                self.cap,
                self.closed["deadline"],
                self.request_timeout,
                self.closed["refused"],
            )
            self.closed = dict.fromkeys(self.closed, 0)
            self._logged = now
        import asyncio

        self._timer = asyncio.get_running_loop().call_later(SWEEP, self._sweep)


def trim_memory() -> None:
    """Give the memory freed by closed connections back to the system (glibc's ``malloc_trim``; else nothing)."""
    from kg.sandbox import release_memory

    release_memory()


def guarded_protocol(guard: Guard) -> type:
    """uvicorn's HTTP/1.1 protocol (h11), with every connection admitted, timed and let go by ``guard``."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class Guarded(H11Protocol):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if guard.admit(self, guard.crowded and _head_waits(transport)):
                return
            # refused: its request head may not have arrived yet; held unread, it is looked at once more
            import asyncio

            transport.pause_reading()

            def again() -> None:
                if transport.is_closing():
                    return
                if guard.admit(self, _head_waits(transport)):
                    transport.resume_reading()
                else:
                    transport.abort()

            asyncio.get_running_loop().call_later(SECOND_LOOK, again)

        def connection_lost(self, exc: Exception | None) -> None:
            guard.forget(self)
            super().connection_lost(exc)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            guard.answered(self)

    return Guarded


def _head_waits(transport: Any) -> bool:
    """Whether a whole HTTP request head already waits in the connection's socket (looked at, not read)."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return False
    try:
        with socket.fromfd(sock.fileno(), sock.family, sock.type) as peek:
            return b"\r\n\r\n" in peek.recv(16384, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except OSError:
        return False


class OncePerPeriod(logging.Filter):
    """Let one log line of a kind through per ``LOG_EVERY`` seconds; the next says how many were held back."""

    def __init__(self) -> None:
        super().__init__()
        self._last: dict[str, tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether to write ``record`` (its kind: the logger and the message before its arguments), on one line."""
        if record.exc_info and record.exc_info[1] is not None:  # asyncio's failed accepts: the error, no traceback
            record.msg = f"{record.msg}: {' '.join(str(record.exc_info[1]).split())}"
            record.exc_info = None
            record.exc_text = None
        key = f"{record.name}:{record.msg}"[:200]
        now = time.monotonic()
        last, held = self._last.get(key, (-LOG_EVERY, 0))
        if now - last < LOG_EVERY:
            self._last[key] = (last, held + 1)
            return False
        if held:
            record.msg = f"{record.msg} ({held} more like it in the last {now - last:.0f} s)"
        self._last[key] = (now, 0)
        if len(self._last) > 1000:  # kinds are few; a flood of distinct ones is not kept
            self._last.clear()
        return True


def quiet_logs() -> None:
    """Rate-limit the server's log: uvicorn's, and asyncio's (where failed accepts go)."""
    once = OncePerPeriod()
    for name in ("uvicorn.error", "asyncio", "uvicorn.access"):
        logging.getLogger(name).addFilter(once)
