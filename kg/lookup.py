"""Identifiers a user gives that name nothing: refused with the nearest ones the graph has.

``kg query trial-summary --param trial=trialkg.trial:lee-2013`` used to print
"(no rows)": Lee 2013 is a ``trialkg.study:``, and the query had matched
nothing. An IRI parameter that occurs nowhere in the graph is almost always a
typo or a wrong namespace, so ``kg query`` asks the graph first (one ASK) and
refuses such a value with the identifiers that look most like it: the same
local name under another namespace, then the closest names in the same one.
Only the error path looks further, so a good value costs one small query.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import replace

import pyoxigraph as ox

from kg.dataset import Dataset
from kg.errors import QueryError
from kg.prefixes import compact
from kg.query.catalog import Query, parse_query
from kg.query.params import bind

_EXISTS = replace(
    parse_query(
        "exists",
        "SELECT ?s WHERE { { ?_term_iri ?p ?o } UNION { ?s ?p ?_term_iri } } LIMIT 1",
        "the identifier check",
    ),
    lookup=True,
)
_LABELLED = replace(
    parse_query(
        "labelled",
        """SELECT DISTINCT ?s WHERE {
         ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l .
         FILTER(isIRI(?s) && (STRSTARTS(STR(?s), ?_namespace_string) || STRENDS(STR(?s), ?_local_string)))
       } LIMIT 5000""",
        "the identifier check",
    ),
    lookup=True,
)


def split(iri: str) -> tuple[str, str]:
    """An IRI's namespace and local name (after its last ``/``, ``#`` or ``_``).

    >>> split("https://w3id.org/trialkg/trial/lee-2013")
    ('https://w3id.org/trialkg/trial/', 'lee-2013')
    >>> split("http://purl.obolibrary.org/obo/CHEBI_15377")
    ('http://purl.obolibrary.org/obo/CHEBI_', '15377')
    """
    m = re.match(r"^(.*[/#_])([^/#_]+)$", iri)
    return (m.group(1), m.group(2)) if m else (iri, iri)


def nearest(dataset: Dataset, iri: str, n: int = 3) -> list[str]:
    """The identifiers of the graph that look most like ``iri``: the same local name first, then close names."""
    namespace, local = split(iri)
    found = [
        r["s"].value
        for r in dataset.run(_LABELLED, {"namespace": namespace, "local": local}).rows
        if isinstance(r.get("s"), ox.NamedNode)
    ]
    same_local = [s for s in found if split(s)[1] == local and s != iri]
    shown = {compact(s): s for s in found}
    close = difflib.get_close_matches(compact(iri), list(shown), n=n, cutoff=0.5)
    return list(dict.fromkeys([compact(s) for s in same_local] + close))[:n]


def require_known(dataset: Dataset, query: Query, params: Mapping[str, str]) -> None:
    """Refuse an IRI parameter that occurs nowhere in the dataset, naming the nearest identifiers it has."""
    bound = bind(query, params)
    for p in query.parameters:
        term = bound.get(p.variable)
        if p.type != "iri" or not isinstance(term, ox.NamedNode):
            continue
        if dataset.run(_EXISTS, {"term": term.value}).rows:
            continue
        near = nearest(dataset, term.value)
        hint = f"; nearest: {', '.join(near)}" if near else ""
        raise QueryError(f"parameter {p.name}: {compact(term.value)} is nowhere in {dataset.origin}{hint}")
