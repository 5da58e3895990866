"""The README's billing policy through the relay, tried as an attacker and a careless client would:
a key capped at its hold, answers without `max_tokens`, zero balances, cut streams whose upstream
reported usage early, speech asked to stream, a prompt from a payer without money, keys echoed
mid-stream. Every log row must equal the formula on the delivered usage, and every balance change
the sum of the rows."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import Log, Token, User
from oneapi.relay.tokenizer import count_text
from oneapi.services import billing, options
from tests import factories
from tests.upstreams import anthropic as mock_anthropic
from tests.upstreams import gemini as mock_gemini
from tests.upstreams import openai_media
from tests.upstreams.server import serve

HI = [{"role": "user", "content": "hi"}]
MODELS = "gpt-4o,gpt-4o-long,gpt-4o-earlyusage,gpt-4o-leakstream,llama-3.1-8b-instant,glm-4-flash,cheap-model"


@pytest.fixture(autouse=True)
def mock_models_priced_as_gpt_4o(app):
    """The mock's behaviour models are priced as the model they stand for."""
    ratios = {name: 2.5 for name in MODELS.split(",") if name.startswith("gpt-4o-")}
    options.update("ModelRatio", json.dumps({**options.get_json("ModelRatio"), **ratios}))


def channel(base, **fields):
    return factories.make_channel(**{"base_url": base, "models": MODELS, **fields})


def post(client, token, body, path="/v1/chat/completions"):
    return client.post(path, json=body, headers={"Authorization": f"Bearer sk-{token.key}"}, buffered=False)


def consume_logs() -> list[Log]:
    return list(db.session.scalars(sa.select(Log).where(Log.type == 2).order_by(Log.id)))


def formula(row: Log, channel_type: int = 1) -> int:
    return billing.text_quota(row.prompt_tokens, row.completion_tokens,
                              billing.model_ratio(row.model_name, channel_type, options.get_json("ModelRatio")),
                              billing.completion_ratio(row.model_name, channel_type, {}), 1)


def balances(user, token) -> tuple[int, int, int]:
    db.session.expire_all()
    key = db.session.get(Token, token.id)
    return db.session.get(User, user.id).quota, key.remain_quota, key.used_quota


def events(response) -> list[str]:
    text = b"".join(response.response).decode()
    return [e[6:] for e in text.split("\n\n") if e.startswith("data: ")]


def delivered_text(payloads: list[str]) -> str:
    text = ""
    for payload in payloads:
        if payload == "[DONE]":
            continue
        for choice in json.loads(payload).get("choices") or []:
            text += (choice.get("delta") or {}).get("content") or ""
    return text


# -- 1. a key's cap is the user's own budget: it refuses, it never lowers a charge ------------------

def test_a_key_capped_at_its_hold_and_refilled_buys_only_what_it_pays_for(client, upstream, upstream_app):
    user = factories.make_user("attacker", quota=1_000_000)
    token = factories.make_token(user, remain_quota=0)
    channel(upstream[1])
    hold = billing.pre_consume_quota(500, 8, 0, 2.5)  # One API's hold for "hi" at gpt-4o
    for _ in range(3):
        # The owner sets the key's cap to the hold before each request (PUT /api/token/ does the same).
        db.session.execute(sa.update(Token).where(Token.id == token.id).values(remain_quota=hold))
        db.session.commit()
        answer = post(client, token, {"model": "gpt-4o-long", "messages": HI})
        assert answer.status_code == 200, answer.json
        assert answer.json["choices"][0]["finish_reason"] == "length"
        assert answer.json["usage"]["completion_tokens"] < 200
    rows = consume_logs()
    assert len(rows) == 3 and all(row.quota == formula(row) <= hold for row in rows)
    quota, remain, used = balances(user, token)
    assert 1_000_000 - quota == sum(row.quota for row in rows) == used
    # The upstream was asked for a stream: the answer was metered as it came.
    assert all(request["body"]["stream"] is True for request in upstream_app.config["REQUESTS"])


def test_a_stream_on_a_capped_key_ends_where_the_cap_is_spent(client, upstream):
    user = factories.make_user("payer", quota=1_000_000)
    token = factories.make_token(user, remain_quota=5_000)
    channel(upstream[1])
    payloads = events(post(client, token, {"model": "gpt-4o-long", "messages": HI, "stream": True}))
    assert payloads[-1] == "[DONE]"
    assert json.loads(payloads[-2])["choices"][0]["finish_reason"] == "length"
    (row,) = consume_logs()
    assert row.completion_tokens == count_text(delivered_text(payloads))
    assert row.quota == formula(row) <= 5_000 and "额度用尽" in row.content
    quota, remain, used = balances(user, token)
    assert (1_000_000 - quota, 5_000 - remain, used) == (row.quota,) * 3


# -- 2. overruns: charged in full, never written off; bounded by holds -----------------------------

def test_an_answer_longer_than_its_hold_is_charged_in_full_as_a_debt(client, upstream):
    """A payer who can hold a whole answer (32,768 tokens) gets the upstream's answer as it is; a
    longer one is charged in full and the balance goes below zero (One API's debt, never forgiven)."""
    hold = billing.text_quota(8, 32768, 2.5, 4, 1)
    user = factories.make_user("payer", quota=hold + 10)
    token = factories.make_token(user, unlimited_quota=True)
    channel(upstream[1])
    answer = post(client, token, {"model": "gpt-4o-long", "messages": HI})
    assert answer.status_code == 200 and answer.json["usage"]["completion_tokens"] == 100_000
    (row,) = consume_logs()
    assert row.quota == formula(row) == billing.text_quota(10, 100_000, 2.5, 4, 1)
    assert balances(user, token)[0] == hold + 10 - row.quota < 0
    # In debt, the payer is refused before anything reaches the upstream.
    refused = post(client, token, {"model": "gpt-4o", "messages": HI})
    assert refused.status_code == 403 and refused.json["error"]["code"] == "insufficient_user_quota"


def test_concurrent_answers_cannot_outrun_the_balance_when_asked_one_after_another(client, upstream):
    """Without max_tokens, streams and non-stream answers alike stop where the balance does."""
    user = factories.make_user("payer", quota=20_000)
    token = factories.make_token(user, unlimited_quota=True)
    channel(upstream[1])
    for stream in (True, False, True, False):
        post(client, token, {"model": "gpt-4o-long", "messages": HI, "stream": stream}).close()
    rows = consume_logs()
    assert all(row.quota == formula(row) for row in rows)
    quota = balances(user, token)[0]
    assert 20_000 - quota == sum(row.quota for row in rows) and quota >= 0


# -- 3. no balance, no service; a priced model holds at least 1 ------------------------------------

@pytest.mark.parametrize("model", ["gpt-4o", "llama-3.1-8b-instant", "glm-4-flash"])
def test_a_user_without_balance_is_refused_before_any_upstream_call(client, upstream, upstream_app, model):
    user = factories.make_user("broke", quota=0)
    token = factories.make_token(user, unlimited_quota=True)
    channel(upstream[1])
    answer = post(client, token, {"model": model, "messages": HI})
    assert answer.status_code == 403 and answer.json["error"]["code"] == "insufficient_user_quota"
    assert upstream_app.config["REQUESTS"] == []


def test_a_cheap_model_holds_one_quota_and_then_the_payer_is_spent(client, upstream, upstream_app):
    options.update("ModelRatio", json.dumps({**options.get_json("ModelRatio"), "cheap-model": 0.0001}))
    user = factories.make_user("payer", quota=1)
    token = factories.make_token(user, unlimited_quota=True)
    channel(upstream[1])
    assert post(client, token, {"model": "cheap-model", "messages": HI}).status_code == 200
    (row,) = consume_logs()
    assert row.quota == 1 and balances(user, token)[0] == 0
    assert post(client, token, {"model": "cheap-model", "messages": HI}).status_code == 403
    assert len(upstream_app.config["REQUESTS"]) == 1


def test_a_payer_without_money_is_refused_before_the_prompt_is_counted(client, upstream, monkeypatch):
    from oneapi.relay import inbound

    def never(*_args, **_kwargs):
        raise AssertionError("the prompt was counted for a payer without money")

    monkeypatch.setattr(inbound, "count_messages", never)
    user = factories.make_user("broke", quota=0)
    token = factories.make_token(user, unlimited_quota=True)
    channel(upstream[1])
    big = [{"role": "user", "content": "word " * 200_000}]
    assert post(client, token, {"model": "gpt-4o", "messages": big}).status_code == 403


# -- 4. a stream that did not complete is billed for at least what was delivered -------------------

def read_then_leave(response, keep: int) -> list[str]:
    """Read `keep` SSE events, then close the answer as a client that goes away does."""
    payloads, buffer = [], b""
    for piece in response.response:
        buffer += piece
        while b"\n\n" in buffer and len(payloads) < keep:
            event, buffer = buffer.split(b"\n\n", 1)
            if event.startswith(b"data: "):
                payloads.append(event[6:].decode())
        if len(payloads) >= keep:
            break
    response.close()
    return payloads


def cut_stream(client, mock, channel_type: int, key: str, model: str, keep: int) -> tuple[Log, str]:
    """A stream from `mock` that the client leaves after `keep` events: its log row and the text it got."""
    with serve(mock) as base:
        factories.make_channel(type=channel_type, key=key, base_url=base, models=model)
        token = factories.make_token(factories.make_user("payer", quota=10_000_000), unlimited_quota=True)
        payloads = read_then_leave(post(client, token, {"model": model, "messages": HI, "stream": True}), keep)
    (row,) = consume_logs()
    return row, delivered_text(payloads)


def test_a_cut_anthropic_stream_is_billed_for_the_text_delivered_not_message_starts_usage(client):
    reply = " ".join(f"word{i}" for i in range(400))
    row, delivered = cut_stream(client, mock_anthropic.create_app(api_key="sk-ant-test", reply=reply, deltas=40),
                                14, "sk-ant-test", "claude-3-haiku-20240307", keep=38)
    assert count_text(delivered) > 300 and row.completion_tokens >= count_text(delivered)  # not message_start's 1
    assert row.quota == formula(row, 14) and "客户端断开" in row.content


def test_a_cut_gemini_stream_is_billed_for_the_text_delivered(client):
    reply = " ".join(f"word{i}" for i in range(300))
    row, delivered = cut_stream(client, mock_gemini.create_app(key="gemini-key", reply=reply, chunks=30),
                                24, "gemini-key", "gemini-2.0-flash", keep=25)
    assert row.completion_tokens >= count_text(delivered) > 0
    assert row.quota == formula(row, 24)


def test_usage_a_vendor_sends_early_does_not_win_on_a_cut_stream(client, upstream):
    user = factories.make_user("payer", quota=10_000_000)
    token = factories.make_token(user, unlimited_quota=True)
    channel(upstream[1], type=25)  # Moonshot: an OpenAI-compatible vendor, usage not asked for
    upstream[0].config["WORDS"] = 60
    try:
        payloads = read_then_leave(post(client, token, {"model": "gpt-4o-earlyusage", "messages": HI,
                                                        "stream": True}), keep=50)
    finally:
        upstream[0].config["WORDS"] = 5
    (row,) = consume_logs()
    assert row.completion_tokens >= count_text(delivered_text(payloads)) > 49


# -- 7. speech asked to stream: the audio, charged once --------------------------------------------

def test_speech_with_stream_true_answers_the_audio_and_charges_it_once(client):
    with serve(openai_media.create_app()) as base:
        factories.make_channel(base_url=base, models="tts-1")
        user = factories.make_user("payer", quota=1_000_000)
        token = factories.make_token(user, unlimited_quota=True)
        answer = post(client, token, {"model": "tts-1", "input": "hello there", "voice": "alloy", "stream": True},
                      "/v1/audio/speech")
        audio = b"".join(answer.response)
    assert answer.status_code == 200 and audio == openai_media.AUDIO
    (row,) = consume_logs()
    assert row.quota == billing.tts_quota("hello there", 7.5) and balances(user, token)[0] == 1_000_000 - row.quota


# -- 14. a key echoed by the upstream mid-stream reaches neither the client nor the server log -----

@pytest.mark.parametrize("role", [1, 10])
def test_a_mid_stream_error_naming_the_key_is_masked(client, upstream, caplog, role):
    user = factories.make_user("payer", quota=10_000_000, role=role)
    token = factories.make_token(user, unlimited_quota=True)
    channel(upstream[1], key="sk-upstream-secret-key")
    upstream[0].config["KEY"] = "sk-upstream-secret-key"
    try:
        text = "".join(events(post(client, token, {"model": "gpt-4o-leakstream", "messages": HI, "stream": True})))
    finally:
        upstream[0].config["KEY"] = "sk-upstream"
    host = upstream[1].split("://", 1)[1]
    assert "refused key ***" in text and "sk-upstream-secret-key" not in text
    assert (host in text) == (role >= 10)
    assert "sk-upstream-secret-key" not in caplog.text


def test_a_key_echoed_in_an_error_stays_out_of_the_disable_reason_and_the_test_log(client, upstream):
    from oneapi.relay import health
    from oneapi.services import channeltests

    options.update("AutomaticDisableChannelEnabled", "true")
    ch = channel(upstream[1], key="sk-upstream", models="gpt-4o-leak401")
    token = factories.make_token(factories.make_user("payer", quota=1_000_000), unlimited_quota=True)
    assert channeltests.test_channel(ch.id, "gpt-4o-leak401").success is False
    assert post(client, token, {"model": "gpt-4o-leak401", "messages": HI}).status_code == 401
    rows = list(db.session.scalars(sa.select(Log.content).where(Log.type.in_((4, 5)))))
    assert len(rows) == 2 and all("***" in row and "sk-upstream" not in row for row in rows)
    assert "sk-upstream" not in (health.last_disable_reason(ch.id) or "sk-upstream")


def test_a_hold_for_max_tokens_covers_every_choice(client, upstream, upstream_app):
    """`max_tokens` is per choice: n=3 can cost three answers, so the hold covers three."""
    one_choice = billing.text_quota(8, 100, 2.5, 4, 1)
    user = factories.make_user("payer", quota=2 * one_choice)
    token = factories.make_token(user, unlimited_quota=True)
    channel(upstream[1])
    answer = post(client, token, {"model": "gpt-4o", "messages": HI, "max_tokens": 100, "n": 3})
    assert answer.status_code == 403 and upstream_app.config["REQUESTS"] == []
    assert post(client, token, {"model": "gpt-4o", "messages": HI, "max_tokens": 100}).status_code == 200


@pytest.mark.parametrize("n", [-1, 129, 1.5, "3", True])
def test_an_n_outside_openais_range_is_refused(client, upstream, upstream_app, n):
    token = factories.make_token(factories.make_user("payer", quota=1_000_000), unlimited_quota=True)
    channel(upstream[1])
    answer = post(client, token, {"model": "gpt-4o", "messages": HI, "n": n})
    assert answer.status_code == 400 and answer.json["error"]["code"] == "invalid_text_request"
    assert upstream_app.config["REQUESTS"] == []


def test_the_hold_covers_the_larger_of_max_tokens_and_max_completion_tokens(client, upstream, upstream_app):
    """A vendor that knows only `max_tokens` reads that one: a small `max_completion_tokens` beside a
    large `max_tokens` must not shrink the hold."""
    user = factories.make_user("payer", quota=billing.text_quota(8, 100, 2.5, 4, 1) * 2)
    token = factories.make_token(user, unlimited_quota=True)
    channel(upstream[1])
    answer = post(client, token, {"model": "gpt-4o", "messages": HI, "max_completion_tokens": 10,
                                  "max_tokens": 100_000})
    assert answer.status_code == 403 and upstream_app.config["REQUESTS"] == []


@pytest.mark.parametrize("quota", [10_000_000, 20_000])  # the answer held whole, and metered
def test_a_key_echoed_in_a_successful_answer_is_masked(client, upstream, quota):
    token = factories.make_token(factories.make_user("payer", quota=quota), unlimited_quota=True)
    channel(upstream[1], key="sk-upstream", models="gpt-4o-echokey")
    options.update("ModelRatio", json.dumps({**options.get_json("ModelRatio"), "gpt-4o-echokey": 2.5}))
    answer = post(client, token, {"model": "gpt-4o-echokey", "messages": HI})
    content = answer.json["choices"][0]["message"]["content"]
    assert answer.status_code == 200 and "Authorization=Bearer ***" in content and "sk-upstream" not in content
