"""Evidence pages a page of studies at a time: counts, paging, filters and refusals, served and static.

A view of a large corpus holds tens of thousands of figures; each page shows at most
``pages.EVIDENCE_PAGE_SIZE`` studies. Here the page size is made small (2 studies) so
that the packaged graph and a small synthetic corpus take several pages, and every
page is checked against the ready-made query evidence-statistics on the whole store:
every figure on exactly one page, no study on two, filters keeping exactly what they
say, and any parameter the page does not offer refused with one line.
"""

from __future__ import annotations

import json
import posixpath
import re
from html import unescape

import pytest

from kg.dataset import Dataset
from kg.query.formats import cell
from kg.web import pages, publish
from kg.web.site import Site

PFS = "http://purl.obolibrary.org/obo/NCIT_C28234"


@pytest.fixture(autouse=True)
def small_pages(monkeypatch):
    monkeypatch.setattr(pages, "EVIDENCE_PAGE_SIZE", 2)


@pytest.fixture(scope="module")
def packaged():
    return Dataset.build()


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory, synth):
    out = tmp_path_factory.mktemp("synth")
    synth.generate(12, seed=3, out=out)
    return Dataset.from_paths([out])


def on_page(html: str) -> tuple[list[str], list[str]]:
    """The statistics (table rows) and the studies (their headings' links) of one evidence page."""
    stats = re.findall(r'<tr class="statistic" data-statistic="([^"]+)"', html)
    studies = re.findall(r'<tr class="study"><td colspan="6"><a href="([^"]+)"', html)
    return stats, studies


def totals(html: str) -> tuple[int, int]:
    figures = int(re.search(r'<span id="total-figures">(\d+)</span>', html).group(1))
    studies = int(re.search(r'<span id="total-studies">(\d+)</span>', html).group(1))
    return figures, studies


def graph_figures(dataset: Dataset, view: pages.View) -> dict[str, set[str]]:
    """evidence-statistics on the whole store: study IRI -> the statistics the view shows of it."""
    params = {"topic": view.topic} if view.topic else {}
    role = "endpoint" if view.topic else "adverse event"
    out: dict[str, set[str]] = {}
    for r in dataset.rows("evidence-statistics", **params):
        if cell(r.get("role")) == role:
            out.setdefault(r["study"].value, set()).add(r["statistic"].value)
    return out


def every_page(site: Site, view: pages.View, params: list[tuple[str, str]]) -> list[str]:
    first = pages.evidence_page(site, view.slug, params)
    last = int(re.search(r"page 1 of (\d+)", first).group(1)) if "page 1 of" in first else 1
    return [first] + [pages.evidence_page(site, view.slug, [*params, ("page", str(n))]) for n in range(2, last + 1)]


@pytest.mark.parametrize("corpus", ["packaged", "synthetic"])
def test_every_figure_on_exactly_one_page_and_no_study_on_two(corpus, request):
    dataset = request.getfixturevalue(corpus)
    site = Site(dataset)
    views = pages.evidence_views(site)
    assert views and any(v.topic is None for v in views)
    several = 0
    for view in views:
        html = every_page(site, view, [])
        several += len(html) > 1
        graph = graph_figures(dataset, view)
        seen_stats: list[str] = []
        seen_studies: list[str] = []
        for page in html:
            stats, studies = on_page(page)
            assert len(studies) <= 2, view.slug
            seen_stats += stats
            seen_studies += studies
            assert totals(page) == (sum(len(s) for s in graph.values()), len(graph))
        assert len(seen_studies) == len(set(seen_studies)) == len(graph), view.slug
        assert sorted(seen_stats) == sorted(s for stats in graph.values() for s in stats), view.slug
        assert (view.statistics, view.studies) == (len(set(seen_stats)), len(graph)), view.slug
        # past the last page: refused, with the number of pages
        with pytest.raises(pages.Refused) as refused:
            pages.evidence_page(site, view.slug, [("page", str(len(html) + 1))])
        assert refused.value.status == 404 and f"({len(html)} page" in refused.value.message
    assert several >= 2, "the page size makes several views take more than one page"


def test_paging_links_lead_from_the_first_page_to_the_last_and_back(packaged):
    site = Site(packaged)
    html = every_page(site, pages.evidence_view(site, "progression-free-survival"), [])
    assert len(html) == 3  # six studies, two a page
    nexts = [re.search(r'<a href="([^"]+)" rel="next">', h) for h in html]
    prevs = [re.search(r'<a href="([^"]+)" rel="prev">', h) for h in html]
    assert [unescape(m.group(1)) if m else None for m in nexts] == [
        "progression-free-survival.html?page=2",
        "progression-free-survival.html?page=3",
        None,
    ]
    assert [unescape(m.group(1)) if m else None for m in prevs] == [
        None,
        "progression-free-survival.html",
        "progression-free-survival.html?page=2",
    ]
    assert all(f"page {n} of 3" in h for n, h in enumerate(html, 1))


def test_each_filter_keeps_exactly_the_studies_and_figures_it_names(packaged):
    site = Site(packaged)
    view = pages.evidence_view(site, "progression-free-survival")
    graph = graph_figures(packaged, view)
    offered = pages._choices(site, view)
    assert {len(offered[k]) >= 2 for k in ("design", "type", "drug", "year")} == {True} and offered["condition"]
    terms: dict[str, dict[str, set[str]]] = {}  # role -> term -> studies (trial-terms, the whole store)
    for r in packaged.rows("trial-terms"):
        terms.setdefault(cell(r["role"]), {}).setdefault(r["term"].value, set()).add(r["trial"].value)
    types = {
        r["statistic"].value: r["type"].value for r in packaged.rows("evidence-statistics", topic=PFS) if r.get("type")
    }
    by_design: list[str] = []
    for name in ("design", "type", "drug", "condition", "year"):
        for choice in offered[name]:
            html = every_page(site, view, [(name, choice.value)])
            stats = [s for page in html for s in on_page(page)[0]]
            studies = {posixpath.basename(s).removesuffix(".html") for page in html for s in on_page(page)[1]}
            kept = {iri for iri in graph if iri.rsplit("/", 1)[-1] in studies}
            assert len(studies) == len(kept) == choice.count or name == "type", (name, choice)
            if name == "type":
                assert stats and {types[s] for s in stats} == {choice.term}, choice
                assert len(stats) == choice.count
            elif name == "design":
                by_design += stats
            elif name in ("drug", "condition"):
                assert kept == terms[name][choice.term] & set(graph), (name, choice)
            assert set(stats) <= {s for v in graph.values() for s in v}
            assert all(f'<strong class="chosen">{choice.label}</strong>' in page for page in html)
    assert sorted(by_design) == sorted(s for v in graph.values() for s in v)  # designs partition the view
    # two filters at once: what both keep
    drug, design = offered["drug"][0], offered["design"][0]
    both = [
        s for page in every_page(site, view, [("drug", drug.value), ("design", design.value)]) for s in on_page(page)[1]
    ]
    one = [s for page in every_page(site, view, [("drug", drug.value)]) for s in on_page(page)[1]]
    assert set(both) <= set(one)


@pytest.mark.parametrize(
    "params, status, says",
    [
        ([("colour", "red")], 400, "unknown parameter 'colour'"),
        ([("page", "2"), ("page", "3")], 400, "given twice"),
        ([("page", "two")], 400, "is not a page number"),
        ([("page", "0")], 404, "no page 0"),
        ([("page", "99")], 404, "no page 99"),
        ([("drug", "NCIT:C0000000")], 404, "drug 'NCIT:C0000000': not offered"),
        ([("drug", "> } ?s ?p ?o . } #")], 404, "not offered"),
        ([("design", "https://w3id.org/trialkg/ontology/Nothing")], 404, "not offered"),
        ([("year", "2018 UNION")], 404, "not offered"),
        ([("year", "1800")], 404, "not offered"),
        ([("type", "NCIT:C93150> . ?x ?y ?z")], 404, "not offered"),
    ],
)
def test_a_parameter_the_page_does_not_offer_is_refused_with_one_line(packaged, params, status, says):
    site = Site(packaged)
    with pytest.raises(pages.Refused) as refused:
        pages.evidence_page(site, "progression-free-survival", params)
    assert refused.value.status == status and says in refused.value.message
    assert "\n" not in refused.value.message and len(refused.value.message) < 200


def test_a_filter_value_is_taken_as_curie_or_iri_and_matched_to_the_offer(packaged):
    site = Site(packaged)
    curie = pages.evidence_page(site, "progression-free-survival", [("type", "NCIT:C93150")])
    iri = pages.evidence_page(
        site, "progression-free-survival", [("type", "http://purl.obolibrary.org/obo/NCIT_C93150")]
    )
    assert curie == iri and on_page(curie)[0]


@pytest.mark.slow
def test_static_publish_writes_every_page_of_every_view_and_no_more(packaged, tmp_path):
    site = Site(packaged)
    expected = set()
    for view in pages.evidence_views(site):
        expected.add(f"{view.path}.html")
        expected |= {f"{view.path}/page-{n}.html" for n in range(2, pages.evidence_pages(view.studies) + 1)}
        offered = pages._choices(site, view)
        for name in pages.STATIC_FILTERS:
            if len(offered[name]) < 2:
                continue
            for c in offered[name]:
                n = sum(d.studies for d in pages._designs_of(site, view, {name: c.term}))
                expected |= {
                    f"{view.path}/{name}-{c.slug}-page-{k}.html" for k in range(1, pages.evidence_pages(n) + 1)
                }
    out, _count = publish.publish(tmp_path / "site", packaged)
    written = {str(p.relative_to(out)) for p in (out / "evidence").rglob("*.html")}
    assert written == expected | {"evidence/index.html"}
    linear = sum(v.studies + v.statistics for v in pages.evidence_views(site))
    assert len(written) <= 2 * linear, "the files grow with the figures, not with their combinations"
    marker = json.loads((out / publish.MARKER).read_text())
    assert expected <= set(marker["files"])
    # every link of every evidence page leads to a file of the site
    for rel in written:
        html = (out / rel).read_text()
        for href in re.findall(r'href="([^"#?]+)"', html):
            if "://" in href or href.startswith("mailto:"):
                continue
            target = posixpath.normpath(posixpath.join(posixpath.dirname(rel), unescape(href)))
            assert (out / target).exists(), (rel, href)
        assert "?" not in "".join(re.findall(r'href="([^"]+)"', html)), rel  # no query string on a static page
    # each static page holds at most a page of studies, and the pages of a view hold each study once
    pfs = [p for p in written if p.startswith("evidence/progression-free-survival") and "-page-" not in p]
    studies = [s for p in pfs for s in on_page((out / p).read_text())[1]]
    assert len(pfs) == 3 and len(studies) == len({posixpath.basename(s) for s in studies}) == 6


def test_an_ontology_only_graph_has_no_evidence_pages_and_publishes(tmp_path):
    empty = Dataset.build([])
    site = Site(empty)
    assert pages.evidence_views(site) == [] and pages.evidence_page(site, "adverse-events") is None
    out, _count = publish.publish(tmp_path / "site", empty)
    assert [p.name for p in (out / "evidence").iterdir()] == ["index.html"]


def filter_items(html: str) -> list[tuple[str | None, str, int, str]]:
    """Every value of every filter on a page: (its link, or None where it is chosen or keeps nothing; label; the
    number it shows; its unit)."""
    out = []
    for dd in re.findall(r"<dt>[^<]*</dt>\n<dd>(.*?)</dd>", html):
        for item in dd.split(" · ")[1:]:
            m = re.fullmatch(
                r'(?:<a href="([^"]+)"[^>]*>|<strong class="chosen">)?(.*?)(?:</a>|</strong>)? '
                r'<span class="curie">(\d+) (\w+)</span>',
                item,
            )
            assert m, item
            out.append((unescape(m.group(1)) if m.group(1) else None, m.group(2), int(m.group(3)), m.group(4)))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("corpus", ["packaged", "synthetic"])
def test_under_filters_each_filter_link_says_what_its_page_holds_and_none_leads_to_an_empty_page(corpus, request):
    """With a filter chosen, a value's link keeps it together with the others: its number is that page's (studies,
    figures for a statistic type), and a value that would keep nothing is shown with 0 and no link."""
    from urllib.parse import parse_qsl, urlsplit

    site = Site(request.getfixturevalue(corpus))
    checked = unlinked = changed = 0
    for view in pages.evidence_views(site):
        offered = pages._choices(site, view)
        by_label = {c.label: c.count for choices in offered.values() for c in choices}
        for name, choices in offered.items():
            if len(choices) < 2:
                continue
            for chosen in (choices[0], choices[-1]):
                for href, label, shown, unit in filter_items(
                    pages.evidence_page(site, view.slug, [(name, chosen.value)])
                ):
                    if href is None:
                        unlinked += shown == 0
                        continue
                    assert shown > 0, (view.slug, name, label)
                    target = pages.evidence_page(site, view.slug, parse_qsl(urlsplit(href).query))
                    figures, studies = totals(target)
                    assert shown == (figures if unit.startswith("figure") else studies), (view.slug, href, label)
                    checked += 1
                    changed += shown != by_label.get(label)
    assert checked > 20 and unlinked and changed, (checked, unlinked, changed)


def test_a_type_filter_names_each_type_as_its_figures_table_does(packaged):
    """Review 34: the adverse-events page offered "Ratio 3" while its table called the same figures "Proportion"
    (NCIT:C44256: NCIt's label "Ratio", HL7's display "Proportion"). Each type a filter offers is named as
    evidence-statistics' type_label names it for the figures it keeps."""
    site = Site(packaged)
    for view in pages.evidence_views(site):
        named = {
            r["type"].value: cell(r["type_label"])
            for r in packaged.rows("evidence-statistics", **({"topic": view.topic} if view.topic else {}))
            if r.get("type")
        }
        offered = pages._choices(site, view)["type"]
        assert offered, view.slug
        for choice in offered:
            assert choice.label == named[choice.term], (view.slug, choice.term)
