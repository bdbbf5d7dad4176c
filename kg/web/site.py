"""A dataset seen as linked-data resources: naming, descriptions, labels and links.

What the server and the static site share. Paths mirror IRIs under the base
(``<base>trial/x`` is ``trial/x``); links are relative, so the same HTML works
behind ``kg serve`` and from any folder of a static host.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

import pyoxigraph as ox

from kg import media
from kg.dataset import Dataset
from kg.prefixes import RDF_TYPE, RDFS_LABEL, compact
from kg.rdf import to_bytes, turtle, value

#: last path segment that cannot be a resource's file name on a static host (it is the folder's page)
RESERVED = {"index"}
#: site paths the site's own documents use: the generated evidence views, the ready-made queries, the VoID
#: description and the SPARQL endpoint; a graph resource there gets no page, or it would replace (or be hidden by) one
EVIDENCE = "evidence/"
OWN_PATHS = (EVIDENCE, "queries/")
OWN_NAMES = {"void", "sparql", ".well-known"}
#: the external IRIs a page may link to: http and https only
LINKABLE = re.compile(r"https?://", re.IGNORECASE)


@dataclass
class Site:
    """A read-only view of a dataset (with its description) as resources under its base."""

    dataset: Dataset
    cache: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        rows = self.dataset.run("resources", {"namespace": self.base}).rows
        self._resources = sorted({r["resource"].value for r in rows if self.path_of(r["resource"].value) is not None})
        self._known = set(self._resources)

    @property
    def base(self) -> str:
        """The base IRI the resources live under."""
        return self.dataset.base

    @property
    def store(self) -> ox.Store:
        """The store behind the site (data and description)."""
        return self.dataset.store

    # -- naming
    def path_of(self, iri: str) -> str | None:
        """The site path of a resource (``trial/isoda-2018``), or None if it cannot have a page.

        An IRI ending in ``/`` (the ontology's) is the folder's ``index`` page; so
        an IRI whose own last segment is ``index`` gets no page, or it would
        overwrite that one; nor does an IRI at one of the site's own paths.
        """
        if not iri.startswith(self.base):
            return None
        path = iri[len(self.base) :]
        if not path or path.startswith("/") or ".." in path.split("/") or "//" in path:
            return None
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
        return self.base + path

    def resources(self) -> list[str]:
        """Every IRI under the base that the dataset describes and that can have a page."""
        return list(self._resources)

    def exists(self, iri: str) -> bool:
        """Whether ``iri`` is one of the site's resources."""
        return iri in self._known

    # -- descriptions
    def cbd(self, iri: str) -> list[ox.Triple]:
        """Concise bounded description: outgoing triples, blank-node closure, labels of what it points to."""
        out: set[ox.Triple] = set()
        seen: set = set()
        todo: list = [ox.NamedNode(iri)]
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            for q in self.store.quads_for_pattern(node, None, None, None):
                out.add(q.triple)
                if isinstance(q.object, ox.BlankNode):
                    todo.append(q.object)
        label = ox.NamedNode(RDFS_LABEL)
        for t in list(out):
            for term in (t.predicate, t.object):
                if isinstance(term, ox.NamedNode):
                    out.update(q.triple for q in self.store.quads_for_pattern(term, label, None, None))
        return sorted(out, key=str)

    def rdf(self, iri: str, media_type: str) -> bytes:
        """The resource's description in an RDF syntax (cached: the dataset is read-only here)."""
        key = ("rdf", iri, media_type)
        if key not in self.cache:
            fmt = media.syntax(media_type).format
            cbd = self.cbd(iri)
            self.cache[key] = turtle(cbd) if fmt is ox.RdfFormat.TURTLE else to_bytes(cbd, fmt)
        return self.cache[key]

    def label(self, iri: str) -> str:
        """The resource's label, or its CURIE."""
        for q in self.store.quads_for_pattern(ox.NamedNode(iri), ox.NamedNode(RDFS_LABEL), None, None):
            return value(q.object)
        return compact(iri)

    def types(self, iri: str) -> set[str]:
        """The resource's classes."""
        return {
            value(q.object) for q in self.store.quads_for_pattern(ox.NamedNode(iri), ox.NamedNode(RDF_TYPE), None, None)
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

    def rows(self, name: str, **params: str) -> list[dict]:
        """Rows of a ready-made query on this site's dataset."""
        return self.dataset.run(name, params).rows
