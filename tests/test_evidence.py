"""The evidence pages: one endpoint (or every adverse event) across publications, drawn from the graph.

Every mark is checked against the graph (compare-outcomes and provenance, the
ready-made queries), every link followed, the pages rendered in headless
chromium, and a synthetic corpus rendered to show that no words of the packaged
publications are built into the pages.
"""

from __future__ import annotations

import math
import posixpath
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from html import unescape
from pathlib import Path

import html5lib
import pytest

from kg import sources
from kg.dataset import Dataset
from kg.query.formats import cell
from kg.web import pages
from kg.web.site import Site

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import kg_serve  # noqa: E402
from words import label_words, page_text, words  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"
PFS, OS = "http://purl.obolibrary.org/obo/NCIT_C28234", "http://purl.obolibrary.org/obo/NCIT_C125201"
PAGES = {"progression-free-survival": PFS, "overall-survival": OS}


@pytest.fixture(scope="module")
def site():
    return Site(Dataset.build())


def charts(html: str) -> dict[str, ET.Element]:
    """The page's evidence figures, parsed as SVG (XML), by id."""
    return {
        m.group(1): ET.fromstring(m.group(0))
        for m in re.finditer(r'<svg [^>]*id="([a-z]+-chart)".*?</svg>', html, re.S)
    }


def marks(svg: ET.Element) -> list[ET.Element]:
    return svg.findall(f".//{SVG}a")


def graph_rows(site: Site, endpoint: str) -> dict[str, dict]:
    """compare-outcomes for the endpoint: statistic IRI -> every column as text ("" when unbound)."""
    result = site.dataset.run("compare-outcomes", {"endpoint": endpoint})
    return {
        r["statistic"].value: {v: cell(r.get(v)) for v in result.variables}
        for r in result.rows
        if cell(r["kind"]) == "statistic"
    }


def quotes(site: Site) -> dict[str, str]:
    return {r["statistic"].value: cell(r["quote"]) for r in site.rows("provenance")}


# ---- which pages there are, and how one reaches them ----------------------------------------------


def test_a_page_per_endpoint_and_one_for_adverse_events(site):
    views = {v.slug: v for v in pages.evidence_views(site)}
    assert {"progression-free-survival", "overall-survival", "adverse-events"} <= set(views)
    assert views["progression-free-survival"].topic == PFS and views["progression-free-survival"].studies == 6
    assert views["overall-survival"].topic == OS and views["adverse-events"].topic is None
    listed = pages.views_page(site)  # the landing page links to the list of evidence pages
    assert 'href="evidence/index.html"' in pages.index(site)
    for slug in views:
        assert f'href="{slug}.html"' in listed
    landing = pages.index(site)
    # studies by design, each design's label from the graph
    for design, study in [
        ("clinical trial", "trial/isoda-2018"),
        ("clinical trial", "trial/green-2017"),
        ("observational study", "study/lee-2013"),
        ("meta-analysis", "study/sun-2017"),
        ("clinical trial", "trial/cavo-2012"),
        ("clinical trial", "trial/mellqvist-2013"),
    ]:
        section = re.search(rf"<h3>{design}</h3>\s*<ul.*?</ul>", landing, re.S).group(0)
        assert f'href="{study}.html"' in section
    trial = pages.page(site, site.base + "trial/isoda-2018")
    assert 'href="../evidence/progression-free-survival.html">across publications' in trial
    assert 'href="../evidence/adverse-events.html"' in trial
    assert 'href="../evidence/overall-survival.html"' in pages.page(site, site.base + "study/lee-2013")


@pytest.mark.parametrize("slug,endpoint", PAGES.items())
def test_the_table_holds_every_statistic_of_the_endpoint(site, slug, endpoint):
    html = pages.evidence_page(site, slug)
    html5lib.HTMLParser(strict=True).parse(html)
    expected = graph_rows(site, endpoint)
    shown = re.findall(r'<tr class="statistic" data-statistic="([^"]+)">(.*?)</tr>', html, re.S)
    assert {s for s, _ in shown} == set(expected), "every statistic compare-outcomes lists, and no other"
    said = quotes(site)
    for stat, row in shown:
        row = unescape(row)
        g = expected[stat]
        if g["notReached"] == "true":
            assert "not reached" in row and not re.search(r'class="num">[\d.]', row)
        else:
            assert f">{g['value']}" in row, (stat, g["value"])
        if g["lower"]:
            assert f"{g['lower']} to {g['upper']}" in row
        if g["p_value"]:
            assert f"P {g['p_comparator']} {g['p_value']}" in row, "the p-value as printed, a bound kept a bound"
        assert g["population"] in row and g["basis"] in row and g["source_label"] in row
        if g["size"]:
            assert f"n = {g['size']}" in row
        assert said[stat] in row, "the sentence it was read in"
    for design in {g["design"] for g in expected.values()}:
        assert f'<tr class="endpoint"><th colspan="6">{design}</th></tr>' in html


# ---- the figures match the graph ------------------------------------------------------------------


def test_forest_plot_is_on_a_log_axis_with_a_line_at_1(site):
    for slug, endpoint in [*PAGES.items(), ("adverse-events", None)]:
        svg = charts(pages.evidence_page(site, slug))["forest-chart"]
        left, width = float(svg.get("data-left")), float(svg.get("data-width"))
        lo, hi = float(svg.get("data-log-min")), float(svg.get("data-log-max"))

        def x_of(v: float) -> float:
            return left + (math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo)) * width

        one = svg.find(f".//{SVG}line[@class='no-effect']")
        assert one is not None and abs(float(one.get("x1")) - x_of(1)) < 0.01 and lo < 1 < hi
        rows = (
            graph_rows(site, endpoint)
            if endpoint
            else {
                r["item"].value: {
                    "value": cell(r["effect"]),
                    "lower": cell(r["ci_lower"]),
                    "upper": cell(r["ci_upper"]),
                    "type": cell(r["effect_type"]),
                }
                for r in site.rows("adverse-events")
                if r.get("effect")
            }
        )
        ratios = {s: g for s, g in rows.items() if g["type"] in ("Hazard Ratio", "Relative Risk")}
        drawn = marks(svg)
        assert {a.get("data-statistic") for a in drawn} == set(ratios) and ratios
        for a in drawn:
            g = ratios[a.get("data-statistic")]
            est = a.find(f"{SVG}rect[@class='estimate']")
            assert float(est.get("data-value")) == float(g["value"])
            assert abs(float(est.get("data-x")) - x_of(float(g["value"]))) < 0.01
            assert abs(float(est.get("x")) + 6 - x_of(float(g["value"]))) < 0.01
            ci = a.find(f"{SVG}line[@class='ci']")
            assert (float(ci.get("data-lower")), float(ci.get("data-upper"))) == (float(g["lower"]), float(g["upper"]))
            assert abs(float(ci.get("x1")) - x_of(float(g["lower"]))) < 0.01
            assert abs(float(ci.get("x2")) - x_of(float(g["upper"]))) < 0.01
        assert "log scale" in svg.find(f".//{SVG}text[@class='axis-label']").text


def test_medians_and_rates_sit_at_their_values_on_their_time_axes(site):
    for slug, endpoint in PAGES.items():
        figures = charts(pages.evidence_page(site, slug))
        rows = graph_rows(site, endpoint)
        median = figures["median-chart"]
        left, width, xmax = (float(median.get(k)) for k in ("data-left", "data-width", "data-xmax"))
        medians = {s: g for s, g in rows.items() if g["type"] == "Median"}
        finding = {
            r["statistic"].value: cell(r.get("finding")) for r in site.rows("evidence-statistics", topic=endpoint)
        }
        drawn = {a.get("data-statistic") for a in marks(median)}
        assert drawn <= set(medians), "only medians"
        assert all(s in drawn or any(finding[s] and finding[o] == finding[s] for o in drawn) for s in medians)
        assert len({finding[s] or s for s in drawn}) == len(drawn), "twin reports of one finding: one mark"
        for a in marks(median):
            g = medians[a.get("data-statistic")]
            dot = a.find(f"{SVG}circle[@class='median']")
            if g["notReached"] == "true":
                assert dot is None and a.find(f"{SVG}line[@class='not-reached']") is not None
                assert a.get("data-value") == "", "a median not reached is never a number"
                assert a.find(f"{SVG}line[@class='not-reached']").get("marker-end") == "url(#ev-arrow)"
                continue
            assert abs(float(dot.get("cx")) - (left + float(g["value"]) * width / xmax)) < 0.01
            interval = a.find(f"{SVG}line[@class='interval']")
            assert (interval is not None) == bool(g["lower"])
            if interval is not None:
                assert abs(float(interval.get("x1")) - (left + float(g["lower"]) * width / xmax)) < 0.01
                assert abs(float(interval.get("x2")) - (left + float(g["upper"]) * width / xmax)) < 0.01
        assert median.find(f".//{SVG}text[@class='axis-label']").text == "Median (month)"
        rate = figures["rate-chart"]
        left, width, xmax, band = (float(rate.get(k)) for k in ("data-left", "data-width", "data-xmax", "data-band"))
        rates = {s: g for s, g in rows.items() if g["timepoint_value"]}
        assert {a.get("data-statistic") for a in marks(rate)} == set(rates) and len(rates) >= 6
        for a in marks(rate):
            g = rates[a.get("data-statistic")]
            dot = a.find(f"{SVG}circle[@class='rate']")
            assert float(dot.get("data-time")) == float(g["timepoint_value"])
            assert abs(float(dot.get("cx")) - (left + float(g["timepoint_value"]) * width / xmax)) < 0.01
            assert abs(float(dot.get("cy")) - (float(dot.get("data-base")) - float(g["value"]) / 100 * band)) < 0.01
        assert rate.find(f".//{SVG}text[@class='axis-label']").text == "time point value (year)"


def test_twin_reports_of_one_finding_are_one_mark_naming_both_sources(site):
    svg = charts(pages.evidence_page(site, "progression-free-survival"))["median-chart"]
    isoda = [a for a in marks(svg) if "isoda-2018/pfs-from" in a.get("data-statistic")]
    assert len(isoda) == 2, "two findings (from induction, from maintenance), each reported twice, drawn once each"
    for a in isoda:
        title = a.find(f"{SVG}title").text
        assert "Cancer Therapy Advisor news report on Isoda et al. 2018" in title and "Also reported:" in title
        assert "Isoda et al. 2018, Int J Hematol" in title


def test_every_mark_links_to_its_statistic_names_its_quote_and_takes_focus(site):
    said = quotes(site)
    checked = 0
    for view in pages.evidence_views(site):
        html = pages.evidence_page(site, view.slug)
        assert "<script" not in html, "no JavaScript"
        if charts(html):
            assert ".ev-mark:focus .ev-tip" in html and ".ev-mark:hover .ev-tip" in html, (
                "shown on hover and focus, by CSS"
            )
            assert ".ev-mark:focus .ev-ring" in html, "a visible focus ring"
        for svg in charts(html).values():
            for a in marks(svg):
                stat = a.get("data-statistic")
                target = posixpath.normpath(posixpath.join(posixpath.dirname(view.path), a.get("href")))
                assert target == site.path_of(stat) + ".html" and site.exists(stat), "links to the statistic's page"
                assert a.get("tabindex") == "0"
                title = a.find(f"{SVG}title").text
                assert said[stat] in title, "the quote is in the mark's title"
                tip = " ".join(t.text for t in a.findall(f".//{SVG}g[@class='ev-tip']//{SVG}tspan"))
                assert tip and tip.replace("…", "") in title.replace("\n", " ") or tip[:40] in title
                checked += 1
    assert checked >= 25


# ---- no seed wording: a synthetic corpus gets the same pages ----------------------------------------

SYNTHETIC_COMPARATIVE = """@base <https://w3id.org/trialkg/> .
@prefix trialkg: <https://w3id.org/trialkg/ontology/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix oa: <http://www.w3.org/ns/oa#> .
@prefix NCIT: <http://purl.obolibrary.org/obo/NCIT_> .
@prefix HP: <http://purl.obolibrary.org/obo/HP_> .
@prefix UO: <http://purl.obolibrary.org/obo/UO_> .
@prefix s: <https://w3id.org/trialkg/synthetic/pooled-x/> .

<synthetic/pooled-x/publication> a trialkg:JournalArticle ; rdfs:label "Zeta report Q" .
s:sentence a oa:SpecificResource ; oa:hasSource <synthetic/pooled-x/publication> ; oa:hasSelector s:selector .
s:selector a oa:TextQuoteSelector ; oa:exact "Synthetic sentence with its hazard ratio and rates." .
<synthetic/pooled-x> a trialkg:MetaAnalysis , trialkg:Study ; rdfs:label "Pooled synthetic analysis X" ;
    trialkg:describedIn <synthetic/pooled-x/publication> ;
    trialkg:hasStatistic s:hr , s:rate-1 , s:rate-2 , s:rr .
s:all a trialkg:AnalysisPopulation ; rdfs:label "everyone pooled" ; trialkg:size 400 .
s:arm-one a trialkg:AnalysisPopulation ; rdfs:label "cohort kappa" ; trialkg:subsetOf s:all .
s:arm-two a trialkg:AnalysisPopulation ; rdfs:label "cohort lambda" ; trialkg:subsetOf s:all .
s:hr a trialkg:ComparativeStatistic ; rdfs:label "Synthetic hazard ratio" ; trialkg:statisticType NCIT:C93150 ;
    trialkg:measures NCIT:C28234 ; trialkg:value 1.4 ; trialkg:unit UO:0000190 ; trialkg:population s:all ;
    trialkg:exposureGroup s:arm-one ; trialkg:referenceGroup s:arm-two ; trialkg:attributeEstimate s:hr-ci , s:hr-p ;
    trialkg:denominatorBasis trialkg:StatedInSentence ; trialkg:timeOrigin trialkg:TimeOriginNotStated ;
    prov:wasDerivedFrom <synthetic/pooled-x/publication> ; trialkg:quotedFrom s:sentence .
s:hr-ci a trialkg:ConfidenceInterval ; trialkg:level 0.9 ; trialkg:lower 1.1 ; trialkg:upper 2.5 .
s:hr-p a trialkg:PValue ; trialkg:pValue 0.04 ; trialkg:comparator "<" .
s:rate-1 a trialkg:EfficacyStatistic ; rdfs:label "Synthetic rate one" ; trialkg:statisticType NCIT:C44256 ;
    trialkg:measures NCIT:C28234 ; trialkg:value 40 ; trialkg:unit UO:0000187 ; trialkg:population s:arm-one ;
    trialkg:timePointValue 5 ; trialkg:timePointUnit UO:0000036 ; trialkg:denominatorBasis trialkg:StatedInSentence ;
    prov:wasDerivedFrom <synthetic/pooled-x/publication> ; trialkg:quotedFrom s:sentence .
s:rate-2 a trialkg:EfficacyStatistic ; rdfs:label "Synthetic rate two" ; trialkg:statisticType NCIT:C44256 ;
    trialkg:measures NCIT:C28234 ; trialkg:value 25 ; trialkg:unit UO:0000187 ; trialkg:population s:arm-two ;
    trialkg:timePointValue 5 ; trialkg:timePointUnit UO:0000036 ; trialkg:denominatorBasis trialkg:StatedInSentence ;
    prov:wasDerivedFrom <synthetic/pooled-x/publication> ; trialkg:quotedFrom s:sentence .
s:rr a trialkg:ComparativeStatistic , trialkg:SafetyStatistic ; rdfs:label "Synthetic risk ratio" ;
    trialkg:statisticType NCIT:C93152 ; trialkg:measures HP:0002018 ; trialkg:adverseEvent HP:0002018 ;
    trialkg:value 0.3 ; trialkg:unit UO:0000190 ; trialkg:population s:all ; trialkg:exposureGroup s:arm-one ;
    trialkg:referenceGroup s:arm-two ; trialkg:attributeEstimate s:rr-ci ;
    prov:wasDerivedFrom <synthetic/pooled-x/publication> ; trialkg:quotedFrom s:sentence .
s:rr-ci a trialkg:ConfidenceInterval ; trialkg:level 0.95 ; trialkg:lower 0.12 ; trialkg:upper 0.75 .
"""


def test_a_synthetic_corpus_gets_the_pages_without_a_word_of_the_packaged_publications(tmp_path, synth):
    synth.generate(3, seed=7, out=tmp_path)
    (tmp_path / "pooled-x.ttl").write_text(SYNTHETIC_COMPARATIVE, encoding="utf-8")
    synthetic = Dataset.from_paths([tmp_path])
    packaged = Dataset.build()
    publications = [s.graph(packaged.base) for s in sources.packaged_publications()]
    # the packaged publications' own names for things, which no other corpus shares (less two generic words
    # of the site's own text that a packaged label happens to use too)
    seed_only = label_words(packaged, publications) - label_words(synthetic) - {"page", "regimens"}
    assert {"isoda", "tandem", "korean", "bioscience", "plateau", "newly"} <= seed_only and len(seed_only) > 100
    site = Site(synthetic)
    views = {v.slug: v for v in pages.evidence_views(site)}
    assert {"progression-free-survival", "overall-survival", "adverse-events"} <= set(views)
    html = {slug: pages.evidence_page(site, slug) for slug in views}
    html["index"] = pages.index(site)
    for name, page in html.items():
        text = page_text(page)
        assert not words(text) & seed_only, f"{name}: {sorted(words(text) & seed_only)}"
    pfs = charts(html["progression-free-survival"])
    assert set(pfs) == {"forest-chart", "median-chart", "rate-chart"}
    assert "cohort kappa vs cohort lambda" in html["progression-free-survival"]
    assert (
        "P &lt; 0.04" in html["progression-free-survival"]
        and "90% confidence interval 1.1 to 2.5" in html["progression-free-survival"]
    )
    rates = {a.get("data-statistic").rsplit("/", 1)[-1]: a for a in marks(pfs["rate-chart"])}
    assert set(rates) == {"rate-1", "rate-2"}
    assert pfs["rate-chart"].find(f".//{SVG}text[@class='axis-label']").text == "time point value (year)"
    assert charts(html["adverse-events"])["forest-chart"] is not None
    landing = html["index"]
    assert "<h3>meta-analysis</h3>" in landing and "<h3>clinical trial</h3>" in landing


# ---- served by kg serve, in a real browser -----------------------------------------------------


@pytest.fixture(scope="module")
def server():
    with kg_serve() as base:
        yield base


def status(url: str) -> tuple[int, str]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(url, timeout=30) as r:
            return r.status, r.headers.get("Location", "")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Location", "")


@pytest.mark.slow
def test_served_pages_and_every_mark_link_resolves(server, site):
    assert status(server + "/evidence/progression-free-survival") == (303, "/evidence/progression-free-survival.html")
    assert status(server + "/evidence/no-such-endpoint.html")[0] == 404
    assert status(server + "/evidence/no-such-endpoint")[0] == 404
    # page and filters are query parameters, each checked against what the page offers; the bare path keeps them
    pfs = server + "/evidence/progression-free-survival"
    assert status(pfs + "?type=NCIT:C93150") == (303, "/evidence/progression-free-survival.html?type=NCIT:C93150")
    assert status(pfs + ".html?type=NCIT:C93150&page=1")[0] == 200
    for query, code in (("page=2", 404), ("colour=red", 400), ("drug=NCIT:C0000000", 404), ("year=1%20UNION", 404)):
        try:
            urllib.request.urlopen(f"{pfs}.html?{query}", timeout=30)
            raise AssertionError(query)
        except urllib.error.HTTPError as e:
            body = e.read().decode()
            assert e.code == code and body.count("\n") == 1, (query, body)
    for view in pages.evidence_views(site):
        url = f"{server}/{view.path}.html"
        with urllib.request.urlopen(url, timeout=30) as r:
            html = r.read().decode()
        hrefs = {a.get("href") for svg in charts(html).values() for a in marks(svg)}
        hrefs |= set(re.findall(r'<tr class="statistic"[^>]*>\s*<td>.*?<a href="([^"]+)"', html, re.S))
        for href in hrefs:
            target = urllib.request.urljoin(url, href)
            assert status(target)[0] == 200, target


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(*args: str, tmp: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp / 'profile'}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
@pytest.mark.parametrize(
    "slug,needles",
    [
        (
            "progression-free-survival",
            [
                "0.67",
                "0.51–0.87",
                "P = 0.003",
                "P &lt; 0.001",
                "55.6%",
                "71%",
                "13.8 months",
                "11.4–23.7",
                "Hazard Ratio (log scale)",
                "Median (month)",
            ],
        ),
        ("overall-survival", ["0.75", "P = 0.001", "not reached", "65.3%", "P = 0.078", "29%"]),
        ("adverse-events", ["1.39", "1.08–1.79", "2.23", "P = 0.02", "Relative Risk (log scale)", "Constipation"]),
    ],
)
@pytest.mark.slow
def test_evidence_pages_in_headless_chromium(server, tmp_path, slug, needles):
    url = f"{server}/evidence/{slug}.html"
    dom = chromium("--dump-dom", url, tmp=tmp_path).stdout
    for needle in needles:
        assert needle in dom, needle
    assert 'id="forest-chart"' in dom and 'class="ev-mark"' in dom and 'tabindex="0"' in dom
    shot = tmp_path / f"{slug}.png"
    chromium("--window-size=1000,1800", f"--screenshot={shot}", url, tmp=tmp_path)
    assert shot.exists() and shot.stat().st_size > 40_000, "a drawn page, not a blank one"


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_keyboard_focus_shows_the_mark_and_its_sentence_in_chromium(site, tmp_path):
    """The same page twice, once with the first median mark focused (autofocus stands in for the Tab key)."""
    html = pages.evidence_page(site, "progression-free-survival")
    at = html.index('<a class="ev-mark"', html.index('id="median-chart"'))
    focused = html[:at] + '<a autofocus="" class="ev-mark"' + html[at + len('<a class="ev-mark"') :]
    shots = []
    for name, page in (("plain", html), ("focused", focused)):
        (tmp_path / f"{name}.html").write_text(page, encoding="utf-8")
        shot = tmp_path / f"{name}.png"
        chromium("--window-size=1000,1200", f"--screenshot={shot}", (tmp_path / f"{name}.html").as_uri(), tmp=tmp_path)
        shots.append(shot.read_bytes())
    assert len(shots[0]) > 40_000 and shots[0] != shots[1], "focus draws the ring and the reading strip"


def test_an_effect_between_groups_is_never_drawn_as_a_rate(tmp_path):
    """Review 43: a risk difference in percentage points at a time point was drawn on the rates chart, below its
    row's 0 %, as if it were a group's rate; it belongs on the differences' plot only."""
    for f in ("synthetic-rct-3arm.ttl", "synthetic-rct-3arm.txt"):
        shutil.copy(Path(__file__).parent / "data" / "rct" / f, tmp_path / f)
    ttl = tmp_path / "synthetic-rct-3arm.ttl"
    text = ttl.read_text(encoding="utf-8")
    old = "    trialkg:value 8.0 ; trialkg:unit UO:0000187 ;\n"
    assert text.count(old) == 1
    timed = "    trialkg:value 8.0 ; trialkg:unit UO:0000187 ; trialkg:timePointValue 3 ; trialkg:timePointUnit UO:0000036 ;\n"
    ttl.write_text(text.replace(old, timed), encoding="utf-8")
    site = Site(Dataset.from_paths([tmp_path]))
    difference = "https://w3id.org/trialkg/trial/synthetic-rct-3arm/pn-risk-difference"
    drawn = {}
    for view in pages.evidence_views(site):
        for name, svg in charts(pages.evidence_page(site, view.slug)).items():
            drawn.setdefault(name, set()).update(a.get("data-statistic") for a in marks(svg))
    assert difference in drawn.get("difference-chart", set()), "on the differences' plot (else this proves nothing)"
    assert difference not in drawn.get("rate-chart", set())


def test_a_ratio_interval_ending_at_zero_is_not_drawn_on_a_log_axis():
    """Review 47: an upper bound of 0 (data loaded unvalidated) took the log of 0 ('math domain error'): a log
    axis draws only what is above 0, the estimate without that interval."""
    from kg.web.figures import forest_plot

    item = {"value": 0.5, "lower": 0.2, "upper": 0.0, "row": "a", "detail": "b", "right": "0.5"}
    svg = forest_plot([{**item, "href": "#s", "statistic": "s", "tip": "t"}], "title", "axis", "hint", log=True)
    assert 'class="estimate"' in svg and 'class="ci"' not in svg
