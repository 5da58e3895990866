"""Anthropic Messages API as a client dialect: `POST /v1/messages` bodies (as Claude Code and the
anthropic SDKs send them) become OpenAI chat requests, and OpenAI answers and chunk streams become
Anthropic `message` objects and Anthropic SSE events.

Wire facts (https://docs.anthropic.com/en/api/messages, /en/api/messages-streaming, /en/api/errors,
/en/api/handling-stop-reasons):
- The body needs `model`, `max_tokens` (>= 1) and `messages` (roles `user`/`assistant`); the system
  prompt is the top-level `system`, a string or a list of `text` blocks. Content is a string or a
  list of blocks: `text`, `image` (`source` `{type: base64, media_type, data}` or `{type: url, url}`),
  `tool_use` (assistant: `id`, `name`, `input` object), `tool_result` (user: `tool_use_id`, `content`
  string or text/image blocks, `is_error`), `thinking` (`thinking`, `signature`) and
  `redacted_thinking`. Blocks may carry `cache_control`, which has no OpenAI counterpart.
- Tools are `{name, description, input_schema}`; `tool_choice` is `{type: auto|any|tool|none}`, `tool`
  naming one, with optional `disable_parallel_tool_use`.
- The answer is `{id: "msg_…", type: "message", role: "assistant", model, content, stop_reason,
  stop_sequence, usage}`; stop reasons are `end_turn`, `max_tokens`, `stop_sequence`, `tool_use`,
  `pause_turn` and `refusal`. `usage.input_tokens` excludes cache reads and writes, which are
  `cache_read_input_tokens` and `cache_creation_input_tokens`.
- A stream is `message_start` (a message with empty content, input usage), then per block
  `content_block_start`, `content_block_delta` (`text_delta`, `input_json_delta` with
  `partial_json`, `thinking_delta`) and `content_block_stop`, each with the block's `index` in the
  final content; then `message_delta` (`delta.stop_reason`, cumulative `usage`) and `message_stop`.
  The SSE event name equals the data's `type`. An `error` event may end a stream.
- Errors are `{"type": "error", "error": {"type", "message"}}`, the type following the HTTP status.

Decisions:
- System text blocks are joined with blank lines into one system message.
- `tool_result` blocks become `role: "tool"` messages placed before the rest of that user turn, since
  OpenAI wants tool answers right after the assistant's calls; images inside a tool result (OpenAI
  tool messages carry text only) follow as a user message. `is_error` has no OpenAI field and is
  dropped (the text usually says what failed).
- A user turn of only text becomes a string content, else a list of `text`/`image_url` parts.
- Assistant `thinking` is kept as `reasoning_content` (its signature is lost: OpenAI has no field);
  `redacted_thinking` is dropped. The request's `thinking` and `top_k` are passed on as they are,
  as our Anthropic adaptor forwards them and other adaptors ignore what they do not know.
- `stream: true` adds `stream_options.include_usage` so usage arrives at the end of the stream.
- OpenAI cannot say which stop sequence hit, so `stop` always maps to `end_turn` and
  `stop_sequence` is null; `content_filter` maps to `refusal`; an answer with tool calls is
  `tool_use` whatever its finish reason.
- `cached_tokens` are included in OpenAI's `prompt_tokens`, so `input_tokens = prompt - cached`;
  OpenAI reports no cache writes, so `cache_creation_input_tokens` is 0.
- Streamed tool calls are assumed to arrive one after another, as OpenAI sends them: a fragment of
  an already closed call is still sent with that call's block index.

Not supported (a 400 `invalid_request_error`): `document`, server-tool and other block kinds, and
tools without `input_schema` (Anthropic server tools such as web search or code execution), because
an OpenAI chat upstream cannot run them. `signature_delta` is never emitted (no signature exists).
"""

from __future__ import annotations

import json
from typing import Any

from oneapi.relay.adaptors.anthropic import ERROR_STATUS, tool_input
from oneapi.relay.adaptors.base import now, random_hex

__all__ = ["DialectError", "StreamTranslator", "count_tokens_text", "error_body", "error_event",
           "format_sse", "from_chat_error", "from_chat_response", "message_id", "now", "to_chat_request",
           "tool_use_id"]

ERROR_TYPES = {status: kind for kind, status in ERROR_STATUS.items()}
STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                "function_call": "tool_use", "content_filter": "refusal"}
TOOL_CHOICES = {"auto": "auto", "any": "required", "none": "none"}


class DialectError(Exception):
    """An invalid client request, reported to the client in Anthropic's error shape."""

    def __init__(self, status: int, type: str, message: str) -> None:  # noqa: A002 - Anthropic's name
        super().__init__(message)
        self.status, self.type, self.message = status, type, message

    def body(self) -> dict[str, Any]:
        return {"type": "error", "error": {"type": self.type, "message": self.message}}


def message_id() -> str:
    """The id of an answer (patched by tests)."""
    return "msg_" + random_hex()[:24]


def tool_use_id() -> str:
    """The id of a tool call whose upstream gave none (patched by tests)."""
    return "toolu_" + random_hex()[:24]


def invalid(message: str) -> DialectError:
    return DialectError(400, "invalid_request_error", message)


# --- requests --------------------------------------------------------------------------------------

def to_chat_request(body: Any) -> dict[str, Any]:
    """The OpenAI chat request for a `/v1/messages` body; DialectError when the body is invalid."""
    if not isinstance(body, dict):
        raise invalid("request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid("model: Field required")
    limit = body.get("max_tokens")
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise invalid("max_tokens: Field required")
    if limit < 1:
        raise invalid("max_tokens: must be greater than or equal to 1")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid("messages: at least one message is required")

    out_messages: list[dict[str, Any]] = []
    system = system_text(body.get("system"))
    if system:
        out_messages.append({"role": "system", "content": system})
    for number, message in enumerate(messages):
        out_messages.extend(convert_message(message, number))

    out: dict[str, Any] = {"model": model, "messages": out_messages, "max_tokens": limit}
    stops = body.get("stop_sequences")
    if stops is not None:
        if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
            raise invalid("stop_sequences: must be a list of strings")
        if stops:
            out["stop"] = stops
    for name in ("temperature", "top_p", "top_k"):
        if body.get(name) is not None:
            out[name] = body[name]
    if body.get("stream"):
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    metadata = body.get("metadata")
    if isinstance(metadata, dict) and metadata.get("user_id"):
        out["user"] = str(metadata["user_id"])
    if isinstance(body.get("thinking"), dict):
        out["thinking"] = body["thinking"]
    out.update(convert_tools(body.get("tools"), body.get("tool_choice")))
    return out


def system_text(system: Any) -> str:
    if system is None or isinstance(system, str):
        return system or ""
    if isinstance(system, list):
        texts = []
        for block in system:
            if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
                raise invalid("system: blocks must be text blocks")
            texts.append(block["text"])
        return "\n\n".join(text for text in texts if text)
    raise invalid("system: must be a string or a list of text blocks")


def blocks_of(content: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list) and all(isinstance(block, dict) for block in content):
        return content
    raise invalid(f"{where}.content: must be a string or a list of content blocks")


def convert_message(message: Any, number: int) -> list[dict[str, Any]]:
    where = f"messages.{number}"
    if not isinstance(message, dict):
        raise invalid(f"{where}: must be an object")
    role = message.get("role")
    if role not in ("user", "assistant"):
        raise invalid(f"{where}.role: must be 'user' or 'assistant'")
    blocks = blocks_of(message.get("content"), where)
    return assistant_message(blocks, where) if role == "assistant" else user_messages(blocks, where)


def assistant_message(blocks: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text") or ""))
        elif kind == "tool_use":
            if not block.get("id") or not block.get("name"):
                raise invalid(f"{where}: tool_use blocks need an id and a name")
            calls.append({"id": block["id"], "type": "function",
                          "function": {"name": block["name"],
                                       "arguments": json.dumps(block.get("input") or {}, ensure_ascii=False)}})
        elif kind == "thinking":
            thoughts.append(str(block.get("thinking") or ""))
        elif kind == "redacted_thinking":
            continue
        else:
            raise invalid(f"{where}: content block type {kind!r} is not supported")
    out: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if thoughts:
        out["reasoning_content"] = "".join(thoughts)
    if calls:
        out["tool_calls"] = calls
    return [out]


def user_messages(blocks: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    tools: list[dict[str, Any]] = []
    tool_images: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "text":
            parts.append({"type": "text", "text": str(block.get("text") or "")})
        elif kind == "image":
            parts.append(image_part(block, where))
        elif kind == "tool_result":
            if not block.get("tool_use_id"):
                raise invalid(f"{where}: tool_result blocks need a tool_use_id")
            text, images = tool_result_content(block.get("content"), where)
            tools.append({"role": "tool", "tool_call_id": block["tool_use_id"], "content": text})
            tool_images.extend(images)
        else:
            raise invalid(f"{where}: content block type {kind!r} is not supported")
    out = list(tools)
    if tool_images:
        out.append({"role": "user", "content": tool_images})
    if parts:
        only_text = all(part["type"] == "text" for part in parts)
        out.append({"role": "user", "content": "".join(p["text"] for p in parts) if only_text else parts})
    elif not tools:
        out.append({"role": "user", "content": ""})
    return out


def tool_result_content(content: Any, where: str) -> tuple[str, list[dict[str, Any]]]:
    if content is None:
        return "", []
    texts: list[str] = []
    images: list[dict[str, Any]] = []
    for block in blocks_of(content, where):
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text") or ""))
        elif kind == "image":
            images.append(image_part(block, where))
        else:
            raise invalid(f"{where}: tool_result content block type {kind!r} is not supported")
    return "\n".join(texts), images


def image_part(block: dict[str, Any], where: str) -> dict[str, Any]:
    source = block.get("source") if isinstance(block.get("source"), dict) else {}
    if source.get("type") == "base64" and source.get("data") and source.get("media_type"):
        url = f"data:{source['media_type']};base64,{source['data']}"
    elif source.get("type") == "url" and source.get("url"):
        url = str(source["url"])
    else:
        raise invalid(f"{where}: image source must be base64 (media_type, data) or url")
    return {"type": "image_url", "image_url": {"url": url}}


def convert_tools(tools: Any, choice: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if tools:
        if not isinstance(tools, list):
            raise invalid("tools: must be a list")
        functions = []
        for number, tool in enumerate(tools):
            if not isinstance(tool, dict) or not tool.get("name"):
                raise invalid(f"tools.{number}: a tool needs a name")
            if tool.get("type") not in (None, "custom") or not isinstance(tool.get("input_schema"), dict):
                raise invalid(f"tools.{number}: only client tools with an input_schema are supported")
            function: dict[str, Any] = {"name": tool["name"]}
            if tool.get("description"):
                function["description"] = tool["description"]
            function["parameters"] = tool["input_schema"]
            functions.append({"type": "function", "function": function})
        out["tools"] = functions
    if choice is None:
        return out
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind in TOOL_CHOICES:
        out["tool_choice"] = TOOL_CHOICES[kind]
    elif kind == "tool" and choice.get("name"):
        out["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    else:
        raise invalid("tool_choice: type must be auto, any, tool (with a name) or none")
    if choice.get("disable_parallel_tool_use") and kind != "none":
        out["parallel_tool_calls"] = False
    return out


# --- answers ---------------------------------------------------------------------------------------

def usage_of(usage: Any) -> dict[str, int]:
    """Anthropic usage for an OpenAI one: cache reads come out of the input tokens."""
    usage = usage if isinstance(usage, dict) else {}
    details = usage.get("prompt_tokens_details")
    cached = (details.get("cached_tokens") if isinstance(details, dict) else 0) or 0
    prompt = usage.get("prompt_tokens") or 0
    return {"input_tokens": max(prompt - cached, 0), "output_tokens": usage.get("completion_tokens") or 0,
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": cached}


def stop_reason(finish: Any, has_tools: bool) -> str:
    if has_tools:
        return "tool_use"
    return STOP_REASONS.get(finish, "end_turn") if isinstance(finish, str) else "end_turn"


def from_chat_response(completion: dict[str, Any], model: str) -> dict[str, Any]:
    """The Anthropic `message` for an OpenAI `chat.completion`; `model` is the name the client asked for."""
    choices = completion.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        content.append({"type": "thinking", "thinking": reasoning, "signature": ""})
    text = message.get("content")
    if isinstance(text, list):
        text = "".join(p.get("text", "") for p in text if isinstance(p, dict) and p.get("type") == "text")
    if isinstance(text, str) and text:
        content.append({"type": "text", "text": text})
    calls = [call for call in message.get("tool_calls") or [] if isinstance(call, dict)]
    for call in calls:
        function = call.get("function") or {}
        content.append({"type": "tool_use", "id": call.get("id") or tool_use_id(),
                        "name": function.get("name") or "", "input": tool_input(function.get("arguments"))})
    return {"id": message_id(), "type": "message", "role": "assistant", "model": model, "content": content,
            "stop_reason": stop_reason(choice.get("finish_reason"), bool(calls)), "stop_sequence": None,
            "usage": usage_of(completion.get("usage"))}


def error_type(status: int) -> str:
    if status in ERROR_TYPES:
        return ERROR_TYPES[status]
    return "api_error" if status >= 500 else "invalid_request_error"


def error_body(status: int, message: str) -> dict[str, Any]:
    """Anthropic's error body for an HTTP status."""
    return {"type": "error", "error": {"type": error_type(status), "message": message}}


def from_chat_error(status: int, body: Any) -> dict[str, Any]:
    """Anthropic's error body for an OpenAI-style error (`{"error": {"message", …}}`) with its status."""
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else error if isinstance(error, str) else None
    return error_body(status, str(message or f"upstream error (HTTP {status})"))


def error_event(status: int, message: str) -> tuple[str, dict[str, Any]]:
    """The `error` event that ends a stream which already began with HTTP 200."""
    return "error", error_body(status, message)


def format_sse(event: tuple[str, dict[str, Any]]) -> str:
    """One event on the wire: `event: <name>`, `data: <json>`, a blank line."""
    name, data = event
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


# --- streams ---------------------------------------------------------------------------------------

Event = tuple[str, dict[str, Any]]


class StreamTranslator:
    """OpenAI `chat.completion.chunk` dicts in, Anthropic `(event, data)` pairs out.

    `feed(chunk)` for each chunk, then `finish()` (optionally with the usage the relay counted itself
    when the upstream sent none) for `message_delta` and `message_stop`. `input_tokens`, when the
    caller knows it beforehand, goes into `message_start`.
    """

    def __init__(self, model: str, input_tokens: int | None = None) -> None:
        self.model = model
        self.input_tokens = input_tokens
        self.started = False
        self.finished = False
        self.next_index = 0
        self.open: tuple[str, Any, int] | None = None  # (kind, key, block index)
        self.tool_blocks: dict[int, int] = {}  # OpenAI tool call index -> block index
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None

    def start(self) -> list[Event]:
        if self.started:
            return []
        self.started = True
        usage = {"input_tokens": self.input_tokens or 0, "output_tokens": 0,
                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        return [("message_start", {"type": "message_start", "message": {
            "id": message_id(), "type": "message", "role": "assistant", "model": self.model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": usage}})]

    def close(self) -> list[Event]:
        if self.open is None:
            return []
        index = self.open[2]
        self.open = None
        return [("content_block_stop", {"type": "content_block_stop", "index": index})]

    def begin(self, kind: str, key: Any, block: dict[str, Any]) -> tuple[list[Event], int]:
        events = self.close()
        index = self.next_index
        self.next_index += 1
        self.open = (kind, key, index)
        events.append(("content_block_start", {"type": "content_block_start", "index": index,
                                               "content_block": block}))
        return events, index

    def text(self, kind: str, value: str) -> list[Event]:
        events: list[Event] = []
        if self.open is None or self.open[0] != kind:
            block = {"type": "thinking", "thinking": "", "signature": ""} if kind == "thinking" \
                else {"type": "text", "text": ""}
            events, index = self.begin(kind, None, block)
        else:
            index = self.open[2]
        delta = {"type": "thinking_delta", "thinking": value} if kind == "thinking" \
            else {"type": "text_delta", "text": value}
        events.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
        return events

    def tool_call(self, position: int, call: dict[str, Any]) -> list[Event]:
        events: list[Event] = []
        key = call.get("index") if isinstance(call.get("index"), int) else position
        function = call.get("function") or {}
        if key not in self.tool_blocks:
            block = {"type": "tool_use", "id": call.get("id") or tool_use_id(),
                     "name": function.get("name") or "", "input": {}}
            events, self.tool_blocks[key] = self.begin("tool", key, block)
        arguments = function.get("arguments")
        if isinstance(arguments, dict):
            arguments = json.dumps(arguments, ensure_ascii=False)
        if isinstance(arguments, str) and arguments:
            events.append(("content_block_delta", {
                "type": "content_block_delta", "index": self.tool_blocks[key],
                "delta": {"type": "input_json_delta", "partial_json": arguments}}))
        return events

    def feed(self, chunk: dict[str, Any]) -> list[Event]:
        if self.finished or not isinstance(chunk, dict):
            return []
        events = self.start()
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                events += self.text("thinking", reasoning)
            if isinstance(delta.get("content"), str) and delta["content"]:
                events += self.text("text", delta["content"])
            for position, call in enumerate(delta.get("tool_calls") or []):
                if isinstance(call, dict):
                    events += self.tool_call(position, call)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
                events += self.close()
        return events

    def finish(self, usage: dict[str, Any] | None = None) -> list[Event]:
        """The closing events; `usage` (OpenAI-shaped) is used when no chunk carried one."""
        if self.finished:
            return []
        events = self.start() + self.close()
        self.finished = True
        counted = usage_of(self.usage if self.usage is not None else usage)
        if self.usage is None and usage is None and self.input_tokens:
            counted["input_tokens"] = self.input_tokens
        events.append(("message_delta", {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason(self.finish_reason, bool(self.tool_blocks)), "stop_sequence": None},
            "usage": counted}))
        events.append(("message_stop", {"type": "message_stop"}))
        return events


# --- token counting --------------------------------------------------------------------------------

def count_tokens_text(body: Any) -> str:
    """The text `/v1/messages/count_tokens` counts: system, every message's text, tool calls and
    results, and each tool's name, description and schema as JSON. Images are not text and are left out."""
    if not isinstance(body, dict):
        raise invalid("request body must be a JSON object")
    pieces: list[str] = [system_text(body.get("system"))]
    for number, message in enumerate(body.get("messages") or []):
        if not isinstance(message, dict):
            raise invalid(f"messages.{number}: must be an object")
        for block in blocks_of(message.get("content"), f"messages.{number}"):
            pieces.extend(block_texts(block))
    for tool in body.get("tools") or []:
        if isinstance(tool, dict):
            pieces += [str(tool.get("name") or ""), str(tool.get("description") or "")]
            if tool.get("input_schema") is not None:
                pieces.append(json.dumps(tool["input_schema"], ensure_ascii=False, sort_keys=True))
    return "\n".join(piece for piece in pieces if piece)


def block_texts(block: dict[str, Any]) -> list[str]:
    kind = block.get("type")
    if kind == "text":
        return [str(block.get("text") or "")]
    if kind == "thinking":
        return [str(block.get("thinking") or "")]
    if kind == "tool_use":
        return [str(block.get("name") or ""), json.dumps(block.get("input") or {}, ensure_ascii=False)]
    if kind == "tool_result":
        content = block.get("content")
        if isinstance(content, str):
            return [content]
        return [text for inner in content or [] if isinstance(inner, dict) for text in block_texts(inner)]
    return []
