"""Where the packaged ontology, shapes, queries and trials live.

Everything is found through :mod:`importlib.resources`, so ``kg`` works from
any folder after ``pip install .`` and never reads the working directory.
"""
from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable


def _listing(package: str, suffix: str) -> list[Traversable]:
    root = files(package)
    return sorted(
        (entry for entry in root.iterdir() if entry.is_file() and entry.name.endswith(suffix)),
        key=lambda entry: entry.name,
    )


def ontology_files() -> list[Traversable]:
    """The project ontology followed by the extracts of external terms."""
    return _listing("kg.ontology", ".ttl") + _listing("kg.ontology.imports", ".ttl")


def shape_files() -> list[Traversable]:
    """The SHACL shapes."""
    return _listing("kg.shapes", ".ttl")


def query_files() -> list[Traversable]:
    """The ready-made SPARQL queries."""
    return _listing("kg.queries", ".rq")


def trial_files() -> list[Traversable]:
    """The curated trial graphs, one Turtle file per publication."""
    return _listing("kg.trials", ".ttl")
