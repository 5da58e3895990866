"""The OpenAI Responses API (`POST /v1/responses`, as Codex CLI speaks it) ⇄ OpenAI chat completions.

Wire facts this module relies on
--------------------------------
Request: `model`; `instructions` (a system/developer message put first); `input`, a string (one user
message) or a list of items: `{type: "message", role, content}` (also bare `{role, content}`), where
`content` is a string or parts `input_text` / `output_text` `{text}`, `input_image` `{image_url |
file_id, detail}`, `refusal` `{refusal}`; `{type: "function_call", call_id, name, arguments}` (a call
the model made earlier); `{type: "function_call_output", call_id, output}` (its result, a string or
parts); `{type: "reasoning", ...}` (the model's earlier reasoning). `tools`: `{type: "function", name,
description, parameters, strict}` (flat, unlike chat's nested `function`). `tool_choice`: "auto" /
"none" / "required" or `{type: "function", name}`. `max_output_tokens`, `temperature`, `top_p`,
`parallel_tool_calls`, `stream`, `user`, `reasoning: {effort}`, `text: {format: {type: "text" |
"json_object" | "json_schema", name, schema, strict, description}}` (flat, unlike chat's nested
`json_schema`), `previous_response_id`, `store`, `include`, `metadata`, `truncation`.

Answer: a Response object `{id: "resp_…", object: "response", created_at, status: "completed" |
"incomplete" | "failed", error, incomplete_details: {reason: "max_output_tokens" | "content_filter"},
model, output: [items], usage: {input_tokens, input_tokens_details: {cached_tokens}, output_tokens,
output_tokens_details: {reasoning_tokens}, total_tokens}}` plus the request's settings echoed
(instructions, tools, tool_choice, parallel_tool_calls, temperature, top_p, max_output_tokens, text,
reasoning, truncation, store, previous_response_id, user, metadata). Output items: `{id: "msg_…",
type: "message", role: "assistant", status, content: [{type: "output_text", text, annotations: []}
| {type: "refusal", refusal}]}` and `{id: "fc_…", type: "function_call", status, call_id, name,
arguments}`. Errors use OpenAI's shape `{"error": {message, type, param, code}}`.

Stream: SSE `event: <type>` / `data: <json>`; every data object carries `type` and an increasing
`sequence_number` (from 0). Order: `response.created`, `response.in_progress`; per item
`response.output_item.added` {output_index, item}; for a message `response.content_part.added`
{item_id, output_index, content_index, part}, `response.output_text.delta` {…, delta},
`response.output_text.done` {…, text}, `response.content_part.done`; for a call
`response.function_call_arguments.delta` {item_id, output_index, delta} and `.done` {…, name,
arguments}; then `response.output_item.done` {output_index, item}; finally `response.completed`
(or `response.incomplete` when cut by length / filter, as the API does) with the whole Response, or
`response.failed` with `response.error` {code, message}.

Decisions
---------
* `previous_response_id` (and `item_reference` items) are refused with a 400: translated channels
  keep no stored conversation, so the client must resend the history (Codex does, with store=false).
* Non-function tools (web_search, file_search, computer_use, local_shell, custom, mcp …) are
  refused with a 400 naming the type, rather than silently dropped: the model would otherwise be
  told nothing of a tool the client counts on. The same for unknown input item types.
* `developer` messages become `system` messages (every adaptor knows `system`).
* Consecutive `function_call` items, and those right after an assistant message, merge into one
  assistant message with `tool_calls`, as chat completions require.
* Reasoning items in the input are dropped (their encrypted content means nothing elsewhere); no
  reasoning item is emitted in the output (chat answers carry no reasoning item to translate).
* Streams ask for `stream_options.include_usage`, so the final usage-only chunk fills
  `response.completed.usage`.
* `store`, `include`, `metadata`, `truncation`, `service_tier`, `prompt_cache_key` are not
  forwarded; the Response echoes `store: false`.

Not supported
-------------
`input_file` parts and images given by `file_id` (no Files API behind translated channels), hosted
tools, stored conversations / `background` mode, `logprobs` in stream deltas (always `[]`).
"""

from __future__ import annotations

import json
from typing import Any

from oneapi.relay.adaptors.base import now, random_hex
from oneapi.relay.errors import LocalError

__all__ = ["DialectError", "StreamTranslator", "encode_event", "error_body", "from_chat_response",
           "new_id", "to_chat_request"]


class DialectError(LocalError):
    """A client request this dialect cannot translate; `body()` is OpenAI's error shape."""

    def __init__(self, status: int, code: str, message: str, param: str = "") -> None:
        super().__init__(status, message, "invalid_request_error", code, param)


def new_id(prefix: str) -> str:
    """`resp_…`, `msg_…`, `fc_…`, `call_…` ids (module-level, so tests can patch it)."""
    return f"{prefix}_{random_hex()}"


# --------------------------------------------------------------------------------------------
# Request: Responses → chat completions
# --------------------------------------------------------------------------------------------

_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}


def to_chat_request(body: dict[str, Any]) -> dict[str, Any]:
    """A `POST /v1/responses` body as an OpenAI chat completions request body."""
    if not isinstance(body, dict):
        raise DialectError(400, "invalid_request_error", "the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise DialectError(400, "missing_required_parameter", "Missing required parameter: 'model'.", "model")
    if body.get("previous_response_id"):
        raise DialectError(400, "unsupported_parameter",
                           "'previous_response_id' is not supported: this gateway stores no responses; "
                           "send the whole conversation in 'input' (store=false).", "previous_response_id")
    if body.get("background"):
        raise DialectError(400, "unsupported_parameter", "'background' mode is not supported.", "background")

    messages: list[dict[str, Any]] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        messages.append({"role": "system", "content": instructions})
    elif instructions is not None and not isinstance(instructions, str):
        raise DialectError(400, "invalid_type", "'instructions' must be a string.", "instructions")
    messages.extend(_messages(body.get("input")))

    chat: dict[str, Any] = {"model": model, "messages": messages}
    tools = body.get("tools")
    if tools:
        chat["tools"] = _tools(tools)
    if body.get("tool_choice") is not None:
        chat["tool_choice"] = _tool_choice(body["tool_choice"])
    if body.get("parallel_tool_calls") is not None:
        chat["parallel_tool_calls"] = bool(body["parallel_tool_calls"])
    if body.get("max_output_tokens") is not None:
        chat["max_tokens"] = body["max_output_tokens"]
    for key in ("temperature", "top_p", "user"):
        if body.get(key) is not None:
            chat[key] = body[key]
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and reasoning.get("effort"):
        chat["reasoning_effort"] = reasoning["effort"]
    response_format = _response_format(body.get("text"))
    if response_format is not None:
        chat["response_format"] = response_format
    if body.get("stream"):
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat


def _messages(items: Any) -> list[dict[str, Any]]:
    if items is None:
        raise DialectError(400, "missing_required_parameter", "Missing required parameter: 'input'.", "input")
    if isinstance(items, str):
        return [{"role": "user", "content": items}]
    if not isinstance(items, list):
        raise DialectError(400, "invalid_type", "'input' must be a string or a list of items.", "input")
    messages: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise DialectError(400, "invalid_type", f"input[{i}] must be an object.", f"input[{i}]")
        kind = item.get("type") or ("message" if "role" in item else None)
        if kind == "message":
            messages.append(_message(item, i))
        elif kind == "function_call":
            call = {"id": item.get("call_id") or item.get("id") or new_id("call"), "type": "function",
                    "function": {"name": item.get("name") or "", "arguments": _arguments(item.get("arguments"))}}
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant" and not _has_media(last):
                last.setdefault("tool_calls", []).append(call)
                if last.get("content") == "":
                    last["content"] = None
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            if not item.get("call_id"):
                raise DialectError(400, "missing_required_parameter",
                                   f"input[{i}].call_id is required.", f"input[{i}].call_id")
            messages.append({"role": "tool", "tool_call_id": item["call_id"],
                             "content": _output_text(item.get("output"))})
        elif kind == "reasoning":
            continue
        elif kind == "item_reference":
            raise DialectError(400, "unsupported_parameter",
                               f"input[{i}]: 'item_reference' items are not supported: this gateway stores "
                               "no items; send the item itself.", f"input[{i}]")
        else:
            raise DialectError(400, "unsupported_value",
                               f"input[{i}]: item type '{kind}' is not supported here.", f"input[{i}].type")
    return messages


def _message(item: dict[str, Any], i: int) -> dict[str, Any]:
    role = _ROLES.get(item.get("role"))  # type: ignore[arg-type]
    if role is None:
        raise DialectError(400, "invalid_value", f"input[{i}].role '{item.get('role')}' is not valid.",
                           f"input[{i}].role")
    content = item.get("content")
    if isinstance(content, str):
        return {"role": role, "content": content}
    if not isinstance(content, list):
        raise DialectError(400, "invalid_type", f"input[{i}].content must be a string or a list of parts.",
                           f"input[{i}].content")
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        where = f"input[{i}].content[{j}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text", "text"):
            parts.append({"type": "text", "text": part.get("text") or ""})
        elif kind == "refusal":
            parts.append({"type": "text", "text": part.get("refusal") or ""})
        elif kind == "input_image":
            url = part.get("image_url")
            if isinstance(url, dict):
                url = url.get("url")
            if not isinstance(url, str) or not url:
                raise DialectError(400, "unsupported_value",
                                   f"{where}: images must be given by 'image_url' (a URL or data URL); "
                                   "'file_id' is not supported.", where)
            image: dict[str, Any] = {"url": url}
            if part.get("detail"):
                image["detail"] = part["detail"]
            parts.append({"type": "image_url", "image_url": image})
        else:
            raise DialectError(400, "unsupported_value",
                               f"{where}: content part type '{kind}' is not supported.", where)
    texts = [p["text"] for p in parts if p["type"] == "text"]
    if role != "user" or len(texts) == len(parts) and len(parts) <= 1:
        if len(texts) != len(parts):
            raise DialectError(400, "unsupported_value", f"input[{i}]: only user messages may carry images.",
                               f"input[{i}].content")
        return {"role": role, "content": "".join(texts)}
    return {"role": role, "content": parts}


def _has_media(message: dict[str, Any]) -> bool:
    return isinstance(message.get("content"), list)


def _arguments(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value if value is not None else {}, ensure_ascii=False)


def _output_text(output: Any) -> str:
    """A function_call_output's `output`: a string, or parts whose text is joined."""
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return "".join(p.get("text", "") for p in output
                       if isinstance(p, dict) and p.get("type") in ("input_text", "output_text", "text"))
    if output is None:
        return ""
    return json.dumps(output, ensure_ascii=False)


def _tools(tools: Any) -> list[dict[str, Any]]:
    if not isinstance(tools, list):
        raise DialectError(400, "invalid_type", "'tools' must be a list.", "tools")
    converted = []
    for i, tool in enumerate(tools):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind != "function":
            raise DialectError(400, "unsupported_value",
                               f"tools[{i}]: tool type '{kind}' is not supported here; only 'function' tools "
                               "can be translated for this model.", f"tools[{i}].type")
        if not tool.get("name"):
            raise DialectError(400, "missing_required_parameter", f"tools[{i}].name is required.", f"tools[{i}].name")
        function: dict[str, Any] = {"name": tool["name"]}
        if tool.get("description") is not None:
            function["description"] = tool["description"]
        function["parameters"] = tool.get("parameters") or {"type": "object", "properties": {}}
        if tool.get("strict") is not None:
            function["strict"] = tool["strict"]
        converted.append({"type": "function", "function": function})
    return converted


def _tool_choice(choice: Any) -> Any:
    if choice in ("auto", "none", "required"):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function" and choice.get("name"):
        return {"type": "function", "function": {"name": choice["name"]}}
    raise DialectError(400, "unsupported_value", f"tool_choice {json.dumps(choice)} is not supported here.",
                       "tool_choice")


def _response_format(text: Any) -> dict[str, Any] | None:
    if not isinstance(text, dict) or not isinstance(text.get("format"), dict):
        return None
    fmt = text["format"]
    kind = fmt.get("type")
    if kind in (None, "text"):
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        if not fmt.get("name") or not isinstance(fmt.get("schema"), dict):
            raise DialectError(400, "missing_required_parameter",
                               "text.format of type 'json_schema' needs 'name' and 'schema'.", "text.format")
        schema: dict[str, Any] = {"name": fmt["name"], "schema": fmt["schema"]}
        for key in ("description", "strict"):
            if fmt.get(key) is not None:
                schema[key] = fmt[key]
        return {"type": "json_schema", "json_schema": schema}
    raise DialectError(400, "unsupported_value", f"text.format type '{kind}' is not supported.", "text.format.type")


# --------------------------------------------------------------------------------------------
# Answer: chat completion → Response
# --------------------------------------------------------------------------------------------

def _usage(usage: Any) -> dict[str, Any] | None:
    if not isinstance(usage, dict):
        return None
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
    return {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": int(cached)},
            "output_tokens": completion, "output_tokens_details": {"reasoning_tokens": int(reasoning)},
            "total_tokens": int(usage.get("total_tokens") or prompt + completion)}


def _status(finish_reason: Any) -> tuple[str, dict[str, Any] | None]:
    if finish_reason == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    if finish_reason == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


def _response(request: dict[str, Any] | None, model: str, *, id: str, created_at: int, status: str,
              output: list[dict[str, Any]], usage: dict[str, Any] | None = None,
              incomplete: dict[str, Any] | None = None, error: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Response object, echoing the settings of the client's request."""
    req = request or {}
    return {
        "id": id, "object": "response", "created_at": created_at, "status": status, "error": error,
        "incomplete_details": incomplete, "instructions": req.get("instructions"),
        "max_output_tokens": req.get("max_output_tokens"), "model": model, "output": output,
        "parallel_tool_calls": req.get("parallel_tool_calls", True), "previous_response_id": None,
        "reasoning": {"effort": (req.get("reasoning") or {}).get("effort"),
                      "summary": (req.get("reasoning") or {}).get("summary")},
        "store": False, "temperature": req.get("temperature", 1.0),
        "text": req.get("text") or {"format": {"type": "text"}},
        "tool_choice": req.get("tool_choice", "auto"), "tools": req.get("tools") or [],
        "top_p": req.get("top_p", 1.0), "truncation": req.get("truncation") or "disabled",
        "usage": usage, "user": req.get("user"), "metadata": req.get("metadata") or {},
    }


def _message_item(id: str, parts: list[dict[str, Any]], status: str = "completed") -> dict[str, Any]:
    return {"id": id, "type": "message", "status": status, "role": "assistant", "content": parts}


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": []}


def _call_item(id: str, call_id: str, name: str, arguments: str, status: str = "completed") -> dict[str, Any]:
    return {"id": id, "type": "function_call", "status": status, "call_id": call_id, "name": name,
            "arguments": arguments}


def from_chat_response(completion: dict[str, Any], model: str,
                       request: dict[str, Any] | None = None) -> dict[str, Any]:
    """An OpenAI `chat.completion` as a Response object; `request` (the client's Responses body) is
    echoed in it, as the API does."""
    choices = completion.get("choices") or []
    choice = choices[0] if choices and isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    response_id = new_id("resp")
    output: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    content = message.get("content")
    text = content if isinstance(content, str) else "".join(
        p.get("text", "") for p in content or [] if isinstance(p, dict))
    if text:
        parts.append(_text_part(text))
    if message.get("refusal"):
        parts.append({"type": "refusal", "refusal": message["refusal"]})
    if parts:
        output.append(_message_item(new_id("msg"), parts))
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        output.append(_call_item(new_id("fc"), call.get("id") or new_id("call"), function.get("name") or "",
                                 _arguments(function.get("arguments"))))
    status, incomplete = _status(choice.get("finish_reason"))
    return _response(request, model or completion.get("model") or "", id=response_id, created_at=now(),
                     status=status, output=output, usage=_usage(completion.get("usage")), incomplete=incomplete)


def error_body(error: Any) -> dict[str, Any]:
    """A relay error (a `RelayError`, an OpenAI error body, or a message) in the Responses API's
    error shape, which is OpenAI's: `{"error": {message, type, param, code}}`."""
    if hasattr(error, "body") and callable(error.body):
        return error.body()
    if isinstance(error, dict) and isinstance(error.get("error"), dict):
        inner = error["error"]
        return {"error": {"message": str(inner.get("message") or ""), "type": inner.get("type") or "upstream_error",
                          "param": inner.get("param"), "code": inner.get("code")}}
    return {"error": {"message": str(error), "type": "upstream_error", "param": None, "code": None}}


def encode_event(event_type: str, data: dict[str, Any]) -> str:
    """One Responses stream event on the wire."""
    return f"event: {event_type}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


# --------------------------------------------------------------------------------------------
# Stream: chat chunks → Responses events
# --------------------------------------------------------------------------------------------

class _Call:
    def __init__(self, index: int) -> None:
        self.index, self.call_id, self.name, self.arguments = index, "", "", ""
        self.item_id = ""
        self.output_index = -1
        self.pending = ""  # arguments received before the name (the item is not announced yet)
        self.done = False


class StreamTranslator:
    """OpenAI `chat.completion.chunk` dicts → Responses stream events `(event_type, data)`.

    `feed(chunk)` per chunk, then `finish()` at the end of the upstream stream (or `failed(error)`
    if it broke). `start()` is optional: the first `feed` / `finish` / `failed` emits the opening
    events when it was not called. Each returns a list of events."""

    def __init__(self, model: str, request: dict[str, Any] | None = None) -> None:
        self.model, self.request = model, request
        self.id = new_id("resp")
        self.created_at = now()
        self.sequence = 0
        self.started = self.closed = False
        self.output: list[dict[str, Any] | None] = []  # finished items by output_index (None: open)
        self.text_item: dict[str, Any] | None = None  # open message: {id, output_index, text}
        self.calls: dict[int, _Call] = {}
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None

    def _event(self, kind: str, **data: Any) -> tuple[str, dict[str, Any]]:
        event = {"type": kind, "sequence_number": self.sequence, **data}
        self.sequence += 1
        return kind, event

    def _snapshot(self, status: str, **extra: Any) -> dict[str, Any]:
        return _response(self.request, self.model, id=self.id, created_at=self.created_at, status=status,
                         output=[item for item in self.output if item is not None], **extra)

    def start(self) -> list[tuple[str, dict[str, Any]]]:
        if self.started:
            return []
        self.started = True
        return [self._event("response.created", response=self._snapshot("in_progress")),
                self._event("response.in_progress", response=self._snapshot("in_progress"))]

    def feed(self, chunk: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        events = self.start()
        if self.closed or not isinstance(chunk, dict):
            return events
        if isinstance(chunk.get("usage"), dict):
            self.usage = _usage(chunk["usage"])
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            text = delta.get("content")
            if isinstance(text, str) and text:
                events += self._text(text)
            for call in delta.get("tool_calls") or []:
                events += self._call(call)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return events

    def _text(self, text: str) -> list[tuple[str, dict[str, Any]]]:
        events = []
        if self.text_item is None:
            item_id, index = new_id("msg"), len(self.output)
            self.output.append(None)
            self.text_item = {"id": item_id, "output_index": index, "text": ""}
            events.append(self._event("response.output_item.added", output_index=index,
                                      item=_message_item(item_id, [], "in_progress")))
            events.append(self._event("response.content_part.added", item_id=item_id, output_index=index,
                                      content_index=0, part=_text_part("")))
        item = self.text_item
        item["text"] += text
        events.append(self._event("response.output_text.delta", item_id=item["id"],
                                  output_index=item["output_index"], content_index=0, delta=text, logprobs=[]))
        return events

    def _close_text(self) -> list[tuple[str, dict[str, Any]]]:
        item = self.text_item
        if item is None:
            return []
        self.text_item = None
        part = _text_part(item["text"])
        done = _message_item(item["id"], [part])
        self.output[item["output_index"]] = done
        common = {"item_id": item["id"], "output_index": item["output_index"], "content_index": 0}
        return [self._event("response.output_text.done", **common, text=item["text"], logprobs=[]),
                self._event("response.content_part.done", **common, part=part),
                self._event("response.output_item.done", output_index=item["output_index"], item=done)]

    def _call(self, delta: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        if not isinstance(delta, dict):
            return []
        index = delta.get("index", len(self.calls))
        events: list[tuple[str, dict[str, Any]]] = []
        call = self.calls.get(index)
        if call is None:
            call = self.calls[index] = _Call(index)
            events += self._close_text()
        if call.done:
            return events
        function = delta.get("function") or {}
        if delta.get("id") and not call.call_id:
            call.call_id = delta["id"]
        if function.get("name"):
            call.name += function["name"] if call.output_index < 0 else ""
        arguments = function.get("arguments") or ""
        if call.output_index < 0:
            call.pending += arguments
            if call.name:
                events += self._announce(call)
        elif arguments:
            call.arguments += arguments
            events.append(self._event("response.function_call_arguments.delta", item_id=call.item_id,
                                      output_index=call.output_index, delta=arguments))
        return events

    def _announce(self, call: _Call) -> list[tuple[str, dict[str, Any]]]:
        call.item_id, call.output_index = new_id("fc"), len(self.output)
        call.call_id = call.call_id or new_id("call")
        self.output.append(None)
        events = [self._event("response.output_item.added", output_index=call.output_index,
                              item=_call_item(call.item_id, call.call_id, call.name, "", "in_progress"))]
        if call.pending:
            call.arguments, call.pending = call.pending, ""
            events.append(self._event("response.function_call_arguments.delta", item_id=call.item_id,
                                      output_index=call.output_index, delta=call.arguments))
        return events

    def _close_calls(self) -> list[tuple[str, dict[str, Any]]]:
        events: list[tuple[str, dict[str, Any]]] = []
        for call in sorted(self.calls.values(), key=lambda c: c.index):
            if call.done:
                continue
            if call.output_index < 0:
                events += self._announce(call)
            call.done = True
            item = _call_item(call.item_id, call.call_id, call.name, call.arguments)
            self.output[call.output_index] = item
            events.append(self._event("response.function_call_arguments.done", item_id=call.item_id,
                                      output_index=call.output_index, name=call.name, arguments=call.arguments))
            events.append(self._event("response.output_item.done", output_index=call.output_index, item=item))
        return events

    def finish(self) -> list[tuple[str, dict[str, Any]]]:
        """The closing events: open items done, then `response.completed` (or `response.incomplete`)."""
        events = self.start()
        if self.closed:
            return events
        events += self._close_text() + self._close_calls()
        self.closed = True
        status, incomplete = _status(self.finish_reason)
        response = self._snapshot(status, usage=self.usage, incomplete=incomplete)
        events.append(self._event("response.completed" if status == "completed" else "response.incomplete",
                                  response=response))
        return events

    def failed(self, error: Any) -> list[tuple[str, dict[str, Any]]]:
        """`response.failed` carrying the error as `response.error` {code, message}."""
        events = self.start()
        if self.closed:
            return events
        self.closed = True
        inner = error_body(error)["error"]
        code = inner.get("code") or inner.get("type") or "server_error"
        response = self._snapshot("failed", usage=self.usage,
                                  error={"code": str(code), "message": inner.get("message") or ""})
        events.append(self._event("response.failed", response=response))
        return events
