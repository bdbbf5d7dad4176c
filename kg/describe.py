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
    """Triple, entity, class and property counts of the merged graph."""
    return {
        "triples": _count(store, "SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o }"),
        "entities": _count(store, f'SELECT DISTINCT ?s WHERE {{ ?s ?p ?o FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{BASE}")) }}'),
        "classes": _count(store, f"SELECT DISTINCT ?c WHERE {{ ?s <{RDF_TYPE}> ?c }}"),
        "properties": _count(store, "SELECT DISTINCT ?p WHERE { ?s ?p ?o }"),
        "distinctSubjects": _count(store, "SELECT DISTINCT ?s WHERE { ?s ?p ?o }"),
        "distinctObjects": _count(store, "SELECT DISTINCT ?o WHERE { ?s ?p ?o }"),
    }


def linkset_count(store: ox.Store, namespace: str) -> int:
    """Triples from a subject outside ``namespace`` to an object IRI inside it."""
    return _count(store, f"""SELECT DISTINCT ?s ?p ?o WHERE {{ ?s ?p ?o
        FILTER(isIRI(?o) && STRSTARTS(STR(?o), "{namespace}") && !STRSTARTS(STR(?s), "{namespace}")) }}""")


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
            for prefix in LINK_TARGETS:
                ns = PREFIXES[prefix]
                n = linkset_count(store, ns)
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
