"""The synthetic corpus and the benchmark script: real runs, small sizes, no timing asserts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))
import synth  # noqa: E402

from kg.sources import files  # noqa: E402
from kg.validate import validate  # noqa: E402


def test_synthetic_corpus_conforms_and_is_deterministic(tmp_path):
    synth.generate(40, seed=11, out=tmp_path / "a")
    synth.generate(40, seed=11, out=tmp_path / "b")
    a = sorted((tmp_path / "a").glob("*.ttl"))
    assert len(a) == 40
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in sorted((tmp_path / "b").glob("*.ttl"))]
    report = validate(files([tmp_path / "a"]))
    assert report.conforms, report.text()
    stats = [p.read_text().count("trialkg:statisticType") for p in a]
    assert min(stats) >= 5 and max(stats) <= 16  # 5 to 15, and a hazard ratio in a randomised trial
    assert any("trialkg:notReached true" in p.read_text() for p in a), "some medians are not reached"


def test_the_pattern_floors_join_the_same_rows(tmp_path):
    """`query_speed.py --floors` sets joins of 3, 6, 9 and 12 patterns a row side by side: each must give the same rows
    (every statistic with a value and unit), or its rows/s would not say what a pattern costs."""
    import query_speed
    from rdflib.plugins.sparql import prepareQuery

    from kg.dataset import Dataset

    synth.generate(30, seed=5, out=tmp_path / "c")
    store = Dataset.from_paths([tmp_path / "c"]).store
    ks = range(1, len(query_speed.CHAIN) + 1)
    patterns = [len(prepareQuery(query_speed.chain(k)).algebra["p"]["p"]["triples"]) for k in ks]
    assert patterns == [3, 6, 9, 12]
    counts = [len(list(store.query(query_speed.chain(k), use_default_graph_as_union=True))) for k in ks]
    assert counts[0] > 30 and len(set(counts)) == 1, counts


@pytest.mark.slow  # generates and validates a corpus: 5 s
def test_synthetic_corpus_is_skewed_and_uses_the_newer_model(tmp_path):
    synth.generate(400, seed=2, out=tmp_path)
    texts = [p.read_text() for p in sorted(tmp_path.glob("*.ttl"))]
    drugs = {d: sum(f"trialkg:drug {d} ;" in t for t in texts) for d, _ in synth.DRUGS}
    assert drugs["NCIT:C1851"] > 150, "a few common drugs"
    assert drugs[synth.RARE_DRUG] == len(synth.RARE_AT), "and rare terms in the same few publications at any N"
    conditions = {c: sum(f"trialkg:studiesCondition {c} ;" in t for t in texts) for c, _ in synth.CONDITIONS}
    assert conditions["MONDO:0009693"] > 150 and conditions[synth.RARE_CONDITION] == len(synth.RARE_AT)
    joined = "".join(texts)
    for part in (
        "trialkg:ComparativeStatistic",
        "trialkg:PValue",
        "trialkg:Range",
        "trialkg:exposureGroup",
        "NCIT:C46079",
        "NCIT:C53312",
    ):
        assert part in joined, part
    report = validate(files([tmp_path]))  # every term declared in ontology/imports (a shape checks it)
    assert report.conforms, report.text()


@pytest.mark.parametrize("engine", ["oxigraph", pytest.param("pyshacl", marks=pytest.mark.slow)])
def test_every_planted_defect_is_reported_and_nothing_else(tmp_path, engine):
    planted = synth.generate(30, seed=5, out=tmp_path, defects=12)
    assert {kind for _, _, kind in planted} == set(synth.DEFECT_KINDS)
    assert {"ill-typed-date", "ill-typed-integer", "ill-typed-decimal"} <= set(synth.DEFECT_KINDS)
    report = validate(files([tmp_path]), engine=engine)
    from kg.prefixes import expand

    got = {(expand(v.focus), v.source.rsplit("/", 1)[-1]) for v in report.violations}
    assert got == {(focus, name) for name, focus, _ in planted}
    for _, focus, kind in planted:
        hits = [v for v in report.violations if expand(v.focus) == focus and synth.MESSAGES[kind] in v.message]
        assert hits, (kind, focus)
        if kind.startswith("ill-typed"):
            assert {v.value for v in hits} & {"abc", "1.5"} or any("-13-45" in v.value for v in hits), (
                "the report lists the offending value"
            )


@pytest.mark.slow
def test_quick_benchmark_smoke(tmp_path):
    """`python benchmarks/run.py --quick` runs end to end and writes its report (figures are not asserted).

    On small corpora (10 and 30 publications, 20 for the planted defects): the steps and the report are the
    same at any size, and the full --quick sizes took five minutes of CI.
    """
    out = tmp_path / "results.md"
    r = subprocess.run(
        [
            sys.executable,
            str(BENCH / "run.py"),
            "--quick",
            "--sizes",
            "10,30",
            "--slow-max",
            "10",
            "--defects",
            "20",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    text = out.read_text()
    assert "## N = 10 publications" in text and "## N = 30 publications" in text
    assert "| build |" in text and "| validate |" in text and "| load (embedded) |" in text
    assert "- trialkg: 3 focus nodes reported; missing 0, extra 0." in text
