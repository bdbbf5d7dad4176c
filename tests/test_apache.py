"""The static site's ``.htaccess`` and the w3id.org rules, served by a real Apache, answer as ``kg serve`` does.

A real Apache httpd (Debian's ``apache2``, ``tests/apache.py``: loopback, ``mod_rewrite``,
``AllowOverride All``, its own configuration, never root) serves the folder ``kg publish --static
--hosted-at`` wrote, with the site's own ``.htaccess``, and a w3id.org-like folder whose
``trialkg/.htaccess`` is the ``w3id.htaccess`` written for that host. For one IRI of every pattern
the graph uses (``trial/x``, ``trial/x/statistic``, ``publication/x``, ``ontology/``,
``ontology/Term``...), an IRI it does not have, an evidence page and a document, and for Accept
headers from browsers, curl, RDF libraries and edge cases (q-values, wildcards, q=0, nothing
acceptable), Apache and ``kg serve`` give the same status, the same ``Location`` path, the same
``Content-Type`` and the same ``Vary``; following a 303 gives the same document. Through the
w3id.org rules, every IRI answers 303 to the hosted document ``kg serve`` chooses, or 406.

Error pages are Apache's own, so for 404 and 406 only the status and ``Vary`` are compared.
"""

from __future__ import annotations

import http.client
import sys
import urllib.parse
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apache  # noqa: E402
from servers import kg_serve  # noqa: E402

ACCEPTS = [
    None,
    "text/html",
    "text/turtle",
    "application/n-triples",
    "application/ld+json",
    "application/rdf+xml",
    "*/*",
    "text/*",
    "application/*",
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
    "text/turtle, application/n-triples;q=0.9, application/ld+json;q=0.8, application/rdf+xml;q=0.7, */*;q=0.1",
    "application/ld+json, text/turtle;q=0.5",
    "application/rdf+xml;q=0.9, text/turtle;q=0.8",
    "text/html;q=0.9, text/turtle",
    "text/turtle;q=0, */*",
    "text/turtle;q=0.05",
    "application/n-triples;q=0.001, text/html;q=0",
    "text/turtle;charset=utf-8",
    "TEXT/TURTLE",
    "application/json",
    "image/png",
    # review 48: a space after ';' hid the q-value from the rules (HTML at q=0.5 won over Turtle at 1)
    "text/turtle, text/html; q=0.5",
    "text/html; q=0, */*",
    "text/turtle ; q=0.7 , text/html ; q=0.6",
]


def get(base: str, path: str, accept: str | None) -> tuple[int, dict[str, str], bytes]:
    """One GET, redirects not followed; the status, headers (lower-case names) and body."""
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    headers = {} if accept is None else {"Accept": accept}
    try:
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def vary(headers: dict[str, str]) -> set[str]:
    """The Vary header's field names, but Origin: kg serve's CORS middleware varies on it, while the static
    site allows every origin alike (Access-Control-Allow-Origin: *), so there is no Origin to vary on."""
    return {v.strip().lower() for v in headers.get("vary", "").split(",") if v.strip()} - {"origin"}


def location_path(headers: dict[str, str]) -> str:
    return urllib.parse.urlsplit(headers["location"]).path


def patterns(iris: list[str], base: str) -> dict[tuple, str]:
    """One IRI path per pattern: (first segment, number of segments, ends in a slash)."""
    out: dict[tuple, str] = {}
    for iri in sorted(iris):
        path = iri[len(base) :]
        out.setdefault((path.split("/")[0], path.count("/"), path.endswith("/")), path)
    return out


@pytest.fixture(scope="module")
def servers():
    why = apache.missing()
    if why:
        pytest.skip(why)
    from kg.dataset import Dataset
    from kg.web.publish import publish
    from kg.web.site import Site

    root = apache.workdir()
    site_dir, w3id_dir = root / "site", root / "w3id"
    (w3id_dir / "trialkg").mkdir(parents=True)
    server = apache.Apache(root, [site_dir, w3id_dir])
    try:
        publish(site_dir, Dataset.build(), hosted_at=server.url(0) + "/")
        (w3id_dir / "trialkg" / ".htaccess").write_text((site_dir / "w3id.htaccess").read_text())
        try:
            server.start()
        except RuntimeError as exc:
            pytest.skip(f"Apache did not start: {exc}")
        site = Site(Dataset.build())
        with kg_serve() as kg_base:
            yield {"apache": server.url(0), "w3id": server.url(1) + "/trialkg", "kg": kg_base, "site": site}
    finally:
        server.stop()
        import shutil

        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def paths(servers) -> list[str]:
    site = servers["site"]
    found = patterns(site.resources(), site.base)
    assert len(found) >= 8, found  # trial, statistic, publication, its parts, study, journal, ontology...
    assert any(p.endswith("/") for p in found.values())  # an IRI ending in "/" (the ontology's)
    evidence = "evidence/progression-free-survival"
    odd = ["ontology/index", "trial%2Fisoda-2018"]  # a document's name; an encoded slash (RFC 3986): not IRIs
    # the landing page and the evidence index are pages only: no RDF to negotiate to (review 48: 303 to a 404)
    pages_only = ["", "evidence/", "ontology/context.jsonld"]  # and the JSON-LD context, a file
    return sorted(found.values()) + [evidence, "trial/no-such-trial", "trial/isoda-2018.ttl", *odd, *pages_only]


@pytest.mark.slow  # starts Apache and kg serve
def test_the_site_answers_every_iri_pattern_as_kg_serve(servers, paths):
    compared = 0
    for path in paths:
        for accept in ACCEPTS:
            want = get(servers["kg"], "/" + path, accept)
            got = get(servers["apache"], "/" + path, accept)
            where = f"{path} with Accept {accept!r}"
            assert got[0] == want[0], f"{where}: Apache {got[0]}, kg serve {want[0]}"
            assert vary(got[1]) == vary(want[1]), f"{where}: Vary {got[1].get('vary')!r} vs {want[1].get('vary')!r}"
            if want[0] in (404, 406):
                compared += 1
                continue
            if want[0] == 303:
                assert location_path(got[1]) == location_path(want[1]), f"{where}: Location"
                target = location_path(want[1])
                want, got = get(servers["kg"], target, accept), get(servers["apache"], target, accept)
                assert got[0] == want[0] == 200, f"{where} -> {target}: {got[0]} vs {want[0]}"
                assert vary(got[1]) == vary(want[1]), f"{where} -> {target}: Vary"
            assert got[1].get("content-type") == want[1].get("content-type"), f"{where}: Content-Type"
            if not want[1].get("content-type", "").startswith("text/html"):
                assert got[2] == want[2], f"{where}: the documents differ"
            compared += 1
    assert compared == len(paths) * len(ACCEPTS)
    statuses = {get(servers["kg"], "/" + p, a)[0] for p in paths for a in (None, "image/png")}
    assert {303, 404, 406} <= statuses  # each kind of answer was compared


@pytest.mark.slow  # starts Apache and kg serve
def test_the_site_allows_every_origin_on_redirects_and_refusals_too(servers):
    """A browser checks CORS on a 303 as on the document it leads to (Fetch standard): the site's redirects and
    406s said nothing (Apache drops headers not set "always" on them), kg serve's allowed every origin."""
    for path, accept, status in (("/trial/isoda-2018", "text/turtle", 303), ("/trial/isoda-2018", "image/png", 406)):
        for name in ("kg", "apache"):
            got = get_with(servers[name], path, {"Accept": accept, "Origin": "https://example.org"})
            assert got[0] == status and got[1].get("access-control-allow-origin") == "*", (name, path, accept, got[:2])


def get_with(base: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}
    finally:
        conn.close()


@pytest.mark.slow
def test_the_w3id_rules_send_every_iri_to_the_hosted_document_kg_serve_chooses(servers, paths):
    hosted = servers["apache"]
    for path in paths:
        for accept in ACCEPTS:
            want = get(servers["kg"], "/" + path, accept)
            got = get(servers["w3id"], "/trialkg/" + path, accept)
            where = f"w3id.org/trialkg/{path} with Accept {accept!r}"
            if want[0] == got[0] == 404:
                continue  # an encoded slash: w3id.org's Apache refuses it itself (AllowEncodedSlashes Off)
            if want[0] == 406 or (want[0] == 404 and got[0] == 406):
                # w3id.org cannot see whether the host has an IRI: one without a page is negotiated too
                assert got[0] == 406 and vary(got[1]) == {"accept"}, where
                continue
            assert got[0] in (302, 303), f"{where}: {got[0]}"
            assert got[1]["location"].startswith(hosted + "/"), got[1]["location"]
            followed = get(hosted, location_path(got[1]), accept)
            if want[0] == 404:
                assert followed[0] == 404, where  # w3id.org cannot see the host's files: the host says 404
                continue
            if want[0] == 303:
                assert got[0] == 303 and vary(got[1]) == vary(want[1]), where
                assert location_path(got[1]) == location_path(want[1]), f"{where}: Location"
                want = get(servers["kg"], location_path(want[1]), accept)
            assert followed[0] == want[0] == 200, where
            assert followed[1].get("content-type") == want[1].get("content-type"), where


def test_w3id_rules_name_the_host_and_refuse_a_bad_one():
    from kg.errors import InputError
    from kg.web.publish import w3id_htaccess

    rules = w3id_htaccess("https://example.org/trialkg-site/")
    assert "https://example.org/trialkg-site/$1.%{ENV:TKG_SUFFIX} [R=303,L]" in rules and "//$1" not in rules
    for bad in ("ftp://x", "https://x y", "https://x/$1", "example.org"):
        with pytest.raises(InputError):
            w3id_htaccess(bad)


@pytest.mark.slow  # writes a whole site
def test_publish_hosted_at_writes_the_w3id_rules_for_that_host(kg, tmp_path):
    r = kg("publish", "--static", str(tmp_path / "site"), "--hosted-at", "https://example.org/trialkg-site/")
    assert r.returncode == 0, r.stderr
    rules = (tmp_path / "site" / "w3id.htaccess").read_text()
    assert "trialkg/.htaccess" in rules and "RewriteEngine on" in rules
    assert "https://example.org/trialkg-site/$1.%{ENV:TKG_SUFFIX} [R=303,L]" in rules
    assert "example.org" not in (tmp_path / "site" / ".htaccess").read_text()
    bad = kg("publish", "--static", str(tmp_path / "other"), "--hosted-at", "ftp://x y")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "other").exists()


@pytest.mark.slow  # starts Apache and kg serve
def test_what_the_description_names_is_there(servers, tmp_path):
    """Review 37: the description's dumps (void:dataDump, dcat:downloadURL) and the mapping table (SSSOM
    mapping_set_id) answered 404, and so did /.well-known/void on the site. Each is a document of the site now, the
    dumps as `kg build` writes them; the mapping table and the description as kg serve sends them."""
    import json

    import pyoxigraph as ox

    from kg import export
    from kg.build import build
    from kg.dataset import Dataset
    from kg.describe import DISTRIBUTIONS

    site = servers["site"]
    void = [q.triple for q in ox.parse(get(servers["kg"], "/void.ttl", None)[2], format=ox.RdfFormat.TURTLE)]
    dumps = {t.object.value for t in void if t.predicate.value == "http://rdfs.org/ns/void#dataDump"}
    assert len(dumps) == len(DISTRIBUTIONS)
    built = tmp_path / "built"
    build(Dataset.build(), built)
    for dump in dumps:
        path = "/" + dump[len(site.base) :]
        status, headers, body = get(servers["apache"], path, None)
        assert status == 200, (path, status)
        assert body == (built / path.rsplit("/", 1)[-1]).read_bytes(), f"{path}: not what kg build writes"
    for path in ("/mappings.sssom.tsv", "/.well-known/void", "/ontology/context.jsonld"):
        want, got = get(servers["kg"], path, None), get(servers["apache"], path, None)
        assert want[0] == got[0] == 200 and want[2] == got[2], path
    # review 48: the JSON-LD context the export compacts with was at no address; it is the packaged one
    status, headers, body = get(servers["kg"], "/ontology/context.jsonld", None)
    assert headers["content-type"].startswith("application/ld+json") and json.loads(body) == export.context()
    hosted = servers["apache"]
    for path in [*("/" + d[len(site.base) :] for d in dumps), "/mappings.sssom.tsv"]:  # through w3id.org's rules
        status, headers, _ = get(servers["w3id"], "/trialkg" + path, "text/turtle")
        assert status == 302 and headers["location"] == hosted + path, (path, status, headers.get("location"))
