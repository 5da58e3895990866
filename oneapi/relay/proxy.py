"""`/v1/oneapi/proxy/<channel id>/<path>`: any method and path passed to a channel's base URL.

The channel's key is presented the way its adaptor presents it (a Proxy-type channel's key is the
whole `Authorization` value, as in One API). Unlike One API, which let any key reach any channel and
billed nothing, the key must be valid, the channel must serve the key owner's group (admins may use
any enabled channel), and the call is logged and billed: when the answer is JSON with OpenAI-style
`usage`, by the tokens of the model named in the request or answer; otherwise it is logged with
quota 0.
"""

from __future__ import annotations

import json
import time
from typing import Any

import requests
from flask import Response, current_app, g, request

from oneapi.extensions import db
from oneapi.models import Channel, LogType, Role
from oneapi.relay import cache, channeltypes
from oneapi.relay.adaptors import get_adaptor
from oneapi.relay.auth import Caller, authenticate
from oneapi.relay.channeltypes import ChannelType
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import LocalError, UpstreamError
from oneapi.relay.http import session
from oneapi.relay.modes import RelayMode
from oneapi.relay.pricing import price_for
from oneapi.services import charging, logs, options
from oneapi.services.charging import Payer

DROPPED_HEADERS = {"host", "content-length", "accept-encoding", "connection", "authorization", "cookie",
                   "x-forwarded-for", "x-real-ip"}
DROPPED_RESPONSE_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding"}


def relay_proxy(channel_id: str, target: str) -> Response:
    caller = authenticate(request.headers.get("Authorization", ""))
    channel = _channel_for(caller, channel_id)
    started = time.monotonic()
    url = f"{channeltypes.base_url(channel.type, channel.base_url)}/{target}"
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    headers = {k: v for k, v in request.headers.items() if k.lower() not in DROPPED_HEADERS}
    headers.update(_credentials(channel))
    config = current_app.config["ONEAPI"]
    timeout = (config.relay_timeout or 30, config.relay_timeout or None)
    try:
        upstream = session(config.relay_proxy).request(request.method, url, data=request.get_data(),
                                                       headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        raise UpstreamError(502, f"upstream connection failed: {type(exc).__name__}", connection=True) from None
    _bill(caller, channel, upstream, started)
    passed = [(k, v) for k, v in upstream.headers.items() if k.lower() not in DROPPED_RESPONSE_HEADERS]
    return Response(upstream.content, status=upstream.status_code, headers=passed)


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


def _credentials(channel: cache.ChannelState) -> dict[str, str]:
    """The channel's own way of presenting its key; a Proxy-type channel's key is the header value."""
    if channel.type == ChannelType.PROXY:
        return {"Authorization": channel.key}
    ctx = RelayContext(mode=RelayMode.PROXY, channel_id=channel.id, channel_type=channel.type,
                       channel_name=channel.name, base_url="", key=channel.key, model="", original_model="")
    adaptor_headers = get_adaptor(channel.type).request_headers(ctx)
    return {k: v for k, v in adaptor_headers.items() if k.lower() != "content-type"}


def _groups_of(channel_id: int) -> set[str]:
    row = db.session.get(Channel, channel_id)
    return {name.strip() for name in (row.group or "").split(",") if name.strip()} if row else set()


def _bill(caller: Caller, channel: cache.ChannelState, upstream: requests.Response, started: float) -> None:
    usage, model = _usage_of(upstream)
    payer = Payer(caller.user_id, caller.token_id, caller.unlimited)
    quota = 0
    if usage and model and 200 <= upstream.status_code < 300:
        price = price_for(model, channel.type, caller.group)
        quota = charging.settle(payer, 0, price.cost(*usage))
    charging.record_use(caller.user_id, channel.id, quota)
    if options.get_bool("LogConsumeEnabled"):
        text = f"代理：{request.method} {request.path}，状态 {upstream.status_code}"
        logs.record(caller.user_id, LogType.CONSUME, text,
                    username=caller.username, token_name=caller.token_name, model_name=model or "", quota=quota,
                    prompt_tokens=usage[0] if usage else 0, completion_tokens=usage[1] if usage else 0,
                    channel_id=channel.id, request_id=g.get("request_id", ""),
                    elapsed_time=int((time.monotonic() - started) * 1000))
    db.session.commit()


def _usage_of(upstream: requests.Response) -> tuple[tuple[int, int] | None, str]:
    if "json" not in upstream.headers.get("Content-Type", ""):
        return None, ""
    try:
        body: Any = json.loads(upstream.content)
        sent: Any = json.loads(request.get_data() or b"{}")
    except ValueError:
        return None, ""
    model = (sent.get("model") if isinstance(sent, dict) else None) or (
        body.get("model") if isinstance(body, dict) else None) or ""
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return None, str(model)
    prompt = usage.get("prompt_tokens", usage.get("input_tokens", 0))
    completion = usage.get("completion_tokens", usage.get("output_tokens", 0))
    if not all(isinstance(v, int) and v >= 0 for v in (prompt, completion)):
        return None, str(model)
    return (prompt, completion), str(model)
