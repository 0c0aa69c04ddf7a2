"""Amazon Bedrock Converse / ConverseStream through the bedrock provider, with the openai SDK.

The mock replays Converse JSON and ConverseStream binary event-stream frames (built here with
zlib's CRC-32, as AWS documents the framing); the SigV4 signature the gateway computed in Lua is
checked against an independent Python implementation over the exact bytes that were sent.
"""
import base64
import binascii
import hashlib
import hmac
import json
import struct
from urllib.parse import quote

import openai
import pytest

from http_helpers import last_upstream_request, store_fixture

MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"
CREDENTIALS = {"x-portkey-aws-access-key-id": "AKIDTEST", "x-portkey-aws-secret-access-key": "secret/key+1",
               "x-portkey-aws-region": "eu-west-1"}


def client_for(gateway, mock, fixture, **extra):
    headers = {"x-portkey-provider": "bedrock", "x-portkey-custom-host": mock.url,
               "x-portkey-forward-headers": "x-mock-fixture", "x-mock-fixture": store_fixture(mock, fixture),
               **CREDENTIALS, **extra}
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0, default_headers=headers)


def frame(event_type, payload, message_type="event", exception_type=None):
    headers = [(":message-type", message_type)]
    headers.append((":exception-type", exception_type) if exception_type else (":event-type", event_type))
    headers.append((":content-type", "application/json"))
    raw_headers = b"".join(bytes([len(k)]) + k.encode() + b"\x07" + struct.pack(">H", len(v)) + v.encode() for k, v in headers)
    body = json.dumps(payload).encode()
    total = 12 + len(raw_headers) + len(body) + 4
    prelude = struct.pack(">II", total, len(raw_headers))
    message = prelude + struct.pack(">I", binascii.crc32(prelude)) + raw_headers + body
    return {"raw_base64": base64.b64encode(message + struct.pack(">I", binascii.crc32(message))).decode()}


def stream_fixture(*frames):
    return {"status": 200, "headers": {"content-type": "application/vnd.amazon.eventstream"}, "events": list(frames)}


def expected_signature(sent, secret, region):
    """SigV4 recomputed independently from what reached the upstream."""
    payload = base64.b64decode(sent["body_base64"])
    path = sent["uri"]
    canonical_path = "/".join(quote(segment, safe="") for segment in path.split("/"))
    amz_date = sent["headers"]["x-amz-date"]
    signed = sent["headers"]["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    canonical_headers = "".join(f"{name}:{sent['headers'][name].strip()}\n" for name in signed)
    canonical = "\n".join(["POST", canonical_path, "", canonical_headers, ";".join(signed),
                           hashlib.sha256(payload).hexdigest()])
    scope = f"{amz_date[:8]}/{region}/bedrock/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in [amz_date[:8], region, "bedrock", "aws4_request"]:
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), payload


def test_converse_request_signature_and_response(gateway, mock):
    fixture = {"status": 200, "headers": {"x-amzn-RequestId": "req-123"}, "body": {
        "output": {"message": {"role": "assistant", "content": [{"text": "Hello from Bedrock."}]}},
        "stopReason": "end_turn", "usage": {"inputTokens": 11, "outputTokens": 5, "totalTokens": 16},
        "metrics": {"latencyMs": 120}}}
    completion = client_for(gateway, mock, fixture, **{"x-portkey-aws-session-token": "tok-session"}).chat.completions.create(
        model=MODEL, max_tokens=64, temperature=0.1, stop=["END"],
        messages=[{"role": "system", "content": "Be brief."},
                  {"role": "user", "content": [{"type": "text", "text": "Hi"},
                                               {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}}]}])
    assert completion.choices[0].message.content == "Hello from Bedrock."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.id == "bedrock-req-123"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (11, 5)

    sent = last_upstream_request(mock)
    assert sent["uri"] == "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
    auth = sent["headers"]["authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDTEST/") and "/eu-west-1/bedrock/aws4_request" in auth
    assert "SignedHeaders=host;x-amz-date;x-amz-security-token" in auth
    assert sent["headers"]["x-amz-security-token"] == "tok-session"
    signature, payload = expected_signature(sent, "secret/key+1", "eu-west-1")
    assert auth.endswith("Signature=" + signature)
    assert json.loads(payload) == {
        "system": [{"text": "Be brief."}],
        "messages": [{"role": "user", "content": [{"text": "Hi"}, {"image": {"format": "png", "source": {"bytes": "iVBOR"}}}]}],
        "inferenceConfig": {"maxTokens": 64, "temperature": 0.1, "stopSequences": ["END"]}}


def test_tools_round_trip(gateway, mock):
    fixture = {"status": 200, "body": {
        "output": {"message": {"role": "assistant", "content": [
            {"text": "Checking."}, {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Oslo"}}}]}},
        "stopReason": "tool_use", "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}}}
    completion = client_for(gateway, mock, fixture).chat.completions.create(
        model=MODEL, tool_choice="required",
        tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}],
        messages=[{"role": "user", "content": "Weather?"},
                  {"role": "assistant", "content": None, "tool_calls": [
                      {"id": "tooluse_0", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]},
                  {"role": "tool", "tool_call_id": "tooluse_0", "content": '{"temp": 20}'}])
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content == "Checking."
    assert (choice.message.tool_calls[0].id, json.loads(choice.message.tool_calls[0].function.arguments)) == ("tooluse_1", {"city": "Oslo"})
    body = json.loads(base64.b64decode(last_upstream_request(mock)["body_base64"]))
    assert body["toolConfig"] == {"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {
        "json": {"type": "object", "properties": {}}}}}], "toolChoice": {"any": {}}}
    assert body["messages"][1]["content"] == [{"toolUse": {"toolUseId": "tooluse_0", "name": "get_weather", "input": {"city": "Paris"}}}]
    assert body["messages"][2] == {"role": "user", "content": [{"toolResult": {"toolUseId": "tooluse_0", "content": [{"json": {"temp": 20}}]}}]}


def test_converse_stream_with_tools_and_usage(gateway, mock):
    fixture = stream_fixture(
        frame("messageStart", {"role": "assistant"}),
        frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Let me "}}),
        frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "see."}}),
        frame("contentBlockStop", {"contentBlockIndex": 0}),
        frame("contentBlockStart", {"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "tu_9", "name": "f"}}}),
        frame("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": '{"x":'}}}),
        frame("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": ' 1}'}}}),
        frame("contentBlockStop", {"contentBlockIndex": 1}),
        frame("messageStop", {"stopReason": "tool_use"}),
        frame("metadata", {"usage": {"inputTokens": 8, "outputTokens": 6, "totalTokens": 14}, "metrics": {"latencyMs": 9}}))
    stream = client_for(gateway, mock, fixture).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert last_upstream_request(mock)["uri"].endswith("/converse-stream")
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Let me see."
    calls = [t for c in chunks if c.choices for t in (c.choices[0].delta.tool_calls or [])]
    assert calls[0].id == "tu_9" and calls[0].function.name == "f"
    assert json.loads("".join(t.function.arguments or "" for t in calls)) == {"x": 1}
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]
    assert chunks[-1].usage.total_tokens == 14


def stream_error(gateway, mock, fixture):
    stream = client_for(gateway, mock, fixture).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True)
    with pytest.raises(openai.APIError) as raised:
        list(stream)
    return str(raised.value)


def test_stream_exceptions_corruption_and_truncation(gateway, mock):
    assert "throttlingException: Too many requests" in stream_error(gateway, mock, stream_fixture(
        frame("messageStart", {"role": "assistant"}),
        frame(None, {"message": "Too many requests"}, message_type="exception", exception_type="throttlingException")))
    corrupt = frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "x"}})
    raw = bytearray(base64.b64decode(corrupt["raw_base64"]))
    raw[-6] ^= 0xFF
    assert "checksum" in stream_error(gateway, mock, stream_fixture(
        frame("messageStart", {"role": "assistant"}), {"raw_base64": base64.b64encode(bytes(raw)).decode()}))
    assert "ended before messageStop" in stream_error(gateway, mock, stream_fixture(
        frame("messageStart", {"role": "assistant"}), frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "x"}})))


def test_stream_that_stops_after_message_stop_still_completes(gateway, mock):
    # messageStop carries the finish; the metadata event (usage) normally follows. Without it the
    # answer is complete all the same: it ends with [DONE], not with an error.
    stream = client_for(gateway, mock, stream_fixture(
        frame("messageStart", {"role": "assistant"}),
        frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Done."}}),
        frame("messageStop", {"stopReason": "end_turn"}))).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Done."
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_tools_converse_cannot_honour_are_refused(gateway, mock):
    # Map or refuse: a tool that is not a function, or a tool_choice Converse has no mode for, is a
    # 400 naming the field, never left out of the request.
    client = client_for(gateway, mock, {"status": 200, "body": {}})
    hi = [{"role": "user", "content": "x"}]
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model=MODEL, messages=hi, tools=[{"type": "custom", "custom": {"name": "grep"}}])
    assert raised.value.body["param"] == "tools" and "only function tools" in raised.value.message
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model=MODEL, messages=hi, tools=[{"type": "function", "function": {"name": "f"}}],
                                       tool_choice={"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": []}})
    assert raised.value.body["param"] == "tool_choice"


def test_errors_and_missing_credentials(gateway, mock):
    client = client_for(gateway, mock, {"status": 400, "headers": {"x-amzn-ErrorType": "ValidationException"},
                                        "body": {"message": "The provided model identifier is invalid."}})
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    assert "model identifier is invalid" in raised.value.message
    bare = openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0, default_headers={
        "x-portkey-provider": "bedrock", "x-portkey-custom-host": mock.url})
    with pytest.raises(openai.AuthenticationError) as raised:
        bare.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert "x-portkey-aws-access-key-id" in raised.value.message
