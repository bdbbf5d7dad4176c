"""Issue 18: the sixteen defects a second attack run found, each kept as a test.

Every test here failed on the code before its fix (the commit that added it
says so); they are numbered as in the issue. Nothing leaves loopback.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

TKG = "https://w3id.org/trialkg/"


def one_line(text: str) -> bool:
    return len(text.strip().splitlines()) == 1


def _graph_names(store_dir: Path) -> set[str]:
    store = ox.Store.read_only(str(store_dir))
    return {g.value.rsplit("/", 1)[-1] for g in store.named_graphs()}


# ---------------------------------------------------------------- 1. a store reached through a symlink


def test_a_load_through_a_symlinked_store_locks_the_real_store(tmp_path):
    from kg.errors import StoreError
    from kg.load import StoreLock, load_embedded

    real = tmp_path / "data" / "store"
    real.parent.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    with StoreLock(real):  # another kg load, writing the store by its real path
        with pytest.raises(StoreError, match="another kg load"):
            load_embedded(store_dir=link)
    assert not real.exists(), "nothing was written while the other load held the store"


def test_a_load_through_a_symlinked_store_writes_the_real_store_and_keeps_the_link(tmp_path, trial_turtle):
    from kg.load import load_embedded
    from kg.sources import Source

    real = tmp_path / "data" / "store"
    load_embedded(store_dir=real)
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    extra = Source("extra.ttl", "extra", trial_turtle.replace("isoda-2018", "extra").encode())
    load_embedded([extra], store_dir=link)
    assert link.is_symlink() and link.resolve() == real.resolve(), "the link is still a link to the same store"
    assert "extra" in _graph_names(real), "the load reached the store the link points to"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "link"], "nothing was left beside the link"
