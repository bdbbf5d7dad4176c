"""The one SPARQL runner: every query trialkg runs goes through here, on an embedded store or a server.

Embedded, :func:`local` (any query form) and :func:`select` run on a
pyoxigraph store, the default graph being the union of the named graphs
unless told otherwise. On a server (the SPARQL 1.1 Protocol, :mod:`kg.http`
sends it), :func:`remote` reads the whole answer and parses it, and
:func:`remote_stream` parses it as it arrives. Ready-made queries with
parameters, the sandbox and the result tables sit on top of these
(:mod:`kg.query.execute`); the endpoint, loads, validation and pages call
them directly. ``tests/test_quality.py`` keeps this the only module that
calls a store's or a server's query function, so time-outs, union-graph
semantics and answer parsing are decided once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import pyoxigraph as ox

from kg import http
from kg.errors import KGError, StoreError

Answer = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples
#: a term bound in a SELECT row
Term = ox.NamedNode | ox.BlankNode | ox.Literal

#: what a server is asked for, by what the caller wants back
RESULTS = {
    "json": ("application/sparql-results+json", ox.QueryResultsFormat.JSON, "SPARQL JSON results"),
    "tsv": ("text/tab-separated-values", ox.QueryResultsFormat.TSV, "SPARQL TSV results"),
}
NTRIPLES = "application/n-triples"


def local(
    store: ox.Store,
    text: str,
    union: bool = True,
    default_graph: Sequence[ox.NamedNode | ox.BlankNode | ox.DefaultGraph] | None = None,
    named_graphs: Sequence[ox.NamedNode | ox.BlankNode] | None = None,
) -> Answer:
    """Run any query on a pyoxigraph store.

    With ``default_graph`` / ``named_graphs`` (a SPARQL Protocol request's
    dataset) those make the query's dataset; otherwise the default graph is
    the union of the named graphs unless ``union`` is off. A syntax error is
    pyoxigraph's :class:`SyntaxError`, for the caller to word.
    """
    if default_graph is not None or named_graphs is not None:
        named = list(named_graphs) if named_graphs is not None else None
        return store.query(text, default_graph=list(default_graph or []), named_graphs=named)
    return store.query(text, use_default_graph_as_union=union)


def select(store: ox.Store, text: str, union: bool = True) -> ox.QuerySolutions:
    """Run a SELECT on a pyoxigraph store (the default graph is the union of the named graphs unless ``union`` is off)."""
    result = local(store, text, union)
    if not isinstance(result, ox.QuerySolutions):
        raise TypeError("not a SELECT query")
    return result


def remote(
    endpoint: str, text: str, timeout: float = 60.0, error: type[KGError] = StoreError, results: str = "json"
) -> ox.QuerySolutions | ox.QueryBoolean:
    """Send a SELECT or ASK to a server; its whole answer, parsed (``results``: ``json`` or ``tsv``).

    An answer that is not what was asked for is one ``error`` line naming the endpoint.
    """
    media, fmt, name = RESULTS[results]
    data = http.query(endpoint, text, media, timeout=timeout, error=error)
    try:
        return ox.parse_query_results(data, format=fmt)
    except (SyntaxError, ValueError) as exc:
        raise error(f"{endpoint}: the server's answer is not {name}: {exc}") from None


def remote_rows(
    endpoint: str, text: str, timeout: float = 60.0, error: type[KGError] = StoreError
) -> list[dict[str, Term]]:
    """A SELECT's rows from a server, each a dict of the variables bound (nothing for an ASK)."""
    solutions = remote(endpoint, text, timeout, error)
    if not isinstance(solutions, ox.QuerySolutions):
        return []
    names = solutions.variables
    return [{v.value: sol[v] for v in names if sol[v] is not None} for sol in solutions]


def remote_triples(
    endpoint: str, text: str, timeout: float = 60.0, error: type[KGError] = StoreError
) -> list[ox.Triple]:
    """A CONSTRUCT's triples from a server (asked for as N-Triples)."""
    data = http.query(endpoint, text, NTRIPLES, timeout=timeout, error=error)
    try:
        return [q.triple for q in ox.parse(data, format=ox.RdfFormat.N_TRIPLES)]
    except SyntaxError as exc:
        raise error(f"{endpoint}: the server's answer is not N-Triples: {exc}") from None


@contextlib.contextmanager
def remote_stream(
    endpoint: str, text: str, timeout: float = 60.0, error: type[KGError] = StoreError
) -> Iterator[ox.QuerySolutions | ox.QueryBoolean]:
    """Send a query to a server; its answer parsed as it arrives (SPARQL JSON results), never held whole.

    An answer that is not SPARQL JSON results, or stops midway, is one ``error`` line.
    """
    media, fmt, name = RESULTS["json"]
    with http.query_opened(endpoint, text, media, timeout, error) as answer:
        try:
            yield ox.parse_query_results(answer, format=fmt)
        except SyntaxError as exc:
            raise error(f"{endpoint}: the server's answer is not {name}: {exc}") from None
