"""HTML pages (Jinja2): the dataset's landing page, a trial's page and a generic resource page.

Everything a page says comes from the ready-made queries on the site's
dataset; the templates hold layout and fixed captions only.
"""
from __future__ import annotations

import json
import posixpath
from functools import lru_cache
from urllib.parse import quote

import pyoxigraph as ox

from kg import __version__
from kg.errors import InputError
from kg.prefixes import DCT, NCIT, SCHEMA, TKG, compact
from kg.query import catalog
from kg.query.formats import cell, quantity
from kg.rdf import value
from kg.web.figures import response_chart, survival_chart
from kg.web.site import Site

MAX_INCOMING = 200  # links listed under "referenced by" on a resource page

RESOLVER_NAMES = {"NCIT": "NCIt", "CHEBI": "ChEBI", "MONDO": "MONDO", "HP": "HPO", "UO": "UO", "DOID": "DOID",
                  "DRUGBANK": "DrugBank", "MESH": "MeSH", "WIKIDATA": "Wikidata", "OBI": "OBI", "IAO": "IAO",
                  "STATO": "STATO", "DOI": "DOI"}


@lru_cache(maxsize=1)
def _env():
    try:
        import jinja2
    except ImportError:  # pragma: no cover - depends on the install
        raise InputError("HTML pages need jinja2: pip install 'trialkg[serve]'") from None
    env = jinja2.Environment(loader=jinja2.PackageLoader("kg.web", "templates"),
                             autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["quantity"] = quantity
    return env


def page(site: Site, iri: str) -> str:
    """The resource's HTML page (cached on the site: the dataset is read-only there)."""
    key = ("html", iri)
    if key not in site.cache:
        render = render_trial if TKG + "Study" in site.types(iri) else render_resource
        site.cache[key] = render(site, iri)
    return site.cache[key]


def _common(site: Site, path: str) -> dict:
    root = posixpath.relpath(".", posixpath.dirname(path) or ".")
    return {"root": root, "version": __version__, "base": site.base}


def _term(site: Site, path: str, term) -> dict:
    """A term for display: label, link (relative for our resources, resolver for external), CURIE."""
    if term is None:
        return {"label": "", "href": None, "curie": ""}
    iri = getattr(term, "value", str(term))
    curie = compact(iri)
    prefix = curie.split(":", 1)[0] if curie != iri else ""
    return {"label": site.label(iri), "href": site.link(path, iri), "curie": curie,
            "resolver": RESOLVER_NAMES.get(prefix, "")}


def index(site: Site, static: bool = False) -> str:
    """The landing page: counts from the dataset description, the trials, the ready-made queries."""
    key = ("index", static)
    if key in site.cache:
        return site.cache[key]
    path = "index"
    trials = [{"href": site.link(path, iri), "label": site.label(iri)}
              for iri in site.resources() if TKG + "Study" in site.types(iri)]
    queries = []
    for name, q in sorted(catalog.catalog().items()):
        runnable = not any(p.required for p in q.parameters)
        if static:
            run = f"queries/{name}.csv" if runnable else None
        else:
            run = f"sparql?query={quote(q.text)}&format=csv" if runnable else None
        queries.append({"name": name, "summary": q.summary, "run_href": run, "text_href": f"queries/{name}.rq"})
    site.cache[key] = _env().get_template("index.html").render(
        **_common(site, path), title="trialkg", trials=trials, queries=queries, stats=site.dataset.statistics,
        resources=len(site.resources()), static=static, void_href="void.ttl")
    return site.cache[key]


def render_resource(site: Site, iri: str) -> str:
    """A generic page: the resource's properties and values, linked."""
    path = site.path_of(iri) or ""
    rows = []
    for t in site.cbd(iri):
        if value(t.subject) != iri:
            continue
        obj = t.object
        if hasattr(obj, "datatype"):
            shown = {"label": value(obj), "href": None, "curie": "", "literal": True}
        else:
            shown = _term(site, path, obj)
        rows.append({"predicate": _term(site, path, t.predicate), "value": shown})
    rows.sort(key=lambda r: (r["predicate"]["curie"], r["value"]["label"]))
    incoming = sorted({(value(q.subject), value(q.predicate)) for q in
                       site.store.quads_for_pattern(None, None, ox.NamedNode(iri), None)
                       if isinstance(q.subject, ox.NamedNode)})[:MAX_INCOMING]
    referenced_by = [{"subject": _term(site, path, ox.NamedNode(s)), "predicate": _term(site, path, ox.NamedNode(p))}
                     for s, p in incoming]
    return _env().get_template("resource.html").render(
        **_common(site, path), title=site.label(iri), iri=iri, curie=compact(iri), rows=rows,
        referenced_by=referenced_by, formats=_formats(path))


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
            "href": site.link(path, stat), "label": cell(r["label"]), "type": cell(r["type"]),
            "value": cell(r.get("value")), "not_reached": cell(r.get("notReached")) == "true",
            "unit": cell(r.get("unit")), "ucum": cell(r.get("ucum")), "population": cell(r.get("population")),
            "size": cell(r.get("size")), "basis": cell(r.get("basis")), "basis_reason": cell(r.get("basis_reason")),
            "origin": cell(r.get("origin")), "timepoint": cell(r.get("timepoint")), "phase": cell(r.get("phase")),
            "ci": (f"{float(cell(r['ci_level'])) * 100:g}% CI {cell(r['ci_lower'])}–{cell(r['ci_upper'])}"
                   if r.get("ci_level") else ""),
            "source": _term(site, path, r["source"]), "quote": quotes.get(stat, ""), "note": cell(r.get("note")),
            "differs": cell(r.get("differs")) == "true",
        }
        endpoint = cell(r["endpoint"])
        if not efficacy or efficacy[-1]["endpoint"] != endpoint:
            efficacy.append({"endpoint": endpoint, "findings": []})
        findings = efficacy[-1]["findings"]
        key = r["finding"].value if r.get("finding") else stat
        if not findings or findings[-1]["key"] != key:
            findings.append({"key": key, "title": cell(r.get("finding_label")), "reports": [],
                             "href": site.link(path, key) if r.get("finding") else ""})
        findings[-1]["reports"].append(report)
    safety = [{k: cell(r.get(k)) for k in ("event", "terms", "grade", "patients", "percent", "population",
                                           "size", "basis", "phase", "attribution", "note")}
              | {"source": _term(site, path, r["source"]), "quote": quotes.get(r["item"].value, "")}
              for r in site.rows("adverse-events", trial=iri)]
    terms: dict[str, list[dict]] = {}
    for r in site.rows("trial-terms", trial=iri):
        terms.setdefault(cell(r["role"]), []).append(_term(site, path, r["term"]))
    citations = []
    by_pub: dict[str, list] = {}
    for r in site.rows("citation"):
        by_pub.setdefault(r["publication"].value, []).append(r)
    for pub, rows in by_pub.items():
        first = rows[0]
        authors = ", ".join(cell(r["author"]) for r in rows) + (", et al." if cell(first["complete"]) == "false" else "")
        doi = cell(first.get("doi"))
        citations.append({"href": site.link(path, pub), "authors": authors, "title": cell(first["title"]),
                          "journal": cell(first.get("journal")), "epub": cell(first.get("epub")),
                          "status": cell(first.get("status")), "doi": doi,
                          "doi_url": f"https://doi.org/{doi}" if doi else "",
                          "cited_by": _term(site, path, first.get("cited_by")) if first.get("cited_by") else None})
    response_svg, _bars, undrawn = response_chart(site.rows("response-distribution", trial=iri))
    survival_svg, _items = survival_chart(efficacy_rows)
    return _env().get_template("trial.html").render(
        **_common(site, path), title=site.label(iri), iri=iri, curie=compact(iri), summary=summary,
        efficacy=efficacy, safety=safety, citations=citations, terms=terms,
        response_svg=response_svg, undrawn=undrawn, survival_svg=survival_svg,
        schema_org=schema_org(site, iri), formats=_formats(path))


#: schema.org (release 30.0) type of each kind of study; any other study is a MedicalStudy
STUDY_TYPES = {TKG + "ClinicalTrial": "MedicalTrial", TKG + "ObservationalStudy": "MedicalObservationalStudy"}
#: design characteristics that are schema.org MedicalTrialDesign members (the value of a MedicalTrial's trialDesign)
TRIAL_DESIGNS = {NCIT + "C217005": SCHEMA + "MultiCenterTrial"}  # NCIt "Multicenter Study"
#: the page's own JSON-LD context: schema.org terms as https://schema.org/ IRIs (the graph's scheme; schema.org's
#: published context maps them to http://schema.org/), URL-valued properties as IRIs. Inline: no fetch needed.
SCHEMA_CONTEXT = {"@vocab": SCHEMA, "additionalType": {"@type": "@id"}, "sameAs": {"@type": "@id"},
                  "url": {"@type": "@id"}}
CITO_CITES = "http://purl.org/spar/cito/cites"


def _objects(site: Site, iri: str, predicate: str) -> list[str]:
    """The values of one property of a resource, sorted."""
    return sorted(value(q.object) for q in site.store.quads_for_pattern(ox.NamedNode(iri), ox.NamedNode(predicate), None, None))


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
    study_types = sorted({t[len(SCHEMA):] for t in types if t.startswith(SCHEMA)} | {kind})
    terms: dict[str, list[tuple[str, str]]] = {}
    for r in site.rows("trial-terms", trial=study):
        terms.setdefault(cell(r["role"]), []).append((r["term"].value, cell(r["label"])))
    doc: dict = {"@context": SCHEMA_CONTEXT, "@type": _one_or_many(study_types), "@id": study, "name": site.label(study)}
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
        work: dict = {"@type": _one_or_many(sorted(t[len(SCHEMA):] for t in site.types(pub) if t.startswith(SCHEMA))
                                            or ["CreativeWork"]), "@id": pub,
                      "name": next(iter(_objects(site, pub, DCT + "title")), site.label(pub))}
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
