"""Everything `/v1` and the billing routes answer as an error is in OpenAI's format
(`{"error": {message, type, param, code}}`): the framework's own refusals (405, 413) and unexpected
failures included, unknown paths keeping One API's text; `/api` keeps its envelope."""

from __future__ import annotations

import pytest

from oneapi.relay import catalogview
from oneapi.services import options
from tests import factories


def assert_openai_error(answer, status: int, code: str | None = None) -> dict:
    assert answer.status_code == status, answer.get_data(as_text=True)
    body = answer.json
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/chat/completions"), ("PUT", "/v1/embeddings"),
                                              ("POST", "/v1/models"), ("POST", "/dashboard/billing/usage"),
                                              ("DELETE", "/v1/dashboard/billing/subscription")])
def test_a_wrong_method_is_a_405_in_openai_format(client, method, path):
    error = assert_openai_error(client.open(path, method=method), 405, "method_not_allowed")
    assert error["type"] == "invalid_request_error" and "request id" in error["message"]


def test_an_unknown_relay_path_keeps_one_apis_text(client):
    error = assert_openai_error(client.post("/v1/no/such/thing"), 404, "")
    assert error["message"] == "Invalid URL (POST /v1/no/such/thing)"


def test_an_unexpected_failure_on_the_relay_is_a_500_in_openai_format(client, monkeypatch):
    token = factories.make_token(factories.make_user("payer", quota=10))

    def broken():
        raise RuntimeError("secret internals")
    monkeypatch.setattr(catalogview, "list_models", broken)
    answer = client.get("/v1/models", headers={"Authorization": f"Bearer sk-{token.key}"})
    error = assert_openai_error(answer, 500, "internal_error")
    assert error["type"] == "one_api_error" and "secret internals" not in error["message"]


def test_a_rate_limited_billing_route_answers_in_openai_format(app, client, monkeypatch):
    monkeypatch.setitem(app.config["ONEAPI"].env, "global_api_rate_limit", 1)
    options.load()
    answers = [client.get("/dashboard/billing/usage") for _ in range(3)]
    assert_openai_error(answers[-1], 429)


def test_api_errors_keep_the_envelope(client):
    answer = client.put("/api/status")
    assert answer.status_code == 405 and answer.json["success"] is False
    assert client.get("/api/no/such/thing").json["error"]["message"] == "Invalid URL (GET /api/no/such/thing)"
