"""One dataset core, seen from outside: every verb describes, publishes and words the graph it was given.

The description must count the data it describes (never itself), in every place a
user reads it; publishing a store publishes that store; a synthetic corpus gets
no word of the packaged publications; and the checkout runs itself from its root.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg import sources
from kg.dataset import Dataset
from kg.web import pages
from kg.web.site import Site

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import kg_serve  # noqa: E402
from words import label_words, page_text, words  # noqa: E402

VOID = "http://rdfs.org/ns/void#"
TRIALKG = "https://w3id.org/trialkg/ontology/"


def described_triples(turtle: bytes) -> dict[str, int]:
    """``void:triples`` of each dump the description names (by file name), and of the dataset itself (``""``)."""
    triples = list(ox.parse(turtle, format=ox.RdfFormat.TURTLE))
    dumps = {t.subject: t.object.value.rsplit("/", 1)[-1] for t in triples if t.predicate.value == VOID + "dataDump"}
    counts: dict[str, set[int]] = {}
    for t in triples:
        if t.predicate.value == VOID + "triples" and (t.subject in dumps or t.subject.value.endswith("/dataset")):
            counts.setdefault(dumps.get(t.subject, ""), set()).add(int(t.object.value))
    assert all(len(c) == 1 for c in counts.values()), counts
    return {name: c.pop() for name, c in counts.items()}


def dump_triples(path: Path, fmt: ox.RdfFormat) -> int:
    return len({(q.subject, q.predicate, q.object) for q in ox.parse(path=str(path), format=fmt)})


@pytest.mark.slow
def test_described_triples_are_the_triples_of_every_dump_in_build_publish_and_serve(kg, tmp_path):
    """Each dump's ``void:triples`` is what it holds: distinct triples, and quads for the N-Quads (a triple two
    publications share, a journal say, is one triple of the merged graph and a quad in each of their graphs)."""
    dist = tmp_path / "dist"
    assert kg("build", "--out", str(dist)).returncode == 0
    described = described_triples((dist / "void.ttl").read_bytes())
    for name, fmt in [
        ("trialkg.nt", ox.RdfFormat.N_TRIPLES),
        ("trialkg.ttl", ox.RdfFormat.TURTLE),
        ("trialkg.jsonld", ox.RdfFormat.JSON_LD),
    ]:
        assert dump_triples(dist / name, fmt) == described[name] == described.get("", described[name]), name
    lines = [line for line in (dist / "trialkg.nq").read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(lines) == len(set(lines)), "no quad is written twice"
    assert len(lines) == described["trialkg.nq"], "the N-Quads dump's figure counts its quads"

    site = tmp_path / "site"
    assert kg("publish", "--static", str(site)).returncode == 0
    assert described_triples((site / "void.ttl").read_bytes()) == described

    with kg_serve(cwd=str(tmp_path)) as base:
        body = urllib.request.urlopen(f"{base}/.well-known/void", timeout=10).read()
    assert described_triples(body) == described


def test_the_description_never_counts_itself(tmp_path):
    dataset = Dataset.build()
    merged = {(t.subject, t.predicate, t.object) for t in dataset.triples()}
    assert dataset.statistics.triples == len(merged)
    quads = len(list(dataset.quads()))
    Site(dataset)  # a site of a graph built in memory holds its description itself: the store is not touched
    assert len(dataset.store) == quads

    from kg.load import load_embedded

    load_embedded(store_dir=tmp_path / "store")  # kg load stores the description with the data, in graph/void
    stored = Dataset.open(tmp_path / "store")
    assert stored.stored_description(), "the description is stored with the data"
    assert len(stored.store) == quads + len(stored.stored_description())
    assert stored.statistics == dataset.statistics, "read back from the store, counting the data only"
    assert len(list(stored.quads())) == quads and stored.description_graph not in stored.graphs()


@pytest.mark.slow
def test_publish_of_a_store_shows_that_stores_trials(kg, tmp_path, synth):
    corpus = tmp_path / "corpus"
    synth.generate(2, seed=3, out=corpus)
    store, site = tmp_path / "store", tmp_path / "site"
    assert kg("load", "--store", str(store), "--trials", str(corpus)).returncode == 0
    r = kg("publish", "--static", str(site), "--store", str(store))
    assert r.returncode == 0, r.stderr
    published = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    synthetic = sorted(p for p in published if p.startswith("synthetic/"))
    assert synthetic, "the store's synthetic publications are published"
    assert not any("isoda-2018" in p or "green-2017" in p for p in published), "and not the packaged ones"


def test_summary_and_pages_of_a_synthetic_corpus_carry_no_word_of_the_packaged_publications(tmp_path, synth):
    synth.generate(3, seed=11, out=tmp_path)
    synthetic = Dataset.from_paths([tmp_path])
    packaged = Dataset.build()
    publications = [s.graph(packaged.base) for s in sources.packaged_publications()]
    # the packaged publications' own words, less the site's own (its templates' text: "regimen", "result")
    templates = " ".join(p.read_text(encoding="utf-8") for p in (ROOT / "kg" / "web" / "templates").glob("*.html"))
    site_words = words(page_text(templates))
    seed_only = label_words(packaged, publications) - label_words(synthetic)
    assert site_words & seed_only <= {"body", "page", "rate", "rates", "regimen", "regimens", "result"}, (
        f"the templates themselves use a packaged publication's words: {sorted(site_words & seed_only)}"
    )
    seed_only -= site_words
    assert {"isoda", "tandem", "korean", "bioscience"} <= seed_only, "the check knows the packaged words"

    from kg.summary import summarize

    text = summarize(synthetic)
    assert text.strip() and not words(text) & seed_only, sorted(words(text) & seed_only)

    site = Site(synthetic)
    studies = [
        r["s"].value
        for r in synthetic.store.query(
            f"SELECT DISTINCT ?s WHERE {{ ?s a/<http://www.w3.org/2000/01/rdf-schema#subClassOf>* <{TRIALKG}Study> }}",
            use_default_graph_as_union=True,
        )
    ]
    assert len(studies) == 3
    for study in studies:
        html = pages.page(site, study)
        found = words(page_text(html)) & seed_only
        assert not found, f"{study}: {sorted(found)}"


@pytest.mark.slow
def test_the_checkout_runs_itself_from_its_root():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run(
        [sys.executable, "-m", "kg", "summary"], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env
    )
    assert r.returncode == 0, r.stderr
    assert "Isoda" in r.stdout or "isoda" in r.stdout.lower()
