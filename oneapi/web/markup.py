"""Formatting for the console: quota amounts, times, and root-authored Markdown or HTML.

Only options written by root (notice, home page, about, footer) pass through `root_markup`; it keeps
their HTML, as One API does. Everything a user or a provider wrote is escaped by Jinja's autoescape.
"""

from __future__ import annotations

import time

from markdown_it import MarkdownIt
from markupsafe import Markup

from oneapi.services import options
from oneapi.services.quota import per_unit

_markdown = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table")


def root_markup(text: str) -> Markup:
    """Markdown with HTML allowed: for options only root can set, never for user or provider text."""
    return Markup(_markdown.render(text or ""))


def is_iframe(text: str) -> bool:
    """One API shows home page and about content starting with `https://` as a full-page iframe."""
    return (text or "").strip().startswith("https://")


def quota(amount: int | None) -> str:
    """A quota as One API's console shows it: dollars with currency display on, else the number."""
    amount = amount or 0
    if options.get_bool("DisplayInCurrencyEnabled"):
        return dollars(amount)
    return f"{amount:,}"


def dollars(amount: int) -> str:
    """A quota's value in US dollars, to six decimals without trailing zeros: `$0.002`, `$1`."""
    return "$" + f"{amount / per_unit():,.6f}".rstrip("0").rstrip(".")


def timestamp(value: int | None, empty: str = "-") -> str:
    """Unix seconds as `YYYY-MM-DD HH:MM:SS` in the server's time zone (the `TZ` variable)."""
    if not value or value < 0:
        return empty
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value))
