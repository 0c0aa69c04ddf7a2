"""Image URLs for providers that need inline bytes (Gemini, Bedrock): fetched by the gateway,
only from public hosts unless an operator allows one, within a size limit."""
import base64
import json

import openai
import pytest

from http_helpers import call, last_upstream_request, store_fixture

PNG = "\x89PNG fake image bytes"


def image_url(mock, content_type="image/png", text=PNG):
    name = store_fixture(mock, {"status": 200, "headers": {"content-type": content_type}, "text": text})
    return f"{mock.url}/mock/fixtures/{name}"


def gemini(gateway, mock):
    answer = store_fixture(mock, {"status": 200, "body": {"candidates": [{"content": {"role": "model", "parts": [{"text": "A cat."}]},
                                                                          "finishReason": "STOP"}]}})
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key="gk", max_retries=0, default_headers={
        "x-portkey-provider": "google", "x-portkey-custom-host": mock.url + "/v1beta",
        "x-portkey-forward-headers": "x-mock-fixture", "x-mock-fixture": answer})


def ask(client, *urls):
    content = [{"type": "text", "text": "What is this?"}] + [{"type": "image_url", "image_url": {"url": u}} for u in urls]
    return client.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": content}])


def test_fetched_and_inlined_for_an_allowed_host(launch, mock):
    gateway = launch("--allow-host", "127.0.0.1")
    first, second = image_url(mock), image_url(mock, "image/jpeg", "jpeg bytes")
    assert ask(gemini(gateway, mock), first, second, first).choices[0].message.content == "A cat."
    parts = last_upstream_request(mock)["body"]["contents"][0]["parts"]
    expected = base64.b64encode(PNG.encode("utf-8")).decode()
    assert parts[1] == {"inline_data": {"mime_type": "image/png", "data": expected}}
    assert parts[2] == {"inline_data": {"mime_type": "image/jpeg", "data": base64.b64encode(b"jpeg bytes").decode()}}
    assert parts[3] == parts[1]


def test_loopback_and_private_hosts_are_refused_by_default(gateway, mock):
    for url in [image_url(mock), "http://10.0.0.1/cat.png", "http://169.254.169.254/latest/meta-data"]:
        with pytest.raises(openai.BadRequestError) as raised:
            ask(gemini(gateway, mock), url)
        assert "is not public" in raised.value.message
        assert raised.value.body["code"] == "image_fetch_failed"


def test_size_limit_and_content_type(launch, mock):
    gateway = launch("--allow-host", "127.0.0.1", "--max-image-size", "64")
    with pytest.raises(openai.BadRequestError) as raised:
        ask(gemini(gateway, mock), image_url(mock, text="x" * 65))
    assert "larger than 64 bytes" in raised.value.message
    gateway = launch("--allow-host", "127.0.0.1")
    with pytest.raises(openai.BadRequestError) as raised:
        ask(gemini(gateway, mock), image_url(mock, content_type="text/html", text="<html>"))
    assert "is not an image" in raised.value.message
    with pytest.raises(openai.BadRequestError) as raised:
        ask(gemini(gateway, mock), f"{mock.url}/mock/fixtures/does-not-exist")
    assert "answered HTTP 400" in raised.value.message


def test_bedrock_gets_fetched_bytes_too(launch, mock):
    gateway = launch("--allow-host", "127.0.0.1")
    answer = store_fixture(mock, {"status": 200, "body": {"output": {"message": {"role": "assistant", "content": [{"text": "ok"}]}},
                                                          "stopReason": "end_turn"}})
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0, default_headers={
        "x-portkey-provider": "bedrock", "x-portkey-custom-host": mock.url, "x-portkey-forward-headers": "x-mock-fixture",
        "x-mock-fixture": answer, "x-portkey-aws-access-key-id": "AK", "x-portkey-aws-secret-access-key": "SK"})
    client.chat.completions.create(model="amazon.nova-lite-v1:0", messages=[{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": image_url(mock, "image/webp", "webp!")}}]}])
    body = json.loads(base64.b64decode(last_upstream_request(mock)["body_base64"]))
    assert body["messages"][0]["content"] == [{"image": {"format": "webp", "source": {"bytes": base64.b64encode(b"webp!").decode()}}}]
