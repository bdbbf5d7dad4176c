"""Load publications into a persistent embedded pyoxigraph store, one named graph each.

Everything is parsed and SHACL-validated before the store is touched; the
replacement of all graphs is one SPARQL Update request, which Oxigraph runs as
one transaction, so a load either happens completely or not at all.
"""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
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


def _update_text(graphs: dict[str, list[ox.Quad]]) -> str:
    # Terms are written by pyoxigraph (str(term) is N-Triples syntax, valid in SPARQL).
    parts = []
    for iri, qs in graphs.items():
        g = ox.NamedNode(iri)
        body = "\n".join(f"{q.subject} {q.predicate} {q.object} ." for q in qs)
        parts.append(f"DROP SILENT GRAPH {g} ;\nINSERT DATA {{ GRAPH {g} {{\n{body}\n}} }}")
    return " ;\n".join(parts)


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
    """Validate, then replace each publication's named graph (and the ontology's) in one transaction."""
    start = time.perf_counter()
    sources = list(sources if sources is not None else packaged_sources())
    graphs = parsed_graphs(sources)
    if validate:
        validate_or_refuse(sources)
    path = Path(store_dir) if store_dir else default_store_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{path}: cannot create the store folder: {exc.strerror or exc}") from exc
    total = _replace_graphs(path, graphs)
    return LoadResult(target=str(path), graphs=list(graphs), triples=total, seconds=time.perf_counter() - start)


def _replace_graphs(path: Path, graphs: dict[str, list[ox.Quad]]) -> int:
    """One SPARQL Update (one transaction) that drops and re-inserts every graph.

    Kept in its own function so the store, and its lock, are released when it
    returns, even if a library up the stack keeps an old traceback alive.
    """
    store = open_store(path)
    total = sum(len(set(q)) for q in graphs.values())
    progress = Progress(total)
    try:
        store.update(_update_text(graphs))
        progress.advance(total, "committed")
        store.flush()
    except (OSError, SyntaxError, ValueError) as exc:
        raise StoreError(f"{path}: the load failed and was rolled back: {exc}") from None
    finally:
        progress.close()
        del store
    return total


def count_quads(store: ox.Store, graph: str | None = None) -> int:
    """Quads in the store, or in one named graph."""
    if graph is None:
        return len(store)
    return sum(1 for _ in store.quads_for_pattern(None, None, None, ox.NamedNode(graph)))


ProgressCallback = Callable[[str, int], None]
