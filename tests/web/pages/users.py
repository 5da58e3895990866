"""The users pages, the profile, registration and password reset."""

from oneapi.services import users
from tests import factories
from tests.web.pages import ADMIN, ANON, USER, Page


def _someone() -> str:
    """A common user to edit (made once per test; the page is opened twice by some tests)."""
    existing = users.find_by_username("someone")
    return f"/user/edit/{(existing or factories.make_user('someone')).id}"


PAGES = [
    Page("/user", ADMIN, 'id="users-table"'),
    Page("/user?keyword=web&order=quota", ADMIN, 'id="users-table"'),
    Page("/user/add", ADMIN, 'id="user-add"'),
    Page(_someone, ADMIN, 'id="user-edit"', endpoint="users.edit"),
    Page("/user/edit", USER, 'id="profile"'),
    Page("/register", ANON, 'id="register"'),
    Page("/reset", ANON, 'id="reset"'),
    Page("/user/reset?email=a@example.com&token=0123456789abcdef0123456789abcdef", ANON, 'id="reset-confirm"'),
]
