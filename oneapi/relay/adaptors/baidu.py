"""Baidu Qianfan / ERNIE (channel type 15): OpenAI chat completions and embeddings over the v1
"wenxinworkshop" API, authenticated with an OAuth access token.

Wire facts (cloud.baidu.com/doc/WENXINWORKSHOP: "Access Token获取", the per-model "创建chat" pages,
"Embedding-V1", "错误码"):
- The channel key is `APIKey|SecretKey`. The access token comes from
  `POST {base}/oauth/2.0/token?grant_type=client_credentials&client_id=<APIKey>&client_secret=<SecretKey>`,
  answered `{access_token, expires_in (seconds, 30 days), refresh_token, scope, session_key, ...}`, or
  `{error, error_description}` (`invalid_client`: "unknown client id" / "Client authentication failed").
- Chat: `POST {base}/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/{endpoint}?access_token=<token>`, body
  `{messages[{role user|assistant|function, content, name?, function_call?}], system, temperature (0, 1],
  top_p [0, 1], penalty_score [1, 2], stop[], max_output_tokens, response_format, functions, tool_choice,
  user_id, stream}`; messages alternate user/assistant and are odd in number. Answer `{id, object,
  created, result, is_truncated, need_clear_history, finish_reason (normal|stop|length|content_filter|
  function_call), function_call{name, arguments, thoughts}, usage{prompt_tokens, completion_tokens,
  total_tokens}}`.
- A stream is SSE: `data: <the same object with a piece of result, sentence_id, is_end>` events; the last
  one has `is_end: true`, the finish reason and the usage totals.
- Embeddings: `POST .../wenxinworkshop/embeddings/{endpoint}` with `{input: [texts], user_id}`, answered
  `{id, object: embedding_list, data[{object, embedding, index}], usage{prompt_tokens, total_tokens}}`.
- Errors are `{"error_code": 336003, "error_msg": "..."}`, usually with HTTP 200 (also in answer to a
  stream request, as a JSON body instead of events); 110/111 mean an invalid or expired access token.

Where we differ from One API (relay/adaptor/baidu) and why:
- The token URL is built from the channel's base URL (One API hard-codes aip.baidubce.com), so mirrors
  and test doubles work; the pipeline caches the token per channel until a minute before it expires.
- An error answered with HTTP 200 gets the status its code means (110/111 → 401, rate limits → 429,
  argument errors → 400, internal → 500), so that clients, retries and the token cache see what
  happened; One API kept the HTTP status, so such errors reached clients as 200. Type `baidu_error` and
  code `error_code` as in One API.
- The `model` we answer with is the client's model (One API answered `ernie-bot`); `finish_reason` is
  Baidu's own mapped to OpenAI's (One API always said `stop`); a stream keeps one id.
- Every system message goes to `system` (joined; One API kept the last), consecutive messages of one role
  are merged (Baidu refuses them), tools/tool calls/tool results map to ERNIE's `functions`,
  `function_call` and `function` messages, `stop` and `response_format` are passed on.
- `temperature` is clamped into (0, 1] and `top_p` into [0, 1]; `frequency_penalty` becomes
  `penalty_score` only inside Baidu's [1, 2] (OpenAI's 0 meant "off" and Baidu refuses it).
- Embeddings use `embeddings/` by the request's mode (One API decided by model-name prefix).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote, urlencode

from oneapi.relay.adaptors import register
from oneapi.relay.adaptors.base import (
    CONTENT_FILTER,
    LENGTH,
    STOP,
    TOOL_CALLS,
    Adaptor,
    Call,
    Credential,
    now,
    openai_style_error,
    text_of,
)
from oneapi.relay.channeltypes import ChannelType, Text, TypeSpec
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import LocalError, UpstreamError
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import SSEEvent
from oneapi.relay.usage import StreamState, Usage

MODELS = (
    "ERNIE-4.0-8K",
    "ERNIE-3.5-8K",
    "ERNIE-3.5-8K-0205",
    "ERNIE-3.5-8K-1222",
    "ERNIE-Bot-8K",
    "ERNIE-3.5-4K-0205",
    "ERNIE-Speed-8K",
    "ERNIE-Speed-128K",
    "ERNIE-Lite-8K-0922",
    "ERNIE-Lite-8K-0308",
    "ERNIE-Tiny-8K",
    "BLOOMZ-7B",
    "Embedding-V1",
    "bge-large-zh",
    "bge-large-en",
    "tao-8k",
)

SPEC = TypeSpec(
    ChannelType.BAIDU, Text("百度文心千帆", "Baidu Qianfan"), frozenset({RelayMode.CHAT, RelayMode.EMBEDDINGS}),
    models=MODELS, owner="baidu",
    base_url="https://aip.baidubce.com",
    key_format="APIKey|SecretKey",
    notice=Text("百度已停用旧版文心 API（v1），新渠道请使用「百度文心千帆 V2」（类型 47）；此类型为已有渠道保留。",
                "Baidu is retiring the v1 ERNIE API: use Baidu Qianfan V2 (type 47) for new channels; "
                "this type is kept for existing ones."),
)

API_PATH = "/rpc/2.0/ai_custom/v1/wenxinworkshop"
TOKEN_PATH = "/oauth/2.0/token"
DEFAULT_TOKEN_LIFETIME = 30 * 24 * 3600

# One API's model → endpoint table (relay/adaptor/baidu/adaptor.go) plus the older names Baidu used;
# any other model's endpoint is its lower-cased name (ERNIE-4.0-Turbo-8K → ernie-4.0-turbo-8k ...).
ENDPOINTS = {
    "ERNIE-4.0-8K": "completions_pro", "ERNIE-Bot-4": "completions_pro",
    "ERNIE-3.5-8K": "completions", "ERNIE-Bot": "completions",
    "ERNIE-Bot-turbo": "eb-instant", "ERNIE-Lite-8K-0922": "eb-instant",
    "ERNIE-3.5-8K-0205": "ernie-3.5-8k-0205", "ERNIE-3.5-8K-1222": "ernie-3.5-8k-1222",
    "ERNIE-Bot-8K": "ernie_bot_8k", "ERNIE-3.5-4K-0205": "ernie-3.5-4k-0205",
    "ERNIE-Speed-8K": "ernie_speed", "ERNIE-Speed": "ernie_speed", "ERNIE-Speed-128K": "ernie-speed-128k",
    "ERNIE-Lite-8K-0308": "ernie-lite-8k", "ERNIE-Tiny-8K": "ernie-tiny-8k", "BLOOMZ-7B": "bloomz_7b1",
    "Embedding-V1": "embedding-v1", "bge-large-zh": "bge_large_zh", "bge-large-en": "bge_large_en",
    "tao-8k": "tao_8k",
}

FINISH_REASONS = {"normal": STOP, "stop": STOP, "length": LENGTH, "content_filter": CONTENT_FILTER,
                  "function_call": TOOL_CALLS}

# The HTTP status an error code means (Baidu answers most errors with 200).
ERROR_STATUS = {
    1: 500, 2: 503, 3: 404, 4: 429, 6: 403, 13: 401, 14: 401, 15: 403, 17: 429, 18: 429, 19: 429,
    100: 400, 110: 401, 111: 401, 282000: 500, 336000: 500, 336001: 400, 336002: 400, 336003: 400,
    336004: 403, 336005: 400, 336006: 400, 336007: 400, 336008: 400, 336100: 503, 336101: 400, 336102: 400,
    336501: 429, 336502: 429, 336503: 429, 336504: 429, 336505: 429, 336507: 429,
}



@register(SPEC)
class BaiduAdaptor(Adaptor):
    key = "baidu"

    # -- the access token ---------------------------------------------------------------------
    def credential(self, ctx: RelayContext, now: float) -> Call:
        api_key, secret = split_key(ctx.key)
        query = urlencode({"grant_type": "client_credentials", "client_id": api_key, "client_secret": secret})
        return Call("POST", f"{ctx.base_url}{TOKEN_PATH}?{query}",
                    headers={"Content-Type": "application/json", "Accept": "application/json"})

    def read_credential(self, ctx: RelayContext, status: int, body: bytes, now: float) -> Credential:
        parsed = _json(body)
        if isinstance(parsed, dict) and isinstance(parsed.get("access_token"), str) and parsed["access_token"] \
                and status < 400:
            lifetime = parsed.get("expires_in")
            if not isinstance(lifetime, int | float) or isinstance(lifetime, bool) or lifetime <= 0:
                lifetime = DEFAULT_TOKEN_LIFETIME
            return Credential(parsed["access_token"], now + lifetime)
        raise self.convert_error(status if status >= 400 else 401, body, ctx)

    # -- the call -------------------------------------------------------------------------------
    def request_url(self, ctx: RelayContext) -> str:
        kind = "embeddings" if ctx.mode == RelayMode.EMBEDDINGS else "chat"
        return f"{ctx.base_url}{API_PATH}/{kind}/{endpoint(ctx.model)}?access_token={quote(ctx.credential, safe='')}"

    def request_headers(self, ctx: RelayContext) -> dict[str, str]:
        # The access token is in the URL; no Authorization header.
        return {"Content-Type": "application/json"}

    def convert_request(self, body: dict[str, Any], ctx: RelayContext) -> dict[str, Any]:
        if ctx.mode == RelayMode.EMBEDDINGS:
            return embedding_request(body)
        return chat_request(body)

    def convert_response(self, body: dict[str, Any], ctx: RelayContext) -> tuple[dict[str, Any], Usage | None]:
        if isinstance(body, dict) and body.get("error_code"):
            raise baidu_error(200, body)
        if ctx.mode == RelayMode.EMBEDDINGS:
            return embeddings(body, ctx.original_model)
        return completion(body, ctx.original_model)

    def convert_stream(self, events: Iterable[SSEEvent], ctx: RelayContext,
                       state: StreamState) -> Iterator[dict[str, Any] | bytes]:
        return chunks(events, ctx.original_model, state)

    def convert_error(self, status: int, body: bytes, ctx: RelayContext) -> UpstreamError:
        parsed = _json(body)
        if isinstance(parsed, dict):
            if parsed.get("error_code"):
                return baidu_error(status, parsed)
            if isinstance(parsed.get("error"), str) and parsed["error"]:
                # The OAuth endpoint's error shape.
                message = str(parsed.get("error_description") or parsed["error"])
                return UpstreamError(status, message, "baidu_error", parsed["error"])
        return openai_style_error(status, body)


# -- requests --------------------------------------------------------------------------------------


def split_key(key: str) -> tuple[str, str]:
    api_key, bar, secret = key.strip().partition("|")
    if not bar or not api_key.strip() or not secret.strip() or "|" in secret:
        raise UpstreamError(401, "invalid Baidu key: the channel key must be APIKey|SecretKey", "baidu_error",
                            "invalid_api_key")
    return api_key.strip(), secret.strip()


def endpoint(model: str) -> str:
    return ENDPOINTS.get(model) or model.lower()


def chat_request(body: dict[str, Any]) -> dict[str, Any]:
    system, messages = convert_messages(body.get("messages") or [])
    out: dict[str, Any] = {"messages": messages}
    if system:
        out["system"] = system
    temperature = body.get("temperature")
    if _number(temperature):
        out["temperature"] = min(max(float(temperature), 0.01), 1.0)
    if _number(body.get("top_p")):
        out["top_p"] = min(max(float(body["top_p"]), 0.0), 1.0)
    penalty = body.get("frequency_penalty")
    if _number(penalty) and 1.0 <= penalty <= 2.0:
        out["penalty_score"] = penalty
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
    stops = [s for s in stops if isinstance(s, str) and s]
    if stops:
        out["stop"] = stops
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    if max_tokens:
        out["max_output_tokens"] = max_tokens
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") in ("json_object", "text"):
        out["response_format"] = response_format["type"]
    functions = [tool.get("function") or {} for tool in body.get("tools") or []
                 if isinstance(tool, dict) and tool.get("type", "function") == "function"]
    functions += [f for f in body.get("functions") or [] if isinstance(f, dict)]
    functions = [function_definition(f) for f in functions if f.get("name")]
    if functions:
        out["functions"] = functions
        name = ((body.get("tool_choice") or {}).get("function") or {}).get("name") \
            if isinstance(body.get("tool_choice"), dict) else None
        if name:
            out["tool_choice"] = {"type": "function", "function": {"name": name}}
    if body.get("user"):
        out["user_id"] = str(body["user"])
    if body.get("stream"):
        out["stream"] = True
    return out


def function_definition(function: dict[str, Any]) -> dict[str, Any]:
    out = {"name": function["name"], "description": function.get("description") or "",
           "parameters": function.get("parameters") or {"type": "object", "properties": {}}}
    return out


def convert_messages(messages: list[Any]) -> tuple[str, list[dict[str, Any]]]:
    """The `system` text and Baidu's messages: tool results become `function` messages named after the
    call they answer, an assistant's first tool call its `function_call`, consecutive user (or assistant)
    texts one message."""
    system: list[str] = []
    out: list[dict[str, Any]] = []
    call_names: dict[str, str] = {}
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        text = text_of(message.get("content"))
        if role in ("system", "developer"):
            if text:
                system.append(text)
            continue
        if role in ("tool", "function"):
            name = call_names.get(message.get("tool_call_id") or "") or message.get("name") or ""
            out.append({"role": "function", "name": name, "content": text})
            continue
        converted: dict[str, Any] = {"role": "assistant" if role == "assistant" else "user", "content": text}
        calls = message.get("tool_calls") or []
        if role == "assistant" and isinstance(message.get("function_call"), dict):
            calls = [{"id": "", "function": message["function_call"]}, *calls]
        if role == "assistant" and calls:
            function = calls[0].get("function") or {}
            for call in calls:
                call_names[call.get("id") or ""] = (call.get("function") or {}).get("name") or ""
            arguments = function.get("arguments")
            if not isinstance(arguments, str):
                arguments = json.dumps(arguments or {}, ensure_ascii=False)
            converted["function_call"] = {"name": function.get("name") or "", "arguments": arguments}
        previous = out[-1] if out else None
        if previous and previous["role"] == converted["role"] and "function_call" not in previous \
                and "function_call" not in converted:
            previous["content"] = "\n".join(t for t in (previous["content"], text) if t)
            continue
        out.append(converted)
    return "\n".join(system), out


def embedding_request(body: dict[str, Any]) -> dict[str, Any]:
    inputs = body.get("input")
    texts = [inputs] if isinstance(inputs, str) else inputs
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise LocalError(400, "input must be a string or a list of strings for Baidu embeddings",
                         code="invalid_text_request")
    out: dict[str, Any] = {"input": texts}
    if body.get("user"):
        out["user_id"] = str(body["user"])
    return out


# -- responses -------------------------------------------------------------------------------------


def baidu_error(status: int, body: dict[str, Any]) -> UpstreamError:
    code = body.get("error_code")
    mapped = ERROR_STATUS.get(code) if isinstance(code, int) else None
    final = mapped or (status if status >= 400 else 500)
    return UpstreamError(final, str(body.get("error_msg") or f"baidu error {code}"), "baidu_error", code)


def usage_of(usage: Any) -> Usage | None:
    if not isinstance(usage, dict) or "prompt_tokens" not in usage:
        return None
    return Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))


def finish_reason(body: dict[str, Any]) -> str:
    reason = body.get("finish_reason")
    if reason in FINISH_REASONS:
        return FINISH_REASONS[reason]
    if body.get("function_call"):
        return TOOL_CALLS
    if body.get("need_clear_history"):
        return CONTENT_FILTER
    return LENGTH if body.get("is_truncated") else STOP


def tool_call(body: dict[str, Any]) -> dict[str, Any]:
    call = body.get("function_call") or {}
    arguments = call.get("arguments")
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments or {}, ensure_ascii=False, separators=(",", ":"))
    return {"id": f"call_{body.get('id') or ''}", "type": "function",
            "function": {"name": call.get("name") or "", "arguments": arguments}}


def completion(body: dict[str, Any], model: str) -> tuple[dict[str, Any], Usage | None]:
    message: dict[str, Any] = {"role": "assistant", "content": body.get("result") or ""}
    if body.get("function_call"):
        message["tool_calls"] = [tool_call(body)]
        message["content"] = message["content"] or None
    out: dict[str, Any] = {"id": f"chatcmpl-{body.get('id') or ''}", "object": "chat.completion",
                           "created": now(), "model": model,
                           "choices": [{"index": 0, "message": message, "finish_reason": finish_reason(body)}]}
    usage = usage_of(body.get("usage"))
    if usage:
        out["usage"] = usage.as_openai()
    return out, usage


def embeddings(body: dict[str, Any], model: str) -> tuple[dict[str, Any], Usage | None]:
    data = [{"object": "embedding", "index": item.get("index", i), "embedding": item.get("embedding") or []}
            for i, item in enumerate(body.get("data") or []) if isinstance(item, dict)]
    reported = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    usage = Usage(int(reported.get("prompt_tokens") or 0), 0) if "prompt_tokens" in reported else None
    out: dict[str, Any] = {"object": "list", "data": data, "model": model}
    if usage:
        out["usage"] = {"prompt_tokens": usage.prompt_tokens, "total_tokens": usage.prompt_tokens}
    return out, usage


def chunks(events: Iterable[SSEEvent], model: str, state: StreamState) -> Iterator[dict[str, Any]]:
    """One chunk per Baidu event: its piece of `result` (and a function call, which ERNIE sends whole),
    the finish reason on the `is_end` one; one id and `created` throughout, the role on the first."""
    stream_id, created, opened = "", now(), False
    for event in events:
        data = _json(event.data)
        if not isinstance(data, dict):
            continue
        if data.get("error_code"):
            raise baidu_error(200, data)
        stream_id = stream_id or f"chatcmpl-{data.get('id') or ''}"
        usage = usage_of(data.get("usage"))
        if usage:
            state.usage = usage
        delta: dict[str, Any] = {}
        if data.get("result"):
            delta["content"] = data["result"]
            state.add_text(data["result"])
        if data.get("function_call"):
            call = tool_call(data)
            delta["tool_calls"] = [{"index": 0, **call}]
            state.add_text(call["function"]["arguments"])
        finish = finish_reason(data) if data.get("is_end") else None
        if not delta and not finish:
            continue
        if not opened:
            delta, opened = {"role": "assistant", **delta}, True
        if finish:
            state.finish_reason = finish
        yield {"id": stream_id, "object": "chat.completion.chunk", "created": created, "model": model,
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if finish:
            return


def _json(raw: bytes | str) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
