"""API-key authentication of the relay (`/v1`, `/dashboard/billing`) through the Flask test client against
the mock OpenAI upstream: key forms, every refusal with One API's message and status, subnets behind
trusted proxies, channel pinning, the 501 routes, `/v1/models`, the billing routes and unknown paths."""

from __future__ import annotations

import json
import re
import time

import pytest
import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import Channel, Log, Token
from oneapi.services import options
from tests import factories

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
ERROR_KEYS = {"message", "type", "param", "code"}


@pytest.fixture
def base(upstream, app):
    """The mock upstream's base URL, with a default-group channel serving gpt-4o and gpt-4o-mini."""
    return upstream[1]


@pytest.fixture
def served(base):
    return channel(base)


@pytest.fixture
def alice(app):
    return factories.make_user("alice", quota=1_000_000)


@pytest.fixture
def boss(app):
    return factories.make_user("boss", role=10, quota=1_000_000)


def make_key(user, **fields) -> Token:
    """A key with enough quota for a chat reservation unless told otherwise."""
    return factories.make_token(user, **{"remain_quota": 500_000, **fields})


def channel(base, **fields):
    values = {"base_url": base, "models": "gpt-4o,gpt-4o-mini,gpt-4o-429,gpt-4o-500"}
    return factories.make_channel(**{**values, **fields})


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def chat(client, headers, body=CHAT, **kwargs):
    return client.post("/v1/chat/completions", json=body, headers=headers, **kwargs)


def assert_error(response, status: int, message: str) -> dict:
    """The OpenAI error envelope with `(request id: <id>)` matching the response's request id header."""
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.json["error"]
    assert set(error) == ERROR_KEYS
    request_id = response.headers["X-Oneapi-Request-Id"]
    assert re.fullmatch(r"\d{23,}", request_id)
    assert error["message"] == f"{message} (request id: {request_id})"
    return error


def token_status(token: Token) -> int:
    db.session.expire_all()
    return db.session.get(Token, token.id).status


# -- key forms ---------------------------------------------------------------------------------------


def test_bearer_sk_key_is_accepted_and_relayed(client, served, upstream_app, alice):
    token = make_key(alice)
    response = chat(client, bearer(f"sk-{token.key}"))
    assert response.status_code == 200, response.json
    assert response.json["choices"][0]["message"]["content"] == "w0 w1 w2 w3 w4 "
    assert upstream_app.config["REQUESTS"][-1]["headers"]["Authorization"] == "Bearer sk-upstream"


def test_key_without_sk_prefix_is_accepted(client, served, alice):
    token = make_key(alice)
    assert chat(client, bearer(token.key)).status_code == 200


def test_missing_authorization_is_refused(client, served):
    error = assert_error(chat(client, {}), 401, "未提供令牌")
    assert error["type"] == "one_api_error"


def test_bearer_with_empty_key_is_refused(client, served):
    assert_error(chat(client, {"Authorization": "Bearer sk-"}), 401, "未提供令牌")


def test_unknown_key_is_refused(client, served, upstream_app):
    assert_error(chat(client, bearer("sk-" + "x" * 48)), 401, "无效的令牌")
    assert upstream_app.config["REQUESTS"] == []


def test_request_ids_differ_between_requests(client, served):
    first, second = chat(client, {}), chat(client, {})
    assert first.headers["X-Oneapi-Request-Id"] != second.headers["X-Oneapi-Request-Id"]


# -- key state ---------------------------------------------------------------------------------------


def test_disabled_key_is_refused(client, served, alice):
    token = make_key(alice, status=2)
    assert_error(chat(client, bearer(f"sk-{token.key}")), 401, "该令牌状态不可用")


def test_expired_status_key_is_refused(client, served, alice):
    token = make_key(alice, status=3)
    assert_error(chat(client, bearer(f"sk-{token.key}")), 401, "该令牌已过期")


def test_exhausted_status_key_names_itself(client, served, alice):
    token = make_key(alice, name="my key", status=4)
    assert_error(chat(client, bearer(f"sk-{token.key}")), 401, f"令牌 my key（#{token.id}）额度已用尽")


def test_key_past_its_expiry_is_refused_and_marked_expired(client, served, upstream_app, alice):
    token = make_key(alice, expired_time=int(time.time()) - 60)
    assert_error(chat(client, bearer(f"sk-{token.key}")), 401, "该令牌已过期")
    assert token_status(token) == 3
    assert upstream_app.config["REQUESTS"] == []
    assert_error(chat(client, bearer(f"sk-{token.key}")), 401, "该令牌已过期")


def test_key_with_a_future_expiry_works(client, served, alice):
    token = make_key(alice, expired_time=int(time.time()) + 3600)
    assert chat(client, bearer(f"sk-{token.key}")).status_code == 200
    assert token_status(token) == 1


def test_limited_key_without_quota_is_refused_and_marked_exhausted(client, served, upstream_app, alice):
    token = make_key(alice, name="empty", remain_quota=0)
    assert_error(chat(client, bearer(f"sk-{token.key}")), 401, "该令牌额度已用尽")
    assert token_status(token) == 4
    assert upstream_app.config["REQUESTS"] == []
    # From now on the key's status speaks.
    assert_error(chat(client, bearer(f"sk-{token.key}")), 401, f"令牌 empty（#{token.id}）额度已用尽")


def test_limited_key_with_negative_quota_is_refused(client, served, alice):
    token = make_key(alice, remain_quota=-5)
    assert_error(chat(client, bearer(f"sk-{token.key}")), 401, "该令牌额度已用尽")
    assert token_status(token) == 4


def test_unlimited_key_without_quota_works(client, served, alice):
    token = make_key(alice, unlimited_quota=True, remain_quota=0)
    assert chat(client, bearer(f"sk-{token.key}")).status_code == 200
    assert token_status(token) == 1


@pytest.mark.parametrize("status", [2, 3])
def test_disabled_or_deleted_user_is_refused(client, served, status):
    user = factories.make_user("banned", quota=1_000_000, status=status)
    token = make_key(user)
    assert_error(chat(client, bearer(f"sk-{token.key}")), 403, "用户已被封禁")


# -- model scope -------------------------------------------------------------------------------------


def test_key_model_scope_refuses_other_models(client, served, upstream_app, alice):
    token = make_key(alice, models="gpt-4o-mini")
    assert_error(chat(client, bearer(f"sk-{token.key}")), 403, "该令牌无权使用模型：gpt-4o")
    assert upstream_app.config["REQUESTS"] == []
    allowed = chat(client, bearer(f"sk-{token.key}"), {**CHAT, "model": "gpt-4o-mini"})
    assert allowed.status_code == 200


def test_models_list_is_the_scope_within_the_group(client, base, alice):
    channel(base, models="gpt-4o,gpt-4o-mini,my-model")
    channel(base, name="vip", group="vip", models="vip-only")
    token = make_key(alice, models="gpt-4o,my-model,vip-only,not-served")
    response = client.get("/v1/models", headers=bearer(f"sk-{token.key}"))
    assert response.status_code == 200
    assert response.json["object"] == "list"
    assert sorted(m["id"] for m in response.json["data"]) == ["gpt-4o", "my-model"]


def test_models_list_without_scope_is_the_group(client, base, alice):
    channel(base, models="gpt-4o,gpt-4o-mini,my-model")
    channel(base, name="vip", group="vip", models="vip-only")
    channel(base, name="off", models="disabled-model", status=2)
    token = make_key(alice)
    data = client.get("/v1/models", headers=bearer(f"sk-{token.key}")).json["data"]
    assert sorted(m["id"] for m in data) == ["gpt-4o", "gpt-4o-mini", "my-model"]
    by_id = {m["id"]: m for m in data}
    assert by_id["gpt-4o"]["object"] == "model" and by_id["gpt-4o"]["owned_by"] == "openai"
    assert by_id["gpt-4o"]["root"] == "gpt-4o" and by_id["gpt-4o"]["parent"] is None
    assert by_id["my-model"]["owned_by"] == "custom"


def test_models_list_needs_a_key(client, served):
    assert_error(client.get("/v1/models"), 401, "未提供令牌")
    assert_error(client.get("/v1/models", headers=bearer("sk-nope")), 401, "无效的令牌")


def test_retrieve_a_reachable_model(client, base, alice):
    channel(base, models="gpt-4o,my-model")
    token = make_key(alice)
    response = client.get("/v1/models/gpt-4o", headers=bearer(f"sk-{token.key}"))
    assert response.status_code == 200
    assert response.json["id"] == "gpt-4o" and response.json["object"] == "model"
    custom = client.get("/v1/models/my-model", headers=bearer(f"sk-{token.key}"))
    assert custom.status_code == 200 and custom.json["owned_by"] == "custom"


@pytest.mark.parametrize("model", ["no-such-model", "gpt-4-turbo", "gpt-4o-mini"])
def test_retrieve_an_unknown_or_unreachable_model_is_404(client, base, alice, model):
    channel(base, models="gpt-4o,gpt-4o-mini")
    # gpt-4-turbo is in the catalogue but no channel serves it; gpt-4o-mini is outside the key's scope.
    token = make_key(alice, models="gpt-4o")
    response = client.get(f"/v1/models/{model}", headers=bearer(f"sk-{token.key}"))
    error = assert_error(response, 404, f"The model '{model}' does not exist")
    assert error["code"] == "model_not_found" and error["type"] == "invalid_request_error"
    assert error["param"] == "model"


# -- subnets -----------------------------------------------------------------------------------------


def subnet_chat(client, token, peer: str, forwarded: str | None = None):
    headers = bearer(f"sk-{token.key}")
    if forwarded is not None:
        headers["X-Forwarded-For"] = forwarded
    return chat(client, headers, environ_base={"REMOTE_ADDR": peer})


IPV4_SUBNETS = "10.0.0.0/8,192.168.1.0/24"


@pytest.mark.parametrize("peer", ["10.20.30.40", "192.168.1.200"])
def test_ipv4_subnet_list_admits_a_direct_client_inside(client, served, alice, peer):
    token = make_key(alice, subnet=IPV4_SUBNETS)
    assert subnet_chat(client, token, peer).status_code == 200


def test_ipv4_subnet_list_refuses_a_direct_client_outside(client, served, upstream_app, alice):
    token = make_key(alice, subnet=IPV4_SUBNETS)
    assert_error(subnet_chat(client, token, "192.168.2.1"), 403,
                 f"该令牌只能在指定网段使用：{IPV4_SUBNETS}，当前 ip：192.168.2.1")
    assert upstream_app.config["REQUESTS"] == []


def test_forwarded_address_from_a_trusted_proxy_is_the_client(client, served, alice):
    token = make_key(alice, subnet=IPV4_SUBNETS)
    assert subnet_chat(client, token, "127.0.0.1", "10.1.2.3").status_code == 200
    assert_error(subnet_chat(client, token, "127.0.0.1", "172.16.0.9"), 403,
                 f"该令牌只能在指定网段使用：{IPV4_SUBNETS}，当前 ip：172.16.0.9")


def test_forwarded_address_from_a_foreign_peer_is_ignored(client, served, alice):
    token = make_key(alice, subnet=IPV4_SUBNETS)
    response = subnet_chat(client, token, "203.0.113.7", "10.1.2.3")
    assert_error(response, 403, f"该令牌只能在指定网段使用：{IPV4_SUBNETS}，当前 ip：203.0.113.7")


def test_ipv6_subnet(client, served, alice):
    token = make_key(alice, subnet="2001:db8::/32")
    assert subnet_chat(client, token, "2001:db8::5").status_code == 200
    assert subnet_chat(client, token, "::1", "2001:db8:1::9").status_code == 200
    assert_error(subnet_chat(client, token, "2001:db9::5"), 403,
                 "该令牌只能在指定网段使用：2001:db8::/32，当前 ip：2001:db9::5")
    assert_error(subnet_chat(client, token, "10.0.0.1"), 403,
                 "该令牌只能在指定网段使用：2001:db8::/32，当前 ip：10.0.0.1")


def test_mixed_ipv4_and_ipv6_subnet_list(client, served, alice):
    subnets = "192.168.0.0/16,2001:db8:abcd::/48"
    token = make_key(alice, subnet=subnets)
    assert subnet_chat(client, token, "192.168.7.7").status_code == 200
    assert subnet_chat(client, token, "2001:db8:abcd:12::1").status_code == 200
    assert_error(subnet_chat(client, token, "2001:db8:abce::1"), 403,
                 f"该令牌只能在指定网段使用：{subnets}，当前 ip：2001:db8:abce::1")


def test_subnet_applies_to_the_models_list(client, served, alice):
    token = make_key(alice, subnet="10.0.0.0/8")
    headers = bearer(f"sk-{token.key}")
    assert client.get("/v1/models", headers=headers, environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 200
    refused = client.get("/v1/models", headers=headers, environ_base={"REMOTE_ADDR": "11.0.0.1"})
    assert_error(refused, 403, "该令牌只能在指定网段使用：10.0.0.0/8，当前 ip：11.0.0.1")


# -- channel pinning ---------------------------------------------------------------------------------


def test_admin_pins_a_channel_over_a_higher_priority_one(client, base, upstream_app, boss):
    channel(base, name="preferred", priority=100)
    pinned = channel(base, name="pinned", priority=-5, model_mapping=json.dumps({"gpt-4o": "gpt-4o-mini"}))
    token = make_key(boss)
    for _ in range(5):
        response = chat(client, bearer(f"sk-{token.key}-{pinned.id}"))
        assert response.status_code == 200, response.json
    assert [r["body"]["model"] for r in upstream_app.config["REQUESTS"]] == ["gpt-4o-mini"] * 5
    channel_ids = db.session.scalars(sa.select(Log.channel_id).where(Log.type == 2)).all()
    assert channel_ids == [pinned.id] * 5


def test_pinning_works_without_the_sk_prefix(client, base, upstream_app, boss):
    channel(base, name="preferred", priority=100)
    pinned = channel(base, name="pinned", model_mapping=json.dumps({"gpt-4o": "gpt-4o-mini"}))
    token = make_key(boss)
    assert chat(client, bearer(f"{token.key}-{pinned.id}")).status_code == 200
    assert upstream_app.config["REQUESTS"][-1]["body"]["model"] == "gpt-4o-mini"


@pytest.mark.parametrize("failing", ["gpt-4o-429", "gpt-4o-500"])
def test_pinned_channel_is_never_retried(client, base, upstream_app, boss, failing):
    options.update("RetryTimes", "3")
    channel(base, name="healthy", priority=100)
    pinned = channel(base, name="pinned", model_mapping=json.dumps({"gpt-4o": failing}))
    token = make_key(boss)
    response = chat(client, bearer(f"sk-{token.key}-{pinned.id}"))
    assert response.status_code == int(failing[-3:])
    assert len(upstream_app.config["REQUESTS"]) == 1
    assert "request id" in response.json["error"]["message"]


def test_root_may_pin_a_channel(client, served, upstream_app):
    root = factories.make_user("root2", role=100, quota=1_000_000)
    token = make_key(root)
    assert chat(client, bearer(f"sk-{token.key}-{served.id}")).status_code == 200


def test_common_user_may_not_pin_a_channel(client, served, upstream_app, alice):
    token = make_key(alice)
    assert_error(chat(client, bearer(f"sk-{token.key}-{served.id}")), 403, "普通用户不支持指定渠道")
    assert upstream_app.config["REQUESTS"] == []


@pytest.mark.parametrize("suffix", ["abc", "1x", "99999999", "0"])
def test_pinning_an_invalid_or_unknown_channel_id(client, served, upstream_app, boss, suffix):
    token = make_key(boss)
    assert_error(chat(client, bearer(f"sk-{token.key}-{suffix}")), 400, "无效的渠道 Id")
    assert upstream_app.config["REQUESTS"] == []


@pytest.mark.parametrize("status", [2, 3])
def test_pinning_a_disabled_channel(client, base, upstream_app, boss, status):
    channel(base, name="healthy")
    disabled = channel(base, name="disabled")
    db.session.get(Channel, disabled.id).status = status
    db.session.commit()
    token = make_key(boss)
    assert_error(chat(client, bearer(f"sk-{token.key}-{disabled.id}")), 403, "该渠道已被禁用")
    assert upstream_app.config["REQUESTS"] == []


# -- routes that are not implemented -----------------------------------------------------------------

NOT_IMPLEMENTED = [("GET", "/v1/files"), ("POST", "/v1/files"), ("DELETE", "/v1/files/file-1"),
                   ("POST", "/v1/assistants"), ("GET", "/v1/threads/x/runs"), ("POST", "/v1/images/edits"),
                   ("POST", "/v1/images/variations"), ("POST", "/v1/fine_tuning/jobs/j/cancel"),
                   ("GET", "/v1/threads/t/runs/r/steps/s"), ("DELETE", "/v1/models/x")]


@pytest.mark.parametrize(("method", "path"), NOT_IMPLEMENTED)
def test_not_implemented_routes_answer_501_to_a_valid_key(client, served, alice, method, path):
    token = make_key(alice)
    response = client.open(path, method=method, headers=bearer(f"sk-{token.key}"))
    error = assert_error(response, 501, "API not implemented")
    assert error["type"] == "one_api_error" and error["code"] == "api_not_implemented"


@pytest.mark.parametrize(("method", "path"), NOT_IMPLEMENTED)
def test_not_implemented_routes_need_a_key(client, served, method, path):
    assert_error(client.open(path, method=method), 401, "未提供令牌")


# -- unknown paths -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/nope"), ("POST", "/v1/chat/nope/deeper")])
def test_unknown_v1_path_is_invalid_url(client, served, method, path):
    response = client.open(path, method=method)
    assert response.status_code == 404
    error = response.json["error"]
    assert error["message"] == f"Invalid URL ({method} {path})"
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "" and error["code"] == ""


# -- OpenAI's billing routes -------------------------------------------------------------------------

PREFIXES = ["", "/v1"]
EXPIRY = 4_102_444_800  # 2100-01-01


@pytest.fixture
def spender(app):
    user = factories.make_user("spender", quota=2_000_000)
    user.used_quota = 500_000
    db.session.commit()
    return user


def billing(client, token, prefix: str, what: str):
    response = client.get(f"{prefix}/dashboard/billing/{what}", headers=bearer(f"sk-{token.key}"))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def set_display(token_stat: bool, currency: bool) -> None:
    options.update("DisplayTokenStatEnabled", "true" if token_stat else "false")
    options.update("DisplayInCurrencyEnabled", "true" if currency else "false")


def limits(body: dict) -> list:
    return [body["soft_limit_usd"], body["hard_limit_usd"], body["system_hard_limit_usd"]]


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize(("currency", "amount"), [(True, 0.003), (False, 1500)])
def test_subscription_of_a_limited_key(client, spender, prefix, currency, amount):
    set_display(True, currency)
    token = make_key(spender, remain_quota=1000, used_quota=500, expired_time=EXPIRY)
    body = billing(client, token, prefix, "subscription")
    assert body["object"] == "billing_subscription" and body["has_payment_method"] is True
    assert limits(body) == pytest.approx([amount] * 3)
    assert body["access_until"] == EXPIRY


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("currency", [True, False])
def test_subscription_of_an_unlimited_key(client, spender, prefix, currency):
    set_display(True, currency)
    token = make_key(spender, unlimited_quota=True, remain_quota=0)
    body = billing(client, token, prefix, "subscription")
    assert limits(body) == [100_000_000] * 3
    assert body["access_until"] == 0


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("unlimited", [True, False])
@pytest.mark.parametrize(("currency", "amount"), [(True, 5.0), (False, 2_500_000)])
def test_subscription_shows_the_user_without_token_stats(client, spender, prefix, unlimited, currency, amount):
    set_display(False, currency)
    token = make_key(spender, unlimited_quota=unlimited, remain_quota=1000, expired_time=EXPIRY)
    body = billing(client, token, prefix, "subscription")
    assert limits(body) == pytest.approx([amount] * 3)
    assert body["access_until"] == 0


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize(("token_stat", "expected"), [(True, 0.1), (False, 100.0)])
def test_usage_in_currency_is_in_cents(client, spender, prefix, token_stat, expected):
    set_display(token_stat, True)
    token = make_key(spender, remain_quota=1000, used_quota=500)
    body = billing(client, token, prefix, "usage")
    assert body["object"] == "list"
    assert body["total_usage"] == pytest.approx(expected)


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize(("token_stat", "expected"), [(True, 500 * 100), (False, 500_000 * 100)])
def test_usage_without_currency_is_quota_times_100(client, spender, prefix, token_stat, expected):
    """One API divides by QuotaPerUnit only with DisplayInCurrencyEnabled, as the subscription does, so a
    client's `hard_limit_usd - total_usage / 100` stays in one unit."""
    set_display(token_stat, False)
    token = make_key(spender, remain_quota=1000, used_quota=500)
    body = billing(client, token, prefix, "usage")
    assert body["total_usage"] == pytest.approx(expected)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_usage_of_an_unlimited_key(client, spender, prefix):
    set_display(True, True)
    token = make_key(spender, unlimited_quota=True, used_quota=250_000)
    assert billing(client, token, prefix, "usage")["total_usage"] == pytest.approx(50.0)


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("what", ["subscription", "usage"])
def test_billing_routes_refuse_a_bad_key_as_token_auth_does(client, app, prefix, what):
    """One API runs TokenAuth in front of these routes: its refusals keep their 401."""
    response = client.get(f"{prefix}/dashboard/billing/{what}", headers=bearer("sk-unknown"))
    assert_error(response, 401, "无效的令牌")


@pytest.mark.parametrize("what", ["subscription", "usage"])
def test_billing_routes_refuse_an_expired_key(client, spender, what):
    token = make_key(spender, expired_time=int(time.time()) - 10)
    response = client.get(f"/v1/dashboard/billing/{what}", headers=bearer(f"sk-{token.key}"))
    assert "该令牌已过期" in response.json["error"]["message"]
    assert token_status(token) == 3
