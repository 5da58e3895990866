"""OpenAI request bodies → Gemini `GenerateContentRequest` and `BatchEmbedContentsRequest` bodies.

Field names follow the REST reference (https://ai.google.dev/api/generate-content#request-body,
https://ai.google.dev/api/embeddings#method:-models.batchembedcontents). Request JSON uses camelCase.
"""

from __future__ import annotations

import json
import mimetypes
import re
from typing import Any

from oneapi.relay.adaptors.base import text_of
from oneapi.relay.errors import LocalError

# Every category Gemini's text models accept; CIVIC_INTEGRITY is deprecated upstream but still accepted.
SAFETY_CATEGORIES = ("HARM_CATEGORY_HARASSMENT", "HARM_CATEGORY_HATE_SPEECH", "HARM_CATEGORY_SEXUALLY_EXPLICIT",
                     "HARM_CATEGORY_DANGEROUS_CONTENT", "HARM_CATEGORY_CIVIC_INTEGRITY")

# Gemini's `Schema` is a subset of OpenAPI 3.0; any other keyword (additionalProperties, $schema, strict,
# $ref ...) is refused with 400 "Unknown name". https://ai.google.dev/api/caching#Schema
SCHEMA_KEYS = frozenset({
    "type", "format", "title", "description", "nullable", "enum", "items", "minItems", "maxItems", "properties",
    "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf",
    "propertyOrdering", "default", "minimum", "maximum",
})
# The Developer API refuses every other string format ("only 'enum' and 'date-time' are supported").
SCHEMA_FORMATS = frozenset({"enum", "date-time"})

# Gemini 3 refuses a replayed functionCall without its thought signature; Google documents this value for
# histories it did not produce (https://ai.google.dev/gemini-api/docs/thought-signatures).
SKIP_SIGNATURE = "skip_thought_signature_validator"

TOOL_CHOICE_MODES = {"none": "NONE", "auto": "AUTO", "required": "ANY"}


def chat_request(body: dict[str, Any], model: str, safety_threshold: str) -> dict[str, Any]:
    """The generateContent body for an OpenAI chat completion request."""
    system, contents = convert_messages(body.get("messages") or [], signatures=_needs_signature(model))
    out: dict[str, Any] = {"contents": contents}
    if system:
        out["systemInstruction"] = {"parts": system}
    out["safetySettings"] = [{"category": c, "threshold": safety_threshold} for c in SAFETY_CATEGORIES]
    config = generation_config(body)
    if config:
        out["generationConfig"] = config
    declarations = function_declarations(body)
    if declarations:
        out["tools"] = [{"functionDeclarations": declarations}]
        tool_config = function_calling_config(body.get("tool_choice", body.get("function_call")))
        if tool_config:
            out["toolConfig"] = {"functionCallingConfig": tool_config}
    return out


def convert_messages(messages: list[dict[str, Any]], signatures: bool = False) -> tuple[list, list]:
    """System parts (every system/developer message, in order) and the `contents` turns.

    Consecutive tool results go in one user turn: Gemini wants as many functionResponse parts in a turn
    as there were functionCall parts in the model turn before it.
    """
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    call_names: dict[str, str] = {}
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            system.extend(_text_parts(message.get("content")))
        elif role in ("tool", "function"):
            part = _function_response(message, call_names)
            if contents and contents[-1].get("_tool"):
                contents[-1]["parts"].append(part)
            else:
                contents.append({"role": "user", "parts": [part], "_tool": True})
        elif role == "assistant":
            _append(contents, "model", _assistant_parts(message, call_names, signatures))
        else:
            _append(contents, "user", _user_parts(message.get("content")))
    for content in contents:
        content.pop("_tool", None)
    return system, contents


def _append(contents: list[dict[str, Any]], role: str, parts: list[dict[str, Any]]) -> None:
    # Gemini refuses a turn without parts ("contents.parts must not be empty"): an empty message is dropped.
    if parts:
        contents.append({"role": role, "parts": parts})


def _text_parts(content: Any) -> list[dict[str, Any]]:
    text = text_of(content)
    return [{"text": text}] if text else []


def _user_parts(content: Any) -> list[dict[str, Any]]:
    if not isinstance(content, list):
        return _text_parts(content)
    parts = []
    for item in content:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "text" and item.get("text"):
            parts.append({"text": item["text"]})
        elif kind == "image_url":
            url = item.get("image_url")
            url = url.get("url") if isinstance(url, dict) else url
            if isinstance(url, str) and url:
                parts.append(media_part(url))
        elif kind == "input_audio" and isinstance(item.get("input_audio"), dict):
            audio = item["input_audio"]
            parts.append({"inlineData": {"mimeType": f"audio/{audio.get('format') or 'wav'}",
                                         "data": audio.get("data", "")}})
    return parts


def media_part(url: str) -> dict[str, Any]:
    """A data URL becomes inlineData; any other URL becomes fileData, which Gemini fetches itself (so it
    must be publicly reachable: we do no I/O here). The MIME type of a URL is guessed from its extension."""
    match = re.match(r"data:([^;,]+)?(?:;[^,]*)?,(.*)", url, re.DOTALL)
    if match:
        return {"inlineData": {"mimeType": match.group(1) or "image/png", "data": match.group(2)}}
    path = url.split("?", 1)[0].split("#", 1)[0]
    mime = mimetypes.guess_type(path)[0] or "image/jpeg"
    return {"fileData": {"mimeType": mime, "fileUri": url}}


def _assistant_parts(message: dict[str, Any], call_names: dict[str, str], signatures: bool) -> list[dict[str, Any]]:
    parts = _text_parts(message.get("content"))
    calls = list(message.get("tool_calls") or [])
    if isinstance(message.get("function_call"), dict):
        calls.append({"id": "", "function": message["function_call"]})
    for position, call in enumerate(calls):
        function = call.get("function") or {}
        name = function.get("name", "")
        call_names[call.get("id") or name] = name
        part: dict[str, Any] = {"functionCall": {"name": name, "args": _arguments(function.get("arguments"))}}
        signature = ((call.get("extra_content") or {}).get("google") or {}).get("thought_signature")
        if signature or (signatures and position == 0):
            part["thoughtSignature"] = signature or SKIP_SIGNATURE
        parts.append(part)
    return parts


def _arguments(arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    try:
        parsed = json.loads(arguments or "{}")
    except ValueError:
        return {"arguments": arguments}
    return parsed if isinstance(parsed, dict) else {"arguments": parsed}


def _function_response(message: dict[str, Any], call_names: dict[str, str]) -> dict[str, Any]:
    """`response` must be a JSON object; a non-object result goes under `output`, Gemini's documented key."""
    name = call_names.get(message.get("tool_call_id") or "") or message.get("name") or ""
    text = text_of(message.get("content"))
    try:
        result: Any = json.loads(text)
    except ValueError:
        result = text
    response = result if isinstance(result, dict) else {"output": result}
    return {"functionResponse": {"name": name, "response": response}}


def _needs_signature(model: str) -> bool:
    match = re.search(r"gemini-(\d+)", model)
    return bool(match) and int(match.group(1)) >= 3


def generation_config(body: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for source, target in (("temperature", "temperature"), ("top_p", "topP"), ("top_k", "topK"), ("seed", "seed")):
        if body.get(source) is not None:
            config[target] = body[source]
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    if max_tokens:
        config["maxOutputTokens"] = max_tokens
    stop = body.get("stop")
    if stop:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    if (body.get("n") or 1) > 1:
        config["candidateCount"] = body["n"]
    config.update(_response_format(body.get("response_format")))
    return config


def _response_format(response_format: Any) -> dict[str, Any]:
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "json_object":
        return {"responseMimeType": "application/json"}
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        out: dict[str, Any] = {"responseMimeType": "application/json"}
        if isinstance(schema, dict):
            out["responseSchema"] = clean_schema(schema)
        return out
    return {}


def clean_schema(schema: Any, defs: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """A JSON Schema reduced to Gemini's subset, recursively: local `$ref`s inlined (pydantic emits them),
    unknown keywords dropped, `type: [T, "null"]` → `type: T, nullable: true`, `const` → one-value enum."""
    if not isinstance(schema, dict) or depth > 32:
        return {}
    defs = {**(defs or {}), **schema.get("$defs", {}), **schema.get("definitions", {})}
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.rsplit("/", 1)[-1] in defs:
        return clean_schema({**defs[ref.rsplit("/", 1)[-1]], **{k: v for k, v in schema.items() if k != "$ref"}},
                            defs, depth + 1)
    out = {key: _clean_value(key, value, defs, depth) for key, value in schema.items() if key in SCHEMA_KEYS}
    if "const" in schema:
        out["enum"] = [schema["const"]]
    if isinstance(out.get("type"), list):
        kinds = [t for t in out["type"] if t != "null"]
        if len(kinds) < len(out["type"]):
            out["nullable"] = True
        out["type"] = kinds[0] if kinds else "null"
    if out.get("format") not in SCHEMA_FORMATS:
        out.pop("format", None)
    return out


def _clean_value(key: str, value: Any, defs: dict[str, Any], depth: int) -> Any:
    if key == "properties" and isinstance(value, dict):
        return {name: clean_schema(sub, defs, depth + 1) for name, sub in value.items()}
    if key == "items":
        return clean_schema(value, defs, depth + 1)
    if key == "anyOf" and isinstance(value, list):
        return [clean_schema(sub, defs, depth + 1) for sub in value]
    return value


def function_declarations(body: dict[str, Any]) -> list[dict[str, Any]]:
    functions = [t.get("function") or {} for t in body.get("tools") or [] if t.get("type", "function") == "function"]
    functions += [f for f in body.get("functions") or [] if isinstance(f, dict)]
    return [_declaration(f) for f in functions if f.get("name")]


def _declaration(function: dict[str, Any]) -> dict[str, Any]:
    out = {"name": function["name"]}
    if function.get("description"):
        out["description"] = function["description"]
    parameters = clean_schema(function.get("parameters"))
    # An OBJECT with no properties is refused ("properties: should be non-empty for OBJECT type").
    if parameters.get("properties") or parameters.get("type") not in (None, "object"):
        out["parameters"] = parameters
    return out


def function_calling_config(choice: Any) -> dict[str, Any]:
    """OpenAI tool_choice (or legacy function_call) → functionCallingConfig."""
    if isinstance(choice, str):
        mode = TOOL_CHOICE_MODES.get(choice)
        return {"mode": mode} if mode else {}
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name") or choice.get("name")
        if name:
            return {"mode": "ANY", "allowedFunctionNames": [name]}
    return {}


def embedding_request(body: dict[str, Any], model: str) -> dict[str, Any]:
    """batchEmbedContents takes one request per input text, each naming the model again."""
    inputs = body.get("input")
    texts = [inputs] if isinstance(inputs, str) else inputs
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise LocalError(400, "input must be a string or a list of strings for Gemini embeddings",
                         code="invalid_text_request")
    name = model if model.startswith("models/") else f"models/{model}"
    extra = {"outputDimensionality": body["dimensions"]} if body.get("dimensions") else {}
    return {"requests": [{"model": name, "content": {"parts": [{"text": t}]}, **extra} for t in texts]}
