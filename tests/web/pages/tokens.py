"""The tokens pages and the top-up page."""

import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import User
from tests import factories
from tests.web.pages import USER, Page


def _own_token() -> str:
    """A token of the user `login_as(USER)` signs in (root's when nobody is signed in)."""
    owner = db.session.scalar(sa.select(User).where(User.username.in_(("webuser", "root"))).order_by(User.id.desc()))
    return f"/token/edit/{factories.make_token(owner, 'page').id}"


PAGES = [
    Page("/token", USER, 'id="token-table"'),
    Page("/token/add", USER, 'id="token-form"'),
    Page(_own_token, USER, 'id="token-form"', endpoint="tokens.edit"),
    Page("/topup", USER, 'id="topup"'),
]
