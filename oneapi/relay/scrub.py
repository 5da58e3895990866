"""Keeping a channel's secrets out of what leaves the gateway: its key never reaches a client or the
server log, and its upstream host is hidden from everyone but admins in error texts."""

from __future__ import annotations

from functools import lru_cache

from oneapi.relay.errors import RelayError

MIN_SECRET = 8
"""Shorter fragments (a region name in `ak|sk|region`) are not secret and would mangle text."""
MASK = "***"
MASK_BYTES = MASK.encode()


class Scrubber:
    def __init__(self, key: str, base_url: str, *, hide_host: bool) -> None:
        secrets = {key, *key.split("|")}
        hidden = {*secrets}
        if hide_host and base_url:
            hidden |= {base_url, base_url.split("://", 1)[-1]}
        self.in_chunks = _longest_first(s.encode() for s in secrets)
        self.keys = _longest_first(secrets)
        self.in_errors = _longest_first(hidden)
        self.in_error_chunks = _longest_first(s.encode() for s in hidden)

    def text(self, message: str) -> str:
        """An error text as a client or the server log may see it."""
        for secret in self.in_errors:
            if secret in message:
                message = message.replace(secret, MASK)
        return message

    def without_key(self, message: str) -> str:
        """A text for admins' eyes (a channel's disable reason, its test result): the key masked only."""
        for secret in self.keys:
            if secret in message:
                message = message.replace(secret, MASK)
        return message

    def error(self, exc: RelayError) -> RelayError:
        exc.message = self.text(exc.message)
        return exc

    def chunk(self, payload: bytes) -> bytes:
        """Stream bytes: the key is masked in any event (a provider may echo it), the host only in
        error events, where masking cannot mangle an answer that names it."""
        if b'"error"' in payload:
            return self.mask(payload, error=True)
        for secret in self.in_chunks:
            if secret in payload:
                payload = payload.replace(secret, MASK_BYTES)
        return payload

    def mask(self, payload: bytes, *, error: bool) -> bytes:
        """A body: the key always masked, the host too in an error body."""
        for secret in self.in_error_chunks if error else self.in_chunks:
            if secret in payload:
                payload = payload.replace(secret, MASK_BYTES)
        return payload


@lru_cache(maxsize=1024)
def scrubber_for(key: str, base_url: str, hide_host: bool) -> Scrubber:
    """The Scrubber of a channel, built once per key and address (the relay asks for one per request)."""
    return Scrubber(key, base_url, hide_host=hide_host)


def _longest_first(values) -> tuple:
    return tuple(sorted((v for v in values if len(v) >= MIN_SECRET), key=len, reverse=True))
