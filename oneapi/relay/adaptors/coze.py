"""Coze (channel type 34): OpenAI chat completions answered by a published Coze bot, over Coze's v2
chat API (the one One API speaks).

Wire facts (https://www.coze.com/docs/developer_guides/coze_api_overview, the v2 `chat` reference):
- `POST {base}/open_api/v2/chat` with `Authorization: Bearer <personal access token>`; the body is
  `{bot_id, user, query, chat_history, stream, conversation_id?, custom_variables?}`: `bot_id` and
  `user` (the caller's own id for the conversation) and `query` are required; `chat_history` messages
  are `{role: user|assistant, type: query|answer, content, content_type: text}`.
- Non-stream answer: `{conversation_id, messages: [{role, type, content, content_type}], code: 0,
  msg: "success"}`; the bot's reply is the `answer` messages (besides `follow_up` suggestions,
  `verbose`, `function_call` and `tool_response` messages). A failure is `{code: <non-zero>, msg}`,
  often with HTTP 200.
- Stream: SSE `data:` events whose JSON has `event`: `message` (`{message, is_finish, index,
  conversation_id, seq_id}`, the `answer` content incremental), then `done`; `error` carries
  `error_information: {code, msg}`.
- Coze reports no token counts: usage is counted locally (the pipeline does, as One API did).

Where we differ from One API, and why:
- `query` is the last *user* message and `chat_history` every message before it (One API took the
  last message whatever its role); history messages get `type` (query/answer) and `content_type:
  text`, as Coze documents, and roles other than assistant are sent as `user` (Coze knows only
  user and assistant).
- `user` is the channel's `user_id`, else the client's `user`, else `one-api-user-<user id>` (One API
  sent an empty `user` when the channel had none, which Coze refuses).
- Non-stream answers join every `answer` message (One API kept the first), as the stream does; the
  model is the client's and the id `chatcmpl-<request id>` (One API: the conversation id), the id the
  pipeline's own usage chunk has; a stream keeps that one id and `created`, puts the role on its first
  chunk and `finish_reason: stop` on its last (at `done`), and raises `error` events.
- Coze's failures (`code` ≠ 0) are raised as `coze_error` with Coze's code, keeping the HTTP status,
  or, when Coze answered 200, the status its code means (401 for token errors, else 400 or 500).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from oneapi.relay.adaptors import register
from oneapi.relay.adaptors.base import (
    STOP,
    Adaptor,
    ChunkStream,
    json_objects,
    now,
    openai_style_error,
    parse_json,
    text_of,
)
from oneapi.relay.channeltypes import ChannelType, ConfigField, Text, TypeSpec
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import UpstreamError
from oneapi.relay.modes import RelayMode as M
from oneapi.relay.sse import SSEEvent
from oneapi.relay.usage import StreamState, Usage

MODELS: tuple[str, ...] = ()

SPEC = TypeSpec(
    ChannelType.COZE, Text("Coze", "Coze"), frozenset({M.CHAT}),
    models=MODELS, owner="coze",
    base_url="https://api.coze.com",
    key_hint=Text("Coze 个人访问令牌", "Coze personal access token"),
    config=(ConfigField("user_id", Text("用户 ID", "User ID"),
                        hint=Text("创建该令牌的 Coze 用户的 ID。", "The ID of the Coze user who created the token.")),),
    notice=Text("Coze：模型名即 Bot ID，可加前缀 bot-，例如 bot-123456。",
                "Coze: the model name is the bot ID; you may prefix it with bot-, e.g. bot-123456."),
)

ERROR_TYPE = "coze_error"
AUTH_CODES = frozenset({4100, 4101, 700012006})
"""Coze's codes for a missing, wrong or expired access token."""


@register(SPEC)
class CozeAdaptor(Adaptor):
    key: ClassVar[str] = "coze"

    def request_url(self, ctx: RelayContext) -> str:
        return f"{ctx.base_url}/open_api/v2/chat"

    def convert_request(self, body: dict[str, Any], ctx: RelayContext) -> dict[str, Any]:
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=len(messages) - 1)
        history = [history_message(m) for m in messages[:max(last_user, 0)]]
        query = text_of(messages[last_user].get("content")) if messages else ""
        out: dict[str, Any] = {"bot_id": bot_id(ctx.model), "user": coze_user(body, ctx), "query": query,
                               "stream": ctx.stream}
        if history:
            out["chat_history"] = history
        return out

    def convert_response(self, body: dict[str, Any], ctx: RelayContext) -> tuple[dict[str, Any], Usage | None]:
        if body.get("code"):
            raise coze_error(body.get("code"), body.get("msg"), None)
        text = "".join(str(m.get("content") or "") for m in body.get("messages") or []
                       if isinstance(m, dict) and m.get("type") == "answer")
        completion = {
            "id": f"chatcmpl-{ctx.request_id}", "object": "chat.completion",
            "created": now(), "model": ctx.original_model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": STOP}],
        }
        return completion, None  # Coze reports no token counts: the pipeline counts them.

    def convert_stream(self, events: Iterable[SSEEvent], ctx: RelayContext,
                       state: StreamState) -> Iterator[dict[str, Any] | bytes]:
        return CozeStream(ctx, state).run(events)

    def convert_error(self, status: int, body: bytes, ctx: RelayContext) -> UpstreamError:
        parsed = parse_json(body)
        if isinstance(parsed, dict) and parsed.get("code") and parsed.get("msg"):
            return coze_error(parsed["code"], parsed["msg"], status)
        return openai_style_error(status, body)


def bot_id(model: str) -> str:
    return model.removeprefix("bot-")


def coze_user(body: dict[str, Any], ctx: RelayContext) -> str:
    user = ctx.config.get("user_id") or body.get("user")
    return str(user) if user else f"one-api-user-{ctx.user_id}"


def history_message(message: dict[str, Any]) -> dict[str, str]:
    assistant = message.get("role") == "assistant"
    return {"role": "assistant" if assistant else "user", "type": "answer" if assistant else "query",
            "content": text_of(message.get("content")), "content_type": "text"}


def coze_error(code: Any, message: Any, status: int | None) -> UpstreamError:
    """Coze's `{code, msg}`; `status` None when Coze answered 200 (or inside a stream)."""
    if status is None:
        status = code_status(code)
    return UpstreamError(status, str(message or f"Coze error {code}"), ERROR_TYPE, code)


def code_status(code: Any) -> int:
    try:
        number = int(code)
    except (TypeError, ValueError):
        return 500
    if number in AUTH_CODES:
        return 401
    return 400 if 4000 <= number < 5000 else 500


class CozeStream(ChunkStream):
    """Coze's `message` / `done` / `error` events → OpenAI chunks (only `answer` messages carry text)."""

    def __init__(self, ctx: RelayContext, state: StreamState) -> None:
        super().__init__(state, f"chatcmpl-{ctx.request_id}", ctx.original_model, now())
        self.ctx = ctx

    def run(self, events: Iterable[SSEEvent]) -> Iterator[dict[str, Any]]:
        for event, data in json_objects(events):
            kind = data.get("event") or event.event
            if kind == "error" or (data.get("code") and data.get("msg")):
                info = data.get("error_information") or data
                raise coze_error(info.get("code"), info.get("msg"), None)
            if kind == "message":
                message = data.get("message") or {}
                text = message.get("content")
                if message.get("type") == "answer" and isinstance(text, str) and text:
                    self.state.add_text(text)
                    yield self.chunk({"content": text})
            elif kind == "done":
                self.state.finish_reason = STOP
                yield self.chunk({}, STOP)
                return
