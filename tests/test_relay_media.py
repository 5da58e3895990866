"""Images and audio through the relay: routed to the channel, priced per image size and quality, per
character of speech and per transcript token with the ratios applied, refunded on failure."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from oneapi.extensions import db
from oneapi.models import Log, User
from oneapi.relay.tokenizer import count_text
from oneapi.services import billing
from tests import factories
from tests.upstreams import openai_media
from tests.upstreams.server import serve


@pytest.fixture(scope="module")
def upstream():
    app = openai_media.create_app()
    with serve(app) as base:
        yield app, base


@pytest.fixture
def payer(app, upstream):
    factories.make_channel(base_url=upstream[1], models="dall-e-2,dall-e-3,dall-e-3-500,tts-1,whisper-1")
    user = factories.make_user("payer", quota=10_000_000)
    return user, factories.make_token(user, unlimited_quota=True)


def auth(token):
    return {"Authorization": f"Bearer sk-{token.key}"}


def spent(user) -> int:
    db.session.expire_all()
    return 10_000_000 - db.session.get(User, user.id).quota


def last_log() -> Log:
    return db.session.scalar(sa.select(Log).where(Log.type == 2).order_by(Log.id.desc()))


def test_images_are_priced_by_model_size_quality_and_n(client, payer):
    user, token = payer
    answer = client.post("/v1/images/generations", headers=auth(token),
                         json={"model": "dall-e-3", "prompt": "a cat", "size": "1024x1792", "quality": "hd"})
    assert answer.status_code == 200 and len(answer.json["data"]) == 1
    expected = billing.image_quota("dall-e-3", "1024x1792", "hd", 1, 20, 1)
    assert spent(user) == expected == last_log().quota
    two = client.post("/v1/images/generations", headers=auth(token),
                      json={"model": "dall-e-2", "prompt": "a dog", "n": 2, "size": "512x512"})
    assert two.status_code == 200 and last_log().quota == billing.image_quota("dall-e-2", "512x512", None, 2, 10, 1)


def test_b64_json_from_an_openai_style_upstream_is_passed_on_and_its_urls_never_fetched(client, payer):
    # Only adaptors whose provider answers URLs whatever was asked (Ali, Zhipu, Replicate) have the
    # gateway fetch them; an OpenAI-style upstream's URL would let it make the gateway fetch anything.
    _, token = payer
    answer = client.post("/v1/images/generations", headers=auth(token),
                         json={"model": "dall-e-2", "prompt": "a cat", "response_format": "b64_json"})
    assert answer.status_code == 200
    assert answer.json["data"] == [{"url": "https://images.example/0.png"}]


def test_image_validation_and_failure_refund(client, payer):
    user, token = payer
    bad_size = client.post("/v1/images/generations", headers=auth(token),
                           json={"model": "dall-e-3", "prompt": "x", "size": "10x10"})
    assert bad_size.status_code == 400 and bad_size.json["error"]["code"] == "size_not_supported"
    failed = client.post("/v1/images/generations", headers=auth(token), json={"model": "dall-e-3-500", "prompt": "x"})
    assert failed.status_code == 500 and spent(user) == 0


def test_speech_is_charged_per_character_and_passes_audio_through(client, payer):
    user, token = payer
    text = "你好，世界"  # 5 characters, 15 bytes: One API charged the bytes
    answer = client.post("/v1/audio/speech", headers=auth(token),
                         json={"model": "tts-1", "input": text, "voice": "alloy"})
    assert answer.status_code == 200 and answer.data == openai_media.AUDIO
    assert answer.headers["Content-Type"] == "audio/mpeg"
    assert spent(user) == billing.tts_quota(text, 7.5) == last_log().quota


def test_speech_input_is_limited(client, payer):
    _, token = payer
    answer = client.post("/v1/audio/speech", headers=auth(token),
                         json={"model": "tts-1", "input": "x" * 4097, "voice": "alloy"})
    assert answer.status_code == 400 and answer.json["error"]["code"] == "text_too_long"


@pytest.mark.parametrize("path", ["/v1/audio/transcriptions", "/v1/audio/translations"])
@pytest.mark.parametrize("fmt", ["json", "text", "srt"])
def test_transcripts_are_charged_by_tokens_with_the_ratios(client, payer, upstream, path, fmt):
    user, token = payer
    answer = client.post(path, headers=auth(token), content_type="multipart/form-data",
                         data={"model": "whisper-1", "response_format": fmt,
                               "file": (io.BytesIO(b"RIFF....WAVEfmt "), "speech.wav")})
    assert answer.status_code == 200
    assert openai_media.TRANSCRIPT in answer.get_data(as_text=True)
    sent = upstream[0].config["REQUESTS"][-1]
    assert sent["files"] == ["file"] and sent["form"]["model"] == "whisper-1"
    tokens = count_text(openai_media.TRANSCRIPT)
    assert last_log().completion_tokens == tokens
    assert spent(user) == billing.transcription_quota(tokens, 15, 1) == last_log().quota


def test_transcription_needs_a_file(client, payer):
    _, token = payer
    answer = client.post("/v1/audio/transcriptions", headers=auth(token), data={"model": "whisper-1"})
    assert answer.status_code == 400 and "file" in answer.json["error"]["message"]


@pytest.mark.parametrize("bad", [{"n": "2"}, {"n": 1.5}, {"n": True}, {"size": 1024}, {"quality": ["hd"]}])
def test_malformed_image_fields_are_refused_before_anything_is_charged(client, payer, bad):
    user, token = payer
    answer = client.post("/v1/images/generations", headers=auth(token),
                         json={"model": "dall-e-2", "prompt": "a cat", **bad})
    assert answer.status_code == 400 and answer.json["error"]["message"]
    assert spent(user) == 0
