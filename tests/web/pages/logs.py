"""The logs pages."""

from tests.web.pages import USER, Page

PAGES = [
    Page("/log", USER),
]
