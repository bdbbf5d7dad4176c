"""A SELECT result as pyoxigraph terms, whichever engine or server produced it."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pyoxigraph as ox

from kg import sparql
from kg.errors import QueryError
from kg.prefixes import XSD

#: a term bound in a row (the one definition is the runner's)
Value = sparql.Term


@dataclass
class Result:
    """Variables and rows (unbound variables absent from a row)."""

    variables: list[str]
    rows: list[dict[str, Value]]


def from_solutions(solutions: object, origin: str = "query") -> Result:
    """A :class:`Result` from pyoxigraph solutions (local, or parsed from a server's answer)."""
    if not isinstance(solutions, ox.QuerySolutions):
        raise QueryError(f"{origin}: only SELECT queries are supported here")
    variables = [v.value for v in solutions.variables]
    rows = [{v: sol[v] for v in variables if sol[v] is not None} for sol in solutions]
    return Result(variables=variables, rows=rows)


def json_term(term: Value) -> dict[str, str]:
    """One term in the SPARQL 1.1 JSON results format."""
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    out = {"type": "literal", "value": term.value}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype.value != XSD + "string":
        out["datatype"] = term.datatype.value
    return out


def to_sparql_json(result: Result) -> bytes:
    """The result as a SPARQL 1.1 JSON results document."""
    doc = {
        "head": {"vars": result.variables},
        "results": {"bindings": [{k: json_term(v) for k, v in row.items()} for row in result.rows]},
    }
    return json.dumps(doc).encode("utf-8")
