"""Channel balances against a mock of each provider's balance endpoint (on 127.0.0.1, set as the
channel's base URL): the value each provider's JSON yields, saving it, errors, and the routes."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest

from oneapi.extensions import db
from oneapi.models import Channel
from oneapi.services import balances
from tests import factories
from tests.upstreams import balances as mock_balances
from tests.upstreams.server import serve

KEY = mock_balances.KEY


@pytest.fixture(scope="module")
def provider():
    app = mock_balances.create_app()
    with serve(app) as base:
        yield app, base


@pytest.fixture
def mock(app, provider):
    """The mock provider, reset to its healthy answers, beside the gateway app."""
    upstream, base = provider
    upstream.config.update(REQUESTS=[], HAS_PAYMENT_METHOD=True, SILICONFLOW_CODE=20000,
                           DEEPSEEK_CURRENCIES=("USD", "CNY"), AIPROXY_SUCCESS=True, OPENAI_SB_DATA=True)
    return upstream, base


def channel(base: str, prefix: str, channel_type: int, key: str = KEY, **fields) -> Channel:
    return factories.make_channel(f"{prefix}-{channel_type}", key=key, type=channel_type,
                                  base_url=f"{base}/{prefix}", **fields)


def saved(channel_id: int) -> Channel:
    db.session.commit()
    db.session.expire_all()
    return db.session.get(Channel, channel_id)


# OpenAI (1) and Custom (8): 120 USD hard limit - 2550 cents used.
CASES = [
    (1, "openai", 94.5),
    (8, "openai", 94.5),
    (4, "closeai", 7.5),
    (5, "openai-sb", 12.34),
    (10, "aiproxy", 88.8),
    (12, "api2gpt", 15.0),
    (13, "aigc2d", 3.25),
    (44, "siliconflow", 1.88),
    (36, "deepseek", 110.0),
    (20, "openrouter", 17.5),
]


@pytest.mark.parametrize(("channel_type", "prefix", "expected"), CASES, ids=[c[1] + str(c[0]) for c in CASES])
def test_balance_of_each_supported_type_is_read_and_saved(mock, channel_type, prefix, expected):
    _, base = mock
    ch = channel(base, prefix, channel_type)
    before = int(time.time())
    assert balances.update_balance(ch.id) == pytest.approx(expected)
    row = saved(ch.id)
    assert row.balance == pytest.approx(expected)
    assert row.balance_updated_time >= before


def test_openai_usage_window_is_this_month_for_paying_accounts(mock):
    app, base = mock
    ch = channel(base, "openai", 1)
    balances.update_balance(ch.id)
    paths = [r["path"] for r in app.config["REQUESTS"]]
    assert paths[0] == "/openai/v1/dashboard/billing/subscription?"
    assert f"start_date={date.today():%Y-%m}-01&end_date={date.today().isoformat()}" in paths[1]
    assert all(r["headers"]["Authorization"] == f"Bearer {KEY}" for r in app.config["REQUESTS"])


def test_openai_usage_window_is_100_days_without_a_payment_method(mock):
    app, base = mock
    app.config["HAS_PAYMENT_METHOD"] = False
    ch = channel(base, "openai", 1)
    # The mock refuses any other date window with a 400.
    assert balances.update_balance(ch.id) == pytest.approx(94.5)
    start = (date.today() - timedelta(days=100)).isoformat()
    assert f"start_date={start}&end_date={date.today().isoformat()}" in app.config["REQUESTS"][1]["path"]


def test_aiproxy_key_goes_in_the_api_key_header(mock):
    app, base = mock
    ch = channel(base, "aiproxy", 10)
    balances.update_balance(ch.id)
    headers = app.config["REQUESTS"][-1]["headers"]
    assert headers["Api-Key"] == KEY and "Authorization" not in headers


def test_openai_sb_sends_the_key_as_a_query_parameter(mock):
    app, base = mock
    ch = channel(base, "openai-sb", 5)
    balances.update_balance(ch.id)
    assert app.config["REQUESTS"][-1]["path"] == f"/openai-sb/sb-api/user/status?api_key={KEY}"


@pytest.mark.parametrize(("channel_type", "prefix"), [(1, "openai"), (4, "closeai"), (36, "deepseek"),
                                                      (20, "openrouter"), (44, "siliconflow")])
def test_rejected_key_is_a_status_code_error_and_nothing_is_saved(mock, channel_type, prefix):
    _, base = mock
    ch = channel(base, prefix, channel_type, key="sk-wrong")
    with pytest.raises(balances.BalanceError) as caught:
        balances.update_balance(ch.id)
    assert caught.value.text() == "status code: 401"
    assert saved(ch.id).balance_updated_time in (None, 0)


@pytest.mark.parametrize(("setting", "value", "channel_type", "prefix", "message"), [
    ("SILICONFLOW_CODE", 30001, 44, "siliconflow", "code: 30001, message: account frozen"),
    ("DEEPSEEK_CURRENCIES", ("USD",), 36, "deepseek", "currency CNY not found"),
    ("AIPROXY_SUCCESS", False, 10, "aiproxy", "code: 10001, message: invalid api key"),
    ("OPENAI_SB_DATA", False, 5, "openai-sb", "user not found"),
])
def test_provider_refusals_in_the_body_are_errors(mock, setting, value, channel_type, prefix, message):
    app, base = mock
    app.config[setting] = value
    ch = channel(base, prefix, channel_type)
    with pytest.raises(balances.BalanceError) as caught:
        balances.update_balance(ch.id)
    assert caught.value.text() == message


def test_unsupported_type_says_not_implemented(mock):
    _, base = mock
    ch = channel(base, "openai", 3)  # Azure
    with pytest.raises(balances.BalanceError) as caught:
        balances.update_balance(ch.id)
    assert caught.value.text() == "渠道类型 Azure 不支持余额查询"
    assert mock[0].config["REQUESTS"] == []


def test_custom_channel_without_base_url_is_refused(app):
    ch = factories.make_channel("custom", type=8, base_url="")
    with pytest.raises(balances.BalanceError) as caught:
        balances.update_balance(ch.id)
    assert "Base URL" in caught.value.text()


def test_update_all_refreshes_enabled_supported_channels(mock):
    _, base = mock
    good = [channel(base, "deepseek", 36), channel(base, "openrouter", 20)]
    failing = channel(base, "openai", 1, key="sk-wrong")
    disabled = channel(base, "closeai", 4, status=2)
    unsupported = channel(base, "openai", 3)
    assert balances.update_all() == 2
    assert [saved(c.id).balance for c in good] == [pytest.approx(110.0), pytest.approx(17.5)]
    for other in (failing, disabled, unsupported):
        assert saved(other.id).balance_updated_time in (None, 0)


def test_balance_route_answers_in_one_api_shape(mock, admin_client):
    _, base = mock
    ch = channel(base, "openrouter", 20)
    body = admin_client.get(f"/api/channel/update_balance/{ch.id}").json
    assert body["success"] is True and body["message"] == ""
    assert body["balance"] == pytest.approx(17.5)
    refused = admin_client.get(f"/api/channel/update_balance/{channel(base, 'x', 3).id}").json
    assert refused == {"success": False, "message": "渠道类型 Azure 不支持余额查询"}


def test_update_all_route_reports_how_many_were_updated(mock, admin_client):
    _, base = mock
    channel(base, "deepseek", 36)
    channel(base, "openai", 1, key="sk-wrong")
    body = admin_client.get("/api/channel/update_balance").json
    assert body == {"success": True, "message": "", "data": 1}


def test_common_user_cannot_update_balances(mock, user_client):
    app, base = mock
    ch = channel(base, "deepseek", 36)
    for path in (f"/api/channel/update_balance/{ch.id}", "/api/channel/update_balance"):
        assert user_client.get(path).json == {"success": False, "message": "无权进行此操作，权限不足"}
    assert app.config["REQUESTS"] == []
    assert saved(ch.id).balance_updated_time in (None, 0)
