"""The merged graph of many named graphs: each distinct triple once, sorted, and counted for the description.

A triple several graphs state (a journal every publication names) must be
written and counted once. Each batch of graphs is written as a sorted run of
N-Triples lines (:func:`write_run`); :func:`merge` merges the runs (the copies
of a triple meet there), writes the merged lines if asked, and counts them as
:func:`kg.describe.statistics` counts with SPARQL: lines of one subject are
adjacent in sorted order, and distinct objects are counted in partitions by a
fixed hash of the object (CRC-32, the same on every run). Memory: one batch
while a run is written, then a line per run and a chunk of merged lines.

``kg build`` writes its dumps this way; ``kg load`` counts a store this way to
store its description, and :func:`store_statistics` does it for any store.
"""

from __future__ import annotations

import heapq
import os
import re
import shutil
import tempfile
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO

import pyoxigraph as ox

from kg.describe import LINK_TARGETS, Statistics
from kg.prefixes import PREFIXES, RDF_TYPE, turtle_prefixes
from kg.rdf import graph_bytes

#: merged lines written (and counted) at once
CHUNK = 65536


def write_run(store: ox.Store, graphs: Iterable[str], path: Path) -> int:
    """The distinct triples of some graphs of ``store``, as sorted N-Triples lines, into ``path``; returns their quads."""
    triples: set[bytes] = set()
    quads = 0
    for iri in graphs:
        lines = graph_bytes(store, ox.NamedNode(iri), ox.RdfFormat.N_TRIPLES).splitlines(keepends=True)
        quads += len(lines)  # a graph states a triple once
        triples.update(lines)
    path.write_bytes(b"".join(sorted(triples)))
    return quads


def store_statistics(store: ox.Store, graphs: Sequence[str], base: str) -> Statistics:
    """The statistics of the merged graph of ``graphs`` of a store (any size), in bounded memory, on scratch files.

    One sequential dump of the store (a graph-by-graph dump costs a lookup per
    graph: 3 ms each, measured), read back line by line into sorted runs.
    """
    wanted = {str(ox.NamedNode(g)).encode() for g in graphs}
    scratch = Path(tempfile.mkdtemp(prefix="trialkg-count-"))
    try:
        everything = scratch / "store.nq"
        store.dump(str(everything), format=ox.RdfFormat.N_QUADS)
        runs: list[Path] = []
        lines: list[bytes] = []
        quads = 0

        def flush() -> None:
            run = scratch / f"run-{len(runs)}.nt"
            run.write_bytes(b"".join(sorted(set(lines))))
            runs.append(run)
            lines.clear()

        with open(everything, "rb") as fh:
            for line in fh:  # canonical N-Quads: `S P O G .`, the graph an IRI without spaces
                triple, graph = line[:-3].rsplit(b" ", 1)
                if graph in wanted:
                    lines.append(triple + b" .\n")
                    quads += 1
                    if len(lines) >= RUN_LINES:
                        flush()
        if lines:
            flush()
        everything.unlink()
        return merge(runs, None, scratch, base, quads)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


#: quads sorted into one run by :func:`store_statistics` (what it holds at once)
RUN_LINES = 500_000


def merge(
    runs: list[Path], merged: Path | None, scratch: Path, base: str, quads: int, escaping: set[str] | None = None
) -> Statistics:
    """Merge sorted runs into ``merged`` (each distinct triple once; None: count only), counted as SPARQL would.

    Bounded memory: a line per run and a chunk of merged lines at a time; the
    distinct objects are counted in partitions by the CRC-32 of the object, one
    partition at a time. ``escaping``, if given, receives the prefix namespaces
    under which some IRI of the graph would need an escape in Turtle (see
    :func:`kg.prefixes.turtle_prefixes`): a Turtle writer leaves those out.
    """
    unsafe = _escaping_iri() if escaping is not None else None
    parts = max(1, sum(r.stat().st_size for r in runs) // PARTITION_BYTES)
    counts = _Counts(base)
    inputs: list[IO[bytes]] = [open(r, "rb") for r in runs]
    by_object: list[IO[bytes]] = [open(scratch / f"o{i}", "wb") for i in range(parts)]
    try:
        with open(merged if merged is not None else os.devnull, "wb") as out:
            chunk: list[bytes] = []
            previous = b""
            for line in heapq.merge(*inputs):
                if line == previous:
                    continue
                previous = line
                chunk.append(line)
                if len(chunk) >= CHUNK:
                    _flush(chunk, out, counts, by_object, unsafe, escaping)
                    chunk = []
            _flush(chunk, out, counts, by_object, unsafe, escaping)
    finally:
        for f in [*inputs, *by_object]:
            f.close()
    for i in range(parts):
        objects = (scratch / f"o{i}").read_bytes().split(b"\n")
        (scratch / f"o{i}").unlink()
        counts.objects += len(set(objects[:-1]))
    for r in runs:
        r.unlink()
    return counts.statistics(quads)


def _flush(
    chunk: list[bytes],
    out: IO[bytes],
    counts: _Counts,
    by_object: list[IO[bytes]],
    unsafe: re.Pattern[bytes] | None = None,
    escaping: set[str] | None = None,
) -> None:
    """Write merged lines, count them, spread their objects over the object partitions, note escaping namespaces."""
    data = b"".join(chunk)
    out.write(data)
    if unsafe is not None and escaping is not None:
        escaping.update(m.group(1).decode() for m in unsafe.finditer(data))
    objects = counts.add(chunk)
    if len(by_object) == 1:
        by_object[0].write(b"\n".join(objects) + b"\n" if objects else b"")
        return
    for obj in objects:
        by_object[zlib.crc32(obj) % len(by_object)].write(obj + b"\n")


def _escaping_iri() -> re.Pattern[bytes]:
    """An IRI in N-Triples under a namespace of :func:`kg.prefixes.turtle_prefixes` whose local name needs an escape.

    Group 1 is the namespace. The same rule as ``turtle_prefixes(iris)``, run over bytes at C speed.
    """
    namespaces = sorted(turtle_prefixes().values(), key=len, reverse=True)
    alternatives = b"|".join(re.escape(ns.encode()) for ns in namespaces)
    plain = rb"[A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_\-])?"
    return re.compile(rb"<(" + alternatives + rb")(?!(?:" + plain + rb")?>)[^>]*>")


#: bytes of N-Triples per object partition of :func:`merge` (what it holds at once, times a small factor)
PARTITION_BYTES = 24 * 1024 * 1024


class _Counts:
    """The counts of :class:`kg.describe.Statistics`, added up chunk by chunk from sorted, distinct N-Triples lines."""

    def __init__(self, base: str):
        self.base = b"<" + base.encode()
        self.namespaces = {p: PREFIXES[p] for p in LINK_TARGETS}
        self.links = dict.fromkeys(self.namespaces, 0)
        self.triples = self.subjects = self.entities = self.objects = 0
        self.properties: set[bytes] = set()
        self.classes: set[bytes] = set()
        self._ns: dict[bytes, str | None] = {}
        self._last_subject = b""

    def _ns_of(self, iri: bytes) -> str | None:
        if iri not in self._ns:
            if len(self._ns) > 100_000:
                self._ns.clear()
            text, best = iri.decode(), None
            for prefix, ns in self.namespaces.items():
                if text.startswith(ns) and (best is None or len(ns) > len(self.namespaces[best])):
                    best = prefix
            self._ns[iri] = best
        return self._ns[iri]

    def add(self, lines: list[bytes]) -> list[bytes]:
        """Count distinct, sorted triples (a subject's lines are adjacent, also across calls); returns their objects."""
        rdf_type = f"<{RDF_TYPE}>".encode()
        objects = []
        last = self._last_subject
        for line in lines:
            s, p, rest = line.split(b" ", 2)
            o = rest[:-3]
            objects.append(o)
            if s != last:
                last = s
                self.subjects += 1
                if s.startswith(self.base):
                    self.entities += 1
            self.properties.add(p)
            if p == rdf_type:
                self.classes.add(o)
            if o.startswith(b"<"):
                ns = self._ns_of(o[1:-1])
                if ns is not None:
                    self.links[ns] += 1
                    if (
                        s.startswith(b"<")
                        and not s.startswith(self.base)
                        and s[1:].decode().startswith(self.namespaces[ns])
                    ):
                        self.links[ns] -= 1
        self._last_subject = last
        self.triples += len(lines)
        return objects

    def statistics(self, quads: int) -> Statistics:
        """The totals."""
        return Statistics(
            triples=self.triples,
            entities=self.entities,
            classes=len(self.classes),
            properties=len(self.properties),
            distinct_subjects=self.subjects,
            distinct_objects=self.objects,
            quads=quads,
            links=self.links,
        )
