"""Run SPARQL (ready-made or the user's) on an engine, with parameters bound as RDF terms.

A parameter value is checked against its declared type and turned into an RDF
term (a pyoxigraph ``NamedNode`` or ``Literal``); the query text is never
edited with user input. Embedded engines receive the terms as bindings
(pyoxigraph ``substitutions``, rdflib ``initBindings``); a remote SPARQL server
receives them in a ``VALUES`` block written by the RDF library's own term
serializer.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import pyoxigraph as ox

from kg.catalog import Parameter, Query
from kg.errors import QueryError
from kg.prefixes import PREFIXES, to_iri

MAX_PARAMETER_LENGTH = 4096
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_NUMBER = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")
XSD = "http://www.w3.org/2001/XMLSchema#"


def parameter_term(param: Parameter, raw: str) -> ox.NamedNode | ox.Literal:
    """Check ``raw`` against the parameter's type and return it as an RDF term.

    >>> from kg.catalog import Parameter
    >>> parameter_term(Parameter("drug", "iri", True, "_drug_iri"), "NCIT:C1851")
    <NamedNode value=http://purl.obolibrary.org/obo/NCIT_C1851>
    """
    if len(raw) > MAX_PARAMETER_LENGTH:
        raise QueryError(f"parameter {param.name}: value is {len(raw)} characters long (at most {MAX_PARAMETER_LENGTH})")
    if param.type == "iri":
        iri = to_iri(raw)
        if iri is None:
            known = ", ".join(p for p in PREFIXES if p.isupper())
            raise QueryError(
                f"parameter {param.name}: {raw[:60]!r} is not an IRI (http://..., https://..., urn:...) "
                f"or a CURIE with a known prefix ({known})"
            )
        try:
            return ox.NamedNode(iri)
        except ValueError as exc:
            raise QueryError(f"parameter {param.name}: {raw[:60]!r} is not a valid IRI: {exc}") from exc
    if param.type == "integer":
        if not _INTEGER.match(raw.strip()):
            raise QueryError(f"parameter {param.name}: {raw[:60]!r} is not an integer")
        return ox.Literal(str(int(raw.strip())), datatype=ox.NamedNode(XSD + "integer"))
    if param.type == "number":
        if not _NUMBER.match(raw.strip()):
            raise QueryError(f"parameter {param.name}: {raw[:60]!r} is not a number")
        text = raw.strip()
        dtype = "double" if "e" in text.lower() else ("decimal" if "." in text else "integer")
        return ox.Literal(text, datatype=ox.NamedNode(XSD + dtype))
    return ox.Literal(raw)


def bind(query: Query, params: Mapping[str, str]) -> dict[str, ox.NamedNode | ox.Literal]:
    """Check every given parameter and return ``{variable name: term}``.

    Unknown parameter names are refused with the list of valid ones; a missing
    required parameter is refused by name.
    """
    bound: dict[str, ox.NamedNode | ox.Literal] = {}
    for name, raw in params.items():
        param = query.parameter(name)
        bound[param.variable] = parameter_term(param, raw)
    for param in query.parameters:
        if param.required and param.variable not in bound:
            raise QueryError(f"query {query.name!r} needs parameter {param.name!r} ({param.type}): --param {param.name}=...")
    return bound


@dataclass
class Result:
    """A SELECT result as pyoxigraph terms, independent of the engine that made it."""

    variables: list[str]
    rows: list[dict[str, ox.NamedNode | ox.BlankNode | ox.Literal]]
    ordered: bool = False


def _is_ordered(text: str) -> bool:
    return re.search(r"\bORDER\s+BY\b", _strip_comments(text), re.IGNORECASE) is not None


def _strip_comments(text: str) -> str:
    # A '#' outside IRIs and strings starts a comment; comments become spaces so
    # positions in the stripped text are positions in the original.
    out = []
    for line in text.splitlines():
        in_iri = in_str = False
        cut = len(line)
        for i, ch in enumerate(line):
            if ch == "<" and not in_str:
                in_iri = True
            elif ch == ">" and in_iri:
                in_iri = False
            elif ch == '"' and not in_iri:
                in_str = not in_str
            elif ch == "#" and not in_iri and not in_str:
                cut = i
                break
        out.append(line[:cut] + " " * (len(line) - cut))
    return "\n".join(out)


def syntax_error(exc: Exception, origin: str = "query") -> QueryError:
    """The engine's syntax message, with line and column, as a QueryError."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    m = re.match(r"error at (\d+):(\d+): (.*)", text)
    if m:
        return QueryError(f"{origin}:{m.group(1)}:{m.group(2)}: SPARQL syntax error: {m.group(3)}")
    return QueryError(f"{origin}: SPARQL syntax error: {text}")


def run_oxigraph(store: ox.Store, text: str, bindings: Mapping[str, ox.NamedNode | ox.Literal] | None = None,
                 origin: str = "query") -> Result:
    """Run a SELECT on a pyoxigraph store; parameters go in as a ``VALUES`` block of RDF terms.

    (pyoxigraph's ``substitutions`` only accept variables that the SELECT
    projects as they are, which BASIL-named parameters usually are not.)
    """
    try:
        solutions = store.query(with_values(text, bindings or {}), use_default_graph_as_union=True)
    except SyntaxError as exc:
        raise syntax_error(exc, origin) from exc
    except OSError as exc:
        raise QueryError(f"{origin}: the query failed: {exc}") from exc
    return result_from(solutions, text, origin)


def result_from(solutions, text: str, origin: str = "query") -> Result:
    """A :class:`Result` from pyoxigraph solutions (local, or parsed from a server's answer)."""
    if not isinstance(solutions, ox.QuerySolutions):
        raise QueryError(f"{origin}: only SELECT queries are supported here")
    variables = [v.value for v in solutions.variables]
    rows = [{v: sol[v] for v in variables if sol[v] is not None} for sol in solutions]
    return Result(variables=variables, rows=rows, ordered=_is_ordered(text))


def run_rdflib(dataset, text: str, bindings: Mapping[str, ox.NamedNode | ox.Literal] | None = None,
               origin: str = "query") -> Result:
    """Run a SELECT with rdflib's own engine; parameters go in as ``initBindings``."""
    import rdflib
    from pyparsing import ParseException

    from kg.graph import rdflib_term

    init = {rdflib.Variable(k): rdflib_term(v) for k, v in (bindings or {}).items()}
    try:
        result = dataset.query(text, initBindings=init)
    except ParseException as exc:
        raise QueryError(f"{origin}:{exc.lineno}:{exc.col}: SPARQL syntax error: {exc.msg}") from exc
    if result.type != "SELECT":
        raise QueryError(f"{origin}: only SELECT queries are supported here")
    variables = [str(v) for v in result.vars]
    rows = []
    for row in result:
        rows.append({v: _from_rdflib(row[v]) for v in variables if row[v] is not None})
    return Result(variables=variables, rows=rows, ordered=_is_ordered(text))


def _from_rdflib(term) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    import rdflib

    if isinstance(term, rdflib.URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, rdflib.BNode):
        return ox.BlankNode(str(term))
    if term.language:
        return ox.Literal(str(term), language=term.language)
    if term.datatype is not None:
        return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
    return ox.Literal(str(term))


def values_block(bindings: Mapping[str, ox.NamedNode | ox.Literal]) -> str:
    """A SPARQL ``VALUES`` block for a remote server, written from RDF terms.

    The terms were built and checked by pyoxigraph, and ``str(term)`` is their
    N-Triples form, so quotes, braces and newlines in a value stay inside its
    literal.
    """
    if not bindings:
        return ""
    names = " ".join(f"?{k}" for k in bindings)
    terms = " ".join(str(v) for v in bindings.values())
    return f"VALUES ({names}) {{ ({terms}) }}"


def with_values(text: str, bindings: Mapping[str, ox.NamedNode | ox.Literal]) -> str:
    """Put the VALUES block first inside the query's first ``WHERE {`` group."""
    block = values_block(bindings)
    if not block:
        return text
    stripped = _strip_comments(text)
    m = re.search(r"\bWHERE\s*\{", stripped, re.IGNORECASE)
    if not m:
        select = re.search(r"\bSELECT\b", stripped, re.IGNORECASE)
        m = re.compile(r"\{").search(stripped, select.end()) if select else None
    if not m:
        raise QueryError("cannot bind parameters: the query has no WHERE clause")
    return text[: m.end()] + "\n  " + block + "\n" + text[m.end():]
