"""The kg command as a user runs it: build outputs, validate exit codes and error messages, reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib


def test_build_writes_parseable_files_with_equal_counts(kg, tmp_path):
    out = tmp_path / "dist"
    r = kg("build", "--out", str(out))
    assert r.returncode == 0, r.stderr
    counts = {}
    for name, fmt, ox_fmt in [
        ("trialkg.ttl", "turtle", ox.RdfFormat.TURTLE),
        ("trialkg.nt", "nt", ox.RdfFormat.N_TRIPLES),
        ("trialkg.jsonld", "json-ld", ox.RdfFormat.JSON_LD),
    ]:
        path = out / name
        g = rdflib.Graph().parse(path, format=fmt)
        n_ox = sum(1 for _ in ox.parse(path=str(path), format=ox_fmt))
        counts[name] = (len(g), n_ox)
        assert len(g) == n_ox, f"{name}: rdflib {len(g)} vs pyoxigraph {n_ox}"
    assert len({c for c in counts.values()}) == 1, counts
    n = counts["trialkg.nt"][0]
    assert n > 500
    assert f"{n} triples" in r.stdout
    nq = list(ox.parse(path=str(out / "trialkg.nq"), format=ox.RdfFormat.N_QUADS))
    graphs = {q.graph_name.value for q in nq}
    assert "https://w3id.org/trialkg/graph/isoda-2018" in graphs
    assert "https://w3id.org/trialkg/graph/ontology" in graphs


def test_build_with_another_base(kg, tmp_path):
    r = kg("build", "--out", str(tmp_path), "--base", "https://example.org/kg/")
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "trialkg.nt").read_text()
    assert "<https://example.org/kg/trial/isoda-2018>" in text
    assert "https://w3id.org/trialkg/trial/" not in text
    assert "<https://w3id.org/trialkg/ontology/ClinicalTrial>" in text, "the vocabulary stays where it is published"


@pytest.mark.slow
def test_load_with_another_base_names_every_graph_under_it_and_the_store_says_so(kg, tmp_path):
    """kg load --base: the data and its graphs move to the base, the vocabulary stays, and the verbs that open
    the store read the base from it (no second --base)."""
    store = tmp_path / "store"
    r = kg("load", "--store", str(store), "--base", "https://example.org/kg/")
    assert r.returncode == 0, r.stderr
    graphs = {g.value for g in ox.Store.read_only(str(store)).named_graphs()}
    assert "https://example.org/kg/graph/isoda-2018" in graphs and "https://example.org/kg/graph/void" in graphs
    assert not any(g.startswith("https://w3id.org/trialkg/") for g in graphs)
    rows = kg("query", "trial-summary", "--store", str(store), "--format", "csv")
    assert "https://example.org/kg/trial/isoda-2018," in rows.stdout, "the queries (trialkg: vocabulary) still answer"
    one = kg("summary", "isoda-2018", "--store", str(store))
    assert one.returncode == 0 and "bortezomib" in one.stdout.lower(), one.stderr
    bad = kg("load", "--store", str(tmp_path / "other"), "--base", "javascript:alert(1)")
    assert bad.returncode == 2 and "--base" in bad.stderr and not (tmp_path / "other").exists()


def test_validate_packaged_conforms(kg):
    r = kg("validate")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "conforms" in r.stdout


def test_validate_reports_violation_with_file_focus_path_message(kg, tmp_path, trial_turtle, edit_block):
    bad = tmp_path / "bad-trial.ttl"
    bad.write_text(edit_block(trial_turtle, "trial:follow-up", "trialkg:unit UO:0000035 ;", ""))
    r = kg("validate", str(bad))
    assert r.returncode == 1, r.stdout + r.stderr
    line = next(ln for ln in r.stdout.splitlines() if "follow-up" in ln)
    assert str(bad) in line and "trialkg.trial:isoda-2018/follow-up" in line
    assert "trialkg:unit" in line and "exactly one unit" in line


def test_validate_syntax_error_names_file_and_line(kg, tmp_path, trial_turtle):
    lines = trial_turtle.splitlines()
    lines[99] = lines[99] + " <<< broken"
    bad = tmp_path / "syntax.ttl"
    bad.write_text("\n".join(lines) + "\n")
    r = kg("validate", str(bad))
    assert r.returncode == 2
    assert f"{bad}:100:" in r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_missing_file_is_a_clear_error(kg, tmp_path):
    r = kg("validate", str(tmp_path / "nope.ttl"))
    assert r.returncode == 2
    assert "no such file" in r.stderr


def test_failed_build_keeps_previous_output(kg, tmp_path, trial_turtle):
    out = tmp_path / "dist"
    assert kg("build", "--out", str(out)).returncode == 0
    before = (out / "trialkg.ttl").read_bytes()
    bad = tmp_path / "bad.ttl"
    bad.write_text(trial_turtle + "\n<a> <b> \n")
    r = kg("build", "--out", str(out), "--data", str(bad))
    assert r.returncode == 2
    assert (out / "trialkg.ttl").read_bytes() == before


@pytest.mark.slow
def test_build_and_export_never_replace_a_file_they_did_not_write(kg, tmp_path):
    """Review 35: a hand-written void.ttl in the folder `kg build` writes to was replaced without a word. A file at
    an output's name is replaced only if kg build or kg export wrote it there and nobody changed it since (the
    folder's record says); otherwise one line, exit 5, and nothing in the folder changes."""
    out = tmp_path / "dist"
    out.mkdir()
    (out / "void.ttl").write_text("# mine\n")
    r = kg("build", "--out", str(out))
    assert r.returncode == 5 and "void.ttl: already there, and not as kg wrote it" in r.stderr, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["void.ttl"] and (out / "void.ttl").read_text() == "# mine\n"
    (out / "void.ttl").unlink()
    assert kg("build", "--out", str(out)).returncode == 0
    assert kg("build", "--out", str(out)).returncode == 0, "what it wrote, it may write again"
    assert kg("export", "--format", "void", "--out", str(out)).returncode == 0, "and so may export"
    with (out / "trialkg.nt").open("a") as fh:
        fh.write("# an edit\n")
    edited = (out / "trialkg.nt").read_bytes()
    r = kg("build", "--out", str(out))
    assert r.returncode == 5 and "trialkg.nt: already there" in r.stderr and (out / "trialkg.nt").read_bytes() == edited


def test_a_build_killed_after_its_renames_leaves_outputs_the_next_build_may_replace(tmp_path, monkeypatch):
    """Review 36: killed between renaming its files into place and writing its record, a build left kg's own files
    refused by the next build ("not as kg wrote it"). The record lists each file's new stamp before the renames
    (a rename keeps size and modification time); a damaged record is named in the refusal."""
    from kg import outputs
    from kg.build import build
    from kg.dataset import Dataset
    from kg.errors import OutputError

    out = tmp_path / "dist"
    build(Dataset.build(), out)
    real = outputs.AtomicFiles._write_record

    def killed_before_the_last_record(self, pending=False):
        if not pending:
            raise KeyboardInterrupt  # as a kill: nothing after the renames runs
        real(self, pending)

    monkeypatch.setattr(outputs.AtomicFiles, "_write_record", killed_before_the_last_record)
    with pytest.raises(KeyboardInterrupt):
        build(Dataset.build(), out)
    monkeypatch.setattr(outputs.AtomicFiles, "_write_record", real)
    assert build(Dataset.build(), out).files, "its own files, replaced"
    (out / outputs.RECORD).write_text("{damaged")
    with pytest.raises(OutputError, match="record of what kg wrote, .trialkg-outputs.json, is missing or unreadable"):
        build(Dataset.build(), out)


def test_summary_prints_the_trial(kg):
    r = kg("summary", "isoda-2018")
    assert r.returncode == 0, r.stderr
    for needle in [
        "Phase II Trial",
        "evaluable: 36",
        "enrolled and treated: 38",
        "1.3 mg/m2",
        "Overall response rate among the evaluable patients: 2 reports, they agree",
        "Proportion 61% | evaluable (n=36; stated)",
        "Median 13.8 months",
        "Median not reached",
        "doi:10.1007/s12185-018-2448-9",
        "3 patients | completed the 1-year maintenance (size not stated; the group inferred from the design)",
        "1 patient |",
        "35% | of reached plateau and started maintenance (n=20; stated)",
        "note: One count for the two events jointly",
        "during Maintenance (phase inferred)",
    ]:
        assert needle in r.stdout, needle
    assert "1 patients" not in r.stdout and "(n=36)" not in r.stdout.split("after the 1-year maintenance")[1][:200]


def test_summary_without_a_study_is_one_line_per_study(kg):
    r = kg("summary")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert [ln.split()[0] for ln in lines[:-1]] == [
        "cavo-2012",
        "green-2017",
        "isoda-2018",
        "lee-2013",
        "mellqvist-2013",
        "sun-2017",
    ]
    assert "lee-2013        observational study; 1 arm; 4 statistics; 2 comparisons" in r.stdout
    assert "mellqvist-2013  clinical trial, Phase III Trial; 2 arms; 4 statistics; 2 comparisons" in r.stdout
    assert lines[-1].startswith("(6 studies")


def test_summary_of_an_unknown_study_names_the_nearest(kg):
    r = kg("summary", "isoda-2019")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "no study 'isoda-2019'" in r.stderr and "nearest: isoda-2018" in r.stderr


def test_python_m_kg_and_version(kg):
    r = kg("--version")
    assert r.returncode == 0 and "0.1.0" in r.stdout


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("java") is None, reason="java is not installed: HermiT cannot run (kg reason says so)")
def test_reason_consistent(kg):
    r = kg("reason")
    assert r.returncode == 0, r.stderr
    assert "consistent (HermiT)" in r.stdout


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("java") is None, reason="java is not installed: HermiT cannot run")
def test_reason_detects_inconsistency(tmp_path):
    from kg.dataset import Dataset
    from kg.errors import ReasonerError
    from kg.reason import check_consistency
    from kg.sources import Source, packaged_publications

    clash = b"""@prefix trialkg: <https://w3id.org/trialkg/ontology/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
trialkg:Claim owl:disjointWith trialkg:Statistic .
<https://w3id.org/trialkg/trial/isoda-2018/orr> a trialkg:Claim .
"""
    sources = packaged_publications() + [Source(name="clash.ttl", slug="clash", data=clash)]
    with pytest.raises(ReasonerError, match="inconsistent"):
        check_consistency(Dataset.build(sources))


def test_reason_without_java_says_skipped(monkeypatch):
    from kg import reason

    monkeypatch.setattr(reason.shutil, "which", lambda name: None)
    from kg.dataset import Dataset

    with pytest.raises(reason.ReasonerUnavailable, match="skipped"):
        reason.check_consistency(Dataset.build([]))


def test_summary_finds_a_study_by_its_slug_wherever_its_iri_lives(kg, tmp_path):
    """A synthetic corpus names its studies under synthetic/, not trial/ or study/: the slug the overview prints
    is what `kg summary SLUG` takes (it said "no study 'synth-000001'; nearest: synth-000001")."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("synth", Path(__file__).parent.parent / "benchmarks" / "synth.py")
    synth = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(synth)
    synth.generate(2, seed=5, out=tmp_path / "corpus")
    overview = kg("summary", "--trials", str(tmp_path / "corpus"))
    slug = overview.stdout.split()[0]
    one = kg("summary", slug, "--trials", str(tmp_path / "corpus"))
    assert one.returncode == 0 and slug in one.stdout and "no study" not in one.stderr, one.stderr


@pytest.mark.parametrize("fmt", ["csv", "table"])
def test_a_reader_that_stops_early_stops_kg_quietly(tmp_path, synth, fmt):
    """`kg query ... | head`: the rest of the rows have nowhere to go, which is what the user asked for, so kg stops
    as a program SIGPIPE stops (status 141) and says nothing (it said 'kg: error: Broken pipe' and exited 5)."""
    import os
    import subprocess
    import sys

    import kg as package

    synth.generate(40, seed=3, out=tmp_path / "corpus")  # rows enough to fill a pipe many times over
    env = {**os.environ, "PYTHONPATH": str(Path(package.__file__).resolve().parent.parent)}
    namespace = "https://w3id.org/trialkg/synthetic/"
    args = ["query", "resources", "--param", f"namespace={namespace}", "--trials", "corpus", "--format", fmt]
    proc = subprocess.Popen(
        [sys.executable, "-m", "kg", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,  # read exactly one line: the rest stays in kg's way
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline()  # the first line, then the reader goes
    proc.stdout.close()
    assert proc.wait(120) == 141
    assert proc.stderr.read() == b""


def test_an_output_that_cannot_be_written_is_still_an_error(tmp_path):
    """A full disk is not a reader that went away: one line and status 5."""
    import subprocess
    import sys

    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-m", "kg", "query", "efficacy"], stdout=full, stderr=subprocess.PIPE)
    assert r.returncode == 5
    assert r.stderr.decode().startswith("kg: error: ") and r.stderr.decode().count("\n") == 1
