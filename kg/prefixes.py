"""The project's one prefix map and namespace source (Bioregistry prefixes).

Every CURIE the project reads or prints, every namespace a module needs, goes
through this module, so ``NCIT:C1851`` means the same thing in the CLI, the
queries, the shapes' messages and the exports.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping

BASE = "https://w3id.org/trialkg/"
ONTOLOGY = BASE + "ontology/"
SHAPES = BASE + "shapes/"
#: where the nanopublications are named (``kg export --format nanopub``): ``<NANOPUBS>RA...``
NANOPUBS = BASE + "np/"

#: The project's own prefix, ``trialkg`` (not taken in Bioregistry; see
#: ontology/bioregistry-entry.json), names the vocabulary. The dataset's own
#: resources get one sub-prefix per kind, so their CURIEs have no slash in the
#: local part (KGX and most CURIE parsers require that): ``trialkg.trial:isoda-2018``.
PROJECT = "trialkg"
RESOURCE_KINDS = ("trial", "study", "publication", "journal", "synthetic")

PREFIXES: dict[str, str] = {
    PROJECT: ONTOLOGY,
    **{f"{PROJECT}.{kind}": f"{BASE}{kind}/" for kind in RESOURCE_KINDS},
    f"{PROJECT}.shapes": SHAPES,
    f"{PROJECT}.base": BASE,
    "NCIT": "http://purl.obolibrary.org/obo/NCIT_",
    "CHEBI": "http://purl.obolibrary.org/obo/CHEBI_",
    "MONDO": "http://purl.obolibrary.org/obo/MONDO_",
    "DOID": "http://purl.obolibrary.org/obo/DOID_",
    "HP": "http://purl.obolibrary.org/obo/HP_",
    "OBI": "http://purl.obolibrary.org/obo/OBI_",
    "IAO": "http://purl.obolibrary.org/obo/IAO_",
    "STATO": "http://purl.obolibrary.org/obo/STATO_",
    "UO": "http://purl.obolibrary.org/obo/UO_",
    # Bioregistry's current default URI format (tests/test_prefixes.py checks every one)
    "DRUGBANK": "https://go.drugbank.com/drugs/",
    # MeSH's RDF IRIs, the form the biomedical graphs that link here use (Bioregistry's rdf_uri_format)
    "MESH": "http://id.nlm.nih.gov/mesh/",
    "WIKIDATA": "http://www.wikidata.org/entity/",
    "DOI": "https://doi.org/",
    "ISSN": "https://portal.issn.org/resource/ISSN/",
    # registry and bibliographic records, under the prefixes Bioregistry gives them
    "clinicaltrials": "https://www.clinicaltrials.gov/study/",
    "pubmed": "https://pubmed.ncbi.nlm.nih.gov/",
    "pmc": "http://europepmc.org/articles/",
    # HL7 Terminology (THO) code systems: the statistic-type codes that have no NCIt or STATO IRI
    "hl7.tho": "http://terminology.hl7.org/CodeSystem/",
    "schema": "https://schema.org/",
    "biolink": "https://w3id.org/biolink/vocab/",
    "semapv": "https://w3id.org/semapv/vocab/",
    "prov": "http://www.w3.org/ns/prov#",
    "oa": "http://www.w3.org/ns/oa#",
    "dcterms": "http://purl.org/dc/terms/",
    "dctypes": "http://purl.org/dc/dcmitype/",
    "cito": "http://purl.org/spar/cito/",
    "fabio": "http://purl.org/spar/fabio/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "sh": "http://www.w3.org/ns/shacl#",
    "oboInOwl": "http://www.geneontology.org/formats/oboInOwl#",
    "void": "http://rdfs.org/ns/void#",
    "dcat": "http://www.w3.org/ns/dcat#",
    "pav": "http://purl.org/pav/",
    "formats": "http://www.w3.org/ns/formats/",
}

#: Resolvers whose IRIs name the records of many registries (``https://identifiers.org/pubmed:23341716``,
#: ``http://bio2rdf.org/drugbank:DB00188``): Bioregistry's "miriam" and "bio2rdf" providers. They are
#: not CURIE prefixes of the map (their local part is itself a CURIE); the graph links to them with
#: owl:sameAs from the record's own IRI, so other graphs that use them join with plain triple patterns.
RESOLVERS: dict[str, str] = {
    "identifiers.org": "https://identifiers.org/",
    "bio2rdf": "http://bio2rdf.org/",
}

#: The CURIE prefixes of the KGX export, spelled as the Biolink Model spells them, each with
#: the project prefix it stands for and what its local ids carry before the project's local id
#: (Biolink's PMC ids are the number after "PMC"). The namespaces are the project's, so every
#: KGX id expands to the IRI the RDF graph uses; Biolink's own map sends DRUGBANK, PMID,
#: WIKIDATA and CLINICALTRIALS ids to other IRIs of the same records.
KGX_PREFIXES: dict[str, tuple[str, str]] = {
    **{p: (p, "") for p in ("CHEBI", "MONDO", "DOID", "HP", "NCIT", "MESH", "DRUGBANK", "WIKIDATA", "ISSN", "biolink")},
    "PMID": ("pubmed", ""),
    "PMC": ("pmc", "PMC"),
    "PMCID": ("pmc", ""),
    "CLINICALTRIALS": ("clinicaltrials", ""),
    "doi": ("DOI", ""),
    PROJECT: (PROJECT, ""),
    **{f"{PROJECT}.{kind}": (f"{PROJECT}.{kind}", "") for kind in RESOURCE_KINDS},
}


def kgx_prefix_map() -> dict[str, str]:
    """The prefix map of the KGX export (``ontology/kgx-prefix-map.json`` is this, written out).

    >>> kgx_prefix_map()["PMC"]
    'http://europepmc.org/articles/PMC'
    """
    return {kgx: PREFIXES[ours] + lead for kgx, (ours, lead) in KGX_PREFIXES.items()}


def kgx_curie(iri: str) -> str | None:
    """The KGX CURIE of an IRI (longest namespace of :func:`kgx_prefix_map`), or ``None``.

    KGX reads a CURIE only without a slash or colon in its local part, so a
    DOI (``10.1007/...``) has none.

    >>> kgx_curie("http://europepmc.org/articles/PMC3546109")
    'PMC:3546109'
    >>> kgx_curie("https://w3id.org/trialkg/trial/isoda-2018")
    'trialkg.trial:isoda-2018'
    >>> kgx_curie("https://doi.org/10.1007/s12185-018-2448-9") is None
    True
    """
    found = [(len(ns), prefix, iri[len(ns) :]) for prefix, ns in kgx_prefix_map().items() if iri.startswith(ns)]
    if not found:
        return None
    _, prefix, local = max(found)
    return f"{prefix}:{local}" if _KGX_LOCAL.fullmatch(local) else None


#: a local part KGX reads (its own test, PrefixManager.is_curie: no slash, colon or space)
_KGX_LOCAL = re.compile(r"[^\s/:]+")
#: a path segment a minted prefix spells as it is
_KGX_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")


def kgx_minted(iri: str) -> tuple[str, str] | None:
    """A prefix and its namespace for an IRI the KGX map has no CURIE for, or ``None`` where no CURIE can name it.

    A curator's file may put its resources anywhere (``https://example.org/trials/x#arm``), and a
    corpus under one of the project's namespaces deeper than it (``.../synthetic/synth-000001/trial``):
    KGX reads neither as a CURIE of the map, yet an export must not fail on a graph ``kg validate``
    accepts. The namespace is the IRI up to its last ``/``, ``#`` or ``:``. Under a namespace of the
    map (one whose prefix no other prefix extends with a dot), a path of plain segments ending in ``/``
    is spelled out: the map's prefix and the segments, joined with dots
    (``trialkg.synthetic.synth-000001``), which no other namespace spells so. Any other namespace (another
    host, a ``#`` end, a segment with other characters) gets its host or the map's prefix, ``~`` and a
    hash of the whole namespace, scheme included: ``~`` is in no spelled-out prefix, so the two kinds
    never meet, and two namespaces share a prefix only if they share 48 bits of a SHA-1. ``None`` where
    the local part is empty or one KGX cannot read (an IRI ending in ``/``).

    >>> kgx_minted("https://w3id.org/trialkg/synthetic/synth-000001/trial")
    ('trialkg.synthetic.synth-000001', 'https://w3id.org/trialkg/synthetic/synth-000001/')
    >>> kgx_minted("https://example.org/trials/x/arm")
    ('example.org~e4a4adc3d1d7', 'https://example.org/trials/x/')
    >>> kgx_minted("http://example.org/trials/x/arm")[0] != kgx_minted("https://example.org/trials/x/arm")[0]
    True
    >>> kgx_minted("https://example.org/trials/x/") is None
    True
    """
    cut = max(iri.rfind(c) for c in "/#:") + 1
    namespace, local = iri[:cut], iri[cut:]
    if not _KGX_LOCAL.fullmatch(local):
        return None
    known = kgx_prefix_map()
    bases = [(len(ns), p) for p, ns in known.items() if namespace.startswith(ns)]
    if bases:
        _, root = max(bases)
        rest = namespace[len(known[root]) :]
        segments = rest[:-1].split("/") if rest.endswith("/") else []
        if (
            segments
            and all(_KGX_SEGMENT.fullmatch(s) for s in segments)
            and not any(p.startswith(root + ".") for p in known)
        ):
            return ".".join([root, *segments]), namespace
    else:
        host = re.match(r"[A-Za-z][A-Za-z0-9+.-]*://([^/?#:@]*)", namespace)
        name = host.group(1).lower() if host else ""
        root = name if name and _KGX_SEGMENT.fullmatch(name.replace(".", "")) else "iri"
    return f"{root}~{hashlib.sha1(namespace.encode('utf-8')).hexdigest()[:12]}", namespace


# Namespace constants, all read from the one map above.
TKG = PREFIXES[PROJECT]
RDF = PREFIXES["rdf"]
RDFS = PREFIXES["rdfs"]
XSD = PREFIXES["xsd"]
OWL = PREFIXES["owl"]
SKOS = PREFIXES["skos"]
SH = PREFIXES["sh"]
PROV = PREFIXES["prov"]
OA = PREFIXES["oa"]
DCT = PREFIXES["dcterms"]
DCTYPES = PREFIXES["dctypes"]
SCHEMA = PREFIXES["schema"]
NCIT = PREFIXES["NCIT"]
VOID = PREFIXES["void"]
DCAT = PREFIXES["dcat"]
PAV = PREFIXES["pav"]
W3C_FORMATS = PREFIXES["formats"]
RDF_TYPE = RDF + "type"
RDFS_LABEL = RDFS + "label"

_CURIE = re.compile(r"^([A-Za-z][A-Za-z0-9_.-]*):([^\s<>\"{}|\\^`]*)$")
_IRI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s<>\"{}|\\^`]*$")


def expand(curie: str, extra: Mapping[str, str] | None = None) -> str | None:
    """The IRI of a CURIE whose prefix is known (in ``extra`` first, then the project map), else ``None``.

    Prefixes match exactly, or else ignoring case (Bioregistry's prefixes are
    case-insensitive): ``ncit:C1851`` is ``NCIT:C1851``.

    >>> expand("NCIT:C1851")
    'http://purl.obolibrary.org/obo/NCIT_C1851'
    >>> expand("chebi:52717")
    'http://purl.obolibrary.org/obo/CHEBI_52717'
    >>> expand("nope:x") is None
    True
    """
    m = _CURIE.match(curie)
    if not m:
        return None
    prefix, local = m.groups()
    for table in (extra or {}, PREFIXES):
        if prefix in table:
            return table[prefix] + local
    for table in (extra or {}, PREFIXES):
        for known, ns in table.items():
            if known.lower() == prefix.lower():
                return ns + local
    return None


def to_iri(text: str) -> str | None:
    """Read a user's identifier: ``<IRI>``, an absolute IRI, or a CURIE; ``None`` when it is none of these.

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
    if text.startswith(("http://", "https://", "urn:")) and _IRI.match(text):
        return text
    return None


def compact(iri: str) -> str:
    """Shorten an IRI to a CURIE with the longest matching namespace; else return it unchanged.

    >>> compact("http://purl.obolibrary.org/obo/NCIT_C1851")
    'NCIT:C1851'
    >>> compact("https://w3id.org/trialkg/trial/isoda-2018/orr")
    'trialkg.trial:isoda-2018/orr'
    >>> compact("https://w3id.org/trialkg/ontology/ClinicalTrial")
    'trialkg:ClinicalTrial'
    """
    best = ""
    best_prefix = ""
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and len(ns) > len(best):
            best, best_prefix = ns, prefix
    local = iri[len(best) :]
    # The dataset's own resources and DOIs keep their slashes (trialkg.trial:isoda-2018/orr,
    # DOI:10.1007/...); other namespaces compact only to simple local names.
    slashes = best_prefix.startswith(PROJECT + ".") or best_prefix == "DOI"
    allowed = r"[A-Za-z0-9_.\-/()]+" if slashes else r"[A-Za-z0-9_.\-]+"
    if best and re.fullmatch(allowed, local):
        return f"{best_prefix}:{local}"
    return iri


#: a local name every Turtle reader takes as written: no character a writer would escape with a backslash
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.\-]*[A-Za-z0-9_\-])?")


def turtle_prefixes(iris: Iterable[str] | None = None) -> dict[str, str]:
    """The map for serializers (``prefixes=`` of pyoxigraph): the vocabularies, not the dataset's own kinds.

    A dataset resource written as ``trialkg.trial:isoda-2018/orr`` would not be
    valid Turtle (a slash in a local name), so those IRIs stay whole. Given the
    IRIs a document will hold, a prefix is also left out when one of them would
    need a backslash escape under it (``DOI:10.1007\\/s12185...``): Turtle allows
    such escapes, but real loaders (Virtuoso's bulk loader) keep the backslash in
    the IRI, so those IRIs are written whole instead.

    >>> "DOI" in turtle_prefixes(["https://doi.org/10.1007/s12185-018-2448-9"])
    False
    >>> "NCIT" in turtle_prefixes(["http://purl.obolibrary.org/obo/NCIT_C1851"])
    True
    """
    out = {p: ns for p, ns in PREFIXES.items() if not p.startswith(PROJECT + ".")}
    for iri in iris or ():
        for p, ns in list(out.items()):
            if iri.startswith(ns) and len(iri) > len(ns) and not _PLAIN_LOCAL.fullmatch(iri[len(ns) :]):
                del out[p]
    return out


if (
    __name__ == "__main__"
):  # regenerate ontology/kgx-prefix-map.json: python -m kg.prefixes > ontology/kgx-prefix-map.json
    import json

    print(json.dumps(kgx_prefix_map(), indent=2))


def check_base(base: str) -> str:
    """A ``--base`` value, checked: an absolute http(s) IRI ending in ``/`` (every IRI is built by appending).

    >>> check_base("https://example.org/kg/")
    'https://example.org/kg/'
    """
    from kg.errors import InputError

    if not re.fullmatch(r"https?://[^\s<>\"{}|\\^`#?]+/", base):
        raise InputError(f"--base {base!r}: give an absolute http(s) IRI ending in '/', e.g. https://example.org/kg/")
    return base


#: the vocabulary's namespaces: the same under every base (the queries, the shapes and other graphs name them)
VOCABULARY = (ONTOLOGY, SHAPES)


def data_iri(base: str, path: str) -> str:
    """The data IRI at ``path`` under ``base`` (``trial/isoda-2018``, ``graph/ontology``, ``dataset``).

    The one way an IRI is made from a base, so that ``--base`` reaches every one
    (``tests/test_quality.py`` keeps it so).

    >>> data_iri("https://example.org/kg/", "graph/isoda-2018")
    'https://example.org/kg/graph/isoda-2018'
    """
    return base + path


def rebase(iri: str, base: str) -> str:
    """The IRI ``iri`` (written under :data:`BASE`) has when the data is published under ``base``.

    The one place a data IRI moves to another base; the vocabulary stays where it is published.

    >>> rebase(BASE + "trial/isoda-2018", "https://example.org/kg/")
    'https://example.org/kg/trial/isoda-2018'
    >>> rebase(ONTOLOGY + "Study", "https://example.org/kg/") == ONTOLOGY + "Study"
    True
    """
    if base == BASE or not iri.startswith(BASE) or iri.startswith(VOCABULARY):
        return iri
    return data_iri(base, iri[len(BASE) :])
