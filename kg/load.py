"""Load publications into a persistent embedded pyoxigraph store, one named graph each.

Everything is parsed and SHACL-validated before the store is touched; the
replacement of all graphs is one SPARQL Update request, which Oxigraph runs as
one transaction, so a load either happens completely or not at all.
"""
from __future__ import annotations

import os
import shutil
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kg.errors import StoreError, ValidationFailed
from kg.graph import Source, packaged_sources, quads

PROGRESS_THRESHOLD = 5000  # triples; smaller loads print only the summary line


def default_store_dir() -> Path:
    """The per-user store folder: ``$TRIALKG_STORE``, else ``$XDG_DATA_HOME/trialkg/store``."""
    if os.environ.get("TRIALKG_STORE"):
        return Path(os.environ["TRIALKG_STORE"])
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "trialkg" / "store"


def open_store(path: str | Path, must_exist: bool = False) -> ox.Store:
    """Open (or create) a persistent store; a missing store is an error when ``must_exist``."""
    path = Path(path)
    if must_exist and not path.exists():
        raise StoreError(f"{path}: no store here (create it with `kg load --store {path}`)")
    try:
        return ox.Store(str(path))
    except OSError as exc:
        raise StoreError(f"{path}: cannot open the store: {exc}") from exc


@dataclass
class LoadResult:
    """What a load did."""

    target: str
    graphs: list[str]
    triples: int
    seconds: float


def validate_or_refuse(sources: Sequence[Source]) -> None:
    """Refuse data that does not conform, before anything is written."""
    from kg.validate import validate_sources

    data = [s for s in sources if s.slug != "ontology"]
    report = validate_sources(data)
    if not report.conforms:
        first = sorted(report.violations)[0].line()
        raise ValidationFailed(
            f"refused: {len(report.violations)} SHACL violation(s), nothing was written; first: {first}"
        )


def parsed_graphs(sources: Sequence[Source]) -> dict[str, list[ox.Quad]]:
    """Parse every source (syntax errors name file and line); quads grouped by named graph."""
    graphs: dict[str, list[ox.Quad]] = {}
    for source in sources:
        graphs.setdefault(source.graph_iri, []).extend(quads(source))
    return graphs


class Progress:
    """A one-line progress bar on a terminal; silent when stderr is piped."""

    def __init__(self, total: int, enabled: bool | None = None):
        self.total = max(total, 1)
        self.done = 0
        self.enabled = (sys.stderr.isatty() if enabled is None else enabled) and total >= PROGRESS_THRESHOLD

    def advance(self, n: int, label: str = "") -> None:
        self.done += n
        if self.enabled:
            width = 30
            filled = int(width * self.done / self.total)
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} triples {label[:30]:30}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def load_embedded(sources: Sequence[Source] | None = None, store_dir: str | Path | None = None,
                  validate: bool = True) -> LoadResult:
    """Validate, then replace each publication's named graph (and the ontology's), all or nothing.

    The new state is built in a copy of the store (a RocksDB checkpoint: hard
    links, no data copied), bulk-loaded there, and swapped in by renaming
    folders; until the swap the original store is never written, so a failed
    or interrupted load leaves it as it was, whatever the corpus size.
    """
    start = time.perf_counter()
    sources = list(sources if sources is not None else packaged_sources())
    if validate:
        validate_or_refuse(sources)  # also parses every file: syntax errors name file and line
    path = Path(store_dir) if store_dir else default_store_dir()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{path}: cannot create the store folder: {exc.strerror or exc}") from exc
    graphs, total = _replace_graphs(path, sources)
    return LoadResult(target=str(path), graphs=graphs, triples=total, seconds=time.perf_counter() - start)


def _replace_graphs(path: Path, sources: Sequence[Source]) -> tuple[list[str], int]:
    """Checkpoint the store, replace the graphs in the copy, then swap the folders."""
    from kg.graph import BASE, parse_error

    work = path.parent / f".{path.name}.loading-{uuid.uuid4().hex}"
    trash = path.parent / f".{path.name}.old-{uuid.uuid4().hex}"
    sizes = [len(s.data) for s in sources]
    progress = Progress(sum(sizes) // 100)  # about 100 bytes of Turtle per triple
    try:
        if path.exists() and any(path.iterdir()):
            old = open_store(path)
            old.backup(str(work))
            del old
        store = ox.Store(str(work))
        graphs = list(dict.fromkeys(s.graph_iri for s in sources))
        for g in graphs:
            if store.contains_named_graph(ox.NamedNode(g)):
                store.remove_graph(ox.NamedNode(g))
        # One bulk load for all files (each bulk_load call writes its own files on disk):
        # every source is parsed into a small in-memory store and appended as N-Quads.
        batch = work.parent / f"{work.name}.nq"
        with open(batch, "wb") as fh:
            for i, source in enumerate(sources):
                one = ox.Store()
                try:
                    one.load(source.data, format=ox.RdfFormat.TURTLE, base_iri=BASE,
                             to_graph=ox.NamedNode(source.graph_iri))
                except SyntaxError as exc:
                    raise parse_error(source.name, exc) from exc
                ox.serialize(one, fh, format=ox.RdfFormat.N_QUADS)
                progress.advance(sizes[i] // 100, source.slug)
        try:
            store.bulk_load(path=str(batch), format=ox.RdfFormat.N_QUADS)
        finally:
            batch.unlink(missing_ok=True)
        store.flush()
        total = sum(count_quads(store, g) for g in graphs)
        del store
        if path.exists():
            path.rename(trash)
        work.rename(path)
        shutil.rmtree(trash, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(work, ignore_errors=True)
        (work.parent / f"{work.name}.nq").unlink(missing_ok=True)
        raise StoreError(f"{path}: the load failed, the store is unchanged: {exc}") from None
    except Exception:
        shutil.rmtree(work, ignore_errors=True)
        (work.parent / f"{work.name}.nq").unlink(missing_ok=True)
        raise
    finally:
        progress.close()
    return graphs, total


def count_quads(store: ox.Store, graph: str | None = None) -> int:
    """Quads in the store, or in one named graph."""
    if graph is None:
        return len(store)
    return sum(1 for _ in store.quads_for_pattern(None, None, None, ox.NamedNode(graph)))

