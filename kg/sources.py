"""Turtle sources and the one parser every verb uses.

A source is one Turtle file and the named graph it belongs to: the ontology,
the term extracts and the SSSOM mappings share ``graph/ontology``; each
publication file gets ``graph/<slug>``, which is what lets a store replace
exactly one publication on re-load. Parsing happens here and nowhere else, so a
syntax error always names ``file:line:column`` and nothing is half-read.
"""

from __future__ import annotations

import hashlib
import os
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from kg import resources
from kg.errors import InputError, printable
from kg.prefixes import BASE, XSD, data_iri, rebase

if TYPE_CHECKING:
    import rdflib

ONTOLOGY_SLUG = "ontology"
#: the graph ``kg load`` stores the dataset description in (no publication may use its name)
DESCRIPTION_SLUG = "void"


@dataclass(frozen=True, slots=True)
class Source:
    """One Turtle document and the named graph it goes into.

    Either its bytes (``data``) or the file to read them from (``location``):
    files are read only when parsed, one at a time, so a corpus of any size is
    never in memory at once.
    """

    name: str  # what error messages call the file
    slug: str  # the named graph's local name (IRI-safe)
    data: bytes | None = None
    location: Traversable | Path | None = None

    def graph(self, base: str = BASE) -> str:
        """The named graph's IRI under ``base``."""
        return graph_iri(self.slug, base)

    def read(self) -> bytes:
        """The document's bytes (read from its file now, when it has one); unreadable: an :class:`InputError`."""
        if self.data is not None:
            return self.data
        if self.location is None:
            return b""
        try:
            return self.location.read_bytes()
        except OSError as exc:
            raise InputError(f"{self.name}: cannot read: {exc.strerror or exc}") from exc

    @property
    def size(self) -> int:
        """The document's size in bytes (without reading it)."""
        if self.data is not None:
            return len(self.data)
        if isinstance(self.location, Path):
            try:
                return self.location.stat().st_size
            except OSError:
                return 0
        return len(self.read())


def graph_iri(slug: str, base: str = BASE) -> str:
    """The named graph of a publication (or of the ontology).

    >>> graph_iri("isoda-2018")
    'https://w3id.org/trialkg/graph/isoda-2018'
    """
    return data_iri(base, f"graph/{slug}")


def slug_of(name: str) -> str:
    """An IRI-safe graph slug for a file name: its stem, with anything else percent-encoded.

    Any name the operating system allows becomes a valid IRI segment, so a file
    called ``a b.ttl`` loads into ``graph/a%20b`` instead of crashing; the bytes
    of a name that is not UTF-8 are percent-encoded as they are.

    >>> slug_of("a b.ttl")
    'a%20b'
    >>> slug_of("isoda-2018.ttl")
    'isoda-2018'
    >>> slug_of(os.fsdecode(b"bad\\xff.ttl"))
    'bad%FF'
    """
    stem = name[: -len(".ttl")] if name.endswith(".ttl") else name.rsplit(".", 1)[0]
    return urllib.parse.quote(os.fsencode(stem), safe="-._~") or "unnamed"


def read(entry: Traversable | Path, slug: str | None = None) -> Source:
    """A source for one file, read when it is parsed; a file that cannot be opened is an :class:`InputError` now.

    Its name, as messages print it, has control characters and bytes that are
    not UTF-8 escaped (:func:`kg.errors.printable`).
    """
    name = printable(str(entry))
    if isinstance(entry, Path):
        try:
            with open(entry, "rb"):
                pass
        except OSError as exc:
            raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from exc
        return Source(name=name, slug=slug or slug_of(entry.name), location=entry)
    try:
        data = entry.read_bytes()
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from exc
    return Source(name=name, slug=slug or slug_of(entry.name), data=data)


def ontology() -> list[Source]:
    """The ontology, the term extracts and the SSSOM mappings as triples: one shared graph."""
    from kg import mappings

    out = [read(f, ONTOLOGY_SLUG) for f in resources.ontology_files()]
    out.append(
        Source(name="ontology/mappings.sssom.tsv", slug=ONTOLOGY_SLUG, data=mappings.as_ntriples(mappings.packaged()))
    )
    return out


def packaged_publications() -> list[Source]:
    """The curated publications shipped with the package."""
    return [read(f) for f in resources.trial_files()]


def files(paths: Iterable[str | Path]) -> list[Source]:
    """User-supplied Turtle files, or folders of them: one named graph each."""
    out: list[Source] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            members = sorted(p for p in path.glob("*.ttl") if p.is_file())
            if not members:
                raise InputError(f"{printable(str(path))}: folder holds no .ttl files")
            out += [read(p) for p in members]
        elif path.exists():
            out.append(read(path))
        else:
            raise InputError(f"{printable(str(path))}: no such file")
    slugs: dict[str, str] = {}
    for s in out:
        reserved = {
            ONTOLOGY_SLUG: "the packaged ontology",
            DESCRIPTION_SLUG: "the dataset description",
            "index": "a folder's page on the site (graph/index is graph/'s page, so the graph could not be had)",
        }
        if s.slug in reserved or s.slug in slugs:
            other = slugs.get(s.slug, reserved.get(s.slug, ""))
            raise InputError(f"{s.name}: its graph name {s.slug!r} is already used by {other}; rename the file")
        slugs[s.slug] = s.name
    return out


def publications(paths: Iterable[str | Path] | None = None) -> list[Source]:
    """The user's publication files when given, else the packaged ones."""
    paths = list(paths or [])
    return files(paths) if paths else packaged_publications()


def parse_error(name: str, exc: SyntaxError | MemoryError) -> InputError:
    """Turn a parser's error into ``file:line:column: message``.

    pyoxigraph's parser reads one token (a literal, an IRI) into a buffer of at
    most 16 MiB and raises :class:`MemoryError` past it: that is the file's
    fault too, so it is reported the same way (call :func:`is_token_limit` first).
    """
    if isinstance(exc, MemoryError):
        return InputError(
            f"{name}: cannot parse: it holds a literal or IRI longer than {TOKEN_LIMIT >> 20} MiB, "
            "the most the Turtle parser reads as one term"
        )
    where = f"{name}:{exc.lineno}:{exc.offset or 1}" if exc.lineno else name
    return InputError(f"{where}: Turtle syntax error: {exc}")


#: the longest single term (literal or IRI) pyoxigraph's parsers read (bytes)
TOKEN_LIMIT = 16 * 1024 * 1024


def is_token_limit(exc: MemoryError) -> bool:
    """Whether a parser's :class:`MemoryError` is its one-token limit (the input's fault), not memory running out."""
    return "buffer maximal size" in str(exc)


def _rebase(term: Any, base: str) -> Any:
    if isinstance(term, ox.NamedNode):
        moved = rebase(term.value, base)
        return term if moved == term.value else ox.NamedNode(moved)
    return term


#: Turtle that can make a blank node: a label, ``[``, a collection, an RDF 1.2 reifier or annotation. A document
#: with none of these bytes (anywhere, literals included) has no blank node, so the store may parse it directly.
BLANK_NODE_SYNTAX = (b"_:", b"[", b"(", b"<<", b"~", b"{|")


def may_hold_blank_nodes(data: bytes) -> bool:
    """Whether a Turtle document might state a blank node (False: it certainly does not).

    >>> may_hold_blank_nodes(b'<a> <b> "c" .'), may_hold_blank_nodes(b'<a> <b> [ <c> 1 ] .')
    (False, True)
    """
    return any(token in data for token in BLANK_NODE_SYNTAX)


def triples(source: Source, base: str = BASE) -> list[ox.Quad]:
    """Parse one source completely (so an error leaves nothing behind); IRIs moved to ``base``.

    The statements come back in the default graph; :func:`quads` puts them in the source's own.
    Blank nodes get labels that depend only on the source and their order in it
    (:class:`_BlankLabels`), not the parser's random ones, so the same input always
    gives the same output bytes.
    """
    try:
        parsed = list(ox.parse(source.read(), format=ox.RdfFormat.TURTLE, base_iri=BASE))
    except SyntaxError as exc:
        raise parse_error(source.name, exc) from None
    except MemoryError as exc:
        if not is_token_limit(exc):
            raise
        raise parse_error(source.name, exc) from None
    labels = _BlankLabels(source)
    if base != BASE:
        parsed = [ox.Quad(_rebase(t.subject, base), t.predicate, _rebase(t.object, base)) for t in parsed]
    if any(isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode) for t in parsed):
        parsed = [ox.Quad(labels.term(t.subject), t.predicate, labels.term(t.object)) for t in parsed]
    return parsed


class _BlankLabels:
    """Deterministic blank-node labels for one source: ``b<digest of its graph and file name>n<order of appearance>``.

    The parser labels blank nodes at random (two parses of one file differ); these
    labels are the same on every run and every path, and never the same in two sources.
    """

    def __init__(self, source: Source):
        name = Path(source.name).name
        self.prefix = "b" + hashlib.sha256(f"{source.slug}/{name}".encode()).hexdigest()[:16] + "n"
        self.seen: dict[str, ox.BlankNode] = {}

    def term(self, term: Any) -> Any:
        """The term with its blank nodes relabelled (other terms unchanged)."""
        if isinstance(term, ox.BlankNode):
            if term.value not in self.seen:
                self.seen[term.value] = ox.BlankNode(f"{self.prefix}{len(self.seen)}")
            return self.seen[term.value]
        if isinstance(term, ox.Triple):  # an RDF 1.2 triple term
            return ox.Triple(self.term(term.subject), term.predicate, self.term(term.object))
        return term


def quads(source: Source, base: str = BASE) -> Iterator[ox.Quad]:
    """The source's triples as quads in its named graph."""
    graph = ox.NamedNode(source.graph(base))
    for t in triples(source, base):
        yield ox.Quad(t.subject, t.predicate, t.object, graph)


def shapes() -> list[ox.Quad]:
    """The packaged SHACL shapes (a broken shape file is a packaging bug, reported by name)."""
    out: list[ox.Quad] = []
    for entry in resources.shape_files():
        out += triples(read(entry, "shapes"))
    return out


def rdflib_term(term: Any) -> rdflib.term.Identifier:
    """The rdflib twin of a pyoxigraph term (the one conversion; xsd:string literals become plain)."""
    import rdflib

    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return rdflib.Literal(term.value, lang=term.language)
        if term.datatype.value == XSD + "string":
            return rdflib.Literal(term.value)
        return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value))
    raise TypeError(f"unsupported term {term!r}")


def from_rdflib(term: Any) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """The pyoxigraph twin of an rdflib term."""
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


def rdflib_graph(items: Iterable[ox.Triple | ox.Quad], transform: Callable[[Any], Any] | None = None) -> rdflib.Graph:
    """An rdflib Graph of the given triples or quads (graph names dropped); ``transform`` maps objects."""
    import rdflib

    g = rdflib.Graph()
    for t in items:
        obj = rdflib_term(t.object)
        g.add((rdflib_term(t.subject), rdflib_term(t.predicate), transform(obj) if transform else obj))
    return g
