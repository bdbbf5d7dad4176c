"""``kg load``: publications into a persistent embedded store or any SPARQL 1.1 server.

Everything is parsed and SHACL-validated before any store is touched, and each
publication goes into its own named graph (the ontology and term extracts into
``graph/ontology``), so a re-load replaces exactly one publication.

Embedded: the new state is built in a copy of the store (a RocksDB checkpoint:
hard links, no data copied), bulk-loaded there, and swapped in by renaming
folders; until the swap the original store is never written.

Server: every graph is PUT under a fresh staging name with the Graph Store
Protocol, then all are moved into place by one SPARQL Update request, which
transactional stores apply all-or-nothing.
"""
from __future__ import annotations

import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kg import http
from kg import sources as src
from kg.dataset import load_source
from kg.errors import StoreError
from kg.validate import require_conformance

PROGRESS_THRESHOLD = 5000  # triples; smaller loads print only the summary line
STAGING = "https://w3id.org/trialkg/graph/.staging/"


def default_store_dir() -> Path:
    """The per-user store folder: ``$TRIALKG_STORE``, else ``$XDG_DATA_HOME/trialkg/store``."""
    if os.environ.get("TRIALKG_STORE"):
        return Path(os.environ["TRIALKG_STORE"])
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "trialkg" / "store"


@dataclass
class LoadResult:
    """What a load did."""

    target: str
    graphs: list[str]
    triples: int
    seconds: float


class Progress:
    """A one-line progress bar on a terminal; silent when stderr is piped."""

    def __init__(self, total: int, enabled: bool | None = None):
        self.total = max(total, 1)
        self.done = 0
        self.enabled = (sys.stderr.isatty() if enabled is None else enabled) and total >= PROGRESS_THRESHOLD

    def advance(self, n: int, label: str = "") -> None:
        """Count ``n`` more triples done."""
        self.done += n
        if self.enabled:
            width = 30
            filled = int(width * self.done / self.total)
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} triples {label[:30]:30}")
            sys.stderr.flush()

    def close(self) -> None:
        """End the bar's line."""
        if self.enabled:
            sys.stderr.write("\n")


def _all_sources(publications: Sequence[src.Source] | None) -> list[src.Source]:
    return [*src.ontology(), *(publications if publications is not None else src.packaged_publications())]


def _parsed(source: src.Source) -> ox.Store:
    one = ox.Store()
    load_source(one, source)
    return one


# ------------------------------------------------------------------ embedded

def load_embedded(publications: Sequence[src.Source] | None = None, store_dir: str | Path | None = None,
                  validate: bool = True) -> LoadResult:
    """Validate, then replace each publication's named graph (and the ontology's), all or nothing."""
    start = time.perf_counter()
    pubs = list(publications if publications is not None else src.packaged_publications())
    if validate:
        require_conformance(pubs)  # also parses every file: syntax errors name file and line
    path = Path(store_dir) if store_dir else default_store_dir()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{path}: cannot create the store folder: {exc.strerror or exc}") from None
    graphs, total = _replace_graphs(path, _all_sources(pubs))
    return LoadResult(target=str(path), graphs=graphs, triples=total, seconds=time.perf_counter() - start)


def _replace_graphs(path: Path, sources: Sequence[src.Source]) -> tuple[list[str], int]:
    """Checkpoint the store, replace the graphs in the copy, then swap the folders."""
    work = path.parent / f".{path.name}.loading-{uuid.uuid4().hex}"
    trash = path.parent / f".{path.name}.old-{uuid.uuid4().hex}"
    batch = work.parent / f"{work.name}.nq"
    sizes = [len(s.data) for s in sources]
    progress = Progress(sum(sizes) // 100)  # about 100 bytes of Turtle per triple
    try:
        if path.exists() and any(path.iterdir()):
            old = ox.Store(str(path))
            old.backup(str(work))
            del old
        store = ox.Store(str(work))
        graphs = list(dict.fromkeys(s.graph() for s in sources))
        for g in graphs:
            if store.contains_named_graph(ox.NamedNode(g)):
                store.remove_graph(ox.NamedNode(g))
        # One bulk load for all files (each bulk_load call writes its own files on disk).
        with open(batch, "wb") as fh:
            for i, source in enumerate(sources):
                ox.serialize(_parsed(source), fh, format=ox.RdfFormat.N_QUADS)
                progress.advance(sizes[i] // 100, source.slug)
        store.bulk_load(path=str(batch), format=ox.RdfFormat.N_QUADS)
        store.flush()
        total = sum(count_quads(store, g) for g in graphs)
        del store
        if path.exists():
            path.rename(trash)
        work.rename(path)
        shutil.rmtree(trash, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise StoreError(f"{path}: the load failed, the store is unchanged: {exc}") from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        batch.unlink(missing_ok=True)
        progress.close()
    return graphs, total


def count_quads(store: ox.Store, graph: str | None = None) -> int:
    """Quads in the store, or in one named graph."""
    if graph is None:
        return len(store)
    return sum(1 for _ in store.quads_for_pattern(None, None, None, ox.NamedNode(graph)))


# ------------------------------------------------------------------ server

def load_endpoint(endpoint: str, publications: Sequence[src.Source] | None = None, *, gsp_endpoint: str | None = None,
                  update_endpoint: str | None = None, timeout: float = 60.0, validate: bool = True,
                  on_staged: Callable[[str], None] | None = None) -> LoadResult:
    """Validate, stage every graph with GSP PUT, then move them into place with one update.

    ``on_staged`` is called after each staging PUT (tests use it to stop the server mid-load).
    """
    start = time.perf_counter()
    pubs = list(publications if publications is not None else src.packaged_publications())
    if validate:
        require_conformance(pubs)
    sources = _all_sources(pubs)
    graphs: dict[str, list[src.Source]] = {}
    for s in sources:
        graphs.setdefault(s.graph(), []).append(s)
    gsp = gsp_endpoint or endpoint
    update = update_endpoint or endpoint
    run = uuid.uuid4().hex
    staged: dict[str, str] = {}
    total = 0
    progress = Progress(sum(len(s.data) for s in sources) // 100)
    try:
        for iri, members in graphs.items():
            one = ox.Store()
            for s in members:
                load_source(one, s)
            stage = f"{STAGING}{run}/{len(staged)}"
            body = ox.serialize((q.triple for q in one), format=ox.RdfFormat.N_TRIPLES)
            http.request("PUT", http.with_param(gsp, "graph", stage), body, {"Content-Type": "application/n-triples"},
                         timeout=timeout)
            staged[iri] = stage
            total += len(one)
            progress.advance(len(one), iri.rsplit("/", 1)[-1])
            if on_staged:
                on_staged(iri)
        moves = " ;\n".join(f"MOVE SILENT GRAPH <{stage}> TO <{iri}>" for iri, stage in staged.items())
        http.update(update, moves, timeout=timeout)
    except StoreError as exc:
        _drop_staging(update, staged.values(), timeout)
        raise StoreError(f"load failed, published graphs unchanged: {exc}") from None
    finally:
        progress.close()
    return LoadResult(target=endpoint, graphs=list(graphs), triples=total, seconds=time.perf_counter() - start)


def _drop_staging(update: str, stages, timeout: float) -> None:
    stages = list(stages)
    if not stages:
        return
    try:
        http.update(update, " ;\n".join(f"DROP SILENT GRAPH <{s}>" for s in stages), timeout=timeout)
    except StoreError:
        pass  # the server is gone; leftover staging graphs never touch published ones
