"""Image models without a row in One API's n table accept n from 1 to 10 (OpenAI's bounds): n ≤ 0 was
relayed and billed 0, and an absurd n reserved an absurd amount."""

from __future__ import annotations

import pytest

from oneapi.services import billing
from oneapi.services.billing import DEFAULT_IMAGE_N_RANGE, ImageRequestError
from tests import factories


@pytest.mark.parametrize("n", [0, -1, -100, 11, 10**9])
def test_an_unlisted_model_refuses_n_outside_1_to_10(n):
    with pytest.raises(ImageRequestError) as refused:
        billing.check_image_request("flux-schnell", "1024x1024", n, "a cat")
    assert refused.value.code == "n_not_within_range"


@pytest.mark.parametrize("n", [1, 4, 10])
def test_an_unlisted_model_accepts_n_from_1_to_10(n):
    billing.check_image_request("flux-schnell", "1024x1024", n, "a cat")
    assert DEFAULT_IMAGE_N_RANGE == (1, 10)


def test_listed_models_keep_their_own_range():
    billing.check_image_request("dall-e-2", "1024x1024", 10, "a cat")
    with pytest.raises(ImageRequestError):
        billing.check_image_request("dall-e-3", "1024x1024", 2, "a cat")


@pytest.mark.parametrize("n", [0, -3, 11])
def test_the_relay_refuses_the_request_before_it_goes_upstream(client, upstream, upstream_app, n):
    user = factories.make_user("payer", quota=1_000_000)
    token = factories.make_token(user, remain_quota=500_000)
    factories.make_channel(base_url=upstream[1], models="flux-schnell")
    answer = client.post("/v1/images/generations", json={"model": "flux-schnell", "prompt": "a cat", "n": n},
                         headers={"Authorization": f"Bearer sk-{token.key}"})
    assert answer.status_code == 400
    assert answer.json["error"]["code"] == "n_not_within_range"
    assert upstream_app.config["REQUESTS"] == []
