"""THEME picks a template folder; pages it does not override come from the default theme."""

from __future__ import annotations

import logging

from oneapi.web import theme_loader


def _theme_root(tmp_path):
    (tmp_path / "default").mkdir()
    (tmp_path / "default" / "page.html").write_text("default page")
    (tmp_path / "default" / "other.html").write_text("default other")
    (tmp_path / "dark").mkdir()
    (tmp_path / "dark" / "page.html").write_text("dark page")
    return tmp_path


def test_theme_folder_overrides_the_default(tmp_path):
    loader = theme_loader(str(_theme_root(tmp_path)), "dark")
    assert loader.get_source(None, "page.html")[0] == "dark page"
    assert loader.get_source(None, "other.html")[0] == "default other"


def test_missing_theme_falls_back_to_default_with_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="oneapi"):
        loader = theme_loader(str(_theme_root(tmp_path)), "berry")
    assert loader.get_source(None, "page.html")[0] == "default page"
    assert "berry" in caplog.text


def test_the_default_theme_ships_every_page(app):
    loader = app.jinja_loader
    for name in ("base.html", "auth/login.html", "pages/home.html", "errors/error.html"):
        assert loader.get_source(app.jinja_env, name)[0]
