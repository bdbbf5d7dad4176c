"""``kg validate``: check publications against the SHACL shapes, and say what is wrong in words.

Each violation names the file its focus node came from, the focus node (a CURIE
where the prefix map allows), the path, the shape's message and the offending
value, so a curator can go straight to the line to fix.

Results carry SHACL's severity: only ``sh:Violation`` results make a graph fail
(``kg validate`` exits 1, ``kg load`` refuses it); ``sh:Warning`` and ``sh:Info``
results (or a severity of the user's own) are printed as warnings and let it
pass, as pyshacl's ``allow_warnings`` does.

Users' shapes files (``shapes``) are checked beside the packaged shapes, or
instead of them (``packaged_shapes=False``); they are parsed once, by the one
Turtle parser, so a syntax error names ``file:line:column``.

Publications are validated in batches, each together with the shared ontology
(shapes check that external terms are declared there), so memory stays flat
whatever the corpus size. A shape can be met by another file of the same batch
(a term declared there, the class of a resource described there), and
:func:`kg.cross_file.elsewhere_findings` refuses what one file of a batch (or a
graph of the store a load adds to) says of a resource that a study another file
names would not read in its own files; files in two batches of one run are
compared after the last batch, from what each says of the resources they share
(:class:`kg.cross_file.Ledger`). Files are read
one batch at a time; a caller that needs the parsed batch afterwards (``kg
load`` writes it out) gets it through ``each`` instead of parsing it again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, cast

import pyoxigraph as ox

from kg import cross_file, curation
from kg import sources as src
from kg.dataset import Dataset
from kg.errors import InputError, ValidationFailed
from kg.prefixes import BASE, SH, compact, to_iri
from kg.rdf import value

if TYPE_CHECKING:
    import rdflib

    from kg.shacl_compile import Graph

ENGINES = ("oxigraph", "pyshacl")
#: publications validated together (bounded memory; the shapes never relate two publications)
BATCH = 500


@dataclass(frozen=True, order=True)
class Violation:
    """One SHACL result, in words."""

    source: str
    focus: str
    path: str
    message: str
    value: str = ""
    severity: str = "Violation"
    at: int = 0  # the line of the source file where the focus resource is written (0: not found)

    def line(self) -> str:
        """The one-line form ``kg validate`` prints: ``file:line: focus path: message (value: v)``."""
        where = " ".join(x for x in (self.focus, self.path) if x)
        value = f" (value: {self.value})" if self.value else ""
        place = f"{self.source}:{self.at}" if self.at else self.source
        warning = "warning: " if self.severity != "Violation" else ""
        return f"{place}: {warning}{where + ': ' if where else ''}{self.message}{value}"


@dataclass
class Report:
    """The outcome of one validation run: violations, warnings (which do not fail it) and notes."""

    conforms: bool
    violations: list[Violation]
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Violation]:
        """The results that make the data non-conforming (severity Violation)."""
        return [v for v in self.violations if v.severity == "Violation"]

    @property
    def warnings(self) -> list[Violation]:
        """The results that do not (severity Warning or Info)."""
        return [v for v in self.violations if v.severity != "Violation"]

    def text(self) -> str:
        """One line per violation and warning (in file and line order), the notes, then a summary line."""
        lines = [v.line() for v in sorted(self.violations, key=lambda v: (v.source, v.at, v.focus, v.message))]
        lines += [f"note: {n}" for n in self.notes]
        warned = f", {len(self.warnings)} warning(s)" if self.warnings else ""
        if self.conforms:
            lines.append(f"conforms: {len(self.files)} file(s), no violations{warned}")
        else:
            lines.append(f"does not conform: {len(self.errors)} violation(s){warned} in {len(self.files)} file(s)")
        return "\n".join(lines)


#: what :func:`validate` hands each validated batch to: the batch's dataset and its publications
BatchHandler = Callable[[Dataset, list[src.Source]], None]


def validate(
    publications: Sequence[src.Source],
    engine: str = "oxigraph",
    batch: int = BATCH,
    each: BatchHandler | None = None,
    strict: bool = False,
    shapes: Sequence[src.Source] = (),
    packaged_shapes: bool = True,
    base: str = BASE,
    context: ox.Store | None = None,
) -> Report:
    """Validate the publications (each batch with the packaged ontology and term extracts).

    Besides the SHACL shapes, the curation checks of :mod:`kg.curation` run
    (quotes against the kept source text, figures in their sentences, TODO
    markers, terms declared without where they were checked), and every result
    is pinned to its line. ``strict`` makes warnings violations. ``each`` is
    called with every batch's dataset once it is validated (the dataset is
    dropped afterwards). ``shapes``: users' shapes files, checked beside the
    packaged shapes (or alone, without ``packaged_shapes``). ``context``: the
    store a load adds the publications to, whose other graphs the cross-file
    check compares them with too (:func:`kg.cross_file.elsewhere_findings`). Raises
    :class:`InputError` on unreadable input, and its subclass
    :class:`~kg.errors.UnsupportedShape` when the compiled engine does not
    implement a feature the shapes use.
    """
    if engine not in ENGINES:
        raise InputError(f"unknown validation engine {engine!r} (valid: {', '.join(ENGINES)})")
    if not packaged_shapes and not shapes:
        raise InputError("no shapes to validate with: give --shapes FILE with --shapes-only")
    quads = list(src.shapes()) if packaged_shapes else []
    for source in shapes:
        quads += src.triples(source)
    pubs = list(publications)
    replaced = frozenset(s.graph(base) for s in pubs)  # a load's own graphs: what a store holds of them goes
    run = _compiled if engine == "oxigraph" else _pyshacl
    prepared = _prepare_shapes(engine, quads)
    violations: set[Violation] = set()
    without_text: list[str] = []
    ledger = cross_file.Ledger(batch) if len(pubs) > batch else None  # files in two batches: compared at the end
    compared: set[Violation] = set()  # the cross-file check's (:func:`_across`)
    onto = ox.NamedNode(src.graph_iri(src.ONTOLOGY_SLUG, base))
    for i in range(0, max(len(pubs), 1), batch):
        chunk = pubs[i : i + batch]
        dataset = Dataset.build(chunk, base)
        names = {s.graph(base): s.name for s in chunk}
        found = run(dataset, names, prepared)
        findings, no_text = curation.check(dataset.store, chunk, dataset.base)
        across = cross_file.elsewhere_findings(dataset.store, names, onto, context, replaced, ledger, i)
        compared |= _with_lines({_violation(f, strict) for f in across}, chunk)
        without_text += no_text
        # a TODO marker is reported once, by its line: not again as every shape its placeholder breaks
        todo = {f.source for f in findings if f.message.startswith(curation.TODO_MESSAGE)}
        found = {v for v in found if not (v.source in todo and ("TODO" in v.value or "TODO" in v.focus))}
        violations |= _with_lines(found | {_violation(f, strict) for f in findings}, chunk)
        if each is not None:
            each(dataset, chunk)
        del dataset
    if ledger is not None:
        compared = _across(ledger, pubs, base, context, replaced, compared, strict)
    ordered = sorted(violations | compared)
    notes = [curation.no_source_text_note(without_text)] if without_text and pubs else []
    return Report(
        conforms=not any(v.severity == "Violation" for v in ordered),
        violations=ordered,
        files=[s.name for s in pubs],
        notes=notes,
    )


def _across(
    ledger: cross_file.Ledger,
    pubs: list[src.Source],
    base: str,
    context: ox.Store | None,
    replaced: frozenset[str],
    compared: set[Violation],
    strict: bool,
) -> set[Violation]:
    """The cross-file check's violations, with the resources no batch could check whole checked again over the
    whole run (:meth:`kg.cross_file.Ledger.findings`): what the batches found of those gives way."""
    shown, redone = ledger.findings(pubs, base, context, replaced)
    if not shown:
        return compared
    found = {_violation(f, strict) for f in redone}
    kept = {v for v in compared if v.focus not in shown}
    return kept | _with_lines(found, [s for s in pubs if s.name in {v.source for v in found}])


def _violation(f: curation.Finding, strict: bool) -> Violation:
    """A curation finding as a violation (a warning too with ``strict``)."""
    return Violation(f.source, f.focus, "", f.message, severity="Violation" if strict else f.severity, at=f.line)


def _prepare_shapes(engine: str, quads: list[ox.Quad]) -> object:
    """The shapes, read once for every batch: an index for the compiler, an rdflib graph for pyshacl."""
    if engine == "oxigraph":
        return _shapes_index(tuple(quads))
    return src.rdflib_graph(quads)


@functools.lru_cache(maxsize=8)
def _shapes_index(quads: tuple[ox.Quad, ...]) -> Graph:
    """The compiler's index of these shapes, one per process: it keeps the checks compiled from it
    (:attr:`kg.shacl_compile.Graph.compiled`), so a process that validates again (a server's loads, a curator's
    session, the tests) compiles the same shapes once."""
    from kg.shacl_compile import Graph

    return Graph(quads)


def _with_lines(violations: set[Violation], chunk: list[src.Source]) -> set[Violation]:
    """The violations with the line of their focus resource in its file (read again only where one is needed)."""
    by_file: dict[str, set[str]] = {}
    for v in violations:
        if not v.at and v.focus and not v.focus.startswith("_:"):
            by_file.setdefault(v.source, set()).add(v.focus)
    if not by_file:
        return violations
    lines: dict[tuple[str, str], int] = {}
    for source in chunk:
        if source.name not in by_file:
            continue
        iris = {focus: to_iri(focus) or "" for focus in by_file[source.name]}
        found = curation.locate(source, iris.values())
        lines.update({(source.name, focus): found[iri] for focus, iri in iris.items() if iri in found})
    return {
        replace(v, at=lines[(v.source, v.focus)]) if not v.at and (v.source, v.focus) in lines else v
        for v in violations
    }


def require_conformance(
    publications: Sequence[src.Source],
    batch: int = BATCH,
    each: BatchHandler | None = None,
    base: str = BASE,
    context: ox.Store | None = None,
) -> None:
    """Refuse data that does not conform, before anything is written anywhere (``each`` and ``context``, the store
    the data goes into, as in :func:`validate`)."""
    report = validate(publications, batch=batch, each=each, base=base, context=context)
    if not report.conforms:
        raise ValidationFailed(
            f"refused: {len(report.errors)} violation(s), nothing was written; first: {report.errors[0].line()}"
        )


def _origin(dataset: Dataset, files: dict[str, str], focus: ox.NamedNode | ox.BlankNode | ox.Literal | None) -> str:
    """The file a focus node is described in (as subject), else a publication file that uses it."""
    if focus is None:
        return "?"
    if not isinstance(focus, ox.Literal):  # a literal focus (sh:targetObjectsOf) is never a subject
        for q in dataset.store.quads_for_pattern(focus, None, None, None):
            if value(q.graph_name) in files:
                return files[value(q.graph_name)]
    for q in dataset.store.quads_for_pattern(None, None, focus, None):
        if value(q.graph_name) in files:
            return files[value(q.graph_name)]
    return "?"


def _text(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None) -> str:
    """How a term reads in a report: a CURIE, a blank node label, or the literal's lexical form."""
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        return compact(term.value)
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    return str(term.value) if isinstance(term, ox.Literal) else str(term)


def _severity(iri: str) -> str:
    """A severity in words: Violation, Warning, Info (a user's own severity IRI by its local name)."""
    return iri.rsplit("#", 1)[-1]


def _compiled(dataset: Dataset, files: dict[str, str], shapes: object) -> set[Violation]:
    """The shapes compiled to SPARQL and run on Oxigraph (see :mod:`kg.shacl_compile`)."""
    from kg.shacl_compile import Graph
    from kg.shacl_compile import validate as check

    assert isinstance(shapes, Graph)
    return {
        Violation(
            source=_origin(dataset, files, r.focus),
            focus=_text(r.focus),
            path=r.path_text,
            message=r.message,
            value=_text(r.value) if r.value is not None and r.value != r.focus else "",
            severity=_severity(r.severity),
        )
        for r in check(dataset.store, shapes)
    }


@functools.lru_cache(maxsize=256)
def _prepared(text: str, namespaces: tuple[tuple[str, str], ...], base: str | None) -> Any:
    """One SPARQL text parsed and translated once (rdflib's prepareQuery)."""
    from rdflib.plugins.sparql import prepareQuery

    return prepareQuery(text, initNs=dict(namespaces), base=base)


@functools.cache
def _prepared_queries_graph() -> Any:
    """The rdflib graph class below (made on first use: rdflib is imported only when needed)."""
    import rdflib

    class PreparedQueries(rdflib.Graph):
        """An rdflib graph that parses each SPARQL text once, however often it is asked.

        pyshacl runs a SHACL-SPARQL constraint once per focus node with the same
        text and new bindings; rdflib would parse the text again each time, which
        was nine tenths of pyshacl's time on one publication. Evaluation is
        rdflib's own, unchanged: only the parse is reused.
        """

        def query(
            self,
            query_object: Any,
            processor: Any = "sparql",
            result: Any = "sparql",
            initNs: Any = None,  # noqa: N803
            initBindings: Any = None,  # noqa: N803
            use_store_provided: bool = True,
            **kwargs: Any,
        ) -> Any:
            if isinstance(query_object, str):
                namespaces = tuple(sorted((k, str(v)) for k, v in (initNs or {}).items()))
                query_object = _prepared(query_object, namespaces, kwargs.get("base"))
            return super().query(query_object, processor, result, initNs, initBindings, use_store_provided, **kwargs)

    return PreparedQueries


def _pyshacl(dataset: Dataset, files: dict[str, str], shapes: object) -> set[Violation]:
    """The reference engine, pyshacl, on the same merged graph."""
    import pyshacl
    import rdflib

    merged = src.rdflib_graph(dataset.triples())
    data = _prepared_queries_graph()(store=merged.store, identifier=merged.identifier)
    # inplace: the graph is ours and thrown away, and the shapes have no rules that
    # would add to it, so pyshacl need not copy it (and the copy would not cache).
    conforms, results, _text_report = pyshacl.validate(
        data, shacl_graph=cast(rdflib.Graph, shapes), inference="none", advanced=True, allow_warnings=True, inplace=True
    )
    sh = rdflib.Namespace(SH)
    out: set[Violation] = set()
    # Top-level results only (sh:result of the report); nested sh:detail results of an
    # sh:node constraint are explained by their parent's message.
    for report in results.subjects(rdflib.RDF.type, sh.ValidationReport):
        for result in results.objects(report, sh.result):
            focus = results.value(result, sh.focusNode)
            value = results.value(result, sh.value)
            messages = sorted(str(m) for m in results.objects(result, sh.resultMessage))
            severity = results.value(result, sh.resultSeverity)
            focus_ox = src.from_rdflib(focus) if focus is not None else None
            value_ox = src.from_rdflib(value) if value is not None else None
            out.add(
                Violation(
                    source=_origin(dataset, files, focus_ox if not isinstance(focus_ox, ox.Literal) else None),
                    focus=_text(focus_ox),
                    path=_path_text(results, results.value(result, sh.resultPath)),
                    message=" / ".join(messages) or "constraint not met",
                    value=_text(value_ox) if value_ox is not None and value_ox != focus_ox else "",
                    severity=_severity(str(severity)) if severity is not None else "Violation",
                )
            )
    return out


def _path_text(results: rdflib.Graph, path: rdflib.term.Node | None) -> str:
    """A SHACL path in words, SPARQL-style (``^p``, ``a/b``, ``(a|b)``, ``p*``), as the compiled engine writes it."""
    import rdflib
    from rdflib.collection import Collection

    if path is None:
        return ""
    if isinstance(path, rdflib.URIRef):
        return compact(str(path))

    def inner(node: rdflib.term.Node) -> str:
        text = _path_text(results, node)
        return text if isinstance(node, rdflib.URIRef) else f"({text})"

    for key, form in (
        ("inversePath", "^{}"),
        ("zeroOrMorePath", "{}*"),
        ("oneOrMorePath", "{}+"),
        ("zeroOrOnePath", "{}?"),
    ):
        node = results.value(path, rdflib.URIRef(SH + key))
        if node is not None:
            return form.format(inner(node))
    alternatives = results.value(path, rdflib.URIRef(SH + "alternativePath"))
    if alternatives is not None:
        return "(" + "|".join(_path_text(results, i) for i in Collection(results, alternatives)) + ")"
    if results.value(path, rdflib.RDF.first) is not None:
        return "/".join(_path_text(results, i) for i in Collection(results, path))
    return _text(src.from_rdflib(path))
