"""Cross-site request forgery protection for `/api`: a request not made with an access token must come
from a page of this site.

SameSite=Lax is not enough on its own: it sends the cookie on another site's top-level navigation
(a GET that changes state, such as One API's email binding, then runs as the victim), and on every
request from a *same-site* page (another port of the host, a sibling subdomain), fetch and form
posts included. So each `/api` request, with a cookie or not, is checked in this order:

1. Exempt: a request carrying an access token (`Authorization`; browsers never add one to another
   site's request without a CORS preflight, which `/api` never grants), and the public read-only
   GETs below. `Basic`/`Digest`/`Negotiate`/`NTLM` credentials do not exempt: a browser replays them
   to a site on its own, as it does cookies.
2. `Sec-Fetch-Site`, when present (browsers send it to HTTPS and loopback addresses), must be
   `same-origin`, or `none` (an address typed or bookmarked by the user).
3. Else `Origin`, when present, must be this server's origin: the `Host` header, `X-Forwarded-Host`
   from a proxy in `TRUSTED_PROXIES`, or the `ServerAddress` option's origin.
4. Else (plain HTTP to a host name, where browsers send no fetch metadata) a browser navigation is
   refused: it is the only way another site sends a GET with the Lax cookie.
5. A body must be JSON (`Content-Type: application/json`, which no form and no simple cross-origin
   request can send) or carry the console's CSRF token in `X-CSRFToken`.

Scripts that send neither header (curl with a cookie jar) keep working for GETs and JSON bodies.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, request
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from oneapi.clientip import from_trusted_proxy, is_https
from oneapi.errors import Forbidden
from oneapi.services import options

PUBLIC_READS = frozenset({"api.status", "api.notice", "api.about", "api.home_page_content"})
BROWSER_CREDENTIALS = ("basic ", "digest ", "negotiate ", "ntlm ")
DEFAULT_PORTS = {"http": 80, "https": 443}
OTHER_SITE = "拒绝跨站请求：请在本站页面中调用，或使用 access token"
NOT_JSON = "拒绝跨站请求：请求体须为 JSON（Content-Type: application/json），或带上 X-CSRFToken 请求头"


class CrossSiteRequest(Forbidden):
    status = 403


def require_same_origin() -> None:
    """A before-request hook of the `/api` blueprint; raises `CrossSiteRequest` (HTTP 403)."""
    if request.endpoint is None or _is_public_read() or carries_access_token():
        return
    site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    if site is not None:
        allowed = site.strip().lower() in ("same-origin", "none")
    elif origin is not None:
        allowed = normal_origin(origin) in own_origins()
    else:
        allowed = not _is_navigation()
    if not allowed:
        raise CrossSiteRequest(OTHER_SITE)
    if _has_body() and not request.is_json and not _has_csrf_token():
        raise CrossSiteRequest(NOT_JSON)


def _is_public_read() -> bool:
    return request.method in ("GET", "HEAD") and request.endpoint in PUBLIC_READS


def carries_access_token() -> bool:
    header = request.headers.get("Authorization", "").strip()
    return bool(header) and not header.lower().startswith(BROWSER_CREDENTIALS)


def own_origins() -> set[str]:
    """The origins this server answers as: what the client asked for, and the configured address."""
    scheme = "https" if is_https() else "http"
    hosts = [request.host]
    if from_trusted_proxy():
        hosts += [h.strip() for h in request.headers.get("X-Forwarded-Host", "").split(",")[:1]]
    found = {normal_origin(f"{scheme}://{host}") for host in hosts if host}
    found.add(normal_origin(options.get("ServerAddress") or ""))
    found.discard("")
    return found


def normal_origin(url: str) -> str:
    """`scheme://host[:port]` in lower case without a default port; "" for anything else (`null`)."""
    try:
        parts = urlsplit(url.strip().lower())
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != DEFAULT_PORTS[parts.scheme] else "")


def _is_navigation() -> bool:
    # Browsers mark every navigation so; scripts and fetch() do not ask for HTML.
    return request.headers.get("Upgrade-Insecure-Requests") == "1" or "text/html" in request.headers.get("Accept", "")


def _has_body() -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _has_csrf_token() -> bool:
    names = current_app.config.get("WTF_CSRF_HEADERS", ["X-CSRFToken", "X-CSRF-Token"])
    token = next((request.headers[name] for name in names if request.headers.get(name)), None)
    if token is None:
        return False
    try:
        validate_csrf(token)
    except ValidationError:
        return False
    return True
