"""Glue between the CLI and the query machinery: pick the query, bind, run, format."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kg import catalog
from kg.catalog import parse_query
from kg.engines import execute
from kg.errors import InputError, QueryError
from kg.query import bind
from kg.results import serialize, table


def parse_params(pairs: Sequence[str]) -> dict[str, str]:
    """``["drug=NCIT:C1851"]`` -> ``{"drug": "NCIT:C1851"}``; refuses items without ``=``."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise QueryError(f"--param {pair[:60]!r}: expected NAME=VALUE")
        if key.strip() in out:
            raise QueryError(f"--param {key.strip()!r} given twice")
        out[key.strip()] = value
    return out


def run_query(*, name: str | None, file: str | None, params: Sequence[str], fmt: str = "table",
              engine: str = "oxigraph", data=None, store=None, endpoint=None) -> str:
    """Run a ready-made or user query and return its printed form."""
    if bool(name) == bool(file):
        raise QueryError("give either a query NAME or --file Q.rq (see `kg queries`)")
    if file:
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        q = parse_query(path.stem, text)
        origin = str(path)
    else:
        q = catalog.get(name)
        origin = f"queries/{name}.rq"
    bindings = bind(q, parse_params(params))
    result = execute(q.text, bindings, engine=engine, data=data, store=store, endpoint=endpoint, origin=origin)
    if fmt == "table":
        return table(result) + "\n"
    return serialize(result, fmt).decode("utf-8")


def describe_queries(name: str | None = None) -> str:
    """The list of queries with summaries, or one query's description and parameters."""
    if name is None:
        queries = catalog.catalog()
        width = max(len(n) for n in queries)
        return "\n".join(f"{n.ljust(width)}  {q.summary}" for n, q in sorted(queries.items()))
    q = catalog.get(name)
    lines = [f"{q.name}: {q.summary}", "", q.description, ""]
    if not q.parameters:
        lines.append("parameters: none")
    else:
        lines.append("parameters:")
        for p in q.parameters:
            need = "required" if p.required else "optional"
            lines.append(f"  --param {p.name}=...  ({p.type}, {need}) {p.description}")
    return "\n".join(lines)
