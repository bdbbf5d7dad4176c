"""Where a query runs: the packaged graph in memory, the user's files, a persistent
embedded store, or a remote SPARQL 1.1 endpoint.

Every target answers with the same :class:`kg.query.Result`, so the CLI prints
the same table or W3C format whichever ran it.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pyoxigraph as ox

from kg.errors import QueryError
from kg.graph import file_sources, packaged_sources, to_rdflib
from kg.query import Result, run_oxigraph, run_rdflib

ENGINES = ("oxigraph", "rdflib")


def _sources(data: Sequence[str] | None):
    if data:
        return packaged_sources(include_trials=False) + file_sources(data)
    return packaged_sources()


def execute(
    text: str,
    bindings: Mapping[str, ox.NamedNode | ox.Literal] | None = None,
    *,
    engine: str = "oxigraph",
    data: Sequence[str] | None = None,
    store: str | Path | None = None,
    endpoint: str | None = None,
    origin: str = "query",
    timeout: float = 60.0,
) -> Result:
    """Run a SELECT query on the chosen target and return its rows."""
    if engine not in ENGINES:
        raise QueryError(f"unknown engine {engine!r} (valid: {', '.join(ENGINES)})")
    if endpoint:
        from kg.remote import query_endpoint

        return query_endpoint(endpoint, text, bindings or {}, origin=origin, timeout=timeout)
    if store:
        from kg.load import open_store

        st = open_store(store, must_exist=True)
        if engine == "rdflib":
            raise QueryError("--engine rdflib runs on files or the packaged graph, not on --store")
        return run_oxigraph(st, text, bindings, origin)
    sources = _sources(data)
    if engine == "rdflib":
        return run_rdflib(to_rdflib(sources), text, bindings, origin)
    # One merged default graph: a resource described in several files (a shared
    # journal) is one set of triples, so joins do not repeat rows.
    from kg.build import merged_store

    return run_oxigraph(merged_store(sources), text, bindings, origin)
