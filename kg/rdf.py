"""Small typed helpers over pyoxigraph, whose stubs return unions the code below never sees.

``Store.query`` returns solutions, a boolean or triples depending on the query
form, and ``serialize`` returns bytes only when not writing to a file; these
helpers say which one the caller asked for, once, instead of at every call.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import cast

import pyoxigraph as ox

from kg.prefixes import turtle_prefixes

Term = ox.NamedNode | ox.BlankNode | ox.Literal


def to_bytes(
    items: Iterable[ox.Triple] | Iterable[ox.Quad], fmt: ox.RdfFormat, prefixes: dict[str, str] | None = None
) -> bytes:
    """Serialize triples or quads to bytes in memory."""
    if prefixes:
        return cast(bytes, ox.serialize(items, format=fmt, prefixes=prefixes))
    return cast(bytes, ox.serialize(items, format=fmt))


def value(term: object) -> str:
    """The lexical value of a term (an IRI, blank node label or literal form; '' for a default graph)."""
    return cast(str, getattr(term, "value", ""))


def iris_of(items: Iterable[ox.Triple | ox.Quad]) -> Iterator[str]:
    """Every IRI in some triples or quads (what :func:`kg.prefixes.turtle_prefixes` chooses a document's prefixes by)."""
    for t in items:
        for term in (t.subject, t.predicate, t.object):
            if isinstance(term, ox.NamedNode):
                yield term.value


def turtle(items: Iterable[ox.Triple]) -> bytes:
    """Triples as Turtle with the project's prefixes, leaving out any that would need an escape in these IRIs."""
    triples = list(items)
    return to_bytes(triples, ox.RdfFormat.TURTLE, turtle_prefixes(iris_of(triples)))


def graph_bytes(store: ox.Store, graph: ox.NamedNode, fmt: ox.RdfFormat) -> bytes:
    """One named graph of a store serialized in memory (N-Triples, or N-Quads with the graph name)."""
    if fmt is ox.RdfFormat.N_QUADS:
        return to_bytes(store.quads_for_pattern(None, None, None, graph), fmt)
    return cast(bytes, store.dump(format=fmt, from_graph=graph))
