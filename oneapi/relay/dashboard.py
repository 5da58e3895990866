"""OpenAI's legacy billing routes (`/dashboard/billing/…`, with and without `/v1`) that chat clients
query to show a key's balance, answered from the key or its owner as One API does."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from oneapi.api.ratelimit import check_global_api
from oneapi.extensions import db
from oneapi.models import Token, User
from oneapi.relay.auth import authenticate
from oneapi.relay.errors import RelayError
from oneapi.services import options

bp = Blueprint("billing", __name__)
UNLIMITED_DISPLAY = 100_000_000
bp.before_request(check_global_api)


@bp.errorhandler(RelayError)
def billing_error(exc: RelayError):
    # Key refusals keep their status (One API checks the key in middleware); the handlers' own
    # failures answer HTTP 200, as One API's do.
    status = exc.status if exc.status in (401, 403) else 200
    return jsonify(exc.body(g.get("request_id", ""))), status


def _amount(quota: int) -> float | int:
    if options.get_bool("DisplayInCurrencyEnabled"):
        return quota / (options.get_float("QuotaPerUnit") or 500000)
    return quota


def subscription():
    caller = authenticate(request.headers.get("Authorization", ""))
    token, user = db.session.get(Token, caller.token_id), db.session.get(User, caller.user_id)
    if options.get_bool("DisplayTokenStatEnabled"):
        total = UNLIMITED_DISPLAY if token.unlimited_quota else (token.remain_quota or 0) + (token.used_quota or 0)
        until = 0 if token.expired_time in (None, -1) else token.expired_time
        limit = total if token.unlimited_quota else _amount(total)
    else:
        limit, until = _amount((user.quota or 0) + (user.used_quota or 0)), 0
    return jsonify(object="billing_subscription", has_payment_method=True, soft_limit_usd=limit,
                   hard_limit_usd=limit, system_hard_limit_usd=limit, access_until=until)


def usage():
    caller = authenticate(request.headers.get("Authorization", ""))
    if options.get_bool("DisplayTokenStatEnabled"):
        used = db.session.get(Token, caller.token_id).used_quota or 0
    else:
        used = db.session.get(User, caller.user_id).used_quota or 0
    amount = _amount(used)
    return jsonify(object="list", total_usage=amount * 100)


for _prefix in ("", "/v1"):
    bp.add_url_rule(f"{_prefix}/dashboard/billing/subscription", f"subscription{_prefix.replace('/', '_')}",
                    subscription)
    bp.add_url_rule(f"{_prefix}/dashboard/billing/usage", f"usage{_prefix.replace('/', '_')}", usage)
