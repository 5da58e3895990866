"""Gemini's native API (generateContent, streamGenerateContent, models.list) as google-genai clients
speak it, translated to and from OpenAI chat completions.

Wire facts (https://ai.google.dev/api/generate-content, https://ai.google.dev/api/models):

- A `GenerateContentRequest` holds `contents[{role: user|model, parts[...]}]`, `systemInstruction`
  (a Content), `generationConfig`, `tools[{functionDeclarations[...]}]`, `toolConfig` and
  `safetySettings`. The JSON mapping of Google's protos accepts camelCase and snake_case field names
  alike, so both are read here (`_get`); names inside user data (function args, schemas) are never
  rewritten.
- A part is one of `text` (with `thought: true` for a thought summary), `inlineData{mimeType, data}`
  (base64), `fileData{mimeType, fileUri}`, `functionCall{name, args, id?}` (optionally with a sibling
  `thoughtSignature`), `functionResponse{name, response, id?}`. Function results are sent in a `user`
  (historically `function`) turn.
- A `GenerateContentResponse` is `candidates[{content{role: model, parts}, finishReason, index}]`,
  `usageMetadata{promptTokenCount, candidatesTokenCount, totalTokenCount, cachedContentTokenCount,
  thoughtsTokenCount}`, `modelVersion`, `responseId`. `candidatesTokenCount` excludes thinking tokens.
- `:streamGenerateContent?alt=sse` sends the same object once per SSE event, `data: <json>` followed by
  a blank line with CRLF line ends; each event carries only the new parts; the last carries
  `finishReason`. Function calls are never split across events.
- Errors are `{"error": {"code": <http status>, "message", "status": <canonical code name>}}`.
- `GET /v1beta/models` answers `{models: [{name: "models/<id>", displayName, supportedGenerationMethods,
  inputTokenLimit, outputTokenLimit, ...}], nextPageToken?}`.

Decisions:

- A functionCall becomes an assistant tool call whose id is the functionCall's own `id` when the client
  sent one, else a generated `call_<hex>` (`random_hex`, patchable). A functionResponse is matched to an
  unanswered call of the preceding model turn by `id` when it has one, else to the first unanswered call
  with the same name (so repeated calls of one function are answered in order). A functionResponse with
  no matching call is a 400, since OpenAI refuses a tool message without its call.
- A functionResponse's `response` object becomes the tool message content as JSON text; the Gemini
  adaptor parses it back into the same object, so a Gemini upstream sees what the client sent.
- A `thoughtSignature` on a functionCall travels as the tool call's `extra_content.google.
  thought_signature` (where the Gemini adaptor reads it, and where Gemini's OpenAI endpoint puts it), and
  comes back the same way; so Gemini 3 histories survive the round trip.
- `systemInstruction` text parts are joined with newlines into one system message. A plain string is
  accepted too (the SDKs send one).
- Gemini schemas (`type: "OBJECT"` …, `nullable`) become JSON Schema (lower-case types, `nullable` →
  `type: [T, "null"]`); `parametersJsonSchema` / `responseJsonSchema` are already JSON Schema.
- `toolConfig.functionCallingConfig`: AUTO/VALIDATED/unspecified → "auto", NONE → "none", ANY →
  "required"; ANY with exactly one allowed name → that function; with several, the tools are narrowed
  to the allowed names and tool_choice is "required".
- Answers: `stop`/`tool_calls`/`function_call` → STOP, `length` → MAX_TOKENS, `content_filter` →
  SAFETY, anything else → OTHER. `reasoning_content` becomes a leading `{text, thought: true}` part
  (google-genai's `.text` skips thought parts). Reasoning tokens are reported as `thoughtsTokenCount`
  and taken out of `candidatesTokenCount`, as Gemini counts them.
- Streams: text (and thought) deltas are sent as they come; a tool call is held until its arguments are
  complete (the next call of that candidate starts, or the finish reason comes) and then sent whole.
  `finishReason` and `usageMetadata` go on one last event, sent when OpenAI's usage chunk arrives (the
  chat request asks for it with `stream_options.include_usage`) or when `finish()` is called; when it
  carries no held tool call its parts are `[{"text": ""}]`, as Gemini's own last events often are.

Not supported (a 400 INVALID_ARGUMENT, never silently dropped, because the answer would differ):
`cachedContent` (the cached prompt lives at Google), tools other than function declarations
(googleSearch, codeExecution, urlContext, retrieval: they run inside Google), `fileData` that is not an
image (OpenAI chat takes only image URLs), inline data that is neither image nor audio, media in model
turns, and `executableCode`/`codeExecutionResult` parts. Silently ignored, since they only tune an
answer: `safetySettings` (the Gemini adaptor sets its own), `thinkingConfig`, `responseModalities`,
`speechConfig`, `mediaResolution`, `labels`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

from oneapi.relay.adaptors.base import now  # noqa: F401  (the dialect clock, patchable like the adaptors')

STATUS_TEXT = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
               409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL", 501: "NOT_IMPLEMENTED",
               503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}

FINISH_REASONS = {"stop": "STOP", "tool_calls": "STOP", "function_call": "STOP", "length": "MAX_TOKENS",
                  "content_filter": "SAFETY"}

CALLING_MODES = {"AUTO": "auto", "VALIDATED": "auto", "MODE_UNSPECIFIED": "auto", "NONE": "none", "ANY": "required"}

AUDIO_FORMATS = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/mp3": "mp3",
                 "audio/mpeg": "mp3"}

GENERATION_METHODS = ["generateContent", "streamGenerateContent"]


def random_hex() -> str:
    """Source of generated tool call ids; tests replace it."""
    return uuid.uuid4().hex[:24]


class DialectError(Exception):
    """A request this dialect refuses; a route answers `status` with `body()` (Google's error shape)."""

    def __init__(self, status: int, status_text: str, message: str) -> None:
        super().__init__(message)
        self.status, self.status_text, self.message = status, status_text, message

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.status, "message": self.message, "status": self.status_text}}


def error_body(status: int, message: str) -> dict[str, Any]:
    """Google's error envelope for an HTTP status (unknown 4xx → INVALID_ARGUMENT, 5xx → INTERNAL)."""
    text = STATUS_TEXT.get(status) or ("INTERNAL" if status >= 500 else "INVALID_ARGUMENT")
    return {"error": {"code": status, "message": message, "status": text}}


def error_from_openai(status: int, body: Any) -> dict[str, Any]:
    """An OpenAI-shaped error answer (`{"error": {"message", ...}}`, or anything else) in Google's shape."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        message = str(error["message"])
    elif isinstance(error, str) and error:
        message = error
    else:
        message = f"upstream error (HTTP {status})"
    return error_body(status, message)


def _invalid(message: str) -> DialectError:
    return DialectError(400, "INVALID_ARGUMENT", message)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """Field `name` (camelCase) of a proto-JSON object, also accepted in snake_case."""
    if not isinstance(obj, dict):
        return default
    if name in obj:
        return obj[name]
    return obj.get(_snake(name), default)


# ---------------------------------------------------------------------------------------------------
# Requests


def to_chat_request(body: dict[str, Any], model: str, stream: bool) -> dict[str, Any]:
    """The OpenAI chat completion request for a GenerateContentRequest; DialectError when it is invalid
    or asks for what cannot be relayed."""
    if not isinstance(body, dict):
        raise _invalid("Invalid JSON payload: the request body must be a JSON object.")
    if _get(body, "cachedContent"):
        raise _invalid("cachedContent is not supported by this gateway.")
    contents = _get(body, "contents")
    if isinstance(contents, dict):
        contents = [contents]
    if not isinstance(contents, list) or not contents:
        raise _invalid("* GenerateContentRequest.contents: contents is not specified")
    messages: list[dict[str, Any]] = []
    system = _system_text(_get(body, "systemInstruction"))
    if system:
        messages.append({"role": "system", "content": system})
    messages.extend(_messages(contents))
    out: dict[str, Any] = {"model": model.removeprefix("models/"), "messages": messages}
    out.update(_generation_config(_get(body, "generationConfig")))
    tools = _tools(_get(body, "tools"))
    if tools:
        choice, tools = _tool_choice(_get(_get(body, "toolConfig"), "functionCallingConfig"), tools)
        out["tools"] = tools
        if choice is not None:
            out["tool_choice"] = choice
    if stream:
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    return out


def _system_text(instruction: Any) -> str:
    if instruction is None:
        return ""
    if isinstance(instruction, str):
        return instruction
    parts = _get(instruction, "parts")
    if not isinstance(parts, list):
        raise _invalid("systemInstruction must be a Content with parts.")
    texts = []
    for part in parts:
        if not isinstance(part, dict) or not isinstance(part.get("text"), str):
            raise _invalid("systemInstruction parts must be text parts.")
        texts.append(part["text"])
    return "\n".join(texts)


def _messages(contents: list[Any]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    pending: list[dict[str, str]] = []  # unanswered calls of the last model turn: {id, name}
    for position, content in enumerate(contents):
        if not isinstance(content, dict):
            raise _invalid(f"contents[{position}] must be an object.")
        role = content.get("role") or "user"
        parts = _get(content, "parts")
        if not isinstance(parts, list) or not parts:
            raise _invalid(f"contents[{position}].parts must not be empty.")
        if role == "model":
            message, pending = _model_message(parts, position)
            if message:
                messages.append(message)
        elif role in ("user", "function"):
            messages.extend(_user_messages(parts, position, pending))
        else:
            raise _invalid(f"contents[{position}].role must be 'user' or 'model', not {role!r}.")
    return messages


def _model_message(parts: list[Any], position: int) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for part in parts:
        if not isinstance(part, dict):
            raise _invalid(f"contents[{position}].parts must be objects.")
        call = _get(part, "functionCall")
        if call is not None:
            calls.append(_tool_call(call, part, position))
        elif isinstance(part.get("text"), str):
            if not part.get("thought"):  # thought summaries have no OpenAI input form
                texts.append(part["text"])
        else:
            _refuse_part(part, position, model_turn=True)
    if not texts and not calls:
        return None, []
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls:
        message["tool_calls"] = calls
    return message, [{"id": c["id"], "name": c["function"]["name"]} for c in calls]


def _tool_call(call: Any, part: dict[str, Any], position: int) -> dict[str, Any]:
    if not isinstance(call, dict) or not call.get("name"):
        raise _invalid(f"contents[{position}]: functionCall.name is required.")
    args = call.get("args")
    if args is None:
        args = {}
    out: dict[str, Any] = {"id": str(call.get("id") or f"call_{random_hex()}"), "type": "function",
                           "function": {"name": call["name"],
                                        "arguments": json.dumps(args, ensure_ascii=False, separators=(",", ":"))}}
    signature = _get(part, "thoughtSignature")
    if signature:
        out["extra_content"] = {"google": {"thought_signature": signature}}
    return out


def _user_messages(parts: list[Any], position: int, pending: list[dict[str, str]]) -> list[dict[str, Any]]:
    tool_messages: list[dict[str, Any]] = []
    content: list[dict[str, Any]] = []
    for part in parts:
        if not isinstance(part, dict):
            raise _invalid(f"contents[{position}].parts must be objects.")
        response = _get(part, "functionResponse")
        if response is not None:
            tool_messages.append(_tool_message(response, position, pending))
        elif isinstance(part.get("text"), str):
            content.append({"type": "text", "text": part["text"]})
        elif _get(part, "inlineData") is not None:
            content.append(_inline_part(_get(part, "inlineData"), position))
        elif _get(part, "fileData") is not None:
            content.append(_file_part(_get(part, "fileData"), position))
        else:
            _refuse_part(part, position, model_turn=False)
    messages = list(tool_messages)
    if content:
        only_text = all(item["type"] == "text" for item in content)
        messages.append({"role": "user",
                         "content": "".join(item["text"] for item in content) if only_text else content})
    return messages


def _tool_message(response: Any, position: int, pending: list[dict[str, str]]) -> dict[str, Any]:
    if not isinstance(response, dict) or not response.get("name"):
        raise _invalid(f"contents[{position}]: functionResponse.name is required.")
    name, wanted = response["name"], response.get("id")
    match = next((c for c in pending if wanted and c["id"] == wanted), None) or \
        next((c for c in pending if c["name"] == name), None)
    if match is None:
        raise _invalid(f"contents[{position}]: functionResponse {name!r} does not answer a functionCall "
                       "of the previous model turn.")
    pending.remove(match)
    result = response.get("response")
    if result is None:
        result = {}
    text = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False, separators=(",", ":"))
    return {"role": "tool", "tool_call_id": match["id"], "content": text}


def _inline_part(data: Any, position: int) -> dict[str, Any]:
    mime = str(_get(data, "mimeType") or "")
    payload = _get(data, "data")
    if not mime or not isinstance(payload, str):
        raise _invalid(f"contents[{position}]: inlineData needs mimeType and base64 data.")
    if mime.startswith("image/"):
        return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{payload}"}}
    if mime.startswith("audio/"):
        audio_format = AUDIO_FORMATS.get(mime, mime.split("/", 1)[1])
        return {"type": "input_audio", "input_audio": {"data": payload, "format": audio_format}}
    raise _invalid(f"contents[{position}]: inlineData of type {mime} is not supported by this gateway "
                   "(only images and audio).")


def _file_part(data: Any, position: int) -> dict[str, Any]:
    mime = str(_get(data, "mimeType") or "")
    uri = _get(data, "fileUri")
    if not isinstance(uri, str) or not uri:
        raise _invalid(f"contents[{position}]: fileData.fileUri is required.")
    if mime and not mime.startswith("image/"):
        raise _invalid(f"contents[{position}]: fileData of type {mime} is not supported by this gateway "
                       "(only images).")
    return {"type": "image_url", "image_url": {"url": uri}}


def _refuse_part(part: dict[str, Any], position: int, model_turn: bool) -> None:
    if model_turn and (_get(part, "inlineData") is not None or _get(part, "fileData") is not None):
        raise _invalid(f"contents[{position}]: media in a model turn is not supported by this gateway.")
    kinds = [k for k in part if k not in ("thought", "thoughtSignature", "thought_signature")]
    raise _invalid(f"contents[{position}]: {kinds[0] if kinds else 'empty'} parts are not supported by this gateway.")


def _generation_config(config: Any) -> dict[str, Any]:
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise _invalid("generationConfig must be an object.")
    out: dict[str, Any] = {}
    for source, target in (("temperature", "temperature"), ("topP", "top_p"), ("topK", "top_k"),
                           ("maxOutputTokens", "max_tokens"), ("presencePenalty", "presence_penalty"),
                           ("frequencyPenalty", "frequency_penalty"), ("seed", "seed")):
        value = _get(config, source)
        if value is not None:
            out[target] = value
    stop = _get(config, "stopSequences")
    if stop:
        out["stop"] = [stop] if isinstance(stop, str) else list(stop)
    count = _get(config, "candidateCount")
    if count is not None and count != 1:
        out["n"] = count
    if _get(config, "responseLogprobs"):
        out["logprobs"] = True
        if _get(config, "logprobs") is not None:
            out["top_logprobs"] = _get(config, "logprobs")
    json_schema = _get(config, "responseJsonSchema")
    schema = _get(config, "responseSchema")
    if json_schema is not None:
        out["response_format"] = {"type": "json_schema", "json_schema": {"name": "response", "schema": json_schema}}
    elif schema is not None:
        out["response_format"] = {"type": "json_schema",
                                  "json_schema": {"name": "response", "schema": json_schema_of(schema)}}
    elif _get(config, "responseMimeType") == "application/json":
        out["response_format"] = {"type": "json_object"}
    return out


def json_schema_of(schema: Any) -> Any:
    """A Gemini `Schema` (upper-case OpenAPI types, `nullable`) as JSON Schema, recursively."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: json_schema_of(sub) for name, sub in value.items()}
        elif key in ("items",):
            out[key] = json_schema_of(value)
        elif key in ("anyOf", "any_of") and isinstance(value, list):
            out["anyOf"] = [json_schema_of(sub) for sub in value]
        elif key == "type" and isinstance(value, str):
            if value.upper() != "TYPE_UNSPECIFIED":
                out[key] = value.lower()
        elif key in ("nullable", "propertyOrdering", "property_ordering"):
            continue
        else:
            out[key] = value
    if schema.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def _tools(tools: Any) -> list[dict[str, Any]]:
    if tools is None:
        return []
    if isinstance(tools, dict):
        tools = [tools]
    if not isinstance(tools, list):
        raise _invalid("tools must be a list.")
    out = []
    for tool in tools:
        if not isinstance(tool, dict):
            raise _invalid("tools entries must be objects.")
        declarations = _get(tool, "functionDeclarations")
        others = [k for k in tool if k not in ("functionDeclarations", "function_declarations")]
        if others:
            raise _invalid(f"tool {others[0]} is not supported by this gateway; only functionDeclarations.")
        for declaration in declarations or []:
            out.append(_function(declaration))
    return out


def _function(declaration: Any) -> dict[str, Any]:
    if not isinstance(declaration, dict) or not declaration.get("name"):
        raise _invalid("functionDeclarations entries need a name.")
    function: dict[str, Any] = {"name": declaration["name"]}
    if declaration.get("description"):
        function["description"] = declaration["description"]
    json_schema = _get(declaration, "parametersJsonSchema")
    parameters = json_schema if json_schema is not None else json_schema_of(declaration.get("parameters"))
    function["parameters"] = parameters if isinstance(parameters, dict) else {"type": "object", "properties": {}}
    return {"type": "function", "function": function}


def _tool_choice(config: Any, tools: list[dict[str, Any]]) -> tuple[Any, list[dict[str, Any]]]:
    if not isinstance(config, dict):
        return None, tools
    mode = str(config.get("mode") or "AUTO").upper()
    if mode not in CALLING_MODES:
        raise _invalid(f"toolConfig.functionCallingConfig.mode {mode!r} is not one of AUTO, ANY, NONE.")
    allowed = _get(config, "allowedFunctionNames") or []
    if mode != "ANY" or not allowed:
        return CALLING_MODES[mode], tools
    narrowed = [t for t in tools if t["function"]["name"] in allowed]
    if not narrowed:
        raise _invalid("allowedFunctionNames names no declared function.")
    if len(allowed) == 1:
        return {"type": "function", "function": {"name": allowed[0]}}, tools
    return "required", narrowed


# ---------------------------------------------------------------------------------------------------
# Answers


def finish_reason(reason: str | None) -> str:
    return FINISH_REASONS.get(reason or "stop", "OTHER")


def _args(arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    try:
        parsed = json.loads(arguments or "{}")
    except ValueError:
        return {"arguments": arguments}
    return parsed if isinstance(parsed, dict) else {"arguments": parsed}


def _call_part(call: dict[str, Any]) -> dict[str, Any]:
    function = call.get("function") or {}
    arguments = _args(function.get("arguments"))
    part: dict[str, Any] = {"functionCall": {"name": function.get("name", ""), "args": arguments}}
    signature = ((call.get("extra_content") or {}).get("google") or {}).get("thought_signature")
    if signature:
        part["thoughtSignature"] = signature
    return part


def usage_metadata(usage: Any) -> dict[str, Any] | None:
    """OpenAI usage → usageMetadata; reasoning tokens become thoughtsTokenCount, out of candidatesTokenCount."""
    if not isinstance(usage, dict):
        return None
    prompt, completion = usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    out: dict[str, Any] = {"promptTokenCount": prompt, "candidatesTokenCount": max(completion - reasoning, 0),
                           "totalTokenCount": usage.get("total_tokens") or prompt + completion}
    if cached:
        out["cachedContentTokenCount"] = cached
    if reasoning:
        out["thoughtsTokenCount"] = reasoning
    return out


def from_chat_response(completion: dict[str, Any], model: str) -> dict[str, Any]:
    """The GenerateContentResponse for an OpenAI chat.completion."""
    candidates = []
    for position, choice in enumerate(completion.get("choices") or []):
        message = choice.get("message") or {}
        parts: list[dict[str, Any]] = []
        if message.get("reasoning_content"):
            parts.append({"text": message["reasoning_content"], "thought": True})
        content = message.get("content")
        text = content if isinstance(content, str) else "".join(
            p.get("text", "") for p in content or [] if isinstance(p, dict) and p.get("type") == "text")
        if text or not message.get("tool_calls"):
            parts.append({"text": text or ""})
        parts.extend(_call_part(call) for call in message.get("tool_calls") or [])
        candidates.append({"content": {"role": "model", "parts": parts},
                           "finishReason": finish_reason(choice.get("finish_reason")),
                           "index": choice.get("index", position)})
    out: dict[str, Any] = {"candidates": candidates}
    metadata = usage_metadata(completion.get("usage"))
    if metadata:
        out["usageMetadata"] = metadata
    out["modelVersion"] = model
    if completion.get("id"):
        out["responseId"] = completion["id"]
    return out


class StreamTranslator:
    """OpenAI chat.completion.chunk dicts → the GenerateContentResponse events of an alt=sse stream.

    `feed(chunk)` returns the events a chunk produces (maybe none); `finish()` the events still owed when
    the upstream stream ends (the last one, if no usage chunk brought it out already). Both are lists of
    dicts; `sse(event)` writes one as Gemini does."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.id = ""
        self.calls: dict[int, dict[int, dict[str, Any]]] = {}  # choice index → tool call index → call
        self.reasons: dict[int, str] = {}
        self.usage: dict[str, Any] | None = None  # usage seen before any finish reason
        self.done = False

    def feed(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        if self.done or not isinstance(chunk, dict):
            return []
        if "error" in chunk:
            self.done = True
            error = chunk["error"] if isinstance(chunk["error"], dict) else {"message": str(chunk["error"])}
            code = error.get("code") if isinstance(error.get("code"), int) else 500
            return [error_body(code, str(error.get("message") or "upstream error"))]
        self.id = self.id or chunk.get("id") or ""
        events = []
        for choice in chunk.get("choices") or []:
            events.extend(self._choice(choice))
        if chunk.get("usage"):
            self.usage = usage_metadata(chunk["usage"])
            if self.reasons:
                events.append(self._last(self.usage))
        return events

    def finish(self) -> list[dict[str, Any]]:
        if self.done:
            return []
        return [self._last(self.usage)]

    def _choice(self, choice: dict[str, Any]) -> list[dict[str, Any]]:
        index = choice.get("index", 0)
        delta = choice.get("delta") or {}
        parts: list[dict[str, Any]] = []
        if delta.get("reasoning_content"):
            parts.append({"text": delta["reasoning_content"], "thought": True})
        if isinstance(delta.get("content"), str) and delta["content"]:
            parts.append({"text": delta["content"]})
        calls = self.calls.setdefault(index, {})
        for piece in delta.get("tool_calls") or []:
            position = piece.get("index", len(calls))
            if position not in calls:
                parts.extend(_call_part(c) for c in self._complete(index, before=position))
                calls[position] = {"function": {"name": "", "arguments": ""}}
            call = calls[position]
            function = piece.get("function") or {}
            call["function"]["name"] += function.get("name") or ""
            call["function"]["arguments"] += function.get("arguments") or ""
            if piece.get("extra_content"):
                call["extra_content"] = piece["extra_content"]
        if choice.get("finish_reason"):
            self.reasons[index] = choice["finish_reason"]
        return [self._event([self._candidate(index, parts)])] if parts else []

    def _complete(self, index: int, before: int | None = None) -> list[dict[str, Any]]:
        """Pop the held calls of a choice (those before `before`, or all)."""
        calls = self.calls.get(index, {})
        ready = [k for k in sorted(calls) if not calls[k].get("sent") and (before is None or k < before)]
        for k in ready:
            calls[k]["sent"] = True
        return [calls[k] for k in ready]

    def _last(self, metadata: dict[str, Any] | None) -> dict[str, Any]:
        self.done = True
        indexes = sorted(set(self.calls) | set(self.reasons)) or [0]
        candidates = []
        for index in indexes:
            parts = [_call_part(c) for c in self._complete(index)] or [{"text": ""}]
            candidate = self._candidate(index, parts)
            candidate["finishReason"] = finish_reason(self.reasons.get(index))
            candidates.append(candidate)
        event = self._event(candidates)
        if metadata:
            event["usageMetadata"] = metadata
        return event

    @staticmethod
    def _candidate(index: int, parts: list[dict[str, Any]]) -> dict[str, Any]:
        return {"content": {"role": "model", "parts": parts}, "index": index}

    def _event(self, candidates: list[dict[str, Any]]) -> dict[str, Any]:
        event: dict[str, Any] = {"candidates": candidates, "modelVersion": self.model}
        if self.id:
            event["responseId"] = self.id
        return event


def translate_stream(chunks: Iterable[dict[str, Any]], model: str) -> list[dict[str, Any]]:
    """Every event of a whole OpenAI stream (for tests and non-incremental callers)."""
    translator = StreamTranslator(model)
    events = [event for chunk in chunks for event in translator.feed(chunk)]
    return events + translator.finish()


def sse(event: dict[str, Any]) -> str:
    """One alt=sse event as Gemini writes it: `data: <json>` and a blank line, CRLF line ends."""
    return f"data: {json.dumps(event, ensure_ascii=False)}\r\n\r\n"


# ---------------------------------------------------------------------------------------------------
# Models


def models_list(names: list[str]) -> dict[str, Any]:
    """The `GET /v1beta/models` answer for the model names a token may use (order kept, duplicates dropped).
    Token limits are left out: the gateway does not know them for every channel's model."""
    seen: list[str] = []
    for name in names:
        short = name[len("models/"):] if name.startswith("models/") else name
        if short and short not in seen:
            seen.append(short)
    return {"models": [{"name": f"models/{short}", "displayName": short,
                        "supportedGenerationMethods": list(GENERATION_METHODS)} for short in seen]}
