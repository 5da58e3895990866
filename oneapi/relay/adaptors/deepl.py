"""DeepL (channel type 38): a chat completion whose answer is DeepL's translation of the last message,
into the language the model name says (`deepl-zh` → Chinese).

Wire facts (developers.deepl.com: "Translate text", "Authentication", "Error handling"):
- `POST {base}/v2/translate` (Free keys end `:fx` and use api-free.deepl.com, Pro keys api.deepl.com),
  header `Authorization: DeepL-Auth-Key <key>`, JSON body `{text: [...], target_lang, source_lang?}`.
- `target_lang` codes are upper-case (`ZH`, `JA`, `DE`, `EN-US`, `EN-GB`, `PT-BR`, `PT-PT`, `ZH-HANS`,
  `ZH-HANT` ...); the bare `EN` and `PT` targets are deprecated in favour of their variants.
- Answer `{translations: [{detected_source_language, text}]}`, one per input text; no streaming.
- Errors are HTTP statuses with `{"message": "..."}` (400 bad parameter, 403 bad key or wrong endpoint
  for the key's plan, 413/414 too large, 429 too many requests, 456 quota exceeded, 5xx/529 temporary).

DeepL cannot stream: a stream request is served from the one JSON answer (`stream_format = "json"`,
`upstream_stream` False) as one chunk carrying the role, the translation and `finish_reason: stop`.

Billing as One API: prompt tokens = the UTF-8 byte length of the translated text, completion 0.

Where we differ from One API (relay/adaptor/deepl) and why:
- The target is upper-cased and `EN`/`PT` become `EN-US`/`PT-PT` (One API sent `en`, which DeepL
  refuses as a deprecated target); `deepl-en-gb` style names choose a variant.
- Errors keep DeepL's HTTP status (One API answered an error `message` with 500), type `deepl_error`.
- The answer carries the client's model name.
- DeepL's answer does not echo the source text: its byte length is read from the client's request
  (`ctx.request_body`). Without it (a channel test) the characters DeepL reports having billed
  (`show_billed_characters`, which we ask for) stand in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from oneapi.relay.adaptors import register
from oneapi.relay.adaptors.base import STOP, Adaptor, now, random_hex, text_of
from oneapi.relay.channeltypes import ChannelType, Text, TypeSpec
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import UpstreamError
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import SSEEvent
from oneapi.relay.usage import StreamState, Usage

MODELS = (
    "deepl-zh",
    "deepl-en",
    "deepl-ja",
)

SPEC = TypeSpec(
    ChannelType.DEEPL, Text("DeepL", "DeepL"), frozenset({RelayMode.CHAT}),
    models=MODELS, owner="deepl",
    base_url="https://api-free.deepl.com",
    key_hint=Text("DeepL 认证密钥", "DeepL authentication key"),
    notice=Text("模型名 deepl-<目标语言>（如 deepl-zh、deepl-en-gb）决定译文语言；Pro 密钥请将 Base URL 设为 https://api.deepl.com。",
                "The model name deepl-<target language> (deepl-zh, deepl-en-gb …) picks the target language; "
                "for a Pro key set the base URL to https://api.deepl.com."),
)

PREFIX = "deepl-"
# Targets DeepL deprecated, and the variant we send instead.
DEPRECATED_TARGETS = {"EN": "EN-US", "PT": "PT-PT"}


@register(SPEC)
class DeepLAdaptor(Adaptor):
    key = "deepl"
    stream_format: ClassVar[str] = "json"

    def request_url(self, ctx: RelayContext) -> str:
        return f"{ctx.base_url}/v2/translate"

    def request_headers(self, ctx: RelayContext) -> dict[str, str]:
        return {"Authorization": f"DeepL-Auth-Key {ctx.key}", "Content-Type": "application/json"}

    def convert_request(self, body: dict[str, Any], ctx: RelayContext) -> dict[str, Any]:
        return {"text": [source_text(body)], "target_lang": target_language(ctx.model), "show_billed_characters": True}

    def convert_response(self, body: dict[str, Any], ctx: RelayContext) -> tuple[dict[str, Any], Usage | None]:
        usage = billed_usage(body, source_bytes(ctx))
        answer = {"id": f"chatcmpl-{random_hex()}", "object": "chat.completion", "created": now(),
                  "model": ctx.original_model,
                  "choices": [{"index": 0, "message": {"role": "assistant", "content": translation(body)},
                               "finish_reason": STOP}]}
        if usage:
            answer["usage"] = usage.as_openai()
        return answer, usage

    def convert_stream(self, events: Iterable[SSEEvent], ctx: RelayContext,
                       state: StreamState) -> Iterator[dict[str, Any] | bytes]:
        for event in events:
            try:
                body = event.json()
            except ValueError:
                raise UpstreamError(502, "DeepL answered invalid JSON", code="unmarshal_response_body_failed",
                                    connection=True) from None
            text = translation(body)
            state.add_text(text)
            state.usage = billed_usage(body, source_bytes(ctx)) or state.usage
            state.finish_reason = STOP
            yield {"id": f"chatcmpl-{random_hex()}", "object": "chat.completion.chunk", "created": now(),
                   "model": ctx.original_model,
                   "choices": [{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": STOP}]}

    def convert_error(self, status: int, body: bytes, ctx: RelayContext) -> UpstreamError:
        return deepl_error(status, body)


def source_text(body: dict[str, Any]) -> str:
    """The text to translate: the last message's (One API's rule)."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    return text_of(messages[-1].get("content")) if messages else ""


def target_language(model: str) -> str:
    """`deepl-zh` → `ZH`, `deepl-en` → `EN-US`, `deepl-en-gb` → `EN-GB`; a name without the prefix is
    taken as the language code itself."""
    code = (model[len(PREFIX):] if model.lower().startswith(PREFIX) else model).upper()
    return DEPRECATED_TARGETS.get(code, code)


def translation(body: Any) -> str:
    translations = body.get("translations") if isinstance(body, dict) else None
    if not isinstance(translations, list) or not translations or not isinstance(translations[0], dict):
        message = body.get("message") if isinstance(body, dict) else None
        raise UpstreamError(500 if message else 502, str(message or "DeepL answered no translation"),
                            "deepl_error", "deepl_error")
    return str(translations[0].get("text") or "")


def billed_usage(body: Any, source_bytes: int | None) -> Usage | None:
    """One API's usage: the source text's byte length as prompt tokens, no completion tokens. Without
    the request (a channel test), the characters DeepL says it billed stand in."""
    if source_bytes is not None:
        return Usage(source_bytes, 0)
    translations = body.get("translations") if isinstance(body, dict) else None
    billed = [t.get("billed_characters") for t in translations or [] if isinstance(t, dict)]
    if billed and all(isinstance(b, int) and not isinstance(b, bool) for b in billed):
        return Usage(sum(billed), 0)
    return None


def source_bytes(ctx: RelayContext) -> int | None:
    """The UTF-8 length of the text the client asked to translate (None outside a relayed request)."""
    if not ctx.request_body:
        return None
    return len(source_text(ctx.request_body).encode("utf-8", "surrogatepass"))


def deepl_error(status: int, body: bytes) -> UpstreamError:
    text = body.decode("utf-8", errors="replace").strip()
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = None
    message = ""
    if isinstance(parsed, dict):
        message = str(parsed.get("message") or "")
        if parsed.get("detail"):
            message = f"{message}: {parsed['detail']}" if message else str(parsed["detail"])
    elif text and not text.lower().startswith(("<!doctype", "<html")):
        message = text[:500]
    return UpstreamError(status, message or f"bad response status code {status}", "deepl_error", "deepl_error",
                         str(status))
