"""Public pages, signing in, and the language switch."""

from tests.web.pages import ANON, USER, Page

PAGES = [
    Page("/", ANON, 'class="card"'),
    Page("/about", ANON, "card"),
    Page("/login", ANON, 'id="login"'),
    Page("/chat", USER, "empty"),
]
