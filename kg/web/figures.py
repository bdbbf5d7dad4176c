"""Inline SVG figures drawn on the server from query rows (no JavaScript).

Every word in a figure (categories, series, axis captions) comes from the
rows, that is from the graph; nothing here knows a particular trial. Each mark
carries ``data-`` attributes with its numbers and the statistic's IRI, so tests
and scripts can compare the drawing with the graph.
"""

from __future__ import annotations

import html
import math
from typing import Any

from kg.query.formats import cell, level, number

PALETTE = ["#4a7ebb", "#9bbbe0", "#b5542c", "#6a9a4c", "#8a6bb0", "#c9a227"]


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _interval(
    cls: str,
    lo_x: float,
    hi_x: float,
    y: float,
    data: str,
    colour: str,
    tick: float,
    title: str = "",
    open_end: bool = False,
) -> list[str]:
    """An interval's line from ``lo_x`` to ``hi_x`` with a tick at each end. One whose upper end the source printed
    as not reached (NR, NE: ``open_end``) runs to ``hi_x``, the plot's edge, and ends in an open arrowhead, not a
    tick: it has no end to draw, and a number is never made up for it (``data`` says ``data-upper="not reached"``).
    """
    parts = [
        f'<line class="{cls}" x1="{lo_x:.2f}" y1="{y:.1f}" x2="{hi_x:.2f}" y2="{y:.1f}" stroke="{colour}" '
        f'stroke-width="2" {data}>{f"<title>{_esc(title)}</title>" if title else ""}</line>',
        f'<line x1="{lo_x:.2f}" y1="{y - tick:.1f}" x2="{lo_x:.2f}" y2="{y + tick:.1f}" stroke="{colour}" stroke-width="2"/>',
    ]
    if open_end:
        parts.append(
            f'<path class="open-end" d="M{hi_x - 8:.2f},{y - 5:.1f} L{hi_x:.2f},{y:.1f} L{hi_x - 8:.2f},{y + 5:.1f}" '
            f'fill="none" stroke="{colour}" stroke-width="2"/>'
        )
    else:
        parts.append(
            f'<line x1="{hi_x:.2f}" y1="{y - tick:.1f}" x2="{hi_x:.2f}" y2="{y + tick:.1f}" stroke="{colour}" '
            'stroke-width="2"/>'
        )
    return parts


def response_chart(rows: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """Bars of response categories, each as a share of its own denominator.

    A bar is drawn only where the share is known: a reported percentage, or a
    count over a population whose size is stated. Counts over a population of
    unknown size are returned in the third list, to be printed, never drawn.
    Returns the SVG, the bars and the undrawn counts.
    """
    bars: list[dict[str, Any]] = []
    undrawn: list[dict[str, Any]] = []
    series: dict[tuple[str, str, str, str], str] = {}
    seen: set[str] = set()
    for r in rows:
        if cell(r.get("statistic")) in seen:
            continue  # a figure of a study that names no scale is a row on each scale holding its term: one bar
        seen.add(cell(r.get("statistic")))
        count, size, percent = cell(r.get("count")), cell(r.get("size")), cell(r.get("percent"))
        when = cell(r.get("assessed")) or cell(r.get("timepoint")) or cell(r.get("phase")) or "time not stated"
        population = cell(r.get("population"))
        key = (when, population, size, cell(r.get("source_label")) or cell(r.get("source")))
        n, of, pct = number(count), number(size), number(percent)
        if n is not None and of is not None and of > 0:
            share = 100 * n / of
        elif pct is not None:
            share = pct
        else:  # nothing to draw it as a share of (a value that is not a number is printed, never drawn)
            undrawn.append(
                {
                    "category": cell(r["category"]),
                    "count": count,
                    "when": when,
                    "population": population,
                    "statistic": cell(r.get("statistic")),
                }
            )
            continue
        series.setdefault(key, PALETTE[len(series) % len(PALETTE)])
        bars.append(
            {
                "category": cell(r["category"]),
                "count": count,
                "percent": percent,
                "share": share,
                "size": size,
                "when": when,
                "population": population,
                "colour": series[key],
                "statistic": r["statistic"].value if r.get("statistic") else "",
            }
        )
    if not bars:  # no share to draw (a response rate is no category): no empty axes
        return "", bars, undrawn
    width, top, left = 720, 30, 50
    bottom = 70 + 16 * len(series)
    height = top + 180 + bottom
    plot_h = height - top - bottom
    ymax = math.ceil(max([b["share"] for b in bars] + [10.0]) / 10) * 10
    bar_w = (width - left - 20) / max(len(bars), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="response-chart" role="img" font-family="sans-serif" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" data-ymax="{ymax}" data-plot-height="{plot_h}">',
        "<title>Response categories: share of each figure's own denominator</title>",
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#333"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#333"/>',
    ]
    for tick in range(0, int(ymax) + 1, 10 * max(1, math.ceil(ymax / 100))):  # at most about 10 ticks
        y = top + plot_h - tick * plot_h / ymax
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{tick}%</text>')
    for i, b in enumerate(bars):
        h = b["share"] * plot_h / ymax
        x = left + i * bar_w + 6
        y = top + plot_h - h
        value = (
            f"{b['count']} of {b['size']} ({b['share']:.1f}%)"
            if b["count"]
            else f"{b['percent']}% of {b['size'] or b['population']}"
        )
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.2f}" width="{bar_w - 12:.1f}" height="{h:.2f}" fill="{b["colour"]}" '
            f'data-category="{_esc(b["category"])}" data-count="{b["count"]}" data-share="{b["share"]:.4f}" '
            f'data-size="{b["size"]}" data-statistic="{_esc(b["statistic"])}"><title>{_esc(b["category"])}, '
            f"{_esc(b['when'])}: {_esc(value)}</title></rect>"
        )
        top_label = b["count"] if b["count"] else f"{b['percent']}%"
        parts.append(
            f'<text x="{x + (bar_w - 12) / 2:.1f}" y="{y - 4:.1f}" font-size="11" text-anchor="middle">{_esc(top_label)}</text>'
        )
        words = b["category"].split()
        for k, line in enumerate([" ".join(words[:2]), " ".join(words[2:])]):
            if line:
                parts.append(
                    f'<text x="{x + (bar_w - 12) / 2:.1f}" y="{top + plot_h + 14 + 12 * k}" font-size="10" '
                    f'text-anchor="middle">{_esc(line)}</text>'
                )
    for k, ((when, population, size, source), colour) in enumerate(series.items()):
        y = top + plot_h + 46 + 16 * k
        denominator = f"{population} (n = {size})" if size else population
        parts.append(f'<rect x="{left}" y="{y - 9}" width="10" height="10" fill="{colour}"/>')
        parts.append(
            f'<text class="legend" x="{left + 16}" y="{y}" font-size="11" fill="#333">'
            f"{_esc(when)}: share of {_esc(denominator)}; {_esc(source)}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts), bars, undrawn


def survival_chart(rows: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Time-to-event medians on one time axis, with CIs; a median not reached is an open-ended arrow.

    ``rows`` are medians (the caller picks them: a hazard ratio or a rate at a
    time point is no mark on a time axis); those timed from an origin in the
    unit most of them have are drawn (no text when there is none). One mark per
    finding: of several reports of one finding, the one with a confidence
    interval is drawn, and the mark's title names every source.
    """
    chosen: dict[str, dict[str, Any]] = {}
    timed = [r for r in rows if r.get("origin")]
    units = [cell(r.get("unit")) for r in timed if cell(r.get("unit"))]
    axis_unit = max(dict.fromkeys(units), key=units.count) if units else ""  # the commonest, the first of a tie
    for r in timed:
        if cell(r.get("unit")) not in (axis_unit, ""):
            continue  # another unit than the axis's: in the table, not on this axis
        item = {
            "label": cell(r.get("finding_label")) or cell(r["label"]),
            "value": cell(r.get("value")),
            "not_reached": cell(r.get("notReached")) == "true",
            "lower": cell(r.get("ci_lower")),
            "upper": cell(r.get("ci_upper")),
            "upper_not_reached": cell(r.get("ci_upper_not_reached")) == "true",
            "level": cell(r.get("ci_level")),
            "unit": cell(r.get("unit")),
            "statistic": r["statistic"].value,
            "source": cell(r.get("source_label")),
        }
        key = r["finding"].value if r.get("finding") else item["statistic"]
        if key in chosen:
            sources = f"{chosen[key]['source']}; {item['source']}"
            if item["lower"] and not chosen[key]["lower"]:
                chosen[key] = item
            chosen[key]["source"] = sources
        else:
            chosen[key] = item
    items = list(chosen.values())
    if not items:
        return "", items
    numbers = [x for i in items for x in (number(i["value"]), number(i["upper"])) if x is not None]
    xmax = max(6, math.ceil((max(numbers) if numbers else 12) * 1.25 / 6) * 6)
    unit = next((i["unit"] for i in items if i["unit"]), "")
    width, left, right, row_h, top = 720, 260, 30, 44, 30
    height = top + row_h * len(items) + 50
    plot_w = width - left - right
    scale = plot_w / xmax
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="survival-chart" role="img" font-family="sans-serif" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" data-xmax="{xmax}" data-left="{left}" '
        f'data-scale="{scale}">',
        f"<title>Time-to-event medians with confidence intervals ({_esc(unit)}s)</title>",
        '<defs><marker id="arrow" markerUnits="userSpaceOnUse" markerWidth="12" markerHeight="12" refX="11" '
        'refY="6" orient="auto"><path d="M0,0 L12,6 L0,12 z" fill="#b5542c"/></marker></defs>',
    ]
    axis_y = top + row_h * len(items) + 5
    parts.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="#333"/>')
    for tick in range(0, int(xmax) + 1, 6 * max(1, math.ceil(xmax / 72))):  # at most about 12 ticks
        x = left + tick * scale
        parts.append(f'<line x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 5}" stroke="#333"/>')
        parts.append(f'<text x="{x:.1f}" y="{axis_y + 18}" font-size="11" text-anchor="middle">{tick}</text>')
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{axis_y + 34}" font-size="11" text-anchor="middle">{_esc(unit)}s</text>'
    )
    for i, it in enumerate(items):
        y = top + i * row_h + row_h / 2
        label = it["label"] if len(it["label"]) <= 44 else it["label"][:43] + "…"
        parts.append(
            f'<text x="{left - 8}" y="{y + 4:.1f}" font-size="11" text-anchor="end"><title>{_esc(it["label"])}; '
            f"{_esc(it['source'])}</title>{_esc(label)}</text>"
        )
        v = number(it["value"])
        if v is None and not it["not_reached"] and it["value"]:
            continue  # a value that is not a number: its row is labelled, nothing is drawn
        if it["not_reached"] or v is None:
            parts.append(
                f'<line class="not-reached" x1="{left}" y1="{y:.1f}" x2="{left + plot_w - 2:.1f}" y2="{y:.1f}" '
                f'stroke="#b5542c" stroke-width="3" stroke-dasharray="6 4" marker-end="url(#arrow)" '
                f'data-statistic="{_esc(it["statistic"])}"><title>median not reached</title></line>'
            )
            parts.append(
                f'<text x="{left + plot_w / 2:.1f}" y="{y - 9:.1f}" font-size="11" text-anchor="middle" '
                f'fill="#b5542c">median not reached</text>'
            )
            continue
        lo, hi = number(it["lower"]), number(it["upper"])
        if lo is not None and (hi is not None or it["upper_not_reached"]):
            parts += _interval(
                "ci",
                left + lo * scale,
                left + (hi if hi is not None else xmax) * scale,
                y,
                f'data-lower="{lo}" data-upper="{hi if hi is not None else "not reached"}"',
                "#333",
                6,
                f"{level(it['level'])} CI {lo}–{hi if hi is not None else 'not reached'}",
                open_end=hi is None,
            )
        parts.append(
            f'<circle class="median" cx="{left + v * scale:.2f}" cy="{y:.1f}" r="6" fill="#4a7ebb" '
            f'data-value="{v}" data-statistic="{_esc(it["statistic"])}"><title>median {v}</title></circle>'
        )
        parts.append(
            f'<text x="{left + v * scale:.2f}" y="{y - 10:.1f}" font-size="11" text-anchor="middle">{v}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts), items


# ---- evidence across publications: forest plot, medians, rates at a time point -----------------
#
# Each mark is an <a> to its statistic's page: focusable (tabindex), named by a <title> holding
# its figure and the sentence it came from (the browser's tooltip), and shown in the figure's
# reading strip on hover and on keyboard focus by CSS alone. Marks carry data- attributes with
# their numbers; the <svg> carries the scale (data-left, data-width and the axis domain), so a
# test can recompute every position from the graph.

EVIDENCE_STYLE = """<style>
.ev-mark { cursor: pointer; }
.ev-mark:focus { outline: none; }
.ev-mark .ev-ring { visibility: hidden; }
.ev-mark:hover .ev-ring, .ev-mark:focus .ev-ring { visibility: visible; }
.ev-mark .ev-tip { visibility: hidden; }
.ev-mark:hover .ev-tip, .ev-mark:focus .ev-tip { visibility: visible; }
</style>"""
TIP_LINES, TIP_WIDTH = 4, 124  # lines and characters of the reading strip
ROW_H, LABEL_W, WIDTH = 46, 300, 760


def _num(x: float) -> str:
    """A number as the graph has it: ``0.67``, ``2``, not ``2.0``."""
    return f"{x:g}"


def nice_step(span: float, most: int = 8) -> float:
    """The smallest 1, 2 or 5 times a power of ten that cuts ``span`` into at most ``most`` steps.

    >>> nice_step(12), nice_step(60), nice_step(5), nice_step(0.8)
    (2, 10, 1, 0.1)
    """
    span = max(span, 1e-9)
    power = 10 ** math.floor(math.log10(span / most))
    for factor in (1, 2, 5, 10):
        if span / (factor * power) <= most:
            step = factor * power
            return int(step) if step >= 1 else round(step, 12)
    return float(10 * power)  # pragma: no cover - the loop always returns


def log_ticks(lo: float, hi: float) -> list[float]:
    """Ticks of a log axis from ``lo`` to ``hi``: powers of 2 over a short span, of 10 over a long one.

    >>> log_ticks(0.5, 4), log_ticks(0.51, 3.61), log_ticks(0.63, 1), log_ticks(0.01, 100)
    ([0.5, 1, 2, 4], [0.5, 1, 2, 4], [0.5, 1], [0.01, 0.1, 1, 10, 100])
    """
    if math.log2(hi / lo) <= 8:
        return [
            2.0**k if k < 0 else 2**k
            for k in range(math.floor(math.log2(lo) + 1e-9), math.ceil(math.log2(hi) - 1e-9) + 1)
        ]
    return [
        10.0**k if k < 0 else 10**k
        for k in range(math.floor(math.log10(lo) + 1e-9), math.ceil(math.log10(hi) - 1e-9) + 1)
    ]


def _right_width(items: list[dict[str, Any]]) -> int:
    """The room right of the plot for the printed estimates: 150 px, more (up to 260) for a long one such as
    "14 months (10.2–not reached)", which ran past the figure's edge (11 px font: about 6.5 px a character)."""
    longest = max((len(str(i.get("right", ""))) for i in items), default=0)
    return min(260, max(150, 20 + math.ceil(6.5 * longest)))


def _high_open(item: dict[str, Any]) -> bool:
    """Whether an evidence mark's interval has a lower bound and an upper end the source printed as not reached."""
    return item.get("lower") is not None and item.get("upper") is None and bool(item.get("upper_not_reached"))


def _wrap(text: str, width: int = TIP_WIDTH, lines: int = TIP_LINES) -> list[str]:
    import textwrap

    out = textwrap.wrap(text, width) or [""]
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][: width - 1] + "…"
    return out


def _open(kind: str, height: int, title: str, data: str, hint: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="evidence-chart" id="{kind}-chart" role="group" '
        f'font-family="sans-serif" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" {data}>',
        f"<title>{_esc(title)}</title>",
        EVIDENCE_STYLE,
        f'<text x="10" y="{height - TIP_LINES * 15 + 2}" font-size="11" fill="#5b6b7c">{_esc(hint)}</text>',
    ]


def _mark(item: dict[str, Any], tip_y: float, inner: list[str], ring: tuple[float, float, float, float]) -> list[str]:
    """One statistic's mark: a link to its page, with its title, focus ring and reading-strip text."""
    x, y, w, h = ring
    tip = _wrap(item["tip"])
    lines = "".join(f'<tspan x="14" dy="{0 if k == 0 else 15}">{_esc(line)}</tspan>' for k, line in enumerate(tip))
    data = " ".join(f'data-{k}="{_esc(str(v))}"' for k, v in item.get("data", {}).items())
    return [
        f'<a class="ev-mark" href="{_esc(item["href"])}" tabindex="0" data-statistic="{_esc(item["statistic"])}" {data}>',
        f"<title>{_esc(item['tip'])}</title>",
        f'<rect class="ev-ring" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="4" fill="#eef3fb" '
        'stroke="#1d4ed8" stroke-width="2"/>',
        *inner,
        f'<g class="ev-tip"><rect x="6" y="{tip_y - 14:.1f}" width="{WIDTH - 12}" height="{TIP_LINES * 15 + 8}" '
        f'fill="#fffbea" stroke="#c9a227"/><text y="{tip_y:.1f}" font-size="12" fill="#1d2733">{lines}</text></g>',
        "</a>",
    ]


def _row_label(x: float, y: float, item: dict[str, Any]) -> list[str]:
    group = item["row"] if len(item["row"]) <= 46 else item["row"][:45] + "…"
    detail = item["detail"] if len(item["detail"]) <= 52 else item["detail"][:51] + "…"
    return [
        f'<text class="row-label" x="{x}" y="{y - 2:.1f}" font-size="12" text-anchor="end">{_esc(group)}</text>',
        f'<text x="{x}" y="{y + 12:.1f}" font-size="10" text-anchor="end" fill="#5b6b7c">{_esc(detail)}</text>',
    ]


def forest_plot(items: list[dict[str, Any]], title: str, axis: str, hint: str, log: bool = True) -> str:
    """Between-group effects with their intervals and a dashed line of no difference.

    Ratios (hazard, odds, risk ratio: ``log``) on a log axis with the line at 1;
    differences (risk, mean or median difference) on a linear axis with the line
    at 0. Each item: ``value``, ``lower``, ``upper`` (the interval, may be None),
    ``row`` and ``detail`` (its label lines), ``right`` (the printed estimate),
    ``href``, ``statistic``, ``tip`` (title text) and ``data`` (extra data-
    attributes). A ratio without a positive value is not drawn (a ratio is positive).
    """
    if log:
        items = [i for i in items if i.get("value") is not None and i["value"] > 0]
        # the axis runs at least from 1/2 to 2, so the line at 1 never sits on its edge
        numbers = [x for i in items for x in (i["value"], i.get("lower"), i.get("upper")) if x and x > 0] + [0.5, 2.0]
        ticks: list[float] = log_ticks(min(numbers), max(numbers))
        lo, hi = min(ticks[0], min(numbers)), max(ticks[-1], max(numbers))
        none = 1.0
    else:
        items = [i for i in items if i.get("value") is not None]
        numbers = [x for i in items for x in (i["value"], i.get("lower"), i.get("upper")) if x is not None] + [0.0]
        step = nice_step(max(numbers) - min(numbers) or 1)
        lo, hi = math.floor(min(numbers) / step) * step, math.ceil(max(numbers) / step) * step
        hi = hi if hi > lo else lo + step
        ticks = [lo + k * step for k in range(round((hi - lo) / step) + 1)]
        none = 0.0
    left, plot_w, top = LABEL_W + 10, WIDTH - LABEL_W - 10 - _right_width(items), 24
    axis_y = top + ROW_H * len(items) + 4
    tip_y = axis_y + 60
    height = int(tip_y + TIP_LINES * 15)

    def x_of(v: float) -> float:
        if log:
            return left + (math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo)) * plot_w
        return float(left + (v - lo) / (hi - lo) * plot_w)

    domain = (
        f'data-log-min="{_num(lo)}" data-log-max="{_num(hi)}" data-scale="log"'
        if log
        else f'data-min="{_num(lo)}" data-max="{_num(hi)}" data-scale="linear"'
    )
    parts = _open(
        "forest" if log else "difference", height, title, f'data-left="{left}" data-width="{plot_w}" {domain}', hint
    )
    parts.append(f'<line class="axis" x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="#333"/>')
    for t in ticks:
        parts.append(
            f'<line x1="{x_of(t):.2f}" y1="{axis_y}" x2="{x_of(t):.2f}" y2="{axis_y + 5}" stroke="#333"/>'
            f'<text x="{x_of(t):.2f}" y="{axis_y + 18}" font-size="11" text-anchor="middle">{_num(round(t, 10))}</text>'
        )
    parts.append(
        f'<text class="axis-label" x="{left + plot_w / 2:.1f}" y="{axis_y + 36}" font-size="11" '
        f'text-anchor="middle">{_esc(axis)}</text>'
    )
    parts.append(
        f'<line class="no-effect" x1="{x_of(none):.2f}" y1="{top - 8}" x2="{x_of(none):.2f}" y2="{axis_y}" '
        f'stroke="#5b6b7c" stroke-dasharray="4 3" data-value="{_num(none)}"/>'
    )
    for k, it in enumerate(items):
        y = top + k * ROW_H + ROW_H / 2
        inner = _row_label(left - 10, y, it)
        low, high, open_end = it.get("lower"), it.get("upper"), _high_open(it)
        if low is not None and (high is not None or open_end) and (not log or (low > 0 and (high is None or high > 0))):
            inner += _interval(  # a log axis: above 0 only
                "ci",
                x_of(low),
                x_of(high) if high is not None else left + plot_w,
                y,
                f'data-lower="{_num(low)}" data-upper="{_num(high) if high is not None else "not reached"}"',
                "#1d2733",
                5,
                open_end=high is None,
            )
        vx = x_of(it["value"])
        inner.append(
            f'<rect class="estimate" x="{vx - 6:.2f}" y="{y - 6:.1f}" width="12" height="12" fill="#4a7ebb" '
            f'data-value="{_num(it["value"])}" data-x="{vx:.2f}"/>'
        )
        inner.append(f'<text x="{left + plot_w + 12}" y="{y + 4:.1f}" font-size="11">{_esc(it["right"])}</text>')
        parts += _mark(it, tip_y, inner, (8, y - ROW_H / 2 + 2, WIDTH - 16, ROW_H - 4))
    parts.append("</svg>")
    return "\n".join(parts)


def _time_axis(
    parts: list[str],
    left: float,
    plot_w: float,
    axis_y: float,
    xmax: float,
    step: float,
    label: str,
    ticks: bool = True,
) -> None:
    """A linear axis from 0 to ``xmax``; without ``ticks`` (nothing on it has a number) only its line and label."""
    parts.append(f'<line class="axis" x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="#333"/>')
    k = 0
    while ticks and k * step <= xmax + 1e-9:
        x = left + k * step * plot_w / xmax
        parts.append(
            f'<line x1="{x:.2f}" y1="{axis_y}" x2="{x:.2f}" y2="{axis_y + 5}" stroke="#333"/>'
            f'<text x="{x:.2f}" y="{axis_y + 18}" font-size="11" text-anchor="middle">{_num(round(k * step, 9))}</text>'
        )
        k += 1
    parts.append(
        f'<text class="axis-label" x="{left + plot_w / 2:.1f}" y="{axis_y + 36}" font-size="11" '
        f'text-anchor="middle">{_esc(label)}</text>'
    )


def _axis_max(numbers: list[float]) -> tuple[float, float]:
    top = max(numbers + [1.0]) * 1.15
    step = nice_step(top)
    return math.ceil(top / step) * step, step


def median_chart(items: list[dict[str, Any]], title: str, axis: str, not_reached: str, hint: str) -> str:
    """Medians on their own axis (in their unit), each a row, with the CI or range; not reached as an open arrow.

    Each item as for :func:`forest_plot`, with ``not_reached`` (bool) and ``interval`` (the
    interval's label). A median not reached is an arrow from the axis start past the plot's
    end, open-ended, with ``not_reached`` written on it: never a number.
    """
    numbers = [x for i in items for x in (i.get("value"), i.get("lower"), i.get("upper")) if x is not None]
    xmax, step = _axis_max(numbers)
    left, plot_w, top = LABEL_W + 10, WIDTH - LABEL_W - 10 - _right_width(items), 24
    axis_y = top + ROW_H * len(items) + 4
    tip_y = axis_y + 60
    height = int(tip_y + TIP_LINES * 15)
    scale = plot_w / xmax

    parts = _open(
        "median",
        height,
        title,
        f'data-left="{left}" data-width="{plot_w}" data-xmax="{_num(xmax)}" data-scale="linear"',
        hint,
    )
    parts.append(
        '<defs><marker id="ev-arrow" markerUnits="userSpaceOnUse" markerWidth="12" markerHeight="12" refX="11" '
        'refY="6" orient="auto"><path d="M0,0 L12,6 L0,12" fill="none" stroke="#b5542c" stroke-width="2"/></marker></defs>'
    )
    _time_axis(parts, left, plot_w, axis_y, xmax, step, axis, ticks=bool(numbers))
    for k, it in enumerate(items):
        y = top + k * ROW_H + ROW_H / 2
        inner = _row_label(left - 10, y, it)
        low, high = it.get("lower"), it.get("upper")
        if low is not None and (high is not None or _high_open(it)):
            inner += _interval(
                "interval",
                left + low * scale,
                left + (high if high is not None else xmax) * scale,
                y,
                f'data-lower="{_num(low)}" data-upper="{_num(high) if high is not None else "not reached"}" '
                f'data-interval="{_esc(it.get("interval", ""))}"',
                "#1d2733",
                5,
                open_end=high is None,
            )
        if it.get("not_reached") or it.get("value") is None:
            inner.append(
                f'<line class="not-reached" x1="{left}" y1="{y:.1f}" x2="{left + plot_w + 20:.1f}" y2="{y:.1f}" '
                f'stroke="#b5542c" stroke-width="3" stroke-dasharray="6 4" marker-end="url(#ev-arrow)"/>'
            )
            inner.append(
                f'<text x="{left + plot_w + 32}" y="{y + 4:.1f}" font-size="11" fill="#b5542c">{_esc(not_reached)}</text>'
            )
        else:
            vx = left + it["value"] * scale
            inner.append(
                f'<circle class="median" cx="{vx:.2f}" cy="{y:.1f}" r="6" fill="#4a7ebb" '
                f'data-value="{_num(it["value"])}"/>'
            )
            inner.append(f'<text x="{left + plot_w + 12}" y="{y + 4:.1f}" font-size="11">{_esc(it["right"])}</text>')
        parts += _mark(it, tip_y, inner, (8, y - ROW_H / 2 + 2, WIDTH - 16, ROW_H - 4))
    parts.append("</svg>")
    return "\n".join(parts)


def rate_chart(rows: list[dict[str, Any]], title: str, axis: str, hint: str) -> str:
    """Rates at a time point (percentages), each group a row: x is the time point, height in the row the rate.

    ``rows`` are groups: ``row``, ``detail`` and ``items``, each item with ``time``,
    ``value`` (0 to 100), ``right`` (the printed rate), ``href``, ``statistic``, ``tip``.
    A group's rates are joined in time order; the row's band runs from 0 % (bottom) to
    100 % (top).
    """
    times = [i["time"] for r in rows for i in r["items"]]
    xmax, step = _axis_max(times)
    left, plot_w, top, band = LABEL_W + 10, WIDTH - LABEL_W - 10 - 60, 24, 40
    row_h = band + 20
    axis_y = top + row_h * len(rows) + 4
    tip_y = axis_y + 60
    height = int(tip_y + TIP_LINES * 15)
    scale = plot_w / xmax
    parts = _open(
        "rate",
        height,
        title,
        f'data-left="{left}" data-width="{plot_w}" data-xmax="{_num(xmax)}" data-band="{band}" data-scale="linear"',
        hint,
    )
    _time_axis(parts, left, plot_w, axis_y, xmax, step, axis)
    for k, group in enumerate(rows):
        base = top + k * row_h + 10 + band  # the row's 0 % line
        parts += _row_label(left - 10, base - band / 2, group)
        parts.append(
            f'<rect x="{left}" y="{base - band}" width="{plot_w}" height="{band}" fill="#f3f6f9"/>'
            f'<text x="{left + plot_w + 4}" y="{base - band + 8}" font-size="9" fill="#5b6b7c">100%</text>'
            f'<text x="{left + plot_w + 4}" y="{base}" font-size="9" fill="#5b6b7c">0%</text>'
        )
        points = sorted(group["items"], key=lambda i: i["time"])
        if len(points) > 1:
            path = " ".join(f"{left + p['time'] * scale:.2f},{base - p['value'] / 100 * band:.2f}" for p in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="#9bbbe0" stroke-width="2"/>')
        for it in points:
            cx, cy = left + it["time"] * scale, base - it["value"] / 100 * band
            inner = [
                f'<circle class="rate" cx="{cx:.2f}" cy="{cy:.2f}" r="6" fill="#4a7ebb" data-time="{_num(it["time"])}" '
                f'data-value="{_num(it["value"])}" data-base="{base:.2f}"/>',
                f'<text x="{cx + 9:.2f}" y="{cy + 4:.2f}" font-size="11">{_esc(it["right"])}</text>',
            ]
            parts += _mark(it, tip_y, inner, (cx - 10, cy - 10, 52, 20))
    parts.append("</svg>")
    return "\n".join(parts)
