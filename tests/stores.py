"""Real SPARQL stores on loopback for the tests: OpenLink Virtuoso 7 and Apache Jena TDB2 + ARQ.

Both come from Debian (``apt-get install virtuoso-opensource libapache-jena-java``,
which ``.ci/run`` does); where one is missing, its tests are skipped with the
reason, never passed.

**Virtuoso** (:class:`Virtuoso`) runs as a private child process: a generated
``virtuoso.ini`` in a temporary folder holds the database, both listeners are
free ports on 127.0.0.1, and ``stop()`` ends it (SIGTERM, then SIGKILL). No
system service is touched. A new database's ``dba`` password is ``dba``; the
fixture sets another before anything listens for long.

**Jena** has no server in Debian (no Fuseki): the TDB2 loader and ARQ run as
Java command classes from the packaged jars (:func:`jena_classpath`). Debian's
jena-core relocates its embedded Xerces classes without their message bundles,
so every Jena command dies at start-up (``XSSimpleTypeDecl.applyFacets1:
internal error``); a small jar holding those bundles at the relocated path,
put first on the class path, mends it. :func:`tdb2_select_many` runs a batch of
queries in one JVM with the union default graph (``tdb:unionDefaultGraph``).

:func:`comparable` turns SPARQL results into a multiset of rows that compares
terms exactly, except the lexical form of numbers (``"8.30"^^xsd:decimal`` and
``"8.3"^^xsd:decimal`` are the same value of the same datatype), which the
SPARQL results formats leave to each server.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
import zipfile
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyoxigraph as ox
import pytest

VIRTUOSO_T = "virtuoso-t"
ISQL = "isql-vt"
JAVA_DIR = Path("/usr/share/java")

XSD = "http://www.w3.org/2001/XMLSchema#"
NUMERIC = {
    XSD + t
    for t in (
        "integer",
        "decimal",
        "double",
        "float",
        "int",
        "long",
        "short",
        "byte",
        "nonNegativeInteger",
        "positiveInteger",
        "nonPositiveInteger",
        "negativeInteger",
        "unsignedLong",
        "unsignedInt",
        "unsignedShort",
        "unsignedByte",
    )
}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------- Virtuoso

VIRTUOSO_INI = """\
[Database]
DatabaseFile       = {d}/virtuoso.db
ErrorLogFile       = {d}/virtuoso.log
LockFile           = {d}/virtuoso.lck
TransactionFile    = {d}/virtuoso.trx
xa_persistent_file = {d}/virtuoso.pxa
ErrorLogLevel      = 7
FileExtend         = 200
MaxCheckpointRemap = 2000
Striping           = 0
TempStorage        = TempDatabase

[TempDatabase]
DatabaseFile       = {d}/virtuoso-temp.db
TransactionFile    = {d}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping           = 0

[Parameters]
ServerPort           = 127.0.0.1:{isql_port}
DisableUnixSocket    = 1
DisableTcpSocket     = 0
MaxClientConnections = 10
CheckpointInterval   = 60
CaseMode             = 2
DirsAllowed          = ., {d}
NumberOfBuffers      = 10000
MaxDirtyBuffers      = 6000
ThreadsPerQuery      = 2
AsyncQueueMaxThreads = 4

[HTTPServer]
ServerPort           = 127.0.0.1:{http_port}
ServerRoot           = {d}
MaxClientConnections = 10
ServerThreads        = 10
Charset              = UTF-8
EnabledDavVSP        = 0

[SPARQL]
ResultSetMaxRows           = 100000
MaxQueryExecutionTime      = 60
MaxQueryCostEstimationTime = 400
"""


class StoreUnavailable(RuntimeError):
    """The store is not installed, or would not start: the caller skips with this message."""


def virtuoso_missing() -> str | None:
    """Why Virtuoso cannot run here, or None when its binaries are installed."""
    missing = [exe for exe in (VIRTUOSO_T, ISQL) if shutil.which(exe) is None]
    if missing:
        return f"{' and '.join(missing)} not found: apt-get install virtuoso-opensource"
    return None


@contextlib.contextmanager
def running_virtuoso(folder: Path, dba_password: str) -> Iterator[Virtuoso]:
    """A Virtuoso started in ``folder`` and stopped afterwards; the test is skipped, with the reason, where none runs."""
    why = virtuoso_missing()
    if why:
        pytest.skip(why)
    server = Virtuoso(folder, dba_password=dba_password)
    try:
        server.start()
    except StoreUnavailable as exc:
        pytest.skip(f"Virtuoso did not start: {exc}")
    try:
        yield server
    finally:
        server.stop()


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Virtuoso:
    """One private Virtuoso on loopback; a context manager (``with Virtuoso(dir, "pw") as v:``)."""

    def __init__(self, directory: Path, dba_password: str, startup_timeout: float = 90.0):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.http_port = free_port()
        self.isql_port = free_port()
        self.dba_password = dba_password
        self._password = "dba"  # a new database's
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None
        self.startup_seconds = 0.0

    @property
    def sparql_url(self) -> str:
        """The public SPARQL endpoint (``/sparql``)."""
        return f"http://127.0.0.1:{self.http_port}/sparql"

    def start(self) -> Virtuoso:
        """Start ``virtuoso-t +foreground`` and wait until it answers SPARQL; set the dba password."""
        ini = self.dir / "virtuoso.ini"
        ini.write_text(VIRTUOSO_INI.format(d=self.dir, http_port=self.http_port, isql_port=self.isql_port))
        t0 = time.monotonic()
        with open(self.dir / "stdout.log", "ab") as out:
            self.proc = subprocess.Popen(
                [VIRTUOSO_T, "+foreground", "+configfile", str(ini)],
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_ready(t0)
            self.isql(f"USER_SET_PASSWORD('dba', {_sql_str(self.dba_password)});")
            self._password = self.dba_password
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0
        return self

    def _wait_ready(self, t0: float) -> None:
        log = self.dir / "virtuoso.log"
        while time.monotonic() < t0 + self.startup_timeout:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise StoreUnavailable(f"virtuoso-t exited with {self.proc.returncode}: {self.log_tail()}")
            if log.exists() and "Server online at" in log.read_text(errors="replace"):
                try:
                    url = self.sparql_url + "?" + urllib.parse.urlencode({"query": "ASK {}"})
                    with urllib.request.urlopen(url, timeout=5) as r:
                        if r.status == 200:
                            return
                except OSError:
                    pass
            time.sleep(0.2)
        raise StoreUnavailable(f"Virtuoso did not answer within {self.startup_timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, n: int = 5) -> str:
        """The last lines of the server's log, for error messages."""
        for p in (self.dir / "virtuoso.log", self.dir / "stdout.log"):
            if p.exists():
                lines = p.read_text(errors="replace").strip().splitlines()
                if lines:
                    return " | ".join(lines[-n:])
        return "(no log)"

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (a quick shutdown, 1-2 s), SIGKILL after ``timeout``."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> Virtuoso:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def isql(self, sql: str, timeout: float = 120.0) -> str:
        """Run SQL as dba through isql-vt; raise on any ``*** Error`` (isql exits 0 on SQL errors)."""
        cmd = [
            ISQL,
            f"127.0.0.1:{self.isql_port}",
            "dba",
            self._password,
            "VERBOSE=OFF",
            "BANNER=OFF",
            "PROMPT=OFF",
            "ECHO=OFF",
            "ERRORS=STDOUT",
        ]
        r = subprocess.run(cmd, input=sql + "\n", capture_output=True, text=True, timeout=timeout)
        text = r.stdout + r.stderr
        if r.returncode != 0 or "*** Error" in text:
            raise RuntimeError(f"isql failed ({r.returncode}): {text.strip()[:500]}")
        return r.stdout

    def load_nquads(self, path: Path) -> None:
        """Bulk-load an N-Quads file (quads keep their graphs), bypassing kg's validation."""
        folder = self.dir / "load"
        folder.mkdir(exist_ok=True)
        target = folder / path.name
        shutil.copyfile(path, target)
        self.isql(f"DELETE FROM DB.DBA.LOAD_LIST WHERE ll_file = {_sql_str(str(target))};")
        self.isql(
            f"ld_dir({_sql_str(str(folder))}, {_sql_str(path.name)}, 'urn:trialkg:bulk-default');\n"
            "rdf_loader_run();\ncheckpoint;"
        )
        errors = self.isql(
            f"SELECT ll_error FROM DB.DBA.LOAD_LIST WHERE ll_file = {_sql_str(str(target))} AND ll_error IS NOT NULL;"
        )
        if errors.strip():
            raise RuntimeError(f"bulk load of {path} failed: {errors.strip()[:500]}")

    def select(self, query: str, timeout: float = 60.0) -> bytes:
        """SPARQL JSON results of a query sent form-encoded (the form Virtuoso 7.2 answers)."""
        body = urllib.parse.urlencode({"query": query}).encode("utf-8")
        req = urllib.request.Request(
            self.sparql_url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/sparql-results+json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.read()

    def graph_sizes(self) -> dict[str, int]:
        """Triples per named graph, Virtuoso's own graphs included."""
        data = json.loads(self.select("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"))
        return {b["g"]["value"]: int(b["n"]["value"]) for b in data["results"]["bindings"]}


# ----------------------------------------------------------------------------- Jena TDB2 + ARQ

#: libapache-jena-java and the jars it depends on (Debian bookworm), by their unversioned names
JENA_JARS = [
    "jena-arq",
    "jena-base",
    "jena-cmds",
    "jena-core",
    "jena-dboe-base",
    "jena-dboe-index",
    "jena-dboe-storage",
    "jena-dboe-trans-data",
    "jena-dboe-transaction",
    "jena-iri",
    "jena-rdfconnection",
    "jena-shacl",
    "jena-shex",
    "jena-tdb",
    "jena-tdb2",
    "commons-cli",
    "commons-codec",
    "commons-compress",
    "commons-csv",
    "commons-io",
    "commons-lang3",
    "dexx.collection",
    "gson",
    "guava",
    "httpclient",
    "httpclient-cache",  # jsonld-java, Jena's JSON-LD 1.0 reader, needs it
    "httpcore",
    "jackson-core",
    "jackson-databind",
    "jackson-annotations",
    "jsonld-java",
    "jakarta.json-api",
    "protobuf",
    "slf4j-api",
    "slf4j-nop",
    "thrift",
    "titanium-json-ld",
]

#: One JVM for many queries (Java >= 11 runs a single source file): args LOC QUERYFILE...;
#: writes QUERYFILE.json, or QUERYFILE.err with the exception.
BATCH_JAVA = r"""
import java.nio.file.*;
import org.apache.jena.query.*;
import org.apache.jena.sparql.util.Symbol;
import org.apache.jena.system.Txn;
import org.apache.jena.tdb2.TDB2Factory;

public class TrialkgBatch {
    public static void main(String[] a) throws Exception {
        Dataset ds = TDB2Factory.connectDataset(a[0]);
        for (int i = 1; i < a.length; i++) {
            final Path in = Path.of(a[i]);
            final String text = Files.readString(in);
            Txn.executeRead(ds, () -> {
                try {
                    Query q = QueryFactory.create(text);
                    try (QueryExecution qe = QueryExecution.dataset(ds).query(q)
                            .set(Symbol.create("http://jena.hpl.hp.com/TDB#unionDefaultGraph"), true).build();
                         var os = Files.newOutputStream(Path.of(in + ".json"))) {
                        ResultSetFormatter.outputAsJSON(os, qe.execSelect());
                    }
                } catch (Exception e) {
                    try { Files.writeString(Path.of(in + ".err"), String.valueOf(e)); } catch (Exception x) { }
                }
            });
        }
    }
}
"""


def jena_missing() -> str | None:
    """Why Jena cannot run here, or None when java and the Debian jars are installed."""
    if shutil.which("java") is None:
        return "java not found (Jena needs a JDK >= 11)"
    missing = [name for name in JENA_JARS if not (JAVA_DIR / f"{name}.jar").exists()]
    if missing:
        return f"{JAVA_DIR}/{missing[0]}.jar not found: apt-get install libapache-jena-java"
    return None


def _xerces_bundles_jar(cache: Path) -> Path:
    """The Xerces message bundles of jena-core.jar at the package path its relocated classes read."""
    core = JAVA_DIR / "jena-core.jar"
    jar = cache / f"jena-xerces-msg-{int(core.stat().st_mtime)}.jar"
    if not jar.exists():
        cache.mkdir(parents=True, exist_ok=True)
        tmp = jar.with_suffix(f".{os.getpid()}.tmp")
        prefix = "org/apache/jena/ext/"
        with zipfile.ZipFile(core) as src, zipfile.ZipFile(tmp, "w") as out:
            for name in src.namelist():
                if name.startswith(prefix + "xerces/") and name.endswith(".properties"):
                    out.writestr(name[len(prefix) :], src.read(name))
        tmp.replace(jar)
    return jar


def jena_classpath(cache: Path) -> str:
    """The bundles jar first, then the Debian jars."""
    return os.pathsep.join([str(_xerces_bundles_jar(cache)), *(str(JAVA_DIR / f"{n}.jar") for n in JENA_JARS)])


def _java(classpath: str, main: str, *args: str, timeout: float = 300.0) -> None:
    r = subprocess.run(
        ["java", "-Xshare:auto", "-cp", classpath, main, *args], capture_output=True, text=True, timeout=timeout
    )
    if r.returncode != 0:
        raise RuntimeError(f"{main} exited {r.returncode}: {(r.stderr or r.stdout).strip()[-800:]}")


def tdb2_load(classpath: str, location: Path, *files: Path) -> None:
    """``tdb2.tdbloader --loc LOCATION FILE...`` (N-Quads keep their graphs)."""
    _java(classpath, "tdb2.tdbloader", "--loc", str(location), *map(str, files))


def tdb2_select_many(classpath: str, location: Path, queries: dict[str, str]) -> dict[str, bytes]:
    """SPARQL JSON results of each query, run by ARQ over TDB2 with the union default graph, in one JVM."""
    work = Path(tempfile.mkdtemp(prefix="jena-batch-"))
    try:
        source = work / "TrialkgBatch.java"
        source.write_text(BATCH_JAVA)
        files = {}
        for i, (name, text) in enumerate(queries.items()):
            files[name] = work / f"q{i}.rq"
            files[name].write_text(text, encoding="utf-8")
        _java(classpath, str(source), str(location), *map(str, files.values()))
        out = {}
        for name, path in files.items():
            err = Path(f"{path}.err")
            if err.exists():
                raise RuntimeError(f"Jena failed on {name}: {err.read_text()[:500]}")
            out[name] = Path(f"{path}.json").read_bytes()
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ----------------------------------------------------------------------------- comparing answers


def _term_key(term) -> tuple:
    if isinstance(term, ox.NamedNode):
        return ("iri", term.value)
    if isinstance(term, ox.BlankNode):
        return ("blank",)  # labels are the store's own
    dtype = term.datatype.value if term.datatype is not None else XSD + "string"
    if dtype in NUMERIC:
        try:
            number = Decimal(term.value.strip())
        except InvalidOperation:
            return ("literal", term.value, dtype, None)
        # the value, not its spelling: "8.30", "8.3", "83E-1" are one number
        return ("number", dtype, number.normalize() if number else Decimal(0))
    return ("literal", term.value, dtype, term.language)


def comparable(variables: list[str], rows: list[dict]) -> Counter:
    """Rows as a multiset of ``((variable, term key), ...)``; unbound variables are left out."""
    return Counter(tuple((v, _term_key(row[v])) for v in variables if v in row) for row in rows)


def in_order(variables: list[str], rows: list[dict]) -> list[tuple]:
    """Rows as :func:`comparable` keys them, in the order given."""
    return [tuple((v, _term_key(row[v])) for v in variables if v in row) for row in rows]


def rows_of_json(data: bytes) -> tuple[list[str], list[dict]]:
    """Variables and rows of SPARQL JSON results (Virtuoso's "typed-literal" included)."""
    solutions = ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON)
    variables = [v.value for v in solutions.variables]
    rows = [{v: s[v] for v in variables if s[v] is not None} for s in solutions]
    return variables, rows


def differences(expected: Counter, actual: Counter, limit: int = 3) -> str:
    """What one side has and the other lacks, for an assertion message."""
    missing = list((expected - actual).elements())[:limit]
    extra = list((actual - expected).elements())[:limit]
    return (
        f"{sum(expected.values())} rows expected, {sum(actual.values())} answered; "
        f"missing {missing}; unexpected {extra}"
    )
