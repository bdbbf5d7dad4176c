"""The one atomic writer: output files and folders so that a failure leaves nothing half-written.

Each file is written under a hidden temporary name beside its final name and
renamed only when every file of the batch is complete; on any failure the
temporary files are removed and the previous outputs stay as they were. An
``OSError`` (unwritable folder, disk full) becomes one :class:`OutputError` line.

Folders replaced whole (a store written by ``kg load``) are swapped in beside
their path; :func:`interrupted_swap` finds the folder a crash in the middle of
such a swap left, so the store is found even then.

Every rename of the project is here (:func:`swap_folder`, :func:`move`,
:func:`rename_noreplace`, :class:`AtomicFiles`); ``tests/test_quality.py``
keeps it so, so what "atomic" means is decided once.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import json
import os
import platform
import re
import stat
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from kg.errors import OutputError

#: the record ``kg build`` and ``kg export`` keep in their output folder of the files they wrote there
RECORD = ".trialkg-outputs.json"


class AtomicFiles:
    """A batch of output files in one folder, published together on success.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with AtomicFiles(d) as out:
    ...         _ = out.path("a.txt").write_text("x")
    ...     sorted(p.name for p in Path(d).iterdir())
    ['a.txt']
    """

    def __init__(self, folder: str | Path, record: str | None = None, replace: bool = True):
        self.folder = Path(folder)
        #: False: nothing at a final name is ever replaced (``kg new``): each file goes in only where nothing is,
        #: atomically (:func:`rename_noreplace`), and the batch is undone where something is
        self.replace = replace
        self.written: list[Path] = []
        self._pending: list[tuple[Path, Path]] = []
        self._tag = uuid.uuid4().hex[:8]
        #: a file in the folder listing what earlier batches wrote (:data:`RECORD`): with it, a file already at a
        #: final name is replaced only if such a batch wrote it and nobody changed it since
        self.record = record

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
                self._check_owned()
                self._write_record(pending=True)  # before the renames: a batch killed between them is still ours
                self._publish()
                self._write_record()
                return
            except OutputError:
                for tmp, _ in self._pending:
                    tmp.unlink(missing_ok=True)
                raise
            except OSError as err:
                exc = err
                kind = type(err)
        for tmp, _ in self._pending:
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            where = exc.filename or self.folder
            raise OutputError(f"{where}: cannot write: {exc.strerror or exc}; no output was changed") from None

    def _recorded(self) -> dict[str, list[list[int]]] | None:
        """What the record says earlier batches wrote: each file's name and the (size, modification time in ns) it
        may have; None where there is no record a regular file holds in the form written here."""
        path = self.folder / (self.record or "")
        if self.record is None or path.is_symlink() or not path.is_file():  # a FIFO would block the read
            return None
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        files = found.get("files") if isinstance(found, dict) else None
        if not isinstance(files, dict):
            return None
        return {
            name: [list(x) for x in stamps if isinstance(x, list) and len(x) == 2]
            for name, stamps in files.items()
            if isinstance(name, str) and isinstance(stamps, list)
        }

    def _check_owned(self) -> None:
        """Refuse to replace a file that no earlier batch with this record wrote, or that changed since (the user's:
        a hand-written ``void.ttl`` in the folder ``kg build`` writes to was replaced without a word)."""
        if self.record is None:
            return
        recorded = self._recorded()
        for _, final in self._pending:
            if not (final.exists() or final.is_symlink()):
                continue
            if final.is_symlink() or not final.is_file() or stamp(final) not in (recorded or {}).get(final.name, []):
                why = (
                    ""
                    if recorded is not None
                    else f" (the folder's record of what kg wrote, {self.record}, is missing or unreadable)"
                )
                raise OutputError(
                    f"{final}: already there, and not as kg wrote it{why}; kg never replaces a file it did not "
                    "write (move it, or choose another --out); no output was changed"
                )

    def _write_record(self, pending: bool = False) -> None:
        """Note what this batch writes in the record, with what earlier batches wrote that is still as they left it.

        ``pending``: before the renames, each of this batch's files may be there as it was or as this batch wrote
        it (a rename keeps the size and modification time), so a batch killed between its renames is still ours.
        """
        if self.record is None:
            return
        files: dict[str, list[list[int]]] = {}
        for name, stamps in (self._recorded() or {}).items():
            path = self.folder / name
            now = stamp(path)
            if now is not None and now in stamps:
                files[name] = [now]
        if pending:
            for tmp, final in self._pending:
                files[final.name] = [*files.get(final.name, []), *filter(None, [stamp(tmp)])]
        else:
            files.update({final.name: list(filter(None, [stamp(final)])) for final in self.written})
        tmp = self.folder / f".{self.record}.{self._tag}.tmp"
        try:
            tmp.write_text(json.dumps({"files": files}, sort_keys=True, indent=1), encoding="utf-8")
            tmp.replace(self.folder / self.record)
        except OSError:
            tmp.unlink(missing_ok=True)  # the outputs are in place; a later batch will ask before replacing them

    def _publish(self) -> None:
        """Rename every file into place, each atomically; if one fails, put the earlier ones back as they were."""
        for _, final in self._pending:  # what is sure to fail, before anything is renamed
            if final.is_dir() and not final.is_symlink():
                raise IsADirectoryError(errno.EISDIR, "a folder is in the way", str(final))
        done: list[tuple[Path, Path | None]] = []  # (final, hard link to what it replaced)
        try:
            for tmp, final in self._pending:
                if not self.replace:
                    try:
                        rename_noreplace(tmp, final)
                    except FileExistsError:
                        raise OutputError(
                            f"{final}: already there (a file, a folder or a link); kg never overwrites it here "
                            "(choose another name or --out); no output was changed"
                        ) from None
                    done.append((final, None))
                    continue
                link = final.with_name(f".{final.name}.{self._tag}.old")
                try:
                    os.link(final, link)
                    done.append((final, link))
                except OSError:  # nothing there yet (or no hard links here: then no way back for this file)
                    done.append((final, None))
                tmp.replace(final)
        except (OSError, OutputError):
            for final, backup in reversed(done):
                if backup is not None:
                    backup.replace(final)
                else:
                    final.unlink(missing_ok=True)
            raise
        for final, backup in done:
            if backup is not None:
                backup.unlink(missing_ok=True)
            self.written.append(final)


def interrupted_swap(path: str | Path) -> Path | None:
    """The folder that holds ``path``'s content when a swap was cut between its two renames, else None.

    ``kg load`` swaps a store by renaming it to ``.<name>.old-<time>-<id>`` and
    the new one to ``<name>``; killed in between, no folder is at ``path`` and
    the newest ``.<name>.old-*`` is the store as it was (the load never finished).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     (Path(d) / ".store.old-1-0123abcd").mkdir()
    ...     (Path(d) / ".store.old-1-0123abcd" / "CURRENT").write_text("MANIFEST-000005")
    ...     (Path(d) / ".store.old-2-mine").mkdir()  # a user's, however alike
    ...     interrupted_swap(Path(d) / "store").name
    15
    '.store.old-1-0123abcd'
    """
    path = Path(path)
    if path.exists():
        return None
    # only a folder named as swap_folder names it, holding a store (review 42: a user's '.store.old-mine' was moved
    # to the store's path)
    old = [
        p
        for p in swap_leftovers(path)
        if ".old-" in p.name and p.is_dir() and not p.is_symlink() and (p / "CURRENT").is_file()
    ]
    return max(old, key=lambda p: p.stat().st_ctime) if old else None


def swap_leftovers(path: str | Path) -> list[Path]:
    """What loads of the store at ``path`` may leave beside it, by the exact names they give (sorted): a new store
    being written (``.<name>.loading-<32 hex>``, its ``.nq`` and ``.pack``) and an old one parked by
    :func:`swap_folder` (``.<name>.old-<time>-<8 hex>``). Nothing else, however alike its name (review 42: a user's
    '.store.old-backup' was removed, and 'store[1]' taken as a pattern matched another store's load).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     for n in (".s.old-12-0a1b2c3d", ".s.old-mine", ".s.loading-" + "a" * 32 + ".nq", ".s1.loading-x", ".s.loading-notes"):
    ...         (Path(d) / n).mkdir()
    ...     [p.name for p in swap_leftovers(Path(d) / "s")]
    ['.s.loading-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.nq', '.s.old-12-0a1b2c3d']
    """
    path = Path(path)
    # ".tmp": where RocksDB builds the checkpoint of the old store before it names it (review 44)
    ours = re.compile(
        rf"\.{re.escape(path.name)}\.(?:loading-[0-9a-f]{{32}}(?:\.nq|\.pack|\.tmp)?|old-[0-9]+-[0-9a-f]{{8}})"
    )
    try:
        return sorted(p for p in path.parent.iterdir() if ours.fullmatch(p.name))
    except OSError:
        return []


def swap_folder(new: Path, path: Path, between: Callable[[], None] | None = None) -> None:
    """Put the folder ``new`` at ``path``; the old folder (if any) ends up at ``new``.

    One atomic exchange where the system has it (Linux ``renameat2(RENAME_EXCHANGE)``);
    elsewhere two renames, the old folder parked as ``.<name>.old-<time>-<id>``,
    which :func:`interrupted_swap` finds if a crash comes between them. ``between``
    (tests) runs there, and forces the two renames.
    """
    if not path.exists():
        new.rename(path)
        return
    if between is None and _exchange(new, path):
        return
    trash = path.parent / f".{path.name}.old-{time.time_ns()}-{uuid.uuid4().hex[:8]}"
    path.rename(trash)
    if between is not None:
        between()  # a crash here leaves no folder at `path`: interrupted_swap() finds `trash`
    new.rename(path)
    trash.rename(new)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False where not supported."""
    libc = _libc()
    if libc is None or not hasattr(libc, "renameat2"):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(b))


def stamp(path: Path) -> list[int] | None:
    """A regular file's size and modification time (ns), never through a link: what ``kg build``'s record and
    ``kg publish``'s marker keep of a file they wrote, to tell it from one changed since (None: no such file)."""
    try:
        st = path.lstat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns] if stat.S_ISREG(st.st_mode) else None


def move(src: str | Path, dst: str | Path, replace: bool = True) -> None:
    """Rename ``src`` to ``dst`` in one step, replacing what is there (or, without ``replace``, never)."""
    if replace:
        os.replace(src, dst)
    else:
        rename_noreplace(src, dst)


def rename_noreplace(src: str | Path, dst: str | Path) -> None:
    """Rename ``src`` to ``dst`` only if nothing is there; :class:`FileExistsError` otherwise, nothing moved.

    Atomic where the system can (Linux ``renameat2(RENAME_NOREPLACE)``, files
    and folders); elsewhere a file goes through a hard link, which also fails
    on anything in the way; only where neither exists is it a check, then a
    rename (a file created between the two would be replaced).
    """
    libc = _libc()
    if libc is not None and hasattr(libc, "renameat2"):
        at_fdcwd, rename_noreplace_flag = -100, 1
        if libc.renameat2(at_fdcwd, os.fsencode(src), at_fdcwd, os.fsencode(dst), rename_noreplace_flag) == 0:
            return
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise (FileExistsError if err == errno.EEXIST else OSError)(err, os.strerror(err), str(dst))
    if not os.path.isdir(src):
        try:
            os.link(src, dst, follow_symlinks=False)
        except FileExistsError:
            raise
        except OSError:
            pass  # no hard links on this file system
        else:
            os.unlink(src)
            return
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst))
    os.rename(src, dst)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library on Linux (looked up once: finding it runs a program), else None."""
    name = ctypes.util.find_library("c") if platform.system() == "Linux" else None
    return ctypes.CDLL(name, use_errno=True) if name else None
