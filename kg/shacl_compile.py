"""SHACL shapes compiled to SPARQL and run on Oxigraph: the fast validator.

pyshacl walks focus nodes one by one in Python, about 2,000 triples/s; a corpus
of thousands of publications needs something else. This module turns each
constraint of a shapes graph into one SPARQL SELECT that returns the results
(focus node, value, path) of that constraint, and runs the queries on an
Oxigraph store, on both cores.

What it implements, and how (SHACL 1.0, https://www.w3.org/TR/shacl/):

- **Shapes** are found as SHACL defines them: instances of ``sh:NodeShape`` /
  ``sh:PropertyShape`` (or subclasses), subjects of a target or of a constraint
  parameter, and values of ``sh:node``, ``sh:property``, ``sh:not``,
  ``sh:qualifiedValueShape`` and the members of ``sh:and`` / ``sh:or`` /
  ``sh:xone``. Every shape is checked for features this compiler does not
  implement **before** anything is compiled or skipped (deactivated, untargeted).
- **Targets**: ``sh:targetNode``, ``sh:targetClass`` (with ``rdfs:subClassOf``
  in the data), implicit class targets (a shape that is an ``rdfs:Class``),
  ``sh:targetSubjectsOf``, ``sh:targetObjectsOf``.
- **Paths**: every SHACL path, as a SPARQL property path.
- **Constraint components**: all of SHACL Core, and SPARQL-based constraints
  (``sh:sparql``) on node and property shapes with ``$this`` pre-bound per focus
  node (Oxigraph's ``LATERAL``; or, where that gives the same answers, as for
  every constraint of ``shapes/``, the focus nodes joined into the query's
  ``WHERE``, which is much faster), ``$PATH`` and ``$currentShape`` substituted.
- **Results** carry what SHACL's report does: focus node, path, value, source
  shape, constraint component, severity (``sh:severity``, default Violation),
  messages and, for SPARQL constraints, the source constraint.

A shape's conformance (for ``sh:node``, ``sh:not``, ``sh:and``, ``sh:or``,
``sh:xone``, qualified value shapes) is compiled to a graph pattern that has a
solution exactly when the node violates the shape; ``EXISTS`` over it is
evaluated with the node bound (Oxigraph substitutes the outer bindings).

It refuses, with :class:`~kg.errors.UnsupportedShape` naming the feature:
SHACL-SPARQL custom constraint components, SHACL Advanced Features (rules,
SPARQL targets, node expressions), ``owl:imports`` of a graph the shapes do
not hold, recursive shapes, blank nodes
where SPARQL would need them as constants, ``$shapesGraph``, the SPARQL forms
SHACL forbids with pre-bound variables (``MINUS``, ``VALUES``, ``SERVICE``,
``AS $this``, queries that do not project ``$this``), XPath regular-expression
syntax Oxigraph reads differently, datatypes whose
literals the Oxigraph store rewrites (``xsd:byte``, ``xsd:int``... become
``xsd:integer``) or whose lexical space it cannot check, and ill-formed shapes.

One limit is the store's, not the compiler's: Oxigraph keeps typed literals in
canonical form ("01"^^xsd:integer is stored as "1", "1"^^xsd:int as
"1"^^xsd:integer), so the data is validated as the store holds it.
"""

from __future__ import annotations

import functools
import multiprocessing
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import pyoxigraph as ox

from kg.errors import UnsupportedShape
from kg.prefixes import RDF, RDFS, SH, XSD, compact
from kg.rdf import Term, value
from kg.sparql import select

__all__ = ["Check", "Graph", "Result", "UnsupportedShape", "compile_shapes", "run", "validate"]

OWL_IMPORTS = "http://www.w3.org/2002/07/owl#imports"
VIOLATION = SH + "Violation"
TARGETS = ("targetNode", "targetClass", "targetSubjectsOf", "targetObjectsOf")
#: a LIMIT far above any answer: it changes no answer, only how Oxigraph plans the part it caps
_UNCAPPED = 1_000_000_000
#: the parameters of the SHACL Core constraint components and of sh:sparql
PARAMETERS = tuple(
    """
    class datatype nodeKind minCount maxCount minExclusive minInclusive maxExclusive maxInclusive
    minLength maxLength pattern flags languageIn uniqueLang equals disjoint lessThan
    lessThanOrEquals not and or xone node property qualifiedValueShape qualifiedMinCount
    qualifiedMaxCount qualifiedValueShapesDisjoint closed ignoredProperties hasValue in sparql
    """.split()
)
#: what else a shape may say: its path, switches, and words for people
SHAPE_EXTRAS = tuple(
    "path deactivated severity message name description order group defaultValue prefixes declare".split()
)
SHAPE_KEYS = frozenset(TARGETS + PARAMETERS + SHAPE_EXTRAS)
#: parameters only a property shape may have (SHACL 4.x: "node shapes cannot have...")
PROPERTY_ONLY = ("minCount", "maxCount", "uniqueLang", "lessThan", "lessThanOrEquals", "qualifiedValueShape")
#: what marks SHACL-SPARQL custom components, SHACL Advanced Features and SHACL-JS, anywhere in the shapes graph
ADVANCED_TYPES = {
    SH + t: what
    for t, what in (
        ("ConstraintComponent", "custom constraint components (sh:ConstraintComponent)"),
        ("Parameter", "custom constraint components (sh:Parameter)"),
        ("SPARQLTarget", "SPARQL-based targets (sh:SPARQLTarget)"),
        ("SPARQLTargetType", "SPARQL-based target types (sh:SPARQLTargetType)"),
        ("JSConstraint", "SHACL-JS (sh:JSConstraint)"),
        ("SPARQLRule", "SHACL rules (sh:SPARQLRule)"),
        ("TripleRule", "SHACL rules (sh:TripleRule)"),
        ("SPARQLFunction", "SHACL functions (sh:SPARQLFunction)"),
    )
}
ADVANCED_PREDICATES = {
    SH + p: what
    for p, what in (
        ("parameter", "custom constraint components (sh:parameter)"),
        ("validator", "custom constraint components (sh:validator)"),
        ("nodeValidator", "custom constraint components (sh:nodeValidator)"),
        ("propertyValidator", "custom constraint components (sh:propertyValidator)"),
        ("target", "SHACL-AF targets (sh:target)"),
        ("rule", "SHACL rules (sh:rule)"),
        ("entailment", "entailment regimes (sh:entailment)"),
        ("shapesGraph", "sh:shapesGraph (give every shapes file to --shapes instead)"),
        ("js", "SHACL-JS (sh:js)"),
        ("jsLibrary", "SHACL-JS (sh:jsLibrary)"),
        ("labelTemplate", "custom constraint components (sh:labelTemplate)"),
        ("ask", "SPARQL ASK validators of custom constraint components (sh:ask)"),
        ("values", "SHACL-AF node expressions (sh:values)"),
        ("expression", "SHACL-AF node expressions (sh:expression)"),
        ("filterShape", "SHACL-AF node expressions (sh:filterShape)"),
        ("nodes", "SHACL-AF node expressions (sh:nodes)"),
        ("intersection", "SHACL-AF node expressions (sh:intersection)"),
        ("union", "SHACL-AF node expressions (sh:union)"),
        ("condition", "SHACL rules (sh:condition)"),
    )
}
NODE_KINDS = {
    SH + "IRI": "isIRI({v})",
    SH + "BlankNode": "isBlank({v})",
    SH + "Literal": "isLiteral({v})",
    SH + "BlankNodeOrIRI": "(isIRI({v}) || isBlank({v}))",
    SH + "BlankNodeOrLiteral": "(isBlank({v}) || isLiteral({v}))",
    SH + "IRIOrLiteral": "(isIRI({v}) || isLiteral({v}))",
}
#: XSD datatypes whose lexical form Oxigraph's casts check (an ill-typed literal is stored as written)
CASTABLE = frozenset(
    XSD + t
    for t in """
    boolean decimal integer float double date dateTime time duration dayTimeDuration
    yearMonthDuration gYear gYearMonth gMonth gDay gMonthDay
    """.split()
)
#: XSD datatypes checked by a regular expression over the lexical form (https://www.w3.org/TR/xmlschema11-2/)
LEXICAL = {
    XSD + "anyURI": "",
    XSD + "normalizedString": "^[^\\r\\n\\t]*$",
    XSD + "token": "^([^\\s]+( [^\\s]+)*)?$",
    XSD + "language": "^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$",
    XSD + "hexBinary": "^([0-9a-fA-F]{2})*$",
    XSD + "base64Binary": "^((([A-Za-z0-9+/] ?){4})*(([A-Za-z0-9+/] ?){3}[A-Za-z0-9+/]"
    "|([A-Za-z0-9+/] ?){2}[AEIMQUYcgkosw048] ?=|[A-Za-z0-9+/] ?[AQgw] ?= ?=))?$",
}
# rdf:HTML: its lexical space is every string (RDF 1.1 Concepts, 5.2), so its literals are checked by datatype only.

#: datatypes the Oxigraph store rewrites to another datatype, so it cannot tell their literals apart
REWRITTEN = frozenset(
    XSD + t
    for t in """
    byte short int long unsignedByte unsignedShort unsignedInt unsignedLong positiveInteger
    nonNegativeInteger negativeInteger nonPositiveInteger dateTimeStamp
    """.split()
)
#: constraints that look at a literal's lexical form or identity, not its value
LEXICAL_KEYS = ("pattern", "minLength", "maxLength", "in", "hasValue", "equals", "disjoint", "languageIn", "sparql")


class Graph:
    """A small read-only index of triples, for graphs that must keep their literals as written.

    The shapes graph is read here, never through an Oxigraph store: the store keeps
    typed literals in canonical form (``4.0`` becomes ``4``), and a target node or
    an expected result must be the term the file states.
    """

    def __init__(self, triples: Iterable[ox.Triple | ox.Quad]):
        #: the checks compiled from it (:func:`compile_shapes`), by what they depend on in the data: a graph is
        #: compiled once for all the batches and files it validates (100 ms a compile, as long as a small file's run)
        self.compiled: dict[tuple[object, ...], tuple[Check, ...]] = {}
        self._spo: dict[Term, dict[str, list[Term]]] = {}
        self._pos: dict[str, dict[Term, list[Term]]] = {}
        self._referrers: dict[Term, list[Term]] = {}
        for t in triples:
            s, p, o = t.subject, t.predicate.value, t.object
            if isinstance(s, ox.Triple) or isinstance(o, ox.Triple):
                continue  # RDF-star statements are never SHACL
            objects = self._spo.setdefault(s, {}).setdefault(p, [])
            if o not in objects:
                objects.append(o)
                self._pos.setdefault(p, {}).setdefault(o, []).append(s)
                self._referrers.setdefault(o, []).append(s)

    def objects(self, s: Term, p: str) -> list[Term]:
        """The objects of ``s p ?o``, in the order first stated."""
        return list(self._spo.get(s, {}).get(p, ()))

    def one(self, s: Term, p: str) -> Term | None:
        """The first object of ``s p ?o``, if any."""
        objects = self._spo.get(s, {}).get(p)
        return objects[0] if objects else None

    def subjects(self, p: str, o: Term | None = None) -> list[Term]:
        """The subjects of ``?s p o`` (any object when ``o`` is None)."""
        by_object = self._pos.get(p, {})
        if o is not None:
            return list(by_object.get(o, ()))
        out: dict[Term, None] = {}
        for subjects in by_object.values():
            out.update(dict.fromkeys(subjects))
        return list(out)

    def all_objects(self, p: str) -> list[Term]:
        """Every object of a triple with predicate ``p``."""
        return list(self._pos.get(p, {}))

    def predicates(self, s: Term) -> dict[str, list[Term]]:
        """Every predicate of ``s`` with its objects."""
        return {p: list(o) for p, o in self._spo.get(s, {}).items()}

    def referrer(self, node: Term) -> Term | None:
        """A subject that points to ``node`` (through the cells of an RDF list it is a member of)."""
        seen: set[Term] = set()
        while node not in seen:
            seen.add(node)
            parents = self._referrers.get(node, [])
            if not parents:
                return None
            parent = parents[0]
            if not (self.objects(parent, RDF + "first") or self.objects(parent, RDF + "rest")):
                return parent
            node = parent
        return None

    def triples(self) -> Iterable[tuple[Term, str, Term]]:
        """Every triple, as (subject, predicate IRI, object)."""
        for s, by_p in self._spo.items():
            for p, objects in by_p.items():
                for o in objects:
                    yield s, p, o

    def items(self, head: Term) -> list[Term]:
        """The members of an RDF list; a list that is not well-formed (SHACL 1.4) is refused."""
        out: list[Term] = []
        seen: set[Term] = set()
        node = head
        while not (isinstance(node, ox.NamedNode) and node.value == RDF + "nil"):
            first, rest = self.objects(node, RDF + "first"), self.objects(node, RDF + "rest")
            if node in seen or len(first) != 1 or len(rest) != 1 or isinstance(node, ox.Literal):
                raise UnsupportedShape(
                    f"{_name(head)}: ill-formed RDF list (SHACL lists need one rdf:first and one rdf:rest per node, no cycle)"
                )
            seen.add(node)
            out.append(first[0])
            node = rest[0]
        return out

    def instances(self, cls: str) -> set[Term]:
        """The SHACL instances of ``cls``: rdf:type it or one of its rdfs:subClassOf* subclasses here."""
        classes: set[Term] = {ox.NamedNode(cls)}
        todo: list[Term] = [ox.NamedNode(cls)]
        while todo:
            for sub in self.subjects(RDFS + "subClassOf", todo.pop()):
                if sub not in classes:
                    classes.add(sub)
                    todo.append(sub)
        return {s for c in classes for s in self.subjects(RDF + "type", c)}


@dataclass(frozen=True)
class Check:
    """One compiled constraint: a SELECT of ?this ?value ?path (and message variables) and how to report its rows."""

    query: str
    shape: Term
    component: str
    severity: str
    path: Term | None
    path_text: str
    messages: tuple[ox.Literal, ...]
    constraint: Term | None = None
    union: bool = True
    #: a SPARQL-based constraint: ?value defaults to the focus of a node shape, ?message and {?var} templates apply
    sparql: bool = False
    node_shape: bool = True
    templates: tuple[str, ...] = ()
    #: the result path is the predicate in the row's ?path (a closed shape's, or a SPARQL constraint's)
    path_from_row: bool = False
    #: target literals Oxigraph canonicalised (N-Triples of the canonical form -> the term as stated)
    restore: tuple[tuple[str, Term], ...] = ()


@dataclass(frozen=True)
class Result:
    """One validation result, as SHACL's validation report defines it."""

    focus: Term
    value: Term | None
    path: Term | None  # a path node of the shapes graph, or the predicate a closed shape does not allow
    path_text: str
    shape: Term
    component: str
    severity: str
    messages: tuple[ox.Literal, ...]
    constraint: Term | None = None

    @property
    def message(self) -> str:
        """The messages in words, as ``kg validate`` prints them."""
        texts = sorted(m.value for m in self.messages)
        if texts:
            return " / ".join(texts)
        local = self.component.rsplit("#", 1)[-1].removesuffix("ConstraintComponent")
        return f"{local[:1].lower()}{local[1:]} constraint not met"


def _name(node: object) -> str:
    """A node as an error message names it: a CURIE, an IRI, a blank node label or a literal."""
    if isinstance(node, ox.NamedNode):
        return compact(node.value)
    if isinstance(node, ox.BlankNode):
        return f"_:{node.value}"
    return str(node)


def _refuse(shape: Term, what: str) -> UnsupportedShape:
    return UnsupportedShape(
        f"shape {_name(shape)}: {what} is not supported by the compiled SHACL engine; use --engine pyshacl"
    )


def _ill_formed(shape: Term, what: str) -> UnsupportedShape:
    return UnsupportedShape(f"shape {_name(shape)}: ill-formed: {what}")


def _sparql_term(term: Term, shape: Term, role: str) -> str:
    """A term as a SPARQL constant; a blank node has no such form (it would be a variable)."""
    if isinstance(term, ox.BlankNode):
        raise _refuse(shape, f"a blank node as {role}")
    return str(term)


def _is_true(term: Term | None) -> bool:
    """Whether a switch (sh:closed, sh:deactivated...) is on: only ``true`` is (SHACL names no other form)."""
    return isinstance(term, ox.Literal) and term.value == "true" and term.datatype.value == XSD + "boolean"


@functools.lru_cache(maxsize=4096)
def _canonical(ntriples: str) -> str:
    """How Oxigraph writes a literal back (its canonical form: ``4.0``^^xsd:decimal is ``4``)."""
    rows = list(select(ox.Store(), f"SELECT ?x WHERE {{ VALUES ?x {{ {ntriples} }} }}"))
    return str(rows[0]["x"]) if rows and rows[0]["x"] is not None else ntriples


def _xpath_only(pattern: str) -> bool:
    """Whether a pattern uses XPath regex syntax Oxigraph reads differently.

    Character class subtraction (``[a-z-[aeiou]]``), the XML name escapes
    ``\\i \\c \\I \\C`` and Unicode block escapes (``\\p{IsBasicLatin}``).
    """
    depth, i = 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            if pattern[i + 1 : i + 2] in ("i", "c", "I", "C") or pattern[i + 1 : i + 5] in ("p{Is", "P{Is"):
                return True
            i += 2
            continue
        if c == "[":
            if depth and pattern[i - 1] == "-":
                return True
            depth += 1
        elif c == "]" and depth:
            depth -= 1
        i += 1
    return False


@functools.lru_cache(maxsize=1024)
def _regex_ok(pattern: str, flags: str) -> bool:
    """Whether Oxigraph's REGEX accepts the pattern and flags (else every value would silently pass)."""
    args = str(ox.Literal(pattern)) + (f", {ox.Literal(flags)}" if flags else "")
    try:
        rows = list(select(ox.Store(), f"SELECT (REGEX('', {args}) AS ?x) WHERE {{}}"))
    except SyntaxError:
        return False
    return bool(rows) and rows[0]["x"] is not None


def _well_typed(v: str, datatype: str) -> str:
    """A SPARQL test: ``v`` is a literal of ``datatype`` whose lexical form is valid for it.

    SHACL's ``sh:datatype`` rejects ill-typed literals (``"2018-13-45"^^xsd:date``),
    which Oxigraph stores as they are: the cast of the lexical form fails on them.
    """
    dt = f"<{datatype}>"
    if datatype == RDF + "langString":
        return f"(isLiteral({v}) && lang({v}) != '')"
    base = f"isLiteral({v}) && datatype({v}) = {dt}"
    if datatype in CASTABLE:
        return f"({base} && COALESCE(isLiteral({dt}(STR({v}))), false))"
    if LEXICAL.get(datatype):
        return f"({base} && REGEX(STR({v}), {ox.Literal(LEXICAL[datatype])}))"
    return f"({base})"


# ---------------------------------------------------------------- SPARQL text of sh:select

_SPARQL_TOKEN = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""'
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'(?:[^'\\\n]|\\.)*'"
    r"|<[^<>\"{}|^`\\\x00-\x20]*>"
    r"|#[^\n]*"
    r"|[?$][A-Za-z0-9_\u00b7\u00c0-\ufffd]+"
    r"|[A-Za-z_][\w.\-]*:[^\s{}()\[\];,]*|:[^\s{}()\[\];,]*"
    r"|[A-Za-z_]\w*"
    r"|\s+|.",
    re.S,
)
#: the variables SHACL pre-binds in a SPARQL-based constraint
PREBOUND = ("this", "currentShape", "shapesGraph")
_TEMPLATE = re.compile(r"\{[?$]([A-Za-z0-9_]+)\}")
#: the variables that bind the focus nodes of the parents of a nested property shape
_ANCESTOR = re.compile(r"\?_f[0-9]+\b")


def _tokens(text: str) -> list[str]:
    return _SPARQL_TOKEN.findall(text)


def _is_var(token: str) -> bool:
    return token[:1] in "?$" and len(token) > 1


@dataclass(frozen=True)
class Select:
    """A SPARQL constraint's query, checked and rewritten (see :func:`_prepare_select`)."""

    prologue: str  # PREFIX / BASE lines the text itself declares
    body: str  # the SELECT query
    #: where the top-level WHERE group opens in ``body``, if joining the focus nodes there means pre-binding
    join_at: int | None


_AGGREGATES = {"COUNT", "SUM", "MIN", "MAX", "AVG", "SAMPLE", "GROUP_CONCAT", "GROUP", "HAVING", "LIMIT", "OFFSET"}


def _prepare_select(text: str, shape: Term, this: str, path: str | None, suffix: str = "") -> Select:
    """Check a constraint's SELECT against SHACL's pre-binding rules, and rewrite its variables.

    ``$this`` becomes ``this``, ``$PATH`` the shape's path, ``$currentShape`` the
    shape, and (with ``suffix``) every other variable gets the suffix, so it
    cannot meet a variable of the query it is nested in. SHACL 5.2.1 forbids
    ``MINUS``, ``VALUES``, ``SERVICE``, ``AS`` a pre-bound variable and
    sub-queries that do not return ``$this``: those are refused.

    Pre-binding ``$this`` means evaluating the query once per focus node with
    ``$this`` replaced (Oxigraph's ``LATERAL`` does that). Joining the focus nodes
    into the top-level ``WHERE`` group gives the same answers, much faster, when
    every use of ``$this`` in an expression sits in that group (or in an
    ``EXISTS`` of it; a sub-query returns ``$this``, so it joins on it) and the
    query itself aggregates and limits nothing: :attr:`Select.join_at` says
    where, or None.
    """
    tokens = _tokens(text)
    words = [(i, t) for i, t in enumerate(tokens) if not t.isspace() and not t.startswith("#")]
    selects = [k for k, (_, t) in enumerate(words) if t.upper() == "SELECT"]
    if not selects:
        raise _ill_formed(shape, "sh:select is not a SELECT query")
    for k, (_, t) in enumerate(words):
        up = t.upper()
        if up in ("MINUS", "VALUES", "SERVICE"):
            raise _refuse(shape, f"{up} in a SPARQL constraint (SHACL forbids it with pre-bound $this)")
        if up == "AS" and k + 1 < len(words) and _is_var(words[k + 1][1]) and words[k + 1][1][1:] in PREBOUND:
            raise _refuse(shape, f"AS {words[k + 1][1]} in a SPARQL constraint (SHACL forbids rebinding it)")
        if _is_var(t) and t[1:] == "shapesGraph":
            raise _refuse(shape, "$shapesGraph in a SPARQL constraint")
        if _is_var(t) and t[1:] == "PATH" and path is None:
            raise _ill_formed(shape, "$PATH in the SPARQL constraint of a node shape")
    projections: list[list[str]] = []
    for k in selects:
        projected: list[str] = []
        for _, t in words[k + 1 :]:
            if t.upper() == "WHERE" or t == "{":
                break
            projected.append(t)
        projections.append(projected)
    for projected in projections[1:]:
        if "*" in projected or not any(_is_var(t) and t[1:] == "this" for t in projected):
            raise _refuse(shape, "a sub-query that does not project $this in a SPARQL constraint")
    where = next((k for k in range(selects[0], len(words)) if words[k][1] == "{"), None)
    if where is None:
        raise _ill_formed(shape, "sh:select has no WHERE group")
    # the top-level query's own projection and solution modifiers (after its WHERE group)
    close, depth = None, 0
    for k in range(where, len(words)):
        depth += (words[k][1] == "{") - (words[k][1] == "}")
        if depth == 0:
            close = k
            break
    top_level = projections[0] + [t for _, t in words[close + 1 :]] if close is not None else ["GROUP"]
    joinable = not any(t.upper() in _AGGREGATES for t in top_level)
    depth, projects_this = 0, False
    for t in projections[0]:
        depth += (t == "(") - (t == ")")
        projects_this = projects_this or (depth == 0 and _is_var(t) and t[1:] == "this")
    if not projects_this:
        # Pre-binding reaches into a query only through what it projects (as into a sub-query).
        raise _refuse(shape, "a SPARQL constraint whose SELECT does not project $this")
    # (safe for an expression using $this, inside an EXISTS reached from a safe place, open parentheses)
    stack: list[list[object]] = [[True, False, 0]]
    previous = ""
    for _, t in words[where + 1 :]:
        if not joinable or not stack:
            break
        top = stack[-1]
        if t == "{":
            parent_safe, parent_exists = bool(top[0]), bool(top[1])
            if previous.upper() == "EXISTS":
                stack.append([parent_safe, parent_safe, 0])
            else:
                stack.append([parent_exists, parent_exists, 0])
        elif t == "}":
            stack.pop()
        elif t == "(":
            top[2] = int(str(top[2])) + 1
        elif t == ")":
            top[2] = int(str(top[2])) - 1
        elif _is_var(t) and t[1:] == "this" and int(str(top[2])) > 0 and not top[0]:
            joinable = False
        previous = t
    out: list[str] = []
    for t in tokens:
        if _is_var(t):
            name = t[1:]
            if name == "this":
                t = this
            elif name == "PATH" and path is not None:
                t = path
            elif name == "currentShape":
                t = _sparql_term(shape, shape, "$currentShape")
            elif suffix:
                t = f"?{name}{suffix}"
            elif re.fullmatch(r"_[a-z]+[0-9]+", name):
                joinable = False  # it could meet a variable of the focus pattern
        out.append(t)
    first = words[selects[0]][0]
    prologue, body = "".join(out[:first]), "".join(out[first:])
    join_at = len("".join(out[first : words[where][0] + 1])) if joinable else None
    return Select(prologue, body, join_at)


# ---------------------------------------------------------------- the compiler


class _Compiler:
    """Compiles one shapes graph (against one data store, for the class closure)."""

    def __init__(self, g: Graph, data: ox.Store | None, union: bool):
        self.g = g
        self.data = data
        self.union = union
        self.n = 0
        self.closure: dict[str, list[str]] = {}
        self.checks: list[Check] = []
        self.emitting: list[Term] = []
        self.expanding: list[Term] = []
        self.paths: dict[Term, tuple[str, bool, str]] = {}
        self.classes = g.instances(RDFS + "Class")

    def fresh(self, stem: str = "v") -> str:
        """A variable no other part of the query uses."""
        self.n += 1
        return f"?_{stem}{self.n}"

    # ------------------------------------------------------------ finding and checking shapes
    def refuse_advanced(self) -> None:
        """Features outside SHACL Core and SPARQL constraints, wherever they appear in the shapes graph."""
        for s, p, o in self.g.triples():
            if p in ADVANCED_PREDICATES:
                raise _refuse(s, ADVANCED_PREDICATES[p])
            if p == OWL_IMPORTS and not self.g.predicates(o):
                raise _refuse(s, f"owl:imports of {_name(o)} (give every shapes file to --shapes instead)")
        for t, what in ADVANCED_TYPES.items():
            for s in self.g.instances(t):
                raise _refuse(s, what)

    def find_shapes(self) -> set[Term]:
        """Every shape of the shapes graph (SHACL 2.1)."""
        shapes: set[Term] = set()
        shapes |= self.g.instances(SH + "NodeShape") | self.g.instances(SH + "PropertyShape")
        for key in TARGETS + PARAMETERS:
            shapes.update(self.g.subjects(SH + key))
        for key in ("node", "property", "qualifiedValueShape", "not"):
            shapes.update(self.g.all_objects(SH + key))
        for key in ("and", "or", "xone"):
            for head in self.g.all_objects(SH + key):
                shapes.update(self.g.items(head))
        return shapes

    def path(self, shape: Term) -> tuple[str, bool, str] | None:
        """The shape's path: (SPARQL property path, can it be of length zero, words); None for a node shape."""
        node = self.g.one(shape, SH + "path")
        if node is None:
            return None
        if node not in self.paths:
            self.paths[node] = self._path(shape, node, ())
        return self.paths[node]

    def _path(self, shape: Term, node: Term, seen: tuple[Term, ...]) -> tuple[str, bool, str]:
        if isinstance(node, ox.NamedNode):
            return str(node), False, compact(node.value)
        if not isinstance(node, ox.BlankNode) or node in seen:
            raise _ill_formed(shape, f"sh:path {_name(node)} (SHACL 2.3.1)")
        seen = (*seen, node)
        keys = {p for p in self.g.predicates(node) if p.startswith(SH) or p in (RDF + "first", RDF + "rest")}
        if RDF + "first" in keys:
            if keys - {RDF + "first", RDF + "rest"}:
                raise _ill_formed(shape, f"sh:path {_name(node)} is a list and something else")
            members = [self._path(shape, m, seen) for m in self.g.items(node)]
            if len(members) < 2:
                raise _ill_formed(shape, "a sequence path needs at least two members")
            return (
                "(" + "/".join(m[0] for m in members) + ")",
                all(m[1] for m in members),
                "/".join(m[2] for m in members),
            )
        kinds = {SH + "alternativePath", SH + "inversePath", SH + "zeroOrMorePath", SH + "oneOrMorePath"}
        kinds |= {SH + "zeroOrOnePath"}
        if len(keys) != 1 or not keys <= kinds or len(self.g.objects(node, next(iter(keys)))) != 1:
            raise _ill_formed(shape, f"sh:path {_name(node)} (SHACL 2.3.1)")
        key = next(iter(keys))
        inner = self.g.one(node, key)
        assert inner is not None
        if key == SH + "alternativePath":
            members = [self._path(shape, m, seen) for m in self.g.items(inner)]
            if len(members) < 2:
                raise _ill_formed(shape, "an alternative path needs at least two members")
            return (
                "(" + "|".join(m[0] for m in members) + ")",
                any(m[1] for m in members),
                "(" + "|".join(m[2] for m in members) + ")",
            )
        text, nullable, words = self._path(shape, inner, seen)
        words = words if isinstance(inner, ox.NamedNode) else f"({words})"
        if key == SH + "inversePath":
            return f"^({text})", nullable, f"^{words}"
        if key == SH + "zeroOrMorePath":
            return f"({text})*", True, f"{words}*"
        if key == SH + "oneOrMorePath":
            return f"({text})+", nullable, f"{words}+"
        return f"({text})?", True, f"{words}?"

    def check_shape(self, s: Term) -> None:
        """Refuse what this shape uses and the compiler does not implement, or what is ill-formed."""
        g = self.g
        if not isinstance(s, ox.NamedNode | ox.BlankNode):
            raise _ill_formed(s, "a literal used as a shape")
        keys = g.predicates(s)
        allowed = SHAPE_KEYS | ({"select"} if g.subjects(SH + "sparql", s) else set())
        for p in keys:
            if p.startswith(SH) and p[len(SH) :] not in allowed:
                raise _refuse(s, f"sh:{p[len(SH) :]}")

        def values(key: str) -> list[Term]:
            return keys.get(SH + key, [])

        def single(key: str) -> Term | None:
            found = values(key)
            if len(found) > 1:
                raise _ill_formed(s, f"more than one sh:{key}")
            return found[0] if found else None

        def integer(key: str) -> None:
            for n in values(key):
                if not (isinstance(n, ox.Literal) and re.fullmatch(r"[+]?[0-9]+", n.value)):
                    raise _ill_formed(s, f"sh:{key} {_name(n)} is not a non-negative integer")

        def boolean(key: str) -> None:
            v = single(key)
            if v is not None and not (isinstance(v, ox.Literal) and v.value in ("true", "false", "1", "0")):
                raise _ill_formed(s, f"sh:{key} {_name(v)} is not a boolean")

        def iris(key: str) -> None:
            for v in values(key):
                if not isinstance(v, ox.NamedNode):
                    raise _ill_formed(s, f"sh:{key} {_name(v)} is not an IRI")

        path = self.path(s)
        single("path")
        if path is None:
            for key in PROPERTY_ONLY:
                if values(key):
                    raise _ill_formed(s, f"sh:{key} on a node shape")
        for key in ("minCount", "maxCount", "minLength", "maxLength", "qualifiedMinCount", "qualifiedMaxCount"):
            integer(key)
        for key in ("deactivated", "closed", "uniqueLang", "qualifiedValueShapesDisjoint"):
            boolean(key)
        for key in ("class", "datatype", "equals", "disjoint", "lessThan", "lessThanOrEquals", "targetClass"):
            iris(key)
        for key in ("targetSubjectsOf", "targetObjectsOf", "severity"):
            iris(key)
        single("severity")
        for dt in values("datatype"):
            self.check_datatype(s, dt.value)
        for kind in values("nodeKind"):
            if not isinstance(kind, ox.NamedNode) or kind.value not in NODE_KINDS:
                raise _ill_formed(s, f"sh:nodeKind {_name(kind)}")
        for key in ("in", "languageIn", "ignoredProperties", "and", "or", "xone"):
            for head in values(key):
                members = g.items(head)
                if key == "languageIn" and not all(isinstance(m, ox.Literal) for m in members):
                    raise _ill_formed(s, "sh:languageIn members must be literals")
                if key == "in":
                    for m in members:
                        _sparql_term(m, s, "a member of sh:in")
        for h in values("hasValue"):
            _sparql_term(h, s, "sh:hasValue")
        for t in values("targetNode"):
            _sparql_term(t, s, "sh:targetNode")
        patterns, flags = values("pattern"), values("flags")
        if len(flags) > 1 or (flags and len(patterns) != 1):
            raise _ill_formed(s, "sh:flags needs exactly one sh:pattern and one sh:flags")
        flag = flags[0].value if flags and isinstance(flags[0], ox.Literal) else ""
        if flags and not re.fullmatch(r"[smixq]*", flag):
            raise _ill_formed(s, f"sh:flags {flag!r} (SHACL allows s, m, i, x, q)")
        for pattern in patterns:
            if not isinstance(pattern, ox.Literal) or not _regex_ok(pattern.value, flag):
                raise _refuse(s, f"sh:pattern {_name(pattern)} (not a regular expression Oxigraph's REGEX accepts)")
            if _xpath_only(pattern.value):
                raise _refuse(
                    s,
                    f"sh:pattern {_name(pattern)} (XPath syntax, class subtraction or \\i \\c \\p{{Is..}}, "
                    "that Oxigraph's REGEX reads differently)",
                )
        qualified = values("qualifiedValueShape")
        if len(qualified) > 1:
            raise _refuse(s, "more than one sh:qualifiedValueShape on one shape")
        if len(values("qualifiedMinCount")) > 1 or len(values("qualifiedMaxCount")) > 1:
            raise _refuse(s, "more than one qualified cardinality on one shape")
        for c in values("sparql"):
            self.check_sparql(s, c, path)
        if any(isinstance(t, ox.Literal) and _canonical(str(t)) != str(t) for t in values("targetNode")):
            used = self.keys_on_focus(s, ())
            lexical = sorted(k for k in LEXICAL_KEYS if k in used)
            if lexical:
                raise _refuse(
                    s,
                    f"sh:{lexical[0]} on a target literal the Oxigraph store rewrites "
                    f"({next(_name(t) for t in values('targetNode') if isinstance(t, ox.Literal) and _canonical(str(t)) != str(t))})",
                )

    def keys_on_focus(self, s: Term, seen: tuple[Term, ...]) -> set[str]:
        """The parameters that apply to a node shape's focus node itself (through sh:node, sh:and...)."""
        if s in seen:
            return set()
        keys = {p[len(SH) :] for p in self.g.predicates(s) if p.startswith(SH)}
        if self.g.one(s, SH + "path") is not None:
            return set()
        for key in ("node", "not"):
            for t in self.g.objects(s, SH + key):
                keys |= self.keys_on_focus(t, (*seen, s))
        for key in ("and", "or", "xone"):
            for head in self.g.objects(s, SH + key):
                for t in self.g.items(head):
                    keys |= self.keys_on_focus(t, (*seen, s))
        return keys

    def check_datatype(self, s: Term, datatype: str) -> None:
        """Refuse a datatype whose literals this engine cannot check as SHACL says."""
        if datatype in REWRITTEN:
            raise _refuse(
                s,
                f"sh:datatype {compact(datatype)} (the Oxigraph store keeps its literals as another datatype, "
                "so they cannot be told apart)",
            )
        known = (
            datatype in CASTABLE
            or datatype in LEXICAL
            or datatype in (XSD + "string", RDF + "langString", RDF + "HTML")
        )
        if not known and (datatype.startswith(XSD) or datatype.startswith(RDF)):
            raise _refuse(s, f"sh:datatype {compact(datatype)} (its lexical space is not checked)")

    def check_sparql(self, s: Term, c: Term, path: tuple[str, bool, str] | None) -> None:
        """Refuse what a SPARQL-based constraint uses and this engine does not implement."""
        for p in self.g.predicates(c):
            local = p[len(SH) :] if p.startswith(SH) else None
            if local is not None and local not in SHAPE_KEYS | {"select"}:
                raise _refuse(s, f"sh:{local} on a SPARQL constraint")
        texts = self.g.objects(c, SH + "select")
        if len(texts) != 1 or not isinstance(texts[0], ox.Literal):
            raise _ill_formed(s, f"the SPARQL constraint {_name(c)} needs exactly one sh:select")
        self.prefixes(s, c)
        _prepare_select(texts[0].value, s, "?this", path[0] if path else None)

    def prefixes(self, s: Term, c: Term) -> str:
        """PREFIX lines for the declarations a SPARQL constraint points to with sh:prefixes."""
        lines = []
        ontologies: list[Term] = []
        todo = self.g.objects(c, SH + "prefixes")
        while todo:
            onto = todo.pop(0)
            if onto not in ontologies:
                ontologies.append(onto)
                todo += self.g.objects(onto, OWL_IMPORTS)
        for onto in ontologies:
            for decl in self.g.objects(onto, SH + "declare"):
                prefix, namespace = self.g.one(decl, SH + "prefix"), self.g.one(decl, SH + "namespace")
                if not isinstance(prefix, ox.Literal) or not isinstance(namespace, ox.Literal | ox.NamedNode):
                    raise _ill_formed(s, f"prefix declaration {_name(decl)}")
                lines.append(f"PREFIX {prefix.value}: <{value(namespace)}>")
        return "\n".join(lines)

    def describe(self, node: Term, depth: int = 0) -> str:
        """A node as the author of the shapes file can find it: ``ex:Shape > [ sh:path ex:p ]``."""
        if not isinstance(node, ox.BlankNode):
            return _name(node)
        path = self.g.one(node, SH + "path")
        words = "a blank node"
        if path is not None:
            try:
                words = f"[ sh:path {self._path(node, path, ())[2]} ]"
            except UnsupportedShape:
                words = "[ sh:path (ill-formed) ]"
        parent = self.g.referrer(node)
        if parent is None or depth > 5:
            return words
        return f"{self.describe(parent, depth + 1)} > {words}"

    # ------------------------------------------------------------ compiling
    def compile(self, shapes: set[Term], closure: dict[str, list[str]]) -> list[Check]:
        """Every result-producing query of every targeted shape (after every shape was checked), classes matched
        through ``closure`` (:meth:`class_closure`)."""
        for s in sorted(shapes, key=str):
            self.check_shape(s)
        self.closure = closure
        for s in sorted(shapes, key=str):
            if self.targets(s, "?this"):
                self.emit(s, functools.partial(self.targets, s), targeted=True)
        return self.checks

    def class_closure(self, shapes: set[Term]) -> dict[str, list[str]]:
        """Each class the shapes target or require, with its subclasses in the data (nothing without data)."""
        closure: dict[str, list[str]] = {}
        if self.data is not None:
            wanted = set(self.g.all_objects(SH + "targetClass")) | set(self.g.all_objects(SH + "class"))
            wanted |= self.classes & shapes
            for c in wanted:
                if isinstance(c, ox.NamedNode):
                    rows = select(self.data, f"SELECT DISTINCT ?c WHERE {{ ?c <{RDFS}subClassOf>* {c} }}", self.union)
                    found = {value(r["c"]) for r in rows if isinstance(r["c"], ox.NamedNode)}
                    closure[c.value] = sorted(found | {c.value})
        return closure

    def is_a(self, v: str, cls: Term) -> str:
        """A pattern: ``v`` is a SHACL instance of class ``cls`` (rdf:type, then rdfs:subClassOf*)."""
        members = self.closure.get(value(cls))
        if members is None:
            return f"{v} <{RDF}type>/<{RDFS}subClassOf>* {cls} ."
        var = self.fresh("cls")
        return f"VALUES {var} {{ {' '.join(f'<{m}>' for m in members)} }} {v} <{RDF}type> {var} ."

    def targets(self, s: Term, var: str) -> str:
        """A pattern binding ``var`` to each focus node of the shape's targets ('' when it has none)."""
        g = self.g
        parts = []
        nodes = g.objects(s, SH + "targetNode")
        if nodes:
            parts.append(f"VALUES {var} {{ {' '.join(_sparql_term(n, s, 'sh:targetNode') for n in nodes)} }}")
        classes = g.objects(s, SH + "targetClass")
        if s in self.classes and s not in classes:
            classes.append(s)
        parts += [self.is_a(var, c) for c in classes]
        # each focus once: in the union of the graphs a resource every file restates (a journal, a term) is a
        # subject once per file, and a constraint that pairs its values ran once per copy (one-label shape: 167 s
        # for 1,000 files, review 40)
        # (the LIMIT, far above any count, keeps them so: Oxigraph moved a constraint's FILTER into the DISTINCT
        # sub-select, so it ran once per triple, not per focus; 8,000 labels of one subject took 25 s, review 42)
        parts += [
            f"{{ SELECT DISTINCT {var} WHERE {{ {var} {p} {self.fresh('t')} }} LIMIT {_UNCAPPED} }}"
            for p in g.objects(s, SH + "targetSubjectsOf")
        ]
        parts += [
            f"{{ SELECT DISTINCT {var} WHERE {{ {self.fresh('t')} {p} {var} }} LIMIT {_UNCAPPED} }}"
            for p in g.objects(s, SH + "targetObjectsOf")
        ]
        if len(parts) <= 1:
            return "".join(parts)
        return " UNION ".join(f"{{ {p} }}" for p in parts)

    def values(self, s: Term, x: str, v: str) -> str:
        """A pattern binding ``v`` to each value node of property shape ``s`` at focus ``x`` (bound before it).

        A path that can be of length zero reaches the focus node itself, even one
        the graph does not hold, which Oxigraph's property paths do not return.
        """
        path = self.path(s)
        assert path is not None
        if not path[1]:
            return f"{x} {path[0]} {v} ."
        return f"LATERAL {{ {{ {x} {path[0]} {v} }} UNION {{ BIND({x} AS {v}) }} }}"

    def constraints(
        self, s: Term, x: str, focus: Callable[[str], str] | None
    ) -> list[tuple[str, str, str | None, str | None, str | None]]:
        """Each constraint of the shape: (component, pattern, value variable, path variable, key variable).

        The pattern has a solution for each result at focus ``x``: with ``focus``
        it binds ``x`` itself (results); without, ``x`` is bound by the ``EXISTS``
        it is placed in (conformance of a nested shape).
        """
        g = self.g
        head = focus(x) if focus is not None else ""
        path = self.path(s)
        node = path is None
        val = x if node else self.fresh()
        vals = "" if node else self.values(s, x, val)
        out: list[tuple[str, str, str | None, str | None, str | None]] = []

        def add(comp: str, body: str, v: str | None = val, p: str | None = None, key: str | None = None) -> None:
            out.append((SH + comp + "ConstraintComponent", f"{head} {body}", v, p, key))

        def each_value(comp: str, cond: str) -> None:
            add(comp, f"{vals} FILTER({cond})")

        for c in g.objects(s, SH + "class"):
            each_value("Class", f"NOT EXISTS {{ {self.is_a(val, c)} }}")
        for dt in g.objects(s, SH + "datatype"):
            each_value("Datatype", f"!{_well_typed(val, dt.value)}")
        for kind in g.objects(s, SH + "nodeKind"):
            each_value("NodeKind", "!" + NODE_KINDS[kind.value].format(v=val))
        for key, op in (("minExclusive", ">"), ("minInclusive", ">="), ("maxExclusive", "<"), ("maxInclusive", "<=")):
            for bound in g.objects(s, SH + key):
                each_value(
                    key[0].upper() + key[1:], f"!COALESCE({val} {op} {_sparql_term(bound, s, 'a bound')}, false)"
                )
        for n in g.objects(s, SH + "minLength"):
            each_value("MinLength", f"isBlank({val}) || STRLEN(STR({val})) < {int(n.value)}")
        for n in g.objects(s, SH + "maxLength"):
            each_value("MaxLength", f"isBlank({val}) || STRLEN(STR({val})) > {int(n.value)}")
        flags = g.one(s, SH + "flags")
        for pattern in g.objects(s, SH + "pattern"):
            extra = f", {ox.Literal(flags.value)}" if flags is not None else ""
            each_value("Pattern", f"isBlank({val}) || !REGEX(STR({val}), {ox.Literal(pattern.value)}{extra})")
        for head_node in g.objects(s, SH + "languageIn"):
            tags = g.items(head_node)
            matches = " || ".join(f"langMatches(lang({val}), {ox.Literal(t.value)})" for t in tags) or "false"
            each_value("LanguageIn", f"!(isLiteral({val}) && ({matches}))")
        for head_node in g.objects(s, SH + "in"):
            members = g.items(head_node)
            same = " || ".join(f"sameTerm({val}, {_sparql_term(m, s, 'a member of sh:in')})" for m in members)
            each_value("In", f"!({same or 'false'})")
        for t in g.objects(s, SH + "node"):
            each_value("Node", f"EXISTS {{ {self.violation(t, val)} }}")
        for t in g.objects(s, SH + "not"):
            each_value("Not", f"NOT EXISTS {{ {self.violation(t, val)} }}")
        for head_node in g.objects(s, SH + "and"):
            members = g.items(head_node)
            each_value("And", " || ".join(f"EXISTS {{ {self.violation(t, val)} }}" for t in members) or "false")
        for head_node in g.objects(s, SH + "or"):
            members = g.items(head_node)
            each_value("Or", " && ".join(f"EXISTS {{ {self.violation(t, val)} }}" for t in members) or "true")
        for head_node in g.objects(s, SH + "xone"):
            members = g.items(head_node)
            tally = " + ".join(f"IF(EXISTS {{ {self.violation(t, val)} }}, 0, 1)" for t in members) or "0"
            each_value("Xone", f"({tally}) != 1")
        for h in g.objects(s, SH + "hasValue"):
            term = _sparql_term(h, s, "sh:hasValue")
            if node:
                add("HasValue", f"FILTER(!sameTerm({x}, {term}))", None)
            else:
                add("HasValue", f"FILTER NOT EXISTS {{ {vals} FILTER(sameTerm({val}, {term})) }}", None)
        for n in g.objects(s, SH + "minCount"):
            count = int(n.value)
            if count == 1:
                add("MinCount", f"FILTER NOT EXISTS {{ {vals} }}", None)
            elif count > 1:
                add(
                    "MinCount",
                    f"FILTER NOT EXISTS {{ SELECT {x} WHERE {{ {vals} }} GROUP BY {x} "
                    f"HAVING (COUNT(DISTINCT {val}) >= {count}) }}",
                    None,
                )
        for n in g.objects(s, SH + "maxCount"):
            count = int(n.value)
            if count == 0:
                add("MaxCount", f"FILTER EXISTS {{ {vals} }}", None)
            else:  # counted, not paired: in the union a value every file restates is there once per file, and
                # pairing its copies cost their number squared (the one-label shape: 43 s of 58 for 1,000 files)
                add(
                    "MaxCount",
                    f"FILTER EXISTS {{ SELECT {x} WHERE {{ {vals} }} GROUP BY {x} "
                    f"HAVING (COUNT(DISTINCT {val}) > {count}) }}",
                    None,
                )
        if _is_true(g.one(s, SH + "uniqueLang")):
            other = self.fresh()
            add(
                "UniqueLang",
                f"{vals} {self.values(s, x, other)} FILTER(!sameTerm({val}, {other}) && lang({val}) != '' "
                f"&& LCASE(lang({val})) = LCASE(lang({other})))",
                None,
                key=f"LCASE(lang({val}))",
            )
        for p2 in g.objects(s, SH + "equals"):
            other = self.fresh()
            if node:
                add(
                    "Equals",
                    f"LATERAL {{ {{ FILTER NOT EXISTS {{ {x} {p2} {x} }} BIND({x} AS {other}) }} "
                    f"UNION {{ {x} {p2} {other} . FILTER(!sameTerm({other}, {x})) }} }}",
                    other,
                )
            else:
                w = self.fresh()
                add(
                    "Equals",
                    f"LATERAL {{ {{ {vals} FILTER NOT EXISTS {{ {x} {p2} {val} }} BIND({val} AS {other}) }} "
                    f"UNION {{ {x} {p2} {other} . FILTER NOT EXISTS {{ {self.values(s, x, w)} "
                    f"FILTER(sameTerm({w}, {other})) }} }} }}",
                    other,
                )
        for p2 in g.objects(s, SH + "disjoint"):
            add("Disjoint", f"{vals} FILTER EXISTS {{ {x} {p2} {val} }}")
        for key, op in (("lessThan", "<"), ("lessThanOrEquals", "<=")):
            for p2 in g.objects(s, SH + key):
                other = self.fresh()
                add(
                    key[0].upper() + key[1:],
                    f"{vals} {x} {p2} {other} . FILTER(!COALESCE({val} {op} {other}, false))",
                    key=other,
                )
        if _is_true(g.one(s, SH + "closed")):
            allowed = [self.g.one(p, SH + "path") for p in g.objects(s, SH + "property")]
            names = {str(a) for a in allowed if isinstance(a, ox.NamedNode)}
            for head_node in g.objects(s, SH + "ignoredProperties"):
                names |= {_sparql_term(m, s, "a member of sh:ignoredProperties") for m in g.items(head_node)}
            p, o = self.fresh("p"), self.fresh("o")
            test = f"FILTER({p} NOT IN ({', '.join(sorted(names))}))" if names else ""
            add("Closed", f"{vals} {val} {p} {o} . {test}", o, p)
        qualified = g.one(s, SH + "qualifiedValueShape")
        if qualified is not None and not node:
            conforms = f"NOT EXISTS {{ {self.violation(qualified, val)} }}"
            if _is_true(g.one(s, SH + "qualifiedValueShapesDisjoint")):
                siblings = {
                    q
                    for parent in g.subjects(SH + "property", s)
                    for sibling in g.objects(parent, SH + "property")
                    for q in g.objects(sibling, SH + "qualifiedValueShape")
                } - {qualified}
                for sib in sorted(siblings, key=str):
                    conforms += f" && EXISTS {{ {self.violation(sib, val)} }}"
            for n in g.objects(s, SH + "qualifiedMinCount"):
                if int(n.value) > 0:
                    add(
                        "QualifiedMinCount",
                        f"FILTER NOT EXISTS {{ SELECT {x} WHERE {{ {vals} FILTER({conforms}) }} GROUP BY {x} "
                        f"HAVING (COUNT(DISTINCT {val}) >= {int(n.value)}) }}",
                        None,
                    )
            for n in g.objects(s, SH + "qualifiedMaxCount"):
                add(
                    "QualifiedMaxCount",
                    f"FILTER EXISTS {{ SELECT {x} WHERE {{ {vals} FILTER({conforms}) }} GROUP BY {x} "
                    f"HAVING (COUNT(DISTINCT {val}) > {int(n.value)}) }}",
                    None,
                )
        return out

    def sparql_constraints(self, s: Term) -> list[Term]:
        """The shape's SPARQL-based constraints that are not deactivated."""
        return [c for c in self.g.objects(s, SH + "sparql") if not _is_true(self.g.one(c, SH + "deactivated"))]

    def violation(self, s: Term, x: str) -> str:
        """A group pattern with a solution exactly when the node bound to ``x`` does not conform to shape ``s``."""
        if _is_true(self.g.one(s, SH + "deactivated")):
            return "FILTER(false)"
        if s in self.expanding:
            raise _refuse(
                s, "a recursive shape (it refers to itself through sh:node, sh:property or a logical constraint)"
            )
        self.expanding.append(s)
        try:
            parts = [pattern for _, pattern, _, _, _ in self.constraints(s, x, None)]
            path = self.path(s)
            for c in self.sparql_constraints(s):
                text = self.g.one(c, SH + "select")
                assert isinstance(text, ox.Literal)
                query = _prepare_select(text.value, s, x, path[0] if path else None, suffix=f"_{self.fresh('q')[2:]}")
                if query.prologue.strip() or self.prefixes(s, c):
                    raise _refuse(s, "a SPARQL constraint with prefixes inside sh:node, sh:not, sh:and, sh:or, sh:xone")
                parts.append(f"{{ {query.body} }}")
            for p in self.g.objects(s, SH + "property"):
                if path is None:
                    parts.append(self.violation(p, x))
                else:
                    v = self.fresh()
                    parts.append(f"{self.values(s, x, v)} FILTER EXISTS {{ {self.violation(p, v)} }}")
        finally:
            self.expanding.pop()
        if not parts:
            return "FILTER(false)"
        return " UNION ".join(f"{{ {p} }}" for p in parts)

    def emit(self, s: Term, focus: Callable[[str], str], targeted: bool = False) -> None:
        """The result queries of shape ``s`` at the focus nodes ``focus`` binds, and of its property shapes."""
        g = self.g
        if _is_true(g.one(s, SH + "deactivated")):
            return
        if s in self.emitting:
            raise _refuse(s, "a recursive shape (it is its own sh:property)")
        self.emitting.append(s)
        severity = g.one(s, SH + "severity")
        sev = severity.value if isinstance(severity, ox.NamedNode) else VIOLATION
        messages = tuple(m for m in g.objects(s, SH + "message") if isinstance(m, ox.Literal))
        path = self.path(s)
        path_node = g.one(s, SH + "path")
        restore: tuple[tuple[str, Term], ...] = ()
        if targeted:
            restore = tuple(
                (_canonical(str(t)), t)
                for t in g.objects(s, SH + "targetNode")
                if isinstance(t, ox.Literal) and _canonical(str(t)) != str(t)
            )
        common = functools.partial(
            Check,
            shape=s,
            severity=sev,
            path=path_node,
            path_text=path[2] if path else "",
            union=self.union,
            node_shape=path is None,
            restore=restore,
        )
        for comp, where, v, p, key in self.constraints(s, "?this", focus):
            columns = ["?this", f"({v} AS ?value)" if v else "", f"({p} AS ?path)" if p else ""]
            columns.append(f"({key} AS ?key)" if key else "")
            # A nested property shape reports once per focus node of its parent (SHACL reports each
            # time a shape is reached), so its parents' focus nodes are part of what is distinct.
            columns += sorted(set(_ANCESTOR.findall(where)))
            query = f"SELECT DISTINCT {' '.join(c for c in columns if c)} WHERE {{ {where} }}"
            self.checks.append(common(query=query, component=comp, messages=messages, path_from_row=p is not None))
        for c in self.sparql_constraints(s):
            text = g.one(c, SH + "select")
            assert isinstance(text, ox.Literal)
            prepared = _prepare_select(text.value, s, "?this", path[0] if path else None)
            c_messages = tuple(m for m in g.objects(c, SH + "message") if isinstance(m, ox.Literal))
            templates = sorted({m for msg in c_messages for m in _TEMPLATE.findall(msg.value)})
            outputs = " ".join(
                f"?{name}"
                for name in dict.fromkeys(["value", "path", "message", "failure", *templates])
                if name != "this"
            )
            focus_pattern = focus("?this")
            ancestors = " ".join(sorted(set(_ANCESTOR.findall(focus_pattern))))
            if prepared.join_at is not None and not ancestors:
                at = prepared.join_at
                where = f"{{ {prepared.body[:at]} {focus_pattern} {prepared.body[at:]} }}"
            else:
                where = (
                    f"{{ SELECT DISTINCT ?this {ancestors} WHERE {{ {focus_pattern} }} }} LATERAL {{ {prepared.body} }}"
                )
            text_query = (
                f"{self.prefixes(s, c)}\n{prepared.prologue}\n"
                f"SELECT DISTINCT ?this {outputs} {ancestors} WHERE {{ {where} }}"
            )
            self.checks.append(
                common(
                    query=text_query,
                    component=SH + "SPARQLConstraintComponent",
                    messages=c_messages,
                    constraint=c,
                    sparql=True,
                    templates=tuple(templates),
                    path_from_row=True,
                )
            )
        for child in g.objects(s, SH + "property"):
            if path is None:
                self.emit(child, focus)
            else:
                self.emit(child, functools.partial(self._value_focus, s, focus))
        self.emitting.pop()

    def _value_focus(self, s: Term, focus: Callable[[str], str], var: str) -> str:
        """The focus nodes of a property shape nested in property shape ``s``: the value nodes of ``s``."""
        parent = self.fresh("f")
        return f"{focus(parent)} {self.values(s, parent, var)}"


def compile_shapes(
    shapes: Graph | ox.Store | Iterable[ox.Triple | ox.Quad], data: ox.Store | None = None, union: bool = True
) -> list[Check]:
    """Every constraint of every targeted shape, as a SPARQL query (refusing what is not implemented).

    With ``data``, class membership is compiled against the subclass closure
    found in it (a ``VALUES`` list), which Oxigraph evaluates in linear time.
    ``union``: the data's default graph is the union of its named graphs.
    Raises :class:`~kg.errors.UnsupportedShape` naming the first feature the
    compiler does not implement, before compiling anything.
    """
    if isinstance(shapes, Graph):
        graph = shapes
    elif isinstance(shapes, ox.Store):
        graph = Graph(shapes.quads_for_pattern(None, None, None, None))
    else:
        graph = Graph(shapes)
    compiler = _Compiler(graph, data, union)
    try:
        compiler.refuse_advanced()
        found = compiler.find_shapes()
        closure = compiler.class_closure(found)  # what the checks depend on in the data
        key = (tuple((c, tuple(closure[c])) for c in sorted(closure)), union)
        if key not in graph.compiled:
            graph.compiled[key] = tuple(compiler.compile(found, closure))
        return list(graph.compiled[key])
    except UnsupportedShape as exc:
        # A blank node's label means nothing to the author of the shapes file: say where it is.
        message = re.sub(r"_:([A-Za-z0-9]+)", lambda m: compiler.describe(ox.BlankNode(m.group(1))), str(exc))
        raise UnsupportedShape(message) from None


# ---------------------------------------------------------------- running

Row = tuple[int, str, str | None, str | None, tuple[str, ...]]


def _fill(template: ox.Literal, row: ox.QuerySolution) -> str:
    """A SPARQL constraint's message with ``{?var}`` / ``{$var}`` replaced by the solution's values (N-Triples)."""

    def one(match: re.Match[str]) -> str:
        term = row[match.group(1)]
        return value(term) if term is not None else match.group(0)

    text = _TEMPLATE.sub(one, template.value)
    if template.language:
        return str(ox.Literal(text, language=template.language))
    return str(ox.Literal(text, datatype=template.datatype))


def _run_checks(store: ox.Store, checks: Sequence[Check], first: int = 0, step: int = 1) -> list[Row]:
    """Rows as (check index, focus, value, row path, messages): terms in N-Triples, to cross a pipe."""
    out: list[Row] = []
    for i in range(first, len(checks), step):
        check = checks[i]
        for row in select(store, check.query, check.union):
            focus = row["this"]
            if focus is None:
                continue
            val = row["value"]
            row_path = None
            messages: tuple[str, ...] = ()
            if check.path_from_row:
                path_term = row["path"]
                row_path = str(path_term) if isinstance(path_term, ox.NamedNode) else None
            if check.sparql:
                failure = row["failure"]
                if isinstance(failure, ox.Literal) and _is_true(failure):
                    raise UnsupportedShape(f"shape {_name(check.shape)}: its SPARQL constraint reported a failure")
                if val is None and check.node_shape:
                    val = focus
                message = row["message"]
                if isinstance(message, ox.Literal):
                    messages = (str(message),)
                elif check.templates:
                    messages = tuple(_fill(m, row) for m in check.messages)
            out.append((i, str(focus), str(val) if val is not None else None, row_path, messages))
    return out


def _worker(store: ox.Store, checks: Sequence[Check], first: int, step: int, conn: Connection) -> None:
    try:
        conn.send(_run_checks(store, checks, first, step))
    except Exception as exc:  # reported to the parent, which raises
        conn.send(exc)
    finally:
        conn.close()


def decode(text: str | None) -> Term | None:
    """A term back from its N-Triples form (what crosses the pipe from a worker)."""
    if text is None:
        return None
    if text.startswith("_:"):
        return ox.BlankNode(text[2:])
    triple = next(iter(ox.parse(f"<urn:x:s> <urn:x:p> {text} .".encode(), format=ox.RdfFormat.N_TRIPLES)))
    obj = triple.object
    if not isinstance(obj, ox.NamedNode | ox.BlankNode | ox.Literal):
        raise TypeError(f"not a term: {text}")
    return obj


def _result(check: Check, row: Row) -> Result:
    _, focus_text, value_text, path_text, message_texts = row
    restore = dict(check.restore)
    focus = restore.get(focus_text) or decode(focus_text)
    val = restore.get(value_text) if value_text is not None and value_text == focus_text else None
    val = val or decode(value_text)
    assert focus is not None
    messages = check.messages
    if message_texts:
        messages = tuple(m for m in (decode(t) for t in message_texts) if isinstance(m, ox.Literal))
    path: Term | None = check.path
    words = check.path_text
    if path_text is not None:
        path = decode(path_text)
        words = compact(value(path))
    return Result(
        focus=focus,
        value=val,
        path=path,
        path_text=words,
        shape=check.shape,
        component=check.component,
        severity=check.severity,
        messages=messages,
        constraint=check.constraint,
    )


def run(store: ox.Store, checks: Sequence[Check], workers: int = 2) -> list[Result]:
    """Run the checks, split over ``workers`` forked processes that share the store's memory."""
    if workers <= 1 or len(checks) < 2:
        rows = _run_checks(store, checks)
    else:
        ctx = multiprocessing.get_context("fork")
        procs: list[Any] = []
        pipes: list[Connection] = []
        for i in range(workers):
            parent, child = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_worker, args=(store, checks, i, workers, child), daemon=True)
            proc.start()
            child.close()
            procs.append(proc)
            pipes.append(parent)
        rows = []
        for proc, pipe in zip(procs, pipes):
            got = pipe.recv()
            proc.join()
            if isinstance(got, Exception):
                raise got
            rows.extend(got)
    return [_result(checks[row[0]], row) for row in rows]


def validate(
    data: ox.Store,
    shapes: Graph | ox.Store | Iterable[ox.Triple | ox.Quad],
    union: bool = True,
    workers: int = 2,
) -> list[Result]:
    """Validate the data store against the shapes: compile, then run (what ``kg validate`` does per batch)."""
    return run(data, compile_shapes(shapes, data, union), workers)
