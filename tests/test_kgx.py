"""The KGX export: what KGX itself accepts, and the same IRIs as the RDF graph once KGX turns it back into RDF.

KGX runs offline through ``python -m kg.kgx_cli`` (KGX's own command line with
the Biolink Model of the installed ``biolink-model`` package and the packaged
prefix map; nothing is downloaded). The README's KGX commands are read from
the README and run as written.
"""

from __future__ import annotations

import csv
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.prefixes import PREFIXES, kgx_prefix_map

kgx = pytest.importorskip("kgx", reason="kgx (the kgx extra, in the test extras) is not installed")
biolink_model = pytest.importorskip("biolink_model", reason="biolink-model (the kgx extra) is not installed")

pytestmark = pytest.mark.slow  # kgx and the Biolink Model take seconds to load: not in the quick loop

REPO = Path(__file__).resolve().parent.parent
BIOLINK = "https://w3id.org/biolink/vocab/"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SKOS_EXACT = "http://www.w3.org/2004/02/skos/core#exactMatch"
KGX_CURIE = re.compile(r"^[^ <()>:]*:[^/ :]+$")  # kgx's own test (PrefixManager.is_curie)


def biolink_schema() -> dict:
    import yaml

    from kg.kgx_cli import biolink_schema as path

    return yaml.safe_load(path().read_text(encoding="utf-8"))


def camel(name: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in name.split())


def readme_kgx_commands() -> list[str]:
    """The shell lines of the README's KGX block (the fenced block after "**KGX**")."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"\*\*KGX\*\*.*?```bash\n(.*?)```", readme, re.DOTALL)
    assert block, "the README has no KGX block"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.split("#")[0].strip()]


def run(words: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """A README line as a user runs it, with the kg the tests import."""
    import kg as package

    where = str(Path(package.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [where, os.environ.get("PYTHONPATH")]))}
    if words[0] == "kg":
        words = [sys.executable, "-m", "kg", *words[1:]]
    elif words[:2] == ["python", "-m"]:
        words = [sys.executable, *words[1:]]
    return subprocess.run(words, cwd=cwd, capture_output=True, text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory):
    """Every line of the README's KGX block, run as written in a fresh folder (pip lines aside)."""
    cwd = tmp_path_factory.mktemp("kgx")
    results = {}
    for line in readme_kgx_commands():
        words = shlex.split(line)
        if words[0] == "pip":
            continue  # the test environment has the kgx extra already
        r = run(words, cwd)
        results[line] = r
        assert r.returncode == 0, f"{line!r} failed ({r.returncode}): {(r.stderr or r.stdout)[-1500:]}"
    return cwd, results


def in_graph_form(iri: str, in_graph: set[str]) -> bool:
    """Whether an IRI from KGX's expansion is one of the graph's: as it is, or (PubMed) in Bioregistry's
    default form, which ends in a slash no prefix map can write (https://pubmed.ncbi.nlm.nih.gov/N/)."""
    return iri in in_graph or (iri.startswith(PREFIXES["pubmed"]) and iri + "/" in in_graph)


def tsv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def test_readme_block_validates_and_transforms(readme_run):
    cwd, results = readme_run
    lines = list(results)
    assert any(" validate " in line and "-i tsv" in line for line in lines), lines
    assert any(" transform " in line and "-o " in line for line in lines), lines
    for line, r in results.items():
        if " validate " in line:
            assert "ERROR" not in r.stdout + r.stderr, r.stdout + r.stderr  # kgx reports every error as ERROR
    assert (cwd / "dist" / "nodes.tsv").exists() and (cwd / "dist" / "trialkg-kgx.nt").exists()


def test_ids_are_curies_kgx_reads_and_expand_to_iris_of_the_graph(readme_run, dataset):
    cwd, _ = readme_run
    nodes, edges = tsv(cwd / "dist" / "nodes.tsv"), tsv(cwd / "dist" / "edges.tsv")
    pmap = kgx_prefix_map()
    in_graph = {t.value for q in dataset.quads() for t in (q.subject, q.object) if isinstance(t, ox.NamedNode)}
    for n in nodes:
        assert KGX_CURIE.match(n["id"]), n["id"]
        prefix, local = n["id"].split(":", 1)
        assert in_graph_form(pmap[prefix] + local, in_graph), f"{n['id']} expands to an IRI the graph does not have"
    ids = {n["id"] for n in nodes}
    for e in edges:
        assert e["subject"] in ids and e["object"] in ids, e
        assert e["id"].startswith("urn:uuid:")
        for pub in e["publications"].split("|"):
            assert pub in ids and KGX_CURIE.match(pub), pub


def test_categories_predicates_and_levels_exist_in_the_pinned_biolink_model(readme_run):
    cwd, _ = readme_run
    schema = biolink_schema()
    classes = {f"biolink:{camel(c)}" for c in schema["classes"]}
    slots = {"biolink:" + s.replace(" ", "_") for s in schema["slots"]}
    levels = set(schema["enums"]["KnowledgeLevelEnum"]["permissible_values"])
    agents = set(schema["enums"]["AgentTypeEnum"]["permissible_values"])
    nodes, edges = tsv(cwd / "dist" / "nodes.tsv"), tsv(cwd / "dist" / "edges.tsv")
    assert {n["category"] for n in nodes} <= classes
    assert {e["predicate"] for e in edges} <= slots
    assert {e["knowledge_level"] for e in edges} <= levels and {e["agent_type"] for e in edges} <= agents
    columns = set(nodes[0]) | set(edges[0])
    assert {c for c in columns if c not in {"id", "category"}} <= {s.replace(" ", "_") for s in schema["slots"]}


def test_the_export_covers_every_publication_and_kind(readme_run, dataset):
    cwd, _ = readme_run
    nodes = {n["id"]: n for n in tsv(cwd / "dist" / "nodes.tsv")}
    edges = {(e["subject"], e["predicate"], e["object"]): e for e in tsv(cwd / "dist" / "edges.tsv")}
    by_category: dict[str, set[str]] = {}
    for n in nodes.values():
        by_category.setdefault(n["category"], set()).add(n["id"])
    # a registered trial by its registry id (Biolink's ClinicalTrial prefix), the graph's id an xref
    ct = "https://www.clinicaltrials.gov/study/"
    registered = {
        q.subject.value: "CLINICALTRIALS:" + q.object.value[len(ct) :]
        for q in dataset.quads()
        if q.predicate.value == "https://w3id.org/trialkg/ontology/registration" and q.object.value.startswith(ct)
    }
    assert {"trialkg.trial:isoda-2018", "CLINICALTRIALS:NCT00793572"} <= by_category["biolink:ClinicalTrial"]
    assert set(registered.values()) <= by_category["biolink:ClinicalTrial"]
    assert not {f"trialkg.trial:{s.rsplit('/', 1)[-1]}" for s in registered} & by_category["biolink:ClinicalTrial"]
    assert {"trialkg.study:sun-2017", "trialkg.study:lee-2013"} <= by_category[
        "biolink:Study"
    ]  # meta-analysis, registry
    # bortezomib and melphalan by their mapped ids (Biolink prefers CHEBI, then DRUGBANK); fludarabine has no
    # verified mapping, so its NCIt code is its id
    assert {"CHEBI:52717", "DRUGBANK:DB01042", "NCIT:C1094"} <= by_category["biolink:Drug"]
    assert {"NCIT:C201465", "NCIT:C201466"} <= by_category["biolink:Procedure"]
    assert nodes["CLINICALTRIALS:NCT00793572"]["xref"] == "trialkg.trial:green-2017"
    lee = nodes["PMID:23341716"]
    assert lee["category"] == "biolink:JournalArticle"
    assert set(lee["xref"].split("|")) == {
        "PMCID:PMC3546109",  # Biolink's PMCID (PMC:3546109 would expand to a wrong IRI under Bioregistry's pmc)
        "doi:10.3346/jkms.2013.28.1.80",
        "trialkg.publication:lee-2013",
    }
    assert "doi:10.1007/s12185-018-2448-9" in nodes["trialkg.publication:isoda-2018"]["xref"]
    # one trial's observed adverse event, and the meta-analysis's pooled risk ratios
    thrombocytopenia = edges[("CHEBI:52717", "biolink:has_adverse_event", "HP:0001873")]
    assert thrombocytopenia["knowledge_level"] == "observation"
    neutropenia = edges[("CHEBI:52717", "biolink:has_adverse_event", "HP:0001875")]
    assert neutropenia["knowledge_level"] == "statistical_association"
    assert neutropenia["has_supporting_studies"] == "trialkg.study:sun-2017"
    assert edges[("CHEBI:52717", "biolink:applied_to_treat", "MONDO:0009693")]["knowledge_level"] == "observation"
    assert all(e["agent_type"] == "manual_agent" for e in edges.values())


def test_transformed_triples_are_the_graphs(readme_run, dataset):
    """kgx's N-Triples: every IRI is the graph's, each name a label of the term, each edge a fact of the graph."""
    cwd, _ = readme_run
    triples = list(ox.parse(path=str(cwd / "dist" / "trialkg-kgx.nt"), format=ox.RdfFormat.N_TRIPLES))
    store = dataset.store
    in_graph = {t.value for q in dataset.quads() for t in (q.subject, q.object) if isinstance(t, ox.NamedNode)}
    vocab = (BIOLINK, "http://www.w3.org/", "urn:uuid:")
    issn = PREFIXES["ISSN"]
    for t in triples:
        if t.predicate.value == BIOLINK + "published_in" and t.object.value.startswith(issn):
            # the graph keeps a journal's ISSN as a literal; KGX's published_in is its ISSN IRI
            ask = f'ASK {{ ?j <https://w3id.org/trialkg/ontology/issn> "{t.object.value[len(issn) :]}" }}'
            assert store.query(ask, use_default_graph_as_union=True), t
            continue
        for term in (t.subject, t.object):
            if isinstance(term, ox.NamedNode) and not term.value.startswith(vocab):
                assert in_graph_form(term.value, in_graph), (
                    f"{term.value} (from kgx transform) is not an IRI of the graph"
                )
    names = {(t.subject.value, t.object.value) for t in triples if t.predicate.value == RDFS_LABEL}  # KGX's name
    assert names
    # a registered trial's KGX id expands to its registry record: the study is the one registered there
    registered = {
        q.object.value: q.subject.value
        for q in dataset.quads()
        if q.predicate.value == "https://w3id.org/trialkg/ontology/registration"
    }

    def node(iri: str) -> str:
        iri = registered.get(iri, iri)
        return iri + "/" if iri not in in_graph and iri + "/" in in_graph else iri

    for iri, name in names:
        iri = node(iri)
        ask = f"""ASK {{ <{iri}> (<{SKOS_EXACT}>|^<{SKOS_EXACT}>)* ?x .
                        {{ ?x <{RDFS_LABEL}> ?l }} UNION {{ ?x <http://purl.org/dc/terms/title> ?l }}
                        UNION {{ ?p <https://schema.org/sameAs> ?x . ?p <http://purl.org/dc/terms/title> ?l }}
                        FILTER(STR(?l) = {ox.Literal(name)}) }}"""
        assert store.query(ask, use_default_graph_as_union=True), f"{iri} is not named {name!r} in the graph"
    direct = [
        t
        for t in triples
        if t.predicate.value.startswith(BIOLINK)
        and isinstance(t.object, ox.NamedNode)
        and not t.subject.value.startswith("urn:uuid:")
        and t.predicate.value[len(BIOLINK) :]
        in {"in_clinical_trials_for", "applied_to_treat", "has_adverse_event", "related_to"}
    ]
    assert len(direct) >= 30
    same = f"(<{SKOS_EXACT}>|^<{SKOS_EXACT}>)*"
    t_ = "https://w3id.org/trialkg/ontology/"
    for t in direct:
        s, p, o = node(t.subject.value), t.predicate.value[len(BIOLINK) :], node(t.object.value)
        if p in ("in_clinical_trials_for", "applied_to_treat"):
            ask = f"""ASK {{ ?study <{t_}hasArm>/<{t_}hasTreatmentPhase>/<{t_}hasDoseSchedule>/<{t_}drug> ?d ;
                                   <{t_}studiesCondition> ?c .
                            <{s}> {same} ?d . <{o}> {same} ?c }}"""
        elif p == "has_adverse_event":
            ask = f"""ASK {{ ?item <{t_}adverseEvent> ?ae . <{o}> {same} ?ae .
                            {{ ?item <{t_}duringPhase>/<{t_}hasDoseSchedule>/<{t_}drug> ?d }}
                            UNION {{ ?study <{t_}reportsAdverseEvent>|<{t_}hasStatistic> ?item .
                                     ?study <{t_}hasArm>/<{t_}hasTreatmentPhase>/<{t_}hasDoseSchedule>/<{t_}drug> ?d }}
                            <{s}> {same} ?d }}"""
        else:
            ask = f"""ASK {{ <{s}> ?p1 ?x . {{ ?x ?p2 ?y . ?y ?p3 ?z . ?z ?p4 ?term }} UNION {{ BIND(?x AS ?term) }}
                            <{o}> {same} ?term }}"""
        assert store.query(ask, use_default_graph_as_union=True), f"{s} {p} {o} is not a fact of the graph"


def test_export_writes_the_prefix_map_it_needs(readme_run):
    import json

    cwd, _ = readme_run
    assert json.loads((cwd / "dist" / "kgx-prefix-map.json").read_text()) == kgx_prefix_map()
    # Biolink spells these prefixes the same; the map gives them the graph's namespaces
    biolink_map = __import__("kg.kgx_cli", fromlist=["biolink_prefix_map"]).biolink_prefix_map()
    for prefix in ("CHEBI", "MONDO", "HP", "NCIT", "MESH", "DRUGBANK", "PMID", "PMC", "doi"):
        assert prefix in biolink_map, prefix
    assert kgx_prefix_map()["DRUGBANK"] == PREFIXES["DRUGBANK"] != biolink_map["DRUGBANK"]


def test_kgx_validate_with_biolinks_own_prefixes_only_errs_only_on_the_project_prefix(readme_run):
    """Without trialkg's prefix map, KGX judges every id as any Biolink consumer does: only trialkg's own
    prefixes (not registered with Biolink or Bioregistry yet) are unknown; every other id is Biolink's."""
    cwd, _ = readme_run
    r = run(
        [
            "python",
            "-m",
            "kg.kgx_cli",
            "--biolink-prefixes-only",
            "validate",
            "-i",
            "tsv",
            "dist/nodes.tsv",
            "dist/edges.tsv",
        ],
        cwd,
    )
    out = r.stdout + r.stderr
    flagged = re.findall(r"CURIE prefix '([^']+)'", out)
    assert flagged, "kgx reported nothing: the check would prove nothing"  # the project ids are flagged
    assert {p.split(".")[0] for p in flagged} == {"trialkg"}, sorted(set(flagged))
    other_errors = [m for m in re.findall(r'"((?:Node|Edge) property[^"]*)"', out) if "CURIE prefix 'trialkg" not in m]
    assert not other_errors, other_errors[:5]
    nodes = {n["id"]: n for n in tsv(cwd / "dist" / "nodes.tsv")}
    assert "CLINICALTRIALS:NCT00793572" in nodes and "PMID:23341716" in nodes


#: namespaces a curator's files may use, that the packaged map has no CURIE for: each pair differs only where a
#: careless spelling of a prefix would not (the scheme, a dot for a slash, a '#' end); and the synthetic corpus's own
NAMESPACES = [
    "https://example.org/t/x#",
    "http://example.org/t/x/",
    "https://example.org/t/x/",
    "https://example.org.t/x/",
]


def test_a_graph_under_its_own_namespaces_exports_and_kgx_reads_it_back_to_its_iris(tmp_path, synth):
    """A conforming graph whose IRIs the packaged map has no CURIE for (a corpus deeper under a project namespace,
    curators' files under their own hosts) exports: each namespace gets a prefix of its own in the export's map, KGX
    validates the ids, and its RDF has the graph's own IRIs (until 2026-12-06 the export stopped with exit 2; a first
    fix gave http: and https: namespaces one prefix, and KGX's RDF then had IRIs the graph does not). A study whose
    IRI ends in '/', which no CURIE names, is written as it is, with a note."""
    corpus = tmp_path / "corpus"
    synth.generate(len(NAMESPACES) + 2, 1, corpus)
    files = sorted(corpus.glob("*.ttl"))
    for path, namespace in zip(files, NAMESPACES):
        text = path.read_text(encoding="utf-8")
        assert f"<synthetic/{path.stem}/" in text, "the corpus's IRIs, relative to its base"
        path.write_text(text.replace(f"<synthetic/{path.stem}/", f"<{namespace}"), encoding="utf-8")
    last = files[-1]
    last.write_text(last.read_text().replace(f"<synthetic/{last.stem}>", "<https://example.org/studies/x/>"))
    assert run(["kg", "validate", "--trials", str(corpus)], tmp_path).returncode == 0
    r = run(["kg", "export", "--format", "kgx", "--trials", str(corpus), "--out", "dist"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "1 IRI(s) no KGX CURIE can name" in r.stderr and "https://example.org/studies/x/" in r.stderr, r.stderr
    pmap = __import__("json").loads((tmp_path / "dist" / "kgx-prefix-map.json").read_text())
    minted = {p: ns for p, ns in pmap.items() if p not in kgx_prefix_map()}
    assert set(NAMESPACES) <= set(minted.values()), minted  # each namespace its own prefix: none lost to another
    assert any(p.startswith("trialkg.synthetic.") for p in minted)
    nodes = tsv(tmp_path / "dist" / "nodes.tsv")
    assert [n["id"] for n in nodes if not KGX_CURIE.match(n["id"])] == ["https://example.org/studies/x/"]
    nodes_file = tmp_path / "dist" / "nodes.tsv"
    nodes_file.write_text("".join(ln for ln in nodes_file.open() if "https://example.org/studies/x/" not in ln))
    edges_file = tmp_path / "dist" / "edges.tsv"
    edges_file.write_text("".join(ln for ln in edges_file.open() if "https://example.org/studies/x/" not in ln))
    for rest in (
        ["validate", "-i", "tsv", "dist/nodes.tsv", "dist/edges.tsv"],
        ["transform", "-i", "tsv", "-f", "nt", "-o", "dist/out.nt", "dist/nodes.tsv", "dist/edges.tsv"],
    ):
        r = run(["python", "-m", "kg.kgx_cli", "--prefix-map", "dist/kgx-prefix-map.json", *rest], tmp_path)
        assert r.returncode == 0 and "ERROR" not in r.stdout + r.stderr, (r.stdout + r.stderr)[-1500:]
    graph = ox.Store()
    for f in files:
        graph.load(path=str(f), format=ox.RdfFormat.TURTLE, base_iri="https://w3id.org/trialkg/")
    in_graph = {t.value for q in graph for t in (q.subject, q.object) if isinstance(t, ox.NamedNode)}
    out = list(ox.parse(path=str(tmp_path / "dist" / "out.nt"), format=ox.RdfFormat.N_TRIPLES))
    subjects = {t.subject.value for t in out}
    for namespace in NAMESPACES:  # each curator's study and publication, back under its own namespace
        assert {namespace + "publication"} <= subjects, namespace
    strays = {
        s
        for s in subjects
        if s.startswith(("http://example.org", "https://example.org", "https://w3id.org/trialkg/synthetic/"))
    }
    assert strays and strays <= in_graph, sorted(strays - in_graph)


def test_kgx_cli_refuses_a_prefix_map_it_cannot_read(tmp_path):
    (tmp_path / "bad.json").write_text("[1, 2]", encoding="utf-8")
    for args in (
        ["--prefix-map"],
        ["--prefix-map", "missing.json", "validate"],
        ["--prefix-map", "bad.json", "validate"],
    ):
        r = run(["python", "-m", "kg.kgx_cli", *args], tmp_path)
        assert r.returncode == 2 and "prefix map" in r.stderr, r.stderr
