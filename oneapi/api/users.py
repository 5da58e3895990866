"""`/api/user…`: the caller's own account, and user administration for admins."""

from __future__ import annotations

from flask import g, request

from oneapi.api import bp
from oneapi.api.envelope import ok
from oneapi.api.params import Body, page, path_id, query_str
from oneapi.api.pending import not_yet
from oneapi.api.ratelimit import critical_limit
from oneapi.api.shapes import user_json
from oneapi.auth.decorators import admin_required, user_required
from oneapi.models import Role
from oneapi.services import accounts, logs, redemptions, users
from oneapi.sessions import keep_signed_in


@bp.get("/user/self")
@user_required
def get_self():
    return ok(user_json(g.user))


@bp.put("/user/self")
@user_required
def update_self():
    body = Body.load()
    users.update_self(g.user, {"username": body.str("username", None, max_len=12),
                               "display_name": body.str("display_name", None, max_len=20),
                               "password": body.str("password", None, max_len=20)})
    keep_signed_in(g.user)
    return ok()


@bp.delete("/user/self/sessions")
@user_required
def end_own_sessions():
    """Not One API's: end every cookie session of the caller, this one included (access tokens keep
    working; `GET /api/user/token` replaces that)."""
    accounts.sign_out_everywhere(g.user)
    return ok()


@bp.delete("/user/self")
@user_required
def delete_self():
    users.delete_self(g.user)
    return ok()


@bp.get("/user/token")
@user_required
def generate_access_token():
    return ok(users.regenerate_access_token(g.user))


@bp.get("/user/aff")
@user_required
def affiliate_code():
    return ok(users.affiliate_code(g.user))


@bp.post("/user/topup")
@user_required
def redeem():
    body = Body.load()
    return ok(redemptions.redeem(g.user, body.str("key", max_len=64)))


@bp.get("/user/available_models")
@user_required
def available_models():
    return ok(users.available_models(g.user.group or "default"))


@bp.get("/user/dashboard")
@user_required
def dashboard():
    return ok(logs.dashboard(g.user.id))


@bp.get("/user/")
@admin_required
def user_index():
    return ok([user_json(u) for u in users.list_users(page(), request.args.get("order", ""))])


@bp.get("/user/search")
@admin_required
def user_search():
    return ok([user_json(u) for u in users.search_users(query_str("keyword"))])


@bp.get("/user/<user_id>")
@admin_required
def user_show(user_id: str):
    return ok(user_json(users.get_for_admin(g.user, path_id(user_id))))


@bp.post("/user/")
@admin_required
def user_create():
    body = Body.load()
    users.admin_create(g.user, body.str("username", required=True, max_len=12),
                       body.str("password", required=True, max_len=20), body.str("display_name", max_len=20),
                       body.int("role", Role.COMMON))
    return ok()


@bp.put("/user/")
@admin_required
def user_update():
    body = Body.load()
    changes = {
        "username": body.str("username", None, max_len=12), "display_name": body.str("display_name", None, max_len=20),
        "password": body.str("password", None, max_len=20), "email": body.str("email", None, max_len=50),
        "group": body.str("group", None, max_len=32, strip=True), "quota": body.int("quota", None, minimum=0),
        "role": body.int("role", None),
    }
    user = users.admin_update(g.user, body.int("id", required=True, minimum=1), changes)
    keep_signed_in(user)
    return ok(user_json(user))


@bp.delete("/user/<user_id>")
@admin_required
def user_delete(user_id: str):
    users.delete_user(g.user, path_id(user_id))
    return ok()


@bp.post("/user/manage")
@admin_required
def user_manage():
    body = Body.load()
    user = users.manage(g.user, body.str("username", required=True, max_len=191),
                        body.str("action", required=True, max_len=32))
    return ok({"role": user.role, "status": user.status})



@bp.get("/oauth/email/bind")
@critical_limit
@user_required
def email_bind():
    accounts.bind_email(g.user, query_str("email"), query_str("code"))
    return ok()


bp.add_url_rule("/oauth/wechat/bind", "wechat_bind", critical_limit(user_required(not_yet("WeChat binding"))),
                methods=["GET"])
