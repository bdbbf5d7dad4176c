"""Loading into the embedded store and into a real oxigraph server over HTTP, atomically."""

from __future__ import annotations

import base64
import http.server
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg import sources as src
from kg.dataset import Dataset
from kg.errors import StoreError, ValidationFailed
from kg.load import count_quads, load_embedded, load_endpoint
from kg.query import catalog
from kg.sources import Source


def open_store(path, must_exist=True):
    return Dataset.open(path).store


TRIAL_GRAPH = "https://w3id.org/trialkg/graph/isoda-2018"
PARAMS = {
    "trials-by-drug": {"drug": "DRUGBANK:DB00188"},
    "trials-by-condition": {"condition": "NCIT:C3242"},
    "provenance": {"statistic": "trialkg.trial:isoda-2018/pfs-from-maintenance-abstract"},
    "resources": {"namespace": "https://w3id.org/trialkg/"},
    "compare-outcomes": {"endpoint": "NCIT:C28234"},
    "evidence-by-drug": {"drug": "NCIT:C1851"},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def oxigraph_binary() -> str:
    exe = Path(sys.executable).with_name("oxigraph")
    return (
        str(exe)
        if exe.exists()
        else (shutil.which("oxigraph") or pytest.skip("the oxigraph server (pip install oxigraph) is not installed"))
    )


class OxigraphServer:
    """A real `oxigraph serve` on a free loopback port, with a persistent location."""

    def __init__(self, location: Path, union: bool = True):
        self.location = location
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.union = union  # --union-default-graph, as the README's store table starts it

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> OxigraphServer:
        self.proc = subprocess.Popen(
            [
                oxigraph_binary(),
                "serve",
                "--location",
                str(self.location),
                "--bind",
                f"127.0.0.1:{self.port}",
                *(["--union-default-graph"] if self.union else []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 90  # a loaded 2-core machine can take a while to open a RocksDB store
        while time.time() < deadline and self.proc.poll() is None:
            try:
                urllib.request.urlopen(f"{self.base}/query?query=ASK%7B%7D", timeout=2).read()
                return self
            except OSError:
                time.sleep(0.2)
        state = f"exited with {self.proc.returncode}" if self.proc.poll() is not None else "no answer in 90 s"
        self.kill()
        raise RuntimeError(f"oxigraph server did not start ({state})")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def nquads(self) -> set[str]:
        req = urllib.request.Request(f"{self.base}/store", headers={"Accept": "application/n-quads"})
        data = urllib.request.urlopen(req, timeout=10).read()
        return {str(q) for q in ox.parse(data, format=ox.RdfFormat.N_QUADS)}

    def load(self, sources=None, **kw):
        return load_endpoint(
            f"{self.base}/query",
            sources,
            gsp_endpoint=f"{self.base}/store",
            update_endpoint=f"{self.base}/update",
            **kw,
        )


@pytest.fixture
def server(tmp_path):
    srv = OxigraphServer(tmp_path / "oxigraph").start()
    yield srv
    srv.stop()


def broken_trial(trial_turtle: str, edit_block) -> Source:
    bad = edit_block(
        trial_turtle, "trial:grade3-leukopenia-thrombocytopenia", "trialkg:value 2 ;", "trialkg:value 40 ;"
    )
    return Source(name="isoda-2018.ttl", slug="isoda-2018", data=bad.encode())


def store_quads(path) -> set[str]:
    return {str(q) for q in open_store(path, must_exist=True)}


# ---- embedded store -------------------------------------------------------------------------


@pytest.mark.slow
def test_embedded_load_is_idempotent(tmp_path):
    path = tmp_path / "store"
    first = load_embedded(store_dir=path)
    n1 = store_quads(path)
    second = load_embedded(store_dir=path)
    assert store_quads(path) == n1
    assert first.triples == second.triples
    st = open_store(path)
    assert {TRIAL_GRAPH, "https://w3id.org/trialkg/graph/ontology"} <= {g.value for g in st.named_graphs()}
    assert count_quads(st, TRIAL_GRAPH) > 400


@pytest.mark.slow
def test_reload_replaces_exactly_one_publication(tmp_path, trial_turtle):
    path = tmp_path / "store"
    load_embedded(store_dir=path)
    other = Source(
        name="other.ttl",
        slug="other-2020",
        data=b"""@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://w3id.org/trialkg/publication/other-2020> rdfs:label "another publication" .""",
    )
    load_embedded([other], store_dir=path)
    edited = trial_turtle.replace('rdfs:label "Median follow-up" ;', 'rdfs:label "Median follow-up time" ;')
    load_embedded([Source("isoda-2018.ttl", "isoda-2018", edited.encode())], store_dir=path)
    st = open_store(path)
    labels = {
        r["l"].value
        for r in st.query(
            "SELECT ?l WHERE { GRAPH ?g { <https://w3id.org/trialkg/trial/isoda-2018/follow-up> <http://www.w3.org/2000/01/rdf-schema#label> ?l } }"
        )
    }
    assert labels == {"Median follow-up time"}, "the old graph was replaced, not merged"
    assert count_quads(st, "https://w3id.org/trialkg/graph/other-2020") == 1, "other publications are untouched"


@pytest.mark.slow
def test_invalid_graph_is_refused_and_store_unchanged(tmp_path, trial_turtle, edit_block):
    path = tmp_path / "store"
    load_embedded(store_dir=path)
    before = store_quads(path)
    with pytest.raises(ValidationFailed, match="nothing was written"):
        load_embedded([broken_trial(trial_turtle, edit_block)], store_dir=path)
    assert store_quads(path) == before


@pytest.mark.slow
def test_syntax_error_is_refused_and_store_unchanged(kg, tmp_path, trial_turtle):
    path = tmp_path / "store"
    assert kg("load", "--store", str(path)).returncode == 0
    before = store_quads(path)
    bad = tmp_path / "isoda-2018.ttl"
    bad.write_text(trial_turtle.replace("trialkg:value 61 ;", "trialkg:value 61 ;;;; ]", 1))
    r = kg("load", "--store", str(path), "--data", str(bad))
    assert r.returncode == 2 and f"{bad}:" in r.stderr
    assert store_quads(path) == before


@pytest.mark.slow
def test_cli_load_then_query_store(kg, tmp_path):
    path = tmp_path / "fresh-store"
    r = kg("load", "--store", str(path))
    assert r.returncode == 0, r.stderr
    assert f"store: {path}" in r.stdout and "triples" in r.stdout
    r = kg("query", "trial-summary", "--store", str(path), "--format", "tsv")
    assert r.returncode == 0, r.stderr
    assert '"evaluable: 36"' in r.stdout
    r = kg("query", "trial-summary", "--store", str(tmp_path / "missing"))
    assert r.returncode == 3 and "no store here" in r.stderr


@pytest.mark.slow
def test_progress_is_silent_when_piped(kg, tmp_path):
    r = kg("load", "--store", str(tmp_path / "s"))
    assert r.stderr == ""
    assert len(r.stdout.strip().splitlines()) == 2


# ---- a real oxigraph server over HTTP --------------------------------------------------------


@pytest.mark.slow
@pytest.mark.server
def test_every_query_answers_the_same_over_http(server):
    server.load()
    for name in sorted(catalog.catalog()):
        local = Dataset.build().run(name, PARAMS.get(name, {}))
        remote = Dataset.remote(f"{server.base}/query").run(name, PARAMS.get(name, {}))
        assert remote.variables == local.variables, name
        as_rows = lambda res: [tuple(sorted((k, str(v)) for k, v in r.items())) for r in res.rows]  # noqa: E731
        if name == "adverse-events":
            as_rows = lambda res: [
                tuple(sorted((k, " + ".join(sorted(str(v).split(" + ")))) for k, v in r.items())) for r in res.rows
            ]  # noqa: E731
        assert Counter(as_rows(remote)) == Counter(as_rows(local)), name
        if name != "consistency":
            assert remote.rows, f"{name} returned nothing over HTTP"


@pytest.mark.slow
@pytest.mark.server
def test_cli_query_over_http_prints_the_same_csv(kg, server):
    server.load()
    local = kg("query", "efficacy", "--format", "csv")
    remote = kg("query", "efficacy", "--format", "csv", "--endpoint", f"{server.base}/query")
    assert remote.returncode == 0, remote.stderr
    assert remote.stdout == local.stdout


@pytest.mark.slow
@pytest.mark.server
def test_server_reload_is_idempotent(server):
    server.load()
    first = server.nquads()
    server.load()
    assert server.nquads() == first
    assert not any(".staging" in q for q in first)


@pytest.mark.server
def test_server_refuses_invalid_graph_untouched(server, trial_turtle, edit_block):
    server.load()
    before = server.nquads()
    with pytest.raises(ValidationFailed):
        server.load([broken_trial(trial_turtle, edit_block)])
    assert server.nquads() == before


@pytest.mark.slow
@pytest.mark.server
def test_server_killed_mid_load_leaves_graphs_intact(tmp_path, trial_turtle):
    srv = OxigraphServer(tmp_path / "oxigraph").start()
    try:
        srv.load()
        before = {q for q in srv.nquads() if ".staging" not in q}
        edited = trial_turtle.replace('rdfs:label "Median follow-up" ;', 'rdfs:label "Changed" ;')
        sources = [Source("isoda-2018.ttl", "isoda-2018", edited.encode())]
        with pytest.raises(StoreError) as err:
            srv.load(sources, before_update=srv.kill, timeout=5)
        message = str(err.value)
        assert "published graphs unchanged" in message and "cannot reach the server" in message
        assert "\n" not in message
        srv.start()  # same location, after a SIGKILL
        after = {q for q in srv.nquads() if ".staging" not in q}
        assert after == before
    finally:
        srv.stop()


class _AuthProxy(http.server.BaseHTTPRequestHandler):
    """Basic-auth gate in front of the oxigraph server (as nginx would be in production)."""

    upstream = ""
    expected = ""

    def _handle(self):
        if self.headers.get("Authorization") != self.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="kg"')
            self.end_headers()
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        req = urllib.request.Request(
            self.upstream + self.path,
            data=body,
            method=self.command,
            headers={k: v for k, v in self.headers.items() if k.lower() in ("content-type", "accept")},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                data, status, ctype = resp.read(), resp.status, resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            data, status, ctype = exc.read(), exc.code, exc.headers.get("Content-Type", "")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = _handle

    def log_message(self, *args):
        pass


@pytest.mark.slow
@pytest.mark.server
def test_wrong_credentials_give_one_line_401_without_the_secret(kg, server):
    _AuthProxy.upstream = server.base
    _AuthProxy.expected = "Basic " + base64.b64encode(b"curator:right-password").decode()
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AuthProxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{proxy.server_address[1]}"
    try:
        env = {**os.environ, "TRIALKG_USER": "curator", "TRIALKG_PASSWORD": "s3cret-wrong-pw"}
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "kg",
                "load",
                "--endpoint",
                f"{url}/query",
                "--gsp-endpoint",
                f"{url}/store",
                "--update-endpoint",
                f"{url}/update",
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=str(server.location.parent),
            timeout=120,
        )
        assert r.returncode == 3
        assert "401" in r.stderr and len(r.stderr.strip().splitlines()) == 1
        assert "s3cret-wrong-pw" not in r.stderr + r.stdout
        env["TRIALKG_PASSWORD"] = "right-password"
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "kg",
                "load",
                "--endpoint",
                f"{url}/query",
                "--gsp-endpoint",
                f"{url}/store",
                "--update-endpoint",
                f"{url}/update",
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=str(server.location.parent),
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
        assert "right-password" not in r.stdout + r.stderr
    finally:
        proxy.shutdown()


def test_unreachable_server_is_one_line(kg):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = kg("query", "efficacy", "--endpoint", f"http://127.0.0.1:{port}/query")
    assert r.returncode == 2
    assert "cannot reach the server" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_progress_bar_on_a_terminal(capsys):
    from kg.load import Progress

    bar = Progress(total=12000, unit="triples sent", enabled=True)
    bar.advance(6000, "isoda-2018")
    bar.advance(6000, "other")
    bar.close()
    err = capsys.readouterr().err
    assert "\r[###############...............] 6000/12000 triples sent" in err
    assert "12000/12000" in err and err.endswith("\n")
    small = Progress(total=4, enabled=True)
    small.advance(4)
    assert capsys.readouterr().err == "", "small loads print only the summary line"


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.slow
def test_load_progress_counts_publications_and_ends_at_its_total(tmp_path, monkeypatch):
    """The bar's total is what the load checks and writes: it ends at N/N (it once ended at 76338/36481 triples)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import synth

    synth.generate(60, seed=5, out=tmp_path / "corpus")
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    load_embedded(src.files([tmp_path / "corpus"]), store_dir=tmp_path / "store", batch=25)
    shown = [line for line in terminal.getvalue().split("\r") if line.strip()]
    assert [s.split("] ")[1].split(" publications")[0] for s in shown] == ["25/60", "50/60", "60/60"]
    assert shown[-1].startswith("[" + "#" * 30 + "]") and terminal.getvalue().endswith("\n")


def test_shared_resources_do_not_repeat_rows_on_a_store(tmp_path):
    """Two publications describing the same journal: each query row once, on the store's union graph."""
    second = b"""@prefix trialkg: <https://w3id.org/trialkg/ontology/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://w3id.org/trialkg/journal/int-j-hematol> a trialkg:Journal ; rdfs:label "International Journal of Hematology" ;
    trialkg:issn "0925-5710" ."""
    path = tmp_path / "store"
    load_embedded(src.packaged_publications() + [Source("journal.ttl", "journal", second)], store_dir=path)
    rows = Dataset.open(path).run("citation", {"publication": "trialkg.publication:isoda-2018"}).rows
    assert len(rows) == 3, "one row per author, not one per graph that names the journal"


@pytest.mark.server
@pytest.mark.slow
def test_load_into_a_server_whose_default_graph_is_not_the_union_fails_saying_how_to_fix_it(tmp_path, kg):
    """Oxigraph started without --union-default-graph: the load is refused with exit 3, never a store answering nothing."""
    srv = OxigraphServer(tmp_path / "oxigraph", union=False).start()
    try:
        r = kg(
            "load",
            "--endpoint",
            f"{srv.base}/query",
            "--update-endpoint",
            f"{srv.base}/update",
            "--gsp-endpoint",
            f"{srv.base}/store",
        )
        assert r.returncode == 3, (r.returncode, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "--union-default-graph" in lines[0] and "default graph" in lines[0], r.stderr
        # the graphs are on the server (only the default graph does not show them), so nothing is lost
        assert any("<https://w3id.org/trialkg/graph/green-2017>" in q for q in srv.nquads())
        empty = kg("query", "trial-summary", "--endpoint", f"{srv.base}/query", "--format", "csv")
        assert empty.stdout.strip().count("\n") == 0  # what the check prevents: a header and no rows
    finally:
        srv.stop()
    ok = OxigraphServer(tmp_path / "oxigraph").start()  # the same store, now served as the README says
    try:
        rows = kg("query", "trial-summary", "--endpoint", f"{ok.base}/query", "--format", "csv")
        assert rows.returncode == 0 and rows.stdout.strip().count("\n") >= 3, rows.stdout
    finally:
        ok.stop()
