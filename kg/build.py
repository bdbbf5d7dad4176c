"""Build the published graph: ontology + term extracts + mappings + trials.

The output is one merged graph (``trialkg.ttl``, ``.nt``, ``.jsonld``), an
N-Quads file that keeps each publication in its own named graph, and
``void.ttl``, the VoID / DCAT / HCLS description computed from the graph.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kg.graph import Source, memory_store, packaged_sources
from kg.errors import InputError
from kg.prefixes import BASE, PREFIXES

OUTPUTS = {
    "trialkg.ttl": ox.RdfFormat.TURTLE,
    "trialkg.nt": ox.RdfFormat.N_TRIPLES,
    "trialkg.jsonld": ox.RdfFormat.JSON_LD,
    "trialkg.nq": ox.RdfFormat.N_QUADS,
}


@dataclass
class BuildResult:
    """What ``kg build`` wrote."""

    out_dir: Path
    files: list[Path]
    triples: int
    seconds: float


def build(out_dir: str | Path = "dist", sources: list[Source] | None = None, base: str = BASE) -> BuildResult:
    """Write the merged graph to ``out_dir`` in Turtle, N-Triples, JSON-LD and N-Quads.

    Files are written to temporary names and renamed at the end, so a failed
    build never leaves a half-written graph where the last good one was.
    """
    start = time.perf_counter()
    store = memory_store(sources if sources is not None else packaged_sources(), base)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create output folder: {exc.strerror or exc}") from exc

    triples = sorted({ox.Triple(q.subject, q.predicate, q.object) for q in store}, key=str)
    prefixes = {p: ns for p, ns in PREFIXES.items() if p != "trialkg"}
    written: list[Path] = []
    temps: list[tuple[Path, Path]] = []
    try:
        for name, fmt in OUTPUTS.items():
            final = out / name
            tmp = out / f".{name}.tmp"
            if fmt is ox.RdfFormat.N_QUADS:
                ox.serialize(sorted(store, key=str), str(tmp), format=fmt)
            elif fmt is ox.RdfFormat.TURTLE:
                ox.serialize(triples, str(tmp), format=fmt, prefixes=prefixes)
            else:
                ox.serialize(triples, str(tmp), format=fmt)
            temps.append((tmp, final))
        from kg.describe import describe

        void_tmp = out / ".void.ttl.tmp"
        ox.serialize(describe(store, base), str(void_tmp), format=ox.RdfFormat.TURTLE, prefixes=prefixes)
        temps.append((void_tmp, out / "void.ttl"))
        for tmp, final in temps:
            tmp.replace(final)
            written.append(final)
    except OSError as exc:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        raise InputError(f"{out}: cannot write: {exc.strerror or exc}") from exc
    return BuildResult(out_dir=out, files=written, triples=len(triples), seconds=time.perf_counter() - start)
