"""AWS Signature Version 4 over a finished request (https://docs.aws.amazon.com/IAM/latest/UserGuide/
create-signed-request.html), written from the specification; pure: the time is an argument.

    canonical request = METHOD \\n canonical URI \\n canonical query \\n canonical headers \\n
                        signed headers \\n hex(SHA-256(payload))
    string to sign    = AWS4-HMAC-SHA256 \\n <amz date> \\n <date>/<region>/<service>/aws4_request \\n
                        hex(SHA-256(canonical request))
    signing key       = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")
    Authorization     = AWS4-HMAC-SHA256 Credential=<key id>/<scope>, SignedHeaders=<names>, Signature=<hex>

The canonical URI is the path as sent with every segment URI-encoded once more (every service but S3:
a path carrying `%3A` is signed as `%253A`); names and values of the query are URI-encoded and sorted;
header names are lower-cased and sorted, values trimmed with inner runs of spaces collapsed.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
UNRESERVED = "-_.~"


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    session_token: str = ""


def amz_date(now: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))


def host_of(url: str) -> str:
    """The Host header a client sends for `url`: the default port is left out."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    port = parts.port
    if port and not (parts.scheme == "https" and port == 443) and not (parts.scheme == "http" and port == 80):
        host = f"{host}:{port}"
    return host


def canonical_uri(path: str, *, service: str = "") -> str:
    if not path:
        return "/"
    if service == "s3":
        return path
    return "/".join(quote(segment, safe=UNRESERVED) for segment in path.split("/"))


def canonical_query(query: str) -> str:
    pairs = []
    for item in query.split("&") if query else []:
        name, _, value = item.partition("=")
        pairs.append((quote(unquote(name), safe=UNRESERVED), quote(unquote(value), safe=UNRESERVED)))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def canonical_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    """The canonical header block (each line ending in a newline) and the signed-header list."""
    merged: dict[str, list[str]] = {}
    for name, value in headers.items():
        merged.setdefault(name.strip().lower(), []).append(" ".join(str(value).split()))
    names = sorted(merged)
    block = "".join(f"{name}:{','.join(merged[name])}\n" for name in names)
    return block, ";".join(names)


def canonical_request(method: str, url: str, headers: Mapping[str, str], payload_hash: str,
                      service: str = "") -> tuple[str, str]:
    """The canonical request and the signed-header list."""
    parts = urlsplit(url)
    block, signed = canonical_headers(headers)
    text = "\n".join([method.upper(), canonical_uri(parts.path, service=service), canonical_query(parts.query),
                      block, signed, payload_hash])
    return text, signed


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def signed_headers(method: str, url: str, headers: Mapping[str, str], body: bytes | None,
                   credentials: Credentials, region: str, service: str, now: float, *,
                   content_sha256: bool = True) -> dict[str, str]:
    """`headers` plus `X-Amz-Date`, `X-Amz-Content-Sha256` (unless `content_sha256` is false),
    `X-Amz-Security-Token` (temporary credentials) and `Authorization`. Every header given is signed,
    and `host` (from the URL unless given)."""
    stamp = amz_date(now)
    payload_hash = sha256_hex(body or b"")
    out = {name: value for name, value in headers.items() if name.lower() not in ("authorization", "x-amz-date")}
    out["X-Amz-Date"] = stamp
    if content_sha256:
        out["X-Amz-Content-Sha256"] = payload_hash
    if credentials.session_token:
        out["X-Amz-Security-Token"] = credentials.session_token
    to_sign = dict(out)
    if not any(name.lower() == "host" for name in to_sign):
        to_sign["host"] = host_of(url)
    creq, names = canonical_request(method, url, to_sign, payload_hash, service)
    scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join([ALGORITHM, stamp, scope, sha256_hex(creq.encode())])
    signature = hmac.new(signing_key(credentials.secret_key, stamp[:8], region, service),
                         string_to_sign.encode(), hashlib.sha256).hexdigest()
    out["Authorization"] = (f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
                            f"SignedHeaders={names}, Signature={signature}")
    return out
