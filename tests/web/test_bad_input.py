"""Bad form input never breaks a console page: every POST route, fed junk, answers without a server error
and changes nothing it should not."""

from __future__ import annotations

import pytest

from tests import factories
from tests.web.helpers import csrf_token
from tests.web.pages import ROOT, USER

FIELDS = ["name", "key", "type", "models", "groups", "group", "base_url", "other", "model_mapping", "system_prompt",
          "priority", "weight", "status", "model", "scope", "remain_quota", "expired_time", "unlimited_quota",
          "subnet", "quota", "count", "username", "password", "password2", "display_name", "action", "email",
          "email_code", "verification_code", "aff_code", "confirm_username", "before", "step", "expire", "fill",
          "lang", "next", "keys", "id", "token", "custom_models", "custom_groups", "batch", "config", "region",
          "QuotaPerUnit", "ModelRatio", "Notice", "Theme", "SMTPPort"]
JUNK = ["", "-1", "0", "99999999999999999999999999", "abc", "{", "[]", "\x00", "é" * 5000, "1e309", "<script>"]


@pytest.mark.parametrize("junk", JUNK, ids=range(len(JUNK)))
def test_every_console_post_survives_junk(app, login_as, junk):
    client = login_as(ROOT)
    user = factories.make_user("victim")
    token = factories.make_token(user)
    channel = factories.make_channel()
    code = factories.make_redemption()
    ids = {"channel_id": channel.id, "token_id": token.id, "redemption_id": code.id, "user_id": user.id,
           "name": "quota", "id": 1}
    csrf = csrf_token(client)
    rules = [r for r in app.url_map.iter_rules() if "POST" in r.methods and r.endpoint.split(".")[0] in
             {"pages", "auth", "channels", "tokens", "redemptions", "users", "logs", "dashboard", "topup", "settings"}]
    for rule in rules:
        if rule.endpoint in ("auth.logout", "settings.delete_account"):
            continue  # they end the session the loop is using; they are tested on their own
        url = rule.build({k: ids.get(k, 1) for k in rule.arguments}, append_unknown=False)[1]
        data = {"csrf_token": csrf, **{field: junk for field in FIELDS}}
        for headers in ({}, {"HX-Request": "true"}):
            response = client.post(url, data=data, headers=headers)
            assert response.status_code < 500, (url, headers, response.get_data(as_text=True)[-400:])


QUERY = ["p", "keyword", "sort", "order", "start", "end", "token_name", "model_name", "channel", "username", "type",
         "job", "stat", "email", "token", "aff", "next", "key"]


QUERY_JUNK = ["", "-1", "99999999999999999999999999", "abc", "\x00", "é" * 3000]


@pytest.mark.parametrize("junk", QUERY_JUNK, ids=range(len(QUERY_JUNK)))
def test_every_console_page_survives_junk_query_parameters(app, login_as, user, junk):
    """Hand-edited addresses (filters, sort keys, ids, links from mails) never give a server error."""
    code = factories.make_redemption()
    ids = {"channel_id": factories.make_channel().id, "token_id": factories.make_token(user).id,
           "redemption_id": code.id, "user_id": user.id, "tab": "system"}
    rules = [r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint.split(".")[0] in
             {"pages", "auth", "channels", "tokens", "redemptions", "users", "logs", "dashboard", "topup", "settings"}]
    for role in (ROOT, USER):
        client = login_as(role)
        for rule in rules:
            url = rule.build({k: ids.get(k, 1) for k in rule.arguments}, append_unknown=False)[1]
            for headers in ({}, {"HX-Request": "true"}):
                response = client.get(url, query_string={name: junk for name in QUERY}, headers=headers)
                assert response.status_code < 500, (role, url, headers, response.get_data(as_text=True)[-400:])
