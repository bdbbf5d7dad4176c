"""A dataset seen as linked-data resources: naming, descriptions, labels and links.

What the server and the static site share. Paths mirror IRIs under the base
(``<base>trial/x`` is ``trial/x``); links are relative, so the same HTML works
behind ``kg serve`` and from any folder of a static host.

Everything here reads the store as it is, with bounded lookups made when a page
is asked for: whether a resource exists, its concise bounded description, its
incoming links (at most :data:`MAX_INCOMING`), its labels and types. Nothing
holds the corpus: no list of every resource, no copy of the store; the only
memory kept between pages is a cache of at most :data:`CACHE_ENTRIES` recent
pages (least recently used first out). The dataset description comes from the
store (``graph/void``, written by ``kg load``) or, for a graph built in
memory, is computed once and held here (a few hundred triples).
"""

from __future__ import annotations

import posixpath
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import pyoxigraph as ox

from kg import media
from kg import sources as src
from kg.dataset import Dataset
from kg.prefixes import OWL, RDF_TYPE, RDFS_LABEL, TKG, compact, data_iri
from kg.query.result import Value
from kg.rdf import to_bytes, turtle, value
from kg.sparql import select

#: last path segment that cannot be a resource's file name on a static host (it is the folder's page)
RESERVED = {"index"}
#: site paths the site's own documents use: the generated evidence views, the ready-made queries, the study
#: listings, the VoID description and the SPARQL endpoint; a graph resource there gets no page, or it would
#: replace (or be hidden by) one
EVIDENCE = "evidence/"
STUDIES = "studies/"
#: where the site serves the JSON-LD context its documents and the export compact with
CONTEXT = "ontology/context.jsonld"
OWN_PATHS = (EVIDENCE, "queries/", STUDIES)
OWN_NAMES = {"void", "sparql", ".well-known"}
#: the external IRIs a page may link to: http and https only
LINKABLE = re.compile(r"https?://", re.IGNORECASE)
#: pages (and RDF documents) kept in memory by a site, the least recently used dropped first
CACHE_ENTRIES = 256
#: terms whose labels a site keeps (a term every publication names, a journal, is stated and labelled once per
#: publication: asking its label took 40 ms of an 81 ms page at 100,000 publications)
LABEL_ENTRIES = 4096
#: incoming links a resource page lists ("referenced by"); more are counted as "more"
MAX_INCOMING = 200
#: triples of one concise bounded description; a larger one is cut there (and says so on its page)
MAX_DESCRIPTION = 5000
#: an ontology's IRI and its version IRI: what an OWL tool opens is the ontology graph, whole
OWL_ONTOLOGY = ox.NamedNode(OWL + "Ontology")
OWL_VERSION_IRI = ox.NamedNode(OWL + "versionIRI")
#: studies per listing page (``studies/page-N``)
PAGE_SIZE = 100


class LRU(OrderedDict[Any, Any]):
    """A dict that keeps its ``size`` most recently used entries (safe to share between the server's threads)."""

    def __init__(self, size: int = CACHE_ENTRIES) -> None:
        super().__init__()
        self.size = size
        self._lock = threading.Lock()

    def __getitem__(self, key: Any) -> Any:
        with self._lock:
            item = super().__getitem__(key)
            self.move_to_end(key)
            return item

    def __setitem__(self, key: Any, item: Any) -> None:
        with self._lock:
            super().__setitem__(key, item)
            self.move_to_end(key)
            while len(self) > self.size:
                self.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return super().__contains__(key)


@dataclass
class Study:
    """One row of the study listing: a study under one of its designs."""

    iri: str
    label: str
    design: str


@dataclass
class Site:
    """A read-only view of a dataset (with its description) as resources under its base."""

    dataset: Dataset
    cache: LRU = field(default_factory=LRU)
    #: recent terms' labels (the dataset is read-only here), apart from the pages so neither evicts the other
    label_cache: LRU = field(default_factory=lambda: LRU(LABEL_ENTRIES))

    def __post_init__(self) -> None:
        # the description resolves at its own IRIs (/dataset...): from the store when `kg load` stored it there,
        # else (a graph built in memory) held here, never added to the dataset's store
        self.extra: list[ox.Triple] = [] if self.dataset.stored_description() else list(self.dataset.description)
        self._extra_subjects = {value(t.subject) for t in self.extra}
        self.dataset.warm()  # pages copy their graphs in forked children: what every copy needs, read once here

    @property
    def base(self) -> str:
        """The base IRI the resources live under."""
        return self.dataset.base

    @property
    def store(self) -> ox.Store:
        """The store behind the site."""
        return self.dataset.store

    # -- naming
    def path_of(self, iri: str) -> str | None:
        """The site path of a resource (``trial/isoda-2018``), or None if it cannot have a page.

        An IRI ending in ``/`` (the ontology's) is the folder's ``index`` page; so
        an IRI whose own last segment is ``index`` gets no page, or it would
        overwrite that one; nor does an IRI at one of the site's own paths, nor
        one with a ``.`` or ``..`` segment (two IRIs, one file).
        """
        if not iri.startswith(self.base):
            return None
        path = iri[len(self.base) :]
        segments = path.split("/")
        if not path or path.startswith("/") or ".." in segments or "." in segments or "//" in path:
            return None  # "trial/./x" would be the file of "trial/x" (review 35: another file's page replaced)
        if any(segment.rsplit(".", 1)[-1] in media.SUFFIXES for segment in segments[:-1] if "." in segment):
            return None  # "trial/x.html/y" needs a folder where "trial/x"'s page is (review 36: publish failed)
        if not re.fullmatch(r"[A-Za-z0-9._~/-]+", path):
            return None
        if path.rsplit("/", 1)[-1].split(".", 1)[0] in RESERVED:
            return None
        if path.startswith(OWN_PATHS) or path.split("/", 1)[0].split(".", 1)[0] in OWN_NAMES:
            return None
        return path + "index" if path.endswith("/") else path

    def iri_of(self, path: str) -> str:
        """The resource IRI for a site path (the inverse of :meth:`path_of`)."""
        if path.endswith("/index"):
            path = path[: -len("index")]
        return data_iri(self.base, path)

    def resources(self) -> Iterator[str]:
        """Every IRI under the base that the dataset describes and that can have a page, each once, streamed.

        Graph by graph (the description's last): a resource stated in several
        graphs (a journal every publication names) is given once, remembered in a
        set of such shared resources only.
        """
        shared: set[str] = set()
        graphs = [*self.dataset.graphs()]
        if not self.extra:
            graphs.append(self.dataset.description_graph)
        for graph in graphs:
            rows = select(
                self.store, f"SELECT DISTINCT ?s WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} FILTER(isIRI(?s)) }}"
            )
            for row in rows:
                iri = value(row["s"])
                if self.path_of(iri) is None:
                    continue
                if self._elsewhere(ox.NamedNode(iri), graph):
                    if iri in shared:
                        continue
                    shared.add(iri)
                yield iri
        yield from sorted(s for s in self._extra_subjects if self.path_of(s) is not None)
        for iri in [*graphs, *self._version_iris()]:  # documents of their own: a graph's IRI, an ontology's version
            if iri not in shared and self.path_of(iri) is not None and not self._subject(iri):
                yield iri

    def _subject(self, iri: str) -> bool:
        """Whether ``iri`` is the subject of a statement (one index lookup; then :meth:`resources` gave it already)."""
        if iri in self._extra_subjects:
            return True
        try:
            node = ox.NamedNode(iri)
        except ValueError:
            return False
        return next(iter(self.store.quads_for_pattern(node, None, None, None)), None) is not None

    def _version_iris(self) -> list[str]:
        """The version IRIs of the ontologies in the ontology graph (sorted)."""
        graph = ox.NamedNode(src.graph_iri(src.ONTOLOGY_SLUG, self.base))
        return sorted(
            value(q.object)
            for q in self.store.quads_for_pattern(None, OWL_VERSION_IRI, None, graph)
            if isinstance(q.object, ox.NamedNode)
        )

    def document_graph(self, iri: str) -> str | None:
        """The named graph a resource's documents hold whole, or None (its concise bounded description is its own).

        An ontology's IRI (and its ``owl:versionIRI``) is the ontology graph: OWL 2 says the ontology is retrieved
        from its IRI, and a tool that opens or imports it read a ten-line header before. A graph's own IRI (an
        N-Quads graph name, ``graph/isoda-2018``) is that graph, so a quad's provenance can be followed.
        """
        try:
            node = ox.NamedNode(iri)
        except ValueError:
            return None
        ontology = ox.NamedNode(src.graph_iri(src.ONTOLOGY_SLUG, self.base))
        if any(True for _ in self.store.quads_for_pattern(node, ox.NamedNode(RDF_TYPE), OWL_ONTOLOGY, ontology)):
            return ontology.value
        if any(True for _ in self.store.quads_for_pattern(None, OWL_VERSION_IRI, node, ontology)):
            return ontology.value
        if self.store.contains_named_graph(node):
            return iri
        return None

    def _elsewhere(self, node: ox.NamedNode, graph: str) -> bool:
        """Whether a resource is stated in another graph than ``graph`` (stops at the first such statement)."""
        return any(value(q.graph_name) != graph for q in self.store.quads_for_pattern(node, None, None, None))

    def exists(self, iri: str) -> bool:
        """Whether ``iri`` is one of the site's resources: a subject, or the name of a graph its documents hold."""
        return self._subject(iri) or self.document_graph(iri) is not None

    # -- descriptions
    def _outgoing(self, node: ox.NamedNode | ox.BlankNode, limit: int) -> list[ox.Triple]:
        """A node's distinct outgoing triples (once, whatever the number of graphs stating them), at most ``limit``."""
        if isinstance(node, ox.BlankNode):
            seen = dict.fromkeys(q.triple for q in self.store.quads_for_pattern(node, None, None, None))
            return list(seen)[:limit]
        rows = select(self.store, f"SELECT DISTINCT ?p ?o WHERE {{ {node} ?p ?o }} LIMIT {int(limit)}")
        out = [ox.Triple(node, r["p"], r["o"]) for r in rows]
        return out + [t for t in self.extra if t.subject == node][: max(0, limit - len(out))]

    def cbd(self, iri: str) -> list[ox.Triple]:
        """Concise bounded description: outgoing triples, blank-node closure, labels of what it points to.

        At most :data:`MAX_DESCRIPTION` triples (no resource of the graph comes
        near; a larger one is cut there, and its page says so).
        """
        out: dict[ox.Triple, None] = {}
        graph = self.document_graph(iri)
        if graph is not None:  # the ontology, or a graph by its name: the graph whole (bounded all the same)
            for q in self.store.quads_for_pattern(None, None, None, ox.NamedNode(graph)):
                if len(out) >= MAX_DESCRIPTION:
                    break
                out[q.triple] = None
        seen: set[ox.NamedNode | ox.BlankNode] = set()
        todo: list[ox.NamedNode | ox.BlankNode] = [ox.NamedNode(iri)]
        while todo and len(out) < MAX_DESCRIPTION:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            for t in self._outgoing(node, MAX_DESCRIPTION - len(out)):
                out[t] = None
                if isinstance(t.object, ox.BlankNode):
                    todo.append(t.object)
        named = {term.value for t in out for term in (t.predicate, t.object) if isinstance(term, ox.NamedNode)}
        for term, labels in self.labels(named).items():
            for label in labels:
                out[ox.Triple(ox.NamedNode(term), ox.NamedNode(RDFS_LABEL), label)] = None
        return sorted(out, key=str)

    def labels(self, iris: set[str] | list[str]) -> dict[str, list[ox.Literal]]:
        """The labels of some terms, in one query for those not asked recently (terms without one are absent)."""
        out: dict[str, list[ox.Literal]] = {}
        terms: list[str] = []
        for term in sorted(iris):
            try:
                known: tuple[ox.Literal, ...] = self.label_cache[term]
            except KeyError:
                terms.append(term)
                continue
            if known:
                out[term] = list(known)
        for i in range(0, len(terms), 500):
            chunk = terms[i : i + 500]
            values = " ".join(str(ox.NamedNode(t)) for t in chunk)
            rows = select(
                self.store, f"SELECT DISTINCT ?t ?l WHERE {{ VALUES ?t {{ {values} }} ?t <{RDFS_LABEL}> ?l }}"
            )
            found: dict[str, list[ox.Literal]] = {}
            for r in rows:
                if isinstance(r["l"], ox.Literal):
                    found.setdefault(value(r["t"]), []).append(r["l"])
            for term in chunk:
                self.label_cache[term] = tuple(found.get(term, ()))
            out.update(found)
        for t in self.extra:
            if t.predicate.value == RDFS_LABEL and value(t.subject) in iris and isinstance(t.object, ox.Literal):
                out.setdefault(value(t.subject), []).append(t.object)
        return out

    def incoming(self, iri: str, limit: int = MAX_INCOMING) -> tuple[list[tuple[str, str]], bool]:
        """Up to ``limit`` (resource, property) pairs pointing at ``iri`` (sorted), and whether there are more."""
        rows = select(
            self.store,
            f"SELECT DISTINCT ?s ?p WHERE {{ ?s ?p {ox.NamedNode(iri)} FILTER(isIRI(?s)) }} LIMIT {int(limit) + 1}",
        )
        pairs = sorted((value(r["s"]), value(r["p"])) for r in rows)
        return pairs[:limit], len(pairs) > limit

    def rdf(self, iri: str, media_type: str) -> bytes:
        """The resource's description in an RDF syntax (recent ones cached: the dataset is read-only here)."""
        key = ("rdf", iri, media_type)
        if key not in self.cache:
            fmt = media.syntax(media_type).format
            cbd = self.cbd(iri)
            self.cache[key] = turtle(cbd) if fmt is ox.RdfFormat.TURTLE else to_bytes(cbd, fmt)
        return cast(bytes, self.cache[key])

    def label(self, iri: str) -> str:
        """The resource's label, or its CURIE."""
        try:
            node = ox.NamedNode(iri)
        except ValueError:
            return iri
        for q in self.store.quads_for_pattern(node, ox.NamedNode(RDFS_LABEL), None, None):
            return value(q.object)
        for t in self.extra:
            if t.subject == node and t.predicate.value == RDFS_LABEL:
                return value(t.object)
        return compact(iri)

    def types(self, iri: str) -> set[str]:
        """The resource's classes."""
        rows = select(self.store, f"SELECT DISTINCT ?t WHERE {{ {ox.NamedNode(iri)} <{RDF_TYPE}> ?t }}")
        return {value(r["t"]) for r in rows} | {
            value(t.object) for t in self.extra if value(t.subject) == iri and t.predicate.value == RDF_TYPE
        }

    def link(self, from_path: str, iri: str, suffix: str = ".html") -> str:
        """A relative link from the page at ``from_path`` to a resource (the IRI itself for external terms).

        An external IRI that is not http or https (``javascript:``, ``data:``,
        ``file:``) gets no link at all (""): pages print it as text.
        """
        path = self.path_of(iri)
        if path is None or not self.exists(iri):
            return iri if LINKABLE.match(iri) else ""
        return posixpath.relpath(path + suffix, posixpath.dirname(from_path) or ".")

    def rows(self, name: str, **params: str) -> list[dict[str, Value]]:
        """Rows of a ready-made query on this site's dataset."""
        return self.dataset.run(name, params).rows

    # -- the study listing: every study by design, a page at a time
    def designs(self) -> list[tuple[str, str, int]]:
        """The designs (subclasses of trialkg:Study) with studies: (class, label, number of studies), by label.

        One aggregate over the studies' types, kept in the cache (every listing page needs it).
        """
        key = ("designs",)
        if key in self.cache:
            return list(self.cache[key])
        rows = select(
            self.store,
            f"""SELECT ?class (COUNT(DISTINCT ?study) AS ?studies) WHERE {{
                  ?class <http://www.w3.org/2000/01/rdf-schema#subClassOf> <{TKG}Study> .
                  ?study a ?class }}
                GROUP BY ?class""",
        )
        found = sorted(
            ((value(r["class"]), self.label(value(r["class"])), int(value(r["studies"]))) for r in rows),
            key=lambda d: (d[1], d[0]),
        )
        self.cache[key] = found
        return list(found)

    def studies(self, offset: int = 0, limit: int = PAGE_SIZE) -> list[Study]:
        """One page of the listing: studies by design (designs by label), each design's in the store's own order.

        The store's order (its index order, the same on every request to the same
        store) needs no sort of the whole listing: a page costs a lookup that skips
        ``offset`` rows, not a sort of every study (1.4 s at 10,000 studies,
        measured: Oxigraph compares IRIs as strings read from its dictionary).
        """
        out: list[Study] = []
        for iri, label, count in self.designs():
            if offset >= count:
                offset -= count
                continue
            want = limit - len(out)
            rows = select(
                self.store,
                f"SELECT DISTINCT ?study WHERE {{ ?study a {ox.NamedNode(iri)} }} LIMIT {int(want)} OFFSET {int(offset)}",
            )
            out += self._named([value(r["study"]) for r in rows], label)
            offset = 0
            if len(out) >= limit:
                break
        return out

    def listing(self) -> Iterator[Study]:
        """The whole listing in the order of :meth:`studies`, streamed (a static site writes every page in one pass)."""
        for iri, label, _count in self.designs():
            rows = select(self.store, f"SELECT DISTINCT ?study WHERE {{ ?study a {ox.NamedNode(iri)} }}")
            chunk: list[str] = []
            for r in rows:
                chunk.append(value(r["study"]))
                if len(chunk) == PAGE_SIZE:
                    yield from self._named(chunk, label)
                    chunk = []
            yield from self._named(chunk, label)

    def _named(self, studies: list[str], design: str) -> list[Study]:
        labels = self.labels(studies)
        return [Study(s, value(labels[s][0]) if s in labels else compact(s), design) for s in studies]
