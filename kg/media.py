"""The one media-type table: RDF syntaxes, SPARQL result formats, HTML.

The server's content negotiation, the static site's suffixes and ``.htaccess``,
the exports and ``kg query --format`` all read these tables, so a format is
added in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

HTML = "text/html"


@dataclass(frozen=True)
class RdfSyntax:
    """An RDF syntax: its media type, file suffix, pyoxigraph format and name for people."""

    media: str
    suffix: str
    format: ox.RdfFormat
    label: str


@dataclass(frozen=True)
class ResultFormat:
    """A W3C SPARQL 1.1 query-results format."""

    name: str
    media: str
    format: ox.QueryResultsFormat


RDF_SYNTAXES: tuple[RdfSyntax, ...] = (
    RdfSyntax("text/turtle", "ttl", ox.RdfFormat.TURTLE, "Turtle"),
    RdfSyntax("application/n-triples", "nt", ox.RdfFormat.N_TRIPLES, "N-Triples"),
    RdfSyntax("application/ld+json", "jsonld", ox.RdfFormat.JSON_LD, "JSON-LD"),
    RdfSyntax("application/rdf+xml", "rdf", ox.RdfFormat.RDF_XML, "RDF/XML"),
)
N_QUADS = RdfSyntax("application/n-quads", "nq", ox.RdfFormat.N_QUADS, "N-Quads")

RESULT_FORMATS: tuple[ResultFormat, ...] = (
    ResultFormat("json", "application/sparql-results+json", ox.QueryResultsFormat.JSON),
    ResultFormat("xml", "application/sparql-results+xml", ox.QueryResultsFormat.XML),
    ResultFormat("csv", "text/csv", ox.QueryResultsFormat.CSV),
    ResultFormat("tsv", "text/tab-separated-values", ox.QueryResultsFormat.TSV),
)

#: RDF media types a resource IRI is offered in, HTML first (the default for browsers).
OFFERED = [HTML, *(s.media for s in RDF_SYNTAXES)]
#: Document suffix -> media type, for resource documents (``/trial/x.ttl``).
SUFFIXES = {"html": HTML, **{s.suffix: s.media for s in RDF_SYNTAXES}}


def syntax(media: str) -> RdfSyntax:
    """The RDF syntax of a media type (``KeyError`` if it is not one we write).

    >>> syntax("text/turtle").suffix
    'ttl'
    """
    for s in (*RDF_SYNTAXES, N_QUADS):
        if s.media == media:
            return s
    raise KeyError(media)


def result_format(name_or_media: str) -> ResultFormat:
    """A results format by short name (``csv``) or media type (``text/csv``).

    >>> result_format("tsv").media
    'text/tab-separated-values'
    """
    for f in RESULT_FORMATS:
        if name_or_media in (f.name, f.media):
            return f
    raise KeyError(name_or_media)


def result_format_names() -> list[str]:
    """Short names of the results formats, for option lists."""
    return [f.name for f in RESULT_FORMATS]
