"""The tokens pages."""

from tests.web.pages import USER, Page

PAGES = [
    Page("/token", USER),
    Page("/topup", USER),
]
