"""``kg load``: publications into a persistent embedded store or any SPARQL 1.1 server.

Everything is parsed and SHACL-validated before any store is touched, and each
publication goes into its own named graph (the ontology and term extracts into
``graph/ontology``), so a re-load replaces exactly one publication.

**Embedded.** One writer at a time: an OS file lock (``flock``) on
``.<name>.lock`` beside the store (its real path: a store reached through a
symlink is locked, copied and swapped where the link points, and the link
stays a link) is held for the whole load; a second
``kg load`` waits up to ``wait`` seconds, then is refused (exit 3), so no
update is ever lost. Validation parses the publications one batch at a time
(:data:`kg.validate.BATCH`, each with the shared ontology); each validated
batch is written straight to one N-Quads file beside the store and dropped, so
the loader never holds more than one batch of parsed triples, whatever the
corpus size, and nothing is parsed twice. The new state is built in a copy of
the store (a RocksDB checkpoint: hard links, no data copied), bulk-loaded there
from that file, and swapped in
with one atomic exchange of the two folders (Linux ``renameat2``), so a store
is at its path at every instant; where the exchange is not available, two
renames, and a crash between them is repaired by the next load. Until the swap
the original store is never written. Leftovers of killed loads
(``.<name>.loading-*`` folders and batch files, ``.<name>.old-*`` folders)
are removed by the next load, under the lock.

**Server.** Each graph is replaced by ``DROP SILENT GRAPH`` then ``INSERT
DATA``, written to temporary files batch by batch as validation goes (the same
bounded memory as above) and streamed from them, as ``application/sparql-update``
(form-encoded only for a server that refuses that type). A load that fits in one
request of ``batch_bytes`` goes as ONE request: a transactional store applies it
all-or-nothing, so readers of the union default graph see the old graphs or all
of the new ones, never a part. A larger load goes as one request per batch of
whole publications (:func:`_batched`): each one transaction, so the server holds
one batch at a time and each publication changes whole; the graphs a request
replaces are saved first, and a failed request undoes the ones before it, so
the load is all-or-nothing in the end (readers may see it change batch by batch:
the README says why nothing better is possible on a server whose transactions
live in memory). No staging graph is ever created. If a request fails without a
clear answer (a time-out, a dropped connection), the server is asked what it now
holds before anything is said about it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pyoxigraph as ox

from kg import evidence, graph_pack, http, sparql
from kg import sources as src
from kg.dataset import Dataset, load_source
from kg.describe import describe
from kg.errors import StoreError
from kg.grouping import packed, shared_groups
from kg.merge import store_statistics
from kg.outputs import interrupted_swap, move, swap_folder, swap_leftovers
from kg.prefixes import BASE
from kg.rdf import graph_bytes
from kg.validate import BATCH, require_conformance

STAGING = "https://w3id.org/trialkg/graph/.staging/"  # where versions before 0.2 staged graphs on a server
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
    #: the most parsed quads the loader held at once (one batch of publications with the ontology)
    peak_held: int = 0


class Progress:
    """A one-line progress bar on a terminal; silent when stderr is piped.

    Its total is known, never estimated: the publications a load checks and
    writes (counted as each validated batch is handed on), then, for a server,
    the triples sent (counted per request, from what was written). ``threshold``:
    smaller totals print only the summary line.
    """

    def __init__(self, total: int, unit: str = "publications", enabled: bool | None = None, threshold: int = 20):
        self.total = max(total, 1)
        self.unit = unit
        self.done = 0
        self.enabled = (sys.stderr.isatty() if enabled is None else enabled) and total >= threshold

    def advance(self, n: int, label: str = "") -> None:
        """Count ``n`` more done."""
        self.done += n
        if self.enabled:
            width = 30
            filled = min(width, int(width * self.done / self.total))
            sys.stderr.write(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {self.unit} {label[:30]:30}"
            )
            sys.stderr.flush()

    def close(self) -> None:
        """End the bar's line."""
        if self.enabled and self.done:
            sys.stderr.write("\n")


def pause(step: str) -> None:
    """Test hook: stop at a named step of a load when ``TRIALKG_TEST_PAUSE_AT`` names it.

    The process writes ``paused at <step>`` to stderr and sleeps, so a test can
    SIGKILL it exactly there. Steps of an embedded load, in order: ``locked``,
    ``batch-written``, ``checkpointed``, ``loaded``, ``swapped``, and
    ``between-renames``, which also makes the swap use two renames instead of
    the atomic exchange, so that the state a crash between them leaves can be
    made. Unset, it does nothing.
    """
    if os.environ.get(PAUSE_ENV) == step:
        sys.stderr.write(f"paused at {step}\n")
        sys.stderr.flush()
        time.sleep(3600)


def _ontology(base: str = BASE) -> ox.Store:
    """The shared ontology graph, parsed (under ``base``)."""
    one = ox.Store()
    for source in src.ontology():
        load_source(one, source, base)
    return one


def _batches(
    pubs: Sequence[src.Source],
    validate: bool,
    batch: int,
    each: Callable[[Dataset, list[src.Source]], None],
    base: str = BASE,
    context: ox.Store | None = None,
) -> None:
    """Hand every batch of parsed publications to ``each``, validated first unless ``validate`` is off.

    With validation, a batch is handed on once it is checked, and the
    violations of all batches are raised together at the end, before any
    store is touched. ``context``: the store they go into (its other graphs
    are compared with them: :func:`kg.cross_file.elsewhere_findings`).
    """
    if validate:
        require_conformance(pubs, batch=batch, each=each, base=base, context=context)
        return
    for i in range(0, len(pubs), batch):
        chunk = list(pubs[i : i + batch])
        each(Dataset.build(chunk, base), chunk)


def _graph_sizes_of(store: ox.Store) -> dict[str, int]:
    """Quads per named graph of a store (counted by the engine, not in Python)."""
    rows = sparql.select(store, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    return {row["g"].value: int(row["n"].value) for row in rows}


# ------------------------------------------------------------------ embedded


def real_path(path: Path) -> Path:
    """The store's real path: symlinks resolved (the last one too, even to a store not made yet).

    A store is often reached through a symlink (``~/.local/share/trialkg/store``
    to a larger disk). The lock, the copy and the swap all work on the folder
    the link points to, so a load through the link and one through the real
    path exclude each other, and the swap never replaces the link with a folder.
    """
    return Path(os.path.realpath(path))


class StoreLock:
    """The exclusive write lock of one store folder: ``flock`` on ``.<name>.lock`` in its parent.

    The lock file is never removed (removing it would let two writers lock two
    different files); the kernel releases the lock when its holder exits, even
    by SIGKILL.
    """

    def __init__(self, path: Path, wait: float = 0.0):
        self.path = real_path(path)  # a symlinked store and its real path share one lock
        self.file = self.path.parent / f".{self.path.name}.lock"
        self.wait = wait
        self._fd: int | None = None

    def __enter__(self) -> StoreLock:
        try:  # never through a link: it would truncate the file it points to (review 42)
            fd = os.open(self.file, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
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
                    raise StoreError(
                        f"{self.path}: another kg load (pid {holder or '?'}) is writing this store; "
                        f"nothing was changed{waited}: try again, or give --wait SECONDS"
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # releases the lock
            self._fd = None


def load_embedded(
    publications: Sequence[src.Source] | None = None,
    store_dir: str | Path | None = None,
    validate: bool = True,
    wait: float = 0.0,
    batch: int = BATCH,
    base: str = BASE,
) -> LoadResult:
    """Validate, then replace each publication's named graph (and the ontology's), all or nothing.

    ``wait`` is how long to wait for another ``kg load`` of the same store to
    finish; ``batch`` how many publications are parsed (and validated) at once;
    ``base`` the base IRI the data is published under (graph names included).
    """
    start = time.perf_counter()
    pubs = list(publications if publications is not None else src.packaged_publications())
    path = real_path(Path(store_dir) if store_dir else default_store_dir())
    if path.parent == path:  # its lock would be '/..lock', and a load replaces the whole folder
        raise StoreError(f"{path}: kg load will not make the root folder a store; give it a folder of its own")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{path}: cannot create the store folder: {exc.strerror or exc}") from None
    with StoreLock(path, wait):
        pause("locked")
        notes = recover(path)
        foreign = foreign_in_store(path)
        if foreign:
            raise StoreError(
                f"{path}: holds {foreign[0]}{f' and {len(foreign) - 1} more' if len(foreign) > 1 else ''}, which "
                "kg load did not write; a load replaces the whole store folder, so nothing was changed: move "
                "them out of it, or give another --store"
            )
        graphs, total, held = _replace_graphs(path, pubs, validate, batch, base)
    return LoadResult(
        target=str(path), graphs=graphs, triples=total, seconds=time.perf_counter() - start, notes=notes, peak_held=held
    )


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
            move(cut, path)
            notes.append(f"restored the store at {path} from an interrupted load ({cut.name})")
        leftovers = swap_leftovers(path)
        for leftover in leftovers:
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
    except OSError as exc:
        raise StoreError(f"{path}: cannot clean up after an interrupted load: {exc.strerror or exc}") from None
    if leftovers:
        notes.append(f"removed {len(leftovers)} leftover(s) of interrupted loads beside {path}")
    return notes


#: what a store folder holds: the engine's own files (RocksDB) and those kg load keeps beside them
_STORE_FILE = re.compile(
    r"[0-9]+\.(?:sst|log|blob)|CURRENT|IDENTITY|LOCK|LOG(?:\.old\.[0-9]+)?|(?:MANIFEST|OPTIONS)-[0-9]+(?:\.dbtmp)?"
    r"|[0-9]+\.dbtmp|trialkg-[a-z]+\.(?:json|pack)"
    # one of those being written (:class:`kg.outputs.AtomicFiles`), left by a reader killed meanwhile (review 44)
    r"|\.trialkg-[a-z]+\.(?:json|pack)\.[0-9a-f]{8}\.tmp"
)


def foreign_in_store(path: Path) -> list[str]:
    """What the store folder at ``path`` holds that neither the engine nor kg load wrote (sorted): a load replaces
    the whole folder, so these would be deleted with the old store (review 42: a user's NOTES.txt and backups/)."""
    try:
        return sorted(e.name for e in path.iterdir() if not _STORE_FILE.fullmatch(e.name) or e.is_symlink())
    except (NotADirectoryError, FileNotFoundError):
        return []


def _replace_graphs(
    path: Path, pubs: Sequence[src.Source], validate: bool, batch: int, base: str = BASE
) -> tuple[list[str], int, int]:
    """Write the new graphs to one N-Quads file batch by batch, then load it into a checkpoint and swap it in.

    Returns the graphs, the quads loaded into them and the most parsed quads held at once.
    """
    work = path.parent / f".{path.name}.loading-{uuid.uuid4().hex}"
    nquads = work.parent / f"{work.name}.nq"
    progress = Progress(len(pubs), "publications checked")
    onto = ox.NamedNode(src.graph_iri(src.ONTOLOGY_SLUG, base))
    graphs = list(dict.fromkeys([onto.value, *(s.graph(base) for s in pubs)]))
    counts = {"quads": 0, "held": 0}
    pack = graph_pack.Writer(work.parent / f"{work.name}.pack")
    try:
        with open(nquads, "wb") as fh:
            ontology = _ontology(base)
            counts["quads"] = counts["held"] = len(ontology)
            ontology.dump(fh, format=ox.RdfFormat.N_QUADS)
            del ontology

            def write(dataset: Dataset, chunk: list[src.Source]) -> None:
                store = dataset.store
                counts["held"] = max(counts["held"], len(store))
                store.remove_graph(onto)  # written once, above
                n = len(store)
                store.dump(fh, format=ox.RdfFormat.N_QUADS)
                for graph in dict.fromkeys(s.graph(base) for s in chunk):  # each graph packed beside the store
                    lines = store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(graph))
                    pack.add(graph, graph_pack.block(lines or b""))
                counts["quads"] += n
                progress.advance(len(chunk), chunk[-1].slug if chunk else "")

            held = ox.Store.read_only(str(path)) if validate and path.exists() and any(path.iterdir()) else None
            # syntax errors name file and line; violations (with the store's graphs compared) raise here
            _batches(pubs, validate, batch, write, base, held)
            del held
        pause("batch-written")
        if path.exists() and any(path.iterdir()):
            old = ox.Store.read_only(str(path))
            old.backup(str(work))
            _keep_packed(pack, old, path, set(graphs), base)
            del old
        pause("checkpointed")
        store = ox.Store(str(work))
        for g in graphs:
            if store.contains_named_graph(ox.NamedNode(g)):
                store.remove_graph(ox.NamedNode(g))
        store.bulk_load(path=str(nquads), format=ox.RdfFormat.N_QUADS)
        describe_store(store, base)
        index = evidence.compute(store)  # every evidence view's counts, stored with the data they count
        studies = Dataset(store, base=base).study_graphs()  # each study's graphs: batches look them up
        store.flush()
        description = _stored_description(store, base)
        del store
        evidence.save(work, index, description)
        pack.finish(work, evidence.fingerprint(description), studies)
        pause("loaded")
        cut_between = os.environ.get(PAUSE_ENV) == "between-renames"  # the test of a crash between two renames
        swap_folder(work, path, between=(lambda: pause("between-renames")) if cut_between else None)
        pause("swapped")
        shutil.rmtree(work, ignore_errors=True)  # after the exchange, the old store
    except OSError as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise StoreError(f"{path}: the load failed, the store is unchanged: {exc}") from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        nquads.unlink(missing_ok=True)
        pack.discard()
        progress.close()
    return graphs, counts["quads"], counts["held"]


def _keep_packed(pack: graph_pack.Writer, old: ox.Store, path: Path, replaced: set[str], base: str) -> None:
    """Copy into the new pack the blocks of the old store's pack for the graphs this load keeps (if that pack was
    written with the old store's data: one an earlier version loaded has none, and those graphs stay unpacked)."""
    description = _stored_description(old, base)
    reader = graph_pack.Reader.open(path, evidence.fingerprint(description)) if description else None
    if reader is None:
        return
    try:
        pack.keep(reader, (g for g in sorted(reader.where) if g not in replaced))
    finally:
        reader.close()


def _description_graph(base: str) -> ox.NamedNode:
    return ox.NamedNode(src.graph_iri(src.DESCRIPTION_SLUG, base))


def _stored_description(store: ox.Store, base: str) -> list[ox.Triple]:
    """The description a load stored with the data (what its evidence index and pack are stamped with)."""
    return [q.triple for q in store.quads_for_pattern(None, None, None, _description_graph(base))]


def describe_store(store: ox.Store, base: str = BASE) -> None:
    """Store the description of the data a store holds in its ``graph/void``, replacing any earlier one.

    Counted once here, in bounded memory (:func:`kg.merge.store_statistics`), so
    that a server reads its counts instead of counting the store again.
    """
    void = _description_graph(base)
    graphs = sorted(g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode) and g != void)
    description = describe(store_statistics(store, graphs, base), base)
    if store.contains_named_graph(void):
        store.remove_graph(void)
    store.extend([ox.Quad(t.subject, t.predicate, t.object, void) for t in description])


def count_quads(store: ox.Store, graph: str | None = None) -> int:
    """Quads in the store, or in one named graph."""
    if graph is None:
        return len(store)
    return sum(1 for _ in store.quads_for_pattern(None, None, None, ox.NamedNode(graph)))


# ------------------------------------------------------------------ server


@dataclass(frozen=True)
class Fingerprint:
    """What a graph holds, compactly: its size and a digest of its triples without blank nodes."""

    triples: int
    digest: str


def fingerprint(triples: Iterable[ox.Triple]) -> Fingerprint:
    """The fingerprint of some triples (blank-node labels differ between stores, so those triples are only counted)."""
    lines: list[str] = []
    n = 0
    for t in triples:
        n += 1
        if not any(isinstance(term, ox.BlankNode) for term in (t.subject, t.object)):
            lines.append(str(t))
    digest = hashlib.sha256("\n".join(sorted(lines)).encode("utf-8")).hexdigest()
    return Fingerprint(n, digest)


def load_endpoint(
    endpoint: str,
    publications: Sequence[src.Source] | None = None,
    *,
    gsp_endpoint: str | None = None,
    update_endpoint: str | None = None,
    timeout: float = 60.0,
    validate: bool = True,
    before_update: Callable[[], None] | None = None,
    batch: int = BATCH,
    batch_bytes: int | None = None,
    base: str = BASE,
) -> LoadResult:
    """Validate, then replace every graph on the server: in one request if it fits, else batch by batch.

    ``endpoint`` answers queries (used to look before and after);
    ``update_endpoint`` takes the update (default: ``endpoint``). A load whose
    update fits in ``batch_bytes`` (default :data:`BATCH_BYTES`) goes as one request, one transaction: readers
    see the old graphs or all of the new ones. A larger one goes as requests of at
    most ``batch_bytes`` each (whole publications; see :func:`_batched`), so the
    server never holds more than one batch in a transaction. ``gsp_endpoint`` is
    not needed (accepted so existing command lines keep working). ``before_update``
    is called right before the first update request is sent (tests use it to stop
    the server there). ``batch``: publications parsed (and validated) at once;
    ``base``: the base IRI the data is published under (graph names included).
    """
    del gsp_endpoint  # no longer used: every batch is a SPARQL Update request
    start = time.perf_counter()
    pubs = list(publications if publications is not None else src.packaged_publications())
    update = update_endpoint or endpoint
    limit = batch_bytes or BATCH_BYTES
    progress = Progress(len(pubs), "publications checked")
    with tempfile.TemporaryDirectory(prefix="trialkg-load-") as tmp:
        try:  # validation happens here, batch by batch, before the server is asked anything
            parts, expected, held = _write_updates(Path(tmp), pubs, validate, batch, limit, progress, base)
        finally:
            progress.close()
        leftovers = staging_graphs(endpoint, timeout)
        notes = [f"dropped {len(leftovers)} staging graph(s) an earlier load left on the server"] if leftovers else []
        http.update(update, f"DROP SILENT GRAPH <{STAGING}probe>", timeout=timeout)  # may we write? (before uploading)
        if len(parts) == 1:
            part = parts[0]
            before = graph_sizes(endpoint, list(expected.sizes), timeout)
            with open(part.path, "ab") as body:
                for stage in leftovers:
                    body.write(f"DROP SILENT GRAPH <{stage}> ;\n".encode())
            if before_update:
                before_update()
            try:
                _post_update(update, part.path, timeout)
            except http.RequestError as exc:
                notes.append(_after_failure(exc, endpoint, expected, before, timeout))
        else:
            for stage in leftovers:  # not published data: dropped on their own, before
                http.update(update, f"DROP SILENT GRAPH <{stage}>", timeout=timeout)
            notes += _batched(parts, endpoint, update, expected, timeout, Path(tmp), before_update)
    check_answers(endpoint, expected, timeout)
    return LoadResult(
        target=endpoint,
        graphs=list(expected.sizes),
        triples=sum(expected.sizes.values()),
        seconds=time.perf_counter() - start,
        notes=notes,
        peak_held=held,
    )


class NotApplied(StoreError):
    """An update request that certainly changed nothing on the server (refused, or never arrived)."""


#: the largest update request Oxigraph's server takes (it refuses SPARQL bodies above 128 MiB)
MAX_UPDATE_BYTES = 128 * 1024 * 1024
#: triples in one INSERT DATA operation of an update request (Virtuoso 7.2 refuses much larger ones)
INSERT_CHUNK = 500
#: triples with blank nodes in one INSERT { } WHERE { } (Virtuoso 7.2 compiles a template into a code vector of at
#: most 32 kB: 500 such triples passed it, review 44)
BLANK_CHUNK = 100
#: the default largest update request sent at once; a larger load goes in batches of at most this many bytes.
#: Smaller than Oxigraph's limit: its server holds a transaction in memory (3.3 GB for requests of 128 MiB at
#: N = 10,000, measured), and a 32 MiB request was also applied faster per triple than a 128 MiB one
BATCH_BYTES = 32 * 1024 * 1024


@dataclass
class Expected:
    """What a load sends: triples per graph, and the publications to fingerprint a graph from (read again only if
    needed)."""

    sizes: dict[str, int]
    #: the publications sent (the ontology's graph is read from the package)
    pubs: Sequence[src.Source] = ()
    #: one triple of the ontology graph (no blank node), asked for after the load
    probe: str = ""
    #: the base IRI the load publishes under
    base: str = BASE
    #: graph -> its sources, made when first needed (only a failed load looks): not one more entry a publication
    #: held through every load
    by_graph: dict[str, list[src.Source]] = field(default_factory=dict, repr=False, compare=False)

    def sources(self, graph: str) -> list[src.Source]:
        """The sources that make ``graph``."""
        if not self.by_graph:
            self.by_graph[src.graph_iri(src.ONTOLOGY_SLUG, self.base)] = src.ontology()
            for s in self.pubs:
                self.by_graph.setdefault(s.graph(self.base), []).append(s)
        return self.by_graph.get(graph, [])

    def fingerprint(self, graph: str) -> Fingerprint:
        """The fingerprint of what this load sends to ``graph``, parsed again from its files."""
        one = ox.Store()
        for s in self.sources(graph):
            load_source(one, s, self.base)
        return fingerprint(q.triple for q in one)

    def only(self, graphs: Sequence[str]) -> Expected:
        """What this load sends to some of its graphs (one batch)."""
        return Expected({g: self.sizes[g] for g in graphs}, self.pubs, self.probe, self.base, self.by_graph)


@dataclass
class Part:
    """One update request of a load: a file of whole graphs (``DROP SILENT GRAPH`` then ``INSERT DATA`` each)."""

    path: Path
    graphs: list[str] = field(default_factory=list)
    size: int = 0


def _write_updates(
    folder: Path,
    pubs: Sequence[src.Source],
    validate: bool,
    batch: int,
    limit: int,
    progress: Progress,
    base: str = BASE,
) -> tuple[list[Part], Expected, int]:
    """Write the update requests into ``folder``, each at most ``limit`` bytes of whole graphs, batch by batch.

    Returns the requests, what the load sends and the most quads held at once.
    """
    onto = src.graph_iri(src.ONTOLOGY_SLUG, base)
    expected = Expected(sizes={}, pubs=pubs, base=base)
    parts = [Part(folder / "update-0.ru")]
    out = open(parts[0].path, "wb")
    held = 0

    def put(store: ox.Store, graphs: Sequence[str]) -> None:
        nonlocal out
        sizes = _graph_sizes_of(store)
        for iri in graphs:
            text = _replacement(store, iri)
            part = parts[-1]
            if part.graphs and part.size + len(text) > limit:  # whole graphs only: a new request
                out.close()
                part = Part(folder / f"update-{len(parts)}.ru")
                parts.append(part)
                out = open(part.path, "wb")
            out.write(text)
            part.graphs.append(iri)
            part.size += len(text)
            expected.sizes[iri] = sizes.get(iri, 0)

    try:
        ontology = _ontology(base)
        held = len(ontology)
        expected.probe = next(
            (str(q.triple) for q in ontology if not any(isinstance(t, ox.BlankNode) for t in (q.subject, q.object))),
            "",
        )
        put(ontology, [onto])
        del ontology

        def each(dataset: Dataset, chunk: list[src.Source]) -> None:
            nonlocal held
            held = max(held, len(dataset.store))
            put(dataset.store, list(dict.fromkeys(s.graph(base) for s in chunk)))
            progress.advance(len(chunk), chunk[-1].slug if chunk else "")

        _batches(pubs, validate, batch, each, base)
    finally:
        out.close()
    return parts, expected, held


def _ask(endpoint: str, text: str, timeout: float) -> bool:
    answer = sparql.remote(endpoint, text, timeout)
    return isinstance(answer, ox.QueryBoolean) and bool(answer)


def check_answers(endpoint: str, expected: Expected, timeout: float) -> None:
    """After a load, make sure the server answers queries over what it was sent; else raise saying how to fix it.

    A triple of the ontology graph is asked for twice: in its named graph (the
    load reached the store ``endpoint`` queries), then in the default graph,
    which the ready-made queries read as the union of the named graphs. A
    server that keeps its default graph apart (Oxigraph without
    ``--union-default-graph``) would otherwise hold the data and answer every
    query with no rows.
    """
    if not expected.probe:
        return
    onto = src.graph_iri(src.ONTOLOGY_SLUG, expected.base)
    if not _ask(endpoint, f"ASK {{ GRAPH <{onto}> {{ {expected.probe} }} }}", timeout):
        raise StoreError(
            f"the load was sent, but {endpoint} does not find what it was sent in graph <{onto}>: "
            "it queries another store than the update endpoint writes; check --endpoint and --update-endpoint"
        )
    if not _ask(endpoint, f"ASK {{ {expected.probe} }}", timeout):
        raise StoreError(
            f"loaded {len(expected.sizes)} graph(s), but queries over the default graph of {endpoint} find none of "
            "them, so every query would answer nothing: make the default graph the union of the named graphs "
            "(start oxigraph with --union-default-graph; Fuseki: tdb:unionDefaultGraph true), then query again "
            "(no need to load again)"
        )


def _replacement(store: ox.Store, iri: str) -> bytes:
    """The update text that replaces a graph on a server with its content in ``store`` (none: the graph is dropped).

    INSERT DATA operations of at most :data:`INSERT_CHUNK` triples each (all in one request): Virtuoso refuses an
    operation whose generated SQL passes 10,000 lines. The triples with a blank node go in ``INSERT { } WHERE { }``
    operations of their own, each blank node's triples in one (:func:`_blank_chunks`): Virtuoso 7.2 refuses a blank
    node in INSERT DATA (review 41: a curator's file with a quote selector written ``[ ... ]`` could not be loaded).
    """
    lines = graph_bytes(store, ox.NamedNode(iri), ox.RdfFormat.N_TRIPLES).splitlines(keepends=True)
    blank = [line for line in lines if _blank_nodes(line)]
    plain = [line for line in lines if not _blank_nodes(line)] if blank else lines
    text = f"DROP SILENT GRAPH <{iri}> ;\n".encode() + b"".join(
        f"INSERT DATA {{ GRAPH <{iri}> {{\n".encode() + b"".join(plain[i : i + INSERT_CHUNK]) + b"} } ;\n"
        for i in range(0, len(plain), INSERT_CHUNK)
    )
    for chunk in _blank_chunks(blank):
        text += f"INSERT {{ GRAPH <{iri}> {{\n".encode() + b"".join(chunk) + b"} } WHERE { } ;\n"
    return text


def _blank_chunks(lines: list[bytes]) -> list[list[bytes]]:
    """N-Triples lines with blank nodes in groups of about :data:`BLANK_CHUNK`, every line of a blank node in one
    group (its connected lines: a label names one node within one operation only). One operation of them all
    passed Virtuoso's limit of 10,000 lines of SQL for a file of 1,500 quote selectors (review 44).

    >>> [len(c) for c in _blank_chunks([b"_:a <p> _:b .", b"_:b <q> 1 .", b"<s> <p> _:c ."])]
    [3]
    """
    groups = shared_groups([_blank_nodes(line) for line in lines])
    return packed(([lines[i] for i in group] for group in groups), BLANK_CHUNK)


def _blank_nodes(line: bytes) -> list[bytes]:
    """The blank nodes of an N-Triples line (as Oxigraph writes it: one space between the terms), subject first; a
    literal's text may hold '_:'.

    >>> _blank_nodes(b'_:a <p> _:b .'), _blank_nodes(b'<s> <p> "x _:y" .')
    ([b'_:a', b'_:b'], [])
    """
    parts = line.split(b" ", 2)
    found = [parts[0]] if parts[0].startswith(b"_:") else []
    if len(parts) == 3 and parts[2].startswith(b"_:"):
        found.append(parts[2].split(b" ", 1)[0])
    return found


def _batched(
    parts: list[Part],
    endpoint: str,
    update: str,
    expected: Expected,
    timeout: float,
    folder: Path,
    before_update: Callable[[], None] | None,
) -> list[str]:
    """Send a load too large for one request as one request per part, all or nothing in the end.

    Each request is one transaction on the server: each publication changes as a
    whole (readers see its old graph or its new one, never a part, never both),
    and the server holds one batch at a time. Before a part is sent, the current
    content of the graphs it replaces is saved to a file beside the requests, so
    that if a later part fails, every part already applied is undone (newest
    first) and the server is left with what it held before the load. While the
    load runs, readers of the union default graph see the publications of the
    parts sent so far in their new version and the others in their old one.
    """
    applied: list[tuple[Part, Path]] = []
    sending = Progress(sum(expected.sizes.values()), "triples sent", threshold=5000)
    try:
        for i, part in enumerate(parts):
            try:
                saved = folder / f"previous-{i}.nq"
                try:  # what this request will replace, read before it is sent
                    before = graph_sizes(endpoint, part.graphs, timeout)
                    _save_graphs(endpoint, [g for g, n in before.items() if n], before, saved, timeout)
                except (StoreError, OSError) as exc:
                    raise NotApplied(f"could not read the graphs request {i + 1} replaces: {exc}") from None
                if before_update and i == 0:
                    before_update()
                try:
                    _post_update(update, part.path, timeout)
                except http.RequestError as exc:
                    _after_failure(exc, endpoint, expected.only(part.graphs), before, timeout)  # raises unless applied
                applied.append((part, saved))
                sending.advance(sum(expected.sizes[g] for g in part.graphs), f"request {i + 1} of {len(parts)}")
            except NotApplied as exc:  # this request certainly changed nothing: undo the ones before it
                if not applied:
                    raise
                raise _undo(applied, update, timeout, exc, i, len(parts)) from None
            except StoreError as exc:  # this request may yet be applied: undoing the others now could mix states
                if not applied:
                    raise
                kept = _keep([saved for _part, saved in applied])
                raise StoreError(
                    f"load failed at request {i + 1} of {len(parts)}: {exc}; the {len(applied)} request(s) before it "
                    f"were applied, and the graphs they replaced are saved in {kept} (N-Quads, one file per request)"
                ) from None
    finally:
        sending.close()
    return [
        f"loaded in {len(parts)} requests of at most {max(p.size for p in parts) >> 20} MiB each: readers of the "
        "union default graph saw the publications change request by request (each one whole)"
    ]


def _save_graphs(endpoint: str, graphs: list[str], sizes: dict[str, int], out: Path, timeout: float) -> None:
    """Write the server's current quads of ``graphs`` to ``out`` as N-Quads, a bounded number of quads per query.

    Each query's quads are counted against what the server said the graphs
    hold (``sizes``): an answer the server cut (a cap on result rows, such as
    Virtuoso's ``ResultSetMaxRows``; TSV has no end marker) would make the undo
    of a failed load put back less than was there, and say it had not.
    """
    with open(out, "wb") as fh:
        chunk: list[str] = []
        for k, g in enumerate(graphs):
            chunk.append(g)
            if k + 1 == len(graphs) or sum(sizes[c] for c in chunk) + sizes[graphs[k + 1]] > SAVE_QUADS:
                values = " ".join(f"<{c}>" for c in chunk)
                rows = sparql.remote(
                    endpoint,
                    f"SELECT ?g ?s ?p ?o WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} }}",
                    timeout,
                    results="tsv",
                )
                assert isinstance(rows, ox.QuerySolutions)
                got = [0]

                def counted(rows: ox.QuerySolutions = rows, got: list[int] = got) -> Iterator[ox.Quad]:
                    for r in rows:
                        got[0] += 1
                        yield ox.Quad(r["s"], r["p"], r["o"], r["g"])

                ox.serialize(counted(), fh, format=ox.RdfFormat.N_QUADS)
                wanted = sum(sizes[c] for c in chunk)
                if got[0] != wanted:
                    raise StoreError(
                        f"{endpoint}: asked for the {wanted:,} quads of {len(chunk)} graph(s), the server answered "
                        f"{got[0]:,} (does it cap the rows of a result, as Virtuoso's ResultSetMaxRows does?)"
                    )
                chunk = []


#: quads read back from the server per query when saving the graphs a batch replaces
SAVE_QUADS = 200_000


def _keep(files: list[Path]) -> Path:
    """Copy saved graphs out of the load's temporary folder (it is removed): the way back stays with the user."""
    kept = Path(tempfile.mkdtemp(prefix="trialkg-load-previous-"))
    for k, saved in enumerate(files):
        shutil.copy(saved, kept / f"request-{k + 1}.nq")
    return kept


def _undo(
    applied: list[tuple[Part, Path]], update: str, timeout: float, cause: StoreError, at: int, of: int
) -> StoreError:
    """Put back what the applied parts replaced, newest first; the error to raise either way."""
    done = 0
    try:
        for part, saved in reversed(applied):
            old = ox.Store()
            old.bulk_load(path=str(saved), format=ox.RdfFormat.N_QUADS)
            with tempfile.TemporaryFile() as body:
                for g in part.graphs:
                    body.write(_replacement(old, g))
                _post_update(update, body, timeout)
            del old
            done += 1
    except (StoreError, OSError) as exc:
        kept = _keep([saved for _part, saved in applied[: len(applied) - done]])
        return StoreError(
            f"load failed at request {at + 1} of {of}: {cause}; undoing the {len(applied)} request(s) applied "
            f"before failed too ({exc}): {len(applied) - done} of them are still applied, and the graphs they "
            f"replaced are saved in {kept} (N-Quads, one file per request)"
        )
    return StoreError(
        f"load failed at request {at + 1} of {of}, published graphs unchanged: {cause} "
        f"(the {len(applied)} request(s) applied before it were undone)"
    )


def _post_update(update: str, request: Path | IO[bytes], timeout: float) -> None:
    """POST the request (a file, or an open file written up to here) as ``application/sparql-update``.

    Form-encoded if the server refuses that type (nothing applied).
    """
    if isinstance(request, Path):
        with open(request, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            _post_update(update, fh, timeout)
        return
    body = request
    size = body.tell()
    body.seek(0)
    try:
        http.request(
            "POST",
            update,
            body,
            {"Content-Type": "application/sparql-update", "Content-Length": str(size)},
            timeout=timeout,
        )
        return
    except http.RequestError as exc:
        if exc.status not in (400, 406, 415):
            raise
    with tempfile.TemporaryFile() as form:  # a 4xx answer: the server applied nothing
        body.seek(0)
        form.write(b"update=")
        for block in iter(lambda: body.read(1 << 20), b""):
            form.write(urllib.parse.quote_plus(block).encode("ascii"))
        size = form.tell()
        form.seek(0)
        http.request(
            "POST",
            update,
            form,
            {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(size)},
            timeout=timeout,
        )


def staging_graphs(endpoint: str, timeout: float) -> list[str]:
    """Staging graphs earlier loads left on the server (versions before 0.2 staged with the Graph Store Protocol)."""
    rows = sparql.remote_rows(
        endpoint, f'SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ }} FILTER(STRSTARTS(STR(?g), "{STAGING}")) }}', timeout
    )
    return sorted(r["g"].value for r in rows if isinstance(r.get("g"), ox.NamedNode))


def graph_sizes(endpoint: str, graphs: Sequence[str], timeout: float) -> dict[str, int]:
    """The number of triples in each of ``graphs`` on the server (0 for a graph it does not have)."""
    values = " ".join(f"<{g}>" for g in graphs)
    rows = sparql.remote_rows(
        endpoint,
        f"SELECT ?g (COUNT(*) AS ?n) WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} }} GROUP BY ?g",
        timeout,
    )
    sizes = dict.fromkeys(graphs, 0)
    for r in rows:
        sizes[r["g"].value] = int(r["n"].value)
    return sizes


def _state(endpoint: str, expected: Expected, before: dict[str, int], timeout: float) -> str:
    """What the server holds now: "new" (what this load sent), "old", "other", or "unknown" (no answer)."""
    try:
        sizes = graph_sizes(endpoint, list(expected.sizes), timeout)
    except StoreError:
        return "unknown"
    new = dict(expected.sizes)
    if sizes == new and new != before:
        return "new"
    if sizes == before and new != before:
        return "old"
    if sizes != new:
        return "other"
    try:  # the sizes cannot tell old from new: compare the content itself
        for g in expected.sizes:
            f = expected.fingerprint(g)
            triples = sparql.remote_triples(
                endpoint, f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} }}", timeout
            )
            if fingerprint(triples) != f:
                return "old"
    except (StoreError, SyntaxError):
        return "unknown"
    return "new"


def _after_failure(
    exc: http.RequestError, endpoint: str, expected: Expected, before: dict[str, int], timeout: float
) -> str:
    """Look at the server after the update request failed; return a note if the load was applied, else raise."""
    if exc.reached is False:
        raise NotApplied(f"load failed, published graphs unchanged (the update never reached the server): {exc}")
    # The server's own error status is its answer: one look. Otherwise (no answer, or a gateway's 502, 503 or
    # 504, which a proxy sends while the server behind it may still apply the update) look a while.
    deadline = time.monotonic() + (0 if exc.from_server else timeout)
    while True:
        state = _state(endpoint, expected, before, timeout)
        if state == "new":
            return (
                f"the update request failed ({exc}), but the server holds the new graphs: checked, the load was applied"
            )
        if state == "unknown" or time.monotonic() >= deadline:
            break
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    check = _how_to_check(endpoint)
    if state == "unknown":
        raise StoreError(f"load failed: {exc}; could not verify what the server holds (it does not answer): {check}")
    if state == "other":
        raise StoreError(
            f"load failed: {exc}; could not verify: the published graphs match neither their state "
            f"before the load nor the new one (another writer?): {check}"
        )
    if exc.from_server:
        raise NotApplied(f"load failed, published graphs unchanged (checked): {exc}")
    who = (
        "an answer a proxy or gateway may have given while the server behind it still works, so whether the "
        "update was applied is unknown"
        if exc.status is not None
        else "no answer"
    )
    raise StoreError(
        f"load failed: {exc} ({who}); checked for {timeout:g} s afterwards, the published graphs were still "
        f"unchanged, but the server may yet apply the update: {check}"
    )


def _how_to_check(endpoint: str) -> str:
    """How a user finds out what the server holds now (one line)."""
    return (
        f"before loading again, see which graphs {endpoint} holds (kg query --endpoint {endpoint} --file on "
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g)"
    )
