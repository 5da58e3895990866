"""Channels through `/api/channel…`: batch creation, the abilities index kept equal to (group × model)
for every channel, edits, deletions, search, the model catalogue and the routes not built yet."""

from __future__ import annotations

import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import Ability, Channel
from tests import factories
from tests.conftest import count_rows


def abilities(channel_id: int) -> set[tuple[str, str, bool, int]]:
    db.session.expire_all()
    rows = db.session.scalars(sa.select(Ability).where(Ability.channel_id == channel_id))
    return {(a.group, a.model, bool(a.enabled), a.priority) for a in rows}


def channels_named(name: str) -> list[Channel]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Channel).where(Channel.name == name).order_by(Channel.id)))


def create(client, **fields) -> dict:
    body = client.post("/api/channel/", json={"type": 1, "key": "sk-a", "name": "ch", "models": "gpt-4o",
                                              "group": "default", **fields}).json
    assert body["success"] is True, body
    return body


def test_admin_can_batch_add_channels_one_per_non_empty_key_line(admin_client):
    create(admin_client, name="batch", key="sk-one\n\nsk-two\n", models="gpt-4o,gpt-4o-mini")
    made = channels_named("batch")
    assert [c.key for c in made] == ["sk-one", "sk-two"]
    assert all(c.type == 1 and c.status == 1 and c.models == "gpt-4o,gpt-4o-mini" for c in made)
    for channel in made:
        assert abilities(channel.id) == {("default", "gpt-4o", True, 0), ("default", "gpt-4o-mini", True, 0)}


def test_a_key_of_blank_lines_only_is_refused(admin_client):
    body = admin_client.post("/api/channel/", json={"type": 1, "key": "\n \n", "name": "empty"}).json
    assert body["success"] is False
    assert count_rows(Channel) == 0 and count_rows(Ability) == 0


def test_abilities_are_the_group_by_model_product_with_status_and_priority(admin_client):
    create(admin_client, name="on", key="sk-on", group="default,vip", models="gpt-4o,o1", priority=7)
    create(admin_client, name="off", key="sk-off", group="default,vip", models="gpt-4o,o1", priority=-2, status=2)
    on, off = channels_named("on")[0], channels_named("off")[0]
    expected = {(grp, model) for grp in ("default", "vip") for model in ("gpt-4o", "o1")}
    assert abilities(on.id) == {(grp, model, True, 7) for grp, model in expected}
    assert abilities(off.id) == {(grp, model, False, -2) for grp, model in expected}


def test_models_and_groups_are_trimmed_and_de_duplicated(admin_client):
    create(admin_client, name="messy", models=" gpt-4o , gpt-4o,o1,, o1 ", group="default, vip,default")
    channel = channels_named("messy")[0]
    assert channel.models == "gpt-4o,o1"
    assert abilities(channel.id) == {("default", "gpt-4o", True, 0), ("default", "o1", True, 0),
                                     ("vip", "gpt-4o", True, 0), ("vip", "o1", True, 0)}


def test_channel_without_models_has_no_abilities(admin_client):
    create(admin_client, name="bare", models="")
    channel = channels_named("bare")[0]
    assert abilities(channel.id) == set()
    assert count_rows(Ability) == 0


def test_channel_listing_and_detail_never_show_the_key(admin_client):
    channel = factories.make_channel("secret", key="sk-very-secret")
    listed = admin_client.get("/api/channel/").json["data"]
    shown = admin_client.get(f"/api/channel/{channel.id}").json["data"]
    assert [c["name"] for c in listed] == ["secret"]
    assert listed[0]["key"] == "" and shown["key"] == "" and shown["models"] == "gpt-4o,gpt-4o-mini"


def test_channel_list_pages_ten_newest_first(admin_client):
    made = [factories.make_channel(f"c{i:02d}") for i in range(12)]
    first = admin_client.get("/api/channel/").json["data"]
    second = admin_client.get("/api/channel/?p=1").json["data"]
    assert [c["id"] for c in first] == [c.id for c in reversed(made)][:10]
    assert [c["name"] for c in second] == ["c01", "c00"]


def test_update_rebuilds_abilities_from_models_group_priority_and_status(admin_client):
    channel = factories.make_channel("edit", models="gpt-4o,gpt-4o-mini", group="default")
    body = admin_client.put("/api/channel/", json={"id": channel.id, "models": "o1,o3-mini", "group": "vip,svip",
                                                   "priority": 3, "status": 2}).json
    assert body["success"] is True, body
    assert body["data"]["models"] == "o1,o3-mini" and body["data"]["priority"] == 3 and body["data"]["key"] == ""
    assert abilities(channel.id) == {(grp, model, False, 3) for grp in ("vip", "svip") for model in ("o1", "o3-mini")}
    body = admin_client.put("/api/channel/", json={"id": channel.id, "status": 1}).json
    assert body["success"] is True
    assert abilities(channel.id) == {(grp, model, True, 3) for grp in ("vip", "svip") for model in ("o1", "o3-mini")}


def test_update_commits_channel_and_abilities_in_one_transaction(admin_client, app):
    channel = factories.make_channel("atomic", models="gpt-4o")
    commits = []
    engine = db.engine

    def count_commit(_conn):
        commits.append(1)

    sa.event.listen(engine, "commit", count_commit)
    try:
        body = admin_client.put("/api/channel/", json={"id": channel.id, "models": "o1,o1-mini", "priority": 4}).json
    finally:
        sa.event.remove(engine, "commit", count_commit)
    assert body["success"] is True
    assert len(commits) == 1
    assert abilities(channel.id) == {("default", "o1", True, 4), ("default", "o1-mini", True, 4)}


def test_refused_update_leaves_channel_and_abilities_untouched(admin_client):
    channel = factories.make_channel("guarded", models="gpt-4o", priority=1)
    before = abilities(channel.id)
    body = admin_client.put("/api/channel/", json={"id": channel.id, "models": "o1", "priority": 9,
                                                   "model_mapping": "{not json"}).json
    assert body["success"] is False
    assert channels_named("guarded")[0].models == "gpt-4o"
    assert abilities(channel.id) == before


def test_update_without_a_key_keeps_the_old_key(admin_client):
    channel = factories.make_channel("keep", key="sk-original")
    assert admin_client.put("/api/channel/", json={"id": channel.id, "name": "kept", "key": ""}).json["success"]
    assert channels_named("kept")[0].key == "sk-original"
    assert admin_client.put("/api/channel/", json={"id": channel.id, "key": "sk-rotated"}).json["success"]
    assert channels_named("kept")[0].key == "sk-rotated"


def test_deleting_a_channel_removes_its_abilities(admin_client):
    doomed = factories.make_channel("doomed", models="gpt-4o,o1").id
    kept = factories.make_channel("kept", models="gpt-4o").id
    assert admin_client.delete(f"/api/channel/{doomed}").json["success"] is True
    assert channels_named("doomed") == []
    assert abilities(doomed) == set()
    assert abilities(kept) == {("default", "gpt-4o", True, 0)}


def test_delete_disabled_removes_manually_and_automatically_disabled_channels(admin_client):
    enabled = factories.make_channel("enabled", models="gpt-4o").id
    manual = factories.make_channel("manual", models="gpt-4o,o1", status=2).id
    auto = factories.make_channel("auto", models="o1", status=3).id
    body = admin_client.delete("/api/channel/disabled").json
    assert body["success"] is True and body["data"] == 2
    db.session.expire_all()
    assert [c.id for c in db.session.scalars(sa.select(Channel))] == [enabled]
    assert abilities(manual) == set() and abilities(auto) == set()
    assert abilities(enabled) == {("default", "gpt-4o", True, 0)}
    assert admin_client.delete("/api/channel/disabled").json["data"] == 0


def test_search_matches_id_or_name_prefix(admin_client):
    first = factories.make_channel("openai-main")
    factories.make_channel("openai-backup")
    factories.make_channel("azure")
    by_name = admin_client.get("/api/channel/search?keyword=openai").json["data"]
    assert sorted(c["name"] for c in by_name) == ["openai-backup", "openai-main"]
    by_id = admin_client.get(f"/api/channel/search?keyword={first.id}").json["data"]
    assert first.id in [c["id"] for c in by_id]
    assert all(c["key"] == "" for c in by_name + by_id)
    assert admin_client.get("/api/channel/search?keyword=zzz").json["data"] == []


def test_model_catalogue_is_answered_without_the_envelope(admin_client):
    body = admin_client.get("/api/channel/models").json
    assert set(body) == {"object", "data"} and body["object"] == "list"
    ids = [m["id"] for m in body["data"]]
    assert "gpt-4o" in ids
    assert all(m["object"] == "model" and m["root"] == m["id"] for m in body["data"])


def test_common_user_cannot_manage_channels(user_client):
    body = user_client.post("/api/channel/", json={"type": 1, "key": "sk-x", "name": "sneaky"}).json
    assert body == {"success": False, "message": "无权进行此操作，权限不足"}
    assert count_rows(Channel) == 0
