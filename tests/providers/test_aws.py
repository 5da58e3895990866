"""AWS Bedrock (type 33) through a live gateway: the official OpenAI client in, SigV4-signed InvokeModel
calls to the mock Bedrock at the channel's base URL (which verifies the signature with botocore), the
binary event stream back, OpenAI out, billed from Bedrock's usage."""

from __future__ import annotations

import json
import re

import openai
import pytest

from tests.providers.conftest import expected_quota
from tests.upstreams import aws as mock
from tests.upstreams.server import serve

AK, SK, REGION = "AKIAIOSFODNN7LIVE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYLIVEKEY", "us-west-2"
MODELS = ["claude-3-haiku-20240307", "claude-sonnet-4-20250514", "llama3-8b-8192"]
MAPPING = {"claude-sonnet-4-20250514": "us.anthropic.claude-sonnet-4-20250514-v1:0"}
HI = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "say hello please"}]
CLAUDE_REPLY = "Hello from mock Bedrock Claude! You said: say hello please"
LLAMA_REPLY = "Hello from mock Llama! You said: say hello please"
HAIKU_PATH = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/"
LLAMA_PATH = "/model/meta.llama3-8b-instruct-v1%3A0/"


@pytest.fixture(scope="module")
def upstream():
    app = mock.create_app(access_key=AK, secret_key=SK, region=REGION, deltas=3)
    with serve(app) as base:
        yield app, base


@pytest.fixture(scope="module")
def channel(gateway, upstream):
    return gateway.add_channel(type=33, key=f"{AK}|{SK}|{REGION}", base_url=upstream[1], models=MODELS,
                               config={"region": REGION, "ak": AK, "sk": SK}, model_mapping=json.dumps(MAPPING))


@pytest.fixture(scope="module")
def client(gateway, channel):
    return gateway.sdk(channel)


def last(upstream) -> dict:
    return upstream[0].config["REQUESTS"][-1]


def assert_billed(gateway, channel, model: str, prompt: int, completion: int) -> None:
    row = gateway.last_log(channel)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (prompt, completion)
    assert row["quota"] == expected_quota(model, 33, prompt, completion)


def assert_signed(request: dict) -> None:
    authorization = request["headers"]["authorization"]
    match = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=(\S+), SignedHeaders=(\S+), Signature=[0-9a-f]{64}",
                         authorization)
    assert match, authorization
    assert re.fullmatch(rf"{AK}/\d{{8}}/{REGION}/bedrock/aws4_request", match.group(1))
    assert {"host", "x-amz-date", "content-type", "x-amz-content-sha256"} <= set(match.group(2).split(";"))


def test_claude_chat_is_signed_answered_and_billed_by_bedrocks_usage(gateway, channel, client, upstream):
    answer = client.chat.completions.create(model="claude-3-haiku-20240307", messages=HI, max_tokens=50)
    assert answer.choices[0].message.content == CLAUDE_REPLY
    assert answer.choices[0].finish_reason == "stop"
    assert answer.model == "claude-3-haiku-20240307"
    # The mock counts one token per word: 2 + 3 in, 10 out.
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (5, 10)
    request = last(upstream)
    assert request["raw_path"] == HAIKU_PATH + "invoke"
    assert_signed(request)
    user = {"role": "user", "content": [{"type": "text", "text": "say hello please"}]}
    assert request["body"] == {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50, "system": "Be brief.",
                               "messages": [user]}
    assert_billed(gateway, channel, "claude-3-haiku-20240307", 5, 10)


def test_claude_stream_assembles_to_the_reply_and_ends_normally(gateway, channel, client, upstream):
    stream = client.chat.completions.create(model="claude-3-haiku-20240307", messages=HI, stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == CLAUDE_REPLY
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    assert len({c.id for c in chunks}) == 1
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (5, 10)
    request = last(upstream)
    assert request["raw_path"] == HAIKU_PATH + "invoke-with-response-stream"
    assert request["headers"]["accept"] == "application/vnd.amazon.eventstream"
    assert "stream" not in request["body"] and "model" not in request["body"]
    assert_signed(request)
    assert_billed(gateway, channel, "claude-3-haiku-20240307", 5, 10)


def test_a_mapped_inference_profile_is_the_model_id_in_the_path(gateway, channel, client, upstream):
    answer = client.chat.completions.create(model="claude-sonnet-4-20250514", messages=HI)
    assert answer.choices[0].message.content == CLAUDE_REPLY
    assert answer.model == "claude-sonnet-4-20250514"
    assert last(upstream)["raw_path"] == "/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/invoke"
    assert_billed(gateway, channel, MAPPING["claude-sonnet-4-20250514"], 5, 10)


def llama_counts(upstream) -> tuple[int, int]:
    reply = mock.llama_reply(last(upstream)["body"])
    return reply["prompt_token_count"], reply["generation_token_count"]


def test_llama_chat_renders_the_template_and_is_billed_by_bedrocks_counts(gateway, channel, client, upstream):
    answer = client.chat.completions.create(model="llama3-8b-8192", messages=HI, temperature=0.3)
    assert answer.choices[0].message.content == LLAMA_REPLY
    assert answer.choices[0].finish_reason == "stop"
    request = last(upstream)
    assert request["raw_path"] == LLAMA_PATH + "invoke"
    assert_signed(request)
    assert request["body"] == {
        "prompt": "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                  "<|start_header_id|>user<|end_header_id|>\n\nsay hello please<|eot_id|>"
                  "<|start_header_id|>assistant<|end_header_id|>\n\n",
        "max_gen_len": 2048, "temperature": 0.3}
    prompt, completion = llama_counts(upstream)
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (prompt, completion) == (13, 9)
    assert_billed(gateway, channel, "llama3-8b-8192", prompt, completion)


def test_llama_stream_assembles_and_is_billed(gateway, channel, client, upstream):
    chunks = list(client.chat.completions.create(model="llama3-8b-8192", messages=HI, stream=True,
                                                 stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == LLAMA_REPLY
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert len({c.id for c in chunks}) == 1
    assert last(upstream)["raw_path"] == LLAMA_PATH + "invoke-with-response-stream"
    counts = llama_counts(upstream)
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == counts
    assert_billed(gateway, channel, "llama3-8b-8192", *counts)


def test_a_bedrock_validation_error_keeps_its_status_and_exception_name(client):
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="claude-3-haiku-20240307",
                                       messages=[{"role": "user", "content": "[invalid] too long"}])
    assert caught.value.status_code == 400
    assert caught.value.body["type"] == "aws_error"
    assert caught.value.body["code"] == "ValidationException"
    assert caught.value.body["message"].startswith("Input is too long for requested model.")


def test_an_exception_inside_the_event_stream_ends_the_stream_with_an_error(client, upstream):
    stream = client.chat.completions.create(model="claude-3-haiku-20240307", stream=True,
                                            messages=[{"role": "user", "content": "[stream-throttle] go"}])
    seen = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream:
            seen.append(chunk)
    assert "Too many tokens" in str(caught.value)
    assert seen and seen[0].choices[0].delta.role == "assistant"
    assert last(upstream)["raw_path"] == HAIKU_PATH + "invoke-with-response-stream"


def test_a_wrong_secret_key_is_refused_by_bedrock_with_403(gateway, upstream):
    bad = gateway.add_channel(type=33, key=f"{AK}|wrong|{REGION}", base_url=upstream[1], models=MODELS,
                              config={"region": REGION, "ak": AK, "sk": "wrong-secret"})
    with pytest.raises(openai.APIStatusError) as caught:
        gateway.sdk(bad).chat.completions.create(model="claude-3-haiku-20240307", messages=HI)
    assert caught.value.status_code == 403
    assert caught.value.body["code"] == "InvalidSignatureException"
    assert "signature we calculated does not match" in caught.value.body["message"]
    assert last(upstream)["headers"]["x-amz-date"]


def test_the_console_channel_test_passes_and_the_balance_is_not_offered(gateway, channel):
    gateway.check_console_tools(channel)
