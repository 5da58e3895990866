"""Automatic channel disabling decides on the upstream's status and its own error type or code, never
on message text a client can make the upstream quote back: a user's bad request cannot disable a
channel for everyone (with AutomaticDisableChannelEnabled on)."""

from __future__ import annotations

import pytest

from oneapi.extensions import db
from oneapi.models import Channel
from oneapi.relay import health
from oneapi.relay.errors import UpstreamError
from oneapi.services import options
from tests import factories

BAIT = "Your credit balance is too low; your account balance is exhausted; permission denied; 已欠费"


@pytest.fixture
def payer(app):
    user = factories.make_user("payer", quota=1_000_000)
    return factories.make_token(user, remain_quota=500_000)


@pytest.fixture
def auto_disable(app):
    health.forget_metrics()
    options.update("AutomaticDisableChannelEnabled", "true")


def channel_for(base: str, model: str) -> Channel:
    return factories.make_channel("victim", base_url=base, models=f"gpt-4o,{model}")


def chat(client, token, model: str, content: str = "hi"):
    body = {"model": model, "messages": [{"role": "user", "content": content}]}
    return client.post("/v1/chat/completions", json=body, headers={"Authorization": f"Bearer sk-{token.key}"})


def status_of(channel_id: int) -> int:
    db.session.commit()
    db.session.expire_all()
    return db.session.get(Channel, channel_id).status


# --- the rules ------------------------------------------------------------------------------------

@pytest.mark.parametrize("error", [
    UpstreamError(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    UpstreamError(401, "invalid x-api-key", "authentication_error", "authentication_error"),
    UpstreamError(402, "Insufficient Balance", "unknown_error"),
    UpstreamError(402, "Your credit balance is too low", "billing_error", "billing_error"),
    UpstreamError(429, "You exceeded your current quota", "insufficient_quota", "insufficient_quota"),
    UpstreamError(429, "You exceeded your current quota", "requests", "insufficient_quota"),
    UpstreamError(403, "Your API key does not have permission", "permission_error", "permission_error"),
    UpstreamError(403, "Permission denied: Consumer has been suspended", "PERMISSION_DENIED", 403),
    UpstreamError(403, "This account is deactivated", "invalid_request_error", "account_deactivated"),
    UpstreamError(403, "Country, region, or territory not supported", "request_forbidden",
                  "unsupported_country_region_territory"),
], ids=lambda e: f"{e.status}-{e.type}-{e.code}")
def test_a_dead_key_or_exhausted_account_disables(error):
    assert health.should_disable(error) is True


@pytest.mark.parametrize("error", [
    # The client's own request, whatever the message quotes.
    UpstreamError(400, f"Invalid value for 'user': {BAIT}", "invalid_request_error"),
    UpstreamError(400, "x", "insufficient_quota", "insufficient_quota"),
    UpstreamError(400, "x", "invalid_request_error", "invalid_api_key"),
    UpstreamError(404, "The model does not exist or you do not have access to it.", "invalid_request_error",
                  "model_not_found"),
    UpstreamError(413, BAIT, "request_too_large", "request_too_large"),
    UpstreamError(422, BAIT, "invalid_request_error", "authentication_error"),
    # Busy or broken, not dead.
    UpstreamError(500, BAIT, "server_error"),
    UpstreamError(503, "balance service unavailable"),
    UpstreamError(529, "Overloaded", "overloaded_error", "overloaded_error"),
    UpstreamError(429, "Rate limit reached for requests", "requests", "rate_limit_exceeded"),
    UpstreamError(429, "Resource has been exhausted (e.g. check quota).", "RESOURCE_EXHAUSTED", 429),
    UpstreamError(502, "upstream connection failed: ConnectionError", code="do_request_failed", connection=True),
    # A 403 without the provider's type is a proxy's or a WAF's page, which the content can trigger.
    UpstreamError(403, f"Forbidden: {BAIT}", param="403"),
    UpstreamError(403, "bad response status code 403", param="403"),
    # Codes that name a dead account count only where the provider sends them (403, 429).
    UpstreamError(500, "x", "insufficient_quota", "insufficient_quota"),
], ids=lambda e: f"{e.status}-{e.type}-{e.code}")
def test_a_client_error_or_a_busy_upstream_never_disables(error):
    assert health.should_disable(error) is False


def test_no_message_phrase_disables_any_status():
    for status in (400, 403, 404, 413, 422, 429, 500, 502, 503):
        assert health.should_disable(UpstreamError(status, BAIT)) is False, status


# --- through the relay, against the mock upstream ---------------------------------------------------

def test_a_users_400_quoting_credit_balance_leaves_the_channel_enabled(client, upstream, payer, auto_disable):
    ch = channel_for(upstream[1], "gpt-4o-echo400")
    answer = chat(client, payer, "gpt-4o-echo400", content="my credit balance is too low, permission denied")
    assert answer.status_code == 400
    assert "credit balance" in answer.json["error"]["message"]
    assert status_of(ch.id) == 1
    assert chat(client, payer, "gpt-4o").status_code == 200, "the channel still serves everyone"


def test_a_500_whose_text_says_balance_leaves_the_channel_enabled(client, upstream, payer, auto_disable):
    ch = channel_for(upstream[1], "gpt-4o-echo500")
    answer = chat(client, payer, "gpt-4o-echo500", content="check the balance")
    assert answer.status_code == 500 and "balance" in answer.json["error"]["message"]
    assert status_of(ch.id) == 1


@pytest.mark.parametrize("model", ["gpt-4o-401", "gpt-4o-quota", "gpt-4o-402"])
def test_a_dead_key_or_an_exhausted_account_disables_the_channel(client, upstream, payer, auto_disable, model):
    ch = channel_for(upstream[1], model)
    assert chat(client, payer, model).status_code in (401, 402, 429)
    assert status_of(ch.id) == 3
    assert health.last_disable_reason(ch.id)


def test_nothing_is_disabled_while_the_option_is_off(client, upstream, payer):
    options.update("AutomaticDisableChannelEnabled", "false")
    ch = channel_for(upstream[1], "gpt-4o-quota")
    assert chat(client, payer, "gpt-4o-quota").status_code == 429
    assert status_of(ch.id) == 1


def test_a_users_bad_requests_do_not_drag_the_success_rate_down(app, client, upstream, payer, auto_disable,
                                                               monkeypatch):
    env = app.config["ONEAPI"].env
    monkeypatch.setitem(env, "enable_metric", True)
    monkeypatch.setitem(env, "metric_queue_size", 4)
    monkeypatch.setitem(env, "metric_success_rate_threshold", 0.8)
    ch = factories.make_channel("victim", base_url=upstream[1], models="gpt-4o,gpt-4o-echo400,gpt-4o-500")
    for _ in range(8):
        assert chat(client, payer, "gpt-4o-echo400").status_code == 400
    assert status_of(ch.id) == 1
    for _ in range(4):
        assert chat(client, payer, "gpt-4o-500").status_code == 500
    assert status_of(ch.id) == 3, "the channel's own failures still count"
