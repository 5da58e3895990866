"""Request bodies are held to their route's limit before they are read (413 in the caller's format), a
chunked body is read only up to the limit, and gzip-encoded relay bodies are decoded within the same
limit: a gzip bomb never allocates more than it."""

from __future__ import annotations

import gzip
import io
import tracemalloc
import zlib

import pytest

from oneapi.ingress import AUDIO_UPLOAD_LIMIT, CONSOLE_BODY_LIMIT, RELAY_BODY_LIMIT
from tests import factories

MiB = 1 << 20


class NeverRead(io.RawIOBase):
    """A body that fails the test if anyone reads it."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        raise AssertionError("the body was read")


class Endless(io.RawIOBase):
    """`size` bytes of a JSON-ish body made on demand (the test itself must not hold them); counts reads."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.served = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        n = self.left if size is None or size < 0 else min(size, self.left)
        self.left -= n
        self.served += n
        return b" " * n

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


@pytest.fixture
def payer(app):
    user = factories.make_user("payer", quota=1_000_000)
    return factories.make_token(user, remain_quota=500_000)


def declared(client, path: str, size: int, content_type: str = "application/json", method: str = "POST",
             **headers):
    """A request announcing `size` bytes with Content-Length whose body must never be read."""
    return client.open(path, method=method, content_type=content_type, headers=headers,
                       environ_overrides={"wsgi.input": NeverRead(), "CONTENT_LENGTH": str(size)})


def chunked(client, path: str, body: io.RawIOBase, method: str = "POST", **headers):
    """A request without Content-Length, its body streamed as a server does for chunked transfer."""
    return client.open(path, method=method, content_type="application/json",
                       headers={"Transfer-Encoding": "chunked", **headers},
                       environ_overrides={"wsgi.input": body, "wsgi.input_terminated": True})


def bearer(token) -> dict[str, str]:
    return {"Authorization": f"Bearer sk-{token.key}"}


# --- limits by Content-Length, before authentication and before reading --------------------------------

def test_an_oversized_relay_body_is_refused_unread_in_openai_format(client):
    answer = declared(client, "/v1/chat/completions", RELAY_BODY_LIMIT + 1)
    assert answer.status_code == 413
    error = answer.json["error"]
    assert error["code"] == "request_too_large" and error["type"] == "invalid_request_error"
    assert "20 MiB" in error["message"] and "request id" in error["message"]
    assert answer.headers["X-Oneapi-Request-Id"] in error["message"]


def test_an_oversized_billing_route_body_is_refused_in_openai_format(client):
    answer = declared(client, "/dashboard/billing/usage", RELAY_BODY_LIMIT + 1, method="GET")
    assert answer.status_code == 413 and answer.json["error"]["code"] == "request_too_large"


def test_an_oversized_api_body_is_refused_in_the_envelope(client):
    answer = declared(client, "/api/user/login", CONSOLE_BODY_LIMIT + 1)
    assert answer.status_code == 413
    assert answer.json == {"success": False, "message": "请求体过大，不能超过 2 MiB"}


def test_an_oversized_api_body_is_refused_in_english_for_english_callers(client):
    answer = declared(client, "/api/user/login", CONSOLE_BODY_LIMIT + 1, **{"Accept-Language": "en"})
    assert answer.json["message"] == "The request body is too large; the limit is 2 MiB"


def test_an_oversized_console_form_gets_a_readable_error_page(client):
    answer = declared(client, "/login", CONSOLE_BODY_LIMIT + 1, "application/x-www-form-urlencoded")
    assert answer.status_code == 413
    assert answer.mimetype == "text/html"
    assert "请求体过大，不能超过 2 MiB" in answer.get_data(as_text=True)


@pytest.mark.parametrize(("path", "limit"), [
    ("/v1/audio/transcriptions", AUDIO_UPLOAD_LIMIT), ("/v1/audio/translations", AUDIO_UPLOAD_LIMIT),
    ("/v1/embeddings", RELAY_BODY_LIMIT), ("/v1/oneapi/proxy/1/v1/files", RELAY_BODY_LIMIT),
    ("/api/option/", CONSOLE_BODY_LIMIT), ("/channel/add", CONSOLE_BODY_LIMIT),
])
def test_each_route_has_its_limit(client, path, limit):
    assert declared(client, path, limit + 1, "multipart/form-data; boundary=x").status_code == 413
    # At the limit the request goes on (and fails later for want of a key, a session or a real body).
    assert client.post(path, data=b"x" * limit, content_type="application/octet-stream").status_code != 413


def test_the_limits_are_written_in_the_readme():
    from tests.liveserver import ROOT

    relay = (ROOT / "README.md").read_text().split("## The relay (`/v1`)")[1].split("\n## ")[0]
    for text in ("20 MiB", "26 MiB", "2 MiB"):
        assert text in relay


# --- chunked bodies: read only up to the limit ----------------------------------------------------------

def test_a_chunked_relay_body_is_read_only_up_to_the_limit(client, payer):
    body = Endless(100 * MiB)
    tracemalloc.start()
    answer = chunked(client, "/v1/chat/completions", body, **bearer(payer))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert answer.status_code == 413 and answer.json["error"]["code"] == "request_too_large"
    assert body.served <= RELAY_BODY_LIMIT + MiB
    assert peak < RELAY_BODY_LIMIT + 4 * MiB, f"{peak / MiB:.0f} MiB held for a 100 MiB body"


def test_a_chunked_api_body_is_read_only_up_to_the_limit(root_client):
    body = Endless(50 * MiB)
    answer = chunked(root_client, "/api/option/", body, method="PUT")
    assert answer.status_code == 413 and answer.json["success"] is False
    assert body.served <= CONSOLE_BODY_LIMIT + MiB


# --- gzip-encoded relay bodies ------------------------------------------------------------------------

def gzip_headers(token, encoding: str = "gzip") -> dict[str, str]:
    return {"Content-Encoding": encoding, "Content-Type": "application/json", **bearer(token)}


def test_a_gzip_body_is_decoded_for_the_relay(client, upstream, upstream_app, payer):
    factories.make_channel(base_url=upstream[1])
    raw = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "custom": 1}'
    answer = client.post("/v1/chat/completions", data=gzip.compress(raw), headers=gzip_headers(payer))
    assert answer.status_code == 200, answer.json
    sent = upstream_app.config["REQUESTS"][-1]
    assert sent["body"]["custom"] == 1 and "Content-Encoding" not in sent["headers"]


def test_concatenated_gzip_members_are_one_body(client, upstream, payer):
    factories.make_channel(base_url=upstream[1])
    raw = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}'
    data = gzip.compress(raw[:20]) + gzip.compress(raw[20:])
    assert client.post("/v1/chat/completions", data=data, headers=gzip_headers(payer)).status_code == 200


@pytest.mark.parametrize("data", [b"not gzip at all", gzip.compress(b'{"model": "gpt-4o"}')[:-6],
                                  gzip.compress(b"{}") + b"trailing junk"], ids=["garbage", "truncated", "trailing"])
def test_malformed_gzip_is_a_400_in_openai_format(client, payer, data):
    answer = client.post("/v1/chat/completions", data=data, headers=gzip_headers(payer))
    assert answer.status_code == 400
    assert answer.json["error"]["code"] == "invalid_gzip" and answer.json["error"]["message"].startswith(
        "the request body is not valid gzip")


def test_a_gzip_bomb_is_refused_without_allocating_past_the_limit(client, payer):
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * MiB
    bomb = b"".join(packer.compress(chunk) for _ in range(200)) + packer.flush()
    assert len(bomb) < MiB, "200 MiB of zeros packs into a few hundred KiB"
    tracemalloc.start()
    answer = client.post("/v1/chat/completions", data=bomb, headers=gzip_headers(payer))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert answer.status_code == 413 and answer.json["error"]["code"] == "request_too_large"
    assert peak < RELAY_BODY_LIMIT + 4 * MiB, f"{peak / MiB:.0f} MiB allocated"


def test_a_body_that_decodes_to_just_the_limit_is_accepted(app):
    from oneapi.ingress import gunzip

    assert len(gunzip(gzip.compress(b"a" * 1000), 1000)) == 1000


def test_other_content_encodings_are_refused_clearly(client, payer):
    answer = client.post("/v1/chat/completions", data=b"\x1b\x00", headers=gzip_headers(payer, "br"))
    assert answer.status_code == 415 and answer.json["error"]["code"] == "unsupported_content_encoding"


def test_identity_encoding_is_a_plain_body(client, payer):
    answer = client.post("/v1/chat/completions", data=b"[]", headers=gzip_headers(payer, "identity"))
    assert answer.status_code == 400 and answer.json["error"]["code"] == "invalid_text_request"
