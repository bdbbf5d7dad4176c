"""What the linked-data server and the static site share: resource descriptions,
content negotiation, HTML pages (Jinja2) and the trial page's SVG figures.

Pages use relative links only, so the same HTML works behind ``kg serve`` and
from any folder of a static host.
"""
from __future__ import annotations

import html
import json
import math
import posixpath
import re
from dataclasses import dataclass, field

import pyoxigraph as ox

from kg import catalog
from kg.prefixes import BASE, compact
from kg.query import bind, run_oxigraph
from kg.results import cell

HTML = "text/html"
RDF_MEDIA = {
    "text/turtle": ("ttl", ox.RdfFormat.TURTLE),
    "application/n-triples": ("nt", ox.RdfFormat.N_TRIPLES),
    "application/ld+json": ("jsonld", ox.RdfFormat.JSON_LD),
    "application/rdf+xml": ("rdf", ox.RdfFormat.RDF_XML),
}
OFFERED = [HTML, *RDF_MEDIA]
SUFFIXES = {"html": HTML, **{v[0]: k for k, v in RDF_MEDIA.items()}}
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
TKG = BASE + "ontology/"


# ---------------------------------------------------------------- negotiation

def negotiate(accept: str | None, offered: list[str] = OFFERED) -> str | None:
    """The offered media type the Accept header prefers most (q-values honoured), or None.

    >>> negotiate("text/turtle;q=0.9, application/ld+json")
    'application/ld+json'
    >>> negotiate("image/png") is None
    True
    """
    if accept is None or not accept.strip():
        return offered[0]
    ranges: list[tuple[str, str, float]] = []
    for part in accept.split(",")[:64]:
        fields = [f.strip() for f in part.split(";")]
        mtype = fields[0].lower()
        if "/" not in mtype or mtype.count("/") != 1:
            continue
        q = 1.0
        for f in fields[1:]:
            if f.lower().startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    q = -1.0
        if not 0.0 <= q <= 1.0:
            continue
        main, sub = mtype.split("/")
        ranges.append((main, sub, q))
    best, best_q = None, 0.0
    for candidate in offered:
        cmain, csub = candidate.split("/")
        chosen_q, spec = None, -1
        for main, sub, q in ranges:
            if (main, sub) == (cmain, csub) and spec < 2:
                chosen_q, spec = q, 2
            elif main == cmain and sub == "*" and spec < 1:
                chosen_q, spec = q, 1
            elif main == "*" and sub == "*" and spec < 0:
                chosen_q, spec = q, 0
        if chosen_q is not None and chosen_q > best_q:
            best, best_q = candidate, chosen_q
    return best


# ---------------------------------------------------------------- the site

@dataclass
class Site:
    """A read-only view of a store as linked-data resources under ``base``."""

    store: ox.Store
    base: str = BASE
    _resources: list[str] = field(default_factory=list)
    _cache: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        rows = self.store.query(
            f'SELECT DISTINCT ?s WHERE {{ ?s ?p ?o FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{self.base}")) }}',
            use_default_graph_as_union=True)
        self._resources = sorted(r["s"].value for r in rows if self.path_of(r["s"].value) is not None)

    # -- naming
    def path_of(self, iri: str) -> str | None:
        """The site path of a resource (``trial/isoda-2018``), or None if it has none."""
        if not iri.startswith(self.base):
            return None
        path = iri[len(self.base):]
        if not path or "?" in path or "#" in path or ".." in path:
            return None
        if path.endswith("/"):
            path += "index"
        if not re.fullmatch(r"[A-Za-z0-9._~/-]+", path) or path.startswith("/"):
            return None
        return path

    def iri_of(self, path: str) -> str:
        """The resource IRI for a site path (the inverse of :meth:`path_of`)."""
        if path.endswith("/index"):
            path = path[: -len("index")]
        return self.base + path

    def resources(self) -> list[str]:
        """Every IRI under the base that is described in the graph."""
        return list(self._resources)

    def exists(self, iri: str) -> bool:
        if "resource-set" not in self._cache:
            self._cache["resource-set"] = set(self._resources)
        return iri in self._cache["resource-set"]

    # -- descriptions
    def cbd(self, iri: str) -> list[ox.Triple]:
        """Concise bounded description: outgoing triples, blank-node closure, labels of what it points to."""
        out: list[ox.Triple] = []
        seen: set = set()
        todo: list = [ox.NamedNode(iri)]
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            for q in self.store.quads_for_pattern(node, None, None, None):
                out.append(ox.Triple(q.subject, q.predicate, q.object))
                if isinstance(q.object, ox.BlankNode):
                    todo.append(q.object)
        label = ox.NamedNode(RDFS_LABEL)
        for t in list(out):
            for term in (t.predicate, t.object):
                if isinstance(term, ox.NamedNode):
                    for q in self.store.quads_for_pattern(term, label, None, None):
                        out.append(ox.Triple(q.subject, q.predicate, q.object))
        return sorted(set(out), key=str)

    def rdf(self, iri: str, media: str) -> bytes:
        """The resource's description in an RDF syntax (cached: the store is read-only here)."""
        key = ("rdf", iri, media)
        if key not in self._cache:
            self._cache[key] = self._rdf(iri, media)
        return self._cache[key]

    def _rdf(self, iri: str, media: str) -> bytes:
        fmt = RDF_MEDIA[media][1]
        from kg.prefixes import PREFIXES

        prefixes = {p: ns for p, ns in PREFIXES.items() if p != "trialkg"} if fmt is ox.RdfFormat.TURTLE else None
        if prefixes:
            return ox.serialize(self.cbd(iri), format=fmt, prefixes=prefixes)
        return ox.serialize(self.cbd(iri), format=fmt)

    def label(self, iri: str) -> str:
        for q in self.store.quads_for_pattern(ox.NamedNode(iri), ox.NamedNode(RDFS_LABEL), None, None):
            return q.object.value
        return compact(iri)

    def types(self, iri: str) -> set[str]:
        return {q.object.value for q in self.store.quads_for_pattern(ox.NamedNode(iri), ox.NamedNode(RDF_TYPE), None, None)}

    # -- HTML
    def link(self, from_path: str, iri: str, suffix: str = ".html") -> str:
        """A relative link from the page at ``from_path`` to a resource (or the IRI for external terms)."""
        path = self.path_of(iri)
        if path is None or not self.exists(iri):
            return iri
        return posixpath.relpath(path + suffix, posixpath.dirname(from_path) or ".")

    def query(self, name: str, params: dict[str, str] | None = None):
        q = catalog.get(name)
        return run_oxigraph(self.store, q.text, bind(q, params or {}), f"queries/{name}.rq").rows

    def page(self, iri: str) -> str:
        """The resource's HTML page (cached: the store is read-only here)."""
        key = ("html", iri)
        if key not in self._cache:
            self._cache[key] = self._page(iri)
        return self._cache[key]

    def _page(self, iri: str) -> str:
        from kg.pages import render_resource, render_trial

        if TKG + "ClinicalTrial" in self.types(iri):
            return render_trial(self, iri)
        return render_resource(self, iri)

    def index(self, static: bool = False) -> str:
        from kg.pages import render_index

        key = ("index", static)
        if key not in self._cache:
            self._cache[key] = render_index(self, static=static)
        return self._cache[key]


# ---------------------------------------------------------------- figures

def response_chart(rows: list[dict]) -> tuple[str, list[dict]]:
    """Inline SVG bar chart of response categories; bar height is proportional to the share of the population.

    Returns the SVG and the bars (for tests and alt text).
    """
    bars = []
    for r in rows:
        share = cell(r.get("share")) or cell(r.get("percent"))
        if not share:
            continue
        when = cell(r.get("phase")) or cell(r.get("timepoint"))
        count, size = cell(r.get("count")), cell(r.get("size"))
        # A counted bar's height is the exact count / size; the printed share is rounded.
        exact = 100 * int(count) / int(size) if count and size else float(share)
        bars.append({
            "category": cell(r["category"]), "count": count, "percent": cell(r.get("percent")),
            "share": exact, "size": size, "when": when,
        })
    width, height, top, bottom, left = 720, 300, 30, 90, 50
    plot_h = height - top - bottom
    ymax = max([b["share"] for b in bars] + [10.0])
    ymax = math.ceil(ymax / 10) * 10
    bar_w = (width - left - 20) / max(len(bars), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" id="response-chart" role="img" font-family="sans-serif" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" data-ymax="{ymax}" data-plot-height="{plot_h}">',
             '<title>Response categories: share of the analysis population</title>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#333"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#333"/>']
    for tick in range(0, int(ymax) + 1, 10):
        y = top + plot_h - tick * plot_h / ymax
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{tick}%</text>')
    for i, b in enumerate(bars):
        h = b["share"] * plot_h / ymax
        x = left + i * bar_w + 6
        y = top + plot_h - h
        color = "#4a7ebb" if b["count"] else "#9bbbe0"
        value = f'{b["count"]} of {b["size"]} ({b["share"]:.1f}%)' if b["count"] else f'{b["percent"]}% of {b["size"]}'
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.2f}" width="{bar_w - 12:.1f}" height="{h:.2f}" fill="{color}" '
            f'data-category="{html.escape(b["category"])}" data-count="{b["count"]}" data-share="{b["share"]:.4f}" '
            f'data-size="{b["size"]}"><title>{html.escape(b["category"])}, {html.escape(b["when"])}: {value}</title></rect>')
        parts.append(f'<text x="{x + (bar_w - 12) / 2:.1f}" y="{y - 4:.1f}" font-size="11" text-anchor="middle">{html.escape(value.split(" (")[0] if b["count"] else b["percent"] + "%")}</text>')
        short = ABBREVIATIONS.get(b["category"], b["category"])
        parts.append(f'<text x="{x + (bar_w - 12) / 2:.1f}" y="{top + plot_h + 16}" font-size="11" text-anchor="middle">{html.escape(short)}</text>')
        parts.append(f'<text x="{x + (bar_w - 12) / 2:.1f}" y="{top + plot_h + 30}" font-size="9" text-anchor="middle" fill="#555">{html.escape(_short_when(b["when"]))}</text>')
    parts.append(f'<text x="{left}" y="{height - 20}" font-size="11" fill="#333">Dark: patients counted after the 1-year maintenance (news report); light: % during induction (abstract). Share of the evaluable population.</text>')
    parts.append("</svg>")
    return "\n".join(parts), bars


ABBREVIATIONS = {"Stringent Complete Response": "sCR", "Complete Response": "CR", "Very Good Partial Response": "VGPR",
                 "Partial Response": "PR", "Stable Disease": "SD", "Progressive Disease": "PD",
                 "Progression-free Survival": "PFS", "Overall Survival": "OS"}


def _short_when(when: str) -> str:
    return {"Induction Therapy": "induction", "completion of maintenance therapy": "after maintenance"}.get(when, when)


def survival_chart(rows: list[dict]) -> tuple[str, list[dict]]:
    """Inline SVG of time-to-event medians on one time axis, with CIs; 'not reached' is an open-ended arrow."""
    chosen: dict[tuple[str, str], dict] = {}
    for r in rows:
        origin = cell(r.get("origin"))
        if not origin:
            continue
        endpoint = cell(r["label"]).split(" from ")[0].replace("Median ", "").split(" (")[0]
        key = (endpoint, origin)
        short = {"progression-free survival": "PFS", "overall survival": "OS"}.get(endpoint.lower(), endpoint)
        when = origin.replace("start of ", "").replace(" therapy", "")
        item = {"label": f"{short} from {when} start", "value": cell(r.get("value")),
                "lower": cell(r.get("ci_lower")), "upper": cell(r.get("ci_upper")), "level": cell(r.get("ci_level")),
                "statistic": r["statistic"].value}
        if key not in chosen or (item["lower"] and not chosen[key]["lower"]):
            chosen[key] = item
    items = list(chosen.values())
    numbers = [float(x) for i in items for x in (i["value"], i["upper"]) if x and x != "not reached"]
    xmax = max(6, math.ceil((max(numbers) if numbers else 12) * 1.25 / 6) * 6)
    width, left, right, row_h, top = 720, 200, 30, 44, 30
    height = top + row_h * len(items) + 50
    plot_w = width - left - right
    scale = plot_w / xmax
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" id="survival-chart" role="img" font-family="sans-serif" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" data-xmax="{xmax}" data-left="{left}" data-scale="{scale}">',
             '<title>Time-to-event medians with confidence intervals (months)</title>',
             '<defs><marker id="arrow" markerUnits="userSpaceOnUse" markerWidth="12" markerHeight="12" refX="11" refY="6" orient="auto">'
             '<path d="M0,0 L12,6 L0,12 z" fill="#b5542c"/></marker></defs>']
    axis_y = top + row_h * len(items) + 5
    parts.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="#333"/>')
    for tick in range(0, int(xmax) + 1, 6):
        x = left + tick * scale
        parts.append(f'<line x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 5}" stroke="#333"/>')
        parts.append(f'<text x="{x:.1f}" y="{axis_y + 18}" font-size="11" text-anchor="middle">{tick}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{axis_y + 34}" font-size="11" text-anchor="middle">months</text>')
    for i, it in enumerate(items):
        y = top + i * row_h + row_h / 2
        parts.append(f'<text x="{left - 8}" y="{y + 4:.1f}" font-size="12" text-anchor="end">{html.escape(it["label"])}</text>')
        if it["value"] == "not reached" or not it["value"]:
            parts.append(f'<line class="not-reached" x1="{left}" y1="{y:.1f}" x2="{left + plot_w - 2:.1f}" y2="{y:.1f}" '
                         f'stroke="#b5542c" stroke-width="3" stroke-dasharray="6 4" marker-end="url(#arrow)" '
                         f'data-statistic="{html.escape(it["statistic"])}"><title>median not reached</title></line>')
            parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{y - 9:.1f}" font-size="11" text-anchor="middle" fill="#b5542c">median not reached</text>')
            continue
        v = float(it["value"])
        if it["lower"]:
            lo, hi = float(it["lower"]), float(it["upper"])
            parts.append(f'<line class="ci" x1="{left + lo * scale:.2f}" y1="{y:.1f}" x2="{left + hi * scale:.2f}" y2="{y:.1f}" '
                         f'stroke="#333" stroke-width="2" data-lower="{lo}" data-upper="{hi}"><title>{float(it["level"]) * 100:g}% CI {lo}–{hi} months</title></line>')
            for end in (lo, hi):
                parts.append(f'<line x1="{left + end * scale:.2f}" y1="{y - 6:.1f}" x2="{left + end * scale:.2f}" y2="{y + 6:.1f}" stroke="#333" stroke-width="2"/>')
        parts.append(f'<circle class="median" cx="{left + v * scale:.2f}" cy="{y:.1f}" r="6" fill="#4a7ebb" data-value="{v}" '
                     f'data-statistic="{html.escape(it["statistic"])}"><title>median {v} months</title></circle>')
        parts.append(f'<text x="{left + v * scale:.2f}" y="{y - 10:.1f}" font-size="11" text-anchor="middle">{v}</text>')
    parts.append("</svg>")
    return "\n".join(parts), items


def schema_org(site: Site, trial: str) -> str:
    """schema.org JSON-LD for a trial page: MedicalTrial, Drug, MedicalCondition, ScholarlyArticle."""
    rows = site.query("trial-summary", {"trial": trial})
    items: dict[str, list[str]] = {}
    for r in rows:
        items.setdefault(cell(r["item"]).split(" ", 1)[1], []).append(cell(r["value"]))
    cond = list(site.store.query(
        f"SELECT ?c ?l WHERE {{ <{trial}> <{TKG}studiesCondition> ?c . ?c <{RDFS_LABEL}> ?l }}", use_default_graph_as_union=True))
    drug = list(site.store.query(
        f"SELECT DISTINCT ?d ?l WHERE {{ <{trial}> <{TKG}hasArm>/<{TKG}hasTreatmentPhase>/<{TKG}hasDoseSchedule>/<{TKG}drug> ?d . ?d <{RDFS_LABEL}> ?l }}",
        use_default_graph_as_union=True))
    papers = site.query("citation")
    doc = {
        "@context": "https://schema.org",
        "@type": "MedicalTrial",
        "@id": trial,
        "name": items.get("title", [""])[0],
        "phase": "Phase 2" if "Phase II Trial" in items.get("phase", []) else ", ".join(items.get("phase", [])),
        "trialDesign": "https://schema.org/MultiCenterTrial" if "Multicentre" in items.get("design", []) else None,
        "healthCondition": [{"@type": "MedicalCondition", "@id": c["c"].value, "name": c["l"].value,
                             "code": {"@type": "MedicalCode", "codeValue": compact(c["c"].value)}} for c in cond],
        "drug": [{"@type": "Drug", "@id": d["d"].value, "name": d["l"].value} for d in drug],
        "citation": [],
    }
    seen = set()
    for p in papers:
        pub = p["publication"].value
        if pub in seen:
            continue
        seen.add(pub)
        doc["citation"].append({"@type": "ScholarlyArticle", "@id": pub, "name": cell(p["title"]),
                                "sameAs": cell(p.get("doi_iri")).replace("DOI:", "https://doi.org/"),
                                "datePublished": cell(p.get("epub")),
                                "isPartOf": {"@type": "Periodical", "name": cell(p.get("journal")), "issn": cell(p.get("issn"))}})
    doc = {k: v for k, v in doc.items() if v not in (None, [], "")}
    return json.dumps(doc, indent=1, ensure_ascii=False).replace("</", "<\\/")
