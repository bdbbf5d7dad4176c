"""``kg load``: publications into a persistent embedded store or any SPARQL 1.1 server.

Everything is parsed and SHACL-validated before any store is touched, and each
publication goes into its own named graph (the ontology and term extracts into
``graph/ontology``), so a re-load replaces exactly one publication.

**Embedded.** One writer at a time: an OS file lock (``flock``) on
``.<name>.lock`` beside the store is held for the whole load; a second
``kg load`` waits up to ``wait`` seconds, then is refused (exit 3), so no
update is ever lost. The new state is built in a copy of the store (a RocksDB
checkpoint: hard links, no data copied), bulk-loaded there, and swapped in
with one atomic exchange of the two folders (Linux ``renameat2``), so a store
is at its path at every instant; where the exchange is not available, two
renames, and a crash between them is repaired by the next load. Until the swap
the original store is never written. Leftovers of killed loads
(``.<name>.loading-*`` folders and batch files, ``.<name>.old-*`` folders)
are removed by the next load, under the lock.

**Server.** Every graph is PUT under a fresh staging name with the Graph Store
Protocol, then all are moved into place by one SPARQL Update request, which
transactional stores apply all-or-nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import os
import platform
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from kg import http
from kg import sources as src
from kg.dataset import load_source
from kg.errors import StoreError
from kg.outputs import interrupted_swap
from kg.validate import require_conformance

PROGRESS_THRESHOLD = 5000  # triples; smaller loads print only the summary line
STAGING = "https://w3id.org/trialkg/graph/.staging/"
PAUSE_ENV = "TRIALKG_TEST_PAUSE_AT"


def default_store_dir() -> Path:
    """The per-user store folder: ``$TRIALKG_STORE``, else ``$XDG_DATA_HOME/trialkg/store``."""
    if os.environ.get("TRIALKG_STORE"):
        return Path(os.environ["TRIALKG_STORE"])
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "trialkg" / "store"


@dataclass
class LoadResult:
    """What a load did, and anything the user should know about it."""

    target: str
    graphs: list[str]
    triples: int
    seconds: float
    notes: list[str] = field(default_factory=list)


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


def pause(step: str) -> None:
    """Test hook: stop at a named step of a load when ``TRIALKG_TEST_PAUSE_AT`` names it.

    The process writes ``paused at <step>`` to stderr and sleeps, so a test can
    SIGKILL it exactly there. Steps of an embedded load: ``locked``,
    ``checkpointed``, ``batch-written``, ``loaded``, ``swapped``, and
    ``between-renames``, which also makes the swap use two renames instead of
    the atomic exchange, so that the state a crash between them leaves can be
    made. Unset, it does nothing.
    """
    if os.environ.get(PAUSE_ENV) == step:
        sys.stderr.write(f"paused at {step}\n")
        sys.stderr.flush()
        time.sleep(3600)


def _all_sources(publications: Sequence[src.Source] | None) -> list[src.Source]:
    return [*src.ontology(), *(publications if publications is not None else src.packaged_publications())]


def _parsed(source: src.Source) -> ox.Store:
    one = ox.Store()
    load_source(one, source)
    return one


# ------------------------------------------------------------------ embedded

class StoreLock:
    """The exclusive write lock of one store folder: ``flock`` on ``.<name>.lock`` in its parent.

    The lock file is never removed (removing it would let two writers lock two
    different files); the kernel releases the lock when its holder exits, even
    by SIGKILL.
    """

    def __init__(self, path: Path, wait: float = 0.0):
        self.path = path
        self.file = path.parent / f".{path.name}.lock"
        self.wait = wait
        self._fd: int | None = None

    def __enter__(self) -> StoreLock:
        try:
            fd = os.open(self.file, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot lock the store ({self.file}): {exc.strerror or exc}") from None
        deadline = time.monotonic() + max(self.wait, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                    os.close(fd)
                    waited = f" after waiting {self.wait:g} s" if self.wait > 0 else ""
                    raise StoreError(f"{self.path}: another kg load (pid {holder or '?'}) is writing this store; "
                                     f"nothing was changed{waited}: try again, or give --wait SECONDS") from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # releases the lock
            self._fd = None


def load_embedded(publications: Sequence[src.Source] | None = None, store_dir: str | Path | None = None,
                  validate: bool = True, wait: float = 0.0) -> LoadResult:
    """Validate, then replace each publication's named graph (and the ontology's), all or nothing.

    ``wait`` is how long to wait for another ``kg load`` of the same store to finish.
    """
    start = time.perf_counter()
    pubs = list(publications if publications is not None else src.packaged_publications())
    path = Path(store_dir) if store_dir else default_store_dir()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{path}: cannot create the store folder: {exc.strerror or exc}") from None
    with StoreLock(path, wait):
        pause("locked")
        notes = recover(path)
        if validate:
            require_conformance(pubs)  # also parses every file: syntax errors name file and line
        graphs, total = _replace_graphs(path, _all_sources(pubs))
    return LoadResult(target=str(path), graphs=graphs, triples=total, seconds=time.perf_counter() - start, notes=notes)


def recover(path: Path) -> list[str]:
    """Repair what killed loads left beside the store (call it holding the lock); says what it did.

    A store missing from its path after a crash between the two renames of a
    swap is restored from the newest ``.<name>.old-*`` folder; every other
    ``.<name>.loading-*`` and ``.<name>.old-*`` entry is removed.
    """
    notes: list[str] = []
    try:
        cut = interrupted_swap(path)
        if cut is not None:
            cut.rename(path)
            notes.append(f"restored the store at {path} from an interrupted load ({cut.name})")
        loading = sorted(path.parent.glob(f".{path.name}.loading-*"))
        old = sorted(path.parent.glob(f".{path.name}.old-*"))
        for leftover in [*loading, *old]:
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
    except OSError as exc:
        raise StoreError(f"{path}: cannot clean up after an interrupted load: {exc.strerror or exc}") from None
    if loading or old:
        notes.append(f"removed {len(loading) + len(old)} leftover(s) of interrupted loads beside {path}")
    return notes


def _replace_graphs(path: Path, sources: Sequence[src.Source]) -> tuple[list[str], int]:
    """Checkpoint the store, replace the graphs in the copy, then swap the folders."""
    work = path.parent / f".{path.name}.loading-{uuid.uuid4().hex}"
    batch = work.parent / f"{work.name}.nq"
    sizes = [len(s.data) for s in sources]
    progress = Progress(sum(sizes) // 100)  # about 100 bytes of Turtle per triple
    try:
        if path.exists() and any(path.iterdir()):
            old = ox.Store.read_only(str(path))
            old.backup(str(work))
            del old
        pause("checkpointed")
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
        pause("batch-written")
        store.bulk_load(path=str(batch), format=ox.RdfFormat.N_QUADS)
        store.flush()
        total = sum(count_quads(store, g) for g in graphs)
        del store
        pause("loaded")
        _swap(work, path)
        pause("swapped")
        shutil.rmtree(work, ignore_errors=True)  # after the exchange, the old store
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


def _swap(new: Path, path: Path) -> None:
    """Put the folder ``new`` at ``path``; the old store (if any) ends up at ``new``."""
    if not path.exists():
        new.rename(path)
        return
    if os.environ.get(PAUSE_ENV) != "between-renames" and _exchange(new, path):
        return
    trash = path.parent / f".{path.name}.old-{time.time_ns()}-{uuid.uuid4().hex[:8]}"
    path.rename(trash)
    pause("between-renames")  # a crash here leaves no store at `path`: recover() restores `trash`
    new.rename(path)
    trash.rename(new)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False where not supported."""
    libc_name = ctypes.util.find_library("c")
    if platform.system() != "Linux" or libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    if not hasattr(libc, "renameat2"):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(b))


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
