"""POST /v1/messages/count_tokens for Claude on Amazon Bedrock, with the official anthropic SDK.

Bedrock's CountTokens (POST /model/{modelId}/count-tokens, body {"input": {"invokeModel": {"body":
<base64 of the InvokeModel body>}}}, answer {"inputTokens": N}) — signed with SigV4 like every
Bedrock request, the signature checked against an independent Python implementation. Before, the
endpoint was refused for bedrock ("does not support /v1/messages/count_tokens").
"""
import base64
import json

import anthropic
import pytest

from http_helpers import last_upstream_request, store_fixture
from test_bedrock import CREDENTIALS, MODEL, expected_signature

TOOL = {"name": "get_weather", "description": "Weather by city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}


def client_for(gateway, mock, fixture):
    headers = {"x-portkey-provider": "bedrock", "x-portkey-custom-host": mock.url,
               "x-portkey-forward-headers": "x-mock-fixture", "x-mock-fixture": store_fixture(mock, fixture),
               **CREDENTIALS}
    return anthropic.Anthropic(base_url=gateway.url, api_key="unused", max_retries=0, default_headers=headers)


def invoke_body(sent):
    outer = json.loads(base64.b64decode(sent["body_base64"]))
    assert set(outer) == {"input"} and set(outer["input"]) == {"invokeModel"}
    return json.loads(base64.b64decode(outer["input"]["invokeModel"]["body"]))


def test_count_tokens_is_bedrock_count_tokens(gateway, mock):
    client = client_for(gateway, mock, {"status": 200, "body": {"inputTokens": 42}})
    counted = client.messages.count_tokens(
        model=MODEL, system="Be brief.", tools=[TOOL], messages=[{"role": "user", "content": "Weather in Oslo?"}])
    assert counted.input_tokens == 42

    sent = last_upstream_request(mock)
    assert sent["method"] == "POST"
    assert sent["uri"] == "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/count-tokens"
    auth = sent["headers"]["authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDTEST/") and "/eu-west-1/bedrock/aws4_request" in auth
    signature, _ = expected_signature(sent, "secret/key+1", "eu-west-1")
    assert auth.endswith("Signature=" + signature)
    # The Messages request as InvokeModel takes it: no model, Bedrock's anthropic_version, and the
    # max_tokens InvokeModel requires (count_tokens has none; it counts no input).
    assert invoke_body(sent) == {
        "anthropic_version": "bedrock-2023-05-31", "max_tokens": 1024, "system": "Be brief.", "tools": [TOOL],
        "messages": [{"role": "user", "content": "Weather in Oslo?"}]}


def test_count_tokens_with_thinking_and_an_inference_profile(gateway, mock):
    # A cross-region inference profile is counted on its foundation model (CountTokens takes the
    # model's id); a thinking budget gets max_tokens above it, as InvokeModel requires.
    client = client_for(gateway, mock, {"status": 200, "body": {"inputTokens": 7}})
    counted = client.messages.count_tokens(
        model="us.anthropic.claude-sonnet-4-5-20250929-v1:0", thinking={"type": "enabled", "budget_tokens": 2048},
        messages=[{"role": "user", "content": "hi"}])
    assert counted.input_tokens == 7
    sent = last_upstream_request(mock)
    assert sent["uri"] == "/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/count-tokens"
    body = invoke_body(sent)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048} and body["max_tokens"] == 2048 + 1024


def test_count_tokens_refusals_and_errors_are_anthropic_shaped(gateway, mock):
    client = client_for(gateway, mock, {"status": 200, "body": {"inputTokens": 1}})
    # Not a Claude model: a 400 naming it, nothing sent.
    with pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.count_tokens(model="amazon.nova-lite-v1:0", messages=[{"role": "user", "content": "x"}])
    assert "amazon.nova-lite-v1:0" in raised.value.body["error"]["message"]
    assert raised.value.body["error"]["type"] == "invalid_request_error"
    # Bedrock's own refusal comes back in Anthropic's shape.
    failing = client_for(gateway, mock, {"status": 400, "headers": {"x-amzn-ErrorType": "ValidationException"},
                                         "body": {"message": "The provided model doesn't support counting tokens."}})
    with pytest.raises(anthropic.BadRequestError) as raised:
        failing.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert "doesn't support counting tokens" in str(raised.value)
    # A 2xx without a count is the upstream's fault, not a made-up number.
    empty = client_for(gateway, mock, {"status": 200, "body": {}})
    with pytest.raises(anthropic.APIStatusError) as raised:
        empty.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert raised.value.status_code == 502
