"""`/v1/models` in the caller's dialect: OpenAI's list, or Anthropic's (with `x-api-key` and
`anthropic-version`, as Claude Code asks) with its cursor pagination."""

from __future__ import annotations

import pytest

from tests import factories

pytestmark = pytest.mark.usefixtures("app")
MODELS = ["claude-a", "claude-b", "claude-c", "claude-d", "claude-e"]
ANTHROPIC = {"anthropic-version": "2023-06-01"}


@pytest.fixture
def key(app):
    factories.make_channel(type=14, key="sk-ant", models=",".join(MODELS))
    user = factories.make_user("lister", quota=1000)
    return factories.make_token(user).key


def anthropic_get(client, key, path):
    return client.get(path, headers={"x-api-key": f"sk-{key}", **ANTHROPIC})


def test_anthropic_clients_get_anthropics_list_shape(client, key):
    answer = anthropic_get(client, key, "/v1/models").json
    assert [m["id"] for m in answer["data"]] == MODELS
    assert answer["data"][0] == {"type": "model", "id": "claude-a", "display_name": "claude-a",
                                 "created_at": "2021-07-20T10:40:00Z"}
    assert (answer["has_more"], answer["first_id"], answer["last_id"]) == (False, "claude-a", "claude-e")


def test_anthropic_pagination_follows_its_cursors(client, key):
    first = anthropic_get(client, key, "/v1/models?limit=2").json
    assert [m["id"] for m in first["data"]] == ["claude-a", "claude-b"] and first["has_more"] is True
    second = anthropic_get(client, key, f"/v1/models?limit=2&after_id={first['last_id']}").json
    assert [m["id"] for m in second["data"]] == ["claude-c", "claude-d"] and second["has_more"] is True
    last = anthropic_get(client, key, "/v1/models?limit=2&after_id=claude-d").json
    assert [m["id"] for m in last["data"]] == ["claude-e"] and last["has_more"] is False
    back = anthropic_get(client, key, "/v1/models?limit=2&before_id=claude-c").json
    assert [m["id"] for m in back["data"]] == ["claude-a", "claude-b"] and back["has_more"] is False
    assert anthropic_get(client, key, "/v1/models?limit=0").status_code == 400


def test_anthropic_retrieve_and_the_openai_shape_without_the_header(client, key):
    assert anthropic_get(client, key, "/v1/models/claude-b").json["type"] == "model"
    plain = client.get("/v1/models", headers={"Authorization": f"Bearer sk-{key}"}).json
    assert plain["object"] == "list" and {m["id"] for m in plain["data"]} == set(MODELS)
    assert plain["data"][0]["object"] == "model"


def test_a_wrong_x_api_key_is_refused(client, key):
    assert anthropic_get(client, "x" * 48, "/v1/models").status_code == 401
