"""``kg load --endpoint`` into a real ``oxigraph`` server against its floor, with memory (issue 22).

    python benchmarks/server_load.py --trials DIR --work DIR [--steps load,validate,post] [--keep]
                                     [--timeout 7200] [--server-limit-mb 8000] [--json FILE]

Run it from the repository root. ``--work`` is a new folder of its own (server stores and the kept
request bodies go there; it is removed at the end unless ``--keep``). Three steps, one at a time:

1. ``kg load --trials DIR --endpoint ... --update-endpoint ...`` into a fresh ``oxigraph serve``
   (loopback, its own new store folder, ``--union-default-graph``): wall time, the peak resident set of
   the ``kg`` process (its ``VmHWM`` as the kernel reports it at exit) and the server's resident set
   sampled every second (its peak, its ``VmHWM`` and its ``VmRSS`` at the end). The request bodies
   ``kg load`` writes (``update-*.ru`` in its temporary folder, under ``TMPDIR`` = the work folder)
   are hard-linked as they appear, so the floor sends exactly the same bytes;
2. ``kg validate --trials DIR``: what any loader must do before it touches the server;
3. the floor's upload: each kept request body POSTed with ``curl`` to ``/update`` of another fresh
   server, one after the other (one transaction each, as the load sends them): wall time and the
   server's memory sampled the same way.

Floor = validate + the raw POSTs; ratio = load / floor. ``--steps`` runs some of them (``--keep`` the work
folder, and the same ``--json``: a later run adds the others, e.g. when the machine is needed in between).
A server whose memory passes ``--server-limit-mb`` is stopped, and the figures say so. Every process runs under ``nice`` (the
machine is shared); the load average is given before and after each step. Timing figures are
reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT))
import run  # noqa: E402  (measure(), free_port, status_kb, wait_until_answering)

NICE = ["nice", "-n", "10"]


class Server:
    """A fresh ``oxigraph serve`` on loopback whose resident set is sampled every second while it runs."""

    def __init__(self, location: Path, limit_mb: int = 8000):
        self.limit_kb = limit_mb * 1024
        self.over: tuple[float, int] | None = None
        exe = Path(sys.executable).with_name("oxigraph")
        self.port = run.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [*NICE, str(exe), "serve", "--location", str(location), "--bind", f"127.0.0.1:{self.port}"]
            + ["--union-default-graph"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.samples: list[tuple[float, int]] = []
        self.stopping = threading.Event()
        run.wait_until_answering(f"{self.base}/query?query=ASK%7B%7D")
        self.t0 = time.perf_counter()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        while not self.stopping.wait(1.0):
            t, kb = time.perf_counter() - self.t0, run.status_kb(self.proc.pid, "VmRSS")
            self.samples.append((t, kb))
            if kb > self.limit_kb and self.over is None:  # the machine is shared: stop the server, say so
                self.over = (t, kb // 1024)
                self.proc.kill()

    def stop(self) -> dict:
        """Stop the server; its memory (MB): peak of the samples, the kernel's VmHWM, VmRSS at the end."""
        self.stopping.set()
        self.thread.join()
        out = {
            "server_sampled_peak_mb": max((kb for _t, kb in self.samples), default=0) // 1024,
            "server_hwm_mb": run.status_kb(self.proc.pid, "VmHWM") // 1024,
            "server_final_rss_mb": run.status_kb(self.proc.pid, "VmRSS") // 1024,
            # one sample a minute, for the record: (seconds, MB)
            "server_rss_mb_by_minute": [(round(t), kb // 1024) for t, kb in self.samples[::60]],
            "server_killed_over_limit": self.over,
        }
        self.proc.terminate()
        self.proc.wait(120)
        return out


def keep_bodies(tmp: Path, kept: Path, stop: threading.Event) -> None:
    """Hard-link each ``update-*.ru`` that ``kg load`` writes under ``tmp`` into ``kept`` (same bytes, no copy)."""
    while not stop.wait(0.2):
        for f in tmp.glob("trialkg-load-*/update-*.ru"):
            dst = kept / f.name
            if not dst.exists():
                try:
                    os.link(f, dst)
                except FileNotFoundError:
                    pass


def count_quads(base: str, timeout: float) -> int:
    q = urllib.parse.quote("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
    req = urllib.request.Request(f"{base}/query?query={q}", headers={"Accept": "text/tab-separated-values"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return int(r.read().decode().splitlines()[1].split("^^")[0].strip('"'))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", required=True, type=Path)
    ap.add_argument("--work", required=True, type=Path, help="a new folder for the server stores and kept bodies")
    ap.add_argument("--steps", default="load,validate,post", help="which steps (a later run can do the rest)")
    ap.add_argument("--timeout", type=float, default=7200)
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--server-limit-mb", type=int, default=8000, help="stop a server whose memory passes this")
    ap.add_argument("--json", type=Path, default=None, help="the figures (steps of several runs add up in it)")
    ap.add_argument("--post-budget", type=float, default=1e9, help="stop sending the raw POSTs after this long")
    args = ap.parse_args()
    steps = set(args.steps.split(","))
    tmp, kept = args.work / "tmp", args.work / "bodies"
    if "load" in steps:
        args.work.mkdir(parents=True)
        tmp.mkdir()
        kept.mkdir()
    fig: dict = json.loads(args.json.read_text()) if args.json and args.json.exists() else {}
    fig.update({"trials": str(args.trials), "publications": len(list(args.trials.glob("*.ttl")))})

    def save() -> None:
        if args.json:
            args.json.write_text(json.dumps(fig, indent=1))

    try:
        if "load" in steps:
            server = Server(args.work / "server-load", args.server_limit_mb)
            stop = threading.Event()
            linker = threading.Thread(target=keep_bodies, args=(tmp, kept, stop), daemon=True)
            linker.start()
            fig["load_avg_before_load"] = os.getloadavg()
            began = time.time()
            m = run.measure(
                [*NICE, sys.executable, "-m", "kg", "load", "--trials", str(args.trials)]
                + ["--endpoint", f"{server.base}/query", "--update-endpoint", f"{server.base}/update"]
                + ["--timeout", str(int(args.timeout))],
                args.timeout,
                env={**run.CHILD_ENV, "TMPDIR": str(tmp)},
            )
            fig["load_avg_after_load"] = os.getloadavg()
            stop.set()
            linker.join()
            quads = count_quads(server.base, args.timeout) if m["status"] == 0 else None
            fig["load"] = {**m, **server.stop(), "quads": quads}
            bodies = sorted(kept.glob("update-*.ru"), key=lambda p: int(p.stem.split("-")[1]))
            fig["bodies"] = {"count": len(bodies), "bytes": sum(b.stat().st_size for b in bodies)}
            fig["bodies"]["largest"] = max((b.stat().st_size for b in bodies), default=0)
            # kg load validates and writes every request before it sends the first: when the last was written
            fig["bodies"]["all_written_after_s"] = max((b.stat().st_mtime for b in bodies), default=began) - began
            save()
            print(json.dumps({k: v for k, v in fig["load"].items() if k != "output"}, indent=1), flush=True)
            if m["status"] != 0:
                sys.exit(f"kg load failed: {m['output'][-2000:]}")
        if "validate" in steps:  # the part of the floor no loader can skip
            fig["load_avg_before_validate"] = os.getloadavg()
            fig["validate"] = run.measure(
                [*NICE, sys.executable, "-m", "kg", "validate", "--trials", str(args.trials)], args.timeout
            )
            fig["load_avg_after_validate"] = os.getloadavg()
            save()
            print("validate", fig["validate"]["seconds"], fig["validate"]["peak_mb"], flush=True)
        if "post" in steps:  # the same request bodies POSTed raw, one after the other
            bodies = sorted(kept.glob("update-*.ru"), key=lambda p: int(p.stem.split("-")[1]))
            server = Server(args.work / "server-floor", args.server_limit_mb)
            fig["load_avg_before_post"] = os.getloadavg()
            t = time.perf_counter()
            each: list[float] = []
            for body in bodies:
                if time.perf_counter() - t > args.post_budget:
                    break
                one = time.perf_counter()
                subprocess.run(
                    [*NICE, "curl", "-s", "-S", "-f", "-X", "POST", "-H", "Content-Type: application/sparql-update"]
                    + ["--data-binary", f"@{body}", f"{server.base}/update"],
                    check=True,
                )
                each.append(time.perf_counter() - one)
            post = time.perf_counter() - t
            fig["load_avg_after_post"] = os.getloadavg()
            fig["post"] = {
                "seconds": post if len(each) == len(bodies) else None,
                "partial_seconds": post,
                "requests_sent": len(each),
                "requests": len(bodies),
                "request_s": [round(x, 2) for x in each],
                "slowest_request_s": max(each, default=0.0),
                "quads": count_quads(server.base, args.timeout),
            }
            fig["post"].update(server.stop())
            save()
        if "load" in fig and "validate" in fig and fig.get("post", {}).get("seconds"):
            fig["floor_s"] = fig["validate"]["seconds"] + fig["post"]["seconds"]
            fig["ratio"] = fig["load"]["seconds"] / fig["floor_s"]
            save()
        print(json.dumps({k: v for k, v in fig.items() if k not in ("load", "validate")}, indent=1))
    finally:
        if not args.keep:
            shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
