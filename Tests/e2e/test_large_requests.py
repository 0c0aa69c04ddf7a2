"""Translating providers accept any body up to the body limit (issue 14, item 7).

A translating provider holds a request body about three times at its peak (the text, the decoded
table, the translated text). With the old fixed 64 MiB Lua memory cap, four base64 images making a
~32 MB body (under the 32 MiB body limit) failed with 500 "memory limit of 64 MiB exceeded"; the
cap's default now follows the body limit.
"""
from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request

import pytest

# Four images of 7.6 MB of base64 each: a 31.9 MB body, just under the default 32 MiB limit.
IMAGE = base64.b64encode(os.urandom(int(7.6 * 1024 * 1024 * 3 / 4))).decode()


def post(url, path, body, headers):
    request = urllib.request.Request(url + path, data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def chat_with_images(model):
    parts = [{"type": "text", "text": "describe these"}]
    parts += [{"type": "image_url", "image_url": {"url": "data:image/png;base64," + IMAGE}} for _ in range(4)]
    return {"model": model, "max_tokens": 10, "messages": [{"role": "user", "content": parts}]}


def messages_with_images(model):
    blocks = [{"type": "text", "text": "describe these"}]
    blocks += [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": IMAGE}} for _ in range(4)]
    return {"model": model, "max_tokens": 10, "messages": [{"role": "user", "content": blocks}]}


@pytest.mark.parametrize("provider,host,path,body", [
    ("anthropic", "/v1", "/v1/chat/completions", chat_with_images("claude-sonnet-4-5")),
    ("google", "/v1beta", "/v1/chat/completions", chat_with_images("gemini-2.0-flash")),
    ("google", "/v1beta", "/v1/messages", messages_with_images("gemini-2.0-flash")),
    ("groq", "/v1", "/v1/messages", messages_with_images("llama-3.3-70b")),
])
def test_a_body_just_under_the_limit_is_translated(gateway, mock, provider, host, path, body):
    assert len(json.dumps(body)) > 31_000_000
    status, answer = post(gateway.url, path, body, {
        "x-portkey-provider": provider, "authorization": "Bearer k", "x-api-key": "k",
        "x-portkey-custom-host": mock.url + host})
    assert status == 200, answer
    usage = answer["usage"]
    # The mock counts input tokens from the body it received: the images reached it whole.
    assert (usage.get("prompt_tokens") or usage.get("input_tokens")) > 7_000_000


def test_an_operator_cap_below_the_need_is_honoured_and_named(launch, mock):
    gateway = launch("--lua-memory-mb", "64")
    status, answer = post(gateway.url, "/v1/chat/completions", chat_with_images("claude-sonnet-4-5"), {
        "x-portkey-provider": "anthropic", "authorization": "Bearer k",
        "x-portkey-custom-host": mock.url + "/v1"})
    assert status == 500
    assert "memory limit of 64 MiB exceeded" in answer["error"]["message"]
