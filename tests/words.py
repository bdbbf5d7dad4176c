"""The words a reader sees, for tests that check generic code carries no publication's own words."""

from __future__ import annotations

import re
from html import unescape

from kg.dataset import Dataset

#: English function words, which say nothing about a publication
FUNCTION_WORDS = {
    "with",
    "from",
    "that",
    "this",
    "were",
    "have",
    "than",
    "after",
    "into",
    "over",
    "each",
    "only",
    "also",
    "both",
    "their",
    "which",
    "when",
    "then",
    "there",
    "these",
    "those",
    "what",
    "while",
}


def words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z-]{3,}", text)} - FUNCTION_WORDS


LABELS = {
    "http://www.w3.org/2000/01/rdf-schema#label",
    "http://purl.org/dc/terms/title",
    "https://w3id.org/trialkg/ontology/authorName",
}


def label_words(dataset: Dataset, graphs: list[str] | None = None) -> set[str]:
    """Words of the labels, titles and author names in ``graphs`` (every graph if None), plurals included."""
    found: set[str] = set()
    for q in dataset.store.quads_for_pattern(None, None, None, None):
        if (graphs is None or q.graph_name.value in graphs) and q.predicate.value in LABELS:
            found |= words(q.object.value)
    return found | {w + "s" for w in found}


def page_text(html: str) -> str:
    """What a reader sees (and the titles a pointer shows): no markup, no style sheet."""
    return unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", " ", html, flags=re.S)))
