"""Each SHACL constraint catches the mistake it is for, with a message in words.

Every case takes the packaged seed trial, makes one curator's mistake in one
resource's Turtle block, and asserts the specific violation (focus node and
message), not just "does not conform". The unmodified seed conforms.
"""
from __future__ import annotations

import pytest

from kg.sources import Source
from kg.validate import validate

T = "trialkg:trial/isoda-2018/"

# (case id, resource whose block is edited, old text, new text, expected focus, expected message part)
CASES = [
    ("count-over-denominator", "trial:after-maintenance-pr", "tkg:value 3 ;", "tkg:value 40 ;",
     T + "after-maintenance-pr", "count is larger than its denominator"),
    ("percentage-disagrees-with-count", "trial:orr", "tkg:value 61 ;", "tkg:value 61 ; tkg:numberOfEvents 30 ;",
     T + "orr", "disagrees with number of events / population size"),
    ("events-over-denominator", "trial:orr", "tkg:value 61 ;", "tkg:value 61 ; tkg:numberOfEvents 40 ;",
     T + "orr", "number of events is larger than the denominator"),
    ("percentage-out-of-range", "trial:disease-progression", "tkg:value 50 ;", "tkg:value 150 ;",
     T + "disease-progression", "percentage between 0 and 100"),
    ("median-value-and-not-reached", "trial:os-from-induction", "tkg:notReached true ;", "tkg:notReached true ; tkg:value 40 ;",
     T + "os-from-induction", "either a value or 'not reached', not both"),
    ("median-neither", "trial:pfs-from-induction", "tkg:value 13.8 ;", "",
     T + "pfs-from-induction", "neither a value nor 'not reached'"),
    ("not-reached-on-a-proportion", "trial:orr", "tkg:value 61 ;", "tkg:notReached true ;",
     T + "orr", "Only a median can be 'not reached'"),
    ("count-not-whole", "trial:after-maintenance-sd", "tkg:value 3 ;", "tkg:value 2.5 ;",
     T + "after-maintenance-sd", "whole non-negative number"),
    ("statistic-without-unit", "trial:follow-up", "tkg:unit UO:0000035 ;", "",
     T + "follow-up", "exactly one unit"),
    ("statistic-without-denominator", "trial:follow-up", "tkg:population tkg:PopulationNotStated ;", "",
     T + "follow-up", "exactly one denominator"),
    ("statistic-without-source", "trial:follow-up", "prov:wasDerivedFrom <publication/cta-isoda-2018> ;", "",
     T + "follow-up", "prov:wasDerivedFrom the source document"),
    ("statistic-without-quote", "trial:follow-up", " ;\n    tkg:quotedFrom news:sentence-8 .", " .",
     T + "follow-up", "tkg:quotedFrom the sentence"),
    ("time-to-event-without-origin", "trial:pfs-from-maintenance", "tkg:timeOrigin tkg:StartOfMaintenance ;", "",
     T + "pfs-from-maintenance", "must name its time origin"),
    ("wrong-statistic-type", "trial:orr", "tkg:statisticType NCIT:C44256 ;", "tkg:statisticType NCIT:C28234 ;",
     T + "orr", "exactly one statistic type"),
    ("undeclared-external-term", "trial:orr", "tkg:measures NCIT:C96613 ;", "tkg:measures NCIT:C9999999 ;",
     "NCIT:C9999999", "not declared with its label"),
    ("estimate-outside-interval", "trial:pfs-from-induction-abstract-ci", "tkg:lower 11.4 ;", "tkg:lower 14.0 ;",
     T + "pfs-from-induction-abstract", "outside its own confidence interval"),
    ("interval-bounds-reversed", "trial:pfs-from-maintenance-abstract-ci", "tkg:upper 10.7 ;", "tkg:upper 3.0 ;",
     T + "pfs-from-maintenance-abstract-ci", "lower bound is above its upper bound"),
    ("interval-level-as-percent", "trial:pfs-from-induction-abstract-ci", "tkg:level 0.95 ;", "tkg:level 95.0 ;",
     T + "pfs-from-induction-abstract-ci", "a fraction between 0 and 1"),
    ("bad-doi", "<publication/isoda-2018>", 'tkg:doi "10.1007/s12185-018-2448-9" ;', 'tkg:doi "doi: 10.1007/s12185" ;',
     "trialkg:publication/isoda-2018", "DOI must look like 10.NNNN/suffix"),
    ("doi-and-iri-disagree", "<publication/isoda-2018>", "schema:sameAs <https://doi.org/10.1007/s12185-018-2448-9> ;",
     "schema:sameAs <https://doi.org/10.1007/s12185-018-0000-0> ;",
     "trialkg:publication/isoda-2018", "DOI literal and the https://doi.org/ IRI"),
    ("author-positions-clash", "paper:author-2", "tkg:position 2", "tkg:position 1",
     "trialkg:publication/isoda-2018", "share a position"),
    ("bad-issn", "<journal/int-j-hematol>", '"0925-5710"', '"925-5710"',
     "trialkg:journal/int-j-hematol", "ISSN must look like"),
    ("drug-not-a-drug-term", "trial:maintenance-bortezomib", "tkg:drug NCIT:C1851 ;", "tkg:drug <http://example.org/bortezomib> ;",
     T + "maintenance-bortezomib", "exactly one drug, as an NCIt or ChEBI term"),
    ("dose-without-unit", "trial:maintenance-bortezomib", "tkg:doseUnit UO:0000309 ;", "",
     T + "maintenance-bortezomib", "dose value is given without its dose unit"),
    ("duration-without-unit", "trial:maintenance", "tkg:durationUnit UO:0000036 ;", "",
     T + "maintenance", "without its unit"),
    ("subpopulation-too-large", "trial:population-evaluable", "tkg:size 36 ;", "tkg:size 40 ;",
     T + "population-evaluable", "larger than the population it is a subset of"),
    ("population-size-without-quote", "trial:population-enrolled", " ;\n    tkg:quotedFrom news:sentence-2 .", " .",
     T + "population-enrolled", "needs its provenance"),
    ("trial-without-arm", "<trial/isoda-2018>", "tkg:hasArm trial:arm ;", "",
     "trialkg:trial/isoda-2018", "at least one arm"),
    ("claim-not-attributed", "trial:claim-headline", "prov:wasAttributedTo <publication/cta-isoda-2018> ;", "",
     T + "claim-headline", "attributed to whoever made it"),
    ("quote-without-exact-text", "news:sentence-4-selector", "oa:exact", "oa:prefix",
     "trialkg:publication/cta-isoda-2018/sentence-4", "text quote selector with the exact sentence"),
    ("author-list-completeness-missing", "<publication/isoda-2018>", "tkg:authorListComplete false ;", "",
     "trialkg:publication/isoda-2018", "whether its author list is complete"),
]


def validate_text(ttl: str, engine: str = "oxigraph"):
    return validate([Source(name="broken.ttl", slug="broken", data=ttl.encode("utf-8"))], engine=engine)


@pytest.mark.parametrize("engine", ["oxigraph", "pyshacl"])
def test_seed_conforms(trial_turtle, engine):
    report = validate_text(trial_turtle, engine)
    assert report.conforms, report.text()
    assert report.violations == []


@pytest.mark.parametrize("case,subject,old,new,focus,message", CASES, ids=[c[0] for c in CASES])
def test_constraint_catches(trial_turtle, edit_block, case, subject, old, new, focus, message):
    """The default (compiled, Oxigraph) validator catches the mistake and says so in words."""
    report = validate_text(edit_block(trial_turtle, subject, old, new))
    assert not report.conforms
    hits = [v for v in report.violations if message in v.message]
    assert hits, f"expected {message!r}; got:\n{report.text()}"
    assert any(v.focus.startswith(focus) for v in hits), f"expected focus {focus}; got {[v.focus for v in hits]}"
    assert all(v.source == "broken.ttl" for v in hits), "the report must name the file the focus node came from"


def _key(report):
    return {(v.source, v.focus, v.path, v.message) for v in report.violations}


@pytest.mark.slow
@pytest.mark.parametrize("case,subject,old,new,focus,message", CASES, ids=[c[0] for c in CASES])
def test_compiled_validator_reports_what_pyshacl_reports(trial_turtle, edit_block, case, subject, old, new, focus, message):
    """The SPARQL-compiled validator and pyshacl find the same violations (focus, path, message, file)."""
    ttl = edit_block(trial_turtle, subject, old, new)
    fast, reference = validate_text(ttl, "oxigraph"), validate_text(ttl, "pyshacl")
    assert fast.conforms == reference.conforms
    assert _key(fast) == _key(reference)


def test_compiler_refuses_unsupported_shapes():
    import pyoxigraph as ox

    from kg.shacl_compile import UnsupportedShape, compile_shapes

    shapes = ox.Store()
    shapes.extend(ox.Quad(t.subject, t.predicate, t.object) for t in ox.parse(b"""
        @prefix sh: <http://www.w3.org/ns/shacl#> .
        <urn:s> a sh:NodeShape ; sh:targetClass <urn:C> ;
            sh:property [ sh:path <urn:p> ; sh:qualifiedMinCount 1 ] .""", format=ox.RdfFormat.TURTLE))
    with pytest.raises(UnsupportedShape, match="qualifiedMinCount"):
        compile_shapes(shapes)
