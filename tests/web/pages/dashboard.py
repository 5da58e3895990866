"""The dashboard pages."""

from tests.web.pages import USER, Page

PAGES = [
    Page("/dashboard", USER, 'id="dashboard"'),
]
