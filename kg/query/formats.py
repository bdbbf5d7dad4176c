"""Print query results: an aligned table for people, W3C SPARQL result formats for tools.

csv, tsv, json and xml are written by pyoxigraph's result serializer (the one
the ``oxigraph`` server uses), whatever engine ran the query, so the bytes are
what a SPARQL 1.1 server would send.
"""

from __future__ import annotations

import shutil
import textwrap
from typing import IO, cast

import pyoxigraph as ox

from kg import media
from kg.errors import QueryError
from kg.prefixes import compact
from kg.query.result import Result, Value, to_sparql_json

#: every output ``kg query --format`` accepts
NAMES = ["table", *media.result_format_names()]


def serialize(result: Result, fmt: str) -> bytes:
    """The result in a W3C format (csv, tsv, json, xml), via pyoxigraph's serializer."""
    try:
        target = media.result_format(fmt)
    except KeyError:
        raise QueryError(f"unknown format {fmt!r} (valid: {', '.join(NAMES)})") from None
    solutions = ox.parse_query_results(to_sparql_json(result), format=ox.QueryResultsFormat.JSON)
    return cast(bytes, solutions.serialize(format=target.format))


def cell(term: Value | None) -> str:
    """How a term reads in a table: CURIEs for IRIs, bare values for literals.

    >>> cell(ox.NamedNode("http://purl.obolibrary.org/obo/NCIT_C1851"))
    'NCIT:C1851'
    >>> cell(None)
    ''
    """
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        return compact(term.value)
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    return term.value


def plural(n: int | str, word: str) -> str:
    """``1 patient``, ``2 patients``, ``0 patients`` (English plural of a regular noun).

    >>> plural(1, "patient"), plural("3", "row")
    ('1 patient', '3 rows')
    """
    return f"{n} {word}" if str(n) in ("1", "1.0") else f"{n} {word}s"


def quantity(value: str, unit_label: str, ucum: str = "") -> str:
    """A value with its unit as people write it: ``61%``, ``13.8 months``, ``1 patient``, ``0.67``.

    Counts are of patients; other dimensionless values (ratios) print bare.

    >>> quantity("61", "percent", "%"), quantity("1", "count unit", "1"), quantity("13.8", "month", "mo")
    ('61%', '1 patient', '13.8 months')
    >>> quantity("0.67", "ratio unit", "1")
    '0.67'
    """
    if ucum == "%":
        return f"{value}%"
    if unit_label == "count unit":
        return plural(value, "patient")
    if ucum == "1":
        return value
    return plural(value, unit_label) if unit_label else value


def p_value(comparator: str, value: str) -> str:
    """``P = 0.003`` or ``P < 0.001`` (a bound stays a bound).

    >>> p_value("<", "0.001"), p_value("=", "0.078")
    ('P < 0.001', 'P = 0.078')
    """
    return f"P {comparator} {value}" if value else ""


def table(result: Result, width: int | None = None, footer: bool = True, first: int = 1) -> str:
    """An aligned table if it fits the terminal, else one block per row (name: value).

    Either way nothing is cut off: long values wrap instead. ``footer``: end with the row count;
    ``first``: the number of the first row (a streamed table comes in blocks).
    """
    width = width or shutil.get_terminal_size((80, 24)).columns
    names = result.variables
    cells = [[cell(row.get(v)) for v in names] for row in result.rows]
    if not cells:
        return "(no rows)"
    widths = [max([len(n)] + [len(c[i]) for c in cells]) for i, n in enumerate(names)]
    end = [f"({plural(len(cells), 'row')})"] if footer else []
    if sum(widths) + 2 * (len(widths) - 1) <= width:

        def line(values: list[str]) -> str:
            return "  ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip()

        out = [line(names), line(["-" * w for w in widths])]
        out += [line(c) for c in cells]
        return "\n".join(out + end)
    label = max(len(n) for n in names)
    out = []
    for i, c in enumerate(cells, first):
        out.append(f"-- row {i} " + "-" * max(0, min(width, 60) - len(f"-- row {i} ")))
        for name, value in zip(names, c):
            if not value:
                continue
            wrapped = textwrap.wrap(value, max(20, width - label - 2)) or [""]
            out.append(f"{name.ljust(label)}  {wrapped[0]}")
            out += [" " * (label + 2) + w for w in wrapped[1:]]
    return "\n".join(out + end)


def render(result: Result, fmt: str) -> str:
    """What ``kg query`` prints: the table, or a W3C format as text."""
    if fmt == "table":
        return table(result) + "\n"
    return serialize(result, fmt).decode("utf-8")


#: rows of a streamed table aligned together (the header repeats for each block)
TABLE_BLOCK = 1000


def write(rows: ox.QuerySolutions | Result, fmt: str, out: IO[bytes]) -> None:
    """Write rows to ``out`` as they come: what ``kg query`` prints, without holding the result.

    Solutions straight from the engine go through pyoxigraph's streaming result
    serializer (csv, tsv, json, xml: the bytes a SPARQL 1.1 server sends); a table
    is aligned a block of :data:`TABLE_BLOCK` rows at a time, its header repeated
    per block, and ends with the row count. A :class:`Result` already in memory
    (from rdflib or a server) is written whole.
    """
    if isinstance(rows, Result):
        out.write(render(rows, fmt).encode("utf-8"))
        return
    if fmt != "table":
        try:
            target = media.result_format(fmt)
        except KeyError:
            raise QueryError(f"unknown format {fmt!r} (valid: {', '.join(NAMES)})") from None
        rows.serialize(out, format=target.format)
        return
    variables = [v.value for v in rows.variables]
    block: list[dict[str, Value]] = []
    count = 0
    for solution in rows:
        block.append({v: solution[v] for v in variables if solution[v] is not None})
        count += 1
        if len(block) == TABLE_BLOCK:
            out.write((table(Result(variables, block), footer=False, first=count - len(block) + 1) + "\n").encode())
            out.flush()
            block = []
    if block:
        out.write((table(Result(variables, block), footer=False, first=count - len(block) + 1) + "\n").encode())
    out.write((f"({plural(count, 'row')})" if count else "(no rows)").encode("utf-8") + b"\n")
