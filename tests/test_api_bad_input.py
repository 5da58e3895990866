"""Bad input to /api answers `success: false` with a clear message: never a 500, never a traceback,
never a half-written row.

Every case runs against a small world of rows (users, tokens, channels with abilities, redemption
codes, logs and an option) and checks, besides the envelope, that no table changed at all: the same
row counts and the same rows, byte for byte, so the row a refused request targeted is untouched and
no log row was written. The option cache must not change either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import Ability, Channel, Log, Option, Redemption, Token, User
from oneapi.services import options
from tests import factories
from tests.conftest import count_rows

PASSWORD = factories.PASSWORD
MAX_BIGINT = 2**63 - 1
HUGE = 2**70
LEAKS = ("traceback", "sqlalchemy", "psycopg", "pymysql", "sqlite3")
TABLES = {"users": User, "tokens": Token, "channels": Channel, "abilities": Ability, "redemptions": Redemption,
          "options": Option, "logs": Log}
CLIENTS = {"root": "root_client", "admin": "admin_client", "user": "user_client", "anon": "client"}
# One API answers a non-string option value with HTTP 400; an envelope with 200 is as good.
OPTION_STATUS = (200, 400)
NOTHING = object()


@dataclass(frozen=True)
class Ref:
    """An id or key of the world's rows, filled in when the request is sent."""

    name: str


@dataclass(frozen=True)
class Raw:
    """A request body sent as these bytes, not encoded as JSON."""

    data: bytes
    content_type: str = "application/json"


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    body: Any = NOTHING
    who: str = "root"
    query: dict | None = None
    status: int | tuple[int, ...] = 200
    mentions: str = ""


def case(case_id: str, method: str, path: str, body: Any = NOTHING, **fields: Any):
    if path.startswith("/api/option") and "status" not in fields:
        fields["status"] = OPTION_STATUS
    return pytest.param(Case(method, path, body, **fields), id=case_id)


# ---------------------------------------------------------------------------------------------------
# The world, sending, and the checks


@pytest.fixture
def world(app, user, other_user, admin) -> dict[str, Any]:
    """Rows for the requests to aim at, and rows whose names contain LIKE wildcards."""
    user.quota = 1000
    db.session.commit()
    factories.make_user("%pct")
    factories.make_user("_und")
    token = factories.make_token(user, "key")
    factories.make_token(user, "%literal")
    factories.make_token(user, "_under")
    other_token = factories.make_token(other_user, "bobkey")
    channel = factories.make_channel("plain")
    factories.make_channel("%chan")
    factories.make_channel("_chan")
    redemption = factories.make_redemption(name="plain")
    factories.make_redemption(name="%red")
    factories.make_redemption(name="_red")
    used = factories.make_redemption(name="used", status=3)
    disabled = factories.make_redemption(name="off", status=2)
    huge = factories.make_redemption(name="huge", quota=MAX_BIGINT)
    factories.make_log(user, content="plain")
    factories.make_log(user, content="%log")
    factories.make_log(user, content="_log")
    options.update("Notice", "hello")
    root = db.session.scalar(sa.select(User).where(User.username == "root"))
    return {
        "root": root.id, "admin": admin.id, "user": user.id, "other_user": other_user.id, "token": token.id,
        "other_token": other_token.id, "channel": channel.id, "redemption": redemption.id,
        "used_redemption": used.id, "used_key": used.key, "disabled_key": disabled.key, "huge_key": huge.key,
    }


def fill(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, Ref):
        return ids[value.name]
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


def client_for(request, who: str):
    return request.getfixturevalue(CLIENTS[who])


def send(client, c: Case, ids: dict[str, Any]):
    kwargs: dict[str, Any] = {"method": c.method, "query_string": c.query}
    body = fill(c.body, ids)
    if isinstance(body, Raw):
        kwargs.update(data=body.data, content_type=body.content_type)
    elif body is not NOTHING:
        kwargs["json"] = body
    return client.open(c.path.format(**ids), **kwargs)


def snapshot() -> tuple[dict[str, int], dict[str, list[str]], list[dict[str, str]]]:
    """Row counts, every row of every table, and the option cache."""
    db.session.rollback()
    counts = {name: count_rows(model) for name, model in TABLES.items()}
    rows = {name: sorted(repr(tuple(r)) for r in db.session.execute(sa.select(model.__table__)))
            for name, model in TABLES.items()}
    db.session.rollback()
    return counts, rows, options.all_public()


def assert_unchanged(before) -> None:
    counts, rows, cache = snapshot()
    assert counts == before[0], "a refused request changed the row counts"
    assert rows == before[1], "a refused request changed a row"
    assert cache == before[2], "a refused request changed the option cache"


def assert_refused(response, status: int | tuple[int, ...] = 200, mentions: str = "") -> str:
    text = response.get_data(as_text=True)
    assert response.status_code != 500, text
    allowed = status if isinstance(status, tuple) else (status,)
    assert response.status_code in allowed, (response.status_code, text)
    body = response.get_json(silent=True)
    assert isinstance(body, dict), text
    assert body.get("success") is False, body
    message = body.get("message")
    assert isinstance(message, str) and message.strip(), body
    for leak in LEAKS:
        assert leak not in text.lower(), text
    if mentions:
        assert mentions in message, message
    return message


def check_refused(request, ids: dict[str, Any], c: Case) -> None:
    client = client_for(request, c.who)
    before = snapshot()
    response = send(client, c, ids)
    assert_refused(response, c.status, c.mentions)
    assert_unchanged(before)


# ---------------------------------------------------------------------------------------------------
# Bodies that are not a JSON object, on every route that reads one

BODY_ROUTES = [
    pytest.param("POST", "/api/user/login", "anon", id="login"),
    pytest.param("POST", "/api/user/register", "anon", id="register"),
    pytest.param("PUT", "/api/user/self", "user", id="update-self"),
    pytest.param("POST", "/api/user/topup", "user", id="redeem"),
    pytest.param("POST", "/api/user/", "root", id="user-create"),
    pytest.param("PUT", "/api/user/", "root", id="user-update"),
    pytest.param("POST", "/api/user/manage", "root", id="user-manage"),
    pytest.param("POST", "/api/topup", "root", id="admin-topup"),
    pytest.param("POST", "/api/token/", "user", id="token-create"),
    pytest.param("PUT", "/api/token/", "user", id="token-update"),
    pytest.param("PUT", "/api/token/?status_only=1", "user", id="token-status"),
    pytest.param("POST", "/api/channel/", "root", id="channel-create"),
    pytest.param("PUT", "/api/channel/", "root", id="channel-update"),
    pytest.param("POST", "/api/redemption/", "root", id="redemption-create"),
    pytest.param("PUT", "/api/redemption/", "root", id="redemption-update"),
    pytest.param("PUT", "/api/redemption/?status_only=1", "root", id="redemption-status"),
    pytest.param("PUT", "/api/option/", "root", id="option-update"),
]

BAD_BODIES = [
    pytest.param(Raw(b"{not json"), id="not-json"),
    pytest.param(Raw(b""), id="empty"),
    pytest.param(Raw(b'{"name": "x", "id": 1'), id="truncated"),
    pytest.param(Raw(b'{"name": "\xff\xfe"}'), id="invalid-utf8"),
    pytest.param(Raw(b"name=x&id=1", "application/x-www-form-urlencoded"), id="form-encoded"),
    pytest.param([{"name": "x", "id": 1}], id="json-array"),
    pytest.param("name", id="json-string"),
    pytest.param(42, id="json-number"),
    pytest.param(Raw(b"null"), id="json-null"),
    pytest.param(Raw(b"true"), id="json-true"),
    pytest.param(Raw(b"[" * 5000 + b"]" * 5000), id="deeply-nested"),
]


@pytest.mark.parametrize("body", BAD_BODIES)
@pytest.mark.parametrize("method, path, who", BODY_ROUTES)
def test_a_body_that_is_not_a_json_object_is_refused(request, world, method, path, who, body):
    status = OPTION_STATUS if path.startswith("/api/option") else 200
    if isinstance(body, Raw) and body.content_type != "application/json":
        # Without an access token a body must be JSON: refused before the route (oneapi.api.csrf).
        status = 403
    check_refused(request, world, Case(method, path, body, who=who, status=status))


# ---------------------------------------------------------------------------------------------------
# Wrong types: strings for numbers, floats for integers, booleans, objects and lists for strings

WRONG_TYPES = [
    case("login-username-int", "POST", "/api/user/login", {"username": 5, "password": PASSWORD}, who="anon",
         mentions="username"),
    case("login-password-object", "POST", "/api/user/login", {"username": "root", "password": {"$ne": ""}},
         who="anon", mentions="password"),
    case("register-username-bool", "POST", "/api/user/register", {"username": True, "password": PASSWORD},
         who="anon", mentions="username"),
    case("register-password-list", "POST", "/api/user/register", {"username": "carol", "password": [PASSWORD]},
         who="anon", mentions="password"),
    case("register-email-int", "POST", "/api/user/register",
         {"username": "carol", "password": PASSWORD, "email": 5}, who="anon", mentions="email"),
    case("self-username-int", "PUT", "/api/user/self", {"username": 12345}, who="user", mentions="username"),
    case("self-password-bool", "PUT", "/api/user/self", {"password": True}, who="user", mentions="password"),
    case("self-display-name-object", "PUT", "/api/user/self", {"display_name": {"a": 1}}, who="user",
         mentions="display_name"),
    case("redeem-key-int", "POST", "/api/user/topup", {"key": 12345}, who="user", mentions="key"),
    case("redeem-key-list", "POST", "/api/user/topup", {"key": [Ref("huge_key")]}, who="user", mentions="key"),
    case("user-create-role-string", "POST", "/api/user/", {"username": "carol", "password": PASSWORD, "role": "1"},
         mentions="role"),
    case("user-create-role-float", "POST", "/api/user/", {"username": "carol", "password": PASSWORD, "role": 1.5},
         mentions="role"),
    case("user-create-username-object", "POST", "/api/user/", {"username": {"a": 1}, "password": PASSWORD},
         mentions="username"),
    case("user-update-id-string", "PUT", "/api/user/", {"id": "2", "quota": 5}, mentions="id"),
    case("user-update-id-float", "PUT", "/api/user/", {"id": 1.5, "quota": 5}, mentions="id"),
    case("user-update-quota-string", "PUT", "/api/user/", {"id": Ref("user"), "quota": "100"}, mentions="quota"),
    case("user-update-quota-float", "PUT", "/api/user/", {"id": Ref("user"), "quota": 1.5}, mentions="quota"),
    case("user-update-quota-bool", "PUT", "/api/user/", {"id": Ref("user"), "quota": True}, mentions="quota"),
    case("user-update-group-int", "PUT", "/api/user/", {"id": Ref("user"), "group": 5}, mentions="group"),
    case("user-update-role-string", "PUT", "/api/user/", {"id": Ref("user"), "role": "10"}, mentions="role"),
    case("user-update-email-list", "PUT", "/api/user/", {"id": Ref("user"), "email": ["a@b.c"]},
         mentions="email"),
    case("manage-action-int", "POST", "/api/user/manage", {"username": "alice", "action": 1}, mentions="action"),
    case("manage-username-list", "POST", "/api/user/manage", {"username": ["alice"], "action": "disable"},
         mentions="username"),
    case("topup-user-id-string", "POST", "/api/topup", {"user_id": "2", "quota": 100}, mentions="user_id"),
    case("topup-quota-float", "POST", "/api/topup", {"user_id": Ref("user"), "quota": 1.5}, mentions="quota"),
    case("topup-quota-string", "POST", "/api/topup", {"user_id": Ref("user"), "quota": "100"}, mentions="quota"),
    case("topup-quota-bool", "POST", "/api/topup", {"user_id": Ref("user"), "quota": True}, mentions="quota"),
    case("topup-remark-object", "POST", "/api/topup", {"user_id": Ref("user"), "quota": 100, "remark": {}},
         mentions="remark"),
    case("token-name-bool", "POST", "/api/token/", {"name": True}, who="user", mentions="name"),
    case("token-name-object", "POST", "/api/token/", {"name": {"x": 1}}, who="user", mentions="name"),
    case("token-remain-quota-string", "POST", "/api/token/", {"name": "t", "remain_quota": "100"}, who="user",
         mentions="remain_quota"),
    case("token-remain-quota-float", "POST", "/api/token/", {"name": "t", "remain_quota": 1.5}, who="user",
         mentions="remain_quota"),
    case("token-expired-time-string", "POST", "/api/token/", {"name": "t", "expired_time": "never"}, who="user",
         mentions="expired_time"),
    case("token-unlimited-string", "POST", "/api/token/", {"name": "t", "unlimited_quota": "true"}, who="user",
         mentions="unlimited_quota"),
    case("token-unlimited-int", "POST", "/api/token/", {"name": "t", "unlimited_quota": 1}, who="user",
         mentions="unlimited_quota"),
    case("token-models-list", "POST", "/api/token/", {"name": "t", "models": ["gpt-4o"]}, who="user",
         mentions="models"),
    case("token-subnet-list", "POST", "/api/token/", {"name": "t", "subnet": ["10.0.0.0/8"]}, who="user",
         mentions="subnet"),
    case("token-update-id-string", "PUT", "/api/token/", {"id": "1", "name": "t"}, who="user", mentions="id"),
    case("token-update-remain-quota-float", "PUT", "/api/token/",
         {"id": Ref("token"), "name": "t", "remain_quota": 2.5}, who="user", mentions="remain_quota"),
    case("token-update-name-list", "PUT", "/api/token/", {"id": Ref("token"), "name": ["t"]}, who="user",
         mentions="name"),
    case("token-status-string", "PUT", "/api/token/?status_only=1", {"id": Ref("token"), "status": "2"},
         who="user", mentions="status"),
    case("token-status-float", "PUT", "/api/token/?status_only=1", {"id": Ref("token"), "status": 1.5},
         who="user", mentions="status"),
    case("token-status-bool", "PUT", "/api/token/?status_only=1", {"id": Ref("token"), "status": True},
         who="user", mentions="status"),
    case("channel-key-int", "POST", "/api/channel/", {"key": 12345, "name": "c"}, mentions="key"),
    case("channel-type-string", "POST", "/api/channel/", {"key": "sk", "type": "1"}, mentions="type"),
    case("channel-type-float", "POST", "/api/channel/", {"key": "sk", "type": 1.5}, mentions="type"),
    case("channel-name-bool", "POST", "/api/channel/", {"key": "sk", "name": False}, mentions="name"),
    case("channel-models-list", "POST", "/api/channel/", {"key": "sk", "models": ["gpt-4o"]}, mentions="models"),
    case("channel-group-object", "POST", "/api/channel/", {"key": "sk", "group": {"default": 1}},
         mentions="group"),
    case("channel-model-mapping-object", "POST", "/api/channel/", {"key": "sk", "model_mapping": {"a": "b"}},
         mentions="model_mapping"),
    case("channel-priority-string", "POST", "/api/channel/", {"key": "sk", "priority": "high"},
         mentions="priority"),
    case("channel-weight-float", "POST", "/api/channel/", {"key": "sk", "weight": 0.5}, mentions="weight"),
    case("channel-update-id-string", "PUT", "/api/channel/", {"id": "1", "name": "c"}, mentions="id"),
    case("channel-update-status-string", "PUT", "/api/channel/", {"id": Ref("channel"), "status": "2"},
         mentions="status"),
    case("channel-update-config-object", "PUT", "/api/channel/", {"id": Ref("channel"), "config": {"region": "x"}},
         mentions="config"),
    case("channel-update-key-list", "PUT", "/api/channel/", {"id": Ref("channel"), "key": ["sk"]}, mentions="key"),
    case("redemption-name-int", "POST", "/api/redemption/", {"name": 5, "quota": 100, "count": 1}, mentions="name"),
    case("redemption-quota-string", "POST", "/api/redemption/", {"name": "r", "quota": "100", "count": 1},
         mentions="quota"),
    case("redemption-count-float", "POST", "/api/redemption/", {"name": "r", "quota": 100, "count": 1.5},
         mentions="count"),
    case("redemption-count-string", "POST", "/api/redemption/", {"name": "r", "quota": 100, "count": "5"},
         mentions="count"),
    case("redemption-update-quota-bool", "PUT", "/api/redemption/", {"id": Ref("redemption"), "quota": True},
         mentions="quota"),
    case("redemption-update-name-list", "PUT", "/api/redemption/", {"id": Ref("redemption"), "name": ["x"]},
         mentions="name"),
    case("redemption-status-string", "PUT", "/api/redemption/?status_only=1",
         {"id": Ref("redemption"), "status": "2"}, mentions="status"),
    case("option-key-int", "PUT", "/api/option/", {"key": 5, "value": "x"}, mentions="key"),
    case("option-value-object", "PUT", "/api/option/", {"key": "Notice", "value": {"a": 1}}, mentions="value"),
    case("option-value-list", "PUT", "/api/option/", {"key": "Notice", "value": ["a"]}, mentions="value"),
    case("option-value-null", "PUT", "/api/option/", {"key": "Notice", "value": None}, mentions="value"),
]


@pytest.mark.parametrize("c", WRONG_TYPES)
def test_a_field_of_the_wrong_type_is_refused_and_named(request, world, c):
    check_refused(request, world, c)


# ---------------------------------------------------------------------------------------------------
# Missing required fields

MISSING = [
    case("login-nothing", "POST", "/api/user/login", {}, who="anon"),
    case("login-no-password", "POST", "/api/user/login", {"username": "root"}, who="anon"),
    case("register-no-username", "POST", "/api/user/register", {"password": PASSWORD}, who="anon",
         mentions="username"),
    case("register-empty-username", "POST", "/api/user/register", {"username": "", "password": PASSWORD},
         who="anon", mentions="username"),
    case("register-no-password", "POST", "/api/user/register", {"username": "carol"}, who="anon",
         mentions="password"),
    case("self-empty-username", "PUT", "/api/user/self", {"username": ""}, who="user", mentions="username"),
    case("redeem-no-key", "POST", "/api/user/topup", {}, who="user"),
    case("redeem-blank-key", "POST", "/api/user/topup", {"key": "   "}, who="user"),
    case("user-create-no-username", "POST", "/api/user/", {"password": PASSWORD}, mentions="username"),
    case("user-create-no-password", "POST", "/api/user/", {"username": "carol"}, mentions="password"),
    case("user-update-no-id", "PUT", "/api/user/", {"quota": 5}, mentions="id"),
    case("user-update-null-id", "PUT", "/api/user/", {"id": None, "quota": 5}, mentions="id"),
    case("manage-no-action", "POST", "/api/user/manage", {"username": "alice"}, mentions="action"),
    case("manage-no-username", "POST", "/api/user/manage", {"action": "disable"}, mentions="username"),
    case("topup-no-user-id", "POST", "/api/topup", {"quota": 100}, mentions="user_id"),
    case("topup-no-quota", "POST", "/api/topup", {"user_id": Ref("user")}, mentions="quota"),
    case("token-update-no-id", "PUT", "/api/token/", {"name": "t"}, who="user", mentions="id"),
    case("token-status-no-status", "PUT", "/api/token/?status_only=1", {"id": Ref("token")}, who="user",
         mentions="status"),
    case("token-status-no-id", "PUT", "/api/token/?status_only=1", {"status": 2}, who="user", mentions="id"),
    case("channel-create-no-key", "POST", "/api/channel/", {"name": "c", "models": "gpt-4o"}, mentions="key"),
    case("channel-create-empty-key", "POST", "/api/channel/", {"key": "", "name": "c"}, mentions="key"),
    case("channel-create-blank-key-lines", "POST", "/api/channel/", {"key": " \n \n", "name": "c"}),
    case("channel-update-no-id", "PUT", "/api/channel/", {"name": "c"}, mentions="id"),
    case("redemption-create-no-name", "POST", "/api/redemption/", {"quota": 100, "count": 1}),
    case("redemption-create-empty-name", "POST", "/api/redemption/", {"name": "", "quota": 100, "count": 1}),
    case("redemption-update-no-id", "PUT", "/api/redemption/", {"name": "x"}, mentions="id"),
    case("redemption-update-empty-name", "PUT", "/api/redemption/", {"id": Ref("redemption"), "name": ""}),
    case("redemption-status-no-status", "PUT", "/api/redemption/?status_only=1", {"id": Ref("redemption")},
         mentions="status"),
    case("option-no-key", "PUT", "/api/option/", {"value": "x"}, mentions="key"),
    case("option-empty-key", "PUT", "/api/option/", {"key": "", "value": "x"}, mentions="key"),
    case("option-no-value", "PUT", "/api/option/", {"key": "Notice"}, mentions="value"),
]


@pytest.mark.parametrize("c", MISSING)
def test_a_missing_required_field_is_refused(request, world, c):
    check_refused(request, world, c)


# ---------------------------------------------------------------------------------------------------
# Strings over the limits of One API's validators and columns

TOO_LONG = [
    case("register-username-13", "POST", "/api/user/register", {"username": "u" * 13, "password": PASSWORD},
         who="anon", mentions="username"),
    case("register-password-21", "POST", "/api/user/register", {"username": "carol", "password": "p" * 21},
         who="anon", mentions="password"),
    case("register-password-7", "POST", "/api/user/register", {"username": "carol", "password": "p" * 7},
         who="anon", mentions="password"),
    case("register-email-51", "POST", "/api/user/register",
         {"username": "carol", "password": PASSWORD, "email": "e" * 45 + "@x.com"}, who="anon", mentions="email"),
    # 19 emoji are 19 characters but 76 bytes: more than bcrypt can hash.
    case("register-password-76-bytes", "POST", "/api/user/register", {"username": "carol", "password": "😀" * 19},
         who="anon"),
    case("login-username-192", "POST", "/api/user/login", {"username": "u" * 192, "password": PASSWORD},
         who="anon", mentions="username"),
    case("self-username-13", "PUT", "/api/user/self", {"username": "u" * 13}, who="user", mentions="username"),
    case("self-password-21", "PUT", "/api/user/self", {"password": "p" * 21}, who="user", mentions="password"),
    case("self-password-7", "PUT", "/api/user/self", {"password": "p" * 7}, who="user", mentions="password"),
    case("self-password-76-bytes", "PUT", "/api/user/self", {"password": "😀" * 19}, who="user"),
    case("self-display-name-21", "PUT", "/api/user/self", {"display_name": "d" * 21}, who="user",
         mentions="display_name"),
    case("redeem-key-65", "POST", "/api/user/topup", {"key": "k" * 65}, who="user", mentions="key"),
    case("redeem-key-33", "POST", "/api/user/topup", {"key": "k" * 33}, who="user"),
    case("user-create-username-13", "POST", "/api/user/", {"username": "u" * 13, "password": PASSWORD},
         mentions="username"),
    case("user-create-password-21", "POST", "/api/user/", {"username": "carol", "password": "p" * 21},
         mentions="password"),
    case("user-create-password-7", "POST", "/api/user/", {"username": "carol", "password": "p" * 7},
         mentions="password"),
    case("user-create-password-76-bytes", "POST", "/api/user/", {"username": "carol", "password": "😀" * 19}),
    case("user-create-display-name-21", "POST", "/api/user/",
         {"username": "carol", "password": PASSWORD, "display_name": "d" * 21}, mentions="display_name"),
    case("user-update-username-13", "PUT", "/api/user/", {"id": Ref("user"), "username": "u" * 13},
         mentions="username"),
    case("user-update-password-21", "PUT", "/api/user/", {"id": Ref("user"), "password": "p" * 21},
         mentions="password"),
    case("user-update-password-76-bytes", "PUT", "/api/user/", {"id": Ref("user"), "password": "😀" * 19}),
    case("user-update-email-51", "PUT", "/api/user/", {"id": Ref("user"), "email": "e" * 45 + "@x.com"},
         mentions="email"),
    case("user-update-group-33", "PUT", "/api/user/", {"id": Ref("user"), "group": "g" * 33}, mentions="group"),
    case("user-update-display-name-21", "PUT", "/api/user/", {"id": Ref("user"), "display_name": "d" * 21},
         mentions="display_name"),
    case("manage-username-192", "POST", "/api/user/manage", {"username": "u" * 192, "action": "disable"},
         mentions="username"),
    case("manage-action-33", "POST", "/api/user/manage", {"username": "alice", "action": "a" * 33},
         mentions="action"),
    case("topup-remark-256", "POST", "/api/topup", {"user_id": Ref("user"), "quota": 100, "remark": "r" * 256},
         mentions="remark"),
    case("token-name-31-bytes", "POST", "/api/token/", {"name": "n" * 31}, who="user"),
    case("token-name-33-bytes-in-11-chars", "POST", "/api/token/", {"name": "令" * 11}, who="user"),
    case("token-subnet-192", "POST", "/api/token/", {"name": "t", "subnet": "1" * 192}, who="user",
         mentions="subnet"),
    case("token-models-65536", "POST", "/api/token/", {"name": "t", "models": "m" * 65536}, who="user",
         mentions="models"),
    case("token-update-name-31-bytes", "PUT", "/api/token/", {"id": Ref("token"), "name": "n" * 31}, who="user"),
    case("channel-name-192", "POST", "/api/channel/", {"key": "sk", "name": "c" * 192}, mentions="name"),
    case("channel-base-url-192", "POST", "/api/channel/", {"key": "sk", "base_url": "https://" + "h" * 184},
         mentions="base_url"),
    case("channel-group-33", "POST", "/api/channel/", {"key": "sk", "models": "gpt-4o", "group": "g" * 33},
         mentions="group"),
    case("channel-groups-41-in-all", "POST", "/api/channel/",
         {"key": "sk", "models": "gpt-4o", "group": "a" * 20 + "," + "b" * 20}, mentions="group"),
    case("channel-model-name-192", "POST", "/api/channel/", {"key": "sk", "models": "gpt-4o," + "m" * 192},
         mentions="models"),
    case("channel-model-mapping-1025", "POST", "/api/channel/",
         {"key": "sk", "model_mapping": json.dumps({"gpt-4o": "m" * 1020})}, mentions="model_mapping"),
    case("channel-update-group-33", "PUT", "/api/channel/", {"id": Ref("channel"), "group": "g" * 33},
         mentions="group"),
    case("channel-update-model-name-192", "PUT", "/api/channel/", {"id": Ref("channel"), "models": "m" * 192},
         mentions="models"),
    case("channel-update-model-mapping-1025", "PUT", "/api/channel/",
         {"id": Ref("channel"), "model_mapping": json.dumps({"gpt-4o": "m" * 1020})}, mentions="model_mapping"),
    case("redemption-name-21", "POST", "/api/redemption/", {"name": "r" * 21, "quota": 100, "count": 1}),
    # One API counts the name in bytes (1–20): 7 CJK characters are 21 bytes.
    case("redemption-name-21-bytes-in-7-chars", "POST", "/api/redemption/", {"name": "码" * 7, "quota": 100,
                                                                               "count": 1}),
    case("redemption-update-name-21", "PUT", "/api/redemption/", {"id": Ref("redemption"), "name": "r" * 21}),
    case("option-key-192", "PUT", "/api/option/", {"key": "K" * 192, "value": "x"}, mentions="key"),
    case("option-value-over-1mib", "PUT", "/api/option/", {"key": "Notice", "value": "v" * ((1 << 20) + 1)}),
]


@pytest.mark.parametrize("c", TOO_LONG)
def test_an_over_long_string_is_refused(request, world, c):
    check_refused(request, world, c)


# ---------------------------------------------------------------------------------------------------
# Negative quotas, numbers out of range, and sums that would overflow a bigint

NUMBERS = [
    case("token-remain-quota-negative", "POST", "/api/token/", {"name": "t", "remain_quota": -5}, who="user",
         mentions="remain_quota"),
    case("token-remain-quota-below-unlimited-floor", "POST", "/api/token/",
         {"name": "t", "remain_quota": -2, "unlimited_quota": True}, who="user", mentions="remain_quota"),
    case("token-remain-quota-huge", "POST", "/api/token/", {"name": "t", "remain_quota": HUGE}, who="user",
         mentions="remain_quota"),
    case("token-expired-time-below-never", "POST", "/api/token/", {"name": "t", "expired_time": -2}, who="user",
         mentions="expired_time"),
    case("token-expired-time-huge", "POST", "/api/token/", {"name": "t", "expired_time": HUGE}, who="user",
         mentions="expired_time"),
    case("token-update-remain-quota-negative", "PUT", "/api/token/",
         {"id": Ref("token"), "name": "key", "remain_quota": -5}, who="user", mentions="remain_quota"),
    case("token-update-remain-quota-huge", "PUT", "/api/token/",
         {"id": Ref("token"), "name": "key", "remain_quota": HUGE}, who="user", mentions="remain_quota"),
    case("token-update-id-huge", "PUT", "/api/token/", {"id": HUGE, "name": "key"}, who="user", mentions="id"),
    case("token-status-9", "PUT", "/api/token/?status_only=1", {"id": Ref("token"), "status": 9}, who="user"),
    case("token-status-0", "PUT", "/api/token/?status_only=1", {"id": Ref("token"), "status": 0}, who="user"),
    case("token-status-huge", "PUT", "/api/token/?status_only=1", {"id": Ref("token"), "status": HUGE},
         who="user", mentions="status"),
    case("user-update-quota-negative", "PUT", "/api/user/", {"id": Ref("user"), "quota": -1}, mentions="quota"),
    case("user-update-quota-huge", "PUT", "/api/user/", {"id": Ref("user"), "quota": HUGE}, mentions="quota"),
    case("user-update-id-huge", "PUT", "/api/user/", {"id": HUGE, "quota": 5}, mentions="id"),
    case("user-update-id-zero", "PUT", "/api/user/", {"id": 0, "quota": 5}, mentions="id"),
    case("user-update-id-negative", "PUT", "/api/user/", {"id": -1, "quota": 5}, mentions="id"),
    case("user-update-role-5", "PUT", "/api/user/", {"id": Ref("user"), "role": 5}, mentions="role"),
    case("user-update-role-negative", "PUT", "/api/user/", {"id": Ref("user"), "role": -1}, mentions="role"),
    case("user-update-role-huge", "PUT", "/api/user/", {"id": Ref("user"), "role": HUGE}, mentions="role"),
    case("user-create-role-huge", "POST", "/api/user/", {"username": "carol", "password": PASSWORD, "role": HUGE},
         mentions="role"),
    case("topup-quota-negative", "POST", "/api/topup", {"user_id": Ref("user"), "quota": -1}, mentions="quota"),
    case("topup-quota-zero", "POST", "/api/topup", {"user_id": Ref("user"), "quota": 0}, mentions="quota"),
    case("topup-quota-huge", "POST", "/api/topup", {"user_id": Ref("user"), "quota": HUGE}, mentions="quota"),
    case("topup-user-id-huge", "POST", "/api/topup", {"user_id": HUGE, "quota": 100}, mentions="user_id"),
    case("topup-user-id-negative", "POST", "/api/topup", {"user_id": -1, "quota": 100}, mentions="user_id"),
    case("topup-user-id-zero", "POST", "/api/topup", {"user_id": 0, "quota": 100}, mentions="user_id"),
    # Root holds 500000000000000: adding the largest bigint overflows the column.
    case("topup-overflows-balance", "POST", "/api/topup", {"user_id": Ref("root"), "quota": MAX_BIGINT}),
    # Alice holds 1000; the code is worth the largest bigint.
    case("redeem-overflows-balance", "POST", "/api/user/topup", {"key": Ref("huge_key")}, who="user"),
    case("redemption-quota-negative", "POST", "/api/redemption/", {"name": "r", "quota": -1, "count": 1},
         mentions="quota"),
    case("redemption-quota-huge", "POST", "/api/redemption/", {"name": "r", "quota": HUGE, "count": 1},
         mentions="quota"),
    case("redemption-count-0", "POST", "/api/redemption/", {"name": "r", "quota": 100, "count": 0}),
    case("redemption-count-101", "POST", "/api/redemption/", {"name": "r", "quota": 100, "count": 101}),
    case("redemption-count-negative", "POST", "/api/redemption/", {"name": "r", "quota": 100, "count": -1}),
    case("redemption-count-huge", "POST", "/api/redemption/", {"name": "r", "quota": 100, "count": HUGE},
         mentions="count"),
    case("redemption-update-quota-negative", "PUT", "/api/redemption/", {"id": Ref("redemption"), "quota": -1},
         mentions="quota"),
    case("redemption-update-quota-huge", "PUT", "/api/redemption/", {"id": Ref("redemption"), "quota": HUGE},
         mentions="quota"),
    case("redemption-update-id-huge", "PUT", "/api/redemption/", {"id": HUGE, "name": "x"}, mentions="id"),
    case("redemption-status-used", "PUT", "/api/redemption/?status_only=1", {"id": Ref("redemption"), "status": 3}),
    case("redemption-status-0", "PUT", "/api/redemption/?status_only=1", {"id": Ref("redemption"), "status": 0}),
    case("redemption-status-huge", "PUT", "/api/redemption/?status_only=1",
         {"id": Ref("redemption"), "status": HUGE}, mentions="status"),
    case("channel-type-negative", "POST", "/api/channel/", {"key": "sk", "type": -1}, mentions="type"),
    case("channel-type-52", "POST", "/api/channel/", {"key": "sk", "type": 52}, mentions="type"),
    case("channel-type-huge", "POST", "/api/channel/", {"key": "sk", "type": HUGE}, mentions="type"),
    case("channel-weight-negative", "POST", "/api/channel/", {"key": "sk", "weight": -1}, mentions="weight"),
    case("channel-priority-huge", "POST", "/api/channel/", {"key": "sk", "priority": HUGE}, mentions="priority"),
    case("channel-priority-huge-negative", "POST", "/api/channel/", {"key": "sk", "priority": -HUGE},
         mentions="priority"),
    case("channel-status-9", "POST", "/api/channel/", {"key": "sk", "status": 9}, mentions="status"),
    case("channel-status-negative", "POST", "/api/channel/", {"key": "sk", "status": -1}, mentions="status"),
    case("channel-update-id-huge", "PUT", "/api/channel/", {"id": HUGE, "name": "c"}, mentions="id"),
    case("channel-update-id-zero", "PUT", "/api/channel/", {"id": 0, "name": "c"}, mentions="id"),
    case("channel-update-weight-negative", "PUT", "/api/channel/", {"id": Ref("channel"), "weight": -1},
         mentions="weight"),
    case("channel-update-status-9", "PUT", "/api/channel/", {"id": Ref("channel"), "status": 9},
         mentions="status"),
]


@pytest.mark.parametrize("c", NUMBERS)
def test_a_negative_or_out_of_range_number_is_refused(request, world, c):
    check_refused(request, world, c)


# ---------------------------------------------------------------------------------------------------
# Ids and names that match nothing, or rows the caller may not touch

UNKNOWN = [
    case("login-wrong-password", "POST", "/api/user/login", {"username": "root", "password": "wrong-pass"},
         who="anon"),
    case("login-sql-username", "POST", "/api/user/login", {"username": "' OR 1=1 --", "password": "x' OR '1'='1"},
         who="anon"),
    case("login-wildcard-username", "POST", "/api/user/login", {"username": "%", "password": PASSWORD}, who="anon"),
    case("login-password-21", "POST", "/api/user/login", {"username": "alice", "password": PASSWORD + "x" * 10},
         who="anon"),
    case("login-password-76-bytes", "POST", "/api/user/login", {"username": "alice", "password": "😀" * 19},
         who="anon"),
    case("register-taken-username", "POST", "/api/user/register", {"username": "alice", "password": PASSWORD},
         who="anon"),
    case("self-taken-username", "PUT", "/api/user/self", {"username": "bob"}, who="user"),
    case("redeem-unknown-key", "POST", "/api/user/topup", {"key": "0" * 32}, who="user"),
    case("redeem-used-key", "POST", "/api/user/topup", {"key": Ref("used_key")}, who="user"),
    case("redeem-disabled-key", "POST", "/api/user/topup", {"key": Ref("disabled_key")}, who="user"),
    case("redeem-sql-key", "POST", "/api/user/topup", {"key": "' OR 1=1 --"}, who="user"),
    case("redeem-wildcard-key", "POST", "/api/user/topup", {"key": "%"}, who="user"),
    case("user-create-taken-username", "POST", "/api/user/", {"username": "alice", "password": PASSWORD}),
    case("user-create-role-root", "POST", "/api/user/", {"username": "carol", "password": PASSWORD, "role": 100}),
    case("user-create-role-admin-by-admin", "POST", "/api/user/",
         {"username": "carol", "password": PASSWORD, "role": 10}, who="admin"),
    case("user-update-unknown-id", "PUT", "/api/user/", {"id": 99999, "quota": 5}),
    case("user-update-taken-username", "PUT", "/api/user/", {"id": Ref("user"), "username": "bob"}),
    case("user-update-root-by-admin", "PUT", "/api/user/", {"id": Ref("root"), "quota": 5}, who="admin"),
    case("user-update-self-by-admin", "PUT", "/api/user/", {"id": Ref("admin"), "quota": 5}, who="admin"),
    case("user-update-promote-to-admin-by-admin", "PUT", "/api/user/", {"id": Ref("user"), "role": 10},
         who="admin"),
    case("manage-unknown-username", "POST", "/api/user/manage", {"username": "nobody", "action": "disable"}),
    case("manage-sql-username", "POST", "/api/user/manage", {"username": "' OR 1=1 --", "action": "disable"}),
    case("manage-wildcard-username", "POST", "/api/user/manage", {"username": "%", "action": "delete"}),
    case("manage-unknown-action", "POST", "/api/user/manage", {"username": "alice", "action": "explode"}),
    case("manage-disable-root", "POST", "/api/user/manage", {"username": "root", "action": "disable"}),
    case("manage-promote-by-admin", "POST", "/api/user/manage", {"username": "alice", "action": "promote"},
         who="admin"),
    case("manage-demote-common-user", "POST", "/api/user/manage", {"username": "alice", "action": "demote"}),
    case("topup-unknown-user", "POST", "/api/topup", {"user_id": 99999, "quota": 100}),
    case("token-update-unknown-id", "PUT", "/api/token/", {"id": 99999, "name": "t"}, who="user"),
    case("token-update-other-users-token", "PUT", "/api/token/", {"id": Ref("other_token"), "name": "mine"},
         who="user"),
    case("token-status-other-users-token", "PUT", "/api/token/?status_only=1",
         {"id": Ref("other_token"), "status": 2}, who="user"),
    case("token-get-other-users-token", "GET", "/api/token/{other_token}", who="user"),
    case("token-delete-other-users-token", "DELETE", "/api/token/{other_token}", who="user"),
    case("channel-update-unknown-id", "PUT", "/api/channel/", {"id": 99999, "name": "c"}),
    case("redemption-update-unknown-id", "PUT", "/api/redemption/", {"id": 99999, "name": "x"}),
    case("redemption-status-unknown-id", "PUT", "/api/redemption/?status_only=1", {"id": 99999, "status": 2}),
    case("redemption-status-of-used-code", "PUT", "/api/redemption/?status_only=1",
         {"id": Ref("used_redemption"), "status": 1}),
    case("user-get-root-by-admin", "GET", "/api/user/{root}", who="admin"),
    case("user-delete-root-by-admin", "DELETE", "/api/user/{root}", who="admin"),
]


@pytest.mark.parametrize("c", UNKNOWN)
def test_an_unknown_or_forbidden_target_is_refused(request, world, c):
    check_refused(request, world, c)


# ---------------------------------------------------------------------------------------------------
# Invalid values: subnets, model mappings, channel configs and options

OPTIONS = [
    ("ModelRatio", "not json"), ("ModelRatio", "[1, 2]"), ("ModelRatio", '"gpt-4o"'),
    ("ModelRatio", '{"gpt-4o": "cheap"}'), ("ModelRatio", '{"gpt-4o": true}'), ("ModelRatio", '{"gpt-4o": null}'),
    ("ModelRatio", '{"gpt-4o": -1}'), ("GroupRatio", "{"), ("GroupRatio", '{"default": -2}'),
    ("CompletionRatio", "[]"), ("PasswordLoginEnabled", "yes"), ("RegisterEnabled", 1),
    ("RetryTimes", "abc"), ("RetryTimes", "-1"), ("RetryTimes", "1.5"), ("RetryTimes", 1.5),
    ("QuotaPerUnit", "abc"), ("QuotaPerUnit", "-1"), ("QuotaPerUnit", "inf"), ("QuotaPerUnit", "nan"),
    ("ChannelDisableThreshold", "soon"), ("Theme", "nope"), ("Theme", ""),
    ("GitHubOAuthEnabled", "true"), ("WeChatAuthEnabled", "true"), ("TurnstileCheckEnabled", "true"),
    # Quotas are bigints: a new-user bonus past 2**63 could never be written to `users.quota`.
    ("QuotaForNewUser", str(HUGE)), ("PreConsumedQuota", str(HUGE)),
]

INVALID_VALUES = [
    case("token-subnet-prefix-33", "POST", "/api/token/", {"name": "t", "subnet": "10.0.0.0/33"}, who="user"),
    case("token-subnet-not-cidr", "POST", "/api/token/", {"name": "t", "subnet": "not-a-cidr"}, who="user"),
    case("token-subnet-one-bad-of-two", "POST", "/api/token/", {"name": "t", "subnet": "10.0.0.1, bogus"},
         who="user"),
    case("token-subnet-ipv6-prefix-129", "POST", "/api/token/", {"name": "t", "subnet": "::1/129"}, who="user"),
    case("token-subnet-sql", "POST", "/api/token/", {"name": "t", "subnet": "' OR 1=1 --"}, who="user"),
    case("token-update-subnet-octet-300", "PUT", "/api/token/",
         {"id": Ref("token"), "name": "key", "subnet": "300.0.0.0/8"}, who="user"),
    case("channel-model-mapping-not-json", "POST", "/api/channel/", {"key": "sk", "model_mapping": "{"}),
    case("channel-model-mapping-array", "POST", "/api/channel/", {"key": "sk", "model_mapping": "[]"}),
    case("channel-model-mapping-string", "POST", "/api/channel/", {"key": "sk", "model_mapping": '"x"'}),
    case("channel-model-mapping-number-value", "POST", "/api/channel/",
         {"key": "sk", "model_mapping": '{"gpt-4o": 1}'}),
    case("channel-model-mapping-null-value", "POST", "/api/channel/",
         {"key": "sk", "model_mapping": '{"gpt-4o": null}'}),
    case("channel-model-mapping-list-value", "POST", "/api/channel/",
         {"key": "sk", "model_mapping": '{"gpt-4o": ["a"]}'}),
    case("channel-config-not-json", "POST", "/api/channel/", {"key": "sk", "config": "region=us"}),
    case("channel-config-array", "POST", "/api/channel/", {"key": "sk", "config": "[1]"}),
    case("channel-update-model-mapping-not-json", "PUT", "/api/channel/",
         {"id": Ref("channel"), "model_mapping": "{"}),
    case("channel-update-config-not-json", "PUT", "/api/channel/", {"id": Ref("channel"), "config": "nope"}),
    *(case(f"option-{key}-{value!r}", "PUT", "/api/option/", {"key": key, "value": value}) for key, value in OPTIONS),
]


@pytest.mark.parametrize("c", INVALID_VALUES)
def test_an_invalid_value_is_refused(request, world, c):
    check_refused(request, world, c)


# ---------------------------------------------------------------------------------------------------
# Path ids

ID_ROUTES = [
    pytest.param("GET", "/api/token/", "user", id="token-get"),
    pytest.param("DELETE", "/api/token/", "user", id="token-delete"),
    pytest.param("GET", "/api/channel/", "root", id="channel-get"),
    pytest.param("DELETE", "/api/channel/", "root", id="channel-delete"),
    pytest.param("GET", "/api/channel/test/", "root", id="channel-test"),
    pytest.param("GET", "/api/channel/update_balance/", "root", id="channel-balance"),
    pytest.param("GET", "/api/redemption/", "root", id="redemption-get"),
    pytest.param("DELETE", "/api/redemption/", "root", id="redemption-delete"),
    pytest.param("GET", "/api/user/", "root", id="user-get"),
    pytest.param("DELETE", "/api/user/", "root", id="user-delete"),
]

BAD_IDS = ["abc", "-1", "0", "99999", "99999999999999999999", "1 OR 1=1", "1;DROP TABLE users", "1.5", "0x1",
           "1e3", "%", "' OR '1'='1", "²"]


@pytest.mark.parametrize("raw_id", BAD_IDS)
@pytest.mark.parametrize("method, prefix, who", ID_ROUTES)
def test_a_bad_or_unknown_path_id_is_refused(request, world, method, prefix, who, raw_id):
    check_refused(request, world, Case(method, prefix + quote(raw_id, safe=""), who=who))


# ---------------------------------------------------------------------------------------------------
# Query strings: pages, log filters, clean-up timestamps and keywords

LIST_ROUTES = [("/api/user/", "root"), ("/api/token/", "user"), ("/api/channel/", "root"),
               ("/api/redemption/", "root"), ("/api/log/", "root"), ("/api/log/self", "user")]
BAD_PAGES = ["abc", "1.5", "1 OR 1=1", "0x10", "²"]
LOG_ROUTES = [("/api/log/", "root"), ("/api/log/self", "user"), ("/api/log/stat", "root"),
              ("/api/log/self/stat", "user")]
BAD_FILTERS = [("type", "abc"), ("type", "-1"), ("type", "1.5"), ("type", str(HUGE)),
               ("start_timestamp", "abc"), ("start_timestamp", "-1"), ("start_timestamp", "1.5"),
               ("start_timestamp", str(HUGE)), ("end_timestamp", "yesterday"), ("end_timestamp", str(HUGE))]
SEARCH_ROUTES = [("/api/user/search", "root"), ("/api/token/search", "user"), ("/api/channel/search", "root"),
                 ("/api/redemption/search", "root"), ("/api/log/search", "root"), ("/api/log/self/search", "user")]
BAD_TARGETS = ["", "abc", "-5", "0", "1.5", str(HUGE), "1 OR 1=1", "now"]

QUERIES = [
    *(case(f"{path}?p={p}", "GET", path, who=who, query={"p": p}, mentions="p")
      for path, who in LIST_ROUTES for p in BAD_PAGES),
    *(case(f"{path}?{name}={value}", "GET", path, who=who, query={name: value}, mentions=name)
      for path, who in LOG_ROUTES for name, value in BAD_FILTERS),
    *(case(f"{path}?channel=abc", "GET", path, query={"channel": "abc"}, mentions="channel")
      for path in ("/api/log/", "/api/log/stat")),
    *(case(f"{path}?keyword=201-chars", "GET", path, who=who, query={"keyword": "k" * 201}, mentions="keyword")
      for path, who in SEARCH_ROUTES),
    case("delete-logs-without-target", "DELETE", "/api/log/"),
    *(case(f"delete-logs-target={t}", "DELETE", "/api/log/", query={"target_timestamp": t}) for t in BAD_TARGETS),
]


@pytest.mark.parametrize("c", QUERIES)
def test_a_bad_query_parameter_is_refused(request, world, c):
    check_refused(request, world, c)


@pytest.mark.parametrize("p", [str(HUGE), "99999999999999999999", "922337203685477580"])
@pytest.mark.parametrize("path, who", LIST_ROUTES)
def test_a_page_far_past_the_end_is_empty_or_refused(request, world, path, who, p):
    client = client_for(request, who)
    before = snapshot()
    response = client.get(path, query_string={"p": p})
    assert response.status_code != 500, response.get_data(as_text=True)
    body = response.get_json()
    if body["success"]:
        assert body["data"] == []
    else:
        assert_refused(response, mentions="p")
    assert_unchanged(before)


# ---------------------------------------------------------------------------------------------------
# SQL-ish strings and LIKE wildcards are data, matched literally

# For each search route: how to read the searched names out of a result row, and what "%" and "_"
# must find (the world has one name starting with each, and one called "plain" or similar).
SEARCHES = {
    "/api/user/search": ("root", lambda r: r["username"], {"%": {"%pct"}, "_": {"_und"}}),
    "/api/token/search": ("user", lambda r: r["name"], {"%": {"%literal"}, "_": {"_under"}}),
    "/api/channel/search": ("root", lambda r: r["name"], {"%": {"%chan"}, "_": {"_chan"}}),
    "/api/redemption/search": ("root", lambda r: r["name"], {"%": {"%red"}, "_": {"_red"}}),
    "/api/log/search": ("root", lambda r: r["content"], {"%": {"%log"}, "_": {"_log"}}),
    "/api/log/self/search": ("user", lambda r: r["content"], {"%": {"%log"}, "_": {"_log"}}),
}
LITERAL_KEYWORDS = ["%", "_", "' OR 1=1 --", "'; DROP TABLE users; --", "\" OR \"\"=\"", "1 OR 1=1", "pl_in",
                    "pl%", "%%", "\\", "\\%", "*", "²", "99999999999999999999", "-1", "0"]


@pytest.mark.parametrize("keyword", LITERAL_KEYWORDS)
@pytest.mark.parametrize("path", list(SEARCHES))
def test_a_search_keyword_is_matched_literally(request, world, path, keyword):
    who, name_of, expected = SEARCHES[path]
    client = client_for(request, who)
    before = snapshot()
    response = client.get(path, query_string={"keyword": keyword})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["success"] is True, body
    assert {name_of(row) for row in body["data"]} == expected.get(keyword, set())
    assert_unchanged(before)


@pytest.mark.parametrize("path, who", [("/api/user/", "root"), ("/api/token/", "user")])
def test_an_sql_ish_order_is_ignored(request, world, path, who):
    client = client_for(request, who)
    plain = client.get(path).get_json()
    response = client.get(path, query_string={"order": "id; DROP TABLE users; --"})
    assert response.status_code == 200
    assert response.get_json() == plain and plain["success"] is True and plain["data"]


STORED_VERBATIM = [
    pytest.param("user", "/api/token/", {"name": "'; DROP TABLE tokens; --"}, Token, "'; DROP TABLE tokens; --",
                 id="token"),
    pytest.param("root", "/api/channel/", {"key": "sk-new", "name": "'); DELETE FROM channels; --"}, Channel,
                 "'); DELETE FROM channels; --", id="channel"),
    pytest.param("root", "/api/redemption/", {"name": "' OR 1=1 --", "quota": 1, "count": 1}, Redemption,
                 "' OR 1=1 --", id="redemption"),
]


@pytest.mark.parametrize("who, path, body, model, name", STORED_VERBATIM)
def test_an_sql_ish_name_is_stored_verbatim(request, world, who, path, body, model, name):
    client = client_for(request, who)
    counts = snapshot()[0]
    response = client.post(path, json=body)
    assert response.get_json()["success"] is True, response.get_json()
    db.session.rollback()
    assert db.session.scalars(sa.select(model.name).where(model.id > 0)).all().count(name) == 1
    after = {table: count_rows(m) for table, m in TABLES.items()}
    assert after == {**counts, model.__tablename__: counts[model.__tablename__] + 1}


# ---------------------------------------------------------------------------------------------------
# NUL characters: refused, or stored and searched for exactly (PostgreSQL cannot store them)

NUL = "a\x00b"
NUL_WRITES = [
    pytest.param("user", "POST", "/api/token/", {"name": NUL}, Token.name, id="token-name"),
    pytest.param("anon", "POST", "/api/user/register", {"username": NUL, "password": PASSWORD}, User.username,
                 id="register-username"),
    pytest.param("root", "POST", "/api/channel/", {"key": "sk-nul", "name": NUL}, Channel.name, id="channel-name"),
    pytest.param("root", "POST", "/api/redemption/", {"name": NUL, "quota": 1, "count": 1}, Redemption.name,
                 id="redemption-name"),
    pytest.param("root", "PUT", "/api/option/", {"key": NUL, "value": "x"}, Option.key, id="option-key"),
    pytest.param("root", "PUT", "/api/option/", {"key": "Notice", "value": NUL}, Option.value, id="option-value"),
]


@pytest.mark.parametrize("who, method, path, body, column", NUL_WRITES)
def test_a_nul_character_in_a_field_is_refused_or_stored_exactly(request, world, who, method, path, body, column):
    client = client_for(request, who)
    before = snapshot()
    response = client.open(path, method=method, json=body)
    assert response.status_code != 500, response.get_data(as_text=True)
    if response.get_json()["success"]:
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).where(column == NUL)) == 1
    else:
        assert_refused(response, OPTION_STATUS)
        assert_unchanged(before)


NUL_LOOKUPS = [
    case("login", "POST", "/api/user/login", {"username": NUL, "password": PASSWORD}, who="anon"),
    case("redeem", "POST", "/api/user/topup", {"key": NUL}, who="user"),
    case("manage", "POST", "/api/user/manage", {"username": NUL, "action": "disable"}),
    case("page", "GET", "/api/token/", who="user", query={"p": NUL}),
]


@pytest.mark.parametrize("c", NUL_LOOKUPS)
def test_a_nul_character_in_a_lookup_is_refused(request, world, c):
    check_refused(request, world, c)


NUL_READS = [
    *((path, SEARCHES[path][0], {"keyword": NUL}) for path in SEARCHES),
    ("/api/log/", "root", {"token_name": NUL, "model_name": NUL, "username": NUL}),
    ("/api/log/self/stat", "user", {"token_name": NUL, "model_name": NUL}),
]


@pytest.mark.parametrize("path, who, query", NUL_READS)
def test_a_nul_character_in_a_search_or_filter_is_refused_or_finds_nothing(request, world, path, who, query):
    client = client_for(request, who)
    before = snapshot()
    response = client.get(path, query_string=query)
    assert response.status_code != 500, response.get_data(as_text=True)
    if response.get_json()["success"]:
        assert response.get_json()["data"] in ([], {"quota": 0})
    else:
        assert_refused(response)
    assert_unchanged(before)


# ---------------------------------------------------------------------------------------------------
# Names that differ only in letter case (equal under MySQL's default collation)

@pytest.mark.parametrize("models, group", [("gpt-4o,GPT-4o", "default"), ("gpt-4o", "default,Default")])
def test_models_or_groups_differing_only_in_case_never_break_a_channel(root_client, world, models, group):
    before = snapshot()
    response = root_client.post("/api/channel/", json={"key": "sk-case", "name": "case", "models": models,
                                                       "group": group})
    assert response.status_code != 500, response.get_data(as_text=True)
    if not response.get_json()["success"]:
        assert_refused(response)
        assert_unchanged(before)
        return
    db.session.rollback()
    channel = db.session.scalar(sa.select(Channel).where(Channel.name == "case"))
    abilities = db.session.scalars(sa.select(Ability).where(Ability.channel_id == channel.id)).all()
    pairs = {(a.group, a.model) for a in abilities}
    assert len(pairs) == len(abilities) == len(channel.models.split(",")) * len(channel.group.split(","))


# ---------------------------------------------------------------------------------------------------
# Refusals write no log row

NO_LOG = [
    case("topup-negative", "POST", "/api/topup", {"user_id": Ref("user"), "quota": -1}),
    case("topup-unknown-user", "POST", "/api/topup", {"user_id": 99999, "quota": 100}),
    case("topup-overflow", "POST", "/api/topup", {"user_id": Ref("root"), "quota": MAX_BIGINT}),
    case("quota-edit-with-bad-email", "PUT", "/api/user/", {"id": Ref("user"), "quota": 5000, "email": "e" * 51}),
    case("quota-edit-with-taken-username", "PUT", "/api/user/", {"id": Ref("user"), "quota": 5000,
                                                                 "username": "bob"}),
    case("quota-edit-with-bad-role", "PUT", "/api/user/", {"id": Ref("user"), "quota": 5000, "role": 5}),
    case("quota-edit-of-root-by-admin", "PUT", "/api/user/", {"id": Ref("root"), "quota": 5000}, who="admin"),
    case("redeem-used-code", "POST", "/api/user/topup", {"key": Ref("used_key")}, who="user"),
    case("redeem-overflow", "POST", "/api/user/topup", {"key": Ref("huge_key")}, who="user"),
]


@pytest.mark.parametrize("c", NO_LOG)
def test_a_refused_request_writes_no_log_row(request, world, c):
    client = client_for(request, c.who)
    logs_before = count_rows(Log)
    response = send(client, c, world)
    assert_refused(response)
    db.session.rollback()
    assert count_rows(Log) == logs_before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Log).where(Log.type.in_((1, 3)))) == 0


# ---------------------------------------------------------------------------------------------------
# Authentication comes first; bad access tokens are refused like any other bad input

AUTHED_ROUTES = [("POST", "/api/token/"), ("PUT", "/api/user/self"), ("POST", "/api/topup"),
                 ("PUT", "/api/option/"), ("DELETE", "/api/log/"), ("GET", "/api/user/abc")]


@pytest.mark.parametrize("method, path", AUTHED_ROUTES)
def test_bad_input_without_credentials_answers_401(client, world, method, path):
    before = snapshot()
    response = client.open(path, method=method, data=b"{not json", content_type="application/json")
    assert_refused(response, status=401)
    assert_unchanged(before)


@pytest.mark.parametrize("header", ["Bearer ' OR 1=1 --", "Bearer %", "Bearer _", "x" * 100, "Bearer ",
                                    "Bearer " + "0" * 32, "Basic cm9vdDoxMjM0NTY="])
def test_a_bad_access_token_is_refused(client, world, header):
    before = snapshot()
    response = client.post("/api/token/", json={"name": "t"}, headers={"Authorization": header})
    assert_refused(response)
    assert_unchanged(before)
