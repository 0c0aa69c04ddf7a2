"""Agent-era chat features translated for Gemini (provider google, and Gemini on vertex-ai), with the openai SDK.

reasoning_effort becomes generationConfig.thinkingConfig and thought parts come back as
reasoning_content; a functionCall part's thoughtSignature rides in the tool-call id and goes back on
that part in the next turn (Gemini 3 refuses the turn without it); pydantic's nested schemas
($defs/$ref, additionalProperties) reach Gemini in the form its Schema accepts. Upstream answers are
fixtures written from the Gemini API reference (generateContent, streamGenerateContent alt=sse).
"""
import base64
import json
from typing import List, Optional

import openai
import pydantic
import pytest

from http_helpers import last_upstream_request, store_fixture, translating_client, gemini_chunk

# Signatures are base64 bytes (the reference: "bytes format"); these have '+', '/' and padding.
SIGNATURE = base64.b64encode(bytes([0xfb, 0xff, 0xbf] * 200 + [1, 2, 3, 4])).decode()
SIGNATURE_2 = base64.b64encode(bytes([0x12, 0x34, 0xfe, 0xff, 0x01])).decode()


def google(gateway, mock, fixture):
    return translating_client(gateway, mock, "google", store_fixture(mock, fixture), base_path="/v1beta",
                              api_key="gk-test")


def vertex(gateway, mock, fixture):
    headers = {"x-portkey-provider": "vertex-ai", "x-portkey-custom-host": mock.url + "/v1",
               "x-portkey-forward-headers": "x-mock-fixture", "x-mock-fixture": store_fixture(mock, fixture),
               "x-portkey-vertex-project-id": "proj-1"}
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key="ya29.token", max_retries=0, default_headers=headers)


CLIENTS = {"google": google, "vertex-ai": vertex}


def answer(parts, finish="STOP", usage=None):
    return {"status": 200, "body": {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": 0}],
        "usageMetadata": usage or {"promptTokenCount": 9, "candidatesTokenCount": 4, "totalTokenCount": 13},
        "modelVersion": "gemini-2.5-flash", "responseId": "resp-1"}}


def sse(*events):
    return {"status": 200, "events": [{"data": e} for e in events]}


def chunk(parts, finish=None, usage=None):
    return gemini_chunk(parts, finish, usage, model="gemini-3-pro-preview", response_id="resp-s")


HI = [{"role": "user", "content": "What is 17 * 23?"}]
THINKING_USAGE = {"promptTokenCount": 9, "candidatesTokenCount": 4, "thoughtsTokenCount": 120, "totalTokenCount": 133}


# MARK: reasoning

@pytest.mark.parametrize("provider", CLIENTS)
@pytest.mark.parametrize("model, effort, config", [
    ("gemini-2.5-flash", "low", {"thinkingBudget": 1024, "includeThoughts": True}),
    ("gemini-2.5-pro", "high", {"thinkingBudget": 24576, "includeThoughts": True}),
    ("gemini-2.5-flash", "none", {"thinkingBudget": 0}),
    ("gemini-3-pro-preview", "low", {"thinkingLevel": "low", "includeThoughts": True}),
    ("gemini-3-flash-preview", "medium", {"thinkingLevel": "high", "includeThoughts": True}),
])
def test_reasoning_effort_is_thinking_config(gateway, mock, provider, model, effort, config):
    client = CLIENTS[provider](gateway, mock, answer([{"text": "391"}]))
    client.chat.completions.create(model=model, messages=HI, reasoning_effort=effort)
    generation = last_upstream_request(mock)["body"]["generationConfig"]
    assert generation["thinkingConfig"] == config


def test_reasoning_effort_values_gemini_cannot_honour_are_refused(gateway, mock):
    client = google(gateway, mock, answer([{"text": "391"}]))
    for model, effort, why in [("gemini-3-pro-preview", "none", "cannot turn thinking off"),
                               ("gemini-2.5-flash", "maximal", "none, minimal, low, medium, high or xhigh")]:
        with pytest.raises(openai.BadRequestError) as raised:
            client.chat.completions.create(model=model, messages=HI, reasoning_effort=effort)
        assert raised.value.param == "reasoning_effort" and why in raised.value.message, raised.value
    # Without reasoning_effort, nothing is decided for the model.
    client.chat.completions.create(model="gemini-2.5-flash", messages=HI)
    assert "thinkingConfig" not in last_upstream_request(mock)["body"]["generationConfig"]


@pytest.mark.parametrize("provider", CLIENTS)
def test_thought_parts_are_reasoning_content(gateway, mock, provider):
    client = CLIENTS[provider](gateway, mock, answer(
        [{"text": "Multiply 17 by 20, then by 3, and add.", "thought": True}, {"text": "17 * 23 = 391."}],
        usage=THINKING_USAGE))
    completion = client.chat.completions.create(model="gemini-2.5-flash", messages=HI, reasoning_effort="medium")
    message = completion.choices[0].message
    assert message.content == "17 * 23 = 391."
    assert message.reasoning_content == "Multiply 17 by 20, then by 3, and add."
    assert completion.usage.completion_tokens == 124
    assert completion.usage.completion_tokens_details.reasoning_tokens == 120


def test_streamed_thoughts_are_reasoning_deltas(gateway, mock):
    client = google(gateway, mock, sse(
        chunk([{"text": "Think: 17*20=340", "thought": True}]),
        chunk([{"text": ", 17*3=51.", "thought": True}]),
        chunk([{"text": "391"}], finish="STOP", usage=THINKING_USAGE)))
    chunks = list(client.chat.completions.create(model="gemini-3-pro-preview", messages=HI, reasoning_effort="high",
                                                 stream=True, stream_options={"include_usage": True}))
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert "".join(getattr(d, "reasoning_content", None) or "" for d in deltas) == "Think: 17*20=340, 17*3=51."
    assert "".join(d.content or "" for d in deltas) == "391"
    assert chunks[-1].usage.completion_tokens_details.reasoning_tokens == 120
    assert last_upstream_request(mock)["body"]["generationConfig"]["thinkingConfig"] == {
        "thinkingLevel": "high", "includeThoughts": True}


# MARK: thought signatures

WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def next_turn(first_message, results):
    """The conversation the client sends back: the assistant turn as it came, then the tool results."""
    assistant = first_message.model_dump(exclude_none=True)
    return HI + [assistant] + [{"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)}
                              for call, result in zip(first_message.tool_calls, results)]


def function_calls_sent(mock):
    return [part for turn in last_upstream_request(mock)["body"]["contents"] for part in turn["parts"]
            if "functionCall" in part]


@pytest.mark.parametrize("provider", CLIENTS)
def test_thought_signature_goes_back_on_its_function_call(gateway, mock, provider):
    # Parallel calls: Gemini signs the first functionCall part only.
    first = CLIENTS[provider](gateway, mock, answer([
        {"text": "Two cities: two calls.", "thought": True},
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": SIGNATURE},
        {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}}])).chat.completions.create(
        model="gemini-3-pro-preview", messages=HI, tools=[WEATHER])
    message = first.choices[0].message
    assert message.reasoning_content == "Two cities: two calls."  # sent back below: accepted, not returned to Gemini
    assert [json.loads(c.function.arguments)["city"] for c in message.tool_calls] == ["Paris", "Oslo"]
    ids = [c.id for c in message.tool_calls]
    assert len(set(ids)) == 2 and all(i.startswith("call_") for i in ids)
    assert all(set(i) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") for i in ids)

    CLIENTS[provider](gateway, mock, answer([{"text": "Sunny in both."}])).chat.completions.create(
        model="gemini-3-pro-preview", tools=[WEATHER],
        messages=next_turn(message, [{"temp_c": 21}, {"temp_c": 3}]))
    sent = last_upstream_request(mock)["body"]
    assert sent["contents"][1]["role"] == "model" and len(sent["contents"][1]["parts"]) == 2
    assert function_calls_sent(mock) == [
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": SIGNATURE},
        {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}}]
    # The results still answer by the function's name, the signature nowhere near them.
    assert sent["contents"][-1] == {"role": "user", "parts": [
        {"functionResponse": {"name": "get_weather", "response": {"temp_c": 21}}},
        {"functionResponse": {"name": "get_weather", "response": {"temp_c": 3}}}]}


def test_streamed_thought_signature_goes_back(gateway, mock):
    chunks = list(google(gateway, mock, sse(
        chunk([{"text": "Checking.", "thought": True}]),
        chunk([{"functionCall": {"name": "get_weather", "args": {"city": "Lima"}}, "thoughtSignature": SIGNATURE_2}],
              finish="STOP"))).chat.completions.create(
        model="gemini-3-pro-preview", messages=HI, tools=[WEATHER], stream=True))
    calls = [t for c in chunks if c.choices for t in (c.choices[0].delta.tool_calls or [])]
    assert len(calls) == 1 and calls[0].function.name == "get_weather"
    assistant = {"role": "assistant", "content": None, "tool_calls": [
        {"id": calls[0].id, "type": "function", "function": {"name": "get_weather", "arguments": calls[0].function.arguments}}]}

    google(gateway, mock, answer([{"text": "Warm."}])).chat.completions.create(
        model="gemini-3-pro-preview", tools=[WEATHER],
        messages=HI + [assistant, {"role": "tool", "tool_call_id": calls[0].id, "content": "25 C"}])
    assert function_calls_sent(mock) == [
        {"functionCall": {"name": "get_weather", "args": {"city": "Lima"}}, "thoughtSignature": SIGNATURE_2}]


# MARK: nested pydantic schemas

class Address(pydantic.BaseModel):
    street: str
    city: str = pydantic.Field(description="The city")


class Person(pydantic.BaseModel):
    name: str
    home: Address
    previous: List[Address]
    work: Optional[Address] = None


class Node(pydantic.BaseModel):
    label: str
    children: List["Node"] = []


def keys_anywhere(value):
    if isinstance(value, dict):
        return set(value) | set().union(*(keys_anywhere(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(keys_anywhere(v) for v in value)) if value else set()
    return set()


GEMINI_SCHEMA_KEYS = {"type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems",
                      "properties", "required", "minProperties", "maxProperties", "minLength", "maxLength",
                      "pattern", "example", "anyOf", "propertyOrdering", "default", "items", "minimum", "maximum"}


def schema_keywords(schema):
    """The keywords of a Gemini Schema at every depth (property names are the caller's, not keywords)."""
    keys = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            keys.add(key)
            if key == "properties":
                for sub in value.values():
                    keys |= schema_keywords(sub)
            elif key in ("items",):
                keys |= schema_keywords(value)
            elif key == "anyOf":
                for sub in value:
                    keys |= schema_keywords(sub)
    return keys


ADDRESS = {"type": "object", "title": "Address", "required": ["street", "city"],
           "properties": {"street": {"type": "string", "title": "Street"},
                          "city": {"type": "string", "title": "City", "description": "The city"}}}


@pytest.mark.parametrize("provider", CLIENTS)
def test_nested_pydantic_models_parse_and_tool(gateway, mock, provider):
    person = {"name": "Ada", "home": {"street": "1 Main St", "city": "London"}, "previous": [], "work": None}
    client = CLIENTS[provider](gateway, mock, answer([{"text": json.dumps(person)}]))
    completion = client.chat.completions.parse(
        model="gemini-2.5-flash", messages=HI, response_format=Person,
        tools=[openai.pydantic_function_tool(Person, name="save_person")])
    assert completion.choices[0].message.parsed == Person.model_validate(person)

    sent = last_upstream_request(mock)["body"]
    # Nothing Gemini refuses, at any depth: no $ref, $defs, additionalProperties, strict.
    assert not {"$ref", "$defs", "additionalProperties", "strict", "$schema"} & keys_anywhere(sent), sent
    response_schema = sent["generationConfig"]["responseSchema"]
    declaration = sent["tools"][0]["functionDeclarations"][0]
    assert declaration["name"] == "save_person"
    for schema in (response_schema, declaration["parameters"]):
        assert schema_keywords(schema) <= GEMINI_SCHEMA_KEYS, schema
        # The $defs are inlined where they were referenced.
        assert schema["properties"]["home"] == ADDRESS
        assert schema["properties"]["previous"]["items"] == ADDRESS
        assert schema["properties"]["work"]["nullable"] is True
        assert schema["properties"]["work"]["properties"] == ADDRESS["properties"]


def test_schema_keywords_gemini_refuses_are_removed_at_every_depth(gateway, mock):
    parameters = {
        "$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "additionalProperties": False,
        "$defs": {"Tag": {"type": "object", "additionalProperties": False, "properties": {
            "id": {"type": "string", "format": "uuid"}, "kind": {"const": "tag"},
            "score": {"type": ["number", "null"], "exclusiveMinimum": 0}}}},
        "properties": {
            "tags": {"type": "array", "uniqueItems": True, "items": {"$ref": "#/$defs/Tag"}},
            "when": {"oneOf": [{"type": "string", "format": "date-time"}, {"type": "integer"}]},
            "level": {"type": "integer", "enum": [1, 2, 3]}, "mode": {"enum": ["a", "b", None]},
            "extra": {"allOf": [{"$ref": "#/$defs/Tag"}], "description": "More"}}}
    client = google(gateway, mock, answer([{"text": "ok"}]))
    client.chat.completions.create(model="gemini-2.5-flash", messages=HI, tools=[
        {"type": "function", "function": {"name": "tag", "parameters": parameters}}])
    schema = last_upstream_request(mock)["body"]["tools"][0]["functionDeclarations"][0]["parameters"]
    tag = {"type": "object", "properties": {"id": {"type": "string"}, "kind": {"enum": ["tag"]},
                                            "score": {"type": "number", "nullable": True}}}
    assert schema == {"type": "object", "properties": {
        "tags": {"type": "array", "items": tag},
        "when": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "integer"}]},
        "level": {"type": "integer"}, "mode": {"enum": ["a", "b"], "nullable": True},
        "extra": dict(tag, description="More")}}


def test_recursive_schema_goes_as_json_schema(gateway, mock):
    client = google(gateway, mock, answer([{"text": json.dumps({"label": "root", "children": []})}]))
    completion = client.chat.completions.parse(model="gemini-2.5-flash", messages=HI, response_format=Node,
                                               tools=[openai.pydantic_function_tool(Node, name="tree")])
    assert completion.choices[0].message.parsed == Node(label="root")
    sent = last_upstream_request(mock)["body"]
    # Gemini's Schema cannot hold a recursive $ref: the JSON-Schema fields take it as is.
    expected = openai.lib._pydantic.to_strict_json_schema(Node)
    assert sent["generationConfig"]["responseJsonSchema"] == expected
    assert "responseSchema" not in sent["generationConfig"]
    declaration = sent["tools"][0]["functionDeclarations"][0]
    assert declaration["parametersJsonSchema"] == expected and "parameters" not in declaration


def test_schema_too_large_once_inlined_goes_as_json_schema(gateway, mock):
    # 80 references to a definition of 80 properties: 6400+ nodes once inlined (the bound is 5000).
    leaf = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(80)}}
    schema = {"type": "object", "$defs": {"Leaf": leaf},
              "properties": {f"f{i}": {"$ref": "#/$defs/Leaf"} for i in range(80)}}
    client = google(gateway, mock, answer([{"text": "{}"}]))
    client.chat.completions.create(model="gemini-2.5-flash", messages=HI, response_format={
        "type": "json_schema", "json_schema": {"name": "big", "schema": schema}})
    generation = last_upstream_request(mock)["body"]["generationConfig"]
    assert generation["responseJsonSchema"] == schema and "responseSchema" not in generation


def test_unresolvable_ref_is_a_400_naming_the_tool(gateway, mock):
    client = google(gateway, mock, answer([{"text": "ok"}]))
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="gemini-2.5-flash", messages=HI, tools=[
            {"type": "function", "function": {"name": "lookup", "parameters": {
                "type": "object", "properties": {"x": {"$ref": "#/$defs/Missing"}}}}}])
    assert raised.value.param == "tools"
    assert "lookup" in raised.value.message and "#/$defs/Missing" in raised.value.message


def test_thought_signature_survives_v1_messages(gateway, mock):
    """Claude Code's dialect to Gemini 3: the tool_use id carries the signature and comes back as tool_use_id."""
    import anthropic

    def sdk(fixture):
        return anthropic.Anthropic(base_url=gateway.url, api_key="gk-test", max_retries=0, default_headers={
            "x-portkey-provider": "google", "x-portkey-custom-host": mock.url + "/v1beta",
            "x-portkey-forward-headers": "x-mock-fixture", "x-mock-fixture": store_fixture(mock, fixture)})

    tool = {"name": "get_weather", "input_schema": WEATHER["function"]["parameters"]}
    first = sdk(answer([{"functionCall": {"name": "get_weather", "args": {"city": "Rome"}},
                         "thoughtSignature": SIGNATURE}])).messages.create(
        model="gemini-3-pro-preview", max_tokens=256, messages=HI, tools=[tool])
    use = [b for b in first.content if b.type == "tool_use"][0]
    sdk(answer([{"text": "Mild."}])).messages.create(
        model="gemini-3-pro-preview", max_tokens=256, tools=[tool], messages=HI + [
            {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "18 C"}]}])
    assert function_calls_sent(mock) == [
        {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}, "thoughtSignature": SIGNATURE}]


# MARK: count_tokens

def anthropic_sdk(gateway, mock, provider, fixture):
    import anthropic
    headers = {"x-portkey-provider": provider, "x-portkey-forward-headers": "x-mock-fixture",
               "x-mock-fixture": store_fixture(mock, fixture)}
    if provider == "google":
        headers["x-portkey-custom-host"] = mock.url + "/v1beta"
        key = "gk-test"
    else:
        headers.update({"x-portkey-custom-host": mock.url + "/v1", "x-portkey-vertex-project-id": "proj-1"})
        key = "ya29.token"
    return anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0, default_headers=headers)


COUNT_TOOL = {"name": "get_weather", "description": "Weather for a city", "input_schema": {
    "type": "object", "additionalProperties": False, "properties": {"city": {"type": "string"}}, "required": ["city"]}}


@pytest.mark.parametrize("provider", CLIENTS)
def test_count_tokens_is_gemini_count_tokens(gateway, mock, provider):
    """messages.count_tokens to a Gemini model: Gemini's :countTokens, not a :generateContent call."""
    client = anthropic_sdk(gateway, mock, provider, {"status": 200, "body": {
        "totalTokens": 31, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 31}]}})
    counted = client.messages.count_tokens(
        model="gemini-2.5-flash", system="Be brief.", tools=[COUNT_TOOL], tool_choice={"type": "auto"},
        messages=[{"role": "user", "content": "Weather in Paris?"}])
    assert counted.input_tokens == 31

    sent = last_upstream_request(mock)
    request = {"contents": [{"role": "user", "parts": [{"text": "Weather in Paris?"}]}],
               "systemInstruction": {"parts": [{"text": "Be brief."}]},
               "tools": [{"functionDeclarations": [{"name": "get_weather", "description": "Weather for a city",
                                                    "parameters": {"type": "object", "required": ["city"],
                                                                   "properties": {"city": {"type": "string"}}}}]}]}
    if provider == "google":
        assert sent["uri"] == "/v1beta/models/gemini-2.5-flash:countTokens"
        inner = sent["body"]["generateContentRequest"]
        assert set(sent["body"]) == {"generateContentRequest"}
        assert inner["model"] == "models/gemini-2.5-flash"
        assert inner["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}
    else:
        assert sent["uri"] == "/v1/projects/proj-1/locations/us-central1/publishers/google/models/gemini-2.5-flash:countTokens"
        inner = sent["body"]
        assert "toolConfig" not in inner  # Vertex's CountTokensRequest has no toolConfig
    assert {k: inner[k] for k in request} == request


def test_count_tokens_for_claude_on_vertex_is_count_tokens_raw_predict(gateway, mock):
    client = anthropic_sdk(gateway, mock, "vertex-ai", {"status": 200, "body": {"input_tokens": 12}})
    counted = client.messages.count_tokens(model="claude-sonnet-4-5@20250929",
                                           messages=[{"role": "user", "content": "Hello"}])
    assert counted.input_tokens == 12
    sent = last_upstream_request(mock)
    assert sent["uri"] == "/v1/projects/proj-1/locations/us-central1/publishers/anthropic/models/count-tokens:rawPredict"
    assert sent["body"] == {"model": "claude-sonnet-4-5@20250929", "messages": [{"role": "user", "content": "Hello"}]}


def test_count_tokens_errors_are_anthropic_shaped(gateway, mock):
    import anthropic
    client = anthropic_sdk(gateway, mock, "google", {"status": 400, "body": {"error": {
        "code": 400, "message": "model not found", "status": "INVALID_ARGUMENT"}}})
    with pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.count_tokens(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}])
    assert "model not found" in str(raised.value)
    # A request the translation refuses is a 400 before anything is sent.
    with pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.count_tokens(model="gemini-2.5-flash", messages=[])
    assert "messages" in str(raised.value)
