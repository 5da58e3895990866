"""OpenAI chat completions ⇄ DashScope's native generation API (`result_format: "message"`).

Request: `{model, input: {messages}, parameters: {...}}`; a message's content is a string for text
models and a list of `{"text"}` / `{"image"}` items for the multimodal (VL) models. Answer:
`{output: {choices: [{message, finish_reason}]}, usage: {input_tokens, output_tokens}, request_id}`.
A stream with `incremental_output: true` sends, per SSE event (`id:`, `event:result`, `data:`), the
same object holding only the new text, usage so far, and `finish_reason` "null" (a string) until the
last event. https://help.aliyun.com/zh/model-studio/use-qwen-by-calling-api
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from oneapi.relay.adaptors.ali import common
from oneapi.relay.adaptors.base import CONTENT_FILTER, LENGTH, STOP, TOOL_CALLS, json_objects, text_of
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import UpstreamError
from oneapi.relay.sse import SSEEvent
from oneapi.relay.usage import StreamState, Usage

SEARCH_SUFFIX = "-internet"
TOP_P_MAX = 0.9999
"""DashScope wants top_p inside (0, 1): One API sends 0.9999 for 1."""
FINISH_REASONS = {"stop": STOP, "length": LENGTH, "tool_calls": TOOL_CALLS, "content_filter": CONTENT_FILTER}
# Sampling and output fields DashScope's `parameters` takes under their OpenAI names.
PASSED_PARAMETERS = ("temperature", "top_k", "stop", "presence_penalty", "repetition_penalty", "n",
                     "response_format", "tool_choice", "parallel_tool_calls", "enable_thinking",
                     "thinking_budget", "logprobs", "top_logprobs")


def is_multimodal(model: str) -> bool:
    """The Qwen-VL and QVQ models, served by the multimodal-generation endpoint."""
    name = model.lower()
    return "-vl" in name or name.startswith("qvq")


def upstream_model(model: str) -> tuple[str, bool]:
    """The model name DashScope knows and whether web search is on (One API's `-internet` suffix)."""
    if model.endswith(SEARCH_SUFFIX):
        return model.removesuffix(SEARCH_SUFFIX), True
    return model, False


def chat_request(body: dict[str, Any], model: str, stream: bool) -> dict[str, Any]:
    name, search = upstream_model(model)
    multimodal = is_multimodal(name)
    messages = [convert_message(m, multimodal) for m in body.get("messages") or [] if isinstance(m, dict)]
    return {"model": name, "input": {"messages": messages}, "parameters": parameters(body, stream, search)}


def parameters(body: dict[str, Any], stream: bool, search: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"result_format": "message"}
    if stream:
        out["incremental_output"] = True
    if search:
        out["enable_search"] = True
    if body.get("seed") is not None:
        out["seed"] = int(body["seed"])
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if limit:
        out["max_tokens"] = limit
    if body.get("top_p") is not None:
        out["top_p"] = min(float(body["top_p"]), TOP_P_MAX)
    for name in PASSED_PARAMETERS:
        if body.get(name) is not None:
            out[name] = body[name]
    if body.get("tools"):
        out["tools"] = body["tools"]
    return out


def convert_message(message: dict[str, Any], multimodal: bool) -> dict[str, Any]:
    """Role lower-cased as One API does; tool calls and tool answers keep their OpenAI fields, which
    DashScope reads under the same names."""
    out: dict[str, Any] = {"role": str(message.get("role") or "user").lower(),
                           "content": content_items(message.get("content")) if multimodal
                           else text_of(message.get("content"))}
    for name in ("tool_calls", "tool_call_id", "name"):
        if message.get(name):
            out[name] = message[name]
    return out


def content_items(content: Any) -> list[dict[str, str]]:
    if isinstance(content, str):
        return [{"text": content}]
    items: list[dict[str, str]] = []
    for part in content if isinstance(content, list) else []:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            items.append({"text": part.get("text") or ""})
        elif kind == "image_url":
            image = part.get("image_url")
            items.append({"image": (image.get("url") if isinstance(image, dict) else image) or ""})
    return items


def usage_of(usage: Any) -> Usage | None:
    if not isinstance(usage, dict) or "input_tokens" not in usage:
        return None
    return Usage(int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0))


def finish_reason(reason: Any) -> str | None:
    if not reason or reason == "null":
        return None
    return FINISH_REASONS.get(str(reason), STOP)


def content_text(content: Any) -> str:
    """A message's text: a string, or the `text` items of a multimodal answer's list."""
    if isinstance(content, list):
        return "".join(str(item.get("text") or "") for item in content if isinstance(item, dict))
    return content if isinstance(content, str) else ""


def completion(body: dict[str, Any], ctx: RelayContext) -> tuple[dict[str, Any], Usage | None]:
    common.raise_for_error(body)
    output = body.get("output") or {}
    choices = [choice_of(c, i) for i, c in enumerate(output.get("choices") or [])]
    if not choices and "text" in output:  # result_format "text": a mirror that ignored ours
        choices = [{"index": 0, "message": {"role": "assistant", "content": str(output.get("text") or "")},
                    "finish_reason": finish_reason(output.get("finish_reason")) or STOP}]
    usage = usage_of(body.get("usage"))
    answer: dict[str, Any] = {"id": f"chatcmpl-{body.get('request_id') or ''}", "object": "chat.completion",
                              "created": common.now(), "model": ctx.original_model, "choices": choices}
    if usage is not None:
        answer["usage"] = usage.as_openai()
    return answer, usage


def choice_of(choice: dict[str, Any], position: int) -> dict[str, Any]:
    source = choice.get("message") or {}
    message: dict[str, Any] = {"role": "assistant", "content": content_text(source.get("content"))}
    if source.get("reasoning_content"):
        message["reasoning_content"] = source["reasoning_content"]
    if source.get("tool_calls"):
        message["tool_calls"] = [{k: v for k, v in call.items() if k != "index"} for call in source["tool_calls"]]
        message["content"] = message["content"] or None
    return {"index": choice.get("index", position), "message": message,
            "finish_reason": finish_reason(choice.get("finish_reason")) or STOP}


def chunks(events: Iterable[SSEEvent], ctx: RelayContext, state: StreamState) -> Iterator[dict[str, Any]]:
    """chat.completion.chunk dicts: one id (`chatcmpl-<request id>`) and `created` for the stream, the
    role on the first chunk, the finish reason on the last; a usage chunk when the client asked."""
    stream = _Stream(ctx)
    for event, data in json_objects(events):
        if event.event == "error" or data.get("code"):
            raise common.dashscope_error(0, data) or UpstreamError(500, event.data[:500])
        state.usage = usage_of(data.get("usage")) or state.usage
        yield from stream.translate(data, state)
    if ctx.client_wants_usage and state.usage is not None:
        state.usage_forwarded = True
        yield {**stream.base(), "choices": [], "usage": state.usage.as_openai()}


class _Stream:
    def __init__(self, ctx: RelayContext) -> None:
        self.model, self.id, self.created = ctx.original_model, "", common.now()
        self.role_sent = False

    def base(self) -> dict[str, Any]:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model}

    def translate(self, data: dict[str, Any], state: StreamState) -> Iterator[dict[str, Any]]:
        self.id = self.id or f"chatcmpl-{data.get('request_id') or ''}"
        output = data.get("output") or {}
        choices = output.get("choices")
        if choices is None and "text" in output:
            choices = [{"message": {"content": output.get("text")}, "finish_reason": output.get("finish_reason")}]
        for choice in choices or []:
            chunk = self.choice_chunk(choice, state)
            if chunk is not None:
                yield chunk

    def choice_chunk(self, choice: dict[str, Any], state: StreamState) -> dict[str, Any] | None:
        message = choice.get("message") or {}
        delta: dict[str, Any] = {}
        for field, text in (("reasoning_content", message.get("reasoning_content")),
                            ("content", content_text(message.get("content")))):
            if isinstance(text, str) and text:
                delta[field] = text
                state.add_text(text)
        calls = [tool_delta(call) for call in message.get("tool_calls") or [] if isinstance(call, dict)]
        if calls:
            delta["tool_calls"] = calls
            for call in calls:
                state.add_text(call.get("function", {}).get("arguments"))
        reason = finish_reason(choice.get("finish_reason"))
        if not delta and not reason:
            return None
        if not self.role_sent:
            delta, self.role_sent = {"role": "assistant", **delta}, True
        state.finish_reason = reason or state.finish_reason
        return {**self.base(), "choices": [{"index": choice.get("index", 0), "delta": delta, "finish_reason": reason}]}


def tool_delta(call: dict[str, Any]) -> dict[str, Any]:
    """A streamed tool call piece; DashScope repeats empty ids and names after the first piece."""
    out: dict[str, Any] = {"index": call.get("index", 0)}
    if call.get("id"):
        out.update(id=call["id"], type=call.get("type") or "function")
    function = call.get("function") or {}
    piece = {name: function[name] for name in ("name", "arguments") if function.get(name)}
    if piece or "id" in out:
        out["function"] = piece
    return out
