"""``kg serve``: the graph as linked data over HTTP (Starlette on uvicorn).

Resource IRIs name things (a trial, a statistic), not documents, so they answer
``303 See Other`` to the document that describes them in the negotiated format
(``/trial/isoda-2018`` -> ``/trial/isoda-2018.html`` or ``.ttl``), following
"Cool URIs for the Semantic Web"; the same rules work on a static host through
the generated ``.htaccess``. Document URLs (with a suffix) answer 200.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

from kg import mappings, media, resources
from kg.dataset import Dataset
from kg.errors import InputError, KGError
from kg.prefixes import data_iri
from kg.rdf import turtle
from kg.web import connections, pages, workers
from kg.web.endpoint import FORMAT_PARAM, LOG, Body, Endpoint, Limits
from kg.web.negotiate import negotiate
from kg.web.policy import NO_CONTENT, policy, style_hashes
from kg.web.site import CONTEXT, STUDIES, Site

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.types import Receive, Scope, Send

MAX_PATH = 2048
MAX_BODY = 1_000_000  # bytes of a POSTed query; a longer body is refused while it is read, never buffered


def create_app(
    dataset: Dataset | None = None, timeout: float = 10.0, max_rows: int = 10000, limits: Limits | None = None
) -> Starlette:
    """The ASGI application serving ``dataset`` (the packaged graph by default).

    ``limits`` sets the /sparql limits (time-out, rows, memory per query, queries at once);
    without it, ``timeout`` and ``max_rows`` with the other defaults.
    """
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, RedirectResponse, Response, StreamingResponse
    from starlette.routing import Route

    from kg.query import catalog

    dataset = dataset or Dataset.build()
    # the pages' queries run in a child: data that makes pyoxigraph panic costs a 500, not the server
    dataset.isolated = True
    site = Site(dataset)  # the store as it is: nothing copied, every page asked of it when requested
    endpoint = Endpoint(dataset.store, limits or Limits(timeout=timeout, max_rows=max_rows))
    base = dataset.base
    void_ttl = turtle(dataset.description)
    headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": NO_CONTENT}

    def text(status: int, message: str, **extra: str) -> Response:
        return PlainTextResponse(message + "\n", status_code=status, headers={**headers, **extra})

    def page(html: str) -> Response:
        """A page, with the policy that lets its own styles (and no script at all) run."""
        return Response(
            html,
            media_type="text/html; charset=utf-8",
            headers={**headers, "Content-Security-Policy": policy(style_hashes(html))},
        )

    async def index(request: Request) -> Response:
        return page(await run_in_threadpool(pages.index, site))

    async def void(request: Request) -> Response:
        return Response(void_ttl, media_type="text/turtle", headers=headers)

    async def mapping_table(request: Request) -> Response:  # the SSSOM mapping_set_id, as the static site has it
        return Response(mappings.packaged().text, media_type="text/tab-separated-values", headers=headers)

    async def jsonld_context(request: Request) -> Response:  # the context the JSON-LD export compacts with
        return Response(
            resources.ontology_file("context.jsonld").read_bytes(), media_type="application/ld+json", headers=headers
        )

    async def query_text(request: Request) -> Response:
        name = request.path_params["name"]
        queries = catalog.catalog()
        if name not in queries:
            return text(404, f"no query named {name!r}")
        return Response(queries[name].text, media_type="application/sparql-query", headers=headers)

    async def body_within_limit(request: Request) -> bytes | None:
        """The request body, or None as soon as it is known to exceed MAX_BODY (nothing more is read)."""
        try:
            declared = int(request.headers.get("content-length") or 0)
        except ValueError:
            return None
        if declared > MAX_BODY:
            return None
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    def too_long() -> Response:
        # Connection: close, so the server stops reading the rest of the body instead of draining it.
        return text(413, f"query too long: at most {MAX_BODY} bytes", Connection="close")

    async def sparql(request: Request) -> Response:
        form: dict[str, list[str]] = {}  # a form-encoded POST's fields
        if request.method == "POST":
            ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype == "application/sparql-update":
                return text(403, "this endpoint is read-only: SPARQL Update is refused", Connection="close")
            if ctype == "application/sparql-query":
                body = await body_within_limit(request)
                if body is None:
                    return too_long()
                query = body.decode("utf-8", "replace")
            elif ctype in ("application/x-www-form-urlencoded", ""):
                body = await body_within_limit(request)
                if body is None:
                    return too_long()
                form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
                if "update" in form:
                    return text(403, "this endpoint is read-only: SPARQL Update is refused")
                query = (form.get("query") or [""])[0]
            else:
                return text(
                    415,
                    "POST a query as application/sparql-query or application/x-www-form-urlencoded",
                    Connection="close",
                )
        else:
            if "update" in request.query_params:
                return text(403, "this endpoint is read-only: SPARQL Update is refused")
            query = request.query_params.get("query", "")
        if not query.strip():
            return text(400, "give a SPARQL query in the 'query' parameter (GET or POST)")
        accept = FORMAT_PARAM.get(request.query_params.get("format", ""), request.headers.get("accept"))
        graphs = {
            k: request.query_params.getlist(k) + form.get(k, []) for k in ("default-graph-uri", "named-graph-uri")
        }
        answer = await run_in_threadpool(
            endpoint.execute, query, accept, graphs["default-graph-uri"], graphs["named-graph-uri"], True
        )
        if answer.stream is None:
            return Response(
                answer.body, status_code=answer.status, media_type=answer.media, headers={**headers, **answer.headers}
            )
        return Relayed(
            answer.stream, status_code=answer.status, media_type=answer.media, headers={**headers, **answer.headers}
        )

    class Relayed(StreamingResponse):
        """A /sparql answer, chunk by chunk as its query process writes it; the process ended whatever happens.

        One the process did not finish (it went quiet, was killed, or failed
        while writing) ends without HTTP/1.1's last chunk and the connection
        closes, so the client sees an incomplete answer, never a shorter whole one.
        So does one whose client takes nothing of it for :data:`STALLED` query
        time-outs: each chunk is handed on within them or the answer ends there,
        its process and slot freed (four clients that asked for large answers and
        read none held every slot for as long as they stayed, and every other
        query got 503). Not one time-out: a client that reads steadily but slowly
        gets no room in the kernel's buffers until it has read a good part of
        them (the receiver opens its window in large steps: 2 MB at 100 kB/s is
        20 s), and one time-out cut such a reader off.
        """

        def __init__(self, body: Body, **kwargs: Any):
            super().__init__(iter(()), **kwargs)
            self.answer = body

        async def _sent(self, send: Send, message: dict[str, Any]) -> bool:
            """Hand a message on within :data:`STALLED` time-outs; False (the answer cut off) when the client took none
            of it."""
            stalled = STALLED * endpoint.limits.timeout
            try:
                await asyncio.wait_for(send(message), timeout=stalled)
            except TimeoutError:
                LOG.warning("kg serve: a /sparql client took nothing for %s s: its answer was cut off", stalled)
                self.answer.cut, self.answer.why = True, "the client took nothing of its answer"
                return False
            return True

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            try:
                await super().__call__(scope, receive, send)
            finally:  # also when the client went before the first chunk: the process and its slot are freed
                self.answer.close()

        async def stream_response(self, send: Send) -> None:
            start = {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
            if not await self._sent(send, start):
                return
            while chunk := await self.answer.aread():
                if not await self._sent(send, {"type": "http.response.body", "body": chunk, "more_body": True}):
                    return
            if not self.answer.cut:
                await self._sent(send, {"type": "http.response.body", "body": b"", "more_body": False})

    async def evidence(request: Request) -> Response:
        slug = request.path_params["slug"]
        if not request.url.path.endswith(".html"):
            # a generated view, not a resource: the bare path redirects to its page as on a static host
            if pages.evidence_view(site, slug) is None:
                return text(404, f"no evidence page {slug[:80]!r}")
            asked = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(f"/{pages.EVIDENCE}{quote(slug)}.html{asked}", status_code=303, headers=headers)
        # page and filters: each checked against what the view offers (a value is never put in a query as sent)
        params = request.query_params.multi_items()
        try:
            html = await run_in_threadpool(pages.evidence_page, site, slug, params)
        except pages.Refused as exc:
            return text(exc.status, exc.message)
        if html is None:
            return text(404, f"no evidence page {slug[:80]!r}")
        return page(html)

    async def views(request: Request) -> Response:
        if not request.url.path.endswith(".html"):
            return RedirectResponse(f"/{pages.VIEWS}.html", status_code=303, headers=headers)
        return page(await run_in_threadpool(pages.views_page, site))

    async def studies(request: Request) -> Response:
        number = request.path_params["number"]
        html = await run_in_threadpool(pages.studies_page, site, number) if 0 < number < 10**9 else None
        if html is None:
            return text(404, f"no study listing page {number}")
        if request.url.path.endswith(".html"):
            return page(html)
        return RedirectResponse(f"/{STUDIES}page-{number}.html", status_code=303, headers=headers)

    async def resource(request: Request) -> Response:
        raw = request.url.path
        if len(raw) > MAX_PATH:
            return text(414, "path too long")
        path = request.path_params["path"]
        if not path or ".." in path.split("/") or "\\" in path or "\x00" in path or "%" in path:
            return text(400, "bad path")
        if b"%2f" in request.scope.get("raw_path", b"").lower():  # "trial%2Fx" is not the IRI "trial/x" (RFC 3986)
            return text(404, f"not found: {data_iri(base, path)}")
        stem, dot, suffix = path.rpartition(".")
        if dot and suffix in media.SUFFIXES and "/" not in suffix:
            iri = site.iri_of(stem)
            if not site.exists(iri):
                return text(404, f"not found: {base}{stem}")
            chosen = media.SUFFIXES[suffix]
            if chosen == media.HTML:
                return page(await run_in_threadpool(pages.page, site, iri))
            return Response(await run_in_threadpool(site.rdf, iri, chosen), media_type=chosen, headers=headers)
        iri = site.iri_of(path)
        if iri != data_iri(base, path) or site.path_of(iri) is None or not site.exists(iri):
            return text(404, f"not found: {data_iri(base, path)}")  # "ontology/index" names a document, not a resource
        wanted = negotiate(request.headers.get("accept"), media.OFFERED)
        if wanted is None:
            return text(
                406, "none of the offered types is acceptable; offered: " + ", ".join(media.OFFERED), Vary="Accept"
            )
        suffix = "html" if wanted == media.HTML else media.syntax(wanted).suffix
        # the document's own path: an IRI ending in "/" (the ontology's) has its documents at index.*
        target = f"/{quote(site.path_of(iri) or path)}.{suffix}"
        return RedirectResponse(target, status_code=303, headers={**headers, "Vary": "Accept"})

    routes = [
        Route("/", index),
        Route("/index.html", index),
        Route("/.well-known/void", void),
        Route("/void.ttl", void),
        Route("/mappings.sssom.tsv", mapping_table),
        Route("/" + CONTEXT, jsonld_context),
        Route("/sparql", sparql, methods=["GET", "POST"]),
        Route("/queries/{name}.rq", query_text),
        Route("/" + pages.VIEWS + ".html", views),
        Route("/" + pages.EVIDENCE, views),
        Route("/" + pages.EVIDENCE + "{slug}.html", evidence),
        Route("/" + pages.EVIDENCE + "{slug}", evidence),
        Route("/" + STUDIES + "page-{number:int}.html", studies),
        Route("/" + STUDIES + "page-{number:int}", studies),
        Route("/{path:path}", resource),
    ]
    middleware = [
        Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST", "OPTIONS"], allow_headers=["*"])
    ]

    async def failed(request: Request, exc: Exception) -> Response:
        """A page that cannot be made (its query crashed): one 500 line and one log line, never a traceback."""
        message = " ".join(str(exc).split())[:500]
        LOG.error("kg serve: %s: %s", request.url.path[:200], message)
        return text(500, f"this page could not be made: {message}")

    return Starlette(routes=routes, middleware=middleware, exception_handlers={KGError: failed})


def serve(
    dataset: Dataset,
    host: str = "127.0.0.1",
    port: int = 8000,
    timeout: float = 10.0,
    max_rows: int = 10000,
    max_memory_mb: int = Limits.max_memory_mb,
    max_queries: int = Limits.max_queries,
    max_result_mb: int = Limits.max_result_mb,
    max_connections: int = connections.MAX_CONNECTIONS,
    request_timeout: float = connections.REQUEST_TIMEOUT,
    ready: Callable[[], None] | None = None,
) -> None:
    """Run the server (blocking): a worker process serves, replaced when it dies or asks (:mod:`kg.web.workers`).

    The application is built and the socket opened here, once; connections are
    capped and timed in the worker (:mod:`kg.web.connections`). ``ready`` is
    called once the first worker listens, with the site built: from then on it answers.
    """
    try:
        import uvicorn
    except ImportError:
        raise InputError("kg serve needs the serve extra: pip install 'trialkg[serve]'") from None
    if min(max_queries, max_memory_mb, max_result_mb, max_connections) < 1 or min(timeout, request_timeout) <= 0:
        raise InputError(
            "--max-queries, --max-memory, --max-result-mb, --max-connections and the time-outs must be positive"
        )
    if max_rows < 0:
        raise InputError("--max-rows must not be negative")
    limits = Limits(
        timeout=timeout,
        max_rows=max_rows,
        max_memory_mb=max_memory_mb,
        max_queries=max_queries,
        max_result_mb=max_result_mb,
    )
    descriptors = connections.raise_descriptor_limit()
    guard = connections.Guard(connections.connection_cap(max_connections, descriptors), request_timeout)
    config = uvicorn.Config(
        create_app(dataset, limits=limits),
        log_level="warning",
        http=connections.guarded_protocol(guard),
        timeout_keep_alive=5,
        timeout_graceful_shutdown=max(10, round(timeout) + 5),
        backlog=connections.accept_batch(descriptors),
    )
    connections.quiet_logs()  # after the Config, which sets up uvicorn's loggers
    sock = listen(host, port, config.backlog)

    def serve_in_worker(worker: workers.Worker) -> None:
        guard.on_crowd_passed = worker.crowd_passed

        class Server(uvicorn.Server):
            async def startup(self, sockets: list[socket.socket] | None = None) -> None:
                await super().startup(sockets=sockets)
                if self.started and ready is not None and worker.first:
                    ready()

        Server(config).run(sockets=[sock])

    workers.supervise(serve_in_worker)


#: query time-outs a /sparql client may take nothing of its streamed answer before it loses it (and its slot)
STALLED = 6


def listen(host: str, port: int, backlog: int) -> socket.socket:
    """The listening socket, opened before any worker starts (connections wait in it while workers change)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock
