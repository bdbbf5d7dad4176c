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

import io
import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import IO, Any, cast

import pyoxigraph as ox

from kg import media, sandbox, sparql
from kg.query.tokens import has_dataset_clause, uses_service
from kg.web.negotiate import negotiate

RESULT_MEDIA = {f.media: f.format for f in media.RESULT_FORMATS}
FORMAT_PARAM = {f.name: f.media for f in media.RESULT_FORMATS}
GRAPH_MEDIA = {s.media: s.format for s in media.RDF_SYNTAXES}
_UPDATE = re.compile(
    r"^\s*((PREFIX|BASE)\s[^\n]*\n\s*)*(INSERT|DELETE|LOAD|CLEAR|DROP|CREATE|ADD|MOVE|COPY|WITH)\b", re.IGNORECASE
)
LOG = logging.getLogger("uvicorn.error")
SMALL = 256 * 1024  # bytes: an answer up to this size is sent whole, a larger one streamed


@dataclass
class Answer:
    """What the endpoint sends back: status, media type, body, and any extra headers.

    A large body is not held: in the query process it is ``write`` (a function
    writing it into a file), in the server ``stream`` (read as the process
    writes it; close it).
    """

    status: int
    media: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    write: Callable[[IO[bytes]], object] | None = field(default=None, repr=False, compare=False)
    stream: Body | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Limits:
    """What one query may use, and how many run at once."""

    timeout: float = 10.0  # seconds to compute the answer; then the same without progress while it is sent
    max_rows: int = 10000  # rows or triples in a result
    max_memory_mb: int = 512  # address space a query child may add
    max_queries: int = 4  # query children at once
    max_result_mb: int = 128  # a result's size (as SPARQL TSV or N-Triples), held by the query child
    queue_wait: float = 2.0  # seconds a query waits for a slot before a 503 (at most half the time-out)


class _Over(Exception):
    """A result past its limits (rows or bytes): say which."""


class _Capped(io.RawIOBase):
    """Where a result is first written, one line a row or triple (TSV, N-Triples): refused past the limits."""

    def __init__(self, into: IO[bytes], max_lines: int, max_bytes: int, what: str):
        self.into, self.max_lines, self.max_bytes, self.what = into, max_lines, max_bytes, what
        self.lines = self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self.lines += view.tobytes().count(b"\n")
        self.size += len(view)
        if self.lines > self.max_lines:
            raise _Over(f"the result has more than {self.max_lines - (self.what == 'rows')} {self.what}: add a LIMIT")
        if self.size > self.max_bytes:
            raise _Over(f"the result is larger than {self.max_bytes >> 20} MB: add a LIMIT, or ask for less")
        return self.into.write(view)


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
    max_bytes: int = Limits.max_result_mb << 20,
    streamed: bool = False,
) -> Answer:
    """Run one query and serialize its result (in the query child).

    The default graph is the union of the named graphs, unless the request
    names graphs: the protocol's ``default-graph-uri`` / ``named-graph-uri``
    (which take precedence, as SPARQL 1.1 Protocol says), else the query's own
    ``FROM`` / ``FROM NAMED`` (then only FROM graphs make the default graph,
    and only FROM NAMED ones are there for GRAPH), never ignored.

    The result is first written as SPARQL TSV (N-Triples for a graph), one line
    a row, counted as it is written and refused (413) past ``max_rows`` rows or
    ``max_bytes``; then converted, row by row, to the format asked for, by
    pyoxigraph's serializer. ``streamed``: the body is left to ``write``.

    What the query may not do (update, ``SERVICE``) is read here, in the query's process under its time-out, not
    in the server's: a 60 kB query the SERVICE check read slowly held a server thread each, and 40 of them every
    page (review 39).
    """
    if looks_like_update(query):
        return Answer(403, "text/plain", b"this endpoint is read-only: SPARQL Update is refused\n")
    if uses_service(query):
        return Answer(400, "text/plain", b"SERVICE is refused: this endpoint queries its own graph only\n")
    try:
        if default_graphs or named_graphs:
            result = sparql.local(
                store,
                query,
                default_graph=[ox.NamedNode(g) for g in default_graphs],
                named_graphs=[ox.NamedNode(g) for g in named_graphs] or None,
            )
        else:
            result = sparql.local(store, query, union=not has_dataset_clause(query))
        if isinstance(result, ox.QueryBoolean):
            chosen = (
                negotiate(accept, ["application/sparql-results+json", "application/sparql-results+xml"])
                or "application/sparql-results+json"
            )
            return Answer(200, chosen, cast(bytes, result.serialize(format=RESULT_MEDIA[chosen])))
        spool = io.BytesIO()
        if isinstance(result, ox.QuerySolutions):
            chosen = negotiate(accept, list(RESULT_MEDIA)) or "application/sparql-results+json"
            target: Any = RESULT_MEDIA[chosen]
            capped = cast(IO[bytes], _Capped(spool, max_rows + 1, max_bytes, "rows"))
            result.serialize(capped, format=ox.QueryResultsFormat.TSV)

            def convert(out: IO[bytes]) -> None:
                ox.parse_query_results(spool, format=ox.QueryResultsFormat.TSV).serialize(out, format=target)

            same = target == ox.QueryResultsFormat.TSV
        else:
            chosen = negotiate(accept, list(GRAPH_MEDIA)) or "text/turtle"
            target = GRAPH_MEDIA[chosen]
            result.serialize(
                cast(IO[bytes], _Capped(spool, max_rows, max_bytes, "triples")), format=ox.RdfFormat.N_TRIPLES
            )

            def convert(out: IO[bytes]) -> None:
                ox.serialize(ox.parse(spool, format=ox.RdfFormat.N_TRIPLES), output=out, format=target)

            same = target == ox.RdfFormat.N_TRIPLES

        def write(out: IO[bytes]) -> None:
            spool.seek(0)
            out.write(spool.getbuffer()) if same else convert(out)

        if streamed:
            return Answer(200, chosen, write=write)
        body = io.BytesIO()
        write(body)
        return Answer(200, chosen, body.getvalue())
    except _Over as exc:
        return Answer(413, "text/plain", f"{exc}\n".encode())
    except SyntaxError as exc:
        return Answer(400, "text/plain", f"SPARQL syntax error: {_one_line(exc)}\n".encode())
    except MemoryError:
        raise  # the sandbox reports it as the memory limit
    except Exception as exc:  # noqa: BLE001 - every other failure is a 400 with the engine's words
        return Answer(400, "text/plain", f"query failed: {_one_line(exc)}\n".encode())


def _answer_streamed(
    store: ox.Store,
    query: str,
    accept: str,
    max_rows: int,
    default_graphs: Sequence[str],
    named_graphs: Sequence[str],
    max_bytes: int,
) -> tuple[Answer, bytes | Callable[[IO[bytes]], object]]:
    """:func:`answer` in the query child, split for :func:`kg.sandbox.stream`: the head, and the body to stream."""
    a = answer(store, query, accept, max_rows, default_graphs, named_graphs, max_bytes, streamed=True)
    return replace(a, body=b"", write=None), a.write or a.body


class Body:
    """An answer's body as its query process writes it; :meth:`close` ends the process and frees its slot."""

    def __init__(self, stream: sandbox.Stream, release: Callable[[], None]):
        self._stream = stream
        self._release = release
        self.cut = False  # ended early: the process went quiet, or failed while writing
        self.why = ""  # what cut it, one line
        self.first: list[bytes] = []  # chunks already read, sent before the rest
        self.size = 0  # bytes read so far

    def read(self) -> bytes:
        """The next chunk (``b""`` at the end); a process that goes quiet for the time-out ends the body there."""
        if self.first:
            return self.first.pop(0)
        try:
            chunk = self._stream.read()
            self.size += len(chunk)
            return chunk
        except (TimeoutError, OSError) as exc:
            LOG.warning("kg serve: a /sparql answer was cut off: %s", exc)
            self.cut, self.why = True, _one_line(exc)
            return b""

    async def aread(self) -> bytes:
        """:meth:`read` for the server's event loop."""
        if self.first:
            return self.first.pop(0)
        try:
            chunk = await self._stream.aread()
            self.size += len(chunk)
            return chunk
        except (TimeoutError, OSError) as exc:
            LOG.warning("kg serve: a /sparql answer was cut off: %s", exc)
            self.cut, self.why = True, _one_line(exc)
            return b""

    def close(self) -> None:
        """End the query process (if it still runs) and free its slot; safe to call twice."""
        if not self._stream.closed:
            try:
                self._stream.close()
            finally:
                self._release()
                if self.size > SMALL:  # a large answer passed through: give back what it left behind
                    sandbox.release_memory()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:500]


class Endpoint:
    """The ``/sparql`` executor over one store: checks, then a child per query, at most ``max_queries`` at once."""

    def __init__(self, store: ox.Store, limits: Limits = Limits()):
        self.store = store
        self.limits = limits
        self._slots = threading.BoundedSemaphore(limits.max_queries)
        self._waiting = 0
        self._lock = threading.Lock()

    def _slot(self) -> bool:
        """Take a slot, waiting a little for one (a burst of quick queries queues instead of failing); False when
        none came in time, or when more than four queries a slot already wait."""
        if self._slots.acquire(blocking=False):
            return True
        with self._lock:
            if self._waiting >= 4 * self.limits.max_queries:
                return False
            self._waiting += 1
        try:
            return self._slots.acquire(timeout=min(self.limits.queue_wait, self.limits.timeout / 2))
        finally:
            with self._lock:
                self._waiting -= 1

    def execute(
        self,
        query: str,
        accept: str | None,
        default_graphs: Sequence[str] = (),
        named_graphs: Sequence[str] = (),
        streamed: bool = False,
    ) -> Answer:
        """Answer one query (blocking: call it from a worker thread); graphs as the protocol's parameters name them.

        ``streamed``: a successful answer's body is :attr:`Answer.stream`, read
        as the query process writes it (the server never holds it whole), which
        the caller must close; otherwise it is read here into :attr:`Answer.body`.
        """
        for graph in [*default_graphs, *named_graphs]:
            try:
                ox.NamedNode(graph)
            except ValueError:
                return Answer(400, "text/plain", b"default-graph-uri and named-graph-uri must be IRIs\n")
        if not self._slot():
            retry = str(max(1, round(self.limits.timeout)))
            return Answer(
                503,
                "text/plain",
                f"{self.limits.max_queries} queries are running; retry in {retry} s\n".encode(),
                {"Retry-After": retry},
            )
        try:
            outcome, stream = sandbox.stream(
                _answer_streamed,
                self.store,
                query,
                accept or "",
                self.limits.max_rows,
                list(default_graphs),
                list(named_graphs),
                self.limits.max_result_mb << 20,
                timeout=self.limits.timeout,
                max_memory_mb=self.limits.max_memory_mb,
                network=False,
                idle=self.limits.timeout,
            )
        except OSError as exc:  # no process or pipe to be had now (fork: EAGAIN, pipe: EMFILE)
            self._slots.release()
            LOG.error("kg serve: cannot start a /sparql query process: %s", exc)
            return Answer(503, "text/plain", b"cannot start a query process now; retry later\n", {"Retry-After": "5"})
        if stream is None:
            self._slots.release()
            return self._failed(outcome, query)
        head = cast(Answer, outcome.value)
        body = Body(stream, self._slots.release)
        try:
            chunks: list[bytes] = []
            size = 0
            while not streamed or size < SMALL:  # a small answer is read here and sent whole
                chunk = body.read()
                if not chunk and body.cut:  # its process ended before its answer did: not an answer
                    return Answer(
                        500, "text/plain", f"the query failed while its answer was written: {body.why}\n".encode()
                    )
                if not chunk:
                    head.body = b"".join(chunks)
                    return head
                chunks.append(chunk)
                size += len(chunk)
        except BaseException:
            body.close()
            raise
        else:
            body.first = chunks  # the rest streams
            head.stream = body
            return head
        finally:
            if head.stream is None:
                body.close()

    def _failed(self, outcome: sandbox.Outcome, query: str) -> Answer:
        """The answer for a query process that gave none: time-out, memory, or a crash (one log line)."""
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
