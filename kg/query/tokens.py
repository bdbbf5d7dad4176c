"""SPARQL read as Oxigraph's lexer reads it: which words are keywords, and which are inside strings, IRIs, comments.

pyoxigraph gives Python no parser, so what a query will *do* (fetch a URL with
``SERVICE``, choose its graphs with ``FROM``) is read from its tokens here,
exactly as Oxigraph splits them: a keyword inside a string, an IRI or a
comment does not count; any letter case, comments and missing spaces do
(``1SERVICE<x>``); escapes count as Oxigraph reads them, so ``\\#`` in a
prefixed name (``t:a\\#``) and ``\\u0023`` in an IRI are part of that name or
IRI, never the start of a comment that would hide what follows.
(rdflib's parser cannot stand in: it refuses both escapes, which Oxigraph accepts.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_ESC = r"\\[_~.\-!$&'()*+,;=/?#@%]"  # PN_LOCAL_ESC: a character of a prefixed name's local part
_UCHAR = r"\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}"  # a character of an IRI
# Every repetition is written unrolled (a run of plain characters, then one escape and another run, and so on),
# never as a repetition of alternatives, which costs the regex engine memory for each character: a query of
# 1 MB with one long literal would otherwise take tens of MB to read.
_IRI_CHAR = r"[^<>\"{}|^`\\\x00-\x20]"
_TOKENS = re.compile(
    rf"""
    (?P<comment>\#[^\r\n]*)
  | (?P<string>'''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''
              |\"\"\"[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*\"\"\"
              |'[^'\\\n\r]*(?:\\.[^'\\\n\r]*)*'
              |"[^"\\\n\r]*(?:\\.[^"\\\n\r]*)*"
              # a string that never closes runs to where it cannot go on (the end, or a line's for a short one):
              # without these, each quote in it was read again to the end ('"\\"\\"\\"...': 25 s of CPU for
              # 32 kB, hours for a 1 MB POST). Oxigraph refuses such a query, so nothing after it is run.
              |'''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*\\?
              |\"\"\"[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*\\?
              |'[^'\\\n\r]*(?:\\.[^'\\\n\r]*)*\\?
              |"[^"\\\n\r]*(?:\\.[^"\\\n\r]*)*\\?)
  | (?P<iri><{_IRI_CHAR}*(?:(?:{_UCHAR}){_IRI_CHAR}*)*>)
  | (?P<lang>@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*)
  | (?P<var>[?$]\w+)
  | (?P<word>(?:[\w:]|{_ESC})[\w.\-:%]*(?:{_ESC}[\w.\-:%]*)*)
  | (?P<other>\S)
""",
    re.VERBOSE | re.DOTALL,
)
# Inside an IRIREF token: a "<" that Oxigraph reads as less-than, hiding "SERVICE" up to a ">" in a comment
# (``FILTER(?o<2)SERVICE#>``, then the service IRI on the next line): "service" after what ends an expression,
# then the characters of a prefixed name (SPARQL's PN_CHARS: a regex's \w, and the middle dot and combining marks
# it does not hold, ``SERVICE:a·b#>``) up to a "#"; a "/" ends it (``<http://data.service.gov.uk/def#T>``).
_HIDDEN_SERVICE = re.compile(r"[)\].\d']service[\w?$:.\-%\u00b7\u0300-\u036f\u203f\u2040]*#", re.IGNORECASE)


def tokens(text: str) -> Iterator[tuple[str, str]]:
    """The query's tokens as (kind, text): comment, string, iri, var, word or other (one character)."""
    for m in _TOKENS.finditer(text):
        yield str(m.lastgroup), m.group()


def _keywords(text: str) -> Iterator[str]:
    """The words that can be keywords, lower-cased: the prefix part of a prefixed name, never a language tag
    (``@en``; what follows one, ``@en.SERVICE``, is read on as Oxigraph reads it)."""
    for kind, token in tokens(text):
        if kind == "word":
            yield (token.split(":", 1)[0] if ":" in token else token).lower()


def unescaped(text: str) -> str:
    """The query as rdflib parses it: its code point escapes replaced by their characters before anything else
    (by rdflib's own function, which also reads ``\\U`` with four digits and ``\\u`` with eight, in any case);
    Oxigraph reads escapes only inside IRIs and strings. Text rdflib cannot expand, it refuses to parse too."""
    from rdflib.plugins.sparql.parser import expandUnicodeEscapes

    try:
        return expandUnicodeEscapes(text)
    except ValueError:
        return text


def uses_service(text: str) -> bool:
    """Whether a query would make the engine fetch a URL (``SERVICE``), read as Oxigraph's lexer reads it.

    >>> uses_service("select * where { service # comment\\n <http://127.0.0.1:9/> { ?s ?p ?o } }")
    True
    >>> uses_service('SELECT * WHERE { ?service <http://x/SERVICE> "SERVICE <http://y/>" } # SERVICE')
    False
    >>> uses_service("SELECT * WHERE { ?s ?p t:a\\\\# SERVICE t:x { ?a ?b ?c } }")  # t: declared before
    True
    >>> uses_service("SELECT * WHERE { ?s <http://b\\\\u0041#> ?o SERVICE <http://h/> { } }")
    True
    >>> uses_service('SELECT * WHERE { ?s ?p "x"@en.SERVICE <http://h/> { } }')  # a language tag ends at "."
    True
    """
    for kind, token in tokens(text):
        if kind == "iri" and _HIDDEN_SERVICE.search(token):
            return True
    # Oxigraph needs no space around it: "1SERVICE<x>" is a SERVICE
    return any("service" in word for word in _keywords(text))


def has_dataset_clause(text: str, safe_side: bool = False) -> bool:
    """Whether a query names its own graphs (``FROM`` or ``FROM NAMED``); ``safe_side``: a prefix named ``from:``
    counts too (where a clause missed would be fetched over the network, :meth:`kg.dataset.Dataset.run_checks`).

    >>> has_dataset_clause("select (count(*) as ?n) from <urn:g> where { ?s ?p ?o }")
    True
    >>> has_dataset_clause('SELECT ?from WHERE { ?from <http://x/FROM> "FROM <urn:g>" } # FROM <urn:g>')
    False

    A prefix named ``from:`` is a name, not the keyword (review 42: it switched off the union of the graphs, and
    ``/sparql`` answered 0 rows; tests/test_attacks.py):

    >>> has_dataset_clause("SELECT * WHERE { ?s from:p ?o }")
    False
    """
    if safe_side:
        return "from" in _keywords(text)
    return any(kind == "word" and token.lower() == "from" for kind, token in tokens(text))


def reads_named_graphs(text: str) -> bool:
    """Whether a query reads graphs by name (``GRAPH``, ``FROM`` or ``FROM NAMED``), not only the default graph.

    >>> reads_named_graphs("SELECT ?g WHERE { graph ?g { ?s ?p ?o } }")
    True
    >>> reads_named_graphs('SELECT ?graph WHERE { ?graph <http://x/GRAPH> "GRAPH" } # GRAPH ?g')
    False
    >>> reads_named_graphs("SELECT * WHERE { ?s <http://x/p> 1GRAPH ?g { ?s ?p ?o } }")  # no space needed
    True

    Read on the safe side, as :func:`uses_service`: any word that holds ``graph`` or ``from`` counts (a query
    wrongly taken to read graphs by name only costs its copy the named graphs too).
    """
    return any("graph" in word or "from" in word for word in _keywords(text))
