"""HTML pages rendered with Jinja2: the dataset landing page, the trial page and a generic resource page."""
from __future__ import annotations

import posixpath
from functools import lru_cache

from kg import __version__, catalog
from kg.prefixes import compact
from kg.results import cell

RESOLVER_NAMES = {"NCIT": "NCIt", "CHEBI": "ChEBI", "MONDO": "MONDO", "HP": "HPO", "UO": "UO", "DOID": "DOID",
                  "DRUGBANK": "DrugBank", "MESH": "MeSH", "WIKIDATA": "Wikidata", "OBI": "OBI", "IAO": "IAO",
                  "STATO": "STATO", "DOI": "DOI"}


@lru_cache(maxsize=1)
def _env():
    try:
        import jinja2
    except ImportError as exc:  # pragma: no cover - depends on the install
        from kg.errors import InputError

        raise InputError("HTML pages need jinja2: pip install 'trialkg[serve]'") from exc
    return jinja2.Environment(loader=jinja2.PackageLoader("kg", "templates"),
                              autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


def _common(site, path: str) -> dict:
    root = posixpath.relpath(".", posixpath.dirname(path) or ".")
    return {"root": root, "version": __version__, "base": site.base}


def _term(site, path: str, term) -> dict:
    """A term for display: label, link (relative for our resources, resolver for external), CURIE."""
    if term is None:
        return {"label": "", "href": None, "curie": ""}
    iri = getattr(term, "value", str(term))
    curie = compact(iri)
    prefix = curie.split(":", 1)[0] if curie != iri else ""
    return {"label": site.label(iri) if hasattr(term, "value") else iri, "href": site.link(path, iri),
            "curie": curie, "resolver": RESOLVER_NAMES.get(prefix, "")}


def render_index(site, static: bool = False) -> str:
    from kg.describe import statistics

    path = "index"
    trials = [{"href": site.link(path, iri), "label": site.label(iri)}
              for iri in site.resources() if site.base + "ontology/ClinicalTrial" in site.types(iri)]
    from urllib.parse import quote

    queries = []
    for name, q in sorted(catalog.catalog().items()):
        runnable = not any(p.required for p in q.parameters)
        if static:
            run = f"queries/{name}.csv" if runnable else None
        else:
            run = f"sparql?query={quote(q.text)}&format=csv" if runnable else None
        queries.append({"name": name, "summary": q.summary, "run_href": run, "text_href": f"queries/{name}.rq"})
    stats = statistics(site.store)
    return _env().get_template("index.html").render(
        **_common(site, path), title="trialkg", trials=trials, queries=queries, stats=stats,
        resources=len(site.resources()), static=static, void_href="void.ttl")


def render_resource(site, iri: str) -> str:
    path = site.path_of(iri)
    triples = [t for t in site.cbd(iri) if t.subject.value == iri]
    rows = []
    for t in triples:
        obj = t.object
        if hasattr(obj, "datatype"):
            value = {"label": obj.value, "href": None, "curie": "", "literal": True}
        else:
            value = _term(site, path, obj)
        rows.append({"predicate": _term(site, path, t.predicate), "value": value})
    rows.sort(key=lambda r: (r["predicate"]["curie"], r["value"]["label"]))
    return _env().get_template("resource.html").render(
        **_common(site, path), title=site.label(iri), iri=iri, curie=compact(iri), rows=rows,
        formats=_formats(site, path))


def _formats(site, path: str) -> list[dict]:
    name = posixpath.basename(path)
    return [{"label": label, "href": f"{name}.{suffix}"} for label, suffix in
            [("Turtle", "ttl"), ("N-Triples", "nt"), ("JSON-LD", "jsonld"), ("RDF/XML", "rdf")]]


def render_trial(site, iri: str) -> str:
    from kg.site import response_chart, schema_org, survival_chart

    path = site.path_of(iri)
    params = {"trial": iri}
    summary: dict[str, list[str]] = {}
    for r in site.query("trial-summary", params):
        summary.setdefault(cell(r["item"]).split(" ", 1)[1], []).append(cell(r["value"]))
    quotes = {r["statistic"].value: cell(r["quote"]) for r in site.query("provenance")}
    efficacy = []
    for r in site.query("efficacy", params):
        stat = r["statistic"].value
        efficacy.append({
            "href": site.link(path, stat), "label": cell(r["label"]), "type": cell(r["type"]),
            "value": cell(r.get("value")), "unit": cell(r.get("unit")), "population": cell(r.get("population")),
            "size": cell(r.get("size")), "origin": cell(r.get("origin")), "timepoint": cell(r.get("timepoint")),
            "phase": cell(r.get("phase")),
            "ci": (f"{float(cell(r['ci_level'])) * 100:g}% CI {cell(r['ci_lower'])}–{cell(r['ci_upper'])}"
                   if r.get("ci_level") else ""),
            "source": _term(site, path, r["source"]), "quote": quotes.get(stat, ""),
        })
    safety = []
    for r in site.query("adverse-events", params):
        safety.append({k: cell(r.get(k)) for k in ("event", "terms", "grade", "patients", "percent", "population",
                                                    "size", "phase", "attribution")} | {"source": _term(site, path, r["source"])})
    ae_terms = []
    seen = set()
    for row in site.store.query(
            f"SELECT DISTINCT ?t WHERE {{ {{ <{iri}> <{site.base}ontology/reportsAdverseEvent> ?x }} UNION {{ <{iri}> <{site.base}ontology/hasStatistic> ?x }} ?x <{site.base}ontology/adverseEvent> ?t }} ORDER BY ?t",
            use_default_graph_as_union=True):
        if row["t"].value not in seen:
            seen.add(row["t"].value)
            ae_terms.append(_term(site, path, row["t"]))
    terms = {}
    for prop in ("studiesCondition", "trialPhase", "designCharacteristic"):
        terms[prop] = [_term(site, path, r["o"]) for r in site.store.query(
            f"SELECT ?o WHERE {{ <{iri}> <{site.base}ontology/{prop}> ?o }} ORDER BY ?o", use_default_graph_as_union=True)]
    terms["drug"] = [_term(site, path, r["o"]) for r in site.store.query(
        f"SELECT DISTINCT ?o WHERE {{ <{iri}> <{site.base}ontology/hasArm>/<{site.base}ontology/hasTreatmentPhase>/<{site.base}ontology/hasDoseSchedule>/<{site.base}ontology/drug> ?o }}",
        use_default_graph_as_union=True)]
    citations = []
    by_pub: dict[str, list] = {}
    for r in site.query("citation"):
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
    response_svg, _ = response_chart(site.query("response-distribution", params))
    survival_svg, _ = survival_chart(site.query("efficacy", params))
    return _env().get_template("trial.html").render(
        **_common(site, path), title=site.label(iri), iri=iri, curie=compact(iri), summary=summary,
        efficacy=efficacy, safety=safety, citations=citations, terms=terms, ae_terms=ae_terms,
        response_svg=response_svg, survival_svg=survival_svg, schema_org=schema_org(site, iri),
        formats=_formats(site, path))
