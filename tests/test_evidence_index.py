"""The evidence views' counts stored by ``kg load`` with the data (kg/evidence.py).

A served or published evidence page over a store reads its view's counts by design and its filters' values from
the index ``kg load --store`` wrote; these tests hold that what is read is what the data says: the same pages as
the same files in memory, counted afresh; and an index that is not of this data (an earlier load's, another
store's) is never read.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg import evidence
from kg import sources as src
from kg.dataset import Dataset
from kg.load import load_embedded
from kg.web import pages
from kg.web.site import Site

pytestmark = pytest.mark.slow  # each loads stores (about 10 s a test)


@pytest.fixture(autouse=True)
def small_pages(monkeypatch):
    monkeypatch.setattr(pages, "EVIDENCE_PAGE_SIZE", 3)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, synth) -> Path:
    out = tmp_path_factory.mktemp("synth")
    synth.generate(9, seed=5, out=out)
    return out


def publications(folder: Path) -> list[src.Source]:
    return [*src.packaged_publications(), *src.files([folder])]


def what_views_show(site: Site) -> dict[str, object]:
    """What a reader of the evidence pages is told: the list of views with their counts, and for each view its
    designs' counts, every filter's values with theirs, and the figures on its pages, whole and narrowed by each
    value of each filter (the order of studies on the pages is the engine's, so the figures are compared as a set)."""
    out: dict[str, object] = {"views": pages.evidence_views(site)}
    for view in pages.evidence_views(site):
        offered = pages._choices(site, view)
        out[view.slug] = (pages._designs_of(site, view, {}), offered)
        for params in [[], *([(name, c.value)] for name in pages.FILTERS for c in offered[name])]:
            shown: list[str] = []
            page_no = 1
            while True:
                html = pages.evidence_page(
                    site, view.slug, [*params, *([("page", str(page_no))] if page_no > 1 else [])]
                )
                assert html is not None
                shown += re.findall(r'<tr class="statistic" data-statistic="([^"]+)"', html)
                if f"page {page_no} of {page_no}" in html or "page 1 of" not in html and page_no == 1:
                    break
                page_no += 1
            out[f"{view.slug} {params}"] = (page_no, sorted(shown))
    return out


def test_load_stores_the_index_and_pages_from_it_are_the_pages_counted_afresh(tmp_path, corpus):
    store = tmp_path / "store"
    load_embedded(publications(corpus), store)
    assert (store / evidence.FILE).is_file()
    opened = Dataset.open(store)
    stored = evidence.read(store, opened.stored_description())
    assert stored is not None, "the index kg load wrote is not read back"
    assert stored == evidence.compute(opened.store)
    assert stored.views and stored.endpoints and stored.listed
    in_memory = Dataset.build(publications(corpus))
    assert stored == evidence.compute(in_memory.store)
    served, counted = what_views_show(Site(opened)), what_views_show(Site(in_memory))
    assert len(served) > len(stored.views) * 4
    assert served == counted


def test_an_index_of_other_data_is_not_read(tmp_path, corpus):
    # a store of the packaged publications only, and one with the synthetic ones too
    small, large = tmp_path / "small", tmp_path / "large"
    load_embedded(None, small)
    load_embedded(publications(corpus), large)
    shutil.copy(large / evidence.FILE, small / evidence.FILE)  # the larger store's counts, beside the smaller data
    opened = Dataset.open(small)
    assert evidence.read(small, opened.stored_description()) is None
    assert opened.evidence == evidence.compute(opened.store)
    assert opened.evidence != Dataset.open(large).evidence


def test_a_second_load_counts_the_publications_it_adds(tmp_path, corpus):
    store = tmp_path / "store"
    load_embedded(None, store)
    before = Dataset.open(store).evidence
    load_embedded(list(src.files([corpus])), store)  # adds the synthetic publications beside the packaged ones
    after = Dataset.open(store)
    assert after.evidence == evidence.compute(after.store)
    assert after.evidence != before


def engine_designs(site: Site, view: pages.View, filters: dict[str, str]) -> list[pages.Design]:
    """The view's designs under ``filters`` as the engine counts them (the index not asked)."""
    original = pages._narrowed
    pages._narrowed = lambda *_args: None
    try:
        site.cache.clear()
        return pages._designs_of(site, view, filters)
    finally:
        pages._narrowed = original
        site.cache.clear()


def narrowed_by_index_and_engine(site: Site, together: int = 1) -> tuple[list[object], list[object]]:
    """Every view's designs' counts under each single filter value (``together`` = 1), or under every pair and
    triple of filters (2, 3: the first two values of each), from the index and from the engine."""
    indexed, asked = [], []
    for view in pages.evidence_views(site):
        offered = pages._choices(site, view)
        if together == 1:
            combinations = [{name: c.term} for name, choices in offered.items() for c in choices]
        else:
            named = [name for name in pages.FILTERS if offered[name]]
            combinations = [
                dict(zip(names, terms, strict=True))
                for names in itertools.combinations(named, together)
                for terms in itertools.product(*([c.term for c in offered[name][:2]] for name in names))
            ]
        for filters in combinations:
            site.cache.clear()
            indexed.append((view.slug, filters, pages._designs_of(site, view, filters)))
            asked.append((view.slug, filters, engine_designs(site, view, filters)))
    return indexed, asked


def test_counts_under_one_filter_are_the_engines(corpus):
    site = Site(Dataset.build(publications(corpus)))
    assert all(site.dataset.evidence.views[k].exact for k in site.dataset.evidence.views)
    indexed, asked = narrowed_by_index_and_engine(site)
    assert len(indexed) > 20
    assert indexed == asked


@pytest.mark.parametrize("together", [2, 3])
def test_counts_under_several_filters_are_the_engines(corpus, together):
    """Counts under filters together are sums over the studies they keep (from the index), as the engine counts."""
    site = Site(Dataset.build(publications(corpus)))
    indexed, asked = narrowed_by_index_and_engine(site, together)
    assert len(indexed) > 40
    assert any(d for _view, _filters, d in indexed), "no combination keeps a study"
    assert any(not d for _view, _filters, d in indexed), "every combination keeps a study"
    assert indexed == asked


def test_a_figure_two_studies_report_leaves_that_views_narrowed_counts_to_the_engine(corpus):
    """Sums over studies would count a figure two studies report twice: the index keeps none for that view."""
    dataset = Dataset.build(publications(corpus))
    store = dataset.store
    rows = list(
        store.query(
            evidence.PREFIXES + "SELECT ?a ?b ?statistic ?g WHERE { GRAPH ?g { ?a trialkg:hasStatistic ?statistic } "
            "?statistic trialkg:measures ?topic . ?b trialkg:hasStatistic ?other . ?other trialkg:measures ?topic "
            "FILTER(?a != ?b) } LIMIT 1",
            use_default_graph_as_union=True,
        )
    )
    b, statistic, graph = rows[0]["b"], rows[0]["statistic"], rows[0]["g"]
    store.add(ox.Quad(b, ox.NamedNode(evidence.TKG + "hasStatistic"), statistic, graph))  # b reports a's figure too
    topic = next(store.quads_for_pattern(statistic, ox.NamedNode(evidence.TKG + "measures"), None, None)).object.value
    index = dataset.evidence
    assert not index.views[topic].exact
    assert sum(index.views[k].exact for k in index.views) == len(index.views) - 1
    for together in (1, 2):
        indexed, asked = narrowed_by_index_and_engine(Site(dataset), together)
        assert indexed == asked


def test_a_damaged_index_is_not_read(tmp_path, corpus):
    """A cut file, or a study number that names no study, is not read: the views are counted afresh."""
    store = tmp_path / "store"
    load_embedded(publications(corpus), store)
    opened = Dataset.open(store)
    description = opened.stored_description()
    whole = (store / evidence.FILE).read_text(encoding="utf-8")
    (store / evidence.FILE).write_text(whole[: len(whole) // 2], encoding="utf-8")
    assert evidence.read(store, description) is None
    data = json.loads(whole)
    view = next(iter(data["views"].values()))
    design = next(iter(view["members"]))
    kept = view["members"][design]
    view["members"][design] = evidence.pack(evidence.ascending([0, len(data["studies"]) + 5]))
    (store / evidence.FILE).write_text(json.dumps(data), encoding="utf-8")
    assert evidence.read(store, description) is None
    view["members"][design] = kept
    (store / evidence.FILE).write_text(json.dumps(data), encoding="utf-8")
    assert evidence.read(store, description) is not None
    view["figures"][design] = evidence.pack(evidence.ascending([1]))  # figures for fewer studies than it names
    (store / evidence.FILE).write_text(json.dumps(data), encoding="utf-8")
    assert evidence.read(store, description) is None
    assert opened.evidence == evidence.compute(opened.store)


def test_a_store_without_a_current_index_gets_the_one_counted_on_first_use(tmp_path, corpus):
    """A store loaded by an earlier kg (no index, or one of an earlier layout) is counted once, by the first
    process that needs it, and the count is kept beside the data: the next process reads it, the same index."""
    store = tmp_path / "store"
    load_embedded(publications(corpus), store)
    loaded = Dataset.open(store).evidence
    (store / evidence.FILE).unlink()
    assert Dataset.open(store).evidence == loaded
    assert evidence.read(store, Dataset.open(store).stored_description()) == loaded, "kept for the next process"
    data = json.loads((store / evidence.FILE).read_text(encoding="utf-8"))
    data["version"] = evidence.VERSION - 1
    (store / evidence.FILE).write_text(json.dumps(data), encoding="utf-8")
    assert Dataset.open(store).evidence == loaded
    assert json.loads((store / evidence.FILE).read_text(encoding="utf-8"))["version"] == evidence.VERSION
    assert not [p.name for p in store.iterdir() if p.name.startswith(f".{evidence.FILE}")], "no temporary left"


def test_an_index_counted_on_a_store_swapped_away_is_not_written_into_the_new_one(tmp_path, corpus):
    """Counted on the store this process opened, after a load put another store at its path: not written there."""
    store = tmp_path / "store"
    load_embedded(publications(corpus), store)
    (store / evidence.FILE).unlink()
    opened = Dataset.open(store)
    store.rename(tmp_path / "old")
    load_embedded(src.packaged_publications(), store)  # the next load: its own, other data and index
    theirs = (store / evidence.FILE).read_bytes()
    assert opened.evidence.views
    assert (store / evidence.FILE).read_bytes() == theirs
