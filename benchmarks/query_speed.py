"""Ready-made queries at engine speed? Rows per second of each against a three-pattern join on the same store.

    python benchmarks/query_speed.py --store DIR [--only a,b] [--limit 120] [--json FILE]
    python benchmarks/query_speed.py --rare DIR100 DIR100000 [--json FILE]
    python benchmarks/query_speed.py --one-trial DIR100 DIR10000 DIR100000 [--json FILE]
    python benchmarks/query_speed.py --floors DIR [--json FILE]

Run it from the repository root on stores made by ``kg load`` from ``benchmarks/synth.py`` corpora.

- Per query: each ready-made query (with the parameters below) is run as ``kg query`` runs it
  (``Dataset.write``, CSV, rows streamed to a sink that counts them), in a forked child stopped
  after ``--limit`` seconds (its peak resident set reported too); its rows/s is set against the
  floor, a three-pattern join on the same store (every statistic's value and unit label: ``?s
  trialkg:value ?v ; trialkg:unit ?u . ?u rdfs:label ?l``), and a one-pattern scan (``?s ?p ?o``). The join is timed before and after the
  queries (the load of a shared machine moves) and each query is set against the mean of the two.
  The issue-22 target: every query within 3x of the join (rows/s at least a third of it). A query
  that returns no rows on the synthetic corpus (``claims``, ``comparisons``: the corpus has neither;
  ``consistency`` on a clean corpus) has no rows/s: its time is reported.
- ``--rare``: ``trials-by-drug`` / ``trials-by-condition`` for the rare terms of the synthetic
  corpus on a small and a large store (best of 5 each); the target: the large within 5x of the small.
- ``--one-trial``: every query about one study (``#+ scope: trial``) for publication 13's trial, which
  every corpus of 100 or more has, on each store (best of 5 each): a store asks that trial's own graphs,
  so the time should follow the trial, not the corpus.

- ``--floors``: joins of 3, 6, 9 and 12 triple patterns a row (:data:`CHAIN`) on one store, twice each: what a
  row costs per pattern it joins, so a query's rows/s can be set against the join of as many patterns as it needs.

Timing figures are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))
import synth  # noqa: E402

SYNTH = "https://w3id.org/trialkg/synthetic/"
#: parameters for the queries that need one (terms the synthetic corpus uses; a statistic of its first publication)
PARAMS = {
    "trials-by-drug": {"drug": "NCIT:C1851"},
    "trials-by-condition": {"condition": "MONDO:0009693"},
    "evidence-by-drug": {"drug": "NCIT:C1851"},
    "compare-outcomes": {"endpoint": "NCIT:C28234"},
    "provenance": {"statistic": SYNTH + "synth-000000/stat-0"},
    "resources": {"namespace": SYNTH},
}
RARE = [("trials-by-drug", {"drug": synth.RARE_DRUG}), ("trials-by-condition", {"condition": synth.RARE_CONDITION})]
JOIN = """PREFIX trialkg: <https://w3id.org/trialkg/ontology/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?s ?v ?l WHERE { ?s trialkg:value ?v ; trialkg:unit ?u . ?u rdfs:label ?l }"""
SCAN = "SELECT ?s ?p ?o WHERE { ?s ?p ?o }"
#: joins of 3, 6, 9 and 12 triple patterns a row, each the one before with three more (every statistic with a value
#: and unit, then its label and type's label, its endpoint's label and population, the population's label and size
#: and its study): how a row's cost grows with the patterns it joins on this store (``--floors``)
CHAIN = [
    "?s trialkg:value ?v ; trialkg:unit ?u . ?u rdfs:label ?l .",
    "?s rdfs:label ?sl ; trialkg:statisticType ?ty . ?ty rdfs:label ?tl .",
    "?s trialkg:measures ?m . ?m rdfs:label ?ml . ?s trialkg:population ?p .",
    "?p rdfs:label ?pl ; trialkg:size ?n . ?study trialkg:hasStatistic ?s .",
]


def chain(k: int) -> str:
    """The join of ``3 * k`` patterns of :data:`CHAIN`."""
    head = JOIN.split("SELECT", 1)[0]
    return f"{head}SELECT * WHERE {{ {' '.join(CHAIN[:k])} }}"


class Count:
    """A binary sink that counts lines (CSV rows) and bytes."""

    def __init__(self) -> None:
        self.lines = 0
        self.bytes = 0

    def write(self, data: bytes) -> int:
        self.lines += data.count(b"\n")
        self.bytes += len(data)
        return len(data)

    def flush(self) -> None:
        pass


def _one(store: str, name: str, text: str | None, conn) -> None:
    from kg.dataset import Dataset
    from kg.query import catalog

    ds = Dataset.open(store)
    query = catalog.parse_query(name, text) if text else catalog.get(name)
    sink = Count()
    start = time.perf_counter()
    ds.write(query, PARAMS.get(name, {}), "csv", sink)
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024  # the largest batch process, in MB
    conn.send([time.perf_counter() - start, max(0, sink.lines - 1), peak_mb(os.getpid()), children])


def peak_mb(pid: int) -> int | None:
    """A process's peak resident set (``VmHWM``), in MB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return next((int(line.split()[1]) // 1024 for line in status.splitlines() if line.startswith("VmHWM:")), None)


def timed(store: str, name: str, text: str | None, limit: float) -> dict:
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_one, args=(store, name, text, send))
    proc.start()
    send.close()
    if recv.poll(limit):
        seconds, rows, peak, children = recv.recv()
        out = {"seconds": seconds, "rows": rows, "rows_per_s": rows / seconds if seconds else None, "peak_mb": peak}
        out["children_peak_mb"] = children  # a query asked in batches: each batch's process (the largest)
    else:
        out = {"seconds": None, "stopped": limit, "peak_mb": peak_mb(proc.pid or 0)}
    proc.kill()
    proc.join()
    return out


def speed(store: str, only: list[str], limit: float) -> dict:
    from kg.query import catalog

    out: dict = {"store": store, "load_before": os.getloadavg()}
    out["floor_join"] = timed(store, "join", JOIN, limit)
    out["floor_scan"] = timed(store, "scan", SCAN, limit)
    print(json.dumps({"join": out["floor_join"], "scan": out["floor_scan"]}), flush=True)
    out["queries"] = {}
    for name in only or sorted(catalog.catalog()):
        out["queries"][name] = timed(store, name, None, limit)
        print(json.dumps({name: out["queries"][name]}), flush=True)
    # the floor again at the end: on a shared machine the load moves during a run, and each query is set against
    # the mean of the two (both are reported)
    out["floor_join_after"] = timed(store, "join", JOIN, limit)
    print(json.dumps({"join after": out["floor_join_after"]}), flush=True)
    rates = [f["rows_per_s"] for f in (out["floor_join"], out["floor_join_after"]) if f.get("rows_per_s")]
    join = sum(rates) / len(rates) if rates else None
    out["floor_join_mean_rows_per_s"] = join
    for q in out["queries"].values():
        if join and q.get("rows_per_s") is not None:
            q["vs_join"] = join / q["rows_per_s"] if q["rows_per_s"] else None
    out["load_after"] = os.getloadavg()
    return out


def floors(store: str, limit: float) -> dict:
    """Rows/s of the joins of :data:`CHAIN` (3, 6, 9, 12 patterns a row), each timed twice, alternating: the floor a
    query that joins that many patterns a row could reach on this store (each set against the 3-pattern join)."""
    out: dict = {"store": store, "load_before": os.getloadavg()}
    for run in (1, 2):
        for k in range(1, len(CHAIN) + 1):
            out[f"{3 * k} patterns, run {run}"] = timed(store, f"chain-{3 * k}", chain(k), limit)
            print(json.dumps({f"{3 * k} patterns, run {run}": out[f"{3 * k} patterns, run {run}"]}), flush=True)
    out["load_after"] = os.getloadavg()
    return out


def one_trial() -> list[tuple[str, dict[str, str]]]:
    """Every scoped query, asked about the trial of publication 13 (``synth.RARE_AT``: in every corpus >= 100)."""
    from kg.query import catalog

    trial = f"{SYNTH}synth-{synth.RARE_AT[0]:06d}"
    return [(name, {q.scope: trial}) for name, q in sorted(catalog.catalog().items()) if q.scope]


def best_of_five(stores: list[str], asks: list[tuple[str, dict[str, str]]]) -> dict:
    """Each query's best time of 5 and its rows, on each store (as ``kg query --store`` asks it)."""
    from kg.dataset import Dataset

    out: dict = {}
    for store in stores:
        ds = Dataset.open(store)
        here = out[store] = {}
        for name, params in asks:
            best, rows = None, 0
            for _ in range(5):
                start = time.perf_counter()
                rows = len(ds.run(name, params).rows)
                took = time.perf_counter() - start
                best = took if best is None else min(best, took)
            here[name] = {"seconds": best, "rows": rows}
        print(json.dumps({store: here}), flush=True)
        del ds
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store")
    ap.add_argument("--only", default="")
    ap.add_argument("--limit", type=float, default=120)
    ap.add_argument("--floors", metavar="STORE", help="rows/s of joins of 3, 6, 9 and 12 patterns a row")
    ap.add_argument("--rare", nargs="+", default=None, metavar="STORE")
    ap.add_argument("--one-trial", nargs="+", default=None, metavar="STORE")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--workers", type=int, default=None, help="processes a batched query uses (default: kg's own)")
    args = ap.parse_args()
    figures: dict = {"argv": sys.argv[1:]}
    if args.store:
        if args.workers is not None:  # set before the measuring children fork: they inherit it
            import kg.dataset

            kg.dataset.WORKERS = args.workers
        figures["speed"] = speed(args.store, [n for n in args.only.split(",") if n], args.limit)
    if args.floors:
        figures["floors"] = floors(args.floors, args.limit)
    if args.rare:
        figures["rare"] = best_of_five(args.rare, RARE)
    if args.one_trial:
        figures["one_trial"] = best_of_five(args.one_trial, one_trial())
    text = json.dumps(figures, indent=1, default=str)
    if args.json:
        args.json.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
