"""kg terms: the verified external terms and the project's own values, found offline by the words a curator
types (a word starts a word: "arm" is no carmustine), with what each is, means and where it was checked."""

from __future__ import annotations

import pytest

from kg.dataset import Dataset
from kg.terms import render, search


@pytest.fixture(scope="module")
def packaged() -> Dataset:
    return Dataset.build()


def curies(found) -> list[str]:
    return [t.curie for t in found.terms]


def test_an_identifier_finds_its_term_and_the_terms_mapped_to_it(packaged):
    got = curies(search(packaged, ["NCIT:C1851"]))
    assert got[0] == "NCIT:C1851" and "CHEBI:52717" in got


def test_a_word_matches_where_a_word_starts(packaged):
    got = curies(search(packaged, ["arm"]))
    assert "NCIT:C174447" in got and "trialkg:armType" in got
    assert "NCIT:C349" not in got, "carmustine holds 'arm' inside a word"


def test_the_projects_own_values_are_found_with_what_they_mean(packaged):
    anchors = search(packaged, ["anchor"])
    found = {t.curie: t for t in anchors.terms}
    assert "trialkg:AutologousTransplant" in found and "trialkg:CompletionOfInduction" in found
    shown = render(anchors, ["anchor"])
    assert "trialkg:AutologousTransplant  autologous stem cell transplant  (trialkg value: time anchor)" in shown
    assert "means: The day of a participant's autologous stem cell transplant." in shown
    assert "declare it in your publication file" not in shown, "the how-to only when nothing matched"
    assert "trialkg:OrderNotStated" in curies(search(packaged, ["not", "stated"]))
    assert curies(search(packaged, ["registration"])) == ["trialkg:registration"]


def test_several_words_match_together_else_each(packaged):
    both = curies(search(packaged, ["phase", "2"]))
    assert both[0] == "NCIT:C15601"
    each = search(packaged, ["bortezomib", "thalidomide"])
    assert not each.every_word and {"NCIT:C1851", "CHEBI:9513"} <= set(curies(each))
    assert render(each, ["bortezomib", "thalidomide"]).startswith("no term matches all of 'bortezomib thalidomide'")


def test_nothing_found_says_how_to_declare_a_term(packaged, kg):
    r = kg("terms", "zzzyqx")
    assert r.returncode == 0 and "no verified term matches 'zzzyqx'" in r.stdout
    assert "trialkg:checkedIn" in r.stdout


def test_a_curators_declared_term_is_found_with_where_it_was_checked(kg, tmp_path):
    from pathlib import Path

    data = Path(__file__).parent / "data" / "rct" / "synthetic-rct-3arm.ttl"
    own = tmp_path / "own.ttl"
    own.write_text(
        data.read_text(encoding="utf-8")
        + '\nNCIT:C2668 rdfs:label "Lenalidomide" ; trialkg:checkedIn "PCDC data dictionary, 2023-04-05" .\n',
        encoding="utf-8",
    )
    r = kg("terms", "lenalidomide", "--trials", str(own))
    assert r.returncode == 0, r.stderr
    assert "NCIT:C2668  Lenalidomide" in r.stdout and "checked in: PCDC data dictionary, 2023-04-05" in r.stdout
