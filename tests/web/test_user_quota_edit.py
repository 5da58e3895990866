"""The console's user edit applies the admin's change to the balance of the moment, not the balance
the page showed: a top-up or a spend while the page was open survives the save."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import Log, LogType, User
from oneapi.services.quota import describe
from tests.web.helpers import post_form, text


def shown_quota(admin_client, user) -> str:
    page = text(admin_client.get(f"/user/edit/{user.id}"))
    return re.search(r'name="quota_shown" value="(-?\d+)"', page).group(1)


def save(admin_client, user, shown: str, quota: int):
    return post_form(admin_client, f"/user/edit/{user.id}", {"username": user.username, "display_name": "",
                                                              "group": "default", "quota": str(quota),
                                                              "quota_shown": shown})


def quota_of(user) -> int:
    db.session.expire_all()
    return db.session.get(User, user.id).quota


def spend(user, amount: int) -> None:
    db.session.execute(sa.update(User).where(User.id == user.id).values(quota=User.quota - amount))
    db.session.commit()


def test_a_top_up_while_the_edit_page_is_open_survives(admin_client, user):
    user.quota = 100
    db.session.commit()
    shown = shown_quota(admin_client, user)
    assert shown == "100"
    assert admin_client.post("/api/topup", json={"user_id": user.id, "quota": 50}).json["success"] is True
    assert save(admin_client, user, shown, 200).status_code == 303
    assert quota_of(user) == 250
    logged = db.session.scalars(sa.select(Log.content).where(Log.type == LogType.MANAGE)).all()
    assert logged == [f"管理员将用户额度从 {describe(150)}修改为 {describe(250)}"]


@pytest.mark.parametrize(("spent", "saved", "left"), [
    (30, 40, 10),  # a spend while the page is open is not given back
    (90, 0, 0),  # taking away more than is left leaves zero
])
def test_a_spend_while_the_page_is_open_is_kept(admin_client, user, spent, saved, left):
    user.quota = 100
    db.session.commit()
    shown = shown_quota(admin_client, user)
    spend(user, spent)
    save(admin_client, user, shown, saved)
    assert quota_of(user) == left


def test_saving_other_fields_leaves_the_balance_alone(admin_client, user):
    user.quota = 100
    db.session.commit()
    shown = shown_quota(admin_client, user)
    spend(user, 25)
    save(admin_client, user, shown, 100)
    assert quota_of(user) == 75
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Log).where(Log.type == LogType.MANAGE)) == 0


def test_a_refused_save_keeps_the_balance_it_started_from(admin_client, user):
    user.quota = 100
    db.session.commit()
    shown = shown_quota(admin_client, user)
    spend(user, 10)
    refused = post_form(admin_client, f"/user/edit/{user.id}", {"username": "", "group": "default", "quota": "150",
                                                                 "quota_shown": shown})
    assert refused.status_code == 422 and 'name="quota_shown" value="100"' in text(refused)
