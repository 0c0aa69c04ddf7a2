"""The official openai SDK reaching an Anthropic Messages upstream through the anthropic provider.

Upstream answers are fixtures written from Anthropic's API reference (Messages: response body,
streaming events, errors); the mock replays them and records what the gateway sent.
"""
import json

import openai
import pytest

from http_helpers import last_upstream_request, store_fixture, translating_client


def store(mock, fixture):
    return store_fixture(mock, fixture)


def client_for(gateway, mock, fixture_name):
    return translating_client(gateway, mock, "anthropic", fixture_name, api_key="sk-ant-test")


def message(content, stop_reason="end_turn", usage=None):
    return {"status": 200, "body": {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
        "model": "claude-sonnet-4-5-20250929", "content": content, "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage or {"input_tokens": 12, "output_tokens": 6}}}


def sse(*events, interval_ms=0):
    return {"status": 200, "interval_ms": interval_ms,
            "events": [e if "raw" in e else {"event": e["type"], "data": e} for e in events]}


START = {"type": "message_start", "message": {
    "id": "msg_stream_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
    "content": [], "stop_reason": None, "stop_sequence": None,
    "usage": {"input_tokens": 25, "output_tokens": 1, "cache_read_input_tokens": 10}}}
STOP = {"type": "message_stop"}


def text_block(index, *pieces):
    events = [{"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}},
              {"type": "ping"}]
    events += [{"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": p}}
               for p in pieces]
    events.append({"type": "content_block_stop", "index": index})
    return events


def tool_block(index, tool_id, name, *fragments):
    events = [{"type": "content_block_start", "index": index,
               "content_block": {"type": "tool_use", "id": tool_id, "name": name, "input": {}}}]
    events += [{"type": "content_block_delta", "index": index,
                "delta": {"type": "input_json_delta", "partial_json": f}} for f in fragments]
    events.append({"type": "content_block_stop", "index": index})
    return events


def delta(stop_reason, output_tokens):
    return {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens}}


def test_text_completion_usage_and_request_shape(gateway, mock):
    name = store(mock, message([{"type": "text", "text": "Hello from Claude."}], usage={
        "input_tokens": 12, "output_tokens": 6, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 20}))
    completion = client_for(gateway, mock, name).chat.completions.create(
        model="claude-sonnet-4-5", max_completion_tokens=300, temperature=0.2, stop="END", user="user-7",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "developer", "content": "No emojis."},
                  {"role": "user", "content": "Hi"}])
    assert completion.choices[0].message.content == "Hello from Claude."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.id == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert completion.model == "claude-sonnet-4-5-20250929"
    assert completion.usage.prompt_tokens == 132
    assert completion.usage.completion_tokens == 6
    assert completion.usage.total_tokens == 138
    assert completion.usage.prompt_tokens_details.cached_tokens == 100

    sent = last_upstream_request(mock)
    assert sent["method"] == "POST" and sent["uri"] == "/v1/messages"
    assert sent["headers"]["x-api-key"] == "sk-ant-test"
    assert sent["headers"]["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent["headers"]
    assert sent["body"] == {
        "model": "claude-sonnet-4-5", "max_tokens": 300, "temperature": 0.2, "stop_sequences": ["END"],
        "system": "Be brief.\n\nNo emojis.", "metadata": {"user_id": "user-7"},
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]}


def test_default_max_tokens_images_tools_and_tool_results(gateway, mock):
    name = store(mock, message([{"type": "text", "text": "It is sunny."}]))
    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    client_for(gateway, mock, name).chat.completions.create(
        model="claude-sonnet-4-5", tools=tools, tool_choice={"type": "function", "function": {"name": "get_weather"}},
        parallel_tool_calls=False,
        messages=[
            {"role": "user", "content": [
                {"type": "text", "text": "Weather in both?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "image_url", "image_url": {"url": "https://example.com/map.jpg"}}]},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
                {"id": "toolu_2", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"},
            {"role": "tool", "tool_call_id": "toolu_2", "content": "snow"},
        ])
    body = last_upstream_request(mock)["body"]
    assert body["max_tokens"] == 4096
    assert body["tools"] == [{"name": "get_weather", "description": "Weather for a city", "input_schema": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]
    assert body["tool_choice"] == {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True}
    user, assistant, results = body["messages"]
    assert user["content"][1] == {"type": "image", "source": {
        "type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    assert user["content"][2] == {"type": "image", "source": {"type": "url", "url": "https://example.com/map.jpg"}}
    assert assistant == {"role": "assistant", "content": [
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Oslo"}}]}
    # Both results of the turn arrive together in one user message, as Anthropic requires.
    assert results == {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
        {"type": "tool_result", "tool_use_id": "toolu_2", "content": "snow"}]}


@pytest.mark.parametrize("choice,expected", [("auto", {"type": "auto"}), ("none", {"type": "none"}),
                                              ("required", {"type": "any"})])
def test_tool_choice_modes(gateway, mock, choice, expected):
    name = store(mock, message([{"type": "text", "text": "ok"}]))
    client_for(gateway, mock, name).chat.completions.create(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "x"}], tool_choice=choice,
        tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}])
    assert last_upstream_request(mock)["body"]["tool_choice"] == expected


def test_tool_use_response(gateway, mock):
    name = store(mock, message([
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris", "days": 2}},
        {"type": "tool_use", "id": "toolu_01B", "name": "get_time", "input": {}}], stop_reason="tool_use"))
    completion = client_for(gateway, mock, name).chat.completions.create(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "Weather?"}])
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Checking."
    calls = choice.message.tool_calls
    assert [(c.id, c.type, c.function.name) for c in calls] == [
        ("toolu_01A", "function", "get_weather"), ("toolu_01B", "function", "get_time")]
    assert json.loads(calls[0].function.arguments) == {"city": "Paris", "days": 2}
    assert json.loads(calls[1].function.arguments) == {}


@pytest.mark.parametrize("stop_reason,finish", [("end_turn", "stop"), ("stop_sequence", "stop"),
                                                ("max_tokens", "length"), ("tool_use", "tool_calls"),
                                                ("refusal", "content_filter")])
def test_every_stop_reason(gateway, mock, stop_reason, finish):
    name = store(mock, message([{"type": "text", "text": "x"}], stop_reason=stop_reason))
    completion = client_for(gateway, mock, name).chat.completions.create(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "x"}])
    assert completion.choices[0].finish_reason == finish


def test_stream_text_with_usage(gateway, mock):
    name = store(mock, sse(START, *text_block(0, "Hello", ", ", "world."), delta("end_turn", 7), STOP,
                           interval_ms=2))
    stream = client_for(gateway, mock, name).chat.completions.create(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "Hi"}], stream=True,
        stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello, world."
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == []
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (35, 7)
    assert chunks[-1].usage.prompt_tokens_details.cached_tokens == 10
    assert all(c.id == "msg_stream_1" for c in chunks)
    assert last_upstream_request(mock)["body"]["stream"] is True


def test_stream_several_tool_calls(gateway, mock):
    name = store(mock, sse(
        START, *text_block(0, "Let me check."),
        *tool_block(1, "toolu_A", "get_weather", '{"ci', 'ty": "Par', 'is"}'),
        *tool_block(2, "toolu_B", "get_weather", '{"city"', ': "Oslo"}'),
        delta("tool_use", 40), STOP))
    stream = client_for(gateway, mock, name).chat.completions.create(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "Weather?"}], stream=True)
    calls = {}
    text = ""
    finish = None
    for chunk in stream:
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        text += choice.delta.content or ""
        finish = choice.finish_reason or finish
        for call_delta in choice.delta.tool_calls or []:
            entry = calls.setdefault(call_delta.index, {"id": None, "name": None, "arguments": ""})
            if call_delta.id:
                entry["id"] = call_delta.id
            if call_delta.function and call_delta.function.name:
                entry["name"] = call_delta.function.name
            if call_delta.function and call_delta.function.arguments:
                entry["arguments"] += call_delta.function.arguments
    assert text == "Let me check."
    assert finish == "tool_calls"
    assert sorted(calls) == [0, 1]
    assert (calls[0]["id"], calls[0]["name"], json.loads(calls[0]["arguments"])) == ("toolu_A", "get_weather", {"city": "Paris"})
    assert (calls[1]["id"], calls[1]["name"], json.loads(calls[1]["arguments"])) == ("toolu_B", "get_weather", {"city": "Oslo"})


def collect_until_error(gateway, mock, fixture):
    name = store(mock, fixture)
    stream = client_for(gateway, mock, name).chat.completions.create(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "Hi"}], stream=True)
    text = ""
    with pytest.raises(openai.APIError) as raised:
        for chunk in stream:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
    return text, raised.value


def test_error_event_mid_stream(gateway, mock):
    text, error = collect_until_error(gateway, mock, sse(
        START, *text_block(0, "Partial"),
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
    assert text == "Partial"
    assert "Overloaded" in str(error)


def test_truncated_stream_is_an_error_not_a_silent_end(gateway, mock):
    text, error = collect_until_error(gateway, mock, sse(START, *text_block(0, "Half an ans")))
    assert text == "Half an ans"
    assert "ended before message_stop" in str(error)


def test_malformed_event_is_an_error(gateway, mock):
    text, error = collect_until_error(gateway, mock, sse(
        START, {"raw": "event: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"ind\n\n"}))
    assert "not JSON" in str(error)


def test_unknown_event_types_are_ignored(gateway, mock):
    name = store(mock, sse(START, {"type": "future_event", "detail": 1}, *text_block(0, "ok"),
                           delta("end_turn", 1), STOP))
    stream = client_for(gateway, mock, name).chat.completions.create(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "Hi"}], stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "ok"


@pytest.mark.parametrize("status,kind", [(529, "overloaded_error"), (429, "rate_limit_error"),
                                         (400, "invalid_request_error")])
def test_upstream_errors_keep_status_and_message(gateway, mock, status, kind):
    name = store(mock, {"status": status, "body": {
        "type": "error", "error": {"type": kind, "message": f"upstream says {kind}"}}})
    with pytest.raises(openai.APIStatusError) as raised:
        client_for(gateway, mock, name).chat.completions.create(
            model="claude-sonnet-4-5", messages=[{"role": "user", "content": "Hi"}])
    assert raised.value.status_code == status
    assert f"upstream says {kind}" in raised.value.message


def test_unsupported_parameters_are_refused_before_going_upstream(gateway, mock):
    name = store(mock, message([{"type": "text", "text": "never"}]))
    client = client_for(gateway, mock, name)
    for extra, param in [({"n": 2}, "n"), ({"logprobs": True}, "logprobs"), ({"modalities": ["text", "audio"]}, "modalities"),
                         ({"response_format": {"type": "json_object"}}, "response_format")]:
        with pytest.raises(openai.BadRequestError) as raised:
            client.chat.completions.create(model="claude-sonnet-4-5", messages=[{"role": "user", "content": "x"}],
                                           **extra)
        assert raised.value.body["param"] == param
        assert raised.value.body["code"] == "unsupported_parameter"


def test_a_2xx_that_is_not_a_message_is_a_502(gateway, mock):
    name = store(mock, {"status": 200, "body": {"unexpected": True}})
    with pytest.raises(openai.APIStatusError) as raised:
        client_for(gateway, mock, name).chat.completions.create(
            model="claude-sonnet-4-5", messages=[{"role": "user", "content": "x"}])
    assert raised.value.status_code == 502
    assert "not a message" in raised.value.message
