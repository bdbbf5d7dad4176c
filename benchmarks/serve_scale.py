"""Serving and publishing a large store: start time, page times per kind, memory (issue 22).

    python benchmarks/serve_scale.py --store DIR [--pages 40] [--clients 4] [--budget 120]
                                     [--publish OUT] [--publish-timeout 3600] [--json FILE]

Run it from the repository root on a store made by ``kg load`` (``benchmarks/synth.py`` for a
corpus). It starts ``kg serve --store DIR`` and measures, each figure wall-clock as a client sees it:

- start: from starting the process to its "serving on" line, and to the first page (``/``) answered;
- per kind of page (the landing page, study listing pages, study pages, other resource pages, a
  resource's Turtle document; evidence pages: each view's first page, first screens narrowed by one
  filter value, later pages, the last two found on the views' first pages, and first screens narrowed
  by two filters, found on some of the narrowed ones), ``--pages`` distinct
  pages asked one after the other (so none comes from the server's cache), p50 and p95; a kind
  stops early when its pages took ``--budget`` seconds in all (the figure then says how many were
  asked);
- the same kinds under ``--clients`` concurrent clients (each asking its own pages, none asked
  before);
- memory: the server's peak resident set (``VmHWM``) after the pages made from bounded lookups
  (landing, listing, resource, Turtle), and after all of it (study and evidence pages run
  ready-made queries: ``render_trial`` on the study's own graphs, and the evidence views, found on
  ``evidence/index.html``).

With ``--publish OUT`` it then runs ``kg publish --static OUT --store DIR`` (time and peak
memory, stopped after ``--publish-timeout`` seconds: the figure then says so). Pages are
picked at random with a fixed seed from the store itself (opened read-only beside the server).
Timing figures are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import select
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT))
import run  # noqa: E402  (measure(): wall time and peak memory of a child process)

BASE = "https://w3id.org/trialkg/"
TKG = BASE + "ontology/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample(store: str, n: int, seed: int) -> dict[str, list[str]]:
    """Site paths to ask for, by kind, picked from the store (read-only)."""
    import pyoxigraph as ox

    st = ox.Store.read_only(store)

    def iris(query: str) -> list[str]:
        return [r[0].value for r in st.query(query, use_default_graph_as_union=True)]

    rng = random.Random(seed)
    studies = iris(f"SELECT DISTINCT ?s WHERE {{ ?s a <{TKG}Study> }}")
    statistics_ = iris(f"SELECT ?s WHERE {{ ?s <{TKG}value> ?v }} LIMIT 200000")
    studies.sort()
    statistics_.sort()
    pick = lambda xs: rng.sample(xs, min(n, len(xs)))  # noqa: E731
    return {
        "study": [s[len(BASE) :] + ".html" for s in pick(studies) if s.startswith(BASE)],
        "resource": [s[len(BASE) :] + ".html" for s in pick(statistics_) if s.startswith(BASE)],
        "turtle": [s[len(BASE) :] + ".ttl" for s in pick(statistics_) if s.startswith(BASE)],
        "studies": len(studies),
    }


def get(url: str, timeout: float = 600) -> tuple[float, int]:
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            r.read()
            status = r.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError:
        status = 0
    return time.perf_counter() - start, status


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def kind_figures(times: list[float], statuses: list[int]) -> dict:
    if not times:
        return {"asked": 0}
    return {
        "asked": len(times),
        "ok": sum(1 for s in statuses if s == 200),
        "p50_ms": pct(times, 50) * 1000,
        "p95_ms": pct(times, 95) * 1000,
        "max_ms": max(times) * 1000,
        "mean_ms": statistics.fmean(times) * 1000,
    }


def sequential(base: str, paths: list[str], budget: float) -> dict:
    times, statuses = [], []
    for path in paths:
        t, s = get(f"{base}/{path}")
        times.append(t)
        statuses.append(s)
        if sum(times) > budget:
            break
    return kind_figures(times, statuses)


def concurrent(base: str, paths: list[str], clients: int, budget: float) -> dict:
    times: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + budget

    def client(mine: list[str]) -> None:
        for path in mine:
            if time.perf_counter() > deadline:
                return
            t, s = get(f"{base}/{path}")
            with lock:
                times.append(t)
                statuses.append(s)

    threads = [threading.Thread(target=client, args=(paths[i::clients],)) for i in range(clients)]
    start = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    out = kind_figures(times, statuses)
    out["wall_s"] = time.perf_counter() - start
    return out


def vm(pid: int, field: str) -> int:
    """A memory field (MB) of the server: the supervisor and its workers together (kg serve forks its worker;
    the query children a request forks are left out: each is bounded by --max-memory and gone after it)."""

    def one(p: int | str) -> int:
        return run.status_kb(p, field) // 1024

    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            workers = fh.read().split()
    except OSError:
        workers = []
    return one(pid) + sum(one(w) for w in workers)


def other_evidence_pages(base: str, views: list[str], rng: random.Random) -> dict[str, list[str]]:
    """The pages the views' first pages link to, shuffled: first screens narrowed by one filter value (``first``)
    and later pages of a view, whole or narrowed (``later``); and first screens narrowed by two filters
    (``combined``), linked from a few of the ``first`` (asked here, so not measured); each asked once (none is in
    the server's cache)."""
    first: set[str] = set()
    later: set[str] = set()
    combined: set[str] = set()

    def links(path: str) -> list[str]:
        html = urllib.request.urlopen(f"{base}/{path}", timeout=600).read().decode()
        folder = path.split("?")[0].rsplit("/", 1)[0]
        return [f"{folder}/{h.replace('&amp;', '&')}" for h in re.findall(r'href="([^"#]+\.html\?[^"#]+)"', html)]

    for view in views:
        for path in links(view):
            (later if "page=" in path else first).add(path)
    for path in sorted(sorted(first), key=lambda p: rng.random())[:12]:  # the seed's draw, not the hash order
        for p in links(path):
            if "page=" not in p and p.count("=") == 2:
                page, query = p.split("?", 1)
                combined.add(f"{page}?{'&'.join(sorted(query.split('&')))}")  # a=1&b=2 and b=2&a=1: one page
    out = {"first": sorted(first), "later": sorted(later), "combined": sorted(combined)}
    for paths in out.values():
        rng.shuffle(paths)
    return out


def serve_figures(store: str, pages: int, clients: int, budget: float, seed: int, bounded_only: bool = False) -> dict:
    picked = sample(store, pages * 2, seed)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kg", "serve", "--store", store, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=run.CHILD_ENV,
    )
    out: dict = {"store": store, "studies": picked["studies"]}
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 600)
        line = proc.stdout.readline().decode() if ready else ""
        out["ready_s"] = time.perf_counter() - start
        out["ready_line"] = line.strip()
        t, status = get(base + "/")
        out["first_page_s"] = time.perf_counter() - start
        out["first_page_status"] = status
        out["first_page_ms"] = t * 1000
        out["rss_after_first_page_mb"] = vm(proc.pid, "VmRSS")
        landing = urllib.request.urlopen(base + "/", timeout=600).read().decode()
        last = max([int(n) for n in re.findall(r"studies/page-(\d+)\.html", landing)] or [1])
        index = urllib.request.urlopen(base + "/evidence/index.html", timeout=600).read().decode()
        views = sorted({h for h in re.findall(r'href="([^"?#]+\.html)"', index) if "index" not in h and "/" not in h})
        evidence = [f"evidence/{v}" for v in views]
        rng = random.Random(seed)
        listing = [f"studies/page-{rng.randint(1, last)}.html" for _ in range(pages * 2)]
        bounded = {  # pages made from bounded lookups (kg/web/site.py)
            "landing (cached)": ["index.html"] * 5,
            "listing": listing[:pages],
            "resource": picked["resource"][:pages],
            "turtle": picked["turtle"][:pages],
        }
        whole = {  # pages made from ready-made queries (render_trial; the evidence views' pages of studies)
            "study": picked["study"][:pages],
            "evidence (a view's first page)": evidence,
        }
        out["sequential"] = {k: sequential(base, v, budget) for k, v in bounded.items()}
        more = {"listing": listing[pages:], "resource": picked["resource"][pages:]}
        out["concurrent"] = {k: concurrent(base, v, clients, budget) for k, v in more.items()}
        out["peak_mb_bounded_pages"] = vm(proc.pid, "VmHWM")
        for k, v in ({} if bounded_only else whole).items():
            out["sequential"][k] = sequential(base, v, budget)
            if k == "study" and out["sequential"][k].get("p50_ms", 0) < budget * 1000 / 4:
                out["concurrent"][k] = concurrent(base, picked["study"][pages:], clients, budget)
        if not bounded_only:  # first screens narrowed by a filter, and later pages: distinct, none asked before
            linked = other_evidence_pages(base, evidence, rng)
            out["evidence_pages_linked"] = len(linked)
            out["sequential"]["evidence (filtered first screen)"] = sequential(base, linked["first"][:pages], budget)
            out["sequential"]["evidence (a later page)"] = sequential(base, linked["later"][:pages], budget)
            out["sequential"]["evidence (two filters, first screen)"] = sequential(
                base, linked["combined"][:pages], budget
            )
            out["concurrent"]["evidence (filtered first screen)"] = concurrent(
                base, linked["first"][pages : pages * 3], clients, budget
            )
            out["concurrent"]["evidence (a later page)"] = concurrent(
                base, linked["later"][pages : pages * 3], clients, budget
            )
            out["concurrent"]["evidence (two filters, first screen)"] = concurrent(
                base, linked["combined"][pages : pages * 3], clients, budget
            )
        out["clients"] = clients
        out["peak_mb"] = vm(proc.pid, "VmHWM")
        out["rss_mb"] = vm(proc.pid, "VmRSS")
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return out


BOUNDED_PUBLISH = """
import sys
from kg.dataset import Dataset
from kg.web import pages, publish
pages.render_trial = pages.render_resource  # a study page as a plain resource page
pages.evidence_views = lambda site: []  # no evidence pages
out, count = publish.publish(sys.argv[1], Dataset.open(sys.argv[2]))
print(f"wrote {count} files to {out}")
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True)
    ap.add_argument("--pages", type=int, default=40, help="distinct pages asked per kind")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--budget", type=float, default=120, help="seconds per kind before it stops early")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--bounded-only",
        action="store_true",
        help="ask only the pages made from bounded lookups (not study and evidence pages)",
    )
    ap.add_argument("--publish", default=None, help="also publish the store into this new folder")
    ap.add_argument("--publish-timeout", type=float, default=3600)
    ap.add_argument(
        "--publish-bounded-only",
        action="store_true",
        help="publish with study pages drawn as plain resource pages and no evidence pages (what is measured "
        "is then the site's own streaming: render_trial and the evidence views query the whole corpus per page)",
    )
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    figures: dict = {"argv": sys.argv[1:], "load_before": os.getloadavg()}
    figures["serve"] = serve_figures(args.store, args.pages, args.clients, args.budget, args.seed, args.bounded_only)
    if args.publish:
        cmd = [sys.executable, "-m", "kg", "publish", "--static", args.publish, "--store", args.store]
        if args.publish_bounded_only:
            cmd = [sys.executable, "-c", BOUNDED_PUBLISH, args.publish, args.store]
        m = run.measure(cmd, args.publish_timeout, keep=2000)
        files = sum(len(f) for _d, _s, f in os.walk(args.publish)) if Path(args.publish).exists() else 0
        figures["publish"] = {**m, "files": files, "bounded_only": args.publish_bounded_only}
    figures["load_after"] = os.getloadavg()
    text = json.dumps(figures, indent=1, default=str)
    if args.json:
        args.json.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
