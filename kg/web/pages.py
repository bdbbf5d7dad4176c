"""HTML pages (Jinja2): the dataset's landing page, a trial's page and a generic resource page.

Everything a page says comes from the ready-made queries on the site's
dataset; the templates hold layout and fixed captions only.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote

import pyoxigraph as ox

from kg import __version__
from kg.errors import InputError
from kg.prefixes import DCT, NCIT, SCHEMA, TKG, compact
from kg.query import catalog
from kg.query.formats import cell, level, number, p_value, plural, quantity
from kg.rdf import value
from kg.sparql import select
from kg.web.figures import forest_plot, median_chart, rate_chart, response_chart, survival_chart
from kg.web.site import EVIDENCE as SITE_EVIDENCE
from kg.web.site import MAX_DESCRIPTION, PAGE_SIZE, STUDIES, Site, Study

RESOLVER_NAMES = {
    "NCIT": "NCIt",
    "CHEBI": "ChEBI",
    "MONDO": "MONDO",
    "HP": "HPO",
    "UO": "UO",
    "DOID": "DOID",
    "DRUGBANK": "DrugBank",
    "MESH": "MeSH",
    "WIKIDATA": "Wikidata",
    "OBI": "OBI",
    "IAO": "IAO",
    "STATO": "STATO",
    "DOI": "DOI",
}


@lru_cache(maxsize=1)
def _env():
    try:
        import jinja2
    except ImportError:  # pragma: no cover - depends on the install
        raise InputError("HTML pages need jinja2: pip install 'trialkg[serve]'") from None
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("kg.web", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["quantity"] = quantity
    return env


def page(site: Site, iri: str) -> str:
    """The resource's HTML page (cached on the site: the dataset is read-only there)."""
    key = ("html", iri)
    if key in site.cache:
        return site.cache[key]
    render = render_trial if TKG + "Study" in site.types(iri) else render_resource
    html = site.cache[key] = render(site, iri)
    return html


def _common(site: Site, path: str) -> dict:
    root = posixpath.relpath(".", posixpath.dirname(path) or ".")
    return {"root": root, "version": __version__, "base": site.base}


def _term(site: Site, path: str, term) -> dict:
    """A term for display: label, link (relative for our resources, resolver for external), CURIE."""
    if term is None:
        return {"label": "", "href": None, "curie": ""}
    if isinstance(term, ox.BlankNode):  # a resource without a name (an inline selector): no page, no label
        return {"label": f"_:{term.value}", "href": None, "curie": ""}
    iri = getattr(term, "value", str(term))
    curie = compact(iri)
    prefix = curie.split(":", 1)[0] if curie != iri else ""
    return {
        "label": site.label(iri),
        "href": site.link(path, iri),
        "curie": curie,
        "resolver": RESOLVER_NAMES.get(prefix, ""),
    }


def index(site: Site, static: bool = False) -> str:
    """The landing page: the counts, the designs with their numbers of studies, the first page of the study listing,
    the evidence pages and the ready-made queries (cached: the dataset is read-only here)."""
    key = ("index", static)
    if key in site.cache:
        return site.cache[key]
    path = "index"
    designs, total = _designs(site, path)
    queries = []
    for name, q in sorted(catalog.catalog().items()):
        runnable = not any(p.required for p in q.parameters)
        if static:
            run = f"queries/{name}.csv" if runnable else None
        else:
            run = f"sparql?query={quote(q.text)}&format=csv" if runnable else None
        queries.append({"name": name, "summary": q.summary, "run_href": run, "text_href": f"queries/{name}.rq"})
    html = site.cache[key] = (
        _env()
        .get_template("index.html")
        .render(
            **_common(site, path),
            title="trialkg",
            designs=designs,
            listing=_listing(site, path, 1, site.studies(0, PAGE_SIZE), total),
            evidence_href=VIEWS + ".html",
            queries=queries,
            stats=site.dataset.statistics,
            static=static,
            void_href="void.ttl",
        )
    )
    return html


#: the page listing the evidence pages (the landing page links to it: what they are costs a pass over the corpus)
VIEWS = SITE_EVIDENCE + "index"


def views_page(site: Site) -> str:
    """The list of evidence pages (:func:`evidence_views`) with their numbers of figures and studies (cached)."""
    key = ("views",)
    if key in site.cache:
        return site.cache[key]
    here = SITE_EVIDENCE.rstrip("/")
    evidence = [
        {
            "href": posixpath.relpath(v.path + ".html", here),
            "title": v.title,
            "statistics": v.statistics,
            "studies": v.studies,
        }
        for v in evidence_views(site)
    ]
    html = site.cache[key] = (
        _env()
        .get_template("views.html")
        .render(**_common(site, VIEWS), title="Evidence across publications", evidence=evidence)
    )
    return html


def _designs(site: Site, path: str) -> tuple[list[dict], int]:
    """The designs with their numbers of studies and the listing page each starts on; the listing's length."""
    out, start = [], 0
    for iri, label, studies in site.designs():
        page_no = start // PAGE_SIZE + 1
        out.append({"label": label, "studies": studies, "href": _page_href(path, page_no), "term": iri})
        start += studies
    return out, start


def pages_of(total: int) -> int:
    """How many listing pages ``total`` rows take (at least one)."""
    return max(1, -(-total // PAGE_SIZE))


def _page_href(from_path: str, page_no: int) -> str:
    return posixpath.relpath(f"{STUDIES}page-{page_no}.html", posixpath.dirname(from_path) or ".")


def _listing(site: Site, path: str, page_no: int, rows: list[Study], total: int) -> dict:
    """One page of the study listing for a template: studies grouped by design, with their publications, and links
    to the first, previous, next and last pages and to a few around this one (plain links, no script)."""
    pubs: dict[str, list[str]] = {}
    if rows:
        values = " ".join(str(ox.NamedNode(s.iri)) for s in rows)
        for r in select(
            site.store,
            f"SELECT DISTINCT ?s ?p WHERE {{ VALUES ?s {{ {values} }} ?s <{TKG}describedIn> ?p }} ORDER BY ?s ?p",
        ):
            pubs.setdefault(value(r["s"]), []).append(value(r["p"]))
    designs: list[dict] = []
    for s in rows:
        if not designs or designs[-1]["design"] != s.design:
            designs.append({"design": s.design, "studies": []})
        designs[-1]["studies"].append(
            {
                "href": site.link(path, s.iri),
                "label": s.label,
                "publications": [_term(site, path, ox.NamedNode(p)) for p in pubs.get(s.iri, [])],
            }
        )
    last = pages_of(total)
    around = range(max(1, page_no - 4), min(last, page_no + 4) + 1)
    return {
        "page": page_no,
        "pages": last,
        "total": total,
        "first_row": (page_no - 1) * PAGE_SIZE + 1 if rows else 0,
        "last_row": (page_no - 1) * PAGE_SIZE + len(rows),
        "designs": designs,
        "links": {
            "first": _page_href(path, 1) if page_no > 1 else None,
            "previous": _page_href(path, page_no - 1) if page_no > 1 else None,
            "next": _page_href(path, page_no + 1) if page_no < last else None,
            "last": _page_href(path, last) if page_no < last else None,
        },
        "around": [{"page": n, "href": _page_href(path, n), "here": n == page_no} for n in around],
    }


def studies_page(site: Site, page_no: int, rows: list[Study] | None = None, total: int | None = None) -> str | None:
    """The listing page ``studies/page-N`` (None past the last page). ``rows`` and ``total``: given when known (a
    static site writes every page from one pass over the listing); else asked of the store (one page of it)."""
    if total is None:
        total = sum(n for _iri, _label, n in site.designs())
    if page_no < 1 or page_no > pages_of(total):
        return None
    path = f"{STUDIES}page-{page_no}"
    if rows is None:
        rows = site.studies((page_no - 1) * PAGE_SIZE, PAGE_SIZE)
    return (
        _env()
        .get_template("studies.html")
        .render(
            **_common(site, path),
            title=f"Studies, page {page_no} of {pages_of(total)}",
            page_size=PAGE_SIZE,
            listing=_listing(site, path, page_no, rows, total),
        )
    )


def render_resource(site: Site, iri: str) -> str:
    """A generic page: the resource's properties and values, linked, and what links to it (bounded)."""
    path = site.path_of(iri) or ""
    rows = []
    description = site.cbd(iri)
    for t in description:
        if value(t.subject) != iri:
            continue
        obj = t.object
        if hasattr(obj, "datatype"):
            shown = {"label": value(obj), "href": None, "curie": "", "literal": True}
        else:
            shown = _term(site, path, obj)
        rows.append({"predicate": _term(site, path, t.predicate), "value": shown})
    rows.sort(key=lambda r: (r["predicate"]["curie"], r["value"]["label"]))
    incoming, more = site.incoming(iri)
    referenced_by = [
        {"subject": _term(site, path, ox.NamedNode(s)), "predicate": _term(site, path, ox.NamedNode(p))}
        for s, p in incoming
    ]
    return (
        _env()
        .get_template("resource.html")
        .render(
            **_common(site, path),
            title=site.label(iri),
            iri=iri,
            curie=compact(iri),
            rows=rows,
            cut=len(description) >= MAX_DESCRIPTION,
            referenced_by=referenced_by,
            incoming_cut=more,
            formats=_formats(path),
        )
    )


def _formats(path: str) -> list[dict]:
    from kg.media import RDF_SYNTAXES

    name = posixpath.basename(path)
    return [{"label": s.label, "href": f"{name}.{s.suffix}"} for s in RDF_SYNTAXES]


def render_trial(site: Site, iri: str) -> str:
    """A trial's page: design, regimen, outcomes with denominators and quotes, figures, adverse events, citations."""
    path = site.path_of(iri) or ""
    summary: dict[str, list[str]] = {}
    for r in site.rows("trial-summary", trial=iri):
        summary.setdefault(cell(r["item"]).split(" ", 1)[1], []).append(cell(r["value"]))
    quotes = {r["statistic"].value: cell(r["quote"]) for r in site.rows("provenance")}
    efficacy_rows = site.rows("efficacy", trial=iri)
    efficacy: list[dict] = []  # endpoint -> findings -> reports, in the query's order (endpoint, time)
    for r in efficacy_rows:
        stat = r["statistic"].value
        report = {
            "href": site.link(path, stat),
            "label": cell(r["label"]),
            "type": cell(r["type"]),
            "value": cell(r.get("value")),
            "not_reached": cell(r.get("notReached")) == "true",
            "unit": cell(r.get("unit")),
            "ucum": cell(r.get("ucum")),
            "population": cell(r.get("population")),
            "size": cell(r.get("size")),
            "basis": cell(r.get("basis")),
            "basis_reason": cell(r.get("basis_reason")),
            "origin": cell(r.get("origin")),
            "timepoint": cell(r.get("timepoint")),
            "assessed": cell(r.get("assessed")),
            "phase": cell(r.get("phase")),
            "phase_inferred": cell(r.get("phase_basis")).startswith("inferred"),
            "arm": cell(r.get("arm")),
            "effect": (
                f"{cell(r['exposure'])} vs {cell(r['reference'])}"
                + (f", {p_value(cell(r.get('p_comparator')), cell(r['p_value']))}" if r.get("p_value") else "")
                if r.get("exposure")
                else ""
            ),
            "ci": (
                f"{level(cell(r['ci_level']))} CI {cell(r['ci_lower'])}–{cell(r['ci_upper'])}"
                if r.get("ci_level")
                else ""
            ),
            "source": _term(site, path, r["source"]),
            "quote": quotes.get(stat, ""),
            "note": cell(r.get("note")),
            "differs": cell(r.get("differs")) == "true",
        }
        endpoint = cell(r["endpoint"])
        if not efficacy or efficacy[-1]["endpoint"] != endpoint:
            efficacy.append({"endpoint": endpoint, "findings": []})
        findings = efficacy[-1]["findings"]
        key = r["finding"].value if r.get("finding") else stat
        if not findings or findings[-1]["key"] != key:
            findings.append(
                {
                    "key": key,
                    "title": cell(r.get("finding_label")),
                    "reports": [],
                    "href": site.link(path, key) if r.get("finding") else "",
                }
            )
        findings[-1]["reports"].append(report)
    safety = [
        {
            k: cell(r.get(k))
            for k in (
                "event",
                "terms",
                "as_reported",
                "grade",
                "patients",
                "percent",
                "effect",
                "effect_type",
                "exposure",
                "reference",
                "ci_lower",
                "ci_upper",
                "population",
                "size",
                "arm",
                "basis",
                "phase",
                "attribution",
                "note",
            )
        }
        | {
            "source": _term(site, path, r["source"]),
            "quote": quotes.get(r["item"].value, ""),
            "phase_inferred": cell(r.get("phase_basis")).startswith("inferred"),
            "p": p_value(cell(r.get("p_comparator")), cell(r.get("p_value"))),
        }
        for r in site.rows("adverse-events", trial=iri)
    ]
    comparisons = [
        {
            "href": site.link(path, r["comparison"].value),
            "label": cell(r.get("label")),
            "endpoint": cell(r.get("endpoint_label")),
            "kind": cell(r.get("kind")),
            "groups": cell(r.get("groups")),
            "figures": cell(r.get("figures")),
            "when": cell(r.get("when")),
            "p": p_value(cell(r.get("p_comparator")), cell(r.get("p_value"))),
            "significance": cell(r.get("significance")),
            "test": cell(r.get("test")),
            "source": _term(site, path, r["source"]),
            "quote": cell(r.get("quote")),
        }
        for r in site.rows("comparisons", trial=iri)
    ]
    terms: dict[str, list[dict]] = {}
    for r in site.rows("trial-terms", trial=iri):
        terms.setdefault(cell(r["role"]), []).append(_term(site, path, r["term"]))
    citations = []
    by_pub: dict[str, list] = {}
    for r in site.rows("citation"):  # the publications this trial is described in, not every one in the graph
        if r.get("trial") is not None and r["trial"].value == iri:
            by_pub.setdefault(r["publication"].value, []).append(r)
    for pub, rows in by_pub.items():
        first = rows[0]
        named = ", ".join(dict.fromkeys(cell(r.get("author")) for r in rows if r.get("author") is not None))
        # no page showed the authors: the publication's own label stands for them (never a name filled in)
        authors = (
            (named + (", et al." if cell(first["complete"]) == "false" else "")) if named else cell(first.get("label"))
        )
        doi = cell(first.get("doi"))
        citations.append(
            {
                "href": site.link(path, pub),
                "authors": authors,
                "title": cell(first.get("title")),
                "journal": cell(first.get("journal")),
                "epub": cell(first.get("epub")),
                "status": cell(first.get("status")),
                "doi": doi,
                "doi_url": f"https://doi.org/{doi}" if doi else "",
                "cited_by": _term(site, path, first.get("cited_by")) if first.get("cited_by") else None,
            }
        )
    here = posixpath.dirname(path) or "."
    evidence = {v.title if v.topic else "": posixpath.relpath(v.path + ".html", here) for v in evidence_views(site)}
    claims = [
        {
            "href": site.link(path, r["claim"].value),
            "text": cell(r["text"]),
            "who": cell(r.get("attributed_to")),
            "quote": cell(r.get("quote")) if cell(r.get("quote")) != cell(r["text"]) else "",
        }
        for r in site.rows("claims", trial=iri)
    ]
    response_svg, _bars, undrawn = response_chart(site.rows("response-distribution", trial=iri))
    survival_svg, _items = survival_chart(efficacy_rows)
    return (
        _env()
        .get_template("trial.html")
        .render(
            **_common(site, path),
            title=site.label(iri),
            iri=iri,
            curie=compact(iri),
            summary=summary,
            efficacy=efficacy,
            comparisons=comparisons,
            safety=safety,
            claims=claims,
            citations=citations,
            terms=terms,
            response_svg=response_svg,
            undrawn=undrawn,
            survival_svg=survival_svg,
            evidence=evidence,
            schema_org=schema_org(site, iri),
            formats=_formats(path),
        )
    )


#: schema.org (release 30.0) type of each kind of study; any other study is a MedicalStudy
STUDY_TYPES = {TKG + "ClinicalTrial": "MedicalTrial", TKG + "ObservationalStudy": "MedicalObservationalStudy"}
#: design characteristics that are schema.org MedicalTrialDesign members (the value of a MedicalTrial's trialDesign)
TRIAL_DESIGNS = {NCIT + "C217005": SCHEMA + "MultiCenterTrial"}  # NCIt "Multicenter Study"
#: the page's own JSON-LD context: schema.org terms as https://schema.org/ IRIs (the graph's scheme; schema.org's
#: published context maps them to http://schema.org/), URL-valued properties as IRIs. Inline: no fetch needed.
SCHEMA_CONTEXT = {
    "@vocab": SCHEMA,
    "additionalType": {"@type": "@id"},
    "sameAs": {"@type": "@id"},
    "url": {"@type": "@id"},
}
CITO_CITES = "http://purl.org/spar/cito/cites"


def _objects(site: Site, iri: str, predicate: str) -> list[str]:
    """The values of one property of a resource, sorted."""
    return sorted(
        value(q.object) for q in site.store.quads_for_pattern(ox.NamedNode(iri), ox.NamedNode(predicate), None, None)
    )


def _one_or_many(items: list):
    return items[0] if len(items) == 1 else items


def schema_org(site: Site, study: str) -> str:
    """schema.org JSON-LD for a study page: only schema.org 30.0 terms, each within its domain and range.

    The study is a MedicalTrial, MedicalObservationalStudy or MedicalStudy (with the
    schema.org types the graph gives it), with its name; healthCondition (a
    MedicalCondition with its MedicalCode); studySubject (each Drug: schema.org's
    ``drug`` belongs to conditions and procedures, not studies); additionalType (the
    phase as the NCIt class of such trials: schema.org has no phase property);
    trialDesign (a MedicalTrialDesign member, e.g. MultiCenterTrial, on a
    MedicalTrial); sameAs (its registry records); subjectOf (the publications that
    describe it, each with its schema.org type from the graph, sameAs and url; a
    ``citation`` is said by the citing work, a CreativeWork).
    """
    types = site.types(study)
    kind = next((v for k, v in STUDY_TYPES.items() if k in types), "MedicalStudy")
    study_types = sorted({t[len(SCHEMA) :] for t in types if t.startswith(SCHEMA)} | {kind})
    terms: dict[str, list[tuple[str, str]]] = {}
    for r in site.rows("trial-terms", trial=study):
        terms.setdefault(cell(r["role"]), []).append((r["term"].value, cell(r["label"])))
    doc: dict = {
        "@context": SCHEMA_CONTEXT,
        "@type": _one_or_many(study_types),
        "@id": study,
        "name": site.label(study),
    }
    if terms.get("phase"):
        doc["additionalType"] = [iri for iri, _ in terms["phase"]]
    designs = [{"@id": TRIAL_DESIGNS[iri]} for iri, _ in terms.get("design", []) if iri in TRIAL_DESIGNS]
    if designs and "MedicalTrial" in study_types:
        doc["trialDesign"] = _one_or_many(designs)
    conditions = []
    for iri, label in terms.get("condition", []):
        curie = compact(iri)
        code = {"@type": "MedicalCode", "codeValue": curie}
        if curie != iri:
            code["codingSystem"] = curie.split(":", 1)[0]
        conditions.append({"@type": "MedicalCondition", "@id": iri, "name": label, "code": code})
    if conditions:
        doc["healthCondition"] = conditions
    drugs = [{"@type": "Drug", "@id": iri, "name": label} for iri, label in terms.get("drug", [])]
    if drugs:
        doc["studySubject"] = drugs
    registrations = _objects(site, study, TKG + "registration")
    if registrations:
        doc["sameAs"] = registrations
    works = []
    for pub in _objects(site, study, TKG + "describedIn"):
        work: dict = {
            "@type": _one_or_many(
                sorted(t[len(SCHEMA) :] for t in site.types(pub) if t.startswith(SCHEMA)) or ["CreativeWork"]
            ),
            "@id": pub,
            "name": next(iter(_objects(site, pub, DCT + "title")), site.label(pub)),
        }
        for prop in ("sameAs", "url"):
            found = _objects(site, pub, SCHEMA + prop)
            if found:
                work[prop] = _one_or_many(found)
        cited = [{"@id": c} for c in _objects(site, pub, CITO_CITES)]
        if cited:
            work["citation"] = _one_or_many(cited)
        works.append(work)
    if works:
        doc["subjectOf"] = works
    return json.dumps(doc, indent=1, ensure_ascii=False).replace("</", "<\\/")


# ---- the evidence view: one page per endpoint (and one for adverse events), across publications --

EVIDENCE = SITE_EVIDENCE  # site path of the generated views (no graph resource has one)
ADVERSE_EVENTS = "adverse-events"
MEDIAN_TYPE = NCIT + "C28007"
HINT = "Hover over a mark, or reach it with the Tab key, to read the sentence it comes from; select it to open the statistic."


@dataclass(frozen=True)
class View:
    """One evidence page: an endpoint's statistics across publications, or every adverse-event figure."""

    slug: str
    title: str
    topic: str | None  # the endpoint's IRI; None for the adverse-events page
    statistics: int
    studies: int

    @property
    def path(self) -> str:
        """The page's site path, without suffix (``evidence/progression-free-survival``)."""
        return EVIDENCE + self.slug


def slugify(text: str) -> str:
    """A path segment from a label.

    >>> slugify("Progression-free Survival"), slugify("overall response (partial response or better)")
    ('progression-free-survival', 'overall-response-partial-response-or-better')
    """
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "endpoint"


def _evidence_rows(site: Site, topic: str | None) -> list[dict]:
    key = ("evidence-rows", topic)
    if key not in site.cache:
        if topic is None:
            site.cache[key] = [r for r in site.rows("evidence-statistics") if cell(r.get("role")) == "adverse event"]
        else:
            site.cache[key] = [
                r for r in site.rows("evidence-statistics", topic=topic) if cell(r.get("role")) == "endpoint"
            ]
    return site.cache[key]


def evidence_views(site: Site) -> list[View]:
    """Every evidence page: one per endpoint the graph's efficacy statistics measure, then adverse events.

    A page's path comes from its endpoint's label (``evidence/overall-survival``);
    two endpoints with one label get their CURIE's instead.
    """
    key = ("evidence-views",)
    if key in site.cache:
        return site.cache[key]
    views: list[View] = []
    taken = {ADVERSE_EVENTS}
    for r in site.rows("evidence-endpoints"):
        iri = r["endpoint"].value
        title = cell(r.get("endpoint_label")) or compact(iri)
        slug = slugify(title)
        if slug in taken:
            slug = slugify(compact(iri))
        while slug in taken:
            slug += "-"
        taken.add(slug)
        views.append(View(slug, title, iri, int(cell(r["statistics"])), int(cell(r["studies"]))))
    ae = _evidence_rows(site, None)
    if ae:
        title = f"{site.label(TKG + 'adverseEvent')}s"
        views.append(
            View(
                ADVERSE_EVENTS,
                title[:1].upper() + title[1:],
                None,
                len({r["statistic"].value for r in ae}),
                len({r["study"].value for r in ae}),
            )
        )
    site.cache[key] = views
    return views


def _number(text: str) -> float | None:
    return number(text)  # finite, or None: a value that is not a number is printed, never drawn


def _evidence_items(site: Site, path: str, rows: list[dict]) -> list[dict]:
    """One item per statistic (rows of several topics or quotes merged), in the query's order."""
    items: dict[str, dict] = {}
    for r in rows:
        stat = r["statistic"].value
        if stat in items:
            item = items[stat]
        else:
            c = {k: cell(v) for k, v in r.items()}
            level = _number(c.get("level", ""))
            interval = ""
            if c.get("lower"):
                interval = f"{c['interval']} {c['lower']}–{c['upper']}"
                if level is not None:
                    interval = f"{level * 100:g}% {interval}"
            not_reached = c.get("notReached") == "true"
            shown = (
                site.label(TKG + "notReached")
                if not_reached
                else quantity(c["value"], c.get("unit", ""), c.get("ucum", ""))
                if c.get("value")
                else ""
            )
            stated_origin = (
                c.get("origin", "")
                if r.get("origin_term") and r["origin_term"].value != TKG + "TimeOriginNotStated"
                else ""
            )
            if c.get("timepoint_value"):
                when = f"at {plural(c['timepoint_value'], c.get('timepoint_unit', ''))}"
                when += f" from {stated_origin}" if stated_origin else f" ({c['origin']})" if c.get("origin") else ""
            elif c.get("origin"):
                when = f"from {stated_origin}" if stated_origin else c["origin"]
            elif c.get("timepoint"):
                when = f"at {c['timepoint']}"
            elif c.get("phase"):
                when = f"during {c['phase']}"
            else:
                when = ""
            item = items[stat] = {
                "statistic": stat,
                "href": site.link(path, stat),
                "label": c.get("label", ""),
                "study": {"label": c.get("study_label", ""), "href": site.link(path, r["study"].value)},
                "design": c.get("design", ""),
                "type": r["type"].value if r.get("type") else "",
                "type_label": c.get("type_label", ""),
                "value": _number(c.get("value", "")),
                "not_reached": not_reached,
                "shown": shown,
                "unit": c.get("unit", ""),
                "ucum": c.get("ucum", ""),
                "group": (f"{c['exposure']} vs {c['reference']}" if c.get("exposure") else c.get("population", "")),
                "effect_scale": c.get("effect_scale", ""),
                "finding": r["finding"].value if r.get("finding") else "",
                "arm": c.get("arm", ""),
                "as_reported": c.get("as_reported", ""),
                "interval_label": c.get("interval", ""),
                "lower": _number(c.get("lower", "")),
                "upper": _number(c.get("upper", "")),
                "interval": interval,
                "p": p_value(c.get("p_comparator", ""), c.get("p_value", "")),
                "when": when,
                "origin": stated_origin,
                "time": _number(c.get("timepoint_value", "")),
                "time_unit": c.get("timepoint_unit", ""),
                "grade": c.get("grade", ""),
                "population": c.get("population", ""),
                "size": c.get("size", ""),
                "basis": c.get("basis", ""),
                "source": _term(site, path, r["source"]),
                "source_label": c.get("source_label", ""),
                "note": c.get("note", ""),
                "topics": [],
                "quotes": [],
            }
        topic, quote_text = cell(r.get("topic_label")), cell(r.get("quote"))
        if topic and topic not in item["topics"]:
            item["topics"].append(topic)
        if quote_text and quote_text not in item["quotes"]:
            item["quotes"].append(quote_text)
    for item in items.values():
        figure = " ".join(x for x in (item["type_label"], item["shown"]) if x)
        extra = "; ".join(x for x in (item["interval"], item["p"], item["when"]) if x)
        quoted = " ".join(f"“{q}”" for q in item["quotes"])
        item["tip"] = f"{item['label']}: {figure}{f' ({extra})' if extra else ''}. {quoted} ({item['source_label']})"
    return list(items.values())


def _per_finding(items: list[dict]) -> list[dict]:
    """One item per finding: twin reports of one result in several documents become its first report,
    naming every source (the table still lists each report)."""
    out: list[dict] = []
    seen: dict[str, dict] = {}
    for it in items:
        twin = seen.get(it["finding"]) if it["finding"] else None
        if twin is None:
            out.append(dict(it))
            if it["finding"]:
                seen[it["finding"]] = out[-1]
        elif it["source_label"] not in twin["source_label"].split(" + "):
            twin["source_label"] += f" + {it['source_label']}"
            twin["tip"] += f" Also reported: {it['tip']}"
    return out


def _evidence_figures(site: Site, view: View, items: list[dict]) -> list[dict]:
    """The SVG figures of a view: a forest plot of ratios, medians per unit, rates per time unit."""
    figures = []
    by_topic = view.topic is None  # on the adverse-events page a row is an event, not a group

    def row(it: dict, timed: bool = True) -> tuple[str, str]:
        """The row's label (the group, or the events on the adverse-events page) and its detail line."""
        origin = f"from {it['origin']}" if it["origin"] and timed else ""
        if by_topic:  # the source's own words where the code is broader or narrower than them
            event = it["as_reported"] or " + ".join(it["topics"])
            return event, " · ".join(x for x in (it["group"], origin, it["source_label"]) if x)
        return it["group"], " · ".join(x for x in (origin, it["source_label"]) if x)

    for scale in ("ratio", "difference"):
        effects = [it for it in items if it["effect_scale"] == scale and it["value"] is not None]
        if not effects:
            continue
        marks = []
        for it in effects:
            r, detail = row(it)
            right = f"{it['value']:g}" + (
                f" ({it['lower']:g}–{it['upper']:g})" if it["lower"] is not None and it["upper"] is not None else ""
            )
            marks.append(
                {
                    **it,
                    "row": r,
                    "detail": detail,
                    "right": f"{right} {it['p']}".strip(),
                    "data": {"value": f"{it['value']:g}"},
                }
            )
        types = list(dict.fromkeys(it["type_label"] for it in effects))
        intervals = list(dict.fromkeys(it["interval_label"] for it in effects if it["interval_label"]))
        log = scale == "ratio"
        title = f"{view.title}: {', '.join(types)}"
        figures.append(
            {
                "kind": "forest" if log else "difference",
                "svg": forest_plot(marks, title, f"{' / '.join(types)}{' (log scale)' if log else ''}", HINT, log=log),
                "caption": f"{', '.join(types)}: the estimate (square) and its {', '.join(intervals) or 'interval'} "
                f"(line), on a {'log' if log else 'linear'} axis; the dashed line at {1 if log else 0} is no "
                "difference between the groups.",
            }
        )
    once = _per_finding(items)  # twin reports of one finding: one mark, with both sources
    medians = [it for it in once if it["type"] == MEDIAN_TYPE and (it["value"] is not None or it["not_reached"])]
    for unit in dict.fromkeys(it["unit"] for it in medians):
        marks = []
        for it in (m for m in medians if m["unit"] == unit):
            r, detail = row(it)
            right = it["shown"] + (
                f" ({it['lower']:g}–{it['upper']:g})" if it["lower"] is not None and it["upper"] is not None else ""
            )
            marks.append(
                {
                    **it,
                    "row": r,
                    "detail": detail,
                    "right": right,
                    "interval": it["interval_label"],
                    "data": {"value": "" if it["value"] is None else f"{it['value']:g}"},
                }
            )
        label = marks[0]["type_label"]
        not_reached = site.label(TKG + "notReached")
        figures.append(
            {
                "kind": "median",
                "svg": median_chart(marks, f"{view.title}: {label} ({unit})", f"{label} ({unit})", not_reached, HINT),
                "caption": f"{label} (dot) with its interval (line) where the source gives one; an arrow "
                f"marks a {label.lower()} {not_reached}, never drawn as a number.",
            }
        )
    rates = [it for it in once if it["time"] is not None and it["ucum"] == "%" and it["value"] is not None]
    for unit in dict.fromkeys(it["time_unit"] for it in rates):
        groups: dict[tuple, dict] = {}
        for it in (x for x in rates if x["time_unit"] == unit):
            r, detail = row(it, timed=False)
            group = groups.setdefault(
                (it["study"]["href"], r, it["source_label"]), {"row": r, "detail": detail, "items": []}
            )
            group["items"].append(
                {**it, "right": it["shown"], "data": {"value": f"{it['value']:g}", "time": f"{it['time']:g}"}}
            )
        axis = f"{site.label(TKG + 'timePointValue')} ({unit})"
        figures.append(
            {
                "kind": "rate",
                "svg": rate_chart(list(groups.values()), f"{view.title}: {axis}", axis, HINT),
                "caption": "Each row one group: a rate sits at its time point, its height in the row the "
                "percentage (0 % at the bottom of the row, 100 % at the top).",
            }
        )
    return figures


def _evidence_comparisons(site: Site, path: str, view: View) -> list[dict]:
    """The comparisons of the figures of an endpoint page, each naming its groups, by study."""
    if view.topic is None:
        return []
    return [
        {
            "href": site.link(path, r["comparison"].value),
            "study": {"label": site.label(r["trial"].value), "href": site.link(path, r["trial"].value)},
            "label": cell(r.get("label")),
            "kind": cell(r.get("kind")),
            "groups": cell(r.get("groups")),
            "figures": cell(r.get("figures")),
            "when": cell(r.get("when")),
            "p": p_value(cell(r.get("p_comparator")), cell(r.get("p_value"))),
            "significance": cell(r.get("significance")),
            "test": cell(r.get("test")),
            "source": _term(site, path, r["source"]),
            "quote": cell(r.get("quote")),
        }
        for r in site.rows("comparisons", endpoint=view.topic)
    ]


def evidence_page(site: Site, slug: str) -> str | None:
    """The evidence page ``evidence/<slug>`` (cached), or None if there is no such view."""
    key = ("evidence", slug)
    if key in site.cache:
        return site.cache[key]
    view = next((v for v in evidence_views(site) if v.slug == slug), None)
    if view is None:
        return None
    path = view.path
    items = _evidence_items(site, path, _evidence_rows(site, view.topic))
    designs: list[dict] = []  # design -> study -> statistics, in the query's order
    for it in items:
        if not designs or designs[-1]["design"] != it["design"]:
            designs.append({"design": it["design"], "studies": []})
        studies = designs[-1]["studies"]
        if not studies or studies[-1]["href"] != it["study"]["href"]:
            studies.append({**it["study"], "rows": []})
        studies[-1]["rows"].append(it)
    site.cache[key] = (
        _env()
        .get_template("evidence.html")
        .render(
            **_common(site, path),
            title=view.title,
            view=view,
            topic=_term(site, path, ox.NamedNode(view.topic)) if view.topic else None,
            figures=_evidence_figures(site, view, items),
            comparisons=_evidence_comparisons(site, path, view),
            designs=designs,
            n_items=len(items),
            query_href=posixpath.relpath("queries/evidence-statistics.rq", EVIDENCE.rstrip("/")),
            others=[
                {"title": v.title, "href": posixpath.relpath(v.path + ".html", EVIDENCE.rstrip("/"))}
                for v in evidence_views(site)
                if v.slug != slug
            ],
        )
    )
    return site.cache[key]
