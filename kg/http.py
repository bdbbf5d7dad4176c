"""The HTTP client every remote operation uses (SPARQL 1.1 Protocol, Graph Store Protocol).

- Queries go as a form-encoded POST (``query=...``), or a GET when short: the
  two forms every SPARQL 1.1 server answers (a raw ``application/sparql-query``
  body is optional in the protocol, and some Virtuoso releases never answer it).
- Credentials come only from the environment (``TRIALKG_USER`` +
  ``TRIALKG_PASSWORD`` for HTTP Basic or Digest, ``TRIALKG_TOKEN`` for a bearer
  token), are never printed, and go only to the origin of the URL they were
  given for: a redirect to another origin is refused while credentials are set,
  and followed without any ``Authorization`` header otherwise.
- A large body (a whole load) is sent once: where the origin asked for HTTP
  Basic before, the credentials go with the first attempt; a body that must be
  sent again (a Digest challenge) is read again from its start.
- Every failure is one line naming the URL, and says what is known of whether
  the server got the request (:class:`RequestError`).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import io
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from typing import IO, Any, cast

from kg.errors import InputError, KGError, StoreError

#: longest URL sent as a GET; longer queries are POSTed
MAX_GET_URL = 2000


class RequestError(StoreError):
    """A request to a store failed; says what is known of whether the server got it.

    ``status`` is the HTTP status the server answered with (it got the request
    and refused it), or None; ``reached`` is False when the request certainly
    never reached the server (connection refused, unknown host), None when
    that is not known (a time-out, a connection dropped mid-request, or a
    502, 503 or 504, which a proxy in front of the server may have answered
    while the server still works on the request).
    """

    def __init__(self, message: str, status: int | None = None, reached: bool | None = None):
        super().__init__(message)
        self.status = status
        self.reached = None if status in GATEWAY else True if status is not None else reached

    @property
    def from_server(self) -> bool:
        """Whether the status is the server's own answer (a gateway's 502, 503 or 504 may not be)."""
        return self.status is not None and self.status not in GATEWAY


#: statuses a proxy or gateway in front of a server answers with on its own (the server may have the request)
GATEWAY = frozenset({502, 503, 504})


def _failure(error: type[KGError], message: str, status: int | None = None, reached: bool | None = None) -> KGError:
    if error is StoreError:
        return RequestError(message, status, reached)
    return error(message)


def origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port: what the same-origin rule compares.

    >>> origin("HTTP://Example.org:80/a") == origin("http://example.org/b")
    True
    """
    parts = urllib.parse.urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or default


def _token() -> str | None:
    return os.environ.get("TRIALKG_TOKEN") or None


def _credentials() -> tuple[str, str] | None:
    user, password = os.environ.get("TRIALKG_USER"), os.environ.get("TRIALKG_PASSWORD")
    return (user, password) if user is not None and password is not None else None


def has_credentials() -> bool:
    """Whether any credentials are configured in the environment."""
    return _credentials() is not None or _token() is not None


def redact(text: str) -> str:
    """The text with any configured secret replaced by ``***``."""
    for name in ("TRIALKG_PASSWORD", "TRIALKG_TOKEN"):
        secret = os.environ.get(name)
        if secret:
            text = text.replace(secret, "***")
    return text


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects within the origin; across origins, only without credentials, and never with them."""

    def __init__(self, start: str) -> None:
        self.start = origin(start)

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if origin(newurl) == self.start:  # the bearer token is an unredirected header: carry it within the origin
            new = super().redirect_request(req, fp, code, msg, headers, newurl)
            token = req.unredirected_hdrs.get("Authorization")
            if new is not None and token:
                new.add_unredirected_header("Authorization", token)
            return new
        if has_credentials():
            raise urllib.error.HTTPError(
                newurl,
                code,
                f"redirected to another origin ({urllib.parse.urlsplit(newurl).netloc}); "
                "not followed because credentials are only sent to the URL they were given for",
                headers,
                fp,
            )
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            for name in list(new.headers):
                if name.lower() in ("authorization", "proxy-authorization"):
                    del new.headers[name]
            new.unredirected_hdrs.pop("Authorization", None)
        return new


#: origins that asked for HTTP Basic and accepted the credentials: later requests send them up front,
#: so a large body is not sent twice (once to be refused with 401, once with the credentials)
_BASIC_ORIGINS: set[tuple[str, str, int | None]] = set()


class _BasicAuth(urllib.request.HTTPBasicAuthHandler):
    """HTTP Basic on a challenge, remembering the origins where it worked."""

    def http_error_401(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: http.client.HTTPMessage
    ) -> Any:  # an HTTP response (typeshed: Any), or None
        response = super().http_error_401(req, fp, code, msg, headers)
        if response is not None and 200 <= response.status < 300:
            _BASIC_ORIGINS.add(origin(req.full_url))
        return response


def _opener(url: str) -> urllib.request.OpenerDirector:
    handlers: list[urllib.request.BaseHandler] = [_SameOriginRedirects(url)]
    creds = _credentials()
    if creds is not None:
        scheme, host, port = origin(url)
        manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        manager.add_password(None, f"{scheme}://{host}:{port}/", *creds)  # this origin only
        handlers += [_BasicAuth(manager), urllib.request.HTTPDigestAuthHandler(manager)]
    return urllib.request.build_opener(*handlers)


class _Replayable:
    """A file body read again from its start when a request is re-sent (after a 401 challenge or a redirect)."""

    def __init__(self, fh: IO[bytes]):
        self.fh = fh
        self.start = fh.tell()
        self.ended = False

    def read(self, size: int = -1) -> bytes:
        """The next block; after the end, the first block again."""
        if self.ended:
            self.fh.seek(self.start)
            self.ended = False
        data = self.fh.read(size)
        if not data:
            self.ended = True
        return data


def checked(url: str) -> str:
    """The URL of an endpoint, if it is one: http or https, with a host (urllib would read a ``file:`` URL from the
    local disk, and raised ValueError on a malformed host, which the CLI showed as an internal error)."""
    try:
        parts = urllib.parse.urlsplit(url)
        _port = parts.port  # a port that is no number raises here
    except ValueError as exc:
        raise InputError(f"{redact(url)[:200]}: not a URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InputError(f"{redact(url)[:200]}: not an http(s) URL of an endpoint")
    return url


def request(
    method: str,
    url: str,
    body: bytes | IO[bytes] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    error: type[KGError] = StoreError,
) -> bytes:
    """One HTTP request; the body of the answer, or a one-line ``error`` naming the URL."""
    with opened(method, url, body, headers, timeout, error) as answer:
        return answer.read()


@contextlib.contextmanager
def opened(
    method: str,
    url: str,
    body: bytes | IO[bytes] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    error: type[KGError] = StoreError,
) -> Iterator[IO[bytes]]:
    """One HTTP request; the answer's body as a stream, read as it arrives (a large answer is never held whole).

    A failure to get the answer, or to read it to its end, is a one-line ``error`` naming the URL.
    """
    checked(url)
    all_headers = {"User-Agent": "trialkg", **(headers or {})}
    token, creds = _token(), _credentials()
    data = _Replayable(body) if body is not None and not isinstance(body, bytes) else body
    req = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    if token:
        req.add_unredirected_header("Authorization", f"Bearer {token}")
    elif creds is not None and origin(url) in _BASIC_ORIGINS:
        basic = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode("ascii")
        req.add_unredirected_header("Authorization", f"Basic {basic}")
    try:
        resp = _opener(url).open(req, timeout=timeout)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
        raise _translate(exc, url, timeout, error) from None
    with resp:
        yield cast(IO[bytes], _Answer(resp, url, timeout, error))


class _Answer(io.RawIOBase):
    """An answer's body, read as it arrives; a connection lost or timed out midway is one ``error`` line."""

    def __init__(self, resp: IO[bytes], url: str, timeout: float, error: type[KGError]):
        self.resp, self.url, self.timeout, self.error = resp, url, timeout, error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self.resp.read(len(buffer))
        except (OSError, http.client.HTTPException) as exc:
            raise _translate(exc, self.url, self.timeout, self.error, midway=True) from None
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        try:
            return self.resp.read() if size is None or size < 0 else self.resp.read(size)
        except (OSError, http.client.HTTPException) as exc:
            raise _translate(exc, self.url, self.timeout, self.error, midway=True) from None


def _translate(exc: BaseException, url: str, timeout: float, error: type[KGError], midway: bool = False) -> KGError:
    """A failed request as one line: the status and the server's first line, or what is known of the connection."""
    if isinstance(exc, urllib.error.HTTPError):
        if exc.code in (401, 403):
            how = (
                "check TRIALKG_USER / TRIALKG_PASSWORD / TRIALKG_TOKEN"
                if has_credentials()
                else "set TRIALKG_USER and TRIALKG_PASSWORD (or TRIALKG_TOKEN)"
            )
            return _failure(
                error, f"{url}: HTTP {exc.code} {'unauthorized' if exc.code == 401 else 'forbidden'}: {how}", exc.code
            )
        detail = ""
        try:
            lines = exc.read(2000).decode("utf-8", "replace").strip().splitlines()
            detail = lines[0] if lines else ""
        except Exception:  # noqa: BLE001 - the body is a courtesy; the status is the message
            pass
        return _failure(
            error, redact(f"{url}: HTTP {exc.code} {exc.reason}" + (f": {detail}" if detail else "")), exc.code
        )
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, TimeoutError) or "timed out" in str(reason):
        what = "the answer stopped for longer than the time-out" if midway else "no answer within the time-out"
        return _failure(error, redact(f"{url}: {what} of {timeout:g} s"))
    if midway:
        return _failure(error, redact(f"{url}: the answer was cut off: {reason}"))
    never = isinstance(reason, (ConnectionRefusedError, socket.gaierror))
    return _failure(error, redact(f"{url}: cannot reach the server: {reason}"), reached=False if never else None)


def with_param(url: str, key: str, value: str) -> str:
    """The URL with one more query-string parameter.

    >>> with_param("http://h/store", "graph", "urn:x")
    'http://h/store?graph=urn%3Ax'
    """
    checked(url)
    sep = "&" if urllib.parse.urlsplit(url).query else "?"
    return f"{url}{sep}{urllib.parse.urlencode({key: value})}"


def query(endpoint: str, text: str, accept: str, timeout: float = 60.0, error: type[KGError] = StoreError) -> bytes:
    """Send a query: GET when the URL stays short, else a form-encoded POST; the whole answer."""
    with query_opened(endpoint, text, accept, timeout, error) as answer:
        return answer.read()


def query_opened(
    endpoint: str, text: str, accept: str, timeout: float = 60.0, error: type[KGError] = StoreError
) -> contextlib.AbstractContextManager[IO[bytes]]:
    """Send a query as :func:`query` does; the answer as a stream (:func:`opened`)."""
    url = with_param(endpoint, "query", text)
    if len(url) <= MAX_GET_URL:
        return opened("GET", url, headers={"Accept": accept}, timeout=timeout, error=error)
    body = urllib.parse.urlencode({"query": text}).encode("utf-8")
    return opened(
        "POST",
        endpoint,
        body,
        {"Content-Type": "application/x-www-form-urlencoded", "Accept": accept},
        timeout=timeout,
        error=error,
    )


def update(endpoint: str, text: str, timeout: float = 60.0) -> bytes:
    """Send a SPARQL Update as a form-encoded POST (``update=...``)."""
    body = urllib.parse.urlencode({"update": text}).encode("utf-8")
    return request("POST", endpoint, body, {"Content-Type": "application/x-www-form-urlencoded"}, timeout=timeout)
