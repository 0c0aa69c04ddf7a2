"""The official openai SDK reaching a Gemini API upstream through the google provider.

Upstream answers are fixtures written from the Gemini API reference (generateContent response,
streamGenerateContent with alt=sse, errors); the mock replays them and records what was sent.
"""
import json

import openai
import pytest

from http_helpers import last_upstream_request, store_fixture, translating_client, gemini_chunk


def client_for(gateway, mock, fixture):
    return translating_client(gateway, mock, "google", store_fixture(mock, fixture), base_path="/v1beta",
                              api_key="gk-test")


def response(parts, finish="STOP", usage=None, **extra):
    body = {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": 0}],
            "usageMetadata": usage or {"promptTokenCount": 9, "candidatesTokenCount": 4, "totalTokenCount": 13},
            "modelVersion": "gemini-2.5-flash", "responseId": "resp-abc"}
    body.update(extra)
    return {"status": 200, "body": body}


def sse(*events):
    return {"status": 200, "events": [e if "raw" in e else {"data": e} for e in events]}


def chunk(parts=None, finish=None, usage=None):
    return gemini_chunk(parts, finish, usage)


WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city", "strict": True,
    "parameters": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "additionalProperties": False,
                   "properties": {"city": {"type": "string"}, "strict": {"type": "boolean"},
                                  "when": {"anyOf": [{"type": "string", "additionalProperties": False}, {"type": "null"}]}},
                   "required": ["city"]}}}


def test_text_request_shape_and_usage(gateway, mock):
    completion = client_for(gateway, mock, response([{"text": "Hello "}, {"text": "there."}], usage={
        "promptTokenCount": 30, "candidatesTokenCount": 5, "thoughtsTokenCount": 7, "totalTokenCount": 42,
        "cachedContentTokenCount": 20})).chat.completions.create(
        model="gemini-2.5-flash", max_tokens=64, temperature=0.3, top_p=0.9, stop=["END", "STOP"], seed=7,
        messages=[{"role": "system", "content": "Be brief."},
                  {"role": "user", "content": [{"type": "text", "text": "Hi"},
                                               {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}}]},
                  {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Again"}])
    assert completion.choices[0].message.content == "Hello there."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "gemini-2.5-flash" and completion.id == "resp-abc"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (30, 12)
    assert completion.usage.prompt_tokens_details.cached_tokens == 20

    sent = last_upstream_request(mock)
    assert sent["uri"] == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert sent["headers"]["x-goog-api-key"] == "gk-test" and "authorization" not in sent["headers"]
    assert sent["body"] == {
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "Hi"}, {"inline_data": {"mime_type": "image/jpeg", "data": "/9j/4AAQ"}}]},
            {"role": "model", "parts": [{"text": "Hello!"}]},
            {"role": "user", "parts": [{"text": "Again"}]}],
        "generationConfig": {"temperature": 0.3, "topP": 0.9, "maxOutputTokens": 64, "stopSequences": ["END", "STOP"],
                             "seed": 7}}


def test_tools_are_cleaned_and_tool_results_answer_by_name(gateway, mock):
    client = client_for(gateway, mock, response([{"text": "ok"}]))
    client.chat.completions.create(
        model="gemini-2.5-flash", tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "get_weather"}},
        messages=[{"role": "user", "content": "Weather in Paris?"},
                  {"role": "assistant", "content": None, "tool_calls": [
                      {"id": "call_9", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]},
                  {"role": "tool", "tool_call_id": "call_9", "content": '{"temp_c": 21}'},
                  {"role": "tool", "tool_call_id": "call_9", "content": "plain text result"}])
    body = last_upstream_request(mock)["body"]
    declaration = body["tools"][0]["functionDeclarations"][0]
    assert declaration == {"name": "get_weather", "description": "Weather for a city", "parameters": {
        "type": "object", "required": ["city"],
        "properties": {"city": {"type": "string"}, "strict": {"type": "boolean"},
                       "when": {"type": "string", "nullable": True}}}}
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}
    assert body["contents"][1] == {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]}
    assert body["contents"][2] == {"role": "user", "parts": [
        {"functionResponse": {"name": "get_weather", "response": {"temp_c": 21}}},
        {"functionResponse": {"name": "get_weather", "response": {"result": "plain text result"}}}]}


@pytest.mark.parametrize("choice,mode", [("auto", "AUTO"), ("none", "NONE"), ("required", "ANY")])
def test_tool_choice_modes(gateway, mock, choice, mode):
    client_for(gateway, mock, response([{"text": "ok"}])).chat.completions.create(
        model="gemini-2.5-flash", tools=[WEATHER], tool_choice=choice, messages=[{"role": "user", "content": "x"}])
    assert last_upstream_request(mock)["body"]["toolConfig"] == {"functionCallingConfig": {"mode": mode}}


def test_json_mode_and_json_schema(gateway, mock):
    client = client_for(gateway, mock, response([{"text": '{"a": 1}'}]))
    client.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}],
                                   response_format={"type": "json_object"})
    assert last_upstream_request(mock)["body"]["generationConfig"] == {"responseMimeType": "application/json"}
    client.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}],
                                   response_format={"type": "json_schema", "json_schema": {"name": "r", "strict": True, "schema": {
                                       "type": "object", "additionalProperties": False, "properties": {"a": {"type": "integer"}}}}})
    assert last_upstream_request(mock)["body"]["generationConfig"] == {
        "responseMimeType": "application/json", "responseSchema": {"type": "object", "properties": {"a": {"type": "integer"}}}}


def test_function_call_response(gateway, mock):
    completion = client_for(gateway, mock, response([
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
        {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}}])).chat.completions.create(
        model="gemini-2.5-flash", tools=[WEATHER], messages=[{"role": "user", "content": "x"}])
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    assert [json.loads(c.function.arguments) for c in choice.message.tool_calls] == [{"city": "Paris"}, {"city": "Oslo"}]
    ids = [c.id for c in choice.message.tool_calls]
    assert all(i.startswith("call_") for i in ids) and len(set(ids)) == 2


@pytest.mark.parametrize("reason,finish", [("STOP", "stop"), ("MAX_TOKENS", "length"), ("SAFETY", "content_filter"),
                                           ("RECITATION", "content_filter"), ("PROHIBITED_CONTENT", "content_filter")])
def test_finish_reasons(gateway, mock, reason, finish):
    completion = client_for(gateway, mock, response([{"text": "x"}], finish=reason)).chat.completions.create(
        model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}])
    assert completion.choices[0].finish_reason == finish


def test_blocked_prompt_is_a_content_filter_answer(gateway, mock):
    completion = client_for(gateway, mock, {"status": 200, "body": {
        "promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 5, "totalTokenCount": 5}}}
    ).chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}])
    assert completion.choices[0].finish_reason == "content_filter"
    assert completion.choices[0].message.content is None


def test_stream_text_tools_and_usage(gateway, mock):
    stream = client_for(gateway, mock, sse(
        chunk([{"text": "Let me "}]), chunk([{"text": "check."}]),
        chunk([{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
               {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}}], finish="STOP",
              usage={"promptTokenCount": 11, "candidatesTokenCount": 8, "totalTokenCount": 19}))
    ).chat.completions.create(model="gemini-2.5-flash", tools=[WEATHER], messages=[{"role": "user", "content": "x"}],
                              stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    sent = last_upstream_request(mock)
    assert sent["uri"] == "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Let me check."
    calls = [t for c in chunks if c.choices for t in (c.choices[0].delta.tool_calls or [])]
    assert [(t.index, t.function.name, json.loads(t.function.arguments)) for t in calls] == [
        (0, "get_weather", {"city": "Paris"}), (1, "get_weather", {"city": "Oslo"})]
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 19


def stream_error(gateway, mock, fixture):
    stream = client_for(gateway, mock, fixture).chat.completions.create(
        model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}], stream=True)
    text = ""
    with pytest.raises(openai.APIError) as raised:
        for c in stream:
            if c.choices:
                text += c.choices[0].delta.content or ""
    return text, str(raised.value)


def test_truncated_and_malformed_streams_are_errors(gateway, mock):
    text, message = stream_error(gateway, mock, sse(chunk([{"text": "partial"}])))
    assert text == "partial" and "ended before a finishReason" in message
    text, message = stream_error(gateway, mock, sse(chunk([{"text": "a"}]), {"raw": "data: {\"candidates\": [\n\n"}))
    assert "not JSON" in message
    text, message = stream_error(gateway, mock, sse(chunk([{"text": "a"}]), {
        "error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}))
    assert "The model is overloaded." in message


@pytest.mark.parametrize("status,code", [(429, "RESOURCE_EXHAUSTED"), (400, "INVALID_ARGUMENT"), (503, "UNAVAILABLE")])
def test_upstream_errors_keep_status_and_message(gateway, mock, status, code):
    client = client_for(gateway, mock, {"status": status, "body": {
        "error": {"code": status, "message": f"gemini says {code}", "status": code}}})
    with pytest.raises(openai.APIStatusError) as raised:
        client.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}])
    assert raised.value.status_code == status and f"gemini says {code}" in raised.value.message


def test_refusals(gateway, mock):
    client = client_for(gateway, mock, response([{"text": "never"}]))
    for kwargs, param in [({"messages": [{"role": "user", "content": [
                              {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]}, "messages"),
                          ({"messages": [{"role": "tool", "tool_call_id": "nope", "content": "x"}]}, "messages"),
                          ({"messages": [{"role": "user", "content": "x"}], "n": 3}, "n")]:
        with pytest.raises(openai.BadRequestError) as raised:
            client.chat.completions.create(model="gemini-2.5-flash", **kwargs)
        assert raised.value.body["param"] == param
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="../etc", messages=[{"role": "user", "content": "x"}])


def test_embeddings_batch_float_and_base64(gateway, mock):
    fixture = {"status": 200, "body": {"embeddings": [{"values": [0.25, -0.5, 1.5]}, {"values": [2.0, 0.0, -0.125]}]}}
    client = client_for(gateway, mock, fixture)
    default = client.embeddings.create(model="gemini-embedding-001", input=["a", "b"], dimensions=3)
    assert [d.embedding for d in default.data] == [[0.25, -0.5, 1.5], [2.0, 0.0, -0.125]]
    assert [d.index for d in default.data] == [0, 1]
    sent = last_upstream_request(mock)
    assert sent["uri"] == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert sent["body"] == {"requests": [
        {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "a"}]}, "outputDimensionality": 3},
        {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "b"}]}, "outputDimensionality": 3}]}
    floats = client.embeddings.create(model="gemini-embedding-001", input="a", encoding_format="float")
    assert floats.data[0].embedding == [0.25, -0.5, 1.5]
