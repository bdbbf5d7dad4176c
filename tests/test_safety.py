"""Issue 12: kg as a publisher and a public endpoint, attacked on loopback with real processes.

One test (or more) per defect of the issue, each named after what broke; every
one of them failed before the fix (5ea938a) where the defect applies. Nothing
here leaves loopback: listening sockets that must receive nothing stand in for
the hosts an attacker would reach.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TKG = "https://w3id.org/trialkg/"


# ---------------------------------------------------------------- helpers: processes

def kg_env(**extra: str) -> dict[str, str]:
    """The environment `kg` runs in, as tests/conftest.py's run_kg sets it (the kg these tests import)."""
    import kg as package

    where = str(Path(package.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [where, os.environ.get("PYTHONPATH")]))}
    env.pop("TRIALKG_TEST_PAUSE_AT", None)  # the pause hook reaches only the process a test gives it to
    return {**env, **extra}


def kg_popen(*args: str, cwd: Path, **extra_env: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kg", *args], cwd=cwd, env=kg_env(**extra_env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def one_line(text: str) -> bool:
    return len(text.strip().splitlines()) == 1


# ---------------------------------------------------------------- 1. kg publish never deletes what it did not write

def test_publish_refuses_a_folder_with_user_files(kg, tmp_path):
    site = tmp_path / "s"
    site.mkdir()
    (site / "n.txt").write_text("keep")
    r = kg("publish", "--static", str(site))
    assert r.returncode == 5 and one_line(r.stderr), r.stderr
    assert "n.txt" in r.stderr
    assert (site / "n.txt").read_text() == "keep"
    assert sorted(p.name for p in site.iterdir()) == ["n.txt"], "nothing was added either"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".s.")], "no half-built site is left beside it"


def test_publish_keeps_a_git_folder(kg, tmp_path):
    site = tmp_path / "s"
    (site / ".git").mkdir(parents=True)
    (site / ".git" / "config").write_text("[core]\n")
    r = kg("publish", "--static", str(site))
    assert r.returncode == 5 and one_line(r.stderr), r.stderr
    assert (site / ".git" / "config").read_text() == "[core]\n"


def test_publish_refuses_the_working_directory_with_user_files(kg, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.md").write_text("mine")
    (work / "src").mkdir()
    (work / "src" / "a.py").write_text("print(1)")
    r = kg("publish", "--static", ".", cwd=work)
    assert r.returncode == 5 and one_line(r.stderr), r.stderr
    assert (work / "notes.md").read_text() == "mine" and (work / "src" / "a.py").read_text() == "print(1)"
    assert sorted(p.name for p in work.iterdir()) == ["notes.md", "src"]


def test_publish_into_an_empty_folder_and_over_its_own_site(kg, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    inode = site.stat().st_ino
    r = kg("publish", "--static", str(site))
    assert r.returncode == 0, r.stderr
    assert site.stat().st_ino == inode, "an empty folder keeps its identity"
    assert (site / "index.html").exists() and (site / ".trialkg-site.json").exists()
    r = kg("publish", "--static", str(site))
    assert r.returncode == 0, "kg publish replaces its own earlier output: " + r.stderr
    (site / "CNAME").write_text("example.org")
    r = kg("publish", "--static", str(site))
    assert r.returncode == 5 and "CNAME" in r.stderr, "a file the user added is never deleted"
    assert (site / "CNAME").read_text() == "example.org"


# ---------------------------------------------------------------- 2. one writer per embedded store, recoverable swaps

def _publication(trial_turtle: str, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ttl"
    path.write_text(trial_turtle)
    return path


def _graphs(store: Path) -> set[str]:
    """The named graphs of a store, as `kg query --store` finds them (by their last segment)."""
    q = store.parent / "graphs.rq"
    q.write_text("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }\n")
    r = subprocess.run([sys.executable, "-m", "kg", "query", "--file", str(q), "--store", str(store), "--format", "tsv"],
                       capture_output=True, text=True, env=kg_env(), timeout=120, cwd=store.parent)
    assert r.returncode == 0, r.stderr
    return {line.strip("<>").rsplit("/", 1)[-1] for line in r.stdout.splitlines()[1:]}


def _leftovers(store: Path) -> list[str]:
    return sorted(p.name for p in store.parent.iterdir() if p.name.startswith(f".{store.name}.") and
                  not p.name.endswith(".lock"))


@pytest.mark.parametrize("wait", [[], ["--wait", "120"]], ids=["refuse", "wait"])
def test_two_concurrent_loads_lose_no_update(trial_turtle, tmp_path, wait):
    store = tmp_path / "store"
    pubs = [_publication(trial_turtle, tmp_path / name, f"pub-{name}") for name in ("a", "b")]
    for round_ in range(2 if not wait else 1):
        if store.exists():
            shutil.rmtree(store)
        procs = [kg_popen("load", "--store", str(store), "--trials", str(p), *wait, cwd=tmp_path) for p in pubs]
        results = [(p.wait(120), *p.communicate()) for p in procs]
        present = _graphs(store)
        for (code, _, err), name in zip(results, ("pub-a", "pub-b")):
            if code == 0:
                assert name in present, f"round {round_}: {name} was reported loaded but its graph is gone"
            else:
                assert not wait, f"with --wait both loads succeed: {err}"
                assert code == 3 and one_line(err) and "another kg load" in err, err
                assert name not in present
        assert any(code == 0 for code, _, _ in results)
        if wait:
            assert {"pub-a", "pub-b"} <= present


def _load_until_paused(store: Path, pub: Path, step: str, cwd: Path) -> subprocess.Popen:
    proc = kg_popen("load", "--store", str(store), "--trials", str(pub), cwd=cwd, TRIALKG_TEST_PAUSE_AT=step)
    seen = []
    deadline = time.time() + 120
    while time.time() < deadline:
        line = proc.stderr.readline()
        seen.append(line)
        if line.startswith(f"paused at {step}") or not line:
            break
    assert seen and seen[-1].startswith(f"paused at {step}"), f"the load did not reach {step}: {''.join(seen)}"
    return proc


STEPS = [pytest.param("locked", marks=pytest.mark.slow), pytest.param("checkpointed", marks=pytest.mark.slow),
         pytest.param("batch-written", marks=pytest.mark.slow), "loaded", "between-renames",
         pytest.param("swapped", marks=pytest.mark.slow)]


@pytest.mark.parametrize("step", STEPS)
def test_load_killed_at_any_step_leaves_a_store_and_the_next_load_cleans_up(kg, trial_turtle, tmp_path, step):
    store = tmp_path / "store"
    a, b, c = (_publication(trial_turtle, tmp_path / n, f"pub-{n}") for n in "abc")
    assert kg("load", "--store", str(store), "--trials", str(a)).returncode == 0
    proc = _load_until_paused(store, b, step, tmp_path)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    proc.stdout.close()
    proc.stderr.close()
    old, new = {"ontology", "pub-a"}, {"ontology", "pub-a", "pub-b"}
    assert _graphs(store) == (new if step == "swapped" else old), "a store is found at its path, old or new, whole"
    r = kg("query", "trial-summary", "--store", str(store), "--format", "csv")
    assert r.returncode == 0, r.stderr
    r = kg("load", "--store", str(store), "--trials", str(c))
    assert r.returncode == 0, f"the lock died with the killed load: {r.stderr}"
    assert _leftovers(store) == [], "the next load removes what the killed one left"
    assert _graphs(store) >= {"pub-a", "pub-c"}


def test_read_only_store_can_be_queried(kg, tmp_path):
    store = tmp_path / "store"
    assert kg("load", "--store", str(store)).returncode == 0
    query = [sys.executable, "-m", "kg", "query", "trial-summary", "--store", str(store), "--format", "csv"]
    if os.geteuid() != 0:  # a user cannot write a folder without w
        for p in [store, *store.rglob("*")]:
            p.chmod(p.stat().st_mode & ~0o222)
        try:
            r = subprocess.run(query, capture_output=True, text=True, env=kg_env(), timeout=120, cwd=tmp_path)
        finally:
            for p in [store, *store.rglob("*")]:
                p.chmod(p.stat().st_mode | 0o200)
    else:  # root writes anywhere: mount the store read-only in a private mount namespace instead
        unshare = shutil.which("unshare")
        if unshare is None:
            pytest.skip("running as root without unshare(1): cannot make a read-only store")
        script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && touch "$0/x" 2>/dev/null && exit 99; exec "$@"'
        r = subprocess.run([unshare, "-m", "sh", "-c", script, str(store), *query], capture_output=True, text=True,
                           env=kg_env(), timeout=120, cwd=tmp_path)
        if r.returncode == 99 or "mount" in r.stderr:
            pytest.skip(f"cannot mount read-only here: {r.stderr.strip()[:200]}")
    assert r.returncode == 0, r.stderr
    assert "isoda-2018" in r.stdout
