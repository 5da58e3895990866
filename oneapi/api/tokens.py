"""`/api/token…`: a user's own API keys."""

from __future__ import annotations

from flask import g, request

from oneapi.api import bp
from oneapi.api.envelope import ok
from oneapi.api.params import Body, page, path_id, query_str
from oneapi.api.shapes import token_json
from oneapi.auth.decorators import user_required
from oneapi.services import tokens
from oneapi.services.tokens import TokenFields


def _fields(body: Body) -> TokenFields:
    unlimited = body.bool("unlimited_quota")
    return TokenFields(
        name=body.str("name", max_len=191), expired_time=body.int("expired_time", -1, minimum=-1),
        remain_quota=body.int("remain_quota", 0, minimum=-1 if unlimited else 0), unlimited_quota=unlimited,
        models=body.str("models", None, max_len=65535), subnet=body.str("subnet", "", max_len=191, strip=True),
    )


@bp.get("/token/")
@user_required
def token_index():
    return ok([token_json(t) for t in tokens.list_tokens(g.user.id, page(), request.args.get("order", ""))])


@bp.get("/token/search")
@user_required
def token_search():
    return ok([token_json(t) for t in tokens.search_tokens(g.user.id, query_str("keyword"))])


@bp.get("/token/<token_id>")
@user_required
def token_show(token_id: str):
    return ok(token_json(tokens.get_token(g.user.id, path_id(token_id))))


@bp.post("/token/")
@user_required
def token_create():
    return ok(token_json(tokens.create_token(g.user.id, _fields(Body.load()))))


@bp.put("/token/")
@user_required
def token_update():
    body = Body.load()
    token_id = body.int("id", required=True, minimum=1)
    if request.args.get("status_only"):
        token = tokens.set_status(g.user.id, token_id, body.int("status", required=True))
    else:
        token = tokens.update_token(g.user.id, token_id, _fields(body))
    return ok(token_json(token))


@bp.delete("/token/<token_id>")
@user_required
def token_delete(token_id: str):
    tokens.delete_token(g.user.id, path_id(token_id))
    return ok()
