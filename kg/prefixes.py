"""The project's one prefix map (Bioregistry prefixes, upper case for OBO ontologies).

Every CURIE the project reads or prints goes through :data:`PREFIXES`, so a
parameter like ``NCIT:C1851`` means the same thing in the CLI, in the queries
and in the exports.
"""
from __future__ import annotations

import re

BASE = "https://w3id.org/trialkg/"

PREFIXES: dict[str, str] = {
    "tkg": BASE + "ontology/",
    "trialkg": BASE,
    "NCIT": "http://purl.obolibrary.org/obo/NCIT_",
    "CHEBI": "http://purl.obolibrary.org/obo/CHEBI_",
    "MONDO": "http://purl.obolibrary.org/obo/MONDO_",
    "DOID": "http://purl.obolibrary.org/obo/DOID_",
    "HP": "http://purl.obolibrary.org/obo/HP_",
    "OBI": "http://purl.obolibrary.org/obo/OBI_",
    "IAO": "http://purl.obolibrary.org/obo/IAO_",
    "STATO": "http://purl.obolibrary.org/obo/STATO_",
    "UO": "http://purl.obolibrary.org/obo/UO_",
    "DRUGBANK": "http://www.drugbank.ca/drugs/",
    "MESH": "https://meshb.nlm.nih.gov/record/ui?ui=",
    "WIKIDATA": "http://www.wikidata.org/entity/",
    "DOI": "https://doi.org/",
    "ISSN": "https://portal.issn.org/resource/ISSN/",
    "schema": "https://schema.org/",
    "biolink": "https://w3id.org/biolink/vocab/",
    "semapv": "https://w3id.org/semapv/vocab/",
    "prov": "http://www.w3.org/ns/prov#",
    "oa": "http://www.w3.org/ns/oa#",
    "dcterms": "http://purl.org/dc/terms/",
    "cito": "http://purl.org/spar/cito/",
    "fabio": "http://purl.org/spar/fabio/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "sh": "http://www.w3.org/ns/shacl#",
    "oboInOwl": "http://www.geneontology.org/formats/oboInOwl#",
}

_CURIE = re.compile(r"^([A-Za-z][A-Za-z0-9_.-]*):([^\s<>\"{}|\\^`]*)$")
_IRI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s<>\"{}|\\^`]*$")


def expand(text: str) -> str | None:
    """Return the IRI for a CURIE with a known prefix, or ``None``.

    >>> expand("NCIT:C1851")
    'http://purl.obolibrary.org/obo/NCIT_C1851'
    >>> expand("nope:x") is None
    True
    """
    m = _CURIE.match(text)
    if not m:
        return None
    prefix, local = m.groups()
    for known, ns in PREFIXES.items():
        if known.lower() == prefix.lower():
            return ns + local
    return None


def to_iri(text: str) -> str | None:
    """Read a user's identifier: ``<IRI>``, an absolute IRI, or a CURIE.

    Returns ``None`` when it is none of these; never guesses.

    >>> to_iri("CHEBI:52717")
    'http://purl.obolibrary.org/obo/CHEBI_52717'
    >>> to_iri("<https://doi.org/10.1007/s12185-018-2448-9>")
    'https://doi.org/10.1007/s12185-018-2448-9'
    >>> to_iri("} UNION {") is None
    True
    """
    text = text.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    curie = expand(text)
    if curie is not None:
        return curie
    if (text.startswith("http://") or text.startswith("https://") or text.startswith("urn:")) and _IRI.match(text):
        return text
    return None


def compact(iri: str) -> str:
    """Shorten an IRI to a CURIE with the longest matching namespace; else return it.

    >>> compact("http://purl.obolibrary.org/obo/NCIT_C1851")
    'NCIT:C1851'
    """
    best = ""
    best_prefix = ""
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and len(ns) > len(best):
            best, best_prefix = ns, prefix
    local = iri[len(best):]
    # trialkg's own IRIs and DOIs keep their slashes (trialkg:trial/isoda-2018,
    # DOI:10.1007/...); other namespaces compact only to simple local names.
    allowed = r"[A-Za-z0-9_.\-/()]+" if best_prefix in ("trialkg", "DOI") else r"[A-Za-z0-9_.\-]+"
    if best and re.fullmatch(allowed, local):
        return f"{best_prefix}:{local}"
    return iri


def turtle_prefixes() -> str:
    """The prefix map as Turtle ``@prefix`` lines."""
    return "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in PREFIXES.items())


def sparql_prefixes() -> str:
    """The prefix map as SPARQL ``PREFIX`` lines."""
    return "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items())
