"""The relay of one JSON request: authenticate, hold quota, pick a channel, call it through its
adaptor (retrying other channels on 429, 5xx and connection failures), answer the client (streams
chunk by chunk), then settle the charge and write the consume log, exactly once.

Stream policy: the client gets each chunk as soon as the upstream sends it, and `[DONE]` always ends
the stream. Nothing is retried once the first byte went to the client. When the client disconnects
the upstream connection is closed at once; when the upstream fails mid-stream the client gets an
error event; when the payer cannot pay for more output the stream ends with `finish_reason:
"length"`. A completed stream is billed by the upstream's usage when it reported one; any other by
at least what was delivered (the larger of the reported and the locally counted output).

Non-stream policy: a chat or completions request without `max_tokens` holds the price of an answer
of ANSWER_HOLD_TOKENS completion tokens. A payer who cannot hold that much is still served, through
a metered upstream stream folded back into the non-stream answer (`assemble`), so that no answer
outgrows what its payer can pay; the README's billing policy gives the whole rule.

Subclasses (images, audio) change what a request costs and how its answer is read through the
public hooks `reservation`, `cost`, `describe`, `encode`, `upstream_body` and `answer`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import select
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from flask import Flask, Response, current_app, g, request

from oneapi.relay import cache, channeltypes, health, selection, upstream
from oneapi.relay.adaptors import get_adaptor
from oneapi.relay.adaptors.base import Adaptor
from oneapi.relay.assemble import assemble, parse_chunk
from oneapi.relay.auth import Caller, authenticate, check_model_allowed
from oneapi.relay.context import RelayContext, channel_config
from oneapi.relay.errors import LocalError, UpstreamError, quota_refusal
from oneapi.relay.inbound import Inbound, read_json
from oneapi.relay.metering import Meter, delivered_usage, meter_for
from oneapi.relay.modes import RelayMode
from oneapi.relay.pricing import ANSWER_HOLD_MODES, ANSWER_HOLD_TOKENS, Price, price_for
from oneapi.relay.scrub import Scrubber, scrubber_for
from oneapi.relay.sse import reader
from oneapi.relay.streaming import finish_upstream, never_read, stream_body
from oneapi.relay.tokenizer import count_text
from oneapi.relay.upstream import ClientGone
from oneapi.relay.usage import StreamState, Usage
from oneapi.services import options, settlement
from oneapi.services.charging import InsufficientQuota, Payer
from oneapi.services.settlement import ConsumeRecord, Hold

log = logging.getLogger("oneapi.relay")
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"}


@dataclass
class Attempt:
    channel: cache.ChannelState
    ctx: RelayContext
    adaptor: Adaptor
    price: Price
    scrub: Scrubber
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
        self.hold = Hold(self.payer, g.get("request_id", ""))
        self.prompt_tokens = 0
        self.failed: list[int] = []
        self.metered = False
        """A non-stream request served through a metered upstream stream (see the module docstring)."""

    def run(self) -> Response:
        try:
            # A payer without money is refused before the prompt is even counted.
            settlement.require_funds(self.payer, self.caller.user_quota)
            self.prompt_tokens = self.inbound.prompt_tokens(options.get_bool("ApproximateTokenEnabled"))
            candidates = self._candidates()
            attempt = self._prepare(self._first_channel(candidates))
            self._take_hold(attempt)
            if self.metered:
                attempt.ctx = dataclasses.replace(attempt.ctx, stream=True)
        except InsufficientQuota as exc:
            raise quota_refusal(exc) from None
        try:
            return self._attempts(attempt, candidates)
        except BaseException:
            # A no-op once the hold was settled (a stream settles in its own generator).
            self.hold.release()
            raise

    def _take_hold(self, attempt: Attempt) -> None:
        if self.inbound.mode in ANSWER_HOLD_MODES and not self.inbound.stream and not self.inbound.max_tokens:
            try:
                self.hold.take(attempt.price.reservation(self.prompt_tokens, ANSWER_HOLD_TOKENS * self.inbound.choices))
                return
            except InsufficientQuota:
                self.metered = True
        self.hold.take(self.reservation(attempt))

    def _attempts(self, attempt: Attempt, candidates: list[cache.ChannelState]) -> Response:
        retries = 0 if self.caller.pinned_channel else max(options.get_int("RetryTimes"), 0)
        while True:
            try:
                response = self._call(attempt)
            except UpstreamError as exc:
                # The disable reason is stored and shown to admins: never with the key an upstream echoed.
                exc.message = attempt.scrub.without_key(exc.message)
                if exc.status == 401:
                    # Also when the provider said so in a 200 body (Baidu): the credential is spent.
                    upstream.forget(attempt.ctx)
                health.record_failure(attempt.channel.id, exc)
                self.failed.append(attempt.channel.id)
                nxt = self._next_channel(exc, attempt, candidates, retries)
                if nxt is None:
                    raise attempt.scrub.error(exc) from None
                retries -= 1
                attempt = self._prepare(nxt)
            else:
                if not self.failed:
                    health.record_success(attempt.channel.id)
                return response

    # -- public hooks: what a request costs and how its answer is read --------------------------
    def reservation(self, attempt: Attempt) -> int:
        """The hold taken before the first upstream call (`max_tokens` is per choice: `n` of them)."""
        return attempt.price.reservation(self.prompt_tokens, self.inbound.max_tokens * self.inbound.choices)

    def cost(self, attempt: Attempt, usage: Usage) -> int:
        """The final charge for the delivered usage."""
        return attempt.price.cost(usage.prompt_tokens, usage.completion_tokens)

    def describe(self, attempt: Attempt, usage: Usage, stream_end: str) -> str:
        """The consume log row's text."""
        return attempt.price.describe(usage.source, stream_end)

    def encode(self, body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        """The upstream request body and any header it needs besides the adaptor's."""
        return json.dumps(body, ensure_ascii=False).encode(), {}

    def upstream_body(self, attempt: Attempt) -> dict[str, Any]:
        """The adaptor's upstream body for the client's (model mapped, forced system prompt applied)."""
        body = dict(self.inbound.body)
        body["model"] = attempt.ctx.model
        if self.metered:
            body["stream"] = True
        if attempt.channel.system_prompt and self.inbound.mode == RelayMode.CHAT:
            body["messages"] = _with_system_prompt(body.get("messages") or [], attempt.channel.system_prompt)
        return attempt.adaptor.convert_request(body, attempt.ctx)

    def answer(self, attempt: Attempt, response: requests.Response) -> Response:
        """The client's answer to a successful non-stream upstream response; settles the request."""
        raw = response.content
        try:
            parsed = json.loads(raw)
        except ValueError:
            raise UpstreamError(502, "upstream answered invalid JSON", code="unmarshal_response_body_failed",
                                connection=True) from None
        converted, usage = attempt.adaptor.convert_response(parsed, attempt.ctx)
        if usage is None or usage.total_tokens == 0:
            usage = Usage(self.prompt_tokens, count_text(_reply_text(converted)), "counted")
            if isinstance(converted, dict) and not converted.get("usage") and "choices" in converted:
                # The client sees what it is billed for, counted here when the provider said nothing.
                converted = {**converted, "usage": usage.as_openai()}
        self.settle(attempt, usage, stream_end="")
        payload = raw if converted is parsed else json.dumps(converted, ensure_ascii=False).encode()
        return Response(attempt.scrub.mask(payload, error=False), status=response.status_code,
                        mimetype="application/json")

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

    def _next_channel(self, exc: UpstreamError, attempt: Attempt, candidates: list[cache.ChannelState],
                      retries: int) -> cache.ChannelState | None:
        # The server log is read by more people than the channel's key is meant for.
        log.warning("channel #%s failed: %s %s", attempt.channel.id, exc.status, attempt.scrub.text(exc.message))
        if retries <= 0 or not exc.retryable:
            return None
        return selection.pick(candidates, exclude=self.failed, attempt=len(self.failed))

    def _prepare(self, channel: cache.ChannelState) -> Attempt:
        adaptor = get_adaptor(channel.type)
        if not adaptor.supports(channel.type, self.inbound.mode):
            raise adaptor.refusal(channel.type, self.inbound.mode)
        model = channel.model_mapping.get(self.inbound.model) or self.inbound.model
        base_url = channeltypes.base_url(channel.type, channel.base_url)
        ctx = RelayContext(
            mode=self.inbound.mode, channel_id=channel.id, channel_type=channel.type, channel_name=channel.name,
            base_url=base_url, key=channel.key, model=model,
            original_model=self.inbound.model, stream=self.inbound.stream or self.metered,
            config=channel_config(channel.config, channel.other, self.config),
            path=request.full_path.rstrip("?"), headers=_forwardable_headers(),
            client_wants_usage=self.inbound.wants_usage, prompt_tokens=self.prompt_tokens,
            request_id=g.get("request_id", ""), user_id=self.caller.user_id, token_id=self.caller.token_id,
            token_name=self.caller.token_name, group=self.caller.group, request_body=self.inbound.body)
        scrub = scrubber_for(channel.key, base_url, self.caller.role < 10)
        return Attempt(channel, ctx, adaptor, price_for(model, channel.type, self.caller.group), scrub)

    # -- the upstream call -----------------------------------------------------------------------
    def _call(self, attempt: Attempt) -> Response:
        attempt.ctx = upstream.with_credential(self.config, attempt.adaptor, attempt.ctx)
        data, extra_headers = self.encode(self.upstream_body(attempt))
        headers = {**attempt.adaptor.request_headers(attempt.ctx), **extra_headers}
        stream = attempt.adaptor.upstream_stream(attempt.ctx) or self.streams_bytes
        try:
            response, streamed = upstream.exchange(self.config, attempt.adaptor, attempt.ctx, data, headers,
                                                   stream=stream, client_gone=client_gone)
        except ClientGone:
            raise LocalError(499, "the client closed the request", code="client_gone") from None
        simulated = attempt.adaptor.stream_format == "json"
        if streamed and attempt.adaptor.stream_format == "sse" and "json" in response.headers.get("Content-Type", "") \
                and "stream" not in response.headers.get("Content-Type", ""):
            # A JSON body where events were due is an error answer whatever its status says (an NDJSON
            # stream is `application/x-ndjson`: events themselves).
            error = attempt.adaptor.convert_error(502, response.content, attempt.ctx)
            response.close()
            raise error
        if self.metered or (streamed and not self.inbound.stream and not self.streams_bytes):
            # A non-stream answer read from a stream (metered, or a provider that only streams).
            return self._metered_answer(attempt, response)
        if attempt.ctx.stream and (streamed or simulated):
            return self._stream(attempt, response)
        return self.answer(attempt, response)

    streams_bytes = False
    """Whether the upstream answer is read as a byte stream even for a non-stream request (speech)."""

    def _stream(self, attempt: Attempt, response: requests.Response) -> Response:
        app = current_app._get_current_object()
        started: list[bool] = []
        generator = stream_body(self, app, attempt, response, started)
        answer = Response(generator, mimetype="text/event-stream", headers=STREAM_HEADERS)
        answer.call_on_close(lambda: None if started else never_read(self, app, attempt, response))
        return answer

    def _metered_answer(self, attempt: Attempt, response: requests.Response) -> Response:
        """A non-stream answer read from a metered upstream stream; cut with `length` where the payer
        can pay no more. A stream that breaks is a failed attempt: the client has received nothing."""
        state, chunks, end, delivered = StreamState(), [], "upstream_closed", 0
        meter = self.meter(attempt, current_app._get_current_object())
        raw = response.iter_content(chunk_size=None)
        try:
            for item in attempt.adaptor.convert_stream(reader(attempt.adaptor.stream_format)(raw), attempt.ctx, state):
                chunk = parse_chunk(item)
                if chunk is not None and isinstance(chunk.get("error"), dict):
                    raise attempt.adaptor.convert_error(502, json.dumps(chunk).encode(), attempt.ctx)
                if not meter.admit(state, delivered):
                    end = "quota_exhausted"
                    break
                delivered = len(state.parts)
                chunks += [chunk] if chunk is not None else []
            else:
                end = "completed"
        except requests.RequestException:
            raise UpstreamError(502, "upstream stream interrupted", connection=True) from None
        finally:
            finish_upstream(response, raw, reuse=end == "completed")
        usage = self.stream_usage(state, end)
        answer = assemble(chunks, self.inbound.mode, usage.as_openai(), attempt.ctx.original_model)
        if end == "quota_exhausted":
            for choice in answer["choices"]:
                choice["finish_reason"] = "length"
        self.settle(attempt, usage, stream_end="quota_exhausted" if end == "quota_exhausted" else "")
        payload = json.dumps(answer, ensure_ascii=False).encode()
        return Response(attempt.scrub.mask(payload, error=False), status=200, mimetype="application/json")

    # -- billing ---------------------------------------------------------------------------------
    def settle(self, attempt: Attempt, usage: Usage, stream_end: str) -> int:
        """Charge the cost of `usage` and write the consume log row, exactly once (see settlement)."""
        record = ConsumeRecord(
            self.caller.user_id, self.caller.username, self.caller.token_name, attempt.ctx.model,
            self.describe(attempt, usage, stream_end), usage.prompt_tokens, usage.completion_tokens,
            attempt.channel.id, attempt.ctx.request_id, self.inbound.stream,
            int((time.monotonic() - attempt.started) * 1000), bool(attempt.channel.system_prompt))
        return self.hold.settle(self.cost(attempt, usage), record)

    def stream_usage(self, state: StreamState, end: str) -> Usage:
        """What a stream that ended so is billed for (see `metering.delivered_usage`)."""
        return delivered_usage(state, end == "completed", self.prompt_tokens)

    def meter(self, attempt: Attempt, app: Flask) -> Meter:
        return meter_for(self.hold, attempt.price, self.prompt_tokens, app)


# Where servers put the client's socket in the environ: ours (`server._handler_class`), gunicorn's
# workers, Werkzeug's development server.
CLIENT_SOCKET_KEYS = ("oneapi.client_socket", "gunicorn.socket", "werkzeug.socket")


def client_gone() -> bool:
    """Whether the client closed its connection (checked while an asynchronous task is polled)."""
    environ = request.environ
    sock = next((environ[key] for key in CLIENT_SOCKET_KEYS if key in environ), None)
    if sock is None:
        return False
    try:
        ready, _, _ = select.select([sock], [], [], 0)
        return bool(ready) and sock.recv(1, socket.MSG_PEEK) == b""
    except ValueError:
        return False  # a TLS socket cannot be peeked: we cannot tell, so the task goes on
    except OSError:
        return True


def _can_serve(channel_type: int, mode: RelayMode) -> bool:
    try:
        return get_adaptor(channel_type).supports(channel_type, mode)
    except LocalError:
        return False


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
