"""Every console page: its path, the least role that may open it and text its fragment must contain.

One module per area holds `PAGES`; `tests/web/test_pages.py` opens each as a full page and as an htmx
fragment for its role, checks that a lower role is refused, and fails when a page has no row here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

ANON, USER, ADMIN, ROOT = 0, 1, 10, 100


@dataclass(frozen=True)
class Page:
    path: str | Callable[[], str]
    role: int
    marker: str = ""
    fragment: bool = True
    # For a path built by a function (it needs a row made first): the endpoint it opens.
    endpoint: str = ""

    def url(self) -> str:
        return self.path() if callable(self.path) else self.path


def all_pages() -> list[Page]:
    from tests.web.pages import channels, common, dashboard, logs, redemptions, settings, tokens, users

    pages: list[Page] = []
    for area in (common, channels, tokens, redemptions, users, logs, dashboard, settings):
        pages.extend(area.PAGES)
    return pages
