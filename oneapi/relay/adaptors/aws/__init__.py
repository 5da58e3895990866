"""AWS Bedrock (channel type 33): Claude and Llama 3 through Bedrock Runtime's InvokeModel API, signed
with SigV4 by hand (no AWS SDK).

Wire facts (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModel.html,
API_runtime_InvokeModelWithResponseStream.html, API_runtime_ResponseStream.html, CommonErrors.html):
- `POST {endpoint}/model/{modelId}/invoke` answers the model's own JSON; `POST {endpoint}/model/{modelId}/
  invoke-with-response-stream` answers `application/vnd.amazon.eventstream` (see `relay.eventstream`).
  The model id is one path segment, URI-encoded (`:` → `%3A`, an ARN's `/` → `%2F`). The endpoint is
  `https://bedrock-runtime.{region}.amazonaws.com`.
- Requests are signed with SigV4, service `bedrock`, region of the channel (`aws/sigv4.py`); the canonical
  URI encodes the sent path once more (`%3A` is signed as `%253A`). We sign every header we send:
  `content-type`, `accept` (`x-amzn-bedrock-accept` for streams), `host`, `x-amz-date`,
  `x-amz-content-sha256` (and `x-amz-security-token` for temporary keys).
- Stream messages are events `chunk` with payload `{"bytes": "<base64 of the model's stream event>"}`, or
  exceptions (`:message-type` exception, `:exception-type` internalServerException 500,
  modelStreamErrorException 424, modelTimeoutException 408, serviceUnavailableException 503,
  throttlingException 429, validationException 400) with payload `{"message": ...}`.
- Errors outside a stream are `{"message": "..."}` with the status; the exception name travels in the
  `x-amzn-ErrorType` header (ValidationException 400, AccessDeniedException 403, ResourceNotFoundException
  404, ModelTimeoutException 408, ModelErrorException 424, ThrottlingException 429, ServiceQuota…
  400, InternalServerException 500, ServiceUnavailableException 503; a bad signature is 403
  InvalidSignatureException, an unknown key 403 UnrecognizedClientException). Some front ends put
  `__type` in the body. `convert_error` sees no headers: the name is the body's `__type`, else told
  from AWS's fixed authentication messages, else the status's usual exception.
- Claude takes the Anthropic Messages body without `model` and `stream`, with `anthropic_version:
  bedrock-2023-05-31` (and beta flags as `anthropic_beta: [...]`); it answers Anthropic's JSON and,
  base64-wrapped, Anthropic's stream events. Llama 3: see `aws/llama.py`.

Where we differ from One API (which used the AWS SDK for Go):
- The endpoint is the channel's base URL when it has one (a VPC endpoint, a mirror, our tests), else the
  server's `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`/`AWS_ENDPOINT_URL` (`config["aws_endpoint_url"]`), else
  the regional host. Credentials come from the config (`ak`, `sk`, `region`, optional `session_token`),
  else from a key `ak|sk|region` (the form One API's UI stored).
- Upstream errors keep Bedrock's status and message (One API answered every SDK error as 500); the type
  is `aws_error` and the code the exception name.
- Model names that already are Bedrock ids (`anthropic.…`, inference profiles `us.anthropic.…`,
  `global.anthropic.…`, `meta.llama3-…`) are sent as they are; One API refused every name outside its table.
  Current Claude models are in the table. Newer Claude models are served on demand only through
  inference profiles: map the name to `us.anthropic.…` in the channel's model mapping.
- Claude: `metadata` (from `user`) is not sent (Bedrock refuses it); a client's `anthropic-beta` header
  becomes `anthropic_beta`. The Anthropic translation is the Anthropic adaptor's, so its differences from
  One API (all text blocks, thinking, stop sequences, one id per stream …) apply here too; image URLs are
  passed as URL sources, which Bedrock refuses (we do no I/O to download them).
- Streams keep one id and carry finish reasons (One API: the Anthropic stream's habits); a client that
  asks for usage gets it in a last chunk under the stream's id.
- Llama 3: the template is Meta's (a blank line after each header; One API wrote none, which the model
  card does not describe), `max_gen_len` is capped at Bedrock's 2048, and usage is Bedrock's counts.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar
from urllib.parse import quote

from oneapi.relay.adaptors import register
from oneapi.relay.adaptors.anthropic import AnthropicAdaptor, StreamTranslator
from oneapi.relay.adaptors.aws import llama, models, sigv4
from oneapi.relay.adaptors.base import Adaptor, Call, openai_style_error
from oneapi.relay.channeltypes import ChannelType, ConfigField, Text, TypeSpec
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import LocalError, UpstreamError
from oneapi.relay.modes import RelayMode as M
from oneapi.relay.sse import SSEEvent
from oneapi.relay.usage import StreamState, Usage

BEDROCK_VERSION = "bedrock-2023-05-31"
SERVICE = "bedrock"
EVENTSTREAM = "application/vnd.amazon.eventstream"
MODELS = models.MODELS

# Exception names (as in `x-amzn-ErrorType` and stream exceptions) and the status each has.
ERROR_STATUS = {
    "ValidationException": 400, "ServiceQuotaExceededException": 400, "AccessDeniedException": 403,
    "UnrecognizedClientException": 403, "InvalidSignatureException": 403, "ResourceNotFoundException": 404,
    "ModelTimeoutException": 408, "ModelErrorException": 424, "ModelStreamErrorException": 424,
    "ModelNotReadyException": 429, "ThrottlingException": 429, "InternalServerException": 500,
    "ServiceUnavailableException": 503,
}
# `convert_error` sees no headers, so the 403s AWS's front end answers are told apart by their messages.
MESSAGE_ERRORS = (
    ("signature we calculated does not match", "InvalidSignatureException"),
    ("Signature expired", "InvalidSignatureException"),
    ("Credential should be scoped", "InvalidSignatureException"),
    ("security token included in the request is invalid", "UnrecognizedClientException"),
    ("Missing Authentication Token", "MissingAuthenticationTokenException"),
)
STATUS_ERRORS = {400: "ValidationException", 403: "AccessDeniedException", 404: "ResourceNotFoundException",
                 408: "ModelTimeoutException", 424: "ModelErrorException", 429: "ThrottlingException",
                 500: "InternalServerException", 503: "ServiceUnavailableException"}

ANTHROPIC = AnthropicAdaptor()

SPEC = TypeSpec(
    ChannelType.AWS_CLAUDE, Text("AWS", "AWS"), frozenset({M.CHAT}),
    models=MODELS, owner="aws",
    key_input=False, key_from=("ak", "sk", "region"),
    key_format="AccessKeyId|SecretAccessKey|Region",
    config=(ConfigField("region", Text("区域", "Region"), placeholder="us-west-2"),
            ConfigField("ak", Text("Access Key ID", "Access key ID")),
            ConfigField("sk", Text("Secret Access Key", "Secret access key"), secret=True)),
    notice=Text("Claude 4 及更新的模型需通过推理配置文件（如 us.anthropic.…）调用，可在模型重定向中设置。",
                "Claude 4 and later models are served on demand through inference profiles (us.anthropic.…): "
                "map the model name to one in the model mapping."),
)


@register(SPEC)
class AwsAdaptor(Adaptor):
    key: ClassVar[str] = "aws"
    stream_format: ClassVar[str] = "eventstream"

    def request_url(self, ctx: RelayContext) -> str:
        credentials_and_region(ctx)  # a channel without credentials fails before anything is sent
        action = "invoke-with-response-stream" if ctx.stream else "invoke"
        return f"{endpoint(ctx)}/model/{quote(models.model_id(ctx.model), safe='')}/{action}"

    def request_headers(self, ctx: RelayContext) -> dict[str, str]:
        if ctx.stream:
            return {"Content-Type": "application/json", "Accept": EVENTSTREAM,
                    "X-Amzn-Bedrock-Accept": "application/json"}
        return {"Content-Type": "application/json", "Accept": "application/json"}

    def sign(self, ctx: RelayContext, call: Call, now: float) -> Call:
        credentials, region = credentials_and_region(ctx)
        headers = sigv4.signed_headers(call.method, call.url, call.headers, call.body, credentials, region,
                                       SERVICE, now)
        return dataclasses.replace(call, headers=headers)

    def convert_request(self, body: dict[str, Any], ctx: RelayContext) -> dict[str, Any]:
        kind = family(ctx)
        if kind == models.LLAMA:
            return llama.request(body)
        out = ANTHROPIC.convert_request(body, ctx)
        for name in ("model", "stream", "metadata"):
            out.pop(name, None)
        beta = [flag.strip() for flag in (ctx.headers.get("anthropic-beta") or "").split(",") if flag.strip()]
        if beta:
            out["anthropic_beta"] = beta
        return {"anthropic_version": BEDROCK_VERSION, **out}

    def convert_response(self, body: dict[str, Any], ctx: RelayContext) -> tuple[dict[str, Any], Usage | None]:
        if family(ctx) == models.LLAMA:
            return llama.completion(body, ctx.model)
        return ANTHROPIC.convert_response(body, ctx)

    def convert_stream(self, events: Iterable[SSEEvent], ctx: RelayContext,
                       state: StreamState) -> Iterator[dict[str, Any] | bytes]:
        if family(ctx) == models.LLAMA:
            yield from llama.chunks((payload for _, payload in chunk_payloads(events)), ctx.model, state,
                                    ctx.client_wants_usage)
            return
        translator = StreamTranslator(ctx, state)
        for text, payload in chunk_payloads(events):
            yield from translator.feed(SSEEvent(str(payload.get("type") or "message"), text))
        if ctx.client_wants_usage and state.usage is not None:
            # Under the stream's own id, rather than the pipeline's generic usage chunk.
            state.usage_forwarded = True
            yield {"id": translator.id, "object": "chat.completion.chunk", "created": translator.created,
                   "model": translator.model, "choices": [], "usage": state.usage.as_openai()}

    def convert_error(self, status: int, body: bytes, ctx: RelayContext) -> UpstreamError:
        try:
            parsed = json.loads(body) if body.strip() else None
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            message = parsed.get("message") or parsed.get("Message")
            if isinstance(message, str) and message:
                name = exception_name(str(parsed.get("__type") or parsed.get("code") or "")) or next(
                    (name for words, name in MESSAGE_ERRORS if words in message), "") or STATUS_ERRORS.get(
                    status, "bad_response_status_code")
                return UpstreamError(status, message, "aws_error", name)
        return openai_style_error(status, body)

    def models(self) -> list[str]:
        return list(MODELS)


def family(ctx: RelayContext) -> str:
    kind = models.family(ctx.model)
    if not kind:
        raise LocalError(400, f"model {ctx.model} is not served by AWS Bedrock channels (Claude and Llama 3 "
                              "models only)", code="model_not_supported")
    return kind


def endpoint(ctx: RelayContext) -> str:
    if ctx.base_url:
        return ctx.base_url.rstrip("/")
    configured = str(ctx.config.get("aws_endpoint_url") or "").rstrip("/")
    if configured:
        return configured
    _, region = credentials_and_region(ctx)
    return f"https://bedrock-runtime.{region}.amazonaws.com"


def credentials_and_region(ctx: RelayContext) -> tuple[sigv4.Credentials, str]:
    """`ak`, `sk`, `region` from the config, each missing one from the key `ak|sk|region`."""
    parts = [part.strip() for part in (ctx.key or "").split("|")]
    from_key = dict(zip(("ak", "sk", "region"), parts[:3], strict=True)) if len(parts) >= 3 else {}
    values = {name: str(ctx.config.get(name) or from_key.get(name) or "").strip() for name in ("ak", "sk", "region")}
    if not all(values.values()):
        missing = ", ".join(name for name, value in values.items() if not value)
        raise UpstreamError(500, f"the AWS channel lacks {missing}: set region, ak and sk in its config",
                            "aws_error", "invalid_aws_credentials")
    token = str(ctx.config.get("session_token") or "").strip()
    return sigv4.Credentials(values["ak"], values["sk"], token), values["region"]


def exception_name(raw: str) -> str:
    """`ThrottlingException` from `throttlingException`, `com.amazon.coral#ThrottlingException` or
    `ThrottlingException:http://internal.amazon.com/...`."""
    name = raw.split(":", 1)[0].rsplit("#", 1)[-1].strip()
    return name[:1].upper() + name[1:]


def stream_exception(event: SSEEvent) -> UpstreamError:
    name = exception_name(event.event.removeprefix("exception:"))
    try:
        detail = json.loads(event.data)
    except ValueError:
        detail = None
    message = detail.get("message") or detail.get("Message") if isinstance(detail, dict) else None
    return UpstreamError(ERROR_STATUS.get(name, 500), str(message or event.data or name), "aws_error",
                         name or "stream_exception")


def chunk_payloads(events: Iterable[SSEEvent]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The model's stream events inside Bedrock's `chunk` events (text and parsed JSON); an exception
    message raises."""
    for event in events:
        if event.event.startswith("exception:"):
            raise stream_exception(event)
        if event.event != "chunk":
            continue
        try:
            wrapper = json.loads(event.data)
            text = base64.b64decode(wrapper["bytes"], validate=True).decode("utf-8")
            payload = json.loads(text)
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise UpstreamError(502, f"unreadable Bedrock stream chunk ({exc})", "aws_error",
                                "bad_stream_chunk") from exc
        if isinstance(payload, dict):
            yield text, payload
