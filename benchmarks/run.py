"""Benchmarks: the trialkg pipeline on synthetic corpora, side by side with its anchors.

    python benchmarks/run.py [--quick] [--sizes 100,1000,10000] [--out benchmarks/results.md]

For each corpus size N (publications written by benchmarks/synth.py) it measures,
each step in a child process (wall time, triples/s, peak RSS of that process):

- build: ``kg build`` vs pyoxigraph parsing the same files and serializing the
  same four outputs (Turtle, N-Triples, JSON-LD, N-Quads) -- the floor;
- validate: ``kg validate`` (shapes compiled to SPARQL on Oxigraph) vs one
  whole-graph pyshacl run with the same shapes, Apache Jena's ``shacl validate``
  (Debian's libapache-jena-java) and pyrudof, with each engine's violations on a
  planted-defect corpus compared with ours;
- load: ``kg load`` into the embedded store and into a real ``oxigraph`` server;
- queries: every ready-made query on pyoxigraph vs rdflib's SPARQL engine.

``--quick`` runs N = 100 and 1,000 with the slow anchors (pyshacl, rdflib) at the
small size only: a smoke test that finishes in a few minutes. Timing figures are
reported, never asserted.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT))  # run from a checkout, the checkout's kg is the one measured
import synth  # noqa: E402

PY = sys.executable
# Child processes import the kg this script would import: the installed one, or the checkout's.
CHILD_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


class StepFailed(RuntimeError):
    """A benchmark step that must succeed did not: the run stops with its own error."""


# ------------------------------------------------------------------ measuring

def measure(cmd: list[str], timeout: float, cwd: str | None = None, env: dict | None = None,
            keep: int | None = 4000) -> dict:
    """Run a command; wall seconds, peak RSS (MB) of that process tree's leader, exit status, output."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env or CHILD_ENV,
                                start_new_session=True)
        deadline = start + timeout
        status = None
        while status is None:
            pid, status_code, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                status = os.waitstatus_to_exitcode(status_code)
                break
            if time.perf_counter() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                _, status_code, usage = os.wait4(proc.pid, 0)
                out.seek(0)
                return {"seconds": None, "timeout": timeout, "peak_mb": usage.ru_maxrss / 1024, "status": "timeout",
                        "output": out.read().decode(errors="replace")[-2000:]}
            time.sleep(0.02)
        wall = time.perf_counter() - start
        out.seek(0)
        text = out.read().decode(errors="replace")
        return {"seconds": wall, "peak_mb": usage.ru_maxrss / 1024, "status": status,
                "output": text[-keep:] if keep else text}


def py(code: str, *args: str, timeout: float) -> dict:
    return measure([PY, "-c", textwrap.dedent(code), *args], timeout)


def must(step: str, result: dict) -> dict:
    """The result of a step the rest of the run depends on; stop the run with its own error if it failed."""
    if result.get("status") != 0:
        raise StepFailed(f"{step} failed ({result.get('status')}):\n{result.get('output', '')[-3000:]}")
    return result


ANCHOR_SERIALIZE = """
import sys, glob, pyoxigraph as ox
from kg import resources
files_ = [str(f) for f in resources.ontology_files()]
files_ += sorted(glob.glob(sys.argv[1] + "/*.ttl"))
store = ox.Store()
for f in files_:
    store.load(path=f, format=ox.RdfFormat.TURTLE, base_iri="https://w3id.org/trialkg/")
out = sys.argv[2]
for name, fmt in [("a.ttl", ox.RdfFormat.TURTLE), ("a.nt", ox.RdfFormat.N_TRIPLES), ("a.jsonld", ox.RdfFormat.JSON_LD)]:
    ox.serialize((ox.Triple(q.subject, q.predicate, q.object) for q in store), out + "/" + name, format=fmt)
with open(out + "/a.nq", "wb") as fh:
    for i, f in enumerate(files_):
        one = ox.Store()
        one.load(path=f, format=ox.RdfFormat.TURTLE, base_iri="https://w3id.org/trialkg/", to_graph=ox.NamedNode(f"urn:g:{i}"))
        ox.serialize(one, fh, format=ox.RdfFormat.N_QUADS)
print(len(store))
"""

MERGE_NT = """
import sys, glob, pyoxigraph as ox
from kg import resources
files_ = [str(f) for f in resources.ontology_files()]
files_ += sorted(glob.glob(sys.argv[1] + "/*.ttl"))
store = ox.Store()
for f in files_:
    store.load(path=f, format=ox.RdfFormat.TURTLE, base_iri="https://w3id.org/trialkg/")
from kg import mappings
store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in mappings.triples(mappings.packaged()))
ox.serialize((ox.Triple(q.subject, q.predicate, q.object) for q in store), sys.argv[2], format=ox.RdfFormat.N_TRIPLES)
print(len(store))
"""

PYSHACL = """
import sys, json, rdflib, pyshacl
g = rdflib.Graph()
g.parse(sys.argv[1], format="nt")
shapes = rdflib.Graph()
from kg import resources
for f in resources.shape_files():
    shapes.parse(data=f.read_bytes(), format="turtle")
conforms, results, _ = pyshacl.validate(g, shacl_graph=shapes, inference="none", advanced=True)
SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
focus = sorted({str(results.value(r, SH.focusNode)) for rep in results.subjects(rdflib.RDF.type, SH.ValidationReport)
                for r in results.objects(rep, SH.result)})
print(json.dumps({"conforms": bool(conforms), "focus": focus}))
"""

PYRUDOF = """
import sys, json
try:
    import pyrudof
except ImportError:
    print(json.dumps({"skipped": "pyrudof not installed"})); sys.exit(3)
r = pyrudof.Rudof(pyrudof.RudofConfig())
r.read_data(sys.argv[1], format=pyrudof.RDFFormat.NTriples)
from kg import resources
shapes = "".join(f.read_text() for f in resources.shape_files())
r.read_shacl(shapes)
report = r.validate_shacl()
focus = []
for v in report.violations if hasattr(report, "violations") else report:
    for attr in ("focus_node", "focus", "node"):
        if hasattr(v, attr):
            value = getattr(v, attr)
            focus.append(str(value() if callable(value) else value).strip("<>"))
            break
print(json.dumps({"conforms": bool(report.conforms), "focus": sorted(set(focus)), "count": len(report)}))
"""

KG_QUERIES = """
import sys, json, time, glob
from kg.dataset import Dataset
from kg.query import catalog
engine = sys.argv[2]
ds = Dataset.from_paths([sys.argv[1]])
params = json.loads(sys.argv[3])
out = {}
if engine == "oxigraph":
    for name, q in sorted(catalog.catalog().items()):
        best = None
        for _ in range(3):
            t = time.perf_counter(); n = len(ds.run(q, params.get(name, {})).rows); d = time.perf_counter() - t
            best = d if best is None else min(best, d)
        out[name] = [best, n]
else:
    ds.rdflib  # built once, outside the timings
    only = sys.argv[4].split(",") if len(sys.argv) > 4 and sys.argv[4] else sorted(catalog.catalog())
    for name in only:
        t = time.perf_counter(); n = len(ds.run(name, params.get(name, {}), engine="rdflib").rows)
        out[name] = [time.perf_counter() - t, n]
        print(json.dumps({name: out[name]}), flush=True)
print("RESULT " + json.dumps(out))
"""

QUERY_PARAMS = {"trials-by-drug": {"drug": "NCIT:C1851"}, "trials-by-condition": {"condition": "MONDO:0009693"},
                "evidence-by-drug": {"drug": "NCIT:C1851"}, "compare-outcomes": {"endpoint": "NCIT:C28234"},
                "provenance": {"statistic": "https://w3id.org/trialkg/synthetic/synth-000000/stat-0"},
                "resources": {"namespace": "https://w3id.org/trialkg/trial/"}}


# ------------------------------------------------------------------ Jena

def jena_command() -> tuple[list[str] | None, str]:
    """`java -cp ... shacl.shacl` built from Debian's libapache-jena-java and its own dependencies."""
    if not shutil.which("java"):
        return None, "java not installed"
    try:
        files = subprocess.run(["dpkg", "-L", "libapache-jena-java"], capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return None, "libapache-jena-java not installed (apt-get install libapache-jena-java)"
    jars = [f for f in files if f.endswith(".jar") and "/usr/share/java/" in f]
    deps = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                           "--no-breaks", "--no-replaces", "--no-enhances", "libapache-jena-java"],
                          capture_output=True, text=True).stdout.split()
    pkgs = sorted({d for d in deps if d.startswith("lib") and d.endswith("-java")})
    for pkg in pkgs:
        out = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True).stdout.split()
        jars += [f for f in out if f.endswith(".jar") and "/usr/share/java/" in f]
    # log4j-over-slf4j and slf4j-log4j12 together abort start-up: keep a single binding.
    import re

    jars = sorted({j for j in jars if os.path.exists(j)
                   # logging bridges and bindings that loop into each other abort start-up:
                   # keep slf4j-api with at most the simple / nop binding
                   and not re.search(r"/(log4j-over-slf4j|jcl-over-slf4j|jul-to-slf4j|slf4j-log4j12|slf4j-jcl|"
                                     r"slf4j-jdk14|slf4j-reload4j|logback-classic)[^/]*\.jar$", j)
                   and not re.search(r"-\d[\w.]*\.jar$", j)})  # versioned twins of the unversioned links
    fix = Path(tempfile.gettempdir()) / "trialkg-xerces-bundles.jar"
    if not fix.exists():
        core = next((j for j in jars if j.endswith("jena-core.jar")), None)
        if core is None:
            return None, "jena-core.jar not found"
        work = Path(tempfile.mkdtemp())
        subprocess.run(["unzip", "-q", "-o", core, "org/apache/jena/ext/xerces/*.properties", "-d", str(work)], check=False)
        src = work / "org/apache/jena/ext"
        for f in src.rglob("*.properties"):  # every xerces message bundle, at the path the classes look for
            dst = work / "fix" / f.relative_to(src)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(f, dst)
        subprocess.run(["jar", "cf", str(fix), "-C", str(work / "fix"), "."], check=True)
    return ["java", "-Xmx8g", "-cp", ":".join([str(fix), *jars]), "shacl.shacl", "validate"], ""


# ------------------------------------------------------------------ the run

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def count_triples(nt: Path) -> int:
    with open(nt, "rb") as fh:
        return sum(1 for _ in fh)


def run_size(n: int, work: Path, quick: bool, slow_max: int, timeout: float) -> dict:
    corpus = work / f"corpus-{n}"
    synth.generate(n, seed=1, out=corpus)
    merged = work / f"merged-{n}.nt"
    must(f"merging the N = {n} corpus", py(MERGE_NT, str(corpus), str(merged), timeout=timeout))
    triples = count_triples(merged)
    r: dict = {"n": n, "triples": triples}
    kg = [PY, "-m", "kg"]
    out = work / f"out-{n}"
    out.mkdir(exist_ok=True)
    r["build"] = must("kg build", measure(kg + ["build", "--trials", str(corpus), "--out", str(out)], timeout, cwd=str(work)))
    anchor_out = work / f"anchor-{n}"
    anchor_out.mkdir(exist_ok=True)
    r["anchor_serialize"] = py(ANCHOR_SERIALIZE, str(corpus), str(anchor_out), timeout=timeout)
    r["validate"] = must("kg validate", measure(kg + ["validate", "--trials", str(corpus)], timeout, cwd=str(work)))
    r["pyshacl"] = (py(PYSHACL, str(merged), timeout=60 if quick else min(timeout, 900))
                    if n <= slow_max else {"status": "skipped"})
    jena, why = jena_command()
    shapes = work / "shapes.ttl"
    if not shapes.exists():
        from kg import resources
        shapes.write_text("".join(f.read_text() for f in resources.shape_files()))
    r["jena"] = measure(jena + ["--shapes", str(shapes), "--data", str(merged)], timeout) if jena else {"status": "skipped", "why": why}
    r["pyrudof"] = py(PYRUDOF, str(merged), timeout=timeout) if n <= max(slow_max, 1000) else {"status": "skipped"}
    store = work / f"store-{n}"
    r["load_embedded"] = must("kg load --store", measure(kg + ["load", "--trials", str(corpus), "--store", str(store)],
                                                         timeout, cwd=str(work)))
    r["load_server"] = load_server(corpus, work, n, timeout) if (n <= 1000 or not quick) else {"status": "skipped"}
    r["queries"] = must("the ready-made queries", py(KG_QUERIES, str(corpus), "oxigraph", json.dumps(QUERY_PARAMS),
                                                     timeout=timeout))
    r["queries_rdflib"] = (py(KG_QUERIES, str(corpus), "rdflib", json.dumps(QUERY_PARAMS), "", timeout=timeout * 2)
                           if n <= slow_max else {"status": "skipped"})
    shutil.rmtree(store, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(anchor_out, ignore_errors=True)
    return r


def load_server(corpus: Path, work: Path, n: int, timeout: float) -> dict:
    exe = Path(PY).with_name("oxigraph")
    if not exe.exists():
        return {"status": "skipped", "why": "oxigraph server not installed"}
    port = free_port()
    proc = subprocess.Popen([str(exe), "serve", "--location", str(work / f"server-{n}"), "--bind", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/query?query=ASK%7B%7D", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        return measure([PY, "-m", "kg", "load", "--trials", str(corpus), "--endpoint", f"{base}/query",
                        "--gsp-endpoint", f"{base}/store", "--update-endpoint", f"{base}/update", "--timeout", "600"],
                       timeout, cwd=str(work))
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(work / f"server-{n}", ignore_errors=True)


def planted_check(work: Path, n: int, defects: int, timeout: float, slow_max: int) -> dict:
    """Every planted defect reported, nothing else: ours, and the anchors' focus nodes compared."""
    corpus = work / f"defects-{n}"
    planted = synth.generate(n, seed=7, out=corpus, defects=defects)
    expected = {(f, m) for _, f, m in planted}
    res = measure([PY, "-m", "kg", "validate", "--trials", str(corpus)], timeout, cwd=str(work), keep=None)
    got = set()
    for line in res["output"].splitlines():
        if ": trialkg.synthetic:" in line:
            focus = "https://w3id.org/trialkg/" + line.split(": trialkg:", 1)[1].split()[0].rstrip(":")
            got.add(focus)
    res["output"] = res["output"][-4000:]
    out = {"n": n, "planted": len(planted), "ours": res, "ours_focus": sorted(got),
           "missing": sorted({f for f, _ in expected} - got), "extra": sorted(got - {f for f, _ in expected})}
    merged = work / f"defects-{n}.nt"
    must("merging the planted-defect corpus", py(MERGE_NT, str(corpus), str(merged), timeout=timeout))
    for name, code in (("pyshacl", PYSHACL), ("pyrudof", PYRUDOF)):
        if (name == "pyshacl" and n > slow_max) or (name == "pyrudof" and n > max(slow_max, 1000)):
            out[name] = {"status": "skipped"}
            continue
        r = measure([PY, "-c", textwrap.dedent(code), str(merged)], timeout, keep=None)
        try:
            data = json.loads(r["output"].strip().splitlines()[-1])
            r["focus"] = data["focus"]
        except (ValueError, IndexError, KeyError):
            r["focus"] = None
        r["output"] = r["output"][-4000:]
        out[name] = r
    jena, why = jena_command()
    if jena:
        shapes = work / "shapes.ttl"
        if not shapes.exists():

            from kg import resources
            shapes.write_text("".join(f.read_text() for f in resources.shape_files()))
        r = measure(jena + ["--shapes", str(shapes), "--data", str(merged)], timeout, keep=None)
        r["focus"] = sorted({line.split("<", 1)[1].split(">", 1)[0] for line in r["output"].splitlines()
                             if "sh:focusNode" in line and "<" in line})
        r["output"] = r["output"][-4000:]
        out["jena"] = r
    else:
        out["jena"] = {"status": "skipped", "why": why}
    return out


# ------------------------------------------------------------------ report

def fmt_s(m: dict) -> str:
    if not isinstance(m, dict) or m.get("status") == "skipped":
        return "not run"
    if m.get("status") == "timeout":
        return f"> {m['timeout']:.0f} s"
    if m.get("status") not in (0, 1):
        return f"failed ({m.get('status')})"
    return f"{m['seconds']:.2f} s"


def tps(m: dict, triples: int) -> str:
    if not isinstance(m, dict) or not m.get("seconds"):
        return ""
    return f"{triples / m['seconds']:,.0f}"


def mb(m: dict) -> str:
    return f"{m['peak_mb']:.0f}" if isinstance(m, dict) and m.get("peak_mb") else ""


def ratio(anchor: dict, ours: dict) -> str:
    if not (isinstance(anchor, dict) and isinstance(ours, dict) and ours.get("seconds")):
        return ""
    if anchor.get("status") == "timeout":
        return f"> {anchor['timeout'] / ours['seconds']:.1f}x"
    if not anchor.get("seconds") or anchor.get("status") not in (0, 1):
        return ""
    return f"{anchor['seconds'] / ours['seconds']:.2f}x"


def report(results: list[dict], defects: dict | None, args, started: str, elapsed: float) -> str:
    import pyoxigraph
    import pyshacl
    import rdflib

    lines = ["# trialkg benchmarks", "",
             f"Run {started} (UTC), {elapsed / 60:.1f} min; `python benchmarks/run.py {' '.join(sys.argv[1:])}`.",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
             f"Python {platform.python_version()}, pyoxigraph {pyoxigraph.__version__}, rdflib {rdflib.__version__}, "
             f"pyshacl {pyshacl.__version__}.", "",
             "Each step runs in its own process; time is wall-clock, memory the peak resident set of that process. "
             "Anchors run on the same files: the corpus merged with the packaged ontology and mappings into one "
             "N-Triples file where a tool takes one file. Ratio = anchor time / trialkg time (above 1: trialkg faster).", ""]
    for r in results:
        n, t = r["n"], r["triples"]
        lines += [f"## N = {n:,} publications ({t:,} triples)", "",
                  "| step | trialkg | triples/s | peak MB | anchor | anchor time | anchor peak MB | ratio |",
                  "|---|---|---|---|---|---|---|---|"]
        lines.append(f"| build | {fmt_s(r['build'])} | {tps(r['build'], t)} | {mb(r['build'])} | pyoxigraph parse + serialize (same 4 outputs) | "
                     f"{fmt_s(r['anchor_serialize'])} | {mb(r['anchor_serialize'])} | {ratio(r['anchor_serialize'], r['build'])} |")
        for key, label in (("pyshacl", "pyshacl, one whole-graph run"), ("jena", "Jena `shacl validate`"), ("pyrudof", "pyrudof")):
            lines.append(f"| validate | {fmt_s(r['validate'])} | {tps(r['validate'], t)} | {mb(r['validate'])} | {label} | "
                         f"{fmt_s(r[key])} | {mb(r[key])} | {ratio(r[key], r['validate'])} |")
        lines.append(f"| load (embedded) | {fmt_s(r['load_embedded'])} | {tps(r['load_embedded'], t)} | {mb(r['load_embedded'])} | | | | |")
        lines.append(f"| load (oxigraph server) | {fmt_s(r['load_server'])} | {tps(r['load_server'], t)} | {mb(r['load_server'])} | | | | |")
        q = _parse_queries(r["queries"])
        qr = _parse_queries(r["queries_rdflib"])
        lines += ["", "| query | rows | pyoxigraph | rdflib | ratio |", "|---|---|---|---|---|"]
        for name, (secs, rows) in sorted(q.items()):
            other = qr.get(name)
            rat = f"{other[0] / secs:.0f}x" if other and secs else ""
            lines.append(f"| {name} | {rows} | {secs * 1000:.1f} ms | {f'{other[0]:.2f} s' if other else 'not run'} | {rat} |")
        lines.append("")
    if defects:
        lines += [f"## Planted defects (N = {defects['n']:,}, {defects['planted']} defects)", "",
                  f"- trialkg: {len(defects['ours_focus'])} focus nodes reported; missing {len(defects['missing'])}, "
                  f"extra {len(defects['extra'])}."]
        planted = {f for f in defects["ours_focus"]} | set(defects["missing"])
        for name in ("pyshacl", "jena", "pyrudof"):
            a = defects.get(name, {})
            if a.get("status") == "skipped" or a.get("focus") is None:
                lines.append(f"- {name}: not compared ({a.get('why') or a.get('status') or 'no parsable report'}).")
                continue
            focus = set(a["focus"])
            lines.append(f"- {name}: {len(focus)} focus nodes; same as trialkg: {focus == set(defects['ours_focus'])}; "
                         f"missing {len(planted - focus)}, extra {len(focus - planted)}.")
        lines.append("")
    return "\n".join(lines)


def _parse_queries(m: dict) -> dict:
    if not isinstance(m, dict) or "output" not in m:
        return {}
    for line in reversed(m["output"].splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    return {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N = 100 and 1,000; slow anchors at N = 100 only")
    ap.add_argument("--sizes", default=None, help="comma-separated corpus sizes (default 100,1000,10000)")
    ap.add_argument("--slow-max", type=int, default=None, help="largest N for pyshacl and rdflib")
    ap.add_argument("--defects", type=int, default=None, help="size of the planted-defect corpus (0: none)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds before a step is stopped")
    ap.add_argument("--out", type=Path, default=HERE / "results.md")
    ap.add_argument("--json", type=Path, default=None, help="also write the raw measurements")
    args = ap.parse_args()
    sizes_text = args.sizes if args.sizes is not None else ("100,1000" if args.quick else "100,1000,10000")
    sizes = [int(s) for s in sizes_text.split(",") if s.strip()]
    slow_max = args.slow_max if args.slow_max is not None else (100 if args.quick else 10000)
    defects_n = args.defects if args.defects is not None else (200 if args.quick else 10000)
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    t0 = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="trialkg-bench-") as tmp:
        work = Path(tmp)
        try:
            for n in sizes:
                print(f"N = {n} ...", flush=True)
                results.append(run_size(n, work, args.quick, slow_max, args.timeout))
            defects = planted_check(work, defects_n, max(3, defects_n // 100), args.timeout, slow_max) if defects_n else None
        except StepFailed as exc:
            sys.exit(f"benchmark stopped: {exc}")
    text = report(results, defects, args, started, time.perf_counter() - t0)
    args.out.write_text(text + "\n")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "defects": defects}, indent=1, default=str))
    print(text)


if __name__ == "__main__":
    main()
