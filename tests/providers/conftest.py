"""One live gateway (SQLite) for every provider test; each test module adds its own channel, pinned
through the root key (`sk-<key>-<channel id>`), so providers sharing model names never meet.

These tests exercise adaptors and the transport steps, not SQL: one engine is enough.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from typing import Any

import openai
import pytest
import requests
import sqlalchemy as sa

from oneapi.services import billing
from tests.liveserver import api, gateway_on

pytestmark = pytest.mark.server
ROOT_KEY = "p" * 48
ROOT_ACCESS = "q" * 32


@dataclasses.dataclass
class Gateway:
    base: str
    db_url: str
    seen: dict[int, int] = dataclasses.field(default_factory=dict)
    """The newest log id `last_log` returned per channel."""
    clients: list[openai.OpenAI] = dataclasses.field(default_factory=list)
    """Every SDK client handed out: closed with the gateway, so that no pooled connection is left
    to the garbage collector (a ResourceWarning in some later test)."""

    def admin(self, method: str, path: str, body: dict | None = None) -> dict:
        return api(self.base, ROOT_ACCESS, method, path, body)

    def add_channel(self, **fields: Any) -> int:
        """Create a channel (`type`, `key`, `base_url`, `models`, `config` …) and return its id."""
        body = {"name": f"ch-{fields.get('type')}-{uuid.uuid4().hex[:8]}", "group": "default", "models": "",
                **fields}
        if isinstance(body.get("models"), list | tuple):
            body["models"] = ",".join(body["models"])
        if isinstance(body.get("config"), dict):
            body["config"] = json.dumps(body["config"])
        self.admin("POST", "/api/channel/", body)
        rows = self.admin("GET", f"/api/channel/search?keyword={body['name']}")["data"]
        return max(row["id"] for row in rows if row["name"] == body["name"])

    def sdk(self, channel_id: int, path: str = "/v1") -> openai.OpenAI:
        """The official client, its requests pinned to `channel_id`."""
        return self.keep(openai.OpenAI(api_key=f"sk-{ROOT_KEY}-{channel_id}", base_url=f"{self.base}{path}",
                                       max_retries=0, timeout=60))

    def keep(self, client: openai.OpenAI) -> openai.OpenAI:
        self.clients.append(client)
        return client

    def get(self, path: str) -> dict[str, Any]:
        """A root GET on the management API, whatever its envelope says."""
        return requests.get(self.base + path, headers={"Authorization": ROOT_ACCESS}, timeout=60).json()

    def check_console_tools(self, channel_id: int) -> None:
        """The console's channel test passes (the channel's first model, through every step its type
        needs) and the balance button answers that this type has no balance to read."""
        tested = self.get(f"/api/channel/test/{channel_id}")
        assert tested["success"] is True and tested["message"], tested
        balance = self.get(f"/api/channel/update_balance/{channel_id}")
        assert balance["success"] is False and "不支持余额查询" in balance["message"], balance

    def last_log(self, channel_id: int, wait: float = 1.0) -> dict[str, Any]:
        """The newest consume log row (type 2) of the channel. A stream is settled just after its
        `[DONE]` reached the client, so this waits up to `wait` seconds for a row newer than the
        one it returned before for the channel."""
        deadline = time.monotonic() + wait
        while True:
            row = self._newest_log(channel_id)
            if row is not None and (row["id"] > self.seen.get(channel_id, 0) or time.monotonic() > deadline):
                self.seen[channel_id] = row["id"]
                return row
            if row is None and time.monotonic() > deadline:
                raise AssertionError(f"no consume log for channel {channel_id}")
            time.sleep(0.02)

    def _newest_log(self, channel_id: int) -> dict[str, Any] | None:
        engine = sa.create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                row = conn.execute(sa.text(
                    "SELECT * FROM logs WHERE type = 2 AND channel_id = :c ORDER BY id DESC LIMIT 1"),
                    {"c": channel_id}).mappings().first()
        finally:
            engine.dispose()
        return dict(row) if row is not None else None


def expected_quota(model: str, channel_type: int, prompt: int, completion: int) -> int:
    """One API's formula with the default ratios and group ratio 1."""
    return billing.text_quota(prompt, completion, billing.model_ratio(model, channel_type, {}),
                              billing.completion_ratio(model, channel_type, {}), 1)


@pytest.fixture(scope="session")
def gateway(tmp_path_factory) -> Gateway:
    workdir = tmp_path_factory.mktemp("providers")
    env = {"INITIAL_ROOT_TOKEN": ROOT_KEY, "INITIAL_ROOT_ACCESS_TOKEN": ROOT_ACCESS}
    with gateway_on("sqlite", workdir, "oneapi_providers", env) as (base, db_url):
        gateway = Gateway(base, db_url)
        try:
            yield gateway
        finally:
            for client in gateway.clients:
                client.close()
