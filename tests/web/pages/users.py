"""The users pages."""

from tests.web.pages import ADMIN, Page

PAGES = [
    Page("/user", ADMIN),
]
