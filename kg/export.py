"""Exports other graphs ingest, all generated from the one graph with SPARQL.

- ``nquads``: one named graph per publication (and one for the ontology);
- ``jsonld``: compacted against the packaged ``context.jsonld``;
- ``kgx``: Biolink Model KGX TSV (``nodes.tsv``, ``edges.tsv``), Biolink 4.2.2;
- ``sssom``: the mapping table, as loaded;
- ``fhir``: an HL7 FHIR R5 ``collection`` Bundle of Citation, EvidenceVariable
  and Evidence resources (one Evidence per statistic).
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from kg import mappings, resources
from kg import sources as src
from kg.dataset import Dataset
from kg.errors import InputError
from kg.outputs import AtomicFiles
from kg.prefixes import compact, turtle_prefixes
from kg.query.catalog import parse_query
from kg.rdf import to_bytes

NODE_COLUMNS = ["id", "category", "name", "xref", "provided_by", "publication_type", "published_in"]
EDGE_COLUMNS = ["id", "subject", "predicate", "object", "knowledge_level", "agent_type", "publications",
                "provided_by", "trialkg_source"]


def _rows(ds: Dataset, name: str, text: str) -> list[dict[str, str]]:
    """Rows of one of this module's queries, as lexical values ('' where unbound)."""
    result = ds.run(parse_query(name, text, f"kg/export.py ({name})"))
    return [{n: (row[n].value if n in row else "") for n in result.variables} for row in result.rows]


def context() -> dict:
    """The packaged JSON-LD context."""
    return json.loads(resources.ontology_file("context.jsonld").read_text(encoding="utf-8"))


# ------------------------------------------------------------------ n-quads, json-ld

def nquads(ds: Dataset) -> bytes:
    """Every quad, sorted, one named graph per publication."""
    return to_bytes(sorted(ds.quads(), key=str), ox.RdfFormat.N_QUADS)


def jsonld(ds: Dataset) -> bytes:
    """The merged graph as JSON-LD compacted with the packaged context."""
    g = src.rdflib_graph(ds.triples())
    ctx = context()["@context"]
    text = g.serialize(format="json-ld", context=ctx, auto_compact=True)
    doc = json.loads(text)
    doc["@context"] = ctx
    return json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=True).encode("utf-8")


# ------------------------------------------------------------------ KGX

_PREFERRED = """
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX trialkg: <https://w3id.org/trialkg/ontology/>
SELECT ?term ?label (GROUP_CONCAT(DISTINCT STR(?x); separator="|") AS ?xrefs) WHERE {
  { SELECT DISTINCT ?term WHERE { VALUES ?p { trialkg:drug trialkg:studiesCondition trialkg:adverseEvent } ?any ?p ?term } }
  ?term rdfs:label ?label .
  OPTIONAL { ?term (skos:exactMatch|^skos:exactMatch)+ ?x FILTER(?x != ?term) }
} GROUP BY ?term ?label
"""

_KGX_FACTS = """
PREFIX trialkg: <https://w3id.org/trialkg/ontology/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX schema: <https://schema.org/>
SELECT DISTINCT ?trial ?trialLabel ?drug ?condition ?paper ?paperDoi WHERE {
  ?trial a trialkg:ClinicalTrial ; rdfs:label ?trialLabel ; trialkg:studiesCondition ?condition ;
         trialkg:hasArm/trialkg:hasTreatmentPhase/trialkg:hasDoseSchedule/trialkg:drug ?drug .
  OPTIONAL { ?trial trialkg:describedIn ?paper . ?paper a trialkg:JournalArticle . OPTIONAL { ?paper trialkg:doi ?paperDoi } }
}
"""

_KGX_AES = """
PREFIX trialkg: <https://w3id.org/trialkg/ontology/>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX NCIT: <http://purl.obolibrary.org/obo/NCIT_>
SELECT DISTINCT ?trial ?drug ?ae ?source WHERE {
  ?trial a trialkg:ClinicalTrial ; trialkg:hasArm/trialkg:hasTreatmentPhase/trialkg:hasDoseSchedule/trialkg:drug ?drug .
  { ?trial trialkg:reportsAdverseEvent ?item }
  UNION
  { ?trial trialkg:hasStatistic ?item . ?item a trialkg:SafetyStatistic ; trialkg:value ?v . FILTER(?v > 0) }
  ?item trialkg:adverseEvent ?ae ; prov:wasDerivedFrom ?source .
  FILTER(?ae != NCIT:C41331)
}
"""

_KGX_PUBS = """
PREFIX trialkg: <https://w3id.org/trialkg/ontology/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?pub ?kind ?name ?doi ?issn WHERE {
  ?pub a ?kind ; rdfs:label ?label .
  VALUES ?kind { trialkg:JournalArticle trialkg:NewsReport }
  OPTIONAL { ?pub dcterms:title ?title }
  OPTIONAL { ?pub trialkg:doi ?doi }
  OPTIONAL { ?pub trialkg:publishedIn/trialkg:issn ?issn }
  BIND(COALESCE(?title, ?label) AS ?name)
}
"""


def _prefer(iri: str, xrefs: list[str], order: list[str]) -> str:
    """The node id a Biolink KG expects for a term: the first CURIE whose prefix is in ``order``."""
    curies = [compact(iri)] + [compact(x) for x in xrefs]
    for prefix in order:
        for c in curies:
            if c.startswith(prefix + ":"):
                return c
    return curies[0]


def kgx(ds: Dataset) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Nodes and edges for a Biolink Model KGX TSV export."""
    facts = _rows(ds, "kgx-facts", _KGX_FACTS)
    aes = _rows(ds, "kgx-adverse-events", _KGX_AES)
    pubs = _rows(ds, "kgx-publications", _KGX_PUBS)
    info = {r["term"]: r for r in _rows(ds, "kgx-terms", _PREFERRED)}

    nodes: dict[str, dict[str, str]] = {}
    ids: dict[str, str] = {}

    def node(iri: str, category: str, order: list[str]) -> str:
        row = info[iri]
        xrefs = [x for x in row["xrefs"].split("|") if x]
        nid = _prefer(iri, xrefs, order)
        ids[iri] = nid
        others = sorted({compact(x) for x in [iri, *xrefs]} - {nid})
        nodes[nid] = {"id": nid, "category": category, "name": row["label"], "xref": "|".join(others),
                      "provided_by": "trialkg"}
        return nid

    pub_id: dict[str, str] = {}
    for p in pubs:
        nid = f"DOI:{p['doi']}" if p["doi"] else compact(p["pub"])
        pub_id[p["pub"]] = nid
        article = p["kind"].endswith("JournalArticle")
        nodes[nid] = {"id": nid, "category": "biolink:Article" if article else "biolink:Publication",
                      "name": p["name"], "xref": compact(p["pub"]) if nid != compact(p["pub"]) else "",
                      "provided_by": "trialkg", "publication_type": "journal article" if article else "news report",
                      "published_in": f"ISSN:{p['issn']}" if p["issn"] else ""}

    edges: dict[tuple[str, str, str], dict[str, str]] = {}

    def edge(s: str, p: str, o: str, pubs_: list[str], source: str) -> None:
        key = (s, p, o)
        entry = edges.setdefault(key, {"subject": s, "predicate": p, "object": o, "knowledge_level": "knowledge_assertion",
                                       "agent_type": "manual_agent", "publications": "", "provided_by": "trialkg",
                                       "trialkg_source": ""})
        entry["publications"] = "|".join(sorted(set(filter(None, entry["publications"].split("|") + pubs_))))
        entry["trialkg_source"] = "|".join(sorted(set(filter(None, entry["trialkg_source"].split("|") + [source]))))

    for f in facts:
        drug = node(f["drug"], "biolink:Drug", ["CHEBI", "DRUGBANK", "NCIT", "MESH"])
        disease = node(f["condition"], "biolink:Disease", ["MONDO", "DOID", "NCIT", "MESH"])
        trial = compact(f["trial"])
        nodes[trial] = {"id": trial, "category": "biolink:ClinicalTrial", "name": f["trialLabel"], "xref": "",
                        "provided_by": "trialkg"}
        paper = [pub_id[f["paper"]]] if f["paper"] else []
        edge(drug, "biolink:in_clinical_trials_for", disease, paper, trial)
        edge(trial, "biolink:related_to", drug, paper, trial)
        edge(trial, "biolink:related_to", disease, paper, trial)
    for a in aes:
        drug = ids.get(a["drug"]) or node(a["drug"], "biolink:Drug", ["CHEBI", "DRUGBANK", "NCIT", "MESH"])
        event = node(a["ae"], "biolink:PhenotypicFeature", ["HP", "NCIT"])
        edge(drug, "biolink:has_adverse_event", event, [pub_id.get(a["source"], compact(a["source"]))], compact(a["trial"]))

    node_rows = [{c: n.get(c, "") for c in NODE_COLUMNS} for _, n in sorted(nodes.items())]
    edge_rows = []
    for i, (_, e) in enumerate(sorted(edges.items()), 1):
        e = dict(e, id=f"trialkg:kgx-edge/{i}")
        edge_rows.append({c: e.get(c, "") for c in EDGE_COLUMNS})
    return node_rows, edge_rows


def _tsv(rows: list[dict[str, str]], columns: list[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, delimiter="\t", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


# ------------------------------------------------------------------ FHIR R5

_STATS = """
PREFIX trialkg: <https://w3id.org/trialkg/ontology/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX oa: <http://www.w3.org/ns/oa#>
SELECT ?stat ?label ?type ?typeLabel ?measures ?measuresLabel ?value ?notReached ?unit ?unitLabel ?ucum
       ?pop ?popLabel ?size ?origin ?originLabel ?timepoint ?timepointLabel ?lvl ?lo ?hi ?source ?quote ?note WHERE {
  ?stat a/rdfs:subClassOf* trialkg:Statistic ; rdfs:label ?label ; trialkg:statisticType ?type ; trialkg:measures ?measures ;
        trialkg:unit ?unit ; trialkg:population ?pop ; prov:wasDerivedFrom ?source .
  ?type rdfs:label ?typeLabel . ?measures rdfs:label ?measuresLabel . ?unit rdfs:label ?unitLabel .
  ?pop rdfs:label ?popLabel .
  OPTIONAL { ?unit trialkg:ucumCode ?ucum }
  OPTIONAL { ?pop trialkg:size ?size }
  OPTIONAL { ?stat trialkg:value ?value }
  OPTIONAL { ?stat trialkg:notReached ?notReached }
  OPTIONAL { ?stat trialkg:timeOrigin ?origin . ?origin rdfs:label ?originLabel }
  OPTIONAL { ?stat trialkg:timePoint ?timepoint . ?timepoint rdfs:label ?timepointLabel }
  OPTIONAL { ?stat trialkg:attributeEstimate ?ci . ?ci trialkg:level ?lvl ; trialkg:lower ?lo ; trialkg:upper ?hi }
  OPTIONAL { ?stat trialkg:quotedFrom/oa:hasSelector/oa:exact ?quote }
  OPTIONAL { ?stat <http://www.w3.org/2004/02/skos/core#note> ?note }
} ORDER BY ?stat
"""

_CITATION = """
PREFIX trialkg: <https://w3id.org/trialkg/ontology/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?pub ?title ?doi ?epub ?journal ?issn ?complete ?pos ?name WHERE {
  ?pub a trialkg:JournalArticle ; dcterms:title ?title ; trialkg:authorListComplete ?complete ;
       trialkg:hasAuthorship [ trialkg:position ?pos ; trialkg:authorName ?name ] .
  OPTIONAL { ?pub trialkg:doi ?doi }
  OPTIONAL { ?pub trialkg:epubDate ?epub }
  OPTIONAL { ?pub trialkg:publishedIn ?j . ?j rdfs:label ?journal . OPTIONAL { ?j trialkg:issn ?issn } }
} ORDER BY ?pub ?pos
"""

STAT_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/statistic-type"
ATTRIBUTE_ESTIMATE_SYSTEM = "http://terminology.hl7.org/CodeSystem/attribute-estimate-type"
VARIABLE_ROLE_SYSTEM = "http://terminology.hl7.org/CodeSystem/variable-role"
NCIT_SYSTEM = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"


def _slug(iri: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "-" for c in iri.split("/trialkg/", 1)[-1])[:64]


def _num(text: str):
    return int(text) if text.lstrip("-").isdigit() else float(text)


def fhir(ds: Dataset) -> dict:
    """A FHIR R5 collection Bundle: Citation, EvidenceVariable per variable, Evidence per statistic."""
    entries: list[dict] = []
    cites = _rows(ds, "fhir-citations", _CITATION)
    citation_ref = {}
    by_pub: dict[str, list[dict[str, str]]] = {}
    for r in cites:
        by_pub.setdefault(r["pub"], []).append(r)
    for pub, rows in by_pub.items():
        first = rows[0]
        cid = _slug(pub)
        artifact: dict[str, Any] = {
            "title": [{"text": first["title"]}],
            "contributorship": {"complete": first["complete"] == "true",
                                "entry": [{"contributor": {"display": r["name"]}, "rankingOrder": int(r["pos"])}
                                          for r in rows]},
        }
        if first["doi"]:
            artifact["identifier"] = [{"system": "https://doi.org", "value": first["doi"]}]
            artifact["webLocation"] = [{"url": f"https://doi.org/{first['doi']}"}]
        form: dict[str, Any] = {}
        if first["journal"]:
            form["publishedIn"] = {"title": first["journal"]}
            if first["issn"]:
                form["publishedIn"]["identifier"] = [{"system": "urn:ietf:rfc:3986", "value": f"urn:ISSN:{first['issn']}"}]
        if first["epub"]:
            form["articleDate"] = first["epub"]
        if form:
            artifact["publicationForm"] = [form]
        resource = {"resourceType": "Citation", "id": cid, "url": pub, "status": "active", "citedArtifact": artifact}
        entries.append({"fullUrl": pub, "resource": resource})
        citation_ref[pub] = {"reference": f"Citation/{cid}", "display": first["title"]}

    variables: dict[tuple[str, str], str] = {}
    for s in _rows(ds, "fhir-statistics", _STATS):
        key = (s["measures"], s["origin"] or s["timepoint"])
        if key not in variables:
            vid = _slug(f"variable-{compact(s['measures'])}-{(s['originLabel'] or s['timepointLabel'] or 'any')}")
            var: dict[str, Any] = {"resourceType": "EvidenceVariable", "id": vid, "status": "active",
                   "name": vid.replace("-", "_")[:60], "title": s["measuresLabel"] + (
                       f" from {s['originLabel']}" if s["originLabel"] else (f" at {s['timepointLabel']}" if s["timepointLabel"] else ""))}
            if s["origin"] or s["timepoint"]:
                var["characteristic"] = [{
                    "definitionCodeableConcept": {"coding": [_coding(s["measures"], s["measuresLabel"])]},
                    "timeFromEvent": [{"eventCodeableConcept": {"text": s["originLabel"] or s["timepointLabel"]},
                                       "description": "time origin" if s["origin"] else "time point"}],
                }]
            entries.append({"fullUrl": f"urn:trialkg:{vid}", "resource": var})
            variables[key] = vid
        stat: dict = {
            "description": s["label"],
            "statisticType": {"coding": [{"system": STAT_TYPE_SYSTEM, "code": s["type"].rsplit("_", 1)[-1],
                                          "display": s["typeLabel"]}]},
        }
        if s["value"]:
            stat["quantity"] = {"value": _num(s["value"]), "unit": s["unitLabel"],
                                **({"system": "http://unitsofmeasure.org", "code": s["ucum"]} if s["ucum"] else {})}
            if s["type"].endswith("C25463"):
                stat["numberOfEvents"] = int(s["value"])
        notes = []
        if s["notReached"] == "true":
            notes.append({"text": "Median not reached (no number reported)."})
        if s["note"]:
            notes.append({"text": s["note"]})
        if notes:
            stat["note"] = notes
        if s["size"]:
            stat["sampleSize"] = {"description": s["popLabel"], "numberOfParticipants": int(s["size"])}
        else:
            stat["sampleSize"] = {"description": s["popLabel"]}
        if s["lvl"]:
            stat["attributeEstimate"] = [{
                "type": {"coding": [{"system": ATTRIBUTE_ESTIMATE_SYSTEM, "code": "C53324", "display": "Confidence interval"}]},
                "level": float(s["lvl"]),
                "range": {"low": {"value": _num(s["lo"]), "unit": s["unitLabel"]},
                          "high": {"value": _num(s["hi"]), "unit": s["unitLabel"]}},
            }]
        evidence: dict[str, Any] = {
            "resourceType": "Evidence", "id": _slug(s["stat"]), "url": s["stat"], "status": "active",
            "title": s["label"],
            "variableDefinition": [
                {"variableRole": {"coding": [{"system": VARIABLE_ROLE_SYSTEM, "code": "population"}]},
                 "description": s["popLabel"]},
                {"variableRole": {"coding": [{"system": VARIABLE_ROLE_SYSTEM, "code": "measuredVariable"}]},
                 "observed": {"reference": f"EvidenceVariable/{variables[key]}", "display": s["measuresLabel"]}},
            ],
            "statistic": [stat],
        }
        paper = next((p for p in citation_ref if s["source"] == p), None)
        if paper:
            evidence["citeAsReference"] = citation_ref[paper]
        elif s["quote"]:
            evidence["citeAsMarkdown"] = f"{compact(s['source'])}: \"{s['quote']}\""
        entries.append({"fullUrl": s["stat"], "resource": evidence})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _coding(iri: str, label: str) -> dict:
    if iri.startswith("http://purl.obolibrary.org/obo/NCIT_"):
        return {"system": NCIT_SYSTEM, "code": iri.rsplit("_", 1)[-1], "display": label}
    return {"system": iri.rsplit("/", 1)[0] + "/", "code": iri.rsplit("/", 1)[-1], "display": label}


# ------------------------------------------------------------------ driver

def _void(ds: Dataset) -> bytes:
    return to_bytes(ds.description, ox.RdfFormat.TURTLE, turtle_prefixes())


#: format -> {file name: writer}
WRITERS: dict[str, dict[str, Callable[[Dataset], bytes]]] = {
    "nquads": {"trialkg.nq": nquads},
    "jsonld": {"trialkg.jsonld": jsonld, "context.jsonld": lambda ds: json.dumps(context(), indent=2).encode()},
    "kgx": {"nodes.tsv": lambda ds: _tsv(kgx(ds)[0], NODE_COLUMNS).encode(),
            "edges.tsv": lambda ds: _tsv(kgx(ds)[1], EDGE_COLUMNS).encode()},
    "sssom": {"mappings.sssom.tsv": lambda ds: mappings.packaged().text.encode()},
    "fhir": {"trialkg-fhir-bundle.json": lambda ds: json.dumps(fhir(ds), indent=1, ensure_ascii=False).encode()},
    "void": {"void.ttl": _void},
}
FORMATS = tuple(WRITERS)


def export(fmt: str, out_dir: str | Path, ds: Dataset) -> list[Path]:
    """Write one export format of ``ds`` into ``out_dir``; returns the files written."""
    if fmt not in WRITERS:
        raise InputError(f"unknown export format {fmt!r} (valid: {', '.join(FORMATS)})")
    with AtomicFiles(out_dir) as out:
        for name, writer in WRITERS[fmt].items():
            out.path(name).write_bytes(writer(ds))
    return out.written
