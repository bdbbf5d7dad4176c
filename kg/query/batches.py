"""One answer from answers asked in batches: rows of consecutive batches, one after another, in bounded memory.

A study's query (``#+ scope: trial``) asked of a whole store made by ``kg load``
is asked of the studies a batch at a time, each batch of its own graphs copied
into memory (:meth:`kg.dataset.Dataset.of_studies`): the engine then neither
holds the whole corpus's rows to sort them (``efficacy`` at 10,000 publications
held 2.8 GB) nor joins over the whole store. When the query orders its rows by
the study first and shows it (:func:`kg.query.text.in_order_of`) and the batches
are taken in that order, their rows one after another are the query's rows.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import IO, Any, cast

import pyoxigraph as ox

from kg.errors import QueryError

_TSV = ox.QueryResultsFormat.TSV
#: algebra nodes whose rows are all rows of their pattern ``p`` (a required pattern below them stays required)
_THROUGH = ("SelectQuery", "Project", "Distinct", "Reduced", "OrderBy", "Slice", "Filter", "Extend")


@lru_cache(maxsize=64)
def _algebra(text: str) -> Any:
    """The query's algebra, by rdflib's SPARQL parser (half a second a query: read once for both uses below); None
    where rdflib cannot read it."""
    from rdflib.plugins.sparql import prepareQuery

    try:
        return prepareQuery(text).algebra
    except Exception:  # noqa: BLE001 - whatever rdflib raises: the callers fall back to asking everything
        return None


@lru_cache(maxsize=64)
def required_of(text: str, variable: str) -> tuple[tuple[str, str | None], ...]:
    """The triple patterns every row needs ``?variable`` to be the subject of: (predicate, object IRI or None).

    Read from the query's algebra (rdflib's SPARQL parser, half a second a
    query): the patterns of its top group and of what is joined to it, and the
    left side of each ``OPTIONAL``; not inside a ``UNION``, ``MINUS``, an
    ``OPTIONAL``'s own side, a sub-select or a grouping. A study without such a
    triple anywhere in the store has no row, so a batch need not be asked of
    it: ``claims`` over 10,000 studies none of which has a claim.

    >>> required_of("SELECT ?c WHERE { ?_t_iri a <http://x/S> ; <http://x/p> ?c OPTIONAL { ?_t_iri <http://x/q> ?d } }", "_t_iri")
    (('http://www.w3.org/1999/02/22-rdf-syntax-ns#type', 'http://x/S'), ('http://x/p', None))
    """
    from rdflib.term import URIRef, Variable

    found: list[tuple[str, str | None]] = []

    def walk(node: Any) -> None:
        name = getattr(node, "name", None)
        if name == "BGP":
            for s, p, o in node["triples"]:
                if s == Variable(variable) and isinstance(p, URIRef):
                    found.append((str(p), str(o) if isinstance(o, URIRef) else None))
        elif name == "Join":
            walk(node["p1"])
            walk(node["p2"])
        elif name == "LeftJoin":
            walk(node["p1"])
        elif name in _THROUGH:
            walk(node["p"])

    algebra = _algebra(text)
    if algebra is None:  # a query rdflib cannot read: no study is left out, every one is asked
        return ()
    walk(algebra)
    return tuple(dict.fromkeys(found))


def only_of(tsv: bytes, column: str, resources: Iterable[str]) -> bool:
    """Whether every row of a SPARQL TSV answer shows one of these IRIs in ``column``.

    A batch's copy may hold a graph that also states another study (a file of
    two studies, a report pointing at one): asked without its studies bound,
    its answer then has that study's rows too, or rows with none, and this
    says so. In TSV a cell holds no raw tab or newline (they are escaped), so
    the lines and cells split as the rows and columns.

    >>> only_of(b"?a\\t?s\\n1\\t<http://x/1>\\n", "s", ["http://x/1"]), only_of(b"?s\\n\\n", "s", ["http://x/1"])
    (True, False)
    """
    lines = tsv.split(b"\n")
    header = lines[0].split(b"\t")
    try:
        at = header.index(b"?" + column.encode("utf-8"))
    except ValueError:
        return False
    wanted = {b"<" + r.encode("utf-8") + b">" for r in resources}
    rows = lines[1:-1] if lines[-1] == b"" else lines[1:]
    return all(len(cells := row.split(b"\t")) == len(header) and cells[at] in wanted for row in rows)


@lru_cache(maxsize=64)
def predicates_of(text: str) -> frozenset[str] | None:
    """Every predicate IRI the query's patterns name (in paths, ``EXISTS``, sub-selects too); None where a pattern
    could match any predicate (a variable, a negated path) or rdflib cannot read the query.

    Only triples with these predicates can match, so a batch copies those alone (a study's graphs hold
    labels, quotes and terms a query may never read: ``trial-terms`` needs a third of them).

    >>> sorted(predicates_of("SELECT * WHERE { ?s a ?c ; <http://x/p>/<http://x/q>* ?o }"))
    ['http://www.w3.org/1999/02/22-rdf-syntax-ns#type', 'http://x/p', 'http://x/q']
    >>> sorted(predicates_of("SELECT * WHERE { ?s <http://x/q> ?o FILTER NOT EXISTS { ?o <http://x/r> ?z ; <http://x/t> ?y } }"))
    ['http://x/q', 'http://x/r', 'http://x/t']
    >>> predicates_of("SELECT * WHERE { ?s ?p ?o }") is None, predicates_of("SELECT * WHERE { ?s !<http://x/p> ?o }") is None
    (True, True)
    >>> predicates_of("SELECT * WHERE { ?s <http://x/q> ?o FILTER EXISTS { ?o ?p ?z } }") is None
    True
    """
    from rdflib.paths import AlternativePath, InvPath, MulPath, SequencePath
    from rdflib.term import URIRef

    found: set[str] = set()

    def named(p: Any) -> bool:
        if isinstance(p, URIRef):
            found.add(str(p))
            return True
        if isinstance(p, (SequencePath, AlternativePath)):
            return all(named(a) for a in p.args)
        if isinstance(p, (InvPath, MulPath)):
            return named(p.path if isinstance(p, MulPath) else p.arg)
        return False  # a variable, a negated path

    def fits(node: Any) -> bool:
        name = getattr(node, "name", None)
        if name == "BGP":
            return all(named(p) for _s, p, _o in node["triples"])
        # an EXISTS pattern stays in the parser's form: triples as flat lists, subject, predicate, object...
        return name != "TriplesBlock" or all(named(p) for t in node["triples"] for p in t[1::3])

    algebra = _algebra(text)  # None: a query rdflib cannot read, every predicate is copied
    return frozenset(found) if algebra is not None and all(map(fits, _nodes(algebra))) else None


def _nodes(node: Any) -> Iterator[Any]:
    """Every node of a query's algebra, depth first (lazily: a caller that stops at the first misfit reads no more)."""
    yield node
    children = node.values() if hasattr(node, "name") else node if isinstance(node, (list, tuple)) else ()
    for child in children:
        yield from _nodes(child)


@lru_cache(maxsize=64)
def types_of(text: str) -> frozenset[str] | None:
    """The classes the query's ``rdf:type`` patterns name, where each names its class (``?s a trialkg:Study``); None
    where one may match any (``?s a ?c``, a path through ``rdf:type``, one inside ``EXISTS``) or rdflib cannot read
    the query.

    A batch then copies only those type triples of its graphs: half the lines ``citation`` copied were types it
    never reads (every resource of a study is typed).

    >>> sorted(types_of("SELECT * WHERE { ?s a <http://x/A> ; <http://x/p> ?o . ?o a <http://x/B> }"))
    ['http://x/A', 'http://x/B']
    >>> [types_of(f"SELECT * WHERE {{ {p} }}") for p in ("?s a ?c", "?s a/<http://x/sub>* <http://x/A>")]
    [None, None]
    >>> types_of("SELECT * WHERE { ?s <http://x/p> ?o FILTER EXISTS { ?o a <http://x/A> } }") is None
    True
    >>> types_of("SELECT * WHERE { ?s <http://x/p> ?o }")
    frozenset()
    """
    from rdflib.namespace import RDF
    from rdflib.paths import Path
    from rdflib.term import URIRef

    found: set[str] = set()

    def through_type(p: Any) -> bool:  # a path that steps along rdf:type
        return isinstance(p, Path) and any(
            a == RDF.type or through_type(a)
            for a in (*getattr(p, "args", ()), getattr(p, "path", None), getattr(p, "arg", None))
        )

    def fits(node: Any) -> bool:
        name = getattr(node, "name", None)
        if name == "BGP":
            for _s, p, o in node["triples"]:
                if p == RDF.type:
                    if not isinstance(o, URIRef):
                        return False
                    found.add(str(o))
                elif through_type(p):
                    return False
        # an EXISTS pattern in the parser's form: any type it reads is kept
        return name != "TriplesBlock" or not any(
            x == RDF.type or through_type(x) or str(x) == "a" for t in node["triples"] for x in t
        )

    algebra = _algebra(text)
    return frozenset(found) if algebra is not None and all(map(fits, _nodes(algebra))) else None


def _selected(
    parts: Iterable[ox.QuerySolutions], limit: int | None, offset: int | None
) -> Iterator[tuple[bytes, list[bytes]]]:
    """Each part as SPARQL TSV (an RDF term a cell, a row a line, so nothing is lost): its header line and the rows
    kept of it once ``offset`` rows are skipped and at most ``limit`` kept over all parts. No part is asked once
    ``limit`` rows are kept, but the first (its header names the columns)."""
    header: bytes | None = None
    skip, left = offset or 0, limit
    for part in parts:
        if header is not None and left is not None and left <= 0:
            break
        buf = io.BytesIO()
        part.serialize(buf, format=_TSV)
        lines = buf.getvalue().split(b"\n")  # the header, a line a row, and the empty text after the last newline
        if header is None:
            header = lines[0]
        elif lines[0] != header:
            raise QueryError(f"the batches of one query gave different columns: {lines[0]!r} and {header!r}")
        rows = lines[1:-1]
        if skip:
            rows, skip = rows[skip:], max(0, skip - len(rows))
        if left is not None:
            rows, left = rows[:left], left - min(left, len(rows))
        yield header, rows


def concatenated(
    parts: Iterable[ox.QuerySolutions], limit: int | None = None, offset: int | None = None
) -> ox.QuerySolutions | None:
    """The rows of ``parts``, one part after another, as one answer (``None`` when there is no part).

    The parts' TSV goes to a temporary file, read back as the answer: memory
    holds one part's rows at a time. ``offset`` rows are skipped and at most
    ``limit`` kept (``kg query --limit --offset`` over the whole answer).
    """
    spool = tempfile.TemporaryFile()
    empty = True
    for header, rows in _selected(parts, limit, offset):
        if empty:
            spool.write(header + b"\n")
            empty = False
        spool.writelines(row + b"\n" for row in rows)
    if empty:
        spool.close()
        return None
    spool.seek(0)
    return ox.parse_query_results(spool, format=_TSV)  # type: ignore[return-value]  # a TSV answer is solutions


def stream(
    parts: Iterable[ox.QuerySolutions],
    target: ox.QueryResultsFormat,
    out: IO[bytes],
    limit: int | None = None,
    offset: int | None = None,
) -> bool:
    """Write the rows of ``parts`` to ``out`` in CSV or TSV as each part comes (its header once); False if none.

    Rows appear as the batches are answered (``kg query NAME --store`` at
    100,000 publications: a batch every second or two, not everything after
    ten minutes), and a reader that stops early (``| head``) stops the batches.
    """
    if target not in (ox.QueryResultsFormat.CSV, ox.QueryResultsFormat.TSV):
        raise QueryError("only CSV and TSV are written a batch at a time")
    if limit is None and offset is None:
        return _written_whole(parts, target, out)
    first = True
    for header, rows in _selected(parts, limit, offset):
        if rows or first:
            answer = ox.parse_query_results(header + b"\n" + b"".join(row + b"\n" for row in rows), format=_TSV)
            buf = io.BytesIO()
            cast(ox.QuerySolutions, answer).serialize(buf, format=target)
            data = buf.getvalue()
            out.write(data if first else data[data.index(b"\n") + 1 :])  # the header line: no newline in a name
            out.flush()
        first = False
    return not first


def _written_whole(parts: Iterable[ox.QuerySolutions], target: ox.QueryResultsFormat, out: IO[bytes]) -> bool:
    """Every part written as the engine serializes it, its header once (:func:`stream` without a page: no row is
    counted, so none is read back; 10 % of ``efficacy``'s time at 10,000 publications); False if there is none."""
    header: bytes | None = None
    for part in parts:
        buf = io.BytesIO()
        part.serialize(buf, format=target)
        data = buf.getvalue()
        cut = data.index(b"\n") + 1 if b"\n" in data else len(data)
        if header is None:
            header = data[:cut]
            out.write(data)
        elif data[:cut] != header:
            raise QueryError(f"the batches of one query gave different columns: {data[:cut]!r} and {header!r}")
        else:
            out.write(data[cut:])
        out.flush()
    return header is not None
