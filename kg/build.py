"""``kg build``: the published dumps of a dataset.

The merged graph as ``trialkg.ttl``, ``.nt`` and ``.jsonld``; every named graph
(one per publication, one for the ontology) in ``trialkg.nq``; and ``void.ttl``,
the description computed from the same data. Files are written beside their
final names and renamed at the end, so a failed build never leaves a
half-written dump where the last good one was, nor anything half-written behind.

A large corpus (a :class:`~kg.dataset.Dataset` built with ``defer``) is
streamed instead of held: the sources are parsed one batch at a time, each
batch written to ``trialkg.nq`` and, as N-Triples, to a scratch file. The
merged graph is that file without the triples several publications state:
its lines are spread over partition files by subject, so every copy of a
triple meets in one partition, deduplicated and counted there one partition at
a time (the counts of the description come from the same pass, exactly as the
SPARQL of :mod:`kg.describe` counts them). Turtle and JSON-LD are then written
from ``trialkg.nt`` by Oxigraph's streaming writers (JSON-LD as one array of
node objects, the streaming document form), so memory is one batch or one
partition, whatever the corpus size.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kg import sources as src
from kg.dataset import Dataset, load_source
from kg.describe import DISTRIBUTIONS, LINK_TARGETS, Statistics, describe
from kg.errors import OutputError
from kg.outputs import AtomicFiles
from kg.prefixes import PREFIXES, RDF_TYPE, turtle_prefixes
from kg.rdf import iris_of, turtle

#: publications parsed at once by a streamed build
BATCH = 500


@dataclass
class BuildResult:
    """What ``kg build`` wrote."""

    out_dir: Path
    files: list[Path]
    triples: int
    seconds: float


def build(dataset: Dataset, out_dir: str | Path = "dist") -> BuildResult:
    """Write the dumps and ``void.ttl`` of ``dataset`` into ``out_dir``."""
    start = time.perf_counter()
    if dataset.deferred is not None:
        return _streamed(dataset.deferred, dataset.base, out_dir, start)
    prefixes = turtle_prefixes(iris_of(dataset.triples()))
    with AtomicFiles(out_dir) as out:
        for _key, name, rdf in DISTRIBUTIONS:
            path = out.path(name)
            if rdf.format is ox.RdfFormat.N_QUADS:
                ox.serialize(dataset.quads(), str(path), format=rdf.format)
            elif rdf.format is ox.RdfFormat.TURTLE:
                ox.serialize(dataset.triples(), str(path), format=rdf.format, prefixes=prefixes)
            else:
                ox.serialize(dataset.triples(), str(path), format=rdf.format)
        out.path("void.ttl").write_bytes(turtle(dataset.description))
    if not out.written:
        raise OutputError(f"{out_dir}: nothing was written")
    return BuildResult(
        out_dir=Path(out_dir),
        files=out.written,
        triples=dataset.statistics.triples,
        seconds=time.perf_counter() - start,
    )


def _streamed(
    pubs: Sequence[src.Source], base: str, out_dir: str | Path, start: float, batch: int = BATCH
) -> BuildResult:
    """The same files as :func:`build`, from sources parsed one batch at a time (see the module docstring)."""
    with AtomicFiles(out_dir) as out:
        scratch = Path(tempfile.mkdtemp(prefix=".kg-build-", dir=out.folder))
        try:
            names = {key: out.path(name) for key, name, _rdf in DISTRIBUTIONS}
            flat = scratch / "graphs.nt"
            quads = _write_graphs(pubs, base, batch, names["nq"], flat)
            stats, escaping = _merge(flat, names["nt"], scratch, base, quads)
            flat.unlink()
            prefixes = {p: ns for p, ns in turtle_prefixes().items() if ns not in escaping}
            for key, _name, rdf in DISTRIBUTIONS:
                if key in ("nq", "nt"):
                    continue
                merged = ox.parse(path=str(names["nt"]), format=ox.RdfFormat.N_TRIPLES)
                if rdf.format is ox.RdfFormat.TURTLE:
                    ox.serialize(merged, str(names[key]), format=rdf.format, prefixes=prefixes)
                else:
                    ox.serialize(merged, str(names[key]), format=rdf.format)
            out.path("void.ttl").write_bytes(turtle(describe(stats, base)))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    if not out.written:
        raise OutputError(f"{out_dir}: nothing was written")
    return BuildResult(
        out_dir=Path(out_dir), files=out.written, triples=stats.triples, seconds=time.perf_counter() - start
    )


def _write_graphs(pubs: Sequence[src.Source], base: str, batch: int, nquads: Path, flat: Path) -> int:
    """Parse the ontology, then the publications one batch at a time: N-Quads, and every graph's triples to ``flat``.

    Returns the number of quads written.
    """
    quads = 0
    with open(nquads, "wb") as nq, open(flat, "wb") as nt:
        groups: list[list[src.Source]] = [src.ontology()]
        groups += [list(pubs[i : i + batch]) for i in range(0, len(pubs), batch)]
        for group in groups:
            one = ox.Store()
            for source in group:
                load_source(one, source, base)
            quads += len(one)
            one.dump(nq, format=ox.RdfFormat.N_QUADS)
            for graph in dict.fromkeys(s.graph(base) for s in group):
                one.dump(nt, format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(graph))
            del one
    return quads


def _merge(flat: Path, merged: Path, scratch: Path, base: str, quads: int) -> tuple[Statistics, set[str]]:
    """Write the distinct triples of ``flat`` to ``merged`` and count them as :func:`kg.describe.statistics` does.

    Bounded memory: the triples are spread over partition files by subject (a
    triple stated in several graphs lands in one partition), their objects over
    others by object; each partition is then deduplicated and counted alone.
    Also returns the prefix namespaces under which some IRI of the graph would
    need an escape in Turtle (see :func:`kg.prefixes.turtle_prefixes`).
    """
    escaping: set[str] = set()
    unsafe = _escaping_iri()
    parts = max(1, flat.stat().st_size // PARTITION_BYTES)
    by_subject = [open(scratch / f"s{i}", "wb") for i in range(parts)]
    by_object = [open(scratch / f"o{i}", "wb") for i in range(parts)]
    try:
        with open(flat, "rb") as fh:
            for line in fh:  # canonical N-Triples: `S P O .` with S and P free of spaces
                subject, _p, rest = line.split(b" ", 2)
                obj = rest[:-3]
                by_subject[hash(subject) % parts].write(line)
                by_object[hash(obj) % parts].write(obj + b"\n")
    finally:
        for f in [*by_subject, *by_object]:
            f.close()
    counts = _Counts(base)
    with open(merged, "wb") as out:
        for i in range(parts):
            data = (scratch / f"s{i}").read_bytes()
            escaping.update(m.group(1).decode() for m in unsafe.finditer(data))
            lines = dict.fromkeys(data.splitlines(keepends=True))
            del data
            (scratch / f"s{i}").unlink()
            out.write(b"".join(lines))
            counts.add(lines)
            objects = (scratch / f"o{i}").read_bytes().split(b"\n")
            (scratch / f"o{i}").unlink()
            counts.objects += len(set(objects[:-1]))
    return counts.statistics(quads), escaping


def _escaping_iri() -> re.Pattern[bytes]:
    """An IRI in N-Triples under a namespace of :func:`kg.prefixes.turtle_prefixes` whose local name needs an escape.

    Group 1 is the namespace. The same rule as ``turtle_prefixes(iris)``, run over bytes at C speed.
    """
    namespaces = sorted(turtle_prefixes().values(), key=len, reverse=True)
    alternatives = b"|".join(re.escape(ns.encode()) for ns in namespaces)
    plain = rb"[A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_\-])?"
    return re.compile(rb"<(" + alternatives + rb")(?!(?:" + plain + rb")?>)[^>]*>")


#: bytes of N-Triples per partition of :func:`_merge` (what it holds at once, times a small factor)
PARTITION_BYTES = 24 * 1024 * 1024


class _Counts:
    """The counts of :class:`kg.describe.Statistics`, added up partition by partition from N-Triples lines."""

    def __init__(self, base: str):
        self.base = b"<" + base.encode()
        self.namespaces = {p: PREFIXES[p] for p in LINK_TARGETS}
        self.links = dict.fromkeys(self.namespaces, 0)
        self.triples = self.subjects = self.entities = self.objects = 0
        self.properties: set[bytes] = set()
        self.classes: set[bytes] = set()
        self._ns: dict[bytes, str | None] = {}

    def _ns_of(self, iri: bytes) -> str | None:
        if iri not in self._ns:
            if len(self._ns) > 100_000:
                self._ns.clear()
            text, best = iri.decode(), None
            for prefix, ns in self.namespaces.items():
                if text.startswith(ns) and (best is None or len(ns) > len(self.namespaces[best])):
                    best = prefix
            self._ns[iri] = best
        return self._ns[iri]

    def add(self, lines) -> None:
        """Count the distinct triples of one partition (every triple of a subject is in the same partition)."""
        subjects: set[bytes] = set()
        rdf_type = f"<{RDF_TYPE}>".encode()
        for line in lines:
            s, p, rest = line.split(b" ", 2)
            o = rest[:-3]
            subjects.add(s)
            self.properties.add(p)
            if p == rdf_type:
                self.classes.add(o)
            if o.startswith(b"<"):
                ns = self._ns_of(o[1:-1])
                if ns is not None:
                    self.links[ns] += 1
                    if (
                        s.startswith(b"<")
                        and not s.startswith(self.base)
                        and s[1:].decode().startswith(self.namespaces[ns])
                    ):
                        self.links[ns] -= 1
        self.triples += len(lines)
        self.subjects += len(subjects)
        self.entities += sum(1 for s in subjects if s.startswith(self.base))

    def statistics(self, quads: int) -> Statistics:
        """The totals."""
        return Statistics(
            triples=self.triples,
            entities=self.entities,
            classes=len(self.classes),
            properties=len(self.properties),
            distinct_subjects=self.subjects,
            distinct_objects=self.objects,
            quads=quads,
            links=self.links,
        )
