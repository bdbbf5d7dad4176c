"""No invented identifiers: every external IRI the graph uses is declared in ontology/imports with a label."""

from __future__ import annotations

from kg import resources

W3C_CORE = (
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "http://www.w3.org/2000/01/rdf-schema#",
    "http://www.w3.org/2002/07/owl#",
    "http://www.w3.org/2001/XMLSchema#",
    "http://www.w3.org/2004/02/skos/core#",
)
# Objects of these properties are documents on the web, not terms.
LOCATORS = {
    "https://schema.org/url",
    "https://schema.org/sameAs",
    "http://purl.org/dc/terms/license",
    "http://www.w3.org/2000/01/rdf-schema#seeAlso",
    "http://www.w3.org/2000/01/rdf-schema#isDefinedBy",
    "http://www.w3.org/2002/07/owl#versionIRI",
    "https://w3id.org/trialkg/ontology/registration",
    # another IRI of the subject's own record or term (identifiers.org, Bio2RDF): it names what the
    # subject names, so the subject's label is its label (tests/test_links.py checks each one)
    "http://www.w3.org/2002/07/owl#sameAs",
}


def test_every_external_iri_is_declared_with_a_label(store):
    rows = store.query(
        f"""SELECT DISTINCT ?iri WHERE {{
              {{ ?s ?p ?iri FILTER(isIRI(?iri) && ?p NOT IN ({", ".join(f"<{p}>" for p in LOCATORS)})) }}
              UNION {{ ?s ?iri ?o }}
              FILTER(!STRSTARTS(STR(?iri), "https://w3id.org/trialkg/"))
              {" ".join(f'FILTER(!STRSTARTS(STR(?iri), "{ns}"))' for ns in W3C_CORE)}
              FILTER NOT EXISTS {{ GRAPH <https://w3id.org/trialkg/graph/ontology> {{ ?iri <http://www.w3.org/2000/01/rdf-schema#label> ?label }} }}
            }}""",
        use_default_graph_as_union=True,
    )
    missing = sorted(r["iri"].value for r in rows)
    assert missing == [], f"undeclared external IRIs: {missing}"


def test_import_extracts_are_packaged():
    names = {f.name for f in resources.ontology_files()}
    assert {"trialkg.ttl", "ncit.ttl", "obo.ttl", "vocab.ttl", "xrefs.ttl"} <= names


def test_project_terms_have_label_and_definition(store):
    rows = store.query(
        """SELECT ?t WHERE {
             GRAPH <https://w3id.org/trialkg/graph/ontology> {
               ?t a ?kind . FILTER(STRSTARTS(STR(?t), "https://w3id.org/trialkg/ontology/") && STR(?t) != "https://w3id.org/trialkg/ontology/")
               FILTER NOT EXISTS { ?t <http://www.w3.org/2000/01/rdf-schema#label> ?l . ?t <http://www.w3.org/2004/02/skos/core#definition> ?d }
             } }"""
    )
    assert [r["t"].value for r in rows] == []


def test_every_declared_identifier_has_a_row_saying_where_it_was_checked():
    """ontology/imports/README.md names, for each external identifier declared in the extracts, where it was seen."""
    import re

    import pyoxigraph as ox

    from kg.prefixes import compact

    readme = resources.folder("kg.ontology.imports").joinpath("README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| ") and not line.startswith("| identifier")]
    listed = {c for line in rows for c in re.findall(r"\b[A-Za-z][A-Za-z0-9.]*:[A-Za-z0-9_-]+", line.split("|")[1])}
    declared = set()
    for f in resources.ontology_files():
        if f.name in ("trialkg.ttl", "vocab.ttl"):
            continue  # the project's own terms; vocabulary terms are covered by the README's vocab section
        for q in ox.parse(f.read_bytes(), format=ox.RdfFormat.TURTLE):
            if isinstance(q.subject, ox.NamedNode) and compact(q.subject.value) != q.subject.value:
                declared.add(compact(q.subject.value))
    assert declared, "the check reads the extracts"
    assert sorted(declared - listed) == [], "declared without a row in ontology/imports/README.md"


def test_the_package_and_the_ontology_say_one_version():
    """Review 48: the version is written in pyproject.toml, kg/__init__.py and the ontology's owl:versionInfo and
    versionIRI (the address other graphs import), and nothing tied them together."""
    import tomllib
    from pathlib import Path

    import pyoxigraph as ox

    from kg import __version__

    root = Path(__file__).resolve().parent.parent
    declared = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    onto = resources.ontology_file("trialkg.ttl").read_bytes()
    owl = "http://www.w3.org/2002/07/owl#"
    quads = list(ox.parse(onto, format=ox.RdfFormat.TURTLE))
    info = [q.object.value for q in quads if q.predicate.value == owl + "versionInfo"]
    iri = [q.object.value for q in quads if q.predicate.value == owl + "versionIRI"]
    assert declared == __version__ and info == [__version__]
    assert iri == [f"https://w3id.org/trialkg/ontology/{__version__}"]
