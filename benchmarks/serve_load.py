"""Bounded loopback load run against `kg serve`: mixed pages, RDF and SPARQL.

    python benchmarks/serve_load.py [--requests 5000] [--connections 8]

Starts `kg serve` on a free port, sends the requests over N keep-alive
connections (one thread each), and prints requests/s, p50/p95/max latency and
the number of failed requests (any status other than 200/303 counts as failed).
"""

from __future__ import annotations

import argparse
import http.client
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

PATHS = [
    ("/trial/isoda-2018", "text/html"),
    ("/trial/isoda-2018.html", "text/html"),
    ("/trial/isoda-2018/orr", "text/turtle"),
    ("/trial/isoda-2018/pfs-from-induction.jsonld", "application/ld+json"),
    ("/publication/isoda-2018.ttl", "text/turtle"),
    ("/", "text/html"),
    (
        "/sparql?"
        + urllib.parse.urlencode(
            {"query": "SELECT ?s ?v WHERE { ?s <https://w3id.org/trialkg/ontology/value> ?v } LIMIT 50"}
        ),
        "application/sparql-results+json",
    ),
    ("/sparql?" + urllib.parse.urlencode({"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"}), "text/csv"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(port: int, jobs: list[tuple[str, str]], latencies: list[float], failures: list[str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for path, accept in jobs:
        start = time.perf_counter()
        try:
            conn.request("GET", path, headers={"Accept": accept})
            resp = conn.getresponse()
            resp.read()
            if resp.status not in (200, 303):
                failures.append(f"{resp.status} {path}")
        except (OSError, http.client.HTTPException) as exc:
            failures.append(f"{type(exc).__name__} {path}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies.append(time.perf_counter() - start)
    conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--connections", type=int, default=8)
    args = ap.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as cwd:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kg", "serve", "--port", str(port)],
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).read()
                    break
                except OSError:
                    time.sleep(0.1)
            jobs = [PATHS[i % len(PATHS)] for i in range(args.requests)]
            shares = [jobs[i :: args.connections] for i in range(args.connections)]
            latencies: list[float] = []
            failures: list[str] = []
            threads = [threading.Thread(target=worker, args=(port, share, latencies, failures)) for share in shares]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - start
        finally:
            proc.terminate()
            proc.wait(10)
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    print(
        f"machine: {platform.machine()}, {platform.system()} {platform.release()}, Python {platform.python_version()}"
    )
    print(
        f"{args.requests} requests over {args.connections} connections in {wall:.2f} s: "
        f"{args.requests / wall:.0f} requests/s; latency p50 {q[49] * 1000:.1f} ms, p95 {q[94] * 1000:.1f} ms, "
        f"max {latencies[-1] * 1000:.1f} ms; failed: {len(failures)}"
    )
    if failures:
        print("first failures:", failures[:5])
        sys.exit(1)


if __name__ == "__main__":
    main()
