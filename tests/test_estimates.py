"""A statistic with more than one estimate (a 95% and a 99% CI; a range and a CI) reads whole in every view.

The two publications in tests/data/estimates/ were written by a reviewer as a curator would, and conform;
`kg summary` stopped on the first (an internal error), the trial page listed its hazard ratio twice, and the
evidence page kept one interval of each (review 38).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kg import sources
from kg.dataset import Dataset
from kg.summary import summarize
from kg.validate import validate
from kg.web import pages
from kg.web.site import Site

DATA = Path(__file__).resolve().parent / "data" / "estimates"
TRIAL = "https://w3id.org/trialkg/trial/"


@pytest.fixture(scope="module")
def site() -> Site:
    pubs = [sources.read(p) for p in sorted(DATA.glob("*.ttl"))]
    report = validate(pubs)
    assert report.conforms, report.text()
    return Site(Dataset.build(pubs))


def test_the_summary_gives_every_interval_of_a_statistic_once(site):
    text = summarize(site.dataset, ["d-twoci"])
    (line,) = [x for x in text.splitlines() if "HR for PFS with two intervals" in x]
    assert "[95% CI 0.5-0.98; 99% CI 0.45-1.09]" in line
    text = summarize(site.dataset, ["mix-2024"])
    (line,) = [x for x in text.splitlines() if "Median follow-up" in x]
    assert "[95% CI 28-32] (range 2-60)" in line


def test_the_trial_page_shows_a_statistic_once_with_each_of_its_intervals(site):
    html = pages.page(site, TRIAL + "d-twoci")
    assert html.count(">HR for PFS with two intervals<") == 1
    assert "95% CI 0.5 to 0.98; 99% CI 0.45 to 1.09" in html
    html = pages.page(site, TRIAL + "mix-2024")
    assert "95% CI 28 to 32" in html and "range 2 to 60" in html


def test_the_evidence_page_names_every_interval(site):
    html = pages.evidence_page(site, "duration-of-follow-up")
    assert html is not None
    assert "95% confidence interval 28 to 32" in html and "range 2 to 60" in html


def test_a_p_value_above_a_bound_is_kept_a_bound(site):
    """'P > .05' (FHIR's Quantity.comparator allows > and >=) was refused, and kg new wrote it as 'P = 0.05'."""
    from kg import new
    from kg.export import fhir

    text = summarize(site.dataset, ["v-pgt"])
    assert "P > 0.05" in text
    comparators = [
        e["quantity"].get("comparator")
        for entry in fhir(site.dataset)["entry"]
        if entry["resource"]["resourceType"] == "Evidence" and "/v-pgt/" in entry["fullUrl"]
        for s in entry["resource"]["statistic"]
        for e in s.get("attributeEstimate", [])
        if "quantity" in e
    ]
    assert ">" in comparators
    (p,) = [f for f in new.figures("The rates were 70% and 50% (P > .05).") if f.kind == "p"]
    assert p.comparator == ">"


def test_an_interval_whose_upper_end_is_not_reached_reads_in_every_view(site):
    """'Median OS not reached (95% CI, 25.3 to NR)' and '14.0 months (95% CI, 10.2 to NE)' could not be stated (a
    CI needed both bounds; reviews 38 and 43 dropped them): the interval has its lower bound and
    trialkg:upperNotReached, and every view says 'not reached', never a number."""
    from kg.export import fhir

    base = TRIAL + "nr-2026/"
    text = summarize(site.dataset, ["nr-2026"])
    (os_line,) = [x for x in text.splitlines() if "Median overall survival, VD" in x]
    assert "Median not reached [95% CI 25.3 to not reached]" in os_line
    (pfs_line,) = [x for x in text.splitlines() if "Median progression-free survival, VD" in x]
    assert "[95% CI 10.2 to not reached]" in pfs_line
    rows = {r["statistic"].value: r for r in site.dataset.run("efficacy", {"trial": TRIAL + "nr-2026"}).rows}
    assert rows[base + "pfs-vd"]["ci_upper_not_reached"].value == "true" and "ci_upper" not in rows[base + "pfs-vd"]
    assert (
        rows[base + "os-d"]["ci_upper_not_reached"].value == "false" and rows[base + "os-d"]["ci_upper"].value == "29.2"
    )
    for name, params in (("evidence-statistics", {}), ("compare-outcomes", {"endpoint": "NCIT:C28234"})):
        flagged = {
            r["statistic"].value
            for r in site.dataset.run(name, params).rows
            if cell_of(r, "upper_not_reached") == "true"
        }
        assert base + "pfs-vd" in flagged, name
    html = pages.page(site, TRIAL + "nr-2026")
    assert "95% CI 25.3 to not reached" in html and "95% CI 10.2 to not reached" in html
    evidence = pages.evidence_page(site, "progression-free-survival")
    assert "95% confidence interval 10.2 to not reached" in evidence
    # the charts draw the interval from its lower bound to the plot's edge with an open arrowhead (they drew none)
    for page, cls in ((html, "ci"), (evidence, "interval")):
        (line,) = re.findall(rf'<line class="{cls}" [^>]*data-lower="10.2" data-upper="([^"]*)"', page)
        assert line == "not reached"
        x2 = float(re.search(rf'<line class="{cls}" [^>]*x2="([\d.]+)"[^>]*data-lower="10.2"', page).group(1))
        ends = [float(x) for x in re.findall(r'<path class="open-end" d="M[\d.]+,[\d.]+ L([\d.]+),', page)]
        assert ends == [x2], "one open end, at the end of the line"
    estimates = [
        ae
        for e in fhir(site.dataset)["entry"]
        for st in e["resource"].get("statistic", [])
        for ae in st.get("attributeEstimate", [])
        if ae.get("range", {}).get("low", {}).get("value") in (25.3, 10.2)
    ]
    assert len(estimates) == 2 and all("high" not in ae["range"] and ae["note"] for ae in estimates)


def cell_of(row, name):
    return row[name].value if name in row else ""


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("trialkg:lower 25.3 ; trialkg:upperNotReached true ;", "trialkg:lower 25.3 ;"),
        (
            "trialkg:lower 25.3 ; trialkg:upperNotReached true ;",
            "trialkg:lower 25.3 ; trialkg:upper 40 ; trialkg:upperNotReached true ;",
        ),
    ],
    ids=["neither", "both"],
)
def test_an_interval_has_an_upper_number_or_says_it_was_not_reached(tmp_path, old, new):
    for f in ("nr-2026.ttl", "nr-2026.txt"):
        text = (DATA / f).read_text(encoding="utf-8")
        (tmp_path / f).write_text(text.replace(old, new) if f.endswith(".ttl") else text, encoding="utf-8")
    report = validate([sources.read(tmp_path / "nr-2026.ttl")])
    assert any("needs an upper bound" in e.message for e in report.errors), report.text()


def test_an_adverse_event_effect_whose_interval_ends_not_reached(tmp_path, kg):
    """The adverse-events table of a trial page printed such an interval '(2.1–)': it says 'not reached', as the
    summary does, and adverse-events flags it."""
    rct = Path(__file__).parent / "data" / "rct"
    for f in ("synthetic-rct-3arm.ttl", "synthetic-rct-3arm.txt"):
        text = (rct / f).read_text(encoding="utf-8").replace("95% CI, 2.1-13.9", "95% CI, 2.1 to NR")
        text = text.replace(
            "trialkg:lower 2.1 ; trialkg:upper 13.9 ;", "trialkg:lower 2.1 ; trialkg:upperNotReached true ;"
        )
        (tmp_path / f).write_text(text, encoding="utf-8")
    assert kg("validate", str(tmp_path)).returncode == 0
    ds = Dataset.from_paths([tmp_path])
    (row,) = [r for r in ds.run("adverse-events", {}).rows if r["item"].value.endswith("pn-risk-difference")]
    assert row["ci_upper_not_reached"].value == "true" and "ci_upper" not in row
    html = pages.page(Site(ds), TRIAL + "synthetic-rct-3arm")
    assert "(2.1–not reached)" in html
    assert "95% CI 2.1 to not reached" in kg("summary", "synthetic-rct-3arm", "--trials", str(tmp_path)).stdout
