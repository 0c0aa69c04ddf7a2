"""POST /v1/messages with the official anthropic SDK: native for the anthropic provider, translated
to and from chat completions for every other provider (OpenAI-compatible and translating ones)."""
import json

import anthropic
import pytest

from http_helpers import last_upstream_request, store_fixture, chat_chunk


def sdk(gateway, mock, provider, base_path="/v1", fixture=None, key="sk-client"):
    headers = {"x-portkey-provider": provider, "x-portkey-custom-host": mock.url + base_path}
    if fixture is not None:
        headers.update({"x-portkey-forward-headers": "x-mock-fixture", "x-mock-fixture": store_fixture(mock, fixture)})
    return anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0, default_headers=headers)


HI = [{"role": "user", "content": "Say this is a test."}]


def test_native_anthropic_passes_through(gateway, mock):
    client = sdk(gateway, mock, "anthropic")
    message = client.messages.create(model="claude-test-model", max_tokens=50, messages=HI)
    assert message.type == "message" and message.stop_reason == "end_turn"
    assert message.content[0].text == "This is a test."
    with client.messages.stream(model="claude-test-model", max_tokens=50, messages=HI) as stream:
        text = "".join(stream.text_stream)
    assert text == "This is a test."


def test_openai_provider_non_streaming(gateway, mock):
    message = sdk(gateway, mock, "openai").messages.create(
        model="gpt-4o", max_tokens=50, system="Be brief.", messages=HI)
    assert message.type == "message" and message.role == "assistant"
    assert message.id.startswith("msg_")
    assert [b.type for b in message.content] == ["text"] and message.content[0].text == "This is a test."
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0


def test_openai_provider_streaming_event_sequence(gateway, mock):
    client = sdk(gateway, mock, "openai")
    with client.messages.stream(model="gpt-4o", max_tokens=50, messages=HI) as stream:
        events = list(stream)
        final = stream.get_final_message()
    kinds = [e.type for e in events if e.type in (
        "message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop")]
    assert kinds.count("message_start") == 1 and kinds[0] == "message_start"
    assert kinds[-2:] == ["message_delta", "message_stop"]
    assert kinds.count("content_block_start") == kinds.count("content_block_stop") == 1
    assert final.content[0].text == "This is a test."
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0
    # The gateway asked the upstream for usage, so message_delta can carry the token counts.
    assert last_upstream_request(mock) is not None


def test_request_translation_to_chat(gateway, mock):
    completion = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
                  "choices": [{"index": 0, "message": {"role": "assistant", "content": "done"}, "finish_reason": "stop"}],
                  "usage": {"prompt_tokens": 50, "completion_tokens": 2, "total_tokens": 52,
                            "prompt_tokens_details": {"cached_tokens": 30}}}
    message = sdk(gateway, mock, "openai", fixture={"status": 200, "body": completion}).messages.create(
        model="gpt-4o", max_tokens=99, extra_body={"temperature": 0.5}, stop_sequences=["END"], metadata={"user_id": "u-1"},
        system=[{"type": "text", "text": "Be brief."}],
        tools=[{"name": "get_weather", "description": "Weather", "input_schema": {
            "type": "object", "properties": {"city": {"type": "string"}}}}],
        tool_choice={"type": "any", "disable_parallel_tool_use": True},
        messages=[
            {"role": "user", "content": [{"type": "text", "text": "Weather?"},
                                         {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                                         {"type": "text", "text": "And tomorrow?"}]}])
    assert message.content[0].text == "done"
    assert (message.usage.input_tokens, message.usage.output_tokens, message.usage.cache_read_input_tokens) == (20, 2, 30)
    sent = last_upstream_request(mock)
    assert sent["uri"] == "/v1/chat/completions"
    assert sent["headers"]["authorization"] == "Bearer sk-client"
    assert "x-api-key" not in sent["headers"]
    assert sent["body"] == {
        "model": "gpt-4o", "max_tokens": 99, "temperature": 0.5, "stop": ["END"], "user": "u-1",
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {
            "type": "object", "properties": {"city": {"type": "string"}}}}}],
        "tool_choice": "required", "parallel_tool_calls": False,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Weather?"},
                                         {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}}]},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"},
            {"role": "user", "content": [{"type": "text", "text": "And tomorrow?"}]}]}


def chunk(delta, finish=None, usage=None):
    return chat_chunk(delta, finish, usage, model="gpt-4o")


def test_streamed_tool_calls_become_tool_use_blocks(gateway, mock):
    events = [chunk({"role": "assistant", "content": ""}), chunk({"content": "Checking."}),
              chunk({"tool_calls": [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
              chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
              chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
              chunk({"tool_calls": [{"index": 1, "id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]}),
              chunk({}, finish="tool_calls"), chunk(None, usage={"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21}),
              {"data": "[DONE]"}]
    client = sdk(gateway, mock, "openai", fixture={"status": 200, "events": events})
    with client.messages.stream(model="gpt-4o", max_tokens=50, messages=HI) as stream:
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["text", "tool_use", "tool_use"]
    assert final.content[0].text == "Checking."
    assert (final.content[1].id, final.content[1].name, final.content[1].input) == ("call_a", "get_weather", {"city": "Paris"})
    assert (final.content[2].name, final.content[2].input) == ("get_time", {})
    assert final.stop_reason == "tool_use"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (12, 9)


def test_messages_through_a_translating_provider(gateway, mock):
    gemini = {"status": 200, "body": {"candidates": [{"content": {"role": "model", "parts": [
        {"text": "Bonjour."}, {"functionCall": {"name": "lookup", "args": {"q": "x"}}}]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 3, "totalTokenCount": 10}, "modelVersion": "gemini-2.5-flash"}}
    message = sdk(gateway, mock, "google", base_path="/v1beta", fixture=gemini).messages.create(
        model="gemini-2.5-flash", max_tokens=20, messages=HI)
    assert [b.type for b in message.content] == ["text", "tool_use"]
    assert message.content[0].text == "Bonjour." and message.content[1].input == {"q": "x"}
    assert message.stop_reason == "tool_use" and message.usage.output_tokens == 3
    assert last_upstream_request(mock)["uri"] == "/v1beta/models/gemini-2.5-flash:generateContent"


def test_error_mid_stream_and_cut_stream_raise(gateway, mock):
    for events, text in [([chunk({"content": "par"}), {"data": {"error": {"message": "provider exploded", "type": "server_error"}}}],
                          "provider exploded"),
                         ([chunk({"content": "par"})], "ended before it finished")]:
        client = sdk(gateway, mock, "openai", fixture={"status": 200, "events": events})
        with pytest.raises(anthropic.APIError) as raised:
            with client.messages.stream(model="gpt-4o", max_tokens=50, messages=HI) as stream:
                for _ in stream:
                    pass
        assert text in str(raised.value)


def test_bad_requests_are_refused(gateway, mock):
    client = sdk(gateway, mock, "openai")
    with pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.create(model="gpt-4o", max_tokens=10, messages=[
            {"role": "user", "content": [{"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "x"}}]}])
    assert "document" in str(raised.value)
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(model="gpt-4o", max_tokens=10, messages=HI,
                               tools=[{"type": "web_search_20250305", "name": "web_search"}])


def test_errors_come_back_in_anthropic_shape(gateway, mock):
    # The gateway's own error (unknown provider) ...
    with pytest.raises(anthropic.BadRequestError) as raised:
        sdk(gateway, mock, "no-such-provider").messages.create(model="m", max_tokens=5, messages=HI)
    assert raised.value.body["type"] == "error"
    assert raised.value.body["error"]["type"] == "invalid_request_error"
    assert "unknown provider" in raised.value.body["error"]["message"]
    # ... an OpenAI-compatible upstream's 429, translated ...
    with pytest.raises(anthropic.RateLimitError) as raised:
        sdk(gateway, mock, "openai").messages.create(model="m", max_tokens=5, messages=HI,
                                                     extra_headers={"x-portkey-forward-headers": "x-mock-status", "x-mock-status": "429"})
    assert raised.value.body["error"]["type"] == "rate_limit_error"
    # ... and Anthropic's own 529 passed through as Anthropic wrote it.
    with pytest.raises(anthropic.APIStatusError) as raised:
        sdk(gateway, mock, "anthropic").messages.create(model="m", max_tokens=5, messages=HI,
                                                        extra_headers={"x-portkey-forward-headers": "x-mock-status", "x-mock-status": "529"})
    assert raised.value.status_code == 529
    assert raised.value.body["error"]["type"] == "overloaded_error"


def vertex_sdk(gateway, mock, fixture):
    return anthropic.Anthropic(base_url=gateway.url, api_key="ya29.token", max_retries=0, default_headers={
        "x-portkey-provider": "vertex-ai", "x-portkey-custom-host": mock.url + "/v1",
        "x-portkey-vertex-project-id": "p1", "x-portkey-vertex-region": "us-east5",
        "x-portkey-forward-headers": "x-mock-fixture", "x-mock-fixture": store_fixture(mock, fixture)})


CLAUDE_MESSAGE = {"id": "msg_vx", "type": "message", "role": "assistant", "model": "claude-test-4",
                  "content": [{"type": "text", "text": "Native Claude."}], "stop_reason": "end_turn", "stop_sequence": None,
                  "usage": {"input_tokens": 4, "output_tokens": 3}}


def test_claude_on_vertex_takes_messages_as_is(gateway, mock):
    message = vertex_sdk(gateway, mock, {"status": 200, "body": CLAUDE_MESSAGE}).messages.create(
        model="claude-test-4", max_tokens=30, messages=HI,
        extra_body={"thinking": {"type": "enabled", "budget_tokens": 1024}})
    assert message.content[0].text == "Native Claude."
    sent = last_upstream_request(mock)
    assert sent["uri"] == "/v1/projects/p1/locations/us-east5/publishers/anthropic/models/claude-test-4:rawPredict"
    # Anthropic-only fields survive, because nothing was translated.
    assert sent["body"]["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert sent["body"]["anthropic_version"] == "vertex-2023-10-16" and "model" not in sent["body"]


def test_gemini_on_vertex_through_messages_is_translated(gateway, mock):
    gemini = {"status": 200, "body": {"candidates": [{"content": {"role": "model", "parts": [{"text": "Gemini here."}]},
                                                      "finishReason": "STOP"}]}}
    message = vertex_sdk(gateway, mock, gemini).messages.create(model="gemini-2.5-flash", max_tokens=30, messages=HI)
    assert message.content[0].text == "Gemini here." and message.stop_reason == "end_turn"
    assert last_upstream_request(mock)["uri"].endswith("/publishers/google/models/gemini-2.5-flash:generateContent")


def bedrock_sdk(gateway, mock, fixture):
    return anthropic.Anthropic(base_url=gateway.url, api_key="unused", max_retries=0, default_headers={
        "x-portkey-provider": "bedrock", "x-portkey-custom-host": mock.url,
        "x-portkey-aws-access-key-id": "AK", "x-portkey-aws-secret-access-key": "SK",
        "x-portkey-forward-headers": "x-mock-fixture", "x-mock-fixture": store_fixture(mock, fixture)})


def test_claude_on_bedrock_uses_invoke_model(gateway, mock):
    import base64
    message = bedrock_sdk(gateway, mock, {"status": 200, "body": CLAUDE_MESSAGE}).messages.create(
        model="anthropic.claude-3-5-sonnet-20240620-v1:0", max_tokens=30, messages=HI)
    assert message.content[0].text == "Native Claude."
    sent = last_upstream_request(mock)
    assert sent["uri"] == "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke"
    body = json.loads(base64.b64decode(sent["body_base64"]))
    assert body["anthropic_version"] == "bedrock-2023-05-31" and "model" not in body and body["max_tokens"] == 30


def test_claude_on_bedrock_streams_anthropic_events(gateway, mock):
    import base64
    from test_bedrock import frame, stream_fixture
    events = [{"type": "message_start", "message": {**CLAUDE_MESSAGE, "content": [], "stop_reason": None}},
              {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
              {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Streamed "}},
              {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "via Bedrock."}},
              {"type": "content_block_stop", "index": 0},
              {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 4}},
              {"type": "message_stop"}]
    fixture = stream_fixture(*[frame("chunk", {"bytes": base64.b64encode(json.dumps(e).encode()).decode()}) for e in events])
    client = bedrock_sdk(gateway, mock, fixture)
    with client.messages.stream(model="anthropic.claude-3-5-sonnet-20240620-v1:0", max_tokens=30, messages=HI) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Streamed via Bedrock." and final.stop_reason == "end_turn"
    assert last_upstream_request(mock)["uri"].endswith("/invoke-with-response-stream")


def test_other_bedrock_models_through_messages_use_converse(gateway, mock):
    converse = {"status": 200, "body": {"output": {"message": {"role": "assistant", "content": [{"text": "Nova says hi."}]}},
                                        "stopReason": "end_turn", "usage": {"inputTokens": 2, "outputTokens": 3, "totalTokens": 5}}}
    message = bedrock_sdk(gateway, mock, converse).messages.create(model="amazon.nova-lite-v1:0", max_tokens=30, messages=HI)
    assert message.content[0].text == "Nova says hi." and message.usage.output_tokens == 3
    assert last_upstream_request(mock)["uri"] == "/model/amazon.nova-lite-v1%3A0/converse"


def bedrock_claude_stream_events(gateway, mock, *frames):
    """The Anthropic events the gateway sends for a Claude stream on Bedrock made of `frames`."""
    from test_bedrock import stream_fixture
    from http_helpers import call
    reply = call("POST", gateway.url + "/v1/messages", headers={
        "content-type": "application/json", "x-portkey-provider": "bedrock", "x-portkey-custom-host": mock.url,
        "x-portkey-aws-access-key-id": "AK", "x-portkey-aws-secret-access-key": "SK",
        "x-portkey-forward-headers": "x-mock-fixture", "x-mock-fixture": store_fixture(mock, stream_fixture(*frames))},
        body={"model": "anthropic.claude-3-5-sonnet-20240620-v1:0", "max_tokens": 30, "messages": HI, "stream": True})
    assert reply.status == 200, reply.body
    events = []
    for block in reply.body.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields:
            events.append((fields.get("event"), json.loads(fields["data"])))
    return events


def test_claude_on_bedrock_stream_failures_are_its_last_event(gateway, mock):
    import base64
    from test_bedrock import frame

    def chunk(event):
        return frame("chunk", {"bytes": base64.b64encode(json.dumps(event).encode()).decode()})
    start = chunk({"type": "message_start", "message": {**CLAUDE_MESSAGE, "content": [], "stop_reason": None}})
    late = chunk({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": "late"}})
    # An exception mid-stream is one Anthropic error event, and nothing the upstream sends after it
    # reaches the client.
    events = bedrock_claude_stream_events(gateway, mock, start, frame(
        None, {"message": "Too many requests"}, message_type="exception", exception_type="throttlingException"), late)
    assert [name for name, _ in events] == ["message_start", "error"]
    assert events[1][1]["error"] == {"type": "rate_limit_error", "message": "Too many requests"}
    # A stream cut before message_stop ends with an error event, never quietly.
    events = bedrock_claude_stream_events(gateway, mock, start, late)
    assert [name for name, _ in events] == ["message_start", "content_block_start", "error"]
    assert "ended before message_stop" in events[2][1]["error"]["message"]
