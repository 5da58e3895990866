"""`/v1/oneapi/proxy/<channel id>/<path>`: a request passed to a channel's base URL with its key.

One API let any key reach any channel with any method and path, and billed nothing. Here the key
must be valid and funded, its model list holds, and the channel must serve the key owner's group.
Users reach only the relay's own text endpoints (chat/completions, completions, embeddings,
moderations, and GET models); admins may send any method and path. A request naming a model is held
and billed like a relayed one: by the usage the answer reports (JSON or SSE), else by the tokens
counted locally, else (an answer with no text to count) by its hold — never 0 by default. An answer
is passed back with the channel's key (and, for users, its host) masked and without upstream
cookies; streams are passed on event by event.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests
from flask import Flask, Response, current_app, g, request

from oneapi import jsonbody
from oneapi.extensions import db
from oneapi.models import Channel, Role
from oneapi.relay import cache, channeltypes
from oneapi.relay.adaptors import get_adaptor
from oneapi.relay.auth import Caller, authenticate, check_model_allowed
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import LocalError, quota_refusal
from oneapi.relay.http import send
from oneapi.relay.inbound import read_json
from oneapi.relay.metering import delivered_usage, meter_for
from oneapi.relay.modes import RelayMode
from oneapi.relay.pricing import ANSWER_HOLD_MODES, ANSWER_HOLD_TOKENS, SOURCES, Price, price_for
from oneapi.relay.scrub import Scrubber, scrubber_for
from oneapi.relay.sse import SSEEvent, iter_events
from oneapi.relay.tokenizer import count_text
from oneapi.relay.usage import StreamState, Usage
from oneapi.services import options, settlement
from oneapi.services.charging import InsufficientQuota, Payer
from oneapi.services.settlement import ConsumeRecord, Hold

DROPPED_HEADERS = {"host", "content-length", "accept-encoding", "connection", "authorization", "cookie",
                   "x-forwarded-for", "x-real-ip", "x-api-key", "api-key"}
DROPPED_RESPONSE_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding", "set-cookie",
                            "set-cookie2", "keep-alive"}
# The relay's own endpoints a user may reach through the proxy: (method, path without `v1/`) → mode.
USER_ENDPOINTS = {("POST", "chat/completions"): RelayMode.CHAT, ("POST", "completions"): RelayMode.COMPLETIONS,
                  ("POST", "embeddings"): RelayMode.EMBEDDINGS, ("POST", "moderations"): RelayMode.MODERATIONS,
                  ("GET", "models"): None}
USER_HEADERS = {"content-type", "accept", "user-agent"}
BINARY_TYPES = ("audio/", "image/", "video/", "application/octet-stream")


@dataclass
class Proxied:
    """One proxied request: who pays, what it holds and how its answer is priced."""

    caller: Caller
    channel: cache.ChannelState
    model: str
    price: Price | None
    prompt_tokens: int
    hold: Hold
    scrub: Scrubber
    what: str
    """Method and path, for the log row."""
    started: float = 0.0

    def settle(self, usage: Usage, status: int) -> None:
        if self.price is None:
            cost = 0
        elif usage.total_tokens:
            cost = self.price.cost(usage.prompt_tokens, usage.completion_tokens)
        else:
            cost = max(self.hold.held, 1)  # nothing to count: the hold, never 0
        source = SOURCES.get(usage.source, usage.source)
        record = ConsumeRecord(
            self.caller.user_id, self.caller.username, self.caller.token_name, self.model,
            f"代理：{self.what}，状态 {status}，用量：{source}", usage.prompt_tokens,
            usage.completion_tokens, self.channel.id, self.hold.request_id,
            elapsed_time=int((time.monotonic() - self.started) * 1000))
        self.hold.settle(cost, record)


def relay_proxy(channel_id: str, target: str) -> Response:
    caller = authenticate(request.headers.get("Authorization", ""))
    channel = _channel_for(caller, channel_id)
    path = _checked_target(target)
    proxied = _open(caller, channel, path)
    try:
        upstream = send(current_app.config["ONEAPI"], request.method, _url(channel, path),
                        data=request.get_data(), headers=_headers(caller, channel), stream=True)
    except BaseException:
        proxied.hold.release()
        raise
    return _answer(proxied, upstream)


def _open(caller: Caller, channel: cache.ChannelState, path: str) -> Proxied:
    payer = Payer(caller.user_id, caller.token_id, caller.unlimited)
    hold = Hold(payer, g.get("request_id", ""))
    whole = False
    try:
        # Before the body is read and counted, as on the relay.
        settlement.require_funds(payer, caller.user_quota)
        model, prompt, max_tokens, choices, whole = _request_facts(caller, path)
        check_model_allowed(caller, model)
        if caller.role < Role.ADMIN and model and not _serves(channel, caller.group, model):
            # As on the relay: a channel serves the models its admin gave it, to its groups.
            raise LocalError(403, f"该渠道不为当前分组 {caller.group} 提供模型 {model}", code="model_not_found")
        if caller.models and not model and request.method != "GET":
            raise LocalError(403, "该令牌只能用于指定模型，代理请求须在请求体中指明 model")
        price = price_for(model, channel.type, caller.group) if model else None
        hold.take(price.reservation(prompt, ANSWER_HOLD_TOKENS * choices if whole else max_tokens * choices)
                  if price else 0)
    except InsufficientQuota as exc:
        if whole:
            raise LocalError(403, "余额不足以预留完整回答的费用：请设置 max_tokens 或使用流式请求",
                             code="insufficient_user_quota") from None
        raise quota_refusal(exc) from None
    scrub = scrubber_for(channel.key, channeltypes.base_url(channel.type, channel.base_url), caller.role < Role.ADMIN)
    return Proxied(caller, channel, model, price, prompt, hold, scrub, f"{request.method} {request.path}",
                   time.monotonic())


def _request_facts(caller: Caller, path: str) -> tuple[str, int, int, int, bool]:
    """(model, prompt tokens, max_tokens, choices, whether the whole answer must be held) of the request;
    users' requests are checked as the relay's. The proxy passes answers through as they come, so
    a non-stream answer without `max_tokens` cannot be metered: its payer must hold a whole one."""
    endpoint = (request.method, path.removeprefix("v1/"))
    if caller.role < Role.ADMIN and endpoint not in USER_ENDPOINTS:
        raise LocalError(403, "代理只开放中转接口（chat/completions、completions、embeddings、moderations、models）",
                         code="proxy_path_not_allowed")
    mode = USER_ENDPOINTS.get(endpoint)
    if mode is not None:
        inbound = read_json(mode)
        whole = mode in ANSWER_HOLD_MODES and not inbound.stream and not inbound.max_tokens
        return (inbound.model, inbound.prompt_tokens(options.get_bool("ApproximateTokenEnabled")),
                inbound.max_tokens, inbound.choices, whole)
    body = _json_body()
    model = body.get("model") if isinstance(body.get("model"), str) else ""
    return model, 0, 0, 1, False


def _json_body() -> dict[str, Any]:
    """An admin's body to any path, read for its model only: anything but a JSON object has none."""
    try:
        body = jsonbody.parse(request.get_data() or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _checked_target(target: str) -> str:
    """The path below the channel's base URL; dot segments, empty segments, backslashes and control
    characters are refused for everyone (they would climb out of the base URL's path)."""
    segments = target.split("/")
    if any(s in ("", ".", "..") for s in segments) or "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F
                                                                            for c in target):
        raise LocalError(400, "invalid proxy path", code="invalid_proxy_path")
    return target


def _url(channel: cache.ChannelState, path: str) -> str:
    url = f"{channeltypes.base_url(channel.type, channel.base_url)}/{path}"
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    return url


def _channel_for(caller: Caller, raw_id: str) -> cache.ChannelState:
    if not (raw_id.isascii() and raw_id.isdigit()) or len(raw_id) > 18:
        raise LocalError(400, "无效的渠道 Id")
    channel = cache.channel_by_id(int(raw_id))
    if channel is None:
        raise LocalError(400, "无效的渠道 Id")
    if channel.status != 1:
        raise LocalError(403, "该渠道已被禁用")
    if caller.role < Role.ADMIN and caller.group not in _groups_of(channel.id):
        raise LocalError(403, "该渠道不服务于当前分组")
    return channel


def _headers(caller: Caller, channel: cache.ChannelState) -> dict[str, str]:
    """The client's headers for the upstream: an admin's all but the hop-by-hop and credential ones;
    a user's only the few the relay's endpoints need, so that no user picks the organisation or
    project of the channel's account (`OpenAI-Organization`) or turns on its paid betas."""
    if caller.role >= Role.ADMIN:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in DROPPED_HEADERS}
    else:
        headers = {k: v for k, v in request.headers.items() if k.lower() in USER_HEADERS}
    headers.update(_credentials(channel))
    return headers


def _credentials(channel: cache.ChannelState) -> dict[str, str]:
    """The channel's own way of presenting its key (a Proxy-type channel's key is the header value)."""
    ctx = RelayContext(mode=RelayMode.PROXY, channel_id=channel.id, channel_type=channel.type,
                       channel_name=channel.name, base_url="", key=channel.key, model="", original_model="")
    adaptor_headers = get_adaptor(channel.type).request_headers(ctx)
    return {k: v for k, v in adaptor_headers.items() if k.lower() != "content-type"}


def _serves(channel: cache.ChannelState, group: str, model: str) -> bool:
    return any(candidate.id == channel.id for candidate in cache.channels_for(group, model))


def _groups_of(channel_id: int) -> set[str]:
    row = db.session.get(Channel, channel_id)
    return {name.strip() for name in (row.group or "").split(",") if name.strip()} if row else set()


# -- the answer ------------------------------------------------------------------------------------

def _answer(proxied: Proxied, upstream: requests.Response) -> Response:
    headers = [(k, v) for k, v in upstream.headers.items() if k.lower() not in DROPPED_RESPONSE_HEADERS]
    content_type = upstream.headers.get("Content-Type", "")
    if not 200 <= upstream.status_code < 300:
        proxied.hold.release()
        return Response(_masked(proxied, upstream), status=upstream.status_code, headers=headers)
    if "text/event-stream" in content_type:
        app, started = current_app._get_current_object(), []
        answer = Response(_events(proxied, upstream, app, started), status=upstream.status_code, headers=headers)
        # A client gone before the first byte: the generator never runs, so neither does its `finally`.
        answer.call_on_close(lambda: None if started else _never_read(proxied, upstream, app))
        return answer
    body = _masked(proxied, upstream)
    proxied.settle(_usage_of_body(proxied, body, content_type), upstream.status_code)
    return Response(body, status=upstream.status_code, headers=headers)


def _masked(proxied: Proxied, upstream: requests.Response) -> bytes:
    try:
        body = upstream.content
    finally:
        upstream.close()
    if upstream.headers.get("Content-Type", "").startswith(BINARY_TYPES):
        return body
    return proxied.scrub.mask(body, error=not 200 <= upstream.status_code < 300)


def _usage_of_body(proxied: Proxied, body: bytes, content_type: str) -> Usage:
    if "json" not in content_type:
        return Usage(0, 0, "counted")
    try:
        parsed = json.loads(body)
    except ValueError:
        return Usage(0, 0, "counted")
    state = StreamState()
    if isinstance(parsed, dict):
        note_event(parsed, state)
    if state.usage is not None and state.usage.total_tokens:
        return state.usage
    return _counted(proxied, state)


def _counted(proxied: Proxied, state: StreamState) -> Usage:
    completion = count_text(state.text)
    if not (proxied.prompt_tokens or completion):
        return Usage(0, 0, "counted")
    return Usage(proxied.prompt_tokens, completion, "counted")


def _events(proxied: Proxied, upstream: requests.Response, app: Flask, started: list[bool]) -> Iterator[bytes]:
    """The upstream's SSE events, passed on one by one as each is complete (re-encoded, so that a
    stream cut for want of money never ends inside an event), read for usage and text on the way;
    metered like a relayed stream, and settled at the end however it ends."""
    started.append(True)
    state, price = StreamState(), proxied.price
    meter = meter_for(proxied.hold, price, proxied.prompt_tokens, app) if price else None
    completed, delivered = False, 0
    try:
        for event in iter_events(upstream.iter_content(chunk_size=None)):
            _note_sse(event.data, state)
            if meter is not None and not meter.admit(state, delivered):
                break
            delivered = len(state.parts)
            yield proxied.scrub.chunk(_encoded(event))
        else:
            completed = True
    finally:
        upstream.close()
        _settle_in(app, proxied, delivered_usage(state, completed, proxied.prompt_tokens))


def _never_read(proxied: Proxied, upstream: requests.Response, app: Flask) -> None:
    upstream.close()
    _settle_in(app, proxied, Usage(proxied.prompt_tokens, 0, "counted"))


def _settle_in(app: Flask, proxied: Proxied, usage: Usage) -> None:
    with app.app_context():
        try:
            proxied.settle(usage, 200)
        finally:
            db.session.remove()


def _encoded(event: SSEEvent) -> bytes:
    head = "" if event.event == "message" else f"event: {event.event}\n"
    return (head + "".join(f"data: {line}\n" for line in event.data.split("\n")) + "\n").encode()


def _note_sse(data: str, state: StreamState) -> None:
    if data.strip() == "[DONE]":
        return
    try:
        parsed = json.loads(data)
    except ValueError:
        return
    if isinstance(parsed, dict):
        note_event(parsed, state)


def note_event(event: dict[str, Any], state: StreamState) -> None:
    """Text and usage of an OpenAI answer or chunk, or of an Anthropic event, into `state`; usage
    counts only grow (Anthropic reports input at the start and cumulative output later)."""
    for choice in event.get("choices") or []:
        if isinstance(choice, dict):
            delta = choice.get("delta") or choice.get("message") or {}
            content = delta.get("content") if isinstance(delta, dict) else None
            state.add_text(content if isinstance(content, str) else None)
            state.add_text(choice.get("text") if isinstance(choice.get("text"), str) else None)
    delta = event.get("delta")
    if isinstance(delta, dict) and isinstance(delta.get("text"), str):
        state.add_text(delta["text"])
    usage, message = event.get("usage"), event.get("message")
    if not isinstance(usage, dict) and isinstance(message, dict):
        usage = message.get("usage")
    if isinstance(usage, dict):
        _note_usage(usage, state)


def _note_usage(usage: dict[str, Any], state: StreamState) -> None:
    prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
    completion = usage.get("completion_tokens", usage.get("output_tokens"))
    values = [v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else 0 for v in (prompt, completion)]
    before = state.usage or Usage(0, 0)
    state.usage = Usage(max(before.prompt_tokens, values[0]), max(before.completion_tokens, values[1]))
