"""What one account can see and change of another's: keys and logs are private to their owner, admins
cannot touch root (or their peers), and no answer carries a password hash, access token or channel key.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import Channel, Log, Token, User
from tests import factories


def row(model, row_id: int) -> dict:
    """The row as stored now (not the session's cached object)."""
    db.session.expire_all()
    table = model.__table__
    return dict(db.session.execute(sa.select(table).where(table.c.id == row_id)).mappings().one())


def root_user() -> User:
    return db.session.scalar(sa.select(User).where(User.username == "root"))


# --- API keys ---------------------------------------------------------------------------------------


@pytest.fixture
def bobs_token(other_user):
    return factories.make_token(other_user, name="bobkey", remain_quota=777)


CALLERS = ["user_client", "admin_client", "root_client"]

FOREIGN_TOKEN_REQUESTS = {
    "get": ("GET", "/api/token/{id}", None),
    "get with slash": ("GET", "/api/token/{id}/", None),
    "update": ("PUT", "/api/token/", {"id": "{id}", "name": "stolen", "remain_quota": 1, "unlimited_quota": True,
                                      "expired_time": -1, "models": "gpt-4o", "subnet": "10.0.0.0/8"}),
    "disable": ("PUT", "/api/token/?status_only=1", {"id": "{id}", "status": 2}),
    "enable": ("PUT", "/api/token/?status_only=1", {"id": "{id}", "status": 1}),
    "delete": ("DELETE", "/api/token/{id}", None),
    "delete with slash": ("DELETE", "/api/token/{id}/", None),
}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("action", FOREIGN_TOKEN_REQUESTS)
def test_nobody_reads_or_changes_another_users_key_by_id(request, bobs_token, caller, action):
    """Even admins and root manage only their own keys: bob's key is "not found" and stays as it was."""
    client = request.getfixturevalue(caller)
    method, path, body = FOREIGN_TOKEN_REQUESTS[action]
    if body is not None:
        body = {k: bobs_token.id if v == "{id}" else v for k, v in body.items()}
    before = row(Token, bobs_token.id)
    response = client.open(path.format(id=bobs_token.id), method=method, json=body)
    assert response.status_code == 200
    assert response.json == {"success": False, "message": "令牌不存在"}
    assert bobs_token.key not in response.get_data(as_text=True)
    assert row(Token, bobs_token.id) == before


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("query", ["/api/token/", "/api/token/?p=0&order=remain_quota",
                                   "/api/token/?order=used_quota", "/api/token/search?keyword=",
                                   "/api/token/search?keyword=bob", "/api/token/search?keyword=%25"])
def test_key_lists_and_search_hold_only_the_callers_keys(request, user, other_user, bobs_token, caller, query):
    client = request.getfixturevalue(caller)
    own = client.post("/api/token/", json={"name": "bobkey too", "remain_quota": 5}).json["data"]
    response = client.get(query)
    assert response.json["success"] is True
    rows = response.json["data"]
    assert {t["user_id"] for t in rows} <= {own["user_id"]}
    assert bobs_token.id not in {t["id"] for t in rows}
    assert bobs_token.key not in response.get_data(as_text=True)
    if "bob" in query or query.endswith("keyword="):
        assert own["id"] in {t["id"] for t in rows}


def test_a_created_key_belongs_to_the_caller_whatever_the_body_says(user_client, user, other_user):
    response = user_client.post("/api/token/", json={"name": "mine", "remain_quota": 5, "user_id": other_user.id})
    assert response.json["success"] is True
    assert response.json["data"]["user_id"] == user.id
    assert row(Token, response.json["data"]["id"])["user_id"] == user.id


def test_updating_own_key_cannot_hand_it_to_someone_else(user_client, user, other_user):
    token = factories.make_token(user, name="mine")
    response = user_client.put("/api/token/", json={"id": token.id, "name": "gift", "remain_quota": 5,
                                                    "user_id": other_user.id})
    assert response.json["success"] is True
    assert row(Token, token.id)["user_id"] == user.id
    assert other_user.id not in {t["user_id"] for t in user_client.get("/api/token/").json["data"]}


# --- Logs -------------------------------------------------------------------------------------------


@pytest.fixture
def logs(user, other_user, admin):
    """Alice: two consume logs (quota 10 + 20) and a top-up; bob and the admin: many larger consume logs."""
    mine = [factories.make_log(user, quota=10, content="test one"),
            factories.make_log(user, quota=20, content="test two"),
            factories.make_log(user, type=1, quota=500, content="test topup")]
    for i in range(12):
        factories.make_log(other_user, quota=1000, content=f"test bob {i}", channel_id=1)
    factories.make_log(admin, quota=5000, content="test admin")
    return mine


SELF_LOG_QUERIES = [
    "/api/log/self", "/api/log/self/", "/api/log/self?p=0&type=2", "/api/log/self?username=bob",
    "/api/log/self?token_name=key&model_name=gpt-4o", "/api/log/self?channel=1", "/api/log/self?p=1",
    "/api/log/self/search?keyword=test", "/api/log/self/search?keyword=", "/api/log/self/search?keyword=2",
    "/api/log/self/search?keyword=test%20bob", "/api/log/self/search?keyword=%25",
]


@pytest.mark.parametrize("query", SELF_LOG_QUERIES)
def test_own_log_listing_and_search_never_show_other_users_rows(user_client, user, logs, query):
    response = user_client.get(query)
    assert response.json["success"] is True
    rows = response.json["data"]
    assert all(r["user_id"] == user.id and r["username"] == "alice" for r in rows), rows
    assert "bob" not in response.get_data(as_text=True) and "admin" not in response.get_data(as_text=True)
    if query in ("/api/log/self", "/api/log/self/search?keyword="):
        assert sorted(r["content"] for r in rows) == ["test one", "test topup", "test two"]


@pytest.mark.parametrize("query", ["/api/log/self/stat", "/api/log/self/stat?type=2", "/api/log/self/stat?username=bob",
                                   "/api/log/self/stat?channel=1", "/api/log/self/stat?token_name=key",
                                   "/api/log/self/stat?model_name=gpt-4o&start_timestamp=1"])
def test_own_quota_statistic_sums_only_the_callers_consumption(user_client, logs, query):
    response = user_client.get(query)
    assert response.json == {"success": True, "message": "", "data": {"quota": 30}}


def test_admins_own_log_routes_are_scoped_like_everyone_elses(admin_client, admin, logs):
    rows = admin_client.get("/api/log/self").json["data"]
    assert [r["content"] for r in rows] == ["test admin"]
    assert admin_client.get("/api/log/self/stat").json["data"] == {"quota": 5000}
    assert {r["user_id"] for r in admin_client.get("/api/log/self/search?keyword=test").json["data"]} == {admin.id}


def test_dashboard_counts_only_the_callers_consumption(user_client, logs):
    days = user_client.get("/api/user/dashboard").json["data"]
    assert sum(d["Quota"] for d in days) == 30
    assert sum(d["RequestCount"] for d in days) == 2


# --- Admins and root ------------------------------------------------------------------------------------


def peer_admin():
    return factories.make_user("admin2", role=10)


@pytest.mark.parametrize("target", ["root", "peer admin"])
def test_admin_cannot_read_root_or_a_peer(admin_client, target):
    victim = root_user() if target == "root" else peer_admin()
    response = admin_client.get(f"/api/user/{victim.id}")
    assert response.json == {"success": False, "message": "无权获取同级或更高等级用户的信息"}


def test_admin_can_read_itself_and_common_users(admin_client, admin, user):
    assert admin_client.get(f"/api/user/{admin.id}").json["data"]["username"] == "admin1"
    assert admin_client.get(f"/api/user/{user.id}").json["data"]["username"] == "alice"


ATTACKS = {
    "edit profile": ("PUT", "/api/user/", {"id": "{id}", "username": "pwned", "display_name": "pwned",
                                           "password": "hijacked123", "email": "x@example.com"}),
    "edit quota": ("PUT", "/api/user/", {"id": "{id}", "quota": 0}),
    "edit role": ("PUT", "/api/user/", {"id": "{id}", "role": 1}),
    "edit group": ("PUT", "/api/user/", {"id": "{id}", "group": "vip"}),
    "delete": ("DELETE", "/api/user/{id}", None),
    "delete with slash": ("DELETE", "/api/user/{id}/", None),
    "disable": ("POST", "/api/user/manage", {"username": "{name}", "action": "disable"}),
    "manage delete": ("POST", "/api/user/manage", {"username": "{name}", "action": "delete"}),
    "demote": ("POST", "/api/user/manage", {"username": "{name}", "action": "demote"}),
    "enable": ("POST", "/api/user/manage", {"username": "{name}", "action": "enable"}),
    "promote": ("POST", "/api/user/manage", {"username": "{name}", "action": "promote"}),
}


@pytest.mark.parametrize("target", ["root", "peer admin"])
@pytest.mark.parametrize("attack", ATTACKS)
def test_admin_cannot_change_or_delete_root_or_a_peer(admin_client, target, attack):
    victim = root_user() if target == "root" else peer_admin()
    method, path, body = ATTACKS[attack]
    if body is not None:
        body = {k: {"{id}": victim.id, "{name}": victim.username}.get(v, v) for k, v in body.items()}
    before = row(User, victim.id)
    response = admin_client.open(path.format(id=victim.id), method=method, json=body)
    assert response.status_code == 200
    assert response.json["success"] is False
    assert response.json["message"].startswith("无权"), response.json
    assert row(User, victim.id) == before


def test_root_still_logs_in_after_an_admins_attempts(client, admin_client):
    root = root_user()
    admin_client.put("/api/user/", json={"id": root.id, "password": "hijacked123"})
    admin_client.post("/api/user/manage", json={"username": "root", "action": "disable"})
    factories.login(client, "root", "123456")
    assert client.get("/api/user/self").json["data"]["role"] == 100


@pytest.mark.parametrize("role", [10, 100, 1000])
def test_admin_cannot_create_a_user_with_its_own_role_or_higher(admin_client, role):
    response = admin_client.post("/api/user/", json={"username": "carol", "password": factories.PASSWORD,
                                                     "role": role})
    assert response.json == {"success": False, "message": "无法创建权限大于等于自己的用户"}
    assert db.session.scalar(sa.select(User.id).where(User.username == "carol")) is None


def test_admin_creates_common_users(admin_client):
    response = admin_client.post("/api/user/", json={"username": "carol", "password": factories.PASSWORD,
                                                     "role": 1})
    assert response.json["success"] is True
    assert db.session.scalar(sa.select(User.role).where(User.username == "carol")) == 1


@pytest.mark.parametrize("role", [10, 100])
def test_admin_cannot_raise_a_user_to_its_own_role_or_higher(admin_client, user, role):
    response = admin_client.put("/api/user/", json={"id": user.id, "role": role})
    assert response.json["success"] is False
    assert row(User, user.id)["role"] == 1
    promote = admin_client.post("/api/user/manage", json={"username": "alice", "action": "promote"})
    assert promote.json == {"success": False, "message": "普通管理员用户无法提升其他用户为管理员"}
    assert row(User, user.id)["role"] == 1


# --- Secrets never leave -----------------------------------------------------------------------------


USER_READS = [
    ("user_client", "POST", "/api/user/login", {"username": "alice", "password": factories.PASSWORD}),
    ("user_client", "GET", "/api/user/self", None),
    ("user_client", "PUT", "/api/user/self", {"display_name": "Alice A"}),
    ("admin_client", "GET", "/api/user/", None),
    ("admin_client", "GET", "/api/user/?order=quota", None),
    ("admin_client", "GET", "/api/user/search?keyword=alice", None),
    ("admin_client", "GET", "/api/user/search?keyword=", None),
    ("admin_client", "GET", "/api/user/{alice}", None),
    ("admin_client", "PUT", "/api/user/", {"id": "{alice}", "display_name": "Alice B"}),
    ("admin_client", "POST", "/api/user/manage", {"username": "alice", "action": "disable"}),
    ("root_client", "GET", "/api/user/", None),
    ("root_client", "GET", "/api/user/{root}", None),
    ("root_client", "GET", "/api/user/search?keyword=root", None),
    ("root_client", "POST", "/api/user/login", {"username": "root", "password": "123456"}),
    ("root_client", "POST", "/api/user/manage", {"username": "admin1", "action": "demote"}),
    ("root_client", "PUT", "/api/user/", {"id": "{admin}", "display_name": "Boss"}),
]


def user_objects(data):
    items = data if isinstance(data, list) else [data]
    return [u for u in items if isinstance(u, dict) and "username" in u]


@pytest.mark.parametrize(("caller", "method", "path", "body"), USER_READS,
                         ids=[f"{c} {m} {p}" for c, m, p, _ in USER_READS])
def test_user_json_never_carries_password_hashes_or_access_tokens(request, user, admin, other_user, caller, method,
                                                                  path, body):
    client = request.getfixturevalue(caller)
    for c in ("user_client", "admin_client", "root_client"):
        request.getfixturevalue(c).get("/api/user/token")  # everyone holds a current access token
    db.session.expire_all()
    secrets = [s for u in db.session.scalars(sa.select(User)) for s in (u.password, u.access_token) if s]
    assert len(secrets) >= 8
    ids = {"alice": user.id, "admin": admin.id, "root": root_user().id}
    if body is not None:
        body = {k: ids.get(v[1:-1], v) if isinstance(v, str) and v.startswith("{") else v for k, v in body.items()}
    response = client.open(path.format(**ids), method=method, json=body)
    assert response.json["success"] is True, response.json
    text = response.get_data(as_text=True)
    assert not [s for s in secrets if s in text]
    assert "$2a$" not in text and "$2b$" not in text
    for u in user_objects(response.json["data"]):
        assert u.get("password", "") == "" and u.get("access_token", "") == ""


SECRET_KEY = "sk-very-secret-upstream-key-0001"


CHANNEL_READS = [
    ("GET", "/api/channel/", None),
    ("GET", "/api/channel/?p=0", None),
    ("GET", "/api/channel/search?keyword=ch", None),
    ("GET", "/api/channel/search?keyword={id}", None),
    ("GET", "/api/channel/{id}", None),
    ("GET", "/api/channel/{id}/", None),
    ("PUT", "/api/channel/", {"id": "{id}", "name": "renamed"}),
    ("PUT", "/api/channel/", {"id": "{id}", "key": "sk-replacement-secret-0002"}),
    ("POST", "/api/channel/", {"name": "ch2", "type": 1, "key": "sk-another-secret-0003\nsk-another-secret-0004",
                               "models": "gpt-4o", "group": "default"}),
]


@pytest.mark.parametrize(("method", "path", "body"), CHANNEL_READS, ids=[f"{m} {p}" for m, p, _ in CHANNEL_READS])
@pytest.mark.parametrize("caller", ["admin_client", "root_client"])
def test_channel_json_never_carries_the_channel_key(app, request, caller, method, path, body):
    client = request.getfixturevalue(caller)
    channel = factories.make_channel("ch", key=SECRET_KEY)
    if body is not None:
        body = {k: channel.id if v == "{id}" else v for k, v in body.items()}
    response = client.open(path.format(id=channel.id), method=method, json=body)
    assert response.json["success"] is True, response.json
    text = response.get_data(as_text=True)
    assert "sk-" not in text
    data = response.json["data"]
    for item in data if isinstance(data, list) else [data] if isinstance(data, dict) else []:
        assert item["key"] == ""
    if path.startswith("/api/channel/search") or method == "GET" and "{id}" not in path:
        assert channel.id in {c["id"] for c in data}
    # The key is still stored (write-only, not lost).
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Channel).where(Channel.key != "")) >= 1


def test_admin_log_listing_shows_rows_but_not_secrets(admin_client, user, logs):
    """Admin log views are meant to span users; they still carry no key or hash."""
    factories.make_token(user, name="key")
    response = admin_client.get("/api/log/?username=alice")
    assert {r["user_id"] for r in response.json["data"]} == {user.id}
    db.session.expire_all()
    keys = list(db.session.scalars(sa.select(Token.key)))
    assert not [k for k in keys if k in response.get_data(as_text=True)]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Log)) == 16
