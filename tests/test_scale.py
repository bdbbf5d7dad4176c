"""Bounded memory by design: each step holds one batch of publications, whatever the corpus size.

Counted, not timed: the loaders report the most parsed quads they held at once
(``LoadResult.peak_held``), and a test checks it is one batch with the ontology,
never the corpus; the streamed build writes what the in-memory build writes.
"""

from __future__ import annotations

import http.server
import importlib.util
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pyoxigraph as ox
import pytest

import kg
import kg.load
from kg import resources
from kg import sources as src
from kg.build import build
from kg.dataset import Dataset
from kg.errors import StoreError, ValidationFailed
from kg.load import load_embedded, load_endpoint
from kg.outputs import RECORD
from kg.prefixes import turtle_prefixes
from kg.query import catalog, execute
from kg.query.params import bind

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import synth  # noqa: E402
from servers import loopback_http  # noqa: E402

N, BATCH = 24, 3


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[src.Source]:
    folder = tmp_path_factory.mktemp("corpus")
    synth.generate(N, seed=3, out=folder)
    return src.files([folder])


def batch_sizes(pubs: list[src.Source]) -> list[int]:
    """The quads of each batch the loaders parse: its publications with the ontology."""
    return [len(Dataset.build(pubs[i : i + BATCH]).store) for i in range(0, len(pubs), BATCH)]


def test_sources_are_read_when_parsed(corpus):
    assert all(s.data is None and s.location is not None for s in corpus), "files are not held in memory"
    assert corpus[0].read() == Path(corpus[0].location).read_bytes()


@pytest.mark.slow
def test_embedded_load_holds_one_batch_at_a_time(corpus, tmp_path):
    result = load_embedded(corpus, store_dir=tmp_path / "store", batch=BATCH)
    loaded = Dataset.open(tmp_path / "store")
    store = loaded.store
    assert len(list(loaded.quads())) == result.triples, "every publication was loaded"
    assert set(loaded.graphs()) == {src.graph_iri("ontology"), *(s.graph() for s in corpus)}
    assert result.peak_held == max(batch_sizes(corpus)), "the loader held one batch (with the ontology) at most"
    assert result.peak_held < result.triples, "never the corpus"
    del store
    whole = load_embedded(corpus, store_dir=tmp_path / "whole")
    assert whole.triples == result.triples, "the batch size changes nothing in the store"
    assert whole.peak_held > result.peak_held
    del loaded


def test_embedded_load_refuses_a_bad_last_batch_and_writes_nothing(corpus, tmp_path, trial_turtle, edit_block):
    bad = edit_block(
        trial_turtle, "trial:grade3-leukopenia-thrombocytopenia", "trialkg:value 2 ;", "trialkg:value 40 ;"
    )
    pubs = [*corpus, src.Source(name="isoda-2018.ttl", slug="isoda-2018", data=bad.encode())]
    with pytest.raises(ValidationFailed):
        load_embedded(pubs, store_dir=tmp_path / "store", batch=BATCH)
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").iterdir())
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".store.") and not p.name.endswith(".lock")] == []


def _server_class():
    spec = importlib.util.spec_from_file_location("_kg_test_load_scale", Path(__file__).with_name("test_load.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.OxigraphServer


@pytest.mark.slow
@pytest.mark.server
def test_server_load_holds_one_batch_at_a_time(corpus, tmp_path):
    srv = _server_class()(tmp_path / "oxigraph").start()
    try:
        result = srv.load(corpus, batch=BATCH)
        assert result.peak_held == max(batch_sizes(corpus)), "the loader held one batch (with the ontology) at most"
        assert result.peak_held < result.triples, "never the corpus"
        held = srv.nquads()
        assert len(held) == result.triples
        again = srv.load(corpus)  # one batch for everything: the same graphs on the server
        assert again.triples == result.triples and srv.nquads() == held
        assert again.peak_held > result.peak_held, "one batch of everything holds more than the batches did"
    finally:
        srv.stop()


class RefusingProxy:
    """A real HTTP proxy in front of a server that answers the ``fail_at``-th data update with a 500, unforwarded."""

    def __init__(self, upstream: str, fail_at: int, cap_rows: int | None = None):
        """``cap_rows``: SPARQL TSV answers are cut to that many rows, status 200 (a result-row cap)."""
        proxy = self
        self.updates = 0
        self.capped = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def _handle(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.command == "POST" and self.path.startswith("/update") and b"INSERT DATA" in body:
                    proxy.updates += 1
                    if proxy.updates == fail_at:
                        self.send_response(500)
                        self.send_header("Content-Length", "4")
                        self.end_headers()
                        self.wfile.write(b"full")
                        return
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "accept")}
                req = urllib.request.Request(
                    upstream + self.path, data=body or None, method=self.command, headers=headers
                )
                try:
                    with urllib.request.urlopen(req, timeout=60) as resp:
                        status, ctype, data = resp.status, resp.headers.get("Content-Type", ""), resp.read()
                except urllib.error.HTTPError as exc:
                    status, ctype, data = exc.code, exc.headers.get("Content-Type", ""), exc.read()
                if cap_rows is not None and "tab-separated" in ctype and data.count(b"\n") > cap_rows + 1:
                    data = b"".join(data.splitlines(keepends=True)[: cap_rows + 1])  # the header and cap_rows rows
                    proxy.capped += 1
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

            def log_message(self, *args):
                pass

        self.httpd, self.base = loopback_http(Handler)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.slow
@pytest.mark.server
def test_server_load_larger_than_a_batch_goes_in_bounded_requests_all_or_nothing(corpus, tmp_path, monkeypatch):
    limit = 320 * 1024  # bytes per update request (the ontology alone is ~260 kB): as if the corpus were too large
    sent: list[int] = []
    post = kg.load._post_update

    def counted(update, request, timeout):
        if isinstance(request, Path):
            sent.append(request.stat().st_size)
        return post(update, request, timeout)

    monkeypatch.setattr("kg.load._post_update", counted)
    srv = _server_class()(tmp_path / "oxigraph").start()
    try:
        first = srv.load(corpus, batch=BATCH, batch_bytes=limit)
        assert len(sent) > 3 and max(sent) <= limit, "several requests, none larger than a batch"
        assert first.peak_held == max(batch_sizes(corpus)), "kg held one parsed batch at most"
        old = srv.nquads()
        assert len(old) == first.triples, "every graph arrived"

        changed = tmp_path / "changed"  # the same publications (same graph names), other content
        synth.generate(N, seed=4, out=changed)
        new = src.files([changed])
        proxy = RefusingProxy(srv.base, fail_at=3)
        try:
            with pytest.raises(StoreError, match=r"at request 3 of \d+, published graphs unchanged.*2 request.*undone"):
                load_endpoint(f"{proxy.base}/query", new, update_endpoint=f"{proxy.base}/update", batch_bytes=limit)
        finally:
            proxy.close()
        assert srv.nquads() == old, "the two requests applied before the refused one were undone"

        again = srv.load(new, batch_bytes=limit)
        assert len(srv.nquads()) == again.triples and srv.nquads() != old, "then the new version loads whole"
    finally:
        srv.stop()


@pytest.mark.slow
@pytest.mark.server
def test_a_server_that_caps_result_rows_cannot_make_a_failed_load_lose_graphs(corpus, tmp_path):
    """Before each request the graphs it replaces are read back, to undo it if a later one fails. A server that cuts
    that answer at a row cap with status 200 (Virtuoso's ResultSetMaxRows) gave a short copy: the undo then put back
    less than was there and said the graphs were unchanged."""
    limit = 256 * 1024
    srv = _server_class()(tmp_path / "oxigraph").start()
    try:
        srv.load(corpus, batch=BATCH, batch_bytes=limit)
        old = srv.nquads()
        changed = tmp_path / "changed"
        synth.generate(N, seed=4, out=changed)
        proxy = RefusingProxy(srv.base, fail_at=3, cap_rows=500)
        try:
            with pytest.raises(StoreError, match=r"answered 500 \(does it cap the rows of a result"):
                load_endpoint(
                    f"{proxy.base}/query",
                    src.files([changed]),
                    update_endpoint=f"{proxy.base}/update",
                    batch_bytes=limit,
                )
        finally:
            proxy.close()
        assert proxy.capped, "the proxy did cut an answer"
        assert srv.nquads() == old, "the server holds what it held"
    finally:
        srv.stop()


def _graph(path: Path, fmt: ox.RdfFormat) -> tuple[int, set[str]]:
    store = ox.Store()
    store.load(path=str(path), format=fmt)
    return len(store), {
        str(q) for q in store if not isinstance(q.subject, ox.BlankNode) and not isinstance(q.object, ox.BlankNode)
    }


@pytest.mark.parametrize("partition", [None, 16384], ids=["one-partition", "many-partitions"])
def test_streamed_build_writes_what_the_in_memory_build_writes(corpus, tmp_path, monkeypatch, partition):
    if partition:  # small partitions: every triple stated twice must still meet its copy
        monkeypatch.setattr("kg.merge.PARTITION_BYTES", partition)
    pubs = [*corpus, *src.packaged_publications()]  # the packaged ones share a journal: triples stated twice
    deferred = Dataset.build(pubs, defer=True)
    assert deferred.deferred is not None, "nothing parsed yet"
    streamed = build(deferred, tmp_path / "streamed", batch=BATCH)
    in_memory = Dataset.build(pubs, defer=False)
    held = build(in_memory, tmp_path / "held")
    assert streamed.triples == held.triples == in_memory.statistics.triples
    for name, fmt in [
        ("trialkg.ttl", ox.RdfFormat.TURTLE),
        ("trialkg.nt", ox.RdfFormat.N_TRIPLES),
        ("trialkg.jsonld", ox.RdfFormat.JSON_LD),
        ("trialkg.nq", ox.RdfFormat.N_QUADS),
    ]:
        assert _graph(tmp_path / "streamed" / name, fmt) == _graph(tmp_path / "held" / name, fmt), name
    # the counts of the streamed pass are the ones SPARQL computes over the whole graph in a store
    void = ox.serialize(in_memory.description, format=ox.RdfFormat.TURTLE, prefixes=turtle_prefixes())
    assert (tmp_path / "streamed" / "void.ttl").read_bytes() == void
    hidden = [p.name for p in (tmp_path / "streamed").iterdir() if p.name.startswith(".")]
    assert hidden == [RECORD], "no scratch files left (the record of what kg wrote stays)"
    # the merged JSON-LD is in the streaming document form: a streaming parser reads it, in bounded memory
    stream = ox.parse(path=str(tmp_path / "streamed" / "trialkg.jsonld"), format=ox.RdfFormat.STREAMING_JSON_LD)
    assert sum(1 for _ in stream) == streamed.triples


# ---- reproducible builds -------------------------------------------------------------------------

#: a publication with blank nodes of every Turtle form (labelled, anonymous, a collection): the parser labels
#: them at random, so only deterministic relabelling gives the same bytes twice
BLANK = b"""@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://w3id.org/trialkg/synthetic/blank> rdfs:label "a resource (with blank nodes) [1]" ;
    rdfs:seeAlso [ rdfs:label "anonymous" ; rdfs:seeAlso _:x ] , ( 1 2 3 ) .
_:x rdfs:label "labelled" .
_:y rdfs:label "labelled" .
"""
DUMPS = ["trialkg.nq", "trialkg.nt", "trialkg.ttl", "trialkg.jsonld", "void.ttl"]


def _bytes(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in DUMPS}


@pytest.fixture(scope="module")
def mixed(corpus, tmp_path_factory) -> list[src.Source]:
    """Synthetic publications, the packaged ones (a journal two of them share) and one with blank nodes."""
    folder = tmp_path_factory.mktemp("blank")
    (folder / "blank.ttl").write_bytes(BLANK)
    return [*corpus, *src.packaged_publications(), *src.files([folder / "blank.ttl"])]


def test_builds_are_byte_identical_on_every_path(mixed, tmp_path, monkeypatch):
    first = build(Dataset.build(mixed, defer=False), tmp_path / "memory")
    again = build(Dataset.build(mixed, defer=False), tmp_path / "memory-again")
    monkeypatch.setattr("kg.merge.PARTITION_BYTES", 4096)  # many object partitions
    streamed = build(Dataset.build(list(reversed(mixed)), defer=True), tmp_path / "streamed", batch=2)
    other = build(Dataset.build(mixed, defer=True), tmp_path / "streamed-5", batch=5)
    assert first.triples == again.triples == streamed.triples == other.triples
    expected = _bytes(tmp_path / "memory")
    assert b"_:b" in expected["trialkg.nt"], "the blank nodes are there, relabelled"
    for folder in ("memory-again", "streamed", "streamed-5"):
        assert _bytes(tmp_path / folder) == expected, folder
    lines = expected["trialkg.nt"].splitlines()
    assert lines == sorted(set(lines)), "the merged graph: each triple once, sorted"


BUILD_IN_A_PROCESS = """
import sys
import kg.dataset
kg.dataset.DEFER_BYTES = int(sys.argv[1])  # 0: the streamed build, whatever the size
from kg.cli import main
sys.argv = ["kg", "build", "--out", sys.argv[2], *[a for p in sys.argv[3:] for a in ("--trials", p)]]
main()
"""


@pytest.mark.slow
def test_two_builds_in_separate_processes_are_byte_identical(mixed, tmp_path):
    """Python's str/bytes hashing differs per process (PYTHONHASHSEED): nothing written may depend on it."""
    paths = [str(s.location) for s in mixed[: -len(src.packaged_publications()) - 1]]
    paths += [str(f) for f in resources.trial_files()] + [str(mixed[-1].location)]
    outputs = {}
    for seed, defer in (("1", 0), ("2", 0), ("3", 1 << 40)):
        out = tmp_path / f"out-{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(Path(kg.__file__).resolve().parent.parent)}
        r = subprocess.run(
            [sys.executable, "-c", BUILD_IN_A_PROCESS, str(defer), str(out), *paths],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert r.returncode == 0, r.stderr
        outputs[seed] = _bytes(out)
    assert outputs["1"] == outputs["2"], "two streamed builds"
    assert outputs["1"] == outputs["3"], "the streamed and the in-memory build"


# ---- serving and publishing hold no more than a page at a time ---------------------------------------------


@pytest.mark.slow  # renders every page of a corpus: 5 s
def test_a_site_holds_a_bounded_cache_whatever_it_serves(corpus, tmp_path, monkeypatch):
    """Every page of a store asked once: the site keeps the most recent few, never one per resource."""
    from kg.web import pages
    from kg.web.site import LRU, Site

    load_embedded(corpus, store_dir=tmp_path / "store", batch=BATCH)
    site = Site(Dataset.open(tmp_path / "store"), cache=LRU(8))
    assert site.extra == [], "the description is read from the store (kg load stored it), not held"
    monkeypatch.setattr(pages, "render_trial", pages.render_resource)  # the lead's study pages aside
    asked = 0
    for iri in site.resources():
        pages.page(site, iri)
        site.rdf(iri, "text/turtle")
        asked += 1
    assert asked > 500 and len(site.cache) <= 8
    listing = pages.studies_page(site, 1)
    assert listing is not None and listing.count('<li><a href="../synthetic/') == N
    assert pages.studies_page(site, 2) is None, "past the last page: no page"


@pytest.mark.parametrize(
    "synthetic", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["packaged", "synthetic"]
)
def test_a_study_page_from_its_own_graphs_is_the_page_from_the_whole_store(synthetic, corpus, monkeypatch):
    """A study page asks its queries of the study's own graphs (time that follows the study, not the corpus):
    every study's page is byte for byte the page the same queries give on the whole store."""
    from kg.web import pages
    from kg.web.site import Site

    dataset = Dataset.build(corpus) if synthetic else Dataset.build()
    site = Site(dataset)
    studies = [s.iri for s in site.listing()]
    assert len(studies) >= 6
    own = {iri: pages.render_trial(site, iri) for iri in studies}

    def whole(site_: Site, study: str):  # the same queries by the engine on the whole store (no copy)
        def rows(name: str, **params: str):
            q = catalog.get(name)
            return execute.on_oxigraph(site_.dataset.store, q.text, bind(q, params)).rows

        return rows

    monkeypatch.setattr(pages, "_page_rows_of", whole)
    for iri in studies:
        assert pages.render_trial(Site(dataset), iri) == own[iri], iri


@pytest.mark.parametrize(
    "synthetic", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["packaged", "synthetic"]
)
def test_a_study_screen_from_its_own_graphs_is_the_screen_from_the_whole_store(synthetic, corpus):
    """`kg summary SLUG` asks the study's own graphs (Dataset.of_studies): the same screen as on the whole store."""
    from kg.summary import screen

    dataset = Dataset.build(corpus) if synthetic else Dataset.build()
    studies = [r["study"].value for r in dataset.run("studies").rows]
    assert len(studies) >= 6
    for iri in studies:
        own = dataset.of_studies([iri])
        assert len(list(own.quads())) < len(dataset.store)
        assert screen(own, iri) == screen(dataset, iri), iri


def test_a_study_page_asks_every_query_in_its_one_child(monkeypatch):
    """Where the site isolates its queries, a study page's queries are all asked in one forked child, none again
    in the serving process (each would copy the study's graphs there: `citation`, scoped by publication, was)."""
    from kg.web import pages
    from kg.web.site import Site

    dataset = Dataset.build()
    dataset.isolated = True
    site = Site(dataset)
    copied: list[str] = []
    of_studies = dataset.of_studies
    monkeypatch.setattr(
        dataset, "of_studies", lambda studies, *a, **kw: copied.append(1) or of_studies(studies, *a, **kw)
    )
    iri = next(site.listing()).iri
    assert "<table" in pages.render_trial(site, iri)
    assert copied == []  # the child's copies are the child's; the serving process made none
