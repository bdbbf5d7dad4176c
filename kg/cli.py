"""The ``kg`` command line: thin commands over the library modules.

Errors from the library (:mod:`kg.errors`) become one line on stderr and the
exit code documented in the README; ``--debug`` shows the traceback instead.
"""
from __future__ import annotations

import sys
from functools import wraps

import click

from kg.errors import KGError

ENGINE_OPTION = click.option(
    "--engine", type=click.Choice(["oxigraph", "rdflib"]), default="oxigraph", show_default=True,
    help="SPARQL engine for the in-memory graph.",
)
DATA_OPTION = click.option(
    "--data", "--trials", "data", multiple=True, type=click.Path(dir_okay=True),
    help="Use these publication Turtle files or folders (with the packaged ontology) instead of the packaged trials.",
)
STORE_OPTION = click.option(
    "--store", type=click.Path(file_okay=False), default=None,
    help="A persistent embedded store folder made by `kg load`.",
)
ENDPOINT_OPTION = click.option(
    "--endpoint", default=None, help="A SPARQL 1.1 query endpoint URL (read-only use).",
)
FORMAT_OPTION = click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "tsv", "json", "xml"]), default="table", show_default=True,
    help="Output: an aligned table, or a W3C SPARQL 1.1 results format.",
)


def _guard(func):
    """Turn library errors into one line and an exit code (tracebacks only with --debug)."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        ctx = click.get_current_context()
        debug = (ctx.find_root().obj or {}).get("debug", False)
        try:
            return func(*args, **kwargs)
        except KGError as exc:
            if debug:
                raise
            click.echo(f"kg: error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper


@click.group()
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(package_name="trialkg")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """trialkg: clinical-trial results as a validated linked-data graph."""
    ctx.obj = {"debug": debug}


@cli.command()
@click.option("--out", default="dist", show_default=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--base", default=None, help="Publish under this base IRI instead of https://w3id.org/trialkg/.")
@DATA_OPTION
@_guard
def build(out: str, base: str | None, data: tuple[str, ...]) -> None:
    """Write the graph (ontology + term extracts + trials) as Turtle, N-Triples, JSON-LD and N-Quads."""
    from kg.build import build as run_build
    from kg.graph import file_sources, packaged_sources
    from kg.prefixes import BASE

    sources = packaged_sources(include_trials=not data) + (file_sources(data) if data else [])
    result = run_build(out, sources, base or BASE)
    for path in result.files:
        click.echo(f"wrote {path}")
    click.echo(f"{result.triples} triples in {result.seconds:.2f} s")


@cli.command()
@click.argument("files", nargs=-1, type=click.Path())
@click.option("--trials", "trials_dir", type=click.Path(file_okay=False), default=None,
              help="A folder of publication Turtle files to validate (as FILES, but spelled out).")
@click.option("--engine", type=click.Choice(["oxigraph", "pyshacl"]), default="oxigraph", show_default=True,
              help="oxigraph: the shapes compiled to SPARQL (fast); pyshacl: the reference SHACL engine.")
@_guard
def validate(files: tuple[str, ...], trials_dir: str | None, engine: str) -> None:
    """Check trial graphs against the SHACL shapes (default: the packaged trials).

    Exit status: 0 conforms, 1 violations, 2 unreadable input.
    """
    from kg.errors import ValidationFailed
    from kg.graph import file_sources, packaged_sources
    from kg.validate import validate_sources

    paths = list(files) + ([trials_dir] if trials_dir else [])
    report = validate_sources(file_sources(paths) if paths else packaged_sources(), engine=engine)
    click.echo(report.text())
    if not report.conforms:
        raise ValidationFailed(f"{len(report.violations)} violation(s)")


@cli.command()
@click.option("--ontology-only", is_flag=True, help="Reason over the ontology and term extracts without the trials.")
@_guard
def reason(ontology_only: bool) -> None:
    """Check that the ontology (with the trials) is consistent, with HermiT."""
    from kg.reason import check_consistency

    result = check_consistency(include_trials=not ontology_only)
    click.echo(f"consistent (HermiT): {result.classes} classes, {result.individuals} individuals, no unsatisfiable classes")


@cli.command()
@click.option("--trial", default=None, help="Trial slug or IRI (default: every trial).")
@ENGINE_OPTION
@DATA_OPTION
@STORE_OPTION
@ENDPOINT_OPTION
@_guard
def summary(trial: str | None, engine: str, data, store, endpoint) -> None:
    """Print a one-screen summary of each trial."""
    from kg.summary import summarize

    click.echo(summarize(trial=trial, engine=engine, data=data, store=store, endpoint=endpoint))


@cli.command()
@click.option("--format", "fmt", required=True,
              type=click.Choice(["nquads", "jsonld", "kgx", "sssom", "fhir", "void"]),
              help="nquads (named graphs), jsonld (compacted), kgx (Biolink 4.2.2 TSV), sssom, fhir (R5 Bundle), void.")
@click.option("--out", default="dist", show_default=True, type=click.Path(file_okay=False), help="Output folder.")
@DATA_OPTION
@_guard
def export(fmt: str, out: str, data) -> None:
    """Export the graph for other graphs and tools to ingest."""
    from kg.export import export as run_export
    from kg.graph import file_sources, memory_store, packaged_sources

    sources = packaged_sources(include_trials=not data) + (file_sources(data) if data else [])
    for path in run_export(fmt, out, memory_store(sources)):
        click.echo(f"wrote {path}")


@cli.command()
@click.option("--store", type=click.Path(file_okay=False), default=None,
              help="Embedded store folder (default: $TRIALKG_STORE or ~/.local/share/trialkg/store).")
@click.option("--endpoint", default=None, help="Load into this SPARQL 1.1 server instead (its query/GSP URL).")
@click.option("--gsp-endpoint", default=None, help="Graph Store Protocol URL, where the server separates it.")
@click.option("--update-endpoint", default=None, help="SPARQL Update URL, where the server separates it.")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for each HTTP request.")
@DATA_OPTION
@_guard
def load(store, endpoint, gsp_endpoint, update_endpoint, timeout, data) -> None:
    """Validate, then load each publication into its own named graph (atomically).

    Credentials for a server come from TRIALKG_USER / TRIALKG_PASSWORD or
    TRIALKG_TOKEN in the environment, never from the command line.
    """
    from kg.graph import file_sources, packaged_sources
    from kg.load import default_store_dir, load_embedded

    sources = packaged_sources(include_trials=not data) + (file_sources(data) if data else [])
    if endpoint:
        from kg.remote import load_endpoint

        result = load_endpoint(endpoint, sources, gsp_endpoint=gsp_endpoint, update_endpoint=update_endpoint,
                               timeout=timeout)
    else:
        target = store or default_store_dir()
        click.echo(f"store: {target}")
        result = load_embedded(sources, target)
    click.echo(f"loaded {result.triples} triples into {len(result.graphs)} named graph(s) "
               f"at {result.target} in {result.seconds:.2f} s")


@cli.command()
@click.argument("name", required=False)
@click.option("--file", "file", type=click.Path(exists=False, dir_okay=False), help="Run this .rq file instead of a ready-made query.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="A query parameter (repeatable).")
@FORMAT_OPTION
@ENGINE_OPTION
@DATA_OPTION
@STORE_OPTION
@ENDPOINT_OPTION
@_guard
def query(name, file, params, fmt, engine, data, store, endpoint) -> None:
    """Run a ready-made query by NAME (see `kg queries`), or your own with --file."""
    from kg.run import run_query

    click.echo(run_query(name=name, file=file, params=params, fmt=fmt, engine=engine, data=data,
                         store=store, endpoint=endpoint), nl=False)


@cli.command()
@click.argument("name", required=False)
@_guard
def queries(name: str | None) -> None:
    """List the ready-made queries, or show one query's parameters."""
    from kg.run import describe_queries

    click.echo(describe_queries(name))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@STORE_OPTION
@click.option("--timeout", default=10.0, show_default=True, help="SPARQL query time-out in seconds.")
@click.option("--max-rows", default=10000, show_default=True, help="Largest SPARQL result served.")
@_guard
def serve(host: str, port: int, store, timeout: float, max_rows: int) -> None:
    """Serve the graph as linked data: pages, RDF by content negotiation, and /sparql."""
    from kg.serve import serve as run_serve

    click.echo(f"serving on http://{host}:{port}/ (Ctrl-C to stop)")
    run_serve(host, port, store, timeout, max_rows)


@cli.command()
@click.option("--static", "static_dir", required=True, type=click.Path(file_okay=False),
              help="Folder to write the static site into (replaced).")
@_guard
def publish(static_dir: str) -> None:
    """Write every page and per-resource RDF file, with .htaccess rules, for a static host."""
    from kg.publish import publish as run_publish

    out, count = run_publish(static_dir)
    click.echo(f"wrote {count} files to {out}")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="kg")


if __name__ == "__main__":  # pragma: no cover
    main()
