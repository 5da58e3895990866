"""RELAY_PROXY and RELAY_TIMEOUT: upstream calls go through the configured proxy and give up on time."""

from __future__ import annotations

import json

from oneapi.app import create_app
from oneapi.extensions import db
from oneapi.relay import http
from tests import factories
from tests.conftest import make_config
from tests.upstreams import openai as mock_openai
from tests.upstreams.server import serve

BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def build(tmp_path, base_url, **env):
    application = create_app(make_config("sqlite", tmp_path, **env))
    with application.app_context():
        key = factories.make_token(factories.make_user("payer", quota=1_000_000), remain_quota=100_000).key
        factories.make_channel(base_url=base_url)
        db.session.remove()
    return application, {"Authorization": f"Bearer sk-{key}"}


def test_upstream_calls_go_through_relay_proxy(tmp_path):
    upstream = mock_openai.create_app()
    with serve(upstream) as proxy:
        # The channel's host does not resolve: only a request sent through the proxy can succeed.
        application, headers = build(tmp_path, "http://upstream.invalid", RELAY_PROXY=proxy)
        try:
            answer = application.test_client().post("/v1/chat/completions", json=BODY, headers=headers)
        finally:
            http._sessions.pop(proxy, None)
    assert answer.status_code == 200 and answer.json["choices"][0]["message"]["content"]
    assert upstream.config["REQUESTS"][-1]["path"] == "/v1/chat/completions?"


def test_a_stalled_stream_is_cut_after_relay_timeout(tmp_path):
    upstream = mock_openai.create_app(chunk_delay=3.0, words=3)
    with serve(upstream) as base:
        application, headers = build(tmp_path, base, RELAY_TIMEOUT="1")
        response = application.test_client().post("/v1/chat/completions", json={**BODY, "stream": True},
                                                   headers=headers, buffered=False)
        events = [e[6:] for e in b"".join(response.response).decode().split("\n\n") if e.startswith("data: ")]
    assert events[-1] == "[DONE]" and "error" in json.loads(events[-2])


def test_environment_proxies_are_read_once_at_session_creation(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    fresh = http._new_session("")
    assert fresh.proxies == {"https": "http://127.0.0.1:3128", "no_proxy": "localhost,127.0.0.1"}
    assert fresh.trust_env is False
