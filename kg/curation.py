"""The checks a curator's own file needs that SHACL cannot make, and where in the file each problem is.

SHACL sees the graph; a curator edits text. So this module knows the text:

- **Source text.** A publication file ``x.ttl`` may keep the text it was curated
  from beside it, as ``x.txt`` (``kg new`` writes it): one block per document,
  each opened by a ``# url: <address>`` line. Every quoted sentence must then
  stand verbatim in the block of its document (the document whose ``schema:url``
  is that address, or the only block there is).
- **Numbers in their sentences.** A figure must be printed in the sentence it is
  quoted from (as digits, or as words such as "Thirty-five"): a figure pointed at
  the wrong sentence is the commonest slip, and no shape can see it.
- **TODO markers** that ``kg new`` leaves in a skeleton are reported by line
  until they are filled in.
- **Terms declared in the curator's file** (an external IRI given a label there)
  must say where they were checked (``trialkg:checkedIn``), as every packaged
  term does.
- **Nothing about another file's resources.** Everything a publication file
  states is about what its studies and publications reach (a sentence of a
  document it describes counts as reached): pages, study copies and the batches
  a ready-made query is asked in read a study's own files, so a statement about
  another study's figure, or a class another file uses, made in a file that does
  not name that study, would be read by the whole store but not by them
  (:mod:`kg.cross_file` compares the files with one another).
- **Lines.** Every problem, SHACL's included, is pinned to the line of the file
  where its focus resource is written, so ``file:line`` leads straight to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import pyoxigraph as ox

from kg import sources as src
from kg import sparql
from kg.prefixes import BASE, DCT, OA, OWL, RDF, RDF_TYPE, RDFS, RDFS_LABEL, SCHEMA, SKOS, TKG, compact
from kg.rdf import value

#: how a TODO marker left in a file is reported (before the line's text)
TODO_MESSAGE = "a TODO is left in place"
#: the suffix of the kept source text beside a publication file
SOURCE_TEXT_SUFFIX = ".txt"
#: a line that opens a document's block in a source text
URL_LINE = re.compile(r"^#\s*url:\s*(\S+)\s*$")

_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split()
)
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()


@dataclass(frozen=True)
class Finding:
    """One problem in a publication file: where it is, what is wrong, and how bad (Violation or Warning)."""

    source: str
    focus: str
    message: str
    line: int = 0
    severity: str = "Violation"


# ---------------------------------------------------------------- the kept source text


@dataclass(frozen=True)
class SourceText:
    """One document's text, as kept beside a publication (whitespace runs read as one space)."""

    url: str
    text: str


def source_text_path(source: src.Source) -> Path | None:
    """Where the source text of a publication file would be (``x.ttl`` -> ``x.txt``), if it has a file."""
    location = source.location
    if isinstance(location, Path):
        return location.with_suffix(SOURCE_TEXT_SUFFIX)
    return None


def parse_source_text(text: str) -> list[SourceText]:
    """The documents of a source text: a block per ``# url:`` line (other ``#`` lines are notes).

    >>> [d.url for d in parse_source_text("# url: https://a.example/1\\nOne.\\n# url: https://b.example/2\\nTwo.")]
    ['https://a.example/1', 'https://b.example/2']
    >>> parse_source_text("No url.\\nText  here.")[0].text
    'No url. Text here.'
    """
    blocks: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        m = URL_LINE.match(line)
        if m:
            blocks.append((m.group(1), []))
        elif line.startswith("#"):
            continue
        else:
            if not blocks:
                blocks.append(("", []))
            blocks[-1][1].append(line)
    return [SourceText(url, normalize(" ".join(lines))) for url, lines in blocks]


def read_source_text(source: src.Source) -> list[SourceText] | None:
    """The kept source text of a publication, or None when it has none."""
    path = source_text_path(source)
    if path is None or not path.is_file():
        return None
    try:
        return parse_source_text(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def normalize(text: str) -> str:
    """Whitespace runs (line breaks, non-breaking spaces) as one space.

    >>> normalize("a\\n  b\\u00a0c ")
    'a b c'
    """
    return " ".join(text.split())


# ---------------------------------------------------------------- numbers in sentences


def number_word(n: int) -> str | None:
    """``35`` -> ``thirty-five`` (0 to 99), else None.

    >>> number_word(35), number_word(20), number_word(7), number_word(120)
    ('thirty-five', 'twenty', 'seven', None)
    """
    if 0 <= n < 20:
        return _UNITS[n]
    if 20 <= n < 100:
        tens, units = divmod(n, 10)
        return _TENS[tens - 2] + (f"-{_UNITS[units]}" if units else "")
    return None


_SMALL = {word: n for n, word in enumerate(_UNITS)} | {word: 10 * (n + 2) for n, word in enumerate(_TENS)}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_NUMBER_WORD = "|".join(sorted([*_SMALL, *_SCALES], key=len, reverse=True))
#: a number in words: "Three hundred eighty-six", "one hundred and five", "twenty one", "2 thousand" is not one
SPELLED = re.compile(
    rf"\b(?:{_NUMBER_WORD})(?:(?:[\s-]+|\s+and\s+)(?:{_NUMBER_WORD}))*\b(?!-(?:{_NUMBER_WORD})\b)", re.IGNORECASE
)


def spelled_value(words: str) -> int | None:
    """The value of a number written in words, or None when the words do not make one number.

    >>> spelled_value("Three hundred eighty-six"), spelled_value("one hundred and five"), spelled_value("twelve")
    (386, 105, 12)
    >>> spelled_value("two thousand four hundred"), spelled_value("twenty one")
    (2400, 21)
    >>> spelled_value("five six") is None, spelled_value("hundred") is None
    (True, True)
    """
    total, group, last = 0, 0, ""
    for token in re.split(r"[\s-]+", words.lower()):
        if token == "and":
            continue
        if token in _SCALES:
            if last not in _SMALL and not (last == "hundred" and token != "hundred"):
                return None
            scale = _SCALES[token]
            if scale == 100:
                group *= 100
            else:
                total += group * scale
                group = 0
        else:
            n = _SMALL[token]
            # words follow tens then units ("eighty-six"); two units or two tens in a row are two numbers
            if last in _SMALL and not (_SMALL[last] >= 20 and _SMALL[last] % 10 == 0 and n < 10):
                return None
            group += n
        last = token
    return total + group


def spelled_numbers(text: str) -> list[tuple[int, int, int]]:
    """Every number the text writes in words: (start, end, value), each run read as one number where it makes one.

    >>> spelled_numbers("Three hundred eighty-six patients; twenty-one had one dose.")
    [(0, 24, 386), (35, 45, 21), (50, 53, 1)]
    >>> spelled_numbers("in five six-week cycles")
    [(3, 7, 5), (8, 11, 6)]
    """
    out: list[tuple[int, int, int]] = []
    for m in SPELLED.finditer(text):
        value = spelled_value(m.group(0))
        if value is not None:
            out.append((m.start(), m.end(), value))
            continue
        for w in re.finditer(rf"\b(?:{_NUMBER_WORD})(?:-(?:{_NUMBER_WORD}))?\b", m.group(0), re.IGNORECASE):
            v = spelled_value(w.group(0))
            if v is not None:
                out.append((m.start() + w.start(), m.start() + w.end(), v))
    return out


def number_forms(lexical: str) -> list[str]:
    """The ways a number may be printed: as given, normalized, without a leading zero, grouped, in words.

    >>> number_forms("0.003")
    ['0.003', '.003']
    >>> number_forms("1338")
    ['1338', '1,338', '1 338']
    >>> number_forms("55.60")
    ['55.60', '55.6']
    """
    forms = [lexical]
    try:
        number = Decimal(lexical)
    except InvalidOperation:
        return forms
    plain = format(number.normalize(), "f") if number == number.to_integral_value() else format(number.normalize(), "f")
    if "." in plain:
        plain = plain.rstrip("0").rstrip(".")
    forms.append(plain)
    if plain.startswith("0."):
        forms.append(plain[1:])
    elif plain.startswith("-0."):  # "-.7"
        forms.append("-" + plain[2:])
    if abs(number) >= 1000:  # "1,024", and "1,024.5" (review 47: kg new read it, the check did not)
        whole, _, fraction = plain.lstrip("-").partition(".")
        grouped = f"{'-' if plain.startswith('-') else ''}{int(whole):,}{'.' + fraction if fraction else ''}"
        forms += [grouped, grouped.replace(",", " ")]
    return list(dict.fromkeys(forms))


_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
#: a number in scientific notation, written out: a mantissa times ten to an exponent given as such (``1.2×10^-5``,
#: ``1.2 x 10⁻⁵``, ``1.2×10-5``: a sign or a caret or superscript digits right after the 10), or an E form with
#: nothing between (``1.2e-5``, ``1.2E-05``); never "4 x 10 2-week cycles" or "2 E3 ligases"
_SCIENTIFIC = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)(?:\s*[×xX]\s*10(?:\s*(?:\^|\*\*)\s*([-+]?\d{1,3})|([⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]{1,3})|(-\d{1,3}))"
    r"|[eE]([-+]?\d{1,3}))(?![\d⁰¹²³⁴⁵⁶⁷⁸⁹])"
)


def _scientific(sentence: str) -> list[Decimal]:
    """The numbers a sentence prints in scientific notation (``1.2×10⁻⁵``, ``1.2e-5``)."""
    out = []
    for m in _SCIENTIFIC.finditer(sentence.replace(MINUS, "-")):
        exponent = next(g for g in m.groups()[1:] if g is not None).translate(_SUPERSCRIPT)
        try:
            out.append(Decimal(m.group(1)).scaleb(int(exponent)))
        except (InvalidOperation, ValueError):
            continue
    return out


def minus_before(text: str, at: int) -> bool:
    """Whether the hyphen right before ``text[at]`` is a minus sign: after nothing, a space or a bracket, not after a
    digit, a letter or another hyphen (a range, a compound: "0.51-0.87", "day-14", "10--30"), nor after a number
    and spaces ("41 -168", "18 -65": a range typed with a space).

    >>> [minus_before(t, t.index("7")) for t in ("-7", "of -7", "(-7", "3-7", "day-7", "3 -7", "3% -7", "10--7")]
    [True, True, True, False, False, False, False, False]
    >>> [minus_before(t, t.index("7")) for t in ("2%-7", "4’-7", "3+-7", "P=-7", "[-7")]
    [False, False, False, True, True]
    """
    if at == 0 or text[at - 1] != "-":
        return False
    before = text[: at - 1].rstrip()
    if len(before) < at - 1:  # a space between: a minus, unless a number stands before it
        return not before or not (before[-1].isdigit() or before[-1] in "%'’+)")
    # right after a bracket, a sign or a separator; not after a number's end ("12%-15%", "4’-8", "3+-4": review 47),
    # a digit or a letter (a range, a compound) or another hyphen
    return not before or before[-1] in "([{=:;<>≤≥/~"


#: spaces that group a number's digits ("1 024", "12 500"): thin, narrow no-break and no-break
_GROUPING_SPACES = "\u2009\u202f\u00a0"
#: a comma that can only be a decimal one: after a lone 0 ("0,62"), or with other than three digits after it
#: ("22,4", "0,0001") where no other comma group follows ("1,4,8,11" is a list of days)
_DECIMAL_COMMA = re.compile(r"(?<![\d,.])(?:0,\d+|[1-9]\d*,(?:\d{1,2}|\d{4,}))(?![\d,])")
#: a decimal point between digits ("0.62"), not inside an address or a version ("RECIST 1.1" counts, once)
_DECIMAL_POINT = re.compile(r"(?<![\d.])\d+\.\d+(?![\d.])")
#: what holds digits but no figure: a web address, a DOI, the '# url:' line
_ADDRESSES = re.compile(r"^#.*$|\S+://\S+|\b10\.\d{4,9}/\S+|\bdoi:\S+", re.IGNORECASE | re.MULTILINE)


def decimal_comma(text: str) -> bool:
    """Whether a text writes decimals with a comma ("22,4", "p < 0,001", European house styles): it prints more
    commas that can only be decimal ones than decimal points (a DOI in its address, "RECIST 1.1" do not make a
    French abstract English; review 47). The reading of "1,024" depends on it (1024 or 1.024), in ``kg new``
    and in the quote check of the publication's sentences alike.

    >>> decimal_comma("HR 0,62 (IC 95 % 0,48-0,80); 1 024 patients"), decimal_comma("HR 0.62; 1,024 patients")
    (True, False)
    >>> decimal_comma("on days 1,4,8,11"), decimal_comma("22,4 months vs 0.62")
    (False, False)
    >>> decimal_comma("# url: https://doi.org/10.1016/x.2020.1\\nselon RECIST 1.1 : 22,4 mois, p < 0,001")
    True
    """
    plain = _ADDRESSES.sub(" ", re.sub(r"(?<=\d)\u00b7(?=\d)", ".", text))
    return len(_DECIMAL_COMMA.findall(plain)) > len(_DECIMAL_POINT.findall(plain))


#: the minus sign, as :func:`plain_numbers` marks every one it reads (a hyphen or dash before a number that is no range)
MINUS = "\u2212"


def plain_numbers(text: str, comma: bool = False) -> str:
    """The text with its numbers typeset one way, each character in its place (so a match's offsets are the printed
    text's): a middle-dot decimal point ("0\u00b762", The Lancet's) as ".", digit groups split by a thin or no-break
    space as "1,024", and every minus sign as :data:`MINUS`: a hyphen, an en dash (The Lancet's minus) or a minus
    sign right before a number where :func:`minus_before` reads a minus, not a range ("0.51-0.87", "24\u201333",
    "18 -65") or a compound ("day-14"), which keep their hyphen or dash. With ``comma`` (:func:`decimal_comma`), a
    decimal comma is "." and a plain space between digit groups ("1 024 patients") is ",". The one place the minus
    rule is read: ``kg new`` (:func:`kg.new.figures`) and the quote check (:func:`occurrences`) both read this text.

    >>> plain_numbers("HR 0\u00b762 (95% CI 0\u00b748\u20130\u00b780), difference \u20134\u00b71 (\u20137\u00b79 to \u20130\u00b73)")
    'HR 0.62 (95% CI 0.48\u20130.80), difference \u22124.1 (\u22127.9 to \u22120.3)'
    >>> plain_numbers("1\u2009024 patients; 24\u201333 months; 18 \u201365 years; -0.7, 3-7, day-14, 10--30, 1.2e-5")
    '1,024 patients; 24\u201333 months; 18 \u201365 years; \u22120.7, 3-7, day-14, 10--30, 1.2e-5'
    >>> plain_numbers("22,4 mois (IC 95 % 18,1-26,0), p < 0,001, 1 024 patients", comma=True)
    '22.4 mois (IC 95 % 18.1-26.0), p < 0.001, 1,024 patients'
    """
    text = re.sub(r"(?<=\d)\u00b7(?=\d)", ".", text)
    if comma:
        text = re.sub(r"(?<=\d),(?=\d)", ".", text)
        text = re.sub(
            r"(?<![\d.,])(\d{1,3})((?: \d{3})+)(?!\d|,\d)",  # "1 024" and "1 024,5" (now "1 024.5")
            lambda m: m.group(1) + m.group(2).replace(" ", ","),
            text,
        )
    text = re.sub(rf"(?<=\d)[{_GROUPING_SPACES}](?=\d{{3}}(?!\d))", ",", text)
    hyphens = re.sub("[\u2013\u2212]", "-", text)  # each read as a hyphen is, by what stands around it
    signs = [m.start() for m in re.finditer(r"-(?=\.?\d)", hyphens) if minus_before(hyphens, m.end())]
    chars = list(text)
    for at in signs:
        chars[at] = MINUS
    return "".join(chars)


def _is_zero(lexical: str) -> bool:
    try:
        return Decimal(lexical) == 0
    except InvalidOperation:
        return False


def occurrences(lexical: str, sentence: str, comma: bool = False) -> Iterator[tuple[str, int]]:
    """Where the number stands in digits in the sentence: each place as (the sentence as read, the offset there).

    The sentence is read as :func:`plain_numbers` typesets it, with decimal commas where its source writes them
    (``comma``: :func:`decimal_comma` of all the source's sentences; "1,024" is 1024 in one text, 1.024 in
    another, and a sentence alone cannot tell: reading both let 41 pass for "41,000", review 47).
    """
    reading = normalize(plain_numbers(sentence, comma))
    for form in number_forms(lexical):
        form = MINUS + form[1:] if form.startswith("-") else form  # as plain_numbers marks a minus
        # a store keeps decimals canonical: a stored 54 may be printed 54.0, and 0.7 printed 0.70
        zeros = r"0*" if "." in form else r"(?:\.0+)?"
        # a number right after a minus sign is that number's negative: "0.7" is not printed in "-0.7" (minus zero
        # is zero); a hyphen of a range or a compound is no minus ("0.51-0.87", "day-14")
        signed = form.startswith(MINUS) or _is_zero(lexical)
        for m in re.finditer(rf"(?<![\d.,]){re.escape(form)}{zeros}(?![\d]|[.,]\d)", reading):
            if signed or reading[m.start() - 1 : m.start()] != MINUS:
                yield reading, m.start()


#: a comparator printed right before a number: "P < .001", "p=0.03", "P ≤ 0.05"
_PRINTED_COMPARATOR = re.compile(r"(<=|>=|[=<>≤≥])\s*$")


def printed_comparators(lexical: str, sentence: str, comma: bool = False) -> set[str] | None:
    """The comparators the sentence prints before the number ('<', '<=', '=', ...: ``≤`` as '<='), or None where
    one of its places has none ("P .003", "0.003 by the log-rank test"): then it cannot tell which is meant.

    >>> sorted(printed_comparators("0.001", "HR 0.62 (P < .001)")), printed_comparators("0.001", "P .001 and .001")
    (['<'], None)
    """
    found: set[str] = set()
    for reading, at in occurrences(lexical, sentence, comma):
        m = _PRINTED_COMPARATOR.search(reading[max(0, at - 6) : at])
        if m is None:
            return None
        found.add({"≤": "<=", "≥": ">="}.get(m.group(1), m.group(1)))
    return found or None


def printed_in(lexical: str, sentence: str, comma: bool = False) -> bool:
    """Whether the number stands in the sentence (digits not part of a longer number, or words).

    >>> printed_in("61", "the overall response rate (ORR) was 61%.")
    True
    >>> printed_in("6", "the overall response rate (ORR) was 61%.")
    False
    >>> printed_in("35", "Thirty-five percent of patients")
    True
    >>> printed_in("386", "Three hundred eighty-six patients"), printed_in("86", "Three hundred eighty-six patients")
    (True, False)
    >>> printed_in("0", "there were no cases with grade 2 neuropathy")
    True
    >>> printed_in("54", "a median of 54.0 months"), printed_in("54", "54.5 months"), printed_in("0.7", "HR, 0.70;")
    (True, False, True)

    Typeset forms count too: a minus sign (U+2212), thin or no-break spaces between digit groups, and a number in
    scientific notation (``1.2×10⁻⁵``, ``1.2 x 10^-5``, ``1.2e-5``):

    >>> printed_in("-20", "\u221220 points"), printed_in("1200", "1\u2009200 patients")
    (True, True)

    A number after a minus sign is not its positive (review 43: a difference of -0.7 written 0.7 passed); a hyphen
    between numbers or words is a range or a compound:

    >>> printed_in("0.7", "a difference of -0.7 points"), printed_in("0.7", "(\u22120.7)"), printed_in("0.7", "-0.7")
    (False, False, False)
    >>> printed_in("0.87", "95% CI 0.51-0.87"), printed_in("14", "at day-14"), printed_in("65", "aged 18 - 65")
    (True, True, True)
    >>> printed_in("168", "range, 41 -168"), printed_in("30", "10--30"), printed_in("-0.7", "-.7")  # review 44
    (True, True, True)
    >>> printed_in("0", "a difference of \u22120.0 points")  # minus zero is zero (a store keeps it as 0)
    True
    >>> printed_in("0.000012", "P = 1.2×10\u22125"), printed_in("0.000012", "P=1.2E-05"), printed_in("0.00012", "1.2e-5")
    (True, True, False)
    >>> printed_in("0.000012", "P = 1.2 x 10⁻⁵"), printed_in("0.000012", "P = 1.2×10^-5")
    (True, True)

    House styles count (review 45): The Lancet's middle-dot decimal and en-dash minus sign, a decimal comma:

    >>> printed_in("0.62", "HR 0\u00b762"), printed_in("62", "HR 0\u00b762"), printed_in("0", "HR 0\u00b762")
    (True, False, False)
    >>> printed_in("-4.1", "(\u20134\u00b71)"), printed_in("4.1", "(\u20134\u00b71)"), printed_in("33", "24\u201333")
    (True, False, True)
    >>> printed_in("22.4", "22,4 mois", comma=True), printed_in("1.024", "1,024", comma=True)
    (True, True)
    >>> printed_in("41", "follow-up of 41,000 months"), printed_in("1", "1\u2009024 patients")  # review 47
    (False, False)
    >>> printed_in("15", "12%\u201315%"), printed_in("1024.5", "1\u2009024.5 person-years")
    (True, True)

    A superscript is an exponent only after "10": a footnote mark or a unit's square joins no number.

    >>> printed_in("36", "36¹ months"), printed_in("361", "36¹ months"), printed_in("2", "1.3 mg/m²")
    (True, False, False)
    >>> printed_in("400", "4 x 10 2-week cycles"), printed_in("2000", "2 E3 ligases"), printed_in("120000", "12·104")
    (False, False, False)
    """
    if next(occurrences(lexical, sentence, comma), None) is not None:
        return True
    try:
        number = Decimal(lexical)
    except InvalidOperation:
        return False
    if any(scientific == number for scientific in _scientific(normalize(plain_numbers(sentence, comma)))):
        return True
    if number == number.to_integral_value():
        if any(v == number for _, _, v in spelled_numbers(sentence)):
            return True
        if number == 0 and re.search(r"\b(no|none|nor|neither)\b", sentence, re.IGNORECASE):
            return True
    return False


# ---------------------------------------------------------------- where a resource is written


@dataclass(frozen=True)
class TurtleText:
    """A Turtle file's text with its prefixes and base, to find the line a resource is written on."""

    lines: list[str]
    prefixes: dict[str, str]
    base: str

    @classmethod
    def of(cls, data: bytes) -> TurtleText:
        """Read the text (undecodable bytes are replaced; only positions matter here)."""
        text = data.decode("utf-8", errors="replace")
        prefixes = dict(re.findall(r"(?im)^\s*@?prefix\s+([A-Za-z][\w.-]*|):\s*<([^>]*)>", text))
        bases = re.findall(r"(?im)^\s*@?base\s+<([^>]*)>", text)
        return cls(text.splitlines(), prefixes, bases[0] if bases else BASE)

    def spellings(self, iri: str) -> list[str]:
        """How the file may write ``iri``: full, relative to the base, or with one of its prefixes."""
        out = [f"<{iri}>"]
        if iri.startswith(self.base):
            out.append(f"<{iri[len(self.base) :]}>")
        for prefix, ns in self.prefixes.items():
            if ns and iri.startswith(ns) and iri != ns:
                out.append(f"{prefix}:{iri[len(ns) :]}")
        return out

    def line_of(self, iri: str) -> int:
        """The 1-based line where ``iri`` is first written as a subject (else anywhere); 0 if nowhere."""
        spelled = self.spellings(iri)
        pattern = re.compile("|".join(re.escape(s) + r"(?=[\s;,.)\]]|$)" for s in spelled))
        anywhere = 0
        fresh = True  # the line starts a new statement: the one before ended with "."
        for number, line in enumerate(self.lines, 1):
            code = strip_comment(line)
            m = pattern.search(code)
            if m:
                if fresh and not code[: m.start()].strip():
                    return number
                anywhere = anywhere or number
            if code.strip():
                fresh = code.rstrip().endswith(".") and not code.strip().startswith("@")
            if code.strip().startswith(("@prefix", "@base", "PREFIX", "BASE")):
                fresh = True
        return anywhere


def strip_comment(line: str) -> str:
    """A Turtle line without its comment (a ``#`` outside IRIs and strings).

    >>> strip_comment('ex:a ex:b "x # y" . # note')
    'ex:a ex:b "x # y" . '
    """
    in_iri = in_str = False
    for i, ch in enumerate(line):
        if ch == "<" and not in_str:
            in_iri = True
        elif ch == ">" and in_iri:
            in_iri = False
        elif ch == '"' and not in_iri:
            in_str = not in_str
        elif ch == "#" and not in_iri and not in_str:
            return line[:i]
    return line


def todo_lines(data: bytes) -> Iterator[tuple[int, str]]:
    """The lines (number, text) that still hold a ``TODO`` marker outside comments."""
    if b"TODO" not in data:
        return
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        if "TODO" in strip_comment(line):
            yield number, line.strip()


# ---------------------------------------------------------------- the checks


Node = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple


def _objects(store: ox.Store, subject: Node, predicate: str) -> list[Node]:
    if isinstance(subject, ox.Literal):
        return []
    return [q.object for q in store.quads_for_pattern(subject, ox.NamedNode(predicate), None, None)]


def _quotes(store: ox.Store, thing: Node) -> list[str]:
    """The exact sentences a resource is quoted from."""
    out = []
    for passage in _objects(store, thing, TKG + "quotedFrom"):
        if isinstance(passage, ox.Literal):
            continue
        for selector in _objects(store, passage, OA + "hasSelector"):
            if isinstance(selector, ox.Literal):
                continue
            out += [value(e) for e in _objects(store, selector, OA + "exact")]
    return out


STATED = ox.NamedNode(TKG + "StatedInSentence")
#: the unit of a percentage (UO "percent")
UO_PERCENT = "http://purl.obolibrary.org/obo/UO_0000187"
#: the statistic type of a share of the population (HL7 "Proportion", NCIt C44256)
PROPORTION = "http://purl.obolibrary.org/obo/NCIT_C44256"

#: (what is checked, its property, the resources whose sentence may carry it)
NUMBERS = (
    ("value", TKG + "value"),
    ("number of events", TKG + "numberOfEvents"),
    ("time point", TKG + "timePointValue"),
    ("size", TKG + "size"),
    ("lower bound", TKG + "lower"),
    ("upper bound", TKG + "upper"),
    ("p-value", TKG + "pValue"),
)


def _comma_of(store: ox.Store, graph: ox.NamedNode) -> bool:
    """Whether the publication's quoted sentences write decimal commas (:func:`decimal_comma` of them all)."""
    exact = ox.NamedNode("http://www.w3.org/ns/oa#exact")
    quotes = store.quads_for_pattern(None, exact, None, graph)
    return decimal_comma("\n".join(q.object.value for q in quotes if isinstance(q.object, ox.Literal)))


def number_findings(store: ox.Store, graph: ox.NamedNode, name: str) -> Iterator[Finding]:
    """Every figure of a publication that is not printed in the sentence it (or its statistic) is quoted from."""
    comma = _comma_of(store, graph)
    estimate_of = {
        q.object: q.subject for q in store.quads_for_pattern(None, ox.NamedNode(TKG + "attributeEstimate"), None, graph)
    }
    for what, predicate in NUMBERS:
        for q in store.quads_for_pattern(None, ox.NamedNode(predicate), None, graph):
            thing = q.subject
            if not isinstance(q.object, ox.Literal) or isinstance(thing, ox.Triple):
                continue
            if what == "size" and any(b != STATED for b in _objects(store, thing, TKG + "sizeBasis")):
                continue  # a size the curator says is derived (summed, read from the design) need not be printed
            sentences = _quotes(store, thing)
            owner = estimate_of.get(thing)
            if not sentences and owner is not None:
                sentences = _quotes(store, owner)
            if not sentences or any(printed_in(q.object.value, s, comma) for s in sentences):
                continue
            focus = owner if owner is not None and isinstance(thing, ox.BlankNode) else thing
            hint = (
                "; a size no sentence prints says how it was found (trialkg:sizeBasis trialkg:InferredFrom...)"
                if what == "size"
                else ""
            )
            yield Finding(
                name,
                show_term(focus),
                f"its {what} {q.object.value} is not printed in the sentence it is quoted from (as digits or "
                f"words): quote the sentence that prints it (trialkg:quotedFrom){hint}",
            )


def comparator_findings(store: ox.Store, graph: ox.NamedNode, name: str) -> Iterator[Finding]:
    """Every p-value whose comparator is not the one its sentence prints before it: "P < .001" stored with '='
    passed (review 45), a bound stored as if it were the value, which the model says it never is."""
    comma = _comma_of(store, graph)
    estimate_of = {
        q.object: q.subject for q in store.quads_for_pattern(None, ox.NamedNode(TKG + "attributeEstimate"), None, graph)
    }
    for q in store.quads_for_pattern(None, ox.NamedNode(TKG + "pValue"), None, graph):
        thing = q.subject
        if not isinstance(q.object, ox.Literal) or isinstance(thing, ox.Triple):
            continue
        stored = [c.value for c in _objects(store, thing, TKG + "comparator") if isinstance(c, ox.Literal)]
        owner = estimate_of.get(thing)
        sentences = _quotes(store, thing) or (_quotes(store, owner) if owner is not None else [])
        printed = [c for s in sentences if (c := printed_comparators(q.object.value, s, comma)) is not None]
        if not printed or not stored or any(stored[0] in c for c in printed):
            continue
        focus = owner if owner is not None and isinstance(thing, ox.BlankNode) else thing
        said = " or ".join(f"'{c}'" for c in sorted(set().union(*printed)))
        yield Finding(
            name,
            show_term(focus),
            f"its p-value {q.object.value} has trialkg:comparator '{stored[0]}', but its sentence prints {said} "
            f"before it: give the comparator the sentence prints (a bound is never stored as the value)",
        )


def quote_findings(
    store: ox.Store, graph: ox.NamedNode, name: str, texts: list[SourceText], text_name: str
) -> Iterator[Finding]:
    """Every quoted sentence that is not verbatim in the kept source text of its document."""
    by_url = {t.url: t for t in texts}
    for q in store.quads_for_pattern(None, ox.NamedNode(OA + "hasSelector"), None, graph):
        passage, selector = q.subject, q.object
        if isinstance(selector, ox.Literal) or isinstance(passage, ox.Triple):
            continue
        document = next(iter(_objects(store, passage, OA + "hasSource")), None)
        text = None
        if document is not None and not isinstance(document, ox.Literal):
            for url in _objects(store, document, SCHEMA + "url"):
                text = by_url.get(value(url), text)
        if text is None and len(texts) == 1:
            text = texts[0]
        if text is None:
            where = compact(value(document)) if document is not None else "its document"
            yield Finding(
                name,
                show_term(passage),
                f"no block of {text_name} is the text of {where}: open one with '# url: <the schema:url of {where}>'",
            )
            continue
        for exact in _objects(store, selector, OA + "exact"):
            if normalize(value(exact)) not in text.text:
                shown = value(exact)
                shown = shown if len(shown) <= 70 else shown[:67] + "..."
                yield Finding(
                    name,
                    show_term(passage),
                    f"the quote is not verbatim in {text_name} ({text.url or 'its text'}): {shown!r}; copy the "
                    "sentence from the source text exactly, typos included",
                )


#: where a curator checked a term they declared (`kg terms` shows it)
CHECKED_IN = TKG + "checkedIn"


def declared_term_findings(store: ox.Store, graph: ox.NamedNode, name: str, base: str) -> Iterator[Finding]:
    """External terms given a label in a publication file without where they were checked."""
    for q in store.quads_for_pattern(None, ox.NamedNode(RDFS_LABEL), None, graph):
        term = q.subject
        if not isinstance(term, ox.NamedNode) or term.value.startswith(base):
            continue
        if any(True for _ in store.quads_for_pattern(term, ox.NamedNode(CHECKED_IN), None, graph)):
            continue
        curie = compact(term.value)
        yield Finding(
            name,
            curie,
            f"{curie} is declared in this file without where it was checked: add trialkg:checkedIn "
            f'"<repository, file and version where you saw {curie} with this label>" to it (or use a packaged '
            f"term: `kg terms {curie}`)",
            severity="Warning",
        )


#: the classes whose members a file's statements start from (with their subclasses, the ontology's or the file's)
ROOT_CLASSES = (TKG + "Study", TKG + "Publication")
#: predicates followed backwards too: what is part of, or says something of, a resource the file reaches is the
#: file's own (a quoted sentence of its document, a document part of its publication, an OWL axiom or an RDF 1.2
#: reifier annotating its triple)
PART_OF = (
    OA + "hasSource",
    DCT + "isPartOf",
    OWL + "annotatedSource",
    RDF + "reifies",
)
#: at most this many unreached resources are reported a file, then how many more (each is looked up by line)
MAX_UNREACHED = 20


def root_classes(store: ox.Store, roots: Iterable[str] = ROOT_CLASSES) -> frozenset[ox.NamedNode]:
    """Study and Publication (or ``roots``) with every subclass the store's ontology and files declare: what a
    file's statements start from is typed in the file with one of them (a batch is made of the studies typed so, not
    of what merely has a study's property)."""
    text = (
        "SELECT DISTINCT ?c WHERE { VALUES ?root { "
        + " ".join(f"<{c}>" for c in roots)
        + f" }} ?c <{RDFS}subClassOf>* ?root }}"
    )
    return frozenset(c for (c,) in sparql.select(store, text) if isinstance(c, ox.NamedNode))


def unreached_findings(
    store: ox.Store, graph: ox.NamedNode, name: str, roots: frozenset[ox.NamedNode]
) -> Iterator[Finding]:
    """Resources a file states something about that its studies and publications do not reach.

    A study's pages, its copies and the batches a ready-made query is asked in
    hold the files that name the study, so a file that says something of another
    study's figure (a second quote, a value, its type) or declares a class a
    figure of another file is typed with, without naming that study, is read by
    the whole store and by none of them: two answers to one question. Followed
    from every study and publication the file types (:func:`root_classes`), forwards
    along every triple (to its predicate too: a property the file declares and
    uses) and backwards along :data:`PART_OF` (to a reifier from the subject of
    the triple it reifies). A file that names none states nothing a study's
    pages or batches read, so everything in it is reported, as a warning: it
    may restate what the studies' files say (a journal, a term), or be an
    erratum they will never show.
    """
    out: dict[Node, list[Node]] = {}
    back: dict[Node, list[Node]] = {}
    start: list[Node] = []
    rdf_type = RDF_TYPE
    for q in store.quads_for_pattern(None, None, None, graph):
        s, p, o = q.subject, q.predicate.value, q.object
        if isinstance(s, ox.Triple):
            continue
        out.setdefault(s, []).extend((q.predicate, o))
        if p in PART_OF:
            back.setdefault(o.subject if isinstance(o, ox.Triple) else o, []).append(s)
        if p == rdf_type and o in roots:
            start.append(s)
    named = bool(start)
    seen = set(start)
    while start:
        node = start.pop()
        for nxt in (*out.get(node, ()), *back.get(node, ())):
            if not isinstance(nxt, (ox.Literal, ox.Triple)) and nxt not in seen:
                seen.add(nxt)
                start.append(nxt)
    unreached = [s for s in out if s not in seen]
    for subject in unreached[:MAX_UNREACHED]:
        yield Finding(
            name,
            show_term(subject),
            (
                "stated here but reached from none of this file's studies and publications: say it in the "
                "file of the study it belongs to"
                if named
                else "stated in a file that names no study or publication: say it in the file of the study "
                "it belongs to"
            )
            + " (a study's pages and the batches its queries are asked in read the files that name the study, "
            "so they would not see it)",
            severity="Violation" if named else "Warning",
        )
    if len(unreached) > MAX_UNREACHED:
        yield Finding(
            name,
            "",
            f"and {len(unreached) - MAX_UNREACHED} more resources reached from none of this file's studies and "
            "publications",
            severity="Violation" if named else "Warning",
        )


#: mapping predicates, which the queries follow in both directions from any study's terms
SKOS_MAPPINGS = frozenset(
    SKOS + p for p in ("exactMatch", "closeMatch", "broadMatch", "narrowMatch", "relatedMatch", "mappingRelation")
)
#: identity predicates: a file's own identifiers for its own resources (a DOI, a registry record), but not for a
#: packaged term
IDENTITIES = frozenset({OWL + "sameAs", OWL + "equivalentClass", OWL + "equivalentProperty"})
#: the event of an anchor the queries read by phase type alone (the order of every study's phases of that type)
PHASE_START = TKG + "PhaseStart"


def ontology_findings(store: ox.Store, graph: ox.NamedNode, onto: ox.NamedNode, name: str) -> Iterator[Finding]:
    """What a file adds to the ontology's own resources, and a phase's start anchor it declares.

    A study's pages, copies and batches read the ontology and the study's own
    files; the whole store reads every file. So a file that adds to what the
    ontology says of one of its resources (a label, a synonym, a sort order for a
    packaged time anchor, a mapping of a packaged term) changes the rows of every
    study that uses it, in the whole store only: two answers to one question.
    Restating what the ontology says is harmless (a copy holds a triple once). A
    mapping (:data:`SKOS_MAPPINGS`, or an identity with a packaged term) is refused
    too: the queries follow mappings from every study's terms, so one file's
    mapping would bridge other studies' terms (bortezomib to thalidomide).
    For the same reason a file may not anchor the start of a kind of phase:
    ``efficacy`` and ``response-distribution`` order each study's phases by the
    start anchor of the phase's type, found by that type alone, so another
    study's rows would change their order with this file loaded (an anchor at a
    phase's completion, or with no event, is read only through the figures
    timed by it).
    """
    described: dict[Node, bool] = {}
    start = ox.NamedNode(PHASE_START)
    for q in store.quads_for_pattern(None, None, None, graph):
        s = q.subject
        if isinstance(s, ox.Triple):
            continue
        if s not in described:
            described[s] = any(True for _ in store.quads_for_pattern(s, None, None, onto))
        if described[s] and not any(True for _ in store.quads_for_pattern(s, q.predicate, q.object, onto)):
            yield Finding(
                name,
                show_term(s),
                f"adds to what the ontology says of {show_term(s)} ({show_term(q.predicate)} {shown_term(q.object)}): every "
                "study that uses it would read it in the whole store, and none in its own pages and batches; "
                "use the packaged term as it is, or propose the change to the ontology",
            )
        elif q.predicate.value in SKOS_MAPPINGS or (
            q.predicate.value in IDENTITIES
            and isinstance(q.object, ox.NamedNode)
            and any(True for _ in store.quads_for_pattern(q.object, None, None, onto))
        ):
            yield Finding(
                name,
                show_term(s),
                f"maps {show_term(s)} to {shown_term(q.object)} ({show_term(q.predicate)}): the queries follow mappings from every "
                "study's terms (trials-by-drug, evidence-by-drug, compare-outcomes), so this file would change "
                "other studies' answers; mappings are the project's (ontology/mappings.sssom.tsv): propose it there",
            )
        elif q.predicate.value == TKG + "anchorEvent" and q.object == start and not described[s]:
            yield Finding(
                name,
                show_term(s),
                "anchors the start of a kind of phase in a publication file: the queries order every study's "
                "phases of that kind by its start anchor, so other studies' rows would change order with this "
                "file; time figures from the ontology's anchor (`kg terms anchor`), or propose one for the ontology",
            )


def whole_counts(percent: Decimal, size: int) -> list[int]:
    """The whole counts out of ``size`` that print as ``percent`` (rounded half up or half even, to its decimals).

    >>> whole_counts(Decimal("8.1"), 160), whole_counts(Decimal("2.4"), 161), whole_counts(Decimal("35"), 130)
    ([13], [], [45, 46])
    """
    places = max(0, -percent.normalize().as_tuple().exponent)  # type: ignore[operator]
    step = Decimal(1).scaleb(-places)
    out = []
    for k in range(size + 1):
        exact = Decimal(100 * k) / Decimal(size)
        shown = {exact.quantize(step, rounding=r) for r in (ROUND_HALF_UP, ROUND_HALF_EVEN)}
        if percent in shown:
            out.append(k)
    return out


def share_findings(store: ox.Store, graph: ox.NamedNode, name: str) -> Iterator[Finding]:
    """Percentages that no whole count of their population's size gives: the denominator is likely another one;
    and (an error) a percentage over a population of size 0.

    A warning, not an error: sources have slips. It is how an independent reader
    found a rate read over the wrong population (2.4% of 161: 4 of 161 is 2.5%).
    """
    unit, population, size = (ox.NamedNode(TKG + "unit"), ox.NamedNode(TKG + "population"), TKG + "size")
    for q in store.quads_for_pattern(None, ox.NamedNode(TKG + "value"), None, graph):
        if not isinstance(q.object, ox.Literal) or isinstance(q.subject, ox.Triple):
            continue
        if ox.NamedNode(UO_PERCENT) not in _objects(store, q.subject, unit.value):
            continue
        if ox.NamedNode(PROPORTION) not in _objects(store, q.subject, TKG + "statisticType"):
            continue  # a survival rate (Kaplan-Meier) or a mean is no count over the population
        for pop in _objects(store, q.subject, population.value):
            sizes = [value(x) for x in _objects(store, pop, size)]
            try:
                percent, n = Decimal(q.object.value), int(sizes[0]) if sizes else 0
            except (InvalidOperation, ValueError):
                continue
            if sizes and n == 0:  # review 46: "50% (TD arm; n=0)" was shown as a figure, 50% of 0 being "whole"
                yield Finding(
                    name,
                    show_term(q.subject),
                    f"its {percent}% is over a population of size 0 ({show_term(pop)}), which holds no one to count: "
                    "give the population its size, or the figure the population it is over",
                )
                continue
            if not 0 < n <= 100_000 or not 0 <= percent <= 100 or whole_counts(percent, n):
                continue
            near = min(range(n + 1), key=lambda k: abs(Decimal(100 * k) / n - percent))
            yield Finding(
                name,
                show_term(q.subject),
                f"its {percent}% is no whole count of its population's {n} ({near} of {n} is "
                f"{(Decimal(100 * near) / n).quantize(Decimal('0.01'))}%): is {n} its denominator? If the source "
                f"does not say, the population is trialkg:PopulationNotStated",
                severity="Warning",
            )


#: characters XML 1.0 cannot carry, not even escaped: an RDF/XML document (and an XHTML page) holding one is not
#: well-formed, and every XML reader refuses it whole
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def control_findings(store: ox.Store, graph: ox.NamedNode, name: str) -> Iterator[Finding]:
    """Texts holding a control character (a label's U+0001, pasted from a PDF): the RDF/XML documents of the
    resource were refused by every XML reader (review 39), and no source prints one."""
    for q in store.quads_for_pattern(None, None, None, graph):
        if isinstance(q.object, ox.Literal) and (bad := _NOT_XML.search(q.object.value)):
            yield Finding(
                name,
                show_term(q.subject) if not isinstance(q.subject, ox.Triple) else str(q.subject),
                f"{compact(q.predicate.value)}: the text holds the control character U+{ord(bad.group()):04X}, which "
                "XML cannot carry (RDF/XML readers refuse the whole document): remove it",
            )


def shown_term(term: Node) -> str:
    """A term as a message shows it, a literal with its language or datatype (``"x"@en`` is not ``"x"``)."""
    return str(term) if isinstance(term, ox.Literal) else show_term(term)


def show_term(term: Node) -> str:
    """A term as a message names it: an IRI as a CURIE where the prefix map has one, a blank node as ``_:id``."""
    if isinstance(term, ox.NamedNode):
        return compact(term.value)
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    return value(term)


def check(store: ox.Store, sources: Iterable[src.Source], base: str = BASE) -> tuple[list[Finding], list[str]]:
    """Run every check of one file on the publications (already parsed into ``store``): the findings, and the names
    of the publications that keep no source text (their quotes could not be checked against it). The files are
    compared with one another by :mod:`kg.cross_file`."""
    findings: list[Finding] = []
    without_text: list[str] = []
    roots = root_classes(store)
    onto = ox.NamedNode(src.graph_iri(src.ONTOLOGY_SLUG, base))
    sources = list(sources)
    for source in sources:
        graph = ox.NamedNode(source.graph(base))
        findings += unreached_findings(store, graph, source.name, roots)
        findings += ontology_findings(store, graph, onto, source.name)
        findings += number_findings(store, graph, source.name)
        findings += comparator_findings(store, graph, source.name)
        findings += declared_term_findings(store, graph, source.name, base)
        findings += share_findings(store, graph, source.name)
        findings += control_findings(store, graph, source.name)
        texts = read_source_text(source)
        if texts is None:
            without_text.append(source.name)
        else:
            path = source_text_path(source)
            findings += quote_findings(store, graph, source.name, texts, path.name if path else "the source text")
        data = source.read()
        findings += [
            Finding(source.name, "", f"{TODO_MESSAGE}: {text[:90]}", line=number) for number, text in todo_lines(data)
        ]
    return findings, without_text


def no_source_text_note(names: list[str]) -> str:
    """The note for publications whose quotes could not be checked against a kept source text."""
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return (
        f"{len(names)} file(s) keep no source text beside them ({shown}), so their quotes were not checked "
        f"against it: keep the text as <file>{SOURCE_TEXT_SUFFIX} (see `kg new`)"
    )


def locate(source: src.Source, focus_iris: Iterable[str]) -> dict[str, int]:
    """The line of each focus resource in the source file (only those found)."""
    wanted = [i for i in focus_iris if i]
    if not wanted:
        return {}
    text = TurtleText.of(source.read())
    out = {}
    for iri in wanted:
        line = text.line_of(iri)
        if line:
            out[iri] = line
    return out
