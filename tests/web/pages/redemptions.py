"""The redemptions pages."""

from tests.web.pages import ADMIN, Page

PAGES = [
    Page("/redemption", ADMIN),
]
