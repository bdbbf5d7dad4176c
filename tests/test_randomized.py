"""Randomized, multi-arm trials: a synthetic three-arm trial conforms and every view shows it right; the
shapes refuse a P value on one group, a comparison of another study's group, an arm allocated more than
were randomized; and every view survives every conforming graph (figures shared by comparisons, arms
without figures, figures without arms)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from kg import sources
from kg.dataset import Dataset
from kg.export import WRITERS
from kg.summary import summarize
from kg.validate import validate

DATA = Path(__file__).parent / "data" / "rct"
RCT = DATA / "synthetic-rct-3arm.ttl"
T = "trialkg.trial:synthetic-rct-3arm/"


def test_the_three_arm_trial_conforms_with_its_source_text():
    report = validate(sources.files([RCT]))
    assert report.conforms, report.text()
    assert report.notes == [], "its source text is kept beside it, so its quotes were checked"


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = RCT.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / RCT.name
    path.write_text(text.replace(old, new), encoding="utf-8")
    shutil.copy(DATA / "synthetic-rct-3arm.txt", tmp_path / "synthetic-rct-3arm.txt")
    return path


#: (case, text in the trial file, its broken replacement, focus node, words of the expected message)
REFUSED = [
    (
        "p-value-on-one-group",
        "    trialkg:population trial:itt-vd ; trialkg:denominatorBasis trialkg:StatedInSentence ;\n"
        "    prov:wasDerivedFrom <publication/synthetic-rct-3arm> ; trialkg:quotedFrom pub:s2 .\n"
        "trial:cr-td a",
        "    trialkg:population trial:itt-vd ; trialkg:denominatorBasis trialkg:StatedInSentence ;\n"
        "    trialkg:attributeEstimate trial:cr-vd-vs-td-p ;\n"
        "    prov:wasDerivedFrom <publication/synthetic-rct-3arm> ; trialkg:quotedFrom pub:s2 .\n"
        "trial:cr-td a",
        T + "cr-vd",
        "A P value belongs to a comparison between groups",
    ),
    (
        "comparison-of-another-studys-arm",
        "    trialkg:exposureGroup trial:itt-vd ; trialkg:referenceGroup trial:itt-td ;\n"
        "    trialkg:attributeEstimate trial:cr-vd-vs-td-p ;",
        "    trialkg:exposureGroup trial:itt-vd ; trialkg:referenceGroup <trial/isoda-2018/population-evaluable> ;\n"
        "    trialkg:attributeEstimate trial:cr-vd-vs-td-p ;",
        T + "cr-vd-vs-td",
        "must be the population of one of the statistics it compares",
    ),
    (
        "effect-naming-another-studys-group",
        "    trialkg:exposureGroup trial:itt-vd ; trialkg:referenceGroup trial:itt-td ;\n"
        "    trialkg:attributeEstimate trial:cr-odds-ratio-ci",
        "    trialkg:exposureGroup trial:itt-vd ; trialkg:referenceGroup <trial/isoda-2018/population-evaluable> ;\n"
        "    trialkg:attributeEstimate trial:cr-odds-ratio-ci",
        T + "cr-odds-ratio",
        "compares groups of its own study",
    ),
    (
        "arm-allocated-more-than-randomized",
        "trialkg:size 130 ; trialkg:sizeBasis trialkg:StatedInSentence ;",
        "trialkg:size 400 ; trialkg:sizeBasis trialkg:StatedInSentence ;",
        T + "randomized",
        "The participants allocated to an arm outnumber those allocated across the arms",
    ),
    (
        "arms-allocated-more-than-randomized-together",
        "trialkg:size 386 ; trialkg:sizeBasis trialkg:StatedInSentence ;",
        "trialkg:size 300 ; trialkg:sizeBasis trialkg:StatedInSentence ;",
        T + "randomized",
        "the arms' allocations add up to more than it",
    ),
    (
        "global-test-without-its-groups",
        "    trialkg:comparedGroup trial:itt-vd , trial:itt-td , trial:itt-vbmcp ;\n",
        "    trialkg:comparedGroup trial:itt-vd , trial:itt-td ;\n",
        T + "pfs-three-arms",
        "names every group it compares with trialkg:comparedGroup",
    ),
    (
        "pair-without-exposure-and-reference",
        "    trialkg:exposureGroup trial:itt-vd ; trialkg:referenceGroup trial:itt-vbmcp ;\n"
        "    trialkg:attributeEstimate trial:cr-vd-vs-vbmcp-p ;",
        "    trialkg:attributeEstimate trial:cr-vd-vs-vbmcp-p ;",
        T + "cr-vd-vs-vbmcp",
        "A comparison of two groups names them as trialkg:exposureGroup and trialkg:referenceGroup",
    ),
    (
        "comparison-with-neither-p-nor-significance",
        "    trialkg:attributeEstimate trial:pfs-three-arms-p ;\n",
        "",
        T + "pfs-three-arms",
        "its P value (trialkg:attributeEstimate, a trialkg:PValue), its significance in words",
    ),
    (
        "size-without-basis",
        "trialkg:size 127 ; trialkg:sizeBasis trialkg:StatedInSentence ;",
        "trialkg:size 127 ;",
        T + "itt-td",
        "A population with a size says how that size was chosen",
    ),
    (
        "population-within-another-studys-arm",
        "trialkg:withinArm trial:arm-td ;",
        "trialkg:withinArm <trial/isoda-2018/arm> ;",
        T + "itt-td",
        "A population is within an arm of its own study",
    ),
    (
        "phase-without-basis",
        "trialkg:duringPhase trial:induction-td ; trialkg:phaseBasis trialkg:StatedInSentence ;",
        "trialkg:duringPhase trial:induction-td ;",
        T + "cr-td",
        "says how that phase was chosen (trialkg:phaseBasis",
    ),
    (
        "alternating-parts-without-structure",
        "    trialkg:regimenStructure trialkg:Alternating ;\n",
        "",
        T + "induction-vbmcp",
        "says how they follow each other (trialkg:regimenStructure:",
    ),
    (
        "two-arms-set-smaller-than-its-arms",
        "    trialkg:size 257 ; trialkg:sizeBasis trialkg:InferredFromDesign ;",
        "    trialkg:size 250 ; trialkg:sizeBasis trialkg:InferredFromDesign ;",
        T + "itt-vd-or-td",
        "The set of all allocated to the arms a population spans is not what those arms' sets add up to",
    ),
    (
        "two-arms-set-larger-than-its-arms",
        "    trialkg:size 257 ; trialkg:sizeBasis trialkg:InferredFromDesign ;",
        "    trialkg:size 380 ; trialkg:sizeBasis trialkg:InferredFromDesign ;",
        T + "itt-vd-or-td",
        "The set of all allocated to the arms a population spans is not what those arms' sets add up to",
    ),
    (
        "an-arms-set-in-a-set-of-other-arms",
        "    trialkg:subsetOf trial:randomized ; trialkg:enteredPhase trial:induction-vbmcp ;",
        "    trialkg:subsetOf trial:randomized , trial:itt-vd-or-td ; trialkg:enteredPhase trial:induction-vbmcp ;",
        T + "itt-vbmcp",
        "cannot be a subset of a population that spans other arms",
    ),
    (
        "an-effect-over-a-set-of-other-arms",
        "    trialkg:population trial:itt-vd-or-vbmcp ;",
        "    trialkg:population trial:itt-vd-or-td ;",
        T + "pn-risk-difference",
        "compares groups of those arms",
    ),
    (
        "a-set-spanning-one-arm",
        "    trialkg:spansArm trial:arm-vd , trial:arm-td ;",
        "    trialkg:spansArm trial:arm-vd ;",
        T + "itt-vd-or-td",
        "names two or more of its own study's arms and is within none",
    ),
    (
        "a-set-spanning-arms-and-within-one",
        "    trialkg:spansArm trial:arm-vd , trial:arm-vbmcp ;",
        "    trialkg:spansArm trial:arm-vd , trial:arm-vbmcp ; trialkg:withinArm trial:arm-vd ;",
        T + "itt-vd-or-vbmcp",
        "names two or more of its own study's arms and is within none",
    ),
    (
        "an-article-without-journal-or-note",
        "    trialkg:publishedIn <journal/synthetic-journal> ;\n",
        "",
        "trialkg.publication:synthetic-rct-3arm",
        "A journal article needs its journal (trialkg:publishedIn a trialkg:Journal), or, where no page",
    ),
    (
        "an-article-without-journal-whose-note-is-about-its-authors",
        "    trialkg:publishedIn <journal/synthetic-journal> ;\n",
        '    skos:note "The authors are listed in the order the page gives." ;\n',
        "trialkg.publication:synthetic-rct-3arm",
        "A journal article needs its journal (trialkg:publishedIn a trialkg:Journal), or, where no page",
    ),
    (
        "effect-type-on-a-group-figure",
        "trialkg:statisticType NCIT:C44256 ; trialkg:measures NCIT:C4870 ; trialkg:value 52 ;",
        "trialkg:statisticType NCIT:C16932 ; trialkg:measures NCIT:C4870 ; trialkg:value 52 ;",
        T + "cr-after-asct-vd",
        "Only a between-group effect",
    ),
]


@pytest.mark.parametrize("case,old,new,focus,message", REFUSED, ids=[c[0] for c in REFUSED])
def test_the_shapes_refuse(tmp_path, case, old, new, focus, message):
    path = _broken(tmp_path, old, new)
    report = validate(sources.files([path]))
    assert not report.conforms
    hits = [v for v in report.errors if v.focus == focus and message in v.message]
    assert hits, f"expected {message!r} on {focus}; got:\n{report.text()}"
    assert all(v.at > 0 for v in hits), "every violation names the line of its focus resource"


@pytest.mark.slow
@pytest.mark.parametrize("case,old,new,focus,message", REFUSED, ids=[c[0] for c in REFUSED])
def test_pyshacl_refuses_the_same(tmp_path, case, old, new, focus, message):
    path = _broken(tmp_path, old, new)
    compiled = validate(sources.files([path]))
    reference = validate(sources.files([path]), engine="pyshacl")
    assert {(v.focus, v.message) for v in reference.errors} == {(v.focus, v.message) for v in compiled.errors}


# ---- every view, on every conforming graph ---------------------------------------------------------

EXTRA_ARM = """
trial:arm-observation a trialkg:StudyArm ; rdfs:label "Observation" ; trialkg:armType NCIT:C174270 ; trialkg:position 4 ;
    trialkg:hasTreatmentPhase trial:asct ; prov:wasDerivedFrom <publication/synthetic-rct-3arm> ; trialkg:quotedFrom pub:s1 .
"""


def _variants(tmp_path: Path) -> dict[str, Path]:
    """The trial as it is, and with an arm that has no figure and no allocation (the arm is listed by its study)."""
    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copy(RCT, plain / RCT.name)
    extra = tmp_path / "extra-arm"
    extra.mkdir()
    text = RCT.read_text(encoding="utf-8").replace(
        "trialkg:hasArm trial:arm-vd , trial:arm-td , trial:arm-vbmcp ;",
        "trialkg:hasArm trial:arm-vd , trial:arm-td , trial:arm-vbmcp , trial:arm-observation ;",
    )
    (extra / RCT.name).write_text(text + EXTRA_ARM, encoding="utf-8")
    unseen = tmp_path / "what-no-page-showed"
    unseen.mkdir()
    (unseen / RCT.name).write_text(_unseen(RCT.read_text(encoding="utf-8")), encoding="utf-8")
    journal = tmp_path / "no-journal-either"
    journal.mkdir()
    (journal / RCT.name).write_text(_no_journal(_unseen(RCT.read_text(encoding="utf-8"))), encoding="utf-8")
    return {"plain": plain, "extra-arm": extra, "what-no-page-showed": unseen, "no-journal-either": journal}


def _no_journal(text: str) -> str:
    """The trial read from a page that shows no journal either (review 34: a curator had to make one up)."""
    start = text.index("<publication/synthetic-rct-3arm> a ")
    at = text.index("    trialkg:publishedIn ", start)
    text = text[:at] + text[text.index("\n", at) + 1 :]
    text = re.sub(r"(?m)^<journal/[^>]*> a trialkg:Journal[^\n]*(\n    [^\n]*)*\n", "", text)
    return text.replace("neither title nor authors.", "neither title, authors nor journal.")


def _unseen(text: str) -> str:
    """The trial as a curator writes it from an abstract that shows no title, no authors, no phase and not
    the order of a regimen's parts: each left out (or said not stated), with a note where the shapes ask."""
    for old, new in [
        ('    dcterms:title "A synthetic randomized trial of three induction regimens (test data)" ;\n', ""),
        (
            "    trialkg:hasAuthorship pub:author-1 ;\n    trialkg:authorListComplete true ;",
            '    trialkg:authorListComplete false ;\n    skos:note "The page read shows neither title nor authors." ;',
        ),
        ('pub:author-1 a trialkg:Authorship ; trialkg:position 1 ; trialkg:authorName "Test Author" .\n', ""),
        ("trialkg:trialPhase NCIT:C15602 ;", "trialkg:trialPhase trialkg:PhaseNotStated ;"),
        ("trialkg:regimenStructure trialkg:Alternating ;", "trialkg:regimenStructure trialkg:OrderNotStated ;"),
        (
            "trialkg:hasComparison trial:cr-vd-vs-td , trial:cr-vd-vs-vbmcp , trial:pfs-three-arms .",
            "trialkg:hasComparison trial:cr-vd-vs-td , trial:cr-vd-vs-vbmcp , trial:pfs-three-arms ;\n"
            "    trialkg:hasClaim trial:claim-follow-up .\n"
            'trial:claim-follow-up a trialkg:Claim ; trialkg:claimText "Median follow-up was 41 months." ;\n'
            "    prov:wasAttributedTo <publication/synthetic-rct-3arm> ;\n"
            "    prov:wasDerivedFrom <publication/synthetic-rct-3arm> ; trialkg:quotedFrom pub:s7 .",
        ),
    ]:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def test_an_article_without_authors_needs_a_note_saying_no_page_showed_them(tmp_path):
    text = _unseen(RCT.read_text(encoding="utf-8")).replace(
        '    skos:note "The page read shows neither title nor authors." ;\n', ""
    )
    path = tmp_path / RCT.name
    path.write_text(text, encoding="utf-8")
    report = validate(sources.files([path]))
    messages = {v.message for v in report.errors if v.focus == "trialkg.publication:synthetic-rct-3arm"}
    assert any("needs at least one author entry" in m and "skos:note" in m for m in messages), report.text()
    assert any("needs its title" in m for m in messages), report.text()


@pytest.mark.slow
def test_every_view_shows_the_trial_by_arm_and_comparison(tmp_path):
    from kg.query import catalog
    from kg.web import pages
    from kg.web.site import Site

    for name, folder in _variants(tmp_path).items():
        files = sources.files([folder])
        report = validate(files)
        assert report.conforms, f"{name}: {report.text()}"
        ds = Dataset.build(files)
        text = summarize(ds, ["synthetic-rct-3arm"])
        cited = ds.run("citation").rows
        assert len(cited) == 1, f"{name}: the article has its citation row, authors shown or not"
        unseen = name in ("what-no-page-showed", "no-journal-either")
        journal = "" if name == "no-journal-either" else " Synthetic Journal."
        if unseen:
            assert f"Source: Synthetic three-arm trial report.{journal}\n" in text, text
            assert "phase not stated" in text and "(order not stated)" in text, text
            claim = "Median follow-up was 41 months. | Synthetic three-arm trial report"
            assert claim in text, "a claim without a label shows by its text"
            shown = {r["label"].value for r in ds.run("provenance").rows}
            assert "Median follow-up was 41 months." in shown
        else:
            assert "Source: Test Author. A synthetic randomized trial" in text, text
        assert "compared: VD vs TD (Induction Therapy): 31% vs 15%, P = 0.001 (chi-square test)" in text
        assert "compared: VD vs VBMCP/VBAD/B (Induction Therapy): 31% vs 20%, P = 0.04" in text
        assert "compared: VD vs TD vs VBMCP/VBAD/B: 36 months vs 28 months vs 29 months, P = 0.03" in text
        assert "Odds Ratio 2.53 [95% CI 1.39-4.68], P = 0.002, VD vs TD" in text
        assert "assessed at completion of the autologous transplant (every member, reached or not)" in text
        assert "Risk Difference 8 [95% CI 2.1-13.9], VD vs VBMCP/VBAD/B" in text
        # the arm in two pairs shows its figure once: one line per statistic, one per comparison
        assert text.count("Complete response after induction, VD: Proportion 31%") == 1
        for q in catalog.names():
            params = {p.name: "NCIT:C4870" for p in catalog.get(q).parameters if p.required}
            if q == "resources":
                params = {"namespace": "https://w3id.org/trialkg/trial/"}
            ds.run(q, params)  # no query fails on a conforming graph
        site = Site(ds)
        trial = pages.page(site, "https://w3id.org/trialkg/trial/synthetic-rct-3arm")
        assert 'id="comparisons"' in trial and "VD vs TD vs VBMCP/VBAD/B" in trial
        # the response chart names when each bar was assessed: after transplant is not the induction rate
        assert "Complete Remission, completion of the autologous transplant: 52% of 130" in trial
        assert "Complete Remission, Induction Therapy: 31% of 130" in trial
        structure = "order not stated" if unseen else "alternating"
        assert (
            "regimen by arm" in trial and f"VBMCP/VBAD/B | VBMCP/VBAD/B induction ({structure}), part 2 VBAD" in trial
        )
        citation = trial[trial.index('id="citation"') :]
        author = "Synthetic three-arm trial report</a>" if unseen else "Test Author</a>"
        if unseen:
            assert 'id="claims"' in trial and "Median follow-up was 41 months.</a>" in trial
        assert author in citation and ("<i>Synthetic Journal</i>" in citation) == bool(journal), citation[:400]
        for fmt, writers in WRITERS.items() if name == "no-journal-either" else ():  # every export reads it
            for file_name, write in writers.items():
                assert write(ds), (name, fmt, file_name)
        for view in pages.evidence_views(site):
            html = pages.evidence_page(site, view.slug)
            assert html and "Traceback" not in html
        cr = pages.evidence_page(site, "complete-remission")
        assert 'id="forest-chart"' in cr and "Odds Ratio (log scale)" in cr
        assert re.findall(r'<tr class="comparison"', cr) and "VD vs TD" in cr
        ae = pages.evidence_page(site, "adverse-events")
        assert 'id="difference-chart"' in ae, "a risk difference on a linear axis with its line at 0"
        for resource in site.resources():
            pages.page(site, resource)
