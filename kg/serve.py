"""``kg serve``: the graph as linked data over HTTP (Starlette on uvicorn).

Resource IRIs name things (a trial, a statistic), not documents, so they answer
``303 See Other`` to the document that describes them in the negotiated format
(``/trial/isoda-2018`` -> ``/trial/isoda-2018.html`` or ``.ttl``), following
"Cool URIs for the Semantic Web"; the same rules work on a static host through
the generated ``.htaccess``. Document URLs (with a suffix) answer 200.
"""
from __future__ import annotations

from urllib.parse import parse_qs, quote

import pyoxigraph as ox

from kg.prefixes import BASE
from kg.site import HTML, OFFERED, RDF_MEDIA, SUFFIXES, Site, negotiate

MAX_PATH = 2048


def build_store(store: ox.Store | None = None, base: str = BASE) -> ox.Store:
    """The packaged graph plus its VoID description, so /dataset resolves too."""
    from kg.describe import describe
    from kg.graph import memory_store, packaged_sources

    store = store or memory_store(packaged_sources(), base)
    graph = ox.NamedNode(base + "graph/void")
    store.extend([ox.Quad(t.subject, t.predicate, t.object, graph) for t in describe(store, base)])
    return store


def create_app(store: ox.Store | None = None, base: str = BASE, timeout: float = 10.0, max_rows: int = 10000):
    """The ASGI application."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, RedirectResponse, Response
    from starlette.routing import Route

    from kg import catalog
    from kg.describe import describe
    from kg.sparql_endpoint import FORMAT_PARAM, execute

    store = build_store(store, base)
    site = Site(store, base)
    void_ttl = ox.serialize(describe(store, base), format=ox.RdfFormat.TURTLE)
    headers = {"X-Content-Type-Options": "nosniff"}

    def text(status: int, message: str, **extra) -> Response:
        return PlainTextResponse(message + "\n", status_code=status, headers={**headers, **extra})

    async def index(request: Request) -> Response:
        return Response(site.index(), media_type="text/html; charset=utf-8", headers=headers)

    async def void(request: Request) -> Response:
        return Response(void_ttl, media_type="text/turtle", headers=headers)

    async def query_text(request: Request) -> Response:
        name = request.path_params["name"]
        queries = catalog.catalog()
        if name not in queries:
            return text(404, f"no query named {name!r}")
        return Response(queries[name].text, media_type="application/sparql-query", headers=headers)

    async def sparql(request: Request) -> Response:
        if request.method == "POST":
            ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype == "application/sparql-update":
                return text(403, "this endpoint is read-only: SPARQL Update is refused")
            if ctype == "application/sparql-query":
                body = await request.body()
                if len(body) > 1_000_000:
                    return text(413, "query too long")
                query = body.decode("utf-8", "replace")
            elif ctype in ("application/x-www-form-urlencoded", ""):
                body = await request.body()
                if len(body) > 1_000_000:
                    return text(413, "query too long")
                form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
                if "update" in form:
                    return text(403, "this endpoint is read-only: SPARQL Update is refused")
                query = (form.get("query") or [""])[0]
            else:
                return text(415, "POST a query as application/sparql-query or application/x-www-form-urlencoded")
        else:
            if "update" in request.query_params:
                return text(403, "this endpoint is read-only: SPARQL Update is refused")
            query = request.query_params.get("query", "")
        if not query.strip():
            return text(400, "give a SPARQL query in the 'query' parameter (GET or POST)")
        accept = FORMAT_PARAM.get(request.query_params.get("format", ""), request.headers.get("accept"))
        from starlette.concurrency import run_in_threadpool

        answer = await run_in_threadpool(execute, store, query, accept, timeout, max_rows)
        return Response(answer.body, status_code=answer.status, media_type=answer.media, headers=headers)

    async def resource(request: Request) -> Response:
        raw = request.url.path
        if len(raw) > MAX_PATH:
            return text(414, "path too long")
        path = request.path_params["path"]
        if not path or ".." in path.split("/") or "\\" in path or "\x00" in path or "%" in path:
            return text(400, "bad path")
        stem, dot, suffix = path.rpartition(".")
        if dot and suffix in SUFFIXES and "/" not in suffix:
            iri = site.iri_of(stem)
            if not site.exists(iri):
                return text(404, f"not found: {base}{stem}")
            media = SUFFIXES[suffix]
            if media == HTML:
                return Response(site.page(iri), media_type="text/html; charset=utf-8", headers=headers)
            return Response(site.rdf(iri, media), media_type=media, headers=headers)
        iri = site.iri_of(path)
        if site.path_of(iri) is None or not site.exists(iri):
            return text(404, f"not found: {iri}")
        media = negotiate(request.headers.get("accept"), OFFERED)
        if media is None:
            return text(406, "none of the offered types is acceptable; offered: " + ", ".join(OFFERED), Vary="Accept")
        suffix = "html" if media == HTML else RDF_MEDIA[media][0]
        target = f"/{quote(path)}.{suffix}"
        return RedirectResponse(target, status_code=303, headers={**headers, "Vary": "Accept"})

    routes = [
        Route("/", index),
        Route("/index.html", index),
        Route("/.well-known/void", void),
        Route("/void.ttl", void),
        Route("/sparql", sparql, methods=["GET", "POST"]),
        Route("/queries/{name}.rq", query_text),
        Route("/{path:path}", resource),
    ]
    middleware = [Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST", "OPTIONS"],
                             allow_headers=["*"])]
    return Starlette(routes=routes, middleware=middleware)


def serve(host: str = "127.0.0.1", port: int = 8000, store_dir: str | None = None, timeout: float = 10.0,
          max_rows: int = 10000) -> None:
    """Run the server (blocking)."""
    try:
        import uvicorn
    except ImportError as exc:
        from kg.errors import InputError

        raise InputError("kg serve needs the serve extra: pip install 'trialkg[serve]'") from exc
    store = None
    if store_dir:
        from kg.load import open_store

        persistent = open_store(store_dir, must_exist=True)
        store = ox.Store()
        store.extend(list(persistent))
        del persistent
    uvicorn.run(create_app(store, timeout=timeout, max_rows=max_rows), host=host, port=port, log_level="warning")
