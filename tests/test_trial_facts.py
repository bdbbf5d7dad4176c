"""Every fact of the seed text is in the graph with value, unit, denominator or time anchor, and a verbatim quote."""

from __future__ import annotations

from decimal import Decimal

import pytest

T = "https://w3id.org/trialkg/trial/isoda-2018/"
NEWS = "https://w3id.org/trialkg/publication/cta-isoda-2018"
PAPER = "https://w3id.org/trialkg/publication/isoda-2018"
NCIT = "http://purl.obolibrary.org/obo/NCIT_"
HP = "http://purl.obolibrary.org/obo/HP_"
UO = "http://purl.obolibrary.org/obo/UO_"
TKG = "https://w3id.org/trialkg/ontology/"
MONTH, PERCENT, COUNT = UO + "0000035", UO + "0000187", UO + "0000189"
MEDIAN, PROPORTION, N = NCIT + "C28007", NCIT + "C44256", NCIT + "C25463"
EVALUABLE, MAINT, NOT_STATED = T + "population-evaluable", T + "population-maintenance", TKG + "PopulationNotStated"
COMPLETED = T + "population-completed-maintenance"
STATED, PARAGRAPH, DESIGN, NOT = (
    TKG + "StatedInSentence",
    TKG + "InferredFromParagraph",
    TKG + "InferredFromDesign",
    TKG + "NotStated",
)

# (slug, statistic type, measures, value or None for "not reached", unit, population, time origin, source,
#  how the denominator was chosen)
FACTS = [
    ("orr", PROPORTION, TKG + "OverallResponse", "61", PERCENT, EVALUABLE, None, NEWS, STATED),
    ("disease-progression", PROPORTION, NCIT + "C17747", "50", PERCENT, NOT_STATED, None, NEWS, NOT),
    ("after-maintenance-scr", N, NCIT + "C123614", "1", COUNT, COMPLETED, None, NEWS, DESIGN),
    ("after-maintenance-vgpr", N, NCIT + "C123618", "2", COUNT, COMPLETED, None, NEWS, DESIGN),
    ("after-maintenance-pr", N, NCIT + "C18058", "3", COUNT, COMPLETED, None, NEWS, DESIGN),
    ("after-maintenance-sd", N, NCIT + "C18213", "3", COUNT, COMPLETED, None, NEWS, DESIGN),
    ("induction-duration", MEDIAN, TKG + "TreatmentDuration", "5.9", MONTH, NOT_STATED, None, NEWS, NOT),
    ("maintenance-duration", MEDIAN, TKG + "TreatmentDuration", "10.3", MONTH, MAINT, None, NEWS, DESIGN),
    ("pfs-from-induction", MEDIAN, NCIT + "C28234", "13.8", MONTH, NOT_STATED, TKG + "StartOfInduction", NEWS, NOT),
    ("pfs-from-maintenance", MEDIAN, NCIT + "C28234", "10.7", MONTH, MAINT, TKG + "StartOfMaintenance", NEWS, DESIGN),
    ("follow-up", MEDIAN, TKG + "FollowUpDuration", "30.7", MONTH, NOT_STATED, None, NEWS, NOT),
    ("os-from-induction", MEDIAN, NCIT + "C125201", None, MONTH, NOT_STATED, TKG + "StartOfInduction", NEWS, NOT),
    ("treatment-related-ae", PROPORTION, NCIT + "C41331", "35", PERCENT, MAINT, None, NEWS, STATED),
    ("grade3-leukopenia-thrombocytopenia", N, NCIT + "C41331", "2", COUNT, MAINT, None, NEWS, PARAGRAPH),
    ("orr-during-induction", PROPORTION, TKG + "OverallResponse", "61", PERCENT, EVALUABLE, None, PAPER, STATED),
    ("induction-scr", PROPORTION, NCIT + "C123614", "6", PERCENT, EVALUABLE, None, PAPER, STATED),
    ("induction-cr", PROPORTION, NCIT + "C4870", "6", PERCENT, EVALUABLE, None, PAPER, STATED),
    ("induction-vgpr", PROPORTION, NCIT + "C123618", "17", PERCENT, EVALUABLE, None, PAPER, STATED),
    ("induction-pr", PROPORTION, NCIT + "C18058", "33", PERCENT, EVALUABLE, None, PAPER, STATED),
    (
        "pfs-from-induction-abstract",
        MEDIAN,
        NCIT + "C28234",
        "13.8",
        MONTH,
        NOT_STATED,
        TKG + "StartOfInduction",
        PAPER,
        NOT,
    ),
    (
        "pfs-from-maintenance-abstract",
        MEDIAN,
        NCIT + "C28234",
        "10.7",
        MONTH,
        MAINT,
        TKG + "StartOfMaintenance",
        PAPER,
        DESIGN,
    ),
    ("grade2plus-peripheral-neuropathy", N, NCIT + "C41331", "0", COUNT, MAINT, None, PAPER, DESIGN),
]


def one(store, query: str):
    rows = list(store.query(query, use_default_graph_as_union=True))
    assert len(rows) == 1, f"expected one row, got {len(rows)}"
    return rows[0]


def values(store, s: str, p: str) -> set[str]:
    q = f"SELECT ?o WHERE {{ <{s}> <{p}> ?o }}"
    return {r["o"].value for r in store.query(q, use_default_graph_as_union=True)}


@pytest.mark.parametrize(
    "slug,stype,measures,value,unit,population,origin,source,basis", FACTS, ids=[f[0] for f in FACTS]
)
def test_statistic(store, slug, stype, measures, value, unit, population, origin, source, basis):
    s = T + slug
    assert values(store, s, TKG + "statisticType") == {stype}
    assert measures in values(store, s, TKG + "measures")
    if value is None:
        assert values(store, s, TKG + "notReached") == {"true"}
        assert values(store, s, TKG + "value") == set(), "a median that was not reached has no number"
    else:
        (got,) = values(store, s, TKG + "value")
        assert Decimal(got) == Decimal(value)
    assert values(store, s, TKG + "unit") == {unit}
    assert values(store, s, TKG + "population") == {population}
    assert values(store, s, TKG + "timeOrigin") == ({origin} if origin else set())
    assert values(store, s, "http://www.w3.org/ns/prov#wasDerivedFrom") == {source}
    assert values(store, s, TKG + "quotedFrom"), "every statistic names the sentence it came from"
    assert values(store, s, TKG + "denominatorBasis") == {basis}
    reason = values(store, s, TKG + "denominatorReason")
    assert bool(reason) == (basis in (PARAGRAPH, DESIGN)), (
        "an inferred denominator says why, a stated one needs no reason"
    )


def test_after_maintenance_counts_sit_on_those_who_completed_maintenance(store):
    """Issue 10.1: only patients who entered maintenance could complete it; the size of that group is not stated."""
    assert values(store, COMPLETED, TKG + "subsetOf") == {MAINT}
    assert values(store, COMPLETED, TKG + "completedPhase") == {T + "maintenance"}
    assert values(store, COMPLETED, TKG + "size") == set(), "no source states how many completed the year"
    assert values(store, MAINT, TKG + "enteredPhase") == {T + "maintenance"}
    counted = sum(
        int(next(iter(values(store, T + s, TKG + "value"))))
        for s in ("after-maintenance-scr", "after-maintenance-vgpr", "after-maintenance-pr", "after-maintenance-sd")
    )
    assert counted <= 20, "the counts after maintenance fit within the 20 who started it"


def test_twin_reports_are_linked_to_one_finding(store):
    """Issue 10.3: ORR and both PFS medians are one finding each, reported by the news report and the abstract."""
    prov = "http://www.w3.org/ns/prov#specializationOf"
    for finding, reports in [
        ("finding-orr", {"orr", "orr-during-induction"}),
        ("finding-pfs-from-induction", {"pfs-from-induction", "pfs-from-induction-abstract"}),
        ("finding-pfs-from-maintenance", {"pfs-from-maintenance", "pfs-from-maintenance-abstract"}),
    ]:
        got = {
            r["s"].value
            for r in store.query(f"SELECT ?s WHERE {{ ?s <{prov}> <{T + finding}> }}", use_default_graph_as_union=True)
        }
        assert got == {T + r for r in reports}
        sources = {next(iter(values(store, T + r, "http://www.w3.org/ns/prov#wasDerivedFrom"))) for r in reports}
        assert sources == {NEWS, PAPER}, "each finding is reported once by each document"


def test_every_statistic_is_listed_above(store):
    rows = store.query(
        "SELECT ?s WHERE { <https://w3id.org/trialkg/trial/isoda-2018> <https://w3id.org/trialkg/ontology/hasStatistic> ?s }",
        use_default_graph_as_union=True,
    )
    assert {r["s"].value for r in rows} == {T + f[0] for f in FACTS}


def test_population_sizes(store):
    for slug, size, source in [
        ("population-enrolled", "38", NEWS),
        ("population-evaluable", "36", NEWS),
        ("population-maintenance", "20", PAPER),
    ]:
        assert values(store, T + slug, TKG + "size") == {size}
        assert values(store, T + slug, "http://www.w3.org/ns/prov#wasDerivedFrom") == {source}


def test_confidence_intervals(store):
    for slug, lo, hi in [
        ("pfs-from-induction-abstract", "11.4", "23.7"),
        ("pfs-from-maintenance-abstract", "3.7", "10.7"),
    ]:
        (ci,) = values(store, T + slug, TKG + "attributeEstimate")
        assert Decimal(next(iter(values(store, ci, TKG + "level")))) == Decimal("0.95")
        assert Decimal(next(iter(values(store, ci, TKG + "lower")))) == Decimal(lo)
        assert Decimal(next(iter(values(store, ci, TKG + "upper")))) == Decimal(hi)


def test_grade3_sentence_is_one_joint_count(store):
    """'Grade 3 leukopenia and thrombocytopenia occurred in 2 patients' is one count for both, not 2 each."""
    s = T + "grade3-leukopenia-thrombocytopenia"
    assert values(store, s, TKG + "adverseEvent") == {HP + "0001882", HP + "0001873"}
    assert values(store, s, TKG + "grade") == {NCIT + "C41340"}
    rows = list(
        store.query(
            "SELECT ?s WHERE { ?s <https://w3id.org/trialkg/ontology/adverseEvent> <http://purl.obolibrary.org/obo/HP_0001882> }",
            use_default_graph_as_union=True,
        )
    )
    assert [r["s"].value for r in rows] == [s], "no separate count may be invented for leukopenia alone"


def test_other_adverse_events_have_no_grade_or_number(store):
    expected = {
        "sensory-neuropathy": "0000763",
        "diarrhea": "0002014",
        "constipation": "0002019",
        "nausea": "0002018",
        "fatigue": "0012378",
        "pruritus": "0000989",
    }
    for slug, hp in expected.items():
        s = T + "ae-" + slug
        assert values(store, s, TKG + "adverseEvent") == {HP + hp}
        assert values(store, s, TKG + "grade") == set()
        assert values(store, s, TKG + "value") == set()


def test_regimens(store):
    m = T + "maintenance-bortezomib"
    assert values(store, m, TKG + "drug") == {NCIT + "C1851"}
    assert values(store, m, TKG + "doseValue") == {"1.3"}
    assert values(store, m, TKG + "doseUnit") == {UO + "0000309"}
    assert values(store, m, TKG + "frequency") == {NCIT + "C71127"}
    phase = T + "maintenance"
    assert values(store, phase, TKG + "durationValue") == {"1"}
    assert values(store, phase, TKG + "durationUnit") == {UO + "0000036"}
    assert values(store, phase, TKG + "startWindowValue") == {"60"}
    assert values(store, phase, TKG + "startWindowUnit") == {UO + "0000033"}
    assert values(store, phase, TKG + "startRelativeTo") == {TKG + "CompletionOfInduction"}
    assert values(store, T + "induction", TKG + "stopRule") == {"until plateau"}
    assert values(store, T + "induction", TKG + "followedBy") == {phase}


def test_design(store):
    trial = "https://w3id.org/trialkg/trial/isoda-2018"
    assert values(store, trial, TKG + "trialPhase") == {NCIT + "C15601"}
    assert values(store, trial, TKG + "designCharacteristic") == {NCIT + "C217005", TKG + "NonComparativeDesign"}
    assert values(store, trial, TKG + "studiesCondition") == {"http://purl.obolibrary.org/obo/MONDO_0009693"}
    assert values(store, trial, TKG + "eligibility") == {
        "previously untreated",
        "ineligible for autologous stem cell transplantation",
    }


def test_citation(store):
    p = PAPER
    assert values(store, p, TKG + "doi") == {"10.1007/s12185-018-2448-9"}
    assert values(store, p, "https://schema.org/sameAs") == {"https://doi.org/10.1007/s12185-018-2448-9"}
    assert values(store, p, TKG + "epubDate") == {"2018-03-28"}
    assert values(store, p, TKG + "authorListComplete") == {"false"}
    rows = store.query(
        f"SELECT ?pos ?name WHERE {{ <{p}> <{TKG}hasAuthorship> ?a . ?a <{TKG}position> ?pos ; <{TKG}authorName> ?name }} ORDER BY ?pos",
        use_default_graph_as_union=True,
    )
    assert [r["name"].value for r in rows] == ["Isoda A", "Murayama K", "Ito S"]
    assert values(store, NEWS, "http://purl.org/spar/cito/cites") == {p}
    (journal,) = values(store, p, TKG + "publishedIn")
    assert values(store, journal, "http://www.w3.org/2000/01/rdf-schema#label") == {
        "International Journal of Hematology"
    }


def test_claims_are_attributed(store):
    rows = store.query(
        f"SELECT ?c ?who WHERE {{ <https://w3id.org/trialkg/trial/isoda-2018> <{TKG}hasClaim> ?c . ?c <http://www.w3.org/ns/prov#wasAttributedTo> ?who }}",
        use_default_graph_as_union=True,
    )
    got = {r["c"].value.rsplit("/", 1)[-1]: r["who"].value for r in rows}
    assert got == {
        "claim-headline": NEWS,
        "claim-authors-conclusion": PAPER,
        "claim-no-deeper-response": NEWS,
        "claim-no-deeper-response-abstract": PAPER,
        "claim-conclusion-abstract": PAPER,
    }


def _quotes(store, source: str) -> list[tuple[str, str]]:
    rows = store.query(
        f"""SELECT ?thing ?exact WHERE {{
              ?thing <{TKG}quotedFrom> ?passage .
              ?passage <http://www.w3.org/ns/oa#hasSource> <{source}> ;
                       <http://www.w3.org/ns/oa#hasSelector>/<http://www.w3.org/ns/oa#exact> ?exact }}""",
        use_default_graph_as_union=True,
    )
    return [(r["thing"].value, r["exact"].value) for r in rows]


def test_news_quotes_are_verbatim(store, seed_text):
    quotes = _quotes(store, NEWS)
    assert len(quotes) >= 30
    for thing, exact in quotes:
        assert exact in seed_text, f"{thing}: quote is not verbatim in the seed text: {exact[:80]!r}"


def test_every_statistic_quote_contains_its_number(store):
    """The quoted sentence must carry the number (guards against pointing a figure at the wrong sentence).

    Checked for every publication in the package, with the check `kg validate` runs (digits or words).
    """
    from kg.curation import printed_in

    rows = store.query(
        f"""SELECT ?s ?v ?exact WHERE {{
              ?s <{TKG}value> ?v ; <{TKG}quotedFrom>/<http://www.w3.org/ns/oa#hasSelector>/<http://www.w3.org/ns/oa#exact> ?exact }}""",
        use_default_graph_as_union=True,
    )
    checked = 0
    for r in rows:
        assert printed_in(r["v"].value, r["exact"].value), (r["s"].value, r["v"].value)
        checked += 1
    assert checked >= len([f for f in FACTS if f[3] is not None]) + 20, "the seed's figures and the other publications'"
    assert printed_in("51", "Fifty-one of 90 patients") and not printed_in("6", "61% responded"), "the check can fail"
