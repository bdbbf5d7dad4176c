"""Each publication's graph kept beside a store as compressed N-Triples, so a copy of a few graphs is parsed, not
read off the disk term by term.

Every study page, evidence page, ``kg summary`` screen and batch of a whole-store
study query copies some publications' graphs into memory
(:meth:`kg.dataset.Dataset.of_studies`). Read from the store, a quad costs
about 9.5 us (each term's string looked up in the store's own tables and made a
Python object); parsed from N-Triples into the copy, about 2 us, and only the
predicates the query names need be parsed. ``kg load`` writes one block per
publication graph while its batches are in memory anyway (its lines grouped by
predicate, a header saying where each predicate's lines are, then
zlib-compressed: 39 MB for the 844 MB store of 10,000 synthetic publications, 393 MB at 100,000),
and an index of the blocks stamped with the stored description. A store is read
with the pack of the folder it was opened from (:meth:`kg.dataset.Dataset.open`
keeps that folder open), so a later load, which swaps a new folder in with its
own pack, never pairs its pack with an older store. A
graph with blank nodes is left out (the engine renames blank nodes on every
parse, so a parsed copy would not name them as the store does); a graph the
pack lacks, or a block that does not read back, is read from the store as
before: the pack only ever saves time.
"""

from __future__ import annotations

import bisect
import json
import os
import weakref
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import IO, Any

from kg import packed
from kg.outputs import move
from kg.prefixes import RDF_TYPE

#: the blocks, one after another
FILE = "trialkg-graphs.pack"
#: where each graph's block is, and the description the pack was written with
INDEX = "trialkg-graphs.json"
#: each study's graphs (:class:`Studies`), stamped as the index is; apart from it, read only where a copy needs it
STUDIES = "trialkg-studies.json"
VERSION = 2


def block(ntriples: bytes) -> bytes | None:
    """One graph's N-Triples as the pack keeps them (None for a graph the pack leaves out: one with blank nodes).

    The lines are grouped by predicate, in predicate order, behind a one-line
    JSON header mapping each predicate's IRI to the offsets of its lines, and the
    whole is compressed (zlib level 1: 0.1 s for 10 MB of N-Triples, read back at
    ten times that).
    """
    if b"_:" in ntriples:  # a blank node, or text that looks like one: left to the store
        return None
    by: dict[bytes, list[bytes]] = {}
    for line in ntriples.splitlines(keepends=True):
        parts = line.split(b" ", 2)
        if len(parts) == 3 and parts[1].startswith(b"<") and parts[1].endswith(b">"):
            by.setdefault(parts[1][1:-1], []).append(line)
        elif line.strip():
            return None  # not a line this writer knows: left to the store
    header: dict[str, list[int]] = {}
    body: list[bytes] = []
    at = 0
    for predicate in sorted(by):
        chunk = b"".join(by[predicate])
        header[predicate.decode("utf-8")] = [at, at + len(chunk)]
        body.append(chunk)
        at += len(chunk)
    head = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return zlib.compress(head + b"\n" + b"".join(body), 1)


def _lines(data: bytes, predicates: frozenset[str] | None, types: frozenset[str] | None = None) -> bytes:
    """A block's N-Triples read back (:func:`block`), only the lines of ``predicates`` where given, and of the
    ``rdf:type`` lines only those whose class is one of ``types`` where given."""
    raw = zlib.decompress(data)
    cut = raw.index(b"\n")
    header: dict[str, list[int]] = json.loads(raw[:cut])
    body = memoryview(raw)[cut + 1 :]
    spans = [(p, int(a), int(b)) for p, (a, b) in header.items() if predicates is None or p in predicates]
    if any(not 0 <= a <= b <= len(body) for _p, a, b in spans):
        raise ValueError("a predicate's lines outside its block")
    if types is None:
        return b"".join(body[a:b] for _p, a, b in spans)
    classes = {b"<" + c.encode("utf-8") + b">" for c in types}
    parts = []
    for p, a, b in spans:
        if p != RDF_TYPE:
            parts.append(bytes(body[a:b]))
            continue  # each line "<s> <type> <class> .": its class is the last term but the dot
        parts += [
            line for line in bytes(body[a:b]).splitlines(keepends=True) if line[:-3].rsplit(b" ", 1)[-1] in classes
        ]
    return b"".join(parts)


class Blocks(Mapping[str, tuple[int, int]]):
    """Where each graph's block is (offset, length), by graph IRI: the IRIs in one sorted list and the numbers in
    two arrays, looked up by bisection (a dict of 100,000 graphs held 44 MB in every server and site; this, 12)."""

    def __init__(self, graphs: Any, at: array[int], size: array[int]):
        if not isinstance(graphs, list) or not all(isinstance(g, str) for g in graphs):
            raise ValueError("the graphs are not a list of IRIs")
        if any(a >= b for a, b in zip(graphs, graphs[1:], strict=False)) or not len(graphs) == len(at) == len(size):
            raise ValueError("the graphs are not sorted, or not one offset and one length each")
        self._graphs, self._at, self._size = graphs, at, size

    def __getitem__(self, graph: str) -> tuple[int, int]:
        i = bisect.bisect_left(self._graphs, graph)
        if i == len(self._graphs) or self._graphs[i] != graph:
            raise KeyError(graph)
        return self._at[i], self._size[i]

    def __iter__(self) -> Iterator[str]:
        return iter(self._graphs)

    def within(self, size: int) -> bool:
        """Whether every block lies inside a pack file of ``size`` bytes."""
        return all(at + n <= size for at, n in zip(self._at, self._size, strict=True))

    def __len__(self) -> int:
        return len(self._graphs)


class Studies:
    """Each study's named graphs (those it is a subject or an object in) as ``kg load`` found them in the store it
    made: a copy of a batch of studies looks them up instead of asking the store (10,000 publications: 1.3 s of
    every batched query), and a resource that is not a study finds the studies its graphs name
    (:meth:`studies_in`). The IRIs in sorted lists, the graphs of each study as numbers into one of them."""

    def __init__(self, studies: Any, graphs: Any, start: array[int], ids: array[int]):
        for name, iris in (("studies", studies), ("graphs", graphs)):
            if not isinstance(iris, list) or not all(isinstance(i, str) for i in iris):
                raise ValueError(f"the {name} are not a list of IRIs")
            if any(a >= b for a, b in zip(iris, iris[1:], strict=False)):
                raise ValueError(f"the {name} are not sorted")
        if len(start) != len(studies) + 1 or (start and start[-1] != len(ids)) or any(i >= len(graphs) for i in ids):
            raise ValueError("the studies' graphs are not where the index says")
        self._studies, self._graphs, self._start, self._ids = studies, graphs, start, ids
        self._inverse: dict[str, list[str]] | None = None

    @classmethod
    def of(cls, graphs_of: Mapping[str, Iterable[str]]) -> Studies:
        """The index of a mapping from each study to its graphs."""
        studies = sorted(graphs_of)
        graphs = sorted({g for gs in graphs_of.values() for g in gs})
        number = {g: i for i, g in enumerate(graphs)}
        start, ids = array("Q", [0]), array("Q")
        for s in studies:
            ids.extend(sorted(number[g] for g in set(graphs_of[s])))
            start.append(len(ids))
        return cls(studies, graphs, start, ids)

    def graphs_of(self, study: str) -> list[str] | None:
        """A study's graphs (None: not a study the load found)."""
        i = bisect.bisect_left(self._studies, study)
        if i == len(self._studies) or self._studies[i] != study:
            return None
        return [self._graphs[k] for k in self._ids[self._start[i] : self._start[i + 1]]]

    def studies_in(self, graph: str) -> list[str]:
        """The studies a graph names (built on first use: only a copy for a resource that is not a study needs it)."""
        if self._inverse is None:
            inverse: dict[str, list[str]] = {}
            for i, s in enumerate(self._studies):
                for k in self._ids[self._start[i] : self._start[i + 1]]:
                    inverse.setdefault(self._graphs[k], []).append(s)
            self._inverse = inverse
        return self._inverse.get(graph, [])

    def fields(self) -> dict[str, Any]:
        """The entries of its file that hold it."""
        return {
            "studies": self._studies,
            "study_graphs": self._graphs,
            "study_start": packed.pack(self._start, "Q"),
            "study_graph_ids": packed.pack(self._ids, "Q"),
        }

    @classmethod
    def read(cls, text: str, stamp: str) -> Studies | None:
        """The studies its file holds, if written with the data ``stamp`` names (else, or damaged: None)."""
        try:
            index: Any = json.loads(text)
            if not isinstance(index, dict) or index.get("version") != VERSION or index.get("description") != stamp:
                return None
            start, ids = packed.unpack(index["study_start"], "Q"), packed.unpack(index["study_graph_ids"], "Q")
            return cls(index["studies"], index["study_graphs"], start, ids)
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


class Writer:
    """Blocks appended to a pack file as ``kg load`` makes them; :meth:`finish` moves it into the store's folder."""

    def __init__(self, spool: Path):
        self.spool = spool
        self.where: dict[str, tuple[int, int]] = {}
        self._seen: set[str] = set()  # a graph given twice (two batches add to one graph) is left to the store
        self._out: IO[bytes] = open(spool, "wb")  # noqa: SIM115  # closed by finish() or discard()

    def add(self, graph: str, data: bytes | None) -> None:
        """Append one graph's block (a :func:`block`; None: the graph is left out, read from the store).

        A graph added twice is left out: two batches that both write into it leave
        the store holding both, which neither block is.
        """
        if graph in self._seen:
            self.where.pop(graph, None)
            return
        self._seen.add(graph)
        if data is None:
            return
        self.where[graph] = (self._out.tell(), len(data))
        self._out.write(data)

    def keep(self, old: Reader, graphs: Iterable[str]) -> None:
        """Copy, as they are, the blocks of an earlier pack for the graphs a load keeps (those it does not replace)."""
        for graph in graphs:
            data = old.raw(graph)
            if data is not None:
                self.add(graph, data)

    def finish(self, folder: Path, stamp: str, studies: Studies | None = None) -> None:
        """Move the pack into ``folder`` (the store being made, before its swap) with its index, stamped (and the
        graphs of each study of that store, where given)."""
        self._out.close()
        move(self.spool, folder / FILE)
        names = sorted(self.where)
        index = {
            "version": VERSION,
            "description": stamp,
            "graphs": names,
            "at": packed.pack((self.where[g][0] for g in names), "Q"),
            "size": packed.pack((self.where[g][1] for g in names), "Q"),
        }
        if studies is not None:
            fields = {"version": VERSION, "description": stamp, **studies.fields()}
            (folder / STUDIES).write_text(json.dumps(fields, sort_keys=True, separators=(",", ":")), encoding="utf-8")
        (folder / INDEX).write_text(json.dumps(index, sort_keys=True, separators=(",", ":")), encoding="utf-8")

    def discard(self) -> None:
        """Drop the spool (a load that failed)."""
        self._out.close()
        self.spool.unlink(missing_ok=True)


class Reader:
    """A store's pack, open for reading (thread-safe: each read is one ``pread``; closed with the reader)."""

    def __init__(
        self, fd: int, where: Mapping[str, tuple[int, int]], studies: Callable[[], Studies | None] = lambda: None
    ):
        self._fd = fd
        self.where = where
        self._read_studies = studies
        self._closer = weakref.finalize(self, os.close, fd)

    @classmethod
    def open(cls, folder: Path, stamp: str, dir_fd: int | None = None) -> Reader | None:
        """The pack in a store's folder, if there is one of this version written with the data ``stamp`` names.

        ``dir_fd``: the folder as the store was opened from it (:meth:`kg.dataset.Dataset.open`): the pack read is
        the one the load wrote with that store, never a later load's; once a later load has removed that folder,
        there is none (the store is read instead), unless it was opened before (:meth:`kg.dataset.Dataset.warm`).
        """
        flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
        where_is = (lambda name: name) if dir_fd is not None else (lambda name: str(folder / name))
        try:
            index_fd = os.open(where_is(INDEX), flags, dir_fd=dir_fd)
            with open(index_fd, encoding="utf-8") as fh:
                index: Any = json.loads(fh.read())
            if not isinstance(index, dict) or index.get("version") != VERSION or index.get("description") != stamp:
                return None
            where = Blocks(index["graphs"], packed.unpack(index["at"], "Q"), packed.unpack(index["size"], "Q"))
            fd = os.open(where_is(FILE), flags, dir_fd=dir_fd)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):  # binascii.Error is a ValueError
            return None
        if not where.within(os.fstat(fd).st_size):  # an index of another (a larger) pack
            os.close(fd)
            return None

        def studies() -> Studies | None:  # read from the folder the pack is in, on first use
            try:
                with open(os.open(where_is(STUDIES), flags, dir_fd=dir_fd), encoding="utf-8") as fh:
                    return Studies.read(fh.read(), stamp)
            except OSError:
                return None

        return cls(fd, where, studies)

    @cached_property
    def studies(self) -> Studies | None:
        """Each study's graphs, as the load that wrote the pack found them (None: a store an earlier version loaded,
        or a file that does not read back)."""
        return self._read_studies()

    def raw(self, graph: str) -> bytes | None:
        """A graph's block as stored (None if the pack lacks it or it cannot be read whole)."""
        if graph not in self.where:
            return None
        at, n = self.where[graph]
        try:
            data = os.pread(self._fd, n, at)
        except OSError:
            return None
        return data if len(data) == n else None

    def triples(
        self, graph: str, predicates: frozenset[str] | None = None, types: frozenset[str] | None = None
    ) -> bytes | None:
        """A graph's N-Triples (only the lines of ``predicates``, and the types of ``types``, where given), or None:
        read it from the store."""
        data = self.raw(graph)
        if data is None:
            return None
        try:
            return _lines(data, predicates, types)
        except (zlib.error, ValueError, UnicodeDecodeError, TypeError, AttributeError):
            return None

    def close(self) -> None:
        """Close the pack file (also done when the reader is collected)."""
        self._closer()
