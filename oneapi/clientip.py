"""The client's address: `X-Forwarded-For`/`X-Real-IP` are believed only from trusted proxies.

One API believes those headers from anyone, which lets a client pick its own address for rate
limits and token subnet checks. `TRUSTED_PROXIES` (default: loopback) lists the proxies we believe,
e.g. the Nginx or Baota front on the same machine.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from flask import current_app, request


@lru_cache(maxsize=16)
def _networks(spec: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    nets = []
    for part in spec.split(","):
        part = part.strip()
        if part:
            try:
                nets.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                continue
    return tuple(nets)


def _trusted(address: str, spec: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in _networks(spec))


def client_ip() -> str:
    peer = request.remote_addr or ""
    spec = current_app.config["ONEAPI"].trusted_proxies
    if not _trusted(peer, spec):
        return peer
    forwarded = [p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",") if p.strip()]
    # Walk from the nearest hop back; the first address not itself a trusted proxy is the client.
    for hop in reversed(forwarded):
        if not _trusted(hop, spec):
            return hop
    real = request.headers.get("X-Real-IP", "").strip()
    return real or (forwarded[0] if forwarded else peer)


def from_trusted_proxy() -> bool:
    """The request came through a proxy of `TRUSTED_PROXIES`, whose forwarding headers are believed."""
    return _trusted(request.remote_addr or "", current_app.config["ONEAPI"].trusted_proxies)


def is_https() -> bool:
    """The client reached us over HTTPS: directly, or through a trusted proxy saying so."""
    if request.scheme == "https":
        return True
    if not _trusted(request.remote_addr or "", current_app.config["ONEAPI"].trusted_proxies):
        return False
    return request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower() == "https"
