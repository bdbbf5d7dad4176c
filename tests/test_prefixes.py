"""Prefixes and IRI forms: checked against Bioregistry's own data (the ``bioregistry`` package, no network).

Every external prefix of the project's one prefix map must be a Bioregistry
prefix (or its preferred spelling or a synonym), with a namespace that is one of
the URI formats Bioregistry records for it, and the form it prefers where the
issue asked for one: MeSH's RDF IRIs, DrugBank's current default, and the
ClinicalTrials.gov, PubMed and PMC prefixes as Bioregistry names them. The
project prefix ``trialkg`` and its sub-prefixes must be free, and the packaged
Bioregistry entry for ``trialkg`` must be one Bioregistry would accept.
"""

from __future__ import annotations

import json
import re

import pyoxigraph as ox
import pytest

from kg import __version__, mappings, resources
from kg.prefixes import KGX_PREFIXES, PREFIXES, PROJECT, RESOLVERS, kgx_prefix_map

bioregistry = pytest.importorskip("bioregistry", reason="the bioregistry package (test extra) is not installed")

#: prefixes of the map that are not Bioregistry's to check, and why
NOT_IN_BIOREGISTRY = {
    "formats": "the W3C's namespace of format IRIs (void/dcterms format values) has no registry entry",
    "hl7.tho": "HL7 Terminology's code systems (the statistic-type codes with no NCIt or STATO IRI) have no Bioregistry prefix",
}
#: the URI format each of these must use (the issue named them)
REQUIRED_FORM = {
    "MESH": ("rdf", "http://id.nlm.nih.gov/mesh/$1"),
    "DRUGBANK": ("default", "https://go.drugbank.com/drugs/$1"),
    "clinicaltrials": ("default", "https://www.clinicaltrials.gov/study/$1"),
    "pmc": ("default", "http://europepmc.org/articles/$1"),
    # Bioregistry's default ends in a slash ("https://pubmed.ncbi.nlm.nih.gov/$1/"), which no
    # namespace can write; the same address without it is a format Bioregistry records too. The
    # graph's PubMed IRIs are the default form, with the slash (issue 19: get_iri's form).
    "pubmed": ("listed", "https://pubmed.ncbi.nlm.nih.gov/$1"),
}
NAMED_AS_BIOREGISTRY = {"clinicaltrials", "pubmed", "pmc"}
#: predicates whose objects are web documents (a publisher's page, a licence, an .owl file), not identifiers
DOCUMENT_LINKS = {
    "https://schema.org/url",
    "http://purl.org/dc/terms/license",
    "http://www.w3.org/2000/01/rdf-schema#isDefinedBy",
    "http://www.w3.org/2000/01/rdf-schema#seeAlso",
}


def project_prefixes() -> list[str]:
    return [p for p in PREFIXES if p == PROJECT or p.startswith(PROJECT + ".")]


def external_prefixes() -> list[str]:
    return [p for p in PREFIXES if p not in project_prefixes() and p not in NOT_IN_BIOREGISTRY]


@pytest.mark.parametrize("prefix", external_prefixes())
def test_external_prefix_is_bioregistrys_with_a_recorded_iri_form(prefix):
    canonical = bioregistry.normalize_prefix(prefix)
    assert canonical, f"{prefix} is not a Bioregistry prefix or synonym"
    resource = bioregistry.get_resource(canonical)
    spellings = {resource.prefix, resource.get_preferred_prefix() or resource.prefix, *resource.get_synonyms()}
    assert prefix in spellings or prefix.lower() == resource.prefix, (
        f"{prefix}: Bioregistry spells it {sorted(spellings)}"
    )
    if prefix in NAMED_AS_BIOREGISTRY:
        assert prefix == resource.prefix
    form = PREFIXES[prefix] + "$1"
    formats = set(resource.get_uri_formats())
    if prefix in REQUIRED_FORM:
        kind, expected = REQUIRED_FORM[prefix]
        assert form == expected
        if kind == "rdf":
            assert resource.get_rdf_uri_format() == form
        elif kind == "default":
            assert resource.get_default_format() == form
        else:
            assert form in formats and resource.get_default_format() == form + "/"
    else:
        assert form in {resource.get_default_format(), resource.get_rdf_uri_format()}, (
            f"{prefix}: {form} is neither Bioregistry's default ({resource.get_default_format()}) "
            f"nor its RDF form ({resource.get_rdf_uri_format()})"
        )


def _pattern(prefix: str) -> str | None:
    return bioregistry.get_resource(bioregistry.normalize_prefix(prefix)).get_pattern()


@pytest.mark.parametrize("prefix", [p for p in external_prefixes() if _pattern(p)])
def test_pattern_matches_the_identifiers_of_the_graph(prefix, dataset):
    pattern = _pattern(prefix)
    ns = PREFIXES[prefix]
    locals_ = {
        t.value[len(ns) :]
        for q in dataset.quads()
        for t in (q.subject, q.object)
        if isinstance(t, ox.NamedNode) and t.value.startswith(ns)
    }
    longer = [p for p, n in PREFIXES.items() if n.startswith(ns) and n != ns]  # a nested namespace is not this one
    locals_ = {x for x in locals_ if not any((ns + x).startswith(PREFIXES[p]) for p in longer)}
    if REQUIRED_FORM.get(prefix, ("",))[0] == "listed":  # IRIs in the default form end with the slash it adds
        assert all(bioregistry.get_iri(prefix, x[:-1]) == ns + x for x in locals_), locals_
        locals_ = {x[:-1] for x in locals_}
    assert all(re.match(pattern, x) for x in locals_), [x for x in locals_ if not re.match(pattern, x)]


@pytest.mark.parametrize("prefix", project_prefixes())
def test_project_prefixes_are_free_in_bioregistry(prefix):
    assert bioregistry.normalize_prefix(prefix) is None, f"{prefix} is taken in Bioregistry"
    for resource in bioregistry.read_registry().values():
        names = {resource.prefix, *(resource.synonyms or []), *(resource.get_mappings() or {}).values()}
        assert prefix.lower() not in {n.lower() for n in names}, (
            f"{prefix} is a name of Bioregistry's {resource.prefix}"
        )


def test_old_project_prefix_tkg_is_taken_and_unused():
    assert bioregistry.normalize_prefix("tkg") == "tkg"  # Tohoku University cell-line catalogue
    assert "tkg" not in PREFIXES


def test_every_identifier_in_the_graph_is_under_a_prefix_of_the_map(dataset):
    stray = set()
    for q in dataset.quads():
        for term in (q.subject, q.predicate) + (() if q.predicate.value in DOCUMENT_LINKS else (q.object,)):
            if isinstance(term, ox.NamedNode) and not any(
                term.value.startswith(ns) for ns in [*PREFIXES.values(), *RESOLVERS.values()]
            ):
                stray.add(term.value)
    # the FHIR R5 element definitions the statistic model is aligned with: documents, mapped in the ontology
    stray = {s for s in stray if not s.startswith("http://hl7.org/fhir/R5/")}
    assert not stray, sorted(stray)[:10]


def test_old_iri_forms_are_gone(dataset):
    old = ("http://www.drugbank.ca/", "https://meshb.nlm.nih.gov/record/ui?ui=")
    hits = {
        t.value
        for q in dataset.quads()
        for t in (q.subject, q.object)
        if isinstance(t, ox.NamedNode) and t.value.startswith(old)
    }
    assert not hits, sorted(hits)


# ---- the same map everywhere -------------------------------------------------------------------


def test_jsonld_context_agrees_with_the_prefix_map():
    context = json.loads(resources.ontology_file("context.jsonld").read_text(encoding="utf-8"))["@context"]
    for key, value in context.items():
        ns = value.get("@id") if isinstance(value, dict) else value
        if isinstance(ns, str) and ns.endswith(("/", "#", "_")) and key in PREFIXES:
            assert PREFIXES[key] == ns, key
    for prefix in (
        "DRUGBANK",
        "MESH",
        "clinicaltrials",
        "pubmed",
        "pmc",
        PROJECT,
        *(f"{PROJECT}.{kind}" for kind in ("trial", "study", "publication", "journal")),
    ):
        assert prefix in context, f"{prefix} is missing from context.jsonld"


def test_sssom_curie_map_agrees_with_the_prefix_map():
    curie_map = mappings.packaged().metadata["curie_map"]
    assert isinstance(curie_map, dict)
    for prefix, ns in curie_map.items():
        assert PREFIXES[prefix] == ns, prefix


def test_xrefs_extract_uses_the_prefix_map_namespaces():
    (xrefs,) = [f for f in resources.ontology_files() if f.name == "xrefs.ttl"]
    same_as = "http://www.w3.org/2002/07/owl#sameAs"
    for t in ox.parse(xrefs.read_bytes(), format=ox.RdfFormat.TURTLE):
        records = ("DRUGBANK", "MESH", "WIKIDATA") + (
            ("NCIT", "CHEBI", "MONDO", "DOID") if t.predicate.value == same_as else ()
        )
        assert any(t.subject.value.startswith(PREFIXES[p]) for p in records), t.subject
        if t.predicate.value == same_as:  # the other IRIs of a record: a resolver's
            assert t.object.value.startswith(tuple(RESOLVERS.values())), t.object


def test_kgx_prefix_map_file_is_generated_from_kg_prefixes():
    shipped = json.loads(resources.ontology_file("kgx-prefix-map.json").read_text(encoding="utf-8"))
    assert shipped == kgx_prefix_map(), "regenerate: python -m kg.prefixes > ontology/kgx-prefix-map.json"
    for kgx_prefix, (ours, _lead) in KGX_PREFIXES.items():
        if ours in PREFIXES and ours not in project_prefixes() and ours != "biolink":
            canonical = bioregistry.normalize_prefix(kgx_prefix)
            assert canonical == bioregistry.normalize_prefix(ours), (kgx_prefix, ours)


# ---- the Bioregistry entry for trialkg --------------------------------------------------------


def entry() -> tuple[str, dict]:
    data = json.loads(resources.ontology_file("bioregistry-entry.json").read_text(encoding="utf-8"))
    ((prefix, fields),) = data.items()
    return prefix, fields


def test_bioregistry_entry_is_a_valid_resource_for_a_free_prefix():
    prefix, fields = entry()
    assert prefix == PROJECT
    assert bioregistry.normalize_prefix(prefix) is None
    resource = bioregistry.Resource(prefix=prefix, **fields)  # Bioregistry's own model of an entry
    assert resource.get_pattern() and resource.get_example()
    assert re.fullmatch(resource.get_pattern(), resource.get_example())
    assert fields["license"] == "CC-BY-4.0" and fields["keywords"] == sorted(fields["keywords"])
    for field in ("contact", "contributor", "reviewer"):  # people are the maintainers' to name
        assert field not in fields


def test_bioregistry_entry_expands_its_example_to_an_iri_of_the_graph(dataset):
    _prefix, fields = entry()
    iri = fields["uri_format"].replace("$1", fields["example"])
    assert iri == PREFIXES[PROJECT] + fields["example"]
    assert fields["rdf_uri_format"] == fields["uri_format"]
    subjects = {q.subject.value for q in dataset.quads() if isinstance(q.subject, ox.NamedNode)}
    assert iri in subjects


def test_bioregistry_entry_pattern_matches_every_term_of_the_ontology(dataset):
    _prefix, fields = entry()
    ns = PREFIXES[PROJECT]
    terms = {
        t.value[len(ns) :]
        for q in dataset.quads()
        for t in (q.subject, q.predicate, q.object)
        if isinstance(t, ox.NamedNode) and t.value.startswith(ns)
    }
    terms -= {"", __version__}  # the ontology's own IRI and its version IRI
    assert terms and all(re.fullmatch(fields["pattern"], t) for t in terms), sorted(
        t for t in terms if not re.fullmatch(fields["pattern"], t)
    )


def test_minted_kgx_prefixes_tell_every_namespace_apart_and_expand_back():
    """A prefix minted for a namespace the map lacks expands to that namespace alone: two namespaces a careless
    spelling would join (scheme, dot for slash, '#' end, a hash-like segment) get two prefixes."""
    from kg.prefixes import kgx_minted

    iris = [
        "https://example.org/t/x#a",
        "http://example.org/t/x/a",
        "https://example.org/t/x/a",
        "https://example.org.t/x/a",
        "https://example.org/t/x~1/a",
        "https://w3id.org/trialkg/synthetic/s-1/a",
        "https://w3id.org/trialkg/synthetic/s-1#a",
        "https://w3id.org/trialkg/ontology/x/a",
        "https://doi.org/10.1016/S0140-6736(13)62290-6",  # a Lancet DOI as a publication's IRI: brackets KGX reads
        "urn:isbn:0451450523",
    ]
    found = {}
    for iri in iris:
        minted = kgx_minted(iri)
        assert minted is not None, iri
        prefix, namespace = minted
        assert iri.startswith(namespace) and ":" not in prefix and " " not in prefix, (iri, minted)
        assert found.setdefault(prefix, namespace) == namespace, (prefix, namespace, found[prefix])
    assert len(found) == len(iris)
    assert kgx_minted("https://example.org/studies/x/") is None  # no local part: no CURIE names it
