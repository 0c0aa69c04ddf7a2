"""Vertex AI: Gemini (generateContent) and Claude (rawPredict) through one provider, with the openai SDK."""
import json

import openai
import pytest

from http_helpers import last_upstream_request, store_fixture


def client_for(gateway, mock, fixture, project="proj-1", region="europe-west4"):
    headers = {"x-portkey-provider": "vertex-ai", "x-portkey-custom-host": mock.url + "/v1",
               "x-portkey-forward-headers": "x-mock-fixture", "x-mock-fixture": store_fixture(mock, fixture)}
    if project:
        headers["x-portkey-vertex-project-id"] = project
    if region:
        headers["x-portkey-vertex-region"] = region
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key="ya29.token", max_retries=0, default_headers=headers)


def test_gemini_on_vertex(gateway, mock):
    fixture = {"status": 200, "body": {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hi from Vertex."}]},
                                                       "finishReason": "STOP"}],
                                       "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 4, "totalTokenCount": 7}}}
    completion = client_for(gateway, mock, fixture).chat.completions.create(
        model="gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content == "Hi from Vertex."
    assert completion.usage.total_tokens == 7
    sent = last_upstream_request(mock)
    assert sent["uri"] == "/v1/projects/proj-1/locations/europe-west4/publishers/google/models/gemini-2.5-flash:generateContent"
    assert sent["headers"]["authorization"] == "Bearer ya29.token"
    assert sent["body"]["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]


def test_claude_on_vertex_streaming(gateway, mock):
    events = [{"type": "message_start", "message": {"id": "msg_v", "model": "claude-sonnet-4-5", "usage": {"input_tokens": 5}}},
              {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
              {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Vertex "}},
              {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Claude"}},
              {"type": "content_block_stop", "index": 0},
              {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}},
              {"type": "message_stop"}]
    fixture = {"status": 200, "events": [{"event": e["type"], "data": e} for e in events]}
    stream = client_for(gateway, mock, fixture, region="us-east5").chat.completions.create(
        model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": "hi"}], stream=True)
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Vertex Claude"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    sent = last_upstream_request(mock)
    assert sent["uri"] == "/v1/projects/proj-1/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5:streamRawPredict"
    assert sent["body"]["anthropic_version"] == "vertex-2023-10-16"
    assert "model" not in sent["body"] and sent["body"]["max_tokens"] == 100 and sent["body"]["stream"] is True


def test_claude_on_vertex_tool_use(gateway, mock):
    fixture = {"status": 200, "body": {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                                       "content": [{"type": "tool_use", "id": "toolu_v", "name": "f", "input": {"a": 1}}],
                                       "stop_reason": "tool_use", "usage": {"input_tokens": 1, "output_tokens": 1}}}
    completion = client_for(gateway, mock, fixture).chat.completions.create(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "hi"}],
        tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}])
    call = completion.choices[0].message.tool_calls[0]
    assert (call.id, call.function.name, json.loads(call.function.arguments)) == ("toolu_v", "f", {"a": 1})
    assert last_upstream_request(mock)["uri"].endswith("/publishers/anthropic/models/claude-sonnet-4-5:rawPredict")


@pytest.mark.parametrize("project,region,param", [(None, "us-central1", "x-portkey-vertex-project-id"),
                                                  ("proj/../x", "us-central1", None), ("p", "us central", None)])
def test_settings_are_checked(gateway, mock, project, region, param):
    client = client_for(gateway, mock, {"status": 200, "body": {}}, project=project, region=region)
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}])
    assert "vertex" in raised.value.message
    if param:
        assert raised.value.body["param"] == param
