"""Shared fixtures: the packaged graph in a real pyoxigraph store, the seed text, a CLI runner."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
#: of a family of more cases of one parametrized test, the quick loop (`pytest -m "not slow"`) runs the first this
#: many; the others are marked slow and run with everything else (CI runs every case)
QUICK_CASES = 3


def pytest_configure(config: pytest.Config) -> None:
    """Let every ``kg`` process the tests start read compiled bytecode, kept in pytest's cache folder.

    About 150 tests run ``kg`` as a real process. Where PYTHONDONTWRITEBYTECODE is set (as on the machine this is
    developed on), each of them compiled the package's sources again, a quarter of a second apiece; an installed
    ``kg`` has its bytecode from ``pip install``. The bytecode goes to pytest's cache, never beside the sources.
    """
    cache = getattr(config, "cache", None)
    folder = cache.mkdir("pycache") if cache is not None else Path(tempfile.gettempdir()) / "trialkg-test-pycache"
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(folder)
    sys.dont_write_bytecode = False
    sys.pycache_prefix = str(folder)


@pytest.hookimpl(tryfirst=True)  # before -m deselects: the marks below count
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark slow every case of a parametrized test past its first :data:`QUICK_CASES` (in collection order)."""
    families: dict[tuple[str, str], list[pytest.Item]] = {}
    for item in items:
        if getattr(item, "callspec", None) is not None:
            families.setdefault((str(item.path), getattr(item, "originalname", item.name)), []).append(item)
    for cases in families.values():
        for item in cases[QUICK_CASES:]:
            item.add_marker(pytest.mark.slow)


def find_seed() -> Path | None:
    """The seed news report: $TRIALKG_SEED, else the one text in ``shared/seed/`` of the nearest folder above
    the checkout that has it (``../shared`` beside a clone, wherever the clone is)."""
    if os.environ.get("TRIALKG_SEED"):
        return Path(os.environ["TRIALKG_SEED"])
    for folder in REPO.parents:
        seeds = sorted((folder / "shared" / "seed").glob("*.txt"))
        if seeds:
            return seeds[0]
    return None


@pytest.fixture(scope="session")
def seed_text() -> str:
    """The news report the trial graph was curated from (skips, saying where it looked, where it is absent)."""
    path = find_seed()
    if path is None or not path.exists():
        where = path or f"shared/seed/*.txt in any folder above {REPO}"
        pytest.skip(f"seed text not found at {where} (set TRIALKG_SEED to its path)")
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def dataset():
    """The packaged ontology, extracts and trials, built in memory as every verb builds them."""
    from kg.dataset import Dataset

    return Dataset.build()


@pytest.fixture(scope="session")
def store(dataset):
    """The pyoxigraph store behind the packaged dataset."""
    return dataset.store


@pytest.fixture(scope="session")
def trial_turtle() -> str:
    """The packaged seed trial's Turtle text (read through importlib.resources)."""
    from kg import resources

    (entry,) = [f for f in resources.trial_files() if f.name == "isoda-2018.ttl"]
    return entry.read_text(encoding="utf-8")


def run_kg(*args: str, cwd: Path | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    """Run ``kg`` as a user would, from a folder outside the source tree, as a real process."""

    import kg as package

    # The kg these tests import (installed, or the checkout's when run from the root without installing).
    where = str(Path(package.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [where, os.environ.get("PYTHONPATH")]))}
    with tempfile.TemporaryDirectory(prefix="kg-cwd-") as tmp:
        return subprocess.run(
            [sys.executable, "-m", "kg", *args],
            capture_output=True,
            text=True,
            cwd=cwd or tmp,
            input=input,
            timeout=300,
            env=env,
        )


@pytest.fixture
def kg():
    return run_kg


def _edit_block(ttl: str, subject: str, old: str, new: str) -> str:
    """Replace ``old`` by ``new`` inside the Turtle block that starts with ``subject``."""
    start = re.search(rf"^{re.escape(subject)} a ", ttl, re.MULTILINE)
    assert start, f"no block for {subject}"
    end = ttl.find(" .\n", start.start())
    block = ttl[start.start() : end + 3]
    assert block.count(old) == 1, f"{old!r} must occur once in the block of {subject}"
    return ttl[: start.start()] + block.replace(old, new) + ttl[end + 3 :]


@pytest.fixture
def edit_block():
    """Make one curator's mistake in one resource of the seed Turtle."""
    return _edit_block


@pytest.fixture(scope="session")
def synth():
    """``benchmarks/synth.py``, the synthetic corpus generator (a script folder, not a package)."""
    folder = str(Path(__file__).resolve().parent.parent / "benchmarks")
    sys.path.insert(0, folder)
    try:
        import synth as module
    finally:
        sys.path.remove(folder)
    return module


@pytest.fixture
def trap():
    """A loopback socket that must receive nothing; it counts the connections made to it (tests/servers.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from servers import Trap

    t = Trap()
    yield t
    t.close()
