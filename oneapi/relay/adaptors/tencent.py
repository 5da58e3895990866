"""Tencent Hunyuan (channel type 23): OpenAI chat completions and embeddings over Tencent Cloud API 3.0.

Wire facts (https://cloud.tencent.com/document/api/1729/105701 ChatCompletions,
https://cloud.tencent.com/document/api/1729/102832 GetEmbedding, the "Signature v3" page of any
Tencent Cloud product, e.g. https://www.tencentcloud.com/document/api/1021/34193):
- Every call is `POST {base}/` with headers `X-TC-Action` (`ChatCompletions`, `GetEmbedding`),
  `X-TC-Version: 2023-09-01`, `X-TC-Timestamp` (Unix seconds, within 5 minutes of the server clock)
  and `Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/<date>/hunyuan/tc3_request,
  SignedHeaders=content-type;host;x-tc-action, Signature=<hex>`. The signature is an HMAC-SHA256 chain
  ("TC3" + SecretKey → UTC date → service → "tc3_request") over the string to sign, which hashes the
  canonical request: method, `/`, empty query, the signed headers as lower-cased `name:value` lines,
  their names, and the SHA-256 of the exact body bytes. The date is the UTC date of the timestamp.
- Chat body: `{Model, Messages[{Role, Content | Contents[{Type, Text | ImageUrl{Url}}], ToolCallId,
  ToolCalls}], Stream, TopP, Temperature, Seed, Tools[{Type, Function{Name, Description, Parameters
  (a JSON string)}}], ToolChoice (none | auto | custom), CustomTool}`.
- A JSON answer is `{"Response": {Id, Created, Choices[{Message, FinishReason}], Usage{PromptTokens,
  CompletionTokens, TotalTokens}, RequestId}}`; errors come as `{"Response": {"Error": {Code, Message},
  RequestId}}` **with HTTP 200** (Code is a dotted string such as `AuthFailure.SignatureFailure`).
- A stream (`Stream: true`) is SSE: `data: {Id, Created, Choices[{Delta{Role, Content, ToolCalls},
  FinishReason}], Usage, Note}` per event, no `Response` wrapper, cumulative `Usage` on every event, no
  `[DONE]`; a failure during a stream is an event carrying `ErrorMsg{Code, Msg}` (4000 internal error,
  4001 model timeout). FinishReason is `stop`, `sensitive` (moderation) or `tool_calls`.
- Embeddings: `{InputList: [...]}` (at most 50 texts; `Input` for a single one) answers
  `{"Response": {Data[{Embedding, Index, Object}], Usage{PromptTokens, TotalTokens}}}`.

Where we differ from One API:
- The `Host` we sign (and send) is the host of the channel's base URL, not a hard-coded
  hunyuan.tencentcloudapi.com, so that mirrors and proxies with their own host verify.
- Stream usage is Hunyuan's own cumulative `Usage` (One API estimated it with a tokenizer); embeddings
  bill the reported PromptTokens.
- A stream keeps one id and `created` (Hunyuan's `Id`, `Created`), the role on the first chunk, the
  finish reason on the last; answers carry the model we sent instead of One API's constants `hunyuan` /
  `tencent-hunyuan`.
- Tencent's error codes become HTTP statuses (`AuthFailure.*` 401, `LimitExceeded`/`RequestLimitExceeded`
  429, `InvalidParameter*`/`MissingParameter`/`UnknownParameter` 400, …) since Tencent answers every
  error with 200; the error type is `tencent_error` and the code Tencent's.
- Images (`image_url` parts, for hunyuan-vision) go as `Contents`; tools, tool calls and tool results
  are translated (One API sent only Role/Content strings). `stop`, `max_tokens` and penalties have no
  Hunyuan field and are dropped. The key may also be `SecretId|SecretKey` (the AppId is unused by API 3.0).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from oneapi.relay.adaptors import register
from oneapi.relay.adaptors.base import (
    CONTENT_FILTER,
    LENGTH,
    STOP,
    TOOL_CALLS,
    Adaptor,
    Call,
    ChunkStream,
    feed_objects,
    now,
    openai_style_error,
    parse_json,
)
from oneapi.relay.channeltypes import ChannelType, Text, TypeSpec
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import UpstreamError
from oneapi.relay.modes import RelayMode as M
from oneapi.relay.sse import SSEEvent
from oneapi.relay.usage import StreamState, Usage

MODELS = (
    # One API's list.
    "hunyuan-lite",
    "hunyuan-standard",
    "hunyuan-standard-256K",
    "hunyuan-pro",
    "hunyuan-vision",
    "hunyuan-embedding",
    # Later models (https://cloud.tencent.com/document/product/1729/104753).
    "hunyuan-turbo",
    "hunyuan-turbo-latest",
    "hunyuan-turbos-latest",
    "hunyuan-large",
    "hunyuan-code",
    "hunyuan-role",
    "hunyuan-functioncall",
    "hunyuan-t1-latest",
)

SPEC = TypeSpec(
    ChannelType.TENCENT, Text("腾讯混元", "Tencent Hunyuan"), frozenset({M.CHAT, M.EMBEDDINGS}),
    models=MODELS, owner="tencent",
    base_url="https://hunyuan.tencentcloudapi.com",
    key_format="AppId|SecretId|SecretKey",
)

SERVICE = "hunyuan"
VERSION = "2023-09-01"
ALGORITHM = "TC3-HMAC-SHA256"
CONTENT_TYPE = "application/json"
SIGNED_HEADERS = ("content-type", "host", "x-tc-action")
ACTIONS = {M.CHAT: "ChatCompletions", M.EMBEDDINGS: "GetEmbedding"}
FINISH_REASONS = {"stop": STOP, "sensitive": CONTENT_FILTER, "tool_calls": TOOL_CALLS, "length": LENGTH}
# The HTTP status of Tencent's error codes (answered with 200), by code or by the part before the dot.
ERROR_STATUS = {
    "AuthFailure": 401, "UnauthorizedOperation": 403, "OperationDenied": 403,
    "LimitExceeded": 429, "RequestLimitExceeded": 429, "ResourceInsufficient": 429,
    "InvalidParameter": 400, "InvalidParameterValue": 400, "MissingParameter": 400, "UnknownParameter": 400,
    "InvalidAction": 400, "UnsupportedOperation": 400, "InvalidRequest": 400, "UnsupportedProtocol": 400,
    "RequestSizeLimitExceeded": 413, "ResourceNotFound": 404, "ResourceUnavailable": 503,
    "InternalError": 500, "FailedOperation": 500,
    "FailedOperation.ServiceNotActivated": 403, "FailedOperation.ServiceStop": 403,
    "FailedOperation.ServiceStopArrears": 402, "FailedOperation.EngineRequestTimeout": 504,
    "FailedOperation.EngineServerLimitExceeded": 429,
}
STREAM_ERROR_STATUS = {4000: 500, 4001: 504}
TOOL_CHOICES = {"none": "none", "auto": "auto", "required": "auto"}


@register(SPEC)
class TencentAdaptor(Adaptor):
    key: ClassVar[str] = "tencent"

    def request_url(self, ctx: RelayContext) -> str:
        return f"{ctx.base_url}/"

    def request_headers(self, ctx: RelayContext) -> dict[str, str]:
        """Everything but the signature and timestamp, which `sign` adds over the final body."""
        return {"Content-Type": CONTENT_TYPE, "Host": host_of(ctx.base_url), "X-TC-Action": action(ctx),
                "X-TC-Version": VERSION}

    def sign(self, ctx: RelayContext, call: Call, now: float) -> Call:
        secret_id, secret_key = parse_key(ctx.key)
        timestamp = int(now)
        headers = dict(call.headers)
        present = {name.lower(): value for name, value in headers.items()}
        present.setdefault("host", host_of(call.url))
        signed = {name: present.get(name, "") for name in SIGNED_HEADERS}
        headers["X-TC-Timestamp"] = str(timestamp)
        headers["Authorization"] = authorization(secret_id, secret_key, SERVICE, timestamp, signed,
                                                 call.body or b"", call.method)
        return dataclasses.replace(call, headers=headers)

    def convert_request(self, body: dict[str, Any], ctx: RelayContext) -> dict[str, Any]:
        if ctx.mode == M.EMBEDDINGS:
            return embedding_request(body)
        return chat_request(body, ctx.model, ctx.stream)

    def convert_response(self, body: dict[str, Any], ctx: RelayContext) -> tuple[dict[str, Any], Usage | None]:
        answer = body.get("Response") if isinstance(body.get("Response"), dict) else body
        error = tencent_error(answer, 200)
        if error is not None:
            raise error
        if ctx.mode == M.EMBEDDINGS:
            return embeddings(answer, ctx.model)
        return completion(answer, ctx.model)

    def convert_stream(self, events: Iterable[SSEEvent], ctx: RelayContext,
                       state: StreamState) -> Iterator[dict[str, Any] | bytes]:
        return feed_objects(events, StreamTranslator(ctx.model, state), ctx, state)

    def convert_error(self, status: int, body: bytes, ctx: RelayContext) -> UpstreamError:
        parsed = parse_json(body)
        if isinstance(parsed, dict):
            answer = parsed.get("Response") if isinstance(parsed.get("Response"), dict) else parsed
            error = tencent_error(answer, status)
            if error is not None:
                return error
        return openai_style_error(status, body)


# -- signing ----------------------------------------------------------------------------------------

def parse_key(key: str) -> tuple[str, str]:
    """SecretId and SecretKey of `AppId|SecretId|SecretKey` (or `SecretId|SecretKey`)."""
    parts = [part.strip() for part in (key or "").split("|")]
    if len(parts) == 3 and all(parts[1:]):
        return parts[1], parts[2]
    if len(parts) == 2 and all(parts):
        return parts[0], parts[1]
    raise UpstreamError(401, "invalid Tencent key: expected AppId|SecretId|SecretKey", "tencent_error",
                        "invalid_key_format")


def host_of(url: str) -> str:
    """The Host header for `url`: host and explicit port, without user info."""
    return urlsplit(url).netloc.rpartition("@")[2].lower()


def action(ctx: RelayContext) -> str:
    return ACTIONS.get(ctx.mode, ACTIONS[M.CHAT])


def authorization(secret_id: str, secret_key: str, service: str, timestamp: int, headers: dict[str, str],
                  payload: bytes, method: str = "POST", uri: str = "/", query: str = "") -> str:
    """The TC3-HMAC-SHA256 `Authorization` value signing `headers` (lower-case name → value)."""
    names = sorted(name.lower() for name in headers)
    values = {name.lower(): value for name, value in headers.items()}
    canonical_headers = "".join(f"{name}:{values[name].strip().lower()}\n" for name in names)
    signed_headers = ";".join(names)
    canonical_request = "\n".join((method.upper(), uri, query, canonical_headers, signed_headers,
                                   hashlib.sha256(payload).hexdigest()))
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join((ALGORITHM, str(timestamp), scope,
                                hashlib.sha256(canonical_request.encode()).hexdigest()))
    key = _hmac(("TC3" + secret_key).encode(), date)
    key = _hmac(_hmac(key, service), "tc3_request")
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


# -- requests ---------------------------------------------------------------------------------------

def chat_request(body: dict[str, Any], model: str, stream: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"Model": model, "Messages": [convert_message(m) for m in body.get("messages") or []],
                           "Stream": bool(stream)}
    if body.get("top_p") is not None:
        out["TopP"] = body["top_p"]
    if body.get("temperature") is not None:
        out["Temperature"] = body["temperature"]
    if isinstance(body.get("seed"), int | float) and not isinstance(body.get("seed"), bool) and body["seed"] > 0:
        out["Seed"] = int(body["seed"])
    out.update(convert_tools(body))
    return out


def convert_message(message: dict[str, Any]) -> dict[str, Any]:
    role = message.get("role") or "user"
    role = "system" if role == "developer" else role
    out: dict[str, Any] = {"Role": role}
    content = message.get("content")
    if isinstance(content, list) and any(isinstance(p, dict) and p.get("type") == "image_url" for p in content):
        out["Contents"] = [part for part in (content_part(p) for p in content) if part]
    else:
        out["Content"] = text_content(content)
    if role == "tool":
        out["ToolCallId"] = message.get("tool_call_id") or ""
    calls = [tool_call(c) for c in message.get("tool_calls") or [] if isinstance(c, dict)]
    if calls:
        out["ToolCalls"] = calls
    return out


def text_content(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text") or "" for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def content_part(part: Any) -> dict[str, Any] | None:
    if not isinstance(part, dict):
        return None
    if part.get("type") == "text":
        return {"Type": "text", "Text": part.get("text") or ""}
    if part.get("type") == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        return {"Type": "image_url", "ImageUrl": {"Url": url or ""}}
    return None


def tool_call(call: dict[str, Any]) -> dict[str, Any]:
    function = call.get("function") or {}
    arguments = function.get("arguments")
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments if arguments is not None else {}, ensure_ascii=False)
    return {"Id": call.get("id") or "", "Type": call.get("type") or "function",
            "Function": {"Name": function.get("name") or "", "Arguments": arguments}}


def convert_tools(body: dict[str, Any]) -> dict[str, Any]:
    tools = [tool_definition(t.get("function") or {}) for t in body.get("tools") or []
             if isinstance(t, dict) and t.get("type", "function") == "function"]
    if not tools:
        return {}
    out: dict[str, Any] = {"Tools": tools}
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        chosen = next((t for t in tools if t["Function"]["Name"] == name), None)
        if chosen is not None:
            out.update(ToolChoice="custom", CustomTool=chosen)
    elif choice in TOOL_CHOICES:
        out["ToolChoice"] = TOOL_CHOICES[choice]
    return out


def tool_definition(function: dict[str, Any]) -> dict[str, Any]:
    parameters = function.get("parameters") or {"type": "object", "properties": {}}
    out = {"Name": function.get("name") or "",
           "Parameters": parameters if isinstance(parameters, str) else json.dumps(parameters, ensure_ascii=False)}
    if function.get("description"):
        out["Description"] = function["description"]
    return {"Type": "function", "Function": out}


def embedding_request(body: dict[str, Any]) -> dict[str, Any]:
    value = body.get("input")
    texts = [value] if isinstance(value, str) else [v for v in value or [] if isinstance(v, str)]
    return {"InputList": texts}


# -- answers ----------------------------------------------------------------------------------------

def tencent_error(answer: Any, status: int) -> UpstreamError | None:
    """The error in a Tencent answer (`Error{Code, Message}`), or None when it carries none."""
    error = answer.get("Error") if isinstance(answer, dict) else None
    if not isinstance(error, dict) or not (error.get("Code") or error.get("Message")):
        return None
    code = str(error.get("Code") or "")
    mapped = ERROR_STATUS.get(code) or ERROR_STATUS.get(code.partition(".")[0])
    http_status = mapped or (status if status >= 400 else 500)
    message = str(error.get("Message") or code)
    return UpstreamError(http_status, message, "tencent_error", code, str(answer.get("RequestId") or ""))


def finish_reason(reason: Any) -> str | None:
    return FINISH_REASONS.get(reason, STOP) if reason else None


def usage_of(usage: Any) -> Usage | None:
    if not isinstance(usage, dict) or "PromptTokens" not in usage:
        return None
    prompt = int(usage.get("PromptTokens") or 0)
    completion = usage.get("CompletionTokens")
    if completion is None:
        completion = max(int(usage.get("TotalTokens") or 0) - prompt, 0)
    return Usage(prompt, int(completion))


def openai_tool_calls(calls: Any) -> list[dict[str, Any]]:
    out = []
    for call in calls if isinstance(calls, list) else []:
        function = call.get("Function") or {}
        out.append({"id": call.get("Id") or "", "type": call.get("Type") or "function",
                    "function": {"name": function.get("Name") or "", "arguments": function.get("Arguments") or ""}})
    return out


def completion(answer: dict[str, Any], model: str) -> tuple[dict[str, Any], Usage | None]:
    choices = []
    for index, choice in enumerate(answer.get("Choices") or []):
        message = choice.get("Message") or {}
        calls = openai_tool_calls(message.get("ToolCalls"))
        out_message: dict[str, Any] = {"role": "assistant",
                                       "content": message.get("Content") or ("" if not calls else None)}
        if calls:
            out_message["tool_calls"] = calls
        reason = finish_reason(choice.get("FinishReason")) or (TOOL_CALLS if calls else STOP)
        choices.append({"index": choice.get("Index", index), "message": out_message, "finish_reason": reason})
    usage = usage_of(answer.get("Usage"))
    out = {"id": f"chatcmpl-{answer.get('Id') or answer.get('RequestId') or ''}", "object": "chat.completion",
           "created": _created(answer), "model": model, "choices": choices}
    if usage is not None:
        out["usage"] = usage.as_openai()
    return out, usage


def embeddings(answer: dict[str, Any], model: str) -> tuple[dict[str, Any], Usage | None]:
    data = [{"object": "embedding", "index": item.get("Index", i), "embedding": item.get("Embedding") or []}
            for i, item in enumerate(answer.get("Data") or [])]
    usage = usage_of(answer.get("Usage"))
    prompt = usage.prompt_tokens if usage else 0
    return ({"object": "list", "data": data, "model": model,
             "usage": {"prompt_tokens": prompt, "total_tokens": prompt}}, usage)


def _created(data: dict[str, Any]) -> int:
    created = data.get("Created")
    return created if isinstance(created, int) and not isinstance(created, bool) and created > 0 else now()


class StreamTranslator(ChunkStream):
    """Hunyuan's stream events in, OpenAI chunks out (one id and `created` for the whole stream)."""

    def __init__(self, model: str, state: StreamState) -> None:
        self.model, self.state = model, state
        self.id = ""
        self.created = 0
        self.opened: set[int] = set()
        self.calls: dict[int, dict[str, int]] = {}  # choice index -> Hunyuan tool call id -> OpenAI index

    def feed(self, data: dict[str, Any]) -> Iterator[dict[str, Any]]:
        wrapped = data.get("Response") if isinstance(data.get("Response"), dict) else data
        error = tencent_error(wrapped, 200)
        if error is not None:
            raise error
        failure = data.get("ErrorMsg")
        if isinstance(failure, dict) and (failure.get("Code") or failure.get("Msg")):
            code = failure.get("Code")
            raise UpstreamError(STREAM_ERROR_STATUS.get(code, 500), str(failure.get("Msg") or code),
                                "tencent_error", code if code is not None else "")
        self.id = self.id or f"chatcmpl-{data.get('Id') or ''}"
        self.created = self.created or _created(data)
        usage = usage_of(data.get("Usage"))
        if usage is not None:
            self.state.usage = usage
        for position, choice in enumerate(data.get("Choices") or []):
            chunk = self.choice(choice, choice.get("Index", position))
            if chunk is not None:
                yield chunk

    def choice(self, choice: dict[str, Any], index: int) -> dict[str, Any] | None:
        delta_in = choice.get("Delta") or {}
        delta: dict[str, Any] = {}
        text = delta_in.get("Content") or ""
        if text:
            delta["content"] = text
            self.state.add_text(text)
        calls = self.tool_calls(index, delta_in.get("ToolCalls"))
        if calls:
            delta["tool_calls"] = calls
        reason = finish_reason(choice.get("FinishReason"))
        if not delta and not reason and index in self.opened:
            return None
        if index not in self.opened:
            self.opened.add(index)
            delta = {"role": "assistant", **delta}
        if reason:
            self.state.finish_reason = reason
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": [{"index": index, "delta": delta, "finish_reason": reason}]}

    def tool_calls(self, index: int, calls: Any) -> list[dict[str, Any]]:
        """Hunyuan repeats a call's Id on each of its pieces; the first piece opens an OpenAI call."""
        known = self.calls.setdefault(index, {})
        out = []
        for call in calls if isinstance(calls, list) else []:
            function = call.get("Function") or {}
            call_id = call.get("Id") or (next(reversed(known)) if known else "")
            arguments = function.get("Arguments") or ""
            self.state.add_text(arguments)
            if call_id not in known:
                known[call_id] = len(known)
                out.append({"index": known[call_id], "id": call_id, "type": call.get("Type") or "function",
                            "function": {"name": function.get("Name") or "", "arguments": arguments}})
            else:
                out.append({"index": known[call_id], "function": {"arguments": arguments}})
        return out
