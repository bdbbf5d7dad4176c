"""The dataset description: VoID + DCAT + the W3C HCLS dataset-description profile.

Every count (triples, entities, classes, properties, links into each external
namespace) is computed with SPARQL over the graph being described, never typed
by hand, so the description cannot drift from the data.
"""
from __future__ import annotations

from datetime import date

import pyoxigraph as ox

from kg import __version__
from kg.prefixes import BASE, PREFIXES

RELEASED = date(2026, 11, 25)  # the issued date of this version of the data
LICENSE = "https://creativecommons.org/licenses/by/4.0/"

VOID = "http://rdfs.org/ns/void#"
DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
DCTYPES = "http://purl.org/dc/dcmitype/"
PAV = "http://purl.org/pav/"
FORMATS = "http://www.w3.org/ns/formats/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD = "http://www.w3.org/2001/XMLSchema#"

# External namespaces whose inbound links are counted as VoID linksets.
LINK_TARGETS = ["NCIT", "CHEBI", "MONDO", "DOID", "HP", "UO", "OBI", "IAO", "STATO",
                "DRUGBANK", "MESH", "WIKIDATA", "DOI", "schema"]

DISTRIBUTIONS = [
    ("ttl", "trialkg.ttl", "text/turtle", "Turtle"),
    ("nt", "trialkg.nt", "application/n-triples", "N-Triples"),
    ("jsonld", "trialkg.jsonld", "application/ld+json", "JSON-LD"),
    ("nq", "trialkg.nq", "application/n-quads", "N-Quads"),
]


def _count(store: ox.Store, where: str) -> int:
    rows = list(store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}", use_default_graph_as_union=True))
    return int(rows[0]["n"].value)


def statistics(store: ox.Store) -> dict[str, int]:
    """Triple, entity, class and property counts of the merged graph, in one scan."""
    triples = _distinct_triples(store, "")
    q = f"""SELECT (COUNT(*) AS ?triples) (COUNT(DISTINCT ?s) AS ?subjects) (COUNT(DISTINCT ?p) AS ?properties)
                  (COUNT(DISTINCT ?o) AS ?objects)
                  (COUNT(DISTINCT IF(isIRI(?s) && STRSTARTS(STR(?s), "{BASE}"), ?s, ?none)) AS ?entities)
                  (COUNT(DISTINCT IF(?p = <{RDF_TYPE}>, ?o, ?none)) AS ?classes)
            WHERE {{ {triples} }}"""
    row = next(iter(store.query(q, use_default_graph_as_union=True)))
    return {
        "triples": int(row["triples"].value),
        "entities": int(row["entities"].value),
        "classes": int(row["classes"].value),
        "properties": int(row["properties"].value),
        "distinctSubjects": int(row["subjects"].value),
        "distinctObjects": int(row["objects"].value),
    }


def _distinct_triples(store: ox.Store, condition: str) -> str:
    """A pattern over distinct triples: plain when everything is in the default graph
    (already distinct), with DISTINCT when named graphs may repeat a triple."""
    if next(iter(store.named_graphs()), None) is None:
        return f"?s ?p ?o {condition}"
    return f"SELECT DISTINCT ?s ?p ?o WHERE {{ ?s ?p ?o {condition} }}"


def linkset_counts(store: ox.Store, namespaces: dict[str, str]) -> dict[str, int]:
    """For each namespace: triples from a subject outside it to an object IRI inside it.

    Two scans whatever the number of namespaces: object IRIs with their counts,
    then the few triples whose subject is itself an external term.
    """
    def ns_of(iri: str) -> str | None:
        best = None
        for prefix, ns in namespaces.items():
            if iri.startswith(ns) and (best is None or len(ns) > len(namespaces[best])):
                best = prefix
        return best

    counts = {p: 0 for p in namespaces}
    rows = store.query(f"SELECT ?o (COUNT(*) AS ?n) WHERE {{ {_distinct_triples(store, 'FILTER(isIRI(?o))')} }} GROUP BY ?o",
                       use_default_graph_as_union=True)
    for r in rows:
        p = ns_of(r["o"].value)
        if p:
            counts[p] += int(r["n"].value)
    same = store.query(f"""SELECT DISTINCT ?s ?p ?o WHERE {{ ?s ?p ?o
        FILTER(isIRI(?o) && isIRI(?s) && !STRSTARTS(STR(?s), "{BASE}")) }}""", use_default_graph_as_union=True)
    for r in same:
        po = ns_of(r["o"].value)
        if po and r["s"].value.startswith(namespaces[po]):
            counts[po] -= 1
    return counts


def linkset_count(store: ox.Store, namespace: str) -> int:
    """Triples from a subject outside ``namespace`` to an object IRI inside it."""
    return linkset_counts(store, {"ns": namespace})["ns"]


def describe(store: ox.Store, base: str = BASE) -> list[ox.Triple]:
    """The VoID / DCAT / HCLS description of the graph in ``store``."""
    N, L = ox.NamedNode, ox.Literal

    def lit(value, dtype="string"):
        return L(str(value), datatype=N(XSD + dtype))

    summary = N(base + "dataset")
    version = N(f"{base}dataset/{__version__}")
    sparql = N(base + "sparql")
    out: list[ox.Triple] = []
    add = lambda s, p, o: out.append(ox.Triple(s, N(p), o))  # noqa: E731

    add(summary, RDF_TYPE, N(DCTYPES + "Dataset"))
    add(summary, DCT + "title", L("trialkg: clinical-trial results as linked data", language="en"))
    add(summary, DCT + "description", L("What published clinical-trial reports say, as RDF against NCIt, ChEBI, MONDO, HPO and UO: trials, regimens, populations, every outcome and adverse event with its denominator, unit, time anchor and the sentence it came from.", language="en"))
    add(summary, DCT + "publisher", L("trialkg curators"))
    add(summary, DCT + "license", N(LICENSE))
    add(summary, DCAT + "accessURL", N(base))
    add(summary, VOID + "sparqlEndpoint", sparql)
    add(summary, PAV + "hasCurrentVersion", version)

    add(version, RDF_TYPE, N(DCTYPES + "Dataset"))
    add(version, DCT + "isVersionOf", summary)
    add(version, DCT + "title", L(f"trialkg {__version__}", language="en"))
    add(version, DCT + "description", L("The trials, ontology, term extracts and mappings of this release.", language="en"))
    add(version, PAV + "version", L(__version__))
    add(version, DCT + "issued", lit(RELEASED.isoformat(), "date"))
    add(version, DCT + "creator", L("trialkg curators"))
    add(version, DCT + "publisher", L("trialkg curators"))
    add(version, DCT + "license", N(LICENSE))

    stats = statistics(store)
    for key, fmt, media, fmt_name in DISTRIBUTIONS:
        dist = N(f"{base}dataset/{__version__}/{key}")
        dump = N(f"{base}dist/{__version__}/{fmt}")
        add(version, DCAT + "distribution", dist)
        add(dist, RDF_TYPE, N(VOID + "Dataset"))
        add(dist, RDF_TYPE, N(DCAT + "Distribution"))
        add(dist, DCT + "title", L(f"trialkg {__version__} ({fmt_name})", language="en"))
        add(dist, DCT + "description", L(f"The whole graph as one {fmt_name} file.", language="en"))
        add(dist, DCT + "creator", L("trialkg curators"))
        add(dist, DCT + "issued", lit(RELEASED.isoformat(), "date"))
        add(dist, DCT + "license", N(LICENSE))
        add(dist, DCT + "format", N(FORMATS + fmt_name))
        add(dist, DCAT + "mediaType", L(media))
        add(dist, DCAT + "downloadURL", dump)
        add(dist, VOID + "dataDump", dump)
        add(dist, VOID + "sparqlEndpoint", sparql)
        add(dist, DCT + "conformsTo", N(base + "shapes/"))
        for name, value in stats.items():
            add(dist, VOID + name, lit(value, "integer"))
        if key == "ttl":
            links = linkset_counts(store, {p: PREFIXES[p] for p in LINK_TARGETS})
            for prefix in LINK_TARGETS:
                ns = PREFIXES[prefix]
                n = links[prefix]
                if not n:
                    continue
                target = N(f"{base}dataset/external/{prefix}")
                linkset = N(f"{base}dataset/{__version__}/linkset/{prefix}")
                add(target, RDF_TYPE, N(VOID + "Dataset"))
                add(target, VOID + "uriSpace", L(ns))
                add(target, DCT + "title", L(prefix))
                add(linkset, RDF_TYPE, N(VOID + "Linkset"))
                add(linkset, VOID + "subjectsTarget", dist)
                add(linkset, VOID + "objectsTarget", target)
                add(linkset, VOID + "triples", lit(n, "integer"))
                add(dist, VOID + "subset", linkset)
    return out
