"""Print query results: an aligned table for people, W3C SPARQL result formats for tools.

csv, tsv, json and xml are written by pyoxigraph's result serializer (the one
the ``oxigraph`` server uses), whatever engine ran the query, so the bytes are
what a SPARQL 1.1 server would send.
"""

from __future__ import annotations

import math
import re
import shutil
import tempfile
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping
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


#: what would break a printed line or turn the text after it around: control characters (a line break, a tab),
#: the line and paragraph separators and the bidirectional controls; no-break and thin spaces are text (review 47)
_BREAKING = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def flat(text: str) -> str:
    """``text`` on one line, as written but for what would break the line or turn it around, which is escaped.

    >>> flat("VD\\nfake \\u202eRTL\\t1.3\\u00a0mg")
    'VD\\\\nfake \\\\u202eRTL\\\\t1.3\\xa0mg'
    """
    return _BREAKING.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


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


def number(text: str | None) -> float | None:
    """A literal's lexical form as a finite number, or None: what a figure can draw.

    Pages and the summary show any graph, conforming or not: a value ``"s81"``,
    ``NaN`` or ``1e400`` is printed as written but never drawn or computed with.

    >>> number("13.8"), number("s81"), number("NaN"), number("1e400"), number(None)
    (13.8, None, None, None, None)
    """
    try:
        x = float(text) if text else None
    except ValueError:
        return None
    return x if x is not None and math.isfinite(x) else None


def level(text: str) -> str:
    """A confidence level as a percentage: ``0.95`` is ``95%``; a level that is not a number, as printed.

    >>> level("0.95"), level("s81")
    ('95%', 's81')
    """
    x = number(text)
    return f"{x * 100:g}%" if x is not None else text


def plural(n: int | str, word: str) -> str:
    """``1 patient``, ``2 patients``, ``0 patients`` (English plural of a regular noun).

    >>> plural(1, "patient"), plural("3", "row")
    ('1 patient', '3 rows')
    """
    return f"{n} {word}" if str(n) in ("1", "1.0") else f"{n} {word}s"


def quantity(value: str, unit_label: str, ucum: str = "", scale: str = "") -> str:
    """A value with its unit as people write it: ``61%``, ``13.8 months``, ``1 patient``, ``0.67``.

    Counts are of patients; other dimensionless values (ratios) print bare. A difference of two percentages
    (``scale`` "difference") is in percentage points, not a percentage of anything (review 45: "4%").

    >>> quantity("61", "percent", "%"), quantity("1", "count unit", "1"), quantity("13.8", "month", "mo")
    ('61%', '1 patient', '13.8 months')
    >>> quantity("0.67", "ratio unit", "1"), quantity("-4.1", "percent", "%", "difference")
    ('0.67', '-4.1 percentage points')
    """
    if ucum == "%":
        return f"{value} percentage points" if scale == "difference" else f"{value}%"
    if unit_label == "count unit":
        return plural(value, "patient")
    if ucum == "1":
        return value
    return plural(value, unit_label) if unit_label else value


def span(lower: str, upper: str, dash: str = "-") -> str:
    """An interval's bounds as people write them: ``6.6-19.4`` (or with ``dash``), ``-37 to -3`` where a bound is
    negative (``-37--3`` reads as nothing).

    >>> span("6.6", "19.4"), span("-37", "-3"), span("25.3", "not reached", "\u2013")
    ('6.6-19.4', '-37 to -3', '25.3\u2013not reached')
    """
    return f"{lower} to {upper}" if lower.startswith("-") or upper.startswith("-") else f"{lower}{dash}{upper}"


def p_value(comparator: str, value: str) -> str:
    """``P = 0.003`` or ``P < 0.001`` (a bound stays a bound).

    >>> p_value("<", "0.001"), p_value("=", "0.078")
    ('P < 0.001', 'P = 0.078')
    """
    return f"P {comparator} {value}" if value else ""


def table(result: Result, width: int | None = None) -> str:
    """An aligned table if it fits the terminal, else one block per row (name: value).

    Either way nothing is cut off: long values wrap instead.
    """
    out: list[str] = []
    write_table(result.variables, lambda: result.rows, out.append, width)
    return "".join(out)[:-1]


def write_table(
    variables: list[str],
    rows: Callable[[], Iterable[Mapping[str, Value]]],
    write: Callable[[str], None],
    width: int | None = None,
) -> None:
    """:func:`table`, written line by line; ``rows`` is read twice (widths, then lines), never held whole."""
    width = width or shutil.get_terminal_size((80, 24)).columns
    names = variables
    widths = [len(n) for n in names]
    count = 0
    for row in rows():
        count += 1
        for i, v in enumerate(names):
            widths[i] = max(widths[i], len(flat(cell(row.get(v)))))
    if not count:
        write("(no rows)\n")
        return
    footer = f"({plural(count, 'row')})"
    if sum(widths) + 2 * (len(widths) - 1) <= width:

        def line(values: list[str]) -> str:
            return "  ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip() + "\n"

        write(line(names))
        write(line(["-" * w for w in widths]))
        for row in rows():
            write(line([flat(cell(row.get(v))) for v in names]))  # a label's line break would break the row
        write(footer + "\n")
        return
    label = max(len(n) for n in names)
    for i, row in enumerate(rows(), 1):
        write(f"-- row {i} " + "-" * max(0, min(width, 60) - len(f"-- row {i} ")) + "\n")
        for name in names:
            value = flat(cell(row.get(name)))
            if not value:
                continue
            wrapped = textwrap.wrap(value, max(20, width - label - 2)) or [""]
            write(f"{name.ljust(label)}  {wrapped[0]}\n")
            for w in wrapped[1:]:
                write(" " * (label + 2) + w + "\n")
    write(footer + "\n")


def write_solutions(solutions: ox.QuerySolutions, fmt: str, out: IO[bytes]) -> None:
    """Write solutions as they come (a server's answer, parsed as it arrives) in ``fmt``; memory stays bounded.

    A W3C format is pyoxigraph's own serializer, row by row; the table needs
    its column widths first, so the rows go to a temporary file and are read
    from it twice.
    """
    if fmt != "table":
        try:
            target = media.result_format(fmt)
        except KeyError:
            raise QueryError(f"unknown format {fmt!r} (valid: {', '.join(NAMES)})") from None
        solutions.serialize(out, format=target.format)
        return
    variables = [v.value for v in solutions.variables]
    with tempfile.TemporaryFile() as spool:
        solutions.serialize(spool, format=ox.QueryResultsFormat.TSV)

        def rows() -> Iterator[dict[str, Value]]:
            spool.seek(0)
            for sol in cast(ox.QuerySolutions, ox.parse_query_results(spool, format=ox.QueryResultsFormat.TSV)):
                yield {v: sol[v] for v in variables if sol[v] is not None}

        def write(text: str) -> None:
            out.write(text.encode("utf-8", "backslashreplace"))

        write_table(variables, rows, write)


def render(result: Result, fmt: str) -> str:
    """What ``kg query`` prints: the table, or a W3C format as text."""
    if fmt == "table":
        return table(result) + "\n"
    return serialize(result, fmt).decode("utf-8")


def write(rows: ox.QuerySolutions | Result, fmt: str, out: IO[bytes]) -> None:
    """Write rows to ``out`` as they come: what ``kg query`` prints, without holding the result.

    Solutions straight from an engine or a server's answer go through
    :func:`write_solutions` (memory bounded, whatever the size); a
    :class:`Result` already in memory (from rdflib) is written whole.
    """
    if isinstance(rows, Result):
        out.write(render(rows, fmt).encode("utf-8"))
        return
    write_solutions(rows, fmt, out)
