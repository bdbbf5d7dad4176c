"""Writing output files so that a failure leaves nothing half-written.

Each file is written under a hidden temporary name beside its final name and
renamed only when every file of the batch is complete; on any failure the
temporary files are removed and the previous outputs stay as they were. An
``OSError`` (unwritable folder, disk full) becomes one :class:`OutputError` line.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from types import TracebackType

from kg.errors import OutputError


class AtomicFiles:
    """A batch of output files in one folder, published together on success.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with AtomicFiles(d) as out:
    ...         _ = out.path("a.txt").write_text("x")
    ...     sorted(p.name for p in Path(d).iterdir())
    ['a.txt']
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.written: list[Path] = []
        self._pending: list[tuple[Path, Path]] = []
        self._tag = uuid.uuid4().hex[:8]

    def __enter__(self) -> AtomicFiles:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{self.folder}: cannot create the output folder: {exc.strerror or exc}") from None
        if not os.access(self.folder, os.W_OK):
            raise OutputError(f"{self.folder}: the output folder is not writable")
        return self

    def path(self, name: str) -> Path:
        """Where to write ``name`` now (a temporary file until the batch completes)."""
        final = self.folder / name
        tmp = self.folder / f".{name}.{self._tag}.tmp"
        self._pending.append((tmp, final))
        return tmp

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            try:
                for tmp, final in self._pending:
                    tmp.replace(final)
                    self.written.append(final)
                return
            except OSError as err:
                exc = err
                kind = type(err)
        for tmp, _ in self._pending:
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(f"{self.folder}: cannot write: {exc.strerror or exc}") from None
