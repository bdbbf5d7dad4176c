"""Peak memory of `kg query --endpoint` against the size of the answer, on loopback.

    python benchmarks/query_stream.py [--rows 2000] [--kg PATH]

Starts an in-memory `oxigraph serve` (pip install oxigraph) on a free loopback
port and asks it, through `kg query --file Q --endpoint URL`, for a grid of
``rows`` x ``rows`` solutions (a VALUES cross product: no data needed), in CSV
and as the table; measures the answer's size (the SPARQL JSON the server
sends) and each `kg` process's peak resident memory (``ru_maxrss`` from
``wait4``). ``--kg PATH`` runs the kg package found under PATH instead (to
compare with another checkout). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def grid(n: int) -> str:
    values = " ".join(str(i) for i in range(n))
    return f"SELECT ?a ?b WHERE {{ VALUES ?a {{ {values} }} VALUES ?b {{ {values} }} }}\n"


def peak_mb(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int]:
    """Run ``cmd`` with its output thrown away; (peak RSS in MB, seconds, exit status)."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=null, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:6])}... failed: {err[-500:]}")
    return usage.ru_maxrss / 1024, time.perf_counter() - start, proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2000, help="the grid's side: rows x rows solutions")
    ap.add_argument("--kg", default=str(ROOT), help="the folder holding the kg package to run")
    args = ap.parse_args()
    exe = Path(sys.executable).with_name("oxigraph")
    binary = str(exe) if exe.exists() else shutil.which("oxigraph")
    if not binary:
        raise SystemExit("the oxigraph server is not installed (pip install oxigraph)")
    work = Path(tempfile.mkdtemp(prefix="kg-stream-"))
    port = free_port()
    server = subprocess.Popen(
        [binary, "serve", "--location", str(work / "db"), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}/query"
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(endpoint + "?query=ASK%7B%7D", timeout=2).read()
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("oxigraph did not start") from None
                time.sleep(0.2)
        q = work / "grid.rq"
        q.write_text(grid(args.rows))
        body = urllib.parse.urlencode({"query": q.read_text()}).encode()
        req = urllib.request.Request(
            endpoint,
            data=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/sparql-results+json",
            },
        )
        size = 0
        with urllib.request.urlopen(req, timeout=600) as resp:
            while chunk := resp.read(1 << 20):
                size += len(chunk)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [args.kg, os.environ.get("PYTHONPATH")]))}
        base = [sys.executable, "-m", "kg"]
        small = work / "one.rq"
        small.write_text(grid(1))
        rows = []
        floor, _, _ = peak_mb(
            [*base, "query", "--file", str(small), "--endpoint", endpoint, "--format", "csv"], env, work
        )
        for fmt in ("csv", "json", "table"):
            mb, seconds, _ = peak_mb(
                [*base, "query", "--file", str(q), "--endpoint", endpoint, "--format", fmt], env, work
            )
            rows.append((fmt, mb, seconds))
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    print(f"answer: {args.rows**2:,} solutions, {size / 2**20:.0f} MB of SPARQL JSON; kg from {args.kg}")
    print()
    print("| output | peak RSS of kg | above a one-row answer | seconds |")
    print("|---|---:|---:|---:|")
    print(f"| one row (the floor) | {floor:.0f} MB | | |")
    for fmt, mb, seconds in rows:
        print(f"| {fmt} | {mb:.0f} MB | {mb - floor:+.0f} MB | {seconds:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
