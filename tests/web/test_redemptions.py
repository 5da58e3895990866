"""The redemption code pages: list, search, pages, batch creation with the `.txt` download, edit,
inline enable/disable, delete, validation beside the fields, admin only, CSRF."""

from __future__ import annotations

import re
from html import unescape

import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import Redemption
from oneapi.services import options
from tests import factories
from tests.conftest import count_rows
from tests.web.helpers import HTMX, fragment, is_full_page, post_form, text


def _fresh(row: Redemption) -> Redemption:
    db.session.expire_all()
    return db.session.get(Redemption, row.id)


def test_list_shows_the_columns(admin_client):
    options.update("DisplayInCurrencyEnabled", "false")
    unused = factories.make_redemption(quota=1500, name="promo")
    factories.make_redemption(name="off", status=2)
    factories.make_redemption(name="gone", status=3, redeemed_time=1_700_000_000)
    body = text(admin_client.get("/redemption", headers={"Accept-Language": "en"}))
    for label in ("Unused", "Disabled", "Used"):
        assert f">{label}</span>" in body
    assert f'data-label="ID" class="num">{unused.id}</td>' in body and ">1,500<" in body and "promo" in body
    assert f'<code class="key">{unused.key}</code>' in body and f'data-copy="{unused.key}"' in body
    assert "Not yet" in body and re.search(r"2023-11-1\d \d\d:\d\d:\d\d", body)


def test_search_by_id_or_name_prefix_and_fragment(admin_client):
    first = factories.make_redemption(name="spring")
    factories.make_redemption(name="autumn")
    body = text(admin_client.get("/redemption?keyword=spr"))
    assert "spring" in body and "autumn" not in body
    response = fragment(admin_client, f"/redemption?keyword={first.id}")
    assert not is_full_page(response) and text(response).lstrip().startswith('<div id="redemption-table">')
    assert "spring" in text(response)


def test_pagination(admin_client):
    for n in range(11):
        factories.make_redemption(name=f"c{n:02d}")
    first = text(admin_client.get("/redemption"))
    assert first.count('<tr id="redemption-') == 10 and 'href="/redemption?p=1"' in first
    second = text(admin_client.get("/redemption?p=1"))
    assert second.count('<tr id="redemption-') == 1 and "c00" in second


def test_empty_list_says_what_to_do(admin_client):
    body = text(admin_client.get("/redemption", headers={"Accept-Language": "en"}))
    assert "No redemption codes yet" in body and 'href="/redemption/add"' in body


def test_batch_creation_lists_the_codes_and_offers_the_download(admin_client, admin):
    response = post_form(admin_client, "/redemption/add", {"name": "june", "quota": "2500", "count": "3"},
                         boosted=True, headers={"Accept-Language": "en"})
    assert response.status_code == 200 and is_full_page(response)
    rows = list(db.session.scalars(sa.select(Redemption).order_by(Redemption.id)))
    assert [(r.name, r.quota, r.status, r.user_id) for r in rows] == [("june", 2500, 1, admin.id)] * 3
    body = text(response)
    listed = re.search(r'<textarea name="keys"[^>]*>([^<]*)</textarea>', body).group(1).split("\n")
    assert sorted(listed) == sorted(r.key for r in rows)
    assert "Download june.txt" in body and 'action="/redemption/download"' in body and 'hx-boost="false"' in body
    assert "Codes created: 3" in body


def test_download_returns_the_codes_as_a_named_text_file(admin_client):
    codes = ["0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"]
    response = post_form(admin_client, "/redemption/download",
                         {"name": "june", "keys": "\r\n".join(codes + ["<script>", ""])})
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.headers["Content-Disposition"] == "attachment; filename=june.txt"
    assert response.headers["Cache-Control"] == "no-store"
    assert text(response) == "\n".join(codes) + "\n"
    chinese = post_form(admin_client, "/redemption/download", {"name": "六月", "keys": codes[0]})
    assert "filename*=UTF-8''%E5%85%AD%E6%9C%88.txt" in chinese.headers["Content-Disposition"]


def test_download_is_for_admins_with_a_csrf_token(admin_client, user_client):
    data = {"name": "x", "keys": "0123456789abcdef0123456789abcdef"}
    assert admin_client.post("/redemption/download", data=data).status_code == 400
    assert post_form(user_client, "/redemption/download", data).status_code == 403


def test_creation_errors_are_shown_beside_their_fields(admin_client):
    cases = [({"name": "", "quota": "10", "count": "1"}, "name"),
             ({"name": "x" * 21, "quota": "10", "count": "1"}, "name"),
             ({"name": "ok", "quota": "-1", "count": "1"}, "quota"),
             ({"name": "ok", "quota": "ten", "count": "1"}, "quota"),
             ({"name": "ok", "quota": "10", "count": "0"}, "count"),
             ({"name": "ok", "quota": "10", "count": "101"}, "count")]
    for data, field in cases:
        response = post_form(admin_client, "/redemption/add", data)
        assert response.status_code == 422, data
        assert f'<small class="error" id="e-{field}">' in text(response), data
        assert re.search(rf'name="{field}"[^>]*value="{re.escape(unescape(data[field]))}"', text(response)), data
    assert count_rows(Redemption) == 0


def test_edit_saves_name_and_quota(admin_client):
    row = factories.make_redemption(quota=10, name="old")
    body = text(admin_client.get(f"/redemption/edit/{row.id}"))
    assert 'value="old"' in body and 'value="10"' in body and 'name="count"' not in body
    response = post_form(admin_client, f"/redemption/edit/{row.id}", {"name": "new", "quota": "99"})
    assert response.status_code == 303 and response.headers["Location"] == "/redemption"
    row = _fresh(row)
    assert (row.name, row.quota) == ("new", 99)


def test_edit_errors_are_shown_beside_the_field_and_nothing_saved(admin_client):
    row = factories.make_redemption(quota=10, name="old")
    response = post_form(admin_client, f"/redemption/edit/{row.id}", {"name": "x" * 21, "quota": "5"}, htmx=True)
    assert response.status_code == 422 and 'id="e-name"' in text(response)
    assert text(response).lstrip().startswith('<form id="redemption-form"')
    assert (_fresh(row).name, _fresh(row).quota) == ("old", 10)
    assert admin_client.get("/redemption/edit/999999").status_code == 404
    assert post_form(admin_client, "/redemption/edit/999999", {"name": "a", "quota": "1"}).status_code == 404


def test_disable_and_enable_answer_the_row(admin_client):
    row = factories.make_redemption()
    response = post_form(admin_client, f"/redemption/{row.id}/status", {"status": "2"}, htmx=True,
                         headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert text(response).lstrip().startswith(f'<tr id="redemption-{row.id}">')
    assert ">Disabled</span>" in text(response) and ">Enable</button>" in text(response)
    assert _fresh(row).status == 2
    assert post_form(admin_client, f"/redemption/{row.id}/status", {"status": "1"}).status_code == 303
    assert _fresh(row).status == 1


def test_a_used_code_cannot_be_re_enabled(admin_client):
    row = factories.make_redemption(status=3)
    response = post_form(admin_client, f"/redemption/{row.id}/status", {"status": "1"}, htmx=True)
    assert response.status_code == 422 and _fresh(row).status == 3


def test_delete_asks_first_and_removes_the_row(admin_client):
    row = factories.make_redemption(name="bye")
    assert 'hx-confirm="确定删除兑换码 bye 吗？"' in text(admin_client.get("/redemption"))
    response = post_form(admin_client, f"/redemption/{row.id}/delete", htmx=True)
    assert response.status_code == 200 and "<tr" not in text(response) and "兑换码已删除" in text(response)
    assert count_rows(Redemption) == 0


def test_users_cannot_act_on_codes(user_client):
    row = factories.make_redemption(name="keep")
    for url, data in [("/redemption/add", {"name": "x", "quota": "1", "count": "1"}),
                      (f"/redemption/edit/{row.id}", {"name": "x", "quota": "1"}),
                      (f"/redemption/{row.id}/status", {"status": "2"}), (f"/redemption/{row.id}/delete", {})]:
        assert post_form(user_client, url, data).status_code == 403, url
    assert (count_rows(Redemption), _fresh(row).name, _fresh(row).status) == (1, "keep", 1)


def test_posts_without_a_csrf_token_are_refused(admin_client):
    row = factories.make_redemption(name="keep")
    for url, data in [("/redemption/add", {"name": "x", "quota": "1", "count": "1"}),
                      (f"/redemption/edit/{row.id}", {"name": "x", "quota": "1"}),
                      (f"/redemption/{row.id}/status", {"status": "2"}), (f"/redemption/{row.id}/delete", {})]:
        assert admin_client.post(url, data=data).status_code == 400, url
        assert admin_client.post(url, data=data, headers=HTMX).status_code == 400, url
    assert (count_rows(Redemption), _fresh(row).name, _fresh(row).status) == (1, "keep", 1)
