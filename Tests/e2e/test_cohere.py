"""Cohere v2 chat and embed through the cohere provider, with the openai SDK and reference-shaped fixtures."""
import json

import openai
import pytest

from http_helpers import last_upstream_request, store_fixture, translating_client


def client_for(gateway, mock, fixture):
    return translating_client(gateway, mock, "cohere", store_fixture(mock, fixture), base_path="/v2", api_key="co-key")


def reply(content, finish="COMPLETE", tool_calls=None):
    message = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
        message["tool_plan"] = "I will call the tool."
    return {"status": 200, "body": {"id": "c-1", "finish_reason": finish, "message": message, "usage": {
        "billed_units": {"input_tokens": 5, "output_tokens": 3}, "tokens": {"input_tokens": 70, "output_tokens": 3}}}}


def test_chat_request_and_response(gateway, mock):
    completion = client_for(gateway, mock, reply([{"type": "text", "text": "Hola."}])).chat.completions.create(
        model="command-a-03-2025", max_tokens=40, top_p=0.8, stop="END", tool_choice="required",
        tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}],
        messages=[{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                  {"role": "assistant", "content": None, "tool_calls": [
                      {"id": "tc1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                  {"role": "tool", "tool_call_id": "tc1", "content": "result"}])
    assert completion.choices[0].message.content == "Hola." and completion.choices[0].finish_reason == "stop"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (70, 3)
    sent = last_upstream_request(mock)
    assert sent["uri"] == "/v2/chat" and sent["headers"]["authorization"] == "Bearer co-key"
    body = sent["body"]
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["messages"][2] == {"role": "assistant", "tool_calls": [
        {"id": "tc1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}
    assert body["messages"][3] == {"role": "tool", "tool_call_id": "tc1", "content": "result"}
    assert (body["max_tokens"], body["p"], body["stop_sequences"], body["tool_choice"]) == (40, 0.8, ["END"], "REQUIRED")


@pytest.mark.parametrize("response_format,sent", [
    ({"type": "json_object"}, {"type": "json_object"}),
    ({"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object"}}},
     {"type": "json_object", "json_schema": {"type": "object"}}),
    ({"type": "text"}, None)])
def test_response_format(gateway, mock, response_format, sent):
    client_for(gateway, mock, reply([{"type": "text", "text": "{}"}])).chat.completions.create(
        model="command-a-03-2025", messages=[{"role": "user", "content": "x"}], response_format=response_format)
    assert last_upstream_request(mock)["body"].get("response_format") == sent


@pytest.mark.parametrize("reason,finish", [("COMPLETE", "stop"), ("STOP_SEQUENCE", "stop"), ("MAX_TOKENS", "length"),
                                           ("TOOL_CALL", "tool_calls")])
def test_finish_reasons_and_tool_calls(gateway, mock, reason, finish):
    calls = [{"id": "call_x", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}] if reason == "TOOL_CALL" else None
    completion = client_for(gateway, mock, reply([] if calls else [{"type": "text", "text": "x"}], reason, calls)
                            ).chat.completions.create(model="command-a-03-2025", messages=[{"role": "user", "content": "x"}])
    assert completion.choices[0].finish_reason == finish
    if calls:
        call = completion.choices[0].message.tool_calls[0]
        assert (call.id, call.function.name, json.loads(call.function.arguments)) == ("call_x", "f", {"a": 1})


def test_stream_with_tool_calls_and_usage(gateway, mock):
    def ev(kind, **fields):
        return {"event": kind, "data": {"type": kind, **fields}}
    events = [ev("message-start", id="c-s", delta={"message": {"role": "assistant"}}),
              ev("content-start", index=0, delta={"message": {"content": {"type": "text", "text": ""}}}),
              ev("content-delta", index=0, delta={"message": {"content": {"text": "Let me "}}}),
              ev("content-delta", index=0, delta={"message": {"content": {"text": "look."}}}),
              ev("content-end", index=0),
              ev("tool-plan-delta", delta={"message": {"tool_plan": "call f"}}),
              ev("tool-call-start", index=1, delta={"message": {"tool_calls": {"id": "t1", "type": "function",
                                                                               "function": {"name": "f", "arguments": ""}}}}),
              ev("tool-call-delta", index=1, delta={"message": {"tool_calls": {"function": {"arguments": '{"a"'}}}}),
              ev("tool-call-delta", index=1, delta={"message": {"tool_calls": {"function": {"arguments": ': 2}'}}}}),
              ev("tool-call-end", index=1),
              ev("message-end", delta={"finish_reason": "TOOL_CALL", "usage": {"tokens": {"input_tokens": 9, "output_tokens": 4}}})]
    stream = client_for(gateway, mock, {"status": 200, "events": events}).chat.completions.create(
        model="command-a-03-2025", messages=[{"role": "user", "content": "x"}], stream=True,
        stream_options={"include_usage": True})
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Let me look."
    deltas = [t for c in chunks if c.choices for t in (c.choices[0].delta.tool_calls or [])]
    assert deltas[0].id == "t1" and deltas[0].function.name == "f"
    assert json.loads("".join(t.function.arguments or "" for t in deltas)) == {"a": 2}
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]
    assert chunks[-1].usage.total_tokens == 13


def test_cut_stream_is_an_error(gateway, mock):
    stream = client_for(gateway, mock, {"status": 200, "events": [
        {"event": "message-start", "data": {"type": "message-start", "id": "c"}}]}).chat.completions.create(
        model="command-a-03-2025", messages=[{"role": "user", "content": "x"}], stream=True)
    with pytest.raises(openai.APIError) as raised:
        list(stream)
    assert "before message-end" in str(raised.value)


def test_embeddings_float_and_base64(gateway, mock):
    fixture = {"status": 200, "body": {"id": "e-1", "embeddings": {"float": [[0.5, -1.25, 3.0], [0.0, 0.25, -0.5]]},
                                       "texts": ["a", "b"], "meta": {"billed_units": {"input_tokens": 4}}}}
    client = client_for(gateway, mock, fixture)
    # The SDK asks for base64 by default and decodes it; float32 packing must round-trip exactly.
    default = client.embeddings.create(model="embed-v4.0", input=["a", "b"])
    assert [d.embedding for d in default.data] == [[0.5, -1.25, 3.0], [0.0, 0.25, -0.5]]
    assert default.usage.prompt_tokens == 4
    floats = client.embeddings.create(model="embed-v4.0", input="a", encoding_format="float", dimensions=256)
    assert floats.data[0].embedding == [0.5, -1.25, 3.0]
    sent = last_upstream_request(mock)
    assert sent["uri"] == "/v2/embed"
    assert sent["body"] == {"model": "embed-v4.0", "texts": ["a"], "embedding_types": ["float"],
                            "input_type": "search_document", "output_dimension": 256}


def test_refusals(gateway, mock):
    client = client_for(gateway, mock, reply([{"type": "text", "text": "x"}]))
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="command-a-03-2025", messages=[{"role": "user", "content": "x"}],
                                       tools=[{"type": "function", "function": {"name": "f"}}],
                                       tool_choice={"type": "function", "function": {"name": "f"}})
    assert raised.value.body["param"] == "tool_choice"
    # A tool that is not a function is refused too, not sent on for Cohere to guess at.
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="command-a-03-2025", messages=[{"role": "user", "content": "x"}],
                                       tools=[{"type": "custom", "custom": {"name": "grep"}}])
    assert raised.value.body["param"] == "tools"
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="command-a-03-2025", messages=[{"role": "user", "content": "x"}],
                                       response_format={"type": "json_yaml"})
    assert raised.value.body["param"] == "response_format"
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="embed-v4.0", input=[[1, 2, 3]])
