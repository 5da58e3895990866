"""Upstream HTTP: pooled keep-alive `requests` sessions, one per proxy setting, shared by every request.

Under gevent the sockets are cooperative, so one session serves many greenlets; the pool is sized
for it. Tests may swap the session with `use_session`. The shared session keeps no cookies: one
user's upstream answer must never set a cookie that the next user's request carries.
"""

from __future__ import annotations

import threading
from http.cookiejar import DefaultCookiePolicy

import requests
from requests.adapters import HTTPAdapter

from oneapi.relay.errors import UpstreamError

POOL_CONNECTIONS = 100
POOL_MAXSIZE = 1000

_sessions: dict[str, requests.Session] = {}
_lock = threading.Lock()


def session(proxy: str = "") -> requests.Session:
    current = _sessions.get(proxy)
    if current is None:
        with _lock:
            current = _sessions.get(proxy) or _new_session(proxy)
            _sessions[proxy] = current
    return current


def _new_session(proxy: str) -> requests.Session:
    new = requests.Session()
    adapter = HTTPAdapter(pool_connections=POOL_CONNECTIONS, pool_maxsize=POOL_MAXSIZE, max_retries=0,
                          pool_block=False)
    new.mount("http://", adapter)
    new.mount("https://", adapter)
    # Proxy settings are read once: with trust_env, requests re-reads the environment on every call.
    new.proxies = {"http": proxy, "https": proxy} if proxy else _environment_proxies()
    new.trust_env = False
    new.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return new


def _environment_proxies() -> dict[str, str]:
    """HTTP(S)_PROXY / NO_PROXY from the environment, as One API's Go client honours them."""
    from urllib.request import getproxies

    found = getproxies()
    proxies = {scheme: found[scheme] for scheme in ("http", "https") if scheme in found}
    if "no" in found:
        proxies["no_proxy"] = found["no"]
    return proxies


def use_session(proxy: str, replacement: requests.Session) -> None:
    _sessions[proxy] = replacement


def send(config, method: str, url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None,
         stream: bool = False) -> requests.Response:
    """One upstream call with the relay's timeouts (RELAY_TIMEOUT, or 30 s to connect and no read limit)
    and proxy; a failure to get an answer at all is an UpstreamError that another channel may retry.

    `config` is the app's `Config`. The channel test, the balance readers and the proxy use it too,
    so every upstream call fails in the same words.
    """
    timeout = config.relay_timeout or None
    client = session(config.relay_proxy)
    prepared = requests.PreparedRequest()
    try:
        # Prepared here rather than by Session.request, which merges cookies, auth, hooks and the
        # environment on every call: a quarter of the time requests spends on a relayed request.
        prepared.prepare(method=method, url=url, headers={**client.headers, **(headers or {})}, data=data)
        return client.send(prepared, stream=stream, timeout=(timeout or 30, timeout))
    except requests.Timeout:
        raise UpstreamError(504, "upstream timed out", code="upstream_timeout", connection=True) from None
    except requests.RequestException as exc:
        raise UpstreamError(502, f"upstream connection failed: {type(exc).__name__}", code="do_request_failed",
                            connection=True) from None
