"""The project's exceptions, each carrying the exit code the CLI documents.

Library code raises these; only the CLI turns them into a one-line message and
an exit code (table in the README), so library callers keep full control.

>>> issubclass(OutputError, KGError) and OutputError.exit_code
5
"""

from __future__ import annotations


class KGError(Exception):
    """Base class of every error trialkg reports to a user."""

    exit_code = 2


class InputError(KGError):
    """Input could not be read: missing file, RDF syntax error, bad option."""

    exit_code = 2


class UnsupportedShape(InputError):
    """The shapes use a SHACL feature the compiled engine does not implement, or are ill-formed.

    The compiled engine refuses such shapes by name before it validates anything,
    so no shape is ever skipped silently; ``--engine pyshacl`` implements all of
    SHACL Core and SHACL-SPARQL.
    """

    exit_code = 2


class QueryError(KGError):
    """A query could not be prepared or run (unknown name, bad parameter, syntax)."""

    exit_code = 2


class ValidationFailed(KGError):
    """The data does not conform to the SHACL shapes."""

    exit_code = 1


class StoreError(KGError):
    """A triple store could not be read or written (or is locked by another writer)."""

    exit_code = 3


class ReasonerError(KGError):
    """The ontology is inconsistent, or has unsatisfiable classes."""

    exit_code = 1


class ReasonerUnavailable(KGError):
    """The reasoner could not run at all (no Java, or HermiT failed): nothing was decided."""

    exit_code = 4


class OutputError(KGError):
    """An output file or folder could not be written; nothing half-written is left behind."""

    exit_code = 5
