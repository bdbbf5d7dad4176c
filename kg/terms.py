"""``kg terms``: find a verified external term offline, by label, synonym or identifier.

A curator needs an identifier for every drug, condition, phase, design,
endpoint, response category, adverse event, unit and statistic type, and each
must have been checked in its source before use. The packaged extracts
(``ontology/imports/``) hold every term already checked, with its label,
synonyms and mappings, and ``ontology/imports/README.md`` says where each was
checked; this module searches them (and the terms a curator's own files
declare, with their ``trialkg:checkedIn``) so nothing needs the network.

The project's own values are searched too (``trialkg:AutologousTransplant``, a
time anchor; ``trialkg:OrderNotStated``, a regimen structure; the properties),
each with its definition: a curator otherwise finds them only in the guide's prose.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

import pyoxigraph as ox

from kg import resources
from kg.dataset import Dataset
from kg.prefixes import BASE, OWL, RDF_TYPE, RDFS, SKOS, TKG, compact, to_iri
from kg.rdf import value

#: properties that name a term (the label first)
NAMES = (RDFS + "label", SKOS + "prefLabel", SKOS + "altLabel")
#: what the term is, read from the graph: the schemes it belongs to and the prefix it has
PREFIX_KINDS = {
    "NCIT": "NCIt concept",
    "CHEBI": "chemical (drug)",
    "DRUGBANK": "drug record",
    "MONDO": "disease",
    "DOID": "disease",
    "HP": "phenotype (adverse event)",
    "UO": "unit",
    "MESH": "MeSH record",
    "WIKIDATA": "Wikidata item",
    "STATO": "statistic",
    "OBI": "OBI class",
    "IAO": "IAO class",
}


@dataclass
class Term:
    """One verified external term and what a curator needs to use it."""

    iri: str
    labels: list[str] = field(default_factory=list)
    schemes: list[str] = field(default_factory=list)
    mappings: list[str] = field(default_factory=list)
    checked: str = ""
    used_as: list[str] = field(default_factory=list)
    definition: str = ""  # the project's own terms: what the term means
    own_kind: str = ""  # the project's own terms: the class of a value, or "class", "property"

    @property
    def curie(self) -> str:
        """The term's CURIE (or its IRI where no prefix fits)."""
        return compact(self.iri)

    def kind(self) -> str:
        """What kind of term this is, in words: its schemes, else what its prefix names."""
        if self.own_kind:
            return self.own_kind
        if self.schemes:
            return "; ".join(self.schemes)
        return PREFIX_KINDS.get(self.curie.split(":", 1)[0], "term")

    def text(self) -> str:
        """The term's lines as ``kg terms`` prints them."""
        lines = [f"{self.curie}  {self.labels[0] if self.labels else ''}  ({self.kind()})"]
        if len(self.labels) > 1:
            lines.append(f"  also: {'; '.join(self.labels[1:])}")
        if self.mappings:
            lines.append(f"  same as: {', '.join(self.mappings)}")
        if self.definition:
            lines.append(f"  means: {self.definition}")
        if self.used_as:
            lines.append(f"  used as: {', '.join(self.used_as)}")
        lines.append(f"  checked in: {self.checked or 'not recorded'}")
        return "\n".join(lines)


def checked_in() -> dict[str, str]:
    """Where each packaged identifier was checked: the README table of ``ontology/imports`` (CURIE -> text)."""
    readme = resources.folder("kg.ontology.imports").joinpath("README.md").read_text(encoding="utf-8")
    out: dict[str, str] = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("| ") or len(cells) < 3 or cells[0] in ("identifier", "key"):
            continue
        for curie in re.findall(r"\b[A-Za-z][A-Za-z0-9.]*:[A-Za-z0-9_-]+", cells[0]):
            out.setdefault(curie, cells[2])
    return out


OWN = "trialkg's own vocabulary (ontology/trialkg.ttl)"


def own_terms(store: ox.Store) -> list[Term]:
    """The project's own classes, properties and values, each with its definition and what kind it is."""
    label = ox.NamedNode(RDFS + "label")
    kinds = {
        OWL + "Class": "trialkg class",
        OWL + "ObjectProperty": "trialkg property",
        OWL + "DatatypeProperty": "trialkg property",
    }
    out: list[Term] = []
    for q in store.quads_for_pattern(None, label, None, None):
        if not isinstance(q.subject, ox.NamedNode) or not q.subject.value.startswith(TKG):
            continue
        types = [
            x.object
            for x in store.quads_for_pattern(q.subject, ox.NamedNode(RDF_TYPE), None, None)
            if isinstance(x.object, ox.NamedNode)
        ]
        kind = next((kinds[t.value] for t in types if t.value in kinds), "")
        for t in types:  # a value: the label of its class ("time anchor", "regimen structure")
            if isinstance(t, ox.NamedNode) and t.value.startswith(TKG):
                names = [value(x.object) for x in store.quads_for_pattern(t, label, None, None)]
                kind = f"trialkg value: {names[0] if names else compact(t.value)}"
        if not kind:
            kind = "trialkg value" if OWL + "NamedIndividual" in {t.value for t in types} else ""
        if not kind:
            continue
        definition = [
            value(x.object) for x in store.quads_for_pattern(q.subject, ox.NamedNode(SKOS + "definition"), None, None)
        ]
        out.append(
            Term(
                q.subject.value,
                [value(q.object)],
                checked=OWN,
                definition=definition[0] if definition else "",
                own_kind=kind,
            )
        )
    return out


def catalog(dataset: Dataset) -> dict[str, Term]:
    """Every external term the dataset declares with a label, with its names, schemes, mappings and uses."""
    store = dataset.store
    terms: dict[str, Term] = {}
    for predicate in NAMES:
        for q in store.quads_for_pattern(None, ox.NamedNode(predicate), None, None):
            iri = value(q.subject)
            if not isinstance(q.subject, ox.NamedNode) or iri.startswith(BASE) or iri.startswith(OWL):
                continue
            term = terms.setdefault(iri, Term(iri))
            name = value(q.object)
            if name not in term.labels:
                term.labels.append(name)
    where = checked_in()
    scheme_label: dict[str, str] = {}
    for iri, term in terms.items():
        node = ox.NamedNode(iri)
        # its schemes: those it is skos:inScheme (statistic types), and the response scales it is a category of
        schemes = [q.object for q in store.quads_for_pattern(node, ox.NamedNode(SKOS + "inScheme"), None, None)]
        schemes += [
            s.subject
            for c in store.quads_for_pattern(None, ox.NamedNode(TKG + "category"), node, None)
            for s in store.quads_for_pattern(None, ox.NamedNode(TKG + "hasCategory"), c.subject, None)
        ]
        for found_scheme in schemes:
            scheme = value(found_scheme)
            if scheme not in scheme_label and isinstance(found_scheme, ox.NamedNode):
                found = [
                    value(x.object)
                    for x in store.quads_for_pattern(found_scheme, ox.NamedNode(RDFS + "label"), None, None)
                ]
                scheme_label[scheme] = found[0] if found else compact(scheme)
            shown = scheme_label.get(scheme, compact(scheme))
            if shown not in term.schemes:
                term.schemes.append(shown)
        for predicate in (SKOS + "exactMatch", SKOS + "closeMatch"):
            linked = [value(q.object) for q in store.quads_for_pattern(node, ox.NamedNode(predicate), None, None)]
            linked += [value(q.subject) for q in store.quads_for_pattern(None, ox.NamedNode(predicate), node, None)]
            term.mappings += [compact(x) for x in dict.fromkeys(linked) if compact(x) not in term.mappings]
        own = [value(q.object) for q in store.quads_for_pattern(node, ox.NamedNode(TKG + "checkedIn"), None, None)]
        term.checked = own[0] if own else where.get(term.curie, "")
    for term in own_terms(store):
        terms.setdefault(term.iri, term)
    uses: dict[str, set[str]] = defaultdict(set)
    for q in store.quads_for_pattern(None, None, None, None):
        if isinstance(q.object, ox.NamedNode) and q.object.value in terms and q.predicate.value.startswith(TKG):
            uses[q.object.value].add(compact(q.predicate.value))
    for iri, roles in uses.items():
        terms[iri].used_as = sorted(roles)
    return terms


def _words_of(curie: str) -> str:
    """A CURIE's local name as words: ``trialkg:TimeAnchor`` -> ``time anchor``."""
    local = curie.split(":", 1)[-1]
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", local).lower()


def _matches(word: str, hay: str) -> bool:
    """Whether the word starts a word of the text ("arm" finds "arm type", not "carmustine")."""
    return re.search(rf"(?<![a-z0-9]){re.escape(word)}", hay) is not None


@dataclass
class Found:
    """What a search found: the terms, best first, and whether each matches every word (else any word)."""

    terms: list[Term]
    every_word: bool = True


def search(dataset: Dataset, words: list[str]) -> Found:
    """The terms whose identifier, label, synonym, kind or definition matches every word, best first.

    A word matches where it starts a word of those ("arm" finds "arm type", not
    "carmustine"). A word that is an identifier (``NCIT:C1851``, an IRI) matches
    that term and the terms mapped to it. When no term matches every word, the
    terms matching any of them. With no words, every term.
    """
    terms = catalog(dataset)
    if not words:
        return Found(sorted(terms.values(), key=lambda t: t.curie))
    if len(words) == 1 and (iri := to_iri(words[0])) is not None and iri in terms:
        found = terms[iri]
        mapped = [terms[t] for t in (to_iri(m) for m in found.mappings) if t in terms]
        return Found([found, *mapped])
    wanted = [w.lower() for w in words]
    phrase = " ".join(wanted)
    hays = {}
    for term in terms.values():
        names = [n.lower() for n in term.labels]
        hays[term.iri] = (
            names,
            " ".join(
                [
                    term.curie.lower(),
                    _words_of(term.curie),
                    term.iri.lower(),
                    *names,
                    term.kind().lower(),
                    term.definition.lower(),
                    *[u.lower() for u in term.used_as],
                ]
            ),
        )

    def ranked(test: object) -> list[Term]:
        scored = []
        for term in terms.values():
            names, hay = hays[term.iri]
            hits = sum(_matches(w, hay) for w in wanted)
            if (test == "all" and hits == len(wanted)) or (test == "any" and hits):
                score = (
                    0
                    if phrase in names
                    else 1
                    if any(n.startswith(phrase) for n in names)
                    else 2
                    if any(_matches(phrase, n) for n in names)
                    else 3
                    if _matches(phrase, term.kind().lower())
                    else 4
                )
                scored.append((-hits, score, term.curie, term))
        return [t for *_, t in sorted(scored, key=lambda x: (x[0], x[1], x[2]))]

    every = ranked("all")
    if every or len(wanted) == 1:
        return Found(every)
    return Found(ranked("any"), every_word=False)


HOW_TO_DECLARE = """To use a term that is not here, check it in its source first (the ontology's own release
file, or a file of a registry or controlled terminology that shows code and label together), then
declare it in your publication file with its label and where you saw it:

    NCIT:C123456 rdfs:label "Its Preferred Term" ;
        trialkg:checkedIn "repository, file and version where code and label were seen" .

`kg validate` warns about a term declared without trialkg:checkedIn (--strict makes it an error)."""


def render(found: Found, words: list[str]) -> str:
    """What ``kg terms`` prints: each term's lines; where nothing matched, how to declare a missing term."""
    terms = found.terms
    if not terms:
        return f"no verified term matches {' '.join(words)!r}\n\n{HOW_TO_DECLARE}\n"
    head = "" if found.every_word else f"no term matches all of {' '.join(words)!r}; terms matching some:\n"
    body = "\n".join(t.text() for t in terms)
    return (
        f"{head}{body}\n({len(terms)} term{'s' if len(terms) != 1 else ''}; "
        "a term that is not here: `kg terms` with no match says how to declare it)\n"
    )
