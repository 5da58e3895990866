"""The Replicate adaptor against recorded wire fixtures (tests/fixtures/wire/replicate/<case>/), plus the
prediction lifecycle (`follow_up`), errors, URL and headers. Pure functions only: no network, no app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oneapi.relay.adaptors import get_adaptor, replicate
from oneapi.relay.adaptors.base import Call
from oneapi.relay.adaptors.replicate import ReplicateAdaptor, aspect_ratio
from oneapi.relay.channeltypes import spec
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import LocalError, UpstreamError
from oneapi.relay.modes import RelayMode
from oneapi.relay.sse import iter_events
from oneapi.relay.usage import StreamState
from tests.unit.adaptors import wire
from tests.unit.adaptors.chunking import odd_chunks

CASES_DIR = Path(__file__).parents[2] / "fixtures" / "wire" / "replicate"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir() and not p.name.startswith("_"))
RESPONSE_CASES = [c for c in CASES if (CASES_DIR / c / "upstream_response.json").exists()]
STREAM_CASES = [c for c in CASES if (CASES_DIR / c / "upstream.sse").exists()]
CREATED = 1700000000
ADAPTOR = ReplicateAdaptor()
KEY = "r8_TestTokenTestTokenTestToken0000000000"
BASE = "https://api.replicate.com"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(replicate, "now", lambda: CREATED)


def load(case: str, name: str):
    return wire.load(CASES_DIR, case, name)


def context(case: str | None = None, **overrides) -> RelayContext:
    request = load(case, "openai_request.json") if case else {"model": "meta/meta-llama-3-8b-instruct"}
    extra = load(case, "context.json") if case and (CASES_DIR / case / "context.json").exists() else {}
    if "mode" in extra:
        extra["mode"] = RelayMode(extra["mode"])
    values = {
        "mode": RelayMode.CHAT, "channel_id": 1, "channel_type": 46, "channel_name": "replicate",
        "base_url": BASE, "key": KEY, "model": request["model"], "original_model": request["model"],
        "stream": bool(request.get("stream")), "request_id": "req1", **extra, **overrides,
    }
    return RelayContext(**values)


def run_stream(case: str, size: int) -> tuple[list[dict], StreamState, Exception | None]:
    raw = (CASES_DIR / case / "upstream.sse").read_bytes()
    return wire.translate_stream(ADAPTOR, iter_events(odd_chunks(raw, size)), context(case))


# -- fixtures -------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_request_is_translated_to_the_prediction_body(case):
    body = ADAPTOR.convert_request(load(case, "openai_request.json"), context(case))
    assert body == load(case, "upstream_request.json")


@pytest.mark.parametrize("case", RESPONSE_CASES)
def test_a_succeeded_prediction_is_translated_to_the_openai_answer(case):
    answer, usage = ADAPTOR.convert_response(load(case, "upstream_response.json"), context(case))
    assert answer == load(case, "expected.json")
    assert usage is None  # counted by the pipeline: Replicate reports tokens only in `metrics`, at the end


@pytest.mark.parametrize("size", [1, 5, 64])
@pytest.mark.parametrize("case", STREAM_CASES)
def test_stream_is_translated_to_chunks_whatever_the_chunk_boundaries(case, size):
    chunks, state, error = run_stream(case, size)
    expected = wire.expected_chunks(CASES_DIR, case)
    assert chunks == expected
    assert state.text == (CASES_DIR / case / "expected_text.txt").read_text()
    assert state.text == "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert state.usage is None  # the pipeline counts it
    finishes = [c["choices"][0]["finish_reason"] for c in chunks]
    assert all(f is None for f in finishes[:-1])
    assert [("role" in c["choices"][0]["delta"]) for c in chunks] == [True] + [False] * (len(chunks) - 1)
    assert {(c["id"], c["created"], c["object"]) for c in chunks} == {(expected[0]["id"], CREATED,
                                                                      "chat.completion.chunk")}
    if (CASES_DIR / case / "expected_error.json").exists():
        want = load(case, "expected_error.json")
        assert (error.status, error.type, error.code, error.message) == (
            want["status"], want["type"], want["code"], want["message"])
        assert state.finish_reason is None
    else:
        assert error is None
        assert finishes[-1] == state.finish_reason == "stop"


def test_a_stream_done_without_output_still_opens_with_the_role_and_ends_with_stop():
    state = StreamState()
    chunks = list(ADAPTOR.convert_stream(iter_events([b"event: done\ndata: {}\n\n"]), context(), state))
    assert [c["choices"][0] for c in chunks] == [
        {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": "stop"}]
    assert state.text == ""


def test_events_after_done_are_not_read():
    raw = b"event: output\ndata: a\n\nevent: done\ndata: {}\n\nevent: output\ndata: b\n\n"
    state = StreamState()
    chunks = list(ADAPTOR.convert_stream(iter_events([raw]), context(), state))
    assert state.text == "a" and len(chunks) == 2


def test_a_plain_text_error_event_keeps_its_text():
    with pytest.raises(UpstreamError) as caught:
        list(ADAPTOR.convert_stream(iter_events([b"event: error\ndata: boom\n\n"]), context(), StreamState()))
    assert (caught.value.status, caught.value.message, caught.value.type) == (500, "boom", "replicate_error")


# -- the prediction lifecycle ---------------------------------------------------------------------

def prediction(status: str, *, stream: bool = True, **fields) -> dict:
    created = load("_predictions", "created_chat.json")
    created["status"] = status
    if not stream:
        created["urls"].pop("stream")
    return {**created, **fields}


def test_chat_polls_while_the_prediction_is_starting_then_reads_the_stream():
    ctx = context()
    poll = ADAPTOR.follow_up(ctx, prediction("starting"), 0)
    assert poll == Call("GET", f"{BASE}/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu",
                        headers={"Authorization": f"Bearer {KEY}"}, delay=1.0)
    assert 1 <= poll.delay <= 3 and not poll.stream and poll.body is None
    stream = ADAPTOR.follow_up(ctx, prediction("processing"), 1)
    assert stream == Call("GET", "https://stream.replicate.com/v1/files/bcwr-gm3qorzdhgbfurvjtvhg6dckhu",
                          headers={"Accept": "text/event-stream", "Cache-Control": "no-store",
                                   "Authorization": f"Bearer {KEY}"}, stream=True)
    assert stream.delay == 0


def test_chat_reads_the_stream_of_a_prediction_that_already_succeeded():
    call = ADAPTOR.follow_up(context(), prediction("succeeded", output=["hi"]), 3)
    assert call.stream and call.url.startswith("https://stream.replicate.com/")


def test_chat_without_a_stream_url_polls_to_the_end_and_then_answers_from_the_output():
    ctx = context()
    assert ADAPTOR.follow_up(ctx, prediction("processing", stream=False), 1).url.endswith(
        "/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu")
    assert ADAPTOR.follow_up(ctx, prediction("succeeded", stream=False, output=["a"]), 2) is None


def test_polls_go_through_the_channels_base_url_not_the_absolute_get_url():
    ctx = context(base_url="http://127.0.0.1:9000/replicate-mirror")
    call = ADAPTOR.follow_up(ctx, prediction("starting"), 0)
    assert call.url == "http://127.0.0.1:9000/replicate-mirror/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu"


def test_a_prediction_without_an_id_is_polled_at_its_get_url():
    body = prediction("starting")
    body.pop("id")
    assert ADAPTOR.follow_up(context(), body, 0).url == body["urls"]["get"]


def test_images_poll_until_the_prediction_succeeded():
    ctx = context("image_schnell")
    done = load("image_schnell", "upstream_response.json")
    for step, status in enumerate(["starting", "processing"]):
        call = ADAPTOR.follow_up(ctx, {**done, "status": status, "output": None}, step)
        assert (call.method, call.url, call.stream, call.delay) == (
            "GET", f"{BASE}/v1/predictions/q1z8x5b3fsrmc0cn4v2r7h6w9g", False, 1.0)
        assert call.headers == {"Authorization": f"Bearer {KEY}"}
    assert ADAPTOR.follow_up(ctx, done, 2) is None


def test_images_never_read_a_stream_even_when_the_prediction_offers_one():
    ctx = context("image_schnell")
    body = prediction("processing")  # has urls.stream
    assert not ADAPTOR.follow_up(ctx, body, 0).stream


@pytest.mark.parametrize("mode", [RelayMode.CHAT, RelayMode.IMAGES])
def test_a_failed_prediction_is_an_error_with_its_message(mode):
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.follow_up(context(mode=mode), load("_predictions", "failed_image.json"), 2)
    error = caught.value
    assert (error.status, error.type, error.code) == (500, "replicate_error", "prediction_failed")
    assert error.message == "NSFW content detected. Try running it again, or try a different prompt."


def test_a_canceled_prediction_is_an_error():
    with pytest.raises(UpstreamError) as caught:
        ADAPTOR.follow_up(context(mode=RelayMode.IMAGES), prediction("canceled", stream=False), 4)
    assert (caught.value.code, caught.value.message) == ("prediction_canceled", "the prediction was canceled")


def test_the_first_answer_is_never_a_stream():
    assert ADAPTOR.upstream_stream(context(stream=True)) is False
    assert ADAPTOR.upstream_stream(context(mode=RelayMode.IMAGES)) is False
    assert ADAPTOR.always_streams is True


# -- errors ---------------------------------------------------------------------------------------

UNAUTHENTICATED = b'{"title":"Unauthenticated","detail":"You did not pass a valid authentication token","status":401}'
NOT_FOUND = b'{"title":"Not found","detail":"The requested resource could not be found.","status":404}'
THROTTLED = (b'{"title":"Request was throttled","detail":"Request was throttled. Expected available in 1 second.",'
             b'"status":429}')
INVALID = (b'{"title":"Input validation failed","status":422,"invalid_fields":[{"type":"required","field":"",'
           b'"description":"input is required"}]}')


@pytest.mark.parametrize(("status", "body", "message", "code", "retryable"), [
    (401, UNAUTHENTICATED, "You did not pass a valid authentication token", "unauthenticated", False),
    (404, NOT_FOUND, "The requested resource could not be found.", "not_found", False),
    (429, THROTTLED, "Request was throttled. Expected available in 1 second.", "request_was_throttled", True),
    (422, INVALID, "input is required", "input_validation_failed", False),
])
def test_problem_json_errors_keep_the_upstream_status_and_detail(status, body, message, code, retryable):
    error = ADAPTOR.convert_error(status, body, context())
    assert (error.status, error.message, error.type, error.code, error.param) == (
        status, message, "replicate_error", code, str(status))
    assert error.retryable is retryable


def test_an_html_error_page_becomes_a_one_line_error():
    error = ADAPTOR.convert_error(502, b"<html><body>Bad Gateway</body></html>", context())
    assert (error.status, error.message, error.code) == (502, "bad response status code 502",
                                                         "bad_response_status_code")


# -- URL, headers, requests -----------------------------------------------------------------------

@pytest.mark.parametrize("base_url", [BASE, "http://127.0.0.1:8080/mirror"])
def test_url_is_the_channels_base_url_plus_the_models_predictions(base_url):
    ctx = context(base_url=base_url, model="meta/meta-llama-3-70b-instruct", original_model="llama3")
    assert ADAPTOR.request_url(ctx) == f"{base_url}/v1/models/meta/meta-llama-3-70b-instruct/predictions"


def test_headers_carry_the_token_as_bearer():
    assert ADAPTOR.request_headers(context()) == {"Authorization": f"Bearer {KEY}",
                                                  "Content-Type": "application/json"}


@pytest.mark.parametrize(("size", "ratio"), [
    ("1024x1024", "1:1"), ("256x256", "1:1"), ("1792x1024", "16:9"), ("1024x1792", "9:16"),
    ("1536x1024", "3:2"), ("1024x1536", "2:3"), ("1280x1024", "5:4"), ("768x1024", "3:4"),
    ("2048x512", "16:9"), (None, "1:1"), ("big", "1:1"), ("0x100", "1:1"),
])
def test_size_becomes_the_nearest_aspect_ratio(size, ratio):
    assert aspect_ratio(size) == ratio


def image_context(model: str) -> RelayContext:
    return context(mode=RelayMode.IMAGES, model=model, original_model=model)


def test_n_is_refused_beyond_what_the_model_can_make():
    with pytest.raises(LocalError) as caught:
        ADAPTOR.convert_request({"prompt": "x", "n": 2}, image_context("black-forest-labs/flux-1.1-pro"))
    assert (caught.value.status, caught.value.code) == (400, "n_not_within_range")
    with pytest.raises(LocalError):
        ADAPTOR.convert_request({"prompt": "x", "n": 5}, image_context("black-forest-labs/flux-schnell"))
    body = ADAPTOR.convert_request({"prompt": "x", "n": 4}, image_context("black-forest-labs/flux-dev"))
    assert body["input"]["num_outputs"] == 4


def test_b64_json_is_not_sent_to_replicate_the_pipeline_inlines_its_urls():
    body = ADAPTOR.convert_request({"prompt": "x", "response_format": "b64_json"},
                                   image_context("black-forest-labs/flux-schnell"))
    assert "response_format" not in json.dumps(body) and body["input"]["prompt"] == "x"


def test_chat_prompt_of_a_single_user_message_is_its_text_and_otherwise_role_lines():
    single = ADAPTOR.convert_request({"messages": [{"role": "user", "content": "hi"}]}, context())
    assert single == {"input": {"prompt": "hi", "max_tokens": 500}, "stream": True}
    lone_assistant = ADAPTOR.convert_request({"messages": [{"role": "assistant", "content": "hi"}]}, context())
    assert lone_assistant["input"]["prompt"] == "assistant: hi"


def test_the_registry_serves_type_46_for_chat_and_images():
    assert isinstance(get_adaptor(46), ReplicateAdaptor)
    declared = spec(46)
    assert declared.modes == frozenset({RelayMode.CHAT, RelayMode.IMAGES})
    assert declared.base_url == BASE
    assert len(declared.models) == 41 and "black-forest-labs/flux-schnell" in declared.models
    assert ADAPTOR.models() == list(declared.models)
