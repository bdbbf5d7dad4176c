"""A real Apache httpd on loopback for the tests: Debian's ``apache2``, run by the test itself.

The server gets its own configuration in a temporary folder (its own ``ServerRoot``, pid file,
logs and free loopback ports; ``mod_rewrite``, ``mod_headers``, ``mod_mime``, ``mod_dir``, and
``AllowOverride All`` so each folder's ``.htaccess`` applies, as on w3id.org). It never runs as
root: started by root (CI), it drops to ``nobody`` with ``setpriv`` before ``apache2`` starts, so
everything it serves must be readable by others (:func:`readable`). No system service is touched.
Where ``apache2`` is not installed (``.ci/run`` installs it), the caller skips with :func:`missing`.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

APACHE = "/usr/sbin/apache2"
MODULES = Path("/usr/lib/apache2/modules")
NEEDED = ("mpm_event", "authz_core", "mime", "rewrite", "headers", "dir")

CONF = """ServerRoot "{root}"
ServerName 127.0.0.1
{listen}
PidFile "{run}/httpd.pid"
DefaultRuntimeDir "{run}"
ErrorLog "{run}/error.log"
LogLevel warn
{modules}
TypesConfig "{root}/mime.types"
StartServers 1
ServerLimit 1
ThreadsPerChild 16
MaxRequestWorkers 16
<Directory />
    AllowOverride None
    Require all denied
</Directory>
{hosts}
"""

HOST = """<VirtualHost 127.0.0.1:{port}>
    DocumentRoot "{root}"
    <Directory "{root}">
        AllowOverride All
        Require all granted
    </Directory>
</VirtualHost>
"""


def missing() -> str | None:
    """Why Apache cannot run here, or None."""
    if not Path(APACHE).exists():
        return "apache2 not found: apt-get install apache2"
    absent = [m for m in NEEDED if not (MODULES / f"mod_{m}.so").exists()]
    if absent:
        return f"Apache module(s) {', '.join(absent)} not found in {MODULES}"
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        return "running as root and setpriv (util-linux) is missing: Apache must not run as root here"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def workdir() -> Path:
    """A temporary folder others can read (pytest's own are private to their owner)."""
    path = Path(tempfile.mkdtemp(prefix="trialkg-apache-", dir="/tmp"))
    path.chmod(0o755)
    return path


def readable(folder: Path) -> None:
    """Let the unprivileged server read everything below ``folder``."""
    for dirpath, dirnames, filenames in os.walk(folder):
        os.chmod(dirpath, 0o755)
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), 0o644)


class Apache:
    """One private ``apache2 -DFOREGROUND`` serving each given folder on its own loopback port."""

    def __init__(self, root: Path, folders: list[Path]):
        self.root = root
        self.folders = folders
        self.ports = [free_port() for _ in folders]
        self.proc: subprocess.Popen | None = None

    def url(self, i: int = 0) -> str:
        return f"http://127.0.0.1:{self.ports[i]}"

    def start(self, timeout: float = 30.0) -> Apache:
        run = self.root / "run"
        run.mkdir(exist_ok=True)
        run.chmod(0o777)  # the server writes its pid, mutexes and log here as nobody
        (self.root / "mime.types").write_text("")  # the site's .htaccess names every type it serves
        conf = self.root / "httpd.conf"
        conf.write_text(
            CONF.format(
                root=self.root,
                run=run,
                listen="\n".join(f"Listen 127.0.0.1:{p}" for p in self.ports),
                modules="\n".join(f"LoadModule {m}_module {MODULES}/mod_{m}.so" for m in NEEDED),
                hosts="".join(HOST.format(port=p, root=f) for p, f in zip(self.ports, self.folders)),
            )
        )
        readable(self.root)
        run.chmod(0o777)
        drop = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"] if os.geteuid() == 0 else []
        self.proc = subprocess.Popen(
            [*drop, APACHE, "-f", str(conf), "-DFOREGROUND"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"apache2 exited {self.proc.returncode}: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.ports[-1]), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"apache2 did not listen within {timeout:.0f} s: {self.log()}")

    def log(self) -> str:
        err = self.proc.stderr.read().decode(errors="replace") if self.proc and self.proc.poll() is not None else ""
        path = self.root / "run" / "error.log"
        return (err + (path.read_text(errors="replace") if path.exists() else ""))[-1500:]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
