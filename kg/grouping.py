"""Items that must stay together, packed into bounded chunks: one way, for every batch that must not split a whole.

Two callers need it: ``kg load`` sends the N-Triples lines of a blank node to Virtuoso together (a label names one
node within one operation only), and a whole-store query asks studies that share a graph in one batch (a row about
a study is found from all its graphs, never from a part). Both are items linked by keys they share (a blank node,
a graph), grouped by the connected parts of those links, then packed in order into chunks of a bounded size.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")


def shared_groups(keys_of: Sequence[Iterable[Hashable]]) -> list[list[int]]:
    """The items (by index) that share a key, directly or through other items, each group in item order and the
    groups in the order of their first item; an item with no key is a group of its own.

    >>> shared_groups([["a"], ["b"], ["c", "a"], [], ["b"]])
    [[0, 2], [1, 4], [3]]
    """
    parent = list(range(len(keys_of)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[Hashable, int] = {}  # a key: the first item that has it
    for i, keys in enumerate(keys_of):
        for key in keys:
            a, b = root(i), root(first.setdefault(key, i))
            if a != b:
                parent[max(a, b)] = min(a, b)  # the earlier item is the root: groups keep their first item's place
    groups: dict[int, list[int]] = {}
    for i in range(len(keys_of)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def packed(groups: Iterable[list[T]], limit: int) -> list[list[T]]:
    """Consecutive groups joined into chunks of at most ``limit`` items, no group split (one larger than ``limit``
    is a chunk of its own).

    >>> packed([[1, 2], [3], [4, 5, 6], [7]], 3)
    [[1, 2, 3], [4, 5, 6], [7]]
    """
    chunks: list[list[T]] = []
    for group in groups:
        if not chunks or (chunks[-1] and len(chunks[-1]) + len(group) > limit):
            chunks.append([])
        chunks[-1] += group
    return [c for c in chunks if c]
