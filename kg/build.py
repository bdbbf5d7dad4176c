"""Build the published graph: ontology + term extracts + mappings + trials.

The output is one merged graph (``trialkg.ttl``, ``.nt``, ``.jsonld``), an
N-Quads file that keeps each publication in its own named graph, and
``void.ttl``, the VoID / DCAT / HCLS description computed from the graph.

Files are parsed by Oxigraph straight into one store (no per-triple Python work
on the default base), and the N-Quads file is written one publication at a
time, so a corpus of thousands of publications builds in time linear in its size.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kg.errors import InputError
from kg.graph import Source, graph_iri, packaged_sources, parse_error, quads
from kg.prefixes import BASE, PREFIXES

MERGED = {
    "trialkg.ttl": ox.RdfFormat.TURTLE,
    "trialkg.nt": ox.RdfFormat.N_TRIPLES,
    "trialkg.jsonld": ox.RdfFormat.JSON_LD,
}


@dataclass
class BuildResult:
    """What ``kg build`` wrote."""

    out_dir: Path
    files: list[Path]
    triples: int
    seconds: float


def _load(store: ox.Store, source: Source, base: str, graph=None) -> None:
    """Parse one source into ``store`` (default graph unless ``graph``); errors name file and line."""
    if base == BASE:
        try:
            store.load(source.data, format=ox.RdfFormat.TURTLE, base_iri=BASE,
                       **({"to_graph": graph} if graph is not None else {}))
        except SyntaxError as exc:
            raise parse_error(source.name, exc) from exc
    else:
        store.extend([ox.Quad(q.subject, q.predicate, q.object, graph if graph is not None else ox.DefaultGraph())
                      for q in quads(source, base)])


def merged_store(sources: list[Source], base: str = BASE) -> ox.Store:
    """Every source in one default graph (duplicates across files collapse)."""
    store = ox.Store()
    for source in sources:
        _load(store, source, base)
    return store


def build(out_dir: str | Path = "dist", sources: list[Source] | None = None, base: str = BASE) -> BuildResult:
    """Write the merged graph in Turtle, N-Triples, JSON-LD, the named graphs in N-Quads, and void.ttl.

    Files are written to temporary names and renamed at the end, so a failed
    build never leaves a half-written graph where the last good one was.
    """
    from kg.describe import describe

    start = time.perf_counter()
    sources = list(sources if sources is not None else packaged_sources())
    store = merged_store(sources, base)  # parses everything first: a syntax error writes nothing
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create output folder: {exc.strerror or exc}") from exc
    prefixes = {p: ns for p, ns in PREFIXES.items() if p != "trialkg"}
    temps: list[tuple[Path, Path]] = []
    try:
        for name, fmt in MERGED.items():
            tmp = out / f".{name}.tmp"
            triples = (ox.Triple(q.subject, q.predicate, q.object) for q in store)
            ox.serialize(triples, str(tmp), format=fmt, **({"prefixes": prefixes} if fmt is ox.RdfFormat.TURTLE else {}))
            temps.append((tmp, out / name))
        tmp = out / ".trialkg.nq.tmp"
        with open(tmp, "wb") as fh:
            for source in sources:
                one = ox.Store()
                _load(one, source, base, ox.NamedNode(graph_iri(source.slug, base)))
                ox.serialize(one, fh, format=ox.RdfFormat.N_QUADS)
        temps.append((tmp, out / "trialkg.nq"))
        tmp = out / ".void.ttl.tmp"
        ox.serialize(describe(store, base), str(tmp), format=ox.RdfFormat.TURTLE, prefixes=prefixes)
        temps.append((tmp, out / "void.ttl"))
        written = []
        for tmp, final in temps:
            tmp.replace(final)
            written.append(final)
    except OSError as exc:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        raise InputError(f"{out}: cannot write: {exc.strerror or exc}") from exc
    return BuildResult(out_dir=out, files=written, triples=len(store), seconds=time.perf_counter() - start)
