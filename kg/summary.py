"""A one-screen, plain-text summary of each trial, built from the ready-made queries.

It is what the README's first command prints: proof that the graph answers the
questions a clinician would ask first, with numbers, units and denominators.
"""
from __future__ import annotations

from collections import defaultdict

from kg import catalog
from kg.engines import execute
from kg.errors import QueryError
from kg.prefixes import compact, to_iri
from kg.query import bind
from kg.results import cell

SOURCE_TAG = {"cta-isoda-2018": "news", "isoda-2018": "paper"}


def _rows(name: str, params: dict[str, str], **target):
    q = catalog.get(name)
    return execute(q.text, bind(q, params), origin=f"queries/{name}.rq", **target).rows


def _tag(source_iri: str) -> str:
    slug = source_iri.rstrip("/").rsplit("/", 1)[-1]
    return SOURCE_TAG.get(slug, slug)


def _number(term) -> str:
    text = cell(term)
    return text


def summarize(trial: str | None = None, **target) -> str:
    """The summary text for one trial (slug, IRI or CURIE) or all of them."""
    params: dict[str, str] = {}
    if trial:
        iri = to_iri(trial) or (f"https://w3id.org/trialkg/trial/{trial}" if trial.replace("-", "").isalnum() else None)
        if iri is None:
            raise QueryError(f"--trial {trial!r} is not a slug, IRI or CURIE")
        params["trial"] = iri
    facts = _rows("trial-summary", params, **target)
    if not facts:
        raise QueryError(f"no trial found{' for ' + trial if trial else ''}")
    by_trial: dict[str, list] = defaultdict(list)
    for row in facts:
        by_trial[row["trial"].value].append(row)

    out: list[str] = []
    for trial_iri, rows in by_trial.items():
        items: dict[str, list[str]] = defaultdict(list)
        for row in rows:
            items[cell(row["item"]).split(" ", 1)[1]].append(cell(row["value"]))
        out.append(f"{items['title'][0]}")
        out.append(f"  {compact(trial_iri)}")
        out.append(f"  {', '.join(items['phase'] + items['design'])}; {', '.join(items['condition'])}")
        out.append(f"  eligibility: {'; '.join(items['eligibility'])}")
        out.append(f"  populations: {'; '.join(items['population'])}")
        for line in items["intervention"]:
            out.append(f"  {line}")

        tparams = {"trial": trial_iri}
        out.append("Efficacy  (value unit | denominator | time anchor | source)")
        for row in _rows("efficacy", tparams, **target):
            value = cell(row.get("value"))
            unit = cell(row.get("unit"))
            unit = {"percent": "%", "count unit": "patients", "month": "months"}.get(unit, unit)
            shown = value if value == "not reached" else f"{value} {unit}".replace(" %", "%")
            denom = cell(row.get("population"))
            if row.get("size"):
                denom += f" (n={cell(row['size'])})"
            anchor = cell(row.get("origin")) and f"from {cell(row.get('origin'))}"
            anchor = anchor or (cell(row.get("timepoint")) and f"at {cell(row.get('timepoint'))}") or cell(row.get("phase"))
            ci = ""
            if row.get("ci_level"):
                level = f"{float(cell(row['ci_level'])) * 100:g}"
                ci = f" [{level}% CI {cell(row['ci_lower'])}-{cell(row['ci_upper'])}]"
            out.append(f"  {cell(row['label'])}: {shown}{ci} | {denom} | {anchor or '-'} | {_tag(row['source'].value)}")
        out.append("Safety")
        for row in _rows("adverse-events", tparams, **target):
            parts = [cell(row["event"])]
            if row.get("grade"):
                parts.append(cell(row["grade"]))
            if row.get("patients") is not None:
                parts.append(f"{cell(row['patients'])} patients")
            if row.get("percent") is not None:
                parts.append(f"{cell(row['percent'])}%")
            if row.get("population"):
                parts.append(f"of {cell(row['population'])}" + (f" (n={cell(row['size'])})" if row.get("size") else ""))
            out.append(f"  {' | '.join(parts)} | {_tag(row['source'].value)}")
        out.append("")
    cites = _rows("citation", {}, **target)
    if cites:
        first = cites[0]
        authors = ", ".join(cell(r["author"]) for r in cites if r["publication"] == first["publication"])
        etal = ", et al." if cell(first["complete"]) == "false" else ""
        out.append(f"Source: {authors}{etal} {cell(first['title'])}. {cell(first.get('journal'))}. "
                   f"Epub {cell(first.get('epub'))}. doi:{cell(first.get('doi'))}")
    return "\n".join(out)
