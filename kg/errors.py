"""The project's exceptions, each carrying the exit code the CLI documents.

Library code raises these; only the CLI turns them into a one-line message and
an exit code (table in the README), so library callers keep full control.

>>> issubclass(OutputError, KGError) and OutputError.exit_code
5
"""

from __future__ import annotations


def printable(text: str) -> str:
    """``text`` safe to print on one line: control characters escaped, bytes that are not UTF-8 as ``\\xNN``.

    File names are the user's: one holding a newline could forge a second
    message line, and one holding bytes that are not UTF-8 (which Python keeps
    as lone surrogates) could not be printed at all.

    >>> printable("a b.ttl"), printable("x\\ny.ttl"), printable("bad\\udcff.ttl")
    ('a b.ttl', 'x\\\\ny.ttl', 'bad\\\\xff.ttl')
    """
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable():
            out.append(ch)
        elif 0xDC80 <= ord(ch) <= 0xDCFF:  # one byte of a name that is not UTF-8 (os.fsdecode's surrogateescape)
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)


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
