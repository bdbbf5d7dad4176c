"""The evidence pages ``kg publish --static`` writes last, alone: the memory of the process that renders them (issue 22).

    python benchmarks/publish_evidence.py --store DIR [--budget 300] [--json FILE]

A full static site of 100,000 publications takes hours of resource pages before
its evidence pages (``publish_scale.py`` never reached them), so this renders
them directly, in one process, as the publish's rendering child does: the
store opened, the study listing read through (as the listing pages read it,
which is what fills Oxigraph's string-table cache in that child), then
``kg.web.pages.evidence_files`` page after page until ``--budget`` seconds,
the pages discarded. It reports the resident set before the evidence pages
and its peak (``VmHWM``) after them, and the pages rendered. Timing figures are
reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (status_kb)

from kg.dataset import Dataset  # noqa: E402
from kg.web import pages  # noqa: E402
from kg.web.site import Site  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True)
    ap.add_argument("--budget", type=float, default=300, help="seconds of evidence pages")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    fig: dict = {"store": args.store, "budget_s": args.budget, "load_avg_before": os.getloadavg()}
    t0 = time.perf_counter()
    site = Site(Dataset.open(args.store))
    fig["studies_listed"] = sum(1 for _ in site.listing())
    fig["listing_s"] = round(time.perf_counter() - t0, 1)
    fig["rss_mb_before_evidence"] = run.status_kb(os.getpid(), "VmRSS") // 1024
    fig["hwm_mb_before_evidence"] = run.status_kb(os.getpid(), "VmHWM") // 1024
    t1 = time.perf_counter()
    count, size, stopped = 0, 0, False
    for _path, html in pages.evidence_files(site):
        count += 1
        size += len(html)
        if time.perf_counter() - t1 > args.budget:
            stopped = True
            break
    seconds = time.perf_counter() - t1
    fig.update(
        {
            "evidence_pages": count,
            "evidence_s": round(seconds, 1),
            "ms_a_page": round(1000 * seconds / max(count, 1), 1),
            "html_mb": round(size / 2**20, 1),
            "stopped_at_budget": stopped,
            "hwm_mb_after_evidence": run.status_kb(os.getpid(), "VmHWM") // 1024,
            "load_avg_after": os.getloadavg(),
        }
    )
    if args.json:
        args.json.write_text(json.dumps(fig, indent=1))
    print(json.dumps(fig, indent=1))


if __name__ == "__main__":
    main()
