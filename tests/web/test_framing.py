"""No other site may frame a console page (clickjacking): every console answer, pages, redirects and
errors alike, carries `X-Frame-Options: SAMEORIGIN` and `frame-ancestors 'self'`."""

from __future__ import annotations

import pytest

from tests.web.helpers import HTMX


def assert_unframeable(response) -> None:
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["Content-Security-Policy"] == "frame-ancestors 'self'"


@pytest.mark.parametrize("path", ["/", "/login", "/register", "/reset", "/about", "/no-such-page"])
def test_public_pages_cannot_be_framed(client, path):
    assert_unframeable(client.get(path))


@pytest.mark.parametrize("path", ["/setting", "/user", "/token", "/channel", "/log"])
def test_signed_in_pages_and_their_fragments_cannot_be_framed(root_client, path):
    assert_unframeable(root_client.get(path))
    assert_unframeable(root_client.get(path, headers=HTMX))


def test_the_redirect_to_login_cannot_be_framed(client):
    assert_unframeable(client.get("/setting"))


@pytest.mark.parametrize("path", ["/api/status", "/v1/models"])
def test_json_apis_are_left_alone(client, path):
    assert "X-Frame-Options" not in client.get(path).headers
