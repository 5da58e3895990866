"""Zhipu GLM (channel type 16): BigModel's v4 API (OpenAI-shaped chat, embeddings, images) and, for the
retired `chatglm_*` models, the v3 model API.

Wire facts (https://docs.bigmodel.cn/cn/api/introduction, /cn/guide/start/introduction, the v3 SDK):
- The channel key is `id.secret`. Calls carry `Authorization: <JWT>` (no `Bearer`): HS256 over the
  header `{"alg":"HS256","sign_type":"SIGN"}` and the claims `api_key` (the id), `exp` and `timestamp`,
  both in *milliseconds*, signed with the secret.
- v4: `POST {base}/api/paas/v4/chat/completions` takes OpenAI's body (`user_id` instead of `user`,
  `stop` a list) and answers OpenAI's shape without `object`; a stream is `data: <chunk>` events ended
  by `data: [DONE]`, each chunk repeating `delta.role`, the last one carrying `finish_reason` and
  `usage`. Finish reasons: stop, length, tool_calls, sensitive (content safety), network_error (the
  model's inference failed). temperature ∈ [0, 1], top_p ∈ [0.01, 1].
- `POST {base}/api/paas/v4/embeddings` `{model, input (a string or up to 64 strings), dimensions}` →
  OpenAI's list with `usage.prompt_tokens`. `POST {base}/api/paas/v4/images/generations`
  `{model, prompt, size, quality, user_id}` → `{created, data: [{url}]}` (one image, URLs only).
- Errors: `{"error": {"code": "1211", "message": "模型不存在，请检查模型代码。"}}` with the HTTP status
  (401 for 1000-1004 auth codes, 429 for rate limits and arrears, 400 for request errors); the code is
  a string of digits.
- v3: `POST {base}/api/paas/v3/model-api/{model}/invoke` (or `/sse-invoke`) with
  `{prompt: [{role, content}], temperature, top_p, incremental}`; answers
  `{code, msg, success, data: {task_id, request_id, choices: [{role, content}], usage}}` with HTTP 200
  even for errors (`success: false`); `content` is a JSON-quoted string. A v3 stream is SSE with
  `event:` add / finish / error / interrupted, `data:` text lines (several in one event join with
  "\\n") and, on the finish event, a `meta:` line holding the usage as JSON.

Where we differ from One API, and why:
- Only `chatglm_*` models use v3; every other name (glm-*, charglm-4, emohaa, codegeex-4 …) goes to v4,
  which is the only API that serves them (One API sent every non-`glm-` name to v3).
- top_p is clamped to [0.01, 1] (One API: [0, 1], and Zhipu refuses 0); `max_completion_tokens` becomes
  `max_tokens`, `user` becomes `user_id` when Zhipu accepts its length (6-128), a string `stop` a list,
  and `stream_options` is not sent.
- Answers and chunks get `object` and are normalized to OpenAI's stream rules (one id and `created`,
  the role on the first chunk only); `sensitive` is `content_filter`; `network_error` is raised as a
  500 error (One API returned the cut answer as a success). The usage of a stream goes to the client
  only when it asked for it (`stream_options.include_usage`).
- Zhipu's errors keep their status and become `type: zhipu_error` with Zhipu's code (One API only did
  so for v3, passing v4 errors through without a type); errors without an HTTP status (v3, stream
  events) get the status Zhipu gives that code.
- Embeddings: a list of inputs is sent as it is (up to 64, as Zhipu's current API takes; One API
  refused more than one); token arrays are refused with a 400. Zhipu only returns floats, so the
  answer has floats whatever `encoding_format` asked (the official SDKs, which ask for base64 by
  default, accept floats); `encoding_format` is not sent.
- Images: `size` and `quality` are forwarded; `n > 1` is refused with a 400, since Zhipu makes one
  image (One API silently returned one URL); Zhipu answers URLs, and for `b64_json` the pipeline
  fetches them and answers them inline.
- v3 streams ask for `incremental: true` (One API's `false` was dropped by `omitempty`, so Zhipu's
  default applied anyway), a `system` message is sent as `user` (v3 knows only user and assistant),
  an `interrupted` event ends the stream with `content_filter` and an `error` event is raised; the
  `meta:` usage goes with the last chunk to a client that asked for usage, so the stream keeps one id.
- The stream is read line by line (`stream_format = "ndjson"`): the SSE parser drops v3's `meta:` line,
  which holds the usage; v4's `data:` lines are read the same way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from oneapi.relay.adaptors import jwt, register
from oneapi.relay.adaptors.base import (
    CONTENT_FILTER,
    LENGTH,
    STOP,
    TOOL_CALLS,
    Adaptor,
    Credential,
    openai_style_error,
    parse_json,
    text_of,
)
from oneapi.relay.adaptors.openai import note_chunk
from oneapi.relay.channeltypes import ChannelType, Text, TypeSpec
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import LocalError, UpstreamError
from oneapi.relay.modes import RelayMode as M
from oneapi.relay.sse import SSEEvent
from oneapi.relay.usage import StreamState, Usage

MODELS = (
    # One API's list.
    "glm-zero-preview",
    "glm-4-plus",
    "glm-4-0520",
    "glm-4-airx",
    "glm-4-air",
    "glm-4-long",
    "glm-4-flashx",
    "glm-4-flash",
    "glm-4",
    "glm-3-turbo",
    "glm-4v-plus",
    "glm-4v",
    "glm-4v-flash",
    "cogview-3-plus",
    "cogview-3",
    "cogview-3-flash",
    "cogviewx",
    "cogviewx-flash",
    "charglm-4",
    "emohaa",
    "codegeex-4",
    "embedding-2",
    "embedding-3",
    # Current models (https://docs.bigmodel.cn/cn/guide/start/model-overview).
    "glm-4.5",
    "glm-4.5-air",
    "glm-4.5-flash",
    "glm-4.5v",
    "glm-4.6",
    "glm-z1-air",
    "glm-z1-flash",
    "cogview-4",
)

SPEC = TypeSpec(
    ChannelType.ZHIPU, Text("智谱 ChatGLM", "Zhipu ChatGLM"), frozenset({M.CHAT, M.EMBEDDINGS, M.IMAGES}),
    models=MODELS, owner="zhipu",
    base_url="https://open.bigmodel.cn",
    key_format="id.secret",
    key_hint=Text("智谱 API Key，格式为 id.secret", "Zhipu API key, in the form id.secret"),
)

TOKEN_SECONDS = 24 * 3600
"""The JWT's lifetime (One API's)."""
TOKEN_MARGIN = 300
"""The credential is renewed this long before the JWT's `exp`, against clock skew."""
JWT_HEADER = {"alg": "HS256", "sign_type": "SIGN"}
TEMPERATURE_RANGE = (0.0, 1.0)
TOP_P_RANGE = (0.01, 1.0)
MAX_EMBEDDING_INPUTS = 64
FINISH_REASONS = {"stop": STOP, "length": LENGTH, "tool_calls": TOOL_CALLS, "sensitive": CONTENT_FILTER}
ERROR_TYPE = "zhipu_error"


def now() -> float:
    """The clock (JWT claims, `created`); a module function so that tests can pin it."""
    return time.time()


def is_v3(model: str) -> bool:
    return model.startswith("chatglm_")


@register(SPEC)
class ZhipuAdaptor(Adaptor):
    key: ClassVar[str] = "zhipu"
    image_urls_only = True
    stream_format: ClassVar[str] = "ndjson"

    # -- credential and transport ------------------------------------------------------------------
    def credential(self, ctx: RelayContext, now: float) -> Credential:
        return Credential(jwt_token(ctx.key, now), now + TOKEN_SECONDS - TOKEN_MARGIN)

    def request_url(self, ctx: RelayContext) -> str:
        base = ctx.base_url
        if ctx.mode == M.IMAGES:
            return f"{base}/api/paas/v4/images/generations"
        if ctx.mode == M.EMBEDDINGS:
            return f"{base}/api/paas/v4/embeddings"
        if ctx.mode != M.CHAT:
            raise self.refusal(ctx.channel_type, ctx.mode)
        if is_v3(ctx.model):
            return f"{base}/api/paas/v3/model-api/{ctx.model}/{'sse-invoke' if ctx.stream else 'invoke'}"
        return f"{base}/api/paas/v4/chat/completions"

    def request_headers(self, ctx: RelayContext) -> dict[str, str]:
        token = ctx.credential or jwt_token(ctx.key, now())
        headers = {"Authorization": token, "Content-Type": "application/json"}
        if ctx.stream:
            headers["Accept"] = "text/event-stream"
        return headers

    # -- requests -----------------------------------------------------------------------------------
    def convert_request(self, body: dict[str, Any], ctx: RelayContext) -> dict[str, Any]:
        if ctx.mode == M.IMAGES:
            return image_request(body, ctx.model)
        if ctx.mode == M.EMBEDDINGS:
            return embedding_request(body, ctx.model)
        if is_v3(ctx.model):
            return v3_request(body, ctx.stream)
        return chat_request(body, ctx.model)

    # -- answers ------------------------------------------------------------------------------------
    def convert_response(self, body: dict[str, Any], ctx: RelayContext) -> tuple[dict[str, Any], Usage | None]:
        if isinstance(body.get("error"), dict):
            raise business_error(body["error"].get("code"), body["error"].get("message"))
        if ctx.mode == M.IMAGES:
            return image_response(body), None
        if ctx.mode == M.EMBEDDINGS:
            return embedding_response(body, ctx)
        if is_v3(ctx.model) or body.get("success") is False:
            return v3_response(body, ctx)
        return chat_response(body, ctx)

    def convert_stream(self, events: Iterable[SSEEvent], ctx: RelayContext,
                       state: StreamState) -> Iterator[dict[str, Any] | bytes]:
        lines = (event.data for event in events)
        if is_v3(ctx.model):
            return V3Stream(ctx, state).run(lines)
        return V4Stream(ctx, state).run(lines)

    def convert_error(self, status: int, body: bytes, ctx: RelayContext) -> UpstreamError:
        parsed = parse_json(body)
        if isinstance(parsed, dict):
            error = parsed.get("error")
            if isinstance(error, dict) and error.get("message"):
                return UpstreamError(status, str(error["message"]), ERROR_TYPE, str(error.get("code") or ""))
            if parsed.get("success") is False and parsed.get("msg"):
                return UpstreamError(status, str(parsed["msg"]), ERROR_TYPE, str(parsed.get("code") or ""))
        return openai_style_error(status, body)


# -- the JWT ----------------------------------------------------------------------------------------

def jwt_token(key: str, at: float) -> str:
    """The HS256 JWT for the key `id.secret` at Unix time `at` (One API's claims, in milliseconds)."""
    key_id, dot, secret = key.strip().partition(".")
    if not dot or not key_id or not secret:
        raise UpstreamError(401, "invalid Zhipu channel key: expected id.secret", ERROR_TYPE, "invalid_api_key")
    millis = int(at * 1000)
    claims = {"api_key": key_id, "exp": millis + TOKEN_SECONDS * 1000, "timestamp": millis}
    return jwt.hs256(JWT_HEADER, claims, secret)


# -- request bodies ----------------------------------------------------------------------------------

def clamp(value: Any, bounds: tuple[float, float]) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    low, high = bounds
    return min(max(value, low), high)


def user_id(body: dict[str, Any]) -> str | None:
    """OpenAI's `user` as Zhipu's `user_id`, which must be 6 to 128 characters long."""
    user = body.get("user")
    return user if isinstance(user, str) and 6 <= len(user) <= 128 else None


def chat_request(body: dict[str, Any], model: str) -> dict[str, Any]:
    """v4 takes OpenAI's body; only what Zhipu spells or bounds differently is changed."""
    dropped = ("user", "stream_options", "max_completion_tokens")
    out = {key: value for key, value in body.items() if key not in dropped}
    out["model"] = model
    for name, bounds in (("temperature", TEMPERATURE_RANGE), ("top_p", TOP_P_RANGE)):
        if out.get(name) is not None:
            out[name] = clamp(out[name], bounds)
    if out.get("max_tokens") is None and body.get("max_completion_tokens") is not None:
        out["max_tokens"] = body["max_completion_tokens"]
    if isinstance(out.get("stop"), str):
        out["stop"] = [out["stop"]]
    if user := user_id(body):
        out["user_id"] = user
    return out


def v3_request(body: dict[str, Any], stream: bool) -> dict[str, Any]:
    prompt = [{"role": "assistant" if m.get("role") == "assistant" else "user", "content": text_of(m.get("content"))}
              for m in body.get("messages") or [] if isinstance(m, dict)]
    out: dict[str, Any] = {"prompt": prompt}
    for name, bounds in (("temperature", TEMPERATURE_RANGE), ("top_p", TOP_P_RANGE)):
        if body.get(name) is not None:
            out[name] = clamp(body[name], bounds)
    if stream:
        out["incremental"] = True
    return out


def embedding_request(body: dict[str, Any], model: str) -> dict[str, Any]:
    given = body.get("input")
    texts = [given] if isinstance(given, str) else given
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise LocalError(400, "Zhipu embeddings take a string or a list of strings as input",
                         code="invalid_text_request")
    if len(texts) > MAX_EMBEDDING_INPUTS:
        raise LocalError(400, f"Zhipu embeddings take at most {MAX_EMBEDDING_INPUTS} inputs per request",
                         code="invalid_text_request")
    out: dict[str, Any] = {"model": model, "input": given}
    if body.get("dimensions") is not None:
        out["dimensions"] = body["dimensions"]
    return out


def image_request(body: dict[str, Any], model: str) -> dict[str, Any]:
    if (body.get("n") or 1) != 1:
        raise LocalError(400, "Zhipu generates one image per request: n must be 1", code="n_not_within_range")
    if body.get("response_format") not in (None, "url", "b64_json"):
        raise LocalError(400, "response_format must be url or b64_json", code="invalid_image_request")
    out: dict[str, Any] = {"model": model, "prompt": body.get("prompt") or ""}
    for name in ("size", "quality"):
        if body.get(name):
            out[name] = body[name]
    if user := user_id(body):
        out["user_id"] = user
    return out


# -- answers ---------------------------------------------------------------------------------------

def finish_reason(reason: Any) -> str | None:
    """Zhipu's finish reason as OpenAI's; `network_error` (a failed inference) is raised."""
    if not reason:
        return None
    if reason == "network_error":
        raise UpstreamError(500, "Zhipu's model inference failed (finish_reason network_error)", ERROR_TYPE,
                            "network_error")
    return FINISH_REASONS.get(reason, STOP)


def usage_of(usage: Any) -> Usage | None:
    if not isinstance(usage, dict) or not (usage.get("prompt_tokens") or usage.get("completion_tokens")):
        return None
    return Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))


def chat_response(body: dict[str, Any], ctx: RelayContext) -> tuple[dict[str, Any], Usage | None]:
    choices = []
    for number, choice in enumerate(body.get("choices") or []):
        message = dict(choice.get("message") or {})
        message.setdefault("role", "assistant")
        choices.append({"index": choice.get("index", number), "message": message,
                        "finish_reason": finish_reason(choice.get("finish_reason")) or STOP})
    usage = usage_of(body.get("usage"))
    completion = {"id": str(body.get("id") or body.get("request_id") or ""), "object": "chat.completion",
                  "created": body.get("created") or int(now()), "model": body.get("model") or ctx.model,
                  "choices": choices}
    if usage is not None:
        completion["usage"] = usage.as_openai()
    return completion, usage


def v3_response(body: dict[str, Any], ctx: RelayContext) -> tuple[dict[str, Any], Usage | None]:
    if not body.get("success"):
        raise business_error(body.get("code"), body.get("msg"))
    data = body.get("data") or {}
    choices = data.get("choices") or []
    usage = usage_of(data.get("usage"))
    completion = {
        "id": str(data.get("task_id") or data.get("request_id") or ""), "object": "chat.completion",
        "created": int(now()), "model": ctx.model,
        "choices": [{"index": i, "message": {"role": "assistant", "content": unquote(c.get("content"))},
                     "finish_reason": STOP} for i, c in enumerate(choices)],
    }
    if usage is not None:
        completion["usage"] = usage.as_openai()
    return completion, usage


def unquote(content: Any) -> str:
    """v3 answers its text JSON-encoded (`"\\"Hi\\\\n\\""`); a plain text is kept as it is."""
    text = content if isinstance(content, str) else ""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            decoded = json.loads(text)
        except ValueError:
            return text[1:-1]
        return decoded if isinstance(decoded, str) else text
    return text


def embedding_response(body: dict[str, Any], ctx: RelayContext) -> tuple[dict[str, Any], Usage | None]:
    data = [{"object": "embedding", "index": item.get("index", i), "embedding": item.get("embedding") or []}
            for i, item in enumerate(body.get("data") or [])]
    usage = body.get("usage") or {}
    prompt = int(usage.get("prompt_tokens") or usage.get("total_tokens") or 0)
    answer = {"object": "list", "data": data, "model": body.get("model") or ctx.model,
              "usage": {"prompt_tokens": prompt, "total_tokens": prompt}}
    return answer, (Usage(prompt, 0) if prompt else None)


def image_response(body: dict[str, Any]) -> dict[str, Any]:
    images = [{"url": item["url"]} for item in body.get("data") or [] if isinstance(item, dict) and item.get("url")]
    return {"created": body.get("created") or int(now()), "data": images}


# -- errors ----------------------------------------------------------------------------------------

def code_status(code: Any) -> int:
    """The HTTP status Zhipu answers a business code with, for errors that arrive without one."""
    try:
        number = int(str(code))
    except ValueError:
        return 500
    if 1000 <= number <= 1004:
        return 401
    if 1100 <= number < 1200:
        return 429  # account in arrears or restricted
    if 1200 <= number < 1300 or number == 1301:
        return 400  # request errors, unsafe content
    if 1300 <= number < 1400:
        return 429  # rate and concurrency limits
    return 500


def business_error(code: Any, message: Any) -> UpstreamError:
    return UpstreamError(code_status(code), str(message or f"Zhipu error {code}"), ERROR_TYPE, str(code or ""))


# -- streams ---------------------------------------------------------------------------------------

def split_field(line: str) -> tuple[str, str]:
    """An SSE line's field and value (one space after the colon removed, as the SSE rules say)."""
    name, _, value = line.partition(":")
    return name.strip(), value[1:] if value.startswith(" ") else value


class V4Stream:
    """v4 `data:` chunks → OpenAI chunks under OpenAI's rules (see the module docstring)."""

    def __init__(self, ctx: RelayContext, state: StreamState) -> None:
        self.ctx = ctx
        self.state = state
        self.id: str | None = None
        self.created = 0
        self.role_sent = False

    def run(self, lines: Iterable[str]) -> Iterator[dict[str, Any]]:
        for line in lines:
            if line.startswith("{"):
                payload = line  # a JSON error body in place of the stream
            else:
                name, payload = split_field(line)
                if name != "data":
                    continue
            if payload.strip() == "[DONE]":
                return
            try:
                chunk = json.loads(payload)
            except ValueError:
                continue
            if isinstance(chunk, dict):
                converted = self.convert(chunk)
                if converted is not None:
                    yield converted

    def convert(self, chunk: dict[str, Any]) -> dict[str, Any] | None:
        error = chunk.get("error")
        if isinstance(error, dict):
            raise business_error(error.get("code"), error.get("message"))
        if self.id is None:
            self.id = str(chunk.get("id") or chunk.get("request_id") or "")
            self.created = chunk.get("created") or int(now())
        out: dict[str, Any] = {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                               "model": chunk.get("model") or self.ctx.model,
                               "choices": [self.choice(c) for c in chunk.get("choices") or [] if isinstance(c, dict)]}
        if chunk.get("usage") is not None:
            out["usage"] = chunk["usage"]
        if not note_chunk(out, self.state, self.ctx):
            return None
        if not self.ctx.client_wants_usage:
            out.pop("usage", None)
        return out

    def choice(self, choice: dict[str, Any]) -> dict[str, Any]:
        delta = {k: v for k, v in (choice.get("delta") or {}).items() if k != "role"}
        if not self.role_sent:
            delta, self.role_sent = {"role": "assistant", **delta}, True
        if delta.get("tool_calls"):
            delta["tool_calls"] = [{"index": i, **call} if "index" not in call else call
                                   for i, call in enumerate(delta["tool_calls"]) if isinstance(call, dict)]
        return {"index": choice.get("index", 0), "delta": delta,
                "finish_reason": finish_reason(choice.get("finish_reason"))}


class V3Stream:
    """v3 SSE lines (event / data / meta) → OpenAI chunks; `meta:` carries the usage."""

    def __init__(self, ctx: RelayContext, state: StreamState) -> None:
        self.ctx = ctx
        self.state = state
        self.id = ""
        self.created = int(now())
        self.role_sent = False
        self.event = "add"
        self.in_data = False  # the previous line was data of the same event

    def run(self, lines: Iterable[str]) -> Iterator[dict[str, Any]]:
        for line in lines:
            name, value = split_field(line)
            if name == "data":
                text = ("\n" if self.in_data else "") + value
                self.in_data = True
                yield from self.data(text)
                continue
            self.in_data = False
            if name == "event":
                self.event = value.strip()
            elif name == "id" and not self.id:
                self.id = value.strip()
            elif name == "meta":
                yield from self.meta(value)

    def data(self, text: str) -> Iterator[dict[str, Any]]:
        if self.event == "error":
            raise UpstreamError(500, text or "Zhipu stream error", ERROR_TYPE, "error")
        if self.event == "interrupted":
            if text:
                self.state.add_text(text)
                yield self.chunk({"content": text})
            if self.state.finish_reason is None:
                self.state.finish_reason = CONTENT_FILTER
                yield self.chunk({}, CONTENT_FILTER)
            return
        if text:
            self.state.add_text(text)
            yield self.chunk({"content": text})

    def meta(self, value: str) -> Iterator[dict[str, Any]]:
        try:
            meta = json.loads(value)
        except ValueError:
            return
        if not isinstance(meta, dict):
            return
        self.id = self.id or str(meta.get("task_id") or meta.get("request_id") or "")
        usage = usage_of(meta.get("usage"))
        if usage is not None:
            self.state.usage = usage
        if self.state.finish_reason is None:
            self.state.finish_reason = STOP
            last = self.chunk({}, STOP)
            if usage is not None and self.ctx.client_wants_usage:
                # With the last chunk, so that the stream keeps one id (as Zhipu's v4 does).
                last["usage"] = usage.as_openai()
                self.state.usage_forwarded = True
            yield last

    def chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        if not self.role_sent:
            # The id is fixed by the first chunk: the event id Zhipu sent by then, else ours.
            delta, self.role_sent = {"role": "assistant", **delta}, True
            self.id = self.id or f"chatcmpl-{self.ctx.request_id}"
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.ctx.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
