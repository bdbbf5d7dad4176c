"""``kg publish --static`` on a large store: time, files written and memory of its process tree over time (issue 22).

    python benchmarks/publish_scale.py --store DIR --out NEWDIR [--budget 1800] [--every 5] [--json FILE]

Run it from the repository root on a store made by ``kg load --store``. It runs
``nice kg publish --static NEWDIR --store DIR`` and every ``--every`` seconds samples:

- the resident set of the whole process tree (``kg publish`` and the child it forks to render: the
  sum of their ``VmRSS``, which counts the pages they share after the fork twice, so an upper bound; the
  kernel's peak of each, ``VmHWM``, is kept too);
- the files written so far, as inodes used on the file system since the start (``statvfs``: O(1),
  so counting millions of files costs nothing; other processes' files add noise, small beside these);
- the phase: study and resource pages until the build folder has ``evidence/``, evidence pages after.

It stops the publish after ``--budget`` seconds (the figures then say so: a partial measurement).
Timing figures are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (status_kb)


def tree(root: int) -> list[int]:
    """``root`` and its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def inodes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_files - st.f_ffree


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True)
    ap.add_argument("--out", required=True, type=Path, help="a new folder for the site")
    ap.add_argument("--budget", type=float, default=1800, help="seconds before the publish is stopped")
    ap.add_argument("--every", type=float, default=5)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    out = args.out.resolve()
    if out.exists():
        sys.exit(f"{out}: give a new folder")
    base_inodes = inodes(out.parent)
    fig: dict = {"store": args.store, "budget_s": args.budget, "load_avg_before": os.getloadavg(), "samples": []}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        ["nice", "-n", "10", sys.executable, "-m", "kg", "publish", "--static", str(out), "--store", args.store],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    hwm: dict[int, int] = {}
    evidence_at = None
    stopped = False
    while True:
        pid, status_code, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        t = time.perf_counter() - t0
        if t > args.budget:
            os.killpg(proc.pid, signal.SIGKILL)
            stopped = True
            _, status_code, usage = os.wait4(proc.pid, 0)
            break
        pids = tree(proc.pid)
        rss = sum(run.status_kb(p, "VmRSS") for p in pids)
        for p in pids:
            hwm[p] = max(hwm.get(p, 0), run.status_kb(p, "VmHWM"))
        files = inodes(out.parent) - base_inodes
        if evidence_at is None and any(out.parent.glob(f".{out.name}.kg-publish-*/evidence")):
            evidence_at = (round(t, 1), files)
            print(f"evidence pages from {t:.1f} s ({files} files before)", flush=True)
        fig["samples"].append((round(t, 1), rss // 1024, files, len(pids)))
        print(f"{t:8.1f} s  tree RSS {rss // 1024:6d} MB  files {files:9d}  procs {len(pids)}", flush=True)
        time.sleep(args.every)
    wall = time.perf_counter() - t0
    output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    fig.update(
        {
            "seconds": wall,
            "stopped_at_budget": stopped,
            "status": os.waitstatus_to_exitcode(status_code),
            "output": output[-2000:],
            # wait4: the peak of the leader and of the children it reaped (the largest one, not their sum)
            "peak_mb_wait4": usage.ru_maxrss / 1024,
            "peak_tree_rss_mb_sampled": max((s[1] for s in fig["samples"]), default=0),
            "hwm_mb_by_process": {str(p): kb // 1024 for p, kb in hwm.items()},
            "evidence_started_at": evidence_at,
            "files_at_end": inodes(out.parent) - base_inodes,
            "load_avg_after": os.getloadavg(),
        }
    )
    if not stopped and out.exists():
        fig["files_in_site"] = sum(len(f) for _d, _s, f in os.walk(out))
    if args.json:
        args.json.write_text(json.dumps(fig, indent=1))
    print(json.dumps({k: v for k, v in fig.items() if k != "samples"}, indent=1))


if __name__ == "__main__":
    main()
