"""A curator's own file: a misquote, a number missing from its sentence, an undeclared term, a term declared
without where it was checked and a TODO left in place are each reported with file and line; query
parameters that name nothing are refused with the nearest identifiers; --trials takes a list."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data" / "rct"
NAME = "synthetic-rct-3arm"


def _curators_copy(tmp_path: Path, old: str = "", new: str = "", text_old: str = "", text_new: str = "") -> Path:
    ttl = (DATA / f"{NAME}.ttl").read_text(encoding="utf-8")
    txt = (DATA / f"{NAME}.txt").read_text(encoding="utf-8")
    if old:
        assert ttl.count(old) == 1, old
        ttl = ttl.replace(old, new)
    if text_old:
        assert txt.count(text_old) == 1, text_old
        txt = txt.replace(text_old, text_new)
    (tmp_path / f"{NAME}.ttl").write_text(ttl, encoding="utf-8")
    (tmp_path / f"{NAME}.txt").write_text(txt, encoding="utf-8")
    return tmp_path / f"{NAME}.ttl"


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


CASES = [
    (
        "misquote",
        dict(text_old="were 31% (40 of 130) with VD", text_new="were 31 % (40 of 130) with VD"),
        "pub:s2 a oa:SpecificResource",
        "the quote is not verbatim in synthetic-rct-3arm.txt",
        1,
    ),
    (
        "number-missing-from-its-sentence",
        dict(old="trialkg:value 36 ; trialkg:unit UO:0000035", new="trialkg:value 63 ; trialkg:unit UO:0000035"),
        "trial:pfs-vd a",
        "its value 63 is not printed in the sentence it is quoted from",
        1,
    ),
    (
        "undeclared-term",
        dict(
            old="trialkg:drug NCIT:C422 .\ntrial:induction-td", new="trialkg:drug NCIT:C9999999 .\ntrial:induction-td"
        ),
        "trialkg:drug NCIT:C9999999",
        "This term is not declared",
        1,
    ),
    (
        "todo-left-in-place",
        dict(old='rdfs:label "Median follow-up" ;', new='rdfs:label "TODO: what this figure is" ;'),
        'rdfs:label "TODO: what this figure is"',
        "a TODO is left in place",
        1,
    ),
    (
        "term-declared-without-where-it-was-checked",
        dict(
            old="trial:b-bortezomib a trialkg:DoseSchedule",
            new='NCIT:C2668 rdfs:label "Lenalidomide" .\ntrial:b-bortezomib a trialkg:DoseSchedule',
        ),
        'NCIT:C2668 rdfs:label "Lenalidomide"',
        "is declared in this file without where it was checked",
        0,
    ),
]


@pytest.mark.parametrize("case,edit,needle,message,code", CASES, ids=[c[0] for c in CASES])
def test_each_problem_is_reported_with_file_and_line(kg, tmp_path, case, edit, needle, message, code):
    path = _curators_copy(tmp_path, **edit)
    r = kg("validate", str(path))
    assert r.returncode == code, r.stdout + r.stderr
    hits = [ln for ln in r.stdout.splitlines() if message in ln]
    assert hits, r.stdout
    expected = _line_of(path, needle)
    assert any(ln.startswith(f"{path}:{expected}: ") for ln in hits), (expected, hits)


def test_a_warning_is_an_error_with_strict(kg, tmp_path):
    path = _curators_copy(tmp_path, **CASES[-1][1])
    assert kg("validate", str(path)).returncode == 0
    r = kg("validate", "--strict", str(path))
    assert r.returncode == 1 and "without where it was checked" in r.stdout
    declared = path.read_text().replace(
        'NCIT:C2668 rdfs:label "Lenalidomide" .',
        'NCIT:C2668 rdfs:label "Lenalidomide" ; trialkg:checkedIn "PCDC data dictionary, 2023-04-05" .',
    )
    path.write_text(declared)
    assert kg("validate", "--strict", str(path)).returncode == 0


def test_a_file_without_its_source_text_is_noted(kg, tmp_path):
    shutil.copy(DATA / f"{NAME}.ttl", tmp_path)
    r = kg("validate", str(tmp_path / f"{NAME}.ttl"))
    assert r.returncode == 0 and "keep no source text beside them" in r.stdout


def test_a_parameter_that_names_nothing_is_refused_with_the_nearest(kg):
    r = kg("query", "trial-summary", "--param", "trial=trialkg.trial:lee-2013")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "trialkg.trial:lee-2013 is nowhere in the packaged graph" in r.stderr
    assert "nearest: trialkg.study:lee-2013" in r.stderr
    r = kg("query", "trials-by-drug", "--param", "drug=NOPE:1")
    assert r.returncode == 2 and "trialkg.trial" in r.stderr and "trialkg.study" in r.stderr, "every prefix that works"


def test_trials_takes_a_list_and_repeats(kg, tmp_path):
    from kg import resources

    folder = resources.folder("kg.trials")
    for slug in ("lee-2013", "sun-2017"):
        (tmp_path / f"{slug}.ttl").write_bytes(folder.joinpath(f"{slug}.ttl").read_bytes())
    a, b = str(tmp_path / "lee-2013.ttl"), str(tmp_path / "sun-2017.ttl")
    listed = kg("summary", "--trials", a, b)
    repeated = kg("summary", "--trials", a, "--trials", b)
    assert listed.returncode == 0 == repeated.returncode, listed.stderr + repeated.stderr
    assert listed.stdout == repeated.stdout
    assert [ln.split()[0] for ln in listed.stdout.splitlines()[:-1]] == ["lee-2013", "sun-2017"]
    r = kg("query", "--trials", a, b, "studies", "--format", "csv")  # the query's name after the list still reads
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("\n") == 3, "a header and the two studies"


def test_a_number_written_in_words_is_read_whole(kg, tmp_path):
    """'Three hundred eighty-six patients' prints 386 (not 3 and 86): the stated size conforms, 86 does not."""
    spelled = dict(text_old="trial, 386 patients", text_new="trial, three hundred eighty-six patients")
    quote = dict(old="trial, 386 patients", new="trial, three hundred eighty-six patients")
    path = _curators_copy(tmp_path, **quote, **spelled)
    r = kg("validate", str(path))
    assert r.returncode == 0, r.stdout
    wrong = path.read_text().replace("trialkg:size 386 ;", "trialkg:size 86 ;")
    path.write_text(wrong)
    r = kg("validate", str(path))
    assert r.returncode == 1 and "its size 86 is not printed" in r.stdout, r.stdout


def test_a_derived_size_need_not_be_printed_but_a_stated_one_must(kg, tmp_path):
    stated = "trialkg:size 130 ; trialkg:sizeBasis trialkg:StatedInSentence"
    path = _curators_copy(tmp_path, old=stated, new="trialkg:size 131 ; trialkg:sizeBasis trialkg:StatedInSentence")
    r = kg("validate", str(path))
    assert r.returncode == 1 and "its size 131 is not printed" in r.stdout and "trialkg:sizeBasis" in r.stdout
    path = _curators_copy(
        tmp_path,
        old=stated,
        new="trialkg:size 131 ; trialkg:sizeBasis trialkg:InferredFromOtherSource ;\n"
        '    trialkg:sizeReason "the registry record gives 131"',
    )
    r = kg("validate", str(path))
    assert "its size 131 is not printed" not in r.stdout, r.stdout


def test_a_percentage_no_whole_count_of_its_population_gives_is_a_warning():
    """2.4% of 161 patients cannot be (4 of 161 is 2.5%): the figure was counted over another population.
    A survival rate (Kaplan-Meier) is no count and is left alone."""
    import pyoxigraph as ox

    from kg.curation import share_findings

    ttl = """@prefix t: <https://w3id.org/trialkg/ontology/> .
    @prefix NCIT: <http://purl.obolibrary.org/obo/NCIT_> .
    @prefix UO: <http://purl.obolibrary.org/obo/UO_> .
    @prefix OBI: <http://purl.obolibrary.org/obo/OBI_> .
    <https://w3id.org/trialkg/trial/x/pp> t:size 161 .
    <https://w3id.org/trialkg/trial/x/rate> t:statisticType NCIT:C44256 ; t:unit UO:0000187 ; t:value 2.4 ;
        t:population <https://w3id.org/trialkg/trial/x/pp> .
    <https://w3id.org/trialkg/trial/x/fits> t:statisticType NCIT:C44256 ; t:unit UO:0000187 ; t:value 2.5 ;
        t:population <https://w3id.org/trialkg/trial/x/pp> .
    <https://w3id.org/trialkg/trial/x/km> t:statisticType OBI:0000789 ; t:unit UO:0000187 ; t:value 2.4 ;
        t:population <https://w3id.org/trialkg/trial/x/pp> .
    """
    store = ox.Store()
    graph = ox.NamedNode("https://w3id.org/trialkg/graph/x")
    store.load(ttl.encode(), format=ox.RdfFormat.TURTLE, to_graph=graph)
    found = list(share_findings(store, graph, "x.ttl"))
    assert [(f.focus, f.severity) for f in found] == [("trialkg.trial:x/rate", "Warning")]
    assert "its 2.4% is no whole count of its population's 161 (4 of 161 is 2.48%)" in found[0].message
