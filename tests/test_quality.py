"""The codebase keeps its shape: lint, types, the import contract, one Turtle parser, one SPARQL runner."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kg.prefixes import PREFIXES

ROOT = Path(__file__).resolve().parent.parent
KG = ROOT / "kg"
CORE = {"sources.py", "dataset.py"}  # the only modules that parse Turtle


def _tool(name: str) -> str:
    exe = Path(sys.executable).with_name(name)
    found = str(exe) if exe.exists() else shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed (pip install '.[test]' installs it)")
    return found


def test_ruff_is_clean():
    r = subprocess.run([_tool("ruff"), "check", "kg", "tests", "benchmarks"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_format_is_applied():
    """Every file is as `ruff format` writes it, so a diff shows changes of meaning only."""
    r = subprocess.run(
        [_tool("ruff"), "format", "--check", "kg", "tests", "benchmarks"], cwd=ROOT, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.slow
def test_mypy_is_clean():
    r = subprocess.run([_tool("mypy")], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr


def test_import_contract_holds():
    """Layers import downward only (pyproject.toml's import-linter contracts), so no import circle."""
    r = subprocess.run(
        [_tool("lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "broken" not in r.stdout.split("Contracts:")[-1].replace("0 broken", "")


def _parses_turtle(tree: ast.AST) -> list[int]:
    """Lines that parse or load RDF in Turtle (pyoxigraph's parse/load, rdflib's parse)."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("parse", "load"):
            text = ast.unparse(node)
            if "TURTLE" in text or "turtle" in text or "ttl" in text:
                lines.append(node.lineno)
    return lines


def test_only_the_core_parses_turtle():
    offenders = {}
    for path in KG.rglob("*.py"):
        if path.name in CORE and path.parent == KG:
            continue
        lines = _parses_turtle(ast.parse(path.read_text(encoding="utf-8")))
        if lines:
            offenders[str(path.relative_to(ROOT))] = lines
    assert offenders == {}, "Turtle is parsed only in kg/sources.py and kg/dataset.py"
    assert _parses_turtle(ast.parse((KG / "dataset.py").read_text())), "the check finds the core's own parser"


#: where a query runs outside the one runner: rdflib's own engine (kg query --engine rdflib, pyshacl's queries)
RDFLIB_ENGINE = {("kg/query/execute.py", "on_rdflib"), ("kg/validate.py", "query")}


def _runs_sparql(tree: ast.AST, within: str = "") -> list[tuple[str, int]]:
    """Calls that run a SPARQL query themselves (``X.query(...)``, ``X.query_opened(...)``), each with its function."""
    found = []
    for node in ast.iter_child_nodes(tree):
        name = node.name if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else within
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("query", "query_opened"):
                found.append((within, node.lineno))
        found += _runs_sparql(node, name)
    return found


def test_only_the_runner_runs_sparql():
    """Every query (pages, endpoint, loads, validation, kg query) goes through kg/sparql.py, or rdflib's own engine."""
    offenders = {}
    for path in KG.rglob("*.py"):
        rel = str(path.relative_to(ROOT))
        if rel in ("kg/sparql.py", "kg/http.py"):  # the runner, and the HTTP client it sends queries with
            continue
        calls = [
            (f, line)
            for f, line in _runs_sparql(ast.parse(path.read_text(encoding="utf-8")))
            if (rel, f) not in RDFLIB_ENGINE
        ]
        if calls:
            offenders[rel] = calls
    assert offenders == {}, "run queries through kg.sparql (local, select, remote, remote_stream)"
    assert _runs_sparql(ast.parse((KG / "sparql.py").read_text())), "the check finds the runner's own calls"


def _renames(tree: ast.AST) -> list[int]:
    """Lines that rename files or folders: ``os.rename/replace/renames(a, b)``, a path's ``.rename(b)`` / ``.replace(b)``."""
    lines = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in ("rename", "replace", "renames", "renameat2"):
            continue
        on_os = isinstance(node.func.value, ast.Name) and node.func.value.id == "os"
        if on_os or len(node.args) == 1 or node.func.attr == "renameat2":  # str.replace takes two arguments
            lines.append(node.lineno)
    return lines


def test_only_the_atomic_writer_renames():
    """Files and folders are put in place by kg/outputs.py alone (AtomicFiles, swap_folder, move, rename_noreplace)."""
    offenders = {}
    for path in KG.rglob("*.py"):
        if path == KG / "outputs.py":
            continue
        lines = _renames(ast.parse(path.read_text(encoding="utf-8")))
        if lines:
            offenders[str(path.relative_to(ROOT))] = lines
    assert offenders == {}, "put outputs in place through kg.outputs"
    assert _renames(ast.parse((KG / "outputs.py").read_text())), "the check finds the writer's own renames"


BASE_NAMES = {"base", "BASE"}


def _builds_iris(tree: ast.AST) -> list[int]:
    """Lines that make an IRI by appending to a base: ``base + "..."``, ``f"{base}..."`` (also ``self.base``)."""

    def is_base(node: ast.AST) -> bool:
        return (isinstance(node, ast.Name) and node.id in BASE_NAMES) or (
            isinstance(node, ast.Attribute) and node.attr in BASE_NAMES
        )

    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and is_base(node.left):
            lines.append(node.lineno)
        elif isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            if isinstance(first, ast.FormattedValue) and is_base(first.value):
                lines.append(node.lineno)
    return lines


def test_only_the_iri_builder_appends_to_a_base():
    """Every IRI under a base is made by kg.prefixes (data_iri, rebase), so ``--base`` reaches every one."""
    offenders = {}
    for path in KG.rglob("*.py"):
        if path == KG / "prefixes.py":
            continue
        lines = _builds_iris(ast.parse(path.read_text(encoding="utf-8")))
        if lines:
            offenders[str(path.relative_to(ROOT))] = lines
    assert offenders == {}, "make IRIs with kg.prefixes.data_iri"
    assert _builds_iris(ast.parse((KG / "prefixes.py").read_text())), "the check finds the builder's own"


def _contract_modules() -> set[str]:
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    named = set()
    for c in contracts:
        prefix = f"{c['containers'][0]}." if c.get("containers") else ""
        for layer in c["layers"]:
            named.update(prefix + m.strip() for m in layer.split("|"))
    return named


def test_the_import_contract_names_every_module():
    """A module left out of the layers could import anything; every module of kg has its layer."""
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts) for p in KG.rglob("*.py") if p.name != "__init__.py"}
    assert modules - _contract_modules() == set()


def test_error_classes_share_one_base_with_documented_codes():
    from kg import errors

    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, Exception)]
    assert all(issubclass(c, errors.KGError) for c in classes)
    readme = (ROOT / "README.md").read_text()
    for c in classes:
        assert f"| {c.exit_code} |" in readme or c is errors.KGError, f"exit code of {c.__name__} is not in the README"


def prefix_lines(text: str) -> list[tuple[str, str]]:
    """Every (prefix, namespace) a SPARQL ``PREFIX`` line, a Turtle ``@prefix`` or a SHACL ``sh:declare`` binds."""
    found = re.findall(r"(?i)\bPREFIX\s+([\w.-]*):\s*<([^>{}]*)>", text)
    found += re.findall(r'sh:prefix "([\w.-]+)" ; sh:namespace "([^"]+)"', text)
    return found


def test_every_prefix_a_query_or_module_binds_is_the_maps():
    """A query's ``PREFIX NCIT: <...>`` typed by hand must be the one map's, or a CURIE means two things."""
    root = Path(__file__).resolve().parent.parent
    files = [
        *root.joinpath("queries").glob("*.rq"),
        *root.joinpath("kg").rglob("*.py"),
        root / "shapes" / "trialkg-shapes.ttl",
    ]
    wrong = [
        (str(f.relative_to(root)), prefix, namespace)
        for f in files
        for prefix, namespace in prefix_lines(f.read_text(encoding="utf-8"))
        if PREFIXES.get(prefix) != namespace
    ]
    assert wrong == []
    assert len([f for f in files if prefix_lines(f.read_text(encoding="utf-8"))]) > 20, "the check reads them"


def test_the_prefix_check_finds_a_namespace_typed_wrong():
    assert prefix_lines("PREFIX NCIT: <http://purl.obolibrary.org/obo/ncit_>\nSELECT") == [
        ("NCIT", "http://purl.obolibrary.org/obo/ncit_")
    ]
    assert PREFIXES["NCIT"] != "http://purl.obolibrary.org/obo/ncit_"
