"""Map or refuse, never drop: every converter declares each request field of its client dialect.

The field names come from the installed official SDKs' request types (openai's chat and embeddings
params, anthropic's MessageCreateParams, openai's ResponseCreateParams when a responses converter is
there), so a field a new SDK adds shows up here as an undeclared parameter, not as a silent drop.
The declarations are read from `switchboard check --converters`. Then, over the wire with the
official SDKs, each converter: refuses a refused field (400, code unsupported_parameter, param
naming it), carries a mapped field to the upstream, accepts a dropped one, and refuses a field it
has never heard of.
"""
import base64
import json
import subprocess
import typing

import anthropic
import openai
import pytest

from conftest import BIN, ROOT
from http_helpers import last_upstream_request, store_fixture, translating_client
import params_table

CONVERTERS = ["chat_to_anthropic", "chat_to_gemini", "chat_to_bedrock_converse", "chat_to_cohere",
              "messages_to_chat", "embeddings_to_gemini", "embeddings_to_cohere"]


def typed_dict_keys(*types):
    """Every key of the TypedDicts (their whole MRO: total and not, inherited keys included)."""
    keys = set()
    for t in types:
        for klass in t.__mro__:
            keys |= set(getattr(klass, "__annotations__", {}))
        keys |= set(typing.get_type_hints(t))
    return keys


def sdk_parameters():
    """The request fields each client dialect's SDK can send, by the converter's `from`."""
    from anthropic.types import message_create_params as messages
    from openai.types import embedding_create_params as embeddings
    from openai.types.chat import completion_create_params as chat
    dialects = {
        "chat/completions": typed_dict_keys(chat.CompletionCreateParamsBase, chat.CompletionCreateParamsStreaming,
                                            chat.CompletionCreateParamsNonStreaming),
        "embeddings": typed_dict_keys(embeddings.EmbeddingCreateParams),
        "messages": typed_dict_keys(messages.MessageCreateParamsBase, messages.MessageCreateParamsStreaming,
                                    messages.MessageCreateParamsNonStreaming),
    }
    try:
        from openai.types.responses import response_create_params as responses
        dialects["responses"] = typed_dict_keys(responses.ResponseCreateParamsBase,
                                                responses.ResponseCreateParamsStreaming,
                                                responses.ResponseCreateParamsNonStreaming)
    except ImportError:  # an SDK without the Responses API: nothing to check for that dialect
        pass
    return dialects


def declarations(providers=ROOT / "providers"):
    result = subprocess.run([str(BIN / "switchboard"), "check", "--converters", "--providers", str(providers),
                             "--scripts", str(ROOT / "scripts")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def undeclared(converters):
    """converter -> the SDK parameters of its client dialect it does not declare."""
    dialects = sdk_parameters()
    missing = {}
    for module, info in converters.items():
        expected = dialects.get(info["from"])
        if expected is None:
            continue
        gaps = sorted(expected - set(info["params"] or {}))
        if gaps:
            missing[module] = gaps
    return missing


def test_every_sdk_parameter_is_declared():
    converters = declarations()
    for module in CONVERTERS:
        assert module in converters, f"{module} is not loaded: {sorted(converters)}"
        assert converters[module]["params"] is not None, f"{module} declares no params"
    for module, info in converters.items():
        for field, value in (info["params"] or {}).items():
            assert value in ("mapped", "refused") or (value.startswith("dropped: ") and value[9:].strip()), (module, field, value)
    missing = undeclared(converters)
    assert not missing, "SDK request parameters no converter declaration covers (map, refuse or drop with a reason):\n" + \
        "\n".join(f"  {module}: {', '.join(fields)}" for module, fields in sorted(missing.items()))


def test_readme_tables_are_the_declarations():
    readme = params_table.README.read_text()
    assert params_table.readme_tables(readme) == params_table.tables(declarations()).strip("\n"), \
        "providers/README.md's Map or refuse tables differ from the declarations: python3 Tests/e2e/params_table.py --write"


def test_a_removed_declaration_fails_the_check(providers_copy):
    """The check above bites: delete one declaration line and the field shows up undeclared."""
    path = providers_copy / "lib" / "chat_to_cohere.lua"
    source = path.read_text()
    assert 'seed = "mapped", ' in source
    path.write_text(source.replace('seed = "mapped", ', "", 1))
    missing = undeclared(declarations(providers_copy))
    assert missing.get("chat_to_cohere") == ["seed"], missing


def test_a_malformed_declaration_stops_the_load(providers_copy):
    path = providers_copy / "lib" / "chat_to_cohere.lua"
    path.write_text(path.read_text().replace('seed = "mapped", ', 'seed = "dropped:", ', 1))
    result = subprocess.run([str(BIN / "switchboard"), "check", "--providers", str(providers_copy),
                             "--scripts", str(ROOT / "scripts")], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "chat_to_cohere.lua" in result.stdout and 'params["seed"]' in result.stdout, result.stdout


def test_a_converter_without_declarations_loads_with_null_params(providers_copy):
    path = providers_copy / "lib" / "embeddings_to_cohere.lua"
    source = path.read_text()
    start = source.index("M.params = {")
    end = source.index("}\n", start) + 2
    path.write_text(source[:start] + source[end:].replace("params.check(M, body, NAME .. \" embed\")", "", 1))
    assert declarations(providers_copy)["embeddings_to_cohere"]["params"] is None


# MARK: over the wire

HI = [{"role": "user", "content": "Hi"}]
TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]


def refused(call, param):
    with pytest.raises(openai.BadRequestError) as raised:
        call()
    assert raised.value.code == "unsupported_parameter", raised.value.body
    assert raised.value.param == param, raised.value.body
    assert param in raised.value.message
    return raised.value


def anthropic_client(gateway, mock):
    fixture = {"status": 200, "body": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 1}}}
    return translating_client(gateway, mock, "anthropic", store_fixture(mock, fixture), api_key="sk-ant")


def test_chat_to_anthropic(gateway, mock):
    client = anthropic_client(gateway, mock)
    create = lambda **kw: client.chat.completions.create(model="claude-sonnet-4-5", messages=HI, **kw)
    # Dropped silently before: now refused, naming the field and the target.
    error = refused(lambda: create(logit_bias={"50256": -100}), "logit_bias")
    assert "Anthropic" in error.message
    for field, value in [("seed", 7), ("presence_penalty", 0.5), ("frequency_penalty", 0.5),
                         ("verbosity", "low")]:
        refused(lambda: create(**{field: value}), field)
    # Mapped: reasoning_effort is Claude's thinking budget (test_reasoning_caching_claude.py).
    create(reasoning_effort="low")
    assert last_upstream_request(mock)["body"]["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    # Mapped: safety_identifier is Anthropic's metadata.user_id (abuse detection, as at OpenAI).
    assert create(safety_identifier="hash-42").choices[0].message.content == "ok"
    assert last_upstream_request(mock)["body"]["metadata"] == {"user_id": "hash-42"}
    # Dropped with a reason: stored-completion and cache hints; the answer is the same.
    create(store=True, prompt_cache_key="k", service_tier="flex", metadata={"run": "1"})
    sent = last_upstream_request(mock)["body"]
    assert not {"store", "prompt_cache_key", "service_tier", "metadata"} & set(sent), sent
    # JSON null is absence.
    create(extra_body={"logit_bias": None})
    refused(lambda: create(extra_body={"frobnicate": 1}), "frobnicate")
    # A value that asks for nothing has nothing to honour: accepted (frameworks send these always).
    create(presence_penalty=0, frequency_penalty=0.0, logit_bias={})
    sent = last_upstream_request(mock)["body"]
    assert not {"presence_penalty", "frequency_penalty", "logit_bias"} & set(sent), sent
    refused(lambda: create(presence_penalty=0.1), "presence_penalty")


def gemini_client(gateway, mock):
    fixture = {"status": 200, "body": {
        "candidates": [{"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 1, "totalTokenCount": 4}}}
    return translating_client(gateway, mock, "google", store_fixture(mock, fixture), base_path="/v1beta",
                              api_key="gk-test")


def test_chat_to_gemini(gateway, mock):
    client = gemini_client(gateway, mock)
    create = lambda **kw: client.chat.completions.create(model="gemini-2.5-flash", messages=HI, **kw)
    refused(lambda: create(logit_bias={"1": 5}), "logit_bias")
    refused(lambda: create(tools=TOOLS, parallel_tool_calls=False), "parallel_tool_calls")
    create(seed=7, presence_penalty=0.5, frequency_penalty=-0.5)
    generation = last_upstream_request(mock)["body"]["generationConfig"]
    assert (generation["seed"], generation["presencePenalty"], generation["frequencyPenalty"]) == (7, 0.5, -0.5)
    create(reasoning_effort="low")  # mapped: thinkingConfig (Tests/e2e/test_gemini_agents.py)
    assert last_upstream_request(mock)["body"]["generationConfig"]["thinkingConfig"]["thinkingBudget"] == 1024
    create(user="u-1", store=False, prediction={"type": "content", "content": "ok"})
    assert set(last_upstream_request(mock)["body"]) == {"contents", "generationConfig"}
    refused(lambda: create(extra_body={"frobnicate": 1}), "frobnicate")


def bedrock_client(gateway, mock):
    fixture = {"status": 200, "body": {
        "output": {"message": {"role": "assistant", "content": [{"text": "ok"}]}},
        "stopReason": "end_turn", "usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4}}}
    headers = {"x-portkey-provider": "bedrock", "x-portkey-custom-host": mock.url,
               "x-portkey-forward-headers": "x-mock-fixture", "x-mock-fixture": store_fixture(mock, fixture),
               "x-portkey-aws-access-key-id": "AKIDTEST", "x-portkey-aws-secret-access-key": "secret",
               "x-portkey-aws-region": "eu-west-1"}
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0, default_headers=headers)


def test_chat_to_bedrock_converse(gateway, mock):
    client = bedrock_client(gateway, mock)
    create = lambda **kw: client.chat.completions.create(model="anthropic.claude-3-5-sonnet-20240620-v1:0",
                                                         messages=HI, **kw)
    for field, value in [("seed", 7), ("presence_penalty", 0.5), ("logit_bias", {"1": 5})]:
        refused(lambda: create(**{field: value}), field)
    refused(lambda: create(tools=TOOLS, parallel_tool_calls=False), "parallel_tool_calls")
    # Mapped: OpenAI's metadata tags are Converse's requestMetadata (tags on the invocation log).
    create(metadata={"team": "search", "run": "42"})
    sent = json.loads(base64.b64decode(last_upstream_request(mock)["body_base64"]))
    assert sent["requestMetadata"] == {"team": "search", "run": "42"}
    for bad in (["team"], {"run": 42}):
        with pytest.raises(openai.BadRequestError) as raised:
            create(metadata=bad)
        assert raised.value.param == "metadata"
    create(user="u-1", prompt_cache_key="k", safety_identifier="s")
    sent = json.loads(base64.b64decode(last_upstream_request(mock)["body_base64"]))
    assert set(sent) == {"messages", "inferenceConfig"}, sent
    refused(lambda: create(extra_body={"frobnicate": 1}), "frobnicate")


def cohere_client(gateway, mock, fixture):
    return translating_client(gateway, mock, "cohere", store_fixture(mock, fixture), base_path="/v2", api_key="co-key")


def test_chat_to_cohere(gateway, mock):
    client = cohere_client(gateway, mock, {"status": 200, "body": {
        "id": "c-1", "finish_reason": "COMPLETE", "message": {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
        "usage": {"billed_units": {"input_tokens": 3, "output_tokens": 1}}}})
    create = lambda **kw: client.chat.completions.create(model="command-a-03-2025", messages=HI, **kw)
    refused(lambda: create(logit_bias={"1": 5}), "logit_bias")
    refused(lambda: create(functions=[{"name": "f", "parameters": {}}]), "functions")
    create(seed=3, frequency_penalty=0.25, presence_penalty=0.5)
    sent = last_upstream_request(mock)["body"]
    assert (sent["seed"], sent["frequency_penalty"], sent["presence_penalty"]) == (3, 0.25, 0.5)
    create(user="u-1", store=True)
    assert not {"user", "store"} & set(last_upstream_request(mock)["body"])
    refused(lambda: create(extra_body={"frobnicate": 1}), "frobnicate")


def test_embeddings_to_gemini(gateway, mock):
    fixture = {"status": 200, "body": {"embeddings": [{"values": [0.5, 1.0]}]}}
    client = translating_client(gateway, mock, "google", store_fixture(mock, fixture), base_path="/v1beta",
                                api_key="gk-test")
    embed = lambda **kw: client.embeddings.create(model="gemini-embedding-001", input="a", encoding_format="float", **kw)
    assert embed(dimensions=2, user="u-1").data[0].embedding == [0.5, 1.0]
    assert last_upstream_request(mock)["body"]["requests"][0]["outputDimensionality"] == 2
    refused(lambda: embed(extra_body={"frobnicate": 1}), "frobnicate")


def test_embeddings_to_cohere(gateway, mock):
    client = cohere_client(gateway, mock, {"status": 200, "body": {
        "id": "e-1", "embeddings": {"float": [[0.5, 1.0]]}, "texts": ["a"], "meta": {"billed_units": {"input_tokens": 1}}}})
    embed = lambda **kw: client.embeddings.create(model="embed-v4.0", input="a", encoding_format="float", **kw)
    assert embed(dimensions=2, user="u-1", extra_body={"input_type": "search_query"}).data[0].embedding == [0.5, 1.0]
    sent = last_upstream_request(mock)["body"]
    assert (sent["output_dimension"], sent["input_type"]) == (2, "search_query") and "user" not in sent
    refused(lambda: embed(extra_body={"frobnicate": 1}), "frobnicate")


def test_messages_to_chat(gateway, mock):
    completion = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
                  "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
                  "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}
    headers = {"x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1",
               "x-portkey-forward-headers": "x-mock-fixture",
               "x-mock-fixture": store_fixture(mock, {"status": 200, "body": completion})}
    client = anthropic.Anthropic(base_url=gateway.url, api_key="sk-client", max_retries=0, default_headers=headers)
    create = lambda **kw: client.messages.create(model="gpt-4o", max_tokens=20, messages=HI, **kw)
    # Dropped silently before: top_k changed the answer; now a 400 in the Messages dialect naming
    # the field (output_config and thinking are mapped now: test_reasoning_caching_claude.py).
    for extra, field in [({"extra_body": {"top_k": 5}}, "top_k"),
                         ({"output_config": {"task_budget": 5}}, "output_config"),
                         ({"thinking": {"type": "between_tools"}}, "thinking"),
                         ({"extra_body": {"frobnicate": 1}}, "frobnicate")]:
        with pytest.raises(anthropic.BadRequestError) as raised:
            create(**extra)
        assert raised.value.body["error"]["type"] == "invalid_request_error"
        assert f"'{field}'" in raised.value.message or field in raised.value.message, raised.value.message
    # Mapped: metadata.user_id is the chat request's user; dropped: a latency choice.
    assert create(metadata={"user_id": "u-9"}, speed="fast", service_tier="auto",
                  thinking={"type": "disabled"}).content[0].text == "ok"
    sent = last_upstream_request(mock)["body"]
    assert sent["user"] == "u-9" and not {"speed", "service_tier", "thinking"} & set(sent), sent
