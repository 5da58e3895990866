"""Ollama (channel type 30): OpenAI chat completions and embeddings over Ollama's native API.

Wire facts (https://github.com/ollama/ollama/blob/main/docs/api.md):
- `POST {base}/api/chat` with `{model, messages[{role, content, images (bare base64), tool_calls,
  tool_name}], tools, format ("json" or a JSON schema), options{temperature, top_p, top_k, seed,
  num_predict, stop, frequency_penalty, presence_penalty, num_ctx}, stream, think}`. `stream` defaults to
  **true**, so a non-stream request must say `false`. No authentication of its own; proxies in front of
  it take `Authorization: Bearer`.
- A stream is newline-delimited JSON (`application/x-ndjson`): `{model, created_at, message{role,
  content, thinking, tool_calls}, done: false}` per piece, then `{done: true, done_reason, total_duration,
  prompt_eval_count, eval_count, …}`; a failure mid-stream is a line `{"error": "..."}`.
- The non-stream answer is the same object once, with the whole message and `done: true`.
  `done_reason` is `stop` or `length` (`load`/`unload` for empty requests). Tool calls carry no id and
  their `arguments` are an object.
- `POST {base}/api/embed` with `{model, input (a string or strings), dimensions}` answers
  `{model, embeddings[[...]], prompt_eval_count}`.
- Errors are `{"error": "..."}` with the HTTP status: 404 `model "x" not found, try pulling it first`,
  400 for a bad request, 500 for a runner failure.

Where we differ from One API:
- All text parts of a message are sent (One API kept only the last one), and a part list's images go as
  `images` only when they are data URLs: the adaptor does no I/O, so an http(s) image URL is refused
  with 400 instead of being downloaded.
- `max_completion_tokens`, `top_k`, `stop`, `response_format` (→ `format`), tools, assistant tool calls
  and tool results are translated; tool calls come back with generated ids (`call_<hex>`) and finish
  reason `tool_calls`; `thinking` becomes `reasoning_content`.
- A stream keeps one id and `created`, has the role on its first chunk and the finish reason (from
  `done_reason`) on its last; an `{"error"}` line ends it with an error.
- Embeddings bill Ollama's `prompt_eval_count`; the Bearer header is sent only when the channel has a key.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from oneapi.relay.adaptors import register
from oneapi.relay.adaptors.base import (
    LENGTH,
    STOP,
    TOOL_CALLS,
    Adaptor,
    ChunkStream,
    feed_objects,
    now,
    openai_style_error,
    parse_json,
    text_of,
)
from oneapi.relay.channeltypes import ChannelType, Text, TypeSpec
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import LocalError, UpstreamError
from oneapi.relay.modes import RelayMode as M
from oneapi.relay.sse import SSEEvent
from oneapi.relay.usage import StreamState, Usage

MODELS = (
    "codellama:7b-instruct",
    "llama2:7b",
    "llama2:latest",
    "llama3:latest",
    "phi3:latest",
    "qwen:0.5b-chat",
    "qwen:7b",
)

SPEC = TypeSpec(
    ChannelType.OLLAMA, Text("Ollama", "Ollama"), frozenset({M.CHAT, M.EMBEDDINGS}),
    models=MODELS, owner="ollama",
    base_url="http://localhost:11434",
    key_hint=Text("Ollama 本身无需密钥，可随意填写；若前置代理需要 Bearer 令牌则填写该令牌",
                  "Ollama itself needs no key (any value works); enter the Bearer token a proxy in front of it "
                  "needs"),
)

FINISH_REASONS = {"stop": STOP, "length": LENGTH}
# OpenAI request fields → Ollama `options` keys.
OPTIONS = {"temperature": "temperature", "top_p": "top_p", "top_k": "top_k", "seed": "seed",
           "frequency_penalty": "frequency_penalty", "presence_penalty": "presence_penalty", "num_ctx": "num_ctx"}


def random_hex() -> str:
    """Source of generated ids (responses, tool calls); tests replace it."""
    return uuid.uuid4().hex[:24]


@register(SPEC)
class OllamaAdaptor(Adaptor):
    key: ClassVar[str] = "ollama"
    stream_format: ClassVar[str] = "ndjson"

    def request_url(self, ctx: RelayContext) -> str:
        return f"{ctx.base_url}/api/embed" if ctx.mode == M.EMBEDDINGS else f"{ctx.base_url}/api/chat"

    def request_headers(self, ctx: RelayContext) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if ctx.key:
            headers["Authorization"] = f"Bearer {ctx.key}"
        return headers

    def convert_request(self, body: dict[str, Any], ctx: RelayContext) -> dict[str, Any]:
        if ctx.mode == M.EMBEDDINGS:
            out: dict[str, Any] = {"model": ctx.model, "input": body.get("input")}
            if body.get("dimensions"):
                out["dimensions"] = body["dimensions"]
            return out
        return chat_request(body, ctx.model, ctx.stream)

    def convert_response(self, body: dict[str, Any], ctx: RelayContext) -> tuple[dict[str, Any], Usage | None]:
        if body.get("error"):
            raise ollama_error(500, str(body["error"]))
        if ctx.mode == M.EMBEDDINGS:
            return embeddings(body, ctx.model)
        return completion(body, ctx.model)

    def convert_stream(self, events: Iterable[SSEEvent], ctx: RelayContext,
                       state: StreamState) -> Iterator[dict[str, Any] | bytes]:
        return feed_objects(events, StreamTranslator(ctx.model, state), ctx, state)

    def convert_error(self, status: int, body: bytes, ctx: RelayContext) -> UpstreamError:
        """`{"error": "..."}` becomes type and code `ollama_error`, as in One API."""
        parsed = parse_json(body)
        if isinstance(parsed, dict) and isinstance(parsed.get("error"), str) and parsed["error"]:
            return ollama_error(status, parsed["error"])
        return openai_style_error(status, body)


def ollama_error(status: int, message: str) -> UpstreamError:
    return UpstreamError(status, message, "ollama_error", "ollama_error")


# -- requests ---------------------------------------------------------------------------------------

def chat_request(body: dict[str, Any], model: str, stream: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"model": model, "messages": convert_messages(body.get("messages") or []),
                           "stream": bool(stream)}
    options = {target: body[name] for name, target in OPTIONS.items() if body.get(name) is not None}
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if limit:
        options["num_predict"] = limit
    stops = [body["stop"]] if isinstance(body.get("stop"), str) else body.get("stop")
    if isinstance(stops, list) and stops:
        options["stop"] = stops
    if options:
        out["options"] = options
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_object":
        out["format"] = "json"
    elif response_format.get("type") == "json_schema":
        out["format"] = (response_format.get("json_schema") or {}).get("schema") or "json"
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict) and t.get("type", "function") == "function"]
    if tools and body.get("tool_choice") != "none":
        out["tools"] = tools
    return out


def convert_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names: dict[str, str] = {}  # tool call id -> function name, for the tool results that follow
    out = []
    for message in messages:
        role = message.get("role") or "user"
        converted: dict[str, Any] = {"role": "system" if role == "developer" else role,
                                     "content": text_of(message.get("content"))}
        images = [image_data(p.get("image_url")) for p in message.get("content") or []
                  if isinstance(message.get("content"), list) and isinstance(p, dict) and p.get("type") == "image_url"]
        if images:
            converted["images"] = images
        calls = [c for c in message.get("tool_calls") or [] if isinstance(c, dict)]
        if calls:
            converted["tool_calls"] = [tool_call(c) for c in calls]
            names.update({c.get("id") or "": (c.get("function") or {}).get("name") or "" for c in calls})
        if role == "tool" and names.get(message.get("tool_call_id") or ""):
            converted["tool_name"] = names[message["tool_call_id"]]
        out.append(converted)
    return out


def image_data(image: Any) -> str:
    """The bare base64 of a data URL (Ollama's `images` entries)."""
    url = (image.get("url") if isinstance(image, dict) else image) or ""
    header, comma, data = url.partition(",")
    if not url.startswith("data:") or not comma or not header.endswith(";base64"):
        raise LocalError(400, "Ollama takes images as base64 data URLs (data:image/...;base64,...)",
                         code="invalid_image_url")
    return data


def tool_call(call: dict[str, Any]) -> dict[str, Any]:
    function = call.get("function") or {}
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments else {}
        except ValueError:
            arguments = {}
    return {"function": {"name": function.get("name") or "",
                         "arguments": arguments if isinstance(arguments, dict) else {}}}


# -- answers ----------------------------------------------------------------------------------------

def usage_of(body: dict[str, Any]) -> Usage | None:
    if "prompt_eval_count" not in body and "eval_count" not in body:
        return None
    return Usage(int(body.get("prompt_eval_count") or 0), int(body.get("eval_count") or 0))


def openai_tool_calls(calls: Any, first: int = 0) -> list[dict[str, Any]]:
    out = []
    for offset, call in enumerate(calls if isinstance(calls, list) else []):
        function = call.get("function") or {}
        arguments = function.get("arguments")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments if arguments is not None else {}, ensure_ascii=False,
                                   separators=(",", ":"))
        out.append({"index": first + offset, "id": call.get("id") or f"call_{random_hex()}",
                    "type": "function", "function": {"name": function.get("name") or "", "arguments": arguments}})
    return out


def finish_reason(reason: Any, called: bool) -> str:
    mapped = FINISH_REASONS.get(reason, STOP)
    return TOOL_CALLS if called and mapped == STOP else mapped


def completion(body: dict[str, Any], model: str) -> tuple[dict[str, Any], Usage | None]:
    message = body.get("message") or {}
    calls = [{k: v for k, v in c.items() if k != "index"} for c in openai_tool_calls(message.get("tool_calls"))]
    content = message.get("content") or ("" if not calls else None)
    out_message: dict[str, Any] = {"role": "assistant", "content": content}
    if message.get("thinking"):
        out_message["reasoning_content"] = message["thinking"]
    if calls:
        out_message["tool_calls"] = calls
    usage = usage_of(body)
    out = {"id": f"chatcmpl-{random_hex()}", "object": "chat.completion", "created": now(),
           "model": body.get("model") or model,
           "choices": [{"index": 0, "message": out_message,
                        "finish_reason": finish_reason(body.get("done_reason"), bool(calls))}]}
    if usage is not None:
        out["usage"] = usage.as_openai()
    return out, usage


def embeddings(body: dict[str, Any], model: str) -> tuple[dict[str, Any], Usage | None]:
    data = [{"object": "embedding", "index": i, "embedding": vector}
            for i, vector in enumerate(body.get("embeddings") or [])]
    prompt = int(body.get("prompt_eval_count") or 0)
    usage = Usage(prompt, 0) if "prompt_eval_count" in body else None
    return ({"object": "list", "data": data, "model": body.get("model") or model,
             "usage": {"prompt_tokens": prompt, "total_tokens": prompt}}, usage)


class StreamTranslator(ChunkStream):
    """Ollama's NDJSON lines in, OpenAI chunks out."""

    def __init__(self, model: str, state: StreamState) -> None:
        self.state = state
        self.model = model
        self.id = f"chatcmpl-{random_hex()}"
        self.created = now()
        self.role_sent = False
        self.calls = 0

    def feed(self, data: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if data.get("error"):
            raise ollama_error(500, str(data["error"]))
        self.model = data.get("model") or self.model
        message = data.get("message") or {}
        delta: dict[str, Any] = {}
        for source, target in (("thinking", "reasoning_content"), ("content", "content")):
            if message.get(source):
                delta[target] = message[source]
                self.state.add_text(message[source])
        calls = openai_tool_calls(message.get("tool_calls"), self.calls)
        if calls:
            self.calls += len(calls)
            delta["tool_calls"] = calls
            for call in calls:
                self.state.add_text(call["function"]["arguments"])
        reason = None
        if data.get("done"):
            reason = finish_reason(data.get("done_reason"), self.calls > 0)
            self.state.finish_reason = reason
            usage = usage_of(data)
            if usage is not None:
                self.state.usage = usage
        if not delta and reason is None:
            return
        if not self.role_sent:
            delta, self.role_sent = {"role": "assistant", **delta}, True
        yield {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
               "choices": [{"index": 0, "delta": delta, "finish_reason": reason}]}
