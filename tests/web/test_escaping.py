"""Text that users or providers wrote is escaped on every page that shows it; only root's options render as HTML."""

from __future__ import annotations

from oneapi.extensions import db
from oneapi.services import options
from tests import factories
from tests.web.helpers import text

HOSTILE = '<img src=x onerror="alert(1)">'
ESCAPED = "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;"


def test_names_and_log_text_are_escaped_everywhere(root_client, user, user_client):
    factories.make_channel(HOSTILE[:30])
    factories.make_token(user, name=HOSTILE[:30])
    user.display_name = HOSTILE[:20]
    db.session.commit()
    factories.make_log(user, content=HOSTILE, model_name=HOSTILE[:30])
    factories.make_redemption(name=HOSTILE[:20])
    for path in ("/channel", "/user", "/log", "/redemption"):
        page = text(root_client.get(path))
        assert "<img src=x" not in page, path
    for path in ("/token", "/log", "/dashboard"):
        assert "<img src=x" not in text(user_client.get(path)), path
    assert ESCAPED in text(root_client.get("/log"))


def test_root_authored_options_render_as_html(client):
    options.update("HomePageContent", "<b>bold</b> and **strong**")
    page = text(client.get("/"))
    assert "<b>bold</b>" in page and "<strong>strong</strong>" in page
