"""The mock Gemini server (tests/upstreams/gemini.py) accepts what Google accepts and refuses what it refuses."""

from __future__ import annotations

import json
import time

import pytest
import requests

from oneapi.relay.adaptors.gemini import GeminiAdaptor
from oneapi.relay.context import RelayContext
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import iter_events
from oneapi.relay.usage import StreamState
from tests.upstreams import gemini
from tests.upstreams.server import serve

KEY = "test-gemini-key"
HELLO = {"contents": [{"role": "user", "parts": [{"text": "Hello there"}]}]}


DEFAULTS = {"reply": "Hello! This is the mock Gemini speaking.", "chunks": 3, "chunk_delay": 0.0,
            "behaviour": None, "dimensions": 8}


@pytest.fixture(scope="module")
def server():
    # One server for the module (stopping one takes half a second); `upstream` resets it for each test.
    app = gemini.create_app(key=KEY, **DEFAULTS)
    with serve(app) as base:
        yield base, app


@pytest.fixture
def upstream(server):
    base, app = server
    gemini.configure(app, **DEFAULTS)
    app.config["REQUESTS"] = []
    return base, app


def post(base: str, path: str, body, key: str | None = KEY, **kwargs) -> requests.Response:
    headers = {"x-goog-api-key": key} if key else {}
    return requests.post(base + path, json=body, headers=headers, timeout=10, **kwargs)


def google_error(response: requests.Response) -> tuple[int, str, str]:
    error = response.json()["error"]
    assert error["code"] == response.status_code
    return response.status_code, error["status"], error["message"]


def test_generate_content_answers_json_with_usage_and_records_the_request(upstream):
    base, app = upstream
    response = post(base, "/v1beta/models/gemini-2.5-flash:generateContent", HELLO)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    candidate = body["candidates"][0]
    assert candidate["content"] == {"parts": [{"text": "Hello! This is the mock Gemini speaking."}], "role": "model"}
    assert candidate["finishReason"] == "STOP"
    usage = body["usageMetadata"]
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["candidatesTokenCount"] > 0
    recorded = app.config["REQUESTS"][-1]
    assert recorded["path"] == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert recorded["body"] == HELLO and recorded["headers"]["x-goog-api-key"] == KEY


def test_the_key_may_also_come_as_a_query_parameter(upstream):
    base, _ = upstream
    response = post(base, f"/v1/models/gemini-2.0-flash:generateContent?key={KEY}", HELLO, key=None)
    assert response.status_code == 200


def test_a_missing_key_is_403_and_a_wrong_one_400_api_key_invalid(upstream):
    base, _ = upstream
    missing = post(base, "/v1beta/models/gemini-2.5-flash:generateContent", HELLO, key=None)
    assert google_error(missing)[:2] == (403, "PERMISSION_DENIED")
    wrong = post(base, "/v1beta/models/gemini-2.5-flash:generateContent", HELLO, key="AIza-wrong")
    assert google_error(wrong) == (400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")
    assert wrong.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"


@pytest.mark.parametrize("path", ["/v2/models/gemini-2.5-flash:generateContent",
                                  "/v1beta/models/gemini-2.5-flash:generate",
                                  "/v1beta/models/gemini-2.5-flash",
                                  "/v1beta/chat/completions"])
def test_unknown_paths_are_404(upstream, path):
    base, _ = upstream
    assert google_error(post(base, path, HELLO))[:2] == (404, "NOT_FOUND")


@pytest.mark.parametrize(("body", "message"), [
    ({}, "contents is not specified"),
    ({"contents": []}, "contents is not specified"),
    ({"contents": [{"role": "assistant", "parts": [{"text": "hi"}]}]}, "Please use a valid role: user, model."),
    ({"contents": [{"role": "user", "parts": []}]}, "contents.parts must not be empty"),
    ({"contents": [{"role": "user", "parts": [{"text": "a", "inlineData": {}}]}]}, "exactly one of"),
    ({"contents": [{"role": "user", "parts": [{"image_url": "x"}]}]}, 'Unknown name "image_url"'),
    ({**HELLO, "messages": []}, 'Unknown name "messages"'),
    ({**HELLO, "generationConfig": {"max_tokens": 5}}, 'Unknown name "max_tokens" at \'generation_config\''),
    ({**HELLO, "safetySettings": [{"category": "HARM_CATEGORY_FUN", "threshold": "BLOCK_NONE"}]},
     "safety_settings"),
    ({**HELLO, "systemInstruction": {"parts": []}}, "must not be empty"),
    ({**HELLO, "tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "object",
                                                                                "properties": {}}}]}]},
     "should be non-empty for OBJECT type"),
])
def test_malformed_bodies_are_400_invalid_argument(upstream, body, message):
    base, _ = upstream
    status, google_status, text = google_error(post(base, "/v1beta/models/gemini-2.5-flash:generateContent", body))
    assert (status, google_status) == (400, "INVALID_ARGUMENT")
    assert message in text


def test_a_body_that_is_not_json_is_400(upstream):
    base, _ = upstream
    response = requests.post(base + "/v1beta/models/gemini-2.5-flash:generateContent", data=b"{not json",
                             headers={"x-goog-api-key": KEY, "Content-Type": "application/json"}, timeout=10)
    assert google_error(response)[:2] == (400, "INVALID_ARGUMENT")


def test_snake_case_field_names_are_accepted_as_google_does(upstream):
    base, _ = upstream
    body = {**HELLO, "system_instruction": {"parts": [{"text": "Be brief."}]},
            "generation_config": {"max_output_tokens": 5}}
    assert post(base, "/v1beta/models/gemini-2.5-flash:generateContent", body).status_code == 200


def test_a_sse_stream_is_split_into_crlf_separated_events_with_cumulative_usage(upstream):
    base, app = upstream
    gemini.configure(app, reply="one two three four", chunks=4)
    response = post(base, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", HELLO)
    raw = response.content
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert raw.startswith(b"data: {") and raw.endswith(b"}\r\n\r\n") and raw.count(b"\r\n\r\n") == 4
    events = [json.loads(line[len(b"data: "):]) for line in raw.split(b"\r\n\r\n") if line]
    texts = [e["candidates"][0]["content"]["parts"][0]["text"] for e in events]
    assert "".join(texts) == "one two three four" and len(texts) == 4
    assert [e["candidates"][0].get("finishReason") for e in events] == [None, None, None, "STOP"]
    counts = [e["usageMetadata"]["candidatesTokenCount"] for e in events]
    assert counts == sorted(counts) and counts[-1] == 4


def test_a_stream_without_alt_sse_is_one_json_array(upstream):
    base, app = upstream
    gemini.configure(app, chunks=2)
    response = post(base, "/v1beta/models/gemini-2.5-flash:streamGenerateContent", HELLO)
    assert response.headers["content-type"].startswith("application/json")
    assert [type(e) for e in response.json()] == [dict, dict]


def test_chunk_delay_spaces_the_events_out(upstream):
    base, app = upstream
    gemini.configure(app, chunks=3, chunk_delay=0.25)
    started = time.monotonic()
    response = post(base, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", HELLO, stream=True)
    arrivals = [time.monotonic() - started for _ in iter_events(response.iter_content(chunk_size=None))]
    assert len(arrivals) == 3
    assert arrivals[0] < 0.25 and arrivals[-1] >= 0.5


@pytest.mark.parametrize(("model", "status", "google_status"), [
    ("gemini-429", 429, "RESOURCE_EXHAUSTED"), ("gemini-rate-limit", 429, "RESOURCE_EXHAUSTED"),
    ("gemini-503", 503, "UNAVAILABLE"), ("gemini-overloaded", 503, "UNAVAILABLE"),
])
def test_failure_behaviours_by_model_name(upstream, model, status, google_status):
    base, _ = upstream
    for method in ("generateContent", "streamGenerateContent?alt=sse"):
        response = post(base, f"/v1beta/models/{model}:{method}", HELLO)
        assert google_error(response)[:2] == (status, google_status)


def test_behaviour_option_overrides_the_model_name(upstream):
    base, app = upstream
    gemini.configure(app, behaviour="unavailable")
    response = post(base, "/v1beta/models/gemini-2.5-flash:generateContent", HELLO)
    assert google_error(response)[:2] == (503, "UNAVAILABLE")


def test_a_blocked_prompt_has_prompt_feedback_and_no_candidates(upstream):
    base, _ = upstream
    body = post(base, "/v1beta/models/gemini-blocked:generateContent", HELLO).json()
    assert body["promptFeedback"] == {"blockReason": "SAFETY"} and "candidates" not in body


def test_a_function_model_calls_the_first_declared_function(upstream):
    base, _ = upstream
    tools = [{"functionDeclarations": [{"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"]}}]}]
    body = post(base, "/v1beta/models/gemini-function:generateContent", {**HELLO, "tools": tools}).json()
    assert body["candidates"][0]["content"]["parts"] == [
        {"functionCall": {"name": "get_weather", "args": {"city": "mock"}}}]


def test_candidate_count_gives_that_many_candidates(upstream):
    base, _ = upstream
    body = post(base, "/v1beta/models/gemini-2.5-flash:generateContent",
                {**HELLO, "generationConfig": {"candidateCount": 2}}).json()
    assert [c["index"] for c in body["candidates"]] == [0, 1]


def test_batch_embed_contents_gives_deterministic_vectors(upstream):
    base, _ = upstream
    body = {"requests": [{"model": "models/text-embedding-004", "content": {"parts": [{"text": t}]},
                          "outputDimensionality": 4} for t in ("red", "blue")]}
    first = post(base, "/v1beta/models/text-embedding-004:batchEmbedContents", body).json()
    again = post(base, "/v1beta/models/text-embedding-004:batchEmbedContents", body).json()
    assert first == again == {"embeddings": [{"values": gemini.vector("red", 4)}, {"values": gemini.vector("blue", 4)}]}
    assert all(-1 <= v <= 1 for e in first["embeddings"] for v in e["values"])


@pytest.mark.parametrize("body", [{}, {"requests": []},
                                  {"requests": [{"model": "models/other", "content": {"parts": [{"text": "x"}]}}]},
                                  {"requests": [{"model": "models/text-embedding-004", "content": {"parts": []}}]}])
def test_malformed_embedding_requests_are_400(upstream, body):
    base, _ = upstream
    response = post(base, "/v1beta/models/text-embedding-004:batchEmbedContents", body)
    assert google_error(response)[:2] == (400, "INVALID_ARGUMENT")


def _context(base: str, model: str, **overrides) -> RelayContext:
    values = dict(mode=RelayMode.CHAT, channel_id=1, channel_type=24, channel_name="gemini", base_url=base,
                  key=KEY, model=model, original_model=model)
    values.update(overrides)
    return RelayContext(**values)


@pytest.mark.parametrize("model", ["gemini-2.5-flash", "gemini-function-3"])
def test_the_adaptors_requests_pass_the_mocks_checks_end_to_end(upstream, model):
    """What GeminiAdaptor sends (system prompt, history, tools, schema) is accepted, and its stream reads."""
    adaptor = GeminiAdaptor()
    openai_request = {"model": model, "stream": True, "messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "noon"}, {"role": "user", "content": "And in Oslo?"}],
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {
            "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
            "additionalProperties": False}}},
                  {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object",
                                                                                     "properties": {}}}}],
        "max_tokens": 50, "stop": ["END"]}
    base, app = upstream
    ctx = _context(base, model, stream=True)
    response = requests.post(adaptor.request_url(ctx), json=adaptor.convert_request(openai_request, ctx),
                             headers=adaptor.request_headers(ctx), stream=True, timeout=10)
    assert response.status_code == 200, response.text
    state = StreamState()
    chunks = list(adaptor.convert_stream(iter_events(response.iter_content(chunk_size=7)), ctx, state))
    assert chunks[-1]["choices"][0]["finish_reason"] == ("tool_calls" if "function" in model else "stop")
    assert state.usage is not None and state.usage.prompt_tokens > 0


def test_the_adaptors_embedding_requests_pass_end_to_end(upstream):
    adaptor = GeminiAdaptor()
    ctx = _context(upstream[0], "text-embedding-004", mode=RelayMode.EMBEDDINGS)
    body = adaptor.convert_request({"model": "text-embedding-004", "input": ["a", "b"], "dimensions": 3}, ctx)
    response = requests.post(adaptor.request_url(ctx), json=body, headers=adaptor.request_headers(ctx), timeout=10)
    out, usage = adaptor.convert_response(response.json(), ctx)
    assert [d["embedding"] for d in out["data"]] == [gemini.vector("a", 3), gemini.vector("b", 3)]
    assert usage is None


def test_the_mocks_error_bodies_read_back_through_the_adaptor(upstream):
    adaptor = GeminiAdaptor()
    ctx = _context(upstream[0], "gemini-429")
    response = requests.post(adaptor.request_url(ctx), json=adaptor.convert_request(
        {"model": "gemini-429", "messages": [{"role": "user", "content": "hi"}]}, ctx),
        headers=adaptor.request_headers(ctx), timeout=10)
    error = adaptor.convert_error(response.status_code, response.content, ctx)
    assert (error.status, error.type, error.code, error.retryable) == (429, "RESOURCE_EXHAUSTED", 429, True)
