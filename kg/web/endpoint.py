"""A read-only SPARQL 1.1 Protocol endpoint that reaches nothing but the graph, within set limits.

- **Read-only.** SPARQL Update (``INSERT``, ``LOAD``...) is refused with 403.
- **Nothing but the graph.** A query that uses ``SERVICE`` is refused with
  400 before it runs (Oxigraph would otherwise fetch any URL the query names,
  which makes an open endpoint an open proxy). The check reads the query as
  Oxigraph's lexer does (:mod:`kg.query.tokens`): ``SERVICE`` inside a string,
  an IRI or a comment does not count; any letter case, comments, odd spacing
  and escapes do. Behind it, each query child cannot open a network socket at
  all (:mod:`kg.sandbox`).
- **Its graphs as asked.** The default graph is the union of the named graphs,
  unless the query names its own (``FROM``, ``FROM NAMED``) or the request
  does (``default-graph-uri``, ``named-graph-uri``): those are honoured.
- **Limits.** Each query runs in a forked child (sharing the store's memory)
  that is killed at the time-out and may add at most ``max_memory_mb`` to its
  address space; at most ``max_queries`` run at once, and one more is answered
  ``503`` with ``Retry-After``. A child that crashes (pyoxigraph panics on some
  ``ORDER BY``) is one ``500`` and one log line.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import pyoxigraph as ox

from kg import media, sandbox
from kg.query.result import json_term
from kg.query.tokens import has_dataset_clause, uses_service
from kg.rdf import to_bytes
from kg.web.negotiate import negotiate

RESULT_MEDIA = {f.media: f.format for f in media.RESULT_FORMATS}
FORMAT_PARAM = {f.name: f.media for f in media.RESULT_FORMATS}
GRAPH_MEDIA = {s.media: s.format for s in media.RDF_SYNTAXES}
_UPDATE = re.compile(
    r"^\s*((PREFIX|BASE)\s[^\n]*\n\s*)*(INSERT|DELETE|LOAD|CLEAR|DROP|CREATE|ADD|MOVE|COPY|WITH)\b", re.IGNORECASE
)
LOG = logging.getLogger("uvicorn.error")


@dataclass
class Answer:
    """What the endpoint sends back: status, media type, body, and any extra headers."""

    status: int
    media: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Limits:
    """What one query may use, and how many run at once."""

    timeout: float = 10.0  # seconds
    max_rows: int = 10000  # rows or triples in a result
    max_memory_mb: int = 512  # address space a query child may add
    max_queries: int = 4  # query children at once


def looks_like_update(text: str) -> bool:
    """True for SPARQL Update requests (which this endpoint refuses)."""
    return bool(_UPDATE.match(text))


def answer(
    store: ox.Store,
    query: str,
    accept: str,
    max_rows: int,
    default_graphs: Sequence[str] = (),
    named_graphs: Sequence[str] = (),
) -> Answer:
    """Run one query and serialize its result (in the query child).

    The default graph is the union of the named graphs, unless the request
    names graphs: the protocol's ``default-graph-uri`` / ``named-graph-uri``
    (which take precedence, as SPARQL 1.1 Protocol says), else the query's own
    ``FROM`` / ``FROM NAMED`` (then only FROM graphs make the default graph,
    and only FROM NAMED ones are there for GRAPH), never ignored.
    """
    try:
        if default_graphs or named_graphs:
            result = store.query(
                query,
                default_graph=[ox.NamedNode(g) for g in default_graphs],
                named_graphs=[ox.NamedNode(g) for g in named_graphs] or None,
            )
        else:
            result = store.query(query, use_default_graph_as_union=not has_dataset_clause(query))
        if isinstance(result, ox.QuerySolutions):
            chosen = negotiate(accept, list(RESULT_MEDIA)) or "application/sparql-results+json"
            variables = result.variables
            rows = []
            for i, sol in enumerate(result):
                if i >= max_rows:
                    return Answer(
                        413, "text/plain", f"the result has more than {max_rows} rows: add a LIMIT\n".encode()
                    )
                rows.append(sol)
            # Re-serialize the capped rows through the results JSON so every format is the W3C one.
            bindings = [{v.value: json_term(sol[v]) for v in variables if sol[v] is not None} for sol in rows]
            doc = {"head": {"vars": [v.value for v in variables]}, "results": {"bindings": bindings}}
            solutions = ox.parse_query_results(json.dumps(doc).encode(), format=ox.QueryResultsFormat.JSON)
            return Answer(200, chosen, cast(bytes, solutions.serialize(format=RESULT_MEDIA[chosen])))
        if isinstance(result, ox.QueryBoolean):
            chosen = (
                negotiate(accept, ["application/sparql-results+json", "application/sparql-results+xml"])
                or "application/sparql-results+json"
            )
            return Answer(200, chosen, cast(bytes, result.serialize(format=RESULT_MEDIA[chosen])))
        chosen = negotiate(accept, list(GRAPH_MEDIA)) or "text/turtle"
        triples = []
        for i, t in enumerate(result):
            if i >= max_rows:
                return Answer(413, "text/plain", f"the result has more than {max_rows} triples: add a LIMIT\n".encode())
            triples.append(t)
        return Answer(200, chosen, to_bytes(triples, GRAPH_MEDIA[chosen]))
    except SyntaxError as exc:
        return Answer(400, "text/plain", f"SPARQL syntax error: {_one_line(exc)}\n".encode())
    except MemoryError:
        raise  # the sandbox reports it as the memory limit
    except Exception as exc:  # noqa: BLE001 - every other failure is a 400 with the engine's words
        return Answer(400, "text/plain", f"query failed: {_one_line(exc)}\n".encode())


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:500]


class Endpoint:
    """The ``/sparql`` executor over one store: checks, then a child per query, at most ``max_queries`` at once."""

    def __init__(self, store: ox.Store, limits: Limits = Limits()):
        self.store = store
        self.limits = limits
        self._slots = threading.BoundedSemaphore(limits.max_queries)

    def execute(
        self, query: str, accept: str | None, default_graphs: Sequence[str] = (), named_graphs: Sequence[str] = ()
    ) -> Answer:
        """Answer one query (blocking: call it from a worker thread); graphs as the protocol's parameters name them."""
        if looks_like_update(query):
            return Answer(403, "text/plain", b"this endpoint is read-only: SPARQL Update is refused\n")
        if uses_service(query):
            return Answer(400, "text/plain", b"SERVICE is refused: this endpoint queries its own graph only\n")
        for graph in [*default_graphs, *named_graphs]:
            try:
                ox.NamedNode(graph)
            except ValueError:
                return Answer(400, "text/plain", b"default-graph-uri and named-graph-uri must be IRIs\n")
        if not self._slots.acquire(blocking=False):
            retry = str(max(1, round(self.limits.timeout)))
            return Answer(
                503,
                "text/plain",
                f"{self.limits.max_queries} queries are running; retry in {retry} s\n".encode(),
                {"Retry-After": retry},
            )
        try:
            outcome = sandbox.run(
                answer,
                self.store,
                query,
                accept or "",
                self.limits.max_rows,
                list(default_graphs),
                list(named_graphs),
                timeout=self.limits.timeout,
                max_memory_mb=self.limits.max_memory_mb,
                network=False,
            )
        except OSError as exc:  # no process or pipe to be had now (fork: EAGAIN, pipe: EMFILE)
            LOG.error("kg serve: cannot start a /sparql query process: %s", exc)
            return Answer(503, "text/plain", b"cannot start a query process now; retry later\n", {"Retry-After": "5"})
        finally:
            self._slots.release()
        if outcome.ok:
            return cast(Answer, outcome.value)
        if outcome.timed_out:
            return Answer(
                408, "text/plain", f"the query ran longer than the time-out of {self.limits.timeout:g} s\n".encode()
            )
        if outcome.out_of_memory:
            LOG.warning("kg serve: a /sparql query reached the memory limit of %d MB", self.limits.max_memory_mb)
            return Answer(
                500,
                "text/plain",
                f"the query needed more memory than the limit of {self.limits.max_memory_mb} MB\n".encode(),
            )
        why = outcome.describe() if outcome.raised is None else _one_line(outcome.raised)
        LOG.error("kg serve: a /sparql query process failed: %s; query: %s", why, _one_line(ValueError(query))[:200])
        return Answer(500, "text/plain", f"the query process failed: {why}\n".encode())


def execute(store: ox.Store, query: str, accept: str | None, timeout: float, max_rows: int) -> Answer:
    """Run one read-only query under the default limits with this time-out and result cap (one-off use)."""
    return Endpoint(store, Limits(timeout=timeout, max_rows=max_rows)).execute(query, accept)
