"""Vendored front-end files are served from our own /static/, with their licence beside them."""

from __future__ import annotations

import hashlib
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "static" / "vendor"
HTMX_SHA256 = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"


def test_htmx_is_vendored_unchanged_with_its_licence():
    assert hashlib.sha256((STATIC / "htmx-2.0.11.min.js").read_bytes()).hexdigest() == HTMX_SHA256
    assert "Zero-Clause BSD" in (STATIC / "htmx-2.0.11.LICENSE").read_text()


def test_htmx_is_served_from_static(client):
    response = client.get("/static/vendor/htmx-2.0.11.min.js")
    assert response.status_code == 200 and "javascript" in response.mimetype
    assert hashlib.sha256(response.data).hexdigest() == HTMX_SHA256
    response.close()
