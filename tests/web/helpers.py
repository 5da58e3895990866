"""Driving the console through the Flask test client: CSRF tokens, form posts, htmx requests."""

from __future__ import annotations

import re

HTMX = {"HX-Request": "true"}
BOOSTED = {"HX-Request": "true", "HX-Boosted": "true"}
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, page: str = "/about") -> str:
    """A valid CSRF token for `client`'s session, read from a rendered form as a browser would."""
    match = _TOKEN.search(client.get(page).get_data(as_text=True))
    assert match, "the page carries no CSRF field"
    return match.group(1)


def post_form(client, url: str, data: dict | None = None, *, htmx: bool = False, boosted: bool = False,
              headers: dict | None = None, **kwargs):
    """POST a console form with its CSRF field, as the page's form (or htmx) would send it."""
    fields = {"csrf_token": csrf_token(client), **(data or {})}
    sent = {**(HTMX if htmx else {}), **(BOOSTED if boosted else {}), **(headers or {})}
    return client.post(url, data=fields, headers=sent, **kwargs)


def fragment(client, url: str, **kwargs):
    """GET `url` as a non-boosted htmx request (the page's named fragment)."""
    return client.get(url, headers=HTMX, **kwargs)


def text(response) -> str:
    return response.get_data(as_text=True)


def is_full_page(response) -> bool:
    return text(response).lstrip().lower().startswith("<!doctype html")
