"""Issue 12: kg as a publisher and a public endpoint, attacked on loopback with real processes.

One test (or more) per defect of the issue, each named after what broke; every
one of them failed before the fix (5ea938a) where the defect applies. Nothing
here leaves loopback: listening sockets that must receive nothing stand in for
the hosts an attacker would reach.
"""

from __future__ import annotations

import base64
import http.server
import importlib.util
import os
import platform
import random
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pyoxigraph as ox
import pytest

ROOT = Path(__file__).resolve().parent.parent
TKG = "https://w3id.org/trialkg/"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import loopback_http  # noqa: E402

# ---------------------------------------------------------------- helpers: processes, sockets, memory


def kg_env(**extra: str) -> dict[str, str]:
    """The environment `kg` runs in, as tests/conftest.py's run_kg sets it (the kg these tests import)."""
    import kg as package

    where = str(Path(package.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [where, os.environ.get("PYTHONPATH")]))}
    env.pop("TRIALKG_TEST_PAUSE_AT", None)  # the pause hook reaches only the process a test gives it to
    return {**env, **extra}


def kg_popen(*args: str, cwd: Path, **extra_env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "kg", *args],
        cwd=cwd,
        env=kg_env(**extra_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def server_rss_kb(pid: int) -> int:
    """The memory of a `kg serve`: its own and its worker's (the process that serves; query children are the
    worker's children, not counted)."""
    workers = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        workers += [int(p) for p in (task / "children").read_text().split()]
    return rss_kb(pid) + sum(rss_kb(w) for w in workers)


def one_line(text: str) -> bool:
    return len(text.strip().splitlines()) == 1


class KgServe:
    """A real `kg serve` on a free loopback port; its stderr is collected for the log-line checks."""

    def __init__(self, *args: str, cwd: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kg", "serve", "--port", str(self.port), *args],
            cwd=cwd,
            env=kg_env(RUST_BACKTRACE="1"),  # as it was set when a panic flooded the log
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.log: list[bytes] = []
        threading.Thread(target=self._read_log, daemon=True).start()
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(self.base + "/void.ttl", timeout=2).read()
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("kg serve did not start: " + b"".join(self.log).decode()[-2000:])
                time.sleep(0.2)

    def _read_log(self):
        for line in self.proc.stderr:
            self.log.append(line)

    def log_lines(self) -> list[str]:
        time.sleep(0.3)
        return [line.decode("utf-8", "replace").rstrip("\n") for line in self.log]

    def sparql(self, query: str, accept: str = "application/sparql-results+json", timeout: float = 60):
        """GET /sparql: (status, headers, body)."""
        url = self.base + "/sparql?" + urllib.parse.urlencode({"query": query})
        req = urllib.request.Request(url, headers={"Accept": accept})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def answers(self) -> bool:
        status, _, body = self.sparql("ASK { ?s ?p ?o }")
        return status == 200 and b"true" in body

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


# The reproducer of the pyoxigraph 0.5.13 panic: ORDER BY over mixed datatypes is not a total order,
# and Rust's sort aborts the process (SIGABRT) on these 48 triples (deterministic; found by fuzzing).
PANIC_QUERY = "SELECT ?s ?o WHERE { ?s <http://example.org/p> ?o } ORDER BY ?o ?s\n"


def panic_turtle() -> str:
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


def fixed_upstream(folder: Path) -> bool:
    """Whether pyoxigraph itself, unprotected, now runs the reproducer in ``folder`` without aborting."""
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            f"""
from kg.dataset import Dataset
from kg.sources import files
store = Dataset.build(files([{str(folder)!r}])).store
list(store.query({PANIC_QUERY!r}, use_default_graph_as_union=True))
""",
        ],
        env=kg_env(),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=folder,
    )
    return probe.returncode == 0


@pytest.fixture(scope="module")
def panic_data(tmp_path_factory) -> Path:
    """A folder holding the panic reproducer as a publication file, and the query beside it as q.rq."""
    d = tmp_path_factory.mktemp("panic")
    (d / "data").mkdir()
    (d / "data" / "mixed.ttl").write_text(panic_turtle())
    (d / "q.rq").write_text(PANIC_QUERY)
    return d


@pytest.fixture(scope="module")
def served(panic_data):
    """`kg serve` over the reproducer data, with small limits: 2 s, one query at a time, 256 MB per query."""
    srv = KgServe(
        "--trials",
        str(panic_data / "data"),
        "--timeout",
        "2",
        "--max-queries",
        "1",
        "--max-memory",
        "256",
        "--max-rows",
        "300",
        cwd=panic_data,
    )
    yield srv
    srv.stop()


# ---------------------------------------------------------------- 1. kg publish never deletes what it did not write


def test_publish_refuses_a_folder_with_user_files(kg, tmp_path):
    site = tmp_path / "s"
    site.mkdir()
    (site / "n.txt").write_text("keep")
    r = kg("publish", "--static", str(site))
    assert r.returncode == 5 and one_line(r.stderr), r.stderr
    assert "n.txt" in r.stderr
    assert (site / "n.txt").read_text() == "keep"
    assert sorted(p.name for p in site.iterdir()) == ["n.txt"], "nothing was added either"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".s.")], "no half-built site is left beside it"


def test_publish_keeps_a_git_folder(kg, tmp_path):
    site = tmp_path / "s"
    (site / ".git").mkdir(parents=True)
    (site / ".git" / "config").write_text("[core]\n")
    r = kg("publish", "--static", str(site))
    assert r.returncode == 5 and one_line(r.stderr), r.stderr
    assert (site / ".git" / "config").read_text() == "[core]\n"


def test_publish_refuses_the_working_directory_with_user_files(kg, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.md").write_text("mine")
    (work / "src").mkdir()
    (work / "src" / "a.py").write_text("print(1)")
    r = kg("publish", "--static", ".", cwd=work)
    assert r.returncode == 5 and one_line(r.stderr), r.stderr
    assert (work / "notes.md").read_text() == "mine" and (work / "src" / "a.py").read_text() == "print(1)"
    assert sorted(p.name for p in work.iterdir()) == ["notes.md", "src"]


@pytest.mark.slow
def test_publish_over_its_own_site_in_the_working_directory_keeps_the_folder(kg, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "x.ttl").write_text(f'<{TKG}trial/x> <http://www.w3.org/2000/01/rdf-schema#label> "trial x" .\n')
    work = tmp_path / "work"
    work.mkdir()
    assert kg("publish", "--static", ".", "--trials", str(data), cwd=work).returncode == 0
    inode = work.stat().st_ino
    (data / "y.ttl").write_text(f'<{TKG}trial/y> <http://www.w3.org/2000/01/rdf-schema#label> "trial y" .\n')
    r = kg("publish", "--static", ".", "--trials", str(data), cwd=work)
    assert r.returncode == 0, r.stderr
    assert work.stat().st_ino == inode, "the working directory is the same folder, not a renamed copy"
    assert (work / "trial" / "y.html").exists() and (work / "index.html").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".work.")], "nothing is left beside it"


@pytest.mark.slow
def test_publish_into_an_empty_folder_and_over_its_own_site(kg, tmp_path):
    data = tmp_path / "data"  # a small publication keeps the three runs quick
    data.mkdir()
    (data / "x.ttl").write_text(f'<{TKG}trial/x> <http://www.w3.org/2000/01/rdf-schema#label> "trial x" .\n')
    site = tmp_path / "site"
    site.mkdir()
    inode = site.stat().st_ino
    r = kg("publish", "--static", str(site), "--trials", str(data))
    assert r.returncode == 0, r.stderr
    assert site.stat().st_ino == inode, "an empty folder keeps its identity"
    assert (site / "index.html").exists() and (site / "trial" / "x.html").exists()
    r = kg("publish", "--static", str(site), "--trials", str(data))
    assert r.returncode == 0, "kg publish replaces its own earlier output: " + r.stderr
    (site / "CNAME").write_text("example.org")
    r = kg("publish", "--static", str(site), "--trials", str(data))
    assert r.returncode == 5 and "CNAME" in r.stderr, "a file the user added is never deleted"
    assert (site / "CNAME").read_text() == "example.org"


@pytest.mark.slow
def test_the_site_marker_lists_exactly_the_files_publish_wrote(kg, tmp_path):
    """The marker (written as the files are, no list of them held) is what lets the next publish replace the site:
    it lists every file of the site once and nothing else, new folder or merged into an existing one."""
    import json

    data = tmp_path / "data"
    data.mkdir()
    (data / "x.ttl").write_text(f'<{TKG}trial/x> <http://www.w3.org/2000/01/rdf-schema#label> "trial x" .\n')

    def files(site: Path) -> list[str]:
        return sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())

    for site in (tmp_path / "new", tmp_path / "new"):  # a new folder, then over its own site (files merged)
        r = kg("publish", "--static", str(site), "--trials", str(data))
        assert r.returncode == 0, r.stderr
        listed = json.loads((site / ".trialkg-site.json").read_text())["files"]
        assert sorted(listed) == [f for f in files(site) if f != ".trialkg-site.json"]
        assert len(listed) == len(set(listed)) > 100 and "trial/x.html" in listed


# ---------------------------------------------------------------- 2. one writer per embedded store, recoverable swaps


def _publication(trial_turtle: str, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ttl"
    path.write_text(trial_turtle)
    return path


def _graphs(store: Path) -> set[str]:
    """The named graphs of a store's data, as `kg query --store` finds them (by their last segment; not the
    description, graph/void, that every load stores)."""
    q = store.parent / "graphs.rq"
    q.write_text("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }\n")
    r = subprocess.run(
        [sys.executable, "-m", "kg", "query", "--file", str(q), "--store", str(store), "--format", "tsv"],
        capture_output=True,
        text=True,
        env=kg_env(),
        timeout=120,
        cwd=store.parent,
    )
    assert r.returncode == 0, r.stderr
    return {line.strip("<>").rsplit("/", 1)[-1] for line in r.stdout.splitlines()[1:]} - {"void"}


def _leftovers(store: Path) -> list[str]:
    return sorted(
        p.name for p in store.parent.iterdir() if p.name.startswith(f".{store.name}.") and not p.name.endswith(".lock")
    )


@pytest.mark.slow
@pytest.mark.parametrize("wait", [[], ["--wait", "120"]], ids=["refuse", "wait"])
def test_two_concurrent_loads_lose_no_update(trial_turtle, tmp_path, wait):
    store = tmp_path / "store"
    pubs = [_publication(trial_turtle, tmp_path / name, f"pub-{name}") for name in ("a", "b")]
    for round_ in range(2 if not wait else 1):
        if store.exists():
            shutil.rmtree(store)
        procs = [kg_popen("load", "--store", str(store), "--trials", str(p), *wait, cwd=tmp_path) for p in pubs]
        results = [(p.wait(120), *p.communicate()) for p in procs]
        present = _graphs(store)
        for (code, _, err), name in zip(results, ("pub-a", "pub-b")):
            if code == 0:
                assert name in present, f"round {round_}: {name} was reported loaded but its graph is gone"
            else:
                assert not wait, f"with --wait both loads succeed: {err}"
                assert code == 3 and one_line(err) and "another kg load" in err, err
                assert name not in present
        assert any(code == 0 for code, _, _ in results)
        if wait:
            assert {"pub-a", "pub-b"} <= present


def _load_until_paused(store: Path, pub: Path, step: str, cwd: Path) -> subprocess.Popen:
    proc = kg_popen("load", "--store", str(store), "--trials", str(pub), cwd=cwd, TRIALKG_TEST_PAUSE_AT=step)
    seen = []
    deadline = time.time() + 120
    while time.time() < deadline:
        line = proc.stderr.readline()
        seen.append(line)
        if line.startswith(f"paused at {step}") or not line:
            break
    assert seen and seen[-1].startswith(f"paused at {step}"), f"the load did not reach {step}: {''.join(seen)}"
    return proc


SLOW = pytest.mark.slow  # each kill runs three kg processes: one step stays in the quick run
STEPS = [
    pytest.param("locked", marks=SLOW),
    pytest.param("checkpointed", marks=SLOW),
    pytest.param("batch-written", marks=SLOW),
    pytest.param("loaded", marks=SLOW),
    "between-renames",
    pytest.param("swapped", marks=SLOW),
]


@pytest.mark.slow
@pytest.mark.parametrize("step", STEPS)
def test_load_killed_at_any_step_leaves_a_store_and_the_next_load_cleans_up(kg, trial_turtle, tmp_path, step):
    store = tmp_path / "store"
    a, b, c = (_publication(trial_turtle, tmp_path / n, f"pub-{n}") for n in "abc")
    assert kg("load", "--store", str(store), "--trials", str(a)).returncode == 0
    proc = _load_until_paused(store, b, step, tmp_path)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    proc.stdout.close()
    proc.stderr.close()
    old, new = {"ontology", "pub-a"}, {"ontology", "pub-a", "pub-b"}
    assert _graphs(store) == (new if step == "swapped" else old), "a store is found at its path, old or new, whole"
    r = kg("load", "--store", str(store), "--trials", str(c))
    assert r.returncode == 0, f"the lock died with the killed load: {r.stderr}"
    assert _leftovers(store) == [], "the next load removes what the killed one left"
    assert _graphs(store) >= {"pub-a", "pub-c"}


@pytest.mark.slow
def test_read_only_store_can_be_queried(kg, tmp_path):
    store = tmp_path / "store"
    assert kg("load", "--store", str(store)).returncode == 0
    query = [sys.executable, "-m", "kg", "query", "trial-summary", "--store", str(store), "--format", "csv"]
    if os.geteuid() != 0:  # a user cannot write a folder without w
        for p in [store, *store.rglob("*")]:
            p.chmod(p.stat().st_mode & ~0o222)
        try:
            r = subprocess.run(query, capture_output=True, text=True, env=kg_env(), timeout=120, cwd=tmp_path)
        finally:
            for p in [store, *store.rglob("*")]:
                p.chmod(p.stat().st_mode | 0o200)
    else:  # root writes anywhere: mount the store read-only in a private mount namespace instead
        unshare = shutil.which("unshare")
        if unshare is None:
            pytest.skip("running as root without unshare(1): cannot make a read-only store")
        script = (
            'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && touch "$0/x" 2>/dev/null && exit 99; exec "$@"'
        )
        r = subprocess.run(
            [unshare, "-m", "sh", "-c", script, str(store), *query],
            capture_output=True,
            text=True,
            env=kg_env(),
            timeout=120,
            cwd=tmp_path,
        )
        if r.returncode == 99 or "mount" in r.stderr:
            pytest.skip(f"cannot mount read-only here: {r.stderr.strip()[:200]}")
    assert r.returncode == 0, r.stderr
    assert "isoda-2018" in r.stdout


# ---------------------------------------------------------------- 3. /sparql reaches nothing but the graph

REFUSED = {
    "plain": "SELECT * WHERE { SERVICE <{trap}> { ?s ?p ?o } }",
    "lowercase, a comment": "select * where { service # the trap\n <{trap}> { ?s ?p ?o } }",
    "silent": "SELECT * WHERE { SERVICE SILENT <{trap}> { ?s ?p ?o } }",
    "variable": "SELECT * WHERE { VALUES ?x { <{trap}> } SERVICE ?x { ?s ?p ?o } }",
    "no spaces": "SELECT * WHERE { ?s ?p 1SERVICE<{trap}>{ ?a ?b ?c } }",
    "prefixed name": "PREFIX t: <{trap}> SELECT * WHERE { SERVICEt:{ ?a ?b ?c } }",
    "< read as less-than": "SELECT * WHERE { ?s ?p ?o FILTER(?o<2)SERVICE#>\n<{trap}>{ ?a ?b ?c } }",
    "in EXISTS": "SELECT * WHERE { ?s ?p ?o FILTER EXISTS { SERVICE <{trap}> { ?a ?b ?c } } }",
    "ASK": "ASK { SERVICE <{trap}> { ?s ?p ?o } }",
    "CONSTRUCT": "CONSTRUCT { ?s ?p ?o } WHERE { SERVICE <{trap}> { ?s ?p ?o } }",
    "nested self-SERVICE": "SELECT * WHERE { SERVICE <{self}/sparql> { SERVICE <{trap}> { ?s ?p ?o } } }",
}
ALLOWED = {
    "in a string, a variable, an IRI, a comment": 'SELECT ?service WHERE { ?service ?p "SERVICE <{trap}> {}" . ?service <http://x/SERVICE> ?o } # SERVICE <{trap}>',
    "a vocabulary about services": "PREFIX sd: <http://www.w3.org/ns/sparql-service-description#> "
    "SELECT * WHERE { ?s a sd:Service }",
    "FROM names a graph, fetches nothing": "SELECT * FROM <{trap}> WHERE { ?s ?p ?o } LIMIT 1",
}


@pytest.mark.slow
def test_sparql_refuses_service_and_connects_nowhere(served, trap):
    for name, template in REFUSED.items():
        query = template.replace("{trap}", trap.url).replace("{self}", served.base)
        status, _, body = served.sparql(query)
        assert status == 400 and b"SERVICE is refused" in body, (name, status, body[:200])
    for ctype, body in [
        ("application/sparql-query", REFUSED["plain"].replace("{trap}", trap.url).encode()),
        (
            "application/x-www-form-urlencoded",
            urllib.parse.urlencode({"query": REFUSED["silent"].replace("{trap}", trap.url)}).encode(),
        ),
    ]:
        req = urllib.request.Request(served.base + "/sparql", data=body, headers={"Content-Type": ctype})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=30)
        assert err.value.code == 400
    for name, template in ALLOWED.items():
        status, _, body = served.sparql(template.replace("{trap}", trap.url))
        assert status == 200, (name, status, body[:200])
    time.sleep(0.5)
    assert trap.connections == 0, "the server connected to the trap"
    assert served.answers()


def _unchecked(store: ox.Store, query: str) -> str:
    """The engine asked directly, past every check of the query's text (as a query that slipped past them would be)."""
    from kg import sparql

    try:
        return f"{len(list(sparql.local(store, query, union=True)))} rows"
    except Exception as exc:  # noqa: BLE001 - the engine's failure to connect is the answer here
        return f"failed: {exc}"


def test_a_query_child_cannot_open_a_network_socket(trap):
    """Behind the SERVICE check (in the query's process, kg.web.endpoint.answer): even a query that slips past it
    cannot connect anywhere."""
    from kg import sandbox

    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("http://a"), ox.NamedNode("http://b"), ox.NamedNode("http://c")))
    query = f"SELECT * WHERE {{ SERVICE <{trap.url}> {{ ?s ?p ?o }} }}"
    if not sandbox.run(sandbox.block_network, timeout=30).value:  # in a child: the filter cannot be lifted again
        pytest.skip("no seccomp filter on this platform")
    blocked = sandbox.run(_unchecked, store, query, timeout=30, network=False)
    assert blocked.ok and blocked.value.startswith("failed"), blocked.describe()
    time.sleep(0.3)
    assert trap.connections == 0
    sandbox.run(_unchecked, store, query, timeout=30, network=True)  # the control: without the block it connects
    time.sleep(0.3)
    assert trap.connections >= 1, "the trap sees connections, so the check above means something"


def _x32_socket() -> int:
    """socket(AF_INET, SOCK_STREAM) through the x32 ABI's number (0x40000000 + 41); the errno it fails with."""
    import ctypes
    import ctypes.util
    import socket as sockets

    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    fd = libc.syscall(0x40000000 + 41, sockets.AF_INET, sockets.SOCK_STREAM, 0)
    if fd >= 0:
        os.close(fd)
        return 0
    return ctypes.get_errno()


def _blocked_then(func):
    from kg import sandbox

    sandbox.block_network()
    return func()


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the x32 ABI exists on x86-64 only")
def test_the_network_block_covers_the_x32_abi():
    """An x32-ABI socket() carries another syscall number; the filter refuses it as it refuses the native one."""
    import errno

    from kg import sandbox

    if not sandbox.run(sandbox.block_network, timeout=30).value:
        pytest.skip("no seccomp filter on this platform")
    outcome = sandbox.run(_blocked_then, _x32_socket, timeout=30)
    assert outcome.ok and outcome.value == errno.EACCES, outcome.describe() or outcome.value


def _head_then_body(chunks: int, die_after: int | None = None):
    """In a sandbox child: a head, then ``chunks`` chunks of 64 kB written slowly (or death after ``die_after``)."""

    def body(out) -> None:
        for i in range(chunks):
            if i == die_after:
                os.kill(os.getpid(), signal.SIGKILL)
            out.write(bytes([65 + i % 26]) * 65536)
            time.sleep(0.02)

    return "head", body


def _read_all(stream) -> bytes:
    chunks = []
    while chunk := stream.read():
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_streamed_answer_outlives_the_thread_that_asked_for_it():
    """A server's pool retires idle threads (anyio: after 10 s) while the answer a thread started still streams; the
    query process must not die with that thread (Linux ties a child's parent-death signal to the forking thread)."""
    from kg import sandbox

    started = {}

    def ask() -> None:
        started["it"] = sandbox.stream(_head_then_body, 20, timeout=30, idle=30)

    asker = threading.Thread(target=ask)
    asker.start()
    asker.join()  # the asking thread is gone before the body is written
    outcome, stream = started["it"]
    assert outcome.ok and outcome.value == "head" and stream is not None
    try:
        body = _read_all(stream)
    finally:
        stream.close()
    assert body == b"".join(bytes([65 + i % 26]) * 65536 for i in range(20)), f"{len(body):,} bytes of {20 * 65536:,}"


def test_a_streamed_answer_whose_process_dies_midway_is_an_error_not_a_shorter_answer():
    from kg import sandbox

    outcome, stream = sandbox.stream(_head_then_body, 20, 5, timeout=30, idle=30)
    assert outcome.ok and stream is not None
    try:
        with pytest.raises(OSError, match="ended before its answer did: killed by SIGKILL"):
            _read_all(stream)
    finally:
        stream.close()
    outcome, stream = sandbox.stream(_head_then_body, 3, timeout=30, idle=30)  # the control: a whole answer ends well
    assert len(_read_all(stream)) == 3 * 65536
    stream.close()


def _fds() -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            os.readlink(f"/proc/self/fd/{fd}")
            found.append(fd)
        except OSError:  # the listing's own descriptor, closed by now
            pass
    return found


def _fail_fork():
    raise BlockingIOError(11, "Resource temporarily unavailable")


def test_a_fork_that_fails_leaves_no_pipe_open(monkeypatch):
    """Under process pressure (fork: EAGAIN) each refused query must not keep its pipes: the endpoint answers 503 and
    clients retry, and leaked descriptors would turn that into EMFILE for everything else."""
    from kg import sandbox

    def pipes() -> int:  # other descriptors may come and go meanwhile (a test worker's own); pipes are ours
        return sum(os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:") for fd in _fds())

    sandbox.run(int, "1", timeout=10)  # the forker thread exists before the count
    before = pipes()
    monkeypatch.setattr(os, "fork", _fail_fork)
    for _ in range(20):
        with pytest.raises(BlockingIOError):
            sandbox.run(int, "1", timeout=10)
    monkeypatch.undo()
    assert pipes() <= before, "each refused fork left its pipes open"
    assert sandbox.run(int, "7", timeout=10).value == 7


def test_a_process_forked_while_the_forker_lock_is_held_can_still_sandbox():
    """A fork copies a held lock as held: the child must get its own forker and lock, or its first query waits forever."""
    from kg import sandbox

    with sandbox._FORKER_LOCK:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 1
            try:
                code = 0 if sandbox.run(int, "7", timeout=10).value == 7 else 1
            finally:
                os._exit(code)
    deadline = time.monotonic() + 20
    while (status := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if status[0] == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert status[0] == pid and os.WIFEXITED(status[1]) and os.WEXITSTATUS(status[1]) == 0, "the child's query hung"


def test_a_batch_that_fails_stops_the_others_at_once(tmp_path):
    """`execute.in_children`: when one batch's child raises, the error reaches the caller and the other children,
    still running, are killed and reaped then, not when the traceback is collected (found by a review: they stayed
    until a garbage collection)."""
    import gc

    from kg.query import execute

    pids = tmp_path / "pids"

    def first_fails(i: int) -> int:
        with open(pids, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        if i == 0:
            deadline = time.monotonic() + 10
            while len(pids.read_text().split()) < 3 and time.monotonic() < deadline:
                time.sleep(0.01)  # the others are running
            raise ValueError("batch 0 failed")
        time.sleep(120)
        return i

    gc.disable()
    try:
        with pytest.raises(ValueError, match="batch 0 failed"):
            list(execute.in_children(first_fails, range(3), 3))
        children = [int(p) for p in pids.read_text().split()]
        assert len(children) == 3
        for pid in children:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    finally:
        gc.enable()


def test_ordered_children_answer_in_order_and_none_outlives_a_reader_that_stops(tmp_path):
    """`sandbox.ordered` (a whole-store query's batches, several processes at once): each answer in the items'
    order whichever child ends first, a failing item one outcome that says why, and a reader that stops early
    leaves no child running."""
    from kg import sandbox

    def later_first(i: int) -> int:
        time.sleep(0.02 * (4 - i))  # the last items end first
        return i * i

    assert [o.value for o in sandbox.ordered(later_first, range(5), 3)] == [0, 1, 4, 9, 16]
    outcomes = list(sandbox.ordered(lambda i: 12 // (i - 2), range(4), 2))
    assert [o.ok for o in outcomes] == [True, True, False, True]
    assert isinstance(outcomes[2].raised, ZeroDivisionError) and outcomes[3].value == 12
    crashed = list(sandbox.ordered(lambda i: os.kill(os.getpid(), signal.SIGKILL) if i == 1 else i, range(3), 2))
    assert [o.ok for o in crashed] == [True, False, True] and crashed[1].signal == signal.SIGKILL

    pids = tmp_path / "pids"

    def stuck(i: int) -> int:
        with open(pids, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        if i:
            time.sleep(120)
        return i

    answers = sandbox.ordered(stuck, range(6), 3)
    assert next(answers).value == 0
    answers.close()  # the reader stops: the children still running are killed and reaped
    children = [int(p) for p in pids.read_text().split()]
    assert len(children) >= 3
    for pid in children:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)

    # interrupted while it waits for a child (Ctrl-C): that child is killed and reaped too, not only the others
    pids.write_text("")
    waits = sandbox._collect

    def interrupted(*args, **kwargs):
        deadline = time.monotonic() + 10
        while len(pids.read_text().split()) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        raise KeyboardInterrupt

    sandbox._collect = interrupted  # type: ignore[assignment]
    try:
        with pytest.raises(KeyboardInterrupt):
            list(sandbox.ordered(stuck, [1, 2], 2))
    finally:
        sandbox._collect = waits  # type: ignore[assignment]
    children = [int(p) for p in pids.read_text().split()]
    assert len(children) == 2
    for pid in children:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def _answer_then_die(*args):
    """In place of the endpoint's query child: a head, 100 kB of answer, then death (a panic, the OOM killer)."""
    from kg.web.endpoint import Answer

    def body(out) -> None:
        out.write(b"x" * 100_000)
        out.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    return Answer(200, "text/csv", b""), body


def test_an_answer_whose_process_dies_within_its_first_screen_is_a_500_not_a_short_200(monkeypatch):
    """The endpoint reads an answer's first 256 kB itself and sends it with its length: a process that dies before
    its answer's end must not make a shorter answer look whole."""
    from kg.web import endpoint

    monkeypatch.setattr(endpoint, "_answer_streamed", _answer_then_die)
    for streamed in (True, False):
        got = endpoint.Endpoint(ox.Store()).execute("SELECT * WHERE { ?s ?p ?o }", "text/csv", streamed=streamed)
        assert got.status == 500 and got.stream is None, (got.status, len(got.body))
        assert b"killed by SIGKILL" in got.body, got.body


# ---------------------------------------------------------------- 4, 5. remote loads: no partial state, checked messages


def _oxigraph_helpers():
    """tests/test_load.py's OxigraphServer (a real `oxigraph serve` on loopback)."""
    spec = importlib.util.spec_from_file_location("_kg_test_load", Path(__file__).with_name("test_load.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.OxigraphServer


STAGING = TKG + "graph/.staging/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def _corpus(trial_turtle: str, folder: Path, names: list[str]) -> Path:
    """Publications that conform: copies of the packaged trial, each under its own IRIs."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / f"{name}.ttl").write_text(trial_turtle.replace("isoda-2018", name))
    return folder


def _server_graphs(base: str) -> set[str]:
    q = urllib.parse.urlencode({"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"})
    req = urllib.request.Request(f"{base}/query?{q}", headers={"Accept": "application/sparql-results+json"})
    data = urllib.request.urlopen(req, timeout=30).read()
    return {r["g"].value for r in ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON)}


def _trials_in_union(base: str) -> int:
    q = urllib.parse.urlencode({"query": f"SELECT (COUNT(?t) AS ?n) WHERE {{ ?t a <{TKG}ontology/ClinicalTrial> }}"})
    req = urllib.request.Request(f"{base}/query?{q}", headers={"Accept": "application/sparql-results+json"})
    data = urllib.request.urlopen(req, timeout=30).read()
    return int(next(iter(ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON)))["n"].value)


class Proxy:
    """HTTP on loopback in front of the oxigraph server; ``on_update(body)`` decides what happens to each update.

    Actions: "forward"; "kill-before" (kill the server, answer nothing); "kill-after" (forward, kill the
    server while it works, answer nothing); ("delay", s) (forward, answer s seconds later); "hold" (never
    forward, answer nothing until the test ends).
    """

    def __init__(self, server, on_update):
        proxy = self
        self.released = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def _handle(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                action = "forward"
                if self.command == "POST" and self.path.startswith("/update") and b"probe" not in body:
                    action = on_update(body)
                if action == "kill-before":
                    server.kill()
                    return
                if action == "hold":
                    proxy.released.wait(60)
                    return
                forwarded: list = []
                worker = threading.Thread(target=lambda: forwarded.append(self._forward(body)), daemon=True)
                worker.start()
                if action == "kill-after":
                    time.sleep(0.05)
                    server.kill()
                    return
                worker.join(60)
                if isinstance(action, tuple):
                    time.sleep(action[1])
                if not forwarded:
                    return
                status, ctype, data = forwarded[0]
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _forward(self, body):
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "accept")}
                req = urllib.request.Request(
                    server.base + self.path, data=body or None, method=self.command, headers=headers
                )
                try:
                    with urllib.request.urlopen(req, timeout=60) as resp:
                        return resp.status, resp.headers.get("Content-Type", ""), resp.read()
                except urllib.error.HTTPError as exc:
                    return exc.code, exc.headers.get("Content-Type", ""), exc.read()
                except OSError:
                    return 502, "text/plain", b"upstream gone"

            do_GET = do_POST = do_PUT = _handle

            def log_message(self, *args):
                pass

        self.httpd, self.base = loopback_http(Handler)

    def close(self):
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _load_via(kg, base: str, folder: Path, *extra: str):
    return kg(
        "load",
        "--endpoint",
        f"{base}/query",
        "--gsp-endpoint",
        f"{base}/store",
        "--update-endpoint",
        f"{base}/update",
        "--trials",
        str(folder),
        *extra,
    )


@pytest.fixture
def oxigraph(tmp_path):
    srv = _oxigraph_helpers()(tmp_path / "oxigraph").start()
    yield srv
    srv.stop()


@pytest.mark.server
@pytest.mark.parametrize("when", ["kill-before", pytest.param("kill-after", marks=pytest.mark.slow)])
def test_remote_load_killed_mid_load_leaves_no_partial_state(kg, trial_turtle, tmp_path, oxigraph, when):
    old = _corpus(trial_turtle, tmp_path / "old", ["t1", "t2", "t3"])
    new = _corpus(trial_turtle, tmp_path / "new", ["t1", "t2", "t3", "t4", "t5"])
    assert _load_via(kg, oxigraph.base, old).returncode == 0
    published = _server_graphs(oxigraph.base)
    proxy = Proxy(oxigraph, lambda body: when)
    try:
        r = _load_via(kg, proxy.base, new, "--timeout", "5")
    finally:
        proxy.close()
    assert r.returncode == 3 and one_line(r.stderr), r.stderr
    oxigraph.start()  # same location, after the SIGKILL
    graphs = _server_graphs(oxigraph.base)
    assert not [g for g in graphs if g.startswith(STAGING)], "no staging graph in the union default graph"
    if graphs == published:
        assert _trials_in_union(oxigraph.base) == 3
    else:  # killed after the server committed: all of the new state, never a part
        assert graphs == published | {TKG + "graph/t4", TKG + "graph/t5"} and _trials_in_union(oxigraph.base) == 5


@pytest.mark.slow
@pytest.mark.server
def test_next_remote_load_removes_staging_graphs_left_before(kg, trial_turtle, tmp_path, oxigraph):
    corpus = _corpus(trial_turtle, tmp_path / "c", ["t1", "t2"])
    assert _load_via(kg, oxigraph.base, corpus).returncode == 0
    for i in range(3):  # what a killed load of an earlier version left (it staged with the Graph Store Protocol)
        req = urllib.request.Request(
            f"{oxigraph.base}/store?graph={urllib.parse.quote(STAGING + f'run/{i}')}",
            data=f"<{TKG}trial/t1> <{RDF_TYPE}> <{TKG}ontology/ClinicalTrial> .\n".encode(),
            method="PUT",
            headers={"Content-Type": "application/n-triples"},
        )
        urllib.request.urlopen(req, timeout=30).read()
    assert _trials_in_union(oxigraph.base) == 5, "the leftovers are visible to readers of the union"
    r = _load_via(kg, oxigraph.base, corpus)
    assert r.returncode == 0, r.stderr
    assert "3 staging graph(s)" in r.stderr
    assert not [g for g in _server_graphs(oxigraph.base) if g.startswith(STAGING)]
    assert _trials_in_union(oxigraph.base) == 2


def _assert_applied_behind_a_late_answer(kg, oxigraph, old: Path, new: Path) -> None:
    """Load ``old``, then ``new`` through a proxy that answers after kg's time-out although the server applied the
    update: kg must find, by looking, that the load was applied (and say so, exiting 0)."""
    assert _load_via(kg, oxigraph.base, old).returncode == 0
    late = Proxy(oxigraph, lambda body: ("delay", 3))  # the server applies the update, the answer comes too late
    try:
        r = _load_via(kg, late.base, new, "--timeout", "1")
    finally:
        late.close()
    assert "unchanged" not in r.stderr, r.stderr
    assert r.returncode == 0 and "checked, the load was applied" in r.stderr, r.stderr


@pytest.mark.slow
@pytest.mark.server
def test_remote_load_time_out_checks_and_reports_the_load_applied(kg, trial_turtle, tmp_path, oxigraph):
    old = _corpus(trial_turtle, tmp_path / "old", ["t1", "t2"])
    new = _corpus(trial_turtle, tmp_path / "new", ["t1", "t2", "t3"])
    _assert_applied_behind_a_late_answer(kg, oxigraph, old, new)
    assert TKG + "graph/t3" in _server_graphs(oxigraph.base)


@pytest.mark.slow
@pytest.mark.server
def test_remote_load_time_out_tells_a_same_sized_new_graph_from_the_old_by_its_content(
    kg, trial_turtle, tmp_path, oxigraph
):
    """Every graph keeps its size (one label reworded): only the content, read again from the files the load
    sent (the publications kept by the load, not a second list of them), tells the load was applied."""
    old = _corpus(trial_turtle, tmp_path / "old", ["t1", "t2"])
    new = _corpus(trial_turtle, tmp_path / "new", ["t1", "t2"])
    label = 'rdfs:label "Isoda et al. 2018, Int J Hematol"'
    assert label in trial_turtle
    (new / "t2.ttl").write_text((new / "t2.ttl").read_text().replace(label, label[:-1] + ' (reworded)"'))
    _assert_applied_behind_a_late_answer(kg, oxigraph, old, new)
    q = urllib.parse.urlencode({"query": 'ASK { ?s ?p "Isoda et al. 2018, Int J Hematol (reworded)" }'})
    req = urllib.request.Request(f"{oxigraph.base}/query?{q}", headers={"Accept": "application/sparql-results+json"})
    assert bool(
        ox.parse_query_results(urllib.request.urlopen(req, timeout=30).read(), format=ox.QueryResultsFormat.JSON)
    )


@pytest.mark.slow
@pytest.mark.server
def test_remote_load_time_out_never_claims_unchanged_unchecked(kg, trial_turtle, tmp_path, oxigraph):
    old = _corpus(trial_turtle, tmp_path / "old", ["t1", "t2"])
    newer = _corpus(trial_turtle, tmp_path / "newer", ["t1", "t2", "t3", "t4"])
    assert _load_via(kg, oxigraph.base, old).returncode == 0
    held = Proxy(oxigraph, lambda body: "hold")  # the update never reaches the server, nor does an answer come
    try:
        r = _load_via(kg, held.base, newer, "--timeout", "1")
    finally:
        held.close()
    assert r.returncode == 3 and one_line(r.stderr), r.stderr
    assert "may yet apply" in r.stderr and "published graphs unchanged" not in r.stderr, r.stderr
    assert TKG + "graph/t4" not in _server_graphs(oxigraph.base)


# ---------------------------------------------------------------- 6. credentials go only to their own origin


class _Recorder(http.server.BaseHTTPRequestHandler):
    """The other origin: records each request's Authorization header, answers an empty SPARQL result."""

    seen: list = []

    def _handle(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).seen.append(self.headers.get("Authorization"))
        body = b'{"head":{"vars":["x"]},"results":{"bindings":[]}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _handle

    def log_message(self, *args):
        pass


def _redirector(target: str, basic: str | None):
    class Redirect(http.server.BaseHTTPRequestHandler):
        """The endpoint the credentials are for: (asks for Basic, then) answers 303 to the other origin."""

        def _handle(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if basic and self.headers.get("Authorization") != basic:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="kg"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(303)
            self.send_header("Location", target + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = _handle

        def log_message(self, *args):
            pass

    return Redirect


@pytest.mark.slow
@pytest.mark.parametrize("credentials", ["token", "basic", "none"])
def test_credentials_never_follow_a_redirect_to_another_origin(tmp_path, credentials):
    _Recorder.seen = []
    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    env = {
        "token": {"TRIALKG_TOKEN": "s3cret-token"},
        "basic": {"TRIALKG_USER": "curator", "TRIALKG_PASSWORD": "s3cret-pw"},
        "none": {},
    }[credentials]
    basic = "Basic " + base64.b64encode(b"curator:s3cret-pw").decode() if credentials == "basic" else None
    first = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), _redirector(f"http://127.0.0.1:{other.server_address[1]}", basic)
    )
    for srv in (other, first):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "kg",
                "query",
                "efficacy",
                "--endpoint",
                f"http://127.0.0.1:{first.server_address[1]}/query",
            ],
            capture_output=True,
            text=True,
            env=kg_env(**env),
            timeout=120,
            cwd=tmp_path,
        )
    finally:
        for srv in (other, first):
            srv.shutdown()
            srv.server_close()
    assert not any(_Recorder.seen), f"the other origin received {_Recorder.seen}"
    if credentials == "none":
        assert r.returncode == 0 and _Recorder.seen, "without credentials the redirect is followed"
    else:
        assert r.returncode == 2 and one_line(r.stderr) and "another origin" in r.stderr, r.stderr
        assert "s3cret" not in r.stderr + r.stdout


# ---------------------------------------------------------------- 7. /sparql limits: body, memory, children


def _post_body(base: str, total: int, chunked: bool) -> tuple[int | None, int]:
    """POST a ``total``-byte query body in 1 MB chunks, stopping when the server answers; (status, bytes sent)."""
    port = int(base.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
    sock.sendall(
        f"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n{framing}\r\n\r\n".encode()
    )
    chunk = b"#" * (1 << 20)  # a SPARQL comment, so every prefix of the body is a valid query
    sent = 0
    try:
        while sent < total and not select.select([sock], [], [], 0)[0]:
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk)
            sent += len(chunk)
    except OSError:
        pass  # the server stopped reading and closed: what we want
    try:
        head = sock.recv(4096)
    except OSError:
        head = b""
    sock.close()
    return (int(head.split()[1]) if head.startswith(b"HTTP/") else None), sent


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_sparql_refuses_a_huge_body_without_reading_it(served, chunked):
    before = server_rss_kb(served.proc.pid)
    status, sent = _post_body(served.base, 300 << 20, chunked)
    grown = server_rss_kb(served.proc.pid) - before
    assert status == 413
    assert grown < 64 * 1024, f"the server's memory grew by {grown} kB while refusing a 300 MB body"
    assert sent < 100 << 20, f"the server read {sent >> 20} MB of a body it refuses"
    assert served.answers()


@pytest.fixture
def memory_capped(panic_data):
    """`kg serve` with a 256 MB cap a query and a time-out long enough that the cap, not the clock, stops a runaway
    query on a loaded machine (with the shared 2 s time-out, the engine sometimes timed out first under load)."""
    srv = KgServe("--trials", str(panic_data / "data"), "--timeout", "30", "--max-memory", "256", cwd=panic_data)
    yield srv
    srv.stop()


@pytest.mark.slow
def test_sparql_query_memory_is_capped(memory_capped):
    before = server_rss_kb(memory_capped.proc.pid)
    status, _, body = memory_capped.sparql("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?a ?d ?g")
    assert status == 500 and b"memory" in body and one_line(body.decode()), body
    assert server_rss_kb(memory_capped.proc.pid) - before < 64 * 1024
    assert memory_capped.answers()


@pytest.mark.slow
def test_sparql_runs_at_most_max_queries_children(served):
    runaway = threading.Thread(
        target=served.sparql, args=("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",)
    )
    runaway.start()
    time.sleep(0.5)
    status, headers, body = served.sparql("ASK { ?s ?p ?o }")
    runaway.join(30)
    assert status == 503 and headers["Retry-After"], (status, body)
    assert served.answers(), "a slot frees again after the time-out"


# ---------------------------------------------------------------- 8. any file name the OS allows; nothing half-written

ODD_NAMES = ["a b.ttl", "é%#.ttl"]


@pytest.fixture
def odd_files(trial_turtle, tmp_path) -> Path:
    """A folder of two conforming publications whose file names are not IRI-safe."""
    folder = tmp_path / "in"
    folder.mkdir()
    for i, name in enumerate(ODD_NAMES):
        (folder / name).write_text(trial_turtle.replace("isoda-2018", f"odd-{i}"))
    return folder


@pytest.mark.slow
def test_odd_file_names_build_load_and_export(kg, odd_files, tmp_path):
    r = kg("build", "--trials", str(odd_files), "--out", str(tmp_path / "dist"))
    assert r.returncode == 0, r.stderr
    graphs = {
        q.graph_name.value for q in ox.parse(path=str(tmp_path / "dist" / "trialkg.nq"), format=ox.RdfFormat.N_QUADS)
    }
    assert {TKG + "graph/a%20b", TKG + "graph/%C3%A9%25%23"} <= graphs
    r = kg("load", "--store", str(tmp_path / "store"), "--trials", str(odd_files))
    assert r.returncode == 0, r.stderr
    assert {"a%20b", "%C3%A9%25%23"} <= _graphs(tmp_path / "store")
    for fmt in ("nquads", "jsonld", "kgx", "fhir"):
        r = kg("export", "--format", fmt, "--trials", str(odd_files), "--out", str(tmp_path / fmt))
        assert r.returncode == 0, (fmt, r.stderr)
    leftovers = [p for p in tmp_path.rglob("*") if p.name.endswith((".tmp", ".old"))]
    assert leftovers == []


@pytest.mark.slow
def test_odd_file_names_validate_with_pyshacl(kg, odd_files):
    r = kg("validate", "--engine", "pyshacl", *(str(odd_files / n) for n in ODD_NAMES))
    assert r.returncode == 0, r.stdout[-500:] + r.stderr


def test_a_failed_export_changes_no_output(kg, odd_files, tmp_path):
    out = tmp_path / "out"
    (out / "edges.tsv" / "x").mkdir(parents=True)  # the second file of the batch cannot be written
    (out / "nodes.tsv").write_text("the previous export\n")
    r = kg("export", "--format", "kgx", "--trials", str(odd_files), "--out", str(out))
    assert r.returncode == 5 and one_line(r.stderr), r.stderr
    assert (out / "nodes.tsv").read_text() == "the previous export\n"
    assert sorted(p.name for p in out.iterdir()) == ["edges.tsv", "nodes.tsv"], "no .tmp is left"


def test_output_batch_is_put_back_when_a_rename_fails(tmp_path, monkeypatch):
    from kg.errors import OutputError
    from kg.outputs import AtomicFiles

    (tmp_path / "a.txt").write_text("old a")
    real = Path.replace
    calls = []

    def failing_second(self, target):
        calls.append(self)
        if len(calls) == 2:
            raise OSError(28, "No space left on device", str(target))
        return real(self, target)

    monkeypatch.setattr(Path, "replace", failing_second)
    with pytest.raises(OutputError, match="no output was changed"):
        with AtomicFiles(tmp_path) as out:
            out.path("a.txt").write_text("new a")
            out.path("b.txt").write_text("new b")
    monkeypatch.undo()
    assert (tmp_path / "a.txt").read_text() == "old a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


# ---------------------------------------------------------------- 9. a pyoxigraph panic is one line


@pytest.mark.slow
def test_sparql_query_crash_is_one_response_line_and_one_log_line(served, panic_data):
    if fixed_upstream(panic_data / "data"):
        pytest.skip("this pyoxigraph no longer aborts on the reproducer")
    mark = len(served.log_lines())
    status, _, body = served.sparql(PANIC_QUERY)
    assert status == 500 and one_line(body.decode()) and b"panicked" in body, body
    log = served.log_lines()[mark:]
    assert len(log) == 1 and "panicked" in log[0], log
    assert served.answers()


def test_query_file_crash_is_one_line(kg, panic_data):
    if fixed_upstream(panic_data / "data"):
        pytest.skip("this pyoxigraph no longer aborts on the reproducer")
    r = kg("query", "--file", str(panic_data / "q.rq"), "--trials", str(panic_data / "data"))
    assert r.returncode == 2 and one_line(r.stderr) and "panicked" in r.stderr, (r.returncode, r.stderr[:500])


# ---------------------------------------------------------------- 10. lesser: content negotiation


def test_accept_header_with_many_ranges_is_read_whole(served):
    accept = ", ".join([f"application/x-unknown-{i}" for i in range(99)] + ["text/csv"])
    status, headers, _ = served.sparql("SELECT * WHERE { ?s ?p ?o } LIMIT 1", accept=accept)
    assert status == 200 and headers["Content-Type"].startswith("text/csv"), (status, headers["Content-Type"])


# ---------------------------------------------------------------- 10. lesser: a resource named index


@pytest.mark.slow
def test_an_iri_ending_in_index_or_at_a_site_path_does_not_overwrite_the_site(kg, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "x.ttl").write_text(f"""@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<{TKG}trial/x> rdfs:label "trial x" .
<{TKG}trial/x/index> rdfs:label "EVIL trial index" .
<{TKG}index> rdfs:label "EVIL root index" .
<{TKG}evidence/overall-survival> rdfs:label "EVIL evidence page" .
<{TKG}void> rdfs:label "EVIL void" .
<{TKG}queries/citation> rdfs:label "EVIL query" .
""")
    # another file's, published after x.ttl's (graph by graph)
    (data / "z.ttl").write_text(f"""@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<{TKG}trial/./x> rdfs:label "EVIL x, a dot segment away" .
<{TKG}trial/x/./.> rdfs:label "EVIL x folder" .
<{TKG}trial/x.html/y> rdfs:label "EVIL: a folder where trial/x's page is" .
""")
    site = tmp_path / "site"
    r = kg("publish", "--static", str(site), "--trials", str(data))
    assert r.returncode == 0, r.stderr
    index = (site / "index.html").read_text()
    assert "EVIL" not in index and "void.ttl" in index, "index.html is the landing page"
    assert not any("EVIL" in p.read_text() for p in site.rglob("index.*")), "no resource page took an index name"
    own = [*site.glob("void*"), *site.rglob("evidence/*"), *site.rglob("queries/*")]
    assert own and not any("EVIL" in p.read_text() for p in own), "nor one of the site's own documents"
    # review 35: "trial/./x" was written to trial/x's own files (another publication's trial, retitled)
    pages = [p for p in site.rglob("trial/x*") if p.is_file()]
    assert pages and not any("EVIL" in p.read_text() for p in pages), "nor one two IRIs would share"


# ---------------------------------------------------------------- the hostile-traffic run, tiny


@pytest.mark.slow
def test_hostile_traffic_run_smoke(tmp_path):
    """`benchmarks/hostile.py` with tiny counts: no failure, the server still right, memory back (figures not asserted;
    at this scale the page caches alone can be 20 % of the server, so memory may also end 16 MB above its start)."""
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "hostile.py"),
            "--scale",
            "0.05",
            "--seconds",
            "30",
            "--memory-slack-mb",
            "16",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=kg_env(),
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "| kind | tried | failures | answers | seconds | server memory after |" in r.stdout
    assert "failures: 0" in r.stdout and "connections to the trap: 0" in r.stdout


def test_a_load_removes_only_its_own_leftovers_and_restores_only_a_store(kg, tmp_path):
    """Review 42: beside a store, '.kg-store.old-backup-2026/' and '.kg-store.loading-notes.txt' (a user's) were
    removed as leftovers; with no store yet, a user's '.kg-store.old-mine/' was moved to the store's path; and a
    store named 'store[1]' (its name taken as a glob pattern) removed the load of 'store1' in progress. Only the
    names a load gives are its own, and only a parked store is restored."""
    store = tmp_path / "kg-store"
    mine = {
        ".kg-store.old-backup-2026/README": "my backup",
        ".kg-store.loading-notes.txt": "my notes",
        ".kg-store.old-mine/thesis.txt": "my thesis",
        ".store1.loading-" + "a" * 32 + "/CURRENT": "another store's load",
    }
    for rel, text in mine.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    for target in (store, tmp_path / "store[1]"):
        r = kg("load", "--store", str(target), cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert "leftover" not in r.stdout + r.stderr
    assert (store / "CURRENT").is_file() and not (store / "thesis.txt").exists()
    assert {rel: (tmp_path / rel).read_text() for rel in mine} == mine


def test_a_load_refuses_a_store_folder_holding_what_it_did_not_write(kg, tmp_path):
    """Review 42: a second load deleted NOTES.txt and backups/ a user kept in the store folder (a load replaces
    the whole folder). Refused in one line, nothing changed."""
    store = tmp_path / "kg-store"
    assert kg("load", "--store", str(store), cwd=tmp_path).returncode == 0
    (store / "NOTES.txt").write_text("mine")
    (store / "backups").mkdir()
    (store / "backups" / "2026.nq").write_text("mine")
    before = sorted(p.name for p in store.iterdir())
    r = kg("load", "--store", str(store), cwd=tmp_path)
    assert r.returncode == 3 and "NOTES.txt and 1 more, which kg load did not write" in r.stderr, r.stderr
    assert sorted(p.name for p in store.iterdir()) == before
    assert (store / "NOTES.txt").read_text() == "mine" and (store / "backups" / "2026.nq").read_text() == "mine"


def test_the_store_lock_never_follows_a_link(kg, tmp_path):
    """Review 42: '.kg-store.lock' linked to a user's file: the load truncated it and wrote its pid there."""
    victim = tmp_path / "victim.txt"
    victim.write_text("mine")
    (tmp_path / ".kg-store.lock").symlink_to(victim)
    r = kg("load", "--store", str(tmp_path / "kg-store"), cwd=tmp_path)
    assert r.returncode == 3 and "cannot lock the store" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert victim.read_text() == "mine" and not (tmp_path / "kg-store").exists()


def test_ctrl_c_during_a_load_is_its_own_exit_status_and_leaves_the_store(kg, trial_turtle, tmp_path):
    """Review 42: Ctrl-C printed click's 'Aborted!' and exited 1, the status of SHACL violations. Now one line
    and 130 (as a shell reports SIGINT), the store as it was and nothing of the load left beside it."""
    store = tmp_path / "store"
    a, b = (_publication(trial_turtle, tmp_path / n, f"pub-{n}") for n in "ab")
    assert kg("load", "--store", str(store), "--trials", str(a)).returncode == 0
    proc = _load_until_paused(store, b, "checkpointed", tmp_path)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip() == "kg: error: interrupted", err
    assert _graphs(store) == {"ontology", "pub-a"} and _leftovers(store) == []


def test_a_load_removes_the_checkpoint_a_killed_load_left_and_takes_kg_s_own_temporary_files(kg, tmp_path):
    """Review 44 of the two tests above: RocksDB builds the old store's checkpoint as '.<name>.loading-<hex>.tmp'
    (a killed load left it, hard links to the store's files, and no later load removed it), and a reader killed
    while writing the store's evidence index leaves '.trialkg-evidence.json.<hex>.tmp' in the store folder, which
    is kg's own: neither may stay or stop a load."""
    store = tmp_path / "kg-store"
    assert kg("load", "--store", str(store), cwd=tmp_path).returncode == 0
    checkpoint = tmp_path / f".kg-store.loading-{'b' * 32}.tmp"
    checkpoint.mkdir()
    (checkpoint / "000001.sst").write_bytes(b"x")
    (store / ".trialkg-evidence.json.0123abcd.tmp").write_text("{")
    r = kg("load", "--store", str(store), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "removed 1 leftover" in r.stdout + r.stderr and not checkpoint.exists()
