"""One answer from rows found in batches in any order: gathered once each, then ordered as the query orders them.

A query whose every row is found within one study's graphs (``#+ within:
study``: ``consistency``, whose rows are problems, ordered by the problem) can
be asked a batch of studies at a time, as a study's query is
(:mod:`kg.query.batches`), but its rows do not come study by study. The rows of
all batches are kept once each (the query is ``SELECT DISTINCT``: a file that
states two studies is copied into both of their batches) and ordered by the
engine itself, with the query's own ``ORDER BY``, so the order is SPARQL's,
not one written again here. Memory holds the rows found (problems: none on a
clean graph), not the store: ``consistency`` held 5.3 GB asked of a whole
store of 100,000 publications. A query ordered by an IRI first
(``provenance``, by the figure) has its batches' rows merged on it from disk
instead (:func:`merged`), so memory holds a batch, not its 1.6 million rows.
"""

from __future__ import annotations

import heapq
import io
import itertools
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO

import pyoxigraph as ox

from kg import sparql
from kg.errors import QueryError
from kg.query.text import paged, prologue, strip_comments, words_only

_TSV = ox.QueryResultsFormat.TSV
_ROW = b"<urn:trialkg:gathered:row>"
_ROW_NODE = b"urn:trialkg:gathered:row:"
_COLUMN = b"urn:trialkg:gathered:column:"


_XSD = b"http://www.w3.org/2001/XMLSchema#"
_INTEGER = b"<%sinteger>" % _XSD
_BARE = [  # SPARQL TSV writes these literals as Turtle does, without quotes: (form, datatype)
    (re.compile(rb"[+-]?[0-9]+"), _INTEGER),
    (re.compile(rb"[+-]?[0-9]*\.[0-9]+"), b"<%sdecimal>" % _XSD),
    (re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+"), b"<%sdouble>" % _XSD),
    (re.compile(rb"true|false"), b"<%sboolean>" % _XSD),
]


def _term(cell: bytes) -> bytes:
    """A SPARQL TSV cell as an N-Triples term (a bare number or boolean as its typed literal).

    >>> _term(b"-1.5"), _term(b"true"), _term(b'"x"@en')
    (b'"-1.5"^^<http://www.w3.org/2001/XMLSchema#decimal>', b'"true"^^<http://www.w3.org/2001/XMLSchema#boolean>', b'"x"@en')
    """
    if cell[:1] in (b"<", b'"'):
        return cell
    for form, datatype in _BARE:
        if form.fullmatch(cell):
            return b'"%s"^^%s' % (cell, datatype)
    raise QueryError(f"a batch gave a cell that is no RDF term: {cell[:80]!r}")


def order_clause(text: str) -> str:
    """The query's own ``ORDER BY`` clause (after its last ``}``), as written; "" where it has none.

    >>> order_clause('SELECT DISTINCT ?a ?b WHERE { ?a ?p ?b } ORDER BY ?b DESC(?a)')
    'ORDER BY ?b DESC(?a)'
    """
    bare = words_only(text)
    end = bare.rfind("}") + 1
    m = re.search(r"\bORDER\s+BY\b", bare[end:], re.IGNORECASE)
    return strip_comments(text)[end + m.start() :].strip() if m else ""


def first_key(text: str) -> str | None:
    """The variable the query's ``ORDER BY`` orders by first, ascending (``None``: no such key, or an expression).

    >>> first_key('SELECT ?a ?b WHERE { ?a ?p ?b } ORDER BY ASC(?b) DESC(?a)'), first_key('SELECT * {} ORDER BY DESC(?a)')
    ('b', None)
    """
    m = re.match(r"ORDER\s+BY\s+(?:\?(\w+)|ASC\s*\(\s*\?(\w+)\s*\))", order_clause(text), re.IGNORECASE)
    return (m.group(1) or m.group(2)) if m else None


def merged(parts: Iterable[bytes], text: str) -> Iterator[ox.QuerySolutions]:
    """The rows of ``parts`` (each a batch's answer as SPARQL TSV), each row once, in the order ``text`` asks: a part
    of the answer at a time, in memory that follows a batch, not the answer.

    Where the query orders by a shown column first (``provenance``: a row a
    quoted figure, ordered by the figure), each batch's rows whose cell there is
    an IRI are already in that order (the engine ordered them, checked here:
    SPARQL orders IRIs by their code points, as their UTF-8 bytes order), so
    they are written to an anonymous file a batch and merged on it: rows of one
    IRI keep the engine's order, and only where two batches give rows of one IRI
    (a file copied into both) are those ordered again by the engine
    (:func:`gathered`). The few rows whose cell is unbound or a blank node (which
    SPARQL orders before every IRI) or a literal (after) are gathered by the
    engine and given before and after them. ``provenance`` at 100,000
    publications gives 1.6 million rows: gathered whole into one store they
    would cost gigabytes. Any other query's rows are gathered whole. The files
    have no name (nothing is left behind, however the process ends), and at most
    :data:`_FAN_IN` are open: more are merged into one as they come.
    """
    header: bytes | None = None
    column: int | None = None
    runs: list[IO[bytes]] = []
    before: list[bytes] = []  # rows whose first key is unbound or a blank node
    after: list[bytes] = []  # a literal
    everything: IO[bytes] | None = None  # every row, once the rows cannot be merged (one file)
    try:
        for part in parts:
            first, body = _split(part, header)
            if header is None:
                header = first
                names = [name.lstrip("?") for name in first.decode("utf-8").split("\t")]
                key = first_key(text)
                column = names.index(key) if key in names else None
                everything = None if column is not None else tempfile.TemporaryFile()
            if everything is None and column is not None:
                lines = _iri_lines(body, column, before, after)
                if lines is not None:
                    runs.append(_spooled(lines))
                    if len(runs) >= _FAN_IN:  # a few files open at once: these merged into one longer run
                        runs = [_spooled(_merged_lines(header, runs, column, text))]
                    continue
                everything = tempfile.TemporaryFile()  # not in the IRIs' order: every row is gathered whole
                for run in runs:
                    shutil.copyfileobj(run, everything)
                    run.close()
                everything.writelines([*before, *after])
                runs, before, after = [], [], []
            assert everything is not None
            everything.write(body)
        if header is None:
            raise QueryError("a gathered query was asked of no batch")
        if everything is not None or column is None:
            rows = b""
            if everything is not None:
                everything.seek(0)
                rows = everything.read()
            yield gathered([header + b"\n" + rows], text)
            return
        if before:
            yield gathered([header + b"\n" + b"".join(before)], text)
        page: list[bytes] = []
        handed = bool(before)
        for line in _merged_lines(header, runs, column, text):
            page.append(line)
            if len(page) == _PAGE:
                yield _solutions(header, page)
                page, handed = [], True
        if page or not (handed or after):  # the last rows, or the columns of an answer with none
            yield _solutions(header, page)
        if after:
            yield gathered([header + b"\n" + b"".join(after)], text)
    finally:
        for f in (*runs, *([everything] if everything is not None else [])):
            f.close()


def _iri_lines(body: bytes, column: int, before: list[bytes], after: list[bytes]) -> list[bytes] | None:
    """A batch's rows whose cell in ``column`` is an IRI, in order (``None`` if they are not in the IRIs' order);
    those whose cell is unbound or a blank node added to ``before``, a literal to ``after``."""
    lines: list[bytes] = []
    first: list[bytes] = []
    last_ones: list[bytes] = []
    last = b""
    for line in io.BytesIO(body):
        cell = _cell(line, column)
        if cell[:1] == b"<":
            if cell[1:-1] < last:
                return None
            lines.append(line)
            last = cell[1:-1]  # "<a>" orders after "<a1>", as "a" does not after "a1"
        else:  # unbound (an empty cell) and blank nodes order before IRIs, literals after
            (first if not cell or cell.startswith(b"_:") else last_ones).append(line)
    before += first
    after += last_ones
    return lines


_FAN_IN = 64  # runs open at once (a file each)
_PAGE = 20_000  # rows handed on at once


def _spooled(lines: Iterable[bytes]) -> IO[bytes]:
    """Lines written to an anonymous temporary file (unlinked: gone with the process however it ends) as they come,
    rewound."""
    f = tempfile.TemporaryFile()
    f.writelines(lines)
    f.seek(0)
    return f


def _split(part: bytes, header: bytes | None) -> tuple[bytes, bytes]:
    """A batch's SPARQL TSV as its header line and its rows, refused where its columns are not those of the batches
    before it (``header``)."""
    first, _, body = part.partition(b"\n")
    if header is not None and first != header:
        raise QueryError(f"the batches of one query gave different columns: {first!r} and {header!r}")
    return first, body


def _solutions(header: bytes, lines: list[bytes]) -> ox.QuerySolutions:
    """Rows of SPARQL TSV (each line ending in a newline) as an answer."""
    answer = ox.parse_query_results(header + b"\n" + b"".join(lines), format=_TSV)
    assert isinstance(answer, ox.QuerySolutions)  # a TSV answer is solutions
    return answer


def _cell(line: bytes, column: int) -> bytes:
    """A row's cell in ``column`` as SPARQL TSV writes it (an IRI in angle brackets; "" where unbound)."""
    return line.rstrip(b"\n").split(b"\t", column + 1)[column]


def _iri(line: bytes, column: int) -> bytes:
    """The IRI in a row's cell (UTF-8, so its bytes order as its code points), without its angle brackets."""
    return _cell(line, column)[1:-1]


def _tagged(lines: Iterable[bytes], n: int, column: int) -> Iterator[tuple[bytes, int, bytes]]:
    """Each line of a run with its IRI and the run's number."""
    for line in lines:
        yield _iri(line, column), n, line


def _merged_lines(header: bytes, runs: list[IO[bytes]], column: int, text: str) -> Iterator[bytes]:
    """The lines of ``runs`` (files of rows in the order of the IRIs in ``column``) merged in that order, each row
    once: rows of one IRI from several runs ordered again by the engine with the query's ORDER BY. The runs are
    closed once read."""
    try:
        tagged = [_tagged(f, n, column) for n, f in enumerate(runs)]
        for _iri_key, group in itertools.groupby(heapq.merge(*tagged, key=lambda t: t[0]), key=lambda t: t[0]):
            rows = list(group)
            if len({n for _k, n, _l in rows}) == 1:
                yield from (line for _k, _n, line in rows)
                continue
            out = io.BytesIO()
            gathered([header + b"\n" + b"".join(line for _k, _n, line in rows)], text).serialize(out, format=_TSV)
            yield from io.BytesIO(out.getvalue().partition(b"\n")[2])
    finally:
        for f in runs:
            f.close()


def gathered(
    parts: Iterable[bytes], text: str, limit: int | None = None, offset: int | None = None
) -> ox.QuerySolutions:
    """The rows of ``parts`` (each a batch's answer as SPARQL TSV), each row once, in the order ``text`` asks.

    The rows go into a store of their own (a node a row, a column a
    predicate), asked for them back with the query's ``ORDER BY``; ``limit`` /
    ``offset`` then page the ordered rows.
    """
    header: bytes | None = None
    rows: set[bytes] = set()
    for part in parts:
        header, body = _split(part, header)
        rows.update(body.split(b"\n")[:-1])  # a line a row (an empty one: a row with nothing bound)
    if header is None:
        raise QueryError("a gathered query was asked of no batch")
    names = [name.lstrip("?") for name in header.decode("utf-8").split("\t")]
    # a row a node, a cell a triple (N-Triples: the cells are SPARQL TSV's terms, a bare number made a typed literal)
    lines, blanks = [], []
    for i, row in enumerate(sorted(rows)):
        node = b"<%s%d>" % (_ROW_NODE, i)
        lines.append(b'%s %s "%d"^^%s .\n' % (node, _ROW, i, _INTEGER))
        for k, cell in enumerate(row.split(b"\t")):
            if cell.startswith(b"_:"):  # kept as it is (a parser would give a blank node a label of its own)
                column = ox.NamedNode(f"{_COLUMN.decode()}{k}")
                blanks.append(ox.Quad(ox.NamedNode(node[1:-1].decode()), column, ox.BlankNode(cell[2:].decode())))
            elif cell:
                lines.append(b"%s <%s%d> %s .\n" % (node, _COLUMN, k, _term(cell)))
    store = ox.Store()
    store.load(b"".join(lines), format=ox.RdfFormat.N_TRIPLES)
    store.extend(blanks)
    cells = " ".join(f"OPTIONAL {{ ?__row <{_COLUMN.decode()}{k}> ?{n} }}" for k, n in enumerate(names))
    order = order_clause(text) or "ORDER BY"
    # rows that tie on the query's keys: in the order of their TSV text (the whole store leaves theirs open); the
    # query's prefixes, for the names its ORDER BY may use
    columns = " ".join(f"?{n}" for n in names)
    ask = f"{prologue(text)}\nSELECT {columns} WHERE {{ ?__row {_ROW.decode()} ?__i {cells} }} {order}\n?__i"
    answer = sparql.local(store, paged(ask, limit, offset), union=False)
    if not isinstance(answer, ox.QuerySolutions):  # pragma: no cover - a SELECT always gives solutions
        raise QueryError("a gathered query gave no solutions")
    return answer  # it holds the store it reads
