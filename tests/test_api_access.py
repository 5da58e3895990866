"""Who may call each `/api` route: One API's public, UserAuth, AdminAuth and RootAuth levels.

`ROUTES` is the access table: one row per route with the lowest role that may call it and a request
that role can make successfully. Every route registered on the `api` blueprint must appear in it, so a
route added without an access rule fails `test_every_registered_api_route_has_an_access_rule`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest
import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import Channel, Log, Option, Redemption, Token, User
from oneapi.models.channel import Ability
from tests import factories

NOT_LOGGED_IN = "无权进行此操作，未登录且未提供 access token"
NO_PERMISSION = "无权进行此操作，权限不足"
INVALID_ACCESS_TOKEN = "无权进行此操作，access token 无效"
BANNED = "用户已被封禁"
AUTH_MESSAGES = {NOT_LOGGED_IN, NO_PERMISSION, INVALID_ACCESS_TOKEN, BANNED}

PUBLIC, USER, ADMIN, ROOT = "public", "user", "admin", "root"
# BAD_SAMPLE: the route works, but refuses the sample input (no SMTP server, no such code) with its own message.
OK, NOT_YET, BARE_LIST, BAD_SAMPLE = "ok", "not yet built", "bare list", "refuses the sample input"


class Route(NamedTuple):
    method: str
    rule: str  # as registered in the Flask url_map
    level: str
    path: str  # `{name}` placeholders are filled from the `world` fixture
    body: Any = None
    expect: str = OK


ROUTES = [
    # Public (no auth).
    Route("GET", "/api/status", PUBLIC, "/api/status"),
    Route("GET", "/api/notice", PUBLIC, "/api/notice"),
    Route("GET", "/api/about", PUBLIC, "/api/about"),
    Route("GET", "/api/home_page_content", PUBLIC, "/api/home_page_content"),
    Route("GET", "/api/verification", PUBLIC, "/api/verification?email=a@example.com&turnstile=", None, BAD_SAMPLE),
    Route("GET", "/api/reset_password", PUBLIC, "/api/reset_password?email=a@example.com", None, BAD_SAMPLE),
    Route("POST", "/api/user/reset", PUBLIC, "/api/user/reset", {"email": "a@example.com", "token": "x"}, BAD_SAMPLE),
    Route("GET", "/api/oauth/github", PUBLIC, "/api/oauth/github?code=c&state=s", None, NOT_YET),
    Route("GET", "/api/oauth/oidc", PUBLIC, "/api/oauth/oidc?code=c&state=s", None, NOT_YET),
    Route("GET", "/api/oauth/lark", PUBLIC, "/api/oauth/lark?code=c&state=s", None, NOT_YET),
    Route("GET", "/api/oauth/wechat", PUBLIC, "/api/oauth/wechat?code=c", None, NOT_YET),
    Route("GET", "/api/oauth/state", PUBLIC, "/api/oauth/state"),
    Route("POST", "/api/user/register", PUBLIC, "/api/user/register",
          {"username": "newbie", "password": factories.PASSWORD}),
    Route("POST", "/api/user/login", PUBLIC, "/api/user/login", {"username": "alice", "password": factories.PASSWORD}),
    Route("GET", "/api/user/logout", PUBLIC, "/api/user/logout"),
    # User level.
    Route("GET", "/api/models", USER, "/api/models"),
    Route("GET", "/api/oauth/wechat/bind", USER, "/api/oauth/wechat/bind?code=c", None, NOT_YET),
    Route("GET", "/api/oauth/email/bind", USER, "/api/oauth/email/bind?email=a@example.com&code=c", None, BAD_SAMPLE),
    Route("GET", "/api/user/dashboard", USER, "/api/user/dashboard"),
    Route("GET", "/api/user/self", USER, "/api/user/self"),
    Route("PUT", "/api/user/self", USER, "/api/user/self", {"display_name": "Alice A"}),
    Route("DELETE", "/api/user/self", USER, "/api/user/self"),
    Route("DELETE", "/api/user/self/sessions", USER, "/api/user/self/sessions"),
    Route("GET", "/api/user/token", USER, "/api/user/token"),
    Route("GET", "/api/user/aff", USER, "/api/user/aff"),
    Route("POST", "/api/user/topup", USER, "/api/user/topup", {"key": "{redemption_key}"}),
    Route("GET", "/api/user/available_models", USER, "/api/user/available_models"),
    Route("GET", "/api/token/", USER, "/api/token/?p=0&order=remain_quota"),
    Route("GET", "/api/token/search", USER, "/api/token/search?keyword=key"),
    Route("GET", "/api/token/<token_id>", USER, "/api/token/{token}"),
    Route("POST", "/api/token/", USER, "/api/token/", {"name": "new", "remain_quota": 100}),
    Route("PUT", "/api/token/", USER, "/api/token/", {"id": "{token}", "name": "renamed", "remain_quota": 5}),
    Route("PUT", "/api/token/", USER, "/api/token/?status_only=1", {"id": "{token}", "status": 2}),
    Route("DELETE", "/api/token/<token_id>", USER, "/api/token/{token}"),
    Route("GET", "/api/log/self", USER, "/api/log/self?p=0&type=2"),
    Route("GET", "/api/log/self/search", USER, "/api/log/self/search?keyword=test"),
    Route("GET", "/api/log/self/stat", USER, "/api/log/self/stat?type=2"),
    # Admin level.
    Route("POST", "/api/topup", ADMIN, "/api/topup", {"user_id": "{user}", "quota": 100, "remark": "gift"}),
    Route("GET", "/api/user/", ADMIN, "/api/user/?p=0&order=quota"),
    Route("GET", "/api/user/search", ADMIN, "/api/user/search?keyword=alice"),
    Route("GET", "/api/user/<user_id>", ADMIN, "/api/user/{user}"),
    Route("POST", "/api/user/", ADMIN, "/api/user/", {"username": "carol", "password": factories.PASSWORD}),
    Route("PUT", "/api/user/", ADMIN, "/api/user/", {"id": "{user}", "display_name": "Alice B"}),
    Route("DELETE", "/api/user/<user_id>", ADMIN, "/api/user/{user}"),
    Route("POST", "/api/user/manage", ADMIN, "/api/user/manage", {"username": "alice", "action": "disable"}),
    Route("GET", "/api/channel/", ADMIN, "/api/channel/?p=0"),
    Route("GET", "/api/channel/search", ADMIN, "/api/channel/search?keyword=ch"),
    Route("GET", "/api/channel/models", ADMIN, "/api/channel/models", None, BARE_LIST),
    Route("GET", "/api/channel/<channel_id>", ADMIN, "/api/channel/{channel}"),
    Route("GET", "/api/channel/test", ADMIN, "/api/channel/test?scope=disabled"),
    Route("GET", "/api/channel/test/<channel_id>", ADMIN, "/api/channel/test/{channel}?model=gpt-4o", None, NOT_YET),
    Route("GET", "/api/channel/update_balance", ADMIN, "/api/channel/update_balance"),
    Route("GET", "/api/channel/update_balance/<channel_id>", ADMIN, "/api/channel/update_balance/{channel}", None,
          NOT_YET),
    Route("POST", "/api/channel/", ADMIN, "/api/channel/",
          {"name": "ch2", "key": "sk-new", "type": 1, "models": "gpt-4o", "group": "default"}),
    Route("PUT", "/api/channel/", ADMIN, "/api/channel/", {"id": "{channel}", "name": "renamed"}),
    Route("DELETE", "/api/channel/disabled", ADMIN, "/api/channel/disabled"),
    Route("DELETE", "/api/channel/<channel_id>", ADMIN, "/api/channel/{channel}"),
    Route("GET", "/api/redemption/", ADMIN, "/api/redemption/?p=0"),
    Route("GET", "/api/redemption/search", ADMIN, "/api/redemption/search?keyword=code"),
    Route("GET", "/api/redemption/<redemption_id>", ADMIN, "/api/redemption/{redemption}"),
    Route("POST", "/api/redemption/", ADMIN, "/api/redemption/", {"name": "gift", "quota": 10, "count": 2}),
    Route("PUT", "/api/redemption/", ADMIN, "/api/redemption/", {"id": "{redemption}", "name": "gift2", "quota": 5}),
    Route("DELETE", "/api/redemption/<redemption_id>", ADMIN, "/api/redemption/{redemption}"),
    Route("GET", "/api/log/", ADMIN, "/api/log/?p=0&username=alice"),
    Route("DELETE", "/api/log/", ADMIN, "/api/log/?target_timestamp=1"),
    Route("GET", "/api/log/stat", ADMIN, "/api/log/stat?username=alice"),
    Route("GET", "/api/log/search", ADMIN, "/api/log/search?keyword=test"),
    Route("GET", "/api/group/", ADMIN, "/api/group/"),
    # Root level.
    Route("GET", "/api/option/", ROOT, "/api/option/"),
    Route("PUT", "/api/option/", ROOT, "/api/option/", {"key": "Notice", "value": "hello"}),
]

CLIENT_OF_ROLE = {PUBLIC: "client", USER: "user_client", ADMIN: "admin_client", ROOT: "root_client"}
# The refused callers of each level: anonymous for every protected route, and each role below the level.
REFUSED = {USER: [PUBLIC], ADMIN: [PUBLIC, USER], ROOT: [PUBLIC, USER, ADMIN]}


def route_id(route: Route) -> str:
    return f"{route.method} {route.path}"


def fill(value: Any, ids: dict[str, Any]) -> Any:
    """Replace `{name}` placeholders: a whole-string placeholder becomes the (typed) value."""
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
            return ids[value[1:-1]]
        return value.format(**ids)
    return value


def call(client, route: Route, ids: dict[str, Any], **kwargs: Any):
    body = fill(route.body, ids)
    return client.open(fill(route.path, ids), method=route.method, json=body, **kwargs)


def database_snapshot() -> dict[str, list[tuple]]:
    """Every row of every table, to show that a refused request changed nothing."""
    db.session.expire_all()
    snapshot = {}
    for model in (User, Token, Channel, Ability, Redemption, Log, Option):
        table = model.__table__
        rows = db.session.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
        snapshot[table.name] = [tuple(row) for row in rows]
    return snapshot



@pytest.fixture
def world(app, user, admin, other_user):
    """Alice's key and logs, a channel and a redemption code, named for the route placeholders."""
    token = factories.make_token(user, name="key")
    factories.make_log(user, content="test call")
    factories.make_log(other_user, content="test call by bob")
    # A closed local port: the channel test and balance routes really call the channel.
    channel = factories.make_channel("ch", base_url="http://127.0.0.1:9")
    redemption = factories.make_redemption(admin, name="code")
    return {"user": user.id, "token": token.id, "channel": channel.id, "redemption": redemption.id,
            "redemption_key": redemption.key}


def registered_routes(app) -> set[tuple[str, str]]:
    return {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_registered_api_route_has_an_access_rule(app):
    """A route added to the `api` blueprint without a row in ROUTES fails here."""
    covered = {(r.method, r.rule) for r in ROUTES}
    missing = registered_routes(app) - covered
    assert not missing, f"routes without an access rule: {sorted(missing)}"


def test_every_one_api_management_route_is_registered(app):
    """Every route of One API's router (reference §2.4) answers, so One API clients find them all."""
    covered = {(r.method, r.rule) for r in ROUTES}
    absent = covered - registered_routes(app)
    assert not absent, f"One API routes not registered: {sorted(absent)}"


def assert_allowed(response, route: Route) -> None:
    assert response.status_code == 200, (response.status_code, response.get_data(as_text=True))
    body = response.json
    if route.expect == BARE_LIST:
        assert body["object"] == "list" and isinstance(body["data"], list) and body["data"]
    elif route.expect in (NOT_YET, BAD_SAMPLE):
        assert body["success"] is False, body
        assert body["message"] and body["message"] not in AUTH_MESSAGES, body
    else:
        assert body["success"] is True, body


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_lowest_allowed_role_is_served(request, world, route):
    """Anonymous callers on public routes, and on each protected route the lowest role it admits."""
    client = request.getfixturevalue(CLIENT_OF_ROLE[route.level])
    assert_allowed(call(client, route, world), route)


@pytest.mark.parametrize("route", [r for r in ROUTES if r.level != PUBLIC], ids=route_id)
def test_root_is_served_on_every_protected_route(world, root_client, route):
    """Root is above every level: no route answers it with an auth message. (Alice's key is not root's,
    so token routes may answer "令牌不存在", and root may not delete itself; neither is a refusal.)"""
    response = call(root_client, route, world)
    assert response.status_code == 200, response.get_data(as_text=True)
    if route.expect == BARE_LIST:
        assert response.json["object"] == "list"
    else:
        assert response.json["message"] not in AUTH_MESSAGES, response.json


REFUSALS = [(route, caller) for route in ROUTES if route.level != PUBLIC for caller in REFUSED[route.level]]


@pytest.mark.parametrize(("route", "caller"), REFUSALS, ids=[f"{route_id(r)} as {c}" for r, c in REFUSALS])
def test_lower_role_is_refused_and_nothing_changes(request, world, route, caller):
    """Anonymous → 401 "not logged in"; a logged-in role below the route's level → 200 "权限不足"."""
    client = request.getfixturevalue(CLIENT_OF_ROLE[caller])
    before = database_snapshot()
    response = call(client, route, world)
    if caller == PUBLIC:
        assert response.status_code == 401
        assert response.json == {"success": False, "message": NOT_LOGGED_IN}
    else:
        assert response.status_code == 200
        assert response.json == {"success": False, "message": NO_PERMISSION}
    assert database_snapshot() == before


# --- The access token (`Authorization` header) -------------------------------------------------------


@pytest.mark.parametrize("scheme", ["{}", "Bearer {}"], ids=["raw", "bearer"])
def test_access_token_authenticates_raw_or_bearer(client, user_client, scheme):
    token = user_client.get("/api/user/token").json["data"]
    assert len(token) == 32
    headers = {"Authorization": scheme.format(token)}
    me = client.get("/api/user/self", headers=headers)
    assert me.status_code == 200 and me.json["success"] is True
    assert me.json["data"]["username"] == "alice"
    # The header carries alice's role: user routes yes, admin routes no.
    created = client.post("/api/token/", json={"name": "via header", "remain_quota": 1}, headers=headers)
    assert created.json["success"] is True and created.json["data"]["name"] == "via header"
    assert client.get("/api/user/", headers=headers).json == {"success": False, "message": NO_PERMISSION}


@pytest.mark.parametrize("scheme", ["{}", "Bearer {}"], ids=["raw", "bearer"])
def test_admin_and_root_access_tokens_reach_their_levels(client, admin_client, root_client, scheme):
    admin_token = admin_client.get("/api/user/token").json["data"]
    root_token = root_client.get("/api/user/token").json["data"]
    as_admin = {"Authorization": scheme.format(admin_token)}
    as_root = {"Authorization": scheme.format(root_token)}
    assert client.get("/api/user/", headers=as_admin).json["success"] is True
    assert client.get("/api/option/", headers=as_admin).json == {"success": False, "message": NO_PERMISSION}
    assert client.get("/api/option/", headers=as_root).json["success"] is True


@pytest.mark.parametrize("header", ["0123456789abcdef0123456789abcdef", "Bearer 0123456789abcdef0123456789abcdef",
                                    "Bearer ", "x" * 500, "' OR '1'='1", "{relay_key}", "Bearer sk-{relay_key}"])
def test_unknown_access_token_is_refused(client, user, header):
    """Anything but a user's current access token is refused, including the user's own relay key."""
    relay_key = factories.make_token(user).key
    response = client.get("/api/user/self", headers={"Authorization": header.format(relay_key=relay_key)})
    assert response.status_code == 200
    assert response.json == {"success": False, "message": INVALID_ACCESS_TOKEN}


def test_regenerating_the_access_token_revokes_the_old_one(client, user_client):
    old = user_client.get("/api/user/token").json["data"]
    new = user_client.get("/api/user/token").json["data"]
    assert old != new
    assert client.get("/api/user/self", headers={"Authorization": old}).json == {
        "success": False, "message": INVALID_ACCESS_TOKEN}
    assert client.get("/api/user/self", headers={"Authorization": new}).json["success"] is True


def test_session_is_preferred_over_a_bad_access_token(user_client):
    """As in One API, a logged-in session is used before the header is looked at."""
    response = user_client.get("/api/user/self", headers={"Authorization": "Bearer not-a-token"})
    assert response.json["success"] is True and response.json["data"]["username"] == "alice"


@pytest.mark.parametrize("path", ["/api/user/self/", "/api/user/token/", "/api/user/aff/", "/api/user/dashboard/",
                                  "/api/user/available_models/", "/api/token/search/"])
def test_trailing_slash_form_of_a_user_route_is_not_taken_for_an_admin_route(user_client, path):
    """One API (gin) redirects `/api/user/self/` to `/api/user/self`; the slash must not land the caller on
    the admin-only `/api/user/<id>` (or `/api/token/<id>`) and get refused or told the id is invalid."""
    response = user_client.get(path, follow_redirects=True)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["success"] is True, response.json


# --- Bans and role changes take effect at once ---------------------------------------------------------


def ban_in_database(user, root_client):
    user.status = 2
    db.session.commit()


def ban_by_manage(user, root_client):
    assert root_client.post("/api/user/manage", json={"username": user.username, "action": "disable"}).json[
        "success"]


def delete_by_manage(user, root_client):
    assert root_client.post("/api/user/manage", json={"username": user.username, "action": "delete"}).json[
        "success"]


def delete_by_id(user, root_client):
    assert root_client.delete(f"/api/user/{user.id}").json["success"]


@pytest.mark.parametrize("ban", [ban_in_database, ban_by_manage, delete_by_manage, delete_by_id])
def test_disabled_or_deleted_user_is_refused_despite_a_valid_session(user, user_client, root_client, ban):
    assert user_client.get("/api/user/self").json["success"] is True
    ban(user, root_client)
    response = user_client.get("/api/user/self")
    assert response.status_code == 200
    assert response.json == {"success": False, "message": BANNED}
    # The refusal also ended the session: the next write is not even attempted as alice.
    late = user_client.post("/api/token/", json={"name": "late"})
    assert late.status_code == 401 and late.json["message"] == NOT_LOGGED_IN
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Token).where(Token.name == "late")) == 0


def test_banned_session_is_cleared(user, user_client):
    user.status = 2
    db.session.commit()
    assert user_client.get("/api/user/self").json["message"] == BANNED
    user.status = 1
    db.session.commit()
    # One API clears the session of a banned caller: re-enabling does not revive it.
    response = user_client.get("/api/user/self")
    assert response.status_code == 401
    assert response.json == {"success": False, "message": NOT_LOGGED_IN}


def test_disabled_user_is_refused_with_the_access_token(client, user, user_client):
    token = user_client.get("/api/user/token").json["data"]
    user.status = 2
    db.session.commit()
    response = client.get("/api/user/self", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json == {"success": False, "message": BANNED}


def test_disabled_user_cannot_log_in_again(client, user):
    user.status = 2
    db.session.commit()
    response = client.post("/api/user/login", json={"username": "alice", "password": factories.PASSWORD})
    assert response.json["success"] is False
    assert client.get("/api/user/self").status_code == 401


def test_demoted_admin_loses_admin_routes_at_once(client, admin, admin_client, root_client):
    token = admin_client.get("/api/user/token").json["data"]
    assert admin_client.get("/api/user/").json["success"] is True
    demoted = root_client.post("/api/user/manage", json={"username": admin.username, "action": "demote"})
    assert demoted.json["success"] is True and demoted.json["data"]["role"] == 1
    # Same session, no re-login: admin routes are refused, user routes still work.
    assert admin_client.get("/api/user/").json == {"success": False, "message": NO_PERMISSION}
    assert admin_client.get("/api/channel/").json == {"success": False, "message": NO_PERMISSION}
    me = admin_client.get("/api/user/self").json
    assert me["success"] is True and me["data"]["role"] == 1
    assert client.get("/api/user/", headers={"Authorization": token}).json == {
        "success": False, "message": NO_PERMISSION}


def test_promoted_user_gains_admin_routes_at_once(user, user_client, root_client):
    assert user_client.get("/api/user/").json == {"success": False, "message": NO_PERMISSION}
    assert root_client.post("/api/user/manage", json={"username": "alice", "action": "promote"}).json["success"]
    assert user_client.get("/api/user/").json["success"] is True
    assert user_client.get("/api/option/").json == {"success": False, "message": NO_PERMISSION}


def test_logout_ends_the_session(user_client):
    assert user_client.get("/api/user/self").json["success"] is True
    assert user_client.get("/api/user/logout").json["success"] is True
    response = user_client.get("/api/user/self")
    assert response.status_code == 401 and response.json["message"] == NOT_LOGGED_IN
