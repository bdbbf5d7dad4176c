"""Where the ontology, shapes, queries and trials live, installed or in a checkout.

Installed, they are the subpackages ``kg.ontology``, ``kg.shapes``,
``kg.queries`` and ``kg.trials`` (``pyproject.toml`` maps the top-level folders
there) and are read through :mod:`importlib.resources`, so ``kg`` works from any
folder. In a source checkout those subpackages do not exist under ``kg/``: the
same folders sit beside it, so ``python -m kg`` and ``python -m pytest`` run
from the repository root without installing anything.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

#: subpackage -> folder of the checkout
FOLDERS = {
    "kg.ontology": "ontology",
    "kg.ontology.imports": "ontology/imports",
    "kg.shapes": "shapes",
    "kg.queries": "queries",
    "kg.trials": "trials",
}


def folder(package: str) -> Traversable:
    """The packaged folder, or the checkout's folder of the same name beside ``kg/``."""
    try:
        return files(package)
    except ModuleNotFoundError:
        root: Traversable = files("kg").joinpath("..")
        for part in FOLDERS[package].split("/"):
            root = root.joinpath(part)
        return root


def _listing(package: str, suffix: str) -> list[Traversable]:
    return sorted(
        (entry for entry in folder(package).iterdir() if entry.is_file() and entry.name.endswith(suffix)),
        key=lambda entry: entry.name,
    )


def ontology_files() -> list[Traversable]:
    """The project ontology followed by the extracts of external terms."""
    return _listing("kg.ontology", ".ttl") + _listing("kg.ontology.imports", ".ttl")


def ontology_file(name: str) -> Traversable:
    """One file of the ontology folder (``mappings.sssom.tsv``, ``context.jsonld``...)."""
    return folder("kg.ontology").joinpath(name)


def shape_files() -> list[Traversable]:
    """The SHACL shapes."""
    return _listing("kg.shapes", ".ttl")


def query_files() -> list[Traversable]:
    """The ready-made SPARQL queries."""
    return _listing("kg.queries", ".rq")


def trial_files() -> list[Traversable]:
    """The curated trial graphs, one Turtle file per publication."""
    return _listing("kg.trials", ".ttl")
