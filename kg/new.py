"""``kg new``: from the text of a source (an abstract, a news report), a skeleton publication file.

A curator's first ten minutes go into typing what the text already says: every
sentence that holds a figure, and a resource for every figure in it. This
module writes those, so the curator only decides what each figure is:

- the text is kept beside the publication (``x.txt`` for ``x.ttl``, one
  sentence a line under its ``# url:``), so ``kg validate`` checks every quote
  against it;
- every sentence that holds a number becomes a quote (an ``oa:TextQuoteSelector``);
- every number in it becomes a stub typed by the words around it: a
  percentage, a count "of N", a median with its unit, a confidence interval or
  range (on the figure before it), a hazard, odds or risk ratio, a P value (a
  comparison), a population size ("n = 236", "38 patients"), a dose, a duration
  or time point; each stub quotes its sentence and its unknowns are ``TODO``
  markers, which ``kg validate`` reports by line until they are filled.

Nothing here guesses what a figure measures or over whom: those are TODOs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from kg.curation import URL_LINE, decimal_comma, plain_numbers, spelled_numbers
from kg.errors import InputError, printable
from kg.outputs import AtomicFiles

#: sentence ends: ., ! or ? and a space before a capital, a digit or a quote; not after these abbreviations
_ABBREVIATIONS = ("vs", "al", "e.g", "i.e", "dr", "fig", "no", "nos", "approx", "ca", "resp", "ref", "vol", "cf")
#: registry and other identifiers whose digits are no figures: NCT00461747, EudraCT 2005-001110-41, ISRCTN...
_IDENTIFIER = re.compile(
    r"\b(?:NCT|ISRCTN|ACTRN|ChiCTR|CTRI|DRKS|JPRN|UMIN|jRCT|KCT|NTR|PACTR|IRCT|EUCTR)[-\w/.]*\d[-\w/.]*"
    r"|\b\d+(?:-\d+){2,}\b"  # 2005-001110-41, a date 2010-12-04
    r"|\b0\d+\b(?!\.\d)",  # 001110: a number with a leading zero is a code
    re.IGNORECASE,
)
#: an age limit of eligibility ("aged 65 years or younger", "≥ 18 years", "older than 70"): no figure
_AGE_LIMIT = (
    r"(?:\b(?<!median )(?<!mean )aged?\s+(?:(?:≥|≤|>|<|over|under|between|from)\s*)?{n}(?:\s*(?:-|–|to|and)\s*{n})?"
    r"|(?:≥|≤|>|<)\s*{n}(?=\s*(?:years|yr|y)\b)"
    r"|\b(?:younger|older) than\s+{n}"
    r"|{n}(?=\s*(?:years?|yr)\s+(?:of age\s+)?(?:or|and)\s+(?:younger|older|over|under|above|below|less|more)\b))"
)
#: a number, with its minus sign: the text is read as :func:`kg.curation.plain_numbers` writes it, every minus sign
#: (a hyphen or dash before a number that is no range or compound, "-0.7", "\u20134\u00b71") marked there as U+2212
_NUMBER = r"(?<![\w.])(\u2212?(?:\d+(?:,\d{3})*(?:\.\d+)?|\.\d+))"
_UNITS = {
    "day": "UO:0000033",
    "week": "UO:0000034",
    "month": "UO:0000035",
    "year": "UO:0000036",
    "yr": "UO:0000036",
    "mo": "UO:0000035",
    "wk": "UO:0000034",
}
_DOSE_UNITS = {
    "mg/m2": "UO:0000309",
    "mg/m²": "UO:0000309",
    "mg/kg": "UO:0000308",
    "mg": "UO:0000022",
    "gy": "UO:0000134",
}
_RATIOS = {
    "hazard ratio": "NCIT:C93150",
    "hr": "NCIT:C93150",
    "odds ratio": "NCIT:C16932",
    "or": "NCIT:C16932",
    "risk ratio": "NCIT:C93152",
    "relative risk": "NCIT:C93152",
    "rr": "NCIT:C93152",
}


#: kinds of number that are words of the text, not figures: each gets a line saying where it goes, not a stub
NOTES = ("phase", "grade", "allocation")
#: what each of those lines says
_NOTE_HINTS = {
    "phase": "the trial phase, as the study's trialkg:trialPhase (`kg terms phase`), not a figure",
    "grade": "the grade of an adverse event: trialkg:grade on its figure (trialkg:minimumGrade and "
    "trialkg:maximumGrade for a span such as grade 3 or 4; `kg terms grade`), not a figure",
    "allocation": "the allocation ratio, as printed, in the study's trialkg:allocationRatio, not a figure",
}


#: a page's address as the skeleton's IRIs hold it: http(s), and no character an IRIREF may not hold
_WEB_ADDRESS = re.compile(r"https?://[^\x00-\x20<>\"{}|^`\\]+", re.IGNORECASE)


@dataclass
class Figure:
    """One number of a sentence and what its words say it is."""

    kind: str  # proportion, count, median, value, interval, range, ratio, p, size, dose, duration, timepoint,
    # notreached (a median "not reached": no number), and notes: phase, grade, allocation (no figure, a hint)
    text: str  # the number as printed
    value: Decimal
    start: int
    unit: str = ""  # a UO CURIE where the words name one
    statistic_type: str = ""  # an HL7 statistic-type CURIE where the words name one
    comparator: str = "="
    upper: Decimal | None = None  # intervals and ranges
    upper_not_reached: bool = False  # an interval whose upper end is printed NR or NE ("25.3 to NR"): no number
    of: Decimal | None = None  # "n of N"
    arm: str = ""  # the arm a size is allocated to, as the sentence names it ("VTD (130)", "(VD, n = 130)")


@dataclass
class Sentence:
    """A sentence of the source, its number in the text, and its figures."""

    number: int
    text: str
    figures: list[Figure] = field(default_factory=list)


def sentences(text: str) -> list[str]:
    """The sentences of a text: each line, split after ., ! or ? followed by a capital, a digit or a quote.

    >>> sentences("Of 36 patients, 61% responded. P = .05 vs control. Median OS was 30 mo (95% CI, 2.1-3.4).")
    ['Of 36 patients, 61% responded.', 'P = .05 vs control.', 'Median OS was 30 mo (95% CI, 2.1-3.4).']
    """
    out: list[str] = []
    for line in text.splitlines():
        line = " ".join(line.split())
        if not line or line.startswith("#"):
            continue
        start = 0
        for m in re.finditer(r"[.!?][”\"’)]?\s+(?=[A-Z0-9“\"(•])", line):
            before = line[start : m.start()].rsplit(" ", 1)[-1]
            if before.strip('([“"').rstrip(".").lower() in _ABBREVIATIONS or re.fullmatch(r"[A-Z]", before):
                continue
            out.append(line[start : m.end()].strip())
            start = m.end()
        if line[start:].strip():
            out.append(line[start:].strip())
    return out


def _decimal(text: str) -> Decimal:
    return Decimal(text.replace(",", "").replace("\u2212", "-"))


#: how far back "median" is looked for before a figure: the patterns allow 80 characters between, so the word and
#: the character before it (its word boundary) are within this many
_LOOKBACK = 100


def _before(text: str, end: int) -> str:
    """The text just before ``end`` (not all of it: a search of the whole prefix at every figure made an abstract of
    'median not reached' repeated take a minute for 240 kB, review 39)."""
    return text[max(0, end - _LOOKBACK) : end]


def figures(sentence: str, comma: bool = False) -> list[Figure]:
    """Every number of the sentence (digits or words), each typed once, by the first rule that claims it.

    Numbers are read as :func:`kg.curation.plain_numbers` typesets them: a middle-dot decimal, an en dash used as a
    minus sign, grouped digits; with ``comma`` (the source writes decimal commas: :func:`kg.curation.decimal_comma`)
    "22,4" is 22.4 and "1 024" is 1024.

    >>> [(f.kind, str(f.value)) for f in figures("Of 36 evaluable patients, the ORR was 61% (P = .003).")]
    [('size', '36'), ('proportion', '61'), ('p', '0.003')]
    >>> [(f.kind, str(f.value), str(f.upper)) for f in figures("HR 0.67, 95% CI = 0.51 to 0.87")]
    [('ratio', '0.67', 'None'), ('interval', '0.51', '0.87')]
    >>> [(f.kind, str(f.value), str(f.upper)) for f in figures("hazard ratio, 0.45; 95% confidence interval [CI], 0.35 to 0.58")]
    [('ratio', '0.45', 'None'), ('interval', '0.35', '0.58')]
    >>> [(f.kind, str(f.value), f.upper_not_reached) for f in figures("median OS not reached (95% CI, 25.3 to not reached)")]
    [('notreached', '0', False), ('interval', '25.3', True)]
    >>> [(f.kind, str(f.value), f.upper, f.upper_not_reached) for f in figures("median PFS 41.2 months (95% CI, 33.0-NE)")]
    [('median', '41.2', None, False), ('interval', '33.0', None, True)]
    >>> [(f.kind, str(f.value), str(f.upper)) for f in figures("a difference of -1.2 points (95% CI, \u22127.4 to 5.0; 0.51-0.87)")]
    [('value', '-1.2', 'None'), ('interval', '-7.4', '5.0'), ('value', '0.51', 'None'), ('value', '0.87', 'None')]
    """
    text = sentence
    for start, end, number in reversed(spelled_numbers(sentence)):
        text = text[:start] + str(number) + text[end:]
    text = plain_numbers(text, comma)
    found: dict[int, Figure] = {}
    taken: set[int] = {i for m in _IDENTIFIER.finditer(text) for i in range(m.start(), m.end())}

    def claim(kind: str, m: re.Match[str], group: int = 1, **extra: object) -> None:
        start = m.start(group)
        if start in taken:
            return
        found[start] = Figure(kind, m.group(group), _decimal(m.group(group)), start, **extra)  # type: ignore[arg-type]
        taken.add(start)

    n = _NUMBER
    rules: list[tuple[str, str]] = [
        ("eligibility", _AGE_LIMIT.format(n=n)),
        # words, not figures: "phase 3", "grade 3 or 4", "1:1:1" (each gets a hint where it goes, not a stub)
        # a trial's phase is followed by "trial" or "study" ("a phase 3, randomized, open-label trial"), not by
        # patients ("during the maintenance phase 5 patients discontinued")
        ("phase", r"\bphase\s+(\d)(?:\s*/\s*\d)?\b(?=,?\s+(?:[\w-]+,?\s+){0,3}?(?:trial|study)\b)"),
        ("grade", r"\bgrades?\s*(?:≥|>=|>|≤|<=|<)?\s*(\d)(?![.\d%])(?:\s*(?:or|and|-|–|to)\s*\d(?![.\d%]))*"),
        # "1:1:1" written without spaces; "Cohort 1: 45 patients" is a label and a size
        ("allocation", r"(?<![\w.:])(\d+)(?::\d+)+(?![\w.:])"),
        ("notreached", r"\b(not (?:yet )?(?:been )?reached)\b"),
        ("arm", rf"([A-Z][\w/+-]*)\s*(?:,\s*n\s*=\s*|\(\s*(?:n\s*=\s*)?){n}\s*\)"),
        # "95% CI, 0.51 to 0.87"; "95% confidence interval [CI], 0.35 to 0.58" (the NEJM's wording); an upper end
        # printed NR or NE ("95% CI, 25.3 to NR", "33.0-NE"): no number
        (
            "interval",
            rf"(?:(\d+)\s?%\s*)?(?:CI|confidence interval(?:\s*[\[(]CI[\])])?)[^0-9.\-\u2212]{{0,6}}{n}\s*(?:-|–|to)\s*"
            rf"(?:{n}|(?-i:(NR|NE))\b|(not (?:reached|estimable|evaluable))\b)",
        ),
        ("range", rf"range[,:]?\s*{n}\s*(?:-|–|to)\s*{n}"),
        ("p", rf"\bP\s*([=<>≤≥]|<=|>=)\s*{n}"),
        (
            "ratio",
            # "HR 0.67", "hazard ratio, 0.70", "hazard ratio for progression or death with KRd vs Rd was 0.62",
            # "hazard ratio for death at 3 years was 0.70": words after "for" or "of" end at a comma, a colon or a
            # verb, and the number after it is the ratio (not one among the words)
            rf"\b(hazard ratio|odds ratio|risk ratio|relative risk|(?-i:HR|OR|RR))\)?\s*(?:\([A-Z]+\)\s*)?"
            rf"(?:(?:for|of|in)\s[^;()]{{0,60}}?(?:[,:]|\s(?:was|is|were|=)))?\s*(?:=|of|was|is|were|[,:])?\s*{n}",
        ),
        ("dose", rf"{n}\s*(mg/m2|mg/m²|mg/kg|mg|Gy)\b"),
        ("count-of", rf"{n}\s+of\s+(?:the\s+)?{n}"),
        ("size", rf"\bn\s*=\s*{n}"),
        ("proportion", rf"{n}\s?(%|percent\b)"),
        # "2-year", "3 yr PFS": the time point of a rate (not "27 months", a duration, nor "1-year maintenance")
        (
            "timepoint",
            rf"{n}(?:-(year|yr|month|week)s?\b(?![- ](?:maintenance|therapy|follow))"
            rf"| (year|yr)s? (?=PFS|OS|EFS|progression|overall|survival|event))",
        ),
        # "56.2 vs 28.2 vs 35.5 months": every number of the list carries the unit (and "median" before it)
        ("series", rf"{n}(?:\s*(?:vs?\.?|versus|and|or|,)\s*{n})+\s*(day|week|month|year|mo|wk|yr)s?\b"),
        # "24 months and 18 months, respectively": a unit after each number
        (
            "series",
            rf"{n}\s*(day|week|month|year|mo|wk|yr)s?(?:\s*(?:vs?\.?|versus|and|or|,)\s*{n}\s*"
            rf"(?:day|week|month|year|mo|wk|yr)s?\b)+",
        ),
        ("median", rf"\bmedian\b[^.;]{{0,60}}?{n}\s*(day|week|month|year|mo|wk|yr)s?\b"),
        ("duration", rf"{n}\s*(day|week|month|year|mo|wk|yr)s?\b"),
        # "occurred in 4 patients": a count of those with the event, not the size of a population
        (
            "count-in",
            # and the count of a parallel clause: "occurred in 61 patients (32.1%) in the A group and in 98
            # patients (52.1%) in the B group" (review 45: the 98 was a population's size)
            rf"\b(?:occurred|observed|seen|reported|developed|experienced|had)\b[^.;]{{0,60}}?\bin\s+{n}"
            rf"(?=\s+(?:\w+\s+){{0,2}}?(?:patients|participants|subjects|persons|people|cases)\b)"
            rf"(?:(?:[^.;]|(?<=\d)\.(?=\d)){{0,60}}?\b(?:and|or|vs\.?|versus|but)\s+in\s+{n}"
            rf"(?=\s+(?:\w+\s+){{0,2}}?(?:patients|participants|subjects|persons|people|cases)\b))?",
        ),
        # the words after the number looked at, not taken: "grade 3 thrombocytopenia in 12 patients" keeps the 12
        ("size", rf"{n}(?=\s+(?:\w+\s+){{0,3}}?(?:patients|participants|subjects|persons|people|cases)\b)"),
        ("none", r"\b(no|none of the) (?:cases|patients|participants|events)\b"),
        ("value", n),
    ]
    allocation = re.search(r"\b(?:allocat|randomi[sz]|assign)", text, re.IGNORECASE)
    for kind, pattern in rules:
        if kind == "arm" and not allocation:
            continue
        for m in re.finditer(pattern, text, re.IGNORECASE if kind not in ("value", "arm") else 0):
            if kind == "interval" or kind == "range":
                low, high = (2, 3) if kind == "interval" else (1, 2)
                if m.start(low) in taken:
                    continue
                words = m.group(4) or m.group(5) if kind == "interval" else None
                found[m.start(low)] = Figure(
                    kind,
                    m.group(low),
                    _decimal(m.group(low)),
                    m.start(low),
                    upper=None if words else _decimal(m.group(high)),
                    upper_not_reached=bool(words),
                )
                taken.add(m.start(low))
                if words:  # the interval's own words: no median not reached of its own
                    found.pop(m.start(5) if m.group(5) else m.start(4), None)
                else:
                    taken.add(m.start(high))
                if kind == "interval" and m.group(1):
                    taken.add(m.start(1))  # the interval's level ("95%"), not a figure of its own
            elif kind == "arm":
                claim("size", m, 2, arm=m.group(1))
            elif kind == "eligibility":
                group = next(i for i in range(1, len(m.groups()) + 1) if m.group(i))
                claim("eligibility", m, group)
                taken.update(m.start(i) for i in range(1, len(m.groups()) + 1) if m.group(i))
            elif kind == "p":
                comparator = {"≤": "<=", "≥": ">="}.get(m.group(1), m.group(1))
                claim("p", m, 2, comparator=comparator)
            elif kind == "ratio":
                claim("ratio", m, 2, statistic_type=_RATIOS[m.group(1).lower()])
            elif kind == "dose":
                claim("dose", m, 1, unit=_DOSE_UNITS[m.group(2).lower()])
            elif kind == "count-of":
                if m.start(1) not in taken:
                    claim("count", m, 1, of=_decimal(m.group(2)))
                    if m.start(2) not in taken:
                        claim("size", m, 2)
            elif kind == "proportion":
                claim("proportion", m, 1, unit="UO:0000187", statistic_type="NCIT:C44256")
            elif kind in NOTES:
                if m.start(1) not in taken:  # the words as printed ("grade 3 or 4", "1:1:1"): a hint, no stub
                    found[m.start(1)] = Figure(kind, m.group(0), _decimal(m.group(1)), m.start(1))
                taken.update(m.start() + x.start() for x in re.finditer(r"\d", m.group(0)))
            elif kind == "notreached":  # a median not reached; "the primary endpoint was not reached" is none
                median = re.search(r"\bmedian\b[^.;]{0,80}$", _before(text, m.start()), re.IGNORECASE)
                if median and m.start(1) not in taken:
                    found[m.start(1)] = Figure(
                        "notreached", m.group(1), Decimal(0), m.start(1), statistic_type="NCIT:C28007"
                    )
                    taken.add(m.start(1))
            elif kind == "series":
                word = next(g for g in m.groups() if g and not re.fullmatch(r"[\d.,]+", g))
                unit = _UNITS[word.lower().rstrip("s")]
                median = re.search(r"\bmedian\b[^.;]{0,60}$", _before(text, m.start()), re.IGNORECASE)
                for x in re.finditer(n, m.group(0)):
                    start = m.start() + x.start(1)
                    if start not in taken:
                        kind_of = "median" if median else "duration"
                        extra_s = {"statistic_type": "NCIT:C28007"} if median else {}
                        found[start] = Figure(kind_of, x.group(1), _decimal(x.group(1)), start, unit=unit, **extra_s)  # type: ignore[arg-type]
                        taken.add(start)
            elif kind in ("timepoint", "duration", "median"):
                word = next(g for g in m.groups()[1:] if g)
                unit = _UNITS[word.lower().rstrip("s")]
                extra = {"unit": unit}
                if kind == "median":
                    extra["statistic_type"] = "NCIT:C28007"
                claim(kind, m, 1, **extra)
            elif kind == "size":
                claim("size", m, 1)
            elif kind == "count-in":
                claim("count", m, 1, unit="UO:0000189", statistic_type="NCIT:C25463")
                if m.group(2):
                    claim("count", m, 2, unit="UO:0000189", statistic_type="NCIT:C25463")
            elif kind == "none":  # "no cases": a count of 0
                if m.start(1) not in taken:
                    found[m.start(1)] = Figure("count", m.group(0), Decimal(0), m.start(1))
                    taken.add(m.start(1))
            else:
                if re.fullmatch(r"\d{4}", m.group(1)) and 1900 < int(m.group(1)) < 2100:
                    continue  # a year
                claim("value", m, 1)
    return [found[k] for k in sorted(found)]


def read(text: str) -> tuple[str, list[Sentence]]:
    """The source's address (its ``# url:`` line, if any) and its sentences with their figures."""
    url = next((m.group(1) for m in map(URL_LINE.match, text.splitlines()) if m), "")
    comma = decimal_comma(text)
    out = [Sentence(i, s, figures(s, comma)) for i, s in enumerate(sentences(text), 1)]
    return url, out


# ---------------------------------------------------------------- the skeleton


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


HEADER = """# {slug}: a skeleton made by `kg new` from {source}.
# Fill in every TODO (`kg validate {slug}.ttl` lists each with its line; `kg terms WORDS` finds identifiers),
# delete the stubs of numbers that are not figures (dates, doses you put in a dose schedule...), and
# read docs/curating.md for what each property means. The text is kept in {slug}.txt: quotes are checked
# against it, so fix a quote by fixing the text only if the text was copied wrong.

@base <https://w3id.org/trialkg/> .
@prefix trialkg: <https://w3id.org/trialkg/ontology/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix oa: <http://www.w3.org/ns/oa#> .
@prefix schema: <https://schema.org/> .
@prefix NCIT: <http://purl.obolibrary.org/obo/NCIT_> .
@prefix UO: <http://purl.obolibrary.org/obo/UO_> .
@prefix study: <https://w3id.org/trialkg/{kind}/{slug}/> .
@prefix pub: <https://w3id.org/trialkg/publication/{slug}/> .
"""

STUDY_CLASSES = {
    "trial": "trialkg:ClinicalTrial , trialkg:Study , schema:MedicalTrial",
    "study": "trialkg:ObservationalStudy , trialkg:Study",
}


def skeleton(slug: str, url: str, found: list[Sentence], source: str, kind: str = "trial", comma: bool = False) -> str:
    """The publication file: the document, its quoted sentences, the study, and a stub per figure (``comma``: the
    numbers were read with decimal commas, which the file's first lines say)."""
    src = "<publication/" + slug + ">"
    doc = "pub:source"
    study = f"<{kind}/{slug}>"
    header = HEADER.format(slug=slug, source=source, kind=kind)
    if comma:
        note = (
            '# The text prints decimal commas and no decimal point, so its numbers were read that way: "22,4" as '
            '22.4,\n# "1 024" as 1024 and "1,024" as 1.024. Check each value against its sentence.\n'
        )
        header = header.replace("\n\n@base", "\n" + note + "\n@base", 1)
    lines = [header]
    lines.append(f"""# ============================ the source =====================================

{src} a trialkg:JournalArticle , schema:ScholarlyArticle ;
    trialkg:slug "{slug}" ;
    rdfs:label "TODO: First author et al. YEAR, Journal" ;
    dcterms:title "TODO: the title as printed" ;
    trialkg:hasAuthorship pub:author-1 ;
    trialkg:authorListComplete false ;
    trialkg:publishedIn <journal/TODO> ;  # no page showed it: delete this and the journal below, say so in a skos:note
    trialkg:hasAbstract {doc} ;
    schema:url <{url or "https://TODO.example/the-page-you-read"}> .

pub:author-1 a trialkg:Authorship ; trialkg:position 1 ; trialkg:authorName "TODO: first author as printed" .
<journal/TODO> a trialkg:Journal ; rdfs:label "TODO: the journal's name" .

{doc} a trialkg:Abstract ;
    rdfs:label "TODO: what this text is (e.g. abstract on the publisher's page)" ;
    dcterms:isPartOf {src} ;
    schema:url <{url or "https://TODO.example/the-page-you-read"}> .
""")
    quoted = [s for s in found if s.figures]
    for s in quoted:
        lines.append(
            f"pub:sentence-{s.number} a oa:SpecificResource ; oa:hasSource {doc} ; "
            f"oa:hasSelector pub:sentence-{s.number}-selector .\n"
            f"pub:sentence-{s.number}-selector a oa:TextQuoteSelector ;\n    oa:exact {_literal(s.text)} ."
        )
    stats: list[str] = []
    pops: list[str] = []
    comparisons: list[str] = []
    body: list[str] = []
    eligibility: list[str] = []
    # the arms: as the first allocation sentence names them, else one to fill in
    arms = next(([f.arm for f in s.figures if f.arm] for s in quoted if any(f.arm for f in s.figures)), [""])
    for s in quoted:
        body.append(f"\n# ---- sentence {s.number}: {s.text[:100]}{'…' if len(s.text) > 100 else ''}")
        last_stat, last_kind = "", ""
        for k, f in enumerate(s.figures, 1):
            name = f"study:s{s.number}-{k}"
            quote = f"pub:sentence-{s.number}"
            prov = f"    prov:wasDerivedFrom {src} ;\n    trialkg:quotedFrom {quote} ."
            shown = f'"{f.text}"'
            if f.kind in ("interval", "range") and last_stat:
                cls = "trialkg:ConfidenceInterval" if f.kind == "interval" else "trialkg:Range"
                level = (
                    "    trialkg:level 0.95 ;  # TODO: the level the sentence prints\n" if f.kind == "interval" else ""
                )
                upper = "trialkg:upperNotReached true" if f.upper_not_reached else f"trialkg:upper {f.upper}"
                body.append(
                    f"# {shown} to {'not reached' if f.upper_not_reached else f.upper}: the {f.kind} of {last_stat}\n"
                    f'{name} a {cls} ;\n    rdfs:label "{f.kind}" ;\n{level}    trialkg:lower {f.value} ; {upper} ;\n{prov}'
                )
                body[-1] = body[-1].replace(f"{name} a", f"{last_stat} trialkg:attributeEstimate {name} .\n{name} a", 1)
                continue
            if f.kind == "p":
                comp = f"study:comparison-{s.number}-{k}"
                comparisons.append(comp)
                owner = last_stat if last_kind == "ratio" else ""
                if owner:
                    body.append(
                        f"# P {f.comparator} {f.text}: the P value of the between-group effect {owner}\n"
                        f"{owner} trialkg:attributeEstimate {name} .\n"
                        f'{name} a trialkg:PValue ; rdfs:label "p-value" ; trialkg:pValue {f.value} ; '
                        f'trialkg:comparator "{f.comparator}" ;\n{prov}'
                    )
                    comparisons.pop()
                    continue
                body.append(
                    f"# P {f.comparator} {f.text}: a comparison between groups (or one group over time)\n"
                    f"{comp} a trialkg:Comparison ;\n"
                    f'    rdfs:label "TODO: what is compared, e.g. 3-year PFS, arm A vs arm B" ;\n'
                    f"    trialkg:comparesStatistic study:TODO-a , study:TODO-b ;  # one statistic per group\n"
                    f"    trialkg:exposureGroup study:TODO-a-group ; trialkg:referenceGroup study:TODO-b-group ;  # or trialkg:comparedGroup for 3+\n"
                    f"    trialkg:attributeEstimate {name} ;\n{prov}\n"
                    f'{name} a trialkg:PValue ; rdfs:label "p-value" ; trialkg:pValue {f.value} ; '
                    f'trialkg:comparator "{f.comparator}" ;\n{prov}'
                )
                continue
            if f.kind in NOTES:
                body.append(f"# {shown}: {_NOTE_HINTS[f.kind]}")
                continue
            if f.kind == "eligibility":
                eligibility.append(f"sentence {s.number}")
                body.append(
                    f"# {shown}: an age limit of who could enter, not a figure: write the criterion as printed "
                    f"into the study's trialkg:eligibility"
                )
                continue
            if f.kind == "size" and f.arm:
                pops.append(name)
                body.append(
                    f"# {shown}: the patients allocated to {f.arm}\n"
                    f"{name} a trialkg:AnalysisPopulation ;\n"
                    f'    rdfs:label "allocated to {f.arm}" ;\n'
                    f"    trialkg:withinArm study:arm-{arms.index(f.arm) + 1 if f.arm in arms else 'TODO'} ;\n"
                    f"    trialkg:analysisSetType trialkg:AllAllocated ;  # TODO check: the set this sentence counts\n"
                    f"    trialkg:size {f.value} ; trialkg:sizeBasis trialkg:StatedInSentence ;\n{prov}"
                )
                continue
            if f.kind == "size":
                pops.append(name)
                body.append(
                    f"# {shown}: the size of a population (an arm's allocation, the enrolled, the evaluable...)\n"
                    f"{name} a trialkg:AnalysisPopulation ;\n"
                    f'    rdfs:label "TODO: who these {f.text} are" ;\n'
                    f"    trialkg:size {f.value} ; trialkg:sizeBasis trialkg:StatedInSentence ;\n{prov}"
                )
                continue
            if f.kind == "dose":
                body.append(
                    f"# {shown}: a dose; move it into the dose schedule of its phase (and delete this stub)\n"
                    f"{name} a trialkg:DoseSchedule ;\n"
                    f'    rdfs:label "TODO: drug and dose as printed" ;\n'
                    f"    trialkg:drug NCIT:TODO ;\n"
                    f"    trialkg:doseValue {f.value} ; trialkg:doseUnit {f.unit} ;\n{prov}"
                )
                continue
            stats.append(name)
            last_stat, last_kind = name, f.kind
            cls = {"ratio": "trialkg:ComparativeStatistic", "notreached": "trialkg:TimeToEventStatistic"}.get(
                f.kind, "trialkg:EfficacyStatistic"
            )
            stype = f.statistic_type or ("NCIT:C25463" if f.kind == "count" else "trialkg:TODO")
            unit = (
                f.unit
                or ("UO:0000189" if f.kind == "count" else "")
                or ("UO:0000190" if f.kind == "ratio" else "")
                or "UO:TODO"
            )
            extra = ""
            if f.kind == "ratio":
                extra = "    trialkg:exposureGroup study:TODO ; trialkg:referenceGroup study:TODO ;\n"
            if f.kind == "timepoint":
                extra = (
                    f"    trialkg:timePointValue {f.value} ; trialkg:timePointUnit {f.unit} ;  "
                    "# a rate at this time point: its value is another number of the sentence\n"
                )
            if f.kind == "count" and f.of is not None:
                extra = f"    # of {f.of}: the population whose size that is\n"
            value = "" if f.kind == "timepoint" else f"    trialkg:value {f.value} ;\n"
            if f.kind == "notreached":  # never a number: the value is left out, and the shapes refuse one
                value = "    trialkg:notReached true ;  # a median not reached: no trialkg:value\n"
            body.append(
                f"# {shown} ({f.kind}): TODO say what it measures, over whom, and when\n"
                f"{name} a {cls} ;  # the kind: trialkg:EfficacyStatistic, trialkg:TimeToEventStatistic, trialkg:SafetyStatistic...\n"
                f'    rdfs:label "TODO: what this figure is" ;\n'
                f"    trialkg:statisticType {stype} ;\n"
                f"    trialkg:measures trialkg:TODO ;\n{value}"
                f"    trialkg:unit {unit} ;\n{extra}"
                f"    trialkg:population trialkg:TODO ;  # trialkg:PopulationNotStated if no source says\n"
                f"    trialkg:denominatorBasis trialkg:TODO ;  # StatedInSentence, InferredFrom..., NotStated\n{prov}"
            )
    study_class = STUDY_CLASSES.get(kind, STUDY_CLASSES["trial"])
    eligible = (
        f'    trialkg:eligibility "TODO: the criterion as printed ({", ".join(eligibility)})" ;\n'
        if eligibility
        else ""
    )
    lines.append(f"""
# ============================ the study ======================================

{study} a {study_class} ;
    trialkg:slug "{slug}" ;
    rdfs:label "TODO: what the study is, in a line (Author et al. YEAR)" ;
    trialkg:trialPhase NCIT:TODO ;  # `kg terms phase`; trialkg:PhaseNotStated if no source says; delete for a study that is not a trial
    trialkg:studiesCondition NCIT:TODO ;  # the condition studied: `kg terms` and its name as the source prints it
{eligible}    trialkg:hasArm {" , ".join(f"study:arm-{i}" for i in range(1, len(arms) + 1))} ;
    trialkg:hasPopulation {" , ".join(pops) if pops else "study:TODO"} ;
    trialkg:describedIn {src} ;
    prov:wasDerivedFrom {src} ;
    trialkg:hasStatistic {" , ".join(stats) if stats else "study:TODO"}{" ;" if comparisons else " ."}""")
    if comparisons:
        lines.append(f"    trialkg:hasComparison {' , '.join(comparisons)} .")
    for i, arm in enumerate(arms, 1):
        label = f"{arm}" if arm else "TODO: the arm as the source names it"
        lines.append(f"""
study:arm-{i} a trialkg:StudyArm ;
    rdfs:label "{label}" ;
    trialkg:position {i} ;
    trialkg:hasTreatmentPhase study:arm-{i}-phase-1 .

study:arm-{i}-phase-1 a trialkg:TreatmentPhase ;
    rdfs:label "TODO: the phase as the source names it (induction, consolidation...)" .""")
    lines.append("")
    lines.append("# ============================ the figures ====================================")
    lines += body
    return "\n".join(lines) + "\n"


def source_text(url: str, found: list[Sentence], retrieved: str = "") -> str:
    """The kept source text: the address, then one sentence a line."""
    head = [f"# url: {url or 'https://TODO.example/the-page-you-read'}"]
    if retrieved:
        head.append(f"# retrieved: {retrieved}")
    return "\n".join(head + [s.text for s in found]) + "\n"


def new(
    text_file: str | Path, out: str | Path = ".", slug: str | None = None, url: str = "", kind: str = "trial"
) -> tuple[Path, Path, int]:
    """Write ``<slug>.ttl`` and ``<slug>.txt`` from a source's text; returns their paths and the number of stubs.

    Refuses to overwrite a file that is already there (the curator's work).
    """
    path = Path(text_file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    slug = slug or path.stem
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug):
        raise InputError(f"slug {slug!r}: use lower-case letters, digits and hyphens (e.g. smith-2014), with --slug")
    if kind not in STUDY_CLASSES:
        raise InputError(f"--kind {kind!r}: one of {', '.join(STUDY_CLASSES)}")
    found_url, found = read(text)
    if not found:
        raise InputError(f"{path}: holds no sentence")
    out = Path(out)
    ttl, txt = out / f"{slug}.ttl", out / f"{slug}.txt"
    keep = txt.exists() and txt.resolve() == path.resolve()  # the text is already where it is kept
    for target in (ttl, *([] if keep else [txt])):
        if target.exists() or target.is_symlink():  # a link to a file not written yet is the user's too
            raise InputError(
                f"{target}: already there; kg new never overwrites a file (choose another --slug or --out)"
            )
    url = url or found_url
    if url and not _WEB_ADDRESS.fullmatch(url):  # it goes between <> in the Turtle: nothing may end it early
        raise InputError(
            f"{path}: the page's address {printable(url)[:200]!r} is not an http(s) address a Turtle IRI can hold "
            '(no spaces, <, >, ", {, }, |, ^, ` or \\)'
        )
    if keep and url and not found_url:
        raise InputError(f"{path}: give it a first line '# url: {url}' (kg new does not rewrite your text file)")
    with AtomicFiles(out, replace=False) as files:  # a file made since the check above is not replaced either
        source = re.sub(r"[\x00-\x1f\x7f]", "?", path.name)  # named in a comment line: no line break ends it
        skeleton_text = skeleton(slug, url, found, source, kind, comma=decimal_comma(text))
        files.path(ttl.name).write_text(skeleton_text, encoding="utf-8")
        if not keep:
            files.path(txt.name).write_text(source_text(url, found), encoding="utf-8")
    return ttl, txt, sum(f.kind not in (*NOTES, "eligibility") for s in found for f in s.figures)
