"""Console fixtures: `login_as(role)` gives a test client signed in with that role (ANON: signed out)."""

from __future__ import annotations

import pytest

from tests import factories
from tests.web.pages import ADMIN, ANON, ROOT, USER


@pytest.fixture
def login_as(app):
    made: dict[int, object] = {}

    def client_for(role: int):
        if role not in made:
            client = app.test_client()
            if role == ROOT:
                factories.login(client, "root", "123456")
            elif role != ANON:
                name = {USER: "webuser", ADMIN: "webadmin"}[role]
                factories.make_user(name, role=role)
                factories.login(client, name, factories.PASSWORD)
            made[role] = client
        return made[role]

    return client_for
