"""Run a ready-made SELECT on one of three engines: a pyoxigraph store, rdflib, or a SPARQL 1.1 endpoint.

Parameters go in as ``VALUES`` (RDF terms, never text), the query runs
through the one runner (:mod:`kg.sparql`) or rdflib's own engine, and every
engine answers with the same :class:`~kg.query.result.Result`, so the CLI,
the summary and the pages print the same thing whichever ran it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pyoxigraph as ox

from kg import sandbox, sparql
from kg.errors import QueryError
from kg.query.result import Result, from_solutions
from kg.query.text import Term, syntax_error, with_values

if TYPE_CHECKING:
    import rdflib

T = TypeVar("T")


def on_oxigraph(
    store: ox.Store,
    text: str,
    bindings: Mapping[str, Term] | None = None,
    origin: str = "query",
    union: bool = True,
    isolated: bool = False,
    network: bool = True,
) -> Result:
    """Run on pyoxigraph, the default graph being the union of the named graphs unless ``union`` is off.

    ``isolated`` runs it in a forked child (:mod:`kg.sandbox`), for queries a
    user wrote: pyoxigraph 0.5.13 aborts the whole process on some ``ORDER BY``
    (a Rust panic), which then becomes one :class:`QueryError` line instead;
    without ``network`` that child cannot open a socket (where seccomp exists).
    """
    if not isolated:
        return _solve(store, text, bindings, origin, union)
    return in_child(_solve, store, text, bindings, origin, union, origin=origin, network=network)


def in_child(func: Callable[..., T], *args: Any, origin: str = "query", network: bool = True) -> T:
    """``func(*args)`` in a forked child (:mod:`kg.sandbox`): whatever queries it runs, a crash is one line.

    A pyoxigraph panic (SIGABRT) becomes a :class:`QueryError` naming ``origin``;
    an exception the function raises is raised here. Use it for a whole verb
    that runs several queries (``kg summary``: one fork, about 10 ms).
    """
    outcome = sandbox.run(func, *args, network=network)
    if outcome.raised is not None:
        raise outcome.raised
    if not outcome.ok:
        raise QueryError(f"{origin}: the query engine failed: {outcome.describe()}")
    return cast(T, outcome.value)


def in_children(func: Callable[[Any], T], items: Iterable[Any], workers: int, origin: str = "query") -> Iterator[T]:
    """``func(item)`` for each item in forked children, ``workers`` at a time (:func:`kg.sandbox.ordered`), the
    results in the items' order; a child that fails is one :class:`QueryError` naming ``origin``, as in
    :func:`in_child`."""
    answers = sandbox.ordered(func, items, workers)
    try:
        while True:
            try:
                outcome = next(answers)
            except StopIteration:
                return
            except sandbox.ForkError as exc:  # no process to be had (EAGAIN) or no pipe (EMFILE)
                raise QueryError(f"{origin}: cannot start a query process: {exc.strerror or exc}") from None
            if outcome.raised is not None:
                raise outcome.raised
            if not outcome.ok:
                raise QueryError(f"{origin}: the query engine failed: {outcome.describe()}")
            yield cast(T, outcome.value)
    finally:  # the other children stopped now, not when the traceback that holds this frame is collected
        answers.close()


def _solve(
    store: ox.Store,
    text: str,
    bindings: Mapping[str, Term] | None,
    origin: str,
    union: bool,
) -> Result:
    try:
        solutions = sparql.local(store, with_values(text, bindings or {}), union)
        return from_solutions(solutions, origin)
    except SyntaxError as exc:
        raise syntax_error(exc, origin) from None
    except OSError as exc:
        raise QueryError(f"{origin}: the query failed: {exc}") from None


def on_rdflib(
    dataset: rdflib.Dataset, text: str, bindings: Mapping[str, Term] | None = None, origin: str = "query"
) -> Result:
    """Run with rdflib's own SPARQL engine; parameters go in as ``initBindings``."""
    import rdflib
    from pyparsing import ParseException

    from kg.sources import from_rdflib, rdflib_term

    init: dict[str, rdflib.term.Identifier] = {rdflib.Variable(k): rdflib_term(v) for k, v in (bindings or {}).items()}
    try:
        result = dataset.query(text, initBindings=init)
        if result.type != "SELECT":
            raise QueryError(f"{origin}: only SELECT queries are supported here")
        variables = [str(v) for v in result.vars or ()]
        rows = [
            {v: from_rdflib(row[v]) for v in variables if row[v] is not None}
            for row in cast("Iterator[rdflib.query.ResultRow]", iter(result))  # a SELECT's rows
        ]
    except ParseException as exc:
        raise QueryError(f"{origin}:{exc.lineno}:{exc.col}: SPARQL syntax error: {exc.msg}") from None
    except RecursionError:  # review 42: a deeply nested query ended in 'internal error'
        raise QueryError(
            f"{origin}: the query is nested too deeply for rdflib's engine; ask it of the default engine (oxigraph)"
        ) from None
    except QueryError:
        raise
    except Exception as exc:  # noqa: BLE001 - rdflib's engine on a user's query (a FROM it cannot read): one line
        raise QueryError(f"{origin}: rdflib's engine could not answer it: {type(exc).__name__}: {exc}") from None
    return Result(variables=variables, rows=rows)


def on_endpoint(
    endpoint: str, text: str, bindings: Mapping[str, Term] | None = None, origin: str = "query", timeout: float = 60.0
) -> Result:
    """Run over the SPARQL 1.1 Protocol; the answer is read as SPARQL JSON results."""
    solutions = sparql.remote(endpoint, with_values(text, bindings or {}), timeout, QueryError)
    return from_solutions(solutions, origin)


@contextlib.contextmanager
def endpoint_stream(
    endpoint: str, text: str, bindings: Mapping[str, Term] | None = None, origin: str = "query", timeout: float = 60.0
) -> Iterator[ox.QuerySolutions]:
    """Run over the SPARQL 1.1 Protocol; the solutions parsed as the answer arrives, never held whole.

    An answer that is not SPARQL JSON results, or stops midway, is one :class:`QueryError` line.
    """
    with sparql.remote_stream(endpoint, with_values(text, bindings or {}), timeout, QueryError) as solutions:
        if not isinstance(solutions, ox.QuerySolutions):
            raise QueryError(f"{origin}: only SELECT queries are supported here")
        yield solutions


def solutions(
    store: ox.Store,
    text: str,
    bindings: Mapping[str, Term] | None = None,
    origin: str = "query",
    union: bool = True,
) -> ox.QuerySolutions:
    """The solutions of a SELECT on pyoxigraph, lazily: rows come as the engine finds them (the default graph is
    the union of the named graphs unless ``union`` is off)."""
    try:
        found = sparql.local(store, with_values(text, bindings or {}), union)
    except SyntaxError as exc:
        raise syntax_error(exc, origin) from None
    except OSError as exc:
        raise QueryError(f"{origin}: the query failed: {exc}") from None
    if not isinstance(found, ox.QuerySolutions):
        raise QueryError(f"{origin}: only SELECT queries are supported here")
    return found
