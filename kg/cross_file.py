"""Files compared with one another: what a file says of a resource that a study another file names reads.

A study's pages, copies and batches read the files that name the study (as a
subject or an object) and the ontology; a journal article's copy (``citation``)
reads its own files, those citing it, and its studies'; the whole store reads
every file. So what one file says of a resource another file speaks of must be
read with every study either names, and every article that links to it
(:func:`elsewhere_findings`): the files of a batch of ``kg validate`` / ``kg
load`` with one another, and a load's files with the graphs of the store it
adds to.

A run reads its publications a batch at a time (memory stays flat), so at its
end each file's studies are the whole run's and the resources no batch could
check whole are checked again: each batch leaves a :class:`Ledger` of the
resources each file speaks of (a hash of the IRI and how), and those spoken of
in two batches, by a file whose studies grew, or by a graph of the store, are
compared from the statements that mention them, read again from their files
(:meth:`Ledger.findings`): a run of 501 files answers as its files do together.
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence

import pyoxigraph as ox

from kg import sources as src
from kg import sparql
from kg.curation import CHECKED_IN, Finding, Node, root_classes, show_term, shown_term
from kg.prefixes import BASE, RDF_TYPE, TKG

#: predicates that point at another file's publication without making this file part of its study (a news report
#: citing a paper): the citing file is read with the cited publication's own graphs
CITO = "http://purl.org/spar/cito/"
#: the publications a ready-made query is asked about (``citation``'s scope), which read, besides their own files,
#: the files of the studies those name (:meth:`kg.dataset.Dataset.graphs_of`)
ARTICLE = TKG + "JournalArticle"
#: a journal each file restates as it needs (its ISSN in one file, not another): read within each file's own graph
JOURNAL = TKG + "Journal"
#: the link by which a publication names its journal (the one use of a journal that is not compared)
PUBLISHED_IN = TKG + "publishedIn"
#: a graph of the run (its name) or of a store a load adds to (``(store, name)``)
Where = str | tuple[ox.Store, str]


def _held_query(values: str) -> str:
    """The store's graphs that speak of these resources (``values``: IRIs), and how: ``?as`` 1 describes, 0 points
    through publishedIn, 2 points otherwise (``cito:`` links aside)."""
    return (
        f"SELECT DISTINCT ?x ?g ?as WHERE {{ VALUES ?x {{ {values} }} GRAPH ?g {{ {{ ?x ?p ?o BIND(1 AS ?as) }} UNION "
        f"{{ ?s ?p ?x FILTER(!STRSTARTS(STR(?p), {ox.Literal(CITO)})) BIND(IF(?p = <{PUBLISHED_IN}>, 0, 2) AS ?as) }} }} }}"
    )


class _Speakers:
    """Which graphs speak of which resources (of the run's files, and of a store a load adds to), what each says,
    and which studies each names: what :func:`elsewhere_findings` compares."""

    def __init__(
        self,
        store: ox.Store,
        graphs: dict[str, str],
        onto: ox.NamedNode,
        context: ox.Store | None,
        replaced: frozenset[str],
        named: Mapping[str, frozenset[ox.NamedNode]] | None = None,
        studies: frozenset[str] = frozenset(),
        mentioned: Mapping[str, frozenset[ox.NamedNode]] | None = None,
        publications: frozenset[str] = frozenset(),
        pub_studies: Mapping[ox.NamedNode, frozenset[ox.NamedNode]] | None = None,
    ) -> None:
        self.store, self.graphs, self.onto, self.context = store, graphs, onto, context
        self.classes = root_classes(store, [TKG + "Study"])
        self.pub_classes = root_classes(store, [ARTICLE])
        if context is not None:
            self.classes |= root_classes(context, [TKG + "Study"])
            self.pub_classes |= root_classes(context, [ARTICLE])
        #: resource: {graph: whether it describes it (else points at it)}
        self.speak: dict[ox.NamedNode, dict[Where, bool]] = {}
        #: the resources pointed at otherwise than through publishedIn
        self.other_uses: set[ox.NamedNode] = set()
        self._iris: dict[str, set[ox.NamedNode]] = {}
        self._cache: dict[object, bool] = {}
        #: the studies each graph names, where given (a ledger's comparison reads a part of each file)
        self._named: dict[str, frozenset[ox.NamedNode]] = dict(named or {})
        #: (resource, graph) where the graph types it a journal, and where it types it with another trialkg: class
        self.journals: set[tuple[ox.NamedNode, str]] = set()
        self.typed: set[tuple[ox.NamedNode, str]] = set()
        #: the IRIs typed as studies in the run's files (other batches' too, where given)
        self.studies = set(studies)
        #: the publications each graph names, the IRIs typed as publications, and the studies each publication's
        #: files name (where given: a ledger's comparison), as for studies
        self._mentioned: dict[str, frozenset[ox.NamedNode]] = dict(mentioned or {})
        self.publications = set(publications)
        self._pub_studies: dict[ox.NamedNode, frozenset[ox.NamedNode]] = dict(pub_studies or {})
        self._cited: dict[str, set[ox.NamedNode]] = {}  # what each graph cites (a copy of the cited holds it)
        for g in graphs:
            iris = self._iris.setdefault(g, set())
            cited = self._cited.setdefault(g, set())
            for q in store.quads_for_pattern(None, None, None, ox.NamedNode(g)):
                o = q.object
                if isinstance(q.subject, ox.NamedNode):
                    self.speak.setdefault(q.subject, {})[g] = True
                    iris.add(q.subject)
                    if q.predicate.value == RDF_TYPE and isinstance(o, ox.NamedNode):
                        if o.value.startswith(TKG):
                            (self.journals if o.value == JOURNAL else self.typed).add((q.subject, g))
                        if o in self.classes:
                            self.studies.add(q.subject.value)
                        if o in self.pub_classes:
                            self.publications.add(q.subject.value)
                if isinstance(o, ox.NamedNode) and q.predicate.value.startswith(CITO):
                    cited.add(o)
                elif isinstance(o, ox.NamedNode):
                    self.speak.setdefault(o, {}).setdefault(g, False)
                    iris.add(o)
                    if q.predicate.value != PUBLISHED_IN:
                        self.other_uses.add(o)
        if context is not None:
            self._held(context, {onto.value, *graphs, *replaced})

    def _held(self, context: ox.Store, skip: set[str]) -> None:
        """Add the store's graphs (but ``skip``) that speak of the run's resources: a query a thousand resources (a
        lookup each from Python made a load of 2,000 files into a store of 2,000 take 23 % longer)."""
        wanted = [x for x in self.speak if not self.packaged(x)]
        for start in range(0, len(wanted), 1000):
            values = " ".join(str(t) for t in wanted[start : start + 1000])
            for x, h, how in sparql.select(context, _held_query(values), union=False):
                if isinstance(x, ox.NamedNode) and isinstance(h, ox.NamedNode) and h.value not in skip:
                    where = self.speak[x]
                    key: Where = (context, h.value)
                    where[key] = where.get(key, False) or how is not None and how.value == "1"
                    if how is not None and how.value == "2":
                        self.other_uses.add(x)

    def packaged(self, x: ox.NamedNode) -> bool:
        """Whether the ontology describes it (a packaged term: the ontology check's)."""
        key = ("onto", x)
        if key not in self._cache:
            self._cache[key] = any(True for _ in self.store.quads_for_pattern(x, None, None, self.onto))
        return self._cache[key]

    def quads(self, where: Where, x: ox.NamedNode | None = None) -> list[ox.Quad]:
        """What a graph says (of ``x``)."""
        st, g = (self.store, where) if isinstance(where, str) else where
        return list(st.quads_for_pattern(x, None, None, ox.NamedNode(g)))

    def said(self, x: ox.NamedNode, where: Where) -> frozenset[tuple[ox.NamedNode, Node]]:
        """What a graph says of ``x``, but where it was checked."""
        return frozenset((q.predicate, q.object) for q in self.quads(where, x) if q.predicate.value != CHECKED_IN)

    def study(self, t: ox.NamedNode) -> bool:
        """Whether an IRI is typed as a study (in the run or the store)."""
        return self._typed(t, self.studies, self.classes)

    def publication(self, t: ox.NamedNode) -> bool:
        """Whether an IRI is typed as a publication (in the run or the store)."""
        return self._typed(t, self.publications, self.pub_classes)

    def _typed(self, t: ox.NamedNode, run: set[str], classes: frozenset[ox.NamedNode]) -> bool:
        key = (id(classes), t)
        if key not in self._cache:
            self._cache[key] = t.value in run or any(
                q.object in classes
                for st in (self.store, self.context)
                if st is not None
                for q in st.quads_for_pattern(t, ox.NamedNode(RDF_TYPE), None)
            )
        return self._cache[key]

    def named(self, where: Where) -> frozenset[ox.NamedNode]:
        """The studies a graph names (as a subject or an object): those whose pages and batches read it."""
        return self._of(where, self._named, self.study)

    def mentions(self, where: Where) -> frozenset[ox.NamedNode]:
        """The journal articles a graph names (as a subject or an object, citing them too: a copy of an article
        holds every graph it is in, :meth:`kg.dataset.Dataset.graphs_of`)."""
        if isinstance(where, str) and where not in self._mentioned:
            iris = self._iris.get(where, set()) | self._cited.get(where, set())
            self._mentioned[where] = frozenset(t for t in iris if self.publication(t))
        return self._of(where, self._mentioned, self.publication)

    def cited(self, where: str) -> frozenset[ox.NamedNode]:
        """What a file of the run cites (``cito:``)."""
        return frozenset(self._cited.get(where, ()))

    def links(self, publication: ox.NamedNode, x: ox.NamedNode) -> bool:
        """Whether a file says the publication has ``x`` (an author entry, say), a citation aside: what the article's
        own rows read (``citation``), where a file that only names both (a report restating a cited paper's label)
        is not."""
        return any(
            not q.predicate.value.startswith(CITO)
            for st in (self.store, self.context)
            if st is not None
            for q in st.quads_for_pattern(publication, None, x)
        )

    def _of(
        self, where: Where, known: dict[str, frozenset[ox.NamedNode]], kind: Callable[[ox.NamedNode], bool]
    ) -> frozenset[ox.NamedNode]:
        key = where if isinstance(where, str) else where[1]
        if key not in known:
            iris = self._iris.get(where) if isinstance(where, str) else None
            if iris is None:
                iris = {t for q in self.quads(where) for t in (q.subject, q.object) if isinstance(t, ox.NamedNode)}
            known[key] = frozenset(t for t in iris if kind(t))
        return known[key]

    def pub_studies(self, publication: ox.NamedNode) -> frozenset[ox.NamedNode]:
        """The studies the files that name a publication name: a copy of the publication holds their files
        (:meth:`kg.dataset.Dataset.graphs_of`)."""
        found = self._pub_studies.get(publication, frozenset())
        return found.union(*(self.named(w) for w in self.speak.get(publication, {})))

    def reads(self, reader: ox.NamedNode, where: Where, publication: bool) -> bool:
        """Whether a study's (or a publication's) pages and batches read a graph."""
        if not publication:
            return reader in self.named(where)
        return reader in self.mentions(where) or bool(self.named(where) & self.pub_studies(reader))

    def shown(self, where: Where) -> str:
        return self.graphs[where] if isinstance(where, str) else f"the store's graph {where[1]}"


def elsewhere_findings(
    store: ox.Store,
    graphs: dict[str, str],
    onto: ox.NamedNode,
    context: ox.Store | None = None,
    replaced: frozenset[str] = frozenset(),
    ledger: Ledger | None = None,
    first: int = 0,
) -> Iterator[Finding]:
    """What a file says of a resource that a study another file names reads, where that study's pages and batches
    would not see it: compared with the other files of the run, and, for a load into a store (``context``), with
    the graphs the store holds and the load does not replace.

    A study's pages, copies and batches read the files that name the study
    (as a subject or an object) and the ontology; the whole store reads every
    file. So for each resource that two files speak of (not a packaged term),
    every study a file that speaks of it names must see, in the files that
    name that study, all that any file says of it (:func:`_described_findings`);
    and a study's own resource that a file points at must be read with the
    study (:func:`_pointer_findings`). A label given to another study's cited
    publication, a figure of another study typed as this file's report, an
    adverse event of another study linked from this one, a term declared in
    one file and used by another, a second report of a study's finding from a
    file that does not name it: each made a study's answers differ from the
    whole store's. Not counted: a citation (a ``cito:`` link is read with the
    cited publication's own graphs), and a journal that files point at only
    through ``trialkg:publishedIn`` (``citation`` and the exports read it from
    each publication's own file).
    """
    speakers = _Speakers(store, graphs, onto, context, replaced)
    if ledger is not None:
        ledger.add(speakers, first)
    yield from _described_findings(speakers)
    yield from _pointer_findings(speakers)


def _described_findings(sp: _Speakers) -> Iterator[Finding]:
    """For each resource two graphs speak of: the files whose statements a study either names would not read in the
    files that name it (reported there), and the files that name that study (reported there too)."""
    journal = (ox.NamedNode(RDF_TYPE), ox.NamedNode(JOURNAL))
    for x, where in sp.speak.items():
        if len(where) < 2 or sp.packaged(x):
            continue
        if x not in sp.other_uses and any(journal in sp.said(x, w) for w in where if where[w]):
            continue  # a journal, pointed at only by publications that state it their own way
        describers = {w: sp.said(x, w) for w, describes in where.items() if describes}
        everything = frozenset().union(*describers.values())
        reported: set[str] = set()
        studies = sorted(frozenset().union(*(sp.named(w) for w in where)), key=lambda t: t.value)
        mentioned = frozenset().union(*(sp.mentions(w) for w in where))
        publications = sorted((p for p in mentioned if sp.links(p, x)), key=lambda t: t.value)
        for study_iri, pub in [*((s, False) for s in studies), *((p, True) for p in publications)]:
            seen_by = frozenset().union(*(d for w, d in describers.items() if sp.reads(study_iri, w, pub)))
            if seen_by == everything:
                continue
            users = [u for u in where if isinstance(u, str) and study_iri in (sp.mentions(u) if pub else sp.named(u))]
            for w, d in describers.items():  # the statements this study's pages and batches would not read
                if sp.reads(study_iri, w, pub) or not d - seen_by:
                    continue
                p, o = sorted(d - seen_by, key=str)[0]
                missed = f"{show_term(p)} {shown_term(o)}"
                if isinstance(w, str) and w not in reported:
                    reported.add(w)
                    yield Finding(
                        sp.graphs[w],
                        show_term(x),
                        f"{show_term(x)} is spoken of in {sp.shown(users[0]) if users else 'the store'}, which names "
                        f"{show_term(study_iri)}; this file says more of it ({missed}) but does not name "
                        f"{show_term(study_iri)}, whose pages and batches would not read it: say it in that file, or "
                        "name it here",
                    )
                for u in users:
                    if u not in reported:
                        reported.add(u)
                        yield Finding(
                            sp.graphs[u],
                            show_term(x),
                            f"{show_term(x)} is described in {sp.shown(w)} ({missed}), which does not name "
                            f"{show_term(study_iri)} this file names, so its pages and batches would not read that: "
                            "describe it here too, as there, or leave the link out (a citation, cito:, is read with "
                            "the cited publication's own files)",
                        )


def _pointer_findings(sp: _Speakers) -> Iterator[Finding]:
    """A study's own resource (typed in its file with a class of the ontology's, a journal aside) that a file points
    at without naming the study: the queries read some links backwards from the study's resources (a second report
    of its finding, an analysis set within its arm), so its pages and batches must hold the file that points."""
    rdf_type, journal = ox.NamedNode(RDF_TYPE), ox.NamedNode(JOURNAL)
    for g, name in sp.graphs.items():
        pointed: set[ox.NamedNode] = set()
        for q in sp.store.quads_for_pattern(None, None, None, ox.NamedNode(g)):
            o = q.object
            if not isinstance(o, ox.NamedNode) or o in pointed or q.predicate.value.startswith(CITO):
                continue
            if sp.speak.get(o, {}).get(g) or sp.packaged(o):
                continue
            pointed.add(o)
            for w, describes in sp.speak.get(o, {}).items():
                if not describes or w == g:
                    continue
                kinds = [
                    k
                    for k in (t.object for t in sp.quads(w, o) if t.predicate == rdf_type)
                    if isinstance(k, ox.NamedNode) and k.value.startswith(TKG) and k != journal
                ]
                lacking = sorted(sp.named(w) - sp.named(g), key=lambda t: t.value)
                if kinds and lacking:
                    yield Finding(
                        name,
                        show_term(o),
                        f"{show_term(o)} is a {show_term(kinds[0])} of {sp.shown(w)}, which names {show_term(lacking[0])}; this "
                        f"file points at it ({show_term(q.predicate)}) but does not name {show_term(lacking[0])}, whose pages "
                        "and batches would not read the link: name it here, or leave the link out (a citation, cito:, "
                        "is read with the cited publication's own files)",
                    )
                    break
    # a graph of the store a load adds to that points at a resource a file of the load types as its study's own
    for o, where in sp.speak.items():
        held = [w for w, describes in where.items() if not isinstance(w, str) and not describes]
        if not held:
            continue
        for w, describes in where.items():
            if not describes or not isinstance(w, str):
                continue
            kinds = [
                k
                for k in (t.object for t in sp.quads(w, o) if t.predicate == rdf_type)
                if isinstance(k, ox.NamedNode) and k.value.startswith(TKG) and k != journal
            ]
            unnamed = [(h, sorted(sp.named(w) - sp.named(h), key=lambda t: t.value)) for h in held]
            unnamed = [(h, studies) for h, studies in unnamed if studies]
            if kinds and unnamed:
                h, studies = unnamed[0]
                yield Finding(
                    sp.graphs[w],
                    show_term(o),
                    f"{show_term(o)} is a {show_term(kinds[0])} of this file, which names {show_term(studies[0])}; "
                    f"{sp.shown(h)} points at it but does not name {show_term(studies[0])}, whose pages and batches "
                    "would not read the link: load that file again naming it, or without the link",
                )


#: how a file speaks of a resource, as a ledger keeps it: pointed at otherwise than through publishedIn (by any
#: file of the batch, or a graph of the store a load adds to), typed a journal there, typed there with another
#: trialkg: class, spoken of by a graph of that store too
_OTHER_USE, _JOURNAL, _TYPED, _HELD = 1, 2, 4, 8


class Ledger:
    """The resources each file of a run speaks of, batch by batch, so that the run's answer is the one a single
    batch of all its files would give.

    A batch's check sees the studies typed in that batch (and the store's): a
    file that names a study typed in another batch named none there, and files
    in two batches were not compared. So each batch leaves an entry for each
    resource a file speaks of but the ontology's terms (a 64-bit hash of its IRI,
    the file's place in the run, how it speaks: :data:`_OTHER_USE` ...; about 35
    a synthetic publication, 13 bytes each), the studies and journal articles each
    file named there, what it cites, and the studies and articles the batch
    types. At the end (:meth:`findings`) the resources
    whose check a batch could not make whole are checked again: those spoken of
    in two batches, by a file that names a study typed in another batch, or by a
    graph of the store too.
    """

    def __init__(self, batch: int) -> None:
        self.batch = batch
        self.hashes = array("q")
        self.files = array("l")
        self.flags = array("b")
        self.named: dict[int, frozenset[str]] = {}  # each file's studies, as its batch saw them
        self.studies: dict[int, str] = {}  # the run's studies, by the hash of their IRI
        self.mentioned: dict[int, frozenset[str]] = {}  # and publications
        self.publications: dict[int, str] = {}
        self.cited = (array("q"), array("l"))  # what each file cites (a hash, the file): an article it names too
        self.packaged: frozenset[str] | None = None
        self.ontology: list[ox.Quad] = []

    def add(self, sp: _Speakers, first: int) -> None:
        """A batch's entries (its files from ``first`` on in the run, in the order of ``sp.graphs``)."""
        if self.packaged is None:
            self.ontology = list(sp.store.quads_for_pattern(None, None, None, sp.onto))
            self.packaged = frozenset(q.subject.value for q in self.ontology if isinstance(q.subject, ox.NamedNode))
        place = {g: first + k for k, g in enumerate(sp.graphs)}
        for x, where in sp.speak.items():
            if x.value in self.packaged:
                continue
            h = hash(x.value)
            used = (_OTHER_USE if x in sp.other_uses else 0) | (_HELD if len(where) > sum(map(_run, where)) else 0)
            for w in where:
                if isinstance(w, str):
                    self.hashes.append(h)
                    self.files.append(place[w])
                    how = used | (_JOURNAL if (x, w) in sp.journals else 0) | (_TYPED if (x, w) in sp.typed else 0)
                    self.flags.append(how)
        for g, k in place.items():
            for o in sp.cited(g):
                self.cited[0].append(hash(o.value))
                self.cited[1].append(k)
            self.named[k] = frozenset(s.value for s in sp.named(g))
            self.mentioned[k] = frozenset(s.value for s in sp.mentions(g))
        self.studies.update((hash(s), s) for s in sp.studies)
        self.publications.update((hash(s), s) for s in sp.publications)

    def _whole(
        self, batch: dict[int, frozenset[str]], typed: dict[int, str], cited: bool = False
    ) -> dict[int, frozenset[str]]:
        """Each file's studies (or, ``cited``, journal articles: citing one names it), as the whole run types them:
        those its batch saw, and any other it speaks of."""
        whole = dict(batch)
        pairs = zip(self.hashes, self.files, strict=True)
        for h, k in itertools.chain(pairs, zip(*self.cited, strict=True)) if cited else pairs:
            if h in typed and typed[h] not in whole.get(k, frozenset()):
                whole[k] = whole.get(k, frozenset()) | {typed[h]}
        return whole

    def again(
        self, named: Mapping[int, frozenset[str]], mentioned: Mapping[int, frozenset[str]]
    ) -> tuple[set[int], list[int]]:
        """The hashes of the resources to check again (see the class), but a journal every file points at only
        through publishedIn and types nothing else (as :func:`_described_findings` leaves it); and their files."""
        changed = {k for k, v in named.items() if v != self.named.get(k, frozenset())}
        changed |= {k for k, v in mentioned.items() if v != self.mentioned.get(k, frozenset())}
        candidates = {
            h for h, k, how in zip(self.hashes, self.files, self.flags, strict=True) if how & _HELD or k in changed
        }
        ordered = sorted(self.hashes)  # and those two files speak of
        candidates.update(h for a, h in zip(ordered, ordered[1:], strict=False) if a == h)
        del ordered
        entries: dict[int, list[int]] = {}
        for i, h in enumerate(self.hashes):
            if h in candidates:
                entries.setdefault(h, []).append(i)
        again: set[int] = set()
        files: set[int] = set()
        for h, ks in entries.items():
            how = 0
            for i in ks:
                how |= self.flags[i]
            batches = {self.files[i] // self.batch for i in ks}
            touched = any(self.files[i] in changed for i in ks)
            if how & _JOURNAL and not how & (_OTHER_USE | _TYPED):
                continue
            if len(batches) > 1 or how & _HELD or (touched and len(ks) > 1):
                again.add(h)
                files.update(self.files[i] for i in ks)
        return again, sorted(files)

    def findings(
        self,
        publications: Sequence[src.Source],
        base: str = BASE,
        context: ox.Store | None = None,
        replaced: frozenset[str] = frozenset(),
    ) -> tuple[frozenset[str], list[Finding]]:
        """The resources checked again (as findings show them: a batch's findings about them are superseded) and
        their findings: the cross-file check made on what their files say that mentions them (each file parsed
        again, only those statements kept) with the studies each file names in the whole run; memory follows
        those statements, not the run."""
        named = self._whole(self.named, self.studies)
        mentioned = self._whole(self.mentioned, self.publications, cited=True)
        again, files = self.again(named, mentioned)
        if not again:
            return frozenset(), []
        store = ox.Store()
        onto = ox.NamedNode(src.graph_iri(src.ONTOLOGY_SLUG, base))
        store.extend(self.ontology)
        graphs: dict[str, str] = {}
        given: dict[str, frozenset[ox.NamedNode]] = {}
        given_pubs: dict[str, frozenset[ox.NamedNode]] = {}
        for k in files:
            source = publications[k]
            g = source.graph(base)
            graphs[g] = source.name
            given[g] = frozenset(ox.NamedNode(s) for s in named.get(k, ()))
            given_pubs[g] = frozenset(ox.NamedNode(s) for s in mentioned.get(k, ()))
            store.extend(q for q in src.quads(source, base) if _mentions(q, again))
        wanted = frozenset().union(*given_pubs.values())
        pub_studies: dict[ox.NamedNode, set[ox.NamedNode]] = {}
        for k, pubs in mentioned.items():  # every file of the run that names one of those publications
            for pub in pubs:
                if ox.NamedNode(pub) in wanted:
                    pub_studies.setdefault(ox.NamedNode(pub), set()).update(ox.NamedNode(s) for s in named.get(k, ()))
        sp = _Speakers(
            store,
            graphs,
            onto,
            context,
            replaced,
            given,
            frozenset(self.studies.values()),
            given_pubs,
            frozenset(self.publications.values()),
            {pub: frozenset(found) for pub, found in pub_studies.items()},
        )
        shown = frozenset(show_term(x) for x in sp.speak if hash(x.value) in again)
        return shown, [f for f in (*_described_findings(sp), *_pointer_findings(sp)) if f.focus in shown]


def _run(where: Where) -> bool:
    """Whether a speaker is a file of the run (else a graph of the store a load adds to)."""
    return isinstance(where, str)


def _mentions(q: ox.Quad, again: set[int]) -> bool:
    """Whether a statement is of a resource in ``again`` (its subject), or points at one (not a citation)."""
    s, o = q.subject, q.object
    if isinstance(s, ox.NamedNode) and hash(s.value) in again:
        return True
    return isinstance(o, ox.NamedNode) and not q.predicate.value.startswith(CITO) and hash(o.value) in again
