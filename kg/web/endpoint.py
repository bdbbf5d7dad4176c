"""A read-only SPARQL 1.1 Protocol endpoint with a real time-out and a result cap.

Each query runs in a forked child process that shares the store's memory; the
parent waits at most ``timeout`` seconds and then kills it, so a query that
would run forever cannot take a core away from the server.
"""
from __future__ import annotations

import json
import multiprocessing
import re
from dataclasses import dataclass
from typing import cast

import pyoxigraph as ox

from kg import media
from kg.query.result import json_term
from kg.rdf import to_bytes
from kg.web.negotiate import negotiate

RESULT_MEDIA = {f.media: f.format for f in media.RESULT_FORMATS}
FORMAT_PARAM = {f.name: f.media for f in media.RESULT_FORMATS}
GRAPH_MEDIA = {s.media: s.format for s in media.RDF_SYNTAXES}
_UPDATE = re.compile(r"^\s*((PREFIX|BASE)\s[^\n]*\n\s*)*(INSERT|DELETE|LOAD|CLEAR|DROP|CREATE|ADD|MOVE|COPY|WITH)\b",
                     re.IGNORECASE)


@dataclass
class Answer:
    """What the endpoint sends back: status, media type, body."""

    status: int
    media: str
    body: bytes


def looks_like_update(text: str) -> bool:
    """True for SPARQL Update requests (which this endpoint refuses)."""
    return bool(_UPDATE.match(text))


def _run(store: ox.Store, query: str, accept: str, max_rows: int, conn) -> None:
    try:
        result = store.query(query, use_default_graph_as_union=True)
        if isinstance(result, ox.QuerySolutions):
            media = negotiate(accept, list(RESULT_MEDIA)) or "application/sparql-results+json"
            variables = result.variables
            rows = []
            for i, sol in enumerate(result):
                if i >= max_rows:
                    conn.send(Answer(413, "text/plain", f"the result has more than {max_rows} rows: add a LIMIT\n".encode()))
                    return
                rows.append(sol)
            # Re-serialize the capped rows through the results JSON so every format is the W3C one.
            bindings = [{v.value: json_term(sol[v]) for v in variables if sol[v] is not None} for sol in rows]
            doc = {"head": {"vars": [v.value for v in variables]}, "results": {"bindings": bindings}}
            solutions = ox.parse_query_results(json.dumps(doc).encode(), format=ox.QueryResultsFormat.JSON)
            conn.send(Answer(200, media, cast(bytes, solutions.serialize(format=RESULT_MEDIA[media]))))
        elif isinstance(result, ox.QueryBoolean):
            media = negotiate(accept, ["application/sparql-results+json", "application/sparql-results+xml"]) or "application/sparql-results+json"
            conn.send(Answer(200, media, cast(bytes, result.serialize(format=RESULT_MEDIA[media]))))
        else:
            media = negotiate(accept, list(GRAPH_MEDIA)) or "text/turtle"
            triples = []
            for i, t in enumerate(result):
                if i >= max_rows:
                    conn.send(Answer(413, "text/plain", f"the result has more than {max_rows} triples: add a LIMIT\n".encode()))
                    return
                triples.append(t)
            conn.send(Answer(200, media, to_bytes(triples, GRAPH_MEDIA[media])))
    except SyntaxError as exc:
        conn.send(Answer(400, "text/plain", f"SPARQL syntax error: {exc}\n".encode()))
    except Exception as exc:  # noqa: BLE001 - the child reports every failure as a 400 with the engine's words
        conn.send(Answer(400, "text/plain", f"query failed: {exc}\n".encode()))
    finally:
        conn.close()


def execute(store: ox.Store, query: str, accept: str | None, timeout: float, max_rows: int) -> Answer:
    """Run one read-only query under a time-out and a result cap."""
    if looks_like_update(query):
        return Answer(403, "text/plain", b"this endpoint is read-only: SPARQL Update is refused\n")
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_run, args=(store, query, accept or "", max_rows, child), daemon=True)
    proc.start()
    child.close()
    try:
        if parent.poll(timeout):
            try:
                answer = parent.recv()
            except EOFError:
                answer = Answer(500, "text/plain", b"the query process ended without an answer\n")
        else:
            answer = Answer(408, "text/plain", f"the query ran longer than the time-out of {timeout:g} s\n".encode())
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        parent.close()
    return answer
