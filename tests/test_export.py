"""Mappings, dataset description and exports: other graphs can find, trust and merge this one."""

from __future__ import annotations

import json
import re
from collections import Counter

import pyoxigraph as ox
import pytest
import rdflib

from kg import mappings
from kg.describe import LINK_TARGETS, describe, statistics
from kg.prefixes import PREFIXES, expand

VOID = "http://rdfs.org/ns/void#"


@pytest.mark.slow
def test_sssom_parses_with_the_sssom_package():
    sssom_parsers = pytest.importorskip("sssom.parsers")
    from kg import resources

    path = resources.ontology_file("mappings.sssom.tsv")
    msdf = sssom_parsers.parse_sssom_table(str(path))
    df = msdf.df
    assert len(df) == len(mappings.packaged().rows)
    assert set(df["mapping_justification"]) == {"semapv:ManualMappingCuration"}
    assert msdf.metadata["license"] == "https://creativecommons.org/licenses/by/4.0/"


def test_sssom_metadata_and_curies():
    ms = mappings.packaged()
    for key in ("mapping_set_id", "license", "curie_map"):
        assert ms.metadata.get(key), key
    for prefix, ns in ms.metadata["curie_map"].items():
        assert PREFIXES[prefix] == ns, f"curie_map disagrees with the project prefix map for {prefix}"
    for row in ms.rows:
        for col in ("subject_id", "predicate_id", "object_id", "mapping_justification"):
            assert expand(row[col]) is not None, row[col]
        assert row["subject_label"] and row["object_label"]


def test_every_mapping_row_is_a_triple_in_the_graph(store):
    for t in mappings.triples(mappings.packaged()):
        assert (
            ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode("https://w3id.org/trialkg/graph/ontology")) in store
        )


def test_ontology_alignments_are_all_in_the_sssom_table():
    table = {(t.subject.value, t.predicate.value, t.object.value) for t in mappings.triples(mappings.packaged())}
    from kg import resources

    (onto,) = [f for f in resources.ontology_files() if f.name == "trialkg.ttl"]
    skos = "http://www.w3.org/2004/02/skos/core#"
    for t in ox.parse(onto.read_bytes(), format=ox.RdfFormat.TURTLE):
        if (
            t.predicate.value.startswith(skos)
            and t.predicate.value.endswith("Match")
            and isinstance(t.object, ox.NamedNode)
        ):
            if t.object.value.startswith("http://hl7.org/"):
                continue
            assert (t.subject.value, t.predicate.value, t.object.value) in table, f"{t} is not in mappings.sssom.tsv"


def test_void_counts_equal_sparql_counts(store):
    desc = describe(statistics(store))
    g = {(t.subject.value, t.predicate.value): t.object.value for t in desc}
    dist = "https://w3id.org/trialkg/dataset/0.1.0/ttl"
    # independent recount in Python over the distinct triples
    triples = {(q.subject, q.predicate, q.object) for q in store}
    assert int(g[(dist, VOID + "triples")]) == len(triples)
    assert int(g[(dist, VOID + "properties")]) == len({p for _, p, _ in triples})
    linksets = [
        t.subject.value for t in desc if t.predicate.value.endswith("type") and t.object.value == VOID + "Linkset"
    ]
    assert len(linksets) >= 8
    for ls in linksets:
        target = g[(ls, VOID + "objectsTarget")]
        ns = g[(target, VOID + "uriSpace")]
        expected = sum(
            1
            for s, _, o in triples
            if isinstance(o, ox.NamedNode)
            and o.value.startswith(ns)
            and not (isinstance(s, ox.NamedNode) and s.value.startswith(ns))
        )
        assert int(g[(ls, VOID + "triples")]) == expected, ls
    assert {ls.rsplit("/", 1)[-1] for ls in linksets} <= set(LINK_TARGETS)
    # the registry and bibliographic records the new publications link to have linksets of their own
    assert {"clinicaltrials", "pubmed", "pmc", "DOI", "MESH", "DRUGBANK"} <= {ls.rsplit("/", 1)[-1] for ls in linksets}


def test_every_external_namespace_linked_to_is_a_linkset_target(store):
    """LINK_TARGETS leaves out only the vocabularies the graph is written in, never a namespace of records."""
    from kg.prefixes import PROJECT

    vocabularies = {
        "biolink",
        "semapv",
        "prov",
        "oa",
        "dcterms",
        "dctypes",
        "cito",
        "fabio",
        "skos",
        "owl",
        "rdf",
        "rdfs",
        "xsd",
        "sh",
        "oboInOwl",
        "void",
        "dcat",
        "pav",
        "formats",
    }
    records = {p for p in PREFIXES if p != PROJECT and not p.startswith(PROJECT + ".")} - vocabularies
    assert records <= set(LINK_TARGETS)


def test_build_writes_void(kg, tmp_path):
    assert kg("build", "--out", str(tmp_path)).returncode == 0
    g = rdflib.Graph().parse(tmp_path / "void.ttl")
    assert (None, rdflib.RDF.type, rdflib.URIRef(VOID + "Linkset")) in g
    assert (
        None,
        rdflib.URIRef("http://purl.org/dc/terms/license"),
        rdflib.URIRef("https://creativecommons.org/licenses/by/4.0/"),
    ) in g


def test_fhir_bundle_validates_with_r5_models(kg, tmp_path):
    pytest.importorskip("fhir.resources")
    from fhir.resources import get_fhir_model_class
    from fhir.resources.bundle import Bundle

    assert kg("export", "--format", "fhir", "--out", str(tmp_path)).returncode == 0
    doc = json.loads((tmp_path / "trialkg-fhir-bundle.json").read_text())
    Bundle.model_validate(doc)
    assert doc["type"] == "collection"
    kinds = Counter()
    for entry in doc["entry"]:
        res = entry["resource"]
        get_fhir_model_class(res["resourceType"]).model_validate(res)
        kinds[res["resourceType"]] += 1
    seed_evidence = [
        e
        for e in doc["entry"]
        if e["resource"]["resourceType"] == "Evidence" and "/trial/isoda-2018/" in e["resource"]["url"]
    ]
    assert len(seed_evidence) == 22 and kinds["Citation"] >= 1 and kinds["EvidenceVariable"] >= 8
    ev = {
        e["resource"]["url"].rsplit("/", 1)[-1]: e["resource"]
        for e in doc["entry"]
        if e["resource"]["resourceType"] == "Evidence"
    }
    os_stat = ev["os-from-induction"]["statistic"][0]
    assert "quantity" not in os_stat and "not reached" in os_stat["note"][0]["text"]
    assert os_stat["statisticType"]["coding"][0]["code"] == "C28007"
    pfs = ev["pfs-from-induction-abstract"]["statistic"][0]
    assert pfs["quantity"] == {"value": 13.8, "unit": "month", "system": "http://unitsofmeasure.org", "code": "mo"}
    assert pfs["attributeEstimate"][0]["level"] == 0.95
    assert (
        pfs["attributeEstimate"][0]["range"]["low"]["value"] == 11.4
        and pfs["attributeEstimate"][0]["range"]["high"]["value"] == 23.7
    )
    orr = ev["orr"]["statistic"][0]
    assert orr["sampleSize"]["numberOfParticipants"] == 36 and orr["quantity"]["code"] == "%"
    g3 = ev["grade3-leukopenia-thrombocytopenia"]["statistic"][0]
    assert g3["numberOfEvents"] == 2
    cit = next(
        e["resource"]
        for e in doc["entry"]
        if e["resource"]["resourceType"] == "Citation" and e["resource"]["url"].endswith("/publication/isoda-2018")
    )
    assert cit["citedArtifact"]["identifier"][0]["value"] == "10.1007/s12185-018-2448-9"
    assert cit["citedArtifact"]["contributorship"]["complete"] is False
    assert [c["contributor"]["display"] for c in cit["citedArtifact"]["contributorship"]["entry"]] == [
        "Isoda A",
        "Murayama K",
        "Ito S",
    ]


def test_jsonld_is_compacted_and_complete(kg, tmp_path, store):
    assert kg("export", "--format", "jsonld", "--out", str(tmp_path)).returncode == 0
    text = (tmp_path / "trialkg.jsonld").read_text()
    assert '"statisticType"' in text and '"population"' in text
    g = rdflib.Graph().parse(data=text, format="json-ld")
    assert len(g) == len({(q.subject, q.predicate, q.object) for q in store})
    # every property of the project's own has a readable key (review 48: 75 of 149 were 'trialkg:pValue' and such)
    keys = set(re.findall(r'"(trialkg:[A-Za-z]+)":', text))
    assert not keys, sorted(keys)


def test_nquads_keep_one_graph_per_publication(kg, tmp_path):
    assert kg("export", "--format", "nquads", "--out", str(tmp_path)).returncode == 0
    graphs = Counter(
        q.graph_name.value for q in ox.parse(path=str(tmp_path / "trialkg.nq"), format=ox.RdfFormat.N_QUADS)
    )
    from kg import resources

    expected = {f"https://w3id.org/trialkg/graph/{f.name[:-4]}" for f in resources.trial_files()}
    assert set(graphs) == expected | {"https://w3id.org/trialkg/graph/ontology"}
    assert "https://w3id.org/trialkg/graph/isoda-2018" in graphs


def test_sssom_export_is_the_table_as_loaded(kg, tmp_path):
    assert kg("export", "--format", "sssom", "--out", str(tmp_path)).returncode == 0
    assert (tmp_path / "mappings.sssom.tsv").read_text() == mappings.packaged().text


EXPORT_EVERY_FORMAT = """
import hashlib, json, sys
from kg import export
from kg.dataset import Dataset
ds = Dataset.build()
out = {}
for fmt, writers in export.WRITERS.items():
    for name, writer in writers.items():
        data = writer(ds, None) if fmt == "nanopub" else writer(ds)
        out[name] = hashlib.sha256(data).hexdigest()
print(json.dumps(out))
"""


def test_every_export_is_byte_identical_whatever_the_process_hash_seed():
    """A mirror or a checksum of a release must not churn: Python salts str hashes per process (PYTHONHASHSEED),
    and rdflib's JSON-LD writer followed its hash sets (two exports of the same graph differed byte for byte)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import kg

    where = str(Path(kg.__file__).resolve().parent.parent)
    digests = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": where}
        r = subprocess.run(
            [sys.executable, "-c", EXPORT_EVERY_FORMAT], capture_output=True, text=True, env=env, timeout=300
        )
        assert r.returncode == 0, r.stderr
        digests.append(json.loads(r.stdout))
    assert set(digests[0]) >= {"trialkg.jsonld", "trialkg-1.0.jsonld", "trialkg.nq", "nodes.tsv", "void.ttl"}
    assert digests[0] == digests[1]


def test_every_label_in_the_mapping_table_is_the_terms_label_in_the_graph(store):
    """SSSOM's subject_label and object_label are the terms' labels: NCIT:C3501's was its synonym 'Sensory
    Neuropathy' where the graph labels it 'Peripheral Sensory Neuropathy' (review 37)."""
    from kg.prefixes import expand
    from kg.sparql import select

    labels: dict[str, set[str]] = {}
    for row in select(store, "SELECT ?s ?l WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l }"):
        labels.setdefault(row["s"].value, set()).add(row["l"].value)
    table = mappings.packaged()
    checked = 0
    for m in table.rows:
        for side in ("subject", "object"):
            iri = expand(m[f"{side}_id"])
            if iri in labels:
                assert m[f"{side}_label"] in labels[iri], (m[f"{side}_id"], m[f"{side}_label"], labels[iri])
                checked += 1
    assert checked > 50
