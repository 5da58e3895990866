"""OpenAI and every OpenAI-compatible channel type (One API's types served by its OpenAI adaptor)
through a live gateway: the official SDK's chat and stream reach each vendor's own path with its
auth header, and are billed from the usage the vendor reports.

The expected paths are written here from One API's URL rules (§7.1), not read from our registry."""

from __future__ import annotations

import json
import time

import pytest
from flask import Flask, Response, request

from tests.providers.conftest import expected_quota
from tests.upstreams.server import serve

KEY = "sk-vendor-key"
MODEL = "gpt-4o-mini"
HI = [{"role": "user", "content": "hello there"}]
WORDS = ["Hello", " from", " the", " vendor"]
PROMPT, COMPLETION = 9, len(WORDS)
CHAT = "/v1/chat/completions"
# type → (base URL suffix the admin enters, path the vendor must be called on)
PATHS = {
    0: ("", CHAT), 1: ("", CHAT), 2: ("", CHAT), 4: ("", CHAT), 5: ("", CHAT), 6: ("", CHAT), 7: ("", CHAT),
    8: ("", CHAT), 9: ("", CHAT), 10: ("", CHAT), 12: ("", CHAT), 13: ("", CHAT), 19: ("", CHAT), 20: ("", CHAT),
    22: ("", CHAT), 25: ("", CHAT), 26: ("", CHAT), 27: ("", "/v1/text/chatcompletion_v2"), 28: ("", CHAT),
    29: ("", CHAT), 31: ("", CHAT), 32: ("", CHAT), 36: ("", CHAT), 39: ("", CHAT),
    40: ("", "/api/v3/chat/completions"), 41: ("/v3/openai", "/v3/openai/chat/completions"), 44: ("", CHAT),
    45: ("", CHAT), 47: ("", "/v2/chat/completions"), 48: ("", CHAT),
    49: ("", "/compatible-mode/v1/chat/completions"), 50: ("/v1", CHAT),
    51: ("/v1beta/openai", "/v1beta/openai/chat/completions"),
    3: ("", "/openai/deployments/gpt-4o-mini/chat/completions"),
}


def vendor_app() -> Flask:
    app = Flask("mock-vendor")
    app.config["REQUESTS"] = []

    @app.post("/<path:path>")
    def chat(path: str) -> Response:
        body = request.get_json(silent=True)
        app.config["REQUESTS"].append({"path": "/" + path, "query": dict(request.args),
                                       "headers": {k.lower(): v for k, v in request.headers.items()}, "body": body})
        azure = path.startswith("openai/deployments/")
        authorized = (request.headers.get("api-key") == KEY if azure
                      else request.headers.get("Authorization") == f"Bearer {KEY}")
        if not authorized:
            return Response(json.dumps({"error": {"message": "Incorrect API key provided", "type":
                            "invalid_request_error", "code": "invalid_api_key"}}), 401, content_type="application/json")
        if not isinstance(body, dict) or not body.get("messages") or (not azure and not body.get("model")):
            return Response(json.dumps({"error": {"message": "messages and model are required", "type":
                            "invalid_request_error"}}), 400, content_type="application/json")
        usage = {"prompt_tokens": PROMPT, "completion_tokens": COMPLETION, "total_tokens": PROMPT + COMPLETION}
        if body.get("stream"):
            return Response(stream(body, usage), content_type="text/event-stream")
        return Response(json.dumps({
            "id": "chatcmpl-vendor", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(WORDS)},
                         "finish_reason": "stop"}], "usage": usage}), content_type="application/json")

    return app


def stream(body: dict, usage: dict):
    base = {"id": "chatcmpl-vendor", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": body.get("model")}
    for i, word in enumerate(WORDS):
        delta = {"role": "assistant", "content": word} if i == 0 else {"content": word}
        yield f"data: {json.dumps({**base, 'choices': [{'index': 0, 'delta': delta, 'finish_reason': None}]})}\n\n"
    yield f"data: {json.dumps({**base, 'choices': [{'index': 0, 'delta': {}, 'finish_reason': 'stop'}]})}\n\n"
    if (body.get("stream_options") or {}).get("include_usage"):
        yield f"data: {json.dumps({**base, 'choices': [], 'usage': usage})}\n\n"
    yield "data: [DONE]\n\n"


@pytest.fixture(scope="module")
def vendor():
    app = vendor_app()
    with serve(app) as base:
        yield app, base


@pytest.mark.parametrize("channel_type", sorted(PATHS))
def test_each_openai_compatible_type_chats_and_streams_on_its_own_path(gateway, vendor, channel_type):
    app, base = vendor
    suffix, path = PATHS[channel_type]
    channel = gateway.add_channel(type=channel_type, key=KEY, base_url=base + suffix, models=[MODEL],
                                  other="2024-10-21" if channel_type == 3 else "")
    client = gateway.sdk(channel)

    answer = client.chat.completions.create(model=MODEL, messages=HI)
    sent = app.config["REQUESTS"][-1]
    assert sent["path"] == path
    assert answer.choices[0].message.content == "".join(WORDS)
    if channel_type == 3:
        assert sent["query"] == {"api-version": "2024-10-21"} and "authorization" not in sent["headers"]
    if channel_type == 20:
        assert sent["headers"]["x-title"] == "One API" and sent["headers"]["http-referer"]
    row = gateway.last_log(channel)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (PROMPT, COMPLETION)
    assert row["quota"] == expected_quota(MODEL, channel_type, PROMPT, COMPLETION)

    chunks = list(client.chat.completions.create(model=MODEL, messages=HI, stream=True,
                                                 stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "".join(WORDS)
    assert chunks[-1].usage.completion_tokens == COMPLETION
    assert app.config["REQUESTS"][-1]["path"] == path and app.config["REQUESTS"][-1]["body"]["stream"] is True
    row = gateway.last_log(channel)
    assert row["is_stream"] and row["quota"] == expected_quota(MODEL, channel_type, PROMPT, COMPLETION)
