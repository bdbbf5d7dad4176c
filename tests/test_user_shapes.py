"""Users' own shapes (``kg validate --shapes FILE``), severities, and the compiled engine's refusals.

A journal's reporting checklist is the example: every statistic reports its confidence
interval (a Violation), and a p-value is preferably exact (a Warning). Both engines must
report the same results. The compiled engine refuses, by name and before it validates
anything, every feature it does not implement, wherever the feature appears: one test
per kind of refusal.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from kg import sources as src
from kg.errors import UnsupportedShape
from kg.rdf import value
from kg.validate import validate

PREFIXES = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix trialkg: <https://w3id.org/trialkg/ontology/> .
@prefix ex: <https://example.org/checklist/> .
"""

CHECKLIST = (
    PREFIXES
    + """
ex:EveryStatisticHasAConfidenceInterval a sh:NodeShape ;
    sh:targetClass trialkg:Statistic ;
    sh:property [
        sh:path trialkg:attributeEstimate ;
        sh:qualifiedValueShape [ sh:class trialkg:ConfidenceInterval ] ;
        sh:qualifiedMinCount 1 ;
        sh:message "Journal checklist: every statistic reports its confidence interval." ;
    ] .

ex:PValuesAreExact a sh:NodeShape ;
    sh:targetClass trialkg:PValue ;
    sh:property [
        sh:path trialkg:comparator ;
        sh:in ( "=" ) ;
        sh:severity sh:Warning ;
        sh:message "Journal checklist: give the exact p-value, not a bound." ;
    ] .
"""
)


def shapes_file(tmp_path, text: str, name: str = "checklist.ttl"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _key(report):
    return {(v.source, v.focus, v.path, v.message, v.value, v.severity) for v in report.violations}


def _checklist(tmp_path, engine: str):
    return validate(src.packaged_publications(), engine=engine, shapes=[src.read(shapes_file(tmp_path, CHECKLIST))])


def test_journal_checklist_beside_the_packaged_shapes(tmp_path):
    report = _checklist(tmp_path, "oxigraph")
    assert not report.conforms
    missing = [v for v in report.violations if "confidence interval" in v.message]
    assert missing and all(v.severity == "Violation" and v.path == "trialkg:attributeEstimate" for v in missing)
    # a statistic with its interval is not reported: the abstract's PFS median has one
    assert not any(v.focus == "trialkg.trial:isoda-2018/pfs-from-induction-abstract" for v in missing)
    assert any(v.focus == "trialkg.trial:isoda-2018/orr" for v in missing)
    warnings = [v for v in report.violations if v.severity == "Warning"]
    assert [(w.source.rsplit("/", 1)[-1], w.value) for w in warnings] == [("lee-2013.ttl", "<")]
    lee = (Path(__file__).resolve().parent.parent / "trials" / "lee-2013.ttl").read_text(encoding="utf-8")
    line = lee.splitlines().index(next(x for x in lee.splitlines() if x.startswith("study:pfs-3y-comparison-p "))) + 1
    assert (
        f"lee-2013.ttl:{line}: warning: trialkg.study:lee-2013/pfs-3y-comparison-p trialkg:comparator: Journal"
        in report.text()
    )
    # the packaged shapes still run beside the user's: the packaged data conforms to them
    assert all("Journal checklist" in v.message for v in report.violations)


@pytest.mark.slow
def test_journal_checklist_gives_the_same_results_in_both_engines(tmp_path):
    fast, reference = _checklist(tmp_path, "oxigraph"), _checklist(tmp_path, "pyshacl")
    assert fast.conforms == reference.conforms is False
    assert _key(fast) == _key(reference)
    assert len(_key(fast)) > 10


def test_a_subclass_one_file_declares_is_checked_after_a_file_without_it(tmp_path):
    """The checks compiled from a shapes file are kept for the next validation in the process (a server's loads, a
    curator's session), and remade where the data has other subclasses of the classes the shapes name: a file
    that declares one is checked through it, whatever was validated before."""
    shapes = src.read(
        shapes_file(
            tmp_path,
            PREFIXES
            + """
ex:EveryThingIsNamed a sh:NodeShape ;
    sh:targetClass ex:Thing ;
    sh:property [ sh:path rdfs:label ; sh:minCount 1 ; sh:message "Checklist: every thing is named." ] .
""",
        )
    )
    plain, declaring = tmp_path / "plain.ttl", tmp_path / "declaring.ttl"
    plain.write_text(PREFIXES + "ex:a a ex:Thing .\n", encoding="utf-8")
    declaring.write_text(PREFIXES + "ex:Part rdfs:subClassOf ex:Thing .\nex:b a ex:Part .\n", encoding="utf-8")

    def unnamed(path: Path) -> set[str]:
        report = validate([src.read(path)], shapes=[shapes], packaged_shapes=False)
        return {v.focus for v in report.violations if v.message == "Checklist: every thing is named."}

    assert unnamed(plain) == {"https://example.org/checklist/a"}
    assert unnamed(declaring) == {"https://example.org/checklist/b"}  # not the checks compiled for plain.ttl
    assert unnamed(plain) == {"https://example.org/checklist/a"}


@pytest.mark.slow
def test_cli_shapes_only_in_both_engines(kg, tmp_path):
    """``--shapes-only`` checks the user's file alone; both engines print the same lines and exit 1."""
    path = shapes_file(tmp_path, CHECKLIST)
    outputs = []
    for engine in ("oxigraph", "pyshacl"):
        r = kg("validate", "--shapes", str(path), "--shapes-only", "--engine", engine)
        assert r.returncode == 1, r.stdout + r.stderr
        assert "Journal checklist: every statistic reports its confidence interval." in r.stdout
        outputs.append(sorted(r.stdout.splitlines()))
    assert outputs[0] == outputs[1]


def test_cli_warnings_do_not_fail_the_check(kg, tmp_path):
    """A result of severity sh:Warning is printed as a warning, and the exit status stays 0."""
    text = CHECKLIST[: CHECKLIST.index("ex:EveryStatistic")] + CHECKLIST[CHECKLIST.index("ex:PValuesAreExact") :]
    r = kg("validate", "--shapes", str(shapes_file(tmp_path, text)))
    assert r.returncode == 0, r.stdout + r.stderr
    assert (
        "warning: trialkg.study:lee-2013/pfs-3y-comparison-p trialkg:comparator: Journal checklist: give the exact p-value, not a bound. (value: <)"
        in r.stdout
    )
    assert "file(s), no violations, 1 warning(s)" in r.stdout.splitlines()[-1]


def test_cli_shapes_file_with_a_syntax_error_names_file_line_column(kg, tmp_path):
    path = shapes_file(
        tmp_path, PREFIXES + "ex:S a sh:NodeShape ;\n    sh:targetClass trialkg:Statistic\n    sh:minCount 1 .\n"
    )
    r = kg("validate", "--shapes", str(path))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0, r.stderr
    assert f"{path}:10:" in r.stderr and "Turtle syntax error" in r.stderr


@pytest.mark.slow
def test_cli_refuses_an_unsupported_feature_in_one_line_and_pyshacl_runs_it(kg, tmp_path):
    """The compiled engine names the feature and suggests --engine pyshacl (exit 2); pyshacl validates."""
    text = PREFIXES + (
        "ex:S a sh:NodeShape ; sh:targetClass trialkg:Statistic ;\n"
        "    sh:property [ sh:path trialkg:unit ; sh:datatype xsd:int ] .\n"
    )
    path = shapes_file(tmp_path, text)
    r = kg("validate", "--shapes", str(path), "--shapes-only")
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.strip().count("\n") == 0, r.stderr
    assert "sh:datatype xsd:int" in r.stderr and "use --engine pyshacl" in r.stderr
    assert r.stdout == ""
    r = kg("validate", "--shapes", str(path), "--shapes-only", "--engine", "pyshacl")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "trialkg:unit" in r.stdout


def test_cli_missing_shapes_file_and_shapes_only_without_shapes(kg, tmp_path):
    r = kg("validate", "--shapes", str(tmp_path / "nowhere.ttl"))
    assert r.returncode == 2 and "nowhere.ttl" in r.stderr and r.stderr.strip().count("\n") == 0
    r = kg("validate", "--shapes-only")
    assert r.returncode == 2 and "--shapes" in r.stderr


# ---------------------------------------------------------------- one test per kind of refusal

SHAPE = "ex:S a sh:NodeShape ; sh:targetClass trialkg:Statistic ;\n"

#: (kind, shapes, words the refusal names)
REFUSALS = [
    (
        "custom-constraint-component",
        SHAPE
        + """ ex:lang "en" .
ex:LangComponent a sh:ConstraintComponent ;
    sh:parameter [ sh:path ex:lang ] ;
    sh:validator [ a sh:SPARQLAskValidator ; sh:ask "ASK { FILTER(langMatches(lang($value), $lang)) }" ] .""",
        "custom constraint components",
    ),
    (
        "shacl-af-rule",
        SHAPE + " sh:rule [ a sh:TripleRule ; sh:subject sh:this ; sh:predicate ex:p ; sh:object 1 ] .",
        "sh:rule",
    ),
    (
        "shacl-af-target",
        'ex:S a sh:NodeShape ; sh:target [ a sh:SPARQLTarget ; sh:select "SELECT ?this {}" ] .',
        "sh:target",
    ),
    (
        "owl-imports",
        "<https://example.org/checklist> owl:imports <https://example.org/other-shapes> .\n"
        + SHAPE
        + " sh:nodeKind sh:IRI .",
        "owl:imports",
    ),
    (
        "recursive-shape",
        SHAPE + " sh:node ex:T .\nex:T sh:property [ sh:path trialkg:population ; sh:node ex:T ] .",
        "recursive shape",
    ),
    (
        "blank-node-constant",
        SHAPE + " sh:property [ sh:path trialkg:unit ; sh:hasValue _:unit ] .",
        "a blank node as sh:hasValue",
    ),
    (
        "shapes-graph-variable",
        SHAPE + ' sh:sparql [ sh:select "SELECT $this WHERE { GRAPH $shapesGraph { ?s ?p ?o } }" ] .',
        "$shapesGraph",
    ),
    (
        "sparql-minus",
        SHAPE + ' sh:sparql [ sh:select "SELECT $this WHERE { $this ?p ?o MINUS { $this a ?c } }" ] .',
        "MINUS",
    ),
    ("sparql-values", SHAPE + ' sh:sparql [ sh:select "SELECT $this WHERE { VALUES ?x { 1 } }" ] .', "VALUES"),
    (
        "sparql-service",
        SHAPE + ' sh:sparql [ sh:select "SELECT $this WHERE { SERVICE <http://x/> { ?s ?p ?o } }" ] .',
        "SERVICE",
    ),
    ("sparql-rebinds-this", SHAPE + ' sh:sparql [ sh:select "SELECT $this WHERE { BIND(1 AS $this) }" ] .', "AS $this"),
    (
        "sparql-subquery-without-this",
        SHAPE + ' sh:sparql [ sh:select "SELECT $this WHERE { $this ?p ?o { SELECT ?o WHERE { ?o ?q ?r } } }" ] .',
        "sub-query that does not project $this",
    ),
    (
        "datatype-the-store-rewrites",
        SHAPE + " sh:property [ sh:path trialkg:value ; sh:datatype xsd:byte ] .",
        "sh:datatype xsd:byte",
    ),
    (
        "datatype-not-checked",
        SHAPE + " sh:property [ sh:path trialkg:value ; sh:datatype xsd:NCName ] .",
        "sh:datatype xsd:NCName",
    ),
    (
        "regex-oxigraph-rejects",
        SHAPE + ' sh:property [ sh:path rdfs:label ; sh:pattern "[a-z-[aeiou]]" ] .',
        "sh:pattern",
    ),
    (
        "several-qualified-value-shapes",
        SHAPE
        + " sh:property [ sh:path trialkg:unit ; sh:qualifiedValueShape [ sh:nodeKind sh:IRI ], [ sh:nodeKind sh:Literal ] ; sh:qualifiedMinCount 1 ] .",
        "more than one sh:qualifiedValueShape",
    ),
    ("unknown-shacl-word", SHAPE + " sh:minCOunt 1 .", "sh:minCOunt"),
    (
        "ill-formed-count",
        SHAPE + ' sh:property [ sh:path trialkg:unit ; sh:minCount "one" ] .',
        "ill-formed: sh:minCount",
    ),
    (
        "ill-formed-path",
        SHAPE
        + " sh:property [ sh:path [ sh:inversePath trialkg:unit ; sh:zeroOrMorePath trialkg:unit ] ; sh:minCount 1 ] .",
        "ill-formed: sh:path",
    ),
    ("count-on-a-node-shape", SHAPE + " sh:minCount 1 .", "ill-formed: sh:minCount on a node shape"),
    (
        "path-variable-in-a-node-shape",
        SHAPE + ' sh:sparql [ sh:select "SELECT $this WHERE { $this $PATH ?v }" ] .',
        "$PATH",
    ),
    (
        "lexical-constraint-on-a-rewritten-target-literal",
        'ex:S sh:targetNode "4.0"^^xsd:decimal ; sh:pattern "^4\\\\.0$" .',
        "sh:pattern on a target literal",
    ),
]


def _compile(text: str):
    from kg.shacl_compile import compile_shapes

    return compile_shapes(src.triples(src.Source(name="shapes.ttl", slug="shapes", data=(PREFIXES + text).encode())))


@pytest.mark.parametrize("kind,text,words", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_compiled_engine_refuses_by_name(kind, text, words):
    with pytest.raises(UnsupportedShape) as refused:
        _compile(text)
    message = str(refused.value)
    assert words in message, message
    assert "\n" not in message
    assert "use --engine pyshacl" in message or "ill-formed" in message


# A word the compiled engine does not know, in a shape, is refused wherever the shape is:
# untargeted, deactivated, only implicitly a shape, nested in a property shape, reached only
# through sh:or. (A misspelt parameter would otherwise be a constraint silently not checked.)
HIDDEN = [
    ("untargeted", "ex:T a sh:NodeShape ; sh:minCOunt 1 ."),
    ("deactivated", "ex:T a sh:NodeShape ; sh:targetClass trialkg:Statistic ; sh:deactivated true ; sh:minCOunt 1 ."),
    ("property-shape-with-targets-only", "ex:T sh:targetNode ex:x ; sh:path ex:p ; sh:minCOunt 1 ."),
    ("implicit-class-target", "ex:C a rdfs:Class, sh:NodeShape ; sh:minCOunt 1 ."),
    ("target-subjects-of", "ex:T sh:targetSubjectsOf ex:p ; sh:minCOunt 1 ."),
    (
        "nested-property",
        "ex:T sh:targetNode ex:x ; sh:property [ sh:path ex:p ; sh:property [ sh:path ex:q ; sh:minCOunt 1 ] ] .",
    ),
    ("inside-or", "ex:T sh:targetNode ex:x ; sh:or ( [ sh:nodeKind sh:IRI ] [ sh:class ex:C ; sh:minCOunt 1 ] ) ."),
    (
        "qualified-value-shape",
        "ex:T sh:targetNode ex:x ; sh:property [ sh:path ex:p ; sh:qualifiedMinCount 1 ; sh:qualifiedValueShape [ sh:class ex:C ; sh:minCOunt 1 ] ] .",
    ),
]


@pytest.mark.parametrize("kind,text", HIDDEN, ids=[h[0] for h in HIDDEN])
def test_unknown_words_are_refused_wherever_the_shape_is(kind, text):
    with pytest.raises(UnsupportedShape, match="sh:minCOunt is not supported by the compiled SHACL engine"):
        _compile(text)


@pytest.mark.parametrize("word", ["values", "expression", "rule", "target", "condition"])
def test_advanced_features_are_refused_on_any_node(word):
    """SHACL-AF words are refused even on a node that is not a shape by SHACL Core's definition."""
    with pytest.raises(UnsupportedShape, match=f"sh:{word}"):
        _compile(f"ex:C a rdfs:Class ; sh:{word} ex:x .")


def test_what_the_engine_implements_is_not_refused():
    """Every SHACL Core component, every path kind, severities and sh:flags compile."""
    text = """
ex:S a sh:NodeShape ; sh:targetClass trialkg:Statistic ; sh:targetNode ex:x ; sh:targetSubjectsOf ex:p ;
    sh:targetObjectsOf ex:p ; sh:severity sh:Info ; sh:nodeKind sh:BlankNodeOrLiteral ; sh:closed false ;
    sh:class ex:A, ex:B ; sh:not [ sh:datatype xsd:string ] ; sh:xone ( [ sh:class ex:A ] [ sh:class ex:B ] ) ;
    sh:property [ sh:path ( ex:p [ sh:inversePath ex:q ] [ sh:zeroOrMorePath ex:r ] [ sh:alternativePath ( ex:s ex:t ) ] ) ;
        sh:minCount 2 ; sh:maxCount 3 ; sh:uniqueLang true ; sh:languageIn ( "en" "de" ) ; sh:lessThan ex:u ;
        sh:equals ex:v ; sh:disjoint ex:w ; sh:pattern "^a" ; sh:flags "i" ; sh:minLength 1 ; sh:maxLength 9 ;
        sh:datatype xsd:date ; sh:minInclusive "2000-01-01"^^xsd:date ; sh:in ( "a" "b" ) ; sh:hasValue "a" ;
        sh:qualifiedValueShape [ sh:nodeKind sh:IRI ] ; sh:qualifiedMinCount 1 ; sh:qualifiedMaxCount 2 ;
        sh:property [ sh:path [ sh:oneOrMorePath ex:p ] ; sh:severity sh:Warning ; sh:node ex:N ] ;
        sh:sparql [ sh:select "SELECT $this ?value WHERE { $this $PATH ?value FILTER(!isIRI(?value)) }" ] ] .
ex:N a sh:NodeShape ; sh:targetNode ex:y ; sh:closed true ; sh:ignoredProperties ( ex:p ) ; sh:property [ sh:path ex:q ; sh:maxCount 0 ] ;
    sh:and ( [ sh:nodeKind sh:IRI ] [ sh:or ( [ sh:hasValue ex:a ] [ sh:hasValue ex:b ] ) ] ) .
"""
    checks = _compile(text)
    components = {c.component.rsplit("#", 1)[-1].removesuffix("ConstraintComponent") for c in checks}
    assert components == set(
        """Class Not Xone NodeKind MinCount MaxCount UniqueLang LanguageIn LessThan Equals Disjoint Pattern
        MinLength MaxLength Datatype MinInclusive In HasValue QualifiedMinCount QualifiedMaxCount SPARQL Node
        Closed And""".split()
    )
    assert {c.severity.rsplit("#", 1)[-1] for c in checks} == {"Info", "Violation", "Warning"}


def test_compiled_and_pyshacl_agree_on_severities_and_nested_shapes():
    """Nested property shapes report with their own severity, in both engines alike."""
    import pyshacl
    import rdflib

    from kg.shacl_compile import Graph
    from kg.shacl_compile import validate as check

    data = """@prefix ex: <https://example.org/checklist/> .
ex:a ex:p ex:b , ex:c . ex:b ex:q "x" . ex:c ex:q "x"@en , "y"@en ."""
    shapes = (
        PREFIXES
        + """
ex:S sh:targetNode ex:a ; sh:property [ sh:path ex:p ; sh:severity sh:Info ; sh:minCount 3 ;
    sh:property [ sh:path ex:q ; sh:uniqueLang true ; sh:severity sh:Warning ;
        sh:datatype <http://www.w3.org/1999/02/22-rdf-syntax-ns#langString> ] ] ."""
    )
    data_triples = list(ox.parse(data.encode(), format=ox.RdfFormat.TURTLE))
    shape_triples = list(ox.parse(shapes.encode(), format=ox.RdfFormat.TURTLE))
    store = ox.Store()
    store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in data_triples)
    fast = {
        (r.focus.value, value(r.path), r.value.value if r.value else None, r.component, r.severity)
        for r in check(store, Graph(shape_triples))
    }
    _, report, _ = pyshacl.validate(src.rdflib_graph(data_triples), shacl_graph=src.rdflib_graph(shape_triples))
    sh = rdflib.Namespace("http://www.w3.org/ns/shacl#")
    reference = {
        tuple(
            str(report.value(r, sh[k])) if report.value(r, sh[k]) is not None else None
            for k in ("focusNode", "resultPath", "value", "sourceConstraintComponent", "resultSeverity")
        )
        for r in report.objects(None, sh.result)
    }
    ex, shacl = "https://example.org/checklist/", "http://www.w3.org/ns/shacl#"
    assert (
        fast
        == reference
        == {
            (ex + "a", ex + "p", None, shacl + "MinCountConstraintComponent", shacl + "Info"),
            (ex + "b", ex + "q", "x", shacl + "DatatypeConstraintComponent", shacl + "Warning"),
            (ex + "c", ex + "q", None, shacl + "UniqueLangConstraintComponent", shacl + "Warning"),
        }
    )
