"""JSON shapes of the entities, field for field as One API serialises them (§2.5).

Secrets never leave: passwords and access tokens are blanked (One API leaked access tokens to admins),
channel keys are omitted from every listing, and so are the credentials inside a channel's config
(AWS's secret key, Vertex's service-account JSON).
"""

from __future__ import annotations

from typing import Any

from oneapi.models import Channel, Log, Redemption, Token, User
from oneapi.services.channels import public_config


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id, "username": user.username or "", "password": "", "display_name": user.display_name or "",
        "role": user.role, "status": user.status, "email": user.email or "", "github_id": user.github_id or "",
        "wechat_id": user.wechat_id or "", "lark_id": user.lark_id or "", "oidc_id": user.oidc_id or "",
        "verification_code": "", "access_token": "", "quota": user.quota or 0, "used_quota": user.used_quota or 0,
        "request_count": user.request_count or 0, "group": user.group or "default", "aff_code": user.aff_code or "",
        "inviter_id": user.inviter_id or 0,
    }


def login_json(user: User) -> dict[str, Any]:
    """What login answers: the User shape with only the identity fields filled, as One API does."""
    full = user_json(user)
    blank = {k: "" if isinstance(v, str) else 0 for k, v in full.items()}
    return blank | {k: full[k] for k in ("id", "username", "display_name", "role", "status")}


def token_json(token: Token) -> dict[str, Any]:
    return {
        "id": token.id, "user_id": token.user_id, "key": token.key or "", "status": token.status,
        "name": token.name or "", "created_time": token.created_time or 0, "accessed_time": token.accessed_time or 0,
        "expired_time": token.expired_time, "remain_quota": token.remain_quota or 0,
        "unlimited_quota": bool(token.unlimited_quota), "used_quota": token.used_quota or 0,
        "models": token.models, "subnet": token.subnet or "",
    }


def channel_json(channel: Channel) -> dict[str, Any]:
    return {
        "id": channel.id, "type": channel.type, "key": "", "status": channel.status, "name": channel.name or "",
        "weight": channel.weight or 0, "created_time": channel.created_time or 0, "test_time": channel.test_time or 0,
        "response_time": channel.response_time or 0, "base_url": channel.base_url or "", "other": channel.other or "",
        "balance": channel.balance or 0, "balance_updated_time": channel.balance_updated_time or 0,
        "models": channel.models or "", "group": channel.group or "default", "used_quota": channel.used_quota or 0,
        "model_mapping": channel.model_mapping or "", "priority": channel.priority or 0,
        "config": public_config(channel.config), "system_prompt": channel.system_prompt or "",
    }


def redemption_json(redemption: Redemption) -> dict[str, Any]:
    return {
        "id": redemption.id, "user_id": redemption.user_id or 0, "key": redemption.key or "",
        "status": redemption.status, "name": redemption.name or "", "quota": redemption.quota or 0,
        "created_time": redemption.created_time or 0, "redeemed_time": redemption.redeemed_time or 0,
    }


def log_json(log: Log) -> dict[str, Any]:
    return {
        "id": log.id, "user_id": log.user_id or 0, "created_at": log.created_at or 0, "type": log.type or 0,
        "content": log.content or "", "username": log.username or "", "token_name": log.token_name or "",
        "model_name": log.model_name or "", "quota": log.quota or 0, "prompt_tokens": log.prompt_tokens or 0,
        "completion_tokens": log.completion_tokens or 0, "channel": log.channel_id or 0,
        "request_id": log.request_id or "", "elapsed_time": log.elapsed_time or 0, "is_stream": bool(log.is_stream),
        "system_prompt_reset": bool(log.system_prompt_reset),
    }
