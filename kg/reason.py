"""OWL consistency check of the ontology and term extracts with HermiT (via owlready2).

owlready2 cannot read Turtle, so the graph is handed over as RDF/XML in a
temporary folder. HermiT needs Java; without it the check reports that it was
skipped rather than passing silently.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kg import sources as src
from kg.dataset import Dataset
from kg.errors import ReasonerError, ReasonerUnavailable
from kg.prefixes import XSD


@dataclass
class ReasonResult:
    """Outcome of a consistency check."""

    consistent: bool
    classes: int
    individuals: int
    unsatisfiable: list[str]


def _owl2_literal(term: Any) -> Any:
    """HermiT accepts only the OWL 2 datatype map, which lacks xsd:date.

    Dates are handed to the reasoner as plain strings: no trialkg property puts a
    datatype restriction on them, so this cannot hide an inconsistency.
    """
    import rdflib

    if isinstance(term, rdflib.Literal) and term.datatype is not None and str(term.datatype) in _NON_OWL2:
        return rdflib.Literal(str(term))
    return term


_NON_OWL2 = {XSD + "date", XSD + "gYear", XSD + "gYearMonth", XSD + "time"}


def _java_message(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in lines:
        if "Exception" in line or "Error" in line:
            return line
    return lines[0] if lines else type(exc).__name__


def java_available() -> bool:
    """Whether a ``java`` executable is on the PATH (HermiT runs on the JVM)."""
    return shutil.which("java") is not None


def check_consistency(dataset: Dataset) -> ReasonResult:
    """Load the dataset in owlready2 and run HermiT.

    Raises :class:`ReasonerUnavailable` when HermiT cannot run (no Java, or the
    JVM failed: nothing was decided) and :class:`ReasonerError` when the
    ontology is inconsistent or has unsatisfiable classes.
    """
    if not java_available():
        raise ReasonerUnavailable("java not found: the HermiT consistency check was skipped (install a JRE)")
    import owlready2

    graph = src.rdflib_graph(dataset.triples(), transform=_owl2_literal)

    with tempfile.TemporaryDirectory(prefix="trialkg-reason-") as tmp:
        path = Path(tmp) / "trialkg.owl"
        graph.serialize(destination=str(path), format="xml")
        world = owlready2.World()
        onto = world.get_ontology(path.as_uri()).load()
        try:
            with onto:
                owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
        except owlready2.OwlReadyInconsistentOntologyError as exc:
            raise ReasonerError("the ontology is inconsistent (HermiT)") from exc
        except Exception as exc:  # noqa: BLE001 - the JVM or owlready2 failed to run
            raise ReasonerUnavailable(f"HermiT could not run: {_java_message(exc)}") from None
        unsat = sorted(str(c.iri) for c in world.inconsistent_classes())
        classes = len(list(world.classes()))
        individuals = len(list(world.individuals()))
    if unsat:
        raise ReasonerError(f"unsatisfiable classes: {', '.join(unsat)}")
    return ReasonResult(consistent=True, classes=classes, individuals=individuals, unsatisfiable=unsat)
