"""A bounded hostile-traffic run against `kg serve`, on loopback only.

    python benchmarks/hostile.py [--scale 1.0] [--seconds 60]

Starts `kg serve` (the packaged trials plus one file that makes pyoxigraph
0.5.13 panic on an ORDER BY) on a free loopback port and sends, kind by kind:
traversal paths, huge paths and headers, SPARQL Update by every route,
SERVICE (towards a listening socket on loopback that must receive nothing),
runaway and crashing queries, oversized bodies, junk bytes, Accept headers
with thousands of ranges, and a concurrent flood. Counts are multiplied by
``--scale``; every kind stops at the ``--seconds`` deadline. Then, on their
own clocks:

- **slowloris**: two processes (from 127.0.0.2 and 127.0.0.3) each keep
  10,000 connections open for 45 s (times ``--scale``), sending one header
  line every 5 s and never finishing a request, opening a new one for each
  the server closes (at most 500 a second, at most 3 x 10,000 in all), while
  quick requests (a page, an RDF document, an ASK query) go every 0.2 s from
  127.0.0.1 and must all be answered, within 10 s each;
- **big results**: four queries at once, each answered with about 77 MB
  (1,000 rows of a 77 kB literal, within ``--max-rows``), read whole.

A request *fails* when the answer is not one the kind allows (a 5xx where a
4xx is due, a 200 with /etc/passwd, an update applied, a connection to the
trap, a quick request not answered) or the server stops answering. At the end
the server must still answer a known query with the same result as at the
start, and its resident memory (VmRSS) must be back within 20 % of where it
started. Prints a markdown table; exits 1 if anything failed.

    python benchmarks/hostile.py --slowloris PORT COUNT SECONDS SOURCE

is one slowloris process (started by the run itself).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import select
import selectors
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
    memory_kb: int = 0  # the server's memory right after this kind


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


def pss_kb(pid: int) -> int:
    """A process's proportional set size in kB (its resident memory, pages it shares counted by share); 0 if gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def child_pids(pid: int) -> list[int]:
    pids: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return pids
    for task in tasks:
        try:
            pids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return pids


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
                self.peak = max(self.peak, self.memory_kb())
                children = self.children()
                self.children_peak = max(self.children_peak, sum(_rss_or_0(c) for c in children))
                self.most_children = max(self.most_children, len(children))
            except OSError:
                return
            time.sleep(0.05)

    def workers(self) -> list[int]:
        """The server's worker processes (the process itself serves nothing: it forks a worker that does)."""
        return child_pids(self.proc.pid)

    def memory_kb(self) -> int:
        """The server's memory: the PSS of the server process and its workers (shared pages counted once)."""
        return sum(pss_kb(pid) for pid in [self.proc.pid, *self.workers()])

    def children(self) -> list[int]:
        """The server's query children now (children of its workers)."""
        return [c for w in self.workers() for c in child_pids(w)]

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


# ---------------------------------------------------------------- slowloris and big results


def slowloris_worker(port: int, count: int, seconds: float, source: str) -> dict:
    """Keep ``count`` connections from ``source`` half-way through a request for ``seconds``; what happened.

    Each sends a request line and a header, then one more header line every 5 s,
    never the blank line that ends the head. Each one the server closes is
    replaced (at most 500 new connections a second, at most 3 x ``count`` in all).
    """
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sel = selectors.DefaultSelector()
    stats = Counter()
    conns: dict[socket.socket, float] = {}  # socket -> when it last sent a line
    end = time.monotonic() + seconds
    budget = 3 * count

    def open_one() -> None:
        s = socket.socket()
        s.setblocking(False)
        try:
            s.bind((source, 0))
            s.connect_ex(("127.0.0.1", port))
        except OSError:
            stats["could not open"] += 1
            s.close()
            return
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, "connecting")
        conns[s] = 0.0
        stats["opened"] += 1

    def drop(s: socket.socket, why: str) -> None:
        stats[why] += 1
        sel.unregister(s)
        conns.pop(s, None)
        s.close()

    refill = time.monotonic()
    while time.monotonic() < end:
        now = time.monotonic()
        allowance = count if stats["opened"] == 0 else int((now - refill) * 500)
        if allowance:
            refill = now
        while len(conns) < count and allowance > 0 and stats["opened"] < budget:
            open_one()
            allowance -= 1
        if os.environ.get("LORIS_DEBUG"):
            print(f"{time.monotonic() - end + seconds:.1f} s: {len(conns)} open, {dict(stats)}", file=sys.stderr)
        for key, events in sel.select(0.2):
            s = key.fileobj
            if key.data == "connecting" and events & selectors.EVENT_WRITE:
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    drop(s, "connect failed")
                    continue
                try:
                    s.send(b"GET /trial/isoda-2018 HTTP/1.1\r\nHost: x\r\nX-Slow-0: 0\r\n")
                except OSError:
                    drop(s, "closed by the server")
                    continue
                sel.modify(s, selectors.EVENT_READ, "open")
                conns[s] = time.monotonic()
            elif events & selectors.EVENT_READ:
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    drop(s, "closed by the server")
                else:
                    stats["answered (should not be)"] += 1
                    drop(s, "closed by the server")
        now = time.monotonic()
        for s, last in list(conns.items()):
            if last and now - last >= 5:
                try:
                    s.send(b"X-Slow-%d: 1\r\n" % int(now))
                    conns[s] = now
                    stats["lines trickled"] += 1
                except OSError:
                    drop(s, "closed by the server")
        stats["most open at once"] = max(stats["most open at once"], len(conns))
    for s in list(conns):
        drop(s, "still open at the end")
    return dict(stats)


def open_files(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def slowloris(server: Server, scale: float) -> tuple[Kind, dict]:
    """Two slowloris processes of 10,000 connections for 45 s (times ``scale``), and quick requests meanwhile."""
    count, seconds = max(50, round(10_000 * scale)), 45 * min(1.0, max(scale, 0.1))
    mark = len(server.log)
    workers = [
        subprocess.Popen(
            [sys.executable, __file__, "--slowloris", str(server.port), str(count), str(seconds), source],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for source in ("127.0.0.2", "127.0.0.3")
    ]
    quick = Kind(f"quick requests during slowloris (2 x {count:,} connections, {seconds:.0f} s)")
    began = time.perf_counter()
    end, fds, latencies = time.monotonic() + seconds, 0, []
    targets = [
        ("/void.ttl", {200}),
        ("/trial/isoda-2018.html", {200}),
        ("/trial/isoda-2018", {303}),
        ("/sparql?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"}), {200}),
    ]
    time.sleep(min(3.0, seconds / 5))  # the attackers' connections first
    while time.monotonic() < end - 1:
        path, ok = targets[quick.tried % len(targets)]
        quick.tried += 1
        t = time.perf_counter()
        try:
            status, _ = server.request("GET", path, timeout=10)
            quick.statuses[str(status)] += 1
            latencies.append(time.perf_counter() - t)
            if status not in ok:
                quick.failures.append(f"{status} {path[:50]}")
        except (OSError, http.client.HTTPException) as exc:
            quick.statuses["not answered"] += 1
            quick.failures.append(f"{type(exc).__name__} {path[:50]} at {time.perf_counter() - began:.1f} s")
        fds = max(fds, max((open_files(w) for w in server.workers()), default=0))
        time.sleep(0.2)
    attack = Counter()
    for w in workers:
        out, err = w.communicate(timeout=seconds + 120)
        try:
            attack.update(json.loads(out.strip().splitlines()[-1]))
        except (ValueError, IndexError):
            quick.failures.append(f"a slowloris process failed: {err.strip()[-300:]}")
        if err.strip():
            print("slowloris stderr:", err.strip()[-500:], file=sys.stderr)
    quick.seconds = time.perf_counter() - began
    settle = time.monotonic() + 30  # a worker that grew during the crowd hands over to a fresh one: wait for it
    while len(server.workers()) > 1 and time.monotonic() < settle:
        time.sleep(0.2)
    latencies.sort()
    facts = {
        "attack": dict(attack),
        "p50": latencies[len(latencies) // 2] if latencies else 0.0,
        "max": latencies[-1] if latencies else 0.0,
        "open files": fds,
        "log lines": len(server.log) - mark,
        "recycled": any(b"a fresh one takes over" in line for line in server.log[mark:]),
    }
    return quick, facts


BIG = 77_000  # characters of the literal; 1,000 rows of it make a result of about 77 MB


def big_results(server: Server, scale: float) -> tuple[Kind, dict]:
    """Four queries at once, each answered with about 77 MB (times ``scale``), read whole."""
    size = max(1000, round(BIG * scale))
    values = " ".join(str(i) for i in range(1000))
    query = f'SELECT ?i ?big WHERE {{ VALUES ?i {{ {values} }} VALUES ?big {{ "{"x" * size}" }} }}'
    kind = Kind(f"4 results of {1000 * size / 1e6:.0f} MB at once")
    got: list[int] = []
    began = time.perf_counter()
    before_peak = server.peak

    def one() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        try:
            conn.request(
                "POST",
                "/sparql",
                body=query.encode(),
                headers={"Content-Type": "application/sparql-query", "Accept": "text/csv"},
            )
            resp = conn.getresponse()
            n = 0
            while chunk := resp.read(1 << 20):
                n += len(chunk)
            kind.statuses[str(resp.status)] += 1
            got.append(n)
            if resp.status != 200 or n < 1000 * size:
                kind.failures.append(f"{resp.status}, {n:,} bytes")
        except (OSError, http.client.HTTPException) as exc:
            kind.statuses["error"] += 1
            kind.failures.append(f"{type(exc).__name__}: {exc}")
        finally:
            conn.close()

    threads = [threading.Thread(target=one) for _ in range(4)]
    kind.tried = len(threads)
    server.peak = 0
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    kind.seconds = time.perf_counter() - began
    facts = {"bytes": got, "server peak": server.peak, "children peak": server.children_peak}
    server.peak = max(server.peak, before_peak)
    return kind, facts


def main() -> int:
    if len(sys.argv) == 6 and sys.argv[1] == "--slowloris":
        port, count, seconds, source = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
        print(json.dumps(slowloris_worker(port, count, seconds, source)))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every count (0.05 for a smoke run)")
    ap.add_argument("--seconds", type=float, default=60.0, help="stop sending at this many seconds")
    ap.add_argument(
        "--memory-slack-mb",
        type=float,
        default=0.0,
        help="memory at the end may also be this many MB above the start (a smoke run: the page caches a few "
        "dozen requests fill weigh more than 20 %% of a 50 MB server)",
    )
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
    rss_before = server.memory_kb()
    kinds: list[Kind] = []

    def kind(name: str, jobs: list[Callable[[], str | None]]) -> None:
        k = Kind(name)
        run_kind(k, jobs, deadline)
        k.memory_kb = server.memory_kb()
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
    flood.memory_kb = server.memory_kb()
    kinds.append(flood)

    loris, loris_facts = slowloris(server, args.scale)
    loris.memory_kb = server.memory_kb()
    kinds.append(loris)
    big, big_facts = big_results(server, args.scale)
    big.memory_kb = server.memory_kb()
    kinds.append(big)

    time.sleep(2.5)  # let the last children time out and the server settle
    answer = server.alive_answer()
    rss_after = server.memory_kb()
    alive = server.proc.poll() is None
    log = [line.decode("utf-8", "replace").rstrip() for line in server.log]
    server.stop()
    trap.stop = True
    elapsed = time.time() - start

    print("| kind | tried | failures | answers | seconds | server memory after |")
    print("|---|---:|---:|---|---:|---:|")
    for k in kinds:
        answers = ", ".join(f"{s} x{c}" for s, c in sorted(k.statuses.items()))
        print(
            f"| {k.name} | {k.tried} | {len(k.failures)} | {answers} | {k.seconds:.1f} | {k.memory_kb / 1024:.0f} MB |"
        )
    total = sum(k.tried for k in kinds)
    failed = sum(len(k.failures) for k in kinds)
    same = answer is not None and answer == baseline_answer
    print()
    print(f"- requests: {total}, failures: {failed}, time: {elapsed:.1f} s")
    print(
        f"- server memory (PSS of the server and its worker): {rss_before / 1024:.0f} MB before, {server.peak / 1024:.0f} MB peak, "
        f"{rss_after / 1024:.0f} MB after ({(rss_after - rss_before) / 1024:+.0f} MB); query children: at most "
        f"{server.most_children} at once, {server.children_peak / 1024:.0f} MB together at the peak"
    )
    print(f"- connections to the trap: {trap.connections}; log lines: {len(log)}")
    attack = loris_facts["attack"]
    print(
        f"- slowloris: {attack.get('opened', 0):,} connections opened, at most "
        f"{attack.get('most open at once', 0):,} open at once (both processes), {attack.get('closed by the server', 0):,} "
        f"closed by the server, {attack.get('answered (should not be)', 0)} answered; server open files at most "
        f"{loris_facts['open files']:,}; {loris_facts['log lines']} log line(s) meanwhile; the worker "
        f"{'was replaced by a fresh one after the crowd' if loris_facts['recycled'] else 'was not replaced'}; quick requests "
        f"{loris.tried - len(loris.failures)} of {loris.tried} answered (p50 {loris_facts['p50'] * 1000:.0f} ms, "
        f"max {loris_facts['max'] * 1000:.0f} ms)"
    )
    print(
        f"- big results: {', '.join(f'{n / 1e6:.0f} MB' for n in big_facts['bytes'])} read; server memory at most "
        f"{big_facts['server peak'] / 1024:.0f} MB meanwhile (query children: {big_facts['children peak'] / 1024:.0f} MB "
        "together at their peak)"
    )
    slack = args.memory_slack_mb * 1024
    within = rss_after <= max(1.2 * rss_before, rss_before + slack)
    print(
        f"- quick requests {'were all answered' if not loris.failures else 'were NOT all answered'}; memory at the end "
        f"{'is' if within else 'is NOT'} within 20 % of the start{f' or {args.memory_slack_mb:g} MB' if slack else ''} "
        f"({rss_after / 1024:.0f} MB against {rss_before / 1024:.0f} MB)"
    )
    print(
        f"- at the end the server {'answers the same count of triples' if same else 'DOES NOT answer correctly'}"
        f"{'' if alive else ' (it died)'}"
    )
    for k in kinds:
        for f in k.failures[:5]:
            print(f"  - failure, {k.name}: {f}")
    for line, count in Counter(line[:160] for line in log).most_common(5):
        print(f"  - log x{count}: {line}")
    ok = failed == 0 and same and alive and trap.connections == 0 and within
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
