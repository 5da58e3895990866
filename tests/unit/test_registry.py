"""The channel-type registry: every One API channel type (0..51) is declared once with an adaptor that
implements it, the OpenAI family resolves to the OpenAI adaptor, and no module outside the registry
spells a type's facts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from oneapi.relay import channeltypes
from oneapi.relay.adaptors import REGISTRY, get_adaptor
from oneapi.relay.adaptors.base import Adaptor
from oneapi.relay.adaptors.openai import AzureAdaptor, OpenAIAdaptor
from oneapi.relay.channeltypes import ChannelType
from oneapi.relay.errors import LocalError
from oneapi.relay.modes import RelayMode

ROOT = Path(__file__).parents[2]
# One API §7.1: the types its relay/channeltype/helper.go maps to the OpenAI api type.
OPENAI_FAMILY = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 19, 20, 22, 25, 26, 27, 28, 29, 31, 32, 36, 39, 40, 41, 44,
                 45, 47, 48, 49, 50, 51)
ONE_API_TYPE_IDS = range(52)


def test_every_one_api_type_id_is_declared_once_with_an_adaptor():
    assert [int(t) for t in ChannelType] == list(ONE_API_TYPE_IDS)
    assert [int(s.id) for s in channeltypes.specs()] == list(ONE_API_TYPE_IDS)
    assert set(REGISTRY) == set(ONE_API_TYPE_IDS)


@pytest.mark.parametrize("channel_type", list(ChannelType), ids=lambda t: f"{int(t)}-{t.name}")
def test_each_type_has_a_real_adaptor_for_each_mode_it_declares(channel_type):
    adaptor = get_adaptor(channel_type)
    spec = channeltypes.spec(channel_type)
    assert isinstance(adaptor, Adaptor) and spec.modes
    # A real adaptor implements the translation, not the base class's stubs.
    assert type(adaptor).request_url is not Adaptor.request_url
    if spec.modes != {RelayMode.PROXY}:
        for method in ("convert_request", "convert_response", "convert_stream"):
            assert getattr(type(adaptor), method) is not getattr(Adaptor, method), (adaptor, method)
    for mode in RelayMode:
        assert adaptor.supports(channel_type, mode) is (mode in spec.modes)
    assert spec.label.zh and spec.label.en


@pytest.mark.parametrize("channel_type", OPENAI_FAMILY)
def test_openai_family_types_use_the_openai_adaptor(channel_type):
    adaptor = get_adaptor(channel_type)
    assert isinstance(adaptor, OpenAIAdaptor)
    assert isinstance(adaptor, AzureAdaptor) is (channel_type == ChannelType.AZURE)


@pytest.mark.parametrize("channel_type", [52, 999, -1])
def test_an_unknown_type_id_is_an_error(channel_type):
    assert not channeltypes.known(channel_type)
    with pytest.raises(LocalError) as raised:
        get_adaptor(channel_type)
    assert str(channel_type) in raised.value.message
    assert raised.value.code == "invalid_api_type"


def test_declaring_a_type_twice_is_refused():
    with pytest.raises(RuntimeError):
        channeltypes.declare(channeltypes.spec(ChannelType.OPENAI))


def test_balances_and_config_secrets_come_from_the_declarations():
    assert channeltypes.secret_config_keys() == {"sk", "vertex_ai_adc"}
    with_balance = {int(s.id) for s in channeltypes.specs() if s.balance}
    assert with_balance == {1, 4, 5, 8, 10, 12, 13, 20, 36, 44}  # One API's channel-billing.go


def _sources() -> list[tuple[Path, str]]:
    files = [*ROOT.joinpath("oneapi").rglob("*.py"), *ROOT.joinpath("templates").rglob("*.html")]
    return [(path, path.read_text()) for path in files]


def test_no_enum_private_attributes_anywhere():
    assert [p for p, text in _sources() if "_value2member_map_" in text] == []


def test_no_module_outside_the_registry_compares_raw_channel_type_ids():
    pattern = re.compile(r"(channel_type|\.type|\bt)\s*(==|!=| in)\s*\(?\s*\d+")
    allowed = (ROOT / "oneapi" / "relay" / "adaptors", ROOT / "oneapi" / "relay" / "channeltypes.py")
    offenders = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p, text in _sources()
                 if not any(p.is_relative_to(a) for a in allowed) for m in pattern.finditer(text)]
    assert offenders == []


def test_nothing_answers_not_supported_yet():
    assert [p for p, text in _sources() if "not supported yet" in text] == []


def test_the_readme_table_lists_every_channel_type():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Channel types", 1)[1].split("\n## ", 1)[0]
    listed: set[int] = set()
    for line in section.splitlines():
        first = line.split("|")[1].strip() if line.startswith("| ") else ""
        for part in first.split(","):
            low, _, high = part.strip().partition("–")
            if low.isdigit():
                listed.update(range(int(low), int(high or low) + 1))
    assert listed == set(ONE_API_TYPE_IDS) - {0}


def test_adaptors_and_dialects_stay_pure():
    """No adaptor or client dialect opens connections, reads the environment, or reaches into Flask, the database or
    the services: the pipeline performs every step they describe."""
    forbidden = re.compile(r"^\s*(import (requests|socket|flask|os)\b|from (requests|socket|flask|os)\b"
                           r"|from oneapi\.(services|extensions|models)\b|import oneapi\.(services|extensions))", re.M)
    relay = ROOT / "oneapi" / "relay"
    pure = [*(relay / "adaptors").rglob("*.py"), *(relay / "dialects").rglob("*.py")]
    offenders = [f"{p.relative_to(ROOT)}: {m.group(0).strip()}" for p in pure
                 for m in forbidden.finditer(p.read_text())]
    assert offenders == []
