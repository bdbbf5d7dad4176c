"""Nanopublications: one per statistic, adverse-event report and claim, each with its trusty URI.

A nanopublication is four named graphs: the **assertion** (here: the item's own triples, those
of the estimates it owns, such as its confidence interval, and the triple linking its study to
it), the **provenance** of that assertion (the document it was derived from, the source it is
attributed to, and the quoted sentence as a W3C Web Annotation text-quote selector), the
**publication info** (creator, date, licence of the nanopublication itself) and the **head**
tying the three together.

Each nanopublication's URI ends in a trusty URI artefact (``RA`` + the base64url SHA-256 of its
normalized quads, the scheme of the nanopub tools): any change to any of its triples changes its
URI, so a copy can be checked against its name. The normalization is the one the ``nanopub``
package's ``RdfHasher`` applies (the artefact is replaced by a space, quads sorted graph,
subject, predicate, object, IRIs before literals, literals by value, datatype, language), so
``nanopub``'s own trusty check accepts the URIs written here; ``tests/test_nanopub.py`` runs it.

Everything is deterministic: the date is given (``kg export --format nanopub --date``), by
default the issued date of this version of the data, never "now", so the same graph always
gives the same nanopublications with the same URIs.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from datetime import date

import pyoxigraph as ox

from kg.dataset import Dataset
from kg.describe import LICENSE, RELEASED
from kg.errors import InputError
from kg.prefixes import DCT, NANOPUBS, OA, PROV, RDF_TYPE, RDFS_LABEL, TKG, XSD
from kg.sparql import select

#: where the nanopublications are named: ``<NP_BASE>RA...``
NP_BASE = NANOPUBS
NP = "http://www.nanopub.org/nschema#"
CREATOR = "trialkg curators"  # as the dataset description (void.ttl) names them
#: properties that say where an item came from: provenance, not assertion
PROVENANCE = (PROV + "wasDerivedFrom", TKG + "quotedFrom", PROV + "wasAttributedTo")
#: how a study links each kind of item
LINKS = (TKG + "hasStatistic", TKG + "reportsAdverseEvent", TKG + "hasClaim")

_ITEMS = f"""
PREFIX trialkg: <{TKG}>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT DISTINCT ?item ?kind WHERE {{
  {{ ?item a ?class . ?class rdfs:subClassOf* trialkg:Statistic . BIND("statistic" AS ?kind) }}
  UNION {{ ?item a trialkg:AdverseEventReport . BIND("adverse-event report" AS ?kind) }}
  UNION {{ ?item a trialkg:Claim . BIND("claim" AS ?kind) }}
  FILTER(isIRI(?item))
}} ORDER BY ?item
"""

#: the nanopublication's URI in the hashed form (its artefact replaced by a space), and a stand-in
#: for it while the artefact is computed (a character no IRI holds)
_HASHED = NP_BASE + " "
_PLACE = "\x00np"


Quad = tuple[str, str, str, "str | ox.Literal"]  # graph, subject, predicate, object: IRIs as strings


def nanopublication(store: ox.Store, item: ox.NamedNode, created: date) -> list[Quad]:
    """The quads of one nanopublication about ``item``, its own URI still the placeholder ``_PLACE``."""
    np = _PLACE
    g_head, g_assertion, g_prov, g_info = (f"{np}#Head", f"{np}#assertion", f"{np}#provenance", f"{np}#pubinfo")
    out: list[Quad] = []
    blanks: dict[str, str] = {}

    def name(term: object) -> str | ox.Literal:
        """IRIs as strings; a blank node becomes ``<np>#_N`` (a nanopublication's names must all be hashable)."""
        if isinstance(term, ox.BlankNode):
            return blanks.setdefault(term.value, f"{np}#_{len(blanks) + 1}")
        if isinstance(term, ox.Literal):
            return term
        if isinstance(term, ox.NamedNode):
            return term.value
        raise InputError(f"nanopub export: {term} (an RDF-star triple term) cannot be named in a nanopublication")

    def described(term: object) -> ox.NamedNode | ox.BlankNode | None:
        """A term that can be a subject (to follow), or None."""
        return term if isinstance(term, ox.NamedNode | ox.BlankNode) else None

    def add(g: str, s: str, p: str, o: str | ox.Literal) -> None:
        out.append((g, s, p, o))

    # assertion: the item's own triples, those of the estimates it owns, and its study's link to it
    todo: list[ox.NamedNode | ox.BlankNode] = [item]
    seen: set[ox.NamedNode | ox.BlankNode] = set()
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        for q in store.quads_for_pattern(node, None, None, None):
            if node == item and q.predicate.value in PROVENANCE:
                continue
            add(g_assertion, str(name(node)), q.predicate.value, name(q.object))
            follow = described(q.object)  # a literal is never looked up as a subject
            if follow is not None and (
                q.predicate.value == TKG + "attributeEstimate" or isinstance(follow, ox.BlankNode)
            ):
                todo.append(follow)
    for link in LINKS:
        for q in store.quads_for_pattern(None, ox.NamedNode(link), item, None):
            add(g_assertion, str(name(q.subject)), link, item.value)
    # provenance: where the assertion came from, and the sentence it was read in
    for predicate in PROVENANCE:
        for q in store.quads_for_pattern(item, ox.NamedNode(predicate), None, None):
            add(g_prov, g_assertion, predicate, name(q.object))
            if predicate != TKG + "quotedFrom":
                continue
            for r in store.quads_for_pattern(described(q.object), None, None, None) if described(q.object) else ():
                add(g_prov, str(name(q.object)), r.predicate.value, name(r.object))
                selector = described(r.object)
                if r.predicate.value == OA + "hasSelector" and selector is not None:
                    for sel in store.quads_for_pattern(selector, None, None, None):
                        add(g_prov, str(name(r.object)), sel.predicate.value, name(sel.object))
    # publication info: who made it, when, under which licence
    labels = [q.object for q in store.quads_for_pattern(item, ox.NamedNode(RDFS_LABEL), None, None)]
    label = next((t.value for t in labels if isinstance(t, ox.Literal)), "")
    stamp = ox.Literal(f"{created.isoformat()}T00:00:00Z", datatype=ox.NamedNode(XSD + "dateTime"))
    add(g_info, np, DCT + "created", stamp)
    add(g_info, np, DCT + "creator", ox.Literal(CREATOR))
    add(g_info, np, DCT + "license", LICENSE)
    if label:
        add(g_info, np, RDFS_LABEL, ox.Literal(f"trialkg: {label}"))
    # head
    add(g_head, np, RDF_TYPE, NP + "Nanopublication")
    add(g_head, np, NP + "hasAssertion", g_assertion)
    add(g_head, np, NP + "hasProvenance", g_prov)
    add(g_head, np, NP + "hasPublicationInfo", g_info)
    return out


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _line(term: str | ox.Literal) -> str:
    """One term as the trusty-URI normal form writes it."""
    if isinstance(term, str):
        return term + "\n"
    if term.language:
        return f"@{term.language.lower()} {_escape(term.value)}\n"
    datatype = term.datatype.value if term.datatype is not None else XSD + "string"
    return f"^{datatype} {_escape(term.value)}\n"


def _sort_key(quad: Quad) -> tuple[bytes, bytes, bytes, tuple[object, ...]]:
    """The order of ``nanopub``'s StatementComparator: graph, subject, predicate, then IRIs before literals,
    literals by value, then datatype (none for a language-tagged one), then language."""
    g, s, p, o = quad
    if isinstance(o, str):
        obj: tuple[object, ...] = (0, o.encode())
    else:
        dt = (0, b"") if o.language else (1, (o.datatype.value if o.datatype else XSD + "string").encode())
        lang = (0, b"") if not o.language else (1, o.language.encode())
        obj = (1, o.value.encode(), dt, lang)
    return (g.encode(), s.encode(), p.encode(), obj)


def artefact(quads: Iterable[Quad]) -> str:
    """The trusty URI artefact (``RA...``) of a nanopublication's quads, its own URI being ``_PLACE``."""
    hashed: list[Quad] = []
    for g, s, p, o in quads:
        g, s, p = (x.replace(_PLACE, _HASHED) for x in (g, s, p))
        hashed.append((g, s, p, o.replace(_PLACE, _HASHED) if isinstance(o, str) else o))
    text, previous = [], ""
    for g, s, p, o in sorted(hashed, key=_sort_key):
        line = _line(g) + _line(s) + _line(p) + _line(o)
        if line != previous:
            text.append(line)
        previous = line
    digest = hashlib.sha256("".join(text).encode("utf-8")).digest()
    return "RA" + base64.b64encode(digest, b"-_").decode("ascii").rstrip("=")


def nanopublications(ds: Dataset, created: date | None = None) -> list[ox.Quad]:
    """Every nanopublication of the dataset, with trusty URIs, as quads (sorted, so the output is stable)."""
    created = created or RELEASED
    store = ds.store
    out: list[ox.Quad] = []
    for row in select(store, _ITEMS):
        item = row["item"]
        assert isinstance(item, ox.NamedNode)
        quads = nanopublication(store, item, created)
        uri = NP_BASE + artefact(quads)
        for g, s, p, o in quads:
            out.append(
                ox.Quad(_named(s, uri), _named(p, uri), _named(o, uri) if isinstance(o, str) else o, _named(g, uri))
            )
    return sorted(set(out), key=str)


def _named(text: str, uri: str) -> ox.NamedNode:
    return ox.NamedNode(text.replace(_PLACE, uri))


def parse_date(text: str | None) -> date | None:
    """A ``--date`` value (YYYY-MM-DD), or None; a bad one is refused."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--date {text!r}: give the date as YYYY-MM-DD") from None
