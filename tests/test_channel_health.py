"""Channel health: automatic disabling from relay errors and the success-rate window, channel tests
(single and batch) against mock OpenAI upstreams on 127.0.0.1, and the One API routes for them."""

from __future__ import annotations

import socket
import time

import pytest
import sqlalchemy as sa
from flask import Flask, jsonify, request

from oneapi.errors import Invalid
from oneapi.extensions import db
from oneapi.models import Ability, Channel, Log
from oneapi.relay import health
from oneapi.relay.errors import UpstreamError
from oneapi.services import channeltests, options
from tests import factories
from tests.upstreams import openai as mock_openai
from tests.upstreams.server import serve

NO_PERMISSION = "无权进行此操作，权限不足"
REPLY = "w0 w1 w2 w3 w4 "
WRONG_KEY_MESSAGE = "Incorrect API key provided: sk-up***."


@pytest.fixture(scope="module")
def upstream():
    app = mock_openai.create_app()
    with serve(app) as base:
        yield app, base


@pytest.fixture(scope="module")
def slow_upstream():
    app = mock_openai.create_slow_app(0.4)
    with serve(app) as base:
        yield app, base


@pytest.fixture(scope="module")
def odd_upstream():
    """An OpenAI-compatible upstream whose 200 answers carry no reply text."""
    app = Flask("odd-upstream")

    @app.post("/v1/chat/completions")
    def chat():
        model = request.get_json()["model"]
        message = {"role": "assistant", "content": None,
                   "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}
        choices = [] if model == "no-choices" else [{"index": 0, "message": message, "finish_reason": "tool_calls"}]
        return jsonify(id="chatcmpl-1", object="chat.completion", created=1, model=model, choices=choices,
                       usage={"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4})

    with serve(app) as base:
        yield base


@pytest.fixture(autouse=True)
def clean_state(app, upstream, slow_upstream):
    """Empty success-rate windows and upstream request logs; no batch test left running."""
    health.forget_metrics()
    upstream[0].config["REQUESTS"].clear()
    slow_upstream[0].config["REQUESTS"].clear()
    yield
    wait_for_batch()


@pytest.fixture
def payer(app):
    user = factories.make_user("payer", quota=1_000_000)
    return factories.make_token(user, remain_quota=500_000)


@pytest.fixture
def metric(app, monkeypatch):
    """ENABLE_METRIC with a window of 4 requests and an 80 % threshold."""
    env = app.config["ONEAPI"].env
    monkeypatch.setitem(env, "enable_metric", True)
    monkeypatch.setitem(env, "metric_queue_size", 4)
    monkeypatch.setitem(env, "metric_success_rate_threshold", 0.8)


def channel(base: str, name: str = "ch", **fields) -> Channel:
    values = {"base_url": base, "models": "gpt-4o,gpt-4o-mini,gpt-4o-500"}
    return factories.make_channel(name, **{**values, **fields})


def chat(client, token, model: str = "gpt-4o"):
    return client.post("/v1/chat/completions", json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
                       headers={"Authorization": f"Bearer sk-{token.key}"})


def fresh(channel_id: int) -> Channel:
    db.session.commit()
    db.session.expire_all()
    return db.session.get(Channel, channel_id)


def logs_of(kind: int, channel_id: int) -> list[Log]:
    db.session.commit()
    query = sa.select(Log).where(Log.type == kind, Log.channel_id == channel_id).order_by(Log.id)
    return list(db.session.scalars(query))


def abilities_enabled(channel_id: int) -> set[bool]:
    return set(db.session.scalars(sa.select(Ability.enabled).where(Ability.channel_id == channel_id)))


def enable_auto(disable: bool = True, enable: bool = False) -> None:
    options.update("AutomaticDisableChannelEnabled", "true" if disable else "false")
    options.update("AutomaticEnableChannelEnabled", "true" if enable else "false")


def wait_for_batch(timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while channeltests.batch_running():
        assert time.monotonic() < deadline, "the batch test did not finish"
        time.sleep(0.02)


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- which errors are fatal -------------------------------------------------------------------------

@pytest.mark.parametrize("error", [
    # The rule table is in oneapi/relay/health.py; tests/test_channel_auto_disable.py covers it.
    UpstreamError(401, "whatever"),
    UpstreamError(429, "x", "insufficient_quota", "insufficient_quota"),
    UpstreamError(403, "x", "authentication_error"),
    UpstreamError(403, "x", "permission_error"),
    UpstreamError(403, "x", "forbidden"),
    UpstreamError(403, "x", "invalid_request_error", "account_deactivated"),
    UpstreamError(402, "账户已欠费"),
], ids=lambda e: f"{e.status}-{e.type}-{e.code}-{e.message[:20]}")
def test_errors_proving_a_channel_dead_are_fatal(error):
    assert health.should_disable(error) is True


@pytest.mark.parametrize("error", [
    UpstreamError(429, "Rate limit reached for requests", "requests", "rate_limit_exceeded"),
    UpstreamError(500, "The server had an error while processing your request.", "server_error"),
    UpstreamError(400, "'messages' is a required property", "invalid_request_error"),
    UpstreamError(502, "upstream connection failed: ConnectionError", code="do_request_failed", connection=True),
    UpstreamError(400, "x", "invalid_request_error", 400),
    # A message is never proof (providers quote the client's input), and a 400 is the client's own request.
    UpstreamError(400, "Your credit balance is too low to access the API"),
    UpstreamError(403, "Your organization has been disabled."),
    UpstreamError(400, "x", "insufficient_quota"),
], ids=lambda e: f"{e.status}-{e.type}")
def test_busy_or_broken_answers_are_not_fatal(error):
    assert health.should_disable(error) is False


# --- automatic disabling from relay errors ------------------------------------------------------------

def test_upstream_401_disables_the_channel_when_the_option_is_on(client, upstream, payer):
    enable_auto(disable=True)
    ch = channel(upstream[1], key="sk-wrong")
    response = chat(client, payer)
    assert response.status_code == 401
    row = fresh(ch.id)
    assert row.status == 3
    assert abilities_enabled(ch.id) == {False}
    # The relay cache was dropped: the next request finds no channel instead of the dead one.
    assert chat(client, payer).status_code == 503
    assert len(upstream[0].config["REQUESTS"]) == 1


def test_disable_reason_is_a_system_log_row_and_readable(client, upstream, payer):
    enable_auto(disable=True)
    ch = channel(upstream[1], "dead", key="sk-wrong")
    chat(client, payer)
    [row] = logs_of(4, ch.id)
    assert row.content == f"渠道「dead」（#{ch.id}）已被禁用，原因：{WRONG_KEY_MESSAGE}"
    assert row.user_id == 0 and row.username == ""
    assert health.last_disable_reason(ch.id) == WRONG_KEY_MESSAGE


def test_upstream_401_leaves_the_channel_alone_when_the_option_is_off(client, upstream, payer):
    enable_auto(disable=False)
    ch = channel(upstream[1], key="sk-wrong")
    assert chat(client, payer).status_code == 401
    assert fresh(ch.id).status == 1
    assert logs_of(4, ch.id) == []
    assert health.last_disable_reason(ch.id) is None


def test_server_errors_do_not_disable(client, upstream, payer):
    enable_auto(disable=True)
    ch = channel(upstream[1])
    assert chat(client, payer, "gpt-4o-500").status_code == 500
    assert fresh(ch.id).status == 1


def test_manually_disabled_channel_is_not_turned_auto_disabled(app, upstream):
    enable_auto(disable=True)
    ch = channel(upstream[1], status=2)
    assert health.disable_channel(ch.id, "late failure") is False
    assert fresh(ch.id).status == 2
    assert health.last_disable_reason(ch.id) is None


def test_last_disable_reason_is_the_newest(app, upstream):
    ch = channel(upstream[1])
    assert health.disable_channel(ch.id, "first")
    assert health.enable_channel(ch.id)
    assert health.disable_channel(ch.id, "second")
    assert health.last_disable_reason(ch.id) == "second"
    assert [r.content for r in logs_of(4, ch.id)][1] == f"渠道「ch」（#{ch.id}）已被启用"


# --- the ENABLE_METRIC success-rate window --------------------------------------------------------------

def test_success_rate_below_threshold_disables_once_the_window_is_full(client, upstream, payer, metric):
    enable_auto(disable=True)
    ch = channel(upstream[1])
    assert chat(client, payer).status_code == 200
    for _ in range(2):
        assert chat(client, payer, "gpt-4o-500").status_code == 500
    assert fresh(ch.id).status == 1, "3 outcomes do not fill a window of 4"
    assert chat(client, payer, "gpt-4o-500").status_code == 500
    assert fresh(ch.id).status == 3
    assert health.last_disable_reason(ch.id) == \
        f"该渠道（#{ch.id}）在最近 4 次调用中成功率为 25.00%，低于阈值 80.00%"


def test_success_rate_needs_the_auto_disable_option(client, upstream, payer, metric):
    """Unlike One API, the success rate disables only when AutomaticDisableChannelEnabled is on."""
    enable_auto(disable=False)
    ch = channel(upstream[1])
    for _ in range(6):
        assert chat(client, payer, "gpt-4o-500").status_code == 500
    assert fresh(ch.id).status == 1


def test_window_keeps_the_last_outcomes_and_empties_after_a_verdict():
    window = health.SuccessWindow()
    assert [window.add(7, ok, 4, 0.5) for ok in (True, True, False, False)] == [None] * 4
    # 2 of 4 = 50 % is not below the threshold; the oldest success falls out with the next failure.
    assert window.add(7, False, 4, 0.5) == pytest.approx(0.25)
    assert window.add(7, False, 4, 0.5) is None, "the window was emptied"


# --- testing one channel -----------------------------------------------------------------------------

def test_channel_test_success_records_the_time_and_a_test_log(app, upstream):
    ch = channel(upstream[1], "main")
    ch.response_time, ch.test_time = 99999, 1
    db.session.commit()
    before = int(time.time())
    result = channeltests.test_channel(ch.id)
    assert (result.success, result.message, result.model) == (True, REPLY, "gpt-4o")
    assert 0 < result.seconds < 5
    sent = upstream[0].config["REQUESTS"][-1]
    assert sent["path"] == "/v1/chat/completions?"
    assert sent["body"] == {"model": "gpt-4o", "messages": [{"role": "user",
                                                               "content": app.config["ONEAPI"].test_prompt}]}
    row = fresh(ch.id)
    assert row.response_time == int(result.seconds * 1000) and row.response_time != 99999
    assert row.test_time >= before and row.status == 1
    [log] = logs_of(5, ch.id)
    assert log.content == f"渠道 main 测试成功，响应：{REPLY}"
    assert log.model_name == "gpt-4o" and log.elapsed_time == row.response_time


@pytest.mark.parametrize(("asked", "tested"), [("gpt-4o-mini", "gpt-4o-mini"), ("gpt-4", "gpt-4o"),
                                               ("", "gpt-4o"), ("claude-3", "gpt-4o")])
def test_requested_model_is_used_only_when_the_channel_lists_it_exactly(app, upstream, asked, tested):
    ch = channel(upstream[1])
    assert channeltests.test_channel(ch.id, asked).model == tested
    assert upstream[0].config["REQUESTS"][-1]["body"]["model"] == tested


def test_model_mapping_applies_to_the_tested_model(app, upstream):
    ch = channel(upstream[1], model_mapping='{"gpt-4o": "gpt-4o-mini"}')
    result = channeltests.test_channel(ch.id)
    assert result.success and result.model == "gpt-4o-mini"
    assert upstream[0].config["REQUESTS"][-1]["body"]["model"] == "gpt-4o-mini"


def test_failing_test_reports_the_upstream_error_and_keeps_the_status(app, upstream):
    enable_auto(disable=True)
    ch = channel(upstream[1], "bad", key="sk-wrong")
    ch.response_time = 1234
    db.session.commit()
    result = channeltests.test_channel(ch.id)
    assert result.success is False
    assert result.message == f"http status code: 401, error message: {WRONG_KEY_MESSAGE}"
    assert isinstance(result.error, UpstreamError) and result.error.code == "invalid_api_key"
    row = fresh(ch.id)
    assert row.response_time == 0 and row.status == 1, "a single test never changes the status"
    [log] = logs_of(5, ch.id)
    assert log.content == f"渠道 bad 测试失败，错误：{result.message}"


def test_unreachable_upstream_is_a_failed_test(app):
    ch = channel(closed_port_url())
    result = channeltests.test_channel(ch.id)
    # The relay's own words for it: every upstream call fails alike.
    assert result.success is False and result.message == "upstream connection failed: ConnectionError"
    assert result.error is not None and result.error.connection


@pytest.mark.parametrize(("model", "message"), [("no-choices", "response has no choices"),
                                                ("tool-call", "response is not string")])
def test_reply_without_text_is_a_failed_test(app, odd_upstream, model, message):
    ch = channel(odd_upstream, models=model)
    result = channeltests.test_channel(ch.id)
    assert (result.success, result.message) == (False, message)


# --- the batch test -----------------------------------------------------------------------------------

def test_batch_disables_slow_and_dead_channels_and_revives_auto_disabled_ones(app, upstream, slow_upstream):
    enable_auto(disable=True, enable=True)
    options.update("ChannelDisableThreshold", "0.2")
    healthy = channel(upstream[1], "healthy")
    slow = channel(slow_upstream[1], "slow")
    dead = channel(upstream[1], "dead", key="sk-wrong")
    revived = channel(upstream[1], "revived", status=3)
    manual = channel(upstream[1], "manual", status=2)
    assert channeltests.test_all("all", wait=True) == 5
    assert fresh(healthy.id).status == 1
    assert fresh(slow.id).status == 3
    assert health.last_disable_reason(slow.id).startswith("响应时间 0.")
    assert health.last_disable_reason(slow.id).endswith("s 超过阈值 0.20s")
    assert fresh(dead.id).status == 3
    assert health.last_disable_reason(dead.id) == f"http status code: 401, error message: {WRONG_KEY_MESSAGE}"
    assert fresh(revived.id).status == 1 and abilities_enabled(revived.id) == {True}
    assert fresh(manual.id).status == 2, "a manually disabled channel stays disabled (One API re-enabled it)"
    assert all(len(logs_of(5, c.id)) == 1 for c in (healthy, slow, dead, revived, manual))


def test_batch_changes_nothing_when_the_options_are_off(app, upstream, slow_upstream):
    enable_auto(disable=False, enable=False)
    options.update("ChannelDisableThreshold", "0.2")
    slow = channel(slow_upstream[1], "slow")
    dead = channel(upstream[1], "dead", key="sk-wrong")
    revived = channel(upstream[1], "revived", status=3)
    channeltests.test_all("all", wait=True)
    assert [fresh(c.id).status for c in (slow, dead, revived)] == [1, 1, 3]
    assert fresh(slow.id).response_time >= 400


def test_zero_threshold_never_disables_for_slowness(app, slow_upstream):
    enable_auto(disable=True)
    options.update("ChannelDisableThreshold", "0")
    slow = channel(slow_upstream[1], "slow")
    channeltests.test_all("all", wait=True)
    assert fresh(slow.id).status == 1


def test_disabled_scope_tests_only_disabled_channels(app, upstream):
    enable_auto(enable=True)
    enabled = channel(upstream[1], "on")
    auto = channel(upstream[1], "auto", status=3)
    assert channeltests.test_all("disabled", wait=True) == 1
    assert fresh(auto.id).status == 1
    assert fresh(enabled.id).test_time in (None, 0)


def test_unknown_scope_is_refused(app):
    with pytest.raises(Invalid, match="无效的参数"):
        channeltests.test_all("everything")


# --- the routes ---------------------------------------------------------------------------------------

def test_test_route_answers_in_one_api_shape(upstream, admin_client):
    ch = channel(upstream[1])
    body = admin_client.get(f"/api/channel/test/{ch.id}?model=gpt-4o-mini").json
    assert set(body) == {"success", "message", "time", "modelName"}
    assert body["success"] is True and body["message"] == REPLY and body["modelName"] == "gpt-4o-mini"
    assert isinstance(body["time"], float) and body["time"] > 0


def test_test_route_reports_a_failure(upstream, admin_client):
    ch = channel(upstream[1], key="sk-wrong")
    body = admin_client.get(f"/api/channel/test/{ch.id}").json
    assert body["success"] is False and body["modelName"] == "gpt-4o"
    assert body["message"] == f"http status code: 401, error message: {WRONG_KEY_MESSAGE}"


def test_test_route_of_a_missing_channel(admin_client):
    assert admin_client.get("/api/channel/test/999999").json == {"success": False, "message": "渠道不存在"}


def test_batch_route_runs_in_the_background_one_batch_at_a_time(slow_upstream, admin_client):
    enable_auto(disable=True)
    options.update("ChannelDisableThreshold", "0.2")
    slow = channel(slow_upstream[1], "slow")
    assert admin_client.get("/api/channel/test?scope=all").json == {"success": True, "message": "", "data": None}
    assert channeltests.batch_running(), "the route answered before the batch finished"
    assert admin_client.get("/api/channel/test").json == {"success": False, "message": "测试已在运行中"}
    wait_for_batch()
    assert fresh(slow.id).status == 3
    assert len(slow_upstream[0].config["REQUESTS"]) == 1


def test_batch_route_refuses_an_unknown_scope(admin_client):
    assert admin_client.get("/api/channel/test?scope=some").json == {"success": False, "message": "无效的参数"}


def test_common_user_cannot_test_channels(upstream, user_client):
    ch = channel(upstream[1])
    for path in (f"/api/channel/test/{ch.id}", "/api/channel/test?scope=all"):
        assert user_client.get(path).json == {"success": False, "message": NO_PERMISSION}
    assert not channeltests.batch_running()
    assert upstream[0].config["REQUESTS"] == []
    assert fresh(ch.id).test_time in (None, 0)
