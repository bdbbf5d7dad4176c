"""``kg summary``: an overview line per study, or one study's screen, in plain text, from the ready-made queries.

Every word about a study comes from the graph (labels of arms, populations,
phases, statistics, comparisons, sources); nothing here knows any particular
trial. Each query runs once for the studies asked about and its rows are grouped
by study, so a figure, a comparison or an arm missing from one study's graph
never breaks another's screen.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Sequence

import pyoxigraph as ox

from kg.dataset import Dataset
from kg.errors import QueryError
from kg.prefixes import BASE, TKG, compact, data_iri, to_iri
from kg.query.formats import cell, flat, level, p_value, plural, quantity, span
from kg.query.result import Value

Row = dict[str, Value]

#: where a study's slug may live under the base (trials, and other studies)
STUDY_PATHS = ("trial/", "study/")


def study_iris(study: str, base: str = BASE) -> list[str]:
    """The IRIs a study given as slug, IRI or CURIE may have.

    >>> study_iris("isoda-2018")
    ['https://w3id.org/trialkg/trial/isoda-2018', 'https://w3id.org/trialkg/study/isoda-2018']
    """
    iri = to_iri(study)
    if iri is not None:
        return [iri]
    if study.replace("-", "").isalnum():
        return [data_iri(base, f"{path}{study}") for path in STUDY_PATHS]
    raise QueryError(f"{study!r} is not a study slug, IRI or CURIE")


def _by_trial(rows: list[Row], key: str = "trial") -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if row.get(key) is not None:
            out[row[key].value].append(row)
    return out


def overview(dataset: Dataset) -> str:
    """One line per study: slug, kind and phase, counts, and a publication that describes it."""
    rows = dataset.run("studies").rows
    if not rows:
        return "(no studies)\n"
    width = max(len(cell(r.get("slug"))) for r in rows)
    out = []
    for r in rows:
        kind = ", ".join(x for x in (cell(r.get("design")), cell(r.get("phase"))) if x)
        counts = "; ".join(
            plural(cell(r.get(k)), word)
            for k, word in (("arms", "arm"), ("statistics", "statistic"), ("comparisons", "comparison"))
        )
        out.append(f"{cell(r.get('slug')).ljust(width)}  {kind}; {counts}; {cell(r.get('publication'))}")
    out.append(f"({len(rows)} {'study' if len(rows) == 1 else 'studies'}: `kg summary SLUG` shows one)")
    return "\n".join(map(flat, out)) + "\n"


def resolve(dataset: Dataset, study: str) -> str:
    """The IRI of the study a user named (slug, IRI or CURIE); an unknown one is refused with the nearest slugs."""
    for iri in study_iris(study, dataset.base):
        if dataset.run("studies", {"trial": iri}).rows:
            return iri
    if not dataset.endpoint:  # a study elsewhere than trial/ or study/ (a corpus of its own): by its trialkg:slug
        for q in dataset.store.quads_for_pattern(None, ox.NamedNode(TKG + "slug"), ox.Literal(study), None):
            if isinstance(q.subject, ox.NamedNode) and dataset.run("studies", {"trial": q.subject.value}).rows:
                return q.subject.value
    rows = dataset.run("studies").rows
    for r in rows:
        if cell(r.get("slug")) == study and r.get("study") is not None:
            return r["study"].value
    slugs = [cell(r.get("slug")) for r in rows]
    near = difflib.get_close_matches(study.rsplit("/", 1)[-1].rsplit(":", 1)[-1], slugs, n=3, cutoff=0.4)
    hint = f"; nearest: {', '.join(near)}" if near else (f"; studies: {', '.join(slugs[:10])}" if slugs else "")
    raise QueryError(f"no study {study!r} in {dataset.origin}{hint}")


def summarize(dataset: Dataset, studies: Sequence[str] = (), trial: str | None = None) -> str:
    """The overview of every study (no study named), or the screen of each study named (slug, IRI or CURIE)."""
    named = [*studies, *([trial] if trial else [])]
    if not named:
        return overview(dataset)
    # each screen's queries asked of the study's own graphs: time that follows the study, not the corpus
    return "\n".join(screen(dataset.of_studies([iri]), iri) for iri in (resolve(dataset, s) for s in named))


def screen(dataset: Dataset, iri: str) -> str:
    """One study's screen: design, arms, populations, interventions, figures with comparisons, safety, claims, citation."""
    params = {"trial": iri}
    rows = dataset.run("trial-summary", params).rows
    efficacy = dataset.run("efficacy", params).rows
    comparisons = dataset.run("comparisons", params).rows
    safety = dataset.run("adverse-events", params).rows
    citations = [r for r in dataset.run("citation").rows if r.get("trial") is not None and r["trial"].value == iri]

    items: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        items[cell(row["item"]).split(" ", 1)[1]].append(cell(row["value"]))
    out = [items["title"][0] if items["title"] else compact(iri), f"  {compact(iri)}"]
    out.append(f"  {', '.join(items['kind'] + items['phase'] + items['design'])}; {', '.join(items['condition'])}")
    if items["eligibility"]:
        out.append(f"  eligibility: {'; '.join(items['eligibility'])}")
    if len(items["arm"]) > 1 or any(": allocated" in a for a in items["arm"]):
        out.append("  arms:")
        out += [f"    {line}" for line in items["arm"]]
    out.append(f"  populations: {'; '.join(items['population'])}")
    out += [f"  {line}" for line in items["intervention"]]
    out += [f"  registration: {line}" for line in items["registration"]]
    out.append("Efficacy  (figure | denominator, how it was chosen | time anchor | source)")
    out += _efficacy_lines(efficacy, comparisons)
    out.append("Safety")
    out += _safety_lines(safety, comparisons, {cell(r["endpoint"]) for r in efficacy})
    claims = dataset.run("claims", params).rows
    if claims:
        out.append("Claims  (as the source words them | who made them)")
        out += [f"  {cell(r['text'])} | {cell(r.get('attributed_to'))}" for r in claims]
    out += _citation_lines(citations)
    return "\n".join(map(flat, out)).rstrip() + "\n"


def _denominator(row: Row) -> str:
    """``evaluable (n=36; stated)``: the population, its arm, its size if known, and how it was chosen."""
    if cell(row.get("population")).startswith("population not stated"):
        return "population not stated"
    size = f"n={cell(row['size'])}" if row.get("size") else "size not stated"
    arm = f"{cell(row['arm'])} arm; " if row.get("arm") else ""
    basis = cell(row.get("basis"))
    if basis and not row.get("size"):
        basis = f"the group {basis}"  # "size not stated; stated" would read as a stated size
    return f"{cell(row['population'])} ({arm}{size}" + (f"; {basis})" if basis else ")")


def _ci(row: Row) -> str:
    """``95% CI 6.6-19.4`` (``CI ...`` where no level is given); ``95% CI 25.3 to not reached`` where the source
    prints no upper bound (NR, NE)."""
    said = f"{level(cell(row['ci_level']))} CI" if row.get("ci_level") else "CI"
    if cell(row.get("ci_upper_not_reached")) == "true":
        return f"{said} {cell(row['ci_lower'])} to not reached"
    return f"{said} {span(cell(row['ci_lower']), cell(row['ci_upper']))}"


def _value(rows: list[Row]) -> str:
    """``Median 13.8 months [95% CI ...]``: the statistic type first, so an estimate never reads as a share of n.

    ``rows`` are one statistic's (a query gives a row per interval or P value where it has several: a 95% and a
    99% CI), each estimate shown once."""
    row = rows[0]
    kind = cell(row.get("type"))
    if cell(row.get("notReached")) == "true":  # no number; its interval, where given, still is one
        shown = f"{kind} not reached".strip()
    else:
        amount = quantity(
            cell(row.get("value")), cell(row.get("unit")), cell(row.get("ucum")), cell(row.get("effect_scale"))
        )
        shown = f"{kind} {amount}".strip()
    if row.get("events"):  # the count the source gives with a percentage: "21.7% (41 patients)"
        shown += f" ({plural(cell(row['events']), 'patient')})"
    with_ci = sorted((r for r in rows if r.get("ci_lower")), key=lambda r: cell(r.get("ci_level")).rjust(8))
    cis = dict.fromkeys(_ci(r) for r in with_ci)
    if cis:
        shown += f" [{'; '.join(cis)}]"
    ranges = dict.fromkeys(
        f"range {span(cell(r['range_lower']), cell(r['range_upper']))}" for r in rows if r.get("range_lower")
    )
    if ranges:
        shown += f" ({'; '.join(ranges)})"
    ps = dict.fromkeys(p_value(cell(r.get("p_comparator")), cell(r["p_value"])) for r in rows if r.get("p_value"))
    if ps:
        shown += ", " + ", ".join(ps)
    if row.get("exposure"):
        shown += f", {cell(row['exposure'])} vs {cell(row['reference'])}"
    return shown


def _anchor(row: Row) -> str:
    if row.get("timepoint_value"):
        at = f"at {plural(cell(row['timepoint_value']), cell(row['timepoint_unit']))}"
        origin = cell(row.get("origin"))
        return at + (f" from {origin}" if origin and "not stated" not in origin else " (time origin not stated)")
    if row.get("origin") and "not stated" in cell(row["origin"]):
        return "time origin not stated"
    if row.get("origin"):
        return f"from {cell(row['origin'])}"
    if row.get("timepoint"):
        return f"at {cell(row['timepoint'])}"
    if row.get("assessed"):
        return f"assessed at {cell(row['assessed'])} (every member, reached or not)"
    if row.get("phase"):
        inferred = " (phase inferred)" if cell(row.get("phase_basis")).startswith("inferred") else ""
        return f"during {cell(row['phase'])}{inferred}"
    return "-"


def _comparison_line(row: Row) -> str:
    """``VD vs TD (after transplant): 31% vs 15%, P = 0.001 (chi-square test) | source``: the time, where given."""
    said = [p_value(cell(row.get("p_comparator")), cell(row.get("p_value"))), cell(row.get("significance"))]
    test = f" ({cell(row['test'])})" if row.get("test") else ""
    figures = f": {cell(row['figures'])}" if row.get("figures") else ""
    shown = ", ".join(x for x in said if x)
    source = cell(row.get("source_label")) or cell(row.get("source"))
    when = f" ({cell(row['when'])})" if cell(row.get("when")) else ""
    return f"{cell(row.get('groups'))}{when}{figures}, {shown}{test} | {source}"


def _efficacy_lines(rows: list[Row], comparisons: list[Row]) -> list[str]:
    """Under each endpoint, one line per statistic (twin reports grouped, differences flagged), then its comparisons."""
    out: list[str] = []
    by_endpoint: dict[str, list[Row]] = defaultdict(list)
    for c in comparisons:
        by_endpoint[cell(c.get("endpoint_label"))].append(c)
    groups: dict[tuple[str, str], dict[str, list[Row]]] = {}
    for row in rows:  # rows come ordered by endpoint and time, twins adjacent
        key = (cell(row["endpoint"]), row["finding"].value if row.get("finding") else row["statistic"].value)
        groups.setdefault(key, {}).setdefault(row["statistic"].value, []).append(row)
    endpoints = list(dict.fromkeys(endpoint for endpoint, _ in groups))

    def source(r: Row) -> str:
        return cell(r.get("source_label")) or cell(r["source"])

    for endpoint in endpoints:
        out.append(f"  {endpoint}")
        for (this, _), reports in groups.items():
            if this != endpoint:
                continue
            first = next(iter(reports.values()))
            if len(reports) == 1:
                head = first[0]
                out.append(
                    f"    {cell(head['label'])}: {_value(first)} | {_denominator(head)} | {_anchor(head)} | "
                    f"{source(head)}"
                )
                continue
            flag = (
                "they DIFFER"
                if any(cell(r.get("differs")) == "true" for rs in reports.values() for r in rs)
                else "they agree"
            )
            title = cell(first[0].get("finding_label")) or cell(first[0].get("finding"))
            out.append(f"    {title}: {plural(len(reports), 'report')}, {flag}")
            for report in reports.values():
                r = report[0]
                out.append(f"      {_value(report)} | {_denominator(r)} | {_anchor(r)} | {source(r)}")
        out += [f"    compared: {_comparison_line(c)}" for c in by_endpoint.get(endpoint, [])]
    return out


def _safety_lines(rows: list[Row], comparisons: list[Row], efficacy_endpoints: set[str]) -> list[str]:
    out: list[str] = []
    if not rows:
        out.append("  (no adverse-event figures or reports curated)")
    for row in rows:
        event = cell(row["event"])
        if row.get("as_reported"):
            event = f"{cell(row['as_reported'])} (coded: {cell(row.get('terms'))})"
        parts = [event]
        if row.get("grade"):
            parts.append(cell(row["grade"]))
        if row.get("patients") is not None:
            parts.append(plural(cell(row["patients"]), "patient"))
        if row.get("percent") is not None:
            parts.append(f"{cell(row['percent'])}%")
        if row.get("effect") is not None:
            effect = f"{cell(row['effect_type'])} {cell(row['effect'])}"
            if row.get("ci_lower"):
                effect += f" [{_ci(row)}]"
            if row.get("p_value"):
                effect += f", {p_value(cell(row.get('p_comparator')), cell(row['p_value']))}"
            parts.append(effect + f", {cell(row['exposure'])} vs {cell(row['reference'])}")
        if row.get("population"):
            over = _denominator(row)  # "11.8% | of evaluable (n=36; stated)"; never "of population not stated"
            parts.append(over if over == "population not stated" else "of " + over)
        if row.get("phase"):
            inferred = " (phase inferred)" if cell(row.get("phase_basis")).startswith("inferred") else ""
            parts.append(f"during {cell(row['phase'])}{inferred}")
        out.append(f"  {' | '.join(parts)} | {cell(row.get('source_label')) or cell(row['source'])}")
        if row.get("note") and row.get("terms") and " + " in cell(row["terms"]):
            out.append(f"    note: {cell(row['note'])}")
    out += [
        f"  compared: {_comparison_line(c)}"
        for c in comparisons
        if cell(c.get("endpoint_label")) not in efficacy_endpoints
    ]
    return out


def _citation_lines(rows: list[Row]) -> list[str]:
    """``Source: Isoda A, Murayama K, Ito S, et al. Title. Journal. Epub 2018-03-28. doi:...`` per article."""
    by_pub: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_pub[row["publication"].value].append(row)
    out = []
    for pub_rows in by_pub.values():
        first = pub_rows[0]
        authors = ", ".join(dict.fromkeys(cell(r["author"]) for r in pub_rows if r.get("author") is not None))
        etal = ", et al." if cell(first["complete"]) == "false" else ""
        # no page showed the authors: the publication's own label stands for them (never a name filled in)
        who = f"{authors}{etal}" if authors else cell(first.get("label"))
        parts = [who, cell(first.get("title")), cell(first.get("journal"))]
        if first.get("epub"):
            parts.append(f"Epub {cell(first['epub'])}")
        if first.get("doi"):
            parts.append(f"doi:{cell(first['doi'])}")
        out.append("Source: " + ". ".join(p.rstrip(".") for p in parts if p) + ".")
    return out
