"""Mappings, dataset description and exports: other graphs can find, trust and merge this one."""
from __future__ import annotations

import csv
import json
from collections import Counter

import pyoxigraph as ox
import pytest
import rdflib

from kg import mappings
from kg.describe import LINK_TARGETS, describe, statistics
from kg.prefixes import PREFIXES, expand

VOID = "http://rdfs.org/ns/void#"
# Biolink 4.2.2 classes and predicates the KGX export may use (checked in biolink-model at that version).
BIOLINK_CATEGORIES = {"biolink:ClinicalTrial", "biolink:Drug", "biolink:ChemicalEntity", "biolink:Disease",
                      "biolink:PhenotypicFeature", "biolink:Publication", "biolink:Article"}
BIOLINK_PREDICATES = {"biolink:in_clinical_trials_for", "biolink:has_adverse_event", "biolink:related_to"}


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
        assert ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode("https://w3id.org/trialkg/graph/ontology")) in store


def test_ontology_alignments_are_all_in_the_sssom_table():
    table = {(t.subject.value, t.predicate.value, t.object.value) for t in mappings.triples(mappings.packaged())}
    from kg import resources

    (onto,) = [f for f in resources.ontology_files() if f.name == "trialkg.ttl"]
    skos = "http://www.w3.org/2004/02/skos/core#"
    for t in ox.parse(onto.read_bytes(), format=ox.RdfFormat.TURTLE):
        if t.predicate.value.startswith(skos) and t.predicate.value.endswith("Match") and isinstance(t.object, ox.NamedNode):
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
    linksets = [t.subject.value for t in desc if t.predicate.value.endswith("type") and t.object.value == VOID + "Linkset"]
    assert len(linksets) >= 8
    for ls in linksets:
        target = g[(ls, VOID + "objectsTarget")]
        ns = g[(target, VOID + "uriSpace")]
        expected = sum(1 for s, _, o in triples if isinstance(o, ox.NamedNode) and o.value.startswith(ns)
                       and not (isinstance(s, ox.NamedNode) and s.value.startswith(ns)))
        assert int(g[(ls, VOID + "triples")]) == expected, ls
    assert {ls.rsplit("/", 1)[-1] for ls in linksets} <= set(LINK_TARGETS)


def test_build_writes_void(kg, tmp_path):
    assert kg("build", "--out", str(tmp_path)).returncode == 0
    g = rdflib.Graph().parse(tmp_path / "void.ttl")
    assert (None, rdflib.RDF.type, rdflib.URIRef(VOID + "Linkset")) in g
    assert (None, rdflib.URIRef("http://purl.org/dc/terms/license"), rdflib.URIRef("https://creativecommons.org/licenses/by/4.0/")) in g


def test_kgx(kg, tmp_path):
    r = kg("export", "--format", "kgx", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    nodes = list(csv.DictReader(open(tmp_path / "nodes.tsv"), delimiter="\t"))
    edges = list(csv.DictReader(open(tmp_path / "edges.tsv"), delimiter="\t"))
    assert {"id", "category", "name"} <= set(nodes[0])
    assert {"subject", "predicate", "object", "knowledge_level", "agent_type", "publications"} <= set(edges[0])
    ids = {n["id"] for n in nodes}
    for n in nodes:
        assert expand(n["id"]) is not None, f"node id {n['id']} is not a CURIE with a known prefix"
        assert n["category"] in BIOLINK_CATEGORIES
    for e in edges:
        assert e["subject"] in ids and e["object"] in ids, e
        assert e["predicate"] in BIOLINK_PREDICATES
        assert e["knowledge_level"] in {"knowledge_assertion", "logical_entailment", "prediction", "statistical_association", "observation", "not_provided"}
        assert e["agent_type"] in {"manual_agent", "automated_agent", "data_analysis_pipeline", "computational_model",
                                   "text_mining_agent", "image_processing_agent", "manual_validation_of_automated_agent", "not_provided"}
        assert e["publications"], "every edge carries its publication"
    triples = {(e["subject"], e["predicate"], e["object"]) for e in edges}
    assert ("CHEBI:52717", "biolink:in_clinical_trials_for", "MONDO:0009693") in triples
    aes = {o for s, p, o in triples if p == "biolink:has_adverse_event"}
    assert aes == {"HP:0001882", "HP:0001873", "HP:0000763", "HP:0002014", "HP:0002019", "HP:0002018", "HP:0012378", "HP:0000989"}
    assert "HP:0009830" not in ids, "'no grade >= 2 peripheral neuropathy' must not become an adverse-event edge"


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
    seed_evidence = [e for e in doc["entry"] if e["resource"]["resourceType"] == "Evidence"
                     and "/trial/isoda-2018/" in e["resource"]["url"]]
    assert len(seed_evidence) == 22 and kinds["Citation"] >= 1 and kinds["EvidenceVariable"] >= 8
    ev = {e["resource"]["url"].rsplit("/", 1)[-1]: e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "Evidence"}
    os_stat = ev["os-from-induction"]["statistic"][0]
    assert "quantity" not in os_stat and "not reached" in os_stat["note"][0]["text"]
    assert os_stat["statisticType"]["coding"][0]["code"] == "C28007"
    pfs = ev["pfs-from-induction-abstract"]["statistic"][0]
    assert pfs["quantity"] == {"value": 13.8, "unit": "month", "system": "http://unitsofmeasure.org", "code": "mo"}
    assert pfs["attributeEstimate"][0]["level"] == 0.95
    assert pfs["attributeEstimate"][0]["range"]["low"]["value"] == 11.4 and pfs["attributeEstimate"][0]["range"]["high"]["value"] == 23.7
    orr = ev["orr"]["statistic"][0]
    assert orr["sampleSize"]["numberOfParticipants"] == 36 and orr["quantity"]["code"] == "%"
    g3 = ev["grade3-leukopenia-thrombocytopenia"]["statistic"][0]
    assert g3["numberOfEvents"] == 2
    cit = next(e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "Citation"
               and e["resource"]["url"].endswith("/publication/isoda-2018"))
    assert cit["citedArtifact"]["identifier"][0]["value"] == "10.1007/s12185-018-2448-9"
    assert cit["citedArtifact"]["contributorship"]["complete"] is False
    assert [c["contributor"]["display"] for c in cit["citedArtifact"]["contributorship"]["entry"]] == ["Isoda A", "Murayama K", "Ito S"]


def test_jsonld_is_compacted_and_complete(kg, tmp_path, store):
    assert kg("export", "--format", "jsonld", "--out", str(tmp_path)).returncode == 0
    text = (tmp_path / "trialkg.jsonld").read_text()
    assert '"statisticType"' in text and '"population"' in text
    g = rdflib.Graph().parse(data=text, format="json-ld")
    assert len(g) == len({(q.subject, q.predicate, q.object) for q in store})


def test_nquads_keep_one_graph_per_publication(kg, tmp_path):
    assert kg("export", "--format", "nquads", "--out", str(tmp_path)).returncode == 0
    graphs = Counter(q.graph_name.value for q in ox.parse(path=str(tmp_path / "trialkg.nq"), format=ox.RdfFormat.N_QUADS))
    from kg import resources

    expected = {f"https://w3id.org/trialkg/graph/{f.name[:-4]}" for f in resources.trial_files()}
    assert set(graphs) == expected | {"https://w3id.org/trialkg/graph/ontology"}
    assert "https://w3id.org/trialkg/graph/isoda-2018" in graphs


def test_sssom_export_is_the_table_as_loaded(kg, tmp_path):
    assert kg("export", "--format", "sssom", "--out", str(tmp_path)).returncode == 0
    assert (tmp_path / "mappings.sssom.tsv").read_text() == mappings.packaged().text
