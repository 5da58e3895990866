"""The channels pages: the list (search, sort, paging, status, inline actions, background jobs) and the
add/edit form with every channel type's fields, through the Flask test client."""

from __future__ import annotations

import json
import re
import time

import pytest
import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import Ability, Channel
from oneapi.relay import health
from oneapi.services import balances, channeltests
from tests import factories
from tests.conftest import count_rows
from tests.upstreams import balances as mock_balances
from tests.upstreams.server import serve
from tests.web.helpers import HTMX, fragment, is_full_page, post_form, text
from tests.web.pages import ADMIN, USER


@pytest.fixture
def admin_web(login_as):
    return login_as(ADMIN)


@pytest.fixture(scope="module")
def balance_provider():
    app = mock_balances.create_app()
    with serve(app) as base:
        yield app, base


def fresh(channel_id: int) -> Channel | None:
    db.session.commit()
    db.session.expire_all()
    return db.session.get(Channel, channel_id)


def only_channel() -> Channel:
    db.session.commit()
    db.session.expire_all()
    rows = list(db.session.scalars(sa.select(Channel)))
    assert len(rows) == 1, rows
    return rows[0]


def row_ids(body: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="channel-(\d+)"', body)]


def htmx_get(client, url: str):
    """An htmx GET in English."""
    return client.get(url, headers={**HTMX, "Accept-Language": "en"})


def wait_until_idle(timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while channeltests.batch_running() or balances.progress().running:
        assert time.monotonic() < deadline, "the background job did not finish"
        time.sleep(0.02)


# -- the list ----------------------------------------------------------------------------------------

def test_list_shows_type_group_status_and_the_auto_disable_reason(admin_web):
    factories.make_channel("plain", group="default,vip")
    azure = factories.make_channel("azure-one", type=3, base_url="https://x.openai.azure.com")
    factories.make_channel("off", status=2)
    dead = factories.make_channel("dead")
    health.disable_channel(dead.id, "quota exhausted")
    body = text(admin_web.get("/channel", headers={"Accept-Language": "en"}))
    assert set(row_ids(body)) == {azure.id, azure.id - 1, azure.id + 1, dead.id}
    assert '<span class="badge muted">vip</span>' in body
    assert '<span class="badge info">Azure</span>' in body and '<span class="badge info">OpenAI</span>' in body
    assert 'title="quota exhausted">Auto-disabled</span>' in body
    assert '<small class="channel-reason">quota exhausted</small>' in body
    assert "Disabled by an administrator" in body and "Not tested" in body


def test_type_labels_follow_the_language(admin_web):
    factories.make_channel("baidu", type=15)
    assert "Baidu Qianfan" in text(admin_web.get("/channel", headers={"Accept-Language": "en"}))
    assert "百度文心千帆" in text(admin_web.get("/channel", headers={"Accept-Language": "zh-CN"}))


def test_search_answers_the_table_fragment_and_finds_by_name_prefix_or_id(admin_web):
    alpha = factories.make_channel("alpha")
    factories.make_channel("beta")
    response = fragment(admin_web, "/channel?keyword=alp")
    assert response.status_code == 200 and not is_full_page(response)
    assert text(response).lstrip().startswith('<div id="channels-table">')
    assert row_ids(text(response)) == [alpha.id]
    assert row_ids(text(admin_web.get(f"/channel?keyword={alpha.id}"))) == [alpha.id]
    assert "No channel matches zzz" in text(admin_web.get("/channel?keyword=zzz", headers={"Accept-Language": "en"}))


def test_sort_by_each_column_and_page_through(admin_web):
    made = [factories.make_channel(f"ch{i:02d}", priority=i % 3) for i in range(12)]
    ids = [c.id for c in made]
    assert row_ids(text(admin_web.get("/channel"))) == sorted(ids, reverse=True)[:10]
    assert row_ids(text(admin_web.get("/channel?sort=id"))) == ids[:10]
    assert row_ids(text(admin_web.get("/channel?sort=name&p=1"))) == ids[10:]
    by_priority = row_ids(text(admin_web.get("/channel?sort=-priority")))
    assert [fresh(i).priority for i in by_priority][:4] == [2, 2, 2, 2]
    db.session.execute(sa.update(Channel).where(Channel.id == ids[5]).values(response_time=50, balance=9.5))
    db.session.commit()
    assert row_ids(text(admin_web.get("/channel?sort=-response_time")))[0] == ids[5]
    assert row_ids(text(admin_web.get("/channel?sort=-balance")))[0] == ids[5]
    first = text(admin_web.get("/channel?sort=name"))
    assert 'href="/channel?p=1&amp;sort=name"' in first
    assert 'href="/channel?sort=-name"' in first and 'aria-sort="ascending"' in first


def test_empty_list_says_what_to_do(admin_web):
    body = text(admin_web.get("/channel", headers={"Accept-Language": "en"}))
    assert "No channels yet" in body and 'href="/channel/add"' in body


# -- inline actions ----------------------------------------------------------------------------------

def test_test_a_channel_against_the_upstream_shows_the_response_time(admin_web, upstream, upstream_app):
    ch = factories.make_channel("live", base_url=upstream[1], models="gpt-4o,gpt-4o-mini")
    response = post_form(admin_web, f"/channel/{ch.id}/test", {"model": "gpt-4o-mini"}, htmx=True,
                         headers={"Accept-Language": "en"})
    body = text(response)
    assert response.status_code == 200 and body.lstrip().startswith(f'<tr id="channel-{ch.id}">')
    assert upstream_app.config["REQUESTS"][-1]["body"]["model"] == "gpt-4o-mini"
    saved = fresh(ch.id)
    assert saved.response_time > 0 and saved.test_time > 0
    assert f"{saved.response_time / 1000:.2f} s</span>" in body and "Tested at " in body
    assert "Answered in" in body and "<option selected>gpt-4o-mini</option>" in body


def test_a_failed_test_is_shown_in_the_row(admin_web, upstream, upstream_app):
    ch = factories.make_channel("bad", key="sk-wrong", base_url=upstream[1])
    body = text(post_form(admin_web, f"/channel/{ch.id}/test", {"model": "gpt-4o"}, htmx=True,
                          headers={"Accept-Language": "en"}))
    assert "Test failed" in body and "http status code: 401" in body
    assert fresh(ch.id).response_time == 0


def test_test_without_javascript_redirects_with_the_result_as_a_flash(admin_web, upstream, upstream_app):
    ch = factories.make_channel("live", base_url=upstream[1])
    response = post_form(admin_web, f"/channel/{ch.id}/test", {"model": "gpt-4o"})
    assert response.status_code == 303 and response.headers["Location"] == "/channel"
    assert f"#{ch.id} " in text(admin_web.get("/channel"))


def test_test_all_runs_in_the_background_with_live_progress(admin_web, upstream, upstream_app):
    for i in range(3):
        factories.make_channel(f"c{i}", base_url=upstream[1])
    response = post_form(admin_web, "/channel/test-all", {"scope": "all"}, htmx=True)
    assert response.status_code == 200 and '<div id="progress-test"' in text(response)
    wait_until_idle()
    done = htmx_get(admin_web, "/channel/progress?job=test")
    assert "every 1s" not in text(done), "polling must stop once the batch is done"
    assert "Channel test finished: 3 of 3 tested, 0 failed." in text(done)
    assert done.headers["HX-Trigger"] == "channels-changed"
    assert len(upstream_app.config["REQUESTS"]) == 3


def test_progress_keeps_polling_while_a_batch_runs(admin_web):
    channeltests._progress.start(4)
    try:
        running = htmx_get(admin_web, "/channel/progress?job=test")
        assert 'hx-trigger="every 1s"' in text(running) and "Testing channels: 0 of 4" in text(running)
        assert "HX-Trigger" not in running.headers
        assert 'id="progress-test"' in text(admin_web.get("/channel")), "the list shows a running job"
    finally:
        channeltests._progress.finish()


def test_test_disabled_scope_tests_only_disabled_channels(admin_web, upstream, upstream_app):
    factories.make_channel("on", base_url=upstream[1])
    factories.make_channel("off", base_url=upstream[1], status=2)
    post_form(admin_web, "/channel/test-all", {"scope": "disabled"}, htmx=True)
    wait_until_idle()
    assert "1" in text(fragment(admin_web, "/channel/progress?job=test"))
    assert len(upstream_app.config["REQUESTS"]) == 1


def test_balance_click_refreshes_the_row(admin_web, balance_provider):
    _, base = balance_provider
    ch = factories.make_channel("bal", key=mock_balances.KEY, type=1, base_url=f"{base}/openai")
    response = post_form(admin_web, f"/channel/{ch.id}/balance", htmx=True)
    assert response.status_code == 200 and "$94.50" in text(response)
    assert fresh(ch.id).balance == pytest.approx(94.5)


def test_balance_formats_per_type(admin_web):
    sb = factories.make_channel("sb", type=5)
    ds = factories.make_channel("ds", type=36)
    factories.make_channel("anthropic", type=14)
    for channel_id, amount in ((sb.id, 123456.0), (ds.id, 3.5)):
        db.session.execute(sa.update(Channel).where(Channel.id == channel_id).values(balance=amount))
    db.session.commit()
    body = text(admin_web.get("/channel"))
    assert "¥12.35" in body and "¥3.50" in body
    assert body.count('class="link balance"') == 2


def test_balance_of_an_unsupported_type_is_an_error_flash(admin_web):
    ch = factories.make_channel("azure", type=3)
    response = post_form(admin_web, f"/channel/{ch.id}/balance", htmx=True)
    assert response.status_code >= 400 and response.headers["HX-Retarget"] == "#flash"
    assert "余额查询" in text(response) or "balance" in text(response).lower()


def test_update_all_balances_in_the_background(admin_web, balance_provider):
    _, base = balance_provider
    good = factories.make_channel("bal", key=mock_balances.KEY, type=36, base_url=f"{base}/deepseek")
    factories.make_channel("wrong", key="sk-nope", type=36, base_url=f"{base}/deepseek")
    response = post_form(admin_web, "/channel/update-balances", htmx=True)
    assert '<div id="progress-balance"' in text(response)
    wait_until_idle()
    done = htmx_get(admin_web, "/channel/progress?job=balance")
    assert "Balances updated: 2 of 2 asked, 1 failed." in text(done)
    assert fresh(good.id).balance == pytest.approx(110.0)


def test_inline_priority_and_weight(admin_web):
    ch = factories.make_channel("p")
    response = post_form(admin_web, f"/channel/{ch.id}/order", {"priority": "7", "weight": "3"}, htmx=True)
    assert 'name="priority" value="7"' in text(response) and 'name="weight" min="0" value="3"' in text(response)
    saved = fresh(ch.id)
    assert (saved.priority, saved.weight) == (7, 3)
    assert set(db.session.scalars(sa.select(Ability.priority).where(Ability.channel_id == ch.id))) == {7}
    plain = post_form(admin_web, f"/channel/{ch.id}/order", {"priority": "-2", "weight": "0"})
    assert plain.status_code == 303 and fresh(ch.id).priority == -2
    bad = post_form(admin_web, f"/channel/{ch.id}/order", {"priority": "1", "weight": "-1"}, htmx=True)
    assert bad.status_code == 422 and fresh(ch.id).priority == -2


def test_enable_disable_delete_and_delete_disabled(admin_web):
    ch = factories.make_channel("x")
    keep = factories.make_channel("keep")
    en = {"Accept-Language": "en"}
    off = post_form(admin_web, f"/channel/{ch.id}/status", {"status": "2"}, htmx=True, headers=en)
    assert fresh(ch.id).status == 2 and ">Enable</button>" in text(off)
    on = post_form(admin_web, f"/channel/{ch.id}/status", {"status": "1"}, htmx=True, headers=en)
    assert fresh(ch.id).status == 1 and ">Disable</button>" in text(on)
    assert 'hx-confirm="Delete channel x?"' in text(admin_web.get("/channel", headers={"Accept-Language": "en"}))
    gone = post_form(admin_web, f"/channel/{ch.id}/delete", htmx=True)
    assert gone.status_code == 200 and "<tr" not in text(gone) and 'hx-swap-oob="true"' in text(gone)
    assert fresh(ch.id) is None
    factories.make_channel("d1", status=2)
    factories.make_channel("d2", status=3)
    response = post_form(admin_web, "/channel/delete-disabled")
    assert response.status_code == 303
    assert [c.id for c in db.session.scalars(sa.select(Channel))] == [keep.id]


def test_posts_without_a_csrf_token_are_refused(admin_web):
    ch = factories.make_channel("x")
    for url in (f"/channel/{ch.id}/delete", f"/channel/{ch.id}/status", "/channel/delete-disabled", "/channel/add"):
        assert admin_web.post(url, data={"status": "2", "name": "n", "key": "k"}).status_code == 400
    assert fresh(ch.id) is not None and fresh(ch.id).status == 1


def test_common_users_are_refused(login_as, upstream, upstream_app):
    ch = factories.make_channel("x", base_url=upstream[1])
    client = login_as(USER)
    for url in (f"/channel/{ch.id}/delete", f"/channel/{ch.id}/test", "/channel/test-all", "/channel/add",
                f"/channel/edit/{ch.id}", "/channel/delete-disabled", "/channel/update-balances"):
        assert post_form(client, url, {"name": "n", "key": "k", "models": "m"}).status_code == 403
    assert client.get("/channel/progress?job=test").status_code == 403
    assert fresh(ch.id) is not None and count_rows(Channel) == 1
    assert upstream_app.config["REQUESTS"] == []


# -- the add/edit form -------------------------------------------------------------------------------

BASE = {"name": "n1", "groups": ["default", "vip"], "models": ["gpt-4o", "gpt-4o-mini"],
        "model_mapping": '{"gpt-4o": "gpt-4o-2024"}', "system_prompt": "Be brief.", "action": "save"}

# type → (posted fields, expected saved columns, expected config)
CASES = {
    "azure": (3, {"key": "azkey", "base_url": "https://r.openai.azure.com/", "other": "2024-06-01"},
              {"key": "azkey", "base_url": "https://r.openai.azure.com", "other": "2024-06-01"}, {}),
    # The base URL is honoured for AWS (a VPC endpoint, a mirror), where One API had none.
    "aws": (33, {"config_region": "us-west-2", "config_ak": "AKIA1", "config_sk": "secret1",
                 "base_url": "https://bedrock.example.com"},
            {"key": "AKIA1|secret1|us-west-2", "base_url": "https://bedrock.example.com"},
            {"region": "us-west-2", "ak": "AKIA1", "sk": "secret1"}),
    "vertex": (42, {"config_region": "us-central1", "config_vertex_ai_project_id": "proj",
                    "config_vertex_ai_adc": '{"type": "service_account"}'},
               {"key": 'us-central1|proj|{"type": "service_account"}'},
               {"region": "us-central1", "vertex_ai_project_id": "proj",
                "vertex_ai_adc": '{"type": "service_account"}'}),
    "cloudflare": (37, {"key": "cf-token", "config_user_id": "acc123"}, {"key": "cf-token"}, {"user_id": "acc123"}),
    "coze": (34, {"key": "pat_1", "config_user_id": "u-9", "base_url": "https://api.coze.cn"},
             {"key": "pat_1", "base_url": "https://api.coze.cn"}, {"user_id": "u-9"}),
    "custom": (8, {"key": "sk-c", "base_url": "https://relay.example.com"},
               {"key": "sk-c", "base_url": "https://relay.example.com"}, {}),
    "xunfei": (18, {"key": "a|b|c", "other": "v3.5"}, {"key": "a|b|c", "other": "v3.5"}, {}),
    "ali": (17, {"key": "sk-ali", "other": "enable-search"}, {"other": "enable-search"}, {}),
    "compatible": (50, {"key": "sk-x", "base_url": "https://api.x.com/v1"}, {"base_url": "https://api.x.com/v1"}, {}),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_every_field_of_each_type_round_trips(admin_web, case):
    channel_type, posted, columns, config = CASES[case]
    response = post_form(admin_web, "/channel/add", {**BASE, "type": str(channel_type), **posted})
    assert response.status_code == 303, text(response)[:2000]
    saved = only_channel()
    assert (saved.type, saved.name, saved.group) == (channel_type, "n1", "default,vip")
    assert saved.models == "gpt-4o,gpt-4o-mini"
    assert (saved.model_mapping, saved.system_prompt) == ('{"gpt-4o": "gpt-4o-2024"}', "Be brief.")
    for column, value in columns.items():
        assert getattr(saved, column) == value, column
    assert json.loads(saved.config or "{}") == config
    page = text(admin_web.get(f"/channel/edit/{saved.id}"))
    assert f'<option value="{channel_type}" selected>' in page
    assert 'value="n1"' in page and "Be brief." in page and "gpt-4o-2024" in page
    for name, value in posted.items():
        secret = name in ("key", "config_sk", "config_vertex_ai_adc")
        if name.startswith("config_") or name == "other":
            assert (value not in page) if secret else (f'value="{value}"' in page or value in page), name
    assert saved.key not in page, "the key is write-only"
    # Saving the edit form untouched keeps the key and secrets.
    resubmit = {**BASE, "type": str(channel_type), **{k: v for k, v in posted.items()
                                                      if k not in ("key", "config_sk", "config_vertex_ai_adc")}}
    assert post_form(admin_web, f"/channel/edit/{saved.id}", resubmit).status_code == 303
    again = fresh(saved.id)
    assert again.key == saved.key and json.loads(again.config or "{}") == config


def test_azure_api_version_defaults_to_the_version_the_relay_uses(admin_web):
    # One API's form saved 2024-03-01-preview while its relay defaulted to another: one constant here.
    from oneapi.relay.adaptors.openai import AZURE_DEFAULT_API_VERSION

    body = text(admin_web.get("/channel/add"))
    assert AZURE_DEFAULT_API_VERSION not in body or 'name="other"' not in body
    post_form(admin_web, "/channel/add", {**BASE, "type": "3", "key": "k", "base_url": "https://a.b"})
    assert only_channel().other == AZURE_DEFAULT_API_VERSION == "2024-10-21"


def test_required_type_fields_are_reported_beside_them(admin_web):
    response = post_form(admin_web, "/channel/add", {**BASE, "type": "8", "key": "k"})
    assert response.status_code == 422
    assert 'id="e-base_url"' in text(response) and count_rows(Channel) == 0
    response = post_form(admin_web, "/channel/add", {**BASE, "type": "33", "config_region": "r", "config_ak": "a"})
    assert response.status_code == 422 and 'id="e-config_sk"' in text(response) and count_rows(Channel) == 0
    response = post_form(admin_web, "/channel/add", {**BASE, "type": "1", "models": []})
    assert response.status_code == 422 and 'id="e-models"' in text(response)


def test_bad_model_mapping_is_shown_beside_the_field_and_nothing_saved(admin_web):
    ch = factories.make_channel("keep", model_mapping="")
    for url in ("/channel/add", f"/channel/edit/{ch.id}"):
        for htmx in (False, True):
            response = post_form(admin_web, url, {**BASE, "type": "1", "key": "k", "model_mapping": "{not json"},
                                 htmx=htmx, headers={"Accept-Language": "en"})
            body = text(response)
            assert response.status_code == 422
            assert is_full_page(response) is not htmx
            assert re.search(r'id="f-model_mapping"[^>]*aria-invalid="true"', body, re.S)
            assert '<small class="error" id="e-model_mapping">The model mapping must be a JSON object' in body
            assert "{not json" in body, "the typed value is kept"
    assert count_rows(Channel) == 1 and fresh(ch.id).name == "keep"


def test_batch_mode_creates_one_channel_per_key(admin_web):
    page = text(post_form(admin_web, "/channel/add", {"type": "1", "batch": "true", "action": "retype"}, htmx=True))
    assert '<textarea id="f-key" name="key"' in page
    response = post_form(admin_web, "/channel/add", {**BASE, "type": "1", "batch": "true", "key": "k1\nk2\n\n k3 \n"},
                         headers={"Accept-Language": "en"})
    assert response.status_code == 303
    keys = sorted(db.session.scalars(sa.select(Channel.key)))
    assert keys == ["k1", "k2", "k3"]
    assert "3 channels created" in text(admin_web.get("/channel", headers={"Accept-Language": "en"}))


def test_edit_with_an_empty_key_keeps_it_and_a_new_key_replaces_it(admin_web):
    ch = factories.make_channel("e", key="sk-old")
    post_form(admin_web, f"/channel/edit/{ch.id}", {**BASE, "type": "1", "key": ""})
    assert fresh(ch.id).key == "sk-old" and fresh(ch.id).name == "n1"
    post_form(admin_web, f"/channel/edit/{ch.id}", {**BASE, "type": "1", "key": "sk-new"})
    assert fresh(ch.id).key == "sk-new"


def test_changing_the_type_re_renders_the_form_with_the_typed_values(admin_web):
    data = {"type": "33", "name": "kept name", "models": ["m1"], "action": "retype"}
    response = post_form(admin_web, "/channel/add", data, htmx=True, headers={"Accept-Language": "en"})
    body = text(response)
    assert response.status_code == 200 and body.lstrip().startswith('<form id="channel-form"')
    assert 'name="config_region"' in body and 'name="config_sk"' in body and 'name="key"' not in body
    assert 'value="kept name"' in body and 'value="m1" checked' in body
    assert count_rows(Channel) == 0
    plain = post_form(admin_web, "/channel/add", {**data, "type": "37"})
    assert is_full_page(plain) and "账户 ID" in text(plain) and count_rows(Channel) == 0


def test_models_buttons_fill_related_all_and_clear(admin_web):
    related = post_form(admin_web, "/channel/add", {"type": "14", "fill": "related", "models": ["mine"]}, htmx=True)
    body = text(related)
    assert body.lstrip().startswith('<fieldset id="models-field"')
    assert 'value="claude-3-5-sonnet-20240620" checked' in body and 'value="mine" checked' not in body
    everything = text(post_form(admin_web, "/channel/add", {"type": "14", "fill": "all"}, htmx=True))
    assert 'value="gpt-4o" checked' in everything and 'value="claude-3-5-sonnet-20240620" checked' in everything
    cleared = text(post_form(admin_web, "/channel/add", {"type": "14", "fill": "clear", "models": ["x"]}, htmx=True))
    assert "checked" not in cleared
    plain = post_form(admin_web, "/channel/add", {"type": "14", "fill": "related", "name": "typed"})
    assert is_full_page(plain) and 'value="typed"' in text(plain) and count_rows(Channel) == 0


def test_custom_models_and_groups_are_added(admin_web):
    post_form(admin_web, "/channel/add", {**BASE, "type": "1", "key": "k", "custom_models": "my-model, other",
                                          "custom_groups": "team"})
    saved = only_channel()
    assert saved.models == "gpt-4o,gpt-4o-mini,my-model,other" and saved.group == "default,vip,team"
    page = text(admin_web.get(f"/channel/edit/{saved.id}"))
    assert 'value="team" checked' in page and 'value="my-model" checked' in page


def test_group_choices_come_from_the_group_ratio_and_existing_channels(admin_web):
    factories.make_channel("g", group="partner")
    page = text(admin_web.get("/channel/add"))
    for group in ("default", "vip", "svip", "partner"):
        assert f'name="groups" value="{group}"' in page


def test_edit_of_a_missing_channel_is_not_found(admin_web):
    assert admin_web.get("/channel/edit/999999").status_code == 404


@pytest.mark.parametrize("language", ["zh", "en"])
def test_each_types_form_shows_what_its_declaration_says(admin_web, language):
    """The form is drawn from the registry: the key format in the key's hint, every config input,
    the `other` input, the notice; nothing per type is written in the template."""
    from markupsafe import escape

    from oneapi.relay import channeltypes

    for spec in channeltypes.specs():
        if spec.id == 0:
            continue
        body = text(post_form(admin_web, "/channel/add", {"type": str(int(spec.id)), "action": "retype"}, htmx=True,
                              headers={"Accept-Language": language}))
        assert ('name="key"' in body) is spec.key_input, spec.id
        if spec.key_format:
            assert escape(spec.key_format) in body, spec.id
        for item in spec.config:
            assert f'name="config_{item.key}"' in body and escape(item.label.get(language)) in body, spec.id
        assert ('name="other"' in body) is (spec.other is not None), spec.id
        if spec.notice:
            assert escape(spec.notice.get(language)) in body, spec.id
