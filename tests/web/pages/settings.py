"""The settings pages."""

from tests.web.pages import USER, Page

PAGES = [
    Page("/setting", USER),
]
