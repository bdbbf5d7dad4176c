"""The dataset core: the one way every verb loads, describes and queries the graph.

A :class:`Dataset` is one of three things, and every verb takes it:

- **built** from Turtle sources (the packaged ontology plus the packaged
  publications, or the user's ``--trials`` files): each source is parsed once,
  by :mod:`kg.sources`, into its named graph of one pyoxigraph store;
- **opened** from a persistent store made by ``kg load`` (read-only);
- **remote**: a SPARQL 1.1 endpoint, which only answers queries.

It owns the named graphs, the dataset description (computed once, over the data
only), the rdflib view where rdflib is needed (reasoning, pyshacl, JSON-LD), and
:meth:`Dataset.run`, the one way to run a query.
"""

from __future__ import annotations

import contextlib
import io
import os
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING, TypeVar

import pyoxigraph as ox

from kg import evidence, graph_pack, media, sandbox
from kg import sources as src
from kg.describe import Statistics, describe, read, statistics
from kg.errors import InputError, OutputError, QueryError, StoreError
from kg.grouping import packed, shared_groups
from kg.merge import store_statistics
from kg.outputs import interrupted_swap
from kg.prefixes import BASE, data_iri
from kg.query import batches, catalog, execute, formats, gather
from kg.query.catalog import Query
from kg.query.params import bind
from kg.query.result import Result, Value, from_solutions
from kg.query.text import Term, in_order_of, paged, shown_as, values_rows, with_values
from kg.query.tokens import has_dataset_clause, reads_named_graphs, unescaped, uses_service
from kg.rdf import value

if TYPE_CHECKING:
    import rdflib

ENGINES = ("oxigraph", "rdflib")
#: above this many bytes of Turtle, :meth:`Dataset.build` parses only when the store is first needed, so
#: ``kg build`` can stream the sources instead (:func:`kg.build.build`) and never hold the whole graph
DEFER_BYTES = 32 * 1024 * 1024
#: studies asked at a time when a study's query is asked of a whole store (:meth:`Dataset._in_batches`): their
#: graphs in memory (about 3 ms and 0.3 MB a synthetic study) and the engine's rows for them
BATCH_STUDIES = 500
#: processes that answer the batches of one such query at once (each holds one batch's copy): the cores this
#: process may run on, at most four (10,000 publications, two cores: ``efficacy`` 11.2 -> 6.5 s)
WORKERS = min(4, sandbox.cores())
STUDY = "https://w3id.org/trialkg/ontology/Study"
T = TypeVar("T")
_TSV = ox.QueryResultsFormat.TSV
#: fills a copy's default graph with each triple of its named graphs once (Oxigraph's own insert, about 2 us a quad)
_MERGE = "INSERT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"
#: each resource of a VALUES block (appended) and a named graph it is a subject or an object in
_GRAPHS_WITH = "SELECT DISTINCT ?r ?g WHERE { { GRAPH ?g { ?r ?p ?o } } UNION { GRAPH ?g { ?x ?q ?r } } }\n"


class Dataset:
    """The graph a verb works on; see the module docstring for its three kinds."""

    def __init__(
        self,
        store: ox.Store | None = None,
        *,
        base: str = BASE,
        endpoint: str | None = None,
        timeout: float = 60.0,
        origin: str = "the packaged graph",
    ):
        self._store = store
        self._deferred: list[src.Source] | None = None  # sources not parsed yet (a large corpus)
        self.base = base
        self.endpoint = endpoint
        self.timeout = timeout
        self.origin = origin
        #: run every query on pyoxigraph in a forked child (:mod:`kg.sandbox`), as ``kg query``, ``kg summary``
        #: and ``kg export`` do: data can make pyoxigraph 0.5.13 abort the process (a Rust panic in an ORDER
        #: BY over mixed datatypes), and in a child that is one line. About 10 ms a query.
        self.isolated = False
        self._on_disk = False  # a store made by `kg load` (large: counted in bounded memory)
        self._folder: Path | None = None  # its folder (where `kg load` keeps the evidence index)
        self._folder_id: tuple[int, int] | None = None  # that folder's identity when opened (a load swaps folders)
        #: that folder, held open: the files kg load wrote beside this store (its pack, its evidence index) are read
        #: from it, never from a folder a later load swapped in
        self._dir_fd: int | None = None
        #: the default graph holds every distinct triple of the named graphs, and queries read it rather than the
        #: union of the named graphs (a copy made by :meth:`of_studies`); else they read that union
        self.merged = False
        self._dedup: tuple[int, Dataset] | None = None  # (store size, copy): see _deduplicated
        self._study_index: tuple[int, graph_pack.Studies] | None = None  # (store size, index): see _studies

    # ------------------------------------------------------------ making one
    @classmethod
    def build(
        cls,
        publications: Sequence[src.Source] | None = None,
        base: str = BASE,
        path: str | Path | None = None,
        defer: bool | None = None,
    ) -> Dataset:
        """The ontology and the publications (packaged ones if ``None``), each source in its named graph.

        With ``path`` the store lives on disk there; otherwise in memory. With
        ``defer`` (default: when the sources are larger than :data:`DEFER_BYTES`
        and no ``path`` is given) nothing is parsed until the store is first
        used, and :attr:`deferred` lists the sources, which ``kg build`` streams
        one batch at a time instead.
        """
        pubs = list(publications if publications is not None else src.packaged_publications())
        origin = "the packaged graph" if publications is None else "the given files"
        if defer is None:
            defer = path is None and sum(s.size for s in pubs) > DEFER_BYTES
        if defer and path is None:
            ds = cls(None, base=base, origin=origin)
            ds._deferred = pubs
            return ds
        store = ox.Store(str(path)) if path is not None else ox.Store()
        for source in [*src.ontology(), *pubs]:
            load_source(store, source, base)
        return cls(store, base=base, origin=origin)

    @classmethod
    def from_paths(cls, paths: Sequence[str | Path] | None = None, base: str = BASE) -> Dataset:
        """The packaged ontology with the publication files or folders at ``paths`` (packaged ones if empty)."""
        return cls.build(src.files(paths) if paths else None, base)

    @classmethod
    def open(cls, path: str | Path) -> Dataset:
        """A persistent store made by ``kg load``, opened read-only (no write access needed).

        If a load was killed between the two renames of its swap, the store is
        read where that left it (the next ``kg load`` puts it back).
        """
        path = Path(path)
        path = interrupted_swap(path) or path
        if not path.is_dir() or not any(path.iterdir()):
            raise StoreError(f"{path}: no store here (create it with `kg load --store {path}`)")
        try:
            folder_fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise StoreError(f"{path}: cannot open the store: {exc.strerror or exc}") from None
        try:
            held = os.fstat(folder_fd)
            store = ox.Store.read_only(str(path))
        except (OSError, RuntimeError) as exc:  # RuntimeError: RocksDB finds the store damaged
            os.close(folder_fd)
            raise StoreError(f"{path}: cannot open the store: {exc}") from None
        except BaseException:
            os.close(folder_fd)
            raise
        opened = cls(store, base=stored_base(store), origin=str(path))
        opened._on_disk = True
        opened._folder = path
        opened._folder_id = _identity(path)
        dir_fd: int | None = folder_fd
        if opened._folder_id == (held.st_dev, held.st_ino):  # the folder the store was opened from: its files
            weakref.finalize(opened, os.close, folder_fd)  # are read from it (see _pack), whatever a load swaps in
        else:  # a load swapped another folder in meanwhile: this store's own files are not known; none is read
            os.close(folder_fd)
            dir_fd = None
        opened._dir_fd = dir_fd
        return opened

    @classmethod
    def remote(cls, endpoint: str, timeout: float = 60.0) -> Dataset:
        """A SPARQL 1.1 query endpoint (queries only): an http(s) URL (:func:`kg.http.checked`)."""
        from kg.http import checked

        return cls(None, endpoint=checked(endpoint), timeout=timeout, origin=endpoint)

    @classmethod
    def select(
        cls,
        *,
        paths: Sequence[str | Path] | None = None,
        store: str | Path | None = None,
        endpoint: str | None = None,
        timeout: float = 60.0,
    ) -> Dataset:
        """The dataset the CLI's target options name (at most one of ``paths``, ``store``, ``endpoint``)."""
        given = [name for name, v in (("--trials/--data", paths), ("--store", store), ("--endpoint", endpoint)) if v]
        if len(given) > 1:
            raise InputError(f"give only one of {' and '.join(given)}")
        if endpoint:
            return cls.remote(endpoint, timeout)
        if store:
            return cls.open(store)
        return cls.from_paths(paths)

    # ------------------------------------------------------------ reading it
    @property
    def is_remote(self) -> bool:
        """Whether this dataset is a remote endpoint (it then answers queries only)."""
        return self._store is None and self._deferred is None

    @property
    def deferred(self) -> list[src.Source] | None:
        """The publications of a deferred build that nothing has parsed yet (else None)."""
        return self._deferred

    @property
    def store(self) -> ox.Store:
        """The pyoxigraph store (not for a remote endpoint); a deferred build is parsed now, in memory."""
        if self._deferred is not None:
            store = ox.Store()
            for source in [*src.ontology(), *self._deferred]:
                load_source(store, source, self.base)
            self._store, self._deferred = store, None
        if self._store is None:
            raise StoreError(f"{self.endpoint}: this needs a local graph (use --trials or --store, not --endpoint)")
        return self._store

    def graphs(self) -> list[str]:
        """The named graphs of the data, ontology first, then publications in IRI order (not the description's)."""
        names = sorted(g.value for g in self.store.named_graphs() if isinstance(g, ox.NamedNode))
        onto, void = src.graph_iri(src.ONTOLOGY_SLUG, self.base), self.description_graph
        return [g for g in names if g == onto] + [g for g in names if g not in (onto, void)]

    @property
    def description_graph(self) -> str:
        """Where ``kg load`` stores the description with the data (``graph/void``)."""
        return src.graph_iri(src.DESCRIPTION_SLUG, self.base)

    def stored_description(self) -> list[ox.Triple]:
        """The description stored with the data (empty if there is none, as in a store loaded by an earlier version)."""
        return [q.triple for q in self.store.quads_for_pattern(None, None, None, ox.NamedNode(self.description_graph))]

    def of_studies(
        self, studies: Iterable[str], predicates: Iterable[str] | None = None, *, named: bool = True
    ) -> Dataset:
        """The studies' own graphs (every named graph a study is stated in, and the ontology), as a dataset.

        A publication's graph holds all it says of its study (statistics, groups,
        sources, quotes) and the ontology the labels of the terms it uses, so a
        ready-made query asked of this small dataset gives, for these studies,
        the rows it gives on the whole store, in time that follows the studies,
        not the corpus (a study page at 10,000 publications: 70 s -> 0.23 s).
        A server's dataset is itself (its graphs are not ours to copy). With
        ``predicates``, only the studies' triples with those predicates are
        copied (and the whole ontology): what a query that names no others can
        read (:func:`kg.query.batches.predicates_of`).

        The copy is :attr:`merged`: its default graph holds every triple of the
        copied graphs once, and its queries read that, not the union of the
        graphs, which repeats a triple once for each file that states it. A
        study two files describe (an abstract and its full paper, or a file
        loaded twice under two names) would otherwise give each row of a
        ten-pattern query k^10 times: three copies of isoda-2018 made
        ``trial-summary`` run past two minutes and one ``kg summary`` screen
        take all 24 GB of this machine. ``named=False`` copies into the default
        graph alone, for a query that reads no graph by name
        (:func:`kg.query.tokens.reads_named_graphs`).

        On a store ``kg load`` made, each publication graph is parsed from the
        pack it wrote beside the store (:mod:`kg.graph_pack`: about 2 us a triple,
        only the predicates wanted) rather than read off the disk a term at a
        time (9.5 us a quad); a graph the pack lacks (blank nodes, a store an
        earlier version loaded) is read from the store.
        """
        if self.endpoint:
            return self
        return self.of_graphs(self.graphs_of(studies), predicates, named=named)

    def of_graphs(
        self,
        graphs: Iterable[ox.NamedNode],
        predicates: Iterable[str] | None = None,
        *,
        named: bool = True,
        types: frozenset[str] | None = None,
    ) -> Dataset:
        """These named graphs (the ontology's among them), copied as :meth:`of_studies` copies a study's; with
        ``types`` (:func:`kg.query.batches.types_of`), of their type triples parsed from the pack only those of
        these classes (the ontology's all)."""
        store = ox.Store()
        onto = src.graph_iri(src.ONTOLOGY_SLUG, self.base)
        wanted = None if predicates is None else [ox.NamedNode(p) for p in sorted(predicates)]
        names = None if predicates is None else frozenset(predicates)
        pack, parsed = self._pack, []
        for g in graphs:
            lines = pack.triples(g.value, names, types) if pack is not None and g.value != onto else None
            if lines is not None:  # parsed from the pack beside the store: a fifth of the time of reading the store
                if named:  # lenient: the lines are the engine's own output, checked when first loaded (30 % faster)
                    store.load(lines, format=ox.RdfFormat.N_TRIPLES, to_graph=g, lenient=True)
                parsed.append(lines)
                continue
            if g.value == onto:
                quads: Iterable[ox.Quad] = self._ontology if self._on_disk else self.quads(g.value)
            elif wanted is None:
                quads = self.quads(g.value)
            else:
                quads = [q for p in wanted for q in self.store.quads_for_pattern(None, p, None, g)]
            if named:
                quads = list(quads)  # read once, into the named graph and the default graph
                store.extend(quads)
            store.extend(
                ox.Quad(q.subject, q.predicate, q.object) for q in quads
            )  # the default graph: each triple once
        if parsed:  # into the default graph at once: one parse, one transaction (a SPARQL INSERT of the named
            # graphs' triples took twice as long)
            store.load(b"".join(parsed), format=ox.RdfFormat.N_TRIPLES, lenient=True)
        own = Dataset(store, base=self.base, origin=self.origin)
        own.isolated = self.isolated  # its queries in a child where this dataset's are (kg serve, kg summary)
        own.merged = True
        return own

    @cached_property
    def _ontology(self) -> tuple[ox.Quad, ...]:
        """The ontology graph's quads, read once from a store ``kg load`` made (read-only: they cannot change).

        Every study and evidence page copies them (:meth:`of_studies`); read from
        the store each time, their strings cost 14 ms of a 115 ms study page at
        100,000 publications.
        """
        return tuple(self.quads(src.graph_iri(src.ONTOLOGY_SLUG, self.base)))

    def warm(self) -> None:
        """Read now what every copy of a store's graphs needs (the pack's index, the ontology), so that the processes
        forked to answer pages or batches share it instead of each reading it (at 100,000 publications the index
        was 140 ms a page), and the stored evidence index, so a server keeps it after a load removes its folder."""
        if self._on_disk:
            _ = self._pack, self._ontology
            if self._pack is not None:
                _ = self._pack.studies  # each study's graphs, which every copy of a study looks up
            if self._dir_fd is not None and _exists(evidence.FILE, self._dir_fd):
                _ = self.evidence  # held before a later load removes this folder (else counted again: minutes)

    @cached_property
    def _pack(self) -> graph_pack.Reader | None:
        """The publications' graphs as ``kg load`` packed them beside the store (:mod:`kg.graph_pack`), if it did
        so with the data this store holds (a store an earlier version loaded has none: read from the store)."""
        description = self.stored_description() if self._dir_fd is not None else []
        if self._folder is None or self._dir_fd is None or not description:
            return None
        return graph_pack.Reader.open(self._folder, evidence.fingerprint(description), self._dir_fd)

    def graphs_of(self, resources: Iterable[str]) -> list[ox.NamedNode]:
        """The ontology's graph and every named graph the studies (or any resources) are a subject or an object in,
        in IRI order: all a file says of a resource, and what other files say pointing at it (a report that cites
        a publication, the trial a publication describes). For a resource that is not a study (a publication),
        the graphs of the studies those graphs name too: what a study's files read is held to the files that name
        the study (:mod:`kg.cross_file`), not to a publication's own, so a full paper that lists the author entries
        of its abstract's file is read with that file (``citation`` lost its authors asked of the paper's alone).

        A store ``kg load`` made keeps each study's graphs beside it (:class:`kg.graph_pack.Studies`): a study's
        are looked up there, not asked of the store.
        """
        graphs = {src.graph_iri(src.ONTOLOGY_SLUG, self.base)}
        known = self._pack.studies if self._on_disk and self._pack is not None else None
        rest: list[str] = []
        for r in resources:
            found = known.graphs_of(r) if known is not None else None
            if found is None:
                rest.append(r)
            else:
                graphs.update(found)
        held: dict[str, set[str]] = {}
        for r, g in self._graphs_with(rest):
            held.setdefault(r, set()).add(g)
        for of_one in held.values():
            graphs |= of_one
        others = set(held) if known is not None else set(held) - self._typed_studies(held)
        if others:
            index = known if known is not None else self._studies()
            for g in {g for r in others for g in held[r]}:
                for s in index.studies_in(g):
                    graphs.update(index.graphs_of(s) or ())
        return [ox.NamedNode(g) for g in sorted(graphs)]

    def study_graphs(self) -> graph_pack.Studies:
        """Each study's named graphs (those it is a subject or an object in): what ``kg load`` keeps beside a store."""
        graphs: dict[str, list[str]] = {s.value: [] for s in self.studies()}
        for r, g in self._graphs_with(graphs):
            graphs[r].append(g)
        return graph_pack.Studies.of(graphs)

    def _studies(self) -> graph_pack.Studies:
        """:meth:`study_graphs`, kept (again where a store in memory has changed size since)."""
        size = 0 if self._on_disk else len(self.store)  # a store on disk is read-only
        if self._study_index is None or self._study_index[0] != size:
            self._study_index = (size, self.study_graphs())
        return self._study_index[1]

    def _typed_studies(self, resources: Iterable[str]) -> set[str]:
        """Those of the resources that are studies (typed with trialkg:Study or a subclass of it)."""
        nodes = [ox.NamedNode(r) for r in resources]
        if not nodes:
            return set()
        text = with_values(
            f"SELECT DISTINCT ?s WHERE {{ ?s a ?c . ?c <http://www.w3.org/2000/01/rdf-schema#subClassOf>* <{STUDY}> }}",
            {},
            values_rows("s", nodes),
        )
        return {r["s"].value for r in execute.solutions(self.store, text, {}, "the studies") if r["s"] is not None}

    def _graphs_with(self, resources: Iterable[str]) -> Iterator[tuple[str, str]]:
        """Each (resource, named graph it is a subject or an object in), once; one query a batch of resources: the
        engine reads the graphs' names alone, where quads_for_pattern made every quad's terms Python objects
        (10,000 studies: 2.9 s -> 0.5 s)."""
        nodes = [ox.NamedNode(r) for r in resources]
        for start in range(0, len(nodes), BATCH_STUDIES):
            text = with_values(_GRAPHS_WITH, {}, values_rows("r", nodes[start : start + BATCH_STUDIES]))
            for row in execute.solutions(self.store, text, {}, "the graphs of the studies"):
                r, g = row["r"], row["g"]
                if isinstance(r, ox.NamedNode) and isinstance(g, ox.NamedNode):
                    yield r.value, g.value

    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]:
        """Every quad of the data (not the stored description), or one named graph's."""
        if graph:
            return self.store.quads_for_pattern(None, None, None, ox.NamedNode(graph))
        store = self.store
        return (q for g in self.graphs() for q in store.quads_for_pattern(None, None, None, ox.NamedNode(g)))

    def triples(self) -> Iterator[ox.Triple]:
        """The merged graph: every distinct triple once, streamed graph by graph.

        A triple stated in several graphs (a journal two publications share) is
        written with the first graph that holds it.
        """
        order = {g: i for i, g in enumerate(self.graphs())}
        store = self.store
        for graph in order:
            here = order[graph]
            for q in store.quads_for_pattern(None, None, None, ox.NamedNode(graph)):
                first = min(
                    order.get(value(o.graph_name), here)
                    for o in store.quads_for_pattern(q.subject, q.predicate, q.object, None)
                )
                if first == here:
                    yield q.triple

    @cached_property
    def statistics(self) -> Statistics:
        """Counts of the data (the description is not part of the data): read from the stored description if any.

        Otherwise computed once: with SPARQL over a graph in memory; over a store on
        disk, in bounded memory (:func:`kg.merge.store_statistics`), since a whole-store
        ``COUNT(DISTINCT ...)`` would hold every distinct term at once.
        """
        stored = self.stored_description()
        if stored:
            return read(stored, self.base)
        if self._on_disk:
            return store_statistics(self.store, self.graphs(), self.base)
        return statistics(self.store, self.base)

    @cached_property
    def description(self) -> list[ox.Triple]:
        """The VoID / DCAT / HCLS description of this dataset: the stored one, else computed once."""
        return self.stored_description() or describe(self.statistics, self.base)

    @cached_property
    def evidence(self) -> evidence.Index:
        """The evidence views and their counts: stored by ``kg load`` with the data it counts, else counted once.

        A store whose index is missing or of an earlier version (loaded by an earlier ``kg``) gets the one counted
        here written beside its data, so only the first server or site after an upgrade counts (minutes at
        100,000 publications). Not written if the folder is read-only, or if a ``kg load`` has swapped another
        store in since it was opened (its folder is another one: that load wrote its own index).
        """
        if self._folder is None:
            return evidence.compute(self.store)
        description = self.stored_description()
        stored = evidence.read(self._folder, description, self._dir_fd) if self._dir_fd is not None else None
        if stored is not None:
            return stored
        index = evidence.compute(self.store)
        if description and self._folder_id == _identity(self._folder):
            try:
                evidence.save(self._folder, index, description)
            except OutputError:
                pass  # a read-only store: counted again by the next process, as before
        return index

    @cached_property
    def rdflib(self) -> rdflib.Dataset:
        """An rdflib ``Dataset`` with the same named graphs (for rdflib's engine, pyshacl, JSON-LD)."""
        import rdflib

        ds = rdflib.Dataset(default_union=True)
        for q in self.store:
            g = (
                ds.graph(rdflib.URIRef(q.graph_name.value))
                if isinstance(q.graph_name, ox.NamedNode)
                else ds.default_graph
            )
            g.add((src.rdflib_term(q.subject), src.rdflib_term(q.predicate), src.rdflib_term(q.object)))
        return ds

    # ------------------------------------------------------------ querying it
    @staticmethod
    def run_checks(q: Query, allow_service: bool, engine: str = "oxigraph") -> None:
        """Refuse a user's own query that uses ``SERVICE`` (the engine would fetch another endpoint) unless allowed.

        rdflib reads code point escapes before it parses (``\\u0053ERVICE`` is a SERVICE there) and fetches the
        graphs a ``FROM`` names over the network itself (Oxigraph reads them from the store): asked of rdflib,
        the query is read unescaped, and a ``FROM`` needs leave too. rdflib runs in this process, outside the
        child whose network is shut (:mod:`kg.sandbox`), so this check is all that stands there.
        """
        if not q.user_supplied or allow_service:
            return
        text = unescaped(q.text) if engine == "rdflib" else q.text
        if uses_service(text):
            raise QueryError(
                f"{q.origin}: the query uses SERVICE, which fetches from another endpoint over the network; "
                "give --allow-service to let it"
            )
        if engine == "rdflib" and has_dataset_clause(text, safe_side=True):
            raise QueryError(
                f"{q.origin}: the query names its graphs with FROM, which rdflib fetches over the network; "
                "give --allow-service to let it, or ask it of the default engine (oxigraph), which reads them from the store"
            )

    def run(
        self,
        query: Query | str,
        params: Mapping[str, str] | None = None,
        engine: str = "oxigraph",
        allow_service: bool = False,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Result:
        """Run a ready-made query (by name or :class:`Query`) with its parameters bound as RDF terms.

        A user's own query that uses ``SERVICE`` (the engine would fetch another
        endpoint over the network) is refused unless ``allow_service``;
        ``limit`` / ``offset``: one page of its rows (see :func:`kg.query.text.paged`).
        """
        q = catalog.get(query) if isinstance(query, str) else query
        bindings = bind(q, params or {})
        text = paged(q.text, limit, offset)
        if engine not in ENGINES:
            raise QueryError(f"unknown engine {engine!r} (valid: {', '.join(ENGINES)})")
        self.run_checks(q, allow_service, engine)
        if self.endpoint:
            return execute.on_endpoint(self.endpoint, text, bindings, q.origin, self.timeout)
        if engine == "rdflib":
            return execute.on_rdflib(self.rdflib, text, bindings, q.origin)
        isolated = q.user_supplied or self.isolated
        if self._batched(q, bindings):

            def answer() -> Result:
                with _closing(self._in_batches(q, bindings, limit, offset)) as parts:
                    return from_solutions(_joined(parts, limit, offset), q.origin)

            return execute.in_child(answer, origin=q.origin, network=allow_service) if isolated else answer()
        own = self._asked_of(q, bindings)
        if own is not None:
            return own.run(q, params, engine, allow_service, limit, offset)
        return execute.on_oxigraph(
            self.store, text, bindings, q.origin, union=self._union(text), isolated=isolated, network=allow_service
        )

    def write(
        self,
        query: Query | str,
        params: Mapping[str, str] | None,
        fmt: str,
        out: IO[bytes],
        engine: str = "oxigraph",
        allow_service: bool = False,
        limit: int | None = None,
        offset: int | None = None,
    ) -> None:
        """Run a query and write its rows to ``out`` in ``fmt`` as they come (``kg query``).

        From pyoxigraph or a server nothing of the result is held: the engine's
        rows, or the server's answer parsed as it arrives, are written as they
        come (:func:`kg.query.formats.write_solutions`); a query a user wrote,
        or any query of an isolated dataset, runs in a forked child (as
        :meth:`run` does), which writes them. With rdflib the result is read,
        then written.
        """
        q = catalog.get(query) if isinstance(query, str) else query
        if engine not in ENGINES:
            raise QueryError(f"unknown engine {engine!r} (valid: {', '.join(ENGINES)})")
        self.run_checks(q, allow_service, engine)
        bindings = bind(q, params or {})
        text = paged(q.text, limit, offset)
        if self.endpoint:
            with execute.endpoint_stream(self.endpoint, text, bindings, q.origin, self.timeout) as answer:
                formats.write_solutions(answer, fmt, out)
            return
        if engine != "oxigraph":
            formats.write(self.run(q, params, engine, allow_service, limit, offset), fmt, out)
            return
        own = self._asked_of(q, bindings)
        if own is not None:
            own.write(q, params, fmt, out, engine, allow_service, limit, offset)
            return
        store = self.store

        def written() -> None:
            if self._batched(q, bindings):
                with _closing(self._in_batches(q, bindings, limit, offset)) as answer:
                    if not isinstance(answer, ox.QuerySolutions) and fmt in ("csv", "tsv"):
                        batches.stream(answer, media.result_format(fmt).format, out, limit, offset)
                        return
                    rows = _joined(answer, limit, offset)
            else:
                rows = execute.solutions(store, text, bindings, q.origin, union=self._union(text))
            formats.write(rows, fmt, out)
            out.flush()

        if not (q.user_supplied or self.isolated):
            written()
            return
        out.flush()  # nothing buffered is written twice, by the parent and by the child
        execute.in_child(written, origin=q.origin, network=allow_service)

    def _asked_of(self, q: Query, bindings: Mapping[str, Term]) -> Dataset | None:
        """The copy a ready-made query is asked of instead of this dataset (``None``: this one), so that it reads
        each triple once however many files state it (see :meth:`of_studies` for why).

        A query about one resource its scope names (``#+ scope: trial``): a copy of that resource's own graphs
        (:meth:`_scoped`); a study's query without its study: this dataset, which asks it in batches of such
        copies (:meth:`_batched`); any other: on a store made by ``kg load``, the store as it is (a whole store is
        not copied), in memory (``--trials`` files) one copy of the whole graph (:meth:`_deduplicated`). A query a
        user wrote, or a bounded lookup, is asked of the data as it is, on every path alike (the union of the graphs,
        or its ``FROM``).
        """
        if self.merged or self.is_remote or q.user_supplied or q.lookup:
            return None
        own = self._scoped(q, bindings)
        if own is not None or self._on_disk or self._batched(q, bindings):
            return own
        return self._deduplicated()

    def _union(self, text: str) -> bool:
        """Whether a query reads the default graph as the union of the named graphs: not in a copy (its default graph
        holds their triples once), nor where the query names its own graphs (``FROM``: as ``kg serve``'s endpoint)."""
        return not self.merged and not has_dataset_clause(text)

    def _deduplicated(self) -> Dataset:
        """This dataset in memory, copied once with a default graph that holds each of its triples once (its named
        graphs kept, for queries that read a graph by name): about 5 us a quad, 16 ms for the packaged graph.
        Copied again if the store has changed size since (a caller that adds to a built store)."""
        size = len(self.store)
        if self._dedup is None or self._dedup[0] != size:
            store = ox.Store()
            store.extend(self.store)
            store.update(_MERGE)
            own = Dataset(store, base=self.base, origin=self.origin)
            own.isolated, own.merged = self.isolated, True
            self._dedup = (size, own)
        return self._dedup[1]

    def _scoped(self, q: Query, bindings: Mapping[str, Term]) -> Dataset | None:
        """Where a query is asked for one resource its scope names: a copy of that resource's own graphs
        (:meth:`of_studies`), each triple once.

        A query whose header names a ``scope`` parameter (``#+ scope: trial``)
        reads, for one value of it, nothing but the graphs that resource is a
        subject or an object in and the ontology (checked for every such query
        by the tests), so it is asked of a copy of those graphs: one trial's
        efficacy at 10,000 publications took 3.5 s on the whole store, 16 ms on
        its own graphs; and where several files state a triple (an abstract and
        its full paper) the copy has it once, where the union of the graphs gave
        each row of ``efficacy`` 2^10 times (past two minutes for two copies of
        isoda-2018). ``None`` (the query asked as it is) for anything else.
        """
        if q.scope is None:
            return None
        bound = bindings.get(q.parameter(q.scope).variable)
        if not isinstance(bound, ox.NamedNode):
            return None
        # every triple of its graphs (a few hundred): reading the query's predicates would cost more (rdflib parses it)
        return self.of_studies([bound.value], named=reads_named_graphs(q.text))

    def _batched(self, q: Query, bindings: Mapping[str, Term]) -> bool:
        """Whether a query is asked study by study, a batch of their copies at a time (a store or files in memory).

        A ready-made study's query (``#+ scope: trial``) without its study, that
        orders its rows by the study first and shows it: every row is about one
        study (a study's statistics, arms, claims and reports are the study's,
        as the shapes require), and the scope claim (tested for each such query)
        says that study's graphs give all its rows. Or a query whose every row
        is found within one study's graphs (``#+ within: study``), its rows
        gathered from the batches and ordered (:meth:`_gathered`).
        """
        if self.merged or self.is_remote or q.user_supplied:
            return False
        if q.scope is not None and q.parameter(q.scope).variable in bindings:
            return False  # one resource's query: asked of its own graphs (:meth:`_scoped`)
        if q.within == "study" and bindings:
            return False  # a parameter seeds it (one statistic's provenance: 3 ms in place at 100,000 publications)
        if not (self._in_study_order(q) or q.within == "study"):
            return False
        # files in memory no larger than a batch: their one whole copy (:meth:`_deduplicated`) is that batch, and
        # reading the query's patterns (rdflib, 0.5 s a query a process) would double `kg query efficacy`'s time
        return self._on_disk or len(self.studies()) > BATCH_STUDIES

    @staticmethod
    def _in_study_order(q: Query) -> bool:
        """Whether a scoped query's rows come ordered by its resource first (its batches' rows, one after another)."""
        return q.scope is not None and (q.order is not None or in_order_of(q.text, q.parameter(q.scope).variable))

    def studies(self, having: Iterable[tuple[str, str | None]] = ()) -> list[ox.NamedNode]:
        """Every study (an instance of trialkg:Study or of a subclass of it), in IRI order.

        ``having``: only those that are the subject of a triple with each of these
        predicates (and object, where one is given).
        """
        typed = f"?c <http://www.w3.org/2000/01/rdf-schema#subClassOf>* <{STUDY}> . ?s a ?c ."
        return self._subjects(having, typed)

    def scope_resources(self, q: Query, bindings: Mapping[str, Term] | None = None) -> list[ox.NamedNode]:
        """Every resource a scoped query asked without it has rows for, in IRI order (a batch is asked of these).

        Those that have what every row needs (:func:`kg.query.batches.required_of`),
        whatever their type: ``citation``'s journal articles with an author-list
        flag, ``efficacy``'s subjects of a statistic (a study, as the shapes
        require, or anything a file that was never validated says has one); every
        study where the query requires nothing of its resource. Where the query
        declares its candidates (``#+ candidates:``) and ``bindings`` give the
        parameters they name, the resources that match them on the whole store
        instead: a rare drug's ``evidence-by-drug`` at 10,000 publications
        copies the graphs of its 3 studies, not of 10,000, and the store is not
        asked which studies have an arm, a label and a statistic (3 s there).
        """
        reached = self._candidates(q, bindings or {})
        if reached is not None:
            return sorted(reached, key=lambda s: s.value)
        having = batches.required_of(q.text, q.parameter(q.scope or "").variable)
        return self._subjects(having) if having else self.studies()

    def _candidates(self, q: Query, bindings: Mapping[str, Term]) -> set[ox.NamedNode] | None:
        """The resources a scoped query's ``#+ candidates:`` pattern gives on the store as it is, with the parameters
        it names bound (a superset of those with rows: the pattern is a part of what the query requires, and the
        store holds every triple of every copy); None where it declares none or one of those is unbound."""
        named = catalog.candidate_parameters(q)
        if not q.candidates or any(p.variable not in bindings for p in named):
            return None
        given = {p.variable: bindings[p.variable] for p in named}
        variable = q.parameter(q.scope or "").variable
        rows = execute.solutions(self.store, catalog.candidates_query(q), given, f"{q.origin} (its candidates)")
        return {r[variable] for r in rows if isinstance(r[variable], ox.NamedNode)}

    def _subjects(self, having: Iterable[tuple[str, str | None]], also: str = "") -> list[ox.NamedNode]:
        """The IRIs that are the subject of a triple with each predicate (and object, where given) of ``having``,
        and match the patterns ``also`` (on ``?s``), in IRI order."""
        patterns = "".join(
            f" ?s {ox.NamedNode(p)} {ox.NamedNode(o) if o else f'?o{i}'} ." for i, (p, o) in enumerate(having)
        )
        rows = execute.solutions(self.store, f"SELECT DISTINCT ?s WHERE {{ {also}{patterns} }}", {}, "the studies")
        return sorted((r["s"] for r in rows if isinstance(r["s"], ox.NamedNode)), key=lambda s: s.value)

    def _in_batches(
        self, q: Query, bindings: Mapping[str, Term], limit: int | None, offset: int | None
    ) -> ox.QuerySolutions | Iterator[ox.QuerySolutions]:
        """A study's query asked of the whole store :data:`BATCH_STUDIES` studies at a time: each batch's answer, in
        order (or, where there is nothing to batch, the answer itself, ``limit`` / ``offset`` applied).

        Each batch: its studies' graphs and the ontology copied into memory
        (:meth:`of_studies`), the query asked there with the study bound to the
        batch's studies (a ``VALUES`` row each: rows of another study stated in
        a copied graph are not this batch's); a query given a term besides is
        asked as it is first, and again so bound only where that answer has a
        row of another study or of none (:func:`kg.query.batches.only_of`;
        bound at once, ``compare-outcomes`` took 4x as long); the batches' rows
        one after another (:func:`kg.query.batches.concatenated`, or written as they come:
        :func:`kg.query.batches.stream`) are the same bytes as the store's own
        answer. Asked of the whole store, the engine holds every row to sort it and
        joins over all the data: at 10,000 publications ``efficacy`` took 48 s and
        2.8 GB, ``evidence-statistics`` 5.8 GB, so 100,000 did not fit this
        machine's 24 GB; in batches such queries took 110-370 MB at 10,000
        (``efficacy`` 488 MB at 100,000, where Oxigraph's own string cache is
        full) and 2-4 ms a study when each copy was read off the disk; parsed
        from the store's pack, 0.5-1.1 ms a study in one process. The batches are
        answered by :data:`WORKERS` forked processes at once
        (:func:`kg.query.execute.in_children`), each answer handed back as SPARQL
        TSV in the batches' order. Only studies that have what every row needs
        (:func:`kg.query.batches.required_of`) are asked: ``claims`` and
        ``comparisons`` follow the studies with claims or comparisons; and only
        their triples with predicates the query names are copied
        (:func:`kg.query.batches.predicates_of`). Each copy holds a triple once
        however many files state it (:attr:`merged`), so a store with fewer
        studies than a batch is asked as one batch too, not as it is.
        """
        if not self._in_study_order(q):  # ``#+ within: study``
            return self._gathered(q, bindings, limit, offset)
        variable = q.parameter(q.scope or "").variable

        def listed() -> list[bytes]:  # each batch: its studies (IRIs a line each)
            found = self.scope_resources(q, bindings)
            if q.order:
                found = self._by_property(found, q.order)
            return [
                _lines(s.value for s in found[start : start + BATCH_STUDIES])
                for start in range(0, len(found), BATCH_STUDIES)
            ]

        # a text a batch, not an object an IRI: what the batch processes are forked with (30 MB less at 100,000)
        chunks = self._apart(listed)
        if not chunks:  # no row: the query's columns, from a store with nothing in it
            return execute.solutions(ox.Store(), paged(q.text, limit, offset), bindings, q.origin)
        first = chunks[0].split(b"\n", 1)[0].decode("utf-8")
        if (self._pack is None or self._pack.studies is None) and not self._typed_studies([first]):
            self._studies()  # read with their studies' files (graphs_of): found once, here, not in every batch

        predicates, named, types = _copied(q.text)
        shown = shown_as(q.text, variable)

        def answered(batch: bytes) -> bytes:  # in a child where batches are forked (:meth:`_answered`): as SPARQL TSV
            studies = [ox.NamedNode(i) for i in batch.decode("utf-8").split("\n")]
            # the batch's graphs listed here, in its own process: listed with the studies, they held up every batch
            # (10,000 publications: 1 s before the first batch began)
            own = self.of_graphs(self.graphs_of(s.value for s in studies), predicates, named=named, types=types)

            def tsv(text: str) -> bytes:
                out = io.BytesIO()
                execute.solutions(own.store, text, bindings, q.origin, union=False).serialize(out, format=_TSV)
                return out.getvalue()

            if shown is not None and bindings:  # given a term, asked as it is first: the copy holds these studies,
                # and rarely another's rows; with a VALUES row a study as well as the term, the engine joined each
                # OPTIONAL of compare-outcomes to all the copy's figures first (0.55 s a batch against 0.13 s).
                # Without a term, the VALUES keep evidence-statistics' batch at 281 MB (430 MB without).
                whole = tsv(q.text)
                if batches.only_of(whole, shown, (s.value for s in studies)):
                    return whole
            return tsv(with_values(q.text, {}, values_rows(variable, studies)))

        def parts() -> Iterator[ox.QuerySolutions]:
            for data in self._answered(answered, chunks, q.origin):
                yield ox.parse_query_results(data, format=_TSV)  # type: ignore[misc]

        return parts()

    def _gathered(
        self, q: Query, bindings: Mapping[str, Term], limit: int | None, offset: int | None
    ) -> ox.QuerySolutions | Iterator[ox.QuerySolutions]:
        """A query whose every row is found within one study's graphs (``#+ within: study``) asked a batch of
        studies at a time, each batch's graphs copied as for a study's query, and the rows of all batches gathered
        once each and ordered as the query orders them (:func:`kg.query.gather.merged`; the answer's parts, not yet
        paged).

        Batches hold whole groups of studies that share graphs
        (:meth:`_whole_studies`); where a graph names no study, the query is asked
        of the data as it is. ``consistency`` at 10,000 publications:
        17.7 s and 477 MB asked of the store in place (5.3 GB at 100,000), 6.7 s
        in batches (51 s and 312 MB at 100,000); ``provenance`` (1.6 million rows
        at 100,000, merged on the figure) 466 s and 3.3 GB in place, 65 s and
        312 MB in batches.
        """
        chunks = self._apart(self._whole_studies)
        if chunks is None:  # graphs that name no study: asked of the data as it is (below)
            own = self if self._on_disk else self._deduplicated()
            text = paged(q.text, limit, offset)
            return execute.solutions(own.store, text, bindings, q.origin, union=own._union(text))
        predicates, named, types = _copied(q.text)

        def answered(graphs: list[ox.NamedNode]) -> bytes:  # in a child: the batch's answer as SPARQL TSV
            own = self.of_graphs(graphs, predicates, named=named, types=types)
            out = io.BytesIO()
            execute.solutions(own.store, q.text, bindings, q.origin, union=False).serialize(out, format=_TSV)
            return out.getvalue()

        return gather.merged(self._answered(answered, chunks, q.origin), q.text)

    def _apart(self, func: Callable[[], T]) -> T:
        """``func()`` (the batches: their studies, or graphs), in a forked child where the data is a store on disk:
        reading 100,000 studies' IRIs fills Oxigraph's cache of its string table (128 MB) in the process that reads
        them, and every batch process forked from it would start with that cache (a batch of ``efficacy`` 482 MB
        at 100,000 publications against 278 MB at 10,000). The child hands back the IRIs (and, for ``within:
        study``, each batch's graphs); a study query's batch process lists its own studies' graphs, one query of
        the store, whose strings go with the process."""
        return execute.in_child(func, origin="listing the studies") if self._on_disk else func()

    @staticmethod
    def _forks(chunks: Sequence[object]) -> bool:
        """Whether batches are answered by forked processes: several batches, and several processes allowed."""
        return WORKERS >= 2 and len(chunks) >= 2

    def _answered(self, func: Callable[[T], bytes], chunks: Sequence[T], origin: str) -> Iterator[bytes]:
        """``func(chunk)`` for each batch, in order: by :data:`WORKERS` forked processes at once
        (:func:`kg.query.execute.in_children`), the store's pack index and ontology read once before they share
        them, or here (:meth:`_forks`)."""
        if not self._forks(chunks):
            return map(func, chunks)
        self.warm()
        return execute.in_children(func, chunks, WORKERS, origin)

    def _whole_studies(self) -> list[list[ox.NamedNode]] | None:
        """Every study's graphs, a batch of whole groups of studies at a time: studies that share a graph (a file that
        states two, a report that points at another) go into one batch with all their graphs, so a row about a
        study is found from all of them, never from a part (a sum over part of a population's figures, a ``NOT
        EXISTS`` another file answers). ``None`` where a graph names no study (files loaded without validation: a
        figure of no study, an erratum naming a study's figure but not the study), whose rows no batch can say."""
        studies = [s.value for s in self.studies()]
        graphs_of: dict[str, set[str]] = {s: set() for s in studies}
        known = self._pack.studies if self._pack is not None else None  # as kg load found them, else the store's
        found = (
            self._graphs_with(studies)
            if known is None or any(known.graphs_of(s) is None for s in studies)
            else ((s, g) for s in studies for g in known.graphs_of(s) or ())
        )
        for r, g in found:
            graphs_of[r].add(g)
        onto = src.graph_iri(src.ONTOLOGY_SLUG, self.base)
        stated = set().union(*graphs_of.values())
        if any(g not in stated for g in self.graphs() if g != onto):
            return None
        # each group of studies sharing a graph in the order of its first study, a batch of whole groups at a time
        groups = shared_groups([sorted(graphs_of[s]) for s in studies])
        batches = packed(([studies[i] for i in group] for group in groups), BATCH_STUDIES) or [[]]
        return [[ox.NamedNode(g) for g in sorted(set().union(*(graphs_of[s] for s in b)) | {onto})] for b in batches]

    def _by_property(self, resources: list[ox.NamedNode], prop: str) -> list[ox.NamedNode]:
        """The resources in the order of their value of ``prop`` as text, then their IRI (``#+ order:``): those without
        one first, as SPARQL orders an unbound key."""
        rows = execute.solutions(self.store, f"SELECT ?s ?k WHERE {{ ?s <{prop}> ?k }}", {}, "the order of the rows")
        keys: dict[str, str] = {}
        for r in rows:
            s, k = r["s"], r["k"]
            if isinstance(s, ox.NamedNode) and k is not None:
                keys[s.value] = min(keys.get(s.value, k.value), k.value)
        return sorted(resources, key=lambda s: (s.value in keys, keys.get(s.value, ""), s.value))

    def rows(self, query: Query | str, **params: str) -> list[dict[str, Value]]:
        """The rows of a ready-made query (parameters as keyword arguments)."""
        return self.run(query, params).rows


def _copied(text: str) -> tuple[frozenset[str] | None, bool, frozenset[str] | None]:
    """What a batch of a query copies (:meth:`Dataset.of_graphs`): the predicates it names, whether it reads named
    graphs, and the classes its type patterns name (None: all of them)."""
    predicates = batches.predicates_of(text)
    return predicates, reads_named_graphs(text), batches.types_of(text) if predicates is not None else None


def _lines(iris: Iterable[str]) -> bytes:
    """IRIs a line each (an IRI holds no newline)."""
    return "\n".join(iris).encode("utf-8")


@contextlib.contextmanager
def _closing(
    answer: ox.QuerySolutions | Iterator[ox.QuerySolutions],
) -> Iterator[ox.QuerySolutions | Iterator[ox.QuerySolutions]]:
    """A batched answer, its batches stopped (their processes, their files) when the caller is done with it, early or
    not, rather than when a reference cycle that holds the caller's frame is collected."""
    try:
        yield answer
    finally:
        close = getattr(answer, "close", None)
        if close is not None and not isinstance(answer, ox.QuerySolutions):
            close()


def _joined(
    answer: ox.QuerySolutions | Iterator[ox.QuerySolutions], limit: int | None, offset: int | None
) -> ox.QuerySolutions:
    """One answer from :meth:`Dataset._in_batches`: its batches' rows one after another (or the answer it gave)."""
    if isinstance(answer, ox.QuerySolutions):
        return answer
    joined = batches.concatenated(answer, limit, offset)
    assert joined is not None  # a batch is asked only for a study: at least one
    return joined


def _exists(name: str, dir_fd: int) -> bool:
    """Whether a file is in the folder ``dir_fd`` holds open."""
    try:
        os.stat(name, dir_fd=dir_fd)
    except OSError:
        return False
    return True


def _identity(folder: Path) -> tuple[int, int] | None:
    """A folder's device and inode (None if it is gone): another after ``kg load`` swapped a new store in."""
    try:
        st = folder.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def stored_base(store: ox.Store) -> str:
    """The base IRI a store made by ``kg load`` publishes under: read from its ontology graph's name.

    ``kg load --base`` names every graph under its base, so a store says its own
    base and no verb that opens it needs telling again.
    """
    tail = src.graph_iri(src.ONTOLOGY_SLUG, "")
    if store.contains_named_graph(ox.NamedNode(data_iri(BASE, tail))):
        return BASE
    for graph in store.named_graphs():
        if isinstance(graph, ox.NamedNode) and graph.value.endswith(tail):
            return graph.value[: -len(tail)]
    return BASE


def load_source(store: ox.Store, source: src.Source, base: str = BASE) -> None:
    """Parse one source into its named graph of ``store``; nothing of it is added if it does not parse.

    A document without blank nodes is parsed by Oxigraph itself (fastest); one that
    may hold some goes through :func:`kg.sources.quads`, which labels them the same
    on every run, so outputs are reproducible byte for byte.
    """
    graph = ox.NamedNode(source.graph(base))
    data = source.read()
    if base == BASE and not src.may_hold_blank_nodes(data):
        try:  # parsed by Oxigraph itself, in one transaction: all of the file or none of it
            store.load(data, format=ox.RdfFormat.TURTLE, base_iri=BASE, to_graph=graph)
        except SyntaxError as exc:
            raise src.parse_error(source.name, exc) from None
        except MemoryError as exc:  # a literal or IRI past the parser's 16 MiB
            if not src.is_token_limit(exc):
                raise
            raise src.parse_error(source.name, exc) from None
    else:
        store.extend(list(src.quads(source, base)))
