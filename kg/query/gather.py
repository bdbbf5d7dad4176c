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

import io
import re
from collections.abc import Iterable
from typing import cast

import pyoxigraph as ox

from kg import sparql
from kg.errors import QueryError
from kg.query.text import paged, words_only

_TSV = ox.QueryResultsFormat.TSV
_ROW = ox.NamedNode("urn:trialkg:gathered:row")


def order_clause(text: str) -> str:
    """The query's own ``ORDER BY`` clause (after its last ``}``), as written; "" where it has none.

    >>> order_clause('SELECT DISTINCT ?a ?b WHERE { ?a ?p ?b } ORDER BY ?b DESC(?a)')
    'ORDER BY ?b DESC(?a)'
    """
    bare = words_only(text)
    end = bare.rfind("}") + 1
    m = re.search(r"\bORDER\s+BY\b", bare[end:], re.IGNORECASE)
    return text[end + m.start() :].strip() if m else ""


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
        rows.update(line for line in body.split(b"\n") if line)
    if header is None:
        raise QueryError("a gathered query was asked of no batch")
    names = [name.lstrip("?") for name in header.decode("utf-8").split("\t")]
    store = ox.Store()
    found = cast(
        ox.QuerySolutions,  # a TSV answer is solutions
        ox.parse_query_results(header + b"\n" + b"".join(r + b"\n" for r in sorted(rows)), format=_TSV),
    )
    columns = {name: ox.NamedNode(f"urn:trialkg:gathered:column:{i}") for i, name in enumerate(names)}
    quads = []
    for i, solution in enumerate(found):
        node = ox.BlankNode(f"row{i}")
        quads.append(ox.Quad(node, _ROW, ox.Literal(i)))
        quads += [ox.Quad(node, columns[n], solution[n]) for n in names if solution[n] is not None]
    store.extend(quads)
    cells = " ".join(f"OPTIONAL {{ ?__row {columns[n]} ?{n} }}" for n in names)
    order = order_clause(text) or "ORDER BY"
    # rows that tie on the query's keys: in the order of their TSV text (the whole store leaves theirs open)
    ask = f"SELECT {' '.join(f'?{n}' for n in names)} WHERE {{ ?__row {_ROW} ?__i {cells} }} {order} ?__i"
    answer = sparql.local(store, paged(ask, limit, offset), union=False)
    if not isinstance(answer, ox.QuerySolutions):  # pragma: no cover - a SELECT always gives solutions
        raise QueryError("a gathered query gave no solutions")
    buf = io.BytesIO()
    answer.serialize(buf, format=_TSV)  # read back from bytes: the store above is not kept alive by its answer
    return ox.parse_query_results(buf.getvalue(), format=_TSV)  # type: ignore[return-value]
