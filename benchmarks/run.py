"""Benchmarks: the trialkg pipeline on synthetic corpora, side by side with its anchors.

    python benchmarks/run.py [--quick] [--full] [--sizes 100,1000,10000,100000] [--out benchmarks/results.md]

Run it from the repository root. For each corpus size N (publications written
by benchmarks/synth.py, skewed: a few common drugs, conditions and designs and
a long tail) it measures, each step in a child process (wall time, triples/s,
peak RSS of that process):

- build: ``kg build`` vs pyoxigraph parsing the same files and serializing the
  same four outputs (Turtle, N-Triples, JSON-LD, N-Quads) in memory (N <= 10,000);
- validate: ``kg validate`` (shapes compiled to SPARQL on Oxigraph) vs one
  whole-graph pyshacl run with the same shapes, Apache Jena's ``shacl validate``
  (Debian's libapache-jena-java) and pyrudof (the slow anchors only up to
  10,000), with each engine's violations on a planted-defect corpus compared;
- load: ``kg load`` into the embedded store vs its floor, the validation step
  plus one raw pyoxigraph ``bulk_load`` of the same N-Quads (``trialkg.nq`` of
  the build); ``kg load --endpoint`` into a real ``oxigraph`` server vs its
  floor, the validation step plus one raw ``curl`` POST of the same N-Quads to
  the same server (N <= 1,000, and every N with ``--full``);
- queries: every ready-made query on pyoxigraph vs rdflib's SPARQL engine
  (N <= 10,000), and ``trials-by-drug`` / ``trials-by-condition`` for a rare term.

The report ends with the issue-15 targets, each marked met or missed with its
figure. ``--quick`` runs N = 100 and 1,000 with the slow anchors (pyshacl,
rdflib) at the small size only: a smoke test that finishes in a few minutes.
Timing figures are reported, never asserted.
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


def measure(
    cmd: list[str], timeout: float, cwd: str | None = None, env: dict | None = None, keep: int | None = 4000
) -> dict:
    """Run a command; wall seconds, peak RSS (MB) of that process tree's leader, exit status, output."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env or CHILD_ENV, start_new_session=True
        )
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
                return {
                    "seconds": None,
                    "timeout": timeout,
                    "peak_mb": usage.ru_maxrss / 1024,
                    "status": "timeout",
                    "output": out.read().decode(errors="replace")[-2000:],
                }
            time.sleep(0.02)
        wall = time.perf_counter() - start
        out.seek(0)
        text = out.read().decode(errors="replace")
        return {
            "seconds": wall,
            "peak_mb": usage.ru_maxrss / 1024,
            "status": status,
            "output": text[-keep:] if keep else text,
        }


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
import sys, json, time, multiprocessing as mp
from kg.dataset import Dataset
from kg.query import catalog
engine = sys.argv[2]
ds = Dataset.from_paths([sys.argv[1]])
params = json.loads(sys.argv[3])
only = sys.argv[4].split(",") if len(sys.argv) > 4 and sys.argv[4] else sorted(catalog.catalog())
limit = float(sys.argv[5]) if len(sys.argv) > 5 else 60.0
ds.store  # parsed once, before the forks
if engine == "rdflib":
    ds.rdflib  # built once, outside the timings
ctx = mp.get_context("fork")

def timed(name, conn):
    best, n = None, 0
    for _ in range(3 if engine == "oxigraph" else 1):
        t = time.perf_counter(); n = len(ds.run(name, params.get(name, {}), engine=engine).rows); d = time.perf_counter() - t
        best = d if best is None else min(best, d)
    conn.send([best, n])

out = {}
for name in only:  # each query in a forked child, stopped after `limit` seconds
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=timed, args=(name, send))
    proc.start()
    send.close()
    out[name] = recv.recv() if recv.poll(limit) else [None, f"stopped after {limit:g} s"]
    proc.kill()
    proc.join()
    print(json.dumps({name: out[name]}), flush=True)
print("RESULT " + json.dumps(out))
"""

BULK_LOAD = """
import sys, pyoxigraph as ox
store = ox.Store(sys.argv[2])
store.bulk_load(path=sys.argv[1], format=ox.RdfFormat.N_QUADS)
store.flush()
"""

# trials-by-drug / trials-by-condition for the rarest terms of the corpus, on the store `kg load` wrote
RARE_QUERIES = """
import sys, json, time
from kg.dataset import Dataset
ds = Dataset.open(sys.argv[1])
out = {}
for name, params in json.loads(sys.argv[2]):
    best = None
    for _ in range(5):
        t = time.perf_counter(); n = len(ds.run(name, params).rows); d = time.perf_counter() - t
        best = d if best is None else min(best, d)
    out[name] = [best, n]
print("RESULT " + json.dumps(out))
"""
RARE_PARAMS = [
    ("trials-by-drug", {"drug": synth.RARE_DRUG}),
    ("trials-by-condition", {"condition": synth.RARE_CONDITION}),
]

QUERIES_MAX = 1000  # every ready-made query up to here; above, only the rare-term ones (on the store)
QUERY_LIMIT = 10  # seconds per ready-made query (3 runs); a slower one is reported as stopped
ANCHOR_MAX = 10000  # anchors that hold the whole graph in memory (and the slow validators) run up to here

QUERY_PARAMS = {
    "trials-by-drug": {"drug": "NCIT:C1851"},
    "trials-by-condition": {"condition": "MONDO:0009693"},
    "evidence-by-drug": {"drug": "NCIT:C1851"},
    "compare-outcomes": {"endpoint": "NCIT:C28234"},
    "provenance": {"statistic": "https://w3id.org/trialkg/synthetic/synth-000000/stat-0"},
    "resources": {"namespace": "https://w3id.org/trialkg/trial/"},
}


# ------------------------------------------------------------------ Jena


def jena_command() -> tuple[list[str] | None, str]:
    """`java -cp ... shacl.shacl` built from Debian's libapache-jena-java and its own dependencies."""
    if not shutil.which("java"):
        return None, "java not installed"
    try:
        files = subprocess.run(
            ["dpkg", "-L", "libapache-jena-java"], capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return None, "libapache-jena-java not installed (apt-get install libapache-jena-java)"
    jars = [f for f in files if f.endswith(".jar") and "/usr/share/java/" in f]
    deps = subprocess.run(
        [
            "apt-cache",
            "depends",
            "--recurse",
            "--no-recommends",
            "--no-suggests",
            "--no-conflicts",
            "--no-breaks",
            "--no-replaces",
            "--no-enhances",
            "libapache-jena-java",
        ],
        capture_output=True,
        text=True,
    ).stdout.split()
    pkgs = sorted({d for d in deps if d.startswith("lib") and d.endswith("-java")})
    for pkg in pkgs:
        out = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True).stdout.split()
        jars += [f for f in out if f.endswith(".jar") and "/usr/share/java/" in f]
    # log4j-over-slf4j and slf4j-log4j12 together abort start-up: keep a single binding.
    import re

    jars = sorted(
        {
            j
            for j in jars
            if os.path.exists(j)
            # logging bridges and bindings that loop into each other abort start-up:
            # keep slf4j-api with at most the simple / nop binding
            and not re.search(
                r"/(log4j-over-slf4j|jcl-over-slf4j|jul-to-slf4j|slf4j-log4j12|slf4j-jcl|"
                r"slf4j-jdk14|slf4j-reload4j|logback-classic)[^/]*\.jar$",
                j,
            )
            and not re.search(r"-\d[\w.]*\.jar$", j)
        }
    )  # versioned twins of the unversioned links
    fix = Path(tempfile.gettempdir()) / "trialkg-xerces-bundles.jar"
    if not fix.exists():
        core = next((j for j in jars if j.endswith("jena-core.jar")), None)
        if core is None:
            return None, "jena-core.jar not found"
        work = Path(tempfile.mkdtemp())
        subprocess.run(
            ["unzip", "-q", "-o", core, "org/apache/jena/ext/xerces/*.properties", "-d", str(work)], check=False
        )
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


def run_size(n: int, work: Path, args, slow_max: int) -> dict:
    timeout, quick = args.timeout, args.quick
    corpus = work / f"corpus-{n}"
    synth.generate(n, seed=1, out=corpus)
    r: dict = {"n": n, "load_before": os.getloadavg()}
    kg = [PY, "-m", "kg"]
    out = work / f"out-{n}"
    out.mkdir(exist_ok=True)
    r["build"] = must(
        "kg build", measure(kg + ["build", "--trials", str(corpus), "--out", str(out)], timeout, cwd=str(work))
    )
    merged = out / "trialkg.nt"  # the merged graph (with the ontology and mappings), for the tools that take one file
    nquads = out / "trialkg.nq"  # every named graph: what both loads send
    r["triples"] = count_triples(merged)
    r["quads"] = count_triples(nquads)
    anchor_out = work / f"anchor-{n}"
    anchor_out.mkdir(exist_ok=True)
    r["anchor_serialize"] = (
        py(ANCHOR_SERIALIZE, str(corpus), str(anchor_out), timeout=timeout)
        if n <= ANCHOR_MAX
        else {"status": "skipped", "why": "holds the whole graph in memory"}
    )
    shutil.rmtree(anchor_out, ignore_errors=True)
    r["validate"] = must("kg validate", measure(kg + ["validate", "--trials", str(corpus)], timeout, cwd=str(work)))
    r["pyshacl"] = (
        py(PYSHACL, str(merged), timeout=30 if quick else min(timeout, 900)) if n <= slow_max else {"status": "skipped"}
    )
    jena, why = jena_command()
    shapes = work / "shapes.ttl"
    if not shapes.exists():
        from kg import resources

        shapes.write_text("".join(f.read_text() for f in resources.shape_files()))
    r["jena"] = (
        measure(jena + ["--shapes", str(shapes), "--data", str(merged)], timeout)
        if jena and n <= ANCHOR_MAX
        else {"status": "skipped", "why": why or "slow anchor, not run above 10,000"}
    )
    r["pyrudof"] = py(PYRUDOF, str(merged), timeout=timeout) if n <= max(slow_max, 1000) else {"status": "skipped"}
    store = work / f"store-{n}"
    r["load_embedded"] = must(
        "kg load --store",
        measure(kg + ["load", "--trials", str(corpus), "--store", str(store)], timeout, cwd=str(work)),
    )
    r["rare_store"] = py(RARE_QUERIES, str(store), json.dumps(RARE_PARAMS), timeout=timeout)
    shutil.rmtree(store, ignore_errors=True)
    raw = work / f"raw-store-{n}"
    r["bulk_load"] = py(BULK_LOAD, str(nquads), str(raw), timeout=timeout)
    shutil.rmtree(raw, ignore_errors=True)
    server = n <= 1000 or (args.full and n <= args.server_max)
    if server and n > 1000:  # the long server loads wait until every size is measured (see main)
        r["load_server"], r["post"] = ({"status": "skipped", "why": "pending: run after the other sizes"},) * 2
        r["later"] = [str(corpus), str(nquads)]
    else:
        r["load_server"], r["post"] = (
            load_server(corpus, nquads, work, n, timeout)
            if server
            else (
                {
                    "status": "skipped",
                    "why": "server loads above 1,000 only with --full"
                    if not args.full
                    else f"above --server-max {args.server_max:,}",
                },
            )
            * 2
        )
    if n <= QUERIES_MAX:
        r["queries"] = must(
            "the ready-made queries",
            py(
                KG_QUERIES,
                str(corpus),
                "oxigraph",
                json.dumps(QUERY_PARAMS),
                "",
                str(5 if quick else QUERY_LIMIT),
                timeout=timeout,
            ),
        )
    else:
        r["queries"] = {"status": "skipped"}
    r["queries_rdflib"] = (
        py(
            KG_QUERIES,
            str(corpus),
            "rdflib",
            json.dumps(QUERY_PARAMS),
            "",
            str(2 if quick else QUERY_LIMIT),
            timeout=timeout * 2,
        )
        if n <= slow_max
        else {"status": "skipped"}
    )
    r["load_after"] = os.getloadavg()
    if "later" not in r:
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(corpus, ignore_errors=True)
    else:  # keep what the server loads need, drop the rest
        for f in out.iterdir():
            if f != nquads:
                f.unlink()
    return r


def start_server(location: Path) -> tuple[subprocess.Popen, str]:
    exe = Path(PY).with_name("oxigraph")
    port = free_port()
    proc = subprocess.Popen(
        [str(exe), "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}", "--union-default-graph"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until_answering(f"http://127.0.0.1:{port}/query?query=ASK%7B%7D")
    return proc, f"http://127.0.0.1:{port}"


def wait_until_answering(url: str, tries: int = 300) -> None:
    """Ask ``url`` every 0.1 s until a server answers it (at most ``tries`` times; a server that never answers is
    found by what is measured next)."""
    for _ in range(tries):
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)


def status_kb(pid: int | str, field: str) -> int:
    """A memory field of a process's ``/proc/PID/status`` (``VmRSS``, ``VmHWM``) in kB, 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next((int(line.split()[1]) for line in fh if line.startswith(field + ":")), 0)
    except OSError:
        return 0


def stop_server(proc: subprocess.Popen) -> int:
    """Stop the server; its peak resident set (MB) as the kernel counted it."""
    peak = status_kb(proc.pid, "VmHWM") // 1024
    proc.terminate()
    proc.wait(60)
    return peak


def load_server(corpus: Path, nquads: Path, work: Path, n: int, timeout: float) -> tuple[dict, dict]:
    """`kg load --endpoint` into a fresh oxigraph server, then one raw curl POST of the same N-Quads into another."""
    if not Path(PY).with_name("oxigraph").exists():
        skipped = {"status": "skipped", "why": "oxigraph server not installed"}
        return skipped, skipped
    location = work / f"server-{n}"
    proc, base = start_server(location)
    try:
        ours = measure(
            [
                PY,
                "-m",
                "kg",
                "load",
                "--trials",
                str(corpus),
                "--endpoint",
                f"{base}/query",
                "--gsp-endpoint",
                f"{base}/store",
                "--update-endpoint",
                f"{base}/update",
                "--timeout",
                str(int(timeout)),
            ],
            timeout,
            cwd=str(work),
        )
    finally:
        ours["server_peak_mb"] = stop_server(proc)
        shutil.rmtree(location, ignore_errors=True)
    if not shutil.which("curl"):
        return ours, {"status": "skipped", "why": "curl not installed"}
    proc, base = start_server(location)
    try:
        raw = measure(
            [
                "curl",
                "-s",
                "-S",
                "-f",
                "-X",
                "POST",
                "-H",
                "Content-Type: application/n-quads",
                "-T",
                str(nquads),
                f"{base}/store",
            ],
            timeout,
        )
    finally:
        raw["server_peak_mb"] = stop_server(proc)
        shutil.rmtree(location, ignore_errors=True)
    return ours, raw


def planted_check(work: Path, n: int, defects: int, timeout: float, slow_max: int) -> dict:
    """Every planted defect reported, nothing else: ours, and the anchors' focus nodes compared."""
    corpus = work / f"defects-{n}"
    planted = synth.generate(n, seed=7, out=corpus, defects=defects)
    expected = {(f, m) for _, f, m in planted}
    res = measure([PY, "-m", "kg", "validate", "--trials", str(corpus)], timeout, cwd=str(work), keep=None)
    got = set()
    for line in res["output"].splitlines():
        if ": trialkg.synthetic:" in line:
            focus = "https://w3id.org/trialkg/synthetic/" + line.split(": trialkg.synthetic:", 1)[1].split()[0].rstrip(
                ":"
            )
            got.add(focus)
    res["output"] = res["output"][-4000:]
    out = {
        "n": n,
        "planted": len(planted),
        "ours": res,
        "ours_focus": sorted(got),
        "missing": sorted({f for f, _ in expected} - got),
        "extra": sorted(got - {f for f, _ in expected}),
    }
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
        r["focus"] = sorted(
            {
                line.split("<", 1)[1].split(">", 1)[0]
                for line in r["output"].splitlines()
                if "sh:focusNode" in line and "<" in line
            }
        )
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


def secs(m: dict) -> float | None:
    return m["seconds"] if isinstance(m, dict) and m.get("status") == 0 and m.get("seconds") else None


def floor(r: dict, key: str) -> float | None:
    """The validation step plus the raw load of the same N-Quads."""
    v, raw = r["validate"], secs(r.get(key, {}))
    if v.get("status") not in (0, 1) or raw is None:
        return None
    return v["seconds"] + raw


def report(results: list[dict], defects: dict | None, args, started: str, elapsed: float) -> str:
    import pyoxigraph
    import pyshacl
    import rdflib

    lines = [
        "# trialkg benchmarks",
        "",
        f"Run {started} (UTC), {elapsed / 60:.1f} min; `python benchmarks/run.py {' '.join(sys.argv[1:])}`.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, pyoxigraph {pyoxigraph.__version__}, rdflib {rdflib.__version__}, "
        f"pyshacl {pyshacl.__version__}. The machine is shared: the load average (1, 5, 15 min) is given "
        "before and after each size.",
        "",
        "Each step runs in its own process; time is wall-clock, memory the peak resident set of that process. "
        "Anchors run on the same files: the merged graph (`trialkg.nt` of the build, with the ontology and "
        "mappings) where a tool takes one file, and `trialkg.nq` of the build for the raw loads. "
        "Ratio = anchor time / trialkg time (above 1: trialkg faster). The corpus is skewed "
        f"(`benchmarks/synth.py`): rare terms are {synth.RARE_DRUG} (drug) and {synth.RARE_CONDITION} (condition), "
        f"those of publications {', '.join(map(str, synth.RARE_AT))} at every N.",
        "",
    ]
    for r in sorted(results, key=lambda r: r["n"]):
        n, t = r["n"], r["triples"]
        la, lb = r.get("load_before", ()), r.get("load_after", ())
        lines += [
            f"## N = {n:,} publications ({t:,} triples, {r['quads']:,} quads)",
            "",
            f"Load average before: {' '.join(f'{x:.2f}' for x in la)}; after: {' '.join(f'{x:.2f}' for x in lb)}"
            + (
                f"; around the server loads (run after the other sizes): "
                f"{' '.join(f'{x:.2f}' for x in r['server_load_before'])} / "
                f"{' '.join(f'{x:.2f}' for x in r['server_load_after'])}"
                if r.get("server_load_before")
                else ""
            )
            + ".",
            "",
            "| step | trialkg | triples/s | peak MB | anchor | anchor time | anchor peak MB | ratio |",
            "|---|---|---|---|---|---|---|---|",
        ]
        lines.append(
            f"| build | {fmt_s(r['build'])} | {tps(r['build'], t)} | {mb(r['build'])} | pyoxigraph parse + serialize (same 4 outputs, in memory) | "
            f"{fmt_s(r['anchor_serialize'])} | {mb(r['anchor_serialize'])} | {ratio(r['anchor_serialize'], r['build'])} |"
        )
        for key, label in (
            ("pyshacl", "pyshacl, one whole-graph run"),
            ("jena", "Jena `shacl validate`"),
            ("pyrudof", "pyrudof"),
        ):
            lines.append(
                f"| validate | {fmt_s(r['validate'])} | {tps(r['validate'], t)} | {mb(r['validate'])} | {label} | "
                f"{fmt_s(r[key])} | {mb(r[key])} | {ratio(r[key], r['validate'])} |"
            )
        for key, raw, label in (
            ("load_embedded", "bulk_load", "validate + raw pyoxigraph `bulk_load` of `trialkg.nq`"),
            ("load_server", "post", "validate + raw `curl` POST of `trialkg.nq` to the same server"),
        ):
            f = floor(r, raw)
            ours = r[key]
            rat = f"{f / ours['seconds']:.2f}x" if f and secs(ours) else ""
            ftext = (
                f"{f:.2f} s ({r['validate']['seconds']:.2f} + {r[raw]['seconds']:.2f})" if f else fmt_s(r.get(raw, {}))
            )
            peak, ours_peak = mb(r.get(raw, {})), mb(ours)
            if isinstance(ours, dict) and ours.get("server_peak_mb"):
                ours_peak += f" (server {ours['server_peak_mb']:,})"
                peak += f" (server {r[raw].get('server_peak_mb', 0):,})"
            step = "load (embedded)" if key == "load_embedded" else "load (oxigraph server)"
            lines.append(
                f"| {step} | {fmt_s(ours)} | {tps(ours, t)} | {ours_peak} | {label} | {ftext} | {peak} | {rat} |"
            )
        rare = _parse_queries(r.get("rare_store", {}))
        if rare:
            lines += [
                "",
                "Rare terms, on the store `kg load` wrote (best of 5): "
                + "; ".join(
                    f"`{name}` {rows} rows in {sec * 1000:.1f} ms" for name, (sec, rows) in sorted(rare.items())
                )
                + ".",
            ]
        q = _parse_queries(r["queries"])
        qr = _parse_queries(r["queries_rdflib"])
        if q:
            lines += ["", "| query | rows | pyoxigraph | rdflib | ratio |", "|---|---|---|---|---|"]
            for name, (sec, rows) in sorted(q.items()):
                other = qr.get(name)
                rat = f"{other[0] / sec:.0f}x" if other and other[0] and sec else ""
                ours = f"{sec * 1000:.1f} ms" if sec is not None else str(rows)
                theirs = (f"{other[0]:.2f} s" if other[0] is not None else str(other[1])) if other else "not run"
                lines.append(f"| {name} | {rows if sec is not None else ''} | {ours} | {theirs} | {rat} |")
        lines.append("")
    if defects:
        lines += [
            f"## Planted defects (N = {defects['n']:,}, {defects['planted']} defects)",
            "",
            f"- trialkg: {len(defects['ours_focus'])} focus nodes reported; missing {len(defects['missing'])}, "
            f"extra {len(defects['extra'])}.",
        ]
        planted = {f for f in defects["ours_focus"]} | set(defects["missing"])
        for name in ("pyshacl", "jena", "pyrudof"):
            a = defects.get(name, {})
            if a.get("status") == "skipped" or a.get("focus") is None:
                lines.append(f"- {name}: not compared ({a.get('why') or a.get('status') or 'no parsable report'}).")
                continue
            focus = set(a["focus"])
            lines.append(
                f"- {name}: {len(focus)} focus nodes; same as trialkg: {focus == set(defects['ours_focus'])}; "
                f"missing {len(planted - focus)}, extra {len(focus - planted)}."
            )
        lines.append("")
    lines += targets(results, defects)
    return "\n".join(lines)


def targets(results: list[dict], defects: dict | None) -> list[str]:
    """The issue-15 targets, each met or missed with its figure (or missed as not measured, with why)."""
    by_n = {r["n"]: r for r in results}
    rows: list[tuple[str, str, str]] = []

    def verdict(ok: bool | None, why: str = "") -> str:
        return "met" if ok else ("**missed**" + (f": {why}" if why else ""))

    for key, raw, bound, label in (
        ("load_embedded", "bulk_load", 1.3, "embedded load <= 1.3x (validate + raw bulk_load)"),
        ("load_server", "post", 2.0, "server load <= 2x (validate + raw POST)"),
    ):
        for n in sorted(by_n):
            r = by_n[n]
            f, ours = floor(r, raw), secs(r[key])
            if n < 1000:
                continue
            if f and ours:
                rows.append(
                    (
                        f"{label}, N = {n:,}",
                        f"{ours:.1f} s vs {f:.1f} s: {ours / f:.2f}x the floor",
                        verdict(ours <= bound * f, f"{ours / f:.2f}x"),
                    )
                )
            else:
                rows.append(
                    (
                        f"{label}, N = {n:,}",
                        "not measured",
                        verdict(False, r[key].get("why") or r[key].get("status", "not run")),
                    )
                )
    big, mid, small = by_n.get(100000), by_n.get(10000), by_n.get(1000)
    for key, label in (
        ("build", "build"),
        ("validate", "validate"),
        ("load_embedded", "embedded load"),
        ("load_server", "server load"),
    ):
        if big is None or mid is None or not secs(big[key]) or not mb(mid[key]):
            why = (
                "N = 100,000 not run"
                if big is None
                else (big[key].get("why") or f"not measured ({big[key].get('status')})")
            )
            rows.append(
                (
                    f"memory: {label} peak < 2 GB at N = 100,000 and within 1.5x of N = 10,000",
                    "not measured",
                    verdict(False, why),
                )
            )
        else:
            a, b = big[key]["peak_mb"], mid[key]["peak_mb"]
            rows.append(
                (
                    f"memory: {label} peak < 2 GB at N = 100,000 and within 1.5x of N = 10,000",
                    f"{a:,.0f} MB vs {b:,.0f} MB ({a / b:.2f}x)",
                    verdict(a < 2048 and a <= 1.5 * b, f"{a:,.0f} MB, {a / b:.2f}x"),
                )
            )
        if big is None or small is None or not secs(big[key]) or not secs(small[key]):
            why = (
                "N = 100,000 not run"
                if big is None
                else (big[key].get("why") or f"not measured ({big[key].get('status')})")
            )
            rows.append(
                (
                    f"time linear: {label} triples/s at N = 100,000 within 25 % of N = 1,000",
                    "not measured",
                    verdict(False, why),
                )
            )
        else:
            a, b = big["triples"] / big[key]["seconds"], small["triples"] / small[key]["seconds"]
            also = ""
            if mid is not None and secs(mid[key]):
                also = f"; N = 10,000: {mid['triples'] / mid[key]['seconds']:,.0f}"
            rows.append(
                (
                    f"time linear: {label} triples/s at N = 100,000 within 25 % of N = 1,000",
                    f"{a:,.0f} vs {b:,.0f} triples/s ({a / b:.2f}x{also})",
                    verdict(a >= 0.75 * b, f"{a / b:.2f}x"),
                )
            )
    lo, hi = by_n.get(100), by_n.get(10000)
    for name in ("trials-by-drug", "trials-by-condition"):
        ql = _parse_queries(lo.get("rare_store", {})) if lo else {}
        qh = _parse_queries(hi.get("rare_store", {})) if hi else {}
        if name in ql and name in qh:
            a, b = qh[name][0], ql[name][0]
            rows.append(
                (
                    f"`{name}` for a rare term at N = 10,000 within 5x of N = 100",
                    f"{a * 1000:.2f} ms ({qh[name][1]} rows) vs {b * 1000:.2f} ms ({ql[name][1]} rows): {a / b:.1f}x",
                    verdict(a <= 5 * b, f"{a / b:.1f}x"),
                )
            )
        else:
            rows.append(
                (
                    f"`{name}` for a rare term at N = 10,000 within 5x of N = 100",
                    "not measured",
                    verdict(False, "N = 100 or 10,000 not run"),
                )
            )
    if defects:
        ok = not defects["missing"] and not defects["extra"]
        rows.append(
            (
                f"planted defects at N = {defects['n']:,}: all reported, none extra",
                f"{len(defects['ours_focus'])} of {defects['planted']}, missing {len(defects['missing'])}, "
                f"extra {len(defects['extra'])}",
                verdict(ok),
            )
        )
    out = ["## Targets (issue 15)", "", "| target | figure (this run) | verdict |", "|---|---|---|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return out + [""]


#: results.md sections measured by other scripts (serve_scale.py, query_speed.py) follow this line; a run keeps them
KEPT = "<!-- sections below are measured by other scripts and kept by run.py -->"


def kept_sections(out: Path) -> str:
    """What follows :data:`KEPT` in the report being replaced (nothing if it has no such line)."""
    try:
        old = out.read_text()
    except OSError:
        return ""
    return "\n" + old[old.index(KEPT) :] if KEPT in old else ""


def _parse_queries(m: dict) -> dict:
    if not isinstance(m, dict) or "output" not in m:
        return {}
    for line in reversed(m["output"].splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    return {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N = 100 and 1,000; slow anchors at N = 100 only")
    ap.add_argument("--full", action="store_true", help="also load into the oxigraph server at N >= 10,000")
    ap.add_argument("--server-max", type=int, default=10**9, help="with --full, the largest N loaded into the server")
    ap.add_argument("--sizes", default=None, help="comma-separated corpus sizes (default 100,1000,10000,100000)")
    ap.add_argument("--slow-max", type=int, default=None, help="largest N for pyshacl and rdflib")
    ap.add_argument("--defects", type=int, default=None, help="size of the planted-defect corpus (0: none)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds before a step is stopped")
    ap.add_argument("--out", type=Path, default=HERE / "results.md")
    ap.add_argument("--json", type=Path, default=None, help="also write the raw measurements")
    ap.add_argument(
        "--from-json", type=Path, default=None, help="only write the report of measurements saved by --json"
    )
    args = ap.parse_args()
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        sys.argv = [sys.argv[0], *saved.get("argv", [])]  # the report names the command that measured
        text = report(saved["results"], saved["defects"], args, saved.get("started", "?"), saved.get("elapsed", 0.0))
        args.out.write_text(text + "\n" + kept_sections(args.out))
        print(text)
        return
    sizes_text = args.sizes if args.sizes is not None else ("100,1000" if args.quick else "100,1000,10000,100000")
    sizes = [int(s) for s in sizes_text.split(",") if s.strip()]
    slow_max = args.slow_max if args.slow_max is not None else (100 if args.quick else 10000)
    defects_n = args.defects if args.defects is not None else (200 if args.quick else 10000)
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    t0 = time.perf_counter()
    results: list[dict] = []
    state: dict = {"defects": None}

    def write(stopped: str = "") -> str:
        # written after every size, so a run stopped later still leaves what it measured
        if args.json:  # the raw figures first: a report can be written again from them (--from-json)
            args.json.write_text(
                json.dumps(
                    {
                        "results": results,
                        "defects": state["defects"],
                        "started": started,
                        "elapsed": time.perf_counter() - t0,
                        "argv": sys.argv[1:],
                    },
                    indent=1,
                    default=str,
                )
            )
        try:
            text = report(results, state["defects"], args, started, time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001 - a report bug must not lose the run: the figures are in --json
            text = f"# trialkg benchmarks\n\nThe report could not be written ({exc!r}); raw figures: {args.json}."
        if stopped:
            text += f"\nThe run stopped early: {stopped}\n"
        args.out.write_text(text + "\n" + kept_sections(args.out))
        return text

    def defects_check(work: Path) -> None:
        if defects_n and state["defects"] is None:
            print(f"planted defects, N = {defects_n} ...", flush=True)
            state["defects"] = planted_check(work, defects_n, max(3, defects_n // 100), args.timeout, slow_max)
            write()

    with tempfile.TemporaryDirectory(prefix="trialkg-bench-") as tmp:
        work = Path(tmp)
        try:
            for n in sizes:
                print(f"N = {n} ...", flush=True)
                results.append(run_size(n, work, args, slow_max))
                write()
            for r in results:  # the server loads of the large sizes, last: a time limit cuts these first
                if "later" in r:
                    corpus, nquads = (Path(x) for x in r.pop("later"))
                    print(f"server loads, N = {r['n']} ...", flush=True)
                    r["server_load_before"] = os.getloadavg()
                    r["load_server"], r["post"] = load_server(corpus, nquads, work, r["n"], args.timeout)
                    r["server_load_after"] = os.getloadavg()
                    shutil.rmtree(corpus, ignore_errors=True)
                    shutil.rmtree(nquads.parent, ignore_errors=True)
                    write()
            defects_check(work)
        except StepFailed as exc:
            write(str(exc).splitlines()[0])
            sys.exit(f"benchmark stopped: {exc}")
    print(write())


if __name__ == "__main__":
    main()
