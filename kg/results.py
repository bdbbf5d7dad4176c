"""Print query results: an aligned table for people, W3C SPARQL result formats for tools.

csv, tsv, json and xml are written by pyoxigraph's result serializer (the one
the ``oxigraph`` server uses), whatever engine ran the query, so the bytes are
what a SPARQL 1.1 server would send.
"""
from __future__ import annotations

import json
import shutil
import textwrap

import pyoxigraph as ox

from kg.errors import QueryError
from kg.prefixes import compact
from kg.query import Result

FORMATS = {
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
}


def _json_term(term) -> dict[str, str]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    out = {"type": "literal", "value": term.value}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
        out["datatype"] = term.datatype.value
    return out


def to_sparql_json(result: Result) -> bytes:
    """The result as a SPARQL 1.1 JSON results document."""
    doc = {
        "head": {"vars": result.variables},
        "results": {"bindings": [{k: _json_term(v) for k, v in row.items()} for row in result.rows]},
    }
    return json.dumps(doc).encode("utf-8")


def serialize(result: Result, fmt: str) -> bytes:
    """The result in a W3C format (csv, tsv, json, xml), via pyoxigraph's serializer."""
    if fmt not in FORMATS:
        raise QueryError(f"unknown format {fmt!r} (valid: table, {', '.join(FORMATS)})")
    solutions = ox.parse_query_results(to_sparql_json(result), format=ox.QueryResultsFormat.JSON)
    return solutions.serialize(format=FORMATS[fmt])


def cell(term) -> str:
    """How a term reads in a table: CURIEs for IRIs, bare values for literals."""
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        return compact(term.value)
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    return term.value


def table(result: Result, width: int | None = None) -> str:
    """An aligned table if it fits the terminal, else one block per row (name: value).

    Either way nothing is cut off: long values wrap instead.
    """
    width = width or shutil.get_terminal_size((80, 24)).columns
    names = result.variables
    cells = [[cell(row.get(v)) for v in names] for row in result.rows]
    if not cells:
        return "(no rows)"
    widths = [max([len(n)] + [len(c[i]) for c in cells]) for i, n in enumerate(names)]
    if sum(widths) + 2 * (len(widths) - 1) <= width:
        def line(values: list[str]) -> str:
            return "  ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip()

        out = [line(names), line(["-" * w for w in widths])]
        out += [line(c) for c in cells]
        out.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
        return "\n".join(out)
    label = max(len(n) for n in names)
    out = []
    for i, c in enumerate(cells, 1):
        out.append(f"-- row {i} " + "-" * max(0, min(width, 60) - len(f"-- row {i} ")))
        for name, value in zip(names, c):
            if not value:
                continue
            wrapped = textwrap.wrap(value, max(20, width - label - 2)) or [""]
            out.append(f"{name.ljust(label)}  {wrapped[0]}")
            out += [" " * (label + 2) + w for w in wrapped[1:]]
    out.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
    return "\n".join(out)
