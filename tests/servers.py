"""A real `kg serve` on a free loopback port, for the tests that need one."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def kg_serve(*args: str, cwd: str | None = None) -> Iterator[str]:
    """Start `kg serve ARGS` (from an empty folder unless ``cwd``), yield its base URL, stop it afterwards."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kg", "serve", "--port", str(port), *args],
            cwd=cwd or tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/", timeout=2).read()
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    proc.kill()
                    raise RuntimeError("kg serve did not start: " + proc.stderr.read().decode()[-2000:]) from None
                time.sleep(0.2)
        try:
            yield base
        finally:
            proc.terminate()
            proc.wait(10)
