"""Dumps real loaders read as written: Turtle without escapes, JSON-LD a 1.0 reader takes.

- Every Turtle output (``kg build``'s ``trialkg.ttl`` and ``void.ttl``, streamed or not, the static
  site's and ``kg serve``'s per-resource ``.ttl`` and VoID, ``kg export --format void``) writes no
  backslash escape outside string literals: Turtle allows ``DOI:10.1007\\/s12185...``, but Virtuoso's
  bulk loader keeps the backslash in the IRI. The slow test loads every one of those Turtle files
  with Virtuoso's own bulk loader (``ld_dir`` + ``rdf_loader_run``) and compares each graph with the
  N-Quads / N-Triples of the same data, term for term (numbers by value).
- ``kg export --format jsonld-1.0`` is read by a real JSON-LD 1.0 processor, jsonld-java as Debian's
  Jena 4.5 runs it (``Lang.JSONLD10``), into exactly the graph's triples; the 1.1 export is refused
  by it (the reason the 1.0 export exists).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.build import build
from kg.dataset import Dataset
from kg.export import WRITERS, context_1_0

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stores  # noqa: E402

#: a Turtle string literal (long or short form), whose escapes are the literal's own
STRING = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\''
)
IRI_REF = re.compile(r"<[^>\s]*>")


def escapes_outside_strings(turtle: str) -> list[str]:
    """Backslashes in a Turtle document that are not inside a string literal or an IRI, with their context."""
    bare = IRI_REF.sub("<>", STRING.sub('""', turtle))
    return [bare[max(0, m.start() - 30) : m.end() + 10] for m in re.finditer(r"\\", bare)]


def test_the_escape_finder_finds_the_old_dumps_escapes():
    old = '@prefix DOI: <https://doi.org/> .\n<x> <y> DOI:10.1007\\/s12185-018-2448-9 , "a \\"quoted\\" \\\\ text" .'
    assert len(escapes_outside_strings(old)) == 1


@pytest.fixture(scope="module")
def built(dataset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    build(dataset, out)
    return out


@pytest.fixture(scope="module")
def site(dataset, tmp_path_factory) -> Path:
    from kg.web.publish import publish

    out = tmp_path_factory.mktemp("site") / "site"
    publish(out, dataset)
    return out


def test_build_and_void_turtle_have_no_escapes(built, dataset):
    for name in ("trialkg.ttl", "void.ttl"):
        text = (built / name).read_text(encoding="utf-8")
        assert not escapes_outside_strings(text), (name, escapes_outside_strings(text)[:3])
    assert "<https://doi.org/10.1007/s12185-018-2448-9>" in (built / "trialkg.ttl").read_text()
    assert not escapes_outside_strings(WRITERS["void"]["void.ttl"](dataset).decode())


def test_streamed_build_turtle_has_no_escapes(tmp_path):
    from kg import sources as src

    deferred = Dataset.build(src.packaged_publications(), defer=True)
    assert deferred.deferred is not None
    build(deferred, tmp_path)
    text = (tmp_path / "trialkg.ttl").read_text(encoding="utf-8")
    assert not escapes_outside_strings(text), escapes_outside_strings(text)[:3]
    assert "<https://doi.org/10.3346/jkms.2013.28.1.80>" in text
    # the prefixes no IRI needs an escape under are still used
    assert "@prefix NCIT:" in text and "NCIT:C1851" in text


@pytest.mark.slow  # writes a whole site
def test_every_site_and_served_turtle_document_has_no_escapes(site):
    files = sorted(site.rglob("*.ttl"))
    assert len(files) > 50
    bad = {str(f.relative_to(site)): escapes_outside_strings(f.read_text(encoding="utf-8"))[:2] for f in files}
    assert not {k: v for k, v in bad.items() if v}
    # kg serve answers each .ttl with Site.rdf (the same call the static site's files come from)
    from kg.web.site import Site

    served = Site(Dataset.build())
    for iri in served.resources():
        text = served.rdf(iri, "text/turtle").decode("utf-8")
        assert not escapes_outside_strings(text), iri


# ---- Virtuoso's bulk loader -----------------------------------------------------------------------

GRAPH = "urn:trialkg:turtle-dump:"


def _expected(built: Path, site: Path) -> dict[str, tuple[Path, list[ox.Triple]]]:
    """Each Turtle file to load, with the triples it must give: from the N-Quads or N-Triples of the same data."""
    merged = {q.triple for q in ox.parse(path=str(built / "trialkg.nq"), format=ox.RdfFormat.N_QUADS)}
    out = {
        "trialkg.ttl": (built / "trialkg.ttl", sorted(merged, key=str)),
        "void.ttl": (built / "void.ttl", list(ox.parse(path=str(built / "void.ttl"), format=ox.RdfFormat.TURTLE))),
    }
    for ttl in sorted(site.rglob("*.ttl")):
        rel = ttl.relative_to(site).as_posix()
        nt = ttl.with_suffix(".nt")
        same = nt if nt.exists() else ttl  # void.ttl has no N-Triples twin: oxigraph's reading of it
        fmt = ox.RdfFormat.N_TRIPLES if nt.exists() else ox.RdfFormat.TURTLE
        out["site/" + rel] = (ttl, list(ox.parse(path=str(same), format=fmt)))
    return out


BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"


def _key(term) -> tuple:
    """A term compared by value: numbers as stores._term_key does, booleans too (Virtuoso answers true as "1")."""
    if isinstance(term, ox.Literal) and term.datatype is not None and term.datatype.value == BOOLEAN:
        return ("boolean", term.value.strip() in ("true", "1"))
    return stores._term_key(term)


@pytest.mark.slow
@pytest.mark.stores
def test_virtuoso_bulk_loader_reads_every_turtle_dump_as_the_nquads_say(built, site, tmp_path_factory):
    with stores.running_virtuoso(tmp_path_factory.mktemp("virtuoso-ttl"), "trialkg-ttl-dba") as server:
        expected = _expected(built, site)
        folder = server.dir / "ttl"
        folder.mkdir()
        names = {}
        for i, (name, (path, _triples)) in enumerate(sorted(expected.items())):
            target = folder / f"f{i:05d}.ttl"
            target.write_bytes(path.read_bytes())
            (folder / f"f{i:05d}.ttl.graph").write_text(GRAPH + name)  # the bulk loader's per-file graph
            names[GRAPH + name] = name
        server.isql(f"ld_dir('{folder}', '*.ttl', 'urn:trialkg:unused');\nrdf_loader_run();\ncheckpoint;")
        errors = server.isql("SELECT ll_file, ll_error FROM DB.DBA.LOAD_LIST WHERE ll_error IS NOT NULL;")
        assert not errors.strip(), errors[:500]
        _variables, rows = stores.rows_of_json(
            server.select(
                f'SELECT ?g ?s ?p ?o WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), "{GRAPH}")) }}',
                timeout=300,
            )
        )
        got: dict[str, list[tuple]] = {}
        for r in rows:
            got.setdefault(names[r["g"].value], []).append((_key(r["s"]), _key(r["p"]), _key(r["o"])))
        assert set(got) == set(expected), sorted(set(expected) - set(got))[:5]
        for name, (_path, triples) in expected.items():
            want = sorted((_key(t.subject), _key(t.predicate), _key(t.object)) for t in triples)
            assert sorted(got[name]) == want, f"{name}: Virtuoso's bulk loader read {len(got[name])} triples, " + (
                f"{len(want)} expected; e.g. {sorted(set(got[name]) - set(want))[:2]}"
            )
        backslashed = [r for r in rows if any("\\" in getattr(r[v], "value", "") for v in "sp") or "\\" in r["o"].value]
        assert not backslashed, backslashed[:3]


# ---- JSON-LD 1.0 ----------------------------------------------------------------------------------


def test_the_1_0_context_has_no_1_1_keywords():
    ctx = context_1_0()["@context"]
    assert "@version" not in ctx
    assert not [t for t, d in ctx.items() if isinstance(d, dict) and ("@prefix" in d or "@protected" in d)]
    assert ctx["DOI"] == "https://doi.org/" and "NCIT" not in ctx  # an OBO namespace ends in "_": no 1.0/1.1 prefix


def test_the_1_0_export_reads_as_the_graph_in_a_1_1_processor_too(dataset):
    import rdflib

    doc = WRITERS["jsonld-1.0"]["trialkg-1.0.jsonld"](dataset)
    g = rdflib.Graph().parse(data=doc, format="json-ld")
    assert len(g) == len({q.triple for q in dataset.quads()})
    assert (
        rdflib.URIRef("https://w3id.org/trialkg/trial/isoda-2018"),
        rdflib.URIRef("https://w3id.org/trialkg/ontology/trialPhase"),
        rdflib.URIRef("http://purl.obolibrary.org/obo/NCIT_C15601"),
    ) in g


READ_JSONLD_10 = r"""
import org.apache.jena.riot.*;
import org.apache.jena.sparql.core.DatasetGraph;
import org.apache.jena.sparql.core.DatasetGraphFactory;
public class ReadJsonLd10 {
    public static void main(String[] a) {
        DatasetGraph dsg = DatasetGraphFactory.create();
        RDFParser.source(a[0]).forceLang(Lang.JSONLD10).parse(dsg);
        RDFDataMgr.write(System.out, dsg, Lang.NQUADS);
    }
}
"""


def _jena_jsonld_10(path: Path, work: Path) -> subprocess.CompletedProcess:
    source = work / "ReadJsonLd10.java"
    source.write_text(READ_JSONLD_10)
    classpath = stores.jena_classpath(work / "cache")
    return subprocess.run(
        ["java", "-cp", classpath, str(source), str(path)], capture_output=True, text=True, timeout=300
    )


def _no_blank(triples) -> set:
    return {
        (_key(t.subject), _key(t.predicate), _key(t.object))
        for t in triples
        if not isinstance(t.subject, ox.BlankNode) and not isinstance(t.object, ox.BlankNode)
    }


@pytest.mark.slow
def test_jena_json_ld_1_0_reader_reads_the_1_0_export_as_the_graph(dataset, tmp_path):
    why = stores.jena_missing()
    if why:
        pytest.skip(why)
    path = tmp_path / "trialkg-1.0.jsonld"
    path.write_bytes(WRITERS["jsonld-1.0"]["trialkg-1.0.jsonld"](dataset))
    r = _jena_jsonld_10(path, tmp_path)
    assert r.returncode == 0, r.stderr[-800:]
    read = [q.triple for q in ox.parse(r.stdout.encode(), format=ox.RdfFormat.N_QUADS)]
    graph = {q.triple for q in dataset.quads()}
    assert len(read) == len(graph)
    assert _no_blank(read) == _no_blank(graph)
    # the 1.1 export is what a 1.0 reader refuses: the reason this export exists
    old = tmp_path / "trialkg.jsonld"
    old.write_bytes(WRITERS["jsonld"]["trialkg.jsonld"](dataset))
    refused = _jena_jsonld_10(old, tmp_path)
    assert refused.returncode != 0 and "1.1" in refused.stderr
