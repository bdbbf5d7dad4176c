"""Read Turtle sources into pyoxigraph and rdflib, with errors that name file and line.

Each source file becomes one named graph (``<base>graph/<slug>``): the ontology
and term extracts share ``graph/ontology``; each publication file gets its own.
That is what lets a store replace exactly one publication on re-load.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

import pyoxigraph as ox

from kg import resources
from kg.errors import InputError
from kg.prefixes import BASE

ONTOLOGY_GRAPH_SLUG = "ontology"


@dataclass(frozen=True)
class Source:
    """One Turtle file and the named graph it goes into."""

    name: str  # what error messages call the file
    slug: str  # the named graph's local name
    data: bytes

    @property
    def graph_iri(self) -> str:
        return graph_iri(self.slug)


def graph_iri(slug: str, base: str = BASE) -> str:
    """The named graph of a publication (or of the ontology)."""
    return f"{base}graph/{slug}"


def _read(entry: Traversable | Path, slug: str | None = None) -> Source:
    try:
        data = entry.read_bytes()
    except OSError as exc:
        raise InputError(f"{entry}: cannot read: {exc.strerror or exc}") from exc
    stem = entry.name.rsplit(".", 1)[0]
    return Source(name=str(entry), slug=slug or stem, data=data)


def packaged_sources(include_trials: bool = True) -> list[Source]:
    """The ontology, term extracts, the SSSOM mappings as triples and (optionally) the packaged trials."""
    from kg import mappings

    out = [_read(f, ONTOLOGY_GRAPH_SLUG) for f in resources.ontology_files()]
    out.append(Source(name="ontology/mappings.sssom.tsv", slug=ONTOLOGY_GRAPH_SLUG,
                      data=mappings.as_turtle(mappings.packaged())))
    if include_trials:
        out += [_read(f) for f in resources.trial_files()]
    return out


def file_sources(paths: Iterable[str | Path]) -> list[Source]:
    """User-supplied Turtle files (or folders of them), one named graph each."""
    out: list[Source] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            members = sorted(path.glob("*.ttl"))
            if not members:
                raise InputError(f"{path}: folder holds no .ttl files")
            out += [_read(p) for p in members]
        elif path.exists():
            out.append(_read(path))
        else:
            raise InputError(f"{path}: no such file")
    return out


def parse_error(source_name: str, exc: SyntaxError) -> InputError:
    """Turn a pyoxigraph parse error into ``file:line:column: message``."""
    text = str(exc)
    if exc.lineno:
        where = f"{source_name}:{exc.lineno}:{exc.offset or 1}"
    else:
        where = source_name
    return InputError(f"{where}: Turtle syntax error: {text}")


def rebase(term: ox.NamedNode | ox.BlankNode | ox.Literal, base: str) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """Move an IRI under the project's default base to another base."""
    if base != BASE and isinstance(term, ox.NamedNode) and term.value.startswith(BASE):
        return ox.NamedNode(base + term.value[len(BASE):])
    return term


def quads(source: Source, base: str = BASE) -> Iterator[ox.Quad]:
    """Parse one source into quads in its named graph; syntax errors name file and line."""
    graph = ox.NamedNode(graph_iri(source.slug, base))
    try:
        triples = list(ox.parse(source.data, format=ox.RdfFormat.TURTLE, base_iri=BASE))
    except SyntaxError as exc:
        raise parse_error(source.name, exc) from exc
    for t in triples:
        yield ox.Quad(rebase(t.subject, base), t.predicate, rebase(t.object, base), graph)


def memory_store(sources: Iterable[Source], base: str = BASE) -> ox.Store:
    """An in-memory pyoxigraph store holding the sources, each in its named graph.

    Everything is parsed before anything is added, so a syntax error leaves no
    half-loaded store behind.
    """
    all_quads: list[ox.Quad] = []
    for source in sources:
        all_quads.extend(quads(source, base))
    store = ox.Store()
    store.extend(all_quads)
    return store


def default_store(base: str = BASE) -> ox.Store:
    """The packaged graph (ontology, term extracts, trials) in memory."""
    return memory_store(packaged_sources(), base)


def to_rdflib(sources: Iterable[Source], base: str = BASE):
    """An rdflib Dataset with the same named graphs (for pyshacl and rdflib's engine)."""
    import rdflib

    ds = rdflib.Dataset(default_union=True)
    for source in sources:
        g = ds.graph(rdflib.URIRef(graph_iri(source.slug, base)))
        for q in quads(source, base):
            g.add((rdflib_term(q.subject), rdflib_term(q.predicate), rdflib_term(q.object)))
    return ds


def rdflib_term(term):
    """The rdflib twin of a pyoxigraph term (xsd:string literals become plain literals)."""
    import rdflib

    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return rdflib.Literal(term.value, lang=term.language)
        if term.datatype.value == "http://www.w3.org/2001/XMLSchema#string":
            return rdflib.Literal(term.value)
        return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value))
    raise TypeError(f"unsupported term {term!r}")
