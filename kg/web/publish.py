"""``kg publish --static DIR``: every page and per-resource RDF file, for any static host.

Links are relative, so the folder works under any path. The ``.htaccess``
(Apache, as w3id.org uses) gives the same content negotiation as ``kg serve``:
a resource IRI answers 303 to its ``.html``, ``.ttl``, ``.nt``, ``.jsonld`` or
``.rdf`` document by the request's Accept header.

Nothing a user owns is ever deleted: the site is built in a new folder beside
``DIR`` and swapped in only if ``DIR`` is missing, empty, or holds exactly the
files an earlier ``kg publish`` wrote there (listed in its marker file,
``.trialkg-site.json``). Anything else in ``DIR`` is refused with one line and
nothing is touched.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from pathlib import Path, PurePosixPath

from kg import __version__, media
from kg.dataset import Dataset
from kg.errors import OutputError
from kg.query import catalog
from kg.query.formats import serialize
from kg.rdf import turtle
from kg.web import pages
from kg.web.site import Site

MARKER = ".trialkg-site.json"

HTACCESS = """# trialkg: content negotiation for resource IRIs (Apache mod_rewrite, w3id.org style).
# A resource IRI (no suffix) answers 303 See Other to the document in the requested format.
Options -MultiViews
AddType text/turtle .ttl
AddType application/n-triples .nt
AddType application/ld+json .jsonld
AddType application/rdf+xml .rdf
AddType application/sparql-query .rq
AddCharset utf-8 .html .ttl .nt .jsonld .rq .csv
Header append Vary Accept
Header set Access-Control-Allow-Origin "*"
RewriteEngine on
{rules}
# Browsers and everything else: the HTML page.
RewriteCond %{{REQUEST_FILENAME}}.html -f
RewriteRule ^ %{{REQUEST_URI}}.html [R=303,L]
"""

RULE = """RewriteCond %{{HTTP_ACCEPT}} {pattern}
RewriteCond %{{REQUEST_FILENAME}}.{suffix} -f
RewriteRule ^ %{{REQUEST_URI}}.{suffix} [R=303,L]
"""


def htaccess() -> str:
    """Apache rewrite rules giving the same content negotiation as ``kg serve``."""
    rules = []
    for syntax in media.RDF_SYNTAXES:
        pattern = syntax.media.replace("+", "\\+").replace(".", "\\.")
        rules.append(RULE.format(pattern=pattern, suffix=syntax.suffix))
    return HTACCESS.format(rules="".join(rules))


def foreign_entries(out: Path) -> list[str]:
    """What in ``out`` no earlier ``kg publish`` wrote: every entry, unless its marker lists them (sorted).

    Folders count too: only the folders that hold files of the site are its own.
    """
    try:
        written = set(json.loads((out / MARKER).read_text(encoding="utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        written = set()
    own = {MARKER, *written, *(str(parent) for w in written for parent in PurePosixPath(w).parents)}
    present = (p.relative_to(out).as_posix() for p in out.rglob("*"))
    return sorted(p for p in present if p not in own)


def check_target(out: Path) -> None:
    """Refuse, touching nothing, a target that is not missing, empty, or an earlier site of ours."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise OutputError(f"{out}: not a folder; kg publish writes only into a new, empty or earlier kg publish folder")
    if not out.exists() or not any(out.iterdir()):
        return
    foreign = foreign_entries(out)
    if foreign:
        raise OutputError(
            f"{out}: refusing to replace a folder kg publish did not make (it holds {foreign[0]}"
            f"{f' and {len(foreign) - 1} more' if len(foreign) > 1 else ''}, which kg publish did not "
            "write); give a new or empty folder"
        )


def publish(out_dir: str | Path, dataset: Dataset | None = None) -> tuple[Path, int]:
    """Write the static site of ``dataset`` (the packaged graph by default); returns the folder and file count."""
    out = Path(out_dir).absolute()
    check_target(out)
    site = Site((dataset or Dataset.build()).described())
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.kg-publish-", dir=out.parent))
    except OSError as exc:
        raise OutputError(f"{out}: cannot write the site: {exc.strerror or exc}") from None
    written: list[str] = []

    def write(rel: str, data: str | bytes) -> None:
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        written.append(rel)

    try:
        write("index.html", pages.index(site, static=True))
        write("void.ttl", turtle(site.dataset.description))
        write(".htaccess", htaccess())
        for iri in site.resources():
            path = site.path_of(iri)
            assert path is not None  # resources() holds only IRIs with a path
            write(f"{path}.html", pages.page(site, iri))
            for syntax in media.RDF_SYNTAXES:
                write(f"{path}.{syntax.suffix}", site.rdf(iri, syntax.media))
        for view in pages.evidence_views(site):
            write(f"{view.path}.html", pages.evidence_page(site, view.slug) or "")
        for name, q in catalog.catalog().items():
            write(f"queries/{name}.rq", q.text)
            if not any(p.required for p in q.parameters):
                write(f"queries/{name}.csv", serialize(site.dataset.run(q), "csv"))
        (tmp / MARKER).write_text(
            json.dumps({"tool": "trialkg", "version": __version__, "files": sorted(written)}, indent=1),
            encoding="utf-8",
        )
        _swap(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"{out}: cannot write the site: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out, len(written)


def _swap(new: Path, out: Path) -> None:
    """Put ``new`` at ``out``; the old folder (checked to be ours, or empty) goes only after the swap."""
    check_target(out)  # again, right before: nothing appeared there meanwhile
    if not out.exists():
        new.replace(out)
        return
    if not any(out.iterdir()):  # an empty folder keeps its identity (it may be someone's working directory)
        for entry in new.iterdir():
            entry.rename(out / entry.name)
        new.rmdir()
        return
    if _is_working_directory(out):  # `kg publish --static .`: renaming it would strand the user's shell
        trash = out.parent / f".{out.name}.kg-old-{uuid.uuid4().hex[:8]}"
        trash.mkdir()
        for entry in list(out.iterdir()):  # only an earlier site's files: check_target made sure
            entry.rename(trash / entry.name)
        for entry in new.iterdir():
            entry.rename(out / entry.name)
        new.rmdir()
        shutil.rmtree(trash, ignore_errors=True)
        return
    trash = out.parent / f".{out.name}.kg-old-{uuid.uuid4().hex[:8]}"
    out.rename(trash)
    new.rename(out)
    shutil.rmtree(trash, ignore_errors=True)


def _is_working_directory(path: Path) -> bool:
    """Whether ``path`` is this process's working directory (most likely the user's shell's too)."""
    try:
        return Path.cwd().resolve() == path.resolve()
    except OSError:
        return False
