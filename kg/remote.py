"""Talk to any SPARQL 1.1 server: query over the SPARQL Protocol, load over the Graph Store Protocol.

A load first PUTs every graph under a fresh staging name, then moves all of
them into place with one SPARQL Update request. If anything fails before that
request, the published graphs are untouched (staging graphs are dropped where
the server still answers); the move itself is one request, which transactional
stores (Oxigraph, Fuseki TDB2, GraphDB, Virtuoso) apply all-or-nothing.

Credentials come only from the environment (``TRIALKG_USER`` +
``TRIALKG_PASSWORD`` for HTTP Basic, or ``TRIALKG_TOKEN`` for a bearer token);
they are never printed.
"""
from __future__ import annotations

import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence

import pyoxigraph as ox

from kg.errors import QueryError, StoreError
from kg.graph import Source, packaged_sources
from kg.load import LoadResult, Progress, parsed_graphs, validate_or_refuse
from kg.query import Result, result_from, with_values

STAGING = "https://w3id.org/trialkg/graph/.staging/"


def _auth_headers() -> dict[str, str]:
    token = os.environ.get("TRIALKG_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


def _credentials() -> tuple[str, str] | None:
    user, password = os.environ.get("TRIALKG_USER"), os.environ.get("TRIALKG_PASSWORD")
    return (user, password) if user is not None and password is not None else None


def _opener(url: str) -> urllib.request.OpenerDirector:
    """An opener that answers Basic and Digest challenges (Virtuoso's GSP uses Digest)."""
    creds = _credentials()
    if creds is None:
        return urllib.request.build_opener()
    manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    manager.add_password(None, url, *creds)
    return urllib.request.build_opener(urllib.request.HTTPBasicAuthHandler(manager),
                                       urllib.request.HTTPDigestAuthHandler(manager))


def _redact(text: str) -> str:
    for name in ("TRIALKG_PASSWORD", "TRIALKG_TOKEN"):
        secret = os.environ.get(name)
        if secret:
            text = text.replace(secret, "***")
    return text


def request(method: str, url: str, body: bytes | None = None, headers: Mapping[str, str] | None = None,
            timeout: float = 60.0, error: type[Exception] = StoreError) -> bytes:
    """One HTTP request; every failure becomes a one-line error naming the URL."""
    all_headers = {"User-Agent": "trialkg", **_auth_headers(), **(headers or {})}
    req = urllib.request.Request(url, data=body, method=method, headers=all_headers)
    try:
        with _opener(url).open(req, timeout=timeout) as resp:
            return resp.read()
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            given = _credentials() is not None or bool(_auth_headers())
            how = "check TRIALKG_USER / TRIALKG_PASSWORD / TRIALKG_TOKEN" if given else "set TRIALKG_USER and TRIALKG_PASSWORD (or TRIALKG_TOKEN)"
            raise error(f"{url}: HTTP {exc.code} {'unauthorized' if exc.code == 401 else 'forbidden'}: {how}") from None
        detail = ""
        try:
            detail = exc.read(2000).decode("utf-8", "replace").strip().splitlines()[0]
        except Exception:  # the body is a courtesy; the status is the message
            pass
        raise error(_redact(f"{url}: HTTP {exc.code} {exc.reason}" + (f": {detail}" if detail else ""))) from None
    except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise error(_redact(f"{url}: cannot reach the server: {reason}")) from None


def _with_param(url: str, key: str, value: str) -> str:
    sep = "&" if urllib.parse.urlparse(url).query else "?"
    return f"{url}{sep}{urllib.parse.urlencode({key: value})}"


def query_endpoint(endpoint: str, text: str, bindings: Mapping[str, ox.NamedNode | ox.Literal],
                   origin: str = "query", timeout: float = 60.0) -> Result:
    """Run a SELECT over the SPARQL 1.1 Protocol (POST, results as SPARQL JSON)."""
    body = with_values(text, bindings).encode("utf-8")
    data = request("POST", endpoint, body, {"Content-Type": "application/sparql-query",
                                            "Accept": "application/sparql-results+json"},
                   timeout=timeout, error=QueryError)
    try:
        solutions = ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON)
    except (SyntaxError, ValueError) as exc:
        raise QueryError(f"{endpoint}: the server's answer is not SPARQL JSON results: {exc}") from None
    return result_from(solutions, text, origin)


def load_endpoint(endpoint: str, sources: Sequence[Source] | None = None, *, gsp_endpoint: str | None = None,
                  update_endpoint: str | None = None, timeout: float = 60.0, validate: bool = True,
                  on_staged: Callable[[str], None] | None = None) -> LoadResult:
    """Validate, stage every graph with GSP PUT, then move them into place with one update.

    ``on_staged`` is called after each staging PUT (tests use it to stop the
    server mid-load).
    """
    start = time.perf_counter()
    sources = list(sources if sources is not None else packaged_sources())
    graphs = parsed_graphs(sources)
    if validate:
        validate_or_refuse(sources)
    gsp = gsp_endpoint or endpoint
    update = update_endpoint or endpoint
    run = uuid.uuid4().hex
    staged: dict[str, str] = {}
    total = sum(len(set(q)) for q in graphs.values())
    progress = Progress(total)
    try:
        for iri, qs in graphs.items():
            stage = f"{STAGING}{run}/{len(staged)}"
            body = ox.serialize([ox.Triple(q.subject, q.predicate, q.object) for q in qs], format=ox.RdfFormat.N_TRIPLES)
            request("PUT", _with_param(gsp, "graph", stage), body, {"Content-Type": "application/n-triples"},
                    timeout=timeout)
            staged[iri] = stage
            progress.advance(len(qs), iri.rsplit("/", 1)[-1])
            if on_staged:
                on_staged(iri)
        moves = " ;\n".join(f"MOVE SILENT GRAPH <{stage}> TO <{iri}>" for iri, stage in staged.items())
        request("POST", update, moves.encode("utf-8"), {"Content-Type": "application/sparql-update"}, timeout=timeout)
    except StoreError as exc:
        _drop_staging(update, staged.values(), timeout)
        raise StoreError(f"load failed, published graphs unchanged: {exc}") from None
    finally:
        progress.close()
    return LoadResult(target=endpoint, graphs=list(graphs), triples=total, seconds=time.perf_counter() - start)


def _drop_staging(update: str, stages, timeout: float) -> None:
    stages = list(stages)
    if not stages:
        return
    drops = " ;\n".join(f"DROP SILENT GRAPH <{s}>" for s in stages)
    try:
        request("POST", update, drops.encode("utf-8"), {"Content-Type": "application/sparql-update"}, timeout=timeout)
    except StoreError:
        pass  # the server is gone; leftover staging graphs never touch published ones
