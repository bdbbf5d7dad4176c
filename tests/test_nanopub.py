"""``kg export --format nanopub``: one nanopublication per statistic, adverse-event report and claim.

Checked by the PyPI ``nanopub`` package itself (the nanopub tools' Python library): each
nanopublication, read back from the exported TriG, is well formed by its ``is_valid`` (four graphs,
provenance about the assertion, publication info about the nanopublication) and its URI is the
trusty URI of its content by its ``has_valid_trusty`` (the library recomputes the artefact with its
own normalization). A changed triple breaks the check, and the same graph always gives the same
file (no "now" in it).
"""

from __future__ import annotations

from datetime import date

import pyoxigraph as ox
import pytest

from kg.export import WRITERS
from kg.nanopub import NP_BASE

nanopub = pytest.importorskip(
    "nanopub", reason="the nanopub package (test extra, PyPI 'nanopub') is not installed: pip install nanopub"
)
rdflib = pytest.importorskip("rdflib")

NP = "http://www.nanopub.org/nschema#"
T = "https://w3id.org/trialkg/ontology/"
PROV = "http://www.w3.org/ns/prov#"
OA = "http://www.w3.org/ns/oa#"


@pytest.fixture(scope="module")
def trig(dataset) -> bytes:
    return WRITERS["nanopub"]["trialkg.nanopubs.trig"](dataset)


def split(trig: bytes) -> dict[str, rdflib.Dataset]:
    """Each nanopublication of the file on its own, as the library reads one."""
    whole = rdflib.Dataset()
    whole.parse(data=trig, format="trig")
    heads = {str(s) for g in whole.graphs() for s in g.subjects(rdflib.RDF.type, rdflib.URIRef(NP + "Nanopublication"))}
    out = {}
    for uri in heads:
        one = rdflib.ConjunctiveGraph()
        for g in whole.graphs():
            if str(g.identifier).startswith(uri + "#"):
                for t in g:
                    one.get_context(g.identifier).add(t)
        out[uri] = one
    return out


def checked(graph) -> bool:
    """The library's own checks: well formed, and the URI is the trusty URI of the content (raise otherwise)."""
    conf = nanopub.NanopubConf(
        add_prov_generated_time=False,
        add_pubinfo_generated_time=False,
        attribute_assertion_to_profile=False,
        attribute_publication_to_profile=False,
    )
    np = nanopub.Nanopub(rdf=graph, conf=conf)
    return np.is_valid and np.has_valid_trusty


LIBRARY_CHECK = """
import json, sys, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, sys.argv[2])
import test_nanopub as t
out = {}
for uri, graph in t.split(open(sys.argv[1], "rb").read()).items():
    try:
        out[uri] = "" if t.checked(graph) else "not valid"
    except Exception as exc:
        out[uri] = repr(exc)
print(json.dumps(out))
"""


def library_check(trig: bytes, tmp_path) -> dict[str, str]:
    """Every nanopublication of a TriG file through the library's checks, in a process of its own: what fails.

    Its own process, as a user of the nanopub tools runs them: rdflib's literal handling is process-wide, and
    pyshacl (which other tests run in this process) leaves it reading "...T00:00:00Z" as "...+00:00", so the
    library would then hash another text than the file holds (CI saw 83 of 83 fail after a pyshacl test).
    """
    import json
    import subprocess
    import sys

    path = tmp_path / "nanopubs.trig"
    path.write_bytes(trig)
    here = str(__import__("pathlib").Path(__file__).parent)
    r = subprocess.run([sys.executable, "-c", LIBRARY_CHECK, str(path), here], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout)


def items(store: ox.Store) -> set[str]:
    """Every statistic (any subclass of trialkg:Statistic), adverse-event report and claim, walked in Python."""
    sub = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#subClassOf")
    classes, todo = set(), [ox.NamedNode(T + "Statistic")]
    while todo:
        c = todo.pop()
        if c not in classes:
            classes.add(c)
            todo += [q.subject for q in store.quads_for_pattern(None, sub, c, None)]
    classes |= {ox.NamedNode(T + "AdverseEventReport"), ox.NamedNode(T + "Claim")}
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    return {q.subject.value for c in classes for q in store.quads_for_pattern(None, rdf_type, c, None)}


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_nanopublications_of_each_kind_pass_the_nanopub_librarys_checks(trig, dataset, tmp_path):
    nps = split(trig)
    assert all(uri.startswith(NP_BASE + "RA") for uri in nps)
    assert len(nps) == len(items(dataset.store)) >= 50
    kinds = {}
    for uri, graph in sorted(nps.items()):
        (assertion,) = [c for c in graph.contexts() if str(c.identifier).endswith("#assertion")]
        for kind in ("Claim", "AdverseEventReport", "ConfidenceInterval"):
            if (None, rdflib.RDF.type, rdflib.URIRef(T + kind)) in assertion:
                kinds.setdefault(kind, (uri, graph))
    assert len(kinds) == 3
    found = library_check(trig, tmp_path)
    assert {uri: found[uri] for uri, _ in kinds.values()} == {uri: "" for uri, _ in kinds.values()}


@pytest.mark.slow  # every one of them, through the library (seconds)
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_every_nanopublication_passes_the_nanopub_librarys_checks(trig, dataset, tmp_path):
    found = library_check(trig, tmp_path)
    assert len(found) == len(items(dataset.store)) >= 50
    assert {uri: error for uri, error in found.items() if error} == {}


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_each_holds_its_item_its_sources_quote_and_publication_info(trig, dataset):
    quads = list(ox.parse(trig, format=ox.RdfFormat.TRIG))
    by_graph: dict[str, list[ox.Quad]] = {}
    for q in quads:
        by_graph.setdefault(q.graph_name.value, []).append(q)
    asserted = {q.subject.value for g, qs in by_graph.items() if g.endswith("#assertion") for q in qs}
    assert items(dataset.store) <= asserted
    orr = "https://w3id.org/trialkg/trial/isoda-2018/orr"
    (np_uri,) = {
        g[: -len("#assertion")]
        for g, qs in by_graph.items()
        if g.endswith("#assertion")
        for q in qs
        if q.subject.value == orr and q.predicate.value == T + "value"
    }
    assertion = by_graph[np_uri + "#assertion"]
    assert any(q.predicate.value == T + "value" and q.object.value == "61" for q in assertion)
    assert any(q.predicate.value == T + "hasStatistic" and q.object.value == orr for q in assertion)  # its study
    assert not any(q.predicate.value in (PROV + "wasDerivedFrom", T + "quotedFrom") for q in assertion)
    provenance = by_graph[np_uri + "#provenance"]
    assert any(
        q.subject.value == np_uri + "#assertion" and q.predicate.value == PROV + "wasDerivedFrom" for q in provenance
    )
    quote = [q.object.value for q in provenance if q.predicate.value == OA + "exact"]
    (exact,) = [
        q.object.value
        for q in dataset.quads()
        if q.predicate.value == OA + "exact"
        and any(
            r.object == q.subject
            for r in dataset.store.quads_for_pattern(None, ox.NamedNode(OA + "hasSelector"), None, None)
            if any(
                True
                for _ in dataset.store.quads_for_pattern(
                    ox.NamedNode(orr), ox.NamedNode(T + "quotedFrom"), r.subject, None
                )
            )
        )
    ]
    assert quote == [exact]
    info = {q.predicate.value: q.object for q in by_graph[np_uri + "#pubinfo"]}
    assert info["http://purl.org/dc/terms/license"].value == "https://creativecommons.org/licenses/by/4.0/"
    assert info["http://purl.org/dc/terms/creator"].value == "trialkg curators"
    assert info["http://purl.org/dc/terms/created"].value == "2026-11-25T00:00:00Z"  # the data's issued date


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_changed_triple_breaks_the_trusty_uri(trig, tmp_path):
    uri = sorted(split(trig))[0]
    tampered = trig + f'<{uri}#assertion> {{ <{uri}#assertion> <{T}note> "tampered" . }}\n'.encode()
    found = library_check(tampered, tmp_path)
    assert "rusty" in found[uri], found[uri]
    assert sum(1 for error in found.values() if error) == 1, "only the changed one"


def test_the_export_is_reproducible_and_dated_by_option(dataset, trig, kg, tmp_path):
    assert WRITERS["nanopub"]["trialkg.nanopubs.trig"](dataset) == trig
    other = WRITERS["nanopub"]["trialkg.nanopubs.trig"](dataset, date(2027, 1, 2))
    assert b'"2027-01-02T00:00:00Z"' in other and other != trig  # another date, other trusty URIs
    r = kg("export", "--format", "nanopub", "--date", "2027-13-01", "--out", str(tmp_path))
    assert r.returncode == 2 and "YYYY-MM-DD" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = kg("export", "--format", "nanopub", "--date", "2027-01-02", "--out", str(tmp_path))
    assert r.returncode == 0 and (tmp_path / "trialkg.nanopubs.trig").read_bytes() == other


def test_a_literal_attribute_estimate_is_asserted_not_followed():
    """No shape types a claim's ``trialkg:attributeEstimate``: a literal one is kept as a value, not looked up as a
    subject (that raised a TypeError, an internal error from ``kg export --format nanopub``)."""
    from kg.nanopub import nanopublication

    claim = ox.NamedNode("https://w3id.org/trialkg/example/claim")
    store = ox.Store()
    estimate = ox.Literal("about a half")
    store.add(ox.Quad(claim, ox.NamedNode(T + "attributeEstimate"), estimate, ox.NamedNode("urn:g")))
    quads = nanopublication(store, claim, date(2024, 1, 2))
    assert [(s, p, o) for g, s, p, o in quads if g.endswith("#assertion")] == [
        (claim.value, T + "attributeEstimate", estimate)
    ]
