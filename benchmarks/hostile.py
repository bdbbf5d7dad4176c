"""A bounded hostile-traffic run against `kg serve`, on loopback only.

    python benchmarks/hostile.py [--scale 1.0] [--seconds 60]

Starts `kg serve` (the packaged trials plus one file that makes pyoxigraph
0.5.13 panic on an ORDER BY) on a free loopback port and sends, kind by kind:
traversal paths, huge paths and headers, SPARQL Update by every route,
SERVICE (towards a listening socket on loopback that must receive nothing),
runaway and crashing queries, oversized bodies, junk bytes, Accept headers
with thousands of ranges, and a concurrent flood. Counts are multiplied by
``--scale``; every kind stops at the ``--seconds`` deadline.

A request *fails* when the answer is not one the kind allows (a 5xx where a
4xx is due, a 200 with /etc/passwd, an update applied, a connection to the
trap) or the server stops answering. At the end the server must still answer
a known query with the same result as at the start, and its resident memory
(VmRSS) must be back near where it started. Prints a markdown table; exits 1
if anything failed.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
PANIC = "SELECT ?s ?o WHERE { ?s <http://example.org/p> ?o } ORDER BY ?o ?s"


@dataclass
class Kind:
    """One kind of hostile request: how many were tried, what came back, what failed."""

    name: str
    tried: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _rss_or_0(pid: int) -> int:
    try:
        return rss_kb(pid)
    except OSError:
        return 0


def panic_turtle() -> str:
    """48 triples on which pyoxigraph 0.5.13 aborts ORDER BY ?o ?s (tests/test_safety.py's reproducer)."""
    n = random.Random(145).randrange(20, 60)
    rng = random.Random(145)
    kinds = [
        lambda: f'"{rng.randrange(100)}"^^xsd:integer',
        lambda: '"NaN"^^xsd:double',
        lambda: f'"{rng.randrange(100)}.5"^^xsd:decimal',
        lambda: f'"s{rng.randrange(100)}"',
        lambda: f'"2020-01-{rng.randrange(1, 28):02d}"^^xsd:date',
        lambda: f'"P{rng.randrange(1, 40)}D"^^xsd:duration',
        lambda: f'"P{rng.randrange(1, 3)}M"^^xsd:duration',
        lambda: f'"2020-01-01T00:00:00{rng.choice(["", "Z", "+05:00"])}"^^xsd:dateTime',
    ]
    lines = ["@prefix xsd: <http://www.w3.org/2001/XMLSchema#> ."]
    for _ in range(n):
        lines.append(f"<http://example.org/s{rng.randrange(50)}> <http://example.org/p> {rng.choice(kinds)()} .")
    return "\n".join(lines) + "\n"


class Trap:
    """A listening socket on loopback that must receive nothing."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/x"
        self.connections = 0
        self.stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()


class Server:
    """`kg serve` on a free loopback port, with its RSS sampled every 0.1 s."""

    def __init__(self, data: Path, cwd: Path):
        self.port = free_port()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kg",
                "serve",
                "--port",
                str(self.port),
                "--trials",
                str(data),
                "--timeout",
                "2",
                "--max-queries",
                "4",
                "--max-memory",
                "512",
                "--max-rows",
                "1000",
            ],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.log: list[bytes] = []
        threading.Thread(target=lambda: self.log.extend(self.proc.stderr), daemon=True).start()
        self.peak = self.children_peak = self.most_children = 0
        deadline = time.time() + 60
        while not self.alive_answer():
            if time.time() > deadline or self.proc.poll() is not None:
                self.proc.kill()
                raise SystemExit("kg serve did not start: " + b"".join(self.log).decode()[-2000:])
            time.sleep(0.2)
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self):
        while self.proc.poll() is None:
            try:
                self.peak = max(self.peak, rss_kb(self.proc.pid))
                children = self.children()
                self.children_peak = max(self.children_peak, sum(_rss_or_0(c) for c in children))
                self.most_children = max(self.most_children, len(children))
            except OSError:
                return
            time.sleep(0.05)

    def children(self) -> list[int]:
        """The server's query children now."""
        pids: list[int] = []
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            try:
                pids += [int(p) for p in (task / "children").read_text().split()]
            except OSError:
                pass
        return pids

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None, timeout: float = 30
    ) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def sparql(self, query: str, accept: str = "text/csv") -> tuple[int, bytes]:
        return self.request("GET", "/sparql?" + urllib.parse.urlencode({"query": query}), headers={"Accept": accept})

    def alive_answer(self) -> bytes | None:
        try:
            status, body = self.sparql(COUNT)
            return body if status == 200 else None
        except OSError:
            return None

    def raw(self, data: bytes, timeout: float = 10, half_close: bool = False) -> int | None:
        """Send raw bytes; the status of the answer, or None when the server closed (or said nothing) instead."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            try:
                s.sendall(data)
                if half_close:  # junk: say that nothing more comes
                    s.shutdown(socket.SHUT_WR)
                head = s.recv(4096)
            except OSError:
                return None
        return int(head.split()[1]) if head.startswith(b"HTTP/1.") else None

    def post_stream(self, total: int, chunked: bool) -> int | None:
        """POST a ``total``-byte body in 1 MB pieces until the server answers; its status (None: closed)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
            s.sendall(
                f"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n{framing}\r\n\r\n".encode()
            )
            piece, sent = b"#" * (1 << 20), 0
            try:
                while sent < total and not select.select([s], [], [], 0)[0]:
                    s.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece)
                    sent += len(piece)
            except OSError:
                pass
            try:
                head = s.recv(4096)
            except OSError:
                return None
        return int(head.split()[1]) if head.startswith(b"HTTP/1.") else None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


# ---------------------------------------------------------------- the kinds of hostile traffic

TRAVERSAL = [
    "/../../etc/passwd",
    "/trial/../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/trial/%2e%2e/%2e%2e/etc/passwd",
    "/%252e%252e/%252e%252e/etc/passwd",
    "/..%2f..%2fetc%2fpasswd",
    "/trial/..%2f..%2f..%2fetc/passwd",
    "/trial/isoda-2018%00.ttl",
    "/trial/isoda-2018.ttl%00.html",
    "/..\\..\\etc\\passwd",
    "/%5c..%5c..%5cetc%5cpasswd",
    "//etc/passwd",
    "/.git/config",
    "/.env",
    "/queries/../../../../etc/passwd.rq",
    "/queries/..%2f..%2fetc%2fpasswd.rq",
    "/.well-known/../../../etc/passwd",
    "/trial/isoda-2018/../../../../etc/passwd.ttl",
    "/%c0%ae%c0%ae/etc/passwd",
    "/trial/%c0%af../etc/passwd",
    "/....//....//etc/passwd",
    "/trial/....//....//etc/passwd.jsonld",
    "/static/../../../proc/self/environ",
    "/proc/self/environ",
    "/index.html/../../etc/passwd",
    "/void.ttl/../..//etc/hosts",
    "/sparql/../../etc/passwd",
    "/%2fetc%2fpasswd",
]

UPDATES: list[tuple[str, str, bytes | None, dict]] = [
    ("POST", "/sparql", b"update=DROP+ALL", {"Content-Type": "application/x-www-form-urlencoded"}),
    ("POST", "/sparql", b"DROP ALL", {"Content-Type": "application/sparql-update"}),
    ("POST", "/sparql", b"CLEAR DEFAULT", {"Content-Type": "application/sparql-update; charset=utf-8"}),
    ("GET", "/sparql?update=DROP%20ALL", None, {}),
    (
        "POST",
        "/sparql",
        b"query=" + urllib.parse.quote_plus("INSERT DATA { <a:b> <a:c> <a:d> }").encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
    ),
    ("GET", "/sparql?" + urllib.parse.urlencode({"query": "DELETE WHERE { ?s ?p ?o }"}), None, {}),
    ("GET", "/sparql?" + urllib.parse.urlencode({"query": "LOAD <http://127.0.0.1:9/x> INTO GRAPH <a:g>"}), None, {}),
    ("GET", "/sparql?" + urllib.parse.urlencode({"query": "# a comment first\nDROP ALL"}), None, {}),
    (
        "GET",
        "/sparql?"
        + urllib.parse.urlencode({"query": "PREFIX a: <a:>\nWITH <a:g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }"}),
        None,
        {},
    ),
    ("POST", "/sparql", b"DROP ALL", {"Content-Type": "text/plain"}),
    ("PUT", "/sparql", b"<a:b> <a:c> <a:d> .", {"Content-Type": "application/n-triples"}),
    ("DELETE", "/sparql", None, {}),
    ("PUT", "/trial/isoda-2018.ttl", b"<a:b> <a:c> <a:d> .", {"Content-Type": "text/turtle"}),
    ("DELETE", "/trial/isoda-2018", None, {}),
]

SERVICE = [
    "SELECT * WHERE { SERVICE <{trap}> { ?s ?p ?o } }",
    "select * where { service # hidden\n <{trap}> { ?s ?p ?o } }",
    "SELECT * WHERE { SERVICE SILENT <{trap}> { ?s ?p ?o } }",
    "SELECT * WHERE { VALUES ?x { <{trap}> } SERVICE ?x { ?s ?p ?o } }",
    "SELECT * WHERE { ?s ?p 1SERVICE<{trap}>{ ?a ?b ?c } }",
    "SELECT * WHERE { ?s ?p ?o FILTER(?o<2)SERVICE#>\n<{trap}>{ ?a ?b ?c } }",
    "ASK { SERVICE <{trap}> { ?s ?p ?o } }",
    "SELECT * WHERE { SERVICE <{self}/sparql> { SERVICE <{trap}> { ?s ?p ?o } } }",
]

RUNAWAY = [  # (query, statuses allowed)
    ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }", {408}),
    ("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?a ?d ?g", {408, 500}),
    ("SELECT * WHERE { ?s (<a:p>|!<a:p>)* ?o . ?o (<a:q>|!<a:q>)* ?x }", {408, 413, 500}),
    ("SELECT * WHERE { ?s ?p ?o }", {413}),
    ("SELECT (GROUP_CONCAT(STR(?o)) AS ?x) WHERE { ?a ?b ?c . ?d ?e ?o }", {200, 408, 500}),
    (PANIC, {200, 500}),  # pyoxigraph 0.5.13 may abort: a one-line 500
]


def run_kind(kind: Kind, jobs: list[Callable[[], str | None]], deadline: float) -> None:
    """Run the jobs in order until the deadline; a job returns a status label, or raises with the failure."""
    start = time.perf_counter()
    for job in jobs:
        if time.time() > deadline:
            break
        kind.tried += 1
        try:
            label = job()
        except Failure as exc:
            kind.failures.append(str(exc))
            label = "failed"
        except OSError as exc:
            kind.failures.append(f"{type(exc).__name__}: {exc}")
            label = "error"
        kind.statuses[label] += 1
    kind.seconds = time.perf_counter() - start


class Failure(Exception):
    """An answer the kind does not allow."""


def expect(status: int | None, allowed: set, what: str) -> str:
    if status not in allowed:
        raise Failure(f"{what}: {status}")
    return str(status) if status is not None else "closed"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every count (0.05 for a smoke run)")
    ap.add_argument("--seconds", type=float, default=60.0, help="stop sending at this many seconds")
    args = ap.parse_args()
    n = lambda base: max(1, round(base * args.scale))  # noqa: E731
    work = Path(tempfile.mkdtemp(prefix="kg-hostile-"))
    data = work / "data"
    data.mkdir()
    sys.path.insert(0, str(ROOT))
    from kg import resources

    for entry in resources.trial_files():
        (data / entry.name).write_bytes(entry.read_bytes())
    (data / "mixed-datatypes.ttl").write_text(panic_turtle())
    trap = Trap()
    server = Server(data, work)
    start = time.time()
    deadline = start + args.seconds
    baseline_answer = server.alive_answer()
    for _ in range(20):  # warm up: pages, RDF, a query
        server.request("GET", "/trial/isoda-2018.html")
        server.sparql("SELECT * WHERE { ?s ?p ?o } LIMIT 10")
    time.sleep(0.5)
    rss_before = rss_kb(server.proc.pid)
    kinds: list[Kind] = []

    def kind(name: str, jobs: list[Callable[[], str | None]]) -> None:
        k = Kind(name)
        run_kind(k, jobs, deadline)
        kinds.append(k)

    def traversal(path: str) -> str:
        status, body = server.request("GET", path, headers={"Accept": "text/turtle"})
        if b"root:" in body or b"PATH=" in body or b"[core]" in body:
            raise Failure(f"{path}: served a file outside the site")
        return expect(status, {400, 404, 405, 414}, path)

    kind("traversal paths", [lambda p=p: traversal(p) for p in TRAVERSAL * n(2)])

    huge = [
        lambda: expect(
            server.raw(b"GET /" + b"a" * 1_000_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
            {400, 414, 431, None},
            "1 MB path",
        ),
        lambda: expect(
            server.raw(b"GET /trial/isoda-2018 HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 200_000 + b"\r\n\r\n"),
            {400, 431, None},
            "200 kB header",
        ),
        lambda: expect(
            server.raw(b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(5000)) + b"\r\n"),
            {200, 400, 431, None},
            "5000 headers",
        ),
        lambda: expect(server.request("GET", "/trial/" + "a/" * 3000)[0], {400, 404, 414}, "6 kB path"),
    ]
    kind("huge paths and headers", huge * n(3))

    def update(method, path, body, headers) -> str:
        status, _ = server.request(method, path, body=body, headers=headers)
        return expect(status, {400, 403, 404, 405, 415}, f"{method} {path[:60]}")

    kind("updates by every route", [lambda u=u: update(*u) for u in UPDATES * n(3)])

    def service(template: str) -> str:
        status, body = server.sparql(
            template.replace("{trap}", trap.url).replace("{self}", f"http://127.0.0.1:{server.port}")
        )
        if trap.connections:
            raise Failure("the trap received a connection")
        return expect(status, {400}, template[:40])

    kind("SERVICE", [lambda t=t: service(t) for t in SERVICE * n(4)])

    kind(
        "runaway and crashing queries",
        [lambda q=q, ok=ok: expect(server.sparql(q)[0], ok, q[:50]) for q, ok in RUNAWAY * n(2)],
    )

    bodies = [
        lambda: expect(server.post_stream(50 << 20, chunked=False), {413}, "50 MB, Content-Length"),
        lambda: expect(server.post_stream(50 << 20, chunked=True), {413, None}, "50 MB, chunked"),
    ]
    kind("oversized bodies", bodies * n(3))

    rng = random.Random(7)
    junk = [
        lambda b=bytes(rng.randrange(256) for _ in range(rng.randrange(1, 20000))): expect(
            server.raw(b, timeout=3, half_close=True), {400, None}, "junk"
        )
        for _ in range(n(20))
    ]
    junk += [
        lambda: expect(
            server.raw(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 500, timeout=3, half_close=True),
            {400, None},
            "TLS hello",
        ),
        lambda: expect(server.raw(b"GET /sparql?query=%ZZ%00 HTTP/1.1\r\nHost: x\r\n\r\n"), {400}, "bad escapes"),
        lambda: expect(
            server.raw(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"),
            {400, None},
            "negative length",
        ),
    ]
    kind("junk bytes", junk)

    def accept(count: int) -> str:
        ranges = ", ".join([f"application/x-{i};q=0.{i % 9 + 1}" for i in range(count)] + ["text/turtle"])
        request = (f"GET /trial/isoda-2018 HTTP/1.1\r\nHost: x\r\nAccept: {ranges}\r\n\r\n").encode()
        if count < 1000:  # a header a client may send: the turtle range at its end is read
            return expect(server.raw(request), {303}, f"{count} Accept ranges")
        return expect(server.raw(request), {303, 400, 406, 431, None}, f"{count} Accept ranges (past the header limit)")

    kind("many Accept ranges", [lambda c=c: accept(c) for c in [100, 999, 5000] * n(3)])

    flood = Kind("concurrent flood (32 connections)")
    began = time.perf_counter()

    def worker(seed: int) -> None:
        r = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        for _ in range(n(40)):
            if time.time() > deadline:
                break
            path, ok = r.choice(
                [
                    ("/trial/isoda-2018.html", {200}),
                    ("/trial/isoda-2018", {303}),
                    ("/sparql?" + urllib.parse.urlencode({"query": COUNT}), {200, 503}),
                    ("/sparql?" + urllib.parse.urlencode({"query": RUNAWAY[0][0]}), {408, 503}),
                ]
            )
            flood.tried += 1
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                flood.statuses[str(resp.status)] += 1
                if resp.status not in ok:
                    flood.failures.append(f"{resp.status} {path[:50]}")
            except (OSError, http.client.HTTPException) as exc:
                flood.statuses["error"] += 1
                flood.failures.append(f"{type(exc).__name__} {path[:50]}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    flood.seconds = time.perf_counter() - began
    kinds.append(flood)

    time.sleep(2.5)  # let the last children time out and the server settle
    answer = server.alive_answer()
    rss_after = rss_kb(server.proc.pid)
    alive = server.proc.poll() is None
    log = [line.decode("utf-8", "replace").rstrip() for line in server.log]
    server.stop()
    trap.stop = True
    elapsed = time.time() - start

    print("| kind | tried | failures | answers | seconds |")
    print("|---|---:|---:|---|---:|")
    for k in kinds:
        answers = ", ".join(f"{s} x{c}" for s, c in sorted(k.statuses.items()))
        print(f"| {k.name} | {k.tried} | {len(k.failures)} | {answers} | {k.seconds:.1f} |")
    total = sum(k.tried for k in kinds)
    failed = sum(len(k.failures) for k in kinds)
    same = answer is not None and answer == baseline_answer
    print()
    print(f"- requests: {total}, failures: {failed}, time: {elapsed:.1f} s")
    print(
        f"- server RSS: {rss_before / 1024:.0f} MB before, {server.peak / 1024:.0f} MB peak, "
        f"{rss_after / 1024:.0f} MB after ({(rss_after - rss_before) / 1024:+.0f} MB); query children: at most "
        f"{server.most_children} at once, {server.children_peak / 1024:.0f} MB together at the peak"
    )
    print(f"- connections to the trap: {trap.connections}; log lines: {len(log)}")
    print(
        f"- at the end the server {'answers the same count of triples' if same else 'DOES NOT answer correctly'}"
        f"{'' if alive else ' (it died)'}"
    )
    for k in kinds:
        for f in k.failures[:5]:
            print(f"  - failure, {k.name}: {f}")
    for line, count in Counter(line[:160] for line in log).most_common(5):
        print(f"  - log x{count}: {line}")
    ok = failed == 0 and same and alive and trap.connections == 0 and rss_after - rss_before < 64 * 1024
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
