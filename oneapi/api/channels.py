"""`/api/channel…`: upstream channels, for admins. Keys are write-only: never returned."""

from __future__ import annotations

from flask import jsonify

from oneapi.api import bp
from oneapi.api.envelope import ok
from oneapi.api.params import Body, page, path_id, query_str
from oneapi.api.pending import not_yet
from oneapi.api.shapes import channel_json
from oneapi.auth.decorators import admin_required
from oneapi.services import catalog, channels


def _fields(body: Body) -> dict:
    return {
        "type": body.int("type", None, minimum=0), "status": body.int("status", None), "name": body.str("name", None),
        "weight": body.int("weight", None, minimum=0), "base_url": body.str("base_url", None, strip=True),
        "other": body.str("other", None), "models": body.str("models", None), "group": body.str("group", None),
        "model_mapping": body.str("model_mapping", None), "priority": body.int("priority", None, minimum=-(1 << 62),
                                                                                maximum=1 << 62),
        "config": body.str("config", None), "system_prompt": body.str("system_prompt", None),
    }


@bp.get("/channel/")
@admin_required
def channel_index():
    return ok([channel_json(c) for c in channels.list_channels(page())])


@bp.get("/channel/search")
@admin_required
def channel_search():
    return ok([channel_json(c) for c in channels.search_channels(query_str("keyword"))])


@bp.get("/channel/models")
@admin_required
def channel_models():
    # One API answers this one without the envelope.
    return jsonify(object="list", data=catalog.openai_models())


@bp.get("/channel/<channel_id>")
@admin_required
def channel_show(channel_id: str):
    return ok(channel_json(channels.get_channel(path_id(channel_id))))


@bp.post("/channel/")
@admin_required
def channel_create():
    body = Body.load()
    channels.create_channels(body.str("key", required=True, max_len=1 << 20), _fields(body))
    return ok()


@bp.put("/channel/")
@admin_required
def channel_update():
    body = Body.load()
    channel = channels.update_channel(body.int("id", required=True, minimum=1), _fields(body),
                                      key=body.str("key", "", max_len=1 << 16))
    return ok(channel_json(channel))


@bp.delete("/channel/disabled")
@admin_required
def channel_delete_disabled():
    return ok(channels.delete_disabled())


@bp.delete("/channel/<channel_id>")
@admin_required
def channel_delete(channel_id: str):
    channels.delete_channel(path_id(channel_id))
    return ok()


for _rule, _name, _feature in (
    ("/channel/test", "channel_test_all", "Channel test"),
    ("/channel/test/<channel_id>", "channel_test", "Channel test"),
    ("/channel/update_balance", "channel_update_balances", "Balance update"),
    ("/channel/update_balance/<channel_id>", "channel_update_balance", "Balance update"),
):
    bp.add_url_rule(_rule, _name, admin_required(not_yet(_feature)), methods=["GET"])

