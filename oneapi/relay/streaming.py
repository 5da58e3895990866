"""A relayed stream on its way to the client: chunk by chunk, metered, masked, always ended with
`[DONE]`, and settled however it ends (completed, client gone, upstream broken, payer spent)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import requests
from flask import Flask

from oneapi.extensions import db
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import RelayError, UpstreamError
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import DONE, encode, reader
from oneapi.relay.usage import StreamState, Usage

if TYPE_CHECKING:
    from oneapi.relay.pipeline import Attempt, JsonRelay

log = logging.getLogger("oneapi.relay")
MAX_TRAILING_BYTES = 65536


def stream_body(relay: JsonRelay, app: Flask, attempt: Attempt, response: requests.Response,
                 started: list[bool]) -> Iterator[bytes]:
    """The client's SSE body for a streaming upstream answer; `started` tells the response's close
    hook that this generator ran (and so settles the request itself)."""
    started.append(True)
    state = StreamState()
    end = "upstream_closed"
    meter = relay.meter(attempt, app)
    scrub = attempt.scrub
    # Kept here so that, after [DONE], the body's end can still be read from it (see finish_upstream).
    chunks = response.iter_content(chunk_size=None)
    delivered = 0
    stream_id = f"chatcmpl-{attempt.ctx.request_id}"
    try:
        events = reader(attempt.adaptor.stream_format)(chunks)
        for item in attempt.adaptor.convert_stream(events, attempt.ctx, state):
            if not (meter.within(state) or meter.admit(state, delivered)):
                end = "quota_exhausted"
                yield encode(_cut_chunk(attempt.ctx, stream_id))
                break
            delivered = len(state.parts)
            state.chunks += 1
            if isinstance(item, dict):
                stream_id = item.get("id") or stream_id
            yield scrub.chunk(encode(item))
        else:
            end = "completed"
        if attempt.ctx.client_wants_usage and not state.usage_forwarded:
            yield encode(_usage_chunk(attempt.ctx, relay.stream_usage(state, end), stream_id))
        yield DONE
    except GeneratorExit:
        end = "client_disconnected"
        raise
    except Exception as exc:
        end = "upstream_error"
        log.warning("stream from channel #%s failed: %s", attempt.channel.id, scrub.text(str(exc)))
        error = scrub.error(exc if isinstance(exc, RelayError) else UpstreamError(502, "upstream stream interrupted"))
        yield encode(json.dumps(error.body(attempt.ctx.request_id), ensure_ascii=False))
        yield DONE
    finally:
        finish_upstream(response, chunks, reuse=end == "completed")
        _settle_in(app, relay, attempt, relay.stream_usage(state, end), end)


def never_read(relay: JsonRelay, app: Flask, attempt: Attempt, response: requests.Response) -> None:
    """The server closed the answer without reading a byte of it (the client left first): a generator
    that never started runs no `finally`, so the upstream is closed and the prompt settled here."""
    response.close()
    _settle_in(app, relay, attempt, Usage(relay.prompt_tokens, 0, "counted"), "client_disconnected")


def _settle_in(app: Flask, relay: JsonRelay, attempt: Attempt, usage: Usage, end: str) -> None:
    with app.app_context():
        try:
            relay.settle(attempt, usage, end)
        except Exception:
            log.exception("settling request %s failed", attempt.ctx.request_id)
            db.session.rollback()
        finally:
            db.session.remove()


def finish_upstream(response: requests.Response, chunks: Iterator[bytes], reuse: bool) -> None:
    """After a complete stream, read what is left of the body (the end of the chunked encoding after
    `[DONE]`, a few bytes) so the keep-alive connection goes back to the pool instead of being closed
    with a TCP and TLS handshake lost; a client that left or a broken stream closes it at once."""
    if reuse and getattr(response, "reusable", True):
        try:
            left = 0
            for chunk in chunks:
                left += len(chunk)
                if left > MAX_TRAILING_BYTES:
                    break
            else:
                response.raw.release_conn()
                return
        except Exception:
            log.debug("could not keep the upstream connection", exc_info=True)
    response.close()


def _usage_chunk(ctx: RelayContext, usage: Usage, stream_id: str) -> dict[str, Any]:
    """The usage-only chunk, under the id of the stream's own chunks."""
    return {"id": stream_id, "object": "chat.completion.chunk", "created": int(time.time()),
            "model": ctx.original_model, "choices": [], "usage": usage.as_openai()}


def _cut_chunk(ctx: RelayContext, stream_id: str) -> dict[str, Any]:
    """The last chunk of a stream ended because the payer cannot pay for more: `length`, as when
    `max_tokens` ends an answer, in the mode's own chunk shape."""
    if ctx.mode == RelayMode.COMPLETIONS:
        return {"id": stream_id.replace("chatcmpl-", "cmpl-", 1), "object": "text_completion",
                "created": int(time.time()), "model": ctx.original_model,
                "choices": [{"index": 0, "text": "", "finish_reason": "length"}]}
    return {"id": stream_id, "object": "chat.completion.chunk", "created": int(time.time()),
            "model": ctx.original_model, "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}
