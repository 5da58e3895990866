"""The settings pages: the personal tab (access token, invite link, bindings, deleting the account) and
root's option tabs (each group saved at once, validated before anything is written, secrets write-only,
log cleanup)."""

from __future__ import annotations

import json
import re
import time

import pytest
import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import Log, Option, User, UserStatus
from oneapi.services import options, settings
from tests import factories
from tests.web.helpers import HTMX, fragment, is_full_page, post_form, text
from tests.web.pages import ADMIN, USER

SECRET = "very-secret-value-42"


def save(client, group: str, data: dict, **kwargs):
    return post_form(client, f"/setting/option/{group}", data, **kwargs)


def stored_rows() -> dict[str, str]:
    db.session.expire_all()
    return {row.key: row.value for row in db.session.scalars(sa.select(Option))}


def listed(root_client) -> dict[str, str]:
    return {row["key"]: row["value"] for row in root_client.get("/api/option/").json["data"]}


def field_error(html: str, name: str) -> str:
    match = re.search(rf'<small class="error" id="e-{name}">([^<]*)</small>', html)
    return match.group(1) if match else ""


# --- Tabs and roles -------------------------------------------------------------------------------

def test_a_user_sees_only_the_personal_tab(user_client):
    page = text(user_client.get("/setting"))
    tabs = re.search(r'<nav class="tabs".*?</nav>', page, re.S).group(0)
    assert re.findall(r'href="([^"]+)"', tabs) == ["/setting"]


def test_root_sees_every_tab_and_each_answers_as_page_and_fragment(root_client):
    tabs = re.search(r'<nav class="tabs".*?</nav>', text(root_client.get("/setting")), re.S).group(0)
    assert re.findall(r'href="([^"]+)"', tabs) == ["/setting", "/setting/operation", "/setting/system",
                                                   "/setting/other"]
    for path, group in [("/setting/operation", "general"), ("/setting/system", "oidc"), ("/setting/other", "about")]:
        assert is_full_page(root_client.get(path))
        part = fragment(root_client, path)
        assert not is_full_page(part) and f'id="group-{group}"' in text(part) and text(part).lstrip().startswith(
            '<div id="settings">')


@pytest.mark.parametrize("role", [ADMIN, USER])
def test_only_root_may_open_or_save_the_option_tabs(role, login_as):
    client = login_as(role)
    for path in ("/setting/operation", "/setting/system", "/setting/other"):
        assert client.get(path).status_code == 403
    response = save(client, "quota", {"QuotaForNewUser": "777"})
    assert response.status_code == 403
    assert save(client, "login", {"RegisterEnabled": ""}, htmx=True).status_code == 403
    assert post_form(client, "/setting/logs/clear", {"before": "2999-01-01"}).status_code == 403
    assert post_form(client, "/setting/preview?key=Notice", {"Notice": "x"}).status_code == 403
    assert options.get("QuotaForNewUser") == "0" and options.get_bool("RegisterEnabled")
    assert "QuotaForNewUser" not in stored_rows()


def test_posts_without_the_csrf_token_are_refused(root_client, user_client, user):
    assert root_client.post("/setting/option/quota", data={"QuotaForNewUser": "5"}).status_code == 400
    assert root_client.post("/setting/logs/clear", data={"before": "2999-01-01"}).status_code == 400
    assert user_client.post("/setting/delete-account", data={"confirm_username": "alice"}).status_code == 400
    old_token = user.access_token
    assert user_client.post("/setting/access-token").status_code == 400
    db.session.expire_all()
    assert options.get("QuotaForNewUser") == "0" and "QuotaForNewUser" not in stored_rows()
    assert db.session.get(User, user.id).status == UserStatus.ENABLED
    assert db.session.get(User, user.id).access_token == old_token


# --- Saving option groups -------------------------------------------------------------------------

def _sample(key: str) -> tuple[str | None, str]:
    """(what the form posts, the value then stored) for a changed value of `key`."""
    kind = settings.kind(key)
    if kind == "bool":
        # PasswordLoginEnabled stays on: turning it off needs a confirmation (tested below).
        on = options.DEFAULTS[key] != "true" or key == "PasswordLoginEnabled"
        return ("true" if on else None), ("true" if on else "false")
    samples = {
        "int": ("12345", "12345"), "number": ("2.5", "2.5"),
        "json": ('{"gpt-x": 1.5,\n "default": 2}', json.dumps({"gpt-x": 1.5, "default": 2})),
        "list": ("a.example.com\nb.example.org, a.example.com", "a.example.com,b.example.org"),
        "select": ("berry", "berry"), "secret": (f"{SECRET}-{key}", f"{SECRET}-{key}"),
        "textarea": (f"**{key}** <i>text</i>", f"**{key}** <i>text</i>"),
        "text": (f"https://x.example.com/{key}", f"https://x.example.com/{key}"),
    }
    return samples[kind]


@pytest.mark.parametrize("group", settings.GROUPS, ids=lambda g: g.name)
def test_every_option_group_is_saved_and_read_back(group, root_client):
    # One API's guards: these switches need their settings first.
    for key, value in {"GitHubClientId": "gh-id", "WeChatServerAddress": "https://wx.example.com",
                       "TurnstileSiteKey": "site"}.items():
        options.update(key, value)
    posted, expected = {}, {}
    for key in group.keys:
        sent, stored = _sample(key)
        if sent is not None:
            posted[key] = sent
        expected[key] = stored
    response = save(root_client, group.name, posted)
    assert response.status_code == 303, text(response)[:800]
    assert response.headers["Location"] == f"/setting/{group.tab}#group-{group.name}"
    rows, api = stored_rows(), listed(root_client)
    for key, value in expected.items():
        # An unchanged option (password login stays on) is not written at all.
        assert options.get(key) == value and rows.get(key, options.DEFAULTS[key]) == value, key
        if settings.is_write_only(key):
            assert SECRET not in text(root_client.get(f"/setting/{group.tab}"))
        else:
            assert api[key] == value, key


def test_a_saved_group_answers_htmx_with_its_card_and_a_flash(root_client):
    response = save(root_client, "quota", {"QuotaForNewUser": "100", "PreConsumedQuota": "500",
                                           "QuotaForInviter": "0", "QuotaForInvitee": "0"}, htmx=True)
    body = text(response)
    assert response.status_code == 200 and not is_full_page(response)
    assert body.lstrip().startswith('<section class="card settings-group" id="group-quota">')
    assert 'value="100"' in body and 'hx-swap-oob="true"' in body and "设置已保存" in body


def test_only_changed_options_are_written(root_client):
    response = save(root_client, "quota", {"QuotaForNewUser": "100", "PreConsumedQuota": "500",
                                           "QuotaForInviter": "0", "QuotaForInvitee": "0"})
    assert response.status_code == 303
    rows = stored_rows()
    assert rows["QuotaForNewUser"] == "100"
    assert not {"PreConsumedQuota", "QuotaForInviter", "QuotaForInvitee"} & rows.keys()
    # The ratios exactly as shown (pretty-printed) are not a change either.
    shown = settings.shown_values(settings.group("ratios"))
    assert save(root_client, "ratios", shown).status_code == 303
    assert not {"ModelRatio", "CompletionRatio", "GroupRatio"} & stored_rows().keys()


@pytest.mark.parametrize("htmx", [False, True])
def test_invalid_ratio_json_is_shown_beside_its_field_and_nothing_is_saved(root_client, htmx):
    before = {key: options.get(key) for key in ("ModelRatio", "CompletionRatio", "GroupRatio")}
    data = {"ModelRatio": '{"gpt-4o": 2,', "CompletionRatio": '{"gpt-4o": 3}', "GroupRatio": '{"default": 1}'}
    response = save(root_client, "ratios", data, htmx=htmx)
    body = text(response)
    assert response.status_code == 422
    assert is_full_page(response) is not htmx
    assert "invalid JSON" in field_error(body, "ModelRatio")
    assert not field_error(body, "CompletionRatio")
    # What root typed stays in the box to be fixed.
    assert "{&#34;gpt-4o&#34;: 2,</textarea>" in body
    assert {key: options.get(key) for key in before} == before
    assert not {"ModelRatio", "CompletionRatio", "GroupRatio"} & stored_rows().keys()


def test_a_ratio_must_be_an_object_of_non_negative_numbers(root_client):
    for bad in ('["default"]', '{"default": "1"}', '{"default": -1}'):
        response = save(root_client, "ratios", {**settings.shown_values(settings.group("ratios")),
                                                "GroupRatio": bad})
        assert response.status_code == 422 and field_error(text(response), "GroupRatio"), bad
    assert json.loads(options.get("GroupRatio")) == {"default": 1, "svip": 1, "vip": 1}


def test_a_non_number_is_shown_beside_its_field_and_nothing_is_saved(root_client):
    response = save(root_client, "quota", {"QuotaForNewUser": "200", "PreConsumedQuota": "lots",
                                           "QuotaForInviter": "0", "QuotaForInvitee": "0"})
    assert response.status_code == 422
    assert "not an integer" in field_error(text(response), "PreConsumedQuota")
    assert options.get("QuotaForNewUser") == "0" and options.get("PreConsumedQuota") == "500"
    response = save(root_client, "monitoring", {"ChannelDisableThreshold": "soon", "QuotaRemindThreshold": "1000"},
                    htmx=True)
    assert response.status_code == 422 and "not a number" in field_error(text(response), "ChannelDisableThreshold")
    assert options.get("ChannelDisableThreshold") == "5" and not stored_rows()


def test_ratios_are_shown_pretty_printed(root_client):
    options.update("GroupRatio", '{"default":1,"vip":2}')
    page = text(root_client.get("/setting/operation"))
    assert "{\n  &#34;default&#34;: 1,\n  &#34;vip&#34;: 2\n}</textarea>" in page


def test_a_guarded_switch_needs_its_settings_first(root_client):
    response = save(root_client, "login", {"PasswordLoginEnabled": "true", "PasswordRegisterEnabled": "true",
                                           "RegisterEnabled": "true", "GitHubOAuthEnabled": "true"})
    assert response.status_code == 422
    assert "GitHub" in field_error(text(response), "GitHubOAuthEnabled")
    assert not options.get_bool("GitHubOAuthEnabled")


def test_the_email_whitelist_can_be_enabled_with_its_domains_in_one_save(root_client):
    response = save(root_client, "email_domains", {"EmailDomainRestrictionEnabled": "true",
                                                   "EmailDomainWhitelist": "corp.example.com\n"})
    assert response.status_code == 303
    assert options.get("EmailDomainWhitelist") == "corp.example.com" and options.get_bool(
        "EmailDomainRestrictionEnabled")
    response = save(root_client, "email_domains", {"EmailDomainRestrictionEnabled": "true",
                                                   "EmailDomainWhitelist": " "})
    assert response.status_code == 422 and field_error(text(response), "EmailDomainWhitelist")
    assert options.get("EmailDomainWhitelist") == "corp.example.com"


def test_emptying_what_a_switch_that_is_on_needs_is_refused(root_client):
    options.update("GitHubClientId", "gh-id")
    options.update("GitHubOAuthEnabled", "true")
    response = save(root_client, "github", {"GitHubClientId": ""})
    assert response.status_code == 422 and "GitHub" in field_error(text(response), "GitHubClientId")
    assert options.get("GitHubClientId") == "gh-id"


def test_turning_password_login_off_asks_for_confirmation(root_client):
    data = {"PasswordRegisterEnabled": "true", "RegisterEnabled": "true"}
    response = save(root_client, "login", data)
    assert response.status_code == 422 and field_error(text(response), "PasswordLoginEnabled")
    assert 'name="confirm"' in text(response)
    # The refused form keeps the switch as root left it, so ticking the confirmation is all it takes.
    assert 'name="PasswordLoginEnabled" value="true" >' in text(response)
    assert options.get_bool("PasswordLoginEnabled")
    assert save(root_client, "login", {**data, "confirm": "true"}).status_code == 303
    assert not options.get_bool("PasswordLoginEnabled")


def test_an_unknown_group_is_not_found(root_client):
    assert save(root_client, "nope", {}).status_code == 404


def test_the_theme_is_chosen_from_the_known_themes(root_client):
    page = text(root_client.get("/setting/other"))
    assert re.findall(r'<option value="(\w+)"', page) == sorted(options.THEMES)
    response = save(root_client, "branding", {"SystemName": "Acme", "Logo": "", "Theme": "purple"})
    assert response.status_code == 422 and field_error(text(response), "Theme")
    assert options.get("SystemName") == "One API"


# --- Secrets --------------------------------------------------------------------------------------

def test_secrets_never_appear_in_any_page(root_client):
    secrets = [key for group in settings.GROUPS for key in group.keys if settings.is_write_only(key)]
    assert "TurnstileSecretKey" in secrets and "SMTPToken" in secrets
    for key in secrets:
        options.update(key, f"{SECRET}-{key}")
    for path in ("/setting", "/setting/operation", "/setting/system", "/setting/other"):
        for response in (root_client.get(path), fragment(root_client, path)):
            assert SECRET not in text(response), path
    system = text(root_client.get("/setting/system"))
    assert len(re.findall(r'data-secret="set"', system)) == len(secrets)
    refused = save(root_client, "smtp", {"SMTPServer": "smtp.example.com", "SMTPPort": "x", "SMTPToken": "typed"})
    assert refused.status_code == 422 and SECRET not in text(refused) and "typed" not in text(refused)


def test_an_empty_secret_keeps_the_stored_one(root_client):
    options.update("SMTPToken", SECRET)
    data = {"SMTPServer": "smtp.example.com", "SMTPPort": "465", "SMTPAccount": "bot", "SMTPFrom": "", "SMTPToken": ""}
    response = save(root_client, "smtp", data, htmx=True)
    assert response.status_code == 200 and 'data-secret="set"' in text(response)
    assert options.get("SMTPToken") == SECRET and options.get("SMTPPort") == "465"
    assert stored_rows()["SMTPToken"] == SECRET
    assert save(root_client, "smtp", {**data, "SMTPToken": "new-token"}).status_code == 303
    assert options.get("SMTPToken") == "new-token"


def test_a_stored_secret_can_be_cleared_with_its_box(root_client):
    options.update("SMTPToken", SECRET)
    page = text(root_client.get("/setting/system"))
    assert 'name="clear_SMTPToken"' in page and 'name="clear_GitHubClientSecret"' not in page
    data = {"SMTPServer": "smtp.example.com", "SMTPPort": "587", "SMTPAccount": "bot", "SMTPFrom": "", "SMTPToken": ""}
    assert save(root_client, "smtp", {**data, "clear_SMTPToken": "true"}).status_code == 303
    assert options.get("SMTPToken") == "" and stored_rows()["SMTPToken"] == ""
    assert re.search(r'id="f-SMTPToken"[^>]*data-secret="unset"', text(root_client.get("/setting/system")))


def test_an_unset_secret_says_so(root_client):
    page = text(root_client.get("/setting/system"))
    assert 'id="f-GitHubClientSecret"' in page and 'data-secret="unset"' in page and 'data-secret="set"' not in page


def test_oauth_callbacks_are_shown_from_the_server_address(root_client):
    options.update("ServerAddress", "https://gw.example.com")
    page = text(root_client.get("/setting/system"))
    assert "https://gw.example.com/oauth/github" in page and "https://gw.example.com/oauth/lark" in page


# --- Logs and preview -----------------------------------------------------------------------------

def test_log_cleanup_deletes_only_older_rows_and_says_how_many(root_client, user):
    cutoff = int(time.mktime(time.strptime("2024-06-01 00:00", "%Y-%m-%d %H:%M")))
    for created in (cutoff - 86400, cutoff - 1):
        factories.make_log(user, created_at=created)
    kept = factories.make_log(user, created_at=cutoff + 60).id
    response = post_form(root_client, "/setting/logs/clear", {"before": "2024-06-01T00:00"}, htmx=True)
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/setting/operation#group-logs"
    assert db.session.scalars(sa.select(Log.id)).all() == [kept]
    page = text(root_client.get("/setting/operation"))
    assert "已删除 2024-06-01 00:00 之前的 2 条日志" in page


def test_log_cleanup_needs_a_valid_date(root_client, user):
    factories.make_log(user, created_at=1000)
    for bad in ("", "yesterday"):
        response = post_form(root_client, "/setting/logs/clear", {"before": bad})
        assert response.status_code == 422 and field_error(text(response), "before"), bad
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Log)) == 1


def test_markdown_preview_renders_what_root_typed(root_client):
    response = post_form(root_client, "/setting/preview?key=About", {"About": "# Hello *there*"}, htmx=True)
    assert response.status_code == 200 and "<h1>Hello <em>there</em></h1>" in text(response)
    assert post_form(root_client, "/setting/preview?key=SMTPToken", {"SMTPToken": "x"}).status_code == 400


# --- Personal tab ---------------------------------------------------------------------------------

def test_generating_an_access_token_shows_it_once(user_client, user, other_user):
    old, others = user.access_token, other_user.access_token
    response = post_form(user_client, "/setting/access-token", htmx=True)
    body = text(response)
    db.session.expire_all()
    new = db.session.get(User, user.id).access_token
    assert response.status_code == 200 and not is_full_page(response)
    assert new and new != old and f'id="new-access-token">{new}</code>' in body and f'data-copy="{new}"' in body
    assert db.session.get(User, other_user.id).access_token == others
    assert new not in text(user_client.get("/setting"))
    plain = post_form(user_client, "/setting/access-token")
    assert plain.status_code == 200 and is_full_page(plain)
    assert user_client.get("/api/user/self", headers={"Authorization": new}).status_code == 200


def test_the_invite_link_uses_the_server_address_or_the_request_host(user_client, user):
    assert f"http://localhost/register?aff={user.aff_code}" in text(user_client.get("/setting"))
    options.update("ServerAddress", "https://gw.example.com/")
    assert f"https://gw.example.com/register?aff={user.aff_code}" in text(user_client.get("/setting"))


def test_a_user_without_an_affiliate_code_gets_one_on_request(user_client, user):
    user.aff_code = None
    db.session.commit()
    assert "/register?aff=" not in text(user_client.get("/setting"))
    response = post_form(user_client, "/setting/invite", htmx=True)
    db.session.expire_all()
    code = db.session.get(User, user.id).aff_code
    assert code and f"/register?aff={code}" in text(response) and not is_full_page(response)


def test_bindings_are_shown_with_only_the_email_editable(user_client, user):
    user.github_id, user.email = "octocat", "alice@example.com"
    db.session.commit()
    bindings = re.search(r'<section class="card" id="bindings">.*?</section>', text(user_client.get("/setting")),
                         re.S).group(0)
    assert "octocat" in bindings and "alice@example.com" in bindings and "未绑定" in bindings
    assert re.findall(r'<input[^>]*name="(\w+)"', bindings) == ["csrf_token", "email", "email_code"]


def test_deleting_the_account_needs_the_username(user_client, user):
    response = post_form(user_client, "/setting/delete-account", {"confirm_username": "Alice"}, htmx=True)
    assert response.status_code == 422 and field_error(text(response), "confirm_username")
    db.session.expire_all()
    assert db.session.get(User, user.id).status == UserStatus.ENABLED


def test_deleting_the_account_deletes_it_and_logs_out(user_client, user):
    response = post_form(user_client, "/setting/delete-account", {"confirm_username": "alice"})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    db.session.expire_all()
    assert db.session.get(User, user.id).status == UserStatus.DELETED
    assert "你的账户已删除" in text(user_client.get("/"))
    assert user_client.get("/setting").headers["Location"].startswith("/login")


def test_root_cannot_delete_itself(root_client):
    assert 'name="confirm_username"' not in text(root_client.get("/setting"))
    response = post_form(root_client, "/setting/delete-account", {"confirm_username": "root"}, headers=HTMX)
    assert response.status_code == 403 and "不能删除超级管理员账户" in text(response)
    root = db.session.scalar(sa.select(User).where(User.username == "root"))
    assert root.status == UserStatus.ENABLED
