"""POST /v1/responses (OpenAI's Responses API) with the official openai SDK: native for openai and
azure-openai, translated to and from chat completions (lib/responses_to_chat.lua) for every other
provider — OpenAI-compatible ones and translating ones (anthropic, google) alike."""
import json

import openai
import pytest
from pydantic import BaseModel

from http_helpers import call, last_upstream_request, store_fixture, chat_chunk

BASE_PATHS = {"google": "/v1beta", "azure-openai": "/openai"}


def sdk(gateway, mock, provider, fixture=None, forward=None, key="sk-client"):
    headers = {"x-portkey-provider": provider, "x-portkey-custom-host": mock.url + BASE_PATHS.get(provider, "/v1")}
    forward = {"x-mock-record": "true", **(forward or {})}  # the mock keeps the request for last_upstream_request
    if fixture is not None:
        forward["x-mock-fixture"] = store_fixture(mock, fixture)
    if forward:
        headers["x-portkey-forward-headers"] = ",".join(forward)
        headers.update(forward)
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0, default_headers=headers)


def events_of(stream):
    return [event for event in stream]


def check_sequence(events):
    """Every event numbered, from 0, one by one; the lifecycle in OpenAI's order."""
    numbers = [e.sequence_number for e in events]
    assert numbers == list(range(len(numbers))), numbers
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"], kinds
    return kinds


TEXT_EVENTS = ["response.created", "response.in_progress", "response.output_item.added",
               "response.content_part.added", "response.output_text.delta", "response.output_text.done",
               "response.content_part.done", "response.output_item.done", "response.completed"]


def collapse(kinds):
    """Event kinds with runs of deltas collapsed to one."""
    out = []
    for kind in kinds:
        if not (out and out[-1] == kind and kind.endswith(".delta")):
            out.append(kind)
    return out


# MARK: native


def test_openai_serves_responses_natively(gateway, mock):
    client = sdk(gateway, mock, "openai")
    response = client.responses.create(model="gpt-4o", input="Say this is a test.", instructions="Be brief.")
    assert response.id.startswith("resp_mock_")  # the mock's own answer, relayed
    assert response.output_text == "This is a test." and response.status == "completed"
    sent = last_upstream_request(mock)
    assert sent["uri"] == "/v1/responses"
    assert sent["body"] == {"model": "gpt-4o", "input": "Say this is a test.", "instructions": "Be brief."}


def test_openai_native_stream_completes(gateway, mock):
    # response.completed carries the whole response (far longer than the bytes the gateway keeps
    # from a stream's end): the gateway still sees that the stream ended complete.
    client = sdk(gateway, mock, "openai")
    with client.responses.stream(model="gpt-4o", input=[{"role": "user", "content": "hi"}],
                                 extra_body={"mock": {"content": "word " * 300}}) as stream:
        events = events_of(stream)
        final = stream.get_final_response()
    assert collapse(check_sequence(events)) == TEXT_EVENTS
    assert final.output_text == "word " * 300


def test_openai_native_cut_stream_raises(gateway, mock):
    client = sdk(gateway, mock, "openai")
    stream = client.responses.create(model="gpt-4o", input="hi", stream=True, extra_body={"mock": {"drop_last": 1}})
    with pytest.raises(openai.APIError) as raised:
        kinds = [event.type for event in stream]
    assert "response.completed" in str(raised.value)  # "… ended the stream without the response.completed event"


def test_azure_responses_use_the_v1_api(gateway, mock):
    # The mock serves no /openai/... path (a 404 comes back); what matters is where the request went.
    headers = {"x-portkey-provider": "azure-openai", "x-portkey-custom-host": mock.url + "/openai",
               "x-portkey-azure-resource-name": "res", "Authorization": "Bearer sk-client",
               "Content-Type": "application/json", "x-portkey-forward-headers": "x-mock-record", "x-mock-record": "true"}
    body = {"model": "my-deployment", "input": "hi"}
    call("POST", gateway.url + "/v1/responses", headers=headers, body=body)
    sent = last_upstream_request(mock)
    assert sent["uri"] == "/openai/v1/responses" and sent["headers"]["api-key"] == "sk-client"
    assert sent["body"] == body
    # A client that names an api-version gets Azure's dated surface, as before.
    call("POST", gateway.url + "/v1/responses", headers={**headers, "x-portkey-azure-api-version": "2025-04-01-preview"}, body=body)
    assert last_upstream_request(mock)["uri"] == "/openai/responses?api-version=2025-04-01-preview"
    # The stored-response paths follow the same rule.
    call("GET", gateway.url + "/v1/responses/resp_1", headers=headers)
    assert last_upstream_request(mock)["uri"] == "/openai/v1/responses/resp_1"


# MARK: translated


@pytest.mark.parametrize("provider", ["anthropic", "google", "deepseek"])
def test_translated_create(gateway, mock, provider):
    response = sdk(gateway, mock, provider).responses.create(
        model="claude-test" if provider == "anthropic" else "gemini-2.5-flash" if provider == "google" else "deepseek-chat",
        input="Say this is a test.", instructions="Be brief.", max_output_tokens=50)
    assert response.object == "response" and response.id.startswith("resp_")
    assert response.status == "completed"
    assert [item.type for item in response.output] == ["message"]
    assert response.output[0].content[0].type == "output_text"
    assert response.output_text == "This is a test."
    assert response.instructions == "Be brief." and response.max_output_tokens == 50
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
    sent = last_upstream_request(mock)
    if provider == "anthropic":
        assert sent["uri"] == "/v1/messages"
        assert sent["body"]["system"] == "Be brief." and sent["body"]["max_tokens"] == 50
        assert sent["body"]["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Say this is a test."}]}]
    elif provider == "google":
        assert sent["uri"] == "/v1beta/models/gemini-2.5-flash:generateContent"
        assert sent["body"]["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    else:
        assert sent["uri"] == "/v1/chat/completions"
        assert sent["body"] == {"model": "deepseek-chat", "max_tokens": 50, "messages": [
            {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say this is a test."}]}


@pytest.mark.parametrize("provider", ["anthropic", "google", "deepseek"])
def test_translated_stream_event_sequence(gateway, mock, provider):
    client = sdk(gateway, mock, provider)
    model = "claude-test" if provider == "anthropic" else "gemini-2.5-flash" if provider == "google" else "deepseek-chat"
    with client.responses.stream(model=model, input=[{"role": "user", "content": "hi"}]) as stream:
        events = events_of(stream)
        final = stream.get_final_response()
    assert collapse(check_sequence(events)) == TEXT_EVENTS
    assert final.output_text == "This is a test." and final.status == "completed"
    assert final.usage.output_tokens > 0
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert "".join(deltas) == "This is a test."
    # Every event names the same response; item ids are consistent.
    assert len({e.response.id for e in events if hasattr(e, "response")}) == 1
    sent = last_upstream_request(mock)
    assert sent["uri"] == {"anthropic": "/v1/messages", "google": "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                           "deepseek": "/v1/chat/completions"}[provider]
    # The provider was asked for usage, so response.completed carries it.
    if provider == "deepseek":
        assert sent["body"]["stream_options"] == {"include_usage": True}
    # create(stream=True) gives the same events to a plain iterator.
    kinds = [e.type for e in client.responses.create(model=model, input="hi", stream=True)]
    assert collapse(kinds) == TEXT_EVENTS


@pytest.mark.parametrize("provider,model,fixture,uri", [
    ("bedrock", "amazon.nova-lite-v1:0", {"status": 200, "body": {
        "output": {"message": {"role": "assistant", "content": [{"text": "Hi!"}]}}, "stopReason": "end_turn",
        "usage": {"inputTokens": 8, "outputTokens": 2, "totalTokens": 10}}}, "/model/amazon.nova-lite-v1%3A0/converse"),
    ("cohere", "command-a-03-2025", {"status": 200, "body": {
        "id": "c1", "finish_reason": "COMPLETE", "message": {"role": "assistant", "content": [{"type": "text", "text": "Hi!"}]},
        "usage": {"tokens": {"input_tokens": 8, "output_tokens": 2}}}}, "/v2/chat"),
])
def test_translated_through_bedrock_and_cohere(gateway, mock, provider, model, fixture, uri):
    headers = {"x-portkey-provider": provider, "x-portkey-custom-host": mock.url + ("/v2" if provider == "cohere" else ""),
               "x-portkey-aws-access-key-id": "AK", "x-portkey-aws-secret-access-key": "SK",
               "x-portkey-forward-headers": "x-mock-fixture", "x-mock-fixture": store_fixture(mock, fixture)}
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="co-key", max_retries=0, default_headers=headers)
    response = client.responses.create(model=model, input="Say hi.", instructions="Be brief.")
    assert response.output_text == "Hi!" and response.status == "completed"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (8, 2)
    assert last_upstream_request(mock)["uri"] == uri


def test_request_mapping_to_chat(gateway, mock):
    completion = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "deepseek-chat",
                  "choices": [{"index": 0, "message": {"role": "assistant", "content": "done"}, "finish_reason": "length"}],
                  "usage": {"prompt_tokens": 50, "completion_tokens": 2, "total_tokens": 52,
                            "prompt_tokens_details": {"cached_tokens": 30},
                            "completion_tokens_details": {"reasoning_tokens": 1}}}
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False}
    response = sdk(gateway, mock, "deepseek", fixture={"status": 200, "body": completion}).responses.create(
        model="deepseek-chat", instructions="Be brief.", max_output_tokens=99, temperature=0.5, top_p=0.9,
        user="u-1", metadata={"trace": "t1"}, store=False, parallel_tool_calls=False,
        reasoning={"effort": "low", "summary": "auto"}, include=["reasoning.encrypted_content"], prompt_cache_key="k",
        text={"format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": True}},
        tools=[{"type": "function", "name": "get_weather", "description": "Weather", "parameters": schema, "strict": True}],
        tool_choice={"type": "function", "name": "get_weather"},
        input=[
            {"role": "developer", "content": "Use metric units."},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "Weather?"},
                {"type": "input_image", "image_url": "data:image/png;base64,iVBOR", "detail": "low"}]},
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "opaque"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Checking.", "annotations": []}]},
            {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city":"Paris"}'},
            {"type": "function_call", "call_id": "call_2", "name": "get_weather", "arguments": '{"city":"Rome"}'},
            {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
            {"type": "function_call_output", "call_id": "call_2", "output": "rain"},
            {"role": "user", "content": "And tomorrow?"}])
    assert response.output_text == "done"
    assert response.status == "incomplete" and response.incomplete_details.reason == "max_output_tokens"
    assert response.usage.input_tokens == 50 and response.usage.input_tokens_details.cached_tokens == 30
    assert response.usage.output_tokens_details.reasoning_tokens == 1
    assert response.metadata == {"trace": "t1"} and response.temperature == 0.5
    sent = last_upstream_request(mock)
    assert sent["uri"] == "/v1/chat/completions"
    assert sent["headers"]["authorization"] == "Bearer sk-client"
    assert sent["body"] == {
        "model": "deepseek-chat", "max_tokens": 99, "temperature": 0.5, "top_p": 0.9, "user": "u-1",
        "reasoning_effort": "low", "parallel_tool_calls": False,
        "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": True}},
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                                    "parameters": schema, "strict": True}}],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "system", "content": "Use metric units."},
            {"role": "user", "content": [{"type": "text", "text": "Weather?"},
                                         {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR", "detail": "low"}}]},
            {"role": "assistant", "content": "Checking.", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
                {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "tool", "tool_call_id": "call_2", "content": "rain"},
            {"role": "user", "content": "And tomorrow?"}]}


WEATHER = {"type": "function", "name": "get_weather", "description": "Weather in a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def test_function_tool_round_trip_through_anthropic(gateway, mock):
    tool_use = {"status": 200, "body": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
        "content": [{"type": "text", "text": "Let me check."},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}],
        "stop_reason": "tool_use", "stop_sequence": None, "usage": {"input_tokens": 20, "output_tokens": 9}}}
    first = sdk(gateway, mock, "anthropic", fixture=tool_use).responses.create(
        model="claude-test", input="Weather in Paris?", tools=[WEATHER])
    assert [item.type for item in first.output] == ["message", "function_call"]
    call_item = first.output[1]
    assert (call_item.call_id, call_item.name, json.loads(call_item.arguments)) == ("toolu_1", "get_weather", {"city": "Paris"})
    assert call_item.status == "completed" and call_item.id.startswith("fc_")
    sent = last_upstream_request(mock)["body"]
    assert [(t["name"], t["input_schema"]) for t in sent["tools"]] == [("get_weather", WEATHER["parameters"])]

    # The client runs the tool and sends the call and its output back, as the openai docs show.
    answer = {"status": 200, "body": {
        "id": "msg_2", "type": "message", "role": "assistant", "model": "claude-test",
        "content": [{"type": "text", "text": "Sunny in Paris."}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 40, "output_tokens": 5}}}
    second = sdk(gateway, mock, "anthropic", fixture=answer).responses.create(
        model="claude-test", tools=[WEATHER],
        input=[{"role": "user", "content": "Weather in Paris?"}, *[item.model_dump(exclude_none=True) for item in first.output],
               {"type": "function_call_output", "call_id": "toolu_1", "output": "sunny, 24 C"}])
    assert second.output_text == "Sunny in Paris."
    messages = last_upstream_request(mock)["body"]["messages"]
    assert messages[1]["role"] == "assistant"
    assert messages[1]["content"][-1] == {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
    assert messages[2]["role"] == "user"
    assert messages[2]["content"][0]["type"] == "tool_result" and messages[2]["content"][0]["tool_use_id"] == "toolu_1"


def chunk(delta, finish=None, usage=None):
    return chat_chunk(delta, finish, usage, model="deepseek-chat")


def test_streamed_function_calls(gateway, mock):
    events = [chunk({"role": "assistant", "content": ""}), chunk({"content": "Checking."}),
              chunk({"tool_calls": [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
              chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
              chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
              chunk({"tool_calls": [{"index": 1, "id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]}),
              chunk({}, finish="tool_calls"), chunk(None, usage={"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21}),
              {"data": "[DONE]"}]
    client = sdk(gateway, mock, "deepseek", fixture={"status": 200, "events": events})
    with client.responses.stream(model="deepseek-chat", input="Weather?", tools=[WEATHER]) as stream:
        seen = events_of(stream)
        final = stream.get_final_response()
    kinds = collapse(check_sequence(seen))
    assert kinds == ["response.created", "response.in_progress",
                     "response.output_item.added", "response.content_part.added", "response.output_text.delta",
                     "response.output_text.done", "response.content_part.done", "response.output_item.done",
                     "response.output_item.added", "response.function_call_arguments.delta",
                     "response.function_call_arguments.done", "response.output_item.done",
                     "response.output_item.added", "response.function_call_arguments.delta",
                     "response.function_call_arguments.done", "response.output_item.done", "response.completed"]
    assert [item.type for item in final.output] == ["message", "function_call", "function_call"]
    assert (final.output[1].call_id, final.output[1].name, final.output[1].arguments) == ("call_a", "get_weather", '{"city": "Paris"}')
    assert (final.output[2].call_id, final.output[2].arguments) == ("call_b", "{}")
    assert [e.output_index for e in seen if e.type == "response.output_item.done"] == [0, 1, 2]
    assert (final.usage.input_tokens, final.usage.output_tokens) == (12, 9)


class City(BaseModel):
    name: str
    country: str


@pytest.mark.parametrize("provider", ["openai", "google", "deepseek"])
def test_parse_with_a_pydantic_model(gateway, mock, provider):
    content = '{"name": "Paris", "country": "France"}'
    client = sdk(gateway, mock, provider, forward={"x-mock-content": content})
    model = "gemini-2.5-flash" if provider == "google" else "gpt-4o"
    parsed = client.responses.parse(model=model, input="A city?", text_format=City)
    assert parsed.output_parsed == City(name="Paris", country="France")
    sent = last_upstream_request(mock)["body"]
    if provider == "google":
        assert sent["generationConfig"]["responseMimeType"] == "application/json"
    elif provider == "deepseek":
        assert sent["response_format"]["type"] == "json_schema"
        assert sent["response_format"]["json_schema"]["name"] == "City"
        assert sent["response_format"]["json_schema"]["strict"] is True


# MARK: refusals and failures


def refused(client, **kwargs):
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model="claude-test", **kwargs)
    return raised.value


def test_what_cannot_be_translated_is_refused(gateway, mock):
    client = sdk(gateway, mock, "anthropic")
    error = refused(client, input="hi", tools=[{"type": "web_search"}])
    assert "web_search" in error.message and error.body["param"] == "tools[0]"
    error = refused(client, input="hi", previous_response_id="resp_123")
    assert error.body["param"] == "previous_response_id" and error.body["code"] == "previous_response_not_found"
    error = refused(client, input="hi", extra_body={"frobnicate": 1})
    assert error.body["param"] == "frobnicate" and error.body["code"] == "unsupported_parameter"
    error = refused(client, input=[{"role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]}])
    assert "file_id" in error.message and error.body["param"] == "input[0].content[0]"
    error = refused(client, input=[{"role": "user", "content": [{"type": "input_file", "file_id": "file-1"}]}])
    assert "input_file" in error.message
    error = refused(client, input=[{"type": "item_reference", "id": "msg_1"}])
    assert error.body["param"] == "input[0]"
    error = refused(client, input=[{"role": "user", "content": 5}])
    assert error.body["code"] == "invalid_type" and error.body["param"] == "input[0].content"
    # System and assistant messages take text parts only (an image there has no chat counterpart).
    image = {"type": "input_image", "image_url": "https://example.com/a.png"}
    error = refused(client, input=[{"role": "system", "content": [image]}, {"role": "user", "content": "hi"}])
    assert error.body["param"] == "input[0].content[0]" and "system or developer message takes text parts only" in error.message
    error = refused(client, input=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": [image]}])
    assert error.body["param"] == "input[1].content[0]" and "assistant message takes text parts only" in error.message


@pytest.mark.parametrize("provider,forward,fixture", [
    ("anthropic", {"x-mock-drop-last": "1"}, None),  # message_stop never comes
    ("deepseek", None, {"status": 200, "events": [chunk({"role": "assistant", "content": ""}), chunk({"content": "par"})]}),
    ("deepseek", None, {"status": 200, "events": [chunk({"content": "par"}),
                                                   {"data": {"error": {"message": "provider exploded", "type": "server_error"}}}]}),
])
def test_cut_or_failed_stream_raises(gateway, mock, provider, forward, fixture):
    client = sdk(gateway, mock, provider, fixture=fixture, forward=forward)
    seen = []
    with pytest.raises(openai.APIError):
        for event in client.responses.create(model="m", input="hi", stream=True):
            seen.append(event)
    kinds = [e.type for e in seen]
    assert "response.completed" not in kinds
    assert kinds[-1] == "response.failed"
    failed = seen[-1].response
    assert failed.status == "failed" and failed.error.message
    assert [e.sequence_number for e in seen] == list(range(len(seen)))
    # responses.stream raises too.
    with pytest.raises(openai.APIError):
        with sdk(gateway, mock, provider, fixture=fixture, forward=forward).responses.stream(model="m", input="hi") as stream:
            for _ in stream:
                pass


def test_upstream_errors_come_back_in_openai_shape(gateway, mock):
    client = sdk(gateway, mock, "anthropic", forward={"x-mock-status": "429"})
    with pytest.raises(openai.RateLimitError) as raised:
        client.responses.create(model="claude-test", input="hi")
    assert set(raised.value.body) >= {"message", "type", "code"}
    assert last_upstream_request(mock)["uri"] == "/v1/messages"


def test_stored_response_paths_pass_through_for_openai(gateway, mock):
    headers = {"x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1",
               "Authorization": "Bearer sk-client", "x-mock-record": "true"}
    call("GET", gateway.url + "/v1/responses/resp_123/input_items?limit=2", headers=headers)
    assert last_upstream_request(mock)["uri"] == "/v1/responses/resp_123/input_items?limit=2"
    call("DELETE", gateway.url + "/v1/responses/resp_123", headers=headers)
    sent = last_upstream_request(mock)
    assert (sent["method"], sent["uri"]) == ("DELETE", "/v1/responses/resp_123")
    # GET on /v1/responses itself is not a route.
    assert call("GET", gateway.url + "/v1/responses", headers=headers).status == 405


def test_every_sdk_parameter_is_declared():
    # Map or refuse, never drop: each field of the installed SDK's ResponseCreateParams is declared
    # in the converter's M.params, so a new SDK field shows up here, not as a silent drop.
    # TODO(lead): fold into the shared declarations test of h14-params.
    import re
    from pathlib import Path
    from openai.types.responses import response_create_params
    fields = set(response_create_params.ResponseCreateParamsBase.__annotations__) | {"stream"}
    source = (Path(__file__).resolve().parents[2] / "providers/lib/responses_to_chat.lua").read_text()
    block = source[source.index("M.params = {"):]
    block = block[:block.index("\n}\n")]
    declared = dict(re.findall(r'^\s+([a-z_]+) = "(mapped|refused|dropped: [^"]+)"', block, re.M))
    assert fields - set(declared) == set(), "undeclared"
    # (Declarations beyond the installed SDK's fields are fine: requirements.txt does not pin it.)
    assert {"input", "previous_response_id", "store", "max_tool_calls"} <= set(declared)


def test_fallback_from_native_openai_to_translated_anthropic(gateway, mock):
    # An agent's /v1/responses call falls back across dialects: OpenAI answers 500 (natively), the
    # fallback target is served through the converter.
    import uuid
    config = {"strategy": {"mode": "fallback"},
              "targets": [{"provider": "openai", "api_key": "sk-1", "custom_host": mock.url + "/v1"},
                          {"provider": "anthropic", "api_key": "sk-2", "custom_host": mock.url + "/v1",
                           "override_params": {"model": "claude-test"}}]}
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0, default_headers={
        "x-portkey-config": json.dumps(config), "x-portkey-forward-headers": "x-mock-fail-first,x-mock-key,x-mock-record",
        "x-mock-fail-first": "1", "x-mock-key": uuid.uuid4().hex, "x-mock-record": "true"})
    raw = client.responses.with_raw_response.create(model="gpt-4o", input="Say this is a test.")
    response = raw.parse()
    assert response.output_text == "This is a test." and response.id.startswith("resp_")
    assert raw.headers["x-portkey-last-used-option-index"] == "config.targets[1]"
    sent = last_upstream_request(mock)
    assert sent["uri"] == "/v1/messages" and sent["body"]["model"] == "claude-test"


def test_a_codex_shaped_request_streams_through_anthropic(gateway, mock):
    # The fields Codex sends on every turn (store false, encrypted reasoning asked for, a cache key,
    # reasoning summary, verbosity, an earlier turn's reasoning item) are accepted; the turn streams.
    body = {
        "model": "claude-test", "instructions": "You are a coding agent.", "stream": True, "store": False,
        "tool_choice": "auto", "parallel_tool_calls": False, "prompt_cache_key": "conv-1",
        "include": ["reasoning.encrypted_content"], "reasoning": {"effort": "medium", "summary": "auto"},
        "text": {"verbosity": "low"}, "service_tier": "auto",
        "tools": [{"type": "function", "name": "shell", "description": "Run a command", "strict": False,
                   "parameters": {"type": "object", "properties": {"command": {"type": "array", "items": {"type": "string"}}},
                                  "required": ["command"], "additionalProperties": False}}],
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "<permissions>ask</permissions>"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "list the files"}]},
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "I should run ls."}], "encrypted_content": "gAAAA"},
            {"type": "function_call", "name": "shell", "arguments": '{"command":["ls"]}', "call_id": "call_1"},
            {"type": "function_call_output", "call_id": "call_1", "output": "README.md\n"},
        ],
    }
    headers = {
        "content-type": "application/json", "authorization": "Bearer sk-ant", "x-portkey-provider": "anthropic",
        "x-portkey-custom-host": mock.url + "/v1", "x-portkey-forward-headers": "x-mock-record", "x-mock-record": "true"}
    reply = call("POST", gateway.url + "/v1/responses", body=body, headers=headers)
    assert reply.status == 200, reply.body
    names = [line[len("event: "):] for line in reply.body.decode().splitlines() if line.startswith("event: ")]
    assert names[0] == "response.created" and names[-1] == "response.completed"
    sent = last_upstream_request(mock)["body"]
    assert sent["system"] == "You are a coding agent.\n\n<permissions>ask</permissions>"
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    assert sent["messages"][1]["content"][-1]["type"] == "tool_use"
    assert sent["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    # reasoning.effort reaches Claude as thinking (through the chat translation's reasoning_effort).
    assert sent["thinking"]["type"] in ("enabled", "adaptive"), sent.get("thinking")


def test_responses_are_counted_in_metrics(gateway, mock):
    # Requests are labelled /v1/responses, and the tokens of a translated answer (its usage in the
    # Responses shape, streamed or not) reach switchboard_tokens_total.
    from test_observability import scrape, value
    import uuid
    model = "claude-metrics-" + uuid.uuid4().hex[:8]
    client = sdk(gateway, mock, "anthropic")
    plain = client.responses.create(model=model, input="hi")
    with client.responses.stream(model=model, input="hi") as stream:
        streamed = stream.get_final_response()
    samples, _ = scrape(gateway)
    assert value(samples, "switchboard_requests_total", route="/v1/responses", provider="anthropic", status="200") >= 2
    assert value(samples, "switchboard_tokens_total", model=model, direction="output") == \
        plain.usage.output_tokens + streamed.usage.output_tokens


def test_previous_response_id_continues_a_conversation_on_a_translated_provider(gateway, mock):
    # The gateway keeps a translated response (store true or absent, OpenAI's default) in its
    # shared store; previous_response_id puts that conversation before the new input — streamed or
    # not — and the earlier instructions are not carried over, as at OpenAI.
    client = sdk(gateway, mock, "anthropic")
    first = client.responses.create(model="claude-test", instructions="Be brief.", input="My name is Ada.")
    assert first.store is True and first.previous_response_id is None
    second = client.responses.create(model="claude-test", input="What is my name?", previous_response_id=first.id)
    assert second.previous_response_id == first.id
    sent = last_upstream_request(mock)["body"]
    assert "system" not in sent
    assert [(m["role"], m["content"] if isinstance(m["content"], str) else m["content"][0]["text"]) for m in sent["messages"]] == [
        ("user", "My name is Ada."), ("assistant", first.output_text), ("user", "What is my name?")]
    with client.responses.stream(model="claude-test", input="And again?", previous_response_id=second.id) as stream:
        third = stream.get_final_response()
    assert len(last_upstream_request(mock)["body"]["messages"]) == 5
    # A streamed response is kept too.
    client.responses.create(model="claude-test", input="Last one.", previous_response_id=third.id)
    assert len(last_upstream_request(mock)["body"]["messages"]) == 7
    # store: false keeps nothing.
    unkept = client.responses.create(model="claude-test", input="Forget this.", store=False)
    assert unkept.store is False
    error = refused(client, input="hi", previous_response_id=unkept.id)
    assert error.body["code"] == "previous_response_not_found" and unkept.id in error.message


def test_previous_response_id_carries_a_tool_call_to_its_output(gateway, mock):
    # The Agents SDK's way: the next turn sends only the function_call_output and the previous id;
    # the stored conversation supplies the call it answers.
    call_fixture = {"status": 200, "body": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}],
        "stop_reason": "tool_use", "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 3}}}
    tools = [{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    first = sdk(gateway, mock, "anthropic", call_fixture).responses.create(model="claude-test", input="Weather in Paris?", tools=tools)
    call_item = first.output[0]
    assert call_item.type == "function_call" and call_item.call_id == "toolu_1"
    sdk(gateway, mock, "anthropic").responses.create(
        model="claude-test", tools=tools, previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": "toolu_1", "output": "18 C"}])
    messages = last_upstream_request(mock)["body"]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"][-1] == {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
    assert messages[2]["content"][0]["type"] == "tool_result" and messages[2]["content"][0]["tool_use_id"] == "toolu_1"
