"""The channels pages."""

from tests.web.pages import ADMIN, Page

PAGES = [
    Page("/channel", ADMIN),
]
