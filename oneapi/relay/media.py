"""Images and audio through the relay, priced as One API prices them and with its money bugs fixed:
images are reserved in full before the call and only charged when the upstream succeeded; text to
speech is charged per character of input; transcripts are charged by their tokens with the model
and group ratios applied (One API charged the bare token count)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import requests
from flask import Response, request

from oneapi.relay.auth import authenticate, check_model_allowed
from oneapi.relay.errors import LocalError, UpstreamError
from oneapi.relay.http import send
from oneapi.relay.inbound import DEFAULT_MODELS, Inbound, read_json
from oneapi.relay.modes import RelayMode
from oneapi.relay.pipeline import Attempt, JsonRelay
from oneapi.relay.tokenizer import count_text
from oneapi.relay.usage import Usage
from oneapi.services import billing, options

MAX_SPEECH_INPUT = 4096
MAX_IMAGE_BYTES = 32 << 20
"""The largest image fetched to answer `b64_json` for a provider that answers URLs."""
TRANSCRIPT_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")


def relay_image() -> Response:
    caller = authenticate(request.headers.get("Authorization", ""))
    inbound = read_json(RelayMode.IMAGES)
    check_model_allowed(caller, inbound.model)
    return ImageRelay(caller, inbound).run()


def relay_speech() -> Response:
    caller = authenticate(request.headers.get("Authorization", ""))
    inbound = read_json(RelayMode.AUDIO_SPEECH)
    check_model_allowed(caller, inbound.model)
    inbound.stream = inbound.wants_usage = False
    text = inbound.body.get("input")
    if not isinstance(text, str) or not text:
        raise LocalError(400, "field input is required", code="invalid_request")
    if len(text) > MAX_SPEECH_INPUT:
        raise LocalError(400, f"input is longer than {MAX_SPEECH_INPUT} characters", code="text_too_long")
    return SpeechRelay(caller, inbound).run()


def relay_transcription(mode: RelayMode) -> Response:
    caller = authenticate(request.headers.get("Authorization", ""))
    # Keep the raw multipart body before the form is parsed: it is forwarded upstream byte for byte.
    request.get_data(cache=True)
    if "file" not in request.files:
        raise LocalError(400, "a multipart field `file` is required", code="invalid_request")
    model = request.form.get("model") or DEFAULT_MODELS[mode]
    response_format = request.form.get("response_format") or "json"
    if response_format not in TRANSCRIPT_FORMATS:
        raise LocalError(400, f"response_format must be one of {', '.join(TRANSCRIPT_FORMATS)}",
                         code="unexpected_response_format")
    check_model_allowed(caller, model)
    inbound = Inbound(mode, {"model": model, "response_format": response_format}, model, False, 0, False)
    return TranscriptionRelay(caller, inbound).run()


class ImageRelay(JsonRelay):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        body = self.inbound.body
        self.size = body.get("size") or "1024x1024"
        self.quality = body.get("quality") or "standard"
        self.n = 1 if body.get("n") is None else body["n"]
        if not isinstance(self.size, str) or not isinstance(self.quality, str):
            raise LocalError(400, "size and quality must be strings", code="invalid_request")
        if isinstance(self.n, bool) or not isinstance(self.n, int):
            # A silently assumed n=1 would bill one image for a request that asked for several.
            raise LocalError(400, "n must be an integer", code="n_not_within_range")
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            raise LocalError(400, "prompt is required", code="prompt_missing")
        try:
            billing.check_image_request(self.inbound.model, self.size, self.n, prompt)
        except billing.ImageRequestError as exc:
            raise LocalError(400, str(exc), code=exc.code) from None

    def reservation(self, attempt: Attempt) -> int:
        price = attempt.price
        return billing.image_quota(attempt.ctx.model, self.size, self.quality, self.n, price.model_ratio,
                                   price.group_ratio)

    def cost(self, attempt: Attempt, usage: Usage) -> int:
        return self.reservation(attempt)

    def describe(self, attempt: Attempt, usage: Usage, stream_end: str) -> str:
        return f"倍率：{attempt.price.model_ratio:.2f} × {attempt.price.group_ratio:.2f}，{self.n} × {self.size}"

    def answer(self, attempt: Attempt, response: requests.Response) -> Response:
        """The adaptor's OpenAI images answer (OpenAI's own passes byte for byte); charged only once
        the answer is read as one, so an asynchronous task that failed costs nothing."""
        raw = response.content
        try:
            parsed = json.loads(raw)
        except ValueError:
            raise UpstreamError(502, "upstream answered invalid JSON", code="unmarshal_response_body_failed",
                                connection=True) from None
        converted, _usage = attempt.adaptor.convert_response(parsed, attempt.ctx)
        if self.inbound.body.get("response_format") == "b64_json" and attempt.adaptor.image_urls_only:
            converted = self._inlined(converted)
        payload = raw if converted is parsed else json.dumps(converted, ensure_ascii=False).encode()
        self.settle(attempt, Usage(0, 0), stream_end="")
        return Response(attempt.scrub.mask(payload, error=False), status=response.status_code,
                        mimetype="application/json")


    def _inlined(self, answer: dict[str, Any]) -> dict[str, Any]:
        """`b64_json` asked of a provider that answers image URLs (Ali, Zhipu, Replicate): the images
        are fetched here and sent inline, as One API did for Ali and Replicate; an image that cannot
        be fetched fails the request (and nothing is charged)."""
        items = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(items, list) or not any(isinstance(i, dict) and i.get("url") and not i.get("b64_json")
                                                  for i in items):
            return answer
        inlined = []
        for item in items:
            if isinstance(item, dict) and item.get("url") and not item.get("b64_json"):
                rest = {k: v for k, v in item.items() if k != "url"}
                item = {"b64_json": base64.b64encode(self._image_bytes(str(item["url"]))).decode(), **rest}
            inlined.append(item)
        return {**answer, "data": inlined}

    def _image_bytes(self, url: str) -> bytes:
        if not url.startswith(("http://", "https://")):
            raise UpstreamError(502, "the provider answered an image URL that cannot be fetched")
        response = send(self.config, "GET", url, stream=True)
        with response:
            if response.status_code != 200:
                raise UpstreamError(502, f"the provider's image could not be fetched (status {response.status_code})")
            data, size = [], 0
            for chunk in response.iter_content(chunk_size=65536):
                size += len(chunk)
                if size > MAX_IMAGE_BYTES:
                    raise UpstreamError(502, "the provider's image is larger than the gateway accepts")
                data.append(chunk)
        return b"".join(data)


class SpeechRelay(JsonRelay):
    """Audio bytes are passed through as the upstream sends them, chunk by chunk, whatever `stream`
    the client set (speech is not an SSE stream of chat chunks); the speech is charged per character
    once the upstream accepted the request."""

    streams_bytes = True

    def upstream_body(self, attempt: Attempt) -> dict[str, Any]:
        body = super().upstream_body(attempt)
        body.pop("stream", None)
        body.pop("stream_options", None)
        return body

    def reservation(self, attempt: Attempt) -> int:
        return billing.tts_quota(self.inbound.body["input"], attempt.price.ratio)

    def cost(self, attempt: Attempt, usage: Usage) -> int:
        return self.reservation(attempt)

    def describe(self, attempt: Attempt, usage: Usage, stream_end: str) -> str:
        characters = len(self.inbound.body["input"])
        return f"倍率：{attempt.price.model_ratio:.2f} × {attempt.price.group_ratio:.2f}，{characters} 字符"

    def answer(self, attempt: Attempt, response: requests.Response) -> Response:
        self.settle(attempt, Usage(len(self.inbound.body["input"]), 0), stream_end="")
        return Response(_passed_through(response), status=response.status_code,
                        content_type=response.headers.get("Content-Type", "audio/mpeg"))


class TranscriptionRelay(JsonRelay):
    """The client's multipart form goes upstream unchanged; the transcript's tokens set the price."""

    def reservation(self, attempt: Attempt) -> int:
        return billing.pre_consume_quota(options.get_int("PreConsumedQuota"), 0, 0, attempt.price.ratio)

    def cost(self, attempt: Attempt, usage: Usage) -> int:
        return billing.transcription_quota(usage.completion_tokens, attempt.price.model_ratio,
                                           attempt.price.group_ratio)

    def encode(self, body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        return request.get_data(cache=True), {"Content-Type": request.content_type or ""}

    def upstream_body(self, attempt: Attempt) -> dict[str, Any]:
        return {}

    def answer(self, attempt: Attempt, response: requests.Response) -> Response:
        raw = response.content
        text = transcript_text(raw, self.inbound.body["response_format"])
        if text is None:
            raise UpstreamError(502, "upstream answered an unreadable transcript", code="get_text_from_body_err")
        self.settle(attempt, Usage(0, count_text(text), "counted"), stream_end="")
        return Response(raw, status=response.status_code,
                        content_type=response.headers.get("Content-Type", "application/json"))


def _passed_through(response: requests.Response) -> Iterator[bytes]:
    try:
        yield from response.iter_content(chunk_size=None)
    finally:
        response.close()


def transcript_text(raw: bytes, response_format: str) -> str | None:
    """The spoken text of a transcription answer in any of OpenAI's formats."""
    body = raw.decode("utf-8", errors="replace")
    if response_format in ("json", "verbose_json"):
        try:
            parsed = json.loads(body)
        except ValueError:
            return None
        return parsed.get("text") if isinstance(parsed, dict) and isinstance(parsed.get("text"), str) else None
    if response_format in ("srt", "vtt"):
        return "\n".join(line.strip() for line in body.splitlines() if _is_caption_text(line))
    return body.strip()


def _is_caption_text(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and "-->" not in stripped and not stripped.isdigit() and stripped != "WEBVTT"
