"""The SSSOM mapping table (``ontology/mappings.sssom.tsv``) and the triples the build makes of it.

The table is the one place mappings are curated; each row becomes a triple
``subject predicate object`` in the ontology graph, so ``trials-by-drug`` finds
a trial from any mapped identifier.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pyoxigraph as ox

from kg import resources
from kg.errors import InputError
from kg.prefixes import expand
from kg.rdf import to_bytes

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
    raw = meta.get("curie_map")
    curie_map: dict[str, str] = raw if isinstance(raw, dict) else {}
    rows = list(reader)
    for i, row in enumerate(rows, start=len(head) + 2):
        for col in ("subject_id", "predicate_id", "object_id", "mapping_justification"):
            if expand(row[col], curie_map) is None:
                raise InputError(f"{name}:{i}: {col} {row[col]!r} has no known prefix")
    return MappingSet(metadata=meta, rows=rows, text=text)


def packaged() -> MappingSet:
    """The packaged mapping table."""
    entry = resources.ontology_file("mappings.sssom.tsv")
    return read(entry.read_text(encoding="utf-8"), "ontology/mappings.sssom.tsv")


def triples(mapping_set: MappingSet) -> list[ox.Triple]:
    """One triple per row: subject, predicate, object as IRIs."""
    raw = mapping_set.metadata.get("curie_map")
    curie_map: dict[str, str] = raw if isinstance(raw, dict) else {}
    out = []
    for row in mapping_set.rows:  # read() refused rows whose CURIEs do not expand
        s, p, o = (expand(row[c], curie_map) or "" for c in ("subject_id", "predicate_id", "object_id"))
        out.append(ox.Triple(ox.NamedNode(s), ox.NamedNode(p), ox.NamedNode(o)))
    return out


def as_ntriples(mapping_set: MappingSet) -> bytes:
    """The mapping triples as N-Triples bytes (valid Turtle), for the ontology graph."""
    return to_bytes(triples(mapping_set), ox.RdfFormat.N_TRIPLES)
