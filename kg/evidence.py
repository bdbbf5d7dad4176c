"""The evidence views' index: which views a dataset has and what each one counts.

An evidence view gathers one endpoint's figures across publications (or every
adverse-event figure). Its first screen needs aggregates over the whole view:
studies and figures by design, and the values each filter offers (statistic
types, drugs, conditions, years) with how many each keeps. Over a large store
those are passes over millions of figures (88 s for one view at 100,000
publications), so ``kg load --store`` computes them for every view at once, in
a few grouped passes, and stores them beside the data (:func:`save`), as it
stores the VoID description; a server or a static site reads them
(:func:`read`) and asks the engine only for the page's own studies.

The index holds IRIs and numbers only: labels are looked up when a page is
written, so the words stay the graph's. The patterns here are the views' own
(the pages narrow them with filters), so a stored count and a count asked at
request time cannot disagree.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeAlias

import pyoxigraph as ox

from kg import packed
from kg.outputs import AtomicFiles
from kg.prefixes import DCT, TKG
from kg.query import catalog
from kg.rdf import value
from kg.sparql import select

#: the index's file in a store's folder (beside the engine's own files, which it leaves alone)
FILE = "trialkg-evidence.json"
#: bumped when the file's layout changes; a file of another version is not read (5: each study's figures counted,
#: so counts under any filters are sums; 4 held sums under one filter only)
VERSION = 5
#: the key of the adverse-event view (the endpoint views are keyed by their endpoint's IRI)
ADVERSE = ""
#: the filters whose values the index counts (the design's counts are the view's designs)
OFFERED = ("type", "drug", "condition", "year")

PREFIXES = f"PREFIX trialkg: <{TKG}>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\nPREFIX dcterms: <{DCT}>\n"
#: the patterns that put one study's arm's drug in ?drug (as trial-terms does)
DRUG = (
    "?study trialkg:hasArm/trialkg:hasTreatmentPhase ?_phase . "
    "?_phase trialkg:hasDoseSchedule|trialkg:hasRegimenPart/trialkg:hasDoseSchedule ?_schedule . "
    "?_schedule trialkg:drug ?drug ."
)
CONDITION = "?study trialkg:studiesCondition ?condition ."
#: a study's year: the year of any publication it is described in (its issue date, else its online date)
YEAR = (
    "?study trialkg:describedIn ?_pub . OPTIONAL { ?_pub dcterms:issued ?_issued } "
    "OPTIONAL { ?_pub trialkg:epubDate ?_epub } BIND(YEAR(COALESCE(?_issued, ?_epub)) AS ?year) FILTER(BOUND(?year))"
)
#: what puts each filter's value in the variable of its name, from ?study (the statistic type: from ?statistic)
VALUE_OF = {
    "type": "?statistic trialkg:statisticType ?type .",
    "drug": DRUG,
    "condition": CONDITION,
    "year": YEAR,
}


def figures(topic: str, adverse: bool, statistic_type: str | None = None) -> str:
    """The group pattern of a view's figures: ?statistic on ``topic`` (an RDF term written by pyoxigraph, or a
    variable), reported by ?study, of design ?design; ``statistic_type`` narrows it to figures of one type."""
    what = "trialkg:adverseEvent" if adverse else "trialkg:measures"
    parts = [f"?statistic {what} {topic} ."]
    if statistic_type is not None:
        parts.append(f"?statistic trialkg:statisticType {statistic_type} .")
    parts.append("?study trialkg:hasStatistic|trialkg:reportsAdverseEvent ?statistic .")
    parts.append("?study a ?design . ?design rdfs:subClassOf trialkg:Study .")
    return " ".join(parts)


#: study numbers, ascending: a packed array (4 bytes a number; as Python ints in lists, the index of 100,000
#: publications took some 60 MB held and 250 MB while read, in every process that serves or publishes)
Numbers: TypeAlias = "array[int]"


def ascending(values: Iterable[int]) -> Numbers:
    """Study numbers, ascending, packed."""
    return array("I", sorted(values))


@dataclass(frozen=True)
class ViewCounts:
    """One view's aggregates and its studies.

    ``designs``: (design, studies, figures). ``offered``: for each filter, (value, studies it keeps); for the
    statistic type, (type, figures of it). ``members``: each design's studies (numbers into :attr:`Index.studies`,
    ascending: the order of the view's pages) and ``figures`` how many of the view's figures each of them reports
    (in the same order); ``typed`` and ``typed_figures``: the same, of the studies with a figure of each statistic
    type, and their figures of it. ``exact``: whether those numbers sum to the view's counts (no figure of the view
    is reported by two of its studies); only then are the counts under filters sums over the studies the filters
    keep, otherwise the engine counts them. Values are IRIs, a year its digits.
    """

    designs: list[tuple[str, int, int]] = field(default_factory=list)
    offered: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    members: dict[str, Numbers] = field(default_factory=dict)
    figures: dict[str, Numbers] = field(default_factory=dict)
    typed: dict[str, dict[str, Numbers]] = field(default_factory=dict)
    typed_figures: dict[str, dict[str, Numbers]] = field(default_factory=dict)
    exact: bool = False


@dataclass(frozen=True)
class Index:
    """Every view of a dataset with its aggregates and studies."""

    #: the endpoints with a view: measured by a statistic that is not a safety statistic and a study reports
    endpoints: list[str]
    #: whether there is an adverse-event view
    adverse_events: bool
    #: the list of views' counts: endpoint -> (statistics, studies), as the ``evidence-endpoints`` query gives them
    listed: dict[str, tuple[int, int]]
    #: each view's aggregates, by endpoint IRI (:data:`ADVERSE` for the adverse-event view)
    views: dict[str, ViewCounts]
    #: every study in a view, by IRI (the numbers of :attr:`ViewCounts.members` and :attr:`having`)
    studies: list[str] = field(default_factory=list)
    #: the studies each value of a study-level filter keeps: filter -> value -> study numbers, ascending
    having: dict[str, dict[str, Numbers]] = field(default_factory=dict)


def _rows(store: ox.Store, text: str) -> Iterator[dict[str, ox.NamedNode | ox.Literal | ox.BlankNode]]:
    """The solutions as they come (a pass per study yields about a million at 100,000 publications: held as a
    list, they were most of the index's memory)."""
    solutions = select(store, PREFIXES + text)
    names = [v.value for v in solutions.variables]
    return ({n: r[n] for n in names if r[n] is not None} for r in solutions)


def _iri(term: Any) -> str | None:
    """An IRI's text, interned: a study's IRI comes in every pass, and is held once."""
    return sys.intern(term.value) if isinstance(term, ox.NamedNode) else None


def _value(name: str, term: Any) -> str | None:
    """A filter's value as the index keeps it: an IRI, or a year's digits (anything else: None)."""
    if name != "year":
        return _iri(term)
    text = value(term) if isinstance(term, ox.Literal) else ""
    return str(int(text)) if re.fullmatch(r"-?[0-9]{1,9}", text) else None


def compute(store: ox.Store) -> Index:
    """The index of a store's data (the default graph is the union of its named graphs): a few passes, each over
    every view at once.

    Counts by design and the values each filter offers are the engine's (COUNT DISTINCT); each study's figures in
    a view (and of each type) are counted too, so that counts under filters can be sums over the studies they keep,
    in a view where those sums give its own counts (:attr:`ViewCounts.exact`).
    """
    endpoints = sorted(
        iri
        for r in _rows(
            store,
            "SELECT DISTINCT ?endpoint WHERE { ?statistic trialkg:measures ?endpoint "
            "FILTER NOT EXISTS { ?statistic a trialkg:SafetyStatistic } ?study trialkg:hasStatistic ?statistic }",
        )
        if (iri := _iri(r.get("endpoint"))) is not None
    )
    adverse = any(_rows(store, "SELECT ?statistic WHERE { ?statistic trialkg:adverseEvent ?event } LIMIT 1"))
    listed: dict[str, tuple[int, int]] = {}
    for r in select(store, catalog.get("evidence-endpoints").text):
        iri = _iri(r["endpoint"])
        if iri is not None:
            listed[iri] = (int(value(r["statistics"])), int(value(r["studies"])))
    views: dict[str, ViewCounts] = {}
    members: dict[str, list[tuple[str, str, int]]] = {}  # study -> (view, design, its figures in the view)
    typed: dict[tuple[str, str, str], list[tuple[str, int]]] = {}  # (view, type, design) -> (study, its figures)
    for is_adverse in (False, True) if adverse else (False,):
        group = "" if is_adverse else "?topic"
        pattern = figures("?topic", is_adverse)

        def key(r: dict[str, Any], adverse: bool = is_adverse) -> str | None:
            return ADVERSE if adverse else _iri(r.get("topic"))

        for r in _rows(
            store,
            f"SELECT {group} ?design (COUNT(DISTINCT ?study) AS ?studies) (COUNT(DISTINCT ?statistic) AS ?figures) "
            f"WHERE {{ {pattern} }} GROUP BY {group} ?design",
        ):
            k, design = key(r), _iri(r.get("design"))
            if k is not None and design is not None:
                counts = views.setdefault(k, ViewCounts())
                counts.designs.append((design, int(value(r["studies"])), int(value(r["figures"]))))
        for r in _rows(
            store,
            f"SELECT {group} ?type (COUNT(DISTINCT ?statistic) AS ?n) "
            f"WHERE {{ {pattern} {VALUE_OF['type']} }} GROUP BY {group} ?type",
        ):
            k, kind = key(r), _iri(r.get("type"))
            if k in views and kind is not None:
                views[k].offered.setdefault("type", []).append((kind, int(value(r["n"]))))
        for r in _rows(
            store,
            f"SELECT {group} ?design ?study (COUNT(DISTINCT ?statistic) AS ?n) "
            f"WHERE {{ {pattern} }} GROUP BY {group} ?design ?study",
        ):
            k, design, study = key(r), _iri(r.get("design")), _iri(r.get("study"))
            if k is not None and k in views and design is not None and study is not None:
                members.setdefault(study, []).append((k, design, int(value(r["n"]))))
        for r in _rows(
            store,
            f"SELECT {group} ?type ?design ?study (COUNT(DISTINCT ?statistic) AS ?n) "
            f"WHERE {{ {pattern} {VALUE_OF['type']} }} GROUP BY {group} ?type ?design ?study",
        ):
            k, kind, design, study = key(r), _iri(r.get("type")), _iri(r.get("design")), _iri(r.get("study"))
            if k is not None and k in views and kind is not None and design is not None and study is not None:
                typed.setdefault((k, kind, design), []).append((study, int(value(r["n"]))))
    studies = sorted(members)
    number = {iri: i for i, iri in enumerate(studies)}
    of_design: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for study, member in members.items():
        for view_key, design_iri, n in member:
            of_design.setdefault((view_key, design_iri), []).append((number[study], n))
    for (view_key, design_iri), in_design in of_design.items():
        numbers, tallies = _split(in_design)
        views[view_key].members[design_iri], views[view_key].figures[design_iri] = numbers, tallies
    for (k, kind, design), rows in typed.items():
        numbers, tallies = _split([(number[study], n) for study, n in rows])
        views[k].typed.setdefault(kind, {})[design] = numbers
        views[k].typed_figures.setdefault(kind, {})[design] = tallies
    for k, counts in views.items():
        summed = {d: [len(counts.members.get(d, [])), sum(counts.figures.get(d, []))] for d, _s, _f in counts.designs}
        if all(summed[d] == [s, f] for d, s, f in counts.designs):
            views[k] = replace(counts, exact=True)
    # the study-level filters: each study's values in one pass over every study, counted for each view it is in
    having: dict[str, dict[str, list[int]]] = {}
    for name in ("drug", "condition", "year"):
        kept: dict[tuple[str, str], set[str]] = {}
        for r in _rows(store, f"SELECT DISTINCT ?study ?{name} WHERE {{ {VALUE_OF[name]} }}"):
            study, text = _iri(r.get("study")), _value(name, r.get(name))
            if study is None or study not in members or text is None:
                continue
            having.setdefault(name, {}).setdefault(text, []).append(number[study])
            for k, _design, _n in members[study]:
                kept.setdefault((k, text), set()).add(study)
        for (k, text), kept_studies in kept.items():
            views[k].offered.setdefault(name, []).append((text, len(kept_studies)))
    for counts in views.values():
        counts.designs.sort()
        for name in OFFERED:
            counts.offered.setdefault(name, []).sort()
    packed = {name: {text: ascending(kept_numbers) for text, kept_numbers in by.items()} for name, by in having.items()}
    return Index(endpoints, adverse, listed, views, studies, packed)


def _split(pairs: list[tuple[int, int]]) -> tuple[Numbers, Numbers]:
    """(study number, figures) pairs as two packed arrays in the order of the numbers."""
    pairs.sort()
    return array("I", (s for s, _n in pairs)), array("I", (n for _s, n in pairs))


def fingerprint(description: list[ox.Triple]) -> str:
    """What ties an index to the data it was counted on: a digest of the stored description (a new load writes a
    new one), so an index left by an earlier load is never read as this one's."""
    return hashlib.sha256("\n".join(sorted(str(t) for t in description)).encode("utf-8")).hexdigest()


def save(folder: Path, index: Index, description: list[ox.Triple]) -> None:
    """Write the index into a store's folder (``kg load`` does it in the store it is making, before the swap,
    so a reader sees the index with the data it counts or neither; a reader of a store whose index is missing or
    of an earlier version writes the one it counted). An unwritable folder is an :class:`OutputError`."""
    data = {
        "version": VERSION,
        "description": fingerprint(description),
        "endpoints": index.endpoints,
        "adverse_events": index.adverse_events,
        "listed": [[k, *v] for k, v in sorted(index.listed.items())],
        "studies": index.studies,
        "having": {name: {text: pack(ns) for text, ns in by.items()} for name, by in index.having.items()},
        "views": {
            k: {
                "designs": [list(d) for d in v.designs],
                **{n: [list(c) for c in v.offered[n]] for n in OFFERED},
                "members": {d: pack(ns) for d, ns in v.members.items()},
                "figures": {d: pack(ns) for d, ns in v.figures.items()},
                "typed": {t: {d: pack(ns) for d, ns in by.items()} for t, by in v.typed.items()},
                "typed_figures": {t: {d: pack(ns) for d, ns in by.items()} for t, by in v.typed_figures.items()},
                "exact": v.exact,
            }
            for k, v in sorted(index.views.items())
        },
    }
    with AtomicFiles(folder) as out:  # a reader sees the old file or the new one, never a part
        out.path(FILE).write_text(json.dumps(data, sort_keys=True, separators=(",", ":")), encoding="utf-8")


def pack(numbers: Numbers) -> str:
    """Study numbers as the file keeps them: 4-byte unsigned integers (:func:`kg.packed.pack`)."""
    return packed.pack(numbers, "I")


def _unpack(data: Any) -> Numbers:
    """Numbers read back (:func:`pack`)."""
    return packed.unpack(data, "I")


def _numbers(data: Any, studies: int) -> Numbers:
    """Study numbers read back, each checked to name a study, ascending (a damaged file is not read)."""
    numbers = _unpack(data)
    if numbers and max(numbers) >= studies:
        raise ValueError("a study number out of range")
    if any(a >= b for a, b in zip(numbers, numbers[1:], strict=False)):
        raise ValueError("study numbers out of order")
    return numbers


def _tallies(data: dict[str, Any], numbers: dict[str, Numbers]) -> dict[str, Numbers]:
    """Figures per study read back, one for each of the studies ``numbers`` holds under the same key."""
    out = {str(k): _unpack(v) for k, v in data.items()}
    if {k: len(v) for k, v in out.items()} != {k: len(v) for k, v in numbers.items()}:
        raise ValueError("figures not one a study")
    return out


def read(folder: Path, description: list[ox.Triple], dir_fd: int | None = None) -> Index | None:
    """The index stored in a store's folder, or None if there is none, or it is of another version or of other
    data (then the views are counted when first asked, as for a graph in memory).

    ``dir_fd``: the folder as the store was opened from it (:meth:`kg.dataset.Dataset.open`), so the index read
    is the one that load wrote with that store, never a later load's (once a later load has removed that
    folder, there is none: the views are counted again)."""
    try:
        fd = os.open(FILE if dir_fd is not None else folder / FILE, os.O_RDONLY | os.O_CLOEXEC, dir_fd=dir_fd)
        with open(fd, encoding="utf-8") as fh:
            data = json.loads(fh.read())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return None
    if not description or data.get("description") != fingerprint(description):
        return None
    try:
        studies = [str(s) for s in data["studies"]]
        return Index(
            [str(e) for e in data["endpoints"]],
            bool(data["adverse_events"]),
            {str(k): (int(s), int(n)) for k, s, n in data["listed"]},
            {str(k): _view(v, len(studies)) for k, v in data["views"].items()},
            studies,
            {
                str(k): {str(t): _numbers(ids, len(studies)) for t, ids in by.items()}
                for k, by in data["having"].items()
            },
        )
    except (KeyError, TypeError, ValueError):
        return None


def _view(v: dict[str, Any], studies: int) -> ViewCounts:
    """One view's counts read back (a damaged one raises ValueError, KeyError or TypeError)."""
    members = {str(d): _numbers(ids, studies) for d, ids in v["members"].items()}
    typed = {str(t): {str(d): _numbers(ids, studies) for d, ids in by.items()} for t, by in v["typed"].items()}
    typed_figures = v["typed_figures"]
    if set(typed_figures) != set(typed):
        raise ValueError("figures not one a type")
    return ViewCounts(
        [(str(d), int(s), int(f)) for d, s, f in v["designs"]],
        {n: [(str(t), int(c)) for t, c in v[n]] for n in OFFERED},
        members,
        _tallies(v["figures"], members),
        typed,
        {str(t): _tallies(by, typed[str(t)]) for t, by in typed_figures.items()},
        v["exact"] is True,
    )
