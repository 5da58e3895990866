"""Lone surrogates (`"\\ud800"` in JSON, or its raw UTF-8 bytes) anywhere in a body are refused when the
body is parsed, with a 400 in the caller's format: never a server error later, when the database, the
log or the upstream request fails to encode them. A non-object `stream_options` is refused the same way."""

from __future__ import annotations

import json

import pytest

from tests import factories

LONE = "\ud800"
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def token(app):
    return factories.make_token(factories.make_user("payer", quota=1_000_000), remain_quota=500_000)


@pytest.fixture
def relay(client, upstream, token):
    """POST a raw body to a relay route with a valid key and a channel to the mock upstream."""
    ch = factories.make_channel(base_url=upstream[1], models="gpt-4o,text-embedding-3-small,dall-e-2")

    def post(path: str, body: bytes):
        return client.post(path, data=body, content_type="application/json",
                           headers={"Authorization": f"Bearer sk-{token.key}"})
    post.channel = ch
    return post


def escaped(value) -> bytes:
    """JSON as Python's encoder writes it by default (the OpenAI SDK's): non-ASCII as \\u escapes."""
    return json.dumps(value).encode()


def with_raw_surrogate(value) -> bytes:
    """JSON with the surrogate written as raw UTF-8 bytes (ED A0 80), which Python's json accepts."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def nested(value, depth: int = 40):
    for _ in range(depth):
        value = {"a": [value]}
    return value


RELAY_CASES = {
    "model": ("/v1/chat/completions", {**CHAT, "model": LONE}),
    "content": ("/v1/chat/completions", {**CHAT, "messages": [{"role": "user", "content": f"hi {LONE}"}]}),
    "low-surrogate": ("/v1/chat/completions", {**CHAT, "messages": [{"role": "user", "content": "\udc00 x"}]}),
    "reversed-pair": ("/v1/chat/completions", {**CHAT, "messages": [{"role": "user", "content": "\ude00\ud83d"}]}),
    "role": ("/v1/chat/completions", {**CHAT, "messages": [{"role": LONE, "content": "hi"}]}),
    "content-part": ("/v1/chat/completions", {**CHAT, "messages": [{"role": "user", "content": [
        {"type": "text", "text": LONE}]}]}),
    "name": ("/v1/chat/completions", {**CHAT, "messages": [{"role": "user", "content": "hi", "name": LONE}]}),
    "nested-key": ("/v1/chat/completions", {**CHAT, "metadata": {LONE: "x"}}),
    "message-key": ("/v1/chat/completions", {**CHAT, "messages": [{"role": "user", "content": "hi", LONE: 1}]}),
    "deep": ("/v1/chat/completions", {**CHAT, "tools": [nested(LONE)]}),
    "user": ("/v1/chat/completions", {**CHAT, "user": LONE}),
    "stop-list": ("/v1/chat/completions", {**CHAT, "stop": ["x", LONE]}),
    "embedding-input": ("/v1/embeddings", {"model": "text-embedding-3-small", "input": ["ok", LONE]}),
    "completion-prompt": ("/v1/completions", {"model": "gpt-4o", "prompt": LONE}),
    "moderation": ("/v1/moderations", {"input": LONE}),
    "image-prompt": ("/v1/images/generations", {"model": "dall-e-2", "prompt": LONE}),
    "speech-input": ("/v1/audio/speech", {"model": "tts-1", "input": LONE, "voice": "alloy"}),
    "engine-embeddings": ("/v1/engines/text-embedding-3-small/embeddings", {"input": LONE}),
}


@pytest.mark.parametrize("encode", [escaped, with_raw_surrogate], ids=["escaped", "raw-bytes"])
@pytest.mark.parametrize("case", RELAY_CASES)
def test_a_lone_surrogate_on_the_relay_is_a_400(relay, upstream_app, case, encode):
    path, body = RELAY_CASES[case]
    answer = relay(path, encode(body))
    assert answer.status_code == 400, answer.get_data(as_text=True)
    error = answer.json["error"]
    assert error["code"] == "invalid_text_request" and "lone surrogate" in error["message"]
    assert upstream_app.config["REQUESTS"] == [], "nothing went upstream"


def test_the_refusal_names_where_the_surrogate_is(relay):
    answer = relay("/v1/chat/completions", escaped({**CHAT, "messages": [CHAT["messages"][0], {
        "role": "user", "content": [{"type": "text", "text": "ok"}, {"type": "text", "text": LONE}]}]}))
    assert "field messages[1].content[1].text " in answer.json["error"]["message"]
    answer = relay("/v1/chat/completions", escaped({**CHAT, "metadata": {f"k{LONE}": 1}}))
    assert "metadata.k\\ud800" in answer.json["error"]["message"]


@pytest.mark.parametrize("text", ["\U0001F600 emoji", "한국어", "中文", "\ud7ff edge of Hangul", "plain"])
@pytest.mark.parametrize("encode", [escaped, with_raw_surrogate], ids=["escaped", "raw-bytes"])
def test_valid_unicode_goes_through(relay, text, encode):
    answer = relay("/v1/chat/completions", encode({**CHAT, "messages": [{"role": "user", "content": text}]}))
    assert answer.status_code == 200, answer.json


def test_a_proxy_request_with_a_lone_surrogate_is_a_400(relay):
    answer = relay(f"/v1/oneapi/proxy/{relay.channel.id}/v1/chat/completions", escaped({**CHAT, "user": LONE}))
    assert answer.status_code == 400 and "lone surrogate" in answer.json["error"]["message"]


@pytest.mark.parametrize("options", ["include_usage", ["include_usage"], 1, True])
@pytest.mark.parametrize("stream", [True, False])
def test_a_stream_options_that_is_not_an_object_is_a_400(relay, upstream_app, options, stream):
    answer = relay("/v1/chat/completions", escaped({**CHAT, "stream": stream, "stream_options": options}))
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert answer.json["error"]["code"] == "invalid_text_request"
    assert "stream_options" in answer.json["error"]["message"]
    assert upstream_app.config["REQUESTS"] == []


def test_a_null_or_object_stream_options_is_fine(relay):
    for options in (None, {}, {"include_usage": True}):
        answer = relay("/v1/chat/completions", escaped({**CHAT, "stream": True, "stream_options": options}))
        assert answer.status_code == 200


# --- /api -------------------------------------------------------------------------------------------

def api_cases(channel_id: int) -> dict[str, tuple[str, str, object]]:
    return {
        "login-username": ("POST", "/api/user/login", {"username": LONE, "password": "x"}),
        "register-username": ("POST", "/api/user/register", {"username": f"a{LONE}", "password": "password123"}),
        "token-name": ("POST", "/api/token/", {"name": LONE, "remain_quota": 1}),
        "token-nested-key": ("POST", "/api/token/", {"name": "ok", "extra": {LONE: 1}}),
        "self-display-name": ("PUT", "/api/user/self", {"display_name": LONE}),
        "option-value": ("PUT", "/api/option/", {"key": "SystemName", "value": LONE}),
        "option-key": ("PUT", "/api/option/", {"key": LONE, "value": "x"}),
        "option-json-value": ("PUT", "/api/option/", {"key": "ModelRatio", "value": json.dumps({LONE: 1},
                                                                                                ensure_ascii=False)}),
        "ratio-in-json-text": ("PUT", "/api/option/", {"key": "GroupRatio", "value": '{"default": 1, "\\ud800": 1}'}),
        "channel-name": ("POST", "/api/channel/", {"key": "sk-x", "name": LONE, "models": "gpt-4o"}),
        "channel-key": ("POST", "/api/channel/", {"key": LONE, "name": "c", "models": "gpt-4o"}),
        "channel-models": ("PUT", "/api/channel/", {"id": channel_id, "models": f"gpt-4o,{LONE}"}),
        "channel-mapping-in-json-text": ("PUT", "/api/channel/", {"id": channel_id,
                                                                  "model_mapping": '{"gpt-4o": "\\ud800"}'}),
        "channel-config-in-json-text": ("PUT", "/api/channel/", {"id": channel_id, "config": '{"region": "\\udfff"}'}),
        "redemption-name": ("POST", "/api/redemption/", {"name": LONE, "count": 1, "quota": 1}),
        "user-create": ("POST", "/api/user/", {"username": "u1", "password": "password123", "display_name": LONE}),
        "deep": ("PUT", "/api/option/", nested({"key": LONE})),
    }


@pytest.mark.parametrize("encode", [escaped, with_raw_surrogate], ids=["escaped", "raw-bytes"])
@pytest.mark.parametrize("case", list(api_cases(0)))
def test_a_lone_surrogate_on_the_api_is_refused_in_the_envelope(app, root_client, case, encode):
    ch = factories.make_channel(base_url="http://127.0.0.1:9")
    method, path, body = api_cases(ch.id)[case]
    answer = root_client.open(path, method=method, data=encode(body), content_type="application/json")
    assert answer.status_code < 500, answer.get_data(as_text=True)
    assert answer.json["success"] is False, answer.json
    assert answer.json["message"], answer.json


def test_the_api_refusal_names_the_field(root_client):
    answer = root_client.post("/api/token/", data=escaped({"name": LONE}), content_type="application/json")
    assert answer.json == {"success": False, "message": "字段 name 包含无效字符"}


def test_a_refused_ratio_leaves_the_pages_that_show_it_working(root_client):
    answer = root_client.put("/api/option/", json={"key": "GroupRatio", "value": '{"default": 1, "\\ud800": 1}'})
    assert answer.json["success"] is False
    assert root_client.get("/api/group/").status_code == 200
    assert root_client.get("/channel/add").status_code == 200
