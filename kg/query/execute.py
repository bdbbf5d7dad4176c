"""Run a SELECT on one of three engines: a pyoxigraph store, rdflib, or a SPARQL 1.1 endpoint.

Every engine answers with the same :class:`~kg.query.result.Result`, so the
CLI, the summary and the pages print the same thing whichever ran it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import pyoxigraph as ox

from kg import sandbox
from kg.errors import QueryError
from kg.query.result import Result, from_solutions
from kg.query.text import Term, is_ordered, syntax_error, with_values


def on_oxigraph(
    store: ox.Store,
    text: str,
    bindings: Mapping[str, Term] | None = None,
    origin: str = "query",
    union: bool = True,
    isolated: bool = False,
) -> Result:
    """Run on pyoxigraph, the default graph being the union of the named graphs unless ``union`` is off.

    ``isolated`` runs it in a forked child (:mod:`kg.sandbox`), for queries a
    user wrote: pyoxigraph 0.5.13 aborts the whole process on some ``ORDER BY``
    (a Rust panic), which then becomes one :class:`QueryError` line instead.
    """
    if not isolated:
        return _solve(store, text, bindings, origin, union)
    outcome = sandbox.run(_solve, store, text, bindings, origin, union)
    if outcome.raised is not None:
        raise outcome.raised
    if not outcome.ok:
        raise QueryError(f"{origin}: the query engine failed: {outcome.describe()}")
    return cast(Result, outcome.value)


def _solve(store: ox.Store, text: str, bindings: Mapping[str, Term] | None, origin: str, union: bool) -> Result:
    try:
        solutions = store.query(with_values(text, bindings or {}), use_default_graph_as_union=union)
        return from_solutions(solutions, text, origin)
    except SyntaxError as exc:
        raise syntax_error(exc, origin) from None
    except OSError as exc:
        raise QueryError(f"{origin}: the query failed: {exc}") from None


def on_rdflib(dataset, text: str, bindings: Mapping[str, Term] | None = None, origin: str = "query") -> Result:
    """Run with rdflib's own SPARQL engine; parameters go in as ``initBindings``."""
    import rdflib
    from pyparsing import ParseException

    from kg.sources import from_rdflib, rdflib_term

    init = {rdflib.Variable(k): rdflib_term(v) for k, v in (bindings or {}).items()}
    try:
        result = dataset.query(text, initBindings=init)
    except ParseException as exc:
        raise QueryError(f"{origin}:{exc.lineno}:{exc.col}: SPARQL syntax error: {exc.msg}") from None
    if result.type != "SELECT":
        raise QueryError(f"{origin}: only SELECT queries are supported here")
    variables = [str(v) for v in result.vars]
    rows = [{v: from_rdflib(row[v]) for v in variables if row[v] is not None} for row in result]
    return Result(variables=variables, rows=rows, ordered=is_ordered(text))


def on_endpoint(
    endpoint: str, text: str, bindings: Mapping[str, Term] | None = None, origin: str = "query", timeout: float = 60.0
) -> Result:
    """Run over the SPARQL 1.1 Protocol; the answer is read as SPARQL JSON results."""
    from kg import http

    data = http.query(
        endpoint,
        with_values(text, bindings or {}),
        "application/sparql-results+json",
        timeout=timeout,
        error=QueryError,
    )
    try:
        solutions = ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON)
    except (SyntaxError, ValueError) as exc:
        raise QueryError(f"{endpoint}: the server's answer is not SPARQL JSON results: {exc}") from None
    return from_solutions(solutions, text, origin)


def solutions(store: ox.Store, text: str, bindings: Mapping[str, Term] | None = None, origin: str = "query"):
    """The solutions of a SELECT on pyoxigraph, lazily: rows come as the engine finds them (the default graph is
    the union of the named graphs)."""
    try:
        found = store.query(with_values(text, bindings or {}), use_default_graph_as_union=True)
    except SyntaxError as exc:
        raise syntax_error(exc, origin) from None
    except OSError as exc:
        raise QueryError(f"{origin}: the query failed: {exc}") from None
    if not isinstance(found, ox.QuerySolutions):
        raise QueryError(f"{origin}: only SELECT queries are supported here")
    return found
