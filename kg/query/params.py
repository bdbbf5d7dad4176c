"""Query parameters: from ``--param NAME=VALUE`` text to checked RDF terms.

A value is checked against its declared type and becomes a pyoxigraph
``NamedNode`` or ``Literal``; a value that is not of its type is refused with a
one-line error naming the parameter, and nothing of it reaches the query text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import pyoxigraph as ox

from kg.errors import QueryError
from kg.prefixes import PREFIXES, XSD, to_iri
from kg.query.catalog import Parameter, Query
from kg.query.text import Term

MAX_PARAMETER_LENGTH = 4096
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_NUMBER = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")


def parse_params(pairs: Sequence[str]) -> dict[str, str]:
    """``["drug=NCIT:C1851"]`` -> ``{"drug": "NCIT:C1851"}``; refuses items without ``=`` or given twice.

    >>> parse_params(["drug=NCIT:C1851"])
    {'drug': 'NCIT:C1851'}
    """
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise QueryError(f"--param {pair[:60]!r}: expected NAME=VALUE")
        if key.strip() in out:
            raise QueryError(f"--param {key.strip()!r} given twice")
        out[key.strip()] = value
    return out


def term(param: Parameter, raw: str) -> Term:
    """Check ``raw`` against the parameter's type and return it as an RDF term.

    >>> term(Parameter("drug", "iri", True, "_drug_iri"), "NCIT:C1851")
    <NamedNode value=http://purl.obolibrary.org/obo/NCIT_C1851>
    """
    if len(raw) > MAX_PARAMETER_LENGTH:
        raise QueryError(
            f"parameter {param.name}: value is {len(raw)} characters long (at most {MAX_PARAMETER_LENGTH})"
        )
    if param.type == "iri":
        iri = to_iri(raw)
        if iri is None:
            known = ", ".join(sorted(PREFIXES, key=str.lower))
            raise QueryError(
                f"parameter {param.name}: {raw[:60]!r} is not an IRI (http://..., https://..., urn:...) "
                f"or a CURIE with a known prefix ({known})"
            )
        try:
            return ox.NamedNode(iri)
        except ValueError as exc:
            raise QueryError(f"parameter {param.name}: {raw[:60]!r} is not a valid IRI: {exc}") from None
    text = raw.strip()
    if param.type == "integer":
        if not _INTEGER.match(text):
            raise QueryError(f"parameter {param.name}: {raw[:60]!r} is not an integer")
        return ox.Literal(str(int(text)), datatype=ox.NamedNode(XSD + "integer"))
    if param.type == "number":
        if not _NUMBER.match(text):
            raise QueryError(f"parameter {param.name}: {raw[:60]!r} is not a number")
        dtype = "double" if "e" in text.lower() else ("decimal" if "." in text else "integer")
        return ox.Literal(text, datatype=ox.NamedNode(XSD + dtype))
    return ox.Literal(raw)


def bind(query: Query, params: Mapping[str, str]) -> dict[str, Term]:
    """Check every given parameter; ``{variable name: term}``.

    Unknown names are refused with the list of valid ones; a missing required
    parameter is refused by name.
    """
    bound: dict[str, Term] = {}
    for name, raw in params.items():
        param = query.parameter(name)
        bound[param.variable] = term(param, raw)
    for param in query.parameters:
        if param.required and param.variable not in bound:
            raise QueryError(
                f"query {query.name!r} needs parameter {param.name!r} ({param.type}): --param {param.name}=..."
            )
    return bound
