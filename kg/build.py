"""``kg build``: the published dumps of a dataset.

The merged graph as ``trialkg.ttl``, ``.nt`` and ``.jsonld``; every named graph
(one per publication, one for the ontology) in ``trialkg.nq``; and ``void.ttl``,
the description computed from the same data. Files are written beside their
final names and renamed at the end, so a failed build never leaves a
half-written dump where the last good one was, nor anything half-written behind.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kg.dataset import Dataset
from kg.describe import DISTRIBUTIONS
from kg.errors import OutputError
from kg.outputs import AtomicFiles
from kg.prefixes import turtle_prefixes


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
    prefixes = turtle_prefixes()
    with AtomicFiles(out_dir) as out:
        for _key, name, rdf in DISTRIBUTIONS:
            path = out.path(name)
            if rdf.format is ox.RdfFormat.N_QUADS:
                ox.serialize(dataset.quads(), str(path), format=rdf.format)
            elif rdf.format is ox.RdfFormat.TURTLE:
                ox.serialize(dataset.triples(), str(path), format=rdf.format, prefixes=prefixes)
            else:
                ox.serialize(dataset.triples(), str(path), format=rdf.format)
        ox.serialize(dataset.description, str(out.path("void.ttl")), format=ox.RdfFormat.TURTLE, prefixes=prefixes)
    if not out.written:
        raise OutputError(f"{out_dir}: nothing was written")
    return BuildResult(out_dir=Path(out_dir), files=out.written, triples=dataset.statistics.triples,
                       seconds=time.perf_counter() - start)
