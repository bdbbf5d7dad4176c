"""HTML pages (Jinja2): the dataset's landing page, a trial's page and a generic resource page.

Everything a page says comes from the ready-made queries on the site's
dataset; the templates hold layout and fixed captions only.
"""

from __future__ import annotations

import json
import posixpath
import re
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote, urlencode

import pyoxigraph as ox

from kg import __version__, evidence
from kg.errors import InputError
from kg.prefixes import DCT, NCIT, SCHEMA, SKOS, TKG, XSD, compact, to_iri
from kg.query import catalog, execute
from kg.query.formats import cell, level, number, p_value, plural, quantity, span
from kg.query.params import bind
from kg.query.result import Result
from kg.query.tokens import reads_named_graphs
from kg.rdf import value
from kg.sparql import select
from kg.web.figures import forest_plot, median_chart, rate_chart, response_chart, survival_chart
from kg.web.site import EVIDENCE as SITE_EVIDENCE
from kg.web.site import MAX_DESCRIPTION, MAX_INCOMING, PAGE_SIZE, STUDIES, Site, Study

if TYPE_CHECKING:
    import jinja2

    from kg.dataset import Dataset

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
def _env() -> jinja2.Environment:
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
        return str(site.cache[key])
    render = render_trial if TKG + "Study" in site.types(iri) else render_resource
    html = site.cache[key] = render(site, iri)
    return html


def _common(site: Site, path: str) -> dict[str, Any]:
    root = posixpath.relpath(".", posixpath.dirname(path) or ".")
    return {"root": root, "version": __version__, "base": site.base}


def _term(site: Site, path: str, term: ox.NamedNode | ox.BlankNode | ox.Literal | None) -> dict[str, Any]:
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
        return str(site.cache[key])
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
        return str(site.cache[key])
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


def _designs(site: Site, path: str) -> tuple[list[dict[str, Any]], int]:
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


def _listing(site: Site, path: str, page_no: int, rows: list[Study], total: int) -> dict[str, Any]:
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
    designs: list[dict[str, Any]] = []
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
        if isinstance(obj, ox.Literal):
            shown = {"label": value(obj), "href": None, "curie": "", "literal": True}
        elif isinstance(obj, ox.Triple):  # a quoted triple (RDF-star): no page, printed as written
            shown = {"label": str(obj), "href": None, "curie": ""}
        else:
            shown = _term(site, path, obj)
        rows.append({"predicate": _term(site, path, t.predicate), "value": shown})
    rows.sort(key=lambda r: (r["predicate"]["curie"], r["value"]["label"]))
    # an IRI naming a whole graph (graph/SLUG, the ontology's): its page lists what the graph describes (its RDF
    # documents hold the graph); a graph's page was an empty table (review 40)
    graph = site.document_graph(iri)
    in_graph = site.store.quads_for_pattern(None, None, None, ox.NamedNode(graph)) if graph else []
    described = sorted(
        {q.subject.value for q in in_graph if isinstance(q.subject, ox.NamedNode) and q.subject.value != iri},
        key=lambda x: (not x.startswith(site.base), x),  # the graph's own resources first, then terms it declares
    )
    holds = [_term(site, path, ox.NamedNode(x)) for x in described[:MAX_INCOMING]] if graph else []
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
            graph_size=len(description) if graph else 0,
            holds=holds,
            holds_cut=len(described) > len(holds),
            formats=_formats(path),
        )
    )


def _formats(path: str) -> list[dict[str, Any]]:
    from kg.media import RDF_SYNTAXES

    name = posixpath.basename(path)
    return [{"label": s.label, "href": f"{name}.{s.suffix}"} for s in RDF_SYNTAXES]


Rows = Callable[..., list[dict[str, Any]]]


#: the ready-made queries a study page asks; those with a scope (``#+ scope: trial``) are given the study
STUDY_QUERIES = (
    "trial-summary",
    "provenance",
    "efficacy",
    "adverse-events",
    "comparisons",
    "trial-terms",
    "citation",
    "claims",
    "response-distribution",
)


def _asked(name: str, params: dict[str, str]) -> tuple[str, ...]:
    return (name, *(f"{k}={v}" for k, v in sorted(params.items())))


def _page_rows_of(site: Site, study: str) -> Rows:
    """``rows(name, **params)``: a ready-made query's rows on the study's own graphs (:meth:`Dataset.of_studies`).

    Where the site isolates its queries, the graphs are gathered and every query of :data:`STUDY_QUERIES` asked in
    one forked child (one fork a page, not one a query; the serving process is free meanwhile); any other query,
    or every one on a site that does not isolate them, is asked when wanted.
    """
    scopes = [(name, catalog.get(name).scope) for name in STUDY_QUERIES]
    wanted = [(name, {scope: study} if scope == "trial" else {}) for name, scope in scopes]

    def ask(dataset: Dataset) -> dict[tuple[str, ...], list[dict[str, Any]]]:
        page = dataset.of_studies([study])
        page.isolated = False  # already in the child
        return {_asked(name, params): page.run(name, params).rows for name, params in wanted}

    answered: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    if site.dataset.isolated and not site.dataset.endpoint:
        answered = execute.in_child(ask, site.dataset, origin=f"the page of {compact(study)}")
    own: list[Dataset] = []

    def rows(name: str, **params: str) -> list[dict[str, Any]]:
        key = _asked(name, params)
        if key in answered:
            return answered[key]
        if not own:
            own.append(site.dataset.of_studies([study]))
        return own[0].run(name, params).rows

    return rows


def render_trial(site: Site, iri: str) -> str:
    """A trial's page: design, regimen, outcomes with denominators and quotes, figures, adverse events, citations.

    Its ready-made queries run on the trial's own graphs (:meth:`Dataset.of_studies`), so the page costs its trial,
    not the corpus (on 10,000 publications they took 70 s a page on the whole store).
    """
    path = site.path_of(iri) or ""
    rows = _page_rows_of(site, iri)
    summary: dict[str, list[str]] = {}
    for r in rows("trial-summary", trial=iri):
        summary.setdefault(cell(r["item"]).split(" ", 1)[1], []).append(cell(r["value"]))
    quotes = {r["statistic"].value: cell(r["quote"]) for r in rows("provenance")}
    efficacy_rows = rows("efficacy", trial=iri)
    efficacy: list[dict[str, Any]] = []  # endpoint -> findings -> reports, in the query's order (endpoint, time)
    for r in efficacy_rows:
        stat = r["statistic"].value
        report: dict[str, Any] = {
            "href": site.link(path, stat),
            "label": cell(r["label"]),
            "type": cell(r["type"]),
            "value": cell(r.get("value")),
            "not_reached": cell(r.get("notReached")) == "true",
            "events": plural(cell(r["events"]), "patient") if r.get("events") else "",
            "unit": cell(r.get("unit")),
            "ucum": cell(r.get("ucum")),
            "effect_scale": cell(r.get("effect_scale")),
            "population": cell(r.get("population")),
            "size": cell(r.get("size")),
            "basis": cell(r.get("basis")),
            "basis_reason": cell(r.get("basis_reason")),
            "origin": cell(r.get("origin")),
            "timepoint": cell(r.get("timepoint")),
            # a time after the origin ("at 14 days"), as `kg summary` says it (review 43: the page said nothing)
            "after": plural(cell(r["timepoint_value"]), cell(r.get("timepoint_unit")))
            if r.get("timepoint_value")
            else "",
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
                f"{level(cell(r['ci_level']))} CI {cell(r['ci_lower'])} to {_upper(r, 'ci_upper')}"
                if r.get("ci_level")
                else ""
            ),
            "range": (f"range {cell(r['range_lower'])} to {cell(r['range_upper'])}" if r.get("range_lower") else ""),
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
        reports = findings[-1]["reports"]
        if reports and reports[-1]["stat"] == stat:  # one statistic's second interval (a 95% and a 99% CI)
            for part in ("ci", "range", "effect"):
                if report[part] and report[part] not in reports[-1][part].split("; "):
                    both = [*filter(None, reports[-1][part].split("; ")), report[part]]
                    reports[-1][part] = "; ".join(sorted(both) if part == "ci" else both)  # 95% before 99%
            continue
        reports.append(report | {"stat": stat})
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
            "ci_upper": _upper(r, "ci_upper"),  # "not reached" where printed NR or NE
        }
        for r in rows("adverse-events", trial=iri)
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
        for r in rows("comparisons", trial=iri)
    ]
    terms: dict[str, list[dict[str, Any]]] = {}
    for r in rows("trial-terms", trial=iri):
        terms.setdefault(cell(r["role"]), []).append(_term(site, path, r["term"]))
    citations = []
    by_pub: dict[str, list[dict[str, Any]]] = {}
    for r in rows("citation"):  # the publications this trial is described in, not every one in the graph
        if r.get("trial") is not None and r["trial"].value == iri:
            by_pub.setdefault(r["publication"].value, []).append(r)
    for pub, pub_rows in by_pub.items():
        first = pub_rows[0]
        named = ", ".join(dict.fromkeys(cell(r.get("author")) for r in pub_rows if r.get("author") is not None))
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
    evidence = {v.title if v.topic else "": posixpath.relpath(v.path + ".html", here) for v in _slugs(site)}
    claims = [
        {
            "href": site.link(path, r["claim"].value),
            "text": cell(r["text"]),
            "who": cell(r.get("attributed_to")),
            "quote": cell(r.get("quote")) if cell(r.get("quote")) != cell(r["text"]) else "",
        }
        for r in rows("claims", trial=iri)
    ]
    response_rows = rows("response-distribution", trial=iri)
    response_svg, _bars, undrawn = response_chart(response_rows)
    # the scale its categories are read on, and how that is known ("inferred from its categories"), or none stated
    response_scales = sorted(
        {(cell(r.get("scale")), cell(r.get("scale_basis"))) for r in response_rows if r.get("scale")}
    )
    survival_svg, _items = survival_chart([r for r in efficacy_rows if _is(r.get("type_term"), MEDIAN_TYPE)])
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
            response_scales=response_scales,
            undrawn=undrawn,
            survival_svg=survival_svg,
            evidence=evidence,
            schema_org=schema_org(site, iri, rows),
            formats=_formats(path),
        )
    )


def _is(term: object, iri: str) -> bool:
    """Whether a row's cell is the IRI ``iri`` (an unbound cell or a literal is not)."""
    return isinstance(term, ox.NamedNode) and term.value == iri


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
    """The values of one property of a resource, sorted, each once (two files may state the same triple)."""
    return sorted(
        {value(q.object) for q in site.store.quads_for_pattern(ox.NamedNode(iri), ox.NamedNode(predicate), None, None)}
    )


def _one_or_many(items: list[Any]) -> Any:
    return items[0] if len(items) == 1 else items


def schema_org(site: Site, study: str, rows: Rows | None = None) -> str:
    """schema.org JSON-LD for a study page: only schema.org 30.0 terms, each within its domain and range.

    The study is a MedicalTrial, MedicalObservationalStudy or MedicalStudy (with the
    schema.org types the graph gives it), with its name; healthCondition (a
    MedicalCondition with its MedicalCode); studySubject (each Drug: schema.org's
    ``drug`` belongs to conditions and procedures, not studies); additionalType (the
    phase as the NCIt class of such trials: schema.org has no phase property);
    trialDesign (a MedicalTrialDesign member, e.g. MultiCenterTrial, on a
    MedicalTrial); sameAs (its registry records); subjectOf (the publications that
    describe it, each with its schema.org type from the graph, sameAs and url; a
    ``citation`` is said by the citing work, a CreativeWork). ``rows``: the study's own query rows (a trial page
    passes its own; else they are made here).
    """
    rows = rows or _page_rows_of(site, study)
    types = site.types(study)
    kind = next((v for k, v in STUDY_TYPES.items() if k in types), "MedicalStudy")
    study_types = sorted({t[len(SCHEMA) :] for t in types if t.startswith(SCHEMA)} | {kind})
    terms: dict[str, list[tuple[str, str]]] = {}
    for r in rows("trial-terms", trial=study):
        terms.setdefault(cell(r["role"]), []).append((r["term"].value, cell(r["label"])))
    doc: dict[str, Any] = {
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
        work: dict[str, Any] = {
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
    # inside <script> the text must hold no "</script" and no "<!--" (which turns the HTML parser's script state
    # into one where "<script" nests and the rest of the page became script: a label "<!--<script>" blanked its
    # page); "<", ">" and "&" only occur in JSON strings, where \u escapes read back as themselves
    text = json.dumps(doc, indent=1, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# ---- the evidence view: one page per endpoint (and one for adverse events), across publications --
#
# A view can hold tens of thousands of figures (a common endpoint of a large corpus), so a page of it is bounded:
# its counts by design, its filters' values and its studies come from the evidence index (kg/evidence.py, stored
# by `kg load`), one page of at most EVIDENCE_PAGE_SIZE studies is a slice of the view's studies (designs by label,
# each design's studies by IRI), and that page's figures come from the ready-made query evidence-statistics run on
# the page's own graphs (the publications its studies are stated in, and the ontology): what the query gives on
# the whole store for those studies, in time that follows the page.

EVIDENCE = SITE_EVIDENCE  # site path of the generated views (no graph resource has one)
ADVERSE_EVENTS = "adverse-events"
MEDIAN_TYPE = NCIT + "C28007"
HINT = "Hover over a mark, or reach it with the Tab key, to read the sentence it comes from; select it to open the statistic."
#: studies on one evidence page (every figure of the view each has is on it)
EVIDENCE_PAGE_SIZE = 25
#: what an evidence page can be narrowed by (query parameters of ``kg serve``), in the order the page offers them
FILTERS = ("design", "type", "drug", "condition", "year")
#: the filters a static site writes pages for: design and statistic type partition a view (a study has one design;
#: a figure one type), so their pages are a small multiple of the view's; the others only on the served site
STATIC_FILTERS = ("design", "type")
#: the captions of the filters on the page (fixed words; every value is a label from the graph)
FILTER_NAMES = {
    "design": "design",
    "type": "statistic type",
    "drug": "drug",
    "condition": "condition",
    "year": "year of publication",
}
_RDFS = "http://www.w3.org/2000/01/rdf-schema#"


@dataclass(frozen=True)
class View:
    """One evidence page: an endpoint's statistics across publications, or every adverse-event figure."""

    slug: str
    title: str
    topic: str | None  # the endpoint's IRI; None for the adverse-events page
    statistics: int = 0  # counted for the list of views (evidence/index.html), 0 where not asked
    studies: int = 0

    @property
    def path(self) -> str:
        """The page's site path, without suffix (``evidence/progression-free-survival``)."""
        return EVIDENCE + self.slug


@dataclass(frozen=True)
class Choice:
    """One value a filter offers: the value as a link carries it (CURIE or year), its label, how many it keeps."""

    value: str
    label: str
    count: int
    term: str  # the IRI (or the year's digits) bound in the query
    slug: str = ""  # its file-name part on a static site


@dataclass(frozen=True)
class Design:
    """A design's part of a view: its class, label, studies and figures (a page of the view starts in it)."""

    iri: str
    label: str
    studies: int
    figures: int


def slugify(text: str) -> str:
    """A path segment from a label.

    >>> slugify("Progression-free Survival"), slugify("overall response (partial response or better)")
    ('progression-free-survival', 'overall-response-partial-response-or-better')
    """
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "endpoint"


def _pinned(site: Site) -> dict[tuple[str, ...], Any]:
    """What a site keeps for good about its evidence views: which there are, each one's counts and filter values
    with their labels (a few per view; the least-recently-used cache holds pages, which would push them out).
    Held on the site itself, so it goes with it."""
    kept: dict[tuple[str, ...], Any] | None = getattr(site, "_evidence_pinned", None)
    if kept is None:
        kept = {}
        setattr(site, "_evidence_pinned", kept)  # noqa: B010 - Site (kg/web/site.py) has no field for it
    return kept


def _select(site: Site, text: str) -> list[dict[str, Any]]:
    """Rows of one of the page's own bounded queries (values in it are RDF terms written by pyoxigraph)."""
    solutions = select(site.store, evidence.PREFIXES + text)
    names = [v.value for v in solutions.variables]
    return [{n: r[n] for n in names if r[n] is not None} for r in solutions]


def _slugs(site: Site) -> list[View]:
    """Every view, without counts: the endpoints statistics measure (from the evidence index), each with its slug (two endpoints with one label: the first by IRI keeps it, the other takes its CURIE's)."""
    pinned = _pinned(site)
    if ("slugs",) in pinned:
        return list(pinned[("slugs",)])
    index = site.dataset.evidence
    endpoints = index.endpoints
    labels = site.labels(endpoints)
    views: list[View] = []
    taken = {ADVERSE_EVENTS}
    for iri in endpoints:
        title = value(labels[iri][0]) if iri in labels else compact(iri)
        slug = slugify(title)
        if slug in taken:
            slug = slugify(compact(iri))
        while slug in taken:
            slug += "-"
        taken.add(slug)
        views.append(View(slug, title, iri))
    if index.adverse_events:
        title = f"{site.label(TKG + 'adverseEvent')}s"
        views.append(View(ADVERSE_EVENTS, title[:1].upper() + title[1:], None))
    pinned[("slugs",)] = views
    return list(views)


def evidence_view(site: Site, slug: str) -> View | None:
    """The view ``evidence/<slug>`` (None if there is none)."""
    return next((v for v in _slugs(site) if v.slug == slug), None)


def evidence_views(site: Site) -> list[View]:
    """Every evidence page with its numbers of figures and studies, most studies first (the endpoints' as the
    ``evidence-endpoints`` query counts them, from the evidence index; kept)."""
    pinned = _pinned(site)
    if ("views",) in pinned:
        return list(pinned[("views",)])
    counts: dict[str | None, tuple[int, int]] = {}
    counts.update(site.dataset.evidence.listed)
    views = []
    for v in _slugs(site):
        if v.topic is None:
            designs = _designs_of(site, v, {})
            counts[None] = (sum(d.figures for d in designs), sum(d.studies for d in designs))
        n = counts.get(v.topic, (0, 0))
        views.append(View(v.slug, v.title, v.topic, n[0], n[1]))
    views.sort(key=lambda v: (v.topic is None, -v.studies, v.title, v.slug))
    pinned[("views",)] = views
    return list(views)


#: a study-level filter keeping at most this many studies is given to the engine as their list (VALUES), which it
#: starts from; one keeping more, as the subquery that finds them
FEW_STUDIES = 2000


def _pattern(view: View, filters: dict[str, str], site: Site | None = None) -> str:
    """The group pattern of a view's figures (?statistic of ?study, of design ?design), narrowed by ``filters``.

    Every value in it is an RDF term written by pyoxigraph from a value the view offers (:func:`_check`), never
    the text a user sent. Given the ``site``, study-level filters that keep few studies are given as their list,
    and the view's own terms as FILTERs: as constants, the engine would start from them (every figure of the view)
    and join the list afterwards (2.4 s instead of 25 ms for 105 studies at 10,000 publications).
    """
    few = _few(site, filters) if site is not None else None
    topic = str(ox.NamedNode(view.topic)) if view.topic else "?topic"
    kind = str(ox.NamedNode(filters["type"])) if "type" in filters else None
    checks = [f"FILTER(?design = {ox.NamedNode(filters['design'])})"] if "design" in filters else []
    if few is not None and view.topic:
        checks.append(f"FILTER(?_topic = {topic})")
        topic = "?_topic"
    if few is not None and kind is not None:
        checks.append(f"FILTER(?_type = {kind})")
        kind = "?_type"
    parts = [evidence.figures(topic, view.topic is None, kind), *checks]
    if few is not None:
        return " ".join([f"VALUES ?study {{ {' '.join(few)} }}", *parts])
    return " ".join([*_study_filters(filters), *parts])


def _study_filters(filters: dict[str, str]) -> list[str]:
    """The study-level filters (drug, condition, year), each a subquery of the studies it keeps (not FILTER EXISTS,
    which the engine tries on every figure): the engine starts from the value, so a rare one costs its few studies."""
    first = []
    if "drug" in filters:
        first.append(evidence.DRUG.replace("?drug", str(ox.NamedNode(filters["drug"]))))
    if "condition" in filters:
        first.append(evidence.CONDITION.replace("?condition", str(ox.NamedNode(filters["condition"]))))
    if "year" in filters:
        year = ox.Literal(str(int(filters["year"])), datatype=ox.NamedNode(XSD + "integer"))
        first.append(f"{evidence.YEAR} FILTER(?year = {year})")
    return [f"{{ SELECT DISTINCT ?study WHERE {{ {f} }} }}" for f in first]


def _few(site: Site, filters: dict[str, str]) -> list[str] | None:
    """The studies the study-level filters keep, as RDF terms, if there are at most :data:`FEW_STUDIES` (kept);
    None if there are more, or no such filter."""
    subqueries = _study_filters(filters)
    if not subqueries:
        return None
    key = ("filtered-studies", *_key({k: v for k, v in filters.items() if k in ("drug", "condition", "year")}))
    if key not in site.cache:
        rows = _select(site, f"SELECT DISTINCT ?study WHERE {{ {' '.join(subqueries)} }} LIMIT {FEW_STUDIES + 1}")
        site.cache[key] = [str(r["study"]) for r in rows if isinstance(r["study"], ox.NamedNode)]
    few: list[str] = site.cache[key]
    return few if len(few) <= FEW_STUDIES else None


def _key(filters: dict[str, str]) -> tuple[str, ...]:
    return tuple(f"{k}={filters[k]}" for k in FILTERS if k in filters)


def _designs_of(site: Site, view: View, filters: dict[str, str]) -> list[Design]:
    """The view's designs (by label) with their numbers of studies and figures: from the evidence index (the whole
    view's, and under any filters sums over the studies they keep), or by one aggregate of the engine where a figure
    of the view is reported by two studies (sums would count it twice)."""
    key = ("designs", view.slug, *_key(filters))
    store = _pinned(site) if not filters else site.cache
    if key in store:
        return list(store[key])
    narrowed = _narrowed(site, view, filters) if filters else None
    if narrowed is not None:
        counted = narrowed
    elif filters:
        rows = _select(
            site,
            f"SELECT ?design (COUNT(DISTINCT ?study) AS ?studies) (COUNT(DISTINCT ?statistic) AS ?figures) "
            f"WHERE {{ {_pattern(view, filters, site)} }} GROUP BY ?design",
        )
        counted = [(value(r["design"]), int(value(r["studies"])), int(value(r["figures"]))) for r in rows]
    else:
        counted = list(_counts(site, view).designs)
    labels = site.labels([c[0] for c in counted])
    found = sorted(
        (Design(iri, value(labels[iri][0]) if iri in labels else compact(iri), n, f) for iri, n, f in counted),
        key=lambda d: (d.label, d.iri),
    )
    store[key] = found
    return list(found)


def _counts(site: Site, view: View) -> evidence.ViewCounts:
    """A whole view's aggregates, from the evidence index (none: a view without figures)."""
    return site.dataset.evidence.views.get(view.topic or evidence.ADVERSE, evidence.ViewCounts())


def _narrowed(site: Site, view: View, filters: dict[str, str]) -> list[tuple[str, int, int]] | None:
    """The view's designs' counts under ``filters``, from the evidence index: each design's studies the filters
    keep (:func:`_kept`) and the sum of their figures in the view (of the type filtered, if one is); None where
    such sums are not the view's counts (:attr:`~kg.evidence.ViewCounts.exact`), for the engine to count."""
    counts = _counts(site, view)
    if not counts.exact:
        return None
    out = []
    for design, _studies, _figures in counts.designs:
        kept = _kept(site, view, filters, design)
        if not kept:
            continue
        if "type" in filters:
            numbers = counts.typed.get(filters["type"], {}).get(design, array("I"))
            tallies = counts.typed_figures.get(filters["type"], {}).get(design, array("I"))
        else:
            numbers, tallies = counts.members.get(design, array("I")), counts.figures.get(design, array("I"))
        keep = set(kept)  # the figures of the studies kept, summed in C (a bisect a study took 30-50 ms at 100,000)
        out.append((design, len(kept), sum(compress(tallies, map(keep.__contains__, numbers)))))
    return out


def _facets(site: Site, view: View, filters: dict[str, str]) -> dict[str, dict[str, int]] | None:
    """Under ``filters``, what each value of each filter would keep with the other filters chosen (what its link
    leads to): studies, figures for a statistic type; by value (IRI, a year's digits). From the evidence index:
    studies as bit sets (:func:`_studies_kept`), a type's figures as sums (:func:`_narrowed`); None without
    filters, or where the index's sums are not the view's counts (a figure reported by two studies): then the
    links show the view's own counts."""
    counts = _counts(site, view)
    if not filters or not counts.exact:
        return None
    out: dict[str, dict[str, int]] = {}
    for name in FILTERS:
        others = {k: v for k, v in filters.items() if k != name}
        if name == "type":
            out[name] = {
                t: sum(figures for _d, _s, figures in _narrowed(site, view, {**others, name: t}) or [])
                for t, _n in counts.offered.get(name, [])
            }
            continue
        terms = [d[0] for d in counts.designs] if name == "design" else [t for t, _n in counts.offered.get(name, [])]
        out[name] = {term: _studies_kept(site, view, {**others, name: term}) for term in terms}
    return out


def _studies_kept(site: Site, view: View, filters: dict[str, str]) -> int:
    """How many of the view's studies ``filters`` keep: :func:`_kept`'s intersections, on bit sets (one page shows
    a number for every value of every filter: at 100,000 publications, sets of the studies cost 160 ms a page)."""
    counts, having = _counts(site, view), site.dataset.evidence.having
    total = 0
    for design, _studies, _figures in counts.designs:
        if filters.get("design", design) != design:
            continue
        if "type" in filters:
            kept = _bits(
                site,
                ("typed", view.slug, filters["type"], design),
                counts.typed.get(filters["type"], {}).get(design, []),
            )
        else:
            kept = _bits(site, ("members", view.slug, design), counts.members.get(design, []))
        for name in ("drug", "condition", "year"):
            if name in filters:
                kept &= _bits(site, ("having", name, filters[name]), having.get(name, {}).get(filters[name], []))
        total += kept.bit_count()
    return total


def _bits(site: Site, key: tuple[str, ...], numbers: Sequence[int]) -> int:
    """A set of study numbers as the bits of an integer (kept with the site's evidence counts: the index's own)."""
    pinned = _pinned(site)
    if ("bits", *key) not in pinned:
        bits = bytearray(max(numbers, default=0) // 8 + 1)
        for n in numbers:
            bits[n >> 3] |= 1 << (n & 7)
        pinned[("bits", *key)] = int.from_bytes(bits, "little")
    return cast(int, pinned[("bits", *key)])


def _preferred(site: Site, iris: list[str]) -> dict[str, str]:
    """Terms' skos:prefLabel where they have one: a statistic type's HL7 display ("Proportion" for NCIT:C44256,
    whose NCIt label is "Ratio"), which evidence-statistics' type_label gives the figures' table."""
    if not iris:
        return {}
    terms = " ".join(str(ox.NamedNode(i)) for i in sorted(set(iris)))
    rows = select(site.store, f"SELECT ?t ?l WHERE {{ VALUES ?t {{ {terms} }} ?t <{SKOS}prefLabel> ?l }}")
    found: dict[str, str] = {}
    for r in rows:
        found.setdefault(value(r["t"]), value(r["l"]))
    return found


def _choices(site: Site, view: View) -> dict[str, list[Choice]]:
    """What each filter offers on a view: every design, statistic type, drug, condition and year its figures have,
    with how many studies (figures, for a type) each keeps; from the evidence index, with their labels, kept."""
    pinned = _pinned(site)
    key = ("choices", view.slug)
    if key in pinned:
        return dict(pinned[key])
    counts = _counts(site, view)
    counted: dict[str, list[tuple[str, int]]] = {
        "design": [(d.iri, d.studies) for d in _designs_of(site, view, {})],
        **{name: counts.offered.get(name, []) for name in ("type", "drug", "condition")},
    }
    labels = site.labels({iri for name in ("design", "type", "drug", "condition") for iri, _n in counted[name]})
    shown = _preferred(site, [iri for iri, _n in counted["type"]])  # a type as the figures' table names it

    def named(name: str, iri: str) -> str:
        if name == "type" and iri in shown:
            return shown[iri]
        return value(labels[iri][0]) if iri in labels else compact(iri)

    out: dict[str, list[Choice]] = {}
    for name in ("design", "type", "drug", "condition"):
        made = sorted(
            ((named(name, iri), compact(iri), n, iri) for iri, n in counted[name]),
            key=lambda c: (c[0].lower(), c[3]),
        )
        out[name] = _with_slugs([Choice(c[1], c[0], c[2], c[3]) for c in made])
    year_choices = []
    for text, n in counts.offered.get("year", []):
        if re.fullmatch(r"-?[0-9]{1,9}", text):
            year_choices.append(Choice(str(int(text)), str(int(text)), n, str(int(text))))
    out["year"] = _with_slugs(sorted(year_choices, key=lambda c: int(c.value), reverse=True))
    pinned[key] = out
    return dict(out)


def _with_slugs(choices: list[Choice]) -> list[Choice]:
    """Each choice with a file-name part of its own (from its label; a second one alike takes its value's)."""
    taken: set[str] = set()
    out = []
    for c in choices:
        slug = slugify(c.label)
        if slug in taken:
            slug = slugify(c.value)
        while slug in taken:
            slug += "-"
        taken.add(slug)
        out.append(Choice(c.value, c.label, c.count, c.term, slug))
    return out


class Refused(Exception):
    """An evidence page asked with a parameter it does not take: ``status`` (400 or 404) and one line."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _check(site: Site, view: View, params: list[tuple[str, str]]) -> tuple[dict[str, str], int]:
    """Served query parameters as (filters, page number), each value matched against what the view offers.

    Unknown names, a name given twice, a page that is not a whole number, or a value the page does not offer are
    refused with one line; what is kept is the view's own value (an IRI or a year), never the text sent.
    """
    seen: dict[str, str] = {}
    for name, raw in params:
        if name not in (*FILTERS, "page"):
            raise Refused(400, f"unknown parameter {name[:40]!r} (valid: page, {', '.join(FILTERS)})")
        if name in seen:
            raise Refused(400, f"parameter {name!r} given twice")
        seen[name] = raw
    page_no = 1
    if "page" in seen:
        if not re.fullmatch(r"[0-9]{1,9}", seen["page"]):
            raise Refused(400, f"page: {seen['page'][:40]!r} is not a page number")
        page_no = int(seen["page"])
    filters: dict[str, str] = {}
    offered = _choices(site, view) if any(k in seen for k in FILTERS) else {}
    for name in FILTERS:
        if name not in seen:
            continue
        raw = seen[name]
        wanted = {raw}
        if name != "year":
            iri = to_iri(raw) if len(raw) <= 4096 else None
            wanted = {raw, iri} if iri else {raw}
        match = next((c for c in offered[name] if c.value in wanted or c.term in wanted), None)
        if match is None:
            raise Refused(404, f"{FILTER_NAMES[name]} {raw[:60]!r}: not offered on {view.path}")
        filters[name] = match.term
    return filters, page_no


def _page_studies(site: Site, view: View, filters: dict[str, str], designs: list[Design], page_no: int) -> list[Study]:
    """The studies of one page: designs by label, each one's studies in the order of the index (by IRI)."""
    offset, out = (page_no - 1) * EVIDENCE_PAGE_SIZE, list[Study]()
    for d in designs:
        kept = _kept(site, view, filters, d.iri)
        if offset >= len(kept):
            offset -= len(kept)
            continue
        out += _studies_named(site, _iris(site, kept[offset : offset + EVIDENCE_PAGE_SIZE - len(out)]), d.label)
        offset = 0
        if len(out) >= EVIDENCE_PAGE_SIZE:
            break
    return out


def _kept(site: Site, view: View, filters: dict[str, str], design: str) -> Sequence[int]:
    """One design's studies in the view narrowed by ``filters``, as numbers into the evidence index's studies,
    ascending: the view's members of the design, intersected with those of the statistic type and with the studies
    of each study-level value (a few set operations on the index, kept in the page cache)."""
    counts = _counts(site, view)
    members: Sequence[int] = counts.members.get(design, [])
    if not filters:
        return members
    key = ("kept", view.slug, design, *_key(filters))
    if key in site.cache:
        return cast(Sequence[int], site.cache[key])
    having = site.dataset.evidence.having
    narrowing: list[Sequence[int]] = []
    if "design" in filters and filters["design"] != design:
        narrowing.append([])
    if "type" in filters:
        narrowing.append(counts.typed.get(filters["type"], {}).get(design, []))
    for name in ("drug", "condition", "year"):
        if name in filters:
            narrowing.append(having.get(name, {}).get(filters[name], []))
    keep = set(members).intersection(*narrowing)
    kept = evidence.ascending(keep)
    site.cache[key] = kept
    return kept


def _iris(site: Site, numbers: Sequence[int]) -> list[str]:
    studies = site.dataset.evidence.studies
    return [studies[i] for i in numbers]


def _all_studies(site: Site, view: View, filters: dict[str, str], designs: list[Design]) -> Iterator[list[Study]]:
    """Every page's studies in the order of :func:`_page_studies` (a static site writes every page)."""
    page: list[Study] = []
    for d in designs:
        kept = _kept(site, view, filters, d.iri)
        for i in range(0, len(kept), EVIDENCE_PAGE_SIZE):
            for s in _studies_named(site, _iris(site, kept[i : i + EVIDENCE_PAGE_SIZE]), d.label):
                page.append(s)
                if len(page) == EVIDENCE_PAGE_SIZE:
                    yield page
                    page = []
    if page:
        yield page


def _studies_named(site: Site, studies: list[str], design: str) -> list[Study]:
    labels = site.labels(studies)
    return [Study(s, value(labels[s][0]) if s in labels else compact(s), design) for s in studies]


def _page_results(site: Site, view: View, studies: list[Study]) -> tuple[Result, Result | None]:
    """The page's two ready-made queries, evidence-statistics and an endpoint page's comparisons, asked of the
    page's own graphs (:meth:`~kg.dataset.Dataset.of_studies`): gathered and asked in one forked child where the
    site isolates its queries, so that concurrent pages share both cores (gathering the graphs cost the serving
    process 60-70 ms of an evidence page's ~190 ms at 100,000 publications, and a second child 30-130 ms)."""
    figures = catalog.get("evidence-statistics")
    figures_bound = bind(figures, {"topic": view.topic} if view.topic else {})
    compared = catalog.get("comparisons") if view.topic else None
    compared_bound = bind(compared, {"endpoint": view.topic}) if compared and view.topic else {}

    def both(dataset: Dataset, iris: list[str]) -> tuple[Result, Result | None]:
        # each triple once, however many files state it; copied to the default graph alone where neither query
        # reads a graph by name (about a fifth of the copy's time at 25 studies)
        page = dataset.of_studies(iris, named=any(reads_named_graphs(q.text) for q in (figures, compared) if q))
        rows = execute.on_oxigraph(page.store, figures.text, figures_bound, figures.origin, union=not page.merged)
        if compared is None:
            return rows, None
        return rows, execute.on_oxigraph(
            page.store, compared.text, compared_bound, compared.origin, union=not page.merged
        )

    iris = [s.iri for s in studies]
    if site.dataset.isolated:
        return execute.in_child(both, site.dataset, iris, origin=figures.origin)
    return both(site.dataset, iris)


def _page_rows(view: View, filters: dict[str, str], studies: list[Study], result: Result) -> list[dict[str, Any]]:
    """The evidence-statistics rows of the page's studies (of the view's topic and role, of the type filtered)."""
    role = "endpoint" if view.topic else "adverse event"
    wanted = {s.iri for s in studies}
    return [
        r
        for r in result.rows
        if cell(r.get("role")) == role
        and r["study"].value in wanted
        and ("type" not in filters or (r.get("type") is not None and r["type"].value == filters["type"]))
    ]


def _number(text: str) -> float | None:
    return number(text)  # finite, or None: a value that is not a number is printed, never drawn


def _upper(r: dict[str, Any], column: str) -> str:
    """An interval's upper bound as the row gives it: its number, or "not reached" where the source printed none
    (NR, NE: the row's ``..._not_reached`` flag), never a number made up."""
    return "not reached" if cell(r.get(f"{column}_not_reached")) == "true" else cell(r.get(column))


def _bounds(it: dict[str, Any]) -> str:
    """`` (0.5–0.98)`` after a mark's value, `` (25.3–not reached)`` where no upper bound was printed, `` (-26.9 to
    -5.1)`` where a bound is negative, or ""."""
    if it["lower"] is None or (it["upper"] is None and not it["upper_not_reached"]):
        return ""
    upper = "not reached" if it["upper"] is None else format(it["upper"], "g")
    # "-26.9 to -5.1": a dash between negative numbers reads as neither (review 49), as kg summary writes it
    return f" ({span(format(it['lower'], 'g'), upper, '–')})"


def _interval_text(r: dict[str, Any]) -> str:
    """``95% confidence interval 0.5 to 0.98`` of an evidence-statistics row, or "" where it has no interval."""
    if not r.get("lower"):
        return ""
    level = _number(cell(r.get("level")))
    said = f"{cell(r.get('interval'))} {cell(r['lower'])} to {_upper(r, 'upper')}"
    return f"{level * 100:g}% {said}" if level is not None else said


def _evidence_items(site: Site, path: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One item per statistic (rows of several topics or quotes merged), in the query's order."""
    items: dict[str, dict[str, Any]] = {}
    for r in rows:
        stat = r["statistic"].value
        if stat in items:
            item = items[stat]
        else:
            c = {k: cell(v) for k, v in r.items()}
            interval = _interval_text(r)
            not_reached = c.get("notReached") == "true"
            shown = (
                site.label(TKG + "notReached")
                if not_reached
                else quantity(c["value"], c.get("unit", ""), c.get("ucum", ""), c.get("effect_scale", ""))
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
                "study_iri": r["study"].value,
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
                "upper_not_reached": c.get("upper_not_reached") == "true",
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
        more = _interval_text(r)  # a statistic's second interval (a 95% and a 99% CI; a CI and a range): shown too,
        if more and more not in item["interval"].split("; "):  # the first drawn
            item["interval"] = "; ".join(filter(None, [item["interval"], more]))
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


def _per_finding(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One item per finding: twin reports of one result in several documents become its first report,
    naming every source (the table still lists each report)."""
    out: list[dict[str, Any]] = []
    seen: dict[str, dict[str, Any]] = {}
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


def _evidence_figures(site: Site, view: View, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The SVG figures of a view: a forest plot of ratios, medians per unit, rates per time unit."""
    figures = []
    by_topic = view.topic is None  # on the adverse-events page a row is an event, not a group

    def row(it: dict[str, Any], timed: bool = True) -> tuple[str, str]:
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
            right = f"{it['value']:g}" + _bounds(it)
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
            right = it["shown"] + _bounds(it)
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
    # a group's percentage at a time: not an effect between groups (a risk difference in percentage points sat
    # below the row's 0 % as if it were a rate: review 43; it is on the forest plot above)
    rates = [
        it
        for it in once
        if it["time"] is not None and it["ucum"] == "%" and it["value"] is not None and not it["effect_scale"]
    ]
    for unit in dict.fromkeys(it["time_unit"] for it in rates):
        groups: dict[tuple[str, str, str], dict[str, Any]] = {}
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


def _evidence_comparisons(
    site: Site, path: str, view: View, result: Result | None, studies: set[str]
) -> list[dict[str, Any]]:
    """The comparisons of the page's figures (an endpoint page's), each naming its groups, by study."""
    if view.topic is None or not studies or result is None:
        return []
    rows = result.rows
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
        for r in rows
        if r["trial"].value in studies
    ]


def evidence_pages(total: int) -> int:
    """How many pages a view of ``total`` studies takes (at least one)."""
    return max(1, -(-total // EVIDENCE_PAGE_SIZE))


def static_path(view: View, page_no: int, only: tuple[str, Choice] | None = None) -> str:
    """A page's path on a static site: ``evidence/<slug>`` (its first page), ``evidence/<slug>/page-N``, and
    ``evidence/<slug>/<filter>-<value>-page-N`` for a page of the view narrowed by one filter."""
    if only is None:
        return view.path if page_no == 1 else f"{view.path}/page-{page_no}"
    return f"{view.path}/{only[0]}-{only[1].slug}-page-{page_no}"


@dataclass(frozen=True)
class _Where:
    """Where a page is and how its links are written: served (query parameters) or static (one file a page)."""

    view: View
    path: str
    static: bool
    filters: dict[str, str]
    offered: dict[str, list[Choice]]
    #: under the filters chosen, what each value's link keeps with the others (:func:`_facets`); None: the view's
    facets: dict[str, dict[str, int]] | None = None

    def href(self, filters: dict[str, str], page_no: int = 1) -> str | None:
        """The link to the view under ``filters`` at ``page_no`` (None: a static site has no such page)."""
        here = posixpath.dirname(self.path) or "."
        if self.static:
            if len(filters) > 1 or (filters and next(iter(filters)) not in STATIC_FILTERS):
                return None
            only = None
            if filters:
                name, term = next(iter(filters.items()))
                choice = next((c for c in self.offered.get(name, []) if c.term == term), None)
                if choice is None:
                    return None
                only = (name, choice)
            return posixpath.relpath(static_path(self.view, page_no, only) + ".html", here)
        query = [
            (k, next((c.value for c in self.offered.get(k, []) if c.term == filters[k]), filters[k]))
            for k in FILTERS
            if k in filters
        ]
        if page_no > 1:
            query.append(("page", str(page_no)))
        name = posixpath.relpath(self.view.path + ".html", here)
        return name + ("?" + urlencode(query) if query else "")


def _filter_links(where: _Where) -> list[dict[str, Any]]:
    """The filters as plain links: for each, "all" and every value the view offers (the one chosen marked), each
    with what it keeps together with the other filters chosen; a value that would keep nothing is not a link."""
    out = []
    for name in STATIC_FILTERS if where.static else FILTERS:
        offered = where.offered.get(name, [])
        if len(offered) < 2 and name not in where.filters:
            continue
        others = {k: v for k, v in where.filters.items() if k != name and not where.static}
        kept = where.facets.get(name, {}) if where.facets is not None else {c.term: c.count for c in offered}
        out.append(
            {
                "name": FILTER_NAMES[name],
                "all": {"href": where.href(others), "here": name not in where.filters},
                "choices": [
                    {
                        "label": c.label,
                        "count": kept.get(c.term, 0),
                        "href": where.href({**others, name: c.term}) if kept.get(c.term, 0) else None,
                        "here": where.filters.get(name) == c.term,
                        "title": c.value,
                    }
                    for c in offered
                ],
                "counts": ("figure", "figures") if name == "type" else ("study", "studies"),
            }
        )
    return out


def _navigation(where: _Where, page_no: int, last: int) -> dict[str, Any]:
    around = range(max(1, page_no - 4), min(last, page_no + 4) + 1)
    return {
        "page": page_no,
        "pages": last,
        "first": where.href(where.filters, 1) if page_no > 1 else None,
        "previous": where.href(where.filters, page_no - 1) if page_no > 1 else None,
        "next": where.href(where.filters, page_no + 1) if page_no < last else None,
        "last": where.href(where.filters, last) if page_no < last else None,
        "around": [{"page": n, "href": where.href(where.filters, n), "here": n == page_no} for n in around],
    }


def _render_evidence(
    site: Site,
    view: View,
    filters: dict[str, str],
    page_no: int,
    static: bool,
    path: str,
    studies: list[Study] | None = None,
) -> str:
    """One page of a view: the counts by design, the filters, the page's figures, table and comparisons."""
    designs = _designs_of(site, view, filters)
    total = sum(d.studies for d in designs)
    last = evidence_pages(total)
    if page_no < 1 or page_no > last:
        raise Refused(404, f"no page {page_no} of {view.path} ({last} page{'s' if last != 1 else ''})")
    offered = _choices(site, view)
    where = _Where(view, path, static, filters, offered, None if static else _facets(site, view, filters))
    if studies is None:
        studies = _page_studies(site, view, filters, designs, page_no)
    figures_result, comparisons_result = _page_results(site, view, studies) if studies else (None, None)
    rows = _page_rows(view, filters, studies, figures_result) if figures_result else []
    items = _evidence_items(site, path, rows)
    by_study: dict[str, list[dict[str, Any]]] = {}
    for it in items:
        by_study.setdefault(it["study_iri"], []).append(it)
    groups: list[dict[str, Any]] = []  # design -> study -> figures, in the page's order
    for s in studies:
        if not groups or groups[-1]["design"] != s.design:
            groups.append({"design": s.design, "studies": []})
        mine = by_study.get(s.iri, [])
        groups[-1]["studies"].append({"label": s.label, "href": site.link(path, s.iri), "rows": mine})
    start = 0
    by_design = []
    for d in designs:
        by_design.append(
            {
                "label": d.label,
                "studies": d.studies,
                "figures": d.figures,
                "href": where.href(filters, start // EVIDENCE_PAGE_SIZE + 1),
                "page": start // EVIDENCE_PAGE_SIZE + 1,
            }
        )
        start += d.studies
    here = posixpath.dirname(path) or "."
    return (
        _env()
        .get_template("evidence.html")
        .render(
            **_common(site, path),
            title=view.title,
            view=view,
            topic=_term(site, path, ox.NamedNode(view.topic)) if view.topic else None,
            figures=_evidence_figures(site, view, items),
            comparisons=_evidence_comparisons(site, path, view, comparisons_result, {s.iri for s in studies}),
            designs=groups,
            by_design=by_design,
            total_studies=total,
            total_figures=sum(d.figures for d in designs),
            filtered=bool(filters),
            filters=_filter_links(where),
            nav=_navigation(where, page_no, last),
            first_study=(page_no - 1) * EVIDENCE_PAGE_SIZE + 1 if studies else 0,
            last_study=(page_no - 1) * EVIDENCE_PAGE_SIZE + len(studies),
            n_items=len(items),
            query_href=posixpath.relpath("queries/evidence-statistics.rq", here),
            others=[
                {"title": v.title, "href": posixpath.relpath(v.path + ".html", here)}
                for v in _slugs(site)
                if v.slug != view.slug
            ],
        )
    )


def evidence_page(site: Site, slug: str, params: Sequence[tuple[str, str]] = ()) -> str | None:
    """A page of the view ``evidence/<slug>`` as ``kg serve`` sends it (recent ones cached), or None if there is
    no such view. ``params``: the request's query parameters (page, filters), each checked against what the view
    offers; one it does not take raises :class:`Refused`."""
    view = evidence_view(site, slug)
    if view is None:
        return None
    filters, page_no = _check(site, view, list(params))
    key = ("evidence", slug, str(page_no), *_key(filters))
    if key in site.cache:
        return str(site.cache[key])
    html = site.cache[key] = _render_evidence(site, view, filters, page_no, False, view.path)
    return html


def evidence_files(site: Site) -> Iterator[tuple[str, str]]:
    """Every file of the evidence views on a static site, (path without suffix, HTML), as they are made.

    Each view: every page, then every page of it narrowed by one value of a filter in :data:`STATIC_FILTERS`
    (where that filter offers two values or more, as its links do). A study is on one page of each, so the pages
    number at most the view's, plus its designs', plus its figures' types' (each type's studies), a page each.
    """
    for view in _slugs(site):
        yield from _static_pages(site, view, None)
        offered = _choices(site, view)
        for name in STATIC_FILTERS:
            if len(offered[name]) < 2:
                continue
            for choice in offered[name]:
                yield from _static_pages(site, view, (name, choice))


def _static_pages(site: Site, view: View, only: tuple[str, Choice] | None) -> Iterator[tuple[str, str]]:
    filters = {only[0]: only[1].term} if only else {}
    designs = _designs_of(site, view, filters)
    page_no = 0
    for page_no, studies in enumerate(_all_studies(site, view, filters, designs), 1):
        path = static_path(view, page_no, only)
        yield path, _render_evidence(site, view, filters, page_no, True, path, studies)
    if page_no == 0:  # a view without a study (not offered by a conforming graph, but never a missing file)
        path = static_path(view, 1, only)
        yield path, _render_evidence(site, view, filters, 1, True, path, [])
