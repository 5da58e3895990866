"""Channel balances (One API's controller/channel-billing.go): ask the provider how much credit the
channel's key has left, for the channel types whose provider publishes it, and save it on the channel.

The channel's base URL is always honoured (One API did so only for OpenAI, Custom and CloseAI), so
mirrors and relays in front of a provider are asked instead of the provider's own host.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from flask import current_app

from oneapi.errors import Conflict, OneAPIError
from oneapi.extensions import db
from oneapi.models import Channel, ChannelStatus
from oneapi.relay import channeltypes
from oneapi.relay.errors import UpstreamError
from oneapi.relay.http import send
from oneapi.services import channels
from oneapi.services.batchjobs import Progress, in_app, spawn

log = logging.getLogger("oneapi.balances")
# One refresh of every balance at a time per process, and how far it got (for the console).
_running = threading.Lock()
_progress = Progress()


class BalanceError(OneAPIError):
    """The provider did not tell the balance (or cannot)."""


def update_balance(channel_id: int) -> float:
    """Fetch the channel's balance from its provider and save it with the time; returns it."""
    channel = channels.get_channel(channel_id)
    spec = channeltypes.spec(channel.type)
    if spec is None or spec.balance is None:
        # One API said "尚未实现" (not implemented yet): these providers publish no balance at all.
        raise BalanceError("渠道类型 {type} 不支持余额查询", type=channeltypes.label(channel.type))
    fetch = READERS[spec.balance.reader]
    base = (channel.base_url or "").strip().rstrip("/") or spec.balance.base_url
    if not base:
        raise BalanceError("请先设置渠道的 Base URL")
    key = channel.key or ""
    # The provider may take a while: no database connection is held meanwhile.
    db.session.commit()
    balance = fetch(base, key, spec.balance.field)
    db.session.execute(sa.update(Channel).where(Channel.id == channel_id)
                       .values(balance=balance, balance_updated_time=int(time.time())))
    db.session.commit()
    return balance


def update_all() -> int:
    """Refresh every enabled channel whose provider publishes a balance; returns how many succeeded.

    One API's route for this did nothing (its loop was commented out). A channel whose provider
    fails is logged and skipped; unlike One API's unused loop, a zero balance does not disable it.
    """
    ids = _refreshable_ids()
    _progress.start(len(ids))
    try:
        return _update_each(ids)
    finally:
        _progress.finish()


def start_update_all() -> int:
    """Refresh every balance in the background (a greenlet under the server); returns how many channels
    will be asked. The console polls `progress()`; one refresh runs at a time."""
    if not _running.acquire(blocking=False):
        raise Conflict("余额更新已在运行中")
    try:
        ids = _refreshable_ids()
        _progress.start(len(ids))
        spawn(in_app, current_app._get_current_object(), _update_in_background, ids)
    except BaseException:
        _progress.finish()
        _running.release()
        raise
    return len(ids)


def progress() -> Progress:
    """Channels asked so far by the current (or last) refresh of every balance in this process."""
    return _progress.snapshot()


def _refreshable_ids() -> list[int]:
    ids = list(db.session.scalars(sa.select(Channel.id).where(
        Channel.status == ChannelStatus.ENABLED, Channel.type.in_(_readable_types())).order_by(Channel.id)))
    db.session.commit()
    return ids


def _update_in_background(ids: list[int]) -> None:
    try:
        _update_each(ids)
    finally:
        _progress.finish()
        _running.release()


def _update_each(ids: list[int]) -> int:
    updated = 0
    for channel_id in ids:
        try:
            update_balance(channel_id)
        except OneAPIError as exc:
            log.warning("balance of channel #%s not updated: %s", channel_id, exc.text())
            _progress.step(ok=False)
            continue
        except Exception:
            log.exception("balance of channel #%s not updated", channel_id)
            db.session.rollback()
            _progress.step(ok=False)
            continue
        _progress.step()
        updated += 1
    return updated


def display(channel_type: int, balance: float | None) -> str:
    """The balance as One API's channel list shows it, in the unit the type declares (dollars, yuan,
    ten-thousandths of a yuan for OpenAI-SB, a bare number), "-" for types with no balance."""
    spec = channeltypes.spec(channel_type)
    return spec.balance.display(balance or 0.0) if spec and spec.balance else "-"


def readable(channel_type: int) -> bool:
    """Whether the type's provider publishes a balance we can read."""
    spec = channeltypes.spec(channel_type)
    return spec is not None and spec.balance is not None


def _readable_types() -> list[int]:
    return [int(spec.id) for spec in channeltypes.specs() if spec.balance is not None]


# -- talking to the providers ------------------------------------------------------------------------

def _get(url: str, headers: dict[str, str]) -> Any:
    """GET a provider's JSON; anything but a 200 with JSON is a BalanceError, as One API's `status code: N`."""
    try:
        response = send(current_app.config["ONEAPI"], "GET", url, headers=headers)
    except UpstreamError as exc:
        raise BalanceError(exc.message) from None
    with response:
        if response.status_code != 200:
            raise BalanceError(f"status code: {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise BalanceError("invalid JSON in the balance response") from None


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _object(body: Any) -> dict[str, Any]:
    return body if isinstance(body, dict) else {}


def _number(body: Any, *path: str) -> float:
    """The number at `path` in a JSON body; providers send some as strings ("12.34")."""
    value = body
    for name in path:
        value = value.get(name) if isinstance(value, dict) else None
    if isinstance(value, bool) or value is None:
        raise BalanceError(f"unexpected balance response: no {'.'.join(path)}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise BalanceError(f"unexpected balance response: {'.'.join(path)} is not a number")
    return number


def _openai(base: str, key: str, _field: str = "") -> float:
    """Hard limit minus this month's usage (cents); the last 100 days for accounts without a payment
    method. https://platform.openai.com/account/billing (the legacy dashboard endpoints)."""
    subscription = _get(f"{base}/v1/dashboard/billing/subscription", _bearer(key))
    today = date.today()
    paying = _object(subscription).get("has_payment_method")
    start = today.replace(day=1) if paying else today - timedelta(days=100)
    usage = _get(f"{base}/v1/dashboard/billing/usage?start_date={start:%Y-%m-%d}&end_date={today:%Y-%m-%d}",
                 _bearer(key))
    return _number(subscription, "hard_limit_usd") - _number(usage, "total_usage") / 100


def _credit_grants(base: str, key: str, field: str) -> float:
    """OpenAI's legacy credit-grants summary, which proxies (CloseAI, AIGC2D, API2GPT) kept serving;
    `field` is the amount each of them fills."""
    return _number(_get(f"{base}/dashboard/billing/credit_grants", _bearer(key)), field)


def _openai_sb(base: str, key: str, _field: str = "") -> float:
    body = _object(_get(f"{base}/sb-api/user/status?api_key={quote(key, safe='')}", _bearer(key)))
    if not isinstance(body.get("data"), dict):
        raise BalanceError(str(body.get("msg") or "no data"))
    return _number(body, "data", "credit")


def _aiproxy(base: str, key: str, _field: str = "") -> float:
    body = _object(_get(f"{base}/api/report/getUserOverview", {"Api-Key": key}))
    if body.get("success") is not True:
        raise BalanceError(f"code: {body.get('error_code', 0)}, message: {body.get('message', '')}")
    return _number(body, "data", "totalPoints")


def _siliconflow(base: str, key: str, _field: str = "") -> float:
    """https://docs.siliconflow.cn/api-reference/userinfo/get-user-info: `code` 20000 means success."""
    body = _object(_get(f"{base}/v1/user/info", _bearer(key)))
    if body.get("code") != 20000:
        raise BalanceError(f"code: {body.get('code', 0)}, message: {body.get('message', '')}")
    return _number(body, "data", "totalBalance")


def _deepseek(base: str, key: str, _field: str = "") -> float:
    """https://api-docs.deepseek.com/api/get-user-balance: one entry per currency; One API keeps CNY."""
    body = _get(f"{base}/user/balance", _bearer(key))
    infos = _object(body).get("balance_infos")
    for info in infos if isinstance(infos, list) else []:
        if isinstance(info, dict) and info.get("currency") == "CNY":
            return _number(info, "total_balance")
    raise BalanceError("currency CNY not found")


def _openrouter(base: str, key: str, _field: str = "") -> float:
    """https://openrouter.ai/docs/api-reference/get-credits: credits bought minus credits used."""
    body = _get(f"{base}/v1/credits", _bearer(key))
    return _number(body, "data", "total_credits") - _number(body, "data", "total_usage")


# The readers a type's `Balance.reader` names (see the registry).
READERS: dict[str, Callable[[str, str, str], float]] = {
    "openai": _openai, "credit_grants": _credit_grants, "openai_sb": _openai_sb, "aiproxy": _aiproxy,
    "siliconflow": _siliconflow, "deepseek": _deepseek, "openrouter": _openrouter,
}
