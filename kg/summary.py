"""``kg summary``: a one-screen, plain-text summary of each trial, from the ready-made queries.

Every word about a trial comes from the graph (labels of populations, phases,
statistics, sources); nothing here knows any particular trial. Each query runs
once for all trials and its rows are grouped by trial.
"""

from __future__ import annotations

from collections import defaultdict

from kg.dataset import Dataset
from kg.errors import QueryError
from kg.prefixes import BASE, compact, to_iri
from kg.query.formats import cell, p_value, plural, quantity

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
        return [f"{base}{path}{study}" for path in STUDY_PATHS]
    raise QueryError(f"--trial {study!r} is not a slug, IRI or CURIE")


def _by_trial(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        out[row["trial"].value].append(row)
    return out


def summarize(dataset: Dataset, trial: str | None = None) -> str:
    """The summary text for one trial (slug, IRI or CURIE) or all of them."""
    params: dict[str, str] = {}
    facts: dict[str, list[dict]] = {}
    for iri in study_iris(trial, dataset.base) if trial else [None]:
        params = {"trial": iri} if iri else {}
        facts = _by_trial(dataset.run("trial-summary", params).rows)
        if facts:
            break
    if not facts:
        raise QueryError(f"no study found{' for ' + trial if trial else ''}")
    efficacy = _by_trial(dataset.run("efficacy", params).rows)
    safety = _by_trial(dataset.run("adverse-events", params).rows)
    citations = _by_trial([r for r in dataset.run("citation").rows if "trial" in r])

    out: list[str] = []
    for iri, rows in facts.items():
        items: dict[str, list[str]] = defaultdict(list)
        for row in rows:
            items[cell(row["item"]).split(" ", 1)[1]].append(cell(row["value"]))
        out.append(items["title"][0] if items["title"] else compact(iri))
        out.append(f"  {compact(iri)}")
        out.append(f"  {', '.join(items['phase'] + items['design'])}; {', '.join(items['condition'])}")
        if items["eligibility"]:
            out.append(f"  eligibility: {'; '.join(items['eligibility'])}")
        out.append(f"  populations: {'; '.join(items['population'])}")
        out += [f"  {line}" for line in items["intervention"]]
        out += [f"  registration: {line}" for line in items["registration"]]
        out.append("Efficacy  (value | denominator, how it was chosen | time anchor | source)")
        out += _efficacy_lines(efficacy.get(iri, []))
        out.append("Safety")
        if not safety.get(iri):
            out.append("  (no adverse events reported)")
        for row in safety.get(iri, []):
            parts = [cell(row["event"])]
            if row.get("grade"):
                parts.append(cell(row["grade"]))
            if row.get("patients") is not None:
                parts.append(plural(cell(row["patients"]), "patient"))
            if row.get("percent") is not None:
                parts.append(f"{cell(row['percent'])}%")
            if row.get("ratio") is not None:
                ratio = f"{cell(row['ratio_type'])} {cell(row['ratio'])}"
                if row.get("ci_lower"):
                    ratio += f" [CI {cell(row['ci_lower'])}-{cell(row['ci_upper'])}]"
                if row.get("p_value"):
                    ratio += f", {p_value(cell(row.get('p_comparator')), cell(row['p_value']))}"
                parts.append(ratio + f", {cell(row['exposure'])} vs {cell(row['reference'])}")
            if row.get("population"):
                parts.append("of " + _denominator(row))
            out.append(f"  {' | '.join(parts)} | {cell(row.get('source_label')) or cell(row['source'])}")
            if row.get("note") and row.get("terms") and " + " in cell(row["terms"]):
                out.append(f"    note: {cell(row['note'])}")
        out += _citation_lines(citations.get(iri, []))
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _denominator(row: dict) -> str:
    """``evaluable (n=36; stated)``: the population, its size if known, and how it was chosen."""
    size = f"n={cell(row['size'])}" if row.get("size") else "size not stated"
    if cell(row.get("population")).startswith("population not stated"):
        return "not stated"
    basis = cell(row.get("basis"))
    return f"{cell(row['population'])} ({size}" + (f"; {basis})" if basis else ")")


def _value(row: dict) -> str:
    if cell(row.get("notReached")) == "true":
        return "not reached"
    shown = quantity(cell(row.get("value")), cell(row.get("unit")), cell(row.get("ucum")))
    if row.get("ci_level"):
        level = f"{float(cell(row['ci_level'])) * 100:g}"
        shown += f" [{level}% CI {cell(row['ci_lower'])}-{cell(row['ci_upper'])}]"
    if row.get("range_lower"):
        shown += f" (range {cell(row['range_lower'])}-{cell(row['range_upper'])})"
    if row.get("p_value"):
        shown += f", {p_value(cell(row.get('p_comparator')), cell(row['p_value']))}"
    if row.get("exposure"):
        shown += f", {cell(row['exposure'])} vs {cell(row['reference'])}"
    return shown


def _anchor(row: dict) -> str:
    if row.get("timepoint_value"):
        at = f"at {plural(cell(row['timepoint_value']), cell(row['timepoint_unit']))}"
        origin = cell(row.get("origin"))
        return at + (f" from {origin}" if origin and "not stated" not in origin else " (time origin not stated)")
    if row.get("origin") and "not stated" in cell(row["origin"]):
        return "time origin not stated"
    return (
        f"from {cell(row['origin'])}"
        if row.get("origin")
        else f"at {cell(row['timepoint'])}"
        if row.get("timepoint")
        else f"during {cell(row['phase'])}"
        if row.get("phase")
        else "-"
    )


def _efficacy_lines(rows: list[dict]) -> list[str]:
    """Under each endpoint, one line per statistic; the reports of one finding grouped, differences flagged."""
    out: list[str] = []
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:  # rows come ordered by endpoint and time, twins adjacent
        key = (cell(row["endpoint"]), row["finding"].value if row.get("finding") else row["statistic"].value)
        groups.setdefault(key, []).append(row)
    endpoint = None
    for (this_endpoint, _), reports in groups.items():
        if this_endpoint != endpoint:
            endpoint = this_endpoint
            out.append(f"  {endpoint}")
        first = reports[0]

        def source(r: dict) -> str:
            return cell(r.get("source_label")) or cell(r["source"])

        if len(reports) == 1:
            out.append(
                f"    {cell(first['label'])}: {_value(first)} | {_denominator(first)} | {_anchor(first)} | "
                f"{source(first)}"
            )
            continue
        flag = "they DIFFER" if any(cell(r.get("differs")) == "true" for r in reports) else "they agree"
        title = cell(first.get("finding_label")) or cell(first["finding"])
        out.append(f"    {title}: {plural(len(reports), 'report')}, {flag}")
        for r in reports:
            out.append(f"      {_value(r)} | {_denominator(r)} | {_anchor(r)} | {source(r)}")
    return out


def _citation_lines(rows: list[dict]) -> list[str]:
    """``Source: Isoda A, Murayama K, Ito S, et al. Title. Journal. Epub 2018-03-28. doi:...`` per article."""
    by_pub: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_pub[row["publication"].value].append(row)
    out = []
    for pub_rows in by_pub.values():
        first = pub_rows[0]
        authors = ", ".join(dict.fromkeys(cell(r["author"]) for r in pub_rows))
        etal = ", et al." if cell(first["complete"]) == "false" else ""
        parts = [f"{authors}{etal}", cell(first["title"]), cell(first.get("journal"))]
        if first.get("epub"):
            parts.append(f"Epub {cell(first['epub'])}")
        if first.get("doi"):
            parts.append(f"doi:{cell(first['doi'])}")
        out.append("Source: " + ". ".join(p.rstrip(".") for p in parts if p) + ".")
    return out
