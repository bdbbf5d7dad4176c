"""schema.org JSON-LD of the study pages, checked against a pinned release of the vocabulary (no network).

The page's JSON-LD is expanded to RDF by rdflib's JSON-LD parser with the
page's own inline context. Every type must be a schema.org class of the
release, every property a schema.org property; the subject of each property
must have a type within its ``schema:domainIncludes`` and its value one within
``schema:rangeIncludes`` (subclass closure; a literal needs a text, number or
boolean range, a bare IRI a ``URL`` range; an enumeration member has the type
the vocabulary gives it). The graph's own ``schema:`` IRIs must exist there too.
"""

from __future__ import annotations

import gzip
import json
import re
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib

from kg.dataset import Dataset
from kg.web import pages
from kg.web.site import Site

VOCAB_FILE = Path(__file__).parent / "data" / "schemaorg" / "schemaorg-current-https.ttl.gz"
S = "https://schema.org/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
#: what schema.org's own context (data/releases/30.0/schemaorgcontext.jsonld) maps its terms to
SCHEMA_ORG_CONTEXT = {"@vocab": "http://schema.org/"}


class Vocabulary:
    """Classes, properties, domains, ranges and enumeration members of one schema.org release."""

    def __init__(self, turtle: bytes):
        store = ox.Store()
        store.load(turtle, format=ox.RdfFormat.TURTLE)

        def objects(s, p):
            return [q.object.value for q in store.quads_for_pattern(s, ox.NamedNode(p), None, None)]

        self.classes: set[str] = set()
        self.properties: dict[str, tuple[set[str], set[str]]] = {}
        self.parents: dict[str, set[str]] = {}
        self.members: dict[str, set[str]] = {}  # enumeration member -> its types
        for q in store.quads_for_pattern(None, ox.NamedNode(RDF_TYPE), None, None):
            s, o = q.subject, q.object.value
            if not isinstance(s, ox.NamedNode) or not s.value.startswith(S):
                continue
            if o == RDFS + "Class":
                self.classes.add(s.value)
                self.parents[s.value] = {x for x in objects(s, RDFS + "subClassOf") if x.startswith(S)}
            elif o == "http://www.w3.org/1999/02/22-rdf-syntax-ns#Property":
                self.properties[s.value] = (set(objects(s, S + "domainIncludes")), set(objects(s, S + "rangeIncludes")))
            elif o.startswith(S):
                self.members.setdefault(s.value, set()).add(o)

    def ancestors(self, cls: str) -> set[str]:
        """The class and every superclass."""
        seen, todo = set(), [cls]
        while todo:
            c = todo.pop()
            if c not in seen:
                seen.add(c)
                todo.extend(self.parents.get(c, ()))
        return seen

    def within(self, types: set[str], allowed: set[str]) -> bool:
        """Whether some type, or a superclass of it, is one of ``allowed``."""
        return any(self.ancestors(t) & allowed for t in types)


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    return Vocabulary(gzip.decompress(VOCAB_FILE.read_bytes()))


TEXT_RANGES = {S + "Text", S + "URL"}
NUMBER_RANGES = {S + "Number", S + "Integer", S + "Float"}


def problems(doc: dict, vocab: Vocabulary) -> list[str]:
    """Every way the JSON-LD document leaves the vocabulary (empty: it validates)."""
    doc = dict(doc)
    if isinstance(doc.get("@context"), str):  # the remote schema.org context, applied without fetching it
        if doc["@context"].rstrip("/") not in ("https://schema.org", "http://schema.org"):
            return [f"unknown remote context {doc['@context']}"]
        doc["@context"] = SCHEMA_ORG_CONTEXT
    graph = rdflib.Graph()
    graph.parse(data=json.dumps(doc), format="json-ld")
    types: dict[rdflib.term.Node, set[str]] = {}
    for s, _, o in graph.triples((None, rdflib.RDF.type, None)):
        types.setdefault(s, set()).add(str(o))
    found = []
    for s, p, o in graph:
        if p == rdflib.RDF.type:
            if str(o) not in vocab.classes:
                found.append(f"type {o} is not a schema.org class")
            continue
        prop = str(p)
        if prop not in vocab.properties:
            found.append(f"property {prop} is not a schema.org property")
            continue
        domain, range_ = vocab.properties[prop]
        subject_types = types.get(s, set()) | vocab.members.get(str(s), set())
        if not vocab.within(subject_types, domain):
            found.append(f"{prop} on {sorted(subject_types)}: outside its domain {sorted(domain)}")
        if isinstance(o, rdflib.Literal):
            dt = str(o.datatype or XSD + "string")
            ok_ranges = (
                NUMBER_RANGES
                if dt in (XSD + "integer", XSD + "decimal", XSD + "double")
                else ({S + "Boolean"} if dt == XSD + "boolean" else TEXT_RANGES)
            )
            if not vocab.within(range_, ok_ranges) and not range_ & ok_ranges:
                found.append(f"{prop} = literal {o!r}: outside its range {sorted(range_)}")
            continue
        object_types = types.get(o, set()) | vocab.members.get(str(o), set())
        if object_types:
            if not vocab.within(object_types, range_):
                found.append(f"{prop} -> {sorted(object_types)}: outside its range {sorted(range_)}")
        elif str(o).startswith((S, "http://schema.org/")):
            found.append(f"{prop} -> {o}: not a term of the release")
        elif S + "URL" not in range_:
            found.append(f"{prop} -> untyped {o}: outside its range {sorted(range_)}")
    return sorted(set(found))


@pytest.fixture(scope="module")
def site():
    return Site(Dataset.build())


def json_ld(html: str) -> list[dict]:
    return [
        json.loads(block) for block in re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    ]


STUDIES = ["trial/isoda-2018", "trial/green-2017", "study/sun-2017", "study/lee-2013"]


@pytest.mark.parametrize("path", STUDIES)
def test_study_page_json_ld_validates_against_schema_org(site, path):
    iri = site.base + path
    (doc,) = json_ld(pages.page(site, iri))
    assert problems(doc, vocabulary()) == []
    graph = rdflib.Graph().parse(data=json.dumps(doc), format="json-ld")
    used = {str(t) for triple in graph for t in triple if isinstance(t, rdflib.URIRef)}
    assert not [u for u in used if u.startswith("http://schema.org/")], "one scheme: https://schema.org/"
    # the study's own schema: types in the graph are the page's types
    own = {t for t in site.types(iri) if t.startswith(S)}
    page_types = {str(o) for o in graph.objects(rdflib.URIRef(iri), rdflib.RDF.type)}
    assert own <= page_types and page_types


def test_what_each_study_says_in_schema_org(site):
    docs = {path: json_ld(pages.page(site, site.base + path))[0] for path in STUDIES}
    assert docs["trial/isoda-2018"]["@type"] == "MedicalTrial"
    assert docs["trial/isoda-2018"]["trialDesign"] == {"@id": S + "MultiCenterTrial"}, "multicentre (NCIT:C217005)"
    assert "trialDesign" not in docs["trial/green-2017"], "the green-2017 page states no multicentre design"
    assert docs["study/lee-2013"]["@type"] == "MedicalObservationalStudy"
    assert docs["study/sun-2017"]["@type"] == "MedicalStudy"
    for doc in docs.values():
        assert "phase" not in doc and "drug" not in doc and "citation" not in doc
        assert doc["studySubject"][0]["@type"] == "Drug"
    assert docs["trial/isoda-2018"]["additionalType"] == ["http://purl.obolibrary.org/obo/NCIT_C15601"], (
        "the phase as the NCIt class of phase 2 trials"
    )
    subject_of = {p["@id"]: p for p in docs["trial/isoda-2018"]["subjectOf"]}
    news = subject_of[site.base + "publication/cta-isoda-2018"]
    assert news["@type"] == "NewsArticle" and news["citation"] == {"@id": site.base + "publication/isoda-2018"}


def test_the_check_fails_on_what_the_page_said_before():
    """The JSON-LD the trial page carried before (issue 13, item 4): every failure is found."""
    before = {
        "@context": "https://schema.org",
        "@type": "MedicalTrial",
        "@id": "https://w3id.org/trialkg/trial/isoda-2018",
        "name": "A trial",
        "phase": "Phase 2",
        "trialDesign": "MultiCenterTrial",
        "healthCondition": [
            {
                "@type": "MedicalCondition",
                "@id": "http://purl.obolibrary.org/obo/MONDO_0009693",
                "name": "a condition",
                "code": {"@type": "MedicalCode", "codeValue": "MONDO:0009693"},
            }
        ],
        "drug": [{"@type": "Drug", "name": "a drug"}],
        "citation": {"@type": "ScholarlyArticle", "name": "an article"},
    }
    vocab = vocabulary()
    found = problems(before, vocab)
    assert "type http://schema.org/MedicalTrial is not a schema.org class" in found, "http: the wrong scheme"
    https = dict(before, **{"@context": {"@vocab": S}})
    found = problems(https, vocab)
    assert f"property {S}phase is not a schema.org property" in found
    assert any(f.startswith(f"{S}drug on ['{S}MedicalTrial']: outside its domain") for f in found)
    assert any(f.startswith(f"{S}citation on ['{S}MedicalTrial']: outside its domain") for f in found)
    assert any(f.startswith(f"{S}trialDesign = literal") for f in found), "a string, not the MultiCenterTrial IRI"
    fixed = dict(https, trialDesign={"@id": S + "MultiCenterTrial"})
    del fixed["phase"], fixed["drug"], fixed["citation"]
    assert problems(fixed, vocab) == []


def test_every_schema_org_iri_of_the_graph_is_in_the_release(dataset):
    vocab = vocabulary()
    known = vocab.classes | set(vocab.properties) | set(vocab.members)
    used = set()
    for q in dataset.store.quads_for_pattern(None, None, None, None):
        for term in (q.subject, q.predicate, q.object):
            if isinstance(term, ox.NamedNode) and term.value.startswith((S, "http://schema.org/")):
                used.add(term.value)
    assert used and sorted(used - known) == []


def test_a_value_two_files_state_is_read_once_for_the_page():
    """The schema.org block reads a study's registrations, publications and identifiers through ``_objects``; a triple
    two files state is in two graphs, and the page listed the registration twice."""
    from kg.web.pages import _objects

    store = ox.Store()
    trial, reg = (
        ox.NamedNode("https://w3id.org/trialkg/trial/x"),
        ox.NamedNode("https://w3id.org/trialkg/ontology/registration"),
    )
    for g in ("abstract", "full-paper"):
        store.add(
            ox.Quad(
                trial, reg, ox.NamedNode("https://clinicaltrials.gov/study/NCT00000000"), ox.NamedNode(f"urn:x:{g}")
            )
        )
    store.add(
        ox.Quad(trial, reg, ox.NamedNode("https://www.isrctn.com/ISRCTN00000000"), ox.NamedNode("urn:x:full-paper"))
    )

    class Read:  # what _objects reads of a site: its store
        pass

    site = Read()
    site.store = store
    assert _objects(site, trial.value, reg.value) == [
        "https://clinicaltrials.gov/study/NCT00000000",
        "https://www.isrctn.com/ISRCTN00000000",
    ]
