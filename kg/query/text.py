"""SPARQL text handling that needs no parser: comments, ORDER BY, and the VALUES block.

Parameters reach a query as RDF terms. pyoxigraph's ``substitutions`` accept
only projected variables (BASIL-named parameters usually are not), and a remote
server accepts nothing but text, so bound terms go into a ``VALUES`` block
written by pyoxigraph's own N-Triples term serializer: a value can only ever be
one term, whatever quotes, braces or newlines it holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import pyoxigraph as ox

from kg.errors import QueryError

Term = ox.NamedNode | ox.Literal


def strip_comments(text: str) -> str:
    """The text with comments blanked out (same length, so positions still match).

    >>> strip_comments('SELECT * # all\\nWHERE { ?s <http://x#y> "#" }')
    'SELECT *      \\nWHERE { ?s <http://x#y> "#" }'
    """
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


def values_block(bindings: Mapping[str, Term]) -> str:
    """A ``VALUES`` block of already-checked RDF terms (``str(term)`` is N-Triples syntax).

    >>> values_block({"_drug_iri": ox.NamedNode("http://purl.obolibrary.org/obo/NCIT_C1851")})
    'VALUES (?_drug_iri) { (<http://purl.obolibrary.org/obo/NCIT_C1851>) }'
    """
    if not bindings:
        return ""
    names = " ".join(f"?{k}" for k in bindings)
    terms = " ".join(str(v) for v in bindings.values())
    return f"VALUES ({names}) {{ ({terms}) }}"


def values_rows(variable: str, terms: Iterable[ox.NamedNode]) -> str:
    """A ``VALUES`` block giving one variable each of several IRIs, a row each (a batch of one parameter's values).

    >>> values_rows("__trial_iri", [ox.NamedNode("http://example.org/a"), ox.NamedNode("http://example.org/b")])
    'VALUES (?__trial_iri) { (<http://example.org/a>) (<http://example.org/b>) }'
    """
    return f"VALUES (?{variable}) {{ {' '.join(f'({t})' for t in terms)} }}"


def with_values(text: str, bindings: Mapping[str, Term], block: str | None = None) -> str:
    """The query with the VALUES block of ``bindings`` (or the ``block`` given) first inside its first ``WHERE {``."""
    block = values_block(bindings) if block is None else block
    if not block:
        return text
    stripped = strip_comments(text)
    m = re.search(r"\bWHERE\s*\{", stripped, re.IGNORECASE)
    if not m:
        select = re.search(r"\bSELECT\b", stripped, re.IGNORECASE)
        m = re.compile(r"\{").search(stripped, select.end()) if select else None
    if not m:
        raise QueryError("cannot bind parameters: the query has no WHERE clause")
    return text[: m.end()] + "\n  " + block + "\n" + text[m.end() :]


def syntax_error(exc: Exception, origin: str = "query") -> QueryError:
    """The engine's syntax message, with line and column, as one line."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    m = re.match(r"error at (\d+):(\d+): (.*)", text)
    if m:
        return QueryError(f"{origin}:{m.group(1)}:{m.group(2)}: SPARQL syntax error: {m.group(3)}")
    return QueryError(f"{origin}: SPARQL syntax error: {text}")


#: the largest --limit / --offset taken (an integer the engines all accept)
MAX_PAGE = 10**12
_STRING = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\''
)
_IRI = re.compile(r"<[^<>\"{}|^`\\\s]*>")


def words_only(text: str) -> str:
    """The query without comments, strings and IRIs (blanked to spaces): what is left are its keywords and names."""
    bare = strip_comments(text)
    for pattern in (_STRING, _IRI):
        bare = pattern.sub(lambda m: " " * len(m.group(0)), bare)
    return bare


def prologue(text: str) -> str:
    """The query's ``PREFIX`` / ``BASE`` declarations (all before its first ``SELECT``), comments left out.

    >>> prologue("# a query\\nPREFIX trialkg: <https://w3id.org/trialkg/ontology/>\\nSELECT * WHERE { ?s trialkg:hasArm ?o }")
    'PREFIX trialkg: <https://w3id.org/trialkg/ontology/>'
    """
    bare = strip_comments(text)
    select = re.search(r"\bSELECT\b", words_only(text), re.IGNORECASE)
    return "\n".join(line.strip() for line in bare[: select.start() if select else 0].splitlines() if line.strip())


def paged(text: str, limit: int | None = None, offset: int | None = None) -> str:
    r"""The query with ``LIMIT`` / ``OFFSET`` (``kg query --limit --offset``) added at its end.

    Placed safely: each value must be a Python ``int`` from 0 to :data:`MAX_PAGE`
    (checked here, whatever the caller checked), and what is added to the text is
    only ``LIMIT`` / ``OFFSET`` and the decimal digits of that integer, so no value
    can change the query's meaning beyond the page it asks for. A query with its
    own ``LIMIT`` or ``OFFSET`` (after its last ``}``: a sub-select's is its own
    business), or ending with a ``VALUES`` block (after which nothing may follow),
    is refused rather than rewritten.

    >>> paged("SELECT * WHERE { ?s ?p ?o } ORDER BY ?s", 10, 20)
    'SELECT * WHERE { ?s ?p ?o } ORDER BY ?s\nLIMIT 10\nOFFSET 20'
    """
    page = [("LIMIT", limit), ("OFFSET", offset)]
    for name, n in page:
        if n is not None and (type(n) is not int or not 0 <= n <= MAX_PAGE):
            raise QueryError(f"--{name.lower()} must be a whole number from 0 to {MAX_PAGE}, not {n!r}")
    if limit is None and offset is None:
        return text
    bare = words_only(text)
    # the query's own solution modifiers follow its last "}"; a sub-select's LIMIT (inside braces) pages nothing
    if re.search(r"\b(LIMIT|OFFSET)\b", bare[bare.rfind("}") + 1 :], re.IGNORECASE):
        raise QueryError("the query has its own LIMIT or OFFSET: give --limit / --offset only for a query without them")
    if re.search(r"\bVALUES\b[^{}]*\{[^{}]*\}\s*$", bare, re.IGNORECASE):
        raise QueryError("the query ends with a VALUES block: move it into the WHERE clause to use --limit / --offset")
    return text.rstrip() + "".join(f"\n{name} {int(n)}" for name, n in page if n is not None)


def _projection(bare: str) -> list[tuple[str, str]]:
    """The first ``SELECT``'s items (of a query without comments, strings and IRIs): each as written, and the
    name of the column it makes (a variable's own, or the one after ``AS``)."""
    select = re.search(r"\bSELECT\b(?:\s+(?:DISTINCT|REDUCED)\b)?(.*?)(\bWHERE\b|\{)", bare, re.IGNORECASE | re.DOTALL)
    if not select:
        return []
    items: list[tuple[str, str]] = []
    depth, start, projection = 0, 0, select.group(1)
    for i, ch in enumerate(projection + " "):  # each projected item: a variable, or a parenthesised expression
        if ch == "(":
            depth += 1
            start = i if depth == 1 else start
        elif ch == ")":
            depth -= 1
            alias = re.search(r"\bAS\s+\?(\w+)\s*\)$", projection[start : i + 1], re.I) if depth == 0 else None
            if alias:
                items.append((projection[start : i + 1], alias.group(1)))
        elif depth == 0 and ch == "?":
            name = re.match(r"\w+", projection[i + 1 :])
            if name:
                items.append((f"?{name.group(0)}", name.group(0)))
    return items


def projected(text: str) -> set[str]:
    """The names of the columns a query's first ``SELECT`` shows.

    >>> sorted(projected("SELECT DISTINCT ?a (COUNT(?b) AS ?n) WHERE { ?a ?p ?b } GROUP BY ?a"))
    ['a', 'n']
    """
    return {name for _item, name in _projection(words_only(text))}


def shown_as(text: str, variable: str) -> str | None:
    """The column the query's first ``SELECT`` shows ``?variable`` as (itself, or renamed with ``AS``, not inside an
    expression); None where it does not show it.

    >>> shown_as("SELECT (?__t_iri AS ?t) ?x WHERE { ?__t_iri ?p ?x }", "__t_iri"), shown_as("SELECT ?x WHERE { }", "x")
    ('t', 'x')
    >>> shown_as('SELECT (STR(?__t_iri) AS ?t) WHERE { ?__t_iri ?p ?x }', "__t_iri") is None
    True
    """
    names = _shown_names(text, variable)
    return names[0] if names else None


def _shown_names(text: str, variable: str) -> list[str]:
    """Every column the query's first ``SELECT`` shows ``?variable`` as, in order."""
    return [
        name
        for item, name in _projection(words_only(text))
        if item == f"?{variable}" or re.fullmatch(rf"\(\s*\?{re.escape(variable)}\s+(?i:AS)\s+\?\w+\s*\)", item)
    ]


def in_order_of(text: str, variable: str) -> bool:
    """Whether the query's rows come ordered by ``variable`` first, ascending, and each row shows it.

    True when the query's own ``ORDER BY`` (after its last ``}``) starts with
    ``?variable`` (or ``ASC(?variable)``), or with the name the first ``SELECT``
    projects it as (``(?variable AS ?name)``), that ``SELECT`` shows it (the
    variable itself, or that renaming, not inside an expression), and the query
    has no ``LIMIT`` / ``OFFSET`` of its own: then rows of different values
    never merge under ``DISTINCT``, and the answers for values taken in their
    order, put one after another, are the answer (:func:`kg.query.batches.concatenated`).
    Variable names are matched as SPARQL does, case and all.

    >>> in_order_of("SELECT (?__t_iri AS ?t) ?x WHERE { ?__t_iri ?p ?x } ORDER BY ?t ?x", "__t_iri")
    True
    >>> in_order_of("SELECT (?__t_iri AS ?t) ?x WHERE { ?__t_iri ?p ?x } ORDER BY ?__t_iri ?x", "__t_iri")
    True
    >>> in_order_of("SELECT ?x WHERE { ?__t_iri ?p ?x } ORDER BY ?__t_iri", "__t_iri")
    False
    >>> in_order_of("SELECT ?__t_iri (?__t_iri AS ?t) ?x WHERE { ?__t_iri ?p ?x } ORDER BY ?t ?x", "__t_iri")
    True
    >>> in_order_of("SELECT (?__t_iri AS ?t) ?x WHERE { ?__t_iri ?p ?x } ORDER BY ?t LIMIT 2", "__t_iri")
    False
    >>> in_order_of('SELECT DISTINCT (IF(true, "x", ?__t_iri) AS ?k) WHERE { ?__t_iri ?p ?x } ORDER BY ?__t_iri', "__t_iri")
    False
    >>> in_order_of("SELECT (?__t_iri AS ?T) ?x WHERE { ?__t_iri ?p ?x } ORDER BY ?t", "__t_iri")
    False
    >>> in_order_of("SELECT (?__T_iri as ?t) ?x WHERE { ?__T_iri ?p ?x } ORDER BY ?t", "__t_iri")
    False
    """
    bare = words_only(text)
    shown = _shown_names(text, variable)
    if not shown:
        return False
    names = {variable, *shown}
    tail = bare[bare.rfind("}") + 1 :]
    if re.search(r"\b(LIMIT|OFFSET)\b", tail, re.IGNORECASE):
        return False
    order = re.search(r"\bORDER\s+BY\s+(?:ASC\s*\(\s*)?\?(\w+)", tail, re.IGNORECASE)
    return order is not None and order.group(1) in names
