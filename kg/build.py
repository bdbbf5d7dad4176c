"""``kg build``: the published dumps of a dataset.

The merged graph as ``trialkg.ttl``, ``.nt`` and ``.jsonld``; every named graph
(one per publication, one for the ontology) in ``trialkg.nq``; and ``void.ttl``,
the description computed from the same data. Files are written beside their
final names and renamed at the end, so a failed build never leaves a
half-written dump where the last good one was, nor anything half-written behind.

**Reproducible.** The same input gives the same bytes, on every run and on both
paths below: ``trialkg.nq`` holds the ontology graph, then each publication's
graph in IRI order, each graph's lines sorted; ``trialkg.nt`` is the distinct
triples of every graph, its lines sorted; Turtle and JSON-LD are written from it
in that order; blank nodes carry labels derived from their source
(:func:`kg.sources.triples`), never the parser's random ones.

**Bounded memory.** A large corpus (a :class:`~kg.dataset.Dataset` built with
``defer``) is parsed one batch at a time, each batch written to ``trialkg.nq``
and its triples, sorted, to a scratch run file. The merged graph is a merge of
the sorted runs (the copies of a triple several publications state meet there
and are written once), counted for the description in the same pass: lines of
one subject are adjacent in sorted order, and distinct objects are counted in
partitions by a fixed hash of the object (CRC-32, the same on every run). A
small dataset in memory is the same code with one batch. Turtle and JSON-LD
are written from ``trialkg.nt`` by Oxigraph's streaming writers (JSON-LD as one
array of node objects, the streaming document form), so memory is one batch or
one partition, whatever the corpus size.
"""

from __future__ import annotations

import heapq
import shutil
import tempfile
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pyoxigraph as ox

from kg import sources as src
from kg.dataset import Dataset, load_source
from kg.describe import DISTRIBUTIONS, LINK_TARGETS, Statistics, describe
from kg.errors import OutputError
from kg.outputs import AtomicFiles
from kg.prefixes import PREFIXES, RDF_TYPE, turtle_prefixes
from kg.rdf import graph_bytes

#: publications parsed at once by a streamed build
BATCH = 500
#: merged lines written (and counted) at once
CHUNK = 65536


@dataclass
class BuildResult:
    """What ``kg build`` wrote."""

    out_dir: Path
    files: list[Path]
    triples: int
    seconds: float


def build(dataset: Dataset, out_dir: str | Path = "dist", batch: int = BATCH) -> BuildResult:
    """Write the dumps and ``void.ttl`` of ``dataset`` into ``out_dir`` (see the module docstring)."""
    start = time.perf_counter()
    base = dataset.base
    prefixes = turtle_prefixes()
    with AtomicFiles(out_dir) as out:
        scratch = Path(tempfile.mkdtemp(prefix=".kg-build-", dir=out.folder))
        try:
            names = {key: out.path(name) for key, name, _rdf in DISTRIBUTIONS}
            if dataset.deferred is not None:
                batches: Iterable[tuple[ox.Store, list[str]]] = _parsed(dataset.deferred, base, batch)
            else:
                batches = [(dataset.store, dataset.graphs())]
            quads, runs = _write_graphs(batches, names["nq"], scratch)
            stats = _merge(runs, names["nt"], scratch, base, quads)
            for key, _name, rdf in DISTRIBUTIONS:
                if key in ("nq", "nt"):
                    continue
                merged = ox.parse(path=str(names["nt"]), format=ox.RdfFormat.N_TRIPLES)
                if rdf.format is ox.RdfFormat.TURTLE:
                    ox.serialize(merged, str(names[key]), format=rdf.format, prefixes=prefixes)
                else:
                    ox.serialize(merged, str(names[key]), format=rdf.format)
            ox.serialize(
                describe(stats, base), str(out.path("void.ttl")), format=ox.RdfFormat.TURTLE, prefixes=prefixes
            )
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    if not out.written:
        raise OutputError(f"{out_dir}: nothing was written")
    return BuildResult(
        out_dir=Path(out_dir), files=out.written, triples=stats.triples, seconds=time.perf_counter() - start
    )


def _parsed(pubs: Sequence[src.Source], base: str, batch: int) -> Iterator[tuple[ox.Store, list[str]]]:
    """The ontology, then the publications in graph-IRI order, ``batch`` at a time: each parsed store and its graphs.

    The sources of one graph stay in one batch, so every graph is written whole, once.
    """
    yield _store(src.ontology(), base), [src.graph_iri(src.ONTOLOGY_SLUG, base)]
    by_graph: dict[str, list[src.Source]] = {}
    for s in sorted(pubs, key=lambda s: s.graph(base)):
        by_graph.setdefault(s.graph(base), []).append(s)
    graphs = list(by_graph)
    for i in range(0, len(graphs), batch):
        chunk = graphs[i : i + batch]
        yield _store([s for g in chunk for s in by_graph[g]], base), chunk


def _store(sources: Sequence[src.Source], base: str) -> ox.Store:
    one = ox.Store()
    for source in sources:
        load_source(one, source, base)
    return one


def _sorted_lines(data: bytes) -> list[bytes]:
    lines = data.splitlines(keepends=True)
    lines.sort()
    return lines


def _write_graphs(batches: Iterable[tuple[ox.Store, list[str]]], nquads: Path, scratch: Path) -> tuple[int, list[Path]]:
    """Write each batch's graphs to ``nquads`` (lines sorted per graph) and its distinct triples, sorted, to a run file.

    Returns the number of quads written and the run files.
    """
    quads, runs = 0, list[Path]()
    with open(nquads, "wb") as nq:
        for store, graphs in batches:
            triples: set[bytes] = set()
            for iri in graphs:
                graph = ox.NamedNode(iri)
                lines = _sorted_lines(graph_bytes(store, graph, ox.RdfFormat.N_QUADS))
                quads += len(lines)
                nq.write(b"".join(lines))
                triples.update(graph_bytes(store, graph, ox.RdfFormat.N_TRIPLES).splitlines(keepends=True))
            run = scratch / f"run-{len(runs)}.nt"
            run.write_bytes(b"".join(sorted(triples)))
            runs.append(run)
            del store, triples
    return quads, runs


def _merge(runs: list[Path], merged: Path, scratch: Path, base: str, quads: int) -> Statistics:
    """Merge the sorted runs into ``merged`` (each distinct triple once) and count it as :func:`kg.describe.statistics` does.

    Bounded memory: a line per run and a chunk of merged lines at a time; the
    distinct objects are counted in partitions by the CRC-32 of the object, one
    partition at a time.
    """
    parts = max(1, sum(r.stat().st_size for r in runs) // PARTITION_BYTES)
    counts = _Counts(base)
    inputs: list[IO[bytes]] = [open(r, "rb") for r in runs]
    by_object: list[IO[bytes]] = [open(scratch / f"o{i}", "wb") for i in range(parts)]
    try:
        with open(merged, "wb") as out:
            chunk: list[bytes] = []
            previous = b""
            for line in heapq.merge(*inputs):
                if line == previous:
                    continue
                previous = line
                chunk.append(line)
                if len(chunk) >= CHUNK:
                    _flush(chunk, out, counts, by_object)
                    chunk = []
            _flush(chunk, out, counts, by_object)
    finally:
        for f in [*inputs, *by_object]:
            f.close()
    for i in range(parts):
        objects = (scratch / f"o{i}").read_bytes().split(b"\n")
        (scratch / f"o{i}").unlink()
        counts.objects += len(set(objects[:-1]))
    for r in runs:
        r.unlink()
    return counts.statistics(quads)


def _flush(chunk: list[bytes], out: IO[bytes], counts: _Counts, by_object: list[IO[bytes]]) -> None:
    """Write merged lines, count them, and spread their objects over the object partitions."""
    out.write(b"".join(chunk))
    objects = counts.add(chunk)
    if len(by_object) == 1:
        by_object[0].write(b"\n".join(objects) + b"\n" if objects else b"")
        return
    for obj in objects:
        by_object[zlib.crc32(obj) % len(by_object)].write(obj + b"\n")


#: bytes of N-Triples per partition of :func:`_merge` (what it holds at once, times a small factor)
PARTITION_BYTES = 24 * 1024 * 1024


class _Counts:
    """The counts of :class:`kg.describe.Statistics`, added up chunk by chunk from sorted, distinct N-Triples lines."""

    def __init__(self, base: str):
        self.base = b"<" + base.encode()
        self.namespaces = {p: PREFIXES[p] for p in LINK_TARGETS}
        self.links = dict.fromkeys(self.namespaces, 0)
        self.triples = self.subjects = self.entities = self.objects = 0
        self.properties: set[bytes] = set()
        self.classes: set[bytes] = set()
        self._ns: dict[bytes, str | None] = {}
        self._last_subject = b""

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

    def add(self, lines: list[bytes]) -> list[bytes]:
        """Count distinct, sorted triples (a subject's lines are adjacent, also across calls); returns their objects."""
        rdf_type = f"<{RDF_TYPE}>".encode()
        objects = []
        last = self._last_subject
        for line in lines:
            s, p, rest = line.split(b" ", 2)
            o = rest[:-3]
            objects.append(o)
            if s != last:
                last = s
                self.subjects += 1
                if s.startswith(self.base):
                    self.entities += 1
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
        self._last_subject = last
        self.triples += len(lines)
        return objects

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
