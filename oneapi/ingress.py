"""What every request passes before its view: the body size limit of its route, gzip-encoded relay
bodies decoded within that limit, and CORS on the routes called with bearer keys (`/v1` and OpenAI's
billing routes). `init_ingress(app)` wires it; ordinary requests pass with a few header lookups.

Body limits (413 in the caller's format, before the body is read: by Content-Length when given, by a
bounded read when chunked):

    /v1/audio/transcriptions, /v1/audio/translations   26 MiB   OpenAI's 25 MB file limit plus the form
    every other /v1 route, /dashboard/billing/…         20 MiB   a long-context prompt with images
    /api and the console                                 2 MiB    forms, options and key lists

CORS follows the Fetch standard (https://fetch.spec.whatwg.org/#http-cors-protocol): the bearer
routes allow every origin without credentials; `Access-Control-Allow-Headers: *` does not cover
`Authorization`, so the preflight names it and echoes the headers the page asked for. `/api` and the
console get no CORS headers at all: their cookie sessions must stay same-site.
"""

from __future__ import annotations

import io
import re
import zlib

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from oneapi.relay.errors import LocalError

MiB = 1 << 20
RELAY_BODY_LIMIT = 20 * MiB
AUDIO_UPLOAD_LIMIT = 26 * MiB
CONSOLE_BODY_LIMIT = 2 * MiB
AUDIO_UPLOAD_PATHS = frozenset({"/v1/audio/transcriptions", "/v1/audio/translations"})
RELAY_PREFIXES = ("/v1/", "/dashboard/billing/")
INFLATE_SLICE = 256 * 1024
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
CORS_EXPOSED = "X-Oneapi-Request-Id"
# Chromium caps a preflight's cache at two hours.
CORS_MAX_AGE = "7200"
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class BodyTooLarge(RequestEntityTooLarge):
    """A request body (or a gzip body once decoded) over its route's limit of `limit` bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit


def is_relay_path(path: str) -> bool:
    """The routes called with bearer keys and answered in OpenAI's format: `/v1…` and the billing routes."""
    return path.startswith(RELAY_PREFIXES) or path == "/v1"


def body_limit(path: str) -> int:
    """The largest request body the route accepts, in bytes."""
    if not is_relay_path(path):
        return CONSOLE_BODY_LIMIT
    return AUDIO_UPLOAD_LIMIT if path.rstrip("/") in AUDIO_UPLOAD_PATHS else RELAY_BODY_LIMIT


def describe_limit(limit: int) -> str:
    return f"{limit / MiB:g} MiB"


def init_ingress(app: Flask) -> None:
    """Install the hooks: the limit is set first of all (the console's CSRF check reads forms before
    any other hook), the checks run after the request id is assigned so refusals carry it."""
    app.before_request_funcs.setdefault(None, []).insert(0, _set_limit)
    app.before_request(_check_request)
    app.after_request(_add_cors_headers)


class BoundedInput(io.RawIOBase):
    """A chunked body (no Content-Length) that raises BodyTooLarge once it yields more than `limit`
    bytes. Werkzeug's own max_content_length stream stops at the limit without an error, which would
    hand the view a silently cut body."""

    def __init__(self, stream, limit: int) -> None:
        super().__init__()
        self._stream, self.limit, self.count = stream, limit, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        allowance = self.limit + 1 - self.count
        data = self._stream.read(allowance if size is None or size < 0 else min(size, allowance))
        self.count += len(data)
        if self.count > self.limit:
            raise BodyTooLarge(self.limit)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _set_limit() -> None:
    req = request._get_current_object()  # type: ignore[attr-defined]
    limit = body_limit(req.path)
    environ = req.environ
    if "HTTP_TRANSFER_ENCODING" in environ and "CONTENT_LENGTH" not in environ:
        # Without a maximum werkzeug reads the server-terminated stream as it is: ours, which counts.
        environ["wsgi.input"] = BoundedInput(environ["wsgi.input"], limit)
        req.max_content_length = None
        return
    req.max_content_length = limit


def _check_request() -> Response | None:
    # One look-up through the proxy, then plain attributes and environ keys: this runs on every request.
    req = request._get_current_object()  # type: ignore[attr-defined]
    environ, path = req.environ, req.path
    limit = req.max_content_length or body_limit(path)
    declared = environ.get("CONTENT_LENGTH", "")
    # The raw header: request.content_length costs more than all the rest of this hook; a malformed
    # length is left to werkzeug.
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    if not is_relay_path(path):
        return None
    if req.method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ:
        return _preflight()
    if "HTTP_CONTENT_ENCODING" in environ:
        _decode_body(limit)
    return None


# -- gzip request bodies (One API's GzipDecodeMiddleware) ------------------------------------------

def _decode_body(limit: int) -> None:
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return
    if encoding not in ("gzip", "x-gzip"):
        raise LocalError(415, f"Content-Encoding {encoding} is not supported; send gzip or no encoding",
                         code="unsupported_content_encoding")
    body = gunzip(request.get_data(cache=False), limit)
    environ = request.environ
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    for name in ("HTTP_CONTENT_ENCODING", "HTTP_TRANSFER_ENCODING"):
        environ.pop(name, None)
    # The request read the compressed stream; let it open the decoded one.
    for cached in ("stream", "content_length"):
        request.__dict__.pop(cached, None)


def gunzip(data: bytes, limit: int) -> bytes:
    """The decompressed body (every gzip member, as Go's reader takes them), inflated a slice at a
    time: a bomb is given up as soon as its output passes `limit` (BodyTooLarge), so it never holds
    more than the limit; broken or truncated gzip is a 400 LocalError."""
    parts: list[bytes] = []
    while True:
        decoder = zlib.decompressobj(zlib.MAX_WBITS | 16)
        data = _inflate(decoder, data, parts, limit)
        if not data:
            return parts[0] if len(parts) == 1 else b"".join(parts)


def _inflate(decoder, data: bytes, parts: list[bytes], limit: int) -> bytes:
    """Inflate one gzip member of `data` into `parts`; returns the bytes after it."""
    produced = sum(map(len, parts))
    while not decoder.eof:
        try:
            part = decoder.decompress(data, INFLATE_SLICE)
        except zlib.error:
            raise _bad_gzip() from None
        produced += len(part)
        if produced > limit:
            raise BodyTooLarge(limit)
        parts.append(part)
        data = decoder.unconsumed_tail
        if not (part or data or decoder.eof):
            raise _bad_gzip()  # truncated: the input ended inside the member
    return decoder.unused_data


def _bad_gzip() -> LocalError:
    return LocalError(400, "the request body is not valid gzip", code="invalid_gzip")


# -- CORS on the bearer-key routes -----------------------------------------------------------------

def _preflight() -> Response:
    """Answered before authentication and rate limits: a preflight never carries the key."""
    response = current_app.response_class(status=204)
    headers = response.headers
    del headers["Content-Type"]
    headers["Access-Control-Allow-Methods"] = CORS_METHODS
    headers["Access-Control-Allow-Headers"] = _allowed_headers(request.headers.get("Access-Control-Request-Headers"))
    headers["Access-Control-Max-Age"] = CORS_MAX_AGE
    if request.headers.get("Access-Control-Request-Private-Network") == "true":
        # Chromium asks before a public page calls a gateway on a private address; a bearer key guards it.
        headers["Access-Control-Allow-Private-Network"] = "true"
    response.vary.add("Access-Control-Request-Headers")
    return response


def _allowed_headers(requested: str | None) -> str:
    names = ["Authorization", "Content-Type"]
    for name in (requested or "").split(","):
        name = name.strip()
        if _HEADER_NAME.fullmatch(name) and name.lower() not in ("authorization", "content-type"):
            names.append(name)
    return ", ".join(names)


def _add_cors_headers(response: Response) -> Response:
    if is_relay_path(request.environ.get("PATH_INFO", "")):
        # add(), not item assignment: nothing else sets these, and add() skips the search for an old value.
        response.headers.add("Access-Control-Allow-Origin", "*")
        response.headers.add("Access-Control-Expose-Headers", CORS_EXPOSED)
    return response
