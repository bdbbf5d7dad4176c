"""kg serve and kg publish: IRIs that dereference, for people and machines, over real HTTP and in a real browser."""

from __future__ import annotations

import http.client
import posixpath
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import html5lib
import pyoxigraph as ox
import pytest

from kg.dataset import Dataset
from kg.media import RDF_SYNTAXES
from kg.query.formats import cell
from kg.web import pages
from kg.web.site import Site

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import kg_serve  # noqa: E402

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
TRIAL = "https://w3id.org/trialkg/trial/isoda-2018"


@pytest.fixture(scope="module")
def server():
    with kg_serve("--timeout", "3", "--max-rows", "300") as base:
        yield base


@pytest.fixture(scope="module")
def site():
    return Site(Dataset.build())


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def raw_get(url: str, accept: str | None = None):
    """GET without following redirects: (status, headers, body)."""
    opener = urllib.request.build_opener(NoRedirect)
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with opener.open(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def get(url: str, accept: str | None = None):
    """GET following redirects, as a linked-data client does."""
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, r.headers, r.read(), r.geturl()


def path_of(site, iri):
    """The path of a resource IRI on the server (the IRI's own; "ontology/" not its page's "ontology/index")."""
    assert site.path_of(iri) is not None
    return "/" + iri[len(site.base) :]


# ---- content negotiation for every resource --------------------------------------------------


@pytest.mark.slow
def test_every_resource_dereferences_in_every_rdf_format(server, site):
    store = site.store
    resources = list(site.resources())
    assert len(resources) > 150
    for iri in resources:
        own = {
            ox.Triple(q.subject, q.predicate, q.object)
            for q in store.quads_for_pattern(ox.NamedNode(iri), None, None, None)
        } | {t for t in site.extra if t.subject == ox.NamedNode(iri)}  # the description, held by the site
        graph = site.document_graph(iri)  # an ontology's or a graph's IRI: the graph whole
        if graph is not None:
            own |= {q.triple for q in store.quads_for_pattern(None, None, None, ox.NamedNode(graph))}
        assert own
        for syntax in RDF_SYNTAXES:
            media, suffix, fmt = syntax.media, syntax.suffix, syntax.format
            status, headers, body, final = get(server + path_of(site, iri), media)
            assert status == 200 and headers["Content-Type"].startswith(media), (iri, media)
            assert final.endswith("." + suffix)
            got = {ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(body, format=fmt, base_iri=iri)}
            assert own <= got, f"{iri} as {media} lacks its own triples"


def _turtle_at(url: str) -> set[ox.Triple]:
    status, headers, body, final = get(url, "text/turtle")
    assert status == 200 and headers["Content-Type"].startswith("text/turtle") and final.endswith(".ttl"), url
    return {q.triple for q in ox.parse(body, format=ox.RdfFormat.TURTLE)}


def test_the_ontology_iri_and_its_version_iri_give_the_whole_ontology(server):
    """OWL 2: an ontology is retrieved from its IRI (and its version IRI); Protege, ROBOT or an owl:imports read
    what the IRI answers, which was the ten-line header and no class (review 37)."""
    from kg import resources

    onto = resources.ontology_file("trialkg.ttl").read_bytes()
    declared = {q.triple for q in ox.parse(onto, format=ox.RdfFormat.TURTLE)}
    classes = {t.subject for t in declared if t.object == ox.NamedNode("http://www.w3.org/2002/07/owl#Class")}
    assert len(classes) > 20
    for path in ("/ontology/", "/ontology/0.1.0"):
        got = _turtle_at(server + path)
        assert declared <= got, f"{path}: {len(declared - got)} of the ontology's triples missing"
    status, _, _ = raw_get(server + "/ontology/0.2.0", "text/turtle")
    assert status == 404


def test_a_graph_name_gives_the_graph(server):
    """An N-Quads graph name (graph/SLUG) dereferences to that graph: a quad's provenance can be followed."""
    from kg import resources

    (entry,) = [f for f in resources.trial_files() if f.name == "isoda-2018.ttl"]
    stated = {q.triple for q in ox.parse(entry.read_bytes(), format=ox.RdfFormat.TURTLE)}
    got = _turtle_at(server + "/graph/isoda-2018")
    named = {t for t in stated if not isinstance(t.subject, ox.BlankNode) and not isinstance(t.object, ox.BlankNode)}
    assert named <= got and len(got) >= len(stated)
    status, _, _ = raw_get(server + "/graph/no-such-publication", "text/turtle")
    assert status == 404
    _, _, html, _ = get(server + "/graph/isoda-2018", "text/html")  # a page that says what the graph holds
    html5lib.HTMLParser(strict=True).parse(html)
    assert b"This IRI names a graph" in html and b'href="../trial/isoda-2018.html"' in html


def test_303_with_vary_and_html_for_browsers(server, site):
    status, headers, _ = raw_get(server + "/trial/isoda-2018", BROWSER_ACCEPT)
    assert status == 303 and headers["Location"].endswith("/trial/isoda-2018.html")
    assert "Accept" in headers["Vary"]
    status, headers, body, _ = get(server + "/trial/isoda-2018", BROWSER_ACCEPT)
    assert headers["Content-Type"].startswith("text/html")
    html5lib.HTMLParser(strict=True).parse(body)
    for iri in list(site.resources())[::7]:
        status, headers, body, _ = get(server + path_of(site, iri), BROWSER_ACCEPT)
        assert status == 200 and headers["Content-Type"].startswith("text/html"), iri


def test_q_values_are_honoured(server):
    _, h, _ = raw_get(server + "/trial/isoda-2018", "text/turtle;q=0.5, application/ld+json;q=0.9, text/html;q=0.1")
    assert h["Location"].endswith(".jsonld")
    _, h, _ = raw_get(server + "/trial/isoda-2018", "application/rdf+xml, text/turtle;q=0")
    assert h["Location"].endswith(".rdf")
    _, h, _ = raw_get(server + "/trial/isoda-2018", "text/*")
    assert h["Location"].endswith(".html") or h["Location"].endswith(".ttl")


def test_404_and_406(server):
    status, _, body = raw_get(server + "/trial/no-such-trial", "text/turtle")
    assert status == 404
    status, _, body = raw_get(server + "/trial/isoda-2018.ttl.bak")
    assert status == 404
    status, headers, body = raw_get(server + "/trial/isoda-2018", "image/png")
    assert status == 406
    for media in ["text/html", "text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml"]:
        assert media in body.decode()


# ---- the landing page, VoID, SPARQL ------------------------------------------------------------


def test_landing_page_and_void(server):
    _, headers, body, _ = get(server + "/")
    page = body.decode()
    html5lib.HTMLParser(strict=True).parse(body)
    assert "trial/isoda-2018.html" in page and "sparql?query=" in page
    _, headers, body, _ = get(server + "/.well-known/void")
    assert headers["Content-Type"].startswith("text/turtle")
    triples = list(ox.parse(body, format=ox.RdfFormat.TURTLE))
    assert any(t.object.value == "http://rdfs.org/ns/void#Linkset" for t in triples)
    # every query link on the landing page runs
    for href in re.findall(r'href="(sparql\?query=[^"]+)"', page):
        status, _, data, _ = get(server + "/" + href.replace("&amp;", "&"))
        assert status == 200 and data


@pytest.mark.parametrize(
    "accept,media",
    [
        ("application/sparql-results+json", "application/sparql-results+json"),
        ("application/sparql-results+xml", "application/sparql-results+xml"),
        ("text/csv", "text/csv"),
        ("text/tab-separated-values", "text/tab-separated-values"),
    ],
)
def test_sparql_protocol_get_and_post(server, accept, media):
    q = 'SELECT ?s WHERE { ?s a <https://w3id.org/trialkg/ontology/ClinicalTrial> ; <https://w3id.org/trialkg/ontology/slug> "isoda-2018" }'
    _, h, body, _ = get(server + "/sparql?" + urllib.parse.urlencode({"query": q}), accept)
    assert h["Content-Type"].startswith(media)
    cors = urllib.request.Request(
        server + "/sparql?" + urllib.parse.urlencode({"query": q}),
        headers={"Accept": accept, "Origin": "https://example.org"},
    )
    with urllib.request.urlopen(cors, timeout=30) as r:
        assert r.headers["Access-Control-Allow-Origin"] == "*", "CORS lets other sites' pages query the endpoint"
    fmt = {
        "application/sparql-results+json": ox.QueryResultsFormat.JSON,
        "application/sparql-results+xml": ox.QueryResultsFormat.XML,
        "text/csv": ox.QueryResultsFormat.CSV,
        "text/tab-separated-values": ox.QueryResultsFormat.TSV,
    }[media]
    if media == "text/csv":  # CSV results are lossy: read them as a table
        import csv
        import io

        assert [r["s"] for r in csv.DictReader(io.StringIO(body.decode()))] == [TRIAL]
        return
    rows = list(ox.parse_query_results(body, format=fmt))
    assert [r["s"].value for r in rows] == [TRIAL]
    req = urllib.request.Request(
        server + "/sparql",
        data=q.encode(),
        method="POST",
        headers={"Content-Type": "application/sparql-query", "Accept": accept},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        assert [x["s"].value for x in ox.parse_query_results(r.read(), format=fmt)] == [TRIAL]


def test_sparql_construct_and_ask(server):
    q = f"CONSTRUCT {{ <{TRIAL}> ?p ?o }} WHERE {{ <{TRIAL}> ?p ?o }}"
    _, h, body, _ = get(server + "/sparql?" + urllib.parse.urlencode({"query": q}), "text/turtle")
    assert len(list(ox.parse(body, format=ox.RdfFormat.TURTLE))) > 20
    _, h, body, _ = get(
        server + "/sparql?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"}), "application/sparql-results+json"
    )
    assert b"true" in body


# ---- hostile requests get a 4xx and the server keeps serving -------------------------------------


def _status(server, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(server.split("//")[1], timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.mark.parametrize(
    "path",
    [
        "/../../etc/passwd",
        "/trial/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/trial/%2e%2e/%2e%2e/etc/passwd",
        "/trial/isoda-2018%00.ttl",
        "/" + "a" * 1_000_000,
    ],
)
def test_hostile_paths(server, path):
    status = _status(server, "GET", path)
    assert 400 <= status < 500, status
    assert raw_get(server + "/trial/isoda-2018", "text/turtle")[0] == 303


def test_hostile_accept(server):
    for accept in [";;;,,q=foo/", "text/turtle;q=2", "*/*;q=-1", "x" * 10000, "\x7f"]:
        status = _status(server, "GET", "/trial/isoda-2018", headers={"Accept": accept})
        assert status in (303, 400, 406), (accept, status)
        if accept in ("text/turtle;q=2", "*/*;q=-1"):
            assert status == 406
    assert raw_get(server + "/")[0] == 200


def test_sparql_refuses_updates(server):
    for body, ctype in [
        (b"update=DROP+ALL", "application/x-www-form-urlencoded"),
        (b"DROP ALL", "application/sparql-update"),
        (
            b"query=" + urllib.parse.quote_plus("INSERT DATA { <a:b> <a:c> <a:d> }").encode(),
            "application/x-www-form-urlencoded",
        ),
    ]:
        assert _status(server, "POST", "/sparql", body, {"Content-Type": ctype}) == 403
    assert _status(server, "GET", "/sparql?update=DROP%20ALL") == 403
    _, _, body, _ = get(
        server + "/sparql?" + urllib.parse.urlencode({"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"}),
        "text/csv",
    )
    assert int(body.decode().split()[1]) > 1000, "the data is still there"


@pytest.mark.slow
def test_sparql_timeout_and_cap(server):
    forever = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # runs long in constant memory
    start = time.time()
    assert _status(server, "GET", "/sparql?" + urllib.parse.urlencode({"query": forever})) == 408
    assert time.time() - start < 15
    assert _status(server, "GET", "/sparql?" + urllib.parse.urlencode({"query": "SELECT * WHERE { ?s ?p ?o }"})) == 413
    assert _status(server, "GET", "/sparql?" + urllib.parse.urlencode({"query": "SELECT * WHERE { ?s ?p }"})) == 400
    assert raw_get(server + "/")[0] == 200


# ---- the trial page in a real headless browser --------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(*args: str, tmp: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp / 'profile'}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_trial_page_in_headless_chromium(server, tmp_path):
    url = server + "/trial/isoda-2018"
    dom = chromium("--dump-dom", url, tmp=tmp_path).stdout
    for needle in ["61%", "13.8", "10.7", "30.7", "1.3 mg/m2", "not reached"]:
        assert needle in dom, needle
    assert 'href="https://doi.org/10.1007/s12185-018-2448-9"' in dom
    assert "<svg" in dom and 'id="response-chart"' in dom and 'id="survival-chart"' in dom
    assert '"@type": "MedicalTrial"' in dom
    shot = tmp_path / "trial.png"
    chromium("--window-size=1000,2400", f"--screenshot={shot}", url, tmp=tmp_path)
    assert shot.exists() and shot.stat().st_size > 10_000


def _page(server_or_site, iri=TRIAL):
    return pages.page(server_or_site, iri)


def test_svg_marks_match_the_graph(site):
    page = pages.page(site, TRIAL)
    bars = re.findall(
        r'<rect class="bar"[^>]*height="([\d.]+)"[^>]*data-count="(\d*)" data-share="([\d.]+)" data-size="(\d*)"', page
    )
    assert not [c for _, c, _, _ in bars if c], "counts over a population of unknown size are never drawn as shares"
    percents = sorted(round(float(s), 1) for _, c, s, _ in bars if not c)
    assert percents == [6.0, 6.0, 17.0, 33.0]
    heights = {round(float(h) / float(s), 6) for h, _, s, _ in bars}
    assert len(heights) == 1, "bar heights are proportional to shares"
    undrawn = re.search(r"Not drawn, because the size of their denominator is not stated:(.*?)</p>", page, re.S).group(
        1
    )
    for needle in [
        "1 patient with stringent complete response",
        "2 patients with very good partial response",
        "3 patients with partial remission",
        "3 patients with stable disease",
    ]:
        assert needle in undrawn, needle
    assert undrawn.count("of completed the 1-year maintenance") == 4
    m = re.search(r'id="survival-chart"[^>]*data-left="([\d.]+)" data-scale="([\d.]+)"', page)
    left, scale = float(m.group(1)), float(m.group(2))
    rows = site.rows("efficacy", trial=TRIAL)
    cis = {
        cell(r["statistic"]).rsplit("/", 1)[-1]: (float(cell(r["ci_lower"])), float(cell(r["ci_upper"])))
        for r in rows
        if r.get("ci_lower")
    }
    lines = re.findall(
        r'<line class="ci" x1="([\d.]+)" y1="[\d.]+" x2="([\d.]+)"[^>]*data-lower="([\d.]+)" data-upper="([\d.]+)"',
        page,
    )
    assert {(float(lo), float(hi)) for _, _, lo, hi in lines} == set(cis.values())
    for x1, x2, lo, hi in lines:
        assert abs(float(x1) - (left + float(lo) * scale)) < 0.01 and abs(float(x2) - (left + float(hi) * scale)) < 0.01
    medians = re.findall(r'<circle class="median" cx="([\d.]+)"[^>]*data-value="([\d.]+)"', page)
    assert sorted(float(v) for _, v in medians) == [10.7, 13.8]
    for cx, v in medians:
        assert abs(float(cx) - (left + float(v) * scale)) < 0.01
    assert page.count('class="not-reached"') == 1, "overall survival is an open-ended arrow"
    os_line = re.search(r'<line class="not-reached"[^>]*data-statistic="([^"]+)"><title>([^<]*)</title>', page)
    assert os_line.group(1).endswith("/os-from-induction")
    assert not re.search(r"\d", os_line.group(2)), "no number is drawn for a median that was not reached"
    assert "os-from-induction" not in " ".join(re.findall(r'<circle class="median"[^>]*>', page))


def test_a_time_axis_holds_medians_in_its_unit_and_no_chart_is_drawn_empty(tmp_path):
    """A trial page's time-to-event chart marks medians only (a hazard ratio, a rate at a time point or a figure
    of no stated kind is no point on a time axis), all in the axis's unit; a trial with no response category (only
    a response rate) or no median has no empty chart. The packaged trials and a synthetic randomized trial."""
    from kg import sources

    rct = Path(__file__).parent / "data" / "rct"
    for ds in (Dataset.build(), Dataset.build(sources.files([rct]))):
        here = Site(ds)
        for study in ds.studies():
            page = pages.page(here, study.value)
            rows = here.rows("efficacy", trial=study.value)
            kinds = {r["statistic"].value: (cell(r.get("type_term")), cell(r.get("unit"))) for r in rows}
            marked = re.findall(r'class="(?:median|not-reached)"[^>]*data-statistic="([^"]+)"', page)
            chart = re.search(r'<svg[^>]*id="survival-chart".*?</svg>', page, re.S)
            assert bool(marked) == bool(chart), study.value
            assert {kinds[m][0] for m in marked} <= {"NCIT:C28007"}, (study.value, marked)
            assert len({kinds[m][1] for m in marked}) <= 1, "one unit on one axis"
            medians = [r for r in rows if cell(r.get("type_term")) == "NCIT:C28007" and r.get("origin")]
            assert bool(medians) == bool(chart), study.value
            if chart:
                assert f"({kinds[marked[0]][1]}s)" in chart.group(0), "the axis is in its marks' unit"
            response = re.search(r'<svg[^>]*id="response-chart".*?</svg>', page, re.S)
            assert response is None or 'class="bar"' in response.group(0), study.value
    sun = pages.page(Site(Dataset.build()), "https://w3id.org/trialkg/study/sun-2017")
    assert "Hazard Ratio" in sun and 'id="survival-chart"' not in sun, "its hazard ratios are no medians"


def test_a_time_axis_takes_the_unit_most_of_its_medians_have():
    """Review 36: the axis took the first median's unit, so one median in weeks listed first dropped every median in
    months from the chart. The commonest unit is the axis's; the others stay in the table."""
    from kg.web.figures import survival_chart

    def median(name: str, value: str, unit: str) -> dict:
        return {
            "statistic": ox.NamedNode(f"https://example.org/{name}"),
            "label": ox.Literal(name),
            "value": ox.Literal(value),
            "unit": ox.Literal(unit),
            "origin": ox.Literal("randomization"),
        }

    svg, items = survival_chart([median("a", "8", "week"), median("b", "14", "month"), median("c", "20", "month")])
    assert [i["statistic"].rsplit("/", 1)[-1] for i in items] == ["b", "c"] and "(months)" in svg


# ---- the static site ------------------------------------------------------------------------------


@pytest.mark.slow
def test_static_site(kg, tmp_path):
    from kg.web.site import CONTEXT

    out = tmp_path / "site"
    r = kg("publish", "--static", str(out))
    assert r.returncode == 0, r.stderr
    pages = list(out.rglob("*.html"))
    assert len(pages) > 150
    parser = html5lib.HTMLParser(strict=True)
    for p in pages:
        parser.parse(p.read_bytes())
    for suffix, fmt in [
        ("ttl", ox.RdfFormat.TURTLE),
        ("nt", ox.RdfFormat.N_TRIPLES),
        ("jsonld", ox.RdfFormat.JSON_LD),
        ("rdf", ox.RdfFormat.RDF_XML),
    ]:
        files = list(out.rglob(f"*.{suffix}"))
        # every page has its RDF, but the landing page, the evidence pages and the study listing (generated views,
        # not resources)
        views = ("evidence", "studies")
        assert len(files) >= len([p for p in pages if p.relative_to(out).parts[0] not in views]) - 1
        for f in files:
            if f.relative_to(out).as_posix() == CONTEXT:
                continue  # the JSON-LD context documents compact with: no triples of its own
            assert list(ox.parse(path=str(f), format=fmt, base_iri="https://w3id.org/trialkg/")), f
    # crawl every relative link from the landing page
    seen, todo, broken = set(), ["index.html"], []
    while todo:
        rel = todo.pop()
        if rel in seen:
            continue
        seen.add(rel)
        if not rel.endswith(".html"):
            continue
        for href in re.findall(r'href="([^"]+)"', (out / rel).read_text()):
            if href.startswith(("http://", "https://", "mailto:")):
                continue
            target = posixpath.normpath(posixpath.join(posixpath.dirname(rel), href.split("#")[0]))
            if target.startswith(".."):
                broken.append((rel, href))
            elif not (out / target).exists():
                broken.append((rel, href))
            else:
                todo.append(target)
    assert broken == []
    assert len(seen) > 150, "the crawl reaches the resources from the landing page"
    assert {
        "evidence/progression-free-survival.html",
        "evidence/overall-survival.html",
        "evidence/adverse-events.html",
    } <= seen, "and the evidence pages, with every link on them"
    ht = (out / ".htaccess").read_text()
    # every offered format is negotiated to (a real Apache serves these rules: tests/test_apache.py)
    assert "R=303" in ht and all(f"TKG_SUFFIX:{x}" in ht for x in ("html", "ttl", "nt", "jsonld", "rdf"))


def test_labels_kept_between_pages_are_the_stores(site):
    """A site keeps recent terms' labels (the journal every publication names is labelled once per publication);
    what it answers from them is what a fresh site asks of the store, for terms with labels and without."""
    rows = ox.Store.query(
        site.store, "SELECT DISTINCT ?s WHERE { ?s ?p ?o FILTER(isIRI(?s)) }", use_default_graph_as_union=True
    )
    terms = sorted(r["s"].value for r in rows)[:300] + ["https://w3id.org/trialkg/no-such-term"]
    warm = Site(site.dataset)
    warm.labels(terms[::3])  # some asked before, some not
    assert any(not ls for ls in warm.label_cache.values()), "a term without a label is kept as such"
    assert warm.labels(terms) == Site(site.dataset).labels(terms)
    assert warm.labels(terms[::3]) == Site(site.dataset).labels(terms[::3])


@pytest.mark.parametrize("slug", ["ontology", "void", "index"])
def test_a_file_named_as_a_reserved_graph_is_refused_in_one_line(kg, tmp_path, slug):
    """graph/ontology and graph/void are the ontology's and the description's; a file index.ttl made graph/index,
    which the site reads as graph/'s page, so its graph could never be had (review 40)."""
    from kg import resources

    (entry,) = [f for f in resources.trial_files() if f.name == "isoda-2018.ttl"]
    (tmp_path / f"{slug}.ttl").write_bytes(entry.read_bytes())
    r = kg("validate", str(tmp_path / f"{slug}.ttl"))
    assert r.returncode == 2 and f"its graph name {slug!r} is already used by" in r.stderr, r.stderr


def test_a_figure_at_a_time_after_its_origin_says_when_on_the_trial_page(site):
    """Review 43: a figure at a time after its origin ("3-year PFS 55.6%", "at day 14") showed '–' as its time on
    the trial page, where `kg summary` and the evidence page say 'at 3 years'. Every such figure of every packaged
    study's efficacy rows says its time on its study's page, in the words of the summary."""
    from kg.query.formats import cell, plural

    rows = [r for r in site.dataset.run("efficacy", {}).rows if r.get("timepoint_value")]
    assert rows, "the packaged studies have such figures, or this proves nothing"
    for trial in {r["trial"].value for r in rows}:
        page = pages.page(site, trial)
        for r in (r for r in rows if r["trial"].value == trial):
            when = f"at {plural(cell(r['timepoint_value']), cell(r['timepoint_unit']))}"
            assert when in page, (trial, when)
