"""SHACL shapes compiled to SPARQL and run on Oxigraph: the fast validator.

pyshacl walks focus nodes one by one in Python, about 2,000 triples/s; a corpus
of thousands of publications needs something else. This module turns each
constraint of the project's shapes into one SPARQL SELECT that returns the
violating focus nodes (and values), and runs those queries on an Oxigraph
store, on both cores. It supports exactly the SHACL features ``shapes/`` uses
and refuses any other, so a shape can never be skipped silently; a test checks
that it reports the same violations as pyshacl.
"""

from __future__ import annotations

import multiprocessing
import re
from dataclasses import dataclass

import pyoxigraph as ox

from kg.prefixes import RDF, RDFS, SH, XSD, compact
from kg.rdf import select, value

NODE_KINDS = {
    SH + "IRI": "isIRI({v})",
    SH + "BlankNode": "isBlank({v})",
    SH + "Literal": "isLiteral({v})",
    SH + "BlankNodeOrIRI": "(isIRI({v}) || isBlank({v}))",
}
HANDLED = {
    SH + k
    for k in (
        "targetClass",
        "targetObjectsOf",
        "property",
        "sparql",
        "nodeKind",
        "class",
        "path",
        "minCount",
        "maxCount",
        "datatype",
        "or",
        "pattern",
        "in",
        "minInclusive",
        "maxInclusive",
        "minExclusive",
        "maxExclusive",
        "lessThanOrEquals",
        "minLength",
        "node",
        "message",
        "select",
        "prefixes",
        "declare",
        "prefix",
        "namespace",
        "name",
        "description",
        "deactivated",
        "severity",
    )
}


class UnsupportedShape(ValueError):
    """The shapes use a SHACL feature this compiler does not implement."""


@dataclass(frozen=True)
class Check:
    """One compiled constraint: a SELECT ?this ?value query and how to report its rows."""

    query: str
    path: str
    message: str
    shape: str
    union: bool = True


def _objects(g: ox.Store, s, p: str) -> list:
    return [q.object for q in g.quads_for_pattern(s, ox.NamedNode(p), None, None)]


def _one(g: ox.Store, s, p: str):
    vals = _objects(g, s, p)
    return vals[0] if vals else None


def _list(g: ox.Store, node) -> list:
    out = []
    while node is not None and not (isinstance(node, ox.NamedNode) and node.value == RDF + "nil"):
        out.append(_one(g, node, RDF + "first"))
        node = _one(g, node, RDF + "rest")
    return out


def _term(t) -> str:
    return str(t)


_CLOSURE: dict[str, list[str]] = {}


def _well_typed(v: str, datatype: str) -> str:
    """True when ``v`` is a literal of ``datatype`` whose lexical form is valid for it.

    SHACL's ``sh:datatype`` rejects ill-typed literals (``"2018-13-45"^^xsd:date``),
    which Oxigraph stores as they are: the cast back to the datatype fails on them.
    """
    check = f"{datatype}(STR({v}))" if datatype.startswith(f"<{XSD}") and datatype != f"<{XSD}string>" else "true"
    return f"(isLiteral({v}) && datatype({v}) = {datatype} && COALESCE(isLiteral({check}) || {check} = true, false))"


def _is_a(v: str, c) -> str:
    """A pattern: ``v`` is an instance of class ``c`` (or of a subclass)."""
    members = _CLOSURE.get(c.value)
    if members is None:
        return f"{v} <{RDF}type>/<{RDFS}subClassOf>* {_term(c)}"
    var = f"?cls{abs(hash((v, c.value))) % 10**6}"
    return f"VALUES {var} {{ {' '.join(f'<{m}>' for m in members)} }} {v} <{RDF}type> {var}"


def _target(g: ox.Store, shape) -> str:
    parts = []
    for c in _objects(g, shape, SH + "targetClass"):
        parts.append(f"{{ {_is_a('?this', c)} }}")
    for p in _objects(g, shape, SH + "targetObjectsOf"):
        parts.append(f"{{ ?anySubject {_term(p)} ?this }}")
    return " UNION ".join(parts)


def _check_keys(g: ox.Store, node) -> None:
    for q in g.quads_for_pattern(node, None, None, None):
        p = q.predicate.value
        if p.startswith(SH) and p not in HANDLED:
            raise UnsupportedShape(f"{node}: SHACL feature {p} is not supported by the compiled validator")


def _value_conditions(g: ox.Store, pshape, v: str) -> list[tuple[str, str]]:
    """Conditions on one value node ``v`` that mean a violation: (component, SPARQL boolean)."""
    conds = []
    dt = _one(g, pshape, SH + "datatype")
    if dt is not None:
        conds.append(("datatype", f"!{_well_typed(v, _term(dt))}"))
    ors = _one(g, pshape, SH + "or")
    if ors is not None:
        types = []
        for member in _list(g, ors):
            keys = {q.predicate.value for q in g.quads_for_pattern(member, None, None, None)}
            if keys != {SH + "datatype"}:
                raise UnsupportedShape(f"{pshape}: sh:or is only supported over sh:datatype alternatives")
            types.append(_term(_one(g, member, SH + "datatype")))
        conds.append(("or", "!(" + " || ".join(_well_typed(v, t) for t in types) + ")"))
    pattern = _one(g, pshape, SH + "pattern")
    if pattern is not None:
        conds.append(("pattern", f"(isBlank({v}) || !REGEX(STR({v}), {_term(ox.Literal(pattern.value))}))"))
    members = _one(g, pshape, SH + "in")
    if members is not None:
        conds.append(("in", f"({v} NOT IN ({', '.join(_term(m) for m in _list(g, members))}))"))
    cls = _one(g, pshape, SH + "class")
    if cls is not None:
        conds.append(("class", f"NOT EXISTS {{ {_is_a(v, cls)} }}"))
    kind = _one(g, pshape, SH + "nodeKind")
    if kind is not None:
        conds.append(("nodeKind", "!" + NODE_KINDS[kind.value].format(v=v)))
    for key, op in (("minInclusive", ">="), ("maxInclusive", "<="), ("minExclusive", ">"), ("maxExclusive", "<")):
        bound = _one(g, pshape, SH + key)
        if bound is not None:
            conds.append((key, f"!COALESCE({v} {op} {_term(bound)}, false)"))
    min_len = _one(g, pshape, SH + "minLength")
    if min_len is not None:
        conds.append(("minLength", f"(isBlank({v}) || STRLEN(STR({v})) < {min_len.value})"))
    node = _one(g, pshape, SH + "node")
    if node is not None:
        inner = _node_violation_pattern(g, node, v)
        conds.append(("node", f"EXISTS {{ {inner} }}"))
    return conds


def _node_violation_pattern(g: ox.Store, shape, focus: str) -> str:
    """A group pattern that matches when ``focus`` violates the (nested) node shape."""
    _check_keys(g, shape)
    alternatives = []
    for key_cond in _value_conditions(g, shape, focus):
        alternatives.append(f"{{ FILTER({key_cond[1]}) }}")
    for i, prop in enumerate(_objects(g, shape, SH + "property")):
        _check_keys(g, prop)
        path = _term(_one(g, prop, SH + "path"))
        val = f"?n{abs(hash((str(shape), i))) % 10**8}"
        mn, mx = _one(g, prop, SH + "minCount"), _one(g, prop, SH + "maxCount")
        if mn is not None:
            if int(mn.value) != 1:
                raise UnsupportedShape(f"{prop}: nested shapes support sh:minCount 1 only")
            alternatives.append(f"{{ FILTER(NOT EXISTS {{ {focus} {path} ?any }}) }}")
        if mx is not None:
            if int(mx.value) != 1:
                raise UnsupportedShape(f"{prop}: nested shapes support sh:maxCount 1 only")
            alternatives.append(f"{{ {focus} {path} {val}a , {val}b FILTER({val}a != {val}b) }}")
        for _, cond in _value_conditions(g, prop, val):
            alternatives.append(f"{{ {focus} {path} {val} FILTER({cond}) }}")
    if not alternatives:
        return "FILTER(false)"
    return " UNION ".join(alternatives)


def _declared_prefixes(g: ox.Store, node) -> str:
    lines = []
    for ont in _objects(g, node, SH + "prefixes"):
        for decl in _objects(g, ont, SH + "declare"):
            lines.append(f"PREFIX {_one(g, decl, SH + 'prefix').value}: <{_one(g, decl, SH + 'namespace').value}>")
    return "\n".join(lines)


def compile_shapes(shapes: ox.Store, data: ox.Store | None = None, union: bool = True) -> list[Check]:
    """Every constraint of every targeted node shape, as a SPARQL query.

    With ``data``, class membership is compiled against the subclass closure
    found in it (a ``VALUES`` list), which Oxigraph evaluates in linear time.
    ``union``: the data's default graph is the union of its named graphs.
    """
    _CLOSURE.clear()
    if data is not None:
        classes = {q.object for q in shapes.quads_for_pattern(None, ox.NamedNode(SH + "targetClass"), None, None)}
        classes |= {q.object for q in shapes.quads_for_pattern(None, ox.NamedNode(SH + "class"), None, None)}
        for c in classes:
            rows = select(data, f"SELECT DISTINCT ?c WHERE {{ ?c <{RDFS}subClassOf>* {_term(c)} }}", union)
            _CLOSURE[value(c)] = sorted({value(r["c"]) for r in rows if isinstance(r["c"], ox.NamedNode)} | {value(c)})

    checks: list[Check] = []
    node_shapes = {
        q.subject
        for q in shapes.quads_for_pattern(None, ox.NamedNode(RDF + "type"), ox.NamedNode(SH + "NodeShape"), None)
    }
    for shape in sorted(node_shapes, key=str):
        target = _target(shapes, shape)
        if not target:
            continue  # only used through sh:node
        _check_keys(shapes, shape)
        head = f"SELECT DISTINCT ?this ?value WHERE {{ {target} "
        for comp, cond in _value_conditions(shapes, shape, "?this"):
            checks.append(Check(head + f"FILTER({cond}) }}", "", _message(shapes, shape, comp), str(shape)))
        for prop in _objects(shapes, shape, SH + "property"):
            _check_keys(shapes, prop)
            path_node = _one(shapes, prop, SH + "path")
            if not isinstance(path_node, ox.NamedNode):
                raise UnsupportedShape(f"{prop}: only IRI paths are supported")
            path = _term(path_node)
            message = _message(shapes, prop, "property")
            pretty = compact(path_node.value)
            mn, mx = _one(shapes, prop, SH + "minCount"), _one(shapes, prop, SH + "maxCount")
            if mn is not None:
                if int(mn.value) == 1:
                    q = head + f"FILTER NOT EXISTS {{ ?this {path} ?any }} }}"
                else:
                    q = (
                        f"SELECT ?this ?value WHERE {{ {{ SELECT ?this (COUNT(DISTINCT ?v) AS ?c) WHERE {{ {target} "
                        f"OPTIONAL {{ ?this {path} ?v }} }} GROUP BY ?this }} FILTER(?c < {mn.value}) }}"
                    )
                checks.append(Check(q, pretty, message, str(prop)))
            if mx is not None:
                if int(mx.value) == 1:
                    q = head + f"?this {path} ?a , ?b FILTER(?a != ?b) }}"
                else:
                    q = (
                        f"SELECT ?this ?value WHERE {{ {{ SELECT ?this (COUNT(DISTINCT ?v) AS ?c) WHERE {{ {target} "
                        f"?this {path} ?v }} GROUP BY ?this }} FILTER(?c > {mx.value}) }}"
                    )
                checks.append(Check(q, pretty, message, str(prop)))
            for _comp, cond in _value_conditions(shapes, prop, "?value"):
                checks.append(Check(head + f"?this {path} ?value FILTER({cond}) }}", pretty, message, str(prop)))
            other = _one(shapes, prop, SH + "lessThanOrEquals")
            if other is not None:
                checks.append(
                    Check(
                        head + f"?this {path} ?value . ?this {_term(other)} ?w "
                        f"FILTER(!COALESCE(?value <= ?w, false)) }}",
                        pretty,
                        message,
                        str(prop),
                    )
                )
        for constraint in _objects(shapes, shape, SH + "sparql"):
            _check_keys(shapes, constraint)
            select_text = _one(shapes, constraint, SH + "select").value.replace("$this", "?this")
            m = re.search(r"\bWHERE\s*\{", select_text, re.IGNORECASE)
            if not m:
                raise UnsupportedShape(f"{constraint}: SPARQL constraint without WHERE")
            inner = select_text[: m.end()] + f" {target} " + select_text[m.end() :]
            # The target is joined inside the constraint's own WHERE, so $this is bound
            # before its FILTERs run (SHACL's pre-binding); ?value stays unbound when the
            # constraint does not project it.
            query = _declared_prefixes(shapes, constraint) + f"\nSELECT DISTINCT ?this ?value WHERE {{ {{ {inner} }} }}"
            checks.append(Check(query, "", _message(shapes, constraint, "sparql"), str(shape)))
    return [Check(c.query, c.path, c.message, c.shape, union) for c in checks]


def _message(g: ox.Store, node, component: str) -> str:
    msgs = sorted(m.value for m in _objects(g, node, SH + "message"))
    return " / ".join(msgs) if msgs else f"{component} constraint not met"


def _run_checks(store: ox.Store, checks: list[Check]) -> list[tuple[str, str, str, object, object]]:
    out = []
    for check in checks:
        for row in select(store, check.query, check.union):
            out.append((check.path, check.message, check.shape, row["this"], row["value"]))
    return out


def _worker(store, checks, conn) -> None:
    try:
        conn.send(
            [
                (p, m, s, str(t) if t is not None else None, str(v) if v is not None else None)
                for p, m, s, t, v in _run_checks(store, checks)
            ]
        )
    except Exception as exc:  # reported to the parent, which raises
        conn.send(exc)
    finally:
        conn.close()


def decode(text: str | None):
    """A term back from its N-Triples form (what crosses the pipe from a worker)."""
    if text is None:
        return None
    if text.startswith("_:"):
        return ox.BlankNode(text[2:])
    return next(iter(ox.parse(f"<urn:x:s> <urn:x:p> {text} .".encode(), format=ox.RdfFormat.N_TRIPLES))).object


def run(store: ox.Store, checks: list[Check], workers: int = 2) -> list[tuple[str, str, str, object, object]]:
    """Run the checks, split over ``workers`` forked processes that share the store's memory.

    Returns (path, message, shape, focus, value) with pyoxigraph terms.
    """
    if workers <= 1 or len(checks) < 2:
        return _run_checks(store, checks)
    ctx = multiprocessing.get_context("fork")
    procs, pipes = [], []
    for i in range(workers):
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_worker, args=(store, checks[i::workers], child), daemon=True)
        proc.start()
        child.close()
        procs.append(proc)
        pipes.append(parent)
    out: list[tuple[str, str, str, object, object]] = []
    for proc, pipe in zip(procs, pipes):
        result = pipe.recv()
        proc.join()
        if isinstance(result, Exception):
            raise result
        out.extend((p, m, s, decode(t), decode(v)) for p, m, s, t, v in result)
    return out
