"""iFlytek Spark (channel type 18): OpenAI chat completions over Spark's websocket chat API.

Wire facts (https://www.xfyun.cn/doc/spark/Web.html, the general websocket authentication document it
links, https://www.xfyun.cn/doc/spark/X1ws.html):
- One websocket per answer: `wss://spark-api.xf-yun.com/{path}`; per model the path and the `domain`
  the frame must name: Lite `/v1.1/chat` `lite`, Pro `/v3.1/chat` `generalv3`, Pro-128K
  `/chat/pro-128k` `pro-128k`, Max `/v3.5/chat` `generalv3.5`, Max-32K `/chat/max-32k` `max-32k`,
  4.0 Ultra `/v4.0/chat` `4.0Ultra`, X1 (X1.5) `/v1/x1` `spark-x`; the retired v2.1 is
  `/v2.1/chat` `generalv2`. A domain that does not match the path is refused (10404).
- The handshake is authenticated by the query: `host`, `date` (RFC 1123, GMT, at most 300 s off the
  server's clock) and `authorization` = base64 of `hmac username="<APIKey>", algorithm="hmac-sha256",
  headers="host date request-line", signature="<sig>"` (Spark also accepts `api_key="<APIKey>"`), where
  sig = base64 HMAC-SHA256, keyed by the APISecret, of `host: <host>\\ndate: <date>\\nGET <path> HTTP/1.1`.
  A refused handshake is an HTTP answer: 401 `{"message":"HMAC signature does not match"}` (or
  "Unauthorized" / "HMAC signature cannot be verified"), 403 for a stale date.
- The client sends one text frame `{header{app_id, uid?}, parameter{chat{domain, temperature, top_k,
  max_tokens}}, payload{message{text[{role, content}]}, functions{text[{name, description,
  parameters}]}?}}` (roles system/user/assistant); the server answers frames `{header{code, message,
  sid, status}, payload{choices{status, seq, text[{content, reasoning_content?, role, index,
  function_call?{name, arguments}}]}, usage{text{question_tokens, prompt_tokens, completion_tokens,
  total_tokens}}?}}`; `choices.status` 2 marks the last frame, which carries the usage, and the server
  then closes. An error is one frame with `header.code` != 0 (10013 input refused by moderation, 10014
  output refused, 10907 too many tokens, 11200 not licensed, 11201–11203 rate limits …).
- The key is `APPID|APISecret|APIKey`.

Where we differ from One API (relay/adaptor/xunfei):
- The URL is built on the channel's base URL (mirrors, our tests); One API hard-coded the host. An
  `http(s)://` base URL is taken to mean `ws(s)://`.
- The version comes from the model name through the table above, then from a domain used as model
  name (`generalv3.5`, `4.0Ultra` …), then from a `v…` after the first dash (`SparkDesk-v3.5`), then
  the channel's version field, then v1.1. One API took any text after the first dash as the version
  (`Spark-Lite-foo` → `/Lite-foo/chat`).
- `top_k` is the request's `top_k` (One API sent `n` as `top_k`); `max_completion_tokens` is honoured;
  `user` goes to `header.uid` when it fits Spark's 32 characters.
- Functions are sent as Spark's function definitions (One API sent OpenAI's `tools` wrappers, which
  Spark does not read), for the domains that call functions (generalv3*, 4.0Ultra, spark-x).
- Tool results, for which Spark has no role, are sent as user messages; empty messages are dropped.
- A stream has one id (`chatcmpl-<sid>`) and one `created`, the role on the first chunk only and the
  finish reason (`stop`, or `tool_calls`) only on the last; One API made a random id per chunk, named
  the model `SparkDesk` and put no tool-call finish reason. The model we answer with is the model sent.
- The usage is the last one Spark reports (One API summed every frame's); X1's reasoning goes to
  `reasoning_content`; 10014 (the output refused mid-answer) ends the answer with `content_filter`
  instead of an error; other error frames are errors with Spark's code, its message and, as `param`,
  its `sid`; a socket closed before the last frame is an error (One API answered what it had).
- A malformed key is a 401 `invalid_auth` (One API: 400), so that the channel is seen as misconfigured.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from email.utils import formatdate
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

from oneapi.relay.adaptors import register
from oneapi.relay.adaptors.base import (
    CONTENT_FILTER,
    STOP,
    TOOL_CALLS,
    Adaptor,
    ChunkStream,
    openai_style_error,
    parse_json,
    text_of,
)
from oneapi.relay.assemble import assemble
from oneapi.relay.channeltypes import ChannelType, OtherField, Text, TypeSpec
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import UpstreamError
from oneapi.relay.modes import RelayMode as M
from oneapi.relay.sse import SSEEvent
from oneapi.relay.usage import StreamState, Usage

MODELS = (
    "Spark-Lite",
    "Spark-Pro",
    "Spark-Pro-128K",
    "Spark-Max",
    "Spark-Max-32K",
    "Spark-4.0-Ultra",
    # Later (https://www.xfyun.cn/doc/spark/X1ws.html).
    "Spark-X1",
)

SPEC = TypeSpec(
    ChannelType.XUNFEI, Text("讯飞星火认知", "iFlytek Spark"), frozenset({M.CHAT}),
    models=MODELS, owner="xunfei",
    base_url="wss://spark-api.xf-yun.com",
    key_format="APPID|APISecret|APIKey",
    other=OtherField("xunfei_version", Text("星火模型版本", "Spark model version"), placeholder="v2.1",
                     hint=Text("API 地址中的版本号，例如 v2.1；模型名已含版本时可留空。",
                               "The version in the API address, e.g. v2.1; may stay empty when the model name "
                               "tells it.")),
)

DEFAULT_VERSION = "v1.1"
# version → (path under the base URL, domain)
ENDPOINTS = {
    "v1.1": ("/v1.1/chat", "lite"),
    "v2.1": ("/v2.1/chat", "generalv2"),
    "v3.1": ("/v3.1/chat", "generalv3"),
    "v3.1-128K": ("/chat/pro-128k", "pro-128k"),
    "v3.5": ("/v3.5/chat", "generalv3.5"),
    "v3.5-32K": ("/chat/max-32k", "max-32k"),
    "v4.0": ("/v4.0/chat", "4.0Ultra"),
    "x1": ("/v1/x1", "spark-x"),
}
MODEL_VERSIONS = {
    "spark-lite": "v1.1", "spark-pro": "v3.1", "spark-pro-128k": "v3.1-128K", "spark-max": "v3.5",
    "spark-max-32k": "v3.5-32K", "spark-4.0-ultra": "v4.0", "spark-x1": "x1", "spark-x1.5": "x1",
}
DOMAIN_VERSIONS = {domain.lower(): version for version, (_, domain) in ENDPOINTS.items()}
VERSIONS = {version.lower(): version for version in ENDPOINTS}
FUNCTION_DOMAINS = ("generalv3", "generalv3.5", "4.0Ultra", "spark-x")
MAX_UID = 32

# Spark's error codes → the HTTP status the error is answered with.
AUTH_ERRORS = {10015, 10016, 11200, 11500}
RATE_ERRORS = {10007, 11201, 11202, 11203}
REQUEST_ERRORS = {10003, 10004, 10005, 10013, 10019, 10163, 10404, 10907, 11501}
OUTPUT_REFUSED = 10014
DESCRIPTIONS = {
    10007: "the user's previous request is still being processed", 10013: "input refused by content moderation",
    10014: "output refused by content moderation", 10907: "too many tokens in the history and question",
    11200: "the app id is not licensed for this service or its volume is used up",
    11201: "daily request limit exceeded", 11202: "per-second request limit exceeded",
    11203: "concurrency limit exceeded",
}


def now() -> float:
    """The clock of the signature date and of `created`; a module function so that tests can pin it."""
    return time.time()


def call_id() -> str:
    """A tool call's id; Spark gives none. Tests replace it."""
    return f"call_{uuid.uuid4().hex}"


@register(SPEC)
class XunfeiAdaptor(Adaptor):
    key: ClassVar[str] = "xunfei"
    transport: ClassVar[str] = "websocket"
    stream_format: ClassVar[str] = "messages"
    always_streams: ClassVar[bool] = True

    def request_url(self, ctx: RelayContext) -> str:
        _, secret, api_key = parse_key(ctx.key)
        path, _ = endpoint(ctx.model, ctx.config)
        return signed_url(websocket_base(ctx.base_url) + path, api_key, secret, now())

    def request_headers(self, ctx: RelayContext) -> dict[str, str]:
        """Nothing: the credentials are in the signed URL, never in a header."""
        return {}

    def convert_request(self, body: dict[str, Any], ctx: RelayContext) -> dict[str, Any]:
        app_id, _, _ = parse_key(ctx.key)
        _, domain = endpoint(ctx.model, ctx.config)
        header: dict[str, Any] = {"app_id": app_id}
        user = body.get("user")
        if isinstance(user, str) and 0 < len(user) <= MAX_UID:
            header["uid"] = user
        chat: dict[str, Any] = {"domain": domain}
        if body.get("temperature") is not None:
            chat["temperature"] = body["temperature"]
        if body.get("top_k") is not None:
            chat["top_k"] = body["top_k"]
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
        if max_tokens:
            chat["max_tokens"] = max_tokens
        payload: dict[str, Any] = {"message": {"text": convert_messages(body.get("messages") or [])}}
        functions = function_definitions(body)
        if functions and domain in FUNCTION_DOMAINS:
            payload["functions"] = {"text": functions}
        return {"header": header, "parameter": {"chat": chat}, "payload": payload}

    def convert_stream(self, events: Iterable[SSEEvent], ctx: RelayContext,
                       state: StreamState) -> Iterator[dict[str, Any] | bytes]:
        translator = FrameTranslator(ctx.model, state)
        for event in events:
            yield from translator.feed(event)
            if translator.finished:
                return
        raise UpstreamError(502, "Spark closed the connection before the last frame", code="bad_response")

    def convert_response(self, body: dict[str, Any], ctx: RelayContext) -> tuple[dict[str, Any], Usage | None]:
        """One whole frame as the answer. The pipeline reads Spark's answers as streams (`always_streams`)
        and folds the chunks itself; this serves a caller holding a single, complete frame."""
        state = StreamState()
        translator = FrameTranslator(ctx.model, state)
        chunks = list(translator.feed(SSEEvent("message", json.dumps(body))))
        if not translator.finished:
            chunks += list(translator.finish(TOOL_CALLS if translator.calls else STOP))
        usage = state.usage
        counts = usage.as_openai() if usage else {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        return assemble(chunks, M.CHAT, counts, ctx.model), usage

    def convert_error(self, status: int, body: bytes, ctx: RelayContext) -> UpstreamError:
        """A refused handshake (`{"message": ...}`, One API's reading) or an error frame."""
        parsed = parse_json(body)
        header = parsed.get("header") if isinstance(parsed, dict) else None
        if isinstance(header, dict) and header.get("code"):
            return frame_error(header)
        return openai_style_error(status, body)


def parse_key(key: str) -> tuple[str, str, str]:
    """APPID, APISecret and APIKey of a `APPID|APISecret|APIKey` channel key."""
    parts = [part.strip() for part in (key or "").split("|")]
    if len(parts) != 3 or not all(parts):
        raise UpstreamError(401, "invalid auth: the channel key must be APPID|APISecret|APIKey",
                            "xunfei_error", "invalid_auth")
    return parts[0], parts[1], parts[2]


def api_version(model: str, config: dict[str, Any]) -> str:
    """The version (a key of ENDPOINTS, or an unknown `v…` the admin gave) that serves `model`."""
    name = (model or "").strip().lower()
    if name in MODEL_VERSIONS:
        return MODEL_VERSIONS[name]
    if name in DOMAIN_VERSIONS:
        return DOMAIN_VERSIONS[name]
    _, dash, rest = name.partition("-")
    if dash and re.match(r"v\d", rest):
        return VERSIONS.get(rest, rest)
    configured = str(config.get("api_version") or "").strip()
    if configured:
        return VERSIONS.get(configured.lower(), configured)
    return DEFAULT_VERSION


def endpoint(model: str, config: dict[str, Any]) -> tuple[str, str]:
    """The path and domain of `model`; an unknown version `vX` is `/vX/chat` with domain `generalvX`."""
    version = api_version(model, config)
    return ENDPOINTS.get(version) or (f"/{version}/chat", f"general{version}")


def websocket_base(base_url: str) -> str:
    base = base_url.rstrip("/")
    for plain, secure in (("https://", "wss://"), ("http://", "ws://")):
        if base.lower().startswith(plain):
            return secure + base[len(plain):]
    return base if base.lower().startswith(("ws://", "wss://")) else f"wss://{base}"


def signed_url(url: str, api_key: str, secret: str, at: float) -> str:
    """`url` with the `host`, `date` and `authorization` query of Spark's handshake authentication."""
    parts = urlsplit(url)
    date = formatdate(at, usegmt=True)
    signed = f"host: {parts.netloc}\ndate: {date}\nGET {parts.path or '/'} HTTP/1.1"
    digest = hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest()
    origin = (f'hmac username="{api_key}", algorithm="hmac-sha256", headers="host date request-line", '
              f'signature="{base64.b64encode(digest).decode()}"')
    query = urlencode({"host": parts.netloc, "date": date,
                       "authorization": base64.b64encode(origin.encode()).decode()})
    return f"{url}?{query}"


def convert_messages(messages: list[Any]) -> list[dict[str, str]]:
    """Spark's text messages: roles system/user/assistant, text content only."""
    out: list[dict[str, str]] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        spark_role = {"system": "system", "developer": "system", "assistant": "assistant"}.get(role, "user")
        content = text_of(message.get("content"))
        if content:
            out.append({"role": spark_role, "content": content})
    return out


def function_definitions(body: dict[str, Any]) -> list[dict[str, Any]]:
    """OpenAI `tools` (and the legacy `functions`) as Spark's `{name, description, parameters}`."""
    functions = [tool.get("function") for tool in body.get("tools") or []
                 if isinstance(tool, dict) and tool.get("type", "function") == "function"]
    functions += list(body.get("functions") or [])
    out = []
    for function in functions:
        if not isinstance(function, dict) or not function.get("name"):
            continue
        definition = {"name": function["name"], "description": function.get("description") or "",
                      "parameters": function.get("parameters") or {"type": "object", "properties": {}}}
        out.append(definition)
    return out


def error_status(code: int) -> int:
    if code in AUTH_ERRORS:
        return 401
    if code in RATE_ERRORS:
        return 429
    if code in REQUEST_ERRORS or code == OUTPUT_REFUSED:
        return 400
    return 500


def frame_error(header: dict[str, Any]) -> UpstreamError:
    code = header.get("code")
    number = code if isinstance(code, int) else int(code) if str(code).isdigit() else 0
    message = str(header.get("message") or DESCRIPTIONS.get(number) or f"Spark error {code}")
    return UpstreamError(error_status(number), message, "xunfei_error", str(code), str(header.get("sid") or ""))


def arguments_json(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value if value is not None else {}, ensure_ascii=False, separators=(",", ":"))


class FrameTranslator(ChunkStream):
    """Spark frames in, OpenAI chunks out: one id (from Spark's `sid`) and `created` per stream, the
    role on the first chunk, the finish reason on the last one, sent when the frame of status 2 comes."""

    def __init__(self, model: str, state: StreamState) -> None:
        self.model = model
        self.state = state
        self.id = ""
        self.created = int(now())
        self.role_sent = False
        self.calls = 0
        self.finished = False

    def feed(self, event: SSEEvent) -> Iterator[dict[str, Any]]:
        try:
            frame = event.json()
        except ValueError:
            return
        if not isinstance(frame, dict):
            return
        header = frame.get("header") if isinstance(frame.get("header"), dict) else {}
        if not self.id:
            self.id = f"chatcmpl-{header.get('sid') or uuid.uuid4().hex}"
        if header.get("code") == OUTPUT_REFUSED:
            yield from self.finish(CONTENT_FILTER)
            return
        if header.get("code"):
            raise frame_error(header)
        payload = frame.get("payload") if isinstance(frame.get("payload"), dict) else {}
        choices = payload.get("choices") if isinstance(payload.get("choices"), dict) else {}
        for item in choices.get("text") or []:
            if isinstance(item, dict):
                yield from self.item(item)
        usage = (payload.get("usage") or {}).get("text") if isinstance(payload.get("usage"), dict) else None
        if isinstance(usage, dict):
            self.state.usage = Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
        if choices.get("status") == 2 or (not choices and header.get("status") == 2):
            yield from self.finish(TOOL_CALLS if self.calls else STOP)

    def item(self, item: dict[str, Any]) -> Iterator[dict[str, Any]]:
        for field in ("reasoning_content", "content"):
            text = item.get(field)
            if isinstance(text, str) and text:
                self.state.add_text(text)
                yield self.chunk({field: text})
        function = item.get("function_call")
        if isinstance(function, dict) and function.get("name"):
            arguments = arguments_json(function.get("arguments"))
            self.state.add_text(arguments)
            call = {"index": self.calls, "id": call_id(), "type": "function",
                    "function": {"name": str(function["name"]), "arguments": arguments}}
            self.calls += 1
            yield self.chunk({"tool_calls": [call]})

    def finish(self, reason: str) -> Iterator[dict[str, Any]]:
        self.finished = True
        self.state.finish_reason = reason
        yield self.chunk({}, reason)
