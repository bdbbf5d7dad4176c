"""The FHIR R5 Bundle resolves: every reference is an entry, every quantity has its UCUM code, comparisons say their groups."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

UCUM = "http://unitsofmeasure.org"
STAT_TYPE = "http://terminology.hl7.org/CodeSystem/statistic-type"
ESTIMATE_TYPE = "http://terminology.hl7.org/CodeSystem/attribute-estimate-type"
ROLE = "http://terminology.hl7.org/CodeSystem/variable-role"


@pytest.fixture(scope="module")
def bundle(dataset) -> dict:
    """The bundle as `kg export --format fhir` writes it (tests/test_export.py runs the command itself)."""
    from kg.export import WRITERS

    return json.loads(WRITERS["fhir"]["trialkg-fhir-bundle.json"](dataset))


def walk(node, path=()) -> Iterator[tuple[tuple, dict]]:
    """Every JSON object in the document, with its path of keys."""
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from walk(v, (*path, k))
    elif isinstance(node, list):
        for v in node:
            yield from walk(v, path)


def resolve(reference: str, referrer_full_url: str, full_urls: set[str]) -> str | None:
    """FHIR's rule for a reference inside a Bundle: an absolute reference (or a URN) must be some entry's
    fullUrl; a relative one (Type/id) resolves against the RESTful base of the referring entry's fullUrl."""
    if reference.startswith(("urn:", "http://", "https://")):
        return reference if reference in full_urls else None
    parts = referrer_full_url.rstrip("/").split("/")
    if len(parts) < 3:
        return None
    candidate = "/".join(parts[:-2] + [reference])
    return candidate if candidate in full_urls else None


def evidence(bundle: dict) -> dict[str, dict]:
    return {
        e["resource"]["url"].rsplit("/trialkg/", 1)[-1]: e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Evidence"
    }


def test_every_reference_resolves_to_an_entry(bundle):
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    assert len(by_url) == len(bundle["entry"]), "fullUrls are unique"
    followed = 0
    for entry in bundle["entry"]:
        for path, obj in walk(entry["resource"]):
            if "reference" in obj and isinstance(obj["reference"], str):
                target = resolve(obj["reference"], entry["fullUrl"], set(by_url))
                assert target, (
                    f"{entry['fullUrl']}: reference {obj['reference']!r} at {'.'.join(path)} resolves to no entry"
                )
                expected = {"observed": "EvidenceVariable", "citeAsReference": "Citation"}.get(path[-1])
                if expected:
                    assert by_url[target]["resourceType"] == expected, (path, target)
                followed += 1
    resources = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Evidence"]
    # every Evidence refers to its variable, and those read in an article to its Citation
    assert followed == len(resources) + sum("citeAsReference" in r for r in resources) > 40


def test_full_urls_are_the_graphs_iris_or_uuids(bundle, dataset):
    subjects = {q.subject.value for q in dataset.quads() if hasattr(q.subject, "value")}
    for entry in bundle["entry"]:
        url = entry["fullUrl"]
        if entry["resource"]["resourceType"] == "EvidenceVariable":
            assert url.startswith("urn:uuid:")
        else:
            assert url in subjects and entry["resource"]["url"] == url


def test_every_quantity_carries_ucum(bundle):
    quantities = 0
    for _path, obj in walk(bundle):
        if (
            "value" in obj
            and isinstance(obj["value"], (int, float))
            and ("unit" in obj or "code" in obj or "comparator" in obj)
        ):
            assert obj.get("system") == UCUM and obj.get("code"), obj
            quantities += 1
    values = sum("quantity" in st for _, ev in evidence(bundle).items() for st in ev["statistic"])
    assert quantities > values > 30  # the statistics' own values, their bounds, p-values and time points


def test_hazard_and_risk_ratios_are_comparative_evidence(bundle):
    ev = evidence(bundle)
    hr = ev["study/sun-2017/pfs-hazard-ratio"]
    roles = {v["variableRole"]["coding"][0]["code"]: v for v in hr["variableDefinition"]}
    assert all(v["variableRole"]["coding"][0]["system"] == ROLE for v in hr["variableDefinition"])
    assert roles["exposure"]["description"] == "bortezomib maintenance"
    assert roles["referenceExposure"]["description"] == "non-bortezomib maintenance"
    assert {"population", "measuredVariable"} <= set(roles)
    stat = hr["statistic"][0]
    assert stat["statisticType"]["coding"][0] == {"system": STAT_TYPE, "code": "C93150", "display": "Hazard Ratio"}
    assert stat["quantity"]["value"] == 0.67 and stat["quantity"]["code"] == "1"
    estimates = {e["type"]["coding"][0]["code"]: e for e in stat["attributeEstimate"]}
    assert all(e["type"]["coding"][0]["system"] == ESTIMATE_TYPE for e in stat["attributeEstimate"])
    ci = estimates["C53324"]
    assert ci["level"] == 0.95 and ci["range"]["low"]["value"] == 0.51 and ci["range"]["high"]["value"] == 0.87
    assert ci["range"]["low"]["system"] == UCUM and ci["range"]["high"]["code"] == "1"
    assert estimates["C44185"]["quantity"]["value"] == 0.003 and "comparator" not in estimates["C44185"]["quantity"]
    rr = ev["study/sun-2017/neutropenia-risk-ratio"]["statistic"][0]
    assert rr["statisticType"]["coding"][0]["code"] == "C93152"
    assert [e["type"]["coding"][0]["code"] for e in rr["attributeEstimate"]] == ["C53324"]  # no p-value printed


def test_a_p_value_bound_keeps_its_comparator(bundle):
    comparison = evidence(bundle)["study/lee-2013/pfs-3y-comparison"]
    roles = {v["variableRole"]["coding"][0]["code"]: v for v in comparison["variableDefinition"]}
    assert roles["exposure"]["description"].startswith("early good response")
    assert roles["referenceExposure"]["description"].startswith("poor response")
    (p,) = comparison["statistic"][0]["attributeEstimate"]
    assert p["type"]["coding"][0]["code"] == "C44185"
    assert p["quantity"]["comparator"] == "<" and p["quantity"]["value"] == 0.001
    os_p = evidence(bundle)["study/lee-2013/os-3y-comparison"]["statistic"][0]["attributeEstimate"][0]["quantity"]
    assert os_p["value"] == 0.078 and "comparator" not in os_p


def test_ranges_and_rates_at_a_time_point(bundle):
    ev = evidence(bundle)
    days = ev["trial/green-2017/days-to-allograft"]["statistic"][0]
    (rng,) = days["attributeEstimate"]
    assert rng["type"]["coding"][0]["code"] == "C38013"
    assert (rng["range"]["low"]["value"], rng["range"]["high"]["value"], rng["range"]["low"]["code"]) == (41, 168, "d")
    rate = ev["trial/green-2017/pfs-2y-newly-diagnosed"]
    assert rate["statistic"][0]["quantity"] == {"value": 71, "unit": "percent", "system": UCUM, "code": "%"}
    variable_url = next(v["observed"]["reference"] for v in rate["variableDefinition"] if "observed" in v)
    variable = next(e["resource"] for e in bundle["entry"] if e["fullUrl"] == variable_url)
    when = variable["characteristic"][0]["timeFromEvent"][0]
    assert when["quantity"] == {"value": 2, "unit": "year", "system": UCUM, "code": "a"}
    four_years = ev["trial/green-2017/pfs-4y-newly-diagnosed"]
    other = next(v["observed"]["reference"] for v in four_years["variableDefinition"] if "observed" in v)
    assert other != variable_url, "2-year and 4-year PFS are two variables"


def test_publications_that_share_a_journal_list_each_author_once(synth, tmp_path):
    """A journal several files name is stated in each of them; read across the union of their graphs, its label and
    ISSN multiplied every author row (100 publications in one journal: each author listed 10,000 times, 11 GB)."""
    from kg import sources as src
    from kg.dataset import Dataset
    from kg.export import WRITERS

    synth.generate(3, seed=1, out=tmp_path)
    ds = Dataset.build(src.files([tmp_path]))
    journals = ds.store.query(
        "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?p <https://w3id.org/trialkg/ontology/publishedIn> ?j } }"
    )
    assert int(next(iter(journals))["n"].value) == 3, "the three files each state the journal they share"
    bundle = json.loads(WRITERS["fhir"]["trialkg-fhir-bundle.json"](ds))
    citations = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Citation"]
    assert len(citations) == 3
    authorships = "SELECT (COUNT(*) AS ?n) WHERE { ?p <https://w3id.org/trialkg/ontology/hasAuthorship> ?a }"
    stated = int(next(iter(ds.store.query(authorships, use_default_graph_as_union=True)))["n"].value)
    listed = [c["citedArtifact"]["contributorship"]["entry"] for c in citations]
    assert sum(len(x) for x in listed) == stated, "one contributor entry per authorship the graphs state"
    for entries in listed:
        assert [e["rankingOrder"] for e in entries] == list(range(1, len(entries) + 1))
    for c in citations:
        assert c["citedArtifact"]["publicationForm"][0]["publishedIn"]["title"], "the journal is still named"


def test_a_comparison_of_two_arms_of_three_is_over_those_two(tmp_path):
    """A comparison of two of three arms is not over the population every arm is drawn from (which holds the
    third arm): its population is the two groups, each with its own size; and a group that is a subset of two
    populations (a safety set drawn from its arm and from the safety set across arms) gives one Evidence, so
    every fullUrl in the Bundle is one entry's."""
    from pathlib import Path

    from kg import sources
    from kg.dataset import Dataset
    from kg.export import WRITERS

    rct = Path(__file__).parent / "data" / "rct" / "synthetic-rct-3arm.ttl"
    text = rct.read_text(encoding="utf-8").replace(
        "    trialkg:subsetOf trial:randomized ; trialkg:enteredPhase trial:induction-vd ;",
        "    trialkg:subsetOf trial:randomized , trial:arm-vd-everyone ; trialkg:enteredPhase trial:induction-vd ;",
    )
    text += (
        'trial:arm-vd-everyone a trialkg:AnalysisPopulation ; rdfs:label "everyone in the VD arm" ; '
        "trialkg:sizeBasis trialkg:NotStated .\n"
    )
    (tmp_path / rct.name).write_text(text, encoding="utf-8")
    bundle = json.loads(WRITERS["fhir"]["trialkg-fhir-bundle.json"](Dataset.build(sources.files([tmp_path]))))
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(urls) == len(set(urls)), "each fullUrl is one entry's"
    found = evidence(bundle)
    for key, groups in {
        "trial/synthetic-rct-3arm/cr-vd-vs-td": ("allocated to VD", "allocated to TD"),
        "trial/synthetic-rct-3arm/cr-vd-vs-vbmcp": ("allocated to VD", "allocated to VBMCP/VBAD/B"),
    }.items():
        definitions = found[key]["variableDefinition"]
        population = next(d for d in definitions if d["variableRole"]["coding"][0]["code"] == "population")
        assert population["description"] == f"{groups[0]} and {groups[1]}"
        assert "sampleSize" not in found[key]["statistic"][0], "no size of a population holding a third arm"
        shown = {d.get("description") for d in definitions}
        assert set(groups) <= {x.split(" (", 1)[0] for x in shown if x}


def test_a_comparison_of_a_two_arm_trials_arms_is_over_all_it_randomized(bundle):
    """Review 36: with the population the two groups instead, a two-arm trial's comparison lost its size (370
    randomized, correct there). The population both groups are drawn from is kept where it holds their arms and
    no other; groups drawn from two populations (each arm's assessed patients) get none."""
    found = evidence(bundle)
    pfs = found["trial/mellqvist-2013/pfs-comparison"]["statistic"][0]
    assert pfs["sampleSize"] == {"description": "randomized 3 months after the transplant", "numberOfParticipants": 370}
    assert "sampleSize" not in found["trial/mellqvist-2013/response-improved-comparison"]["statistic"][0]


def test_a_statistic_type_is_coded_only_with_a_code_hl7_defines(bundle):
    """HL7's statistic-type system defines 22 codes (ontology/imports/statistic-types.ttl, from HL7 UTG): a
    survival rate (OBI) was coded '0000789' under it, 'not stated' with an IRI as its code (reviews 37, 38)."""
    import pyoxigraph as ox

    from kg import resources

    text = resources.ontology_file("imports/statistic-types.ttl").read_bytes()
    graph = [q.triple for q in ox.parse(text, format=ox.RdfFormat.TURTLE)]
    skos = "http://www.w3.org/2004/02/skos/core#"
    in_hl7 = {t.subject for t in graph if t.predicate.value == skos + "inScheme" and t.object.value == STAT_TYPE}
    notation = {t.subject: t.object.value for t in graph if t.predicate.value == skos + "notation"}
    display = {t.subject: t.object.value for t in graph if t.predicate.value == skos + "prefLabel"}
    hl7 = {notation[c]: display[c] for c in in_hl7}
    assert len(hl7) >= 20 and hl7["C44256"] == "Proportion"
    evidence = [e for _, e in walk(bundle) if e.get("resourceType") == "Evidence"]
    types = [s["statisticType"] for e in evidence for s in e["statistic"] if "statisticType" in s]
    coded = [c for t in types for c in t.get("coding", [])]
    assert coded and all(c["system"] == STAT_TYPE and hl7.get(c["code"]) == c["display"] for c in coded), coded
    uncoded = {t["text"] for t in types if "coding" not in t}
    assert "survival rate" in uncoded  # green-2017's and lee-2013's 3-year rates: OBI, no HL7 code


def test_every_journal_article_has_a_citation_title_or_not(bundle, dataset):
    """FHIR's Citation needs no title or author list: cavo-2012 (no page printed its title) had none, and its 16
    Evidence cited a bare CURIE (review 37)."""
    from kg.sparql import select

    rows = select(dataset.store, "SELECT DISTINCT ?p WHERE { ?p a <https://w3id.org/trialkg/ontology/JournalArticle> }")
    articles = {r["p"].value for r in rows}
    cited = {e["url"] for _, e in walk(bundle) if e.get("resourceType") == "Citation"}
    assert "https://w3id.org/trialkg/publication/cavo-2012" in articles and articles <= cited
    ev = [e for _, e in walk(bundle) if e.get("resourceType") == "Evidence" and "/cavo-2012/" in e["url"]]
    assert ev and all(e["citeAsReference"]["reference"].endswith("/publication/cavo-2012") for e in ev)


def test_a_comparison_across_three_arms_is_evidence_too():
    """README: an Evidence per p-value-only comparison; one across three or more groups (trialkg:comparedGroup)
    was left out (review 38). Its groups are the exposures, its one P value the estimate."""
    from pathlib import Path

    from kg import sources
    from kg.dataset import Dataset
    from kg.export import WRITERS

    rct = Path(__file__).parent / "data" / "rct"
    bundle = json.loads(WRITERS["fhir"]["trialkg-fhir-bundle.json"](Dataset.build(sources.files([rct]))))
    ev = evidence(bundle)["trial/synthetic-rct-3arm/pfs-three-arms"]
    groups = {
        d["description"] for d in ev["variableDefinition"] if d["variableRole"]["coding"][0]["code"] == "exposure"
    }
    assert len(groups) == 3
    (p,) = ev["statistic"][0]["attributeEstimate"]
    assert p["type"]["coding"][0]["code"] == "C44185" and p["quantity"]["value"] == 0.03
    measured = [d for d in ev["variableDefinition"] if d["variableRole"]["coding"][0]["code"] == "measuredVariable"]
    assert measured and measured[0]["observed"]["display"] == "Progression-free Survival"
    models = pytest.importorskip("fhir.resources")
    for entry in bundle["entry"]:  # R5 as the models read it, each resource
        models.get_fhir_model_class(entry["resource"]["resourceType"]).model_validate(entry["resource"])


def test_a_unit_without_a_ucum_code_writes_no_empty_code(tmp_path):
    """Review 45: a figure in a dimensionless unit (UO:0000186, which `kg terms unit` offers) was exported as
    ``"code": ""``; FHIR has no empty strings, and a Quantity's code needs its system (qty-3). Such a quantity
    keeps its unit's label and value, with no code and no system; nowhere in the bundle is a string empty."""
    from pathlib import Path

    from kg import sources
    from kg.dataset import Dataset
    from kg.export import WRITERS

    rct = Path(__file__).parent / "data" / "rct" / "synthetic-rct-3arm.ttl"
    old = "trialkg:value 31 ; trialkg:numberOfEvents 40 ; trialkg:unit UO:0000187 ;"
    text = rct.read_text(encoding="utf-8")
    assert text.count(old) == 1
    (tmp_path / rct.name).write_text(text.replace(old, old.replace("UO:0000187", "UO:0000186")), encoding="utf-8")
    bundle = json.loads(WRITERS["fhir"]["trialkg-fhir-bundle.json"](Dataset.build(sources.files([tmp_path]))))
    empty = [(path, k) for path, obj in walk(bundle) for k, v in obj.items() if v == ""]
    assert not empty, empty[:5]
    quantities = [
        st["quantity"]
        for ev in evidence(bundle).values()
        for st in ev["statistic"]
        if st.get("quantity", {}).get("value") == 31
    ]
    assert quantities and all("code" not in q and "system" not in q and q["unit"] for q in quantities), quantities
