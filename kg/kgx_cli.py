"""KGX's own command line, run offline with the installed Biolink Model and trialkg's prefix map.

``python -m kg.kgx_cli ARGS`` is ``kgx ARGS`` (the same commands, options and
exit codes) with two things changed, because ``kgx`` cannot be told either:

- **The Biolink Model comes from the installed ``biolink-model`` package**, not
  from GitHub: kgx builds a ``bmt.Toolkit`` when it is imported, and the
  Toolkit downloads ``biolink-model.yaml`` (and a predicate-mapping file)
  unless given a schema. Without a network, ``kgx`` does not even start.
- **CURIEs expand with trialkg's prefix map** (``ontology/kgx-prefix-map.json``,
  made from :mod:`kg.prefixes`) over Biolink's own: kgx's RDF writer expands
  node ids with one JSON-LD context it downloads (Biolink 2.2.5's) and takes no
  prefix map from the command line, so ``trialkg.trial:isoda-2018`` would become
  ``https://www.example.org/UNKNOWN/...`` and ``DRUGBANK:DB00188`` an
  identifiers.org IRI. With this map every id expands to the IRI the RDF graph
  uses. ``--prefix-map FILE`` first reads the map an export wrote beside its
  TSV files instead (``kg export --format kgx``: the packaged map and a prefix
  for each namespace it has none for, as a curator's own IRIs may need).

The predicate-mapping file maps non-Biolink predicates onto Biolink ones; the
export uses Biolink predicates only, so an empty mapping stands in for it.

Needs the ``kgx`` extra (``pip install 'trialkg[kgx]'``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any

from kg import resources


def biolink_schema() -> Path:
    """``biolink_model.yaml`` of the installed ``biolink-model`` package."""
    return Path(str(importlib_resources.files("biolink_model") / "schema" / "biolink_model.yaml"))


def biolink_prefix_map() -> dict[str, str]:
    """The Biolink Model's own prefix map (installed package), as kgx would read it from its context.

    The package ships two maps; ``biolink-model-prefix-map.json`` holds exactly the prefixes of the
    release's JSON-LD context (``project/jsonld/biolink_model.context.jsonld`` of 4.4.3: the same
    266 prefixes and namespaces), ``biolink_model_prefix_map.json`` six fewer (CLINICALTRIALS among
    them, though ``biolink:ClinicalTrial`` takes its ids from it).
    """
    path = importlib_resources.files("biolink_model") / "prefixmaps" / "biolink-model-prefix-map.json"
    found: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return found


def kgx_prefix_map() -> dict[str, str]:
    """The packaged ``ontology/kgx-prefix-map.json``: each CURIE prefix of the KGX export and its namespace."""
    found: dict[str, str] = json.loads(resources.ontology_file("kgx-prefix-map.json").read_text(encoding="utf-8"))
    return found


class _EmptyPredicateMap:
    text = "predicate mappings: []\n"

    def raise_for_status(self) -> None:
        """Nothing to raise: no request was made."""


def _offline_toolkit(schema: Path) -> None:
    """Make every ``bmt.Toolkit()`` read ``schema`` and no predicate-mapping URL."""
    import bmt.toolkit

    toolkit = bmt.toolkit.Toolkit
    original = toolkit.__init__
    if getattr(original, "_trialkg_offline", False):
        return

    def offline_init(self: Any, schema_arg: Any = None, *args: Any, **kwargs: Any) -> None:
        if schema_arg is None or (isinstance(schema_arg, str) and schema_arg.startswith(("http://", "https://"))):
            schema_arg = str(schema)
        get = bmt.toolkit.requests.get
        bmt.toolkit.requests.get = lambda url, *a, **kw: _EmptyPredicateMap()  # the mapping URL only
        try:
            original(self, schema_arg, *args, **kwargs)
        finally:
            bmt.toolkit.requests.get = get

    setattr(offline_init, "_trialkg_offline", True)  # noqa: B010 (a function attribute mypy cannot see)
    setattr(toolkit, "__init__", offline_init)  # noqa: B010 (replacing a method)


#: the first argument that makes ``python -m kg.kgx_cli`` use Biolink's own prefix map only
BIOLINK_ONLY = "--biolink-prefixes-only"
#: the first argument (then a file) that makes ``python -m kg.kgx_cli`` use an export's own prefix map
PREFIX_MAP = "--prefix-map"


def prepare(project_map: bool = True, own_map: dict[str, str] | None = None) -> None:
    """Point bmt and kgx at the installed Biolink Model and the prefix maps, before kgx is imported.

    Without ``project_map``, only the Biolink Model's own map: what ``kgx`` itself reads (Biolink's
    JSON-LD context), so ``kgx validate`` judges the ids exactly as any Biolink consumer would.
    ``own_map``: an export's prefix map, in place of the packaged one.
    """
    _offline_toolkit(biolink_schema())
    import kgx.config

    ours = (own_map if own_map is not None else kgx_prefix_map()) if project_map else {}
    context = {**biolink_prefix_map(), **ours}
    # kgx reads its CURIE contexts once, by name; filled in here, none is downloaded. Its
    # fallbacks (the Monarch and OBO contexts) get the same map, so no id of the export expands
    # through a map the project did not choose.
    for name in kgx.config.get_config()["jsonld-context"]:
        kgx.config.jsonld_context_map[name] = context


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``kgx`` with ``argv`` (default: the command line); its exit status.

    A first argument ``--biolink-prefixes-only`` leaves trialkg's prefix map out (see :func:`prepare`).
    """
    args = list(argv if argv is not None else sys.argv[1:])
    project_map = not (args and args[0] == BIOLINK_ONLY)
    own_map = None
    if args[:1] == [PREFIX_MAP]:
        if len(args) < 2:
            print(f"kgx_cli: {PREFIX_MAP} needs a prefix map file (an export's kgx-prefix-map.json)", file=sys.stderr)
            return 2
        try:
            own_map = json.loads(Path(args[1]).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"kgx_cli: cannot read the prefix map {args[1]}: {exc}", file=sys.stderr)
            return 2
        if not isinstance(own_map, dict) or not all(isinstance(v, str) for v in own_map.values()):
            print(f"kgx_cli: {args[1]} is not a prefix map (a JSON object of prefix: namespace)", file=sys.stderr)
            return 2
        args = args[2:]
    prepare(project_map, own_map)
    from kgx.cli import cli

    try:
        cli.main(args=args if own_map is not None else args[0 if project_map else 1 :], prog_name="kgx")
    except SystemExit as exc:  # kgx and click end every command with sys.exit
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
