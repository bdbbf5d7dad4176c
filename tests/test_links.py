"""Other graphs join this one with plain triple patterns: identifier literals and owl:sameAs to resolver IRIs.

A small Bio2RDF-shaped and a Wikidata-shaped graph (``tests/data/linked/``, each file says where its
shape was seen) are loaded beside trialkg, each in its own named graph, and every query below goes
from one of their resources to the statistics of the trialkg graph with triple patterns and
property paths only: no CONCAT, REPLACE or STR-built IRIs. The answers are checked against the
statistics found by walking the store in Python, on Oxigraph (quick), and on Jena TDB2 + ARQ and
Virtuoso 7 (slow: real stores, ``tests/stores.py``).

Each owl:sameAs link and identifier literal is also checked against the ``bioregistry`` package's
own data: the link's object is Bioregistry's identifiers.org ("miriam") or Bio2RDF provider IRI of
the subject's CURIE.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.prefixes import RESOLVERS

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stores  # noqa: E402

DATA = Path(__file__).resolve().parent / "data" / "linked"
OTHER_GRAPHS = {
    "bio2rdf.ttl": "https://example.org/other/bio2rdf",
    "wikidata.ttl": "https://example.org/other/wikidata",
}
T = "https://w3id.org/trialkg/ontology/"
SAME_AS = "http://www.w3.org/2002/07/owl#sameAs"
IDENTIFIER = "http://purl.org/dc/terms/identifier"
SKOS_EXACT = "http://www.w3.org/2004/02/skos/core#exactMatch"

PREFIXES = """PREFIX trialkg: <https://w3id.org/trialkg/ontology/>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX schema: <https://schema.org/>
PREFIX b2r: <http://bio2rdf.org/bio2rdf_vocabulary:>
PREFIX wd: <http://www.wikidata.org/entity/>
PREFIX wdt: <http://www.wikidata.org/prop/direct/>
"""
DRUG_PATH = "trialkg:hasArm/trialkg:hasTreatmentPhase/trialkg:hasDoseSchedule/trialkg:drug"

#: name -> (what the join starts from, the query's WHERE body; every query selects ?stat)
JOINS = {
    "bio2rdf-trial-iri": (
        "a Bio2RDF ClinicalTrials.gov record, by IRI",
        "?b a <http://bio2rdf.org/clinicaltrials_vocabulary:Clinical-Study> . ?record owl:sameAs ?b . "
        "?study trialkg:registration ?record ; trialkg:hasStatistic ?stat .",
    ),
    "bio2rdf-trial-literal": (
        "a Bio2RDF ClinicalTrials.gov record, by its identifier literal",
        "?b a <http://bio2rdf.org/clinicaltrials_vocabulary:Clinical-Study> ; b2r:identifier ?id . "
        "?study dcterms:identifier ?id ; trialkg:hasStatistic ?stat .",
    ),
    "bio2rdf-drugbank": (
        "a Bio2RDF DrugBank drug",
        "?b a <http://bio2rdf.org/drugbank_vocabulary:Resource> . ?record owl:sameAs ?b . "
        f"?drug skos:exactMatch ?record . ?study {DRUG_PATH} ?drug ; trialkg:hasStatistic ?stat .",
    ),
    "bio2rdf-pubmed": (
        "a Bio2RDF PubMed record",
        "?b a <http://bio2rdf.org/pubmed_vocabulary:Resource> . ?record owl:sameAs ?b . "
        "?pub schema:sameAs ?record . ?study trialkg:describedIn ?pub ; trialkg:hasStatistic ?stat .",
    ),
    "bio2rdf-mesh-condition": (
        "a Bio2RDF MeSH heading of the condition",
        "?b a <http://bio2rdf.org/mesh_vocabulary:Resource> . ?record owl:sameAs ?b . "
        "?condition skos:exactMatch ?record . ?study trialkg:studiesCondition ?condition ; trialkg:hasStatistic ?stat .",
    ),
    "identifiers-org-trial": (
        "an identifiers.org ClinicalTrials.gov IRI",
        "?record owl:sameAs <https://identifiers.org/clinicaltrials:NCT00793572> . "
        "?study trialkg:registration ?record ; trialkg:hasStatistic ?stat .",
    ),
    "identifiers-org-condition": (
        "an identifiers.org MONDO IRI",
        "?condition owl:sameAs <https://identifiers.org/mondo:0009693> . "
        "?study trialkg:studiesCondition ?condition ; trialkg:hasStatistic ?stat .",
    ),
    "identifiers-org-drug": (
        "an identifiers.org DrugBank IRI",
        "?record owl:sameAs <https://identifiers.org/drugbank:DB00188> . ?drug skos:exactMatch ?record . "
        f"?study {DRUG_PATH} ?drug ; trialkg:hasStatistic ?stat .",
    ),
    "wikidata-drug-item": (
        "a Wikidata drug item (found by its DrugBank ID claim)",
        f'?item wdt:P715 "DB00188" . ?drug skos:exactMatch ?item . ?study {DRUG_PATH} ?drug ; trialkg:hasStatistic ?stat .',
    ),
    "wikidata-trial-item": (
        "a Wikidata clinical-trial item, by its ClinicalTrials.gov ID claim",
        "?item wdt:P31 wd:Q30612 ; wdt:P3098 ?nct . ?study dcterms:identifier ?nct ; trialkg:hasStatistic ?stat .",
    ),
    "wikidata-article-item": (
        "a Wikidata article item, by its PubMed ID claim",
        "?item wdt:P698 ?pmid . ?pub dcterms:identifier ?pmid . ?study trialkg:describedIn ?pub ; trialkg:hasStatistic ?stat .",
    ),
}


def query(name: str) -> str:
    return PREFIXES + f"SELECT DISTINCT ?stat WHERE {{ {JOINS[name][1]} }}"


def test_joins_use_no_string_functions():
    for name in JOINS:
        assert not re.search(r"\b(CONCAT|REPLACE|STR|IRI|URI|STRAFTER|SUBSTR|BIND)\s*\(", query(name), re.I), name


# ---- what each join must reach, found by walking the store in Python ---------------------------


def _objects(store: ox.Store, s: ox.NamedNode, p: str) -> list:
    return [q.object for q in store.quads_for_pattern(s, ox.NamedNode(p), None, None)]


def _subjects(store: ox.Store, p: str, o) -> list:
    return [q.subject for q in store.quads_for_pattern(None, ox.NamedNode(p), o, None)]


def _statistics(store: ox.Store, studies) -> set[str]:
    return {s.value for st in studies for s in _objects(store, st, T + "hasStatistic")}


def _studies_with_drug(store: ox.Store, drug: ox.NamedNode) -> set:
    found = set()
    for schedule in _subjects(store, T + "drug", drug):
        for phase in _subjects(store, T + "hasDoseSchedule", schedule):
            for arm in _subjects(store, T + "hasTreatmentPhase", phase):
                found.update(_subjects(store, T + "hasArm", arm))
    return found


def expected(store: ox.Store) -> dict[str, set[str]]:
    nct = ox.NamedNode("https://www.clinicaltrials.gov/study/NCT00793572")
    trial = _statistics(store, _subjects(store, T + "registration", nct))
    bortezomib = ox.NamedNode("http://purl.obolibrary.org/obo/NCIT_C1851")
    myeloma = ox.NamedNode("http://purl.obolibrary.org/obo/MONDO_0009693")
    drug = _statistics(store, _studies_with_drug(store, bortezomib))
    condition = _statistics(store, _subjects(store, T + "studiesCondition", myeloma))
    (lee,) = _subjects(store, T + "pmid", ox.Literal("23341716"))
    article = _statistics(store, _subjects(store, T + "describedIn", lee))
    return {
        "bio2rdf-trial-iri": trial,
        "bio2rdf-trial-literal": trial,
        "bio2rdf-drugbank": drug,
        "bio2rdf-pubmed": article,
        "bio2rdf-mesh-condition": condition,
        "identifiers-org-trial": trial,
        "identifiers-org-condition": condition,
        "identifiers-org-drug": drug,
        "wikidata-drug-item": drug,
        "wikidata-trial-item": trial,
        "wikidata-article-item": article,
    }


def other_quads() -> list[ox.Quad]:
    out = []
    for name, graph in OTHER_GRAPHS.items():
        for t in ox.parse(path=str(DATA / name), format=ox.RdfFormat.TURTLE):
            out.append(ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(graph)))
    return out


@pytest.fixture(scope="module")
def beside(dataset) -> ox.Store:
    """The trialkg graph and the two other graphs in one Oxigraph store, each in its own named graph."""
    store = ox.Store()
    store.extend(dataset.quads())
    store.extend(other_quads())
    return store


@pytest.fixture(scope="module")
def wanted(dataset) -> dict[str, set[str]]:
    want = expected(dataset.store)
    assert len(want["bio2rdf-trial-iri"]) >= 13  # the registered trial's statistics (issue 19 counted 13)
    assert all(want.values()), {k: len(v) for k, v in want.items()}
    return want


@pytest.mark.parametrize("name", sorted(JOINS))
def test_oxigraph_reaches_the_statistics_with_plain_joins(beside, wanted, name):
    got = {r["stat"].value for r in beside.query(query(name), use_default_graph_as_union=True)}
    assert got == wanted[name], f"from {JOINS[name][0]}: {len(got)} of {len(wanted[name])}"


def test_without_the_links_the_joins_reach_nothing(dataset, wanted):
    """The joins go through the new literals and links: with them taken out, none reaches a statistic."""
    store = ox.Store()
    store.extend(
        q for q in dataset.quads() if q.predicate.value not in (SAME_AS, IDENTIFIER) and q.predicate.value != T + "pmid"
    )
    store.extend(other_quads())
    for name in JOINS:
        if name.startswith("wikidata-drug"):
            continue  # Wikidata items were mapped (skos:exactMatch) before issue 19
        assert not list(store.query(query(name), use_default_graph_as_union=True)), name


# ---- every link and literal is Bioregistry's ---------------------------------------------------


def test_every_same_as_is_a_bioregistry_provider_iri_of_its_subject(dataset):
    bioregistry = pytest.importorskip("bioregistry", reason="the bioregistry package (test extra) is not installed")
    links = [(q.subject.value, q.object.value) for q in dataset.quads() if q.predicate.value == SAME_AS]
    assert len(links) >= 25
    for subject, other in links:
        prefix, local = bioregistry.parse_iri(subject)
        local = local.rstrip("/") if prefix == "pubmed" else local
        providers = bioregistry.get_providers(prefix, local)
        own = {bioregistry.get_iri(prefix, local), providers.get("rdf")}  # the default, or the RDF form (MeSH)
        assert subject in own, f"{subject} is not Bioregistry's IRI of {prefix}:{local}"
        assert other in {providers.get("miriam"), providers.get("bio2rdf")}, (subject, other)
        assert other.startswith(tuple(RESOLVERS.values()))


def test_every_packaged_record_id_is_also_an_identifier_literal(dataset):
    """The shapes accept a curator's file without the literals; the packaged trials carry every one."""
    store = dataset.store
    typed = [T + "doi", T + "pmid", T + "pmcid"]
    ct = "https://www.clinicaltrials.gov/study/"
    missing = []
    for q in dataset.quads():
        wanted = None
        if q.predicate.value in typed:
            wanted = q.object.value
        elif q.predicate.value == T + "registration" and q.object.value.startswith(ct):
            wanted = q.object.value[len(ct) :]
        if wanted is not None and ox.Literal(wanted) not in _objects(store, q.subject, IDENTIFIER):
            missing.append((q.subject.value, wanted))
    assert not missing, missing
    assert len([q for q in dataset.quads() if q.predicate.value == T + "registration"]) >= 3


def test_identifier_literals_are_the_local_ids_of_the_record_iris(dataset):
    bioregistry = pytest.importorskip("bioregistry", reason="the bioregistry package (test extra) is not installed")
    store = dataset.store
    literals = [(q.subject, q.object.value) for q in dataset.quads() if q.predicate.value == IDENTIFIER]
    assert {v for _, v in literals} >= {"NCT00793572", "23341716", "PMC3546109", "10.1007/s12185-018-2448-9"}
    for node, value in literals:
        records = _objects(store, node, T + "registration") + _objects(store, node, "https://schema.org/sameAs")
        curies = {bioregistry.parse_iri(r.value) for r in records}
        locals_ = {(p, i.rstrip("/") if p == "pubmed" else i) for p, i in filter(None, curies)}
        assert any(i == value and bioregistry.is_valid_identifier(p, i) for p, i in locals_), (node, value, locals_)


# ---- real stores --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def all_nquads(tmp_path_factory, dataset) -> Path:
    path = tmp_path_factory.mktemp("linked") / "beside.nq"
    path.write_bytes(ox.serialize([*dataset.quads(), *other_quads()], format=ox.RdfFormat.N_QUADS))
    return path


@pytest.mark.slow
@pytest.mark.stores
def test_jena_reaches_the_statistics_with_plain_joins(tmp_path_factory, all_nquads, wanted):
    why = stores.jena_missing()
    if why:
        pytest.skip(why)
    work = tmp_path_factory.mktemp("jena-linked")
    classpath = stores.jena_classpath(work / "cache")
    stores.tdb2_load(classpath, work / "db", all_nquads)
    answers = stores.tdb2_select_many(classpath, work / "db", {n: query(n) for n in JOINS})
    for name in JOINS:
        _variables, rows = stores.rows_of_json(answers[name])
        got = {r["stat"].value for r in rows}
        assert got == wanted[name], f"Jena, from {JOINS[name][0]}: {len(got)} of {len(wanted[name])}"


@pytest.mark.slow
@pytest.mark.stores
def test_virtuoso_reaches_the_statistics_with_plain_joins(tmp_path_factory, all_nquads, wanted):
    with stores.running_virtuoso(tmp_path_factory.mktemp("virtuoso-linked"), "trialkg-links-dba") as server:
        server.load_nquads(all_nquads)
        for name in JOINS:
            _variables, rows = stores.rows_of_json(server.select(query(name)))
            got = {r["stat"].value for r in rows}
            assert got == wanted[name], f"Virtuoso, from {JOINS[name][0]}: {len(got)} of {len(wanted[name])}"
