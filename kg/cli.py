"""The ``kg`` command line: thin commands over the library.

Errors from the library (:mod:`kg.errors`) become one line on stderr and the
exit code documented in the README; ``--debug`` shows the traceback instead.
Option choices come from the library's own registries, never retyped here.
"""

from __future__ import annotations

import os
import re
import select
import sys
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import ParamSpec, TypeVar

import click

from kg.dataset import ENGINES, Dataset
from kg.errors import InputError, KGError, OutputError, printable
from kg.export import FORMATS as EXPORT_FORMATS
from kg.query.formats import NAMES as OUTPUT_FORMATS
from kg.query.text import MAX_PAGE
from kg.validate import ENGINES as VALIDATION_ENGINES
from kg.web.connections import MAX_CONNECTIONS
from kg.web.endpoint import Limits

TRIALS_OPTION = click.option(
    "--trials",
    "--data",
    "trials",
    multiple=True,
    type=click.Path(),
    help="Publication Turtle files or folders of them (with the packaged ontology), instead of the packaged trials: "
    "--trials a.ttl b.ttl, or repeated.",
)
STORE_OPTION = click.option(
    "--store",
    type=click.Path(file_okay=False),
    default=None,
    help="A persistent embedded store folder made by `kg load` (opened read-only).",
)
ENDPOINT_OPTION = click.option("--endpoint", default=None, help="A SPARQL 1.1 query endpoint URL (read-only use).")
TIMEOUT_OPTION = click.option(
    "--timeout", default=60.0, show_default=True, help="Seconds to wait for each HTTP request."
)
ENGINE_OPTION = click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="oxigraph",
    show_default=True,
    help="SPARQL engine for a local graph: pyoxigraph, or rdflib's own.",
)
OUT_OPTION = click.option(
    "--out",
    default="dist",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Output folder (created if missing; files are replaced only when complete).",
)


#: the exit status of an error nothing foresaw (a bug): never 1, which means "violations"
#: Ctrl-C (128 + SIGINT, as a shell reports a command SIGINT stopped)
INTERRUPTED = 130
INTERNAL_ERROR = 70
#: the exit status when the reader of the output went away (``kg query ... | head``): what a shell reports for a
#: program SIGPIPE stopped (128 + 13); nothing is said, as nothing went wrong that the user did not ask for
READER_GONE = 141

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _guard(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Turn library errors into one line and an exit code (tracebacks only with --debug).

    The line is made printable (:func:`kg.errors.printable`): a file name's
    newline cannot add a line, nor can bytes that are not UTF-8 end in a
    traceback. An exception nothing foresaw is one line too, with its own exit
    status (:data:`INTERNAL_ERROR`).
    """

    @wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        debug = (click.get_current_context().find_root().obj or {}).get("debug", False)
        _refuse_undecodable(kwargs)
        try:
            return func(*args, **kwargs)
        except KGError as exc:
            if debug:
                raise
            _error(str(exc))
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:  # Ctrl-C: its own status, not 1 (the data is wrong), as a shell reports SIGINT
            if debug:
                raise
            _error("interrupted")
            sys.exit(INTERRUPTED)
        except OSError as exc:  # an output the library did not foresee: still one line
            if debug:
                raise
            if isinstance(exc, BrokenPipeError) and _reader_gone():  # `kg query ... | head`: stop, as SIGPIPE would
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush into it
                sys.exit(READER_GONE)
            where = f"{exc.filename}: " if exc.filename else ""
            _error(f"{where}{exc.strerror or exc}")
            sys.exit(OutputError.exit_code)
        except Exception as exc:  # noqa: BLE001 - a bug: one line and its own status, never a traceback
            if debug:
                raise
            _error(f"internal error: {type(exc).__name__}: {exc} (kg --debug shows where; please report it)")
            sys.exit(INTERNAL_ERROR)

    return wrapper


def _refuse_undecodable(values: dict[str, object]) -> None:
    """Refuse, before anything is done, a value given as text that is not UTF-8 (Python keeps such bytes as lone
    surrogates, which ended in 'internal error' where the value reached an IRI or a file, and left `kg new`'s new
    folder behind, review 39); a path may hold any bytes the file system does."""
    for param in click.get_current_context().command.params:
        if isinstance(param.type, click.Path) or param.name is None:
            continue
        value = values.get(param.name)
        for text in value if isinstance(value, (tuple, list)) else [value]:
            if isinstance(text, str):
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    hint = param.get_error_hint(click.get_current_context()).strip("'")
                    _error(f"{hint}: the value is not UTF-8 text")
                    sys.exit(InputError.exit_code)


def _reader_gone() -> bool:
    """Whether standard output is a pipe whose reader has gone (an EPIPE from a server's socket is an error)."""
    try:
        poll = select.poll()
        poll.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _fd, events in poll.poll(0))
    except (OSError, ValueError):
        return False


def _error(message: str) -> None:
    click.echo(f"kg: error: {printable(message)}", err=True)


def _note(message: str) -> None:
    click.echo(f"kg: note: {printable(message)}", err=True)


def _dataset(
    trials: Sequence[str] = (),
    store: str | None = None,
    endpoint: str | None = None,
    timeout: float = 60.0,
    isolated: bool = False,
) -> Dataset:
    """The dataset the target options name; ``isolated``: its queries run in a child (a panic is one line)."""
    dataset = Dataset.select(paths=list(trials), store=store, endpoint=endpoint, timeout=timeout)
    dataset.isolated = isolated
    return dataset


@click.group()
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(package_name="trialkg")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """trialkg: clinical-trial results as a validated linked-data graph."""
    ctx.obj = {"debug": debug}


BASE_OPTION = click.option(
    "--base", default=None, help="Publish under this base IRI instead of https://w3id.org/trialkg/ (graph names too)."
)


@cli.command()
@OUT_OPTION
@BASE_OPTION
@TRIALS_OPTION
@_guard
def build(out: str, base: str | None, trials: tuple[str, ...]) -> None:
    """Write the graph as Turtle, N-Triples, JSON-LD (merged) and N-Quads (named graphs), and void.ttl."""
    from kg import sources
    from kg.build import build as run_build
    from kg.prefixes import BASE, check_base

    dataset = Dataset.build(sources.files(trials) if trials else None, check_base(base) if base else BASE)
    result = run_build(dataset, out)
    for path in result.files:
        click.echo(f"wrote {path}")
    click.echo(f"{result.triples} triples in {result.seconds:.2f} s")


@cli.command()
@click.argument("files", nargs=-1, type=click.Path())
@TRIALS_OPTION
@click.option("--strict", is_flag=True, help="Warnings (e.g. a term declared without where it was checked) fail too.")
@click.option(
    "--engine",
    type=click.Choice(VALIDATION_ENGINES),
    default="oxigraph",
    show_default=True,
    help="oxigraph: the shapes compiled to SPARQL (fast; refuses, by name, a SHACL feature it does not "
    "implement); pyshacl: the reference SHACL engine.",
)
@click.option(
    "--shapes",
    "shape_files",
    multiple=True,
    type=click.Path(),
    help="A SHACL shapes file (Turtle) of your own, checked beside the packaged shapes (repeatable).",
)
@click.option("--shapes-only", is_flag=True, help="Check only the --shapes files, not the packaged shapes.")
@_guard
def validate(
    files: tuple[str, ...],
    trials: tuple[str, ...],
    strict: bool,
    engine: str,
    shape_files: tuple[str, ...],
    shapes_only: bool,
) -> None:
    """Check publications against the SHACL shapes and the curation checks (default: the packaged trials).

    Each problem is printed as file:line: focus path: message. Besides the
    shapes: quotes verbatim in the source text kept beside the file (x.txt for
    x.ttl), every figure printed in its quoted sentence, no TODO left, terms
    declared in the file with where they were checked (a warning; an error with
    --strict). Results of severity sh:Warning or sh:Info (in your --shapes
    files too) are printed as warnings and do not fail the check. Exit status:
    0 conforms, 1 violations, 2 unreadable input or a shape feature the
    compiled engine refuses (it names it; --engine pyshacl implements it).
    """
    from kg import sources
    from kg.errors import ValidationFailed
    from kg.validate import validate as run_validate

    shapes = [sources.read(Path(f), "shapes") for f in shape_files]
    report = run_validate(
        sources.publications([*files, *trials]),
        engine=engine,
        strict=strict,
        shapes=shapes,
        packaged_shapes=not shapes_only,
    )
    click.echo(report.text())
    if not report.conforms:
        raise ValidationFailed(f"{len(report.errors)} violation(s)")


@cli.command()
@click.option("--ontology-only", is_flag=True, help="Reason over the ontology and term extracts without the trials.")
@TRIALS_OPTION
@_guard
def reason(ontology_only: bool, trials: tuple[str, ...]) -> None:
    """Check that the ontology (with the trials) is consistent, with HermiT."""
    from kg.reason import check_consistency

    dataset = Dataset.build([]) if ontology_only else _dataset(trials)
    result = check_consistency(dataset)
    click.echo(
        f"consistent (HermiT): {result.classes} classes, {result.individuals} individuals, no unsatisfiable classes"
    )


@cli.command()
@click.argument("studies", nargs=-1)
@click.option("--trial", default=None, help="A study slug, IRI or CURIE (the same as giving it as an argument).")
@TRIALS_OPTION
@STORE_OPTION
@ENDPOINT_OPTION
@TIMEOUT_OPTION
@_guard
def summary(
    studies: tuple[str, ...],
    trial: str | None,
    trials: tuple[str, ...],
    store: str | None,
    endpoint: str | None,
    timeout: float,
) -> None:
    """One line per study; or, given STUDIES (slugs, IRIs or CURIEs), each study's screen.

    A study's screen: design, arms and the number allocated to each,
    populations, interventions by arm, every figure with its denominator and
    time, the comparisons between groups, adverse events, and the citation.
    """
    from functools import partial

    from kg.query.execute import in_child
    from kg.summary import summarize

    dataset = _dataset(trials, store, endpoint, timeout)
    text = (
        summarize(dataset, studies, trial=trial)
        if dataset.is_remote
        else in_child(partial(summarize, dataset, studies, trial=trial), origin="kg summary")
    )
    click.echo(text, nl=False)


@cli.command()
@click.option(
    "--format",
    "fmt",
    required=True,
    type=click.Choice(EXPORT_FORMATS),
    help="nquads (named graphs), jsonld (compacted, JSON-LD 1.1), jsonld-1.0 (for JSON-LD 1.0 readers such as Jena), kgx (Biolink KGX TSV), sssom, fhir (R5 Bundle), void, nanopub (one nanopublication per statistic, adverse-event report and claim).",
)
@click.option(
    "--date",
    "created",
    default=None,
    help="nanopub: the creation date of the nanopublications, YYYY-MM-DD (default: the issued date of the data).",
)
@OUT_OPTION
@TRIALS_OPTION
@STORE_OPTION
@_guard
def export(fmt: str, created: str | None, out: str, trials: tuple[str, ...], store: str | None) -> None:
    """Export the graph for other graphs and tools to ingest."""
    from kg.export import export as run_export
    from kg.export import notes
    from kg.nanopub import parse_date

    ds = _dataset(trials, store, isolated=True)
    for path in run_export(fmt, out, ds, parse_date(created)):
        click.echo(f"wrote {path}")
    for message in notes(fmt, ds):
        _note(message)


@cli.command()
@click.option(
    "--store",
    type=click.Path(file_okay=False),
    default=None,
    help="Embedded store folder (default: $TRIALKG_STORE or ~/.local/share/trialkg/store).",
)
@click.option("--endpoint", default=None, help="Load into this SPARQL 1.1 server instead (its query/GSP URL).")
@click.option(
    "--gsp-endpoint",
    default=None,
    help="Graph Store Protocol endpoint: no longer needed (every load goes as SPARQL Update); accepted and ignored.",
)
@click.option(
    "--batch-mb",
    default=32,
    show_default=True,
    type=click.IntRange(min=1),
    metavar="MB",
    help="Largest update request sent to a server; a larger load goes in batches of whole publications, "
    "undone if one fails (readers then see it change batch by batch).",
)
@click.option("--update-endpoint", default=None, help="SPARQL Update URL, where the server separates it.")
@TIMEOUT_OPTION
@click.option(
    "--wait",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="How long to wait for another kg load of the same embedded store to finish (0: refuse at once).",
)
@BASE_OPTION
@TRIALS_OPTION
@_guard
def load(
    store: str | None,
    endpoint: str | None,
    gsp_endpoint: str | None,
    batch_mb: int,
    update_endpoint: str | None,
    timeout: float,
    wait: float,
    base: str | None,
    trials: tuple[str, ...],
) -> None:
    """Validate, then load each publication into its own named graph (all or nothing).

    Credentials for a server come from TRIALKG_USER / TRIALKG_PASSWORD or
    TRIALKG_TOKEN in the environment, never from the command line.
    """
    from kg import sources
    from kg.load import default_store_dir, load_embedded, load_endpoint
    from kg.prefixes import BASE, check_base

    pubs = sources.publications(trials)
    base = check_base(base) if base else BASE
    if endpoint:
        result = load_endpoint(
            endpoint,
            pubs,
            gsp_endpoint=gsp_endpoint,
            update_endpoint=update_endpoint,
            timeout=timeout,
            batch_bytes=batch_mb * 1024 * 1024,
            base=base,
        )
    else:
        target = store or default_store_dir()
        click.echo(f"store: {target}")
        result = load_embedded(pubs, target, wait=wait, base=base)
    for note in result.notes:
        _note(note)
    click.echo(
        f"loaded {result.triples} triples into {len(result.graphs)} named graph(s) "
        f"at {result.target} in {result.seconds:.2f} s"
    )


@cli.command()
@click.argument("name", required=False)
@click.option(
    "--file", "file", type=click.Path(dir_okay=False), help="Run this .rq file instead of a ready-made query."
)
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="A query parameter (repeatable).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(OUTPUT_FORMATS),
    default="table",
    show_default=True,
    help="Output: an aligned table, or a W3C SPARQL 1.1 results format.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0, max=MAX_PAGE),
    default=None,
    metavar="N",
    help="At most N rows (added to the query as LIMIT N, a checked integer).",
)
@click.option(
    "--offset",
    type=click.IntRange(min=0, max=MAX_PAGE),
    default=None,
    metavar="N",
    help="Skip the first N rows (added as OFFSET N); with an ordered query, pages through it.",
)
@ENGINE_OPTION
@TRIALS_OPTION
@STORE_OPTION
@ENDPOINT_OPTION
@TIMEOUT_OPTION
@click.option(
    "--allow-service",
    is_flag=True,
    help="Let a --file query use SERVICE, which fetches from other SPARQL endpoints over the network "
    "(refused without this flag).",
)
@_guard
def query(
    name: str | None,
    file: str | None,
    params: tuple[str, ...],
    fmt: str,
    limit: int | None,
    offset: int | None,
    engine: str,
    trials: tuple[str, ...],
    store: str | None,
    endpoint: str | None,
    timeout: float,
    allow_service: bool,
) -> None:
    """Run a ready-made query by NAME (see `kg queries`), or your own with --file.

    A --file query that uses SERVICE is refused unless --allow-service is
    given: SERVICE makes the engine fetch from any endpoint the query names.
    """
    from kg.errors import QueryError
    from kg.lookup import require_known
    from kg.query import catalog
    from kg.query.params import parse_params

    if file and not name:
        q = catalog.from_file(file)
    elif name and not file:
        q = catalog.get(name)
    else:
        raise QueryError("give either a query NAME or --file Q.rq (see `kg queries`)")
    params_given = parse_params(params)
    dataset = _dataset(trials, store, endpoint, timeout, isolated=True)
    study = q.scope if q.scope in ("trial", "study") and q.scope in params_given else None
    if study and re.fullmatch(r"[A-Za-z0-9]+(-[A-Za-z0-9]+)*", params_given[study]):
        from kg.summary import resolve  # a study by its slug, as `kg summary SLUG` takes it

        params_given = {**params_given, study: resolve(dataset, params_given[study])}
    require_known(dataset, q, params_given)
    out = click.get_binary_stream("stdout")
    dataset.write(
        q, params_given, fmt, out, engine=engine, allow_service=allow_service, limit=limit, offset=offset
    )  # rows as they come
    out.flush()


@cli.command()
@click.argument("text", type=click.Path(dir_okay=False))
@click.option("--url", default="", help="The address of the page the text was copied from (else its '# url:' line).")
@click.option("--slug", default=None, help="The publication's slug (default: the text file's name), e.g. smith-2014.")
@click.option(
    "--kind",
    type=click.Choice(["trial", "study"]),
    default="trial",
    show_default=True,
    help="trial: a clinical trial; study: an observational study.",
)
@click.option(
    "--out",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder to write SLUG.ttl and SLUG.txt into (an existing file is never overwritten).",
)
@_guard
def new(text: str, url: str, slug: str | None, kind: str, out: str) -> None:
    """Write a skeleton publication from a source's TEXT (an abstract, a news report).

    SLUG.ttl gets the citation, one quote per sentence with a figure and a stub
    per figure, its unknowns TODO markers that `kg validate` lists by line;
    SLUG.txt keeps the text, so quotes are checked against it. See docs/curating.md.
    """
    from kg.new import new as run_new

    ttl, txt, stubs = run_new(text, out, slug=slug, url=url, kind=kind)
    click.echo(f"wrote {ttl} ({stubs} figure stub(s)) and {txt}")
    click.echo(f"next: fill the TODOs, then `kg validate {ttl}`")


@cli.command()
@click.argument("words", nargs=-1)
@TRIALS_OPTION
@_guard
def terms(words: tuple[str, ...], trials: tuple[str, ...]) -> None:
    """Find verified terms offline by label, synonym or identifier (WORDS all match; none: every term).

    Shows each term's identifier, labels, what it is, its mappings, how the
    graph uses it and where it was checked, then how to declare a new one.
    With --trials, the terms your own files declare are searched too.
    """
    from kg import sources
    from kg.terms import render, search

    dataset = Dataset.build(sources.files(trials) if trials else None)
    click.echo(render(search(dataset, list(words)), list(words)), nl=False)


@cli.command()
@click.argument("name", required=False)
@_guard
def queries(name: str | None) -> None:
    """List the ready-made queries, or show one query's parameters."""
    from kg.query.catalog import describe

    click.echo(describe(name))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@TRIALS_OPTION
@STORE_OPTION
@click.option("--timeout", default=Limits.timeout, show_default=True, help="SPARQL query time-out in seconds.")
@click.option("--max-rows", default=Limits.max_rows, show_default=True, help="Largest SPARQL result served.")
@click.option(
    "--max-memory",
    default=Limits.max_memory_mb,
    show_default=True,
    type=click.IntRange(min=1),
    metavar="MB",
    help="Memory one SPARQL query may add (its process is stopped past it).",
)
@click.option(
    "--max-queries",
    default=Limits.max_queries,
    show_default=True,
    type=click.IntRange(min=1),
    help="SPARQL queries running at once; one more waits a moment for a slot, then is answered 503 with Retry-After.",
)
@click.option(
    "--max-result-mb",
    default=Limits.max_result_mb,
    show_default=True,
    type=click.IntRange(min=1),
    metavar="MB",
    help="Largest SPARQL result (as TSV or N-Triples); a larger one is answered 413.",
)
@click.option(
    "--max-connections",
    default=MAX_CONNECTIONS,
    show_default=True,
    type=click.IntRange(min=1),
    help="Open connections; past it the one waiting longest for a request is closed (fewer where the process "
    "may open fewer files).",
)
@_guard
def serve(
    host: str,
    port: int,
    trials: tuple[str, ...],
    store: str | None,
    timeout: float,
    max_rows: int,
    max_memory: int,
    max_queries: int,
    max_result_mb: int,
    max_connections: int,
) -> None:
    """Serve the graph as linked data: pages, RDF by content negotiation, and /sparql."""
    from kg.web.serve import serve as run_serve

    def ready() -> None:  # said only once the server answers
        click.echo(f"serving on http://{host}:{port}/ (Ctrl-C to stop)")

    dataset = _dataset(trials, store)
    run_serve(
        dataset,
        host,
        port,
        timeout,
        max_rows,
        max_memory_mb=max_memory,
        max_queries=max_queries,
        max_result_mb=max_result_mb,
        max_connections=max_connections,
        ready=ready,
    )


@cli.command()
@click.option(
    "--static",
    "static_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder to write the static site into: new, empty, or made by an earlier kg publish.",
)
@click.option(
    "--hosted-at",
    default=None,
    metavar="URL",
    help="Where the site will be served from: also write w3id.htaccess, the rules for w3id.org's trialkg/ folder.",
)
@TRIALS_OPTION
@STORE_OPTION
@_guard
def publish(static_dir: str, hosted_at: str | None, trials: tuple[str, ...], store: str | None) -> None:
    """Write every page and per-resource RDF file, with .htaccess rules, for a static host."""
    from kg.web.publish import publish as run_publish

    out, count = run_publish(static_dir, _dataset(trials, store), hosted_at)
    click.echo(f"wrote {count} files to {out}")


#: options that take several values at once (``--trials a.ttl b.ttl``), as well as repeated
LIST_OPTIONS = ("--trials", "--data")


def spread_lists(args: list[str]) -> list[str]:
    """``--trials a.ttl b.ttl`` as ``--trials a.ttl --trials b.ttl``, which click reads.

    A value after the first is taken while it names an existing file or folder or
    ends in ``.ttl``, so a command's own argument after the list still reads as one
    (``kg query --trials a.ttl efficacy``).

    >>> spread_lists(["query", "--trials", "x.ttl", "y.ttl", "efficacy"])
    ['query', '--trials', 'x.ttl', '--trials', 'y.ttl', 'efficacy']
    """
    out: list[str] = []
    i = 0
    while i < len(args):
        out.append(args[i])
        if args[i] in LIST_OPTIONS and i + 1 < len(args):
            out.append(args[i + 1])
            i += 2
            while (
                i < len(args) and not args[i].startswith("-") and (args[i].endswith(".ttl") or os.path.exists(args[i]))
            ):
                out += [out[-2], args[i]]
                i += 1
            continue
        i += 1
    return out


def main() -> None:
    """Console-script entry point.

    Output that cannot be encoded (a file name whose bytes are not UTF-8) is
    written with backslash escapes instead of failing.
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    cli(args=spread_lists(sys.argv[1:]), prog_name="kg")


if __name__ == "__main__":  # pragma: no cover
    main()
