"""A mock Amazon Bedrock Runtime (InvokeModel / InvokeModelWithResponseStream) that checks each request as
bedrock-runtime.<region>.amazonaws.com does and answers in its wire format.

    with serve(create_app(access_key="AKIAMOCK", secret_key="secret", region="us-east-1")) as base_url: ...

- Every request must carry a valid SigV4 signature (service `bedrock`, the app's region), verified with
  botocore's own `SigV4Auth` over the raw request path, the headers the client signed and the body, plus
  the checks AWS makes around it: known access key, scope date and x-amz-date agree, clock skew under
  5 minutes, `x-amz-content-sha256` equal to the body's hash. Failures are 403s with AWS's messages and
  `x-amzn-ErrorType` (MissingAuthenticationTokenException, IncompleteSignatureException,
  UnrecognizedClientException, InvalidSignatureException).
- `POST /model/{modelId}/invoke` answers the model's JSON; `/invoke-with-response-stream` answers
  `application/vnd.amazon.eventstream`: `chunk` events whose payload is `{"bytes": base64(model event)}`,
  encoded here with both CRC32s (independently of the gateway's decoder).
- Claude ids take the Anthropic Messages body with `anthropic_version: bedrock-2023-05-31` and no `model`,
  `stream` or `metadata` (Bedrock: "extraneous key [...] is not permitted"); Llama 3 ids take
  `{prompt, temperature, top_p, max_gen_len ≤ 2048}`.
- Behaviour: the `behaviour` option, else a marker in the last user text (Claude) or the prompt (Llama):
  `[throttle]` → 429 ThrottlingException, `[invalid]` → 400 ValidationException, `[stream-throttle]` → a
  `throttlingException` message in the stream after the first chunk.

`app.config["REQUESTS"]` lists every request (method, decoded path, raw path, lower-cased headers, JSON body).
"""

from __future__ import annotations

import base64
import binascii
import calendar
import hashlib
import hmac
import json
import re
import struct
import time
from collections.abc import Iterator
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from flask import Flask, Response, request

from tests.upstreams.anthropic import input_tokens, last_user_text, stream_events

BEHAVIOURS = ("reply", "throttle", "invalid", "stream_throttle")
CLAUDE_IDS = {
    "anthropic.claude-instant-v1", "anthropic.claude-v2", "anthropic.claude-v2:1",
    "anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-sonnet-20240229-v1:0",
    "anthropic.claude-3-opus-20240229-v1:0", "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "anthropic.claude-3-5-sonnet-20241022-v2:0", "anthropic.claude-3-5-haiku-20241022-v1:0",
    "anthropic.claude-3-7-sonnet-20250219-v1:0", "us.anthropic.claude-sonnet-4-20250514-v1:0",
    "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
}
LLAMA_IDS = {"meta.llama3-8b-instruct-v1:0", "meta.llama3-70b-instruct-v1:0"}
CLAUDE_KEYS = {"anthropic_version", "anthropic_beta", "max_tokens", "messages", "system", "stop_sequences",
               "temperature", "top_p", "top_k", "tools", "tool_choice", "thinking"}
LLAMA_KEYS = {"prompt", "temperature", "top_p", "max_gen_len"}
MAX_SKEW = 300
BAD_SIGNATURE = ("The request signature we calculated does not match the signature you provided. Check your AWS "
                 "Secret Access Key and signing method. Consult the service documentation for details.")
AUTHORIZATION = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request,"
                           r"\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$")


class Refusal(Exception):
    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


def create_app(*, access_key: str = "AKIAMOCKACCESSKEY", secret_key: str = "mock/secret+key",
               region: str = "us-east-1", behaviour: str | None = None, chunk_delay: float = 0.0,
               deltas: int = 3) -> Flask:
    if behaviour is not None and behaviour not in BEHAVIOURS:
        raise ValueError(f"unknown behaviour {behaviour!r}; one of {BEHAVIOURS}")
    app = Flask(__name__)
    app.config.update(REQUESTS=[], ACCESS_KEY=access_key, SECRET_KEY=secret_key, REGION=region,
                      BEHAVIOUR=behaviour, CHUNK_DELAY=chunk_delay, DELTAS=max(1, deltas))

    def handle(model_id: str, stream: bool) -> Response:
        raw = request.get_data()
        number = len(app.config["REQUESTS"]) + 1
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        app.config["REQUESTS"].append({
            "method": request.method, "path": request.path, "raw_path": raw_path(), "model_id": model_id,
            "headers": {k.lower(): v for k, v in request.headers.items()}, "body": body})
        try:
            check_signature(app.config, raw)
            problem = check_request(model_id, body, request.headers)
            if problem:
                raise Refusal(400, "ValidationException", problem)
            return answer(app.config, model_id, body, stream, number)
        except Refusal as refusal:
            return error_response(refusal.status, refusal.kind, refusal.message, number)

    @app.post("/model/<path:model_id>/invoke")
    def invoke(model_id: str) -> Response:
        return handle(model_id, stream=False)

    @app.post("/model/<path:model_id>/invoke-with-response-stream")
    def invoke_stream(model_id: str) -> Response:
        return handle(model_id, stream=True)

    @app.errorhandler(404)
    def not_found(_: Exception) -> Response:
        return error_response(404, "UnknownOperationException", "")

    return app


def raw_path() -> str:
    """The path as the client sent it (percent-encoding kept), which is what AWS signs."""
    uri = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.path
    return uri.split("?", 1)[0]


# -- SigV4, as AWS checks it ----------------------------------------------------------------------------


def check_signature(config: dict[str, Any], body: bytes) -> None:
    headers = request.headers
    authorization = headers.get("Authorization")
    if not authorization:
        raise Refusal(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
    match = AUTHORIZATION.match(authorization)
    if not match:
        raise Refusal(403, "IncompleteSignatureException",
                      f"Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. "
                      f"Authorization={authorization}")
    key, date, region, service, signed, signature = match.groups()
    if key != config["ACCESS_KEY"]:
        raise Refusal(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
    stamp = headers.get("X-Amz-Date", "")
    if not re.fullmatch(r"\d{8}T\d{6}Z", stamp):
        raise Refusal(403, "IncompleteSignatureException", "Authorization header requires existence of either a "
                      "'X-Amz-Date' or a 'Date' header.")
    if stamp[:8] != date:
        raise Refusal(403, "InvalidSignatureException", f"Date in Credential scope does not match YYYYMMDD from "
                      f"ISO-8601 version of date from HTTP: '{date}' != '{stamp[:8]}', from '{stamp}'.")
    if region != config["REGION"]:
        raise Refusal(403, "InvalidSignatureException",
                      f"Credential should be scoped to a valid region, not '{region}'.")
    if service != "bedrock":
        raise Refusal(403, "InvalidSignatureException",
                      "Credential should be scoped to correct service: 'bedrock'. ")
    sent = calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ"))
    if abs(time.time() - sent) > MAX_SKEW:
        raise Refusal(403, "InvalidSignatureException", f"Signature expired: {stamp} is now earlier than "
                      f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(time.time() - MAX_SKEW))} "
                      f"({time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())} - 5 min.)")
    names = signed.split(";")
    if "host" not in names or "x-amz-date" not in names:
        raise Refusal(403, "InvalidSignatureException", "'Host' and 'X-Amz-Date' must be signed headers.")
    claimed = headers.get("X-Amz-Content-Sha256")
    if claimed is not None and claimed != hashlib.sha256(body).hexdigest():
        raise Refusal(403, "InvalidSignatureException",
                      "The provided 'x-amz-content-sha256' header does not match what was computed.")
    if not hmac_equal(botocore_signature(config, names, body), signature):
        raise Refusal(403, "InvalidSignatureException", BAD_SIGNATURE)


def botocore_signature(config: dict[str, Any], names: list[str], body: bytes) -> str:
    """botocore's SigV4 over the request as received: the raw path, the signed headers only, the body."""
    headers = {name: request.headers.get(name, "") for name in names}
    aws_request = AWSRequest(method=request.method, url=f"{request.scheme}://{request.host}{raw_path()}",
                             headers=headers, data=body)
    aws_request.context["timestamp"] = request.headers["X-Amz-Date"]
    auth = SigV4Auth(Credentials(config["ACCESS_KEY"], config["SECRET_KEY"]), "bedrock", config["REGION"])
    canonical = auth.canonical_request(aws_request)
    return auth.signature(auth.string_to_sign(aws_request, canonical), aws_request)


def hmac_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


# -- request validation --------------------------------------------------------------------------------


def check_request(model_id: str, body: Any, headers: Any) -> str:
    if model_id not in CLAUDE_IDS | LLAMA_IDS:
        return "The provided model identifier is invalid."
    if not (headers.get("Content-Type") or "").startswith("application/json"):
        return "The provided Content-Type is not supported."
    if not isinstance(body, dict):
        return "Malformed input request: expected type: JSONObject, please reformat your input and try again."
    allowed = CLAUDE_KEYS if model_id in CLAUDE_IDS else LLAMA_KEYS
    extra = sorted(set(body) - allowed)
    if extra:
        return (f"Malformed input request: #: extraneous key [{extra[0]}] is not permitted, please reformat your "
                "input and try again.")
    return claude_problem(body) if model_id in CLAUDE_IDS else llama_problem(body)


def malformed(problem: str) -> str:
    return f"Malformed input request: {problem}, please reformat your input and try again."


def claude_problem(body: dict[str, Any]) -> str:
    if body.get("anthropic_version") != "bedrock-2023-05-31":
        return "Invalid API version" if "anthropic_version" in body else malformed(
            "#: required key [anthropic_version] not found")
    if "max_tokens" not in body:
        return malformed("#: required key [max_tokens] not found")
    if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1:
        return malformed(f"#/max_tokens: {body['max_tokens']} is not greater or equal to 1")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return malformed("#: required key [messages] not found")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return malformed(f"#/messages/{index}/role: {message.get('role')} is not a valid enum value")
        if not message.get("content"):
            return ("messages: all messages must have non-empty content except for the optional final assistant "
                    "message")
    if messages[0]["role"] != "user":
        return "A conversation must start with a user message. Try again with a conversation that starts with a " \
               "user message."
    return ""


def llama_problem(body: dict[str, Any]) -> str:
    if not isinstance(body.get("prompt"), str):
        return malformed("#: required key [prompt] not found")
    length = body.get("max_gen_len", 512)
    if not isinstance(length, int) or not 1 <= length <= 2048:
        return malformed(f"#/max_gen_len: {length} is not less or equal to 2048")
    return ""


# -- answers -------------------------------------------------------------------------------------------


def error_response(status: int, kind: str, message: str, number: int = 0) -> Response:
    response = Response(json.dumps({"message": message} if message else {}), status=status,
                        content_type="application/json")
    namespace = "com.amazon.bedrock" if kind in ("ValidationException", "ThrottlingException") else \
        "com.amazon.coral.service"
    response.headers["x-amzn-ErrorType"] = f"{kind}:http://internal.amazon.com/coral/{namespace}/"
    response.headers["x-amzn-RequestId"] = request_id(number)
    return response


def request_id(number: int) -> str:
    return f"00000000-0000-4000-8000-{number:012d}"


def behaviour_of(config: dict[str, Any], model_id: str, body: dict[str, Any]) -> str:
    if config["BEHAVIOUR"]:
        return config["BEHAVIOUR"]
    text = last_user_text(body) if model_id in CLAUDE_IDS else body["prompt"].rsplit("user<|end_header_id|>", 1)[-1]
    for marker, behaviour in (("[stream-throttle]", "stream_throttle"), ("[throttle]", "throttle"),
                              ("[invalid]", "invalid")):
        if marker in text:
            return behaviour
    return "reply"


def answer(config: dict[str, Any], model_id: str, body: dict[str, Any], stream: bool, number: int) -> Response:
    behaviour = behaviour_of(config, model_id, body)
    if behaviour == "throttle":
        raise Refusal(429, "ThrottlingException", "Too many requests, please wait before trying again.")
    if behaviour == "invalid":
        raise Refusal(400, "ValidationException", "Input is too long for requested model.")
    if model_id in CLAUDE_IDS:
        message = claude_message(model_id, body, number)
        usage = message["usage"]
        counts = (usage["input_tokens"], usage["output_tokens"])
        events = claude_stream(message, config["DELTAS"]) if stream else None
    else:
        reply = llama_reply(body)
        counts = (reply["prompt_token_count"], reply["generation_token_count"])
        events = llama_stream(reply, config["DELTAS"]) if stream else None
    if not stream:
        response = Response(json.dumps(message if model_id in CLAUDE_IDS else reply),
                            content_type="application/json")
    else:
        frames = chunk_frames(events, throttle_after=1 if behaviour == "stream_throttle" else None)
        response = Response(paced(frames, config["CHUNK_DELAY"]), content_type="application/vnd.amazon.eventstream")
        response.headers["X-Amzn-Bedrock-Content-Type"] = "application/json"
    response.headers["x-amzn-RequestId"] = request_id(number)
    if not stream:
        response.headers["X-Amzn-Bedrock-Input-Token-Count"] = str(counts[0])
        response.headers["X-Amzn-Bedrock-Output-Token-Count"] = str(counts[1])
    return response


def anthropic_model(model_id: str) -> str:
    """The model name Bedrock's Claude reports: `claude-3-haiku-20240307` for `anthropic.claude-3-haiku-
    20240307-v1:0` (and for its `us.` profile)."""
    name = model_id.split("anthropic.", 1)[-1]
    return re.sub(r"-v\d+(:\d+)?$", "", name)


def claude_message(model_id: str, body: dict[str, Any], number: int) -> dict[str, Any]:
    words = f"Hello from mock Bedrock Claude! You said: {last_user_text(body)}".split(" ")
    stop = "max_tokens" if len(words) > body["max_tokens"] else "end_turn"
    words = words[:body["max_tokens"]]
    return {"id": f"msg_bdrk_mock{number:04d}", "type": "message", "role": "assistant",
            "model": anthropic_model(model_id), "content": [{"type": "text", "text": " ".join(words)}],
            "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": input_tokens(body), "output_tokens": len(words)}}


def claude_stream(message: dict[str, Any], deltas: int) -> list[dict[str, Any]]:
    events = [data for _, data in stream_events(message, deltas)]
    usage = message["usage"]
    events[-1] = {**events[-1], "amazon-bedrock-invocationMetrics": {
        "inputTokenCount": usage["input_tokens"], "outputTokenCount": usage["output_tokens"],
        "invocationLatency": 421, "firstByteLatency": 198}}
    return events


def llama_reply(body: dict[str, Any]) -> dict[str, Any]:
    prompt = body["prompt"]
    user = prompt.rsplit("user<|end_header_id|>", 1)[-1].split("<|eot_id|>", 1)[0].strip()
    words = f"Hello from mock Llama! You said: {user}".split(" ")
    limit = body.get("max_gen_len", 512)
    stop = "length" if len(words) > limit else "stop"
    words = words[:limit]
    plain = re.sub(r"<\|[a-z_]+\|>", " ", prompt)
    return {"generation": " ".join(words), "prompt_token_count": len(plain.split()) + 5,
            "generation_token_count": len(words), "stop_reason": stop}


def llama_stream(reply: dict[str, Any], deltas: int) -> list[dict[str, Any]]:
    words = reply["generation"].split(" ")
    size = max(1, -(-len(words) // deltas))
    pieces = [" ".join(words[i:i + size]) + ("" if i + size >= len(words) else " ")
              for i in range(0, len(words), size)]
    events, produced = [], 0
    for index, piece in enumerate(pieces):
        produced += len(piece.split())
        events.append({"generation": piece, "prompt_token_count": reply["prompt_token_count"] if index == 0 else None,
                       "generation_token_count": produced, "stop_reason": None})
    events.append({"generation": "", "prompt_token_count": None, "generation_token_count": produced,
                   "stop_reason": reply["stop_reason"], "amazon-bedrock-invocationMetrics": {
                       "inputTokenCount": reply["prompt_token_count"], "outputTokenCount": produced,
                       "invocationLatency": 388, "firstByteLatency": 102}})
    return events


def paced(frames: list[bytes], delay: float) -> Iterator[bytes]:
    for number, frame in enumerate(frames):
        if number and delay:
            time.sleep(delay)
        yield frame


# -- the event-stream encoding -------------------------------------------------------------------------


def chunk_frames(events: list[dict[str, Any]], throttle_after: int | None = None) -> list[bytes]:
    """Each model event as a Bedrock `chunk` message; with `throttle_after`, a throttlingException message
    replaces the rest after that many chunks."""
    frames = []
    for number, event in enumerate(events):
        if throttle_after is not None and number == throttle_after:
            frames.append(exception_frame("throttlingException",
                                          "Too many tokens, please wait before trying again."))
            break
        frames.append(chunk_frame(event))
    return frames


def chunk_frame(event: dict[str, Any]) -> bytes:
    inner = json.dumps(event, separators=(",", ":")).encode()
    payload = {"bytes": base64.b64encode(inner).decode(), "p": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"[:len(inner) % 37]}
    return encode_frame([(":event-type", "chunk"), (":content-type", "application/json"), (":message-type", "event")],
                        json.dumps(payload, separators=(",", ":")).encode())


def exception_frame(name: str, message: str) -> bytes:
    return encode_frame([(":exception-type", name), (":content-type", "application/json"),
                         (":message-type", "exception")], json.dumps({"message": message}).encode())


def encode_header(name: str, value: Any) -> bytes:
    """One header; strings (type 7), booleans (0/1), int32 (4), bytes (6) are what tests need."""
    key = name.encode()
    head = struct.pack("B", len(key)) + key
    if isinstance(value, bool):
        return head + struct.pack("B", 0 if value else 1)
    if isinstance(value, int):
        return head + struct.pack(">Bi", 4, value)
    if isinstance(value, bytes):
        return head + struct.pack(">BH", 6, len(value)) + value
    data = str(value).encode()
    return head + struct.pack(">BH", 7, len(data)) + data


def encode_frame(headers: list[tuple[str, Any]], payload: bytes) -> bytes:
    block = b"".join(encode_header(name, value) for name, value in headers)
    total = 12 + len(block) + len(payload) + 4
    prelude = struct.pack(">II", total, len(block))
    prelude += struct.pack(">I", binascii.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + block + payload
    return message + struct.pack(">I", binascii.crc32(message) & 0xFFFFFFFF)
