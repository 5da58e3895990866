"""The logs pages."""

from tests.web.pages import USER, Page

PAGES = [
    Page("/log", USER, 'id="log-results"'),
    # The quota used by the filters, loaded on request (a full page without JavaScript).
    Page("/log?stat=1", USER, 'id="log-quota"'),
]
