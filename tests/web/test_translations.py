"""Every console string is translated: each `_()` message has a Chinese entry, and no template holds
visible English text outside `_()`."""

from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import Environment

from oneapi.web.catalog import ZH

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
# i18n.py defines gettext itself; its inner calls pass variables on.
WEB_MODULES = sorted(p for p in (ROOT / "oneapi" / "web").rglob("*.py") if p.name != "i18n.py")
# Words that are the same in both languages: names of products, protocols and formats.
SAME_IN_BOTH = {
    "API", "One", "Python", "ID", "URL", "JSON", "HTML", "Markdown", "SMTP", "GitHub", "OIDC", "Turnstile",
    "WeChat", "Lark", "OpenAI", "Azure", "AWS", "Vertex", "Cloudflare", "Coze", "NextChat", "LobeChat", "AMA",
    "OpenCat", "SVG", "EN", "English", "USD", "https", "http", "sk", "IP", "Token", "Tokens", "Top", "Key",
}
_JINJA = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.S)
_WORD = re.compile(r"[A-Za-z]{2,}")
CHECKED_ATTRIBUTES = {"placeholder", "title", "aria-label", "alt", "hx-confirm", "label"}


def _template_messages():
    env = Environment(extensions=["jinja2.ext.i18n"])
    for path in TEMPLATES:
        for lineno, func, message in env.extract_translations(path.read_text()):
            if isinstance(message, tuple):  # the format arguments come after the message(s)
                message = message[:2] if func == "ngettext" else message[0]
            yield f"{path.relative_to(ROOT)}:{lineno}", message


def _python_messages():
    for path in WEB_MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "gettext"):
                first = node.args[0] if node.args else None
                message = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
                yield f"{path.relative_to(ROOT)}:{node.lineno}", message


def test_every_message_has_a_chinese_translation():
    missing = []
    for where, message in [*_template_messages(), *_python_messages()]:
        messages = message if isinstance(message, tuple) else (message,)
        for one in messages:
            if one is None:
                missing.append(f"{where}: _() needs a literal string to be translatable")
            elif one not in ZH:
                missing.append(f"{where}: {one!r}")
    assert not missing, "\n".join(missing)


def test_areas_agree_on_shared_strings():
    """A string two areas both translate must read the same; the merged catalog would keep only one."""
    from oneapi.web.catalog import AREAS

    seen: dict[str, tuple[str, str]] = {}
    for area in AREAS:
        for english, chinese in area.ZH.items():
            first = seen.setdefault(english, (area.__name__, chinese))
            assert first[1] == chinese, f"{english!r}: {first[0]} says {first[1]!r}, {area.__name__} says {chinese!r}"


def test_translations_keep_their_placeholders():
    for english, chinese in ZH.items():
        assert sorted(re.findall(r"%\(\w+\)s", english)) == sorted(re.findall(r"%\(\w+\)s", chinese)), english


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        for name, value in attrs:
            if name in CHECKED_ATTRIBUTES and value:
                self._check(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self._check(data)

    def _check(self, text: str) -> None:
        self.found.extend(w for w in _WORD.findall(text) if w not in SAME_IN_BOTH)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT / "templates")))
def test_template_has_no_untranslated_text(path):
    parser = _VisibleText()
    parser.feed(_JINJA.sub(" ", path.read_text()))
    assert not parser.found, f"English outside _(): {parser.found}"
