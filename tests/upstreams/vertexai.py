"""A mock Vertex AI with its OAuth token endpoint, as a WSGI app: run it with `tests.upstreams.server.serve`.

    app = create_app(public_key=key.public_key(), client_email="sa@p.iam.gserviceaccount.com",
                     private_key_id="k1", project="my-project", region="us-east5")

What it checks, as Google does (https://developers.google.com/identity/protocols/oauth2/service-account,
https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude/use-claude):
- `POST /token`: a form-encoded JWT-bearer grant whose assertion is an RS256 JWT signed by the service
  account's key (verified here with `cryptography` and the public key, header `kid` = the key's id),
  with iss = the account, aud = this endpoint's URL, the cloud-platform scope, and iat/exp at most an hour
  apart around now. It answers `{"access_token", "expires_in", "token_type": "Bearer"}` or Google's OAuth
  error `{"error", "error_description"}` with 400.
- `POST /v1/projects/{project}/locations/{region}/publishers/{publisher}/models/{model}:{method}`: a Bearer
  token this mock issued (401 UNAUTHENTICATED otherwise), the configured project (403) and region (404),
  publisher `anthropic` for `claude*` models (rawPredict / streamRawPredict, an Anthropic body with
  `anthropic_version: vertex-2023-10-16` and no `model`, answered as Claude answers) and `google` for the
  others (generateContent / streamGenerateContent?alt=sse, answered as Gemini answers).

Behaviour comes from a marker in the model name: `rate-limit` → Google's 429 RESOURCE_EXHAUSTED (the quota
error Vertex raises for either publisher), `overloaded` → Claude's 529 `overloaded_error` or Gemini's 503
UNAVAILABLE, `stream-error` → a Claude stream ending in an `error` event. Every request is recorded in
`app.config["REQUESTS"]` (`kind` is `token` or `predict`); `app.config["TOKENS"]` holds the valid tokens
(clear it to revoke them).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from flask import Flask, Response, current_app, request

from tests.upstreams import anthropic as claude_mock
from tests.upstreams import gemini as gemini_mock

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
ANTHROPIC_VERSION = "vertex-2023-10-16"
BAD_SIGNATURE = "Invalid JWT Signature."
BAD_TIME = ("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your "
            "iat and exp values in the JWT claim.")
NO_CREDENTIAL = ("Request is missing required authentication credential. Expected OAuth 2 access token, login cookie "
                 "or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/"
                 "devconsole-project.")
BAD_CREDENTIAL = ("Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
                  "other valid authentication credential. See https://developers.google.com/identity/sign-in/web/"
                  "devconsole-project.")


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status

    def response(self) -> Response:
        body = {"error": self.error, "error_description": self.description}
        return Response(json.dumps(body, indent=2), self.status, content_type="application/json; charset=utf-8")


def create_app(*, public_key: Any, client_email: str, private_key_id: str, project: str = "my-project",
               region: str = "us-east5", expires_in: int = 3599, claude_reply: str | None = None,
               gemini_reply: str = "Hello from the mock Vertex Gemini!", chunks: int = 3,
               chunk_delay: float = 0.0) -> Flask:
    """The mock; `public_key` is the service account's RSA public key (an object or PEM bytes). Claude
    echoes the last user text unless `claude_reply` is given; `chunks` is how many events a stream has."""
    if isinstance(public_key, bytes | str):
        public_key = serialization.load_pem_public_key(public_key.encode() if isinstance(public_key, str)
                                                       else public_key)
    app = Flask(__name__)
    app.config.update(
        REQUESTS=[], TOKENS=set(), PUBLIC_KEY=public_key, CLIENT_EMAIL=client_email, PRIVATE_KEY_ID=private_key_id,
        PROJECT=project, REGION=region, EXPIRES_IN=expires_in,
        # Read by the Gemini mock's helpers.
        BEHAVIOUR=None, REPLY=gemini_reply, CHUNKS=max(1, chunks),
        CHUNK_DELAY=chunk_delay,
        # Read by the Claude mock's helpers.
        CLAUDE_REPLY=claude_reply, DELTAS=max(1, chunks),
    )
    app.add_url_rule("/token", "token", _token, methods=["POST"])
    app.add_url_rule("/v1/projects/<project>/locations/<region>/publishers/<publisher>/models/<path:target>",
                     "predict", _predict, methods=["POST"])
    app.register_error_handler(OAuthError, lambda e: e.response())
    app.register_error_handler(gemini_mock.GoogleError, lambda e: e.response())
    app.register_error_handler(404, lambda e: gemini_mock.GoogleError(
        404, "NOT_FOUND", "The requested URL was not found on this server.").response())
    app.register_error_handler(405, lambda e: gemini_mock.GoogleError(
        405, "METHOD_NOT_ALLOWED", "The requested method is not allowed for this URL.").response())
    return app


# The token endpoint.


def _token() -> Response:
    config = current_app.config
    form = request.form.to_dict()
    config["REQUESTS"].append({"kind": "token", "method": request.method, "path": request.path, "body": form,
                               "headers": {k.lower(): v for k, v in request.headers.items()}})
    if request.mimetype != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "Invalid Content-Type: expected application/x-www-form-urlencoded")
    if form.get("grant_type") != JWT_BEARER:
        raise OAuthError("unsupported_grant_type", f"Invalid grant_type: {form.get('grant_type', '')}")
    claims = _verified_claims(form.get("assertion", ""), config)
    if claims.get("iss") != config["CLIENT_EMAIL"]:
        raise OAuthError("invalid_grant", "Invalid grant: account not found")
    if claims.get("aud") != request.base_url:
        raise OAuthError("invalid_grant", f"Invalid JWT: Failed audience check. The right audience is "
                                          f"{request.base_url}")
    if SCOPE not in str(claims.get("scope", "")).split():
        raise OAuthError("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
    iat, exp, now = claims.get("iat"), claims.get("exp"), time.time()
    if not isinstance(iat, int) or not isinstance(exp, int) or not (
            iat - 300 <= now <= exp and 0 < exp - iat <= 3600):
        raise OAuthError("invalid_grant", BAD_TIME)
    token = f"ya29.c.mock-{len(config['REQUESTS']):04d}-{int(now)}"
    config["TOKENS"].add(token)
    body = {"access_token": token, "expires_in": config["EXPIRES_IN"], "token_type": "Bearer"}
    return Response(json.dumps(body, indent=2), content_type="application/json; charset=utf-8")


def _segment(text: str) -> bytes:
    if not text or any(c in text for c in "+/="):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _verified_claims(assertion: str, config: dict[str, Any]) -> dict[str, Any]:
    """The JWT's claims once its RS256 signature is checked against the account's public key."""
    parts = assertion.split(".")
    if len(parts) != 3:
        raise OAuthError("invalid_grant", "Invalid JWT: invalid format")
    try:
        header, claims, signature = json.loads(_segment(parts[0])), json.loads(_segment(parts[1])), _segment(parts[2])
    except (ValueError, binascii.Error) as exc:
        raise OAuthError("invalid_grant", "Invalid JWT: invalid format") from exc
    if not isinstance(header, dict) or header.get("alg") != "RS256":
        raise OAuthError("invalid_grant", "Invalid JWT: unsupported algorithm, expected RS256")
    if header.get("kid") not in (None, config["PRIVATE_KEY_ID"]):
        raise OAuthError("invalid_grant", BAD_SIGNATURE)
    try:
        config["PUBLIC_KEY"].verify(signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as exc:
        raise OAuthError("invalid_grant", BAD_SIGNATURE) from exc
    if not isinstance(claims, dict):
        raise OAuthError("invalid_grant", "Invalid JWT: invalid claims")
    return claims


# The Vertex endpoints.


def _predict(project: str, region: str, publisher: str, target: str) -> Response:
    config = current_app.config
    body = request.get_json(silent=True, force=True)
    config["REQUESTS"].append({"kind": "predict", "method": request.method, "path": request.path,
                               "query": request.args.to_dict(), "body": body,
                               "headers": {k.lower(): v for k, v in request.headers.items()}})
    _check_token(config)
    model, _, method = target.rpartition(":")
    resource = f"projects/{project}/locations/{region}/publishers/{publisher}/models/{model}"
    if project != config["PROJECT"]:
        raise gemini_mock.GoogleError(403, "PERMISSION_DENIED", f"Permission 'aiplatform.endpoints.predict' denied on "
                                                                f"resource '//aiplatform.googleapis.com/{resource}' "
                                                                "(or it may not exist).", "IAM_PERMISSION_DENIED")
    if region != config["REGION"] or not model or "/" in model:
        raise gemini_mock.GoogleError(404, "NOT_FOUND", f"Publisher Model `{resource}` not found.")
    if publisher == "anthropic" and model.startswith("claude"):
        return _claude(config, model, method, body)
    if publisher == "google" and not model.startswith("claude"):
        return _gemini(config, model, method, body)
    raise gemini_mock.GoogleError(404, "NOT_FOUND", f"Publisher Model `{resource}` not found.")


def _check_token(config: dict[str, Any]) -> None:
    kind, _, token = request.headers.get("Authorization", "").partition(" ")
    if kind != "Bearer" or not token:
        raise gemini_mock.GoogleError(401, "UNAUTHENTICATED", NO_CREDENTIAL, "CREDENTIALS_MISSING")
    if token not in config["TOKENS"]:
        raise gemini_mock.GoogleError(401, "UNAUTHENTICATED", BAD_CREDENTIAL, "ACCESS_TOKEN_TYPE_UNSUPPORTED")


def _claude(config: dict[str, Any], model: str, method: str, body: Any) -> Response:
    if method not in ("rawPredict", "streamRawPredict"):
        raise gemini_mock.GoogleError(400, "INVALID_ARGUMENT", f"Method {method} is not supported for {model}.")
    problem = _claude_body_problem(body, stream=method == "streamRawPredict")
    if problem:
        return claude_mock.error_response(400, "invalid_request_error", problem)
    behaviour = claude_mock.behaviour_for(model)
    if behaviour == "rate_limit":
        raise gemini_mock.GoogleError(429, "RESOURCE_EXHAUSTED", "Quota exceeded for aiplatform.googleapis.com/"
                                      "online_prediction_requests_per_base_model with base model: "
                                      f"anthropic-{model.split('@')[0]}. Please submit a quota increase request.")
    # Claude on Vertex reports the model it ran with a dash where the Vertex id has `@`.
    reported = {**body, "model": model.replace("@", "-")}
    options = {"BEHAVIOUR": behaviour, "CHUNK_DELAY": config["CHUNK_DELAY"], "DELTAS": config["DELTAS"],
               "REPLY": config["CLAUDE_REPLY"]}
    return claude_mock.answer(options, reported, len(config["REQUESTS"]))


def _claude_body_problem(body: Any, *, stream: bool) -> str:
    if not isinstance(body, dict):
        return "The request body is not valid JSON."
    if "model" in body:
        return "model: Extra inputs are not permitted"
    if "anthropic_version" not in body:
        return "anthropic_version: Field required"
    if body["anthropic_version"] != ANTHROPIC_VERSION:
        return f"anthropic_version: Input should be '{ANTHROPIC_VERSION}'"
    if bool(body.get("stream")) != stream:
        return ("stream: streamRawPredict requires \"stream\": true" if stream
                else "stream: rawPredict does not stream; use streamRawPredict")
    # The Messages API's own rules, with the model the path names.
    return claude_mock.body_problem({**{k: v for k, v in body.items() if k != "anthropic_version"},
                                     "model": "from-path"})


def _gemini(config: dict[str, Any], model: str, method: str, body: Any) -> Response:
    if method not in ("generateContent", "streamGenerateContent"):
        raise gemini_mock.GoogleError(400, "INVALID_ARGUMENT", f"Method {method} is not supported for {model}.")
    if not isinstance(body, dict):
        raise gemini_mock.GoogleError(400, "INVALID_ARGUMENT", "Invalid JSON payload received. Expected an object.")
    gemini_mock._check_generate(body)
    answers = [_vertex_fields(answer) for answer in gemini_mock._answers(model, body, config)]
    if method == "generateContent":
        return gemini_mock._json(answers[0])
    if request.args.get("alt") != "sse":
        return gemini_mock._json(answers)
    return Response(gemini_mock._events(answers, config["CHUNK_DELAY"]), content_type="text/event-stream")


def _vertex_fields(answer: dict[str, Any]) -> dict[str, Any]:
    """Vertex's additions to a GenerateContentResponse: createTime and the usage's traffic type."""
    usage = {**answer.get("usageMetadata", {}), "trafficType": "ON_DEMAND"}
    return {**answer, "usageMetadata": usage, "createTime": "2025-10-02T09:20:31.118246Z"}
