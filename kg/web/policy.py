"""The Content-Security-Policy of the pages: no script at all, styles only the pages' own.

The pages need no JavaScript (figures are SVG drawn on the server, hover and
focus are CSS), so the policy allows none: a ``javascript:`` link or an
injected ``<script>`` that got past escaping would not run. The JSON-LD block
(``<script type="application/ld+json">``) is data, never run, so it needs no
permission. Styles are the pages' own ``<style>`` blocks, allowed by their
SHA-256 (computed from the pages themselves, so a changed template needs no
change here). ``kg serve`` sends the policy with every page; ``kg publish``
writes the same policy into the static site's ``.htaccess``.

>>> policy(style_hashes("<style>p { color: red }</style>"))  # doctest: +ELLIPSIS
"default-src 'none'; style-src 'sha256-...'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable

_STYLE = re.compile(r"<style\b[^>]*>(.*?)</style\s*>", re.IGNORECASE | re.DOTALL)

#: sent with what is not a page (RDF, query results, text): nothing may load or run from it
NO_CONTENT = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


def style_hashes(html: str) -> set[str]:
    """The CSP sources allowing each ``<style>`` block of ``html`` (``'sha256-...'``)."""
    return {
        "'sha256-" + base64.b64encode(hashlib.sha256(m.group(1).encode("utf-8")).digest()).decode("ascii") + "'"
        for m in _STYLE.finditer(html)
    }


def policy(styles: Iterable[str]) -> str:
    """The policy for pages whose style blocks have these hashes: no script, no other source of anything."""
    allowed = " ".join(sorted(set(styles))) or "'none'"
    return f"default-src 'none'; style-src {allowed}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
