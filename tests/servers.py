"""Servers on loopback for the tests: a real `kg serve`, a plain HTTP handler, a trap that must receive nothing."""

from __future__ import annotations

import contextlib
import http.server
import select
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.request
from collections.abc import Iterator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loopback_http(handler: type[http.server.BaseHTTPRequestHandler]) -> tuple[http.server.ThreadingHTTPServer, str]:
    """``handler`` served on a free loopback port from a daemon thread: the server and its base URL.

    Stop it with ``shutdown()`` then ``server_close()``.
    """
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


@contextlib.contextmanager
def kg_serve(*args: str, cwd: str | None = None) -> Iterator[str]:
    """Start `kg serve ARGS` (from an empty folder unless ``cwd``), yield its base URL, stop it afterwards.

    It says "serving on ..." only once it answers: the first request, sent the
    moment that line appears, must be answered (no retry).
    """
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kg", "serve", "--port", str(port), *args],
            cwd=cwd or tmp,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        base = f"http://127.0.0.1:{port}"
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        line = proc.stdout.readline().decode() if ready else ""
        if not line.startswith(f"serving on {base}/"):
            proc.kill()
            raise RuntimeError(f"kg serve did not start ({line!r}): " + proc.stderr.read().decode()[-2000:])
        urllib.request.urlopen(base + "/", timeout=60).read()  # it said so: it answers now
        try:
            yield base
        finally:
            proc.terminate()
            proc.wait(10)


class Trap:
    """A listening socket on loopback that must receive nothing: it counts every connection made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/sparql"
        self.connections = 0
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self._stop = True
        self._thread.join(2)
        self.sock.close()
