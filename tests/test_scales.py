"""Any response scale: a curator declares one (RECIST's categories are IMWG's NCIt terms, with ranks of their own),
a study says which scale its figures are read on and how that is known, and no view names a scale nobody stated."""

from __future__ import annotations

from pathlib import Path

from kg import sources
from kg.dataset import Dataset
from kg.resources import trial_files
from kg.validate import validate

RCT = Path(__file__).parent / "data" / "rct" / "synthetic-rct-3arm.ttl"
STUDY = "https://w3id.org/trialkg/trial/synthetic-rct-3arm"
#: a scale declared in a curator's file, reusing the packaged scale's terms with other ranks (invented for the test)
RECIST = """
trial:recist a trialkg:ResponseScale ; rdfs:label "solid tumour response (RECIST 1.1), as this file declares it" ;
    trialkg:hasCategory trial:recist-cr , trial:recist-pr .
trial:recist-cr a trialkg:ResponseCategory ; trialkg:category NCIT:C4870 ; trialkg:sortOrder 1 .
trial:recist-pr a trialkg:ResponseCategory ; trialkg:category NCIT:C18058 ; trialkg:sortOrder 2 .
<trial/synthetic-rct-3arm> trialkg:responseScale trial:recist ; trialkg:responseScaleBasis trialkg:StatedInSentence ;
    trialkg:responseScaleEvidence pub:s2 .
"""


def _written(tmp_path: Path, extra: str, *packaged: str) -> list[sources.Source]:
    """The three-arm trial with ``extra`` Turtle appended (and its text), beside the packaged files named."""
    (tmp_path / RCT.name).write_text(RCT.read_text(encoding="utf-8") + extra, encoding="utf-8")
    (tmp_path / RCT.with_suffix(".txt").name).write_bytes(RCT.with_suffix(".txt").read_bytes())
    for f in trial_files():
        if f.stem in packaged:
            (tmp_path / f.name).write_bytes(f.read_bytes())
    return sources.files([tmp_path])


def _with(tmp_path: Path, extra: str, *packaged: str) -> Dataset:
    pubs = _written(tmp_path, extra, *packaged)
    report = validate(pubs)
    assert report.conforms, report.text()
    return Dataset.build(pubs)


def _refusal(tmp_path: Path, extra: str) -> str:
    """What kg validate says of the trial with ``extra`` appended, which it must refuse."""
    report = validate(_written(tmp_path, extra))
    assert not report.conforms
    return report.text()


def _scales(ds: Dataset) -> dict[str, list[tuple[str, str, str, str]]]:
    out: dict[str, list[tuple[str, str, str, str]]] = {}
    for r in ds.rows("response-distribution"):
        out.setdefault(r["trial"].value.rsplit("/", 1)[1], []).append(
            (r["category"].value, _text(r, "scale"), r["scale_basis"].value, _text(r, "rank"))
        )
    return out


def _text(row, name):
    return row[name].value if name in row else ""


def test_a_scale_that_reuses_another_scales_terms_reads_with_its_own_ranks(tmp_path):
    """Before, a scale reusing NCIT:C4870 could not be declared (the rank was the term's), and every complete
    response was captioned IMWG. Loaded beside the packaged myeloma studies: the curator's study reads on its own
    scale with its ranks, stated; Isoda's on IMWG, inferred from its categories; Cavo's names none, so its
    complete response is on no scale a view names, with no rank, once (review 49: it was listed on every scale
    holding its term, another file's RECIST too)."""
    ds = _with(tmp_path, RECIST, "isoda-2018", "cavo-2012")
    got = _scales(ds)
    recist = "solid tumour response (RECIST 1.1), as this file declares it"
    imwg = "multiple myeloma response categories (IMWG)"
    assert {(scale, basis, rank) for _c, scale, basis, rank in got["synthetic-rct-3arm"]} == {(recist, "stated", "1")}
    assert {(scale, basis) for _c, scale, basis, _r in got["isoda-2018"]} == {(imwg, "inferred from its categories")}
    assert ("Complete Remission", imwg, "inferred from its categories", "2") in got["isoda-2018"]
    assert got["cavo-2012"] == [("Complete Remission", "", "not stated", "")] * 2, "its two figures, once each"
    assert ds.rows("consistency") == []
    # review 49: a between-group effect on a category (the odds ratio of complete response) was listed as a
    # category's figure with no count and no share ("not drawn: the size of their denominator is not stated")
    assert all("count" in r or "percent" in r for r in ds.rows("response-distribution"))
    # review 49: no page named the scale; the response chart's caption says which, and how it is known
    from kg.web import pages
    from kg.web.site import Site

    site = Site(ds)
    assert f"Response categories ({recist}, stated)" in pages.page(site, STUDY)
    assert "Response categories (response scale not stated)" in pages.page(
        site, STUDY.replace("synthetic-rct-3arm", "cavo-2012")
    )


def test_a_study_that_names_no_scale_is_never_said_to_be_on_one(tmp_path):
    """Review 46: a non-myeloma trial's complete response was captioned 'multiple myeloma response categories
    (IMWG)', as if stated. Without a scale of its own the study's figures name no scale and no rank."""
    got = _scales(_with(tmp_path, ""))
    assert {(scale, basis, rank) for _c, scale, basis, rank in got["synthetic-rct-3arm"]} == {("", "not stated", "")}


def test_a_study_scale_needs_its_basis_and_its_sentence(tmp_path):
    messages = _refusal(
        tmp_path,
        RECIST.replace(
            "; trialkg:responseScaleBasis trialkg:StatedInSentence ;\n    trialkg:responseScaleEvidence pub:s2", ""
        ),
    )
    assert (
        "says how it is known (trialkg:responseScaleBasis)" in messages and "trialkg:responseScaleEvidence" in messages
    )


def test_a_category_not_on_the_studys_own_scale_is_refused(tmp_path):
    """Review 47: a study naming a scale that lacks the category its figures measure conformed, and its rows
    vanished from response-distribution (and its chart) without a word."""
    only_pr = RECIST.replace(
        "trialkg:hasCategory trial:recist-cr , trial:recist-pr .", "trialkg:hasCategory trial:recist-pr ."
    )
    only_pr = only_pr.replace(
        "trial:recist-cr a trialkg:ResponseCategory ; trialkg:category NCIT:C4870 ; trialkg:sortOrder 1 .\n", ""
    )
    assert "measures a response category its response scale does not have" in _refusal(tmp_path, only_pr)


def test_two_categories_of_one_scale_never_share_a_rank(tmp_path):
    """Review 49: a scale with complete and partial response both ranked first conformed."""
    tied = RECIST.replace(
        "trialkg:category NCIT:C18058 ; trialkg:sortOrder 2", "trialkg:category NCIT:C18058 ; trialkg:sortOrder 1"
    )
    assert "share a rank or a term" in _refusal(tmp_path, tied)
