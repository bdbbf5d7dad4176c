"""Each ready-made query answers the seed trial with the values of the seed text, on both engines."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import re
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg import dataset as dataset_module
from kg import resources, sources
from kg.dataset import Dataset
from kg.errors import QueryError
from kg.load import load_embedded
from kg.prefixes import compact
from kg.query import catalog, execute
from kg.query.formats import cell, serialize
from kg.query.params import bind
from kg.query.text import in_order_of

PACKAGED = Dataset.build()  # every packaged publication: engine agreement, parameters, formats
# The seed trial alone: the tests below assert its facts, row for row.
SEED = Dataset.build([s for s in sources.packaged_publications() if s.slug == "isoda-2018"])
# A synthetic three-arm randomized trial (tests/data/rct): arms, pairwise and global comparisons, effects.
RCT = Dataset.build(sources.files([Path(__file__).parent / "data" / "rct" / "synthetic-rct-3arm.ttl"]))

TKG = "https://w3id.org/trialkg/ontology/"
NEWS, PAPER = "trialkg.publication:cta-isoda-2018", "trialkg.publication:isoda-2018"
S8 = "After a median follow-up of 30.7 months, median overall survival from induction therapy initiation had not been reached."


def rows(
    name: str,
    params: dict[str, str] | None = None,
    engine: str = "oxigraph",
    columns: list[str] | None = None,
    dataset: Dataset = SEED,
):
    result = dataset.run(name, params or {}, engine=engine)
    cols = columns or result.variables
    return [tuple(cell(r.get(c)) for c in cols) for r in result.rows]


# ---- one test per query: the answer expected from the seed text --------------------------


def test_trial_summary():
    got = rows("trial-summary", columns=["item", "value"])
    assert got == [
        (
            "1 title",
            "Bortezomib maintenance after bortezomib-based induction in transplant-ineligible multiple myeloma (Isoda et al. 2018)",
        ),
        ("2 kind", "clinical trial"),
        ("3 phase", "Phase II Trial"),
        ("4 design", "Multicenter Study"),
        ("4 design", "non-comparative design"),
        ("5 condition", "plasma cell myeloma"),
        ("6 eligibility", "ineligible for autologous stem cell transplantation"),
        ("6 eligibility", "previously untreated"),
        ("7 arm", "Bortezomib induction then bortezomib maintenance (Investigational Arm)"),
        ("8 population", "enrolled and treated: 38"),
        ("8 population", "evaluable: 36"),
        ("8 population", "reached plateau and started maintenance: 20"),
        ("8 population", "completed the 1-year maintenance: size not stated"),
        (
            "9 intervention",
            "Bortezomib-containing induction until plateau: Bortezomib (dose not stated) until plateau",
        ),
        (
            "9 intervention",
            "Bortezomib maintenance, 1.3 mg/m2 every 2 weeks for 1 year: Bortezomib 1.3 mg/m2 every 2 weeks for 1 year, "
            "started within 60 days of completion of induction therapy",
        ),
    ]
    assert rows("trial-summary", {"trial": "trialkg.trial:isoda-2018"}) == rows("trial-summary")
    assert rows("trial-summary", {"trial": "trialkg.trial:no-such-trial"}) == []


def test_efficacy():
    got = {
        r[0].rsplit("/", 1)[-1]: (*r[1:6], " ".join(x for x in r[6:11] if x), r[11])
        for r in rows(
            "efficacy",
            columns=[
                "statistic",
                "value",
                "notReached",
                "unit",
                "size",
                "basis",
                "origin",
                "timepoint",
                "ci_level",
                "ci_lower",
                "ci_upper",
                "source",
            ],
        )
    }
    sof, som, com = "start of induction therapy", "start of maintenance therapy", "completion of maintenance therapy"
    st, par, des, no = "stated", "inferred from the paragraph", "inferred from the design", "not stated"
    f = "false"
    assert got == {
        "orr": ("61", f, "percent", "36", st, "", NEWS),
        "disease-progression": ("50", f, "percent", "", no, "", NEWS),
        "after-maintenance-scr": ("1", f, "count unit", "", des, com, NEWS),
        "after-maintenance-vgpr": ("2", f, "count unit", "", des, com, NEWS),
        "after-maintenance-pr": ("3", f, "count unit", "", des, com, NEWS),
        "after-maintenance-sd": ("3", f, "count unit", "", des, com, NEWS),
        "induction-duration": ("5.9", f, "month", "", no, "", NEWS),
        "maintenance-duration": ("10.3", f, "month", "20", des, "", NEWS),
        "pfs-from-induction": ("13.8", f, "month", "", no, sof, NEWS),
        "pfs-from-maintenance": ("10.7", f, "month", "20", des, som, NEWS),
        "follow-up": ("30.7", f, "month", "", no, "", NEWS),
        "os-from-induction": ("", "true", "month", "", no, sof, NEWS),
        "orr-during-induction": ("61", f, "percent", "36", st, "", PAPER),
        "induction-scr": ("6", f, "percent", "36", st, "", PAPER),
        "induction-cr": ("6", f, "percent", "36", st, "", PAPER),
        "induction-vgpr": ("17", f, "percent", "36", st, "", PAPER),
        "induction-pr": ("33", f, "percent", "36", st, "", PAPER),
        "pfs-from-induction-abstract": ("13.8", f, "month", "", no, sof + " 0.95 11.4 23.7", PAPER),
        "pfs-from-maintenance-abstract": ("10.7", f, "month", "20", des, som + " 0.95 3.7 10.7", PAPER),
    }
    assert par not in {v[4] for v in got.values()}, "no efficacy figure takes its denominator from its paragraph"


def test_efficacy_groups_twin_reports_and_orders_by_endpoint_and_time():
    got = rows("efficacy", columns=["endpoint", "finding", "statistic", "differs"])
    endpoints = [r[0] for r in got]
    assert endpoints == sorted(endpoints, key=str.lower), "ordered by endpoint"
    statistics = [r[2].rsplit("/", 1)[-1] for r in got]
    pfs = [s for s in statistics if s.startswith("pfs-")]
    assert pfs[:2] == ["pfs-from-induction", "pfs-from-induction-abstract"], "within an endpoint, earlier anchors first"
    for finding in ("finding-orr", "finding-pfs-from-induction", "finding-pfs-from-maintenance"):
        at = [i for i, r in enumerate(got) if r[1].endswith(finding)]
        assert len(at) == 2 and at[1] == at[0] + 1, f"the two reports of {finding} are adjacent"
    assert {r[3] for r in got} == {"false"}, "the seed's twins agree in value, unit and denominator"


def test_response_distribution():
    got = set(
        rows(
            "response-distribution",
            columns=["category", "count", "percent", "share", "size", "basis", "phase", "timepoint"],
        )
    )
    com, ind, des = "completion of maintenance therapy", "Induction Therapy", "inferred from the design"
    assert got == {
        ("Stringent Complete Response", "1", "", "", "", des, "", com),
        ("Very Good Partial Response", "2", "", "", "", des, "", com),
        ("Partial Remission", "3", "", "", "", des, "", com),
        ("Stable Disease", "3", "", "", "", des, "", com),
        ("Stringent Complete Response", "", "6", "", "36", "stated", ind, ""),
        ("Complete Remission", "", "6", "", "36", "stated", ind, ""),
        ("Very Good Partial Response", "", "17", "", "36", "stated", ind, ""),
        ("Partial Remission", "", "33", "", "36", "stated", ind, ""),
    }, "no share is computed for the counts after maintenance: their denominator's size is not stated"


def test_adverse_events():
    got = rows(
        "adverse-events",
        columns=["event", "terms", "grade", "patients", "percent", "size", "basis", "phase", "attribution", "source"],
    )
    m = "Maintenance"
    assert set(got) == {
        (
            "Patients on maintenance with at least 1 treatment-related adverse event",
            "Adverse Event",
            "",
            "",
            "35",
            "20",
            "stated",
            m,
            "treatment-related",
            NEWS,
        ),
        (
            "Grade 3 leukopenia and thrombocytopenia",
            "Decreased total leukocyte count + Thrombocytopenia",
            "Severe Adverse Event (Grade 3)",
            "2",
            "",
            "20",
            "inferred from the paragraph",
            m,
            "",
            NEWS,
        ),
        ("Sensory neuropathy", "Sensory neuropathy", "", "", "", "", "", m, "", NEWS),
        ("Diarrhea", "Diarrhea", "", "", "", "", "", m, "", NEWS),
        ("Constipation", "Constipation", "", "", "", "", "", m, "", NEWS),
        ("Nausea", "Nausea", "", "", "", "", "", m, "", NEWS),
        ("Fatigue", "Fatigue", "", "", "", "", "", m, "", NEWS),
        ("Pruritus", "Pruritus", "", "", "", "", "", m, "", NEWS),
        (
            "Grade 2 or higher peripheral neuropathy during maintenance",
            "Peripheral neuropathy",
            "Moderate Adverse Event (Grade 2) or higher",
            "0",
            "",
            "20",
            "inferred from the design",
            m,
            "",
            PAPER,
        ),
    }
    joint = next(r for r in rows("adverse-events", columns=["event", "note"]) if r[0].startswith("Grade 3"))
    assert "jointly" in joint[1], "the joint-count note travels with the figure"


def test_citation():
    got = rows(
        "citation", columns=["position", "author", "complete", "journal", "issn", "epub", "doi", "doi_iri", "cited_by"]
    )
    tail = (
        "false",
        "International Journal of Hematology",
        "0925-5710",
        "2018-03-28",
        "10.1007/s12185-018-2448-9",
        "DOI:10.1007/s12185-018-2448-9",
        NEWS,
    )
    assert got == [("1", "Isoda A", *tail), ("2", "Murayama K", *tail), ("3", "Ito S", *tail)]


def test_claims():
    got = rows("claims", {"trial": "trialkg.trial:isoda-2018"}, dataset=PACKAGED, columns=["claim", "attributed_to"])
    listed = {
        q.object.value
        for q in PACKAGED.store.quads_for_pattern(
            ox.NamedNode("https://w3id.org/trialkg/trial/isoda-2018"),
            ox.NamedNode("https://w3id.org/trialkg/ontology/hasClaim"),
            None,
            None,
        )
    }
    assert {r[0] for r in got} == {compact(c) for c in listed} and len(got) == len(listed) > 0, "one row per claim"
    assert all(r[1] for r in got), "each says who made it"
    every = rows("claims", dataset=PACKAGED, columns=["trial"])
    assert {r[0] for r in every} >= {"trialkg.trial:isoda-2018", "trialkg.trial:cavo-2012"}


def test_provenance_one_statistic():
    got = rows(
        "provenance",
        {"statistic": "trialkg.trial:isoda-2018/os-from-induction"},
        columns=["statistic", "source", "quoted_in", "quote"],
    )
    assert got == [("trialkg.trial:isoda-2018/os-from-induction", NEWS, NEWS, S8)]


def test_provenance_all_statistics():
    got = rows("provenance", columns=["statistic", "kind", "quoted_in"])
    assert Counter(r[1] for r in got) == {"statistic": 22, "adverse event report": 6, "claim": 5}
    statistics = [r for r in got if r[1] == "statistic"]
    assert Counter(r[2] for r in statistics) == {NEWS: 14, "trialkg.publication:isoda-2018/abstract": 8}


@pytest.mark.parametrize(
    "drug",
    [
        "NCIT:C1851",
        "CHEBI:52717",
        "DRUGBANK:DB00188",
        "MESH:D000069286",
        "WIKIDATA:Q419319",
        "http://purl.obolibrary.org/obo/NCIT_C1851",
        "<http://purl.obolibrary.org/obo/CHEBI_52717>",
    ],
)
def test_trials_by_drug(drug):
    got = rows("trials-by-drug", {"drug": drug}, columns=["trial", "phase", "drug", "dose", "unit", "frequency"])
    assert got == [
        (
            "trialkg.trial:isoda-2018",
            "Bortezomib maintenance, 1.3 mg/m2 every 2 weeks for 1 year",
            "Bortezomib",
            "1.3",
            "milligram per square meter",
            "every 2 weeks",
        ),
        ("trialkg.trial:isoda-2018", "Bortezomib-containing induction until plateau", "Bortezomib", "", "", ""),
    ]


def test_trials_by_drug_unknown_drug_is_empty():
    assert rows("trials-by-drug", {"drug": "CHEBI:15377"}) == []


@pytest.mark.parametrize("condition", ["MONDO:0009693", "NCIT:C3242", "DOID:9538", "MESH:D009101"])
def test_trials_by_condition(condition, dataset):
    """Every packaged study is of multiple myeloma, whatever its phases carry: a phase type or not (lee-2013's,
    sun-2017's have none), doses given in parts of a regimen or not; a phase reads as the source names it."""
    columns = ["trial", "condition", "phase", "dose"]
    got = rows("trials-by-condition", {"condition": condition}, columns=columns, dataset=dataset)
    assert {r[0] for r in got} == {
        "trialkg.trial:isoda-2018",
        "trialkg.trial:cavo-2012",
        "trialkg.trial:green-2017",
        "trialkg.trial:mellqvist-2013",
        "trialkg.study:lee-2013",
        "trialkg.study:sun-2017",
    }
    assert {r[1] for r in got} == {"plasma cell myeloma"}
    assert [r for r in got if r[0] == "trialkg.trial:isoda-2018"] == [
        (
            "trialkg.trial:isoda-2018",
            "plasma cell myeloma",
            "Bortezomib maintenance, 1.3 mg/m2 every 2 weeks for 1 year",
            "1.3",
        ),
        ("trialkg.trial:isoda-2018", "plasma cell myeloma", "Bortezomib-containing induction until plateau", ""),
    ]


def test_external_ids():
    got = set(rows("external-ids", columns=["entity", "identifier"]))
    assert got == {
        ("NCIT:C1851", "CHEBI:52717"),
        ("NCIT:C1851", "DRUGBANK:DB00188"),
        ("NCIT:C1851", "MESH:D000069286"),
        ("NCIT:C1851", "WIKIDATA:Q419319"),
        ("MONDO:0009693", "WIKIDATA:Q467635"),
        ("MONDO:0009693", "NCIT:C3242"),
        ("MONDO:0009693", "DOID:9538"),
        ("MONDO:0009693", "MESH:D009101"),
        ("HP:0001873", "NCIT:C3408"),
        ("HP:0000763", "NCIT:C3501"),
        ("HP:0012378", "NCIT:C3036"),
        (PAPER, "DOI:10.1007/s12185-018-2448-9"),
    }


def test_consistency_is_clean_on_the_seed():
    assert rows("consistency") == []


PLANTED = [
    (
        "trial:grade3-leukopenia-thrombocytopenia",
        "trialkg:value 2 ;",
        "trialkg:value 40 ;",
        "count larger than its denominator",
    ),
    (
        "trial:orr",
        "trialkg:value 61 ;",
        "trialkg:value 61 ; trialkg:numberOfEvents 30 ;",
        "percentage disagrees with count / size",
    ),
    (
        "trial:orr",
        "trialkg:value 61 ;",
        "trialkg:value 61 ; trialkg:numberOfEvents 40 ;",
        "number of events larger than its denominator",
    ),
    ("trial:disease-progression", "trialkg:value 50 ;", "trialkg:value 150 ;", "percentage outside 0-100"),
    (
        "trial:induction-pr",
        "trialkg:value 33 ;",
        "trialkg:value 93 ;",
        "response-category percentages add up to more than 100",
    ),
    (
        "trial:population-completed-maintenance",
        "trialkg:subsetOf trial:population-maintenance ;",
        "trialkg:subsetOf trial:population-maintenance ; trialkg:size 5 ;",
        "response-category counts add up to more than the population",
    ),
    (
        "trial:after-maintenance-pr",
        "trialkg:population trial:population-completed-maintenance ;",
        "trialkg:population trial:population-evaluable ;",
        "figure on a population that did not enter its phase",
    ),
    ("trial:follow-up", "trialkg:denominatorBasis trialkg:NotStated ;", "", "statistic without denominator basis"),
    (
        "trial:pfs-from-maintenance-abstract",
        "trialkg:value 10.7 ;",
        "trialkg:value 9.7 ;",
        "reports of one finding disagree without a note",
    ),
    (
        "trial:os-from-induction",
        "trialkg:notReached true ;",
        "trialkg:notReached true ; trialkg:value 40 ;",
        "median has both a value and 'not reached'",
    ),
    ("trial:pfs-from-induction", "trialkg:value 13.8 ;", "", "statistic has neither a value nor 'not reached'"),
    (
        "trial:pfs-from-induction-abstract-ci",
        "trialkg:lower 11.4 ;",
        "trialkg:lower 14.0 ;",
        "estimate outside its confidence interval",
    ),
    (
        "trial:population-evaluable",
        "trialkg:size 36 ;",
        "trialkg:size 40 ;",
        "sub-population larger than its population",
    ),
]


@pytest.mark.parametrize("subject,old,new,problem", PLANTED, ids=[p[3] for p in PLANTED])
def test_consistency_finds_planted_problem(tmp_path, trial_turtle, edit_block, subject, old, new, problem):
    path = tmp_path / "planted.ttl"
    path.write_text(edit_block(trial_turtle, subject, old, new))
    result = Dataset.from_paths([path]).run("consistency")
    problems = [cell(r["problem"]) for r in result.rows]
    assert problem in problems, problems


@pytest.mark.slow
def test_studies_in_slug_order_answer_as_the_store_for_a_study_of_two_slugs(tmp_path, monkeypatch):
    """`studies` on a store, batched in slug order: a study with two slugs (a file the shapes refuse, loaded without
    validation) shows the first in text order and is batched by it, as the whole store orders it (a review found
    the batch's copy picking the other)."""
    tkg = (
        "@prefix trialkg: <https://w3id.org/trialkg/ontology/> .\n@prefix t: <https://w3id.org/trialkg/trial/> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
    )
    slugs = {"s1": ("m", "a"), "s2": ("b",), "s3": ("z", "c"), "s4": ("n",)}
    folder = tmp_path / "trials"
    folder.mkdir()
    for name, values in slugs.items():
        slug = " , ".join(f'"{v}"' for v in values)
        (folder / f"{name}.ttl").write_text(
            tkg + f't:{name} a trialkg:Study , trialkg:ClinicalTrial ; rdfs:label "{name}" ; trialkg:slug {slug} .\n'
        )
    store = tmp_path / "store"
    load_embedded(sources.files(sorted(folder.iterdir())), store, validate=False)
    batched, whole = Dataset.open(store), Dataset.open(store)
    monkeypatch.setattr(whole, "_batched", lambda q, bindings: False)
    monkeypatch.setattr(dataset_module, "BATCH_STUDIES", 1)
    monkeypatch.setattr(dataset_module, "WORKERS", 1)
    for fmt in ("csv", "json"):
        assert _written(batched, "studies", fmt) == _written(whole, "studies", fmt), fmt
    assert [cell(r["slug"]) for r in batched.run("studies").rows] == ["a", "b", "c", "n"]


def test_an_order_needs_a_scope_and_a_known_property():
    text = (
        "SELECT (?__trial_iri AS ?t) ?k WHERE { ?__trial_iri <https://w3id.org/trialkg/ontology/slug> ?k } ORDER BY ?k"
    )
    q = catalog.parse_query("x", "#+ scope: trial\n#+ order: trialkg:slug\n" + text)
    assert q.order == "https://w3id.org/trialkg/ontology/slug"
    for header in ("#+ order: trialkg:slug\n", "#+ scope: trial\n#+ order: nope:slug\n"):
        with pytest.raises(QueryError, match=r"x\.rq: '#\+ order: .*' needs a '#\+ scope:' and a property"):
            catalog.parse_query("x", header + text)


def test_a_query_within_a_study_must_show_its_keys_and_not_repeat_rows():
    ok = "#+ within: study\nSELECT DISTINCT ?a (STR(?b) AS ?c) WHERE { ?a ?p ?b } ORDER BY DESC(?c) ?a"
    assert catalog.parse_query("x", ok).within == "study"
    for bad in (
        "SELECT DISTINCT ?a WHERE { ?a ?p ?b } ORDER BY ?b",  # a key it does not show
        "SELECT (?a AS ?s) WHERE { ?a ?p ?b } GROUP BY ?a ORDER BY ?a",  # shown under another name
        "SELECT ?a WHERE { { SELECT DISTINCT ?a WHERE { ?a ?p ?b } } ?a ?q ?c }",  # rows may repeat
        "SELECT DISTINCT ?a WHERE { ?a ?p ?b } LIMIT 3",
        "SELECT ?l (COUNT(?x) AS ?n) WHERE { ?s ?p ?l ; ?q ?x } GROUP BY ?s ?l ORDER BY ?l ?n",  # two groups, a row
    ):
        with pytest.raises(QueryError, match=r"x\.rq: '#\+ within: study' is for a SELECT DISTINCT"):
            catalog.parse_query("x", "#+ within: study\n" + bad)


def test_gathered_rows_come_in_the_querys_own_order():
    """Rows from batches are ordered by the engine with the query's ORDER BY: prefixed functions, a comment after
    it, numbers, blank nodes, tags and unbound cells, each row once."""
    from kg.query import gather

    store = ox.Store()
    store.load(
        b'<http://x/a> <http://x/p> "10"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
        b'<http://x/b> <http://x/p> "9"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
        b'_:n <http://x/p> "1.5"^^<http://www.w3.org/2001/XMLSchema#decimal> .\n'
        b'<http://x/c> <http://x/p> "tab\\there"@en .\n<http://x/d> <http://x/q> "x" .\n',
        format=ox.RdfFormat.N_TRIPLES,
    )
    text = (
        "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>\nSELECT DISTINCT ?s ?o WHERE { ?s ?p ?any "
        "OPTIONAL { ?s <http://x/p> ?o } } ORDER BY DESC(xsd:string(?o)) ?s # the value as text, then the resource"
    )

    def tsv(rows):
        out = io.BytesIO()
        execute.solutions(store, text.replace("?s ?p ?any", f"?s ?p ?any {rows}")).serialize(
            out, format=ox.QueryResultsFormat.TSV
        )
        return out.getvalue()

    parts = [tsv("FILTER(?s != <http://x/a>)"), tsv("FILTER(?s != <http://x/d>)")]  # rows in both: once
    whole = io.BytesIO()
    execute.solutions(store, text).serialize(whole, format=ox.QueryResultsFormat.TSV)
    got = io.BytesIO()
    gather.gathered(parts, text).serialize(got, format=ox.QueryResultsFormat.TSV)
    assert got.getvalue() == whole.getvalue() and got.getvalue().count(b"\n") == 6
    page = io.BytesIO()
    gather.gathered(parts, text, limit=2, offset=1).serialize(page, format=ox.QueryResultsFormat.TSV)
    assert page.getvalue().split(b"\n")[1:3] == whole.getvalue().split(b"\n")[2:4]
    unbound = "SELECT DISTINCT ?x WHERE { ?s ?p ?o OPTIONAL { ?s <http://x/none> ?x } } ORDER BY ?x"
    part = io.BytesIO()
    execute.solutions(store, unbound).serialize(part, format=ox.QueryResultsFormat.TSV)
    rows = list(gather.gathered([part.getvalue()] * 2, unbound))  # a row with nothing bound: an empty TSV line
    assert len(rows) == 1 and rows[0]["x"] is None


def test_rows_ordered_by_an_iri_are_merged_from_their_batches_not_gathered_whole(monkeypatch):
    """Batches whose rows come ordered by an IRI (`provenance`, by the figure) are merged on it: the whole store's
    bytes, with only the rows of an IRI that two batches give ordered again by the engine (1.6 million rows at
    100,000 publications, gathered whole, cost gigabytes); a batch out of that order (a literal first) is gathered
    whole, as before."""
    from kg.query import gather

    store = ox.Store()
    lines = []
    for i in range(40):  # IRIs that order by code point, not as their bytes with angle brackets would
        accent = "\u00e9" if i % 5 == 0 else ""
        s = f"<http://x/{'a' if i % 3 else 'a/'}{i % 7 if i % 4 else ''}{accent}>"  # a, then a1: not as "<a>", "<a1>"
        lines.append(f'{s} <http://x/p> "{i % 4}" .\n{s} <http://x/q> <http://x/o{i % 2}> .\n')
    store.load("".join(lines).encode(), format=ox.RdfFormat.N_TRIPLES)
    text = "SELECT DISTINCT ?s ?v ?o WHERE { ?s <http://x/p> ?v ; <http://x/q> ?o } ORDER BY ?s DESC(?v) ?o"

    def tsv(rows, query=text):
        out = io.BytesIO()
        execute.solutions(store, query.replace("?o }", f"?o {rows} }}")).serialize(
            out, format=ox.QueryResultsFormat.TSV
        )
        return out.getvalue()

    whole = tsv("")
    # batches of IRIs, those ending in 3 in two of them (a file copied into both)
    parts = [tsv(f'FILTER(REGEX(STR(?s), "{end}\u00e9?$"))') for end in ("([0-3]|[^0-9\u00e9])", "[3-4]", "[5-6]")]
    shared = set.intersection(*({row.split(b"\t")[0] for row in part.splitlines()[1:]} for part in parts[:2]))
    reordered: list[int] = []
    original = gather.gathered
    monkeypatch.setattr(
        gather, "gathered", lambda ps, *a, **kw: original(list(ps), *a, **kw) if reordered.append(1) is None else None
    )
    monkeypatch.setattr(gather, "_FAN_IN", 2)  # runs merged two at a time, then those
    monkeypatch.setattr(gather, "_PAGE", 7)  # handed on seven rows at a time

    def merged(parts):
        got = io.BytesIO()
        for answer in gather.merged(iter(parts), text):
            got.write(answer.serialize(format=ox.QueryResultsFormat.TSV).partition(b"\n")[2])
        return whole.partition(b"\n")[0] + b"\n" + got.getvalue()

    assert merged(parts) == whole and whole.count(b"\n") > 40
    assert len(reordered) == len(shared) >= 2  # only the IRIs two batches give
    many = [tsv(f'FILTER(REGEX(STR(?s), "{d}\u00e9?$"))') for d in "0123456"] * 5  # 35 batches
    opened, most = len(os.listdir("/proc/self/fd")), []

    def counted(parts):  # the files open as each batch comes
        for part in parts:
            most.append(len(os.listdir("/proc/self/fd")) - opened)
            yield part

    answers = gather.merged(counted(many), text)
    next(answers)
    assert len(most) == 35 and max(most) <= 2  # the runs being merged (_FAN_IN), not a file a batch
    answers.close()
    assert len(os.listdir("/proc/self/fd")) == opened
    reordered.clear()
    shuffled = tsv("", text.replace("ORDER BY ?s", "ORDER BY ?v ?s"))  # a batch not in the order of its IRIs
    assert shuffled != whole and merged([shuffled]) == whole and reordered == [1]  # gathered whole
    reordered.clear()
    monkeypatch.setattr(gather, "first_key", lambda text: "v")  # a column of literals: gathered whole
    assert merged(parts) == whole and reordered == [1]
    empty = tsv("FILTER(false)")
    assert b"".join(a.serialize(format=ox.QueryResultsFormat.TSV) for a in gather.merged([empty] * 3, text)) == empty


def test_merged_rows_keep_blank_nodes_unbound_cells_and_literals_in_their_place(monkeypatch):
    """A first key that is unbound or a blank node (a blank-node claim) orders before every IRI, a literal after: those
    few rows are ordered by the engine, the IRIs' rows still merged (the rest of the answer is not gathered whole)."""
    from kg.query import gather

    store = ox.Store()
    store.load(
        b"".join(
            f'<http://x/r{i}> <http://x/k> {key} .\n<http://x/r{i}> <http://x/n> "{i}" .\n'.encode()
            for i, key in enumerate(
                [
                    "<http://x/b>",
                    "<http://x/a>",
                    "_:blank",
                    '"lit"',
                    '"5"^^<http://www.w3.org/2001/XMLSchema#integer>',
                    "<http://x/a>",
                ]
            )
        )
        + b'<http://x/r9> <http://x/n> "9" .\n',  # no key: unbound
        format=ox.RdfFormat.N_TRIPLES,
    )
    text = "SELECT DISTINCT ?k ?r WHERE { ?r <http://x/n> ?n OPTIONAL { ?r <http://x/k> ?k } } ORDER BY ?k ?r"

    def tsv(extra):
        out = io.BytesIO()
        execute.solutions(store, text.replace("?n OPTIONAL", f"?n {extra} OPTIONAL")).serialize(
            out, format=ox.QueryResultsFormat.TSV
        )
        return out.getvalue()

    whole = tsv("")
    parts = [tsv('FILTER(?n IN ("0", "2", "4", "9"))'), tsv('FILTER(?n IN ("1", "3", "5", "0"))')]
    given: list[int] = []
    original = gather.gathered
    monkeypatch.setattr(gather, "gathered", lambda ps, *a, **kw: given.append(len(ps := list(ps))) or original(ps, *a))
    got = b"".join(
        a.serialize(format=ox.QueryResultsFormat.TSV).partition(b"\n")[2] for a in gather.merged(parts, text)
    )
    assert whole.partition(b"\n")[0] + b"\n" + got == whole and whole.count(b"\n") == 8
    assert given == [1, 1, 1]  # the rows before the IRIs, r0's (both parts give it: once), the rows after


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 3])
def test_a_query_within_a_study_on_a_store_gathers_every_row_from_batches(
    tmp_path, trial_turtle, edit_block, monkeypatch, workers
):
    """On a store, `consistency` (`#+ within: study`) is asked a batch of studies at a time and its rows gathered and
    ordered: the answer is the whole store's, byte for byte, in every format and page, with every planted problem.
    Studies that share a file (one states two; one points at another without typing it; a chain of three) are
    asked in one batch with all their files, or a figure whose basis another file states looks unbased. Where a
    file names no study (loaded without validation), the query is asked of the store as it is."""
    text, planted, edited = trial_turtle, set(), set()
    for subject, old, new, problem in PLANTED:
        if subject not in edited:  # one mistake a resource
            text = edit_block(text, subject, old, new)
            planted.add(problem)
            edited.add(subject)
    assert len(planted) >= 10
    folder = tmp_path / "trials"
    folder.mkdir()
    (folder / "planted.ttl").write_text(text.replace("isoda-2018", "planted-2018"))
    tkg = (
        "@prefix trialkg: <https://w3id.org/trialkg/ontology/> .\n@prefix t: <https://w3id.org/trialkg/trial/> .\n"
        "@prefix s: <https://w3id.org/trialkg/study/> .\n@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
    )
    study = 'a trialkg:Study , trialkg:ClinicalTrial ; rdfs:label "{0}" ; trialkg:slug "{0}"'
    (folder / "two-studies.ttl").write_text(  # a and b; a's figure x has its basis in basis.ttl
        tkg + f"t:a {study.format('a')} ; trialkg:hasStatistic t:a-x .\n"
        "t:a-x a trialkg:EfficacyStatistic ; trialkg:value 3 .\n" + f"t:b {study.format('b')} .\n"
    )
    (folder / "basis.ttl").write_text(  # and the sentence a-x came from (its provenance: a row in a's batch)
        tkg + "t:a trialkg:hasStatistic t:a-x , t:a-y .\nt:a-x trialkg:denominatorBasis trialkg:NotStated .\n"
        "t:a-y a trialkg:EfficacyStatistic ; trialkg:value 4 ; trialkg:denominatorBasis trialkg:NotStated .\n"
        "t:a-x <http://www.w3.org/ns/prov#wasDerivedFrom> <https://doi.org/10.5555/a> ; trialkg:quotedFrom t:a-x-q .\n"
        "t:a-x-q <http://www.w3.org/ns/oa#hasSource> <https://doi.org/10.5555/a> ;\n"
        '  <http://www.w3.org/ns/oa#hasSelector> [ <http://www.w3.org/ns/oa#exact> "three of them" ] .\n'
    )
    (folder / "link.ttl").write_text(  # isoda's file points at sun, untyped; sun's figure's basis is in sun's file
        tkg
        + "t:isoda-2018 rdfs:seeAlso s:sun-2017 .\ns:sun-2017 trialkg:hasStatistic <https://w3id.org/trialkg/study/sun-2017/os-hazard-ratio> .\n"
    )
    for k in (1, 2):  # a chain: c-1 and c-2 in one file, c-2 and c-3 in the next
        (folder / f"chain-{k}.ttl").write_text(
            tkg + f"t:c-{k} {study.format(f'c-{k}')} .\nt:c-{k + 1} {study.format(f'c-{k + 1}')} .\n"
        )
    store = tmp_path / "store"
    load_embedded([*sources.packaged_publications(), *sources.files(sorted(folder.iterdir()))], store, validate=False)
    monkeypatch.setattr(dataset_module, "BATCH_STUDIES", 1)
    monkeypatch.setattr(dataset_module, "WORKERS", workers)
    # and a GROUP BY query of a row a study (studies, asked in slug order on a store: gathering 100,000 rows cost more)
    studies = dataclasses.replace(catalog.get("studies"), within="study", order=None)
    within = sorted(n for n, q in catalog.catalog().items() if q.within)
    assert within == ["consistency", "provenance"]

    def compared(store: Path) -> tuple[Dataset, set[tuple[str, str]], int]:
        batched, whole = Dataset.open(store), Dataset.open(store)
        monkeypatch.setattr(whole, "_batched", lambda q, bindings: False)
        asked: list[int] = []
        of_graphs = batched.of_graphs
        monkeypatch.setattr(batched, "of_graphs", lambda gs, *a, **kw: asked.append(1) or of_graphs(gs, *a, **kw))
        for q in [*map(catalog.get, within), studies]:
            for fmt in ("csv", "tsv", "json", "table"):
                assert _written(batched, q, fmt) == _written(whole, q, fmt), (q.name, fmt)
            for limit, offset in ((2, None), (3, 4), (None, 5), (0, 1), (2, 10**6)):
                assert _written(batched, q, "csv", limit, offset) == _written(whole, q, "csv", limit, offset)
        problems = {(cell(r["problem"]), r["resource"].value) for r in batched.run("consistency").rows}
        return batched, problems, len(asked)

    batched, problems, asked = compared(store)
    assert planted <= {p for p, _r in problems}
    for figure in ("https://w3id.org/trialkg/trial/a-x", "https://w3id.org/trialkg/study/sun-2017/os-hazard-ratio"):
        assert ("statistic without denominator basis", figure) not in problems
    assert len(_written(batched, studies, "csv").splitlines()) == len(batched.studies()) + 1
    assert b"three of them" in _written(batched, "provenance", "csv")
    copies: list[int] = []  # one statistic's provenance: asked of the store as it is, no batch copied
    monkeypatch.setattr(batched, "of_graphs", lambda *a, **kw: copies.append(1))
    one = io.BytesIO()
    batched.write("provenance", {"statistic": "https://w3id.org/trialkg/trial/a-x"}, "csv", one)
    assert b"three of them" in one.getvalue() and len(one.getvalue().splitlines()) == 2 and not copies
    if workers == 1:  # 28 answers (4 formats and 5 pages of each query, and a run of consistency), each of
        # batches of one study, but a and b, isoda and sun, and the chain's three: one batch each
        assert asked == 28 * (len(batched.studies()) - 1 - 1 - 2)

    # files that name no study: a figure of none, errata naming a study's figure but not the study
    (folder / "no-study.ttl").write_text(
        tkg + "<https://w3id.org/trialkg/trial/stray#figure> a trialkg:EfficacyStatistic ; trialkg:notReached true ; "
        "trialkg:value 3 .\n"
    )
    (folder / "erratum.ttl").write_text(
        tkg + "<https://w3id.org/trialkg/study/sun-2017/os-hazard-ratio> trialkg:notReached true .\n"
    )
    (folder / "erratum-type.ttl").write_text(tkg + "t:a-y a trialkg:EfficacyStatistic .\n")
    stray = tmp_path / "stray"
    load_embedded([*sources.packaged_publications(), *sources.files(sorted(folder.iterdir()))], stray, validate=False)
    _batched, problems, asked = compared(stray)
    assert asked == 0  # asked of the store as it is
    assert ("median has both a value and 'not reached'", "https://w3id.org/trialkg/trial/stray#figure") in problems
    assert (
        "median has both a value and 'not reached'",
        "https://w3id.org/trialkg/study/sun-2017/os-hazard-ratio",
    ) in problems
    assert ("statistic has neither a value nor 'not reached'", "https://w3id.org/trialkg/trial/a-y") not in problems


def test_trial_terms():
    got = set(rows("trial-terms", {"trial": "trialkg.trial:isoda-2018"}, columns=["role", "term"]))
    assert {
        ("drug", "NCIT:C1851"),
        ("condition", "MONDO:0009693"),
        ("phase", "NCIT:C15601"),
        ("adverse event", "HP:0001873"),
    } <= got
    assert {role for role, _ in got} == {
        "drug",
        "condition",
        "phase",
        "design",
        "phase type",
        "adverse event",
        "arm type",
    }
    rct = set(rows("trial-terms", dataset=RCT, columns=["role", "term"]))
    assert ("drug", "NCIT:C349") in rct, "drugs of every part of an alternating regimen"
    assert ("drug", "CHEBI:9513") in rct and ("arm type", "NCIT:C174267") in rct


def test_resources():
    got = rows("resources", {"namespace": "https://w3id.org/trialkg/trial/"}, columns=["resource", "type"])
    assert ("trialkg.trial:isoda-2018", "trialkg:ClinicalTrial") in got
    assert all(r.startswith("trialkg.trial:") for r, _ in got)
    with pytest.raises(QueryError, match="needs parameter 'namespace'"):
        rows("resources")


def test_compare_outcomes():
    got = rows(
        "compare-outcomes",
        {"endpoint": "NCIT:C28234"},
        columns=["statistic", "design", "type", "value", "origin", "lower", "upper", "basis"],
    )
    assert {r[0].rsplit("/", 1)[-1] for r in got} == {
        "pfs-from-induction",
        "pfs-from-induction-abstract",
        "pfs-from-maintenance",
        "pfs-from-maintenance-abstract",
    }
    assert {r[1] for r in got} == {"clinical trial"} and {r[2] for r in got} == {"Median"}
    ci = next(r for r in got if r[0].endswith("pfs-from-maintenance-abstract"))
    assert (ci[3], ci[5], ci[6], ci[7]) == ("10.7", "3.7", "10.7", "inferred from the design")
    # an identifier mapped to the endpoint finds the same rows; a term with no statistic finds none
    assert rows("compare-outcomes", {"endpoint": "NCIT:C17747"}, columns=["value"]) == [("50",)]


def test_evidence_by_drug():
    got = rows("evidence-by-drug", {"drug": "WIKIDATA:Q419319"}, columns=["study", "design", "statistic"])
    assert {r[0] for r in got} == {"trialkg.trial:isoda-2018"}
    assert len(got) == 22, "every statistic of the seed trial, found from a mapped drug identifier"
    assert rows("evidence-by-drug", {"drug": "CHEBI:15377"}) == []


def test_evidence_statistics():
    got = rows(
        "evidence-statistics",
        {"topic": "NCIT:C125201"},
        dataset=PACKAGED,
        columns=[
            "statistic",
            "design",
            "role",
            "type_label",
            "value",
            "notReached",
            "p_comparator",
            "p_value",
            "timepoint_value",
            "quote",
        ],
    )
    by = {r[0].rsplit("/", 1)[-1]: r[1:] for r in got}
    assert set(by) == {
        "os-2y-newly-diagnosed",
        "os-2y-relapsed",
        "os-4y-newly-diagnosed",
        "os-4y-relapsed",
        "os-from-induction",
        "os-hazard-ratio",
        "os-3y-group-a",
        "os-3y-group-b",
    }
    assert {r[1] for r in by.values()} == {"endpoint"}
    assert by["os-from-induction"][:5] == ("clinical trial", "endpoint", "Median", "", "true"), "not reached, no number"
    assert by["os-hazard-ratio"][:7] == ("meta-analysis", "endpoint", "Hazard Ratio", "0.75", "false", "=", "0.001")
    # a group's survival rate carries no P value of its own: the comparison of the two groups does
    assert by["os-3y-group-a"][:8] == ("observational study", "endpoint", "survival rate", "65.3", "false", "", "", "3")
    assert by["os-from-induction"][8] == S8, "the verbatim sentence"
    # adverse events: one row per event term, reports without a number too
    ae = rows("evidence-statistics", dataset=PACKAGED, columns=["statistic", "role", "topic_label", "grade", "value"])
    ae = [r for r in ae if r[1] == "adverse event"]
    assert len({r[0] for r in ae}) == 15, "Isoda's 8, Sun's 3, Cavo's 3 (grade 2 or 3 in each arm, grade 3 in one)"
    assert {r[3] for r in ae if r[0].endswith("/pn-grade2-3-vtd")} == {
        "Moderate Adverse Event (Grade 2) to Severe Adverse Event"
    }, "grade 2 or 3 is never 'grade 2 or higher'"
    joint = sorted(r[2] for r in ae if r[0].endswith("/grade3-leukopenia-thrombocytopenia"))
    assert joint == ["Decreased total leukocyte count", "Thrombocytopenia"]
    assert ("Peripheral neuropathy", "", "2.23") in {r[2:] for r in ae}


def test_evidence_endpoints():
    got = rows("evidence-endpoints", dataset=PACKAGED, columns=["endpoint", "endpoint_label", "statistics", "studies"])
    assert got[:2] == [
        ("NCIT:C28234", "Progression-free Survival", "15", "6"),
        ("NCIT:C125201", "Overall Survival", "8", "4"),
    ], "most studies first"
    assert not [r for r in got if r[0].startswith("HP:")], "adverse events have their own page"


def test_evidence_studies():
    got = rows("evidence-studies", dataset=PACKAGED, columns=["design", "study", "publication"])
    assert got == [
        ("clinical trial", "trialkg.trial:cavo-2012", "trialkg.publication:cavo-2012"),
        ("clinical trial", "trialkg.trial:green-2017", "trialkg.publication:green-2017"),
        ("clinical trial", "trialkg.trial:isoda-2018", "trialkg.publication:cta-isoda-2018"),
        ("clinical trial", "trialkg.trial:isoda-2018", "trialkg.publication:isoda-2018"),
        ("clinical trial", "trialkg.trial:mellqvist-2013", "trialkg.publication:mellqvist-2013"),
        ("meta-analysis", "trialkg.study:sun-2017", "trialkg.publication:sun-2017"),
        ("observational study", "trialkg.study:lee-2013", "trialkg.publication:lee-2013"),
    ]


def test_comparisons():
    got = rows(
        "comparisons",
        dataset=RCT,
        columns=["comparison", "kind", "groups", "figures", "p_comparator", "p_value", "test", "endpoint"],
    )
    by = {r[0].rsplit("/", 1)[-1]: r[1:] for r in got}
    # one row per comparison, naming both arms: the arm in two pairs has its figure once in each, with its partner
    assert by["cr-vd-vs-td"] == (
        "between two groups",
        "VD vs TD",
        "31% vs 15%",
        "=",
        "0.001",
        "chi-square test",
        "NCIT:C4870",
    )
    assert by["cr-vd-vs-vbmcp"][:5] == ("between two groups", "VD vs VBMCP/VBAD/B", "31% vs 20%", "=", "0.04")
    # a global test over three arms is one comparison with all of them, in arm order
    assert by["pfs-three-arms"][:5] == (
        "across 3 groups",
        "VD vs TD vs VBMCP/VBAD/B",
        "36 months vs 28 months vs 29 months",
        "=",
        "0.03",
    )
    assert set(by) == {"cr-vd-vs-td", "cr-vd-vs-vbmcp", "pfs-three-arms"}
    # the type as HL7 displays it, as efficacy shows it: a percentage is a "Proportion", not NCIt's "Ratio"
    types = dict(rows("comparisons", dataset=RCT, columns=["comparison", "type"]))
    assert types["trialkg.trial:synthetic-rct-3arm/cr-vd-vs-td"] == "Proportion", types
    assert rows("comparisons", {"endpoint": "NCIT:C28234"}, dataset=RCT, columns=["comparison"]) == [
        ("trialkg.trial:synthetic-rct-3arm/pfs-three-arms",)
    ]
    lee = rows("comparisons", dataset=PACKAGED, columns=["comparison", "groups", "p_comparator", "p_value"])
    assert (
        "trialkg.study:lee-2013/pfs-3y-comparison",
        "early good response group (A group) vs poor response group (B group)",
        "<",
        "0.001",
    ) in lee
    assert rows("comparisons") == [], "a single-arm trial has no comparison"


def test_studies():
    got = rows("studies", dataset=PACKAGED, columns=["slug", "design", "phase", "arms", "statistics", "comparisons"])
    assert got == [
        ("cavo-2012", "clinical trial", "Phase III Trial", "2", "12", "6"),
        ("green-2017", "clinical trial", "Phase II Trial", "1", "13", "0"),
        ("isoda-2018", "clinical trial", "Phase II Trial", "1", "22", "0"),
        ("lee-2013", "observational study", "", "1", "4", "2"),
        ("mellqvist-2013", "clinical trial", "Phase III Trial", "2", "4", "2"),
        ("sun-2017", "meta-analysis", "", "2", "5", "0"),
    ]
    assert rows("studies", dataset=RCT, columns=["slug", "arms", "statistics", "comparisons"]) == [
        ("synthetic-rct-3arm", "3", "14", "3")
    ]


# ---- both engines give the same answer -------------------------------------------------------

PARAMS = {
    "trials-by-drug": {"drug": "CHEBI:52717"},
    "trials-by-condition": {"condition": "MONDO:0009693"},
    "provenance": {"statistic": "trialkg.trial:isoda-2018/orr"},
    "resources": {"namespace": "https://w3id.org/trialkg/trial/"},
    "compare-outcomes": {"endpoint": "NCIT:C28234"},
    "evidence-by-drug": {"drug": "NCIT:C1851"},
    "evidence-statistics": {"topic": "NCIT:C28234"},
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(catalog.catalog()))
def test_engines_agree(name):
    ox_rows = rows(name, PARAMS.get(name), dataset=PACKAGED)
    rdf_rows = rows(name, PARAMS.get(name), engine="rdflib", dataset=PACKAGED)
    if name == "adverse-events":  # GROUP_CONCAT order is engine-defined
        norm = lambda rs: [tuple(" + ".join(sorted(c.split(" + "))) for c in r) for r in rs]  # noqa: E731
        ox_rows, rdf_rows = norm(ox_rows), norm(rdf_rows)
    ordered = catalog.get(name).text.upper().count("ORDER BY") > 0
    if ordered and name != "adverse-events":
        assert ox_rows == rdf_rows
    else:
        assert Counter(ox_rows) == Counter(rdf_rows)


def test_every_query_has_a_header_and_a_test():
    for name, q in catalog.catalog().items():
        assert q.summary and q.description, name
        for p in q.parameters:
            assert p.description, f"{name}: parameter {p.name} is not described"
        assert f"def test_{name.replace('-', '_')}" in open(__file__).read(), f"no test for query {name}"


# ---- W3C result formats ---------------------------------------------------------------------


def test_csv_parses(kg):
    r = kg("query", "efficacy", "--param", "trial=trialkg.trial:isoda-2018", "--format", "csv")
    assert r.returncode == 0, r.stderr
    table = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(table) == 19
    os_row = next(t for t in table if t["statistic"].endswith("/os-from-induction"))
    assert os_row["value"] == "" and os_row["notReached"] == "true", "a median not reached is not a number"
    assert {t["notReached"] for t in table if t["value"]} == {"false"}


def test_json_is_sparql_results_json(kg):
    r = kg("query", "efficacy", "--format", "json")
    doc = json.loads(r.stdout)
    assert set(doc) == {"head", "results"}
    assert "statistic" in doc["head"]["vars"]
    for binding in doc["results"]["bindings"]:
        for term in binding.values():
            assert term["type"] in {"uri", "literal", "bnode"}
            assert isinstance(term["value"], str)
    orr = next(b for b in doc["results"]["bindings"] if b["statistic"]["value"].endswith("/orr"))
    assert orr["value"] == {"type": "literal", "value": "61", "datatype": "http://www.w3.org/2001/XMLSchema#integer"}


@pytest.mark.slow
def test_formats_are_oxigraphs_serializer_bytes():
    import pyoxigraph as ox

    q = catalog.get("efficacy")
    result = PACKAGED.run(q)
    for fmt, oxfmt in [
        ("csv", ox.QueryResultsFormat.CSV),
        ("tsv", ox.QueryResultsFormat.TSV),
        ("xml", ox.QueryResultsFormat.XML),
        ("json", ox.QueryResultsFormat.JSON),
    ]:
        native = PACKAGED.store.query(q.text, use_default_graph_as_union=True)
        assert serialize(result, fmt) == native.serialize(format=oxfmt), fmt


def test_table_fits_80_columns(kg):
    r = (
        kg("query", "trials-by-drug", "--param", "drug=NCIT:C1851", env_columns=None)
        if False
        else kg("query", "response-distribution")
    )
    assert r.returncode == 0
    assert max(len(line) for line in r.stdout.splitlines()) <= 80


# ---- parameters are refused cleanly or bound as terms, never spliced -----------------------

HOSTILE = [
    '"',
    "'",
    "{",
    "}",
    "} UNION { ?s ?p ?o }",
    "> } UNION { ?s ?p ?o . <x",
    "a\nb",
    "NCIT:C1851> } #",
    "x" * 1_000_000,
    "",
    "http://ex.org/a b",
    "javascript:alert(1)",
]


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize(
    "name,param", [("trials-by-drug", "drug"), ("provenance", "statistic"), ("trial-summary", "trial")]
)
def test_hostile_iri_parameters_are_refused(name, param, value):
    q = catalog.get(name)
    before = q.text
    with pytest.raises(QueryError, match=f"parameter {param}"):
        bind(q, {param: value})
    assert catalog.get(name).text == before


@pytest.mark.parametrize("value", ['"', "} UNION { ?s ?p ?o }", "a\nb", "x" * 1000, "\\", '"""'])
def test_hostile_string_parameter_is_a_literal(tmp_path, value):
    """A string parameter becomes one literal: the query still parses and matches nothing."""
    rq = tmp_path / "by-label.rq"
    rq.write_text(
        "#+ summary: by label\n#+ description: test\n#+ params:\n#+   label: a label\n"
        "SELECT ?s WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?_label_string }\n"
    )
    from kg.query.catalog import parse_query

    q = parse_query("by-label", rq.read_text())
    for engine in ("oxigraph", "rdflib"):
        assert PACKAGED.run(q, {"label": value}, engine=engine).rows == []
    assert [cell(r["s"]) for r in PACKAGED.run(q, {"label": "evaluable"}).rows] == [
        "trialkg.trial:isoda-2018/population-evaluable"
    ]


def test_number_and_integer_parameters(tmp_path):
    from kg.query.catalog import parse_query

    q = parse_query("n", "SELECT ?s WHERE { ?s <https://w3id.org/trialkg/ontology/size> ?_n_integer }")
    assert [cell(r["s"]) for r in PACKAGED.run(q, {"n": "36"}).rows] == [
        "trialkg.trial:isoda-2018/population-evaluable"
    ]
    for bad in ["36 }", "3.5", "1e3", "", "x"]:
        with pytest.raises(QueryError, match="parameter n"):
            bind(q, {"n": bad})
    q = parse_query("v", "SELECT ?s WHERE { ?s <https://w3id.org/trialkg/ontology/value> ?v FILTER(?v = ?_v_number) }")
    assert {cell(r["s"]).rsplit("/", 1)[-1] for r in PACKAGED.run(q, {"v": "13.8"}).rows} == {
        "pfs-from-induction",
        "pfs-from-induction-abstract",
    }
    with pytest.raises(QueryError, match="parameter v"):
        bind(q, {"v": "13.8) || true || (1"})


def test_unknown_parameter_and_query_are_refused_with_the_valid_ones(kg):
    r = kg("query", "trials-by-drug", "--param", "drg=NCIT:C1851")
    assert r.returncode == 2 and "valid: drug" in r.stderr
    r = kg("query", "no-such-query")
    assert r.returncode == 2 and "valid: adverse-events" in r.stderr
    r = kg("query", "trials-by-drug")
    assert r.returncode == 2 and "needs parameter 'drug'" in r.stderr


def test_a_study_is_named_by_its_slug_as_kg_summary_takes_it(kg):
    """Review 34: `--param trial=SLUG` was refused (it is no IRI or CURIE) where `kg summary SLUG` takes it; a
    study query takes the slug for the study it names, and an unknown slug is refused with the nearest ones."""
    by_slug = kg("query", "trial-summary", "--param", "trial=lee-2013", "--format", "csv")
    by_curie = kg("query", "trial-summary", "--param", "trial=trialkg.study:lee-2013", "--format", "csv")
    assert by_slug.returncode == 0 and by_slug.stdout == by_curie.stdout and "lee-2013" in by_slug.stdout
    r = kg("query", "trial-summary", "--param", "trial=lee-2031", "--format", "csv")
    assert r.returncode == 2 and "no study 'lee-2031'" in r.stderr and "nearest: lee-2013" in r.stderr
    assert r.stderr.count("\n") == 1, "one line"


def test_user_query_syntax_error_has_line_and_column(kg, tmp_path):
    rq = tmp_path / "broken.rq"
    rq.write_text("SELECT ?s\nWHERE { ?s ?p ?o ) }\n")
    r = kg("query", "--file", str(rq))
    assert r.returncode == 2
    # oxigraph reports where its parser gave up (the end of the text here)
    assert re.search(rf"{re.escape(str(rq))}:\d+:\d+: SPARQL syntax error: expected", r.stderr), r.stderr
    r = kg("query", "--file", str(rq), "--engine", "rdflib")
    assert r.returncode == 2 and f"{rq}:2:18: SPARQL syntax error" in r.stderr, r.stderr


def test_queries_listing(kg):
    r = kg("queries")
    assert r.returncode == 0
    assert set(line.split()[0] for line in r.stdout.splitlines()) == set(catalog.catalog())
    r = kg("queries", "trials-by-drug")
    assert "--param drug=...  (iri, required)" in r.stdout
    assert "a store asks only" not in r.stdout
    efficacy, studies = kg("queries", "efficacy").stdout, kg("queries", "studies").stdout
    assert "with --param trial: asked of the graphs that state it or point at it, each triple once" in efficacy
    assert "without it: asked a batch of trials at a time" in efficacy
    assert "with --param trial:" in studies
    assert "without it: asked a batch of trials at a time, in the order of their trialkg:slug" in studies


def _required_after_optional(node, found: list[str]) -> list[str]:
    """Triple patterns and sub-selects joined after an OPTIONAL of their own group (rdflib's algebra)."""
    from rdflib.plugins.sparql.parserutils import CompValue

    if isinstance(node, CompValue):
        if node.name == "Join" and isinstance(node.get("p2"), CompValue) and node["p2"].name in ("BGP", "ToMultiSet"):
            left = node["p1"]
            while isinstance(left, CompValue) and left.name in ("Extend", "Filter", "Join"):
                left = left["p1" if left.name == "Join" else "p"]
            if isinstance(left, CompValue) and left.name == "LeftJoin":
                right = node["p2"]
                found.append(" ".join(str(t) for t in right["triples"][0]) if right.name == "BGP" else "a sub-select")
        for child in node.values():
            _required_after_optional(child, found)
    elif isinstance(node, (list, tuple)):
        for child in node:
            _required_after_optional(child, found)
    return found


@pytest.mark.slow  # rdflib's parser takes half a second a query
@pytest.mark.parametrize("name", sorted(catalog.catalog()))
def test_required_patterns_come_before_the_optionals(name):
    """Joined after an OPTIONAL, a required pattern is a nested loop in Oxigraph: time quadratic in the corpus."""
    from rdflib.plugins.sparql import prepareQuery

    found = _required_after_optional(prepareQuery(catalog.get(name).text).algebra, [])
    assert found == [], f"{name}: move these above the first OPTIONAL of their group: {found}"


def test_the_scaling_check_finds_a_required_pattern_after_an_optional():
    from rdflib.plugins.sparql import prepareQuery

    bad = prepareQuery("SELECT * WHERE { ?s a ?c OPTIONAL { ?s <urn:p> ?o } ?s <urn:q> ?x }")
    good = prepareQuery("SELECT * WHERE { ?s a ?c . ?s <urn:q> ?x OPTIONAL { ?s <urn:p> ?o } }")
    assert _required_after_optional(bad.algebra, []) and not _required_after_optional(good.algebra, [])


# ---- scoped queries: one resource's rows from the graphs that describe it ------------------------

SCOPED = sorted(n for n, q in catalog.catalog().items() if q.scope)
#: what a scoped query needs besides its scope: a term the packaged publications have rows for
NEEDS: dict[str, dict[str, str]] = {
    "evidence-by-drug": {"drug": "NCIT:C1851"},
    "compare-outcomes": {"endpoint": "NCIT:C28234"},
}


def _scope_values(name: str, dataset: Dataset) -> list[str]:
    """Every resource a scoped query answers for: the values its unbound rows give the scope's column (every
    study, for a query that does not show which it answers for)."""
    q = catalog.get(name)
    variable = q.parameter(q.scope or "").variable
    named = re.search(rf"\(\?{variable} AS \?(\w+)\)", q.text)
    if not named:
        return _scope_values("studies", dataset)
    column = named.group(1)
    return sorted({r[column].value for r in dataset.run(name, NEEDS.get(name, {})).rows if column in r})


def _counted(name: str, dataset: Dataset, params: dict[str, str]) -> Counter:
    """The query's rows as the engine gives them on the dataset's store as it is (the union of its graphs, or a
    copy's default graph), not through the copy a scoped query is otherwise asked of."""
    q = catalog.get(name)
    return _tallied(name, execute.on_oxigraph(dataset.store, q.text, bind(q, params), union=not dataset.merged))


def _asked(name: str, dataset: Dataset, params: dict[str, str]) -> Counter:
    """The query's rows as `kg query` gives them (:meth:`Dataset.run`: of the copy a scoped query is asked of)."""
    return _tallied(name, dataset.run(name, params))


def _tallied(name: str, result) -> Counter:
    """The rows as cells, counted (an adverse event's terms in any order)."""
    norm = (lambda c: " + ".join(sorted(c.split(" + ")))) if name == "adverse-events" else (lambda c: c)
    return Counter(tuple(norm(cell(r.get(c))) for c in result.variables) for r in result.rows)


def test_scoped_queries_are_those_with_one_resource_to_answer_for():
    """A study's queries (its page asks them of its graphs too), and citation (who cites a publication says so in
    its own graph, pointing at the publication: a graph the publication is an object in); not provenance (a
    statistic's source may be described in another graph, without pointing at the statistic)."""
    assert SCOPED == sorted(
        ["adverse-events", "citation", "claims", "comparisons", "efficacy", "evidence-statistics"]
        + ["response-distribution", "studies", "trial-summary", "trial-terms", "evidence-by-drug", "compare-outcomes"]
    )
    for name in SCOPED:
        q = catalog.get(name)
        assert q.parameter(q.scope or "").type == "iri", name


@pytest.mark.parametrize("name", SCOPED)
def test_a_scoped_query_answers_a_resource_from_the_graphs_that_describe_it(name):
    """`#+ scope:` is a claim a store acts on (it asks those graphs alone): rows for every resource are the same."""
    scope = catalog.get(name).scope or ""
    answered = 0
    for data in (PACKAGED, RCT):
        for value in _scope_values(name, data):
            params = {scope: value, **NEEDS.get(name, {})}
            whole = _counted(name, data, params)
            own = data.of_studies([value])
            assert len(list(own.quads())) < len(data.store) or data is RCT  # one publication: its graph is the whole
            assert _counted(name, own, params) == whole, (name, value)
            # and as `kg query NAME --param` asks it: of a copy of those graphs, each triple once
            assert _asked(name, data, params) == whole, (name, value)
            answered += bool(whole)
    assert answered >= 2, f"{name}: too few resources with rows to compare"


def test_a_scope_that_names_no_iri_parameter_is_refused():
    with pytest.raises(QueryError, match=r"x\.rq: '#\+ scope: drug' names no IRI parameter"):
        catalog.parse_query("x", "#+ scope: drug\nSELECT * WHERE { ?s ?p ?__drug_string }")
    with pytest.raises(QueryError, match="names no IRI parameter"):
        catalog.parse_query("x", "#+ scope: trial\nSELECT * WHERE { ?s ?p ?o }")


@pytest.mark.slow
def test_a_store_answers_a_scoped_query_as_the_files_do(kg, tmp_path):
    """On a store `kg load` made, a scoped query asks the resource's own graphs: the rows stay the whole graph's."""
    store = tmp_path / "store"
    assert kg("load", "--store", str(store)).returncode == 0
    opened = Dataset.open(store)
    for name in SCOPED:
        scope = catalog.get(name).scope or ""
        values = _scope_values(name, PACKAGED)
        assert values, name
        for value in values[:3] + values[-3:]:
            params = {scope: value, **NEEDS.get(name, {})}
            whole = _counted(name, PACKAGED, params)  # the engine on the union of the files' graphs
            assert _counted(name, opened, params) == whole, (name, value)
            assert _asked(name, opened, params) == whole, (name, value)  # asked of the store's copy
    trial = _scope_values("efficacy", PACKAGED)[0]
    on_store = kg("query", "efficacy", "--store", str(store), "--param", f"trial={trial}", "--format", "csv")
    from_files = kg("query", "efficacy", "--param", f"trial={trial}", "--format", "csv")
    assert on_store.returncode == 0, on_store.stderr
    assert on_store.stdout == from_files.stdout
    assert len(on_store.stdout.splitlines()) > 2


# ---- a study's query over a whole store: a batch of studies at a time ----------------------------

BATCHED = sorted(
    n
    for n, q in catalog.catalog().items()
    if q.scope and (q.order or in_order_of(q.text, q.parameter(q.scope).variable))
)


def test_the_study_queries_that_order_rows_by_their_study_are_the_ones_asked_in_batches():
    """Those whose rows come study by study (sorted by it first, and showing it, or by a property of it: studies, by
    slug), and citation publication by publication."""
    assert BATCHED == [
        "adverse-events",
        "citation",
        "claims",
        "compare-outcomes",
        "comparisons",
        "efficacy",
        "evidence-by-drug",
        "evidence-statistics",
        "response-distribution",
        "studies",
        "trial-summary",
        "trial-terms",
    ]


def _written(
    dataset: Dataset, name: str | catalog.Query, fmt: str, limit: int | None = None, offset: int | None = None
) -> bytes:
    out = io.BytesIO()
    dataset.write(name, NEEDS.get(name, {}) if isinstance(name, str) else {}, fmt, out, limit=limit, offset=offset)
    return out.getvalue()


#: where a query with `#+ candidates:` takes the values of the parameter its candidates name: every term the data
#: has in that place, and every term mapped to one (queries follow mappings)
CANDIDATE_TERMS = {
    "evidence-by-drug": "?x trialkg:drug ?t",
    "compare-outcomes": "?x trialkg:measures ?t",
}


def test_every_query_that_declares_candidates_is_checked_against_the_whole_store():
    declared = sorted(n for n, q in catalog.catalog().items() if q.candidates)
    assert declared == sorted(CANDIDATE_TERMS)
    for name in declared:  # each names a parameter besides its scope, and its query is SPARQL the engine takes
        q = catalog.get(name)
        assert catalog.candidate_parameters(q), name
        execute.solutions(ox.Store(), catalog.candidates_query(q), bind(q, NEEDS[name]), name)


def test_a_candidates_pattern_needs_a_scope_and_its_variable():
    for header in ("#+ candidates: ?s ?p ?o .\n", "#+ scope: trial\n#+ candidates: ?s ?p ?o .\n"):
        with pytest.raises(QueryError, match=r"x\.rq: '#\+ candidates:' needs a '#\+ scope:'"):
            catalog.parse_query("x", header + "SELECT * WHERE { ?__trial_iri ?p ?_d_iri }")
    q = catalog.parse_query(
        "x",
        "#+ scope: trial\n#+ candidates: ?__trial_iri <http://x/p>\n#+    ?_d_iri .\nSELECT * WHERE { ?__trial_iri ?p ?_d_iri }",
    )
    assert q.candidates == "?__trial_iri <http://x/p> ?_d_iri ."  # indented lines go on with the value
    assert [p.name for p in catalog.candidate_parameters(q)] == ["d"]


@pytest.mark.slow
def test_a_study_query_for_a_term_copies_only_the_studies_that_reach_it(tmp_path, monkeypatch):
    """A whole-store study query given a drug or an endpoint (`#+ candidates:`) asks the batches of the studies
    that give that term (or one mapped to it), not of every study: a rare term's time follows its answer. The
    answer is the store's own, byte for byte, for every term the data has, a term mapped to one, and a term no
    study has (no copy at all)."""
    store = tmp_path / "store"
    data = Path(__file__).parent / "data"  # drugs given in a part of a regimen (the RCT's and a curator's file)
    extra = sources.files([data / "rct" / "synthetic-rct-3arm.ttl", data / "curators" / "rosinol-2012.ttl"])
    load_embedded([*sources.packaged_publications(), *extra], store_dir=store)
    batched, whole = Dataset.open(store), Dataset.open(store)
    monkeypatch.setattr(whole, "_batched", lambda q, bindings: False)
    monkeypatch.setattr(dataset_module, "BATCH_STUDIES", 1)
    monkeypatch.setattr(dataset_module, "WORKERS", 1)
    copied: list[str] = []  # the graphs batches copied (the ontology's aside)
    of_graphs = batched.of_graphs
    onto = sources.graph_iri(sources.ONTOLOGY_SLUG)

    def noted(graphs, predicates=None, **kw):
        graphs = list(graphs)
        copied.extend(g.value for g in graphs if g.value != onto)
        return of_graphs(graphs, predicates, **kw)

    monkeypatch.setattr(batched, "of_graphs", noted)
    every = len(batched.graphs()) - 1
    prologue = (
        "PREFIX trialkg: <https://w3id.org/trialkg/ontology/> PREFIX skos: <http://www.w3.org/2004/02/skos/core#>"
    )
    for name, where in CANDIDATE_TERMS.items():
        q = catalog.get(name)
        (param,) = catalog.candidate_parameters(q)
        terms = {
            r["t"].value
            for r in whole.store.query(
                f"{prologue} SELECT DISTINCT ?t WHERE {{ {{ {where} }} UNION {{ {where.replace('?t', '?u')} . "
                "?u skos:exactMatch|^skos:exactMatch ?t } FILTER(isIRI(?t)) }",
                use_default_graph_as_union=True,
            )
        }
        assert len(terms) > 3, name
        fewer = 0
        for term in [*sorted(terms), "http://example.org/no-such-term"]:
            params = {param.name: term}
            copied.clear()
            answers = {}
            for fmt in ("csv", "json"):
                out_b, out_w = io.BytesIO(), io.BytesIO()
                batched.write(name, params, fmt, out_b)
                whole.write(name, params, fmt, out_w)
                assert out_b.getvalue() == out_w.getvalue(), (name, term, fmt)
                answers[fmt] = out_w.getvalue()
            reached = {g.value for g in whole.graphs_of(r["study"].value for r in whole.run(name, params).rows)}
            assert reached - {onto} <= set(copied) and len(set(copied)) <= every, (name, term)
            fewer += len(set(copied)) < every
            if term.startswith("http://example.org/"):
                assert copied == [] and answers["csv"].count(b"\n") == 1, name  # the header alone
        assert fewer > 1, name  # the batches followed the term, not the corpus


@pytest.mark.slow
def test_a_study_query_asked_in_batches_by_several_processes_gives_the_bytes_of_one(tmp_path, monkeypatch):
    """The batches of a whole-store study query are answered by forked processes, several at once, and the
    answer is the same bytes, in every format and page, as one process asking them in turn."""
    store = tmp_path / "store"
    load_embedded(store_dir=store)
    ds = Dataset.open(store)
    monkeypatch.setattr(dataset_module, "BATCH_STUDIES", 1)  # a batch a study: six batches
    assert len(ds.studies()) >= 6
    pids = tmp_path / "pids"
    of_graphs = ds.of_graphs

    def noted(graphs, predicates=None, **kw):
        with open(pids, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        return of_graphs(graphs, predicates, **kw)

    monkeypatch.setattr(ds, "of_graphs", noted)
    for name in BATCHED:
        answers = {}
        for workers in (1, 3):
            monkeypatch.setattr(dataset_module, "WORKERS", workers)
            pids.write_text("")
            answers[workers] = [
                _written(ds, name, fmt, limit, offset)
                for fmt in ("csv", "tsv", "json", "table")
                for limit, offset in ((None, None), (2, 3))
            ]
            asked_in = set(pids.read_text().split())
            if workers == 1:
                assert asked_in == {str(os.getpid())}, name
            elif len(ds.scope_resources(catalog.get(name))) > 1:
                assert len(asked_in) > 2 and str(os.getpid()) not in asked_in, (name, asked_in)
        assert answers[1] == answers[3], name
    assert b"," in _written(ds, "efficacy", "csv").splitlines()[5]  # the answers compared are not all empty


@pytest.mark.slow
@pytest.mark.parametrize("batch", [1, 3])
def test_a_store_asks_a_study_query_in_batches_and_gives_the_whole_stores_answer(kg, tmp_path, monkeypatch, batch):
    """Asked of a whole store, a study's query is asked of a few studies' graphs at a time (memory stays that of a
    batch); the answer is byte for byte the store's own, in every format and page of it. One file here states two
    studies (the RCT and green-2017), so its graph is copied for each of them: a batch gives its own studies' rows
    only, never the other's a second time."""
    folder = tmp_path / "trials"
    folder.mkdir()
    packaged = {f.name: f.read_bytes() for f in resources.trial_files()}
    rct = (Path(__file__).parent / "data" / "rct" / "synthetic-rct-3arm.ttl").read_bytes()
    (folder / "two-studies.ttl").write_bytes(packaged.pop("green-2017.ttl") + rct)
    # figures and claims quoted from several sentences: rows that differ only in the quote must not tie
    cavo = packaged["cavo-2012.ttl"].decode()
    several = "trialkg:quotedFrom pub:sentence-5 , pub:sentence-1 , pub:sentence-8 , pub:sentence-9 ."
    assert cavo.count("trialkg:quotedFrom pub:sentence-5 .") >= 2
    packaged["cavo-2012.ttl"] = cavo.replace("trialkg:quotedFrom pub:sentence-5 .", several).encode()
    for file_name, turtle in packaged.items():
        (folder / file_name).write_bytes(turtle)
    curators = Path(__file__).parent / "data" / "curators" / "rosinol-2012.ttl"  # a curator's own three-arm file
    (folder / curators.name).write_bytes(curators.read_bytes())
    store = tmp_path / "store"
    loaded = kg("load", "--store", str(store), "--trials", str(folder))
    assert loaded.returncode == 0, loaded.stderr
    batched, whole = Dataset.open(store), Dataset.open(store)
    monkeypatch.setattr(whole, "_batched", lambda q, bindings: False)
    monkeypatch.setattr(dataset_module, "BATCH_STUDIES", batch)
    monkeypatch.setattr(dataset_module, "WORKERS", 1)  # copies counted here, in this process (several: below)
    copies: list[int] = []
    of_graphs = batched.of_graphs
    monkeypatch.setattr(
        batched,
        "of_graphs",
        lambda graphs, predicates=None, **kw: copies.append(1) or of_graphs(graphs, predicates, **kw),
    )
    studies = batched.studies()
    assert len(studies) == 8 and batched.of_graphs is not of_graphs
    for name in BATCHED:
        copies.clear()
        for fmt in ("csv", "tsv", "json", "table"):
            assert _written(batched, name, fmt) == _written(whole, name, fmt), (name, fmt)
        q = catalog.get(name)
        having = batched.scope_resources(q)
        assert len(copies) == 4 * -(-len(having) // batch), name  # asked a batch at a time, not of the store
        for limit, offset in ((2, None), (4, 3), (None, 5), (1, 0), (0, 1), (3, 10**6)):
            for fmt in ("csv", "tsv", "json"):
                assert _written(batched, name, fmt, limit, offset) == _written(whole, name, fmt, limit, offset)
        needs = NEEDS.get(name, {})
        assert batched.run(name, needs).rows == whole.run(name, needs).rows
        assert batched.run(name, needs, limit=3, offset=2).rows == whole.run(name, needs, limit=3, offset=2).rows
    assert len(_written(whole, "efficacy", "csv").splitlines()) > 40  # the answers compared are not all empty

    class Watched(io.BytesIO):
        """A reader that notes how many batches had been copied when each row arrived."""

        seen: list[int] = []

        def write(self, data) -> int:  # type: ignore[override]
            self.seen.append(len(copies))
            return super().write(data)

    copies.clear()
    out = Watched()
    batched.write("efficacy", {}, "csv", out)
    assert out.getvalue() == _written(whole, "efficacy", "csv")
    assert out.seen[0] == 1 and len(set(out.seen)) > 2, out.seen  # CSV rows come as each batch is answered
    assert 0 < len(batched.studies([(TKG + "hasClaim", None)])) < len(studies)  # claims asks only studies with one
    # a query whose every row needs what no study has: its columns, nothing copied
    nothing = catalog.parse_query("claims", catalog.get("claims").text.replace("trialkg:hasClaim", "trialkg:hasNone"))
    copies.clear()
    assert (
        _written(batched, nothing, "csv")
        == _written(whole, nothing, "csv")
        == b"trial,claim,label,text,attributed_to,source,quote\r\n"
    )
    assert copies == []
    assert len(batched.rows("efficacy", trial=str(studies[0].value))) < len(batched.rows("efficacy"))


def _stated_twice(slug: str) -> tuple[Dataset, Dataset]:
    """A packaged publication alone, and beside a copy of its file under another name: every triple it states is
    then in two graphs, which the union of the graphs gives twice (an abstract and its full paper restating one
    trial, a journal many files name)."""
    (file,) = [f for f in resources.trial_files() if f.name == f"{slug}.ttl"]
    one = [sources.Source(name=file.name, slug=slug, data=file.read_bytes())]
    again = sources.Source(name=f"{file.name} (again)", slug=f"{slug}-again", data=file.read_bytes())
    return Dataset.build(one), Dataset.build([*one, again])


def test_every_query_of_files_that_state_a_publication_twice_answers_as_the_file_once():
    """`--trials` files are asked as one copy whose default graph holds each triple once: a file given twice made
    `evidence-by-drug` and `compare-outcomes` (whole-dataset queries, a dozen patterns) take past 3 GB, each of the
    union's triples meeting its copy at every pattern."""
    from kg import sandbox

    alone, twice = _stated_twice("isoda-2018")
    asks = [(name, {}) for name, q in catalog.catalog().items() if not any(p.required for p in q.parameters)]
    asks += [("evidence-by-drug", {"drug": "NCIT:C1851"}), ("compare-outcomes", {"endpoint": "NCIT:C28234"})]
    asks += [("trials-by-drug", {"drug": "NCIT:C1851"})]

    def answers(ds: Dataset) -> dict[str, list[dict[str, object]]]:
        return {name: ds.run(name, params).rows for name, params in asks}

    outcome = sandbox.run(answers, twice, timeout=60, max_memory_mb=2048)
    assert outcome.ok, outcome.describe()
    assert outcome.value == answers(alone)
    assert all(outcome.value[name] for name in ("evidence-by-drug", "compare-outcomes", "efficacy", "citation"))


def test_claims_stated_in_two_graphs_come_once():
    alone, twice = _stated_twice("isoda-2018")
    claims = alone.rows("claims")
    assert claims and twice.rows("claims") == claims


@pytest.mark.slow
def test_a_citation_stated_in_two_graphs_lists_each_author_once():
    import json as json_module

    from kg.export import WRITERS

    for ds in _stated_twice("isoda-2018"):
        bundle = json_module.loads(WRITERS["fhir"]["trialkg-fhir-bundle.json"](ds))
        (citation,) = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Citation"]
        entries = citation["citedArtifact"]["contributorship"]["entry"]
        assert [e["rankingOrder"] for e in entries] == list(range(1, len(entries) + 1)), len(entries)


@pytest.mark.parametrize("slug", ["isoda-2018", "cavo-2012"])
def test_response_categories_stated_in_two_graphs_are_summed_once(slug):
    """consistency sums a population's response-category shares: with every figure in two graphs it found '3968 %
    over 256 categories' in a clean file."""
    alone, twice = _stated_twice(slug)
    assert alone.rows("consistency") == [] and twice.rows("consistency") == []


def _loaded_thrice(kg, tmp_path: Path, slug: str) -> tuple[Dataset, Dataset]:
    """Stores made by ``kg load``: a packaged publication's file once, and three times under three names (a
    curator's copy beside the packaged one; an abstract and its full paper restating one trial), each beside a
    curator's file of another study."""
    (file,) = [f for f in resources.trial_files() if f.name == f"{slug}.ttl"]
    other = Path(__file__).parent / "data" / "curators" / "rosinol-2012.ttl"
    stores = []
    for copies in (["a"], ["a", "b", "c"]):
        folder = tmp_path / f"trials-{len(copies)}"
        folder.mkdir()
        (folder / other.name).write_bytes(other.read_bytes())
        for name in copies:
            (folder / f"{slug}-{name}.ttl").write_bytes(file.read_bytes())
        store = tmp_path / f"store-{len(copies)}"
        loaded = kg("load", "--store", str(store), "--trials", str(folder))
        assert loaded.returncode == 0, loaded.stderr
        stores.append(Dataset.open(store))
    return stores[0], stores[1]


@pytest.mark.slow
def test_a_study_three_files_state_is_answered_as_one_file_in_bounded_memory(kg, tmp_path, monkeypatch):
    """The union of the graphs gives a triple once for each file that states it, so a ten-pattern query over a
    study three files state met each row 3^10 times: `trial-summary` ran past two minutes and `kg summary` of that
    study took all 24 GB of the machine. A study's own graphs are copied with each triple once (its queries, its
    summary screen, its page, and a whole store asked in batches; `citation`, twelve patterns, ran past a minute
    and made `kg publish --static` hang): the answers of one file, in bounded memory."""
    from kg import sandbox
    from kg.summary import summarize
    from kg.web.pages import page
    from kg.web.site import Site

    alone, thrice = _loaded_thrice(kg, tmp_path, "isoda-2018")
    iri = "https://w3id.org/trialkg/trial/isoda-2018"
    assert len(thrice.studies()) == 2 and ox.NamedNode(iri) in thrice.studies()
    scoped = [name for name in BATCHED if catalog.get(name).scope == "trial"]

    def answers(ds: Dataset) -> tuple[dict[str, list[dict[str, object]]], str, list[str]]:
        rows = {name: ds.run(name, {"trial": iri}).rows for name in scoped}
        rows["citation"] = ds.run("citation", {"publication": "https://w3id.org/trialkg/publication/isoda-2018"}).rows
        figures = re.findall(r"<td[^>]*>([^<]*%[^<]*)</td>", page(Site(ds), iri))  # the page's percentages
        return rows, summarize(ds, ["isoda-2018"]), figures

    outcome = sandbox.run(answers, thrice, timeout=60, max_memory_mb=2048)
    assert outcome.ok, outcome.describe()
    rows, screen, figures = outcome.value
    assert (rows, screen, figures) == answers(alone)
    assert rows["efficacy"] and rows["trial-summary"] and figures  # not answers that are all empty

    # the whole store asked a study at a time: each batch its study's graphs, each triple once
    monkeypatch.setattr(dataset_module, "BATCH_STUDIES", 1)
    for name in ("efficacy", "adverse-events", "trial-terms", "evidence-statistics", "citation", *NEEDS):
        batched = sandbox.run(_written, thrice, name, "csv", timeout=60, max_memory_mb=2048)
        assert batched.ok, (name, batched.describe())
        assert batched.value == _written(alone, name, "csv"), name


@pytest.mark.slow
def test_a_publication_cited_from_another_file_lists_that_citation_asked_alone_or_in_batches(kg, tmp_path, monkeypatch):
    """`citation` is asked of the graphs a publication is stated or pointed at in: a report in a file of its own
    that cites it (cito:cites) is one of its citers, asked for that publication or for every publication, of
    the files and of a store (where it is asked of a copy of those graphs, or in batches of them)."""
    (isoda,) = [f for f in resources.trial_files() if f.name == "isoda-2018.ttl"]
    news = Path(__file__).parent / "data" / "cited" / "news-elsewhere.ttl"
    folder = tmp_path / "trials"
    folder.mkdir()
    for f in (isoda, news):
        (folder / f.name).write_bytes(f.read_bytes())
    loaded = kg("load", "--store", str(tmp_path / "store"), "--trials", str(folder))
    assert loaded.returncode == 0, loaded.stderr
    publication = "https://w3id.org/trialkg/publication/isoda-2018"
    citers = {
        "https://w3id.org/trialkg/publication/cta-isoda-2018",
        "https://w3id.org/trialkg/publication/news-elsewhere",
    }
    files, store = Dataset.build(sources.files([folder])), Dataset.open(tmp_path / "store")
    monkeypatch.setattr(dataset_module, "BATCH_STUDIES", 1)  # a batch a publication
    for data in (files, store):
        alone = data.rows("citation", publication=publication)
        assert {r["cited_by"].value for r in alone} == citers
        assert [r for r in data.rows("citation") if r["publication"].value == publication] == alone
        params = {"publication": publication}
        assert _counted("citation", data, params) == _asked("citation", data, params)


@pytest.mark.slow
def test_a_query_a_user_wrote_reads_its_from_graphs_of_files_and_of_a_store(kg, tmp_path):
    """A user's query is asked of the data as it is, alike of files and of a store: its FROM graphs where it names
    them (a store ignored them, answering from the union of every graph), else the union of the graphs (a store's
    holds its stored description too)."""
    store = tmp_path / "store"
    assert kg("load", "--store", str(store)).returncode == 0
    mine = tmp_path / "mine.rq"
    graph = "https://w3id.org/trialkg/graph/isoda-2018"
    counts = []
    for text in (
        f"SELECT (COUNT(*) AS ?n) FROM <{graph}> WHERE {{ ?s ?p ?o }}",
        "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    ):
        mine.write_text(text)
        asked = [kg("query", "--file", str(mine), *where, "--format", "csv") for where in ((), ("--store", str(store)))]
        assert all(a.returncode == 0 for a in asked), [a.stderr for a in asked]
        counts.append([int(a.stdout.split()[-1]) for a in asked])
    opened = Dataset.open(store)
    own, data, description = len(list(opened.quads(graph))), len(list(opened.quads())), len(opened.stored_description())
    assert counts == [[own, own], [data, data + description]]
