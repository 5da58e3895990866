"""Credentials inside a channel's config (AWS's secret key `sk`, Vertex AI's service-account JSON
`vertex_ai_adc`) are write-only, like the channel key: no `/api` answer contains them, and an update
that sends them empty or leaves them out keeps the stored ones."""

from __future__ import annotations

import json
import re

import pytest

from oneapi.extensions import db
from oneapi.models import Channel

SK = "aws-secret-Zq8v1xN2"
ADC = json.dumps({"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----adc-secret-Pw4k"})
SECRETS = (SK, "adc-secret-Pw4k")
# Left out: routes that call the upstream (tests, balances), which answer no channel data, and logout.
LEFT_OUT = re.compile(r"/channel/(test|update_balance)|/user/logout")


@pytest.fixture
def secret_channels(root_client):
    """An AWS and a Vertex AI channel created through the API; their ids."""
    bodies = [
        {"type": 33, "name": "aws", "key": f"AKIAEXAMPLE|{SK}|us-east-1", "models": "claude-3-haiku",
         "config": json.dumps({"region": "us-east-1", "ak": "AKIAEXAMPLE", "sk": SK})},
        {"type": 42, "name": "vertex", "key": f"us-central1|proj|{ADC}", "models": "gemini-1.5-pro",
         "config": json.dumps({"region": "us-central1", "vertex_ai_project_id": "proj", "vertex_ai_adc": ADC})},
    ]
    for body in bodies:
        assert root_client.post("/api/channel/", json=body).json["success"]
    return [c.id for c in db.session.query(Channel).order_by(Channel.id)]


def stored_config(channel_id: int) -> dict:
    db.session.expire_all()
    return json.loads(db.session.get(Channel, channel_id).config)


def get_routes(app, channel_id: int) -> list[str]:
    paths = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or "GET" not in rule.methods or LEFT_OUT.search(rule.rule):
            continue
        paths.append(re.sub(r"<[^>]+>", str(channel_id), rule.rule))
    return paths


def test_no_api_answer_contains_a_stored_secret(app, root_client, secret_channels):
    answers = {}
    for channel_id in secret_channels:
        for path in get_routes(app, channel_id):
            answers[path] = root_client.get(path).get_data(as_text=True)
        answers["search"] = root_client.get("/api/channel/search?keyword=" + "aws").get_data(as_text=True)
        answers[f"PUT {channel_id}"] = root_client.put("/api/channel/", json={"id": channel_id, "name": "renamed"}
                                                       ).get_data(as_text=True)
    assert "/api/channel/" in answers and f"/api/channel/{secret_channels[0]}" in answers
    refused = [path for path, text in answers.items() if "无权进行此操作" in text]
    assert not refused, f"root was refused (logged out?): {refused}"
    for where, text in answers.items():
        for secret in SECRETS:
            assert secret not in text, where


def test_the_config_shows_the_other_fields_and_blank_secrets(root_client, secret_channels):
    aws, vertex = (root_client.get(f"/api/channel/{i}").json["data"] for i in secret_channels)
    assert json.loads(aws["config"]) == {"region": "us-east-1", "ak": "AKIAEXAMPLE", "sk": ""}
    assert json.loads(vertex["config"]) == {"region": "us-central1", "vertex_ai_project_id": "proj",
                                            "vertex_ai_adc": ""}
    assert aws["key"] == vertex["key"] == ""


def test_saving_back_what_was_shown_keeps_the_secrets(root_client, secret_channels):
    aws, vertex = secret_channels
    for channel_id in secret_channels:
        shown = root_client.get(f"/api/channel/{channel_id}").json["data"]
        assert root_client.put("/api/channel/", json={**shown, "name": "edited"}).json["success"]
    assert stored_config(aws)["sk"] == SK
    assert stored_config(vertex)["vertex_ai_adc"] == ADC


def test_leaving_a_secret_out_keeps_it_and_sending_one_replaces_it(root_client, secret_channels):
    aws = secret_channels[0]
    root_client.put("/api/channel/", json={"id": aws, "config": json.dumps({"region": "eu-west-1", "ak": "AK2"})})
    assert stored_config(aws) == {"region": "eu-west-1", "ak": "AK2", "sk": SK}
    root_client.put("/api/channel/", json={"id": aws, "config": json.dumps({"region": "eu-west-1", "sk": "new"})})
    assert stored_config(aws)["sk"] == "new"


def test_a_config_that_is_not_an_object_is_not_shown(app, root_client, secret_channels):
    channel = db.session.get(Channel, secret_channels[0])
    channel.config = f"legacy {SK}"
    db.session.commit()
    assert root_client.get(f"/api/channel/{channel.id}").json["data"]["config"] == ""


def test_the_console_pages_do_not_show_the_secrets(root_client, secret_channels):
    for path in ["/channel", *(f"/channel/edit/{i}" for i in secret_channels)]:
        text = root_client.get(path).get_data(as_text=True)
        for secret in SECRETS:
            assert secret not in text, path
