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

import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kg import sources as src
from kg.dataset import Dataset, load_source
from kg.describe import DISTRIBUTIONS, Statistics, describe
from kg.errors import OutputError
from kg.merge import merge, write_run
from kg.outputs import RECORD, AtomicFiles
from kg.prefixes import turtle_prefixes
from kg.rdf import graph_bytes, turtle

#: publications parsed at once by a streamed build
BATCH = 500


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
    with AtomicFiles(out_dir, record=RECORD) as out:
        names = {key: out.path(name) for key, name, _rdf in DISTRIBUTIONS}
        stats = write_dumps(dataset, names, out.folder, batch)
        out.path("void.ttl").write_bytes(turtle(describe(stats, dataset.base)))
    if not out.written:
        raise OutputError(f"{out_dir}: nothing was written")
    return BuildResult(
        out_dir=Path(out_dir), files=out.written, triples=stats.triples, seconds=time.perf_counter() - start
    )


def write_dumps(dataset: Dataset, names: dict[str, Path], scratch_in: Path, batch: int = BATCH) -> Statistics:
    """Write the dumps of ``dataset`` to ``names`` (a path for each key of :data:`~kg.describe.DISTRIBUTIONS`), with
    a scratch folder made in ``scratch_in``; the statistics of the merged graph. ``kg build`` and ``kg publish``
    (whose site serves the dumps its description names) both write them here.

    A store ``kg load`` made is read ``batch`` graphs at a time, as a deferred corpus is parsed: one batch's
    triples are sorted in memory, never the whole store's.
    """
    base = dataset.base
    scratch = Path(tempfile.mkdtemp(prefix=".kg-build-", dir=scratch_in))
    try:
        if dataset.deferred is not None:
            batches: Iterable[tuple[ox.Store, list[str]]] = _parsed(dataset.deferred, base, batch)
        else:
            graphs = dataset.graphs()
            batches = ((dataset.store, graphs[i : i + batch]) for i in range(0, len(graphs), batch))
        quads, runs = _write_graphs(batches, names["nq"], scratch)
        escaping: set[str] = set()  # namespaces some IRI would need an escape under: no prefix for them
        stats = merge(runs, names["nt"], scratch, base, quads, escaping)
        prefixes = {p: ns for p, ns in turtle_prefixes().items() if ns not in escaping}
        for key, _name, rdf in DISTRIBUTIONS:
            if key in ("nq", "nt"):
                continue
            merged = ox.parse(path=str(names["nt"]), format=ox.RdfFormat.N_TRIPLES)
            if rdf.format is ox.RdfFormat.TURTLE:
                ox.serialize(merged, str(names[key]), format=rdf.format, prefixes=prefixes)
            else:
                ox.serialize(merged, str(names[key]), format=rdf.format)
        return stats
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


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
            for iri in graphs:
                lines = _sorted_lines(graph_bytes(store, ox.NamedNode(iri), ox.RdfFormat.N_QUADS))
                quads += len(lines)
                nq.write(b"".join(lines))
            run = scratch / f"run-{len(runs)}.nt"
            write_run(store, graphs, run)
            runs.append(run)
            del store
    return quads, runs
