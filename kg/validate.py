"""Check graphs against the SHACL shapes and report each violation readably.

The report names the focus node (as a CURIE where the prefix map allows), the
path, the shape's message and the source file the focus node came from, so a
curator can go straight to the line to fix.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyoxigraph as ox

from kg.errors import InputError
from kg.graph import Source, packaged_sources, quads, rdflib_term
from kg.prefixes import compact
from kg import resources

SH = "http://www.w3.org/ns/shacl#"


@dataclass(frozen=True, order=True)
class Violation:
    """One SHACL result, in words."""

    source: str
    focus: str
    path: str
    message: str
    value: str = ""
    severity: str = "Violation"

    def line(self) -> str:
        """The one-line form printed by ``kg validate``."""
        where = f"{self.focus}" + (f" {self.path}" if self.path else "")
        value = f" (value: {self.value})" if self.value else ""
        return f"{self.source}: {where}: {self.message}{value}"


@dataclass
class Report:
    """The outcome of one validation run."""

    conforms: bool
    violations: list[Violation]
    files: list[str]

    def text(self) -> str:
        """A readable report: one line per violation, then a summary line."""
        lines = [v.line() for v in sorted(self.violations)]
        n = len(self.violations)
        if self.conforms:
            lines.append(f"conforms: {len(self.files)} file(s), no violations")
        else:
            lines.append(f"does not conform: {n} violation(s) in {len(self.files)} file(s)")
        return "\n".join(lines)


def shapes_graph():
    """The packaged SHACL shapes as an rdflib Graph."""
    import rdflib

    g = rdflib.Graph()
    for entry in resources.shape_files():
        try:
            g.parse(data=entry.read_bytes(), format="turtle")
        except Exception as exc:  # a broken packaged shape file is a packaging bug
            raise InputError(f"{entry}: cannot parse shapes: {exc}") from exc
    return g


def _term_text(term) -> str:
    import rdflib

    if term is None:
        return ""
    if isinstance(term, rdflib.URIRef):
        return compact(str(term))
    if isinstance(term, rdflib.BNode):
        return f"_:{term}"
    return str(term)


def _path_text(results, path) -> str:
    """A SHACL path in words: an IRI, or a sequence / inverse written SPARQL-style."""
    import rdflib

    if path is None:
        return ""
    if isinstance(path, rdflib.URIRef):
        return compact(str(path))
    inverse = results.value(path, rdflib.URIRef(SH + "inversePath"))
    if inverse is not None:
        return "^" + _path_text(results, inverse)
    items = list(rdflib.collection.Collection(results, path)) if results.value(path, rdflib.RDF.first) else []
    if items:
        return "/".join(_path_text(results, i) for i in items)
    return _term_text(path)


ENGINES = ("oxigraph", "pyshacl")


def validate_sources(data: Iterable[Source], engine: str = "oxigraph") -> Report:
    """Validate the given sources, together with the packaged ontology and term extracts.

    The ontology is part of the data graph because shapes check that external
    terms are declared (with labels) and that values belong to project classes.
    Raises :class:`InputError` on unreadable input before validating anything.
    """
    data = list(data)
    if engine == "oxigraph":
        return _validate_compiled(data)
    if engine != "pyshacl":
        raise InputError(f"unknown validation engine {engine!r} (valid: {', '.join(ENGINES)})")
    import pyshacl
    import rdflib

    ontology = packaged_sources(include_trials=False)
    ontology_names = {s.name for s in ontology}
    sources = ontology + [s for s in data if s.name not in ontology_names]

    union = rdflib.Graph()
    for source in sources:
        for q in quads(source):
            union.add((rdflib_term(q.subject), rdflib_term(q.predicate), rdflib_term(q.object)))

    conforms, results, _text = pyshacl.validate(
        union,
        shacl_graph=shapes_graph(),
        inference="none",
        advanced=True,
        allow_warnings=True,
    )
    violations: list[Violation] = []
    focus_nodes = {results.value(r, rdflib.URIRef(SH + "focusNode")) for r in
                   results.subjects(rdflib.RDF.type, rdflib.URIRef(SH + "ValidationResult"))}
    origin = _origins({_nt(f) for f in focus_nodes if f is not None}, sources, {s.name for s in data})
    # Top-level results only (sh:result of the report); nested sh:detail results of an
    # sh:node constraint are explained by their parent's message.
    top = [r for report in results.subjects(rdflib.RDF.type, rdflib.URIRef(SH + "ValidationReport"))
           for r in results.objects(report, rdflib.URIRef(SH + "result"))]
    for result in top:
        focus = results.value(result, rdflib.URIRef(SH + "focusNode"))
        path = results.value(result, rdflib.URIRef(SH + "resultPath"))
        messages = [str(m) for m in results.objects(result, rdflib.URIRef(SH + "resultMessage"))]
        value = results.value(result, rdflib.URIRef(SH + "value"))
        severity = results.value(result, rdflib.URIRef(SH + "resultSeverity"))
        violations.append(
            Violation(
                source=origin.get(_nt(focus), "?"),
                focus=_term_text(focus),
                path=_path_text(results, path),
                message=" / ".join(sorted(messages)) or "constraint not met",
                value=_term_text(value) if value is not None and value != focus else "",
                severity=str(severity).rsplit("#", 1)[-1] if severity is not None else "Violation",
            )
        )
    return Report(conforms=bool(conforms), violations=violations, files=[s.name for s in data if s.name not in ontology_names])


def _nt(term) -> str:
    """An rdflib term in N-Triples syntax (the keys :func:`_origins` uses)."""
    return term.n3()


def shapes_store() -> ox.Store:
    """The packaged SHACL shapes in a pyoxigraph store (for the compiled validator)."""
    store = ox.Store()
    for entry in resources.shape_files():
        try:
            store.extend([ox.Quad(t.subject, t.predicate, t.object) for t in
                          ox.parse(entry.read_bytes(), format=ox.RdfFormat.TURTLE)])
        except SyntaxError as exc:
            raise InputError(f"{entry}: cannot parse shapes: {exc}") from exc
    return store


def _nt_text(term: str | None) -> str:
    """How a term from the compiled validator (N-Triples syntax) reads in a report."""
    if term is None:
        return ""
    if term.startswith("<"):
        return compact(term[1:-1])
    if term.startswith("_:"):
        return term
    lit = next(iter(ox.parse(f"<urn:x> <urn:y> {term} .".encode(), format=ox.RdfFormat.N_TRIPLES))).object
    return lit.value


def _validate_compiled(data: list[Source], workers: int = 2) -> Report:
    """The same shapes, compiled to SPARQL and run on Oxigraph (see :mod:`kg.shacl_compile`).

    Oxigraph parses every file straight into one default graph (a resource asserted
    in many files, such as a shared journal, is one triple there rather than one per
    file, which would multiply join rows). Only when there are violations are the
    files read again, to name the file each focus node came from.
    """
    from kg.graph import BASE, parse_error
    from kg.shacl_compile import compile_shapes, run

    ontology = packaged_sources(include_trials=False)
    ontology_names = {s.name for s in ontology}
    sources = ontology + [s for s in data if s.name not in ontology_names]
    store = ox.Store()
    for source in sources:
        try:
            store.load(source.data, format=ox.RdfFormat.TURTLE, base_iri=BASE)
        except SyntaxError as exc:
            raise parse_error(source.name, exc) from exc
    rows = run(store, compile_shapes(shapes_store(), store, union=False), workers=workers)
    del store
    origin = _origins({focus for _, _, _, focus, _ in rows}, sources, {s.name for s in data})
    violations = sorted({
        Violation(source=origin.get(focus, "?"), focus=_nt_text(focus), path=path, message=message,
                  value=_nt_text(value) if value is not None and value != focus else "")
        for path, message, _shape, focus, value in rows
    })
    return Report(conforms=not violations, violations=violations,
                  files=[s.name for s in data if s.name not in ontology_names])


def _origins(terms: set[str], sources: list[Source], data_names: set[str]) -> dict[str, str]:
    """The file each term is described in (as subject), else a data file that uses it."""
    found: dict[str, str] = {}
    used: dict[str, str] = {}
    if not terms:
        return found
    for source in sources:
        for q in quads(source):
            s = str(q.subject)
            if s in terms and s not in found:
                found[s] = source.name
            o = str(q.object)
            if o in terms and source.name in data_names:
                used.setdefault(o, source.name)
        if len(found) == len(terms):
            break
    return {**used, **found}
