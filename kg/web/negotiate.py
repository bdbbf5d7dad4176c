"""HTTP content negotiation: which offered media type an ``Accept`` header prefers."""

from __future__ import annotations

from kg.media import OFFERED

#: more ranges than any real client sends; the rest of a longer header is ignored
MAX_RANGES = 1000


def negotiate(accept: str | None, offered: list[str] = OFFERED) -> str | None:
    """The offered media type the Accept header prefers most (q-values honoured), or None.

    The most specific matching range decides a type's quality (``text/turtle``
    over ``text/*`` over ``*/*``); ties go to the first offered.

    >>> negotiate("text/turtle;q=0.9, application/ld+json")
    'application/ld+json'
    >>> negotiate("image/png") is None
    True
    """
    if accept is None or not accept.strip():
        return offered[0]
    ranges: list[tuple[str, str, float]] = []
    for part in accept.split(",")[:MAX_RANGES]:
        fields = [f.strip() for f in part.split(";")]
        mtype = fields[0].lower()
        if mtype.count("/") != 1:
            continue
        q = 1.0
        for f in fields[1:]:
            if f.lower().startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    q = -1.0
        if not 0.0 <= q <= 1.0:
            continue
        main, sub = mtype.split("/")
        ranges.append((main, sub, q))
    best, best_q = None, 0.0
    for candidate in offered:
        cmain, csub = candidate.split("/")
        chosen_q, spec = None, -1
        for main, sub, q in ranges:
            if (main, sub) == (cmain, csub) and spec < 2:
                chosen_q, spec = q, 2
            elif main == cmain and sub == "*" and spec < 1:
                chosen_q, spec = q, 1
            elif main == "*" and sub == "*" and spec < 0:
                chosen_q, spec = q, 0
        if chosen_q is not None and chosen_q > best_q:
            best, best_q = candidate, chosen_q
    return best
