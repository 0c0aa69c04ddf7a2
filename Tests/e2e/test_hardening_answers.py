"""Answers that are what they claim (issue 12, item 8), against a real gateway and MockProvider:

- a client's type error in a request a provider translates is a 400 naming the field (`param`, and
  the message for Anthropic-shaped errors), never a 500 with a converter's file and line;
- an upstream 2xx whose JSON body does not parse is a 502 `invalid_upstream_response`, never a 200;
- an upstream stream that ends without its terminal event ends in an error event in the client's
  dialect (the SDKs raise it), on the passthrough path and on translated paths alike.
"""
import json

import anthropic
import openai
import pytest

from http_helpers import call, store_fixture

# MARK: client type errors -> 400 naming the field

OK_MESSAGES = '[{"role":"user","content":"hi"}]'

# (body as raw JSON text, the field path the 400 must name). Raw text, so 1e400 reaches the gateway
# as written (Python's json would write Infinity, which is not JSON).
CHAT_CASES = [
    ('{"model":"M","messages":[null]}', "messages[0]"),
    ('{"model":"M","messages":[{"role":"user","content":"hi"},{"role":"user","content":[5]}]}',
     "messages[1].content[0]"),
    ('{"model":"M","messages":%s,"stop":5}' % OK_MESSAGES, "stop"),
    ('{"model":"M","messages":%s,"tools":[5]}' % OK_MESSAGES, "tools[0]"),
    ('{"model":"M","messages":%s,"temperature":1e400}' % OK_MESSAGES, "temperature"),
    # siblings: every field a converter reads
    ('{"model":"M","messages":"hi"}', "messages"),
    ('{"model":"M","messages":[{"role":5,"content":"hi"}]}', "messages[0].role"),
    ('{"model":"M","messages":[{"role":"user","content":{"a":1}}]}', "messages[0].content"),
    ('{"model":"M","messages":[{"role":"user","content":[{"type":"text","text":5}]}]}', "messages[0].content[0].text"),
    ('{"model":"M","messages":[{"role":"user","content":[{"type":5}]}]}', "messages[0].content[0].type"),
    ('{"model":"M","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":7}}]}]}',
     "messages[0].content[0].image_url.url"),
    ('{"model":"M","messages":[{"role":"user","content":[{"type":"image_url","image_url":5}]}]}',
     "messages[0].content[0].image_url"),
    ('{"model":"M","messages":[{"role":"assistant","content":null,"tool_calls":[5]}]}', "messages[0].tool_calls[0]"),
    ('{"model":"M","messages":[{"role":"assistant","tool_calls":{"a":1}}]}', "messages[0].tool_calls"),
    ('{"model":"M","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":5}}]}]}',
     "messages[0].tool_calls[0].function.arguments"),
    ('{"model":"M","messages":[{"role":"tool","tool_call_id":5,"content":"x"}]}', "messages[0].tool_call_id"),
    ('{"model":"M","messages":%s,"stop":["a",1]}' % OK_MESSAGES, "stop[1]"),
    ('{"model":"M","messages":%s,"tools":[{"type":"function","function":{"name":5}}]}' % OK_MESSAGES,
     "tools[0].function.name"),
    ('{"model":"M","messages":%s,"tools":[{"type":"function","function":{"name":"f","parameters":'
     '{"type":"object","properties":{"x":{"type":"number","maximum":1e400}}}}}]}' % OK_MESSAGES,
     "tools[0].function.parameters.properties.x.maximum"),
    ('{"model":"M","messages":%s,"tool_choice":5}' % OK_MESSAGES, "tool_choice"),
    ('{"model":"M","messages":%s,"response_format":"json"}' % OK_MESSAGES, "response_format"),
    ('{"model":"M","messages":%s,"stream_options":5}' % OK_MESSAGES, "stream_options"),
    ('{"model":"M","messages":%s,"top_p":"high"}' % OK_MESSAGES, "top_p"),
    ('{"model":"M","messages":%s,"presence_penalty":-1e999}' % OK_MESSAGES, "presence_penalty"),
    ('{"model":"M","messages":%s,"seed":1.5}' % OK_MESSAGES, "seed"),
    ('{"model":"M","messages":%s,"max_tokens":"10"}' % OK_MESSAGES, "max_tokens"),
    ('{"model":"M","messages":%s,"stream":"yes"}' % OK_MESSAGES, "stream"),
    ('{"model":"M","messages":%s,"user":5}' % OK_MESSAGES, "user"),
    # two wrong: the first of the fixed order is named, whatever order the body has
    ('{"model":"M","messages":%s,"user":5,"stream":"yes","temperature":"hot"}' % OK_MESSAGES, "temperature"),
]

# Each translating provider family for OpenAI chat requests: headers and the model to use.
def chat_targets(mock):
    return {
        "anthropic": ({"x-portkey-provider": "anthropic", "x-portkey-custom-host": mock.url + "/v1"}, "claude-x"),
        "google": ({"x-portkey-provider": "google", "x-portkey-custom-host": mock.url + "/v1beta"}, "gemini-2.5-flash"),
        "cohere": ({"x-portkey-provider": "cohere", "x-portkey-custom-host": mock.url + "/v2"}, "command-a"),
        "bedrock": ({"x-portkey-provider": "bedrock", "x-portkey-custom-host": mock.url,
                     "x-portkey-aws-access-key-id": "AK", "x-portkey-aws-secret-access-key": "SK"}, "meta.llama3-8b"),
        "vertex-gemini": ({"x-portkey-provider": "vertex-ai", "x-portkey-custom-host": mock.url + "/v1",
                           "x-portkey-vertex-project-id": "p1"}, "gemini-2.5-flash"),
        "vertex-claude": ({"x-portkey-provider": "vertex-ai", "x-portkey-custom-host": mock.url + "/v1",
                           "x-portkey-vertex-project-id": "p1"}, "claude-x"),
    }


FAMILIES = ["anthropic", "google", "cohere", "bedrock", "vertex-gemini", "vertex-claude"]


def post(url, headers, body):
    base = {"Authorization": "Bearer k", "Content-Type": "application/json"}
    return call("POST", url, headers={**base, **headers}, body=body.encode())


@pytest.mark.parametrize("family", FAMILIES)
def test_chat_type_errors_are_400_naming_the_field(gateway, mock, family):
    headers, model = chat_targets(mock)[family]
    failures = []
    for body, param in CHAT_CASES:
        reply = post(gateway.url + "/v1/chat/completions", headers, body.replace('"M"', json.dumps(model)))
        payload = reply.json()
        error = payload.get("error", {})
        if reply.status != 400 or error.get("param") != param or error.get("type") != "invalid_request_error" \
                or ".lua" in error.get("message", "") or param not in error.get("message", ""):
            failures.append((body, param, reply.status, payload))
    assert not failures, "\n".join(map(str, failures))


def test_chat_type_error_through_the_openai_sdk(gateway, mock):
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0, default_headers={
        "x-portkey-provider": "anthropic", "x-portkey-custom-host": mock.url + "/v1"})
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="claude-x", messages=[{"role": "user", "content": "hi"}], stop=5)
    assert raised.value.status_code == 400 and raised.value.param == "stop"
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="claude-x", messages=[None])
    assert raised.value.param == "messages[0]"


EMBEDDING_CASES = [
    ('{"model":"M","input":"hi","dimensions":"8"}', "dimensions"),
    ('{"model":"M","input":"hi","encoding_format":5}', "encoding_format"),
]


@pytest.mark.parametrize("family", ["google", "cohere"])
def test_embedding_type_errors_are_400(gateway, mock, family):
    headers, model = chat_targets(mock)[family]
    for body, param in EMBEDDING_CASES:
        reply = post(gateway.url + "/v1/embeddings", headers, body.replace('"M"', json.dumps(model)))
        assert reply.status == 400 and reply.error()["param"] == param, reply.body


HI = '[{"role":"user","content":"hi"}]'
MESSAGES_CASES = [
    ('{"model":"M","max_tokens":10,"messages":[null]}', "messages[0]"),
    ('{"model":"M","max_tokens":10,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[5]}]}',
     "messages[1].content[0]"),
    ('{"model":"M","max_tokens":10,"messages":%s,"stop_sequences":5}' % HI, "stop_sequences"),
    ('{"model":"M","max_tokens":10,"messages":%s,"tools":[5]}' % HI, "tools[0]"),
    ('{"model":"M","max_tokens":10,"messages":%s,"temperature":1e400}' % HI, "temperature"),
    ('{"model":"M","max_tokens":10,"messages":"hi"}', "messages"),
    ('{"model":"M","max_tokens":10,"messages":[{"role":"user","content":5}]}', "messages[0].content"),
    ('{"model":"M","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":5}]}]}',
     "messages[0].content[0].text"),
    ('{"model":"M","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":5}]}]}',
     "messages[0].content[0].source"),
    ('{"model":"M","max_tokens":10,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f",'
     '"input":{"x":1e400}}]}]}', "messages[0].content[0].input.x"),
    ('{"model":"M","max_tokens":10,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t",'
     '"content":[7]}]}]}', "messages[0].content[0].content[0]"),
    ('{"model":"M","max_tokens":10,"messages":%s,"system":5}' % HI, "system"),
    ('{"model":"M","max_tokens":10,"messages":%s,"system":[5]}' % HI, "system[0]"),
    ('{"model":"M","max_tokens":10,"messages":%s,"tool_choice":"auto"}' % HI, "tool_choice"),
    ('{"model":"M","max_tokens":10,"messages":%s,"metadata":{"user_id":5}}' % HI, "metadata.user_id"),
    ('{"model":"M","max_tokens":10,"messages":%s,"top_p":"x"}' % HI, "top_p"),
    ('{"model":"M","max_tokens":10,"messages":%s,"stream":1}' % HI, "stream"),
]


def messages_targets(mock):
    targets = chat_targets(mock)
    return {
        "openai": ({"x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1"}, "gpt-4o"),
        "google": targets["google"],
        "cohere": targets["cohere"],
        "bedrock": targets["bedrock"],
        "bedrock-claude": (targets["bedrock"][0], "anthropic.claude-3-5-sonnet-20240620-v1:0"),
        "vertex-gemini": targets["vertex-gemini"],
        "vertex-claude": targets["vertex-claude"],
    }


@pytest.mark.parametrize("family", ["openai", "google", "cohere", "bedrock", "bedrock-claude", "vertex-gemini",
                                    "vertex-claude"])
def test_messages_type_errors_are_400_naming_the_field(gateway, mock, family):
    headers, model = messages_targets(mock)[family]
    failures = []
    for body, param in MESSAGES_CASES:
        reply = post(gateway.url + "/v1/messages", headers, body.replace('"M"', json.dumps(model)))
        payload = reply.json()
        error = payload.get("error", {})
        if reply.status != 400 or payload.get("type") != "error" or error.get("type") != "invalid_request_error" \
                or f"'{param}'" not in error.get("message", "") or ".lua" in error.get("message", ""):
            failures.append((body, param, reply.status, payload))
    assert not failures, "\n".join(map(str, failures))


def test_messages_type_error_through_the_anthropic_sdk(gateway, mock):
    client = anthropic.Anthropic(base_url=gateway.url, api_key="k", max_retries=0, default_headers={
        "x-portkey-provider": "google", "x-portkey-custom-host": mock.url + "/v1beta"})
    with pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.create(model="gemini-2.5-flash", max_tokens=10, messages=[{"role": "user", "content": [5]}])
    assert "'messages[0].content[0]'" in str(raised.value)


# MARK: a truncated 2xx JSON body -> 502

CUT_JSON = '{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assist'


def fixture_headers(mock, fixture):
    return {"x-portkey-forward-headers": "x-mock-fixture", "x-mock-fixture": store_fixture(mock, fixture)}


def test_truncated_json_200_passthrough_is_502(gateway, mock):
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0, default_headers={
        "x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1",
        **fixture_headers(mock, {"status": 200, "text": CUT_JSON})})
    with pytest.raises(openai.APIStatusError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert raised.value.status_code == 502
    assert raised.value.body["code"] == "invalid_upstream_response"
    # The mock's own `malformed` control cuts its JSON answer in half.
    reply = call("POST", gateway.url + "/v1/chat/completions", headers={
        "x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1", "Authorization": "Bearer k",
        "Content-Type": "application/json"}, body={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}],
                                                   "mock": {"malformed": True}})
    assert reply.status == 502 and reply.error()["code"] == "invalid_upstream_response", reply.body


def test_valid_and_non_json_answers_are_untouched(gateway, mock):
    # A complete JSON answer passes; a 200 that is not declared JSON is not scanned.
    for fixture, status in [({"status": 200, "body": {"id": "x", "choices": []}}, 200),
                            ({"status": 200, "text": "plain {", "headers": {"content-type": "text/plain"}}, 200)]:
        reply = call("POST", gateway.url + "/v1/chat/completions", headers={
            "x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1", "Authorization": "Bearer k",
            "Content-Type": "application/json", **fixture_headers(mock, fixture)},
            body={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
        assert reply.status == status, reply.body


def test_truncated_json_200_on_messages_paths_is_502(gateway, mock):
    cut = '{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"Hel'
    # Native Anthropic passthrough, and Claude on Bedrock (InvokeModel, whose answer is relayed).
    for provider, model, extra in [("anthropic", "claude-x", {"x-portkey-custom-host": mock.url + "/v1"}),
                                   ("bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0",
                                    {"x-portkey-custom-host": mock.url, "x-portkey-aws-access-key-id": "AK",
                                     "x-portkey-aws-secret-access-key": "SK"})]:
        client = anthropic.Anthropic(base_url=gateway.url, api_key="k", max_retries=0, default_headers={
            "x-portkey-provider": provider, **extra, **fixture_headers(mock, {"status": 200, "text": cut})})
        with pytest.raises(anthropic.APIStatusError) as raised:
            client.messages.create(model=model, max_tokens=10, messages=[{"role": "user", "content": "hi"}])
        assert raised.value.status_code == 502, provider
        assert raised.value.body["type"] == "error" and "does not parse" in raised.value.body["error"]["message"]


# MARK: a stream cut without its terminal event -> an error event

def openai_stream(client, model, **extra):
    chunks = []
    for chunk in client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}],
                                                stream=True, **extra):
        chunks.append(chunk)
    return chunks


def test_openai_passthrough_stream_without_done_raises(gateway, mock):
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0, default_headers={
        "x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1"})
    # Complete: no error.
    assert openai_stream(client, "gpt-4o")
    # The mock ends the stream cleanly but leaves out `data: [DONE]`.
    with pytest.raises(openai.APIError) as raised:
        openai_stream(client, "gpt-4o", extra_body={"mock": {"drop_last": 1}})
    assert "[DONE]" in str(raised.value)
    # Cut further back (no finish chunk either), from a fixture.
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}]}
    with pytest.raises(openai.APIError):
        openai_stream(client, "gpt-4o",
                      extra_headers=fixture_headers(mock, {"status": 200, "events": [{"data": chunk}]}))


def test_passthrough_stream_ending_with_an_upstream_error_event_is_left_as_is(gateway, mock):
    events = [{"data": {"error": {"message": "overloaded upstream", "type": "server_error"}}}]
    reply = call("POST", gateway.url + "/v1/chat/completions", headers={
        "x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1", "Authorization": "Bearer k",
        "Content-Type": "application/json", **fixture_headers(mock, {"status": 200, "events": events})},
        body={"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]})
    text = reply.body.decode()
    assert text.count("data: ") == 1 and "overloaded upstream" in text


def test_anthropic_passthrough_stream_without_message_stop_raises(gateway, mock):
    client = anthropic.Anthropic(base_url=gateway.url, api_key="k", max_retries=0, default_headers={
        "x-portkey-provider": "anthropic", "x-portkey-custom-host": mock.url + "/v1"})
    hi = [{"role": "user", "content": "hi"}]
    with client.messages.stream(model="claude-x", max_tokens=20, messages=hi) as stream:
        assert "".join(stream.text_stream)
    with pytest.raises(anthropic.APIError) as raised:
        with client.messages.stream(model="claude-x", max_tokens=20, messages=hi,
                                    extra_body={"mock": {"drop_last": 1}}) as stream:
            for _ in stream:
                pass
    assert "message_stop" in str(raised.value)


def test_translated_streams_without_their_end_raise(gateway, mock):
    """OpenAI chat clients of translating providers: the converter knows the upstream's terminal event."""
    hi = [{"role": "user", "content": "hi"}]
    forward = {"x-portkey-forward-headers": "x-mock-drop-last", "x-mock-drop-last": "1"}
    for provider, host, model in [("anthropic", "/v1", "claude-x"), ("google", "/v1beta", "gemini-2.5-flash")]:
        client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0, default_headers={
            "x-portkey-provider": provider, "x-portkey-custom-host": mock.url + host})
        assert openai_stream(client, model)
        with pytest.raises(openai.APIError):
            openai_stream(client, model, extra_headers=forward)


def test_messages_client_of_a_chat_stream_without_done_raises(gateway, mock):
    """Anthropic Messages clients of an OpenAI-compatible provider: the chat stream must end with [DONE]."""
    hi = [{"role": "user", "content": "hi"}]
    client = anthropic.Anthropic(base_url=gateway.url, api_key="k", max_retries=0, default_headers={
        "x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1"})
    with client.messages.stream(model="gpt-4o", max_tokens=20, messages=hi) as stream:
        assert "".join(stream.text_stream)
    # Only [DONE] is missing: the finish chunk and the usage chunk arrived.
    forward = {"x-portkey-forward-headers": "x-mock-drop-last", "x-mock-drop-last": "1"}
    with pytest.raises(anthropic.APIError) as raised:
        with client.messages.stream(model="gpt-4o", max_tokens=20, messages=hi, extra_headers=forward) as stream:
            for _ in stream:
                pass
    assert "[DONE]" in str(raised.value)
    # And through google's translation as well.
    client = anthropic.Anthropic(base_url=gateway.url, api_key="k", max_retries=0, default_headers={
        "x-portkey-provider": "google", "x-portkey-custom-host": mock.url + "/v1beta",
        "x-portkey-forward-headers": "x-mock-drop-last", "x-mock-drop-last": "1"})
    with pytest.raises(anthropic.APIError):
        with client.messages.stream(model="gemini-2.5-flash", max_tokens=20, messages=hi) as stream:
            for _ in stream:
                pass
