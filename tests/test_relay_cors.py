"""CORS: the bearer-key routes (`/v1/*`, `/dashboard/billing/*`, `/v1/dashboard/billing/*`) answer
browsers on every origin without credentials, preflights included and unauthenticated; `/api` and the
console send no CORS header at all."""

from __future__ import annotations

import pytest

from tests import factories

ORIGIN = "http://chat.example"
BILLING = ["/dashboard/billing/subscription", "/dashboard/billing/usage", "/v1/dashboard/billing/subscription",
           "/v1/dashboard/billing/usage"]


def preflight(client, path: str, method: str = "POST", headers: str = "authorization, content-type", **extra):
    return client.options(path, headers={"Origin": ORIGIN, "Access-Control-Request-Method": method,
                                         "Access-Control-Request-Headers": headers, **extra})


@pytest.fixture
def token(app):
    return factories.make_token(factories.make_user("payer", quota=1_000_000), remain_quota=500_000)


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/embeddings", "/v1/models", "/v1/audio/speech",
                                  "/v1/no/such/route", *BILLING])
def test_a_preflight_is_answered_without_a_key(client, path):
    answer = preflight(client, path, headers="authorization, content-type, x-stainless-os")
    assert answer.status_code == 204
    headers = answer.headers
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in headers
    assert {"POST", "GET", "OPTIONS"} <= {m.strip() for m in headers["Access-Control-Allow-Methods"].split(",")}
    allowed = {h.strip().lower() for h in headers["Access-Control-Allow-Headers"].split(",")}
    # `*` would not cover Authorization (Fetch standard): it is named.
    assert {"authorization", "content-type", "x-stainless-os"} <= allowed and "*" not in allowed
    assert int(headers["Access-Control-Max-Age"]) > 0


def test_a_preflight_echoes_only_header_names(client):
    answer = preflight(client, "/v1/chat/completions", headers="authorization, x-ok, bad header, x(y)")
    allowed = [h.strip() for h in answer.headers["Access-Control-Allow-Headers"].split(",")]
    assert "x-ok" in allowed and "bad header" not in allowed and "x(y)" not in allowed


def test_a_preflight_skips_the_rate_limit(app, client, monkeypatch):
    monkeypatch.setitem(app.config["ONEAPI"].env, "global_api_rate_limit", 1)
    for _ in range(3):
        assert preflight(client, "/dashboard/billing/usage", "GET").status_code == 204


def test_a_private_network_preflight_is_allowed(client):
    answer = preflight(client, "/v1/chat/completions", **{"Access-Control-Request-Private-Network": "true"})
    assert answer.headers["Access-Control-Allow-Private-Network"] == "true"


def test_relay_answers_carry_the_origin_and_expose_the_request_id(client, upstream, token):
    factories.make_channel(base_url=upstream[1])
    answer = client.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": [{"role": "user",
                                                                                         "content": "hi"}]},
                         headers={"Origin": ORIGIN, "Authorization": f"Bearer sk-{token.key}"})
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "x-oneapi-request-id" in answer.headers["Access-Control-Expose-Headers"].lower()


@pytest.mark.parametrize("path", ["/v1/models", "/v1/chat/completions", "/v1/no/such/route", *BILLING])
def test_refusals_on_the_relay_are_readable_cross_origin_too(client, path):
    answer = client.get(path, headers={"Origin": ORIGIN})
    assert answer.status_code in (401, 404, 405)
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("path", ["/api/user/self", "/api/status", "/api/user/login", "/", "/login",
                                  "/channel", "/static/css/app.css"])
def test_api_and_console_send_no_cors_headers(client, path):
    for answer in (client.get(path, headers={"Origin": ORIGIN}), preflight(client, path, "GET")):
        answer.close()
        assert not [h for h, _ in answer.headers.items() if h.lower().startswith("access-control-")], path


def test_a_logged_in_users_session_is_not_readable_cross_origin(user_client):
    assert user_client.get("/api/user/self").json["success"] is True
    answer = user_client.get("/api/user/self", headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in answer.headers
