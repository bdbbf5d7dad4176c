"""The project's exceptions.

Library code raises these; only the CLI turns them into a one-line message and
an exit code (documented in the README), so library callers keep full control.
"""
from __future__ import annotations


class KGError(Exception):
    """Base class of every error trialkg reports to a user."""

    exit_code = 2


class InputError(KGError):
    """Input could not be read: missing file, RDF syntax error, bad option."""

    exit_code = 2


class ValidationFailed(KGError):
    """The data does not conform to the SHACL shapes."""

    exit_code = 1


class QueryError(KGError):
    """A query could not be prepared or run (unknown name, bad parameter, syntax)."""

    exit_code = 2


class StoreError(KGError):
    """A triple store could not be read or written."""

    exit_code = 3


class ReasonerError(KGError):
    """The ontology is inconsistent or the reasoner could not run."""

    exit_code = 1
