"""Inline SVG figures drawn on the server from query rows (no JavaScript).

Every word in a figure (categories, series, axis captions) comes from the
rows, that is from the graph; nothing here knows a particular trial. Each mark
carries ``data-`` attributes with its numbers and the statistic's IRI, so tests
and scripts can compare the drawing with the graph.
"""
from __future__ import annotations

import html
import math

from kg.query.formats import cell

PALETTE = ["#4a7ebb", "#9bbbe0", "#b5542c", "#6a9a4c", "#8a6bb0", "#c9a227"]


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def response_chart(rows: list[dict]) -> tuple[str, list[dict], list[dict]]:
    """Bars of response categories, each as a share of its own denominator.

    A bar is drawn only where the share is known: a reported percentage, or a
    count over a population whose size is stated. Counts over a population of
    unknown size are returned in the third list, to be printed, never drawn.
    Returns the SVG, the bars and the undrawn counts.
    """
    bars: list[dict] = []
    undrawn: list[dict] = []
    series: dict[tuple[str, str, str, str], str] = {}
    for r in rows:
        count, size, percent = cell(r.get("count")), cell(r.get("size")), cell(r.get("percent"))
        when = cell(r.get("phase")) or cell(r.get("timepoint")) or "time not stated"
        population = cell(r.get("population"))
        key = (when, population, size, cell(r.get("source_label")) or cell(r.get("source")))
        if count and size and int(size) > 0:
            share = 100 * int(count) / int(size)
        elif percent:
            share = float(percent)
        else:
            undrawn.append({"category": cell(r["category"]), "count": count, "when": when, "population": population,
                            "statistic": cell(r.get("statistic"))})
            continue
        series.setdefault(key, PALETTE[len(series) % len(PALETTE)])
        bars.append({"category": cell(r["category"]), "count": count, "percent": percent, "share": share,
                     "size": size, "when": when, "population": population, "colour": series[key],
                     "statistic": r["statistic"].value if r.get("statistic") else ""})
    width, top, left = 720, 30, 50
    bottom = 70 + 16 * len(series)
    height = top + 180 + bottom
    plot_h = height - top - bottom
    ymax = math.ceil(max([b["share"] for b in bars] + [10.0]) / 10) * 10
    bar_w = (width - left - 20) / max(len(bars), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" id="response-chart" role="img" font-family="sans-serif" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" data-ymax="{ymax}" data-plot-height="{plot_h}">',
             "<title>Response categories: share of each figure's own denominator</title>",
             f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#333"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#333"/>']
    for tick in range(0, int(ymax) + 1, 10):
        y = top + plot_h - tick * plot_h / ymax
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{tick}%</text>')
    for i, b in enumerate(bars):
        h = b["share"] * plot_h / ymax
        x = left + i * bar_w + 6
        y = top + plot_h - h
        value = (f'{b["count"]} of {b["size"]} ({b["share"]:.1f}%)' if b["count"]
                 else f'{b["percent"]}% of {b["size"] or b["population"]}')
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.2f}" width="{bar_w - 12:.1f}" height="{h:.2f}" fill="{b["colour"]}" '
            f'data-category="{_esc(b["category"])}" data-count="{b["count"]}" data-share="{b["share"]:.4f}" '
            f'data-size="{b["size"]}" data-statistic="{_esc(b["statistic"])}"><title>{_esc(b["category"])}, '
            f'{_esc(b["when"])}: {_esc(value)}</title></rect>')
        top_label = b["count"] if b["count"] else f'{b["percent"]}%'
        parts.append(f'<text x="{x + (bar_w - 12) / 2:.1f}" y="{y - 4:.1f}" font-size="11" text-anchor="middle">{_esc(top_label)}</text>')
        words = b["category"].split()
        for k, line in enumerate([" ".join(words[:2]), " ".join(words[2:])]):
            if line:
                parts.append(f'<text x="{x + (bar_w - 12) / 2:.1f}" y="{top + plot_h + 14 + 12 * k}" font-size="10" '
                             f'text-anchor="middle">{_esc(line)}</text>')
    for k, ((when, population, size, source), colour) in enumerate(series.items()):
        y = top + plot_h + 46 + 16 * k
        denominator = f"{population} (n = {size})" if size else population
        parts.append(f'<rect x="{left}" y="{y - 9}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text class="legend" x="{left + 16}" y="{y}" font-size="11" fill="#333">'
                     f'{_esc(when)}: share of {_esc(denominator)}; {_esc(source)}</text>')
    parts.append("</svg>")
    return "\n".join(parts), bars, undrawn


def survival_chart(rows: list[dict]) -> tuple[str, list[dict]]:
    """Time-to-event medians on one time axis, with CIs; a median not reached is an open-ended arrow.

    One mark per finding: of several reports of one finding, the one with a
    confidence interval is drawn, and the mark's title names every source.
    """
    chosen: dict[str, dict] = {}
    for r in rows:
        if not r.get("origin"):
            continue
        item = {"label": cell(r.get("finding_label")) or cell(r["label"]), "value": cell(r.get("value")),
                "not_reached": cell(r.get("notReached")) == "true",
                "lower": cell(r.get("ci_lower")), "upper": cell(r.get("ci_upper")),
                "level": cell(r.get("ci_level")), "unit": cell(r.get("unit")),
                "statistic": r["statistic"].value, "source": cell(r.get("source_label"))}
        key = r["finding"].value if r.get("finding") else item["statistic"]
        if key in chosen:
            sources = f"{chosen[key]['source']}; {item['source']}"
            if item["lower"] and not chosen[key]["lower"]:
                chosen[key] = item
            chosen[key]["source"] = sources
        else:
            chosen[key] = item
    items = list(chosen.values())
    numbers = [float(x) for i in items for x in (i["value"], i["upper"]) if x]
    xmax = max(6, math.ceil((max(numbers) if numbers else 12) * 1.25 / 6) * 6)
    unit = next((i["unit"] for i in items if i["unit"]), "")
    width, left, right, row_h, top = 720, 260, 30, 44, 30
    height = top + row_h * len(items) + 50
    plot_w = width - left - right
    scale = plot_w / xmax
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" id="survival-chart" role="img" font-family="sans-serif" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" data-xmax="{xmax}" data-left="{left}" '
             f'data-scale="{scale}">',
             f"<title>Time-to-event medians with confidence intervals ({_esc(unit)}s)</title>",
             '<defs><marker id="arrow" markerUnits="userSpaceOnUse" markerWidth="12" markerHeight="12" refX="11" '
             'refY="6" orient="auto"><path d="M0,0 L12,6 L0,12 z" fill="#b5542c"/></marker></defs>']
    axis_y = top + row_h * len(items) + 5
    parts.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="#333"/>')
    for tick in range(0, int(xmax) + 1, 6):
        x = left + tick * scale
        parts.append(f'<line x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 5}" stroke="#333"/>')
        parts.append(f'<text x="{x:.1f}" y="{axis_y + 18}" font-size="11" text-anchor="middle">{tick}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{axis_y + 34}" font-size="11" text-anchor="middle">{_esc(unit)}s</text>')
    for i, it in enumerate(items):
        y = top + i * row_h + row_h / 2
        label = it["label"] if len(it["label"]) <= 44 else it["label"][:43] + "…"
        parts.append(f'<text x="{left - 8}" y="{y + 4:.1f}" font-size="11" text-anchor="end"><title>{_esc(it["label"])}; '
                     f'{_esc(it["source"])}</title>{_esc(label)}</text>')
        if it["not_reached"] or not it["value"]:
            parts.append(f'<line class="not-reached" x1="{left}" y1="{y:.1f}" x2="{left + plot_w - 2:.1f}" y2="{y:.1f}" '
                         f'stroke="#b5542c" stroke-width="3" stroke-dasharray="6 4" marker-end="url(#arrow)" '
                         f'data-statistic="{_esc(it["statistic"])}"><title>median not reached</title></line>')
            parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{y - 9:.1f}" font-size="11" text-anchor="middle" '
                         f'fill="#b5542c">median not reached</text>')
            continue
        v = float(it["value"])
        if it["lower"]:
            lo, hi = float(it["lower"]), float(it["upper"])
            parts.append(f'<line class="ci" x1="{left + lo * scale:.2f}" y1="{y:.1f}" x2="{left + hi * scale:.2f}" '
                         f'y2="{y:.1f}" stroke="#333" stroke-width="2" data-lower="{lo}" data-upper="{hi}">'
                         f'<title>{float(it["level"]) * 100:g}% CI {lo}–{hi}</title></line>')
            for end in (lo, hi):
                parts.append(f'<line x1="{left + end * scale:.2f}" y1="{y - 6:.1f}" x2="{left + end * scale:.2f}" '
                             f'y2="{y + 6:.1f}" stroke="#333" stroke-width="2"/>')
        parts.append(f'<circle class="median" cx="{left + v * scale:.2f}" cy="{y:.1f}" r="6" fill="#4a7ebb" '
                     f'data-value="{v}" data-statistic="{_esc(it["statistic"])}"><title>median {v}</title></circle>')
        parts.append(f'<text x="{left + v * scale:.2f}" y="{y - 10:.1f}" font-size="11" text-anchor="middle">{v}</text>')
    parts.append("</svg>")
    return "\n".join(parts), items
