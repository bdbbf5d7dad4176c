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
store of 100,000 publications.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

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
        first, _, body = part.partition(b"\n")
        if header is None:
            header = first
        elif first != header:
            raise QueryError(f"the batches of one query gave different columns: {first!r} and {header!r}")
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
