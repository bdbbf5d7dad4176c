"""The SSSOM mapping table (``ontology/mappings.sssom.tsv``) and the triples the build makes of it.

The table is the one place mappings are curated; each row becomes a triple
``subject predicate object`` in the ontology graph, so ``trials-by-drug`` finds
a trial from any mapped identifier.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib.resources import files

import pyoxigraph as ox

from kg.errors import InputError
from kg.prefixes import PREFIXES

REQUIRED_COLUMNS = ("subject_id", "predicate_id", "object_id", "mapping_justification")


@dataclass
class MappingSet:
    """A parsed SSSOM table: its metadata block and its rows."""

    metadata: dict[str, object]
    rows: list[dict[str, str]]
    text: str


def _metadata(lines: list[str]) -> dict[str, object]:
    """Read the ``#``-prefixed YAML block (flat keys, and one level of mapping such as curie_map)."""
    meta: dict[str, object] = {}
    current: str | None = None
    for raw in lines:
        line = raw[1:].rstrip()
        if not line.strip():
            continue
        if line.startswith("  ") and current is not None:
            key, _, value = line.strip().partition(":")
            sub = meta.setdefault(current, {})
            if isinstance(sub, dict):
                sub[key.strip()] = value.strip().strip('"')
            continue
        key, _, value = line.partition(":")
        if value.strip():
            meta[key.strip()] = value.strip().strip('"')
            current = None
        else:
            current = key.strip()
            meta[current] = {}
    return meta


def read(text: str, name: str = "mappings.sssom.tsv") -> MappingSet:
    """Parse an SSSOM TSV with its metadata block; refuses rows with a missing column or an unknown prefix."""
    lines = text.splitlines()
    head = [line for line in lines if line.startswith("#")]
    body = [line for line in lines if not line.startswith("#") and line.strip()]
    meta = _metadata(head)
    reader = csv.DictReader(io.StringIO("\n".join(body)), delimiter="\t")
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"{name}: missing SSSOM column(s): {', '.join(missing)}")
    curie_map = meta.get("curie_map", {}) if isinstance(meta.get("curie_map"), dict) else {}
    rows = list(reader)
    for i, row in enumerate(rows, start=len(head) + 2):
        for col in ("subject_id", "predicate_id", "object_id", "mapping_justification"):
            if expand(row[col], curie_map) is None:
                raise InputError(f"{name}:{i}: {col} {row[col]!r} has no known prefix")
    return MappingSet(metadata=meta, rows=rows, text=text)


def expand(curie: str, curie_map: dict[str, str] | None = None) -> str | None:
    """Expand a CURIE with the table's curie_map, falling back to the project prefix map."""
    prefix, sep, local = curie.partition(":")
    if not sep:
        return None
    ns = (curie_map or {}).get(prefix) or PREFIXES.get(prefix)
    return ns + local if ns else None


def packaged() -> MappingSet:
    """The packaged mapping table."""
    entry = files("kg.ontology") / "mappings.sssom.tsv"
    return read(entry.read_text(encoding="utf-8"), "ontology/mappings.sssom.tsv")


def triples(mapping_set: MappingSet) -> list[ox.Triple]:
    """One triple per row: subject, predicate, object as IRIs."""
    curie_map = mapping_set.metadata.get("curie_map", {})
    out = []
    for row in mapping_set.rows:
        s, p, o = (expand(row[c], curie_map) for c in ("subject_id", "predicate_id", "object_id"))
        out.append(ox.Triple(ox.NamedNode(s), ox.NamedNode(p), ox.NamedNode(o)))
    return out


def as_turtle(mapping_set: MappingSet) -> bytes:
    """The mapping triples as N-Triples bytes (valid Turtle), for the ontology graph."""
    return ox.serialize(triples(mapping_set), format=ox.RdfFormat.N_TRIPLES)
