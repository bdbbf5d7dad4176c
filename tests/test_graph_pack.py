"""The publications' graphs ``kg load`` packs beside a store: copies parsed from them hold what the store holds."""

from __future__ import annotations

import json
import shutil

import pyoxigraph as ox
import pytest

from kg import graph_pack
from kg import packed as numbers
from kg import sources as src
from kg.dataset import Dataset
from kg.errors import StoreError
from kg.load import load_embedded
from kg.prefixes import RDF_TYPE, TKG
from kg.query import batches, catalog
from kg.sources import Source

#: every study query the batches ask of a store, and the one publication query
BATCHED = [name for name, q in sorted(catalog.catalog().items()) if q.scope]
#: what a scoped query needs besides its scope: a term the packaged publications have rows for
NEEDS: dict[str, dict[str, str]] = {
    "evidence-by-drug": {"drug": "NCIT:C1851"},
    "compare-outcomes": {"endpoint": "NCIT:C28234"},
}


def _unpacked(path, to):
    """A copy of a store's folder without its pack: what a store an earlier version loaded is read as."""
    shutil.copytree(path, to)
    (to / graph_pack.FILE).unlink()
    (to / graph_pack.INDEX).unlink()
    return to


def _copy(ds: Dataset, studies: list[str], predicates=None, named=True) -> set[str]:
    return {str(q) for q in ds.of_studies(studies, predicates, named=named).store}


@pytest.fixture(scope="module")
def packed(tmp_path_factory, synth):
    """The packaged publications and 30 synthetic ones (one with a blank node) loaded into a store."""
    root = tmp_path_factory.mktemp("packed")
    synth.generate(30, seed=5, out=root / "corpus")
    blank = Source(
        "blank-2020.ttl",
        "blank-2020",
        (root / "corpus" / "synth-000003.ttl").read_bytes()
        + b'\n<https://w3id.org/trialkg/publication/blank-2020> <http://www.w3.org/2000/01/rdf-schema#comment> [ <http://www.w3.org/2000/01/rdf-schema#label> "x" ] .\n',
    )
    pubs = [*src.packaged_publications(), *src.files([root / "corpus"]), blank]
    load_embedded(pubs, store_dir=root / "store", validate=False)
    return root / "store"


def test_load_packs_every_publication_graph_without_blank_nodes(packed):
    ds = Dataset.open(packed)
    reader = ds._pack
    assert reader is not None, "kg load writes a pack the store it made reads"
    publications = [g for g in ds.graphs() if not g.endswith("/ontology")]
    blank = "https://w3id.org/trialkg/graph/blank-2020"
    assert set(reader.where) == set(publications) - {blank}, "every graph but the one with a blank node is packed"
    assert reader.triples(blank) is None, "read from the store"
    for graph in sorted(reader.where)[:5]:
        lines = reader.triples(graph)
        assert lines is not None
        parsed = {str(t) for t in ox.parse(lines, format=ox.RdfFormat.N_TRIPLES)}
        assert parsed == {str(q.triple) for q in ds.quads(graph)}, f"{graph}: the block is the graph"


def test_copies_parsed_from_the_pack_hold_what_the_store_holds(packed, tmp_path):
    with_pack, without = Dataset.open(packed), Dataset.open(_unpacked(packed, tmp_path / "old"))
    assert without._pack is None
    studies = [s.value for s in with_pack.studies()]
    assert len(studies) > 30
    everything = _copy(without, studies)
    assert _copy(with_pack, studies) == everything, "named graphs and their merge"
    assert _copy(with_pack, studies, named=False) == _copy(without, studies, named=False)
    efficacy = batches.predicates_of(catalog.get("efficacy").text)
    assert efficacy is not None
    only = _copy(with_pack, studies, efficacy, named=False)
    assert only == _copy(without, studies, efficacy, named=False), "only the query's predicates"
    assert 0 < len(only) < len(_copy(without, studies, named=False))
    # a query that names the classes it reads (citation: journal articles) copies only those types of the pack
    citation = catalog.get("citation").text
    names, types = batches.predicates_of(citation), batches.types_of(citation)
    assert names is not None and types == {TKG + "JournalArticle"}
    pack = with_pack._pack
    assert pack is not None
    in_pack = [g for g in with_pack.graphs_of(studies) if pack.triples(g.value) is not None]  # no blank nodes
    assert len(in_pack) > 30
    every = set(with_pack.of_graphs(in_pack, names, named=False).store)
    typed = set(with_pack.of_graphs(in_pack, names, named=False, types=types).store)
    is_type = ox.NamedNode(RDF_TYPE)
    assert typed == {q for q in every if q.predicate != is_type or q.object.value in types}
    assert any(q.predicate == is_type for q in every - typed), "other types were left out"


@pytest.mark.slow
@pytest.mark.parametrize("name", BATCHED)
def test_every_scoped_query_answers_the_same_bytes_with_and_without_the_pack(packed, tmp_path, name):
    with_pack, without = Dataset.open(packed), Dataset.open(_unpacked(packed, tmp_path / "old"))
    for fmt in ("csv", "json"):
        assert with_pack.run(name, NEEDS.get(name, {})).rows, f"{name} has rows to compare"
        a, b = _written(with_pack, name, fmt), _written(without, name, fmt)
        assert a == b, f"{name} as {fmt}"
    study = with_pack.studies()[0].value
    param = catalog.get(name).scope or ""
    one = {param: study, **NEEDS.get(name, {})}
    assert _written(with_pack, name, "tsv", one) == _written(without, name, "tsv", one)


def _written(ds: Dataset, name: str, fmt: str, params=None) -> bytes:
    import io

    out = io.BytesIO()
    ds.write(name, params or NEEDS.get(name, {}), fmt, out)
    return out.getvalue()


@pytest.mark.slow
def test_a_reload_keeps_the_blocks_of_the_graphs_it_does_not_replace(packed, tmp_path):
    path = tmp_path / "store"
    shutil.copytree(packed, path)
    before = json.loads((path / graph_pack.INDEX).read_text())["graphs"]
    kept = Dataset.open(path)._pack
    assert kept is not None
    old_block = {g: kept.raw(g) for g in kept.where}
    isoda = next(s for s in src.packaged_publications() if s.slug == "isoda-2018")
    edited = isoda.read().replace(b'rdfs:label "Median follow-up" ;', b'rdfs:label "Median follow-up time" ;')
    assert edited != isoda.read()
    load_embedded([Source("isoda-2018.ttl", "isoda-2018", edited)], store_dir=path, validate=False)
    ds = Dataset.open(path)
    reader = ds._pack
    assert reader is not None, "the new load's pack is stamped with the new data"
    assert set(reader.where) == set(before)
    graph = "https://w3id.org/trialkg/graph/isoda-2018"
    assert {g for g in reader.where if reader.raw(g) != old_block[g]} == {graph}, "only the replaced graph changed"
    assert b"Median follow-up time" in (reader.triples(graph) or b"")
    study = "https://w3id.org/trialkg/trial/isoda-2018"
    assert _copy(ds, [study]) == _copy(Dataset.open(_unpacked(path, tmp_path / "old")), [study])
    # a packed graph replaced by one the pack leaves out (a blank node) loses its old block
    synth = next(s for s in src.files([packed.parent / "corpus"]) if s.slug == "synth-000001")
    blank = (
        synth.read()
        + b"\n<https://w3id.org/trialkg/publication/synth-000001> <http://www.w3.org/2000/01/rdf-schema#comment> [] .\n"
    )
    load_embedded([Source("synth-000001.ttl", "synth-000001", blank)], store_dir=path, validate=False)
    reader = Dataset.open(path)._pack
    assert reader is not None
    assert "https://w3id.org/trialkg/graph/synth-000001" not in reader.where
    assert set(reader.where) == set(before) - {"https://w3id.org/trialkg/graph/synth-000001"}


def test_the_pack_keeps_each_studys_graphs_as_the_store_holds_them(packed, tmp_path):
    """A copy of a batch of studies looks their graphs up in the pack's index instead of asking the store; after a
    reload that adds a file naming a study (a second report of it), the index names that file's graph too."""
    path = tmp_path / "store"
    shutil.copytree(packed, path)

    def indexed(ds: Dataset) -> dict[str, list[str]]:
        reader = ds._pack
        assert reader is not None and reader.studies is not None
        return {s.value: reader.studies.graphs_of(s.value) or [] for s in ds.studies()}

    def asked(ds: Dataset) -> dict[str, list[str]]:  # the store's own answer
        found: dict[str, list[str]] = {s.value: [] for s in ds.studies()}
        for r, g in ds._graphs_with(list(found)):
            found[r].append(g)
        return {s: sorted(gs) for s, gs in found.items()}

    ds = Dataset.open(path)
    assert indexed(ds) == asked(ds) and len(indexed(ds)) > 30
    study = "https://w3id.org/trialkg/trial/isoda-2018"
    report = Source(
        "second-report.ttl",
        "second-report",
        f"<{study}> <https://w3id.org/trialkg/ontology/describedIn> <https://w3id.org/trialkg/news/second> .".encode(),
    )
    load_embedded([report], store_dir=path, validate=False)
    ds = Dataset.open(path)
    assert indexed(ds) == asked(ds)
    assert "https://w3id.org/trialkg/graph/second-report" in indexed(ds)[study]
    assert "https://w3id.org/trialkg/graph/second-report" in {g.value for g in ds.graphs_of([study])}


@pytest.mark.slow
def test_a_damaged_or_stale_pack_is_not_read(packed, tmp_path):
    path = tmp_path / "store"
    shutil.copytree(packed, path)
    studies = [s.value for s in Dataset.open(path).studies()]
    truth = _copy(Dataset.open(_unpacked(packed, tmp_path / "old")), studies)
    data = bytearray((path / graph_pack.FILE).read_bytes())
    for i in range(100, len(data), 997):  # bytes flipped all through the blocks: zlib's checksum sees it
        data[i] ^= 0x5A
    (path / graph_pack.FILE).write_bytes(bytes(data))
    assert _copy(Dataset.open(path), studies) == truth, "a block that does not read back is read from the store"
    index = json.loads((path / graph_pack.INDEX).read_text())
    index["description"] = "0" * 64
    (path / graph_pack.INDEX).write_text(json.dumps(index))
    assert Dataset.open(path)._pack is None, "a pack written with other data is not read"
    index["description"] = json.loads((packed / graph_pack.INDEX).read_text())["description"]  # the true stamp
    beyond = numbers.pack([2**62] * len(index["graphs"]), "Q")  # blocks past the end of the pack file
    for damaged in (
        {"graphs": index["graphs"][::-1]},
        {"at": index["at"][:-4]},
        {"size": "not base64!"},
        {"at": beyond},
        {"size": beyond},
    ):
        (path / graph_pack.INDEX).write_text(json.dumps({**index, **damaged}))
        assert Dataset.open(path)._pack is None, damaged
    (path / graph_pack.INDEX).write_text(json.dumps(index))
    assert Dataset.open(path)._pack is not None, "the undamaged index reads"
    (path / graph_pack.INDEX).write_text("{not json")
    assert Dataset.open(path)._pack is None
    assert _copy(Dataset.open(path), studies) == truth
    (path / graph_pack.INDEX).write_text(json.dumps(index))
    kept = json.loads((path / graph_pack.STUDIES).read_text())
    for damaged in (
        {"description": "0" * 64},
        {"studies": kept["studies"][::-1]},
        {"study_start": numbers.pack([0], "Q")},
        {"study_graph_ids": numbers.pack([10**9], "Q")},
        {"study_graphs": "not a list"},
    ):  # each study's graphs are then asked of the store
        (path / graph_pack.STUDIES).write_text(json.dumps({**kept, **damaged}))
        reader = Dataset.open(path)._pack
        assert reader is not None and reader.studies is None, damaged
        assert _copy(Dataset.open(path), studies) == truth, damaged
    (path / graph_pack.STUDIES).unlink()  # as a store an earlier version loaded
    assert _copy(Dataset.open(path), studies) == truth


@pytest.mark.slow
def test_a_store_opened_before_a_reload_reads_its_own_pack_and_index_not_the_new_ones(tmp_path):
    """A reload swaps in a new folder with its own pack and evidence index; a dataset opened before it (a server
    running, a query under way) keeps reading the files written with the store it holds, even where the edit
    changes no count (the stamp alone, a digest of the description's counts, would not tell them apart)."""
    path = tmp_path / "store"
    load_embedded(store_dir=path)
    warm, cold = Dataset.open(path), Dataset.open(path)
    warm.warm()  # as a server does when it starts: the pack's index read, its file open
    evidence_before = warm.evidence.studies
    isoda = next(s for s in src.packaged_publications() if s.slug == "isoda-2018")
    edited = isoda.read().replace(b'clinical trial"', b'clinical triaZ"', 1)
    assert edited != isoda.read() and len(edited) == len(isoda.read())
    load_embedded([Source("isoda-2018.ttl", "isoda-2018", edited)], store_dir=path)
    after = Dataset.open(path)
    assert warm.stored_description() == after.stored_description(), "the counts are the same: one stamp"
    study = "https://w3id.org/trialkg/trial/isoda-2018"
    new = _copy(after, [study])
    assert after._pack is not None and any('triaZ"' in q for q in new)
    for before in (warm, cold):
        old = _copy(before, [study])
        assert old == {str(q) for q in _truth(before, study)}, "the copy is of the store it was opened with"
        assert not any('triaZ"' in q for q in old)
    assert warm._pack is not None, "read from the pack it opened (its folder is gone since)"
    assert cold._pack is None, "its folder is gone: read from the store, never from the new folder's pack"
    assert cold.evidence.studies == evidence_before


def _truth(ds: Dataset, study: str):
    """A copy of a study's graphs read off the store, as of_studies makes it without a pack."""
    store = ox.Store()
    for g in ds.graphs_of([study]):
        quads = list(ds.store.quads_for_pattern(None, None, None, g))
        store.extend(quads)
        store.extend(ox.Quad(q.subject, q.predicate, q.object) for q in quads)
    return store


@pytest.mark.slow
def test_a_dataset_holds_no_file_open_once_it_is_gone(packed):
    import gc
    import os

    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("no /proc/self/fd to count open files on this system")
    study = Dataset.open(packed).studies()[0].value
    gc.collect()
    start = open_fds()
    for _ in range(40):
        ds = Dataset.open(packed)
        assert ds._pack is not None
        ds.of_studies([study])
        del ds
    gc.collect()
    assert open_fds() <= start + 2, "each dataset's folder and pack are closed with it"
    damaged = packed.parent / "damaged"  # a store RocksDB cannot read: one line, and no file left open
    shutil.copytree(packed, damaged)
    (damaged / "CURRENT").write_text("garbage\n")
    for _ in range(20):
        with pytest.raises(StoreError, match="cannot open the store"):
            Dataset.open(damaged)
    gc.collect()
    assert open_fds() <= start + 2
    shutil.rmtree(damaged)


def test_pages_forked_from_a_site_read_the_pack_index_once(packed, monkeypatch):
    """The pack's index (6 MB of JSON at 100,000 publications) is read once, by the process that serves or
    publishes, not again in every child that renders a page."""
    from kg.web.pages import render_trial
    from kg.web.site import Site

    ds = Dataset.open(packed)
    ds.isolated = True  # pages render in forked children, as kg serve's do
    site = Site(ds)
    study = ds.studies()[0].value
    expected = render_trial(site, study)

    def refuse(*args, **kwargs):
        raise AssertionError("the pack's index read again")

    monkeypatch.setattr(graph_pack.Reader, "open", refuse)
    assert render_trial(site, study) == expected  # rendered again (pages are cached by the server, not here)
