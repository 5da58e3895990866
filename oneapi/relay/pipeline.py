"""The relay of one JSON request: authenticate, reserve quota, pick a channel, call it through its
adaptor (retrying other channels on 429, 5xx and connection failures), answer the client (streams
chunk by chunk), then settle the charge and write the consume log.

Stream policy: the client gets each chunk as soon as the upstream sends it, and `[DONE]` always ends
the stream. Nothing is retried once the first byte went to the client. When the client disconnects
the upstream connection is closed at once; when the upstream fails mid-stream the client gets an
error event. Either way the request is billed for what was delivered: the upstream's usage when it
reported one, otherwise tokens counted locally from the text that passed. The log row says which.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import requests
from flask import Flask, Response, current_app, g, request
from sqlalchemy import exc as sa_exc

from oneapi.extensions import db
from oneapi.models import LogType
from oneapi.relay import cache, channeltypes, health, selection
from oneapi.relay.adaptors import get_adaptor
from oneapi.relay.adaptors.base import Adaptor
from oneapi.relay.auth import Caller, authenticate, check_model_allowed
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import LocalError, RelayError, UpstreamError
from oneapi.relay.http import session
from oneapi.relay.inbound import Inbound, read_json
from oneapi.relay.modes import RelayMode
from oneapi.relay.pricing import Price, price_for
from oneapi.relay.sse import DONE, encode, iter_events, iter_ndjson
from oneapi.relay.tokenizer import count_text
from oneapi.relay.usage import StreamState, Usage
from oneapi.services import charging, logs, options
from oneapi.services.charging import Payer

log = logging.getLogger("oneapi.relay")
SETTLE_RETRY_DELAYS = (0.1, 0.5, 2.0)
MAX_TRAILING_BYTES = 65536
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"}


@dataclass
class Attempt:
    channel: cache.ChannelState
    ctx: RelayContext
    adaptor: Adaptor
    price: Price
    started: float = field(default_factory=time.monotonic)


def relay_json(mode: RelayMode, path_model: str = "") -> Response:
    caller = authenticate(request.headers.get("Authorization", ""))
    inbound = read_json(mode, path_model)
    check_model_allowed(caller, inbound.model)
    return JsonRelay(caller, inbound).run()


class JsonRelay:
    def __init__(self, caller: Caller, inbound: Inbound) -> None:
        self.caller = caller
        self.inbound = inbound
        self.config = current_app.config["ONEAPI"]
        self.payer = Payer(caller.user_id, caller.token_id, caller.unlimited)
        self.prompt_tokens = inbound.prompt_tokens(options.get_bool("ApproximateTokenEnabled"))
        self.reserved = 0
        self.failed: list[int] = []

    def run(self) -> Response:
        candidates = self._candidates()
        attempt = self._prepare(self._first_channel(candidates))
        self.reserved = charging.reserve(self.payer, self.reservation(attempt))
        retries = 0 if self.caller.pinned_channel else max(options.get_int("RetryTimes"), 0)
        while True:
            try:
                response = self._call(attempt)
            except UpstreamError as exc:
                health.record_failure(attempt.channel.id, exc)
                self.failed.append(attempt.channel.id)
                nxt = self._next_channel(exc, candidates, retries)
                if nxt is None:
                    charging.refund(self.payer, self.reserved)
                    raise self._final_error(exc, attempt) from None
                retries -= 1
                attempt = self._prepare(nxt)
            except BaseException:
                charging.refund(self.payer, self.reserved)
                raise
            else:
                if not self.failed:
                    health.record_success(attempt.channel.id)
                return response

    # -- what a request costs (subclasses price images and audio differently) -------------------
    def reservation(self, attempt: Attempt) -> int:
        return attempt.price.reservation(self.prompt_tokens, self.inbound.max_tokens)

    def cost(self, attempt: Attempt, usage: Usage) -> int:
        return attempt.price.cost(usage.prompt_tokens, usage.completion_tokens)

    def describe(self, attempt: Attempt, usage: Usage, stream_end: str) -> str:
        return attempt.price.describe(usage.source, stream_end)

    def encode(self, body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        """The upstream request body and any header it needs besides the adaptor's."""
        return json.dumps(body, ensure_ascii=False).encode(), {}

    # -- channels -----------------------------------------------------------------------------
    def _candidates(self) -> list[cache.ChannelState]:
        if self.caller.pinned_channel:
            return []
        found = cache.channels_for(self.caller.group, self.inbound.model)
        # Channels that cannot serve this kind of request are skipped; when no other channel is left,
        # the first one's own refusal explains why.
        able = [c for c in found if _can_serve(c.type, self.inbound.mode)]
        return able or found

    def _first_channel(self, candidates: list[cache.ChannelState]) -> cache.ChannelState:
        if self.caller.pinned_channel:
            channel = cache.channel_by_id(self.caller.pinned_channel)
            if channel is None:
                raise LocalError(400, "无效的渠道 Id")
            if channel.status != 1:
                raise LocalError(403, "该渠道已被禁用")
            return channel
        channel = selection.pick(candidates)
        if channel is None:
            raise LocalError(503, f"当前分组 {self.caller.group} 下对于模型 {self.inbound.model} 无可用渠道",
                             code="model_not_found")
        return channel

    def _next_channel(self, exc: UpstreamError, candidates: list[cache.ChannelState],
                      retries: int) -> cache.ChannelState | None:
        log.warning("channel #%s failed: %s %s", self.failed[-1], exc.status, exc.message)
        if retries <= 0 or not exc.retryable:
            return None
        return selection.pick(candidates, exclude=self.failed, attempt=len(self.failed))

    def _prepare(self, channel: cache.ChannelState) -> Attempt:
        adaptor = get_adaptor(channel.type)
        if not adaptor.supports(channel.type, self.inbound.mode):
            raise adaptor.refusal(channel.type, self.inbound.mode)
        model = channel.model_mapping.get(self.inbound.model) or self.inbound.model
        ctx = RelayContext(
            mode=self.inbound.mode, channel_id=channel.id, channel_type=channel.type, channel_name=channel.name,
            base_url=channeltypes.base_url(channel.type, channel.base_url), key=channel.key, model=model,
            original_model=self.inbound.model, stream=self.inbound.stream, config=self._channel_config(channel),
            path=request.full_path.rstrip("?"), headers=_forwardable_headers(),
            client_wants_usage=self.inbound.wants_usage, prompt_tokens=self.prompt_tokens,
            request_id=g.get("request_id", ""), user_id=self.caller.user_id, token_id=self.caller.token_id,
            token_name=self.caller.token_name, group=self.caller.group)
        return Attempt(channel, ctx, adaptor, price_for(model, channel.type, self.caller.group))

    def _channel_config(self, channel: cache.ChannelState) -> dict[str, Any]:
        merged = dict(channel.config)
        if channel.other and not merged.get("api_version"):
            merged.setdefault("api_version", channel.other)
            merged.setdefault("library_id", channel.other)
            merged.setdefault("plugin", channel.other)
        if "gemini_version" in self.config.explicitly_set:
            merged.setdefault("gemini_version", self.config.gemini_version)
        merged.setdefault("gemini_safety_setting", self.config.gemini_safety_setting)
        merged.setdefault("enforce_include_usage", self.config.enforce_include_usage)
        return merged

    # -- the upstream call -----------------------------------------------------------------------
    def _call(self, attempt: Attempt) -> Response:
        body = self._upstream_body(attempt)
        response = self._post(attempt, body)
        if not 200 <= response.status_code < 300:
            error = attempt.adaptor.convert_error(response.status_code, response.content, attempt.ctx)
            response.close()
            raise error
        if attempt.ctx.stream and "json" in response.headers.get("Content-Type", "") \
                and "stream" not in response.headers.get("Content-Type", ""):
            # A JSON body to a stream request is an error answer whatever its status says.
            error = attempt.adaptor.convert_error(502, response.content, attempt.ctx)
            response.close()
            raise error
        if attempt.ctx.stream:
            return self._stream(attempt, response)
        return self._complete(attempt, response)

    def _upstream_body(self, attempt: Attempt) -> dict[str, Any]:
        body = dict(self.inbound.body)
        body["model"] = attempt.ctx.model
        if attempt.channel.system_prompt and self.inbound.mode == RelayMode.CHAT:
            body["messages"] = _with_system_prompt(body.get("messages") or [], attempt.channel.system_prompt)
        return attempt.adaptor.convert_request(body, attempt.ctx)

    def _post(self, attempt: Attempt, body: dict[str, Any]) -> requests.Response:
        timeout = self.config.relay_timeout or None
        data, extra_headers = self.encode(body)
        headers = {**attempt.adaptor.request_headers(attempt.ctx), **extra_headers}
        try:
            return session(self.config.relay_proxy).post(
                attempt.adaptor.request_url(attempt.ctx), data=data, headers=headers, stream=attempt.ctx.stream,
                timeout=(timeout or 30, timeout))
        except requests.Timeout:
            raise UpstreamError(504, "upstream timed out", code="upstream_timeout", connection=True) from None
        except requests.RequestException as exc:
            raise UpstreamError(502, f"upstream connection failed: {type(exc).__name__}", code="do_request_failed",
                                connection=True) from None

    def _complete(self, attempt: Attempt, response: requests.Response) -> Response:
        raw = response.content
        try:
            parsed = json.loads(raw)
        except ValueError:
            raise UpstreamError(502, "upstream answered invalid JSON", code="unmarshal_response_body_failed",
                                connection=True) from None
        converted, usage = attempt.adaptor.convert_response(parsed, attempt.ctx)
        if usage is None or usage.total_tokens == 0:
            usage = Usage(self.prompt_tokens, count_text(_reply_text(converted)), "counted")
        self._settle(attempt, usage, stream_end="")
        payload = raw if converted is parsed else json.dumps(converted, ensure_ascii=False).encode()
        return Response(payload, status=response.status_code, mimetype="application/json")

    def _stream(self, attempt: Attempt, response: requests.Response) -> Response:
        app = current_app._get_current_object()
        started: list[bool] = []
        generator = _stream_body(self, app, attempt, response, started)
        answer = Response(generator, mimetype="text/event-stream", headers=STREAM_HEADERS)
        answer.call_on_close(lambda: None if started else _never_read(self, app, attempt, response))
        return answer

    # -- billing ---------------------------------------------------------------------------------
    def _settle(self, attempt: Attempt, usage: Usage, stream_end: str) -> int:
        """Charge the final cost and write the consume log, in one transaction; a transient database
        failure (lost connection, deadlock, too many connections) is retried, so the charge and its
        log row are never lost to it."""
        for delay in SETTLE_RETRY_DELAYS:
            try:
                return self._settle_once(attempt, usage, stream_end)
            except sa_exc.OperationalError:
                db.session.rollback()
                log.warning("settling request %s failed; retrying in %.1fs", attempt.ctx.request_id, delay)
                time.sleep(delay)
        return self._settle_once(attempt, usage, stream_end)

    def _settle_once(self, attempt: Attempt, usage: Usage, stream_end: str) -> int:
        cost = self.cost(attempt, usage)
        charged = charging.settle_and_count(self.payer, self.reserved, cost, attempt.channel.id)
        if options.get_bool("LogConsumeEnabled"):
            logs.record(self.caller.user_id, LogType.CONSUME, self.describe(attempt, usage, stream_end),
                        username=self.caller.username, token_name=self.caller.token_name, model_name=attempt.ctx.model,
                        quota=charged, prompt_tokens=usage.prompt_tokens,
                        completion_tokens=usage.completion_tokens, channel_id=attempt.channel.id,
                        request_id=attempt.ctx.request_id, is_stream=attempt.ctx.stream,
                        elapsed_time=int((time.monotonic() - attempt.started) * 1000),
                        system_prompt_reset=bool(attempt.channel.system_prompt))
        db.session.commit()
        self.reserved = 0
        return charged

    def _stream_usage(self, state: StreamState) -> Usage:
        if state.usage is not None and state.usage.total_tokens > 0:
            return state.usage
        return Usage(self.prompt_tokens, count_text(state.text), "counted")

    def _final_error(self, exc: UpstreamError, attempt: Attempt) -> RelayError:
        if self.caller.role < 10:
            exc.message = _scrub(exc.message, attempt.ctx)
        return exc


def _stream_body(relay: JsonRelay, app: Flask, attempt: Attempt, response: requests.Response,
                 started: list[bool]) -> Iterator[bytes]:
    started.append(True)
    state = StreamState()
    end = "upstream_closed"
    # Kept here so that, after [DONE], the body's end can still be read from it (see _finish_upstream).
    chunks = response.iter_content(chunk_size=None)
    try:
        reader = iter_ndjson if attempt.adaptor.stream_format == "ndjson" else iter_events
        events = reader(chunks)
        for item in attempt.adaptor.convert_stream(events, attempt.ctx, state):
            state.chunks += 1
            yield encode(item)
        end = "completed"
        if attempt.ctx.client_wants_usage and not state.usage_forwarded:
            yield encode(_usage_chunk(attempt.ctx, relay._stream_usage(state)))
        yield DONE
    except GeneratorExit:
        end = "client_disconnected"
        raise
    except Exception as exc:
        end = "upstream_error"
        log.warning("stream from channel #%s failed: %s", attempt.channel.id, exc)
        error = exc if isinstance(exc, RelayError) else UpstreamError(502, "upstream stream interrupted")
        yield encode(json.dumps(error.body(attempt.ctx.request_id), ensure_ascii=False))
        yield DONE
    finally:
        _finish_upstream(response, chunks, reuse=end == "completed")
        with app.app_context():
            try:
                relay._settle(attempt, relay._stream_usage(state), end)
            except Exception:
                log.exception("settling a stream failed")
                db.session.rollback()
            finally:
                db.session.remove()


def _never_read(relay: JsonRelay, app: Flask, attempt: Attempt, response: requests.Response) -> None:
    """The server closed the answer without reading a byte of it (the client left first): a generator
    that never started runs no `finally`, so the upstream is closed and the prompt settled here."""
    response.close()
    with app.app_context():
        try:
            relay._settle(attempt, Usage(relay.prompt_tokens, 0, "counted"), "client_disconnected")
        except Exception:
            log.exception("settling an unread stream failed")
            db.session.rollback()
        finally:
            db.session.remove()


def _can_serve(channel_type: int, mode: RelayMode) -> bool:
    try:
        return get_adaptor(channel_type).supports(channel_type, mode)
    except LocalError:
        return False


def _finish_upstream(response: requests.Response, chunks: Iterator[bytes], reuse: bool) -> None:
    """After a complete stream, read what is left of the body (the end of the chunked encoding after
    `[DONE]`, a few bytes) so the keep-alive connection goes back to the pool instead of being closed
    with a TCP and TLS handshake lost; a client that left or a broken stream closes it at once."""
    if reuse:
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


def _usage_chunk(ctx: RelayContext, usage: Usage) -> dict[str, Any]:
    return {"id": f"chatcmpl-{ctx.request_id}", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": ctx.original_model, "choices": [], "usage": usage.as_openai()}


def _reply_text(body: dict[str, Any]) -> str:
    parts = []
    for choice in body.get("choices") or []:
        message = choice.get("message") or {}
        parts.append(str(message.get("content") or choice.get("text") or ""))
    return "".join(parts)


def _with_system_prompt(messages: list[Any], prompt: str) -> list[Any]:
    """The channel's forced system prompt replaces a leading system message or is put first."""
    if messages and isinstance(messages[0], dict) and messages[0].get("role") == "system":
        return [{**messages[0], "content": prompt}, *messages[1:]]
    return [{"role": "system", "content": prompt}, *messages]


FORWARDABLE = {"HTTP_ANTHROPIC_VERSION": "anthropic-version", "HTTP_ANTHROPIC_BETA": "anthropic-beta",
               "HTTP_ACCEPT": "accept", "HTTP_OPENAI_ORGANIZATION": "openai-organization"}


def _forwardable_headers() -> dict[str, str]:
    # Straight from the WSGI environ: the headers view scans every header for each name asked.
    environ = request.environ
    return {name: environ[key] for key, name in FORWARDABLE.items() if key in environ}


def _scrub(message: str, ctx: RelayContext) -> str:
    """Upstream keys and hosts are for admins' eyes only."""
    for secret in (ctx.key, ctx.base_url, ctx.base_url.split("://", 1)[-1]):
        if secret and len(secret) > 4:
            message = message.replace(secret, "***")
    return message

