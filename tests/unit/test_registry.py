"""The adaptor registry: every One API channel type resolves to an adaptor (as relay/adaptor_test.go
checks), the OpenAI family to the OpenAI adaptor, types without an adaptor yet to a clear 501, and an
unknown type id to an error."""

from __future__ import annotations

import pytest

from oneapi.relay.adaptors import REGISTRY, get_adaptor
from oneapi.relay.adaptors.base import Adaptor
from oneapi.relay.adaptors.openai import AzureAdaptor, OpenAIAdaptor
from oneapi.relay.adaptors.unsupported import UnsupportedAdaptor
from oneapi.relay.channeltypes import INFO, ChannelType
from oneapi.relay.context import RelayContext
from oneapi.relay.errors import LocalError
from oneapi.relay.modes import RelayMode

# One API §7.1: the types its relay/channeltype/helper.go maps to the OpenAI api type.
OPENAI_FAMILY = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 19, 20, 22, 25, 26, 27, 28, 29, 31, 32, 36, 39, 40, 41, 44,
                 45, 47, 48, 49, 50, 51)


def ctx(channel_type: int, mode: RelayMode = RelayMode.CHAT) -> RelayContext:
    return RelayContext(mode=mode, channel_id=1, channel_type=channel_type, channel_name="ch",
                        base_url=INFO[ChannelType(channel_type)].base_url.rstrip("/") or "https://x.example.com",
                        key="sk-test", model="some-model", original_model="some-model",
                        path="/v1/chat/completions")


def test_channel_types_are_one_apis_0_to_51():
    assert [int(t) for t in ChannelType] == list(range(52))
    assert set(INFO) == set(ChannelType)


@pytest.mark.parametrize("channel_type", list(ChannelType), ids=lambda t: f"{int(t)}-{t.name}")
def test_every_channel_type_resolves(channel_type):
    adaptor = get_adaptor(channel_type)
    assert isinstance(adaptor, Adaptor)
    assert get_adaptor(int(channel_type)) is adaptor
    if not isinstance(adaptor, UnsupportedAdaptor):
        assert channel_type in adaptor.channel_types
        # A real adaptor implements the whole translation, not the base class's stubs.
        for method in ("request_url", "convert_request", "convert_response", "convert_stream"):
            assert getattr(type(adaptor), method) is not getattr(Adaptor, method), (adaptor, method)
        assert RelayMode.CHAT in adaptor.modes


@pytest.mark.parametrize("channel_type", OPENAI_FAMILY)
def test_openai_family_types_use_the_openai_adaptor(channel_type):
    adaptor = get_adaptor(channel_type)
    assert isinstance(adaptor, OpenAIAdaptor)
    assert isinstance(adaptor, AzureAdaptor) is (channel_type == ChannelType.AZURE)


def test_the_registry_covers_exactly_the_channel_types():
    assert set(REGISTRY) == {int(t) for t in ChannelType}


@pytest.mark.parametrize("channel_type", list(ChannelType), ids=lambda t: f"{int(t)}-{t.name}")
def test_types_without_an_adaptor_refuse_with_a_501_naming_the_type(channel_type):
    adaptor = get_adaptor(channel_type)
    if not isinstance(adaptor, UnsupportedAdaptor):
        assert type(adaptor).request_url is not UnsupportedAdaptor.request_url
        return
    label = INFO[channel_type].label
    for use in (lambda: adaptor.request_url(ctx(channel_type)),
                lambda: adaptor.convert_request({"model": "m", "messages": []}, ctx(channel_type))):
        with pytest.raises(LocalError) as raised:
            use()
        assert raised.value.status == 501
        assert raised.value.message == f"channel type {int(channel_type)} ({label}) is not supported yet"
        assert raised.value.code == "channel_type_not_supported"


def test_the_unsupported_adaptor_names_the_type_it_was_used_for():
    adaptor = UnsupportedAdaptor()
    with pytest.raises(LocalError) as raised:
        adaptor.request_url(ctx(ChannelType.XUNFEI))
    assert raised.value.status == 501
    assert "18" in raised.value.message and "讯飞星火认知" in raised.value.message
    body = raised.value.body("req-1")["error"]
    assert body["message"].endswith("(request id: req-1)") and body["type"] == "one_api_error"


@pytest.mark.parametrize("channel_type", [52, 999, -1])
def test_an_unknown_type_id_is_an_error(channel_type):
    with pytest.raises(LocalError) as raised:
        get_adaptor(channel_type)
    assert str(channel_type) in raised.value.message
    assert raised.value.code == "invalid_api_type"
