"""Exports other graphs ingest, all generated from the one graph with SPARQL.

- ``nquads``: one named graph per publication (and one for the ontology);
- ``jsonld``: compacted against the packaged ``context.jsonld``;
- ``kgx``: Biolink Model KGX TSV (``nodes.tsv``, ``edges.tsv``) and the prefix map its ids
  expand with (``kgx-prefix-map.json``);
- ``sssom``: the mapping table, as loaded;
- ``fhir``: an HL7 FHIR R5 ``collection`` Bundle of Citation, EvidenceVariable
  and Evidence resources (one Evidence per statistic).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
import weakref
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

import pyoxigraph as ox

from kg import mappings, nanopub, resources
from kg import sources as src
from kg.dataset import Dataset
from kg.errors import InputError
from kg.outputs import RECORD, AtomicFiles
from kg.prefixes import PREFIXES, PROJECT, compact, kgx_curie, kgx_minted, kgx_prefix_map
from kg.query.catalog import parse_query
from kg.rdf import to_bytes, turtle

NODE_COLUMNS = ["id", "category", "name", "xref", "provided_by", "publication_type", "published_in"]
EDGE_COLUMNS = [
    "id",
    "subject",
    "predicate",
    "object",
    "knowledge_level",
    "agent_type",
    "publications",
    "provided_by",
    "has_supporting_studies",
]


def _rows(ds: Dataset, name: str, text: str) -> list[dict[str, str]]:
    """Rows of one of this module's queries, as lexical values ('' where unbound)."""
    result = ds.run(parse_query(name, text, f"kg/export.py ({name})"))
    return [{n: (row[n].value if n in row else "") for n in result.variables} for row in result.rows]


def context() -> dict[str, Any]:
    """The packaged JSON-LD context."""
    found: dict[str, Any] = json.loads(resources.ontology_file("context.jsonld").read_text(encoding="utf-8"))
    return found


# ------------------------------------------------------------------ n-quads, json-ld


def nquads(ds: Dataset) -> bytes:
    """Every quad, sorted, one named graph per publication."""
    return to_bytes(sorted(ds.quads(), key=str), ox.RdfFormat.N_QUADS)


def jsonld(ds: Dataset) -> bytes:
    """The merged graph as JSON-LD compacted with the packaged context."""
    return _compacted(ds, context()["@context"])


def _compacted(ds: Dataset, ctx: dict[str, Any]) -> bytes:
    """The merged graph as JSON-LD compacted with ``ctx`` (by rdflib's writer, which recurses into nested blank
    nodes and lists: data that nests past Python's recursion limit is refused in one line, not a crash)."""
    g = src.rdflib_graph(ds.triples())
    try:
        doc = json.loads(g.serialize(format="json-ld", context=ctx, auto_compact=True))
    except RecursionError:
        raise InputError(
            "JSON-LD: the data nests blank nodes or RDF lists deeper than rdflib's JSON-LD writer can follow "
            "(a few hundred levels); export it as nquads, or nest it less"
        ) from None
    doc["@context"] = ctx
    lists = {term for term, d in ctx.items() if isinstance(d, dict) and d.get("@container") == "@list"}
    return json.dumps(_ordered(doc, lists), indent=1, ensure_ascii=False, sort_keys=True).encode("utf-8")


def _ordered(node: Any, lists: set[str], key: str = "") -> Any:
    """``node`` with every JSON array sorted but RDF lists (``@list``, and terms the context makes lists).

    rdflib writes nodes and the values of a property in the order of its hash sets, which Python salts per
    process: two exports of the same graph differed byte for byte. Arrays other than lists are sets in JSON-LD,
    so sorting them (by their canonical JSON) changes nothing they mean.
    """
    if isinstance(node, dict):
        return {k: _ordered(v, lists, k) for k, v in node.items()}
    if isinstance(node, list):
        items = [_ordered(v, lists) for v in node]
        if key == "@list" or key in lists:
            return items
        return sorted(items, key=lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True))
    return node


def context_1_0() -> dict[str, Any]:
    """The packaged context as JSON-LD 1.0 reads it: no ``@version``, and no prefix that only 1.1 may compact with.

    A 1.1 term with ``"@prefix": true`` (the OBO namespaces, which end in ``_``, not a URI
    gen-delim) is left out: JSON-LD 1.0 would expand ``NCIT:C1851`` with it, but a 1.1 processor
    reading a document without ``@version`` would not (it takes ``NCIT:`` for a URI scheme), so
    those IRIs are written whole and the document means the same to both.
    """
    out: dict[str, object] = {}
    for term, definition in context()["@context"].items():
        if term == "@version" or (isinstance(definition, dict) and definition.get("@prefix")):
            continue
        if isinstance(definition, dict) and set(definition) - {"@id", "@type", "@container", "@language"}:
            raise InputError(f"context.jsonld: term {term!r} uses a JSON-LD 1.1 keyword; no 1.0 form of it")
        out[term] = definition
    return {"@context": out}


def jsonld_1_0(ds: Dataset) -> bytes:
    """The merged graph as JSON-LD 1.0 (Jena's and jsonld-java's reader), compacted with :func:`context_1_0`."""
    return _compacted(ds, context_1_0()["@context"])


# ------------------------------------------------------------------ KGX
#
# Biolink Model categories and predicates used (all present in the pinned
# biolink-model package, checked by tests/test_kgx.py): studies are
# biolink:ClinicalTrial (a trialkg:ClinicalTrial) or biolink:Study (observational
# studies and meta-analyses: Biolink has no class of its own for either); drugs
# biolink:Drug, conditions biolink:Disease, adverse events biolink:PhenotypicFeature,
# treatment phases (transplants, induction, maintenance) biolink:Procedure (the
# category Biolink gives medical actions), publications biolink:JournalArticle or
# biolink:Publication. Node ids are CURIEs KGX reads (no slash in the local part)
# that expand, with ontology/kgx-prefix-map.json, to IRIs of the graph.

_KGX_TERMS = """
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX trialkg: <https://w3id.org/trialkg/ontology/>
SELECT ?term ?label ?xref WHERE {
  { SELECT DISTINCT ?term WHERE {
      { VALUES ?p { trialkg:drug trialkg:studiesCondition trialkg:adverseEvent trialkg:phaseType } ?any ?p ?term } } }
  ?term rdfs:label ?label .
  OPTIONAL { ?term (skos:exactMatch|^skos:exactMatch)+ ?xref FILTER(?xref != ?term) }
}
"""

_KGX_STUDIES = """
PREFIX trialkg: <https://w3id.org/trialkg/ontology/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT DISTINCT ?study ?kind ?label ?registration ?paper WHERE {
  ?study a trialkg:Study , ?kind ; rdfs:label ?label .
  VALUES ?kind { trialkg:ClinicalTrial trialkg:ObservationalStudy trialkg:MetaAnalysis }
  OPTIONAL { ?study trialkg:registration ?registration }
  OPTIONAL { ?study trialkg:describedIn ?paper }
}
"""

_KGX_STUDY_TERMS = """
PREFIX trialkg: <https://w3id.org/trialkg/ontology/>
SELECT DISTINCT ?study ?role ?term WHERE {
  ?study a trialkg:Study .
  { ?study trialkg:hasArm/trialkg:hasTreatmentPhase/trialkg:hasDoseSchedule/trialkg:drug ?term . BIND("drug" AS ?role) }
  UNION { ?study trialkg:studiesCondition ?term . BIND("condition" AS ?role) }
  UNION { ?study trialkg:hasArm/trialkg:hasTreatmentPhase/trialkg:phaseType ?term . BIND("procedure" AS ?role) }
}
"""

# Adverse events a study observed (a report, or a count or share above zero), each with the
# drugs of the phase it was reported in (else of the whole study); and adverse events whose
# risk ratio's confidence interval lies above 1 (a statistical association, e.g. pooled over
# trials by a meta-analysis), with the drugs of the exposure group's phases.
_KGX_AES = """
PREFIX trialkg: <https://w3id.org/trialkg/ontology/>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX NCIT: <http://purl.obolibrary.org/obo/NCIT_>
SELECT DISTINCT ?study ?drug ?ae ?source ?level ?statistic WHERE {
  {
    ?study a trialkg:Study .
    { ?study trialkg:reportsAdverseEvent ?statistic }
    UNION
    { ?study trialkg:hasStatistic ?statistic . ?statistic a trialkg:SafetyStatistic ; trialkg:value ?v .
      FILTER NOT EXISTS { ?statistic a trialkg:ComparativeStatistic }
      FILTER(?v > 0) }
    ?statistic trialkg:adverseEvent ?ae ; prov:wasDerivedFrom ?source .
    OPTIONAL { ?statistic trialkg:duringPhase/trialkg:hasDoseSchedule/trialkg:drug ?phaseDrug }
    ?study trialkg:hasArm/trialkg:hasTreatmentPhase/trialkg:hasDoseSchedule/trialkg:drug ?studyDrug .
    BIND(COALESCE(?phaseDrug, ?studyDrug) AS ?drug)
    BIND("observation" AS ?level)
  } UNION {
    ?study trialkg:hasStatistic ?statistic .
    ?statistic a trialkg:ComparativeStatistic ; trialkg:statisticType NCIT:C93152 ; trialkg:adverseEvent ?ae ;
               prov:wasDerivedFrom ?source ; trialkg:attributeEstimate ?ci ;
               trialkg:exposureGroup/trialkg:enteredPhase/trialkg:hasDoseSchedule/trialkg:drug ?drug .
    ?ci a trialkg:ConfidenceInterval ; trialkg:lower ?lower .
    FILTER(?lower > 1)
    BIND("statistical_association" AS ?level)
  }
  FILTER(?ae != NCIT:C41331)
}
"""

_KGX_PUBS = """
PREFIX trialkg: <https://w3id.org/trialkg/ontology/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX schema: <https://schema.org/>
SELECT ?pub ?kind ?name ?same ?issn ?pmid ?pmcid ?doi WHERE {
  ?pub a ?kind ; rdfs:label ?label .
  VALUES ?kind { trialkg:JournalArticle trialkg:NewsReport }
  OPTIONAL { ?pub dcterms:title ?title }
  OPTIONAL { ?pub schema:sameAs ?same }
  OPTIONAL { ?pub trialkg:pmid ?pmid }
  OPTIONAL { ?pub trialkg:pmcid ?pmcid }
  OPTIONAL { ?pub trialkg:doi ?doi }
  # the journal as the publication's own file states it (as citation.rq): a journal n files share is stated in each,
  # and read across the union of the graphs its ISSN would come n times to every publication (n x n rows)
  OPTIONAL { GRAPH ?journalGraph { ?pub trialkg:publishedIn/trialkg:issn ?issn } }
  BIND(COALESCE(?title, ?label) AS ?name)
}
"""

#: Biolink category of each kind of study, and the predicate linking a study's drugs to its
#: conditions with the knowledge level that statement has
_STUDY_KINDS = {
    "ClinicalTrial": ("biolink:ClinicalTrial", "biolink:in_clinical_trials_for", "knowledge_assertion"),
    "MetaAnalysis": ("biolink:Study", "biolink:in_clinical_trials_for", "knowledge_assertion"),
    "ObservationalStudy": ("biolink:Study", "biolink:applied_to_treat", "observation"),
}
#: Biolink category of each role a term plays, and the id prefixes preferred for it (Biolink's order)
_TERM_ROLES = {
    "drug": ("biolink:Drug", ["CHEBI", "DRUGBANK", "MESH", "NCIT"]),
    "condition": ("biolink:Disease", ["MONDO", "DOID", "NCIT", "MESH"]),
    "procedure": ("biolink:Procedure", ["NCIT"]),
    "adverse event": ("biolink:PhenotypicFeature", ["HP", "NCIT", "MESH"]),
}


class Kgx(NamedTuple):
    """A KGX export: its node and edge rows, the prefix map every id of them expands with, and the IRIs no CURIE can
    name (left as they are: KGX reports them)."""

    nodes: list[dict[str, str]]
    edges: list[dict[str, str]]
    prefixes: dict[str, str]
    unnamed: list[str]


def _kgx_name(iri: str, minted: dict[str, str]) -> str | None:
    """The KGX CURIE of an IRI: of the packaged map, else of a prefix minted for its namespace
    (:func:`kg.prefixes.kgx_minted`, recorded in ``minted``: the export's prefix map adds it); None where no CURIE
    can name it (an IRI ending in ``/``)."""
    curie = kgx_curie(iri)
    if curie is not None:
        return curie
    found = kgx_minted(iri)
    if found is None:
        return None
    prefix, namespace = found
    if minted.setdefault(prefix, namespace) != namespace:  # kgx_minted makes this all but impossible: say so if not
        raise InputError(f"KGX export: {minted[prefix]} and {namespace} were both given the prefix {prefix}")
    return f"{prefix}:{iri[len(namespace) :]}"


def _kgx_id(iri: str, minted: dict[str, str], unnamed: set[str]) -> str:
    """A node's id: its CURIE (:func:`_kgx_name`), or the IRI itself where none can name it (recorded in
    ``unnamed``): the export goes on, and KGX's validator reports that id."""
    name = _kgx_name(iri, minted)
    if name is None:
        unnamed.add(iri)
    return name or iri


#: the KGX export of a dataset, made once for all of its files
_KGX_MADE: weakref.WeakKeyDictionary[Dataset, Kgx] = weakref.WeakKeyDictionary()


def kgx_once(ds: Dataset) -> Kgx:
    """:func:`kgx`, computed once per dataset however many of its files are written."""
    if ds not in _KGX_MADE:
        _KGX_MADE[ds] = kgx(ds)
    return _KGX_MADE[ds]


def kgx(ds: Dataset) -> Kgx:
    """Nodes and edges for a Biolink Model KGX TSV export (see the comment above for the categories), and the
    prefix map they expand with: the packaged one, and a prefix for each namespace it has none for."""
    minted: dict[str, str] = {}
    unnamed: set[str] = set()
    terms: dict[str, dict[str, Any]] = {}
    for r in _rows(ds, "kgx-terms", _KGX_TERMS):
        entry = terms.setdefault(r["term"], {"label": r["label"], "xrefs": set()})
        if r["xref"]:
            entry["xrefs"].add(r["xref"])

    nodes: dict[str, dict[str, str]] = {}
    term_id: dict[str, str] = {}

    def term_node(iri: str, role: str) -> str:
        if iri in term_id:
            return term_id[iri]
        category, order = _TERM_ROLES[role]
        term = terms.get(iri, {"label": "", "xrefs": set()})  # a term nothing labels (a skeleton's TODO): no name
        known = [iri, *sorted(term["xrefs"])]
        curies = [c for c in map(kgx_curie, known) if c]
        nid = next((c for p in order for c in curies if c.startswith(p + ":")), None) or _kgx_id(iri, minted, unnamed)
        nodes[nid] = {
            "id": nid,
            "category": category,
            "name": term["label"],
            "xref": "|".join(sorted(set(curies) - {nid})),
            "provided_by": "trialkg",
        }
        term_id[iri] = nid
        return nid

    pub_id: dict[str, str] = {}
    pubs: dict[str, dict[str, Any]] = {}
    for p in _rows(ds, "kgx-publications", _KGX_PUBS):
        entry = pubs.setdefault(p["pub"], {**p, "same": set()})
        if p["same"]:
            entry["same"].add(p["same"])
    for iri, p in pubs.items():
        own = _kgx_name(iri, minted)
        # Biolink's id prefixes of a journal article, in its order: PMID, PMCID, doi. A DOI has a
        # slash, which KGX does not read in an id, so a DOI is an xref only, and an article with no
        # PubMed ID keeps the graph's own id.
        same = [f"PMID:{p['pmid']}"] if p["pmid"] else []
        same += [f"PMCID:{p['pmcid']}"] if p["pmcid"] else []
        same += [f"doi:{p['doi']}"] if p["doi"] else []
        nid = same[0] if same and same[0].startswith("PMID:") else own or _kgx_id(iri, minted, unnamed)
        article = p["kind"].endswith("JournalArticle")
        nodes[nid] = {
            "id": nid,
            "category": "biolink:JournalArticle" if article else "biolink:Publication",
            "name": p["name"],
            "xref": "|".join(sorted({*filter(None, [own]), *same} - {nid})),
            "provided_by": "trialkg",
            "publication_type": "journal article" if article else "news report",
            "published_in": f"ISSN:{p['issn']}" if p["issn"] else "",
        }
        pub_id[iri] = nid

    edges: dict[tuple[str, str, str, str], dict[str, str]] = {}

    def edge(s: str, p: str, o: str, level: str, publications: list[str], study: str) -> None:
        entry = edges.setdefault(
            (s, p, o, level),
            {
                "subject": s,
                "predicate": p,
                "object": o,
                "knowledge_level": level,
                "agent_type": "manual_agent",
                "publications": "",
                "provided_by": "trialkg",
                "has_supporting_studies": "",
            },
        )
        for column, values in (("publications", publications), ("has_supporting_studies", [study])):
            entry[column] = "|".join(sorted(set(filter(None, entry[column].split("|") + values))))

    studies: dict[str, dict[str, Any]] = {}
    for r in _rows(ds, "kgx-studies", _KGX_STUDIES):
        entry = studies.setdefault(r["study"], {**r, "papers": set(), "registrations": set()})
        entry["papers"].add(r["paper"])
        entry["registrations"].add(r["registration"])
    roles: dict[str, dict[str, list[str]]] = {}
    for r in _rows(ds, "kgx-study-terms", _KGX_STUDY_TERMS):
        roles.setdefault(r["study"], {}).setdefault(r["role"], []).append(r["term"])
    study_id: dict[str, str] = {}
    for iri, st in studies.items():
        # a registered trial is known to Biolink by its registry id (biolink:ClinicalTrial takes
        # CLINICALTRIALS ids); the graph's own id stays an xref, so the two can be joined back
        registrations = sorted(filter(None, map(kgx_curie, filter(None, st["registrations"]))))
        study_id[iri] = next((r for r in registrations if r.startswith("CLINICALTRIALS:")), None) or _kgx_id(
            iri, minted, unnamed
        )
    for iri, st in studies.items():
        category, predicate, level = _STUDY_KINDS[st["kind"].rsplit("/", 1)[-1]]
        sid = study_id[iri]
        registrations = sorted(filter(None, map(kgx_curie, filter(None, st["registrations"]))))
        nodes[sid] = {
            "id": sid,
            "category": category,
            "name": st["label"],
            "xref": "|".join(sorted({*filter(None, [_kgx_name(iri, minted)]), *registrations} - {sid})),
            "provided_by": "trialkg",
        }
        papers = sorted(pub_id[p] for p in st["papers"] if p in pub_id)
        mine = roles.get(iri, {})
        drugs = [term_node(t, "drug") for t in mine.get("drug", [])]
        conditions = [term_node(t, "condition") for t in mine.get("condition", [])]
        for d in drugs:
            for c in conditions:
                edge(d, predicate, c, level, papers, sid)
        for role in ("drug", "condition", "procedure"):
            for t in mine.get(role, []):
                edge(sid, "biolink:related_to", term_node(t, role), "knowledge_assertion", papers, sid)
    for a in _rows(ds, "kgx-adverse-events", _KGX_AES):
        drug = term_node(a["drug"], "drug")
        event = term_node(a["ae"], "adverse event")
        paper = pub_id.get(a["source"]) or _kgx_id(a["source"], minted, unnamed)
        edge(
            drug,
            "biolink:has_adverse_event",
            event,
            a["level"],
            [paper],
            study_id.get(a["study"]) or _kgx_id(a["study"], minted, unnamed),
        )

    node_rows = [{c: n.get(c, "") for c in NODE_COLUMNS} for _, n in sorted(nodes.items())]
    edge_rows = []
    for key, e in sorted(edges.items()):
        # a stable id KGX accepts: a name-based UUID of the statement
        e = dict(e, id=f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, PREFIXES[PROJECT] + '|'.join(key))}")
        edge_rows.append({c: e.get(c, "") for c in EDGE_COLUMNS})
    return Kgx(node_rows, edge_rows, {**kgx_prefix_map(), **dict(sorted(minted.items()))}, sorted(unnamed))


def _tsv(rows: list[dict[str, str]], columns: list[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, delimiter="\t", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


# ------------------------------------------------------------------ FHIR R5
#
# Every reference in the Bundle is the fullUrl of an entry: a Citation's and an
# Evidence's fullUrl is the graph's IRI of the publication or statistic (its
# canonical url too), an EvidenceVariable (which has no IRI in the graph) a
# name-based urn:uuid. Every Quantity carries its UCUM code, confidence-interval
# and range bounds included; a p-value is a Quantity of unity ("1") whose
# comparator keeps a printed bound ("<") a bound.

_STATS = """
PREFIX trialkg: <https://w3id.org/trialkg/ontology/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX oa: <http://www.w3.org/ns/oa#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?stat ?label ?type ?typeLabel ?typeCode ?typeDisplay ?measures ?measuresLabel ?value ?notReached ?events
       ?unit ?unitLabel ?ucum ?pop ?popLabel ?size ?origin ?originLabel ?timepoint ?timepointLabel ?tpValue ?tpUnitLabel ?tpUcum
       ?exposureLabel ?exposureSize ?referenceLabel ?referenceSize ?source ?quote ?note WHERE {
  ?stat a ?class ; rdfs:label ?label ; trialkg:statisticType ?type ; trialkg:measures ?measures ;
        trialkg:unit ?unit ; trialkg:population ?pop ; prov:wasDerivedFrom ?source .
  ?class rdfs:subClassOf* ?super .
  FILTER(isIRI(?super) && STR(?super) = STR(trialkg:Statistic))
  ?type rdfs:label ?typeLabel . ?measures rdfs:label ?measuresLabel . ?unit rdfs:label ?unitLabel .
  ?pop rdfs:label ?popLabel .
  OPTIONAL { ?type skos:inScheme <http://terminology.hl7.org/CodeSystem/statistic-type> ; skos:notation ?typeCode .
             OPTIONAL { ?type skos:prefLabel ?typeDisplay } }
  OPTIONAL { ?unit trialkg:ucumCode ?ucum }
  OPTIONAL { ?pop trialkg:size ?size }
  OPTIONAL { ?stat trialkg:value ?value }
  OPTIONAL { ?stat trialkg:notReached ?notReached }
  OPTIONAL { ?stat trialkg:numberOfEvents ?events }
  OPTIONAL { ?stat trialkg:timeOrigin ?origin . ?origin rdfs:label ?originLabel }
  OPTIONAL { ?stat trialkg:timePoint ?timepoint . ?timepoint rdfs:label ?timepointLabel }
  OPTIONAL { ?stat trialkg:timePointValue ?tpValue ; trialkg:timePointUnit ?tpUnit . ?tpUnit rdfs:label ?tpUnitLabel .
             OPTIONAL { ?tpUnit trialkg:ucumCode ?tpUcum } }
  OPTIONAL { ?stat trialkg:exposureGroup ?exposure . ?exposure rdfs:label ?exposureLabel .
             OPTIONAL { ?exposure trialkg:size ?exposureSize } }
  OPTIONAL { ?stat trialkg:referenceGroup ?reference . ?reference rdfs:label ?referenceLabel .
             OPTIONAL { ?reference trialkg:size ?referenceSize } }
  OPTIONAL { ?stat trialkg:quotedFrom/oa:hasSelector/oa:exact ?quote }
  OPTIONAL { ?stat skos:note ?note }
} ORDER BY ?stat
"""

# Two group statistics tested against each other by a p-value only (no effect estimate)
_COMPARISONS = """
PREFIX trialkg: <https://w3id.org/trialkg/ontology/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX oa: <http://www.w3.org/ns/oa#>
SELECT DISTINCT ?stat ?label ?measures ?measuresLabel ?exposureLabel ?exposureSize ?referenceLabel ?referenceSize
       ?pop ?popLabel ?size ?tpValue ?tpUnitLabel ?tpUcum ?source ?quote WHERE {
  ?stat a trialkg:Comparison ; rdfs:label ?label ; prov:wasDerivedFrom ?source ;
        trialkg:exposureGroup ?exposure ; trialkg:referenceGroup ?reference ; trialkg:comparesStatistic ?member .
  ?member trialkg:measures ?measures ; trialkg:population ?exposure .
  ?measures rdfs:label ?measuresLabel .
  ?exposure rdfs:label ?exposureLabel . ?reference rdfs:label ?referenceLabel .
  OPTIONAL { ?exposure trialkg:size ?exposureSize }
  OPTIONAL { ?reference trialkg:size ?referenceSize }
  # the population both groups are drawn from, where it holds their arms and no other: all randomized in a
  # two-arm trial, a set that spans just the two arms (trialkg:spansArm); never one that holds a third arm
  OPTIONAL {
    ?exposure trialkg:subsetOf ?pop . ?reference trialkg:subsetOf ?pop .
    ?pop rdfs:label ?popLabel . OPTIONAL { ?pop trialkg:size ?size }
    ?study trialkg:hasComparison ?stat ; trialkg:hasPopulation ?pop .
    FILTER NOT EXISTS { ?pop trialkg:withinArm ?one }
    FILTER NOT EXISTS {
      ?study trialkg:hasArm ?other .
      FILTER NOT EXISTS { ?pop trialkg:spansArm ?spanned }
      FILTER NOT EXISTS { ?exposure trialkg:withinArm ?other }
      FILTER NOT EXISTS { ?reference trialkg:withinArm ?other }
    }
    FILTER NOT EXISTS {
      ?pop trialkg:spansArm ?arm .
      FILTER NOT EXISTS { ?exposure trialkg:withinArm ?arm }
      FILTER NOT EXISTS { ?reference trialkg:withinArm ?arm }
    }
  }
  OPTIONAL { ?member trialkg:timePointValue ?tpValue ; trialkg:timePointUnit ?tpUnit . ?tpUnit rdfs:label ?tpUnitLabel .
             OPTIONAL { ?tpUnit trialkg:ucumCode ?tpUcum } }
  OPTIONAL { ?stat trialkg:quotedFrom/oa:hasSelector/oa:exact ?quote }
} ORDER BY ?stat ?label ?measures ?exposureLabel ?referenceLabel ?pop ?source ?quote ?tpValue ?tpUnitLabel
"""

#: comparisons of three or more groups (trialkg:comparedGroup: one global P value across the arms), one row a group
_GLOBAL_COMPARISONS = """
PREFIX trialkg: <https://w3id.org/trialkg/ontology/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX oa: <http://www.w3.org/ns/oa#>
SELECT DISTINCT ?stat ?label ?measures ?measuresLabel ?group ?groupLabel ?groupSize ?tpValue ?tpUnitLabel ?tpUcum
       ?source ?quote WHERE {
  ?stat a trialkg:Comparison ; rdfs:label ?label ; prov:wasDerivedFrom ?source ;
        trialkg:comparedGroup ?group ; trialkg:comparesStatistic ?member .
  FILTER NOT EXISTS { ?stat trialkg:exposureGroup ?exposure }
  ?member trialkg:measures ?measures ; trialkg:population ?group .
  ?measures rdfs:label ?measuresLabel .
  ?group rdfs:label ?groupLabel .
  OPTIONAL { ?group trialkg:size ?groupSize }
  OPTIONAL { ?member trialkg:timePointValue ?tpValue ; trialkg:timePointUnit ?tpUnit . ?tpUnit rdfs:label ?tpUnitLabel .
             OPTIONAL { ?tpUnit trialkg:ucumCode ?tpUcum } }
  OPTIONAL { ?stat trialkg:quotedFrom/oa:hasSelector/oa:exact ?quote }
} ORDER BY ?stat ?measures ?group ?groupLabel ?source ?quote ?tpValue ?tpUnitLabel
"""

_ESTIMATES = """
PREFIX trialkg: <https://w3id.org/trialkg/ontology/>
SELECT DISTINCT ?owner ?est ?kind ?level ?lower ?upper ?upperNr ?p ?comparator WHERE {
  ?owner trialkg:attributeEstimate ?est .
  ?est a ?kind .
  VALUES ?kind { trialkg:ConfidenceInterval trialkg:Range trialkg:PValue }
  OPTIONAL { ?est trialkg:level ?level }
  OPTIONAL { ?est trialkg:lower ?lower }
  OPTIONAL { ?est trialkg:upper ?upper }
  OPTIONAL { ?est trialkg:upperNotReached ?upperNr }
  OPTIONAL { ?est trialkg:pValue ?p ; trialkg:comparator ?comparator }
} ORDER BY ?owner ?est
"""

_CITATION = """
PREFIX trialkg: <https://w3id.org/trialkg/ontology/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT DISTINCT ?pub ?label ?title ?doi ?epub ?journal ?issn ?complete ?pos ?name WHERE {
  ?pub a trialkg:JournalArticle .
  # title and authors as the article's file gives them: FHIR's Citation needs neither (an article no page titled,
  # or named no author of, was left out, and its Evidence cited a bare CURIE)
  OPTIONAL { ?pub rdfs:label ?label }
  OPTIONAL { ?pub dcterms:title ?title }
  OPTIONAL { ?pub trialkg:authorListComplete ?complete }
  OPTIONAL { ?pub trialkg:hasAuthorship [ trialkg:position ?pos ; trialkg:authorName ?name ] }
  OPTIONAL { ?pub trialkg:doi ?doi }
  OPTIONAL { ?pub trialkg:epubDate ?epub }
  # the journal as the publication's own file states it (as citation.rq): across the union of the graphs, a journal
  # n files share gave each author n x n rows (a Citation of 100 publications in one journal listed each 10,000 times)
  OPTIONAL { GRAPH ?journalGraph { ?pub trialkg:publishedIn ?j . ?j rdfs:label ?journal .
                                   OPTIONAL { ?j trialkg:issn ?issn } } }
} ORDER BY ?pub ?pos
"""

STAT_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/statistic-type"
ATTRIBUTE_ESTIMATE_SYSTEM = "http://terminology.hl7.org/CodeSystem/attribute-estimate-type"
VARIABLE_ROLE_SYSTEM = "http://terminology.hl7.org/CodeSystem/variable-role"
NCIT_SYSTEM = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
UCUM = "http://unitsofmeasure.org"
#: HL7 attribute-estimate-type codes (NCIt codes) of each kind of estimate
_ESTIMATE_TYPES = {
    "ConfidenceInterval": ("C53324", "Confidence interval"),
    "Range": ("C38013", "Range"),
    "PValue": ("C44185", "P-value"),
}


def _slug(iri: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "-" for c in iri.split("/trialkg/", 1)[-1])[:64]


def _num(text: str) -> int | float:
    return int(text) if text.lstrip("-").isdigit() else float(text)


def _quantity(value: str, unit: str, ucum: str) -> dict[str, Any]:
    """A FHIR Quantity: the unit's label, and its UCUM code and system only where the unit has a code (review 45:
    a dimensionless unit, UO:0000186, wrote ``"code": ""``, and FHIR has no empty strings)."""
    return {
        "value": _num(value),
        **({"unit": unit} if unit else {}),
        **({"system": UCUM, "code": ucum} if ucum else {}),
    }


def _role(code: str) -> dict[str, Any]:
    return {"coding": [{"system": VARIABLE_ROLE_SYSTEM, "code": code}]}


def _statistic_type(s: dict[str, str]) -> dict[str, Any]:
    """A statistic's type: HL7's code and display where its code system has the type (``skos:notation`` in that
    scheme, ontology/imports/statistic-types.ttl), else the type's label as text only (a survival rate, a curator's
    own type, 'not stated'): a code of another ontology under HL7's system is a code HL7 does not define."""
    if s.get("typeCode"):
        return {
            "coding": [
                {"system": STAT_TYPE_SYSTEM, "code": s["typeCode"], "display": s.get("typeDisplay") or s["typeLabel"]}
            ]
        }
    return {"text": s["typeLabel"]}


def _group(role: str, label: str, size: str) -> dict[str, Any]:
    out: dict[str, Any] = {"variableRole": _role(role), "description": label}
    if size:
        out["note"] = [{"text": f"{size} participants"}]
    return out


def _estimates(rows: list[dict[str, str]], unit: str, ucum: str) -> list[dict[str, Any]]:
    """FHIR attributeEstimates of one statistic: confidence interval, range, p-value."""
    out = []
    for e in rows:
        code, display = _ESTIMATE_TYPES[e["kind"].rsplit("/", 1)[-1]]
        est: dict[str, Any] = {
            "type": {"coding": [{"system": ATTRIBUTE_ESTIMATE_SYSTEM, "code": code, "display": display}]}
        }
        if code == "C44185":
            est["quantity"] = {
                **_quantity(e["p"], "probability", "1"),
                **({"comparator": e["comparator"]} if e["comparator"] != "=" else {}),
            }
        else:
            if e["level"]:
                est["level"] = float(e["level"])
            est["range"] = {"low": _quantity(e["lower"], unit, ucum)}
            if e["upper"]:
                est["range"]["high"] = _quantity(e["upper"], unit, ucum)
            elif e["upperNr"] in ("true", "1"):  # printed NR or NE: a Range with no high end, and why
                est["note"] = [{"text": "Upper bound not reached (no number reported)."}]
        out.append(est)
    return out


def _coding(iri: str, label: str) -> dict[str, Any]:
    if iri.startswith("http://purl.obolibrary.org/obo/NCIT_"):
        return {"system": NCIT_SYSTEM, "code": iri.rsplit("_", 1)[-1], "display": label}
    return {"system": iri.rsplit("/", 1)[0] + "/", "code": iri.rsplit("/", 1)[-1], "display": label}


def fhir(ds: Dataset) -> dict[str, Any]:
    """A FHIR R5 collection Bundle: Citation per article, EvidenceVariable per variable, Evidence per statistic."""
    entries: list[dict[str, Any]] = []
    by_pub: dict[str, list[dict[str, str]]] = {}
    for r in _rows(ds, "fhir-citations", _CITATION):
        by_pub.setdefault(r["pub"], []).append(r)
    citations: dict[str, str] = {}
    for pub, rows in by_pub.items():
        first = rows[0]
        titles = sorted({r["title"] for r in rows if r["title"]})
        authors = sorted({(int(r["pos"]), r["name"]) for r in rows if r["name"] and r["pos"].lstrip("-").isdigit()})
        artifact: dict[str, Any] = {}
        if titles:
            artifact["title"] = [{"text": t} for t in titles]
        if authors or first["complete"]:
            artifact["contributorship"] = {
                **({"complete": first["complete"] == "true"} if first["complete"] else {}),
                **(
                    {"entry": [{"contributor": {"display": n}, "rankingOrder": pos} for pos, n in authors]}
                    if authors
                    else {}
                ),
            }
        if first["doi"]:
            artifact["identifier"] = [{"system": "https://doi.org", "value": first["doi"]}]
            artifact["webLocation"] = [{"url": f"https://doi.org/{first['doi']}"}]
        form: dict[str, Any] = {}
        if first["journal"]:
            form["publishedIn"] = {"title": first["journal"]}
            if first["issn"]:
                form["publishedIn"]["identifier"] = [
                    {"system": "urn:ietf:rfc:3986", "value": f"urn:ISSN:{first['issn']}"}
                ]
        if first["epub"]:
            form["articleDate"] = first["epub"]
        if form:
            artifact["publicationForm"] = [form]
        entries.append(
            {
                "fullUrl": pub,
                "resource": {
                    "resourceType": "Citation",
                    "id": _slug(pub),
                    "url": pub,
                    "status": "active",
                    **({"citedArtifact": artifact} if artifact else {}),
                },
            }
        )
        citations[pub] = (titles or sorted({r["label"] for r in rows if r["label"]}) or [compact(pub)])[0]

    estimates: dict[str, list[dict[str, str]]] = {}
    for e in _rows(ds, "fhir-estimates", _ESTIMATES):
        estimates.setdefault(e["owner"], []).append(e)

    variables: dict[tuple[str, ...], str] = {}

    def variable(s: dict[str, str]) -> str:
        """The fullUrl of the EvidenceVariable of what ``s`` measures, and when (made on first use)."""
        when = s.get("originLabel") or s.get("timepointLabel") or ""
        key = (
            s["measures"],
            s.get("origin") or s.get("timepoint") or "",
            s.get("tpValue", ""),
            s.get("tpUnitLabel", ""),
        )
        if key in variables:
            return variables[key]
        at = f" at {s['tpValue']} {s['tpUnitLabel']}{'' if s['tpValue'] == '1' else 's'}" if s.get("tpValue") else ""
        title = (
            s["measuresLabel"]
            + at
            + (f" from {s['originLabel']}" if s.get("originLabel") else "")
            + (f" at {s['timepointLabel']}" if s.get("timepointLabel") else "")
        )
        vid = _slug(f"variable-{compact(s['measures'])}-{'-'.join(filter(None, key[1:])) or 'any'}")
        full = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, PREFIXES[PROJECT] + 'fhir/' + '|'.join(key))}"
        var: dict[str, Any] = {
            "resourceType": "EvidenceVariable",
            "id": vid,
            "status": "active",
            "name": vid.replace("-", "_").replace(".", "_")[:60],
            "title": title,
        }
        if when or s.get("tpValue"):
            event: dict[str, Any] = {"description": "time origin" if s.get("originLabel") else "time point"}
            if when:
                event["eventCodeableConcept"] = {"text": when}
            if s.get("tpValue"):
                event["quantity"] = _quantity(s["tpValue"], s["tpUnitLabel"], s["tpUcum"])
            var["characteristic"] = [
                {
                    "definitionCodeableConcept": {"coding": [_coding(s["measures"], s["measuresLabel"])]},
                    "timeFromEvent": [event],
                }
            ]
        entries.append({"fullUrl": full, "resource": var})
        variables[key] = full
        return full

    def evidence(
        s: dict[str, str], stat: dict[str, Any], notes: list[str], groups: Sequence[tuple[str, str]] = ()
    ) -> None:
        definitions = [{"variableRole": _role("population"), "description": s["popLabel"]}]
        definitions += [_group("exposure", label, size) for label, size in groups]  # each group a global test compares
        if s.get("exposureLabel"):
            definitions.append(_group("exposure", s["exposureLabel"], s.get("exposureSize", "")))
            definitions.append(_group("referenceExposure", s["referenceLabel"], s.get("referenceSize", "")))
        definitions.append(
            {
                "variableRole": _role("measuredVariable"),
                "observed": {"reference": variable(s), "display": s["measuresLabel"]},
            }
        )
        ev: dict[str, Any] = {
            "resourceType": "Evidence",
            "id": _slug(s["stat"]),
            "url": s["stat"],
            "status": "active",
            "title": s["label"],
            "variableDefinition": definitions,
            "statistic": [stat],
        }
        if s["source"] in citations:
            ev["citeAsReference"] = {"reference": s["source"], "display": citations[s["source"]]}
        elif s.get("quote"):
            ev["citeAsMarkdown"] = f'{compact(s["source"])}: "{s["quote"]}"'
        if notes:
            ev["note"] = [{"text": n} for n in notes]
        entries.append({"fullUrl": s["stat"], "resource": ev})

    rows_by_stat: dict[str, list[dict[str, str]]] = {}
    for r in _rows(ds, "fhir-statistics", _STATS):
        rows_by_stat.setdefault(r["stat"], []).append(r)
    for iri, rows in rows_by_stat.items():
        s = rows[0]
        stat: dict[str, Any] = {
            "description": s["label"],
            "statisticType": _statistic_type(s),
        }
        if s["value"]:
            stat["quantity"] = _quantity(s["value"], s["unitLabel"], s["ucum"])
            if s["type"].endswith("C25463"):
                stat["numberOfEvents"] = int(s["value"])
        if s["events"]:
            stat["numberOfEvents"] = int(s["events"])
        notes = sorted({r["note"] for r in rows if r["note"]})
        stat_notes = [{"text": "Median not reached (no number reported)."}] if s["notReached"] == "true" else []
        stat_notes += [{"text": n} for n in notes]
        if stat_notes:
            stat["note"] = stat_notes
        stat["sampleSize"] = {
            "description": s["popLabel"],
            **({"numberOfParticipants": int(s["size"])} if s["size"] else {}),
        }
        if estimates.get(iri):
            stat["attributeEstimate"] = _estimates(estimates[iri], s["unitLabel"], s["ucum"])
        evidence(s, stat, [])

    compared: set[str] = set()
    for s in _rows(ds, "fhir-comparisons", _COMPARISONS):
        if s["stat"] in compared:  # one Evidence a comparison (its rows differ in a second quote or label only)
            continue
        compared.add(s["stat"])
        stat = {
            "description": s["label"] + " (compared by a p-value; no effect estimate is reported)",
            "attributeEstimate": _estimates(estimates.get(s["stat"], []), "", "1"),
        }
        # the population both groups are drawn from where it holds just their arms (the query's OPTIONAL), else the
        # two groups (each with its size in its own definition): never one that holds a third arm
        if s["size"]:
            stat["sampleSize"] = {"description": s["popLabel"], "numberOfParticipants": int(s["size"])}
        evidence({**s, "popLabel": s["popLabel"] or f"{s['exposureLabel']} and {s['referenceLabel']}"}, stat, [])
    by_comparison: dict[str, list[dict[str, str]]] = {}
    for s in _rows(ds, "fhir-global-comparisons", _GLOBAL_COMPARISONS):
        by_comparison.setdefault(s["stat"], []).append(s)
    for iri, rows in by_comparison.items():  # three or more groups, one P value across them (the README's promise)
        s = rows[0]
        groups = list(dict.fromkeys((r["groupLabel"], r["groupSize"]) for r in rows if r["measures"] == s["measures"]))
        stat = {
            "description": s["label"] + " (compared by a p-value across the groups; no effect estimate is reported)",
            "attributeEstimate": _estimates(estimates.get(iri, []), "", "1"),
        }
        names = [label for label, _ in groups]
        evidence({**s, "popLabel": ", ".join(names[:-1]) + f" and {names[-1]}"}, stat, [], groups)
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


# ------------------------------------------------------------------ driver


def _nanopubs(ds: Dataset, created: date | None) -> bytes:
    return to_bytes(nanopub.nanopublications(ds, created), ox.RdfFormat.TRIG)


def _void(ds: Dataset) -> bytes:
    return turtle(ds.description)


#: format -> {file name: writer}
WRITERS: dict[str, dict[str, Callable[..., bytes]]] = {
    "nquads": {"trialkg.nq": nquads},
    "jsonld": {"trialkg.jsonld": jsonld, "context.jsonld": lambda ds: json.dumps(context(), indent=2).encode()},
    "jsonld-1.0": {"trialkg-1.0.jsonld": jsonld_1_0},
    "kgx": {
        "nodes.tsv": lambda ds: _tsv(kgx_once(ds)[0], NODE_COLUMNS).encode(),
        "edges.tsv": lambda ds: _tsv(kgx_once(ds)[1], EDGE_COLUMNS).encode(),
        "kgx-prefix-map.json": lambda ds: json.dumps(kgx_once(ds).prefixes, indent=2).encode() + b"\n",
    },
    "sssom": {"mappings.sssom.tsv": lambda ds: mappings.packaged().text.encode()},
    "fhir": {"trialkg-fhir-bundle.json": lambda ds: json.dumps(fhir(ds), indent=1, ensure_ascii=False).encode()},
    "void": {"void.ttl": _void},
    "nanopub": {"trialkg.nanopubs.trig": lambda ds, created=None: _nanopubs(ds, created)},
}
FORMATS = tuple(WRITERS)


def notes(fmt: str, ds: Dataset) -> list[str]:
    """What a user should know of an export just written: in KGX, the IRIs no CURIE could name (left as ids that KGX
    reports), so the export is not taken for one KGX reads whole."""
    unnamed = kgx_once(ds).unnamed if fmt == "kgx" else []
    if not unnamed:
        return []
    shown = ", ".join(unnamed[:3]) + (f" and {len(unnamed) - 3} more" if len(unnamed) > 3 else "")
    return [
        f"{len(unnamed)} IRI(s) no KGX CURIE can name (an empty local part: the IRI ends in '/') are written as they "
        f"are, and KGX's validator reports them: {shown}"
    ]


def export(fmt: str, out_dir: str | Path, ds: Dataset, created: date | None = None) -> list[Path]:
    """Write one export format of ``ds`` into ``out_dir``; returns the files written.

    ``created`` dates the nanopublications (default: the issued date of the data), so an export is
    reproducible; the other formats carry no date of their own.
    """
    if fmt not in WRITERS:
        raise InputError(f"unknown export format {fmt!r} (valid: {', '.join(FORMATS)})")
    with AtomicFiles(out_dir, record=RECORD) as out:
        for name, writer in WRITERS[fmt].items():
            out.path(name).write_bytes(writer(ds, created) if fmt == "nanopub" else writer(ds))
    return out.written
