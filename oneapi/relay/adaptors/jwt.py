"""Compact JSON Web Tokens (RFC 7519) as two providers want them signed: HS256 (Zhipu's key secret)
and RS256 (a Google service account's private key, through `cryptography`).

Written here because Authlib's `authlib.jose` is deprecated in favour of a separate package, and
signing is all we need: a dozen lines over the standard library and `cryptography`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


class JWTError(ValueError):
    """The key cannot sign (not an RSA private key in PEM, say)."""


def hs256(header: dict[str, Any], claims: dict[str, Any], secret: str) -> str:
    signing_input = _signing_input({"alg": "HS256", **header}, claims)
    return f"{signing_input}.{b64url(hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest())}"


def rs256(header: dict[str, Any], claims: dict[str, Any], private_key_pem: str) -> str:
    try:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise JWTError(f"not a PEM private key: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise JWTError("not an RSA private key")
    signing_input = _signing_input({"alg": "RS256", **header}, claims)
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


def _signing_input(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{b64url(_json(header))}.{b64url(_json(claims))}"


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
