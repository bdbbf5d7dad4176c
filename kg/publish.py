"""``kg publish --static DIR``: every page and per-resource RDF file, for any static host.

Links are relative, so the folder works under any path. The ``.htaccess``
(Apache, as w3id.org uses) gives the same content negotiation as ``kg serve``:
a resource IRI answers 303 to its ``.html``, ``.ttl``, ``.nt``, ``.jsonld`` or
``.rdf`` document by the request's Accept header.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pyoxigraph as ox

from kg import catalog
from kg.errors import InputError
from kg.site import RDF_MEDIA, Site

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
    rules = []
    for media, (suffix, _) in RDF_MEDIA.items():
        pattern = media.replace("+", "\\+").replace(".", "\\.")
        rules.append(RULE.format(pattern=pattern, suffix=suffix))
    return HTACCESS.format(rules="".join(rules))


def publish(out_dir: str | Path, store: ox.Store | None = None) -> tuple[Path, int]:
    """Write the static site into ``out_dir`` (replaced as a whole); returns the folder and the file count."""
    from kg.describe import describe
    from kg.engines import execute
    from kg.query import bind
    from kg.results import serialize
    from kg.serve import build_store

    store = build_store(store)
    site = Site(store)
    out = Path(out_dir)
    tmp = Path(tempfile.mkdtemp(prefix=".kg-publish-", dir=out.parent if out.parent.exists() else None))
    count = 0

    def write(rel: str, data: str | bytes) -> None:
        nonlocal count
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        count += 1

    try:
        write("index.html", site.index(static=True))
        write("void.ttl", ox.serialize(describe(store), format=ox.RdfFormat.TURTLE))
        write(".htaccess", htaccess())
        for iri in site.resources():
            path = site.path_of(iri)
            write(f"{path}.html", site.page(iri))
            for media, (suffix, _) in RDF_MEDIA.items():
                write(f"{path}.{suffix}", site.rdf(iri, media))
        for name, q in catalog.catalog().items():
            write(f"queries/{name}.rq", q.text)
            if not any(p.required for p in q.parameters):
                result = execute(q.text, bind(q, {}), data=None)
                write(f"queries/{name}.csv", serialize(result, "csv"))
        if out.exists():
            shutil.rmtree(out)
        tmp.replace(out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise InputError(f"{out}: cannot write the site: {exc.strerror or exc}") from exc
    return out, count
