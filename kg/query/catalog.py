"""The ready-made queries: ``queries/*.rq`` files and the headers they carry.

Each file is plain SPARQL 1.1. Its header uses grlc-style ``#+`` lines (the
file stays valid SPARQL and also runs in grlc)::

    #+ summary: One line.
    #+ description: What it answers and how to read the columns.
    #+ params:
    #+   drug: A drug, as an IRI or CURIE.
    #+ scope: trial
    #+ candidates: ?__trial_iri <https://w3id.org/trialkg/ontology/hasArm> ?arm .
    #+   ?arm <https://w3id.org/trialkg/ontology/hasTreatmentPhase> ?phase .

``scope`` (optional) names an IRI parameter whose value the rows are about:
given it, the query reads nothing but the graphs in which that resource is a
subject or an object, and the ontology (a study's queries: a publication's file
says all it reports of its study; ``citation``: who cites a publication says so
in its own file, pointing at it), so it is asked of a copy of those graphs
alone (:meth:`kg.dataset.Dataset.of_studies`, each triple once) in time that
follows the resource, not the corpus. ``tests/test_queries.py`` checks the
claim for every such query.

``order`` (optional, with ``scope``: ``#+ order: trialkg:slug``) says that the
rows come ordered by that property of the scope's resource (its text), then by
the resource, where they are not ordered by the resource itself: asked of a
whole store, the resources are then taken a batch at a time in that order
(``studies``, by slug), as a study's query in study order is.

``within: study`` (optional) says that every row is found within one study's
graphs and the ontology, so that on a whole store a query that is not asked in
study order (above) is asked a batch of studies at a time and the rows
gathered and ordered (:mod:`kg.query.gather`): its rows must not repeat
(``SELECT DISTINCT`` or ``GROUP BY``: a batch may find a row another found
too) and it ends with no ``LIMIT`` / ``OFFSET`` of its own.

``candidates`` (optional, with ``scope``; a value may go on over indented
lines) is a graph pattern that every resource with a row matches, given the
query's other parameters: a part of what the query itself requires. Asked of
a whole store before a scoped query is asked in batches, it leaves out the
resources that cannot have a row, so that a rare drug's ``evidence-by-drug``
copies the graphs of the few studies that give it, not of every study.

Parameters are the query's BASIL-style variables: ``?_drug_iri`` is required,
``?__statistic_iri`` optional; the suffix is the type (``iri``, ``string``,
``integer``, ``number``). On the CLI a parameter goes by its bare name
(``--param drug=NCIT:C1851``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from kg import resources
from kg.errors import InputError, QueryError
from kg.prefixes import compact, expand
from kg.query.text import in_order_of, projected, prologue, words_only

_PARAM = re.compile(r"\?(__?)([A-Za-z][A-Za-z0-9]*)_(iri|string|integer|number)\b")


@dataclass(frozen=True)
class Parameter:
    """One query parameter, read from a BASIL-style variable name."""

    name: str
    type: str
    required: bool
    variable: str
    description: str = ""


@dataclass(frozen=True)
class Query:
    """A ready-made query and its header."""

    name: str
    text: str
    summary: str
    description: str
    parameters: tuple[Parameter, ...] = field(default_factory=tuple)
    origin: str = ""  # what error messages call the file
    user_supplied: bool = False  # a user's own file (``kg query --file``): run isolated, see execute.on_oxigraph
    scope: str | None = None  # an IRI parameter whose resource's own graphs give every row for it (``#+ scope:``)
    lookup: bool = False  # a bounded lookup (is an identifier there?): asked of the data as it is, never of a copy
    candidates: str | None = None  # a pattern every resource with a row matches (``#+ candidates:``)
    within: str | None = None  # every row is found within one such resource's graphs (``#+ within: study``)
    order: str | None = None  # rows come ordered by this property of the scope's resource (``#+ order:``), an IRI

    def parameter(self, name: str) -> Parameter:
        """The parameter called ``name``; refuses unknown names with the valid ones."""
        for p in self.parameters:
            if p.name == name:
                return p
        valid = ", ".join(p.name for p in self.parameters) or "none"
        raise QueryError(f"query {self.name!r} has no parameter {name!r} (valid: {valid})")


def _header(text: str) -> dict[str, object]:
    """Read the ``#+`` header: ``key: value`` lines (indented lines after one go on with its value), and indented
    ``name: text`` maps under a key without a value."""
    out: dict[str, object] = {}
    current: str | None = None
    last: str | None = None  # the key whose value indented lines go on with
    for line in text.splitlines():
        if not line.startswith("#+"):
            if line.strip() and not line.startswith("#"):
                break
            continue
        body = line[2:]
        if body.startswith("   ") and last is not None:
            out[last] = f"{out[last]} {body.strip()}"
            continue
        if body.startswith("   ") and current is not None:
            key, _, value = body.strip().lstrip("- ").partition(":")
            mapping = out.setdefault(current, {})
            if isinstance(mapping, dict):
                mapping[key.strip()] = value.strip()
            continue
        key, _, value = body.strip().partition(":")
        key, value = key.strip(), value.strip()
        if value:
            out[key] = value
            current, last = None, key
        else:
            current, last = key, None
            out[key] = {}
    return out


_NO_IRI = Parameter("", "", False, "")


def parse_query(name: str, text: str, origin: str = "") -> Query:
    """Build a :class:`Query` from the text of an ``.rq`` file.

    >>> q = parse_query("x", "#+ summary: All.\\nSELECT * WHERE { ?_drug_iri ?p ?__n_integer }")
    >>> q.summary, [(p.name, p.type, p.required) for p in q.parameters]
    ('All.', [('drug', 'iri', True), ('n', 'integer', False)])
    """
    header = _header(text)
    raw = header.get("params")
    described = raw if isinstance(raw, dict) else {}
    seen: dict[str, Parameter] = {}
    for underscores, pname, ptype in _PARAM.findall(text):
        if pname in seen:
            continue
        seen[pname] = Parameter(
            name=pname,
            type=ptype,
            required=underscores == "_",
            variable=f"{underscores}{pname}_{ptype}",
            description=str(described.get(pname, "")),
        )
    scope = header.get("scope")
    if scope is not None and (not isinstance(scope, str) or seen.get(scope, _NO_IRI).type != "iri"):
        raise QueryError(f"{origin or name + '.rq'}: '#+ scope: {scope}' names no IRI parameter of the query")
    candidates = header.get("candidates")
    if candidates is not None and (
        not isinstance(candidates, str) or scope is None or f"?{seen[scope].variable}" not in candidates
    ):
        raise QueryError(
            f"{origin or name + '.rq'}: '#+ candidates:' needs a '#+ scope:' and a pattern on its variable, "
            "begun on its own line (indented lines may go on with it)"
        )
    within = header.get("within")
    if within is not None:
        bare = words_only(text)
        tail = bare[bare.rfind("}") + 1 :]
        order = re.search(r"\bORDER\s+BY\b", tail, re.IGNORECASE)
        keys = set(re.findall(r"\?(\w+)", tail[order.end() :])) if order else set()
        grouped = re.search(r"\bGROUP\s+BY\b(.*?)(?:\b(?:HAVING|ORDER)\b|$)", tail, re.IGNORECASE | re.DOTALL)
        keys |= set(re.findall(r"\?(\w+)", grouped.group(1))) if grouped else set()  # two groups, one row
        if (
            within != "study"
            or not (
                re.match(r"\s*SELECT\s+DISTINCT\b", bare[bare.upper().find("SELECT") :], re.IGNORECASE)
                or re.search(r"\bGROUP\s+BY\b", tail, re.IGNORECASE)
            )
            or re.search(r"\b(LIMIT|OFFSET)\b", tail, re.IGNORECASE)
            or not keys <= projected(text)
        ):
            raise QueryError(
                f"{origin or name + '.rq'}: '#+ within: {within}' is for a SELECT DISTINCT (or GROUP BY) without a "
                "LIMIT / OFFSET of its own, ordered and grouped by columns it shows, and names 'study'"
            )
    by = header.get("order")
    order_iri = expand(by) if isinstance(by, str) else None
    if by is not None and (order_iri is None or scope is None):
        raise QueryError(f"{origin or name + '.rq'}: '#+ order: {by}' needs a '#+ scope:' and a property as a CURIE")
    return Query(
        name=name,
        text=text,
        summary=str(header.get("summary", "")),
        description=str(header.get("description", "")),
        parameters=tuple(seen.values()),
        origin=origin or f"{name}.rq",
        scope=scope,
        candidates=candidates,
        within=within if isinstance(within, str) else None,
        order=order_iri,
    )


def candidates_query(q: Query) -> str:
    """The query that lists the resources a scoped query can have rows for (its ``#+ candidates:`` pattern, with
    the query's own prefixes), or "" where it declares none.

    >>> q = parse_query("x", "#+ scope: s\\n#+ candidates: ?_s_iri trialkg:hasArm\\n#+   ?_d_iri .\\n"
    ...     "PREFIX trialkg: <https://w3id.org/trialkg/ontology/>\\nSELECT * WHERE { ?_s_iri trialkg:hasArm ?_d_iri }")
    >>> print(candidates_query(q))
    PREFIX trialkg: <https://w3id.org/trialkg/ontology/>
    SELECT DISTINCT ?_s_iri WHERE { ?_s_iri trialkg:hasArm ?_d_iri . }
    """
    if q.candidates is None or q.scope is None:
        return ""
    variable = q.parameter(q.scope).variable
    return f"{prologue(q.text)}\nSELECT DISTINCT ?{variable} WHERE {{ {q.candidates} }}".lstrip("\n")


def candidate_parameters(q: Query) -> list[Parameter]:
    """The parameters other than the scope that a query's ``#+ candidates:`` pattern names."""
    return [p for p in q.parameters if p.name != q.scope and re.search(rf"\?{p.variable}\b", q.candidates or "")]


def from_file(path: str | Path) -> Query:
    """A user's own ``.rq`` file (``kg query --file``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    return replace(parse_query(path.stem, text, str(path)), user_supplied=True)


def catalog() -> dict[str, Query]:
    """Every packaged query, by name (the file name without ``.rq``)."""
    return dict(_read_catalog())


@lru_cache(maxsize=1)
def _read_catalog() -> dict[str, Query]:
    out: dict[str, Query] = {}
    for entry in resources.query_files():
        name = entry.name[: -len(".rq")]
        out[name] = parse_query(name, entry.read_text(encoding="utf-8"), f"queries/{entry.name}")
    return out


def names() -> list[str]:
    """The names of the packaged queries, sorted (for option lists and pages)."""
    return sorted(catalog())


def get(name: str) -> Query:
    """One packaged query; refuses unknown names with the list of valid ones."""
    queries = catalog()
    if name not in queries:
        raise QueryError(f"no query named {name!r} (valid: {', '.join(sorted(queries))})")
    return queries[name]


def describe(name: str | None = None) -> str:
    """The list of queries with summaries, or one query's description and parameters."""
    if name is None:
        queries = catalog()
        width = max(len(n) for n in queries)
        return "\n".join(f"{n.ljust(width)}  {q.summary}" for n, q in sorted(queries.items()))
    q = get(name)
    lines = [f"{q.name}: {q.summary}", "", q.description, ""]
    if not q.parameters:
        lines.append("parameters: none")
    else:
        lines.append("parameters:")
        for p in q.parameters:
            need = "required" if p.required else "optional"
            lines.append(f"  --param {p.name}=...  ({p.type}, {need}) {p.description}")
    if q.within:
        lines += [
            "",
            "on a store: asked a batch of studies at a time, its rows gathered and ordered (memory follows a batch)",
        ]
    if q.scope:
        lines += [
            "",
            f"with --param {q.scope}: asked of the graphs that state it or point at it, each triple once "
            "(time follows it, not the store)",
        ]
        if q.order or in_order_of(q.text, q.parameter(q.scope).variable):
            many = re.sub(r"([^aeiou])y$", r"\1ie", q.scope) + "s"  # study -> studies, trial -> trials
            order = f", in the order of their {compact(q.order)}" if q.order else ""
            lines.append(f"without it: asked a batch of {many} at a time{order} (memory follows a batch)")
            if q.candidates:
                given = ", ".join(p.name for p in candidate_parameters(q))
                lines.append(f"  of the {many} that reach the {given} given (time follows them, not the store)")
    return "\n".join(lines)
