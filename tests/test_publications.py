"""The three publications added after the seed: every quote verbatim, figures through the queries, new shapes.

Each publication was curated from a stored copy of its page; `trials/<slug>.txt` (packaged
beside the publication, as `kg new` keeps a curator's source text) holds the passages with the
page's address, so the quotes are checked here, and by `kg validate`, without the network.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from kg import resources
from kg.dataset import Dataset
from kg.sources import Source
from kg.validate import validate

PASSAGES = Path(str(resources.folder("kg.trials")))
NEW = ["green-2017", "sun-2017", "lee-2013"]
OA = "http://www.w3.org/ns/oa#"
TKG = "https://w3id.org/trialkg/ontology/"
PACKAGED = Dataset.build()


def turtle(slug: str) -> str:
    (entry,) = [f for f in resources.trial_files() if f.name == f"{slug}.ttl"]
    return entry.read_text(encoding="utf-8")


def passages(slug: str) -> tuple[str, list[str]]:
    lines = (PASSAGES / f"{slug}.txt").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# url: http")
    return lines[0][len("# url: ") :], [ln for ln in lines if ln and not ln.startswith("#")]


@pytest.mark.parametrize("slug", NEW)
def test_every_quote_and_claim_is_a_stored_passage_verbatim(slug):
    url, stored = passages(slug)
    graph = ox.Store()
    graph.load(turtle(slug).encode(), format=ox.RdfFormat.TURTLE, base_iri="https://w3id.org/trialkg/")
    quotes = [q.object.value for q in graph.quads_for_pattern(None, ox.NamedNode(OA + "exact"), None, None)]
    claims = [q.object.value for q in graph.quads_for_pattern(None, ox.NamedNode(TKG + "claimText"), None, None)]
    assert len(quotes) == len(stored), "every stored passage is quoted once"
    for text in quotes + claims:
        assert text in stored, f"not verbatim in {slug}.txt: {text[:80]}"
    pages = {q.object.value for q in graph.quads_for_pattern(None, ox.NamedNode("https://schema.org/url"), None, None)}
    assert url in pages, "the passages file names the page the publication was curated from"


def rows(name: str, **params):
    result = PACKAGED.run(name, params)
    return [{k: v.value for k, v in r.items()} for r in result.rows]


def test_pfs_from_all_four_publications_in_their_own_forms():
    got = rows("compare-outcomes", endpoint="NCIT:C28234")
    by_study = {}
    for r in got:
        if r["kind"] != "statistic":
            continue
        by_study.setdefault(r["study"].rsplit("/", 1)[-1], []).append(r)
    assert set(by_study) == {"isoda-2018", "green-2017", "sun-2017", "lee-2013", "cavo-2012", "mellqvist-2013"}
    assert {r["type"] for r in by_study["isoda-2018"]} == {"Median"}
    assert {r["type"] for r in by_study["sun-2017"]} == {"Hazard Ratio"}
    green = {(r["group"], r["timepoint_value"], r["value"]) for r in by_study["green-2017"]}
    assert green == {
        ("newly diagnosed high-risk", "2", "71"),
        ("newly diagnosed high-risk", "4", "52"),
        ("relapsed or persistent disease", "2", "14"),
        ("relapsed or persistent disease", "4", "14"),
    }
    lee = {(r["group"], r["value"], r.get("p_value", "")) for r in by_study["lee-2013"]}
    assert lee == {
        ("early good response group (A group)", "55.6", ""),
        ("poor response group (B group)", "18.4", ""),
    }, "a group's figure carries no P value of its own"
    (compared,) = [r for r in got if r["kind"] == "comparison" and r["study"].endswith("lee-2013")]
    assert (compared["group"], compared["p_comparator"], compared["p_value"]) == (
        "early good response group (A group) vs poor response group (B group)",
        "<",
        "0.001",
    ), "one row for the comparison, naming both groups; P < 0.001 stays a bound"
    (hr,) = by_study["sun-2017"]
    assert (hr["value"], hr["lower"], hr["upper"], hr["p_comparator"], hr["p_value"]) == (
        "0.67",
        "0.51",
        "0.87",
        "=",
        "0.003",
    )
    assert hr["exposure"] == "Bortezomib maintenance (in the included trials)"
    assert hr["reference"] == "Non-bortezomib maintenance therapy (in the included trials)", "named by their arms"


def test_green_overall_survival_pairs_years_and_endpoints():
    got = {
        (r["group"], r["timepoint_value"]): r["value"]
        for r in rows("compare-outcomes", endpoint="NCIT:C125201")
        if r["study"].endswith("green-2017") and r["kind"] == "statistic"
    }
    assert got == {
        ("newly diagnosed high-risk", "2"): "75",
        ("newly diagnosed high-risk", "4"): "61",
        ("relapsed or persistent disease", "2"): "43",
        ("relapsed or persistent disease", "4"): "29",
    }


def test_meta_analysis_risk_ratios():
    got = {
        r["event"]: (r["effect"], r["ci_lower"], r["ci_upper"], r.get("p_value", ""))
        for r in rows("adverse-events", trial="trialkg.study:sun-2017")
    }
    assert got == {
        "Risk ratio of neutropenia, bortezomib vs non-bortezomib maintenance": ("1.39", "1.08", "1.79", ""),
        "Risk ratio of peripheral neuropathy, bortezomib vs non-bortezomib maintenance": (
            "2.23",
            "1.38",
            "3.61",
            "0.001",
        ),
        "Risk ratio of cardiologic events, bortezomib vs non-bortezomib maintenance": ("1.91", "1.12", "3.28", "0.02"),
    }


def test_green_medians_with_ranges_and_regimen_alternatives():
    got = {
        r["statistic"].rsplit("/", 1)[-1]: (r["value"], r.get("range_lower"), r.get("range_upper"), r.get("size", ""))
        for r in rows("efficacy", trial="trialkg.trial:green-2017")
        if "range_lower" in r
    }
    assert got == {
        "days-to-allograft": ("61", "41", "168", "26"),
        "days-to-bortezomib": ("79", "63", "103", "21"),
        "follow-up": ("51", "16", "86", ""),
    }
    interventions = [
        r["value"] for r in rows("trial-summary", trial="trialkg.trial:green-2017") if r["item"] == "9 intervention"
    ]
    assert interventions[0].startswith("Autologous"), "phases in the order the trial gives them"
    conditioning = [i for i in interventions if i.startswith("HLA-matched allogeneic")]
    assert any("Total-Body Irradiation 2 Gy" in i for i in conditioning), "the mandatory 2 Gy TBI, and HLA-matched"
    assert any("1.6 mg/m2 (intravenous)" in i and "alternative" in i for i in interventions)
    assert any("2.6 mg/m2 (subcutaneous)" in i and "alternative" in i for i in interventions)
    assert any("Fludarabine (with or without)" in i for i in interventions)


def test_registry_and_bibliographic_identifiers():
    regs = [
        r["value"] for r in rows("trial-summary", trial="trialkg.trial:green-2017") if r["item"] == "99 registration"
    ]
    assert regs == ["https://www.clinicaltrials.gov/study/NCT00793572"]
    (lee,) = {r["publication"] for r in rows("citation") if r["publication"].endswith("lee-2013")}
    ids = {q.object.value for q in PACKAGED.store.quads_for_pattern(ox.NamedNode(lee), None, None, None)}
    assert {"23341716", "PMC3546109", "10.3346/jkms.2013.28.1.80", "https://pubmed.ncbi.nlm.nih.gov/23341716/"} <= ids
    green = "https://w3id.org/trialkg/publication/green-2017"
    props = {q.predicate.value for q in PACKAGED.store.quads_for_pattern(ox.NamedNode(green), None, None, None)}
    assert TKG + "doi" not in props and TKG + "pmid" not in props, "identifiers the page does not show stay absent"


def test_evidence_by_drug_reaches_every_design():
    designs = {r["design"] for r in rows("evidence-by-drug", drug="DRUGBANK:DB00188")}
    assert designs == {"clinical trial", "observational study", "meta-analysis"}


# ---- each new shape, with a broken case ---------------------------------------------------------

S = "trialkg.study:sun-2017/"
G = "trialkg.trial:green-2017/"
L = "trialkg.study:lee-2013/"
CASES = [
    (
        "estimate-outside-ci",
        "sun-2017",
        "study:pfs-hazard-ratio-ci",
        "trialkg:lower 0.51 ;",
        "trialkg:lower 0.70 ;",
        S + "pfs-hazard-ratio",
        "outside its own interval",
    ),
    (
        "ratio-ci-not-above-0",
        "sun-2017",
        "study:neutropenia-risk-ratio-ci",
        "trialkg:lower 1.08 ;",
        "trialkg:lower -0.2 ;",
        S + "neutropenia-risk-ratio",
        "confidence interval lying above 0",
    ),
    (
        "ratio-without-ratio-unit",
        "sun-2017",
        "study:os-hazard-ratio",
        "trialkg:unit UO:0000190 ;",
        "trialkg:unit UO:0000187 ;",
        S + "os-hazard-ratio",
        "unit UO:0000190",
    ),
    (
        "ratio-without-reference-group",
        "sun-2017",
        "study:os-hazard-ratio",
        "trialkg:referenceGroup study:population-reference ;",
        "",
        S + "os-hazard-ratio",
        "exactly one reference group",
    ),
    (
        "subgroup-larger-than-enrolled",
        "green-2017",
        "trial:population-newly-diagnosed",
        "trialkg:size 24 ;",
        "trialkg:size 40 ;",
        G + "population-newly-diagnosed",
        "larger than the population it is a subset of",
    ),
    (
        "median-outside-range",
        "green-2017",
        "trial:days-to-allograft-range",
        "trialkg:upper 168 ;",
        "trialkg:upper 60 ;",
        G + "days-to-allograft",
        "outside its own interval",
    ),
    (
        "survival-rate-without-time-point",
        "green-2017",
        "trial:pfs-2y-relapsed",
        "trialkg:timePointValue 2 ; trialkg:timePointUnit UO:0000036 ;",
        "",
        G + "pfs-2y-relapsed",
        "at what time it was estimated",
    ),
    (
        "p-value-bound-above-1",
        "lee-2013",
        "study:pfs-3y-comparison-p",
        "trialkg:pValue 0.001 ;",
        "trialkg:pValue 1.5 ;",
        L + "pfs-3y-comparison-p",
        "in (0, 1]",
    ),
    (
        "p-value-comparator-unknown",
        "lee-2013",
        "study:os-3y-comparison-p",
        'trialkg:comparator "=" ;',
        'trialkg:comparator "~" ;',
        L + "os-3y-comparison-p",
        "'=') or a bound",
    ),
    (
        "comparison-of-different-things",
        "lee-2013",
        "study:pfs-3y-group-b",
        "trialkg:measures NCIT:C28234 ;",
        "trialkg:measures NCIT:C125201 ;",
        L + "pfs-3y-comparison",
        "measure the same thing",
    ),
    (
        "study-not-typed-study",
        "lee-2013",
        "<study/lee-2013>",
        "a trialkg:ObservationalStudy , trialkg:Study ;",
        "a trialkg:ObservationalStudy ;",
        "trialkg.study:lee-2013",
        "must also be typed trialkg:Study",
    ),
    (
        "bad-registration",
        "green-2017",
        "<trial/green-2017>",
        "<https://www.clinicaltrials.gov/study/NCT00793572>",
        "<https://example.org/NCT00793572>",
        "trialkg.trial:green-2017",
        "A registration is a registry record's IRI",
    ),
    (
        "bad-pmcid",
        "lee-2013",
        "<publication/lee-2013>",
        'trialkg:pmcid "PMC3546109" ;',
        'trialkg:pmcid "3546109" ;',
        "trialkg.publication:lee-2013",
        "PMC followed by digits",
    ),
]


@pytest.mark.parametrize("case,slug,subject,old,new,focus,message", CASES, ids=[c[0] for c in CASES])
def test_new_shapes_catch(edit_block, case, slug, subject, old, new, focus, message):
    ttl = edit_block(turtle(slug), subject, old, new)
    report = validate([Source(name="broken.ttl", slug="broken", data=ttl.encode())])
    hits = [v for v in report.violations if message in v.message]
    assert hits, f"expected {message!r}; got:\n{report.text()}"
    assert any(v.focus == focus for v in hits), [v.focus for v in hits]


@pytest.mark.slow
@pytest.mark.parametrize("case,slug,subject,old,new,focus,message", CASES, ids=[c[0] for c in CASES])
def test_new_shapes_agree_with_pyshacl(edit_block, case, slug, subject, old, new, focus, message):
    ttl = edit_block(turtle(slug), subject, old, new)
    sources = [Source(name="broken.ttl", slug="broken", data=ttl.encode())]
    key = lambda r: {(v.focus, v.path, v.message) for v in r.violations}  # noqa: E731
    assert key(validate(sources)) == key(validate(sources, engine="pyshacl"))


def _study(slug: str) -> str:
    graph = f"https://w3id.org/trialkg/graph/{slug}"
    (study,) = {
        r["s"].value
        for r in PACKAGED.store.query(
            f"SELECT DISTINCT ?s WHERE {{ GRAPH <{graph}> {{ ?s a ?c }} "
            f"?c <http://www.w3.org/2000/01/rdf-schema#subClassOf>* <{TKG}Study> }}",
            use_default_graph_as_union=True,
        )
    }
    return study


@pytest.mark.parametrize("slug", ["isoda-2018", *NEW])
def test_each_summary_and_page_reads_its_own_publication_only(slug):
    """No publication's summary or page carries a word only another publication's labels use."""
    import sys

    from kg.summary import summarize
    from kg.web import pages
    from kg.web.site import Site

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from words import label_words, page_text, words

    graphs = {s: f"https://w3id.org/trialkg/graph/{s}" for s in ["isoda-2018", *NEW]}
    own = set().union(
        *(words(q.object.value) for q in PACKAGED.quads(graphs[slug]) if isinstance(q.object, ox.Literal))
    )
    others = label_words(PACKAGED, [g for s, g in graphs.items() if s != slug]) - own - {w + "s" for w in own}
    templates = " ".join(
        p.read_text(encoding="utf-8")
        for p in (Path(__file__).resolve().parent.parent / "kg" / "web" / "templates").glob("*.html")
    )
    others -= words(page_text(templates)) | label_words(PACKAGED, ["https://w3id.org/trialkg/graph/ontology"])
    study = _study(slug)
    text = summarize(PACKAGED, trial=slug)
    assert slug.split("-")[0] in text.lower(), "the summary is about the publication asked for"
    assert not words(text) & others, sorted(words(text) & others)
    page = page_text(pages.page(Site(PACKAGED), study))
    assert not words(page) & others, sorted(words(page) & others)
    titles = {r["title"].value for r in PACKAGED.rows("citation") if r.get("trial") and r["trial"].value == study}
    assert titles and all(" ".join(t.split()) in " ".join(page.split()) for t in titles), "its own citation is there"


def test_a_figure_over_no_stated_population_says_so_in_the_summary():
    """Review 45: a safety figure on trialkg:PopulationNotStated read '2.4% | of not stated'. Every figure of the
    packaged graph whose population is not stated says 'population not stated', never 'of' it."""
    from kg.summary import summarize

    unstated = {
        (r["trial"].value.rsplit("/", 1)[1], r["event"].value)
        for r in PACKAGED.rows("adverse-events")
        if r.get("population") and r["population"].value.startswith("population not stated")
    }
    assert unstated, "the packaged graph has a safety figure over a population not stated (cavo-2012)"
    for slug, event in unstated:
        (line,) = [ln for ln in summarize(PACKAGED, trial=slug).splitlines() if ln.strip().startswith(event + " |")]
        assert "| population not stated |" in line and "of not stated" not in line, line


def test_a_trial_page_shows_its_registry_record_as_a_link():
    """Review 48: the registry record (NCT00793572) was only in the page's schema.org JSON, nowhere a reader sees
    or follows it."""
    from kg.web import pages
    from kg.web.site import Site

    site = Site(PACKAGED)
    registered = [
        (r["trial"].value, r["value"].value)
        for r in PACKAGED.rows("trial-summary")
        if r["item"].value.endswith(" registration")
    ]
    assert registered, "a packaged study is registered (green-2017)"
    for study, record in registered:
        assert f'<a href="{record}">' in pages.page(site, study), (study, record)
