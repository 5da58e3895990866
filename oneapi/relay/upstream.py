"""The upstream exchange of one attempt: every I/O step an adaptor asks for (see `adaptors.base`),
performed in order through the one HTTP helper (`http.send`) or the websocket client.

    credential  cached per channel until a minute before it expires; a 401 answer drops it
    first call  signed by the adaptor over its final bytes, sent over http or a websocket
    follow-ups  an asynchronous task polled to completion, at most TASK_SECONDS and TASK_STEPS,
                abandoned as soon as the client is gone

The relay pipeline and the channel tests both go through `exchange`, so a test sees exactly what a
relayed request would.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from oneapi.relay import wsclient
from oneapi.relay.adaptors.base import Adaptor, Call, Credential
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import UpstreamError
from oneapi.relay.http import send

TASK_SECONDS = 120.0
TASK_STEPS = 100
RENEW_BEFORE = 60.0

_credentials: dict[tuple[int, str], Credential] = {}
_locks: dict[tuple[int, str], threading.Lock] = {}
_locks_lock = threading.Lock()


class ClientGone(Exception):
    """The client left while the pipeline was polling for it."""


def exchange(config: Any, adaptor: Adaptor, ctx: RelayContext, body: bytes, headers: dict[str, str],
             *, stream: bool | None = None, client_gone: Callable[[], bool] | None = None) -> tuple[Any, bool]:
    """Perform the attempt's calls; returns the final upstream answer (a `requests.Response`, or the
    websocket's answer) and whether it is a stream. `ctx` must already carry its credential
    (`with_credential`). A non-2xx answer raises the adaptor's error."""
    stream = adaptor.upstream_stream(ctx) if stream is None else stream
    url = adaptor.request_url(ctx)
    if adaptor.transport == "http" and type(adaptor).sign is Adaptor.sign:
        # The common case (OpenAI and its kin) without building a `Call`: this is the hot path.
        answer = _checked(adaptor, ctx, send(config, "POST", url, data=body, headers=headers, stream=stream))
    else:
        answer = perform(config, adaptor, ctx, Call("POST", url, headers, body, stream=stream))
    if stream:
        return answer, True
    return _follow(config, adaptor, ctx, answer, client_gone)


def perform(config: Any, adaptor: Adaptor, ctx: RelayContext, call: Call) -> Any:
    """One call as the adaptor wants it sent (signed, over its transport); a non-2xx answer raises."""
    if type(adaptor).sign is not Adaptor.sign:
        call = adaptor.sign(ctx, call, time.time())
    if adaptor.transport == "websocket":
        answer = wsclient.open_socket(config, call.url, call.body or b"", call.headers)
    else:
        answer = send(config, call.method, call.url, data=call.body, headers=call.headers, stream=call.stream)
    return _checked(adaptor, ctx, answer)


def _checked(adaptor: Adaptor, ctx: RelayContext, answer: Any) -> Any:
    if not 200 <= answer.status_code < 300:
        error = adaptor.convert_error(answer.status_code, answer.content, ctx)
        answer.close()
        if answer.status_code == 401:
            forget(ctx)
        raise error
    return answer


def _follow(config: Any, adaptor: Adaptor, ctx: RelayContext, answer: Any,
            client_gone: Callable[[], bool] | None) -> tuple[Any, bool]:
    if type(adaptor).follow_up is Adaptor.follow_up:
        return answer, False
    deadline = time.monotonic() + TASK_SECONDS
    for step in range(TASK_STEPS):
        nxt = adaptor.follow_up(ctx, _json(answer), step)
        if nxt is None:
            return answer, False
        answer.close()
        if time.monotonic() + nxt.delay > deadline:
            raise UpstreamError(504, f"the provider's task did not finish within {int(TASK_SECONDS)} s",
                                code="task_timeout")
        _wait(nxt.delay, client_gone)
        answer = perform(config, adaptor, ctx, nxt)
        if nxt.stream:
            return answer, True
    raise UpstreamError(504, f"the provider's task did not finish within {TASK_STEPS} polls", code="task_timeout")


def _wait(seconds: float, client_gone: Callable[[], bool] | None) -> None:
    """Sleep (cooperatively under gevent) in short steps, giving up when the client has left."""
    end = time.monotonic() + seconds
    while True:
        if client_gone is not None and client_gone():
            raise ClientGone()
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.25))


def _json(answer: Any) -> Any:
    try:
        return json.loads(answer.content)
    except ValueError:
        raise UpstreamError(502, "upstream answered invalid JSON", code="unmarshal_response_body_failed",
                            connection=True) from None


# -- credentials ------------------------------------------------------------------------------------

def with_credential(config: Any, adaptor: Adaptor, ctx: RelayContext) -> RelayContext:
    """`ctx` with the channel's short-lived credential, from the cache or fetched now."""
    if type(adaptor).credential is Adaptor.credential:
        return ctx
    key = _fingerprint(ctx)
    cached = _fresh(key)
    if cached is None:
        with _lock_for(key):
            cached = _fresh(key) or _obtain(config, adaptor, ctx, key)
    if cached is None:
        return ctx
    return dataclasses.replace(ctx, credential=cached.value)


def forget(ctx: RelayContext) -> None:
    """Drop the channel's cached credential (the upstream refused it)."""
    _credentials.pop(_fingerprint(ctx), None)


def _obtain(config: Any, adaptor: Adaptor, ctx: RelayContext, key: tuple[int, str]) -> Credential | None:
    now = time.time()
    asked = adaptor.credential(ctx, now)
    if isinstance(asked, Call):
        answer = send(config, asked.method, asked.url, data=asked.body, headers=asked.headers)
        try:
            asked = adaptor.read_credential(ctx, answer.status_code, answer.content, time.time())
        finally:
            answer.close()
    if asked is not None:
        # An edited key or config replaces the channel's credential rather than adding one.
        for stale in [k for k in _credentials if k[0] == key[0] and k != key]:
            _credentials.pop(stale, None)
            _locks.pop(stale, None)
        _credentials[key] = asked
    return asked


def _fresh(key: tuple[int, str]) -> Credential | None:
    found = _credentials.get(key)
    if found is not None and found.expires_at - RENEW_BEFORE > time.time():
        return found
    return None


def _fingerprint(ctx: RelayContext) -> tuple[int, str]:
    """The channel and a digest of what its credential derives from: an edited key or config is a
    different credential."""
    material = ctx.key + "\n" + json.dumps(ctx.config, sort_keys=True, default=str) + "\n" + ctx.base_url
    return ctx.channel_id, hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


def _lock_for(key: tuple[int, str]) -> threading.Lock:
    with _locks_lock:
        return _locks.setdefault(key, threading.Lock())
