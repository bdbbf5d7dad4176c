"""The dataset description: VoID + DCAT + the W3C HCLS dataset-description profile.

Every count (triples, entities, classes, properties, links into each external
namespace) is computed with SPARQL over the graph being described, never typed
by hand, so the description cannot drift from the data. It is computed once per
dataset (:meth:`kg.dataset.Dataset.description`) and never over itself: the
triples of the description are not among the triples it counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pyoxigraph as ox

from kg import __version__, media
from kg.prefixes import BASE, DCAT, DCT, DCTYPES, PAV, PREFIXES, RDF_TYPE, SHAPES, VOID, W3C_FORMATS, XSD, data_iri
from kg.rdf import value
from kg.sparql import select

RELEASED = date(2026, 11, 25)  # the issued date of this version of the data
LICENSE = "https://creativecommons.org/licenses/by/4.0/"

# External namespaces whose inbound links are counted as VoID linksets (one linkset each
# where the graph links into it): every external prefix of kg.prefixes but the W3C and
# other vocabularies the graph is written in (tests/test_export.py checks that).
LINK_TARGETS = [
    "NCIT",
    "CHEBI",
    "MONDO",
    "DOID",
    "HP",
    "UO",
    "OBI",
    "IAO",
    "STATO",
    "hl7.tho",
    "DRUGBANK",
    "MESH",
    "WIKIDATA",
    "DOI",
    "ISSN",
    "clinicaltrials",
    "pubmed",
    "pmc",
    "schema",
]

#: (distribution key, dump file, RDF syntax): the dumps ``kg build`` writes
DISTRIBUTIONS = [
    ("ttl", "trialkg.ttl", media.syntax("text/turtle")),
    ("nt", "trialkg.nt", media.syntax("application/n-triples")),
    ("jsonld", "trialkg.jsonld", media.syntax("application/ld+json")),
    ("nq", "trialkg.nq", media.N_QUADS),
]


@dataclass
class Statistics:
    """What the description states about the data: counts of the merged graph, quads, linksets."""

    triples: int
    entities: int
    classes: int
    properties: int
    distinct_subjects: int
    distinct_objects: int
    quads: int
    links: dict[str, int] = field(default_factory=dict)

    def void(self) -> dict[str, int]:
        """The VoID statistics of the merged graph, by VoID property name."""
        return {
            "triples": self.triples,
            "entities": self.entities,
            "classes": self.classes,
            "properties": self.properties,
            "distinctSubjects": self.distinct_subjects,
            "distinctObjects": self.distinct_objects,
        }


def _distinct_triples(store: ox.Store, condition: str) -> str:
    """A pattern over distinct triples: named graphs may repeat a triple (a shared journal)."""
    if next(iter(store.named_graphs()), None) is None:
        return f"?s ?p ?o {condition}"
    return f"SELECT DISTINCT ?s ?p ?o WHERE {{ ?s ?p ?o {condition} }}"


def statistics(store: ox.Store, base: str = BASE) -> Statistics:
    """Count the merged graph (distinct triples over every named graph) and the quads, in a few scans."""
    q = f"""SELECT (COUNT(*) AS ?triples) (COUNT(DISTINCT ?s) AS ?subjects) (COUNT(DISTINCT ?p) AS ?properties)
                  (COUNT(DISTINCT ?o) AS ?objects)
                  (COUNT(DISTINCT IF(isIRI(?s) && STRSTARTS(STR(?s), "{base}"), ?s, ?none)) AS ?entities)
                  (COUNT(DISTINCT IF(?p = <{RDF_TYPE}>, ?o, ?none)) AS ?classes)
            WHERE {{ {_distinct_triples(store, "")} }}"""
    row = next(iter(select(store, q)))
    return Statistics(
        triples=int(row["triples"].value),
        entities=int(row["entities"].value),
        classes=int(row["classes"].value),
        properties=int(row["properties"].value),
        distinct_subjects=int(row["subjects"].value),
        distinct_objects=int(row["objects"].value),
        quads=len(store),
        links=linkset_counts(store, {p: PREFIXES[p] for p in LINK_TARGETS}, base),
    )


def linkset_counts(store: ox.Store, namespaces: dict[str, str], base: str = BASE) -> dict[str, int]:
    """For each namespace: distinct triples from a subject outside it to an object IRI inside it.

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
    rows = select(
        store, f"SELECT ?o (COUNT(*) AS ?n) WHERE {{ {_distinct_triples(store, 'FILTER(isIRI(?o))')} }} GROUP BY ?o"
    )
    for r in rows:
        p = ns_of(value(r["o"]))
        if p:
            counts[p] += int(r["n"].value)
    same = select(
        store,
        f"""SELECT DISTINCT ?s ?p ?o WHERE {{ ?s ?p ?o
        FILTER(isIRI(?o) && isIRI(?s) && !STRSTARTS(STR(?s), "{base}")) }}""",
    )
    for r in same:
        po = ns_of(value(r["o"]))
        if po and value(r["s"]).startswith(namespaces[po]):
            counts[po] -= 1
    return counts


def describe(stats: Statistics, base: str = BASE) -> list[ox.Triple]:
    """The VoID / DCAT / HCLS description of a dataset with these statistics."""
    N, L = ox.NamedNode, ox.Literal

    def lit(value: object, dtype: str = "string") -> ox.Literal:
        return L(str(value), datatype=N(XSD + dtype))

    summary = N(data_iri(base, "dataset"))
    version = N(data_iri(base, f"dataset/{__version__}"))
    sparql = N(data_iri(base, "sparql"))
    out: list[ox.Triple] = []

    def add(s: ox.NamedNode | ox.BlankNode, p: str, o: ox.NamedNode | ox.BlankNode | ox.Literal) -> None:
        out.append(ox.Triple(s, N(p), o))

    add(summary, RDF_TYPE, N(DCTYPES + "Dataset"))
    add(summary, DCT + "title", L("trialkg: clinical-trial results as linked data", language="en"))
    add(
        summary,
        DCT + "description",
        L(
            "What published clinical-trial reports say, as RDF against NCIt, ChEBI, MONDO, HPO and UO: trials, regimens, populations, every outcome and adverse event with its denominator, unit, time anchor and the sentence it came from.",
            language="en",
        ),
    )
    add(summary, DCT + "publisher", L("trialkg curators"))
    add(summary, DCT + "license", N(LICENSE))
    add(summary, DCAT + "accessURL", N(base))
    add(summary, VOID + "sparqlEndpoint", sparql)
    add(summary, PAV + "hasCurrentVersion", version)

    add(version, RDF_TYPE, N(DCTYPES + "Dataset"))
    add(version, DCT + "isVersionOf", summary)
    add(version, DCT + "title", L(f"trialkg {__version__}", language="en"))
    add(
        version,
        DCT + "description",
        L("The trials, ontology, term extracts and mappings of this release.", language="en"),
    )
    add(version, PAV + "version", L(__version__))
    add(version, DCT + "issued", lit(RELEASED.isoformat(), "date"))
    add(version, DCT + "creator", L("trialkg curators"))
    add(version, DCT + "publisher", L("trialkg curators"))
    add(version, DCT + "license", N(LICENSE))

    for key, file, rdf in DISTRIBUTIONS:
        dist = N(data_iri(base, f"dataset/{__version__}/{key}"))
        dump = N(data_iri(base, f"dist/{__version__}/{file}"))
        add(version, DCAT + "distribution", dist)
        add(dist, RDF_TYPE, N(VOID + "Dataset"))
        add(dist, RDF_TYPE, N(DCAT + "Distribution"))
        add(dist, DCT + "title", L(f"trialkg {__version__} ({rdf.label})", language="en"))
        if key == "nq":
            add(
                dist,
                DCT + "description",
                L(
                    "Every named graph (one per publication, one for the ontology) as N-Quads; "
                    "void:triples counts its quads.",
                    language="en",
                ),
            )
        else:
            add(dist, DCT + "description", L(f"The whole graph as one {rdf.label} file.", language="en"))
        add(dist, DCT + "creator", L("trialkg curators"))
        add(dist, DCT + "issued", lit(RELEASED.isoformat(), "date"))
        add(dist, DCT + "license", N(LICENSE))
        add(dist, DCT + "format", N(W3C_FORMATS + rdf.label.replace("/", "_")))
        add(dist, DCAT + "mediaType", L(rdf.media))
        add(dist, DCAT + "downloadURL", dump)
        add(dist, VOID + "dataDump", dump)
        add(dist, VOID + "sparqlEndpoint", sparql)
        add(dist, DCT + "conformsTo", N(SHAPES))
        for name, count in stats.void().items():
            if key == "nq" and name == "triples":
                count = stats.quads
            add(dist, VOID + name, lit(count, "integer"))
        if key == "ttl":
            for prefix in LINK_TARGETS:
                n = stats.links.get(prefix, 0)
                if not n:
                    continue
                target = N(data_iri(base, f"dataset/external/{prefix}"))
                linkset = N(data_iri(base, f"dataset/{__version__}/linkset/{prefix}"))
                add(target, RDF_TYPE, N(VOID + "Dataset"))
                add(target, VOID + "uriSpace", L(PREFIXES[prefix]))
                add(target, DCT + "title", L(prefix))
                add(linkset, RDF_TYPE, N(VOID + "Linkset"))
                add(linkset, VOID + "subjectsTarget", dist)
                add(linkset, VOID + "objectsTarget", target)
                add(linkset, VOID + "triples", lit(n, "integer"))
                add(dist, VOID + "subset", linkset)
    return out


def read(triples: list[ox.Triple], base: str = BASE) -> Statistics:
    """The statistics a description states (the inverse of :func:`describe`): how a stored description is read back.

    ``kg load`` stores the description with the data (``graph/void``); a server
    reads its counts from there instead of counting the store again.
    """
    by_subject: dict[str, dict[str, list[str]]] = {}
    for t in triples:
        by_subject.setdefault(value(t.subject), {}).setdefault(value(t.predicate), []).append(value(t.object))

    def dist(file: str) -> dict[str, list[str]]:
        for props in by_subject.values():
            if any(u.endswith("/" + file) for u in props.get(DCAT + "downloadURL", [])):
                return props
        raise ValueError(f"the description has no distribution {file}")

    def count(props: dict[str, list[str]], name: str) -> int:
        return int(props[VOID + name][0])

    ttl, nq = dist("trialkg.ttl"), dist("trialkg.nq")
    links = {}
    for subset in ttl.get(VOID + "subset", []):
        props = by_subject.get(subset, {})
        target = by_subject.get(props.get(VOID + "objectsTarget", [""])[0], {})
        title = target.get(DCT + "title", [""])[0]
        if title:
            links[title] = count(props, "triples")
    return Statistics(
        triples=count(ttl, "triples"),
        entities=count(ttl, "entities"),
        classes=count(ttl, "classes"),
        properties=count(ttl, "properties"),
        distinct_subjects=count(ttl, "distinctSubjects"),
        distinct_objects=count(ttl, "distinctObjects"),
        quads=count(nq, "triples"),
        links={p: links.get(p, 0) for p in LINK_TARGETS},
    )
