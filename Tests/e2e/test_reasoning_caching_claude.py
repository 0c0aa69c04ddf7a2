"""Reasoning, prompt caching and structured output across the Claude translations (issue 14, 3–5).

The official openai SDK against provider anthropic, Claude on vertex-ai and bedrock (Converse), and
the official anthropic SDK against /v1/messages to an OpenAI-compatible provider (deepseek). The
mock answers with fixtures written from each API's reference: Anthropic Messages thinking /
redacted_thinking blocks and their stream events (thinking_delta, signature_delta), Converse
reasoningContent blocks and deltas, cachePoint blocks and cache usage, DeepSeek's reasoning_content.
"""
import base64
import json

import anthropic
import openai
import pytest
from pydantic import BaseModel

from http_helpers import last_upstream_request, store_fixture, translating_client
from test_bedrock import client_for as bedrock_client, frame, stream_fixture
from test_vertex import client_for as vertex_client

SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
REDACTED = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"
THINKING = {"type": "thinking", "thinking": "The user wants the weather; I should call the tool.", "signature": SIGNATURE}
REDACTED_BLOCK = {"type": "redacted_thinking", "data": REDACTED}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]


def anthropic_message(content, stop_reason="end_turn", usage=None):
    return {"status": 200, "body": {
        "id": "msg_think_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
        "content": content, "stop_reason": stop_reason, "stop_sequence": None,
        "usage": usage or {"input_tokens": 10, "output_tokens": 5}}}


def sse(*events):
    return {"status": 200, "events": [{"event": e["type"], "data": e} for e in events]}


def extra(model, name):
    return (model.model_extra or {}).get(name)


# MARK: chat -> Anthropic


def test_reasoning_effort_thinking_blocks_and_a_tool_round_trip(gateway, mock):
    name = store_fixture(mock, anthropic_message(
        [THINKING, REDACTED_BLOCK, {"type": "text", "text": "Let me check."},
         {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Oslo"}}],
        stop_reason="tool_use",
        usage={"input_tokens": 40, "output_tokens": 300, "output_tokens_details": {"thinking_tokens": 250}}))
    client = translating_client(gateway, mock, "anthropic", name, api_key="sk-ant")
    question = {"role": "user", "content": "Weather in Oslo?"}
    completion = client.chat.completions.create(
        model="claude-sonnet-4-5", messages=[question], tools=TOOLS, reasoning_effort="medium",
        max_completion_tokens=1000)
    sent = last_upstream_request(mock)["body"]
    # medium is a 4096-token budget; max_tokens must exceed it, so the client's 1000 come on top.
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    assert sent["max_tokens"] == 5096

    message = completion.choices[0].message
    assert message.content == "Let me check." and message.tool_calls[0].id == "toolu_01"
    assert extra(message, "reasoning_content") == THINKING["thinking"]
    assert extra(message, "thinking_blocks") == [THINKING, REDACTED_BLOCK]
    assert completion.usage.completion_tokens_details.reasoning_tokens == 250

    # The next turn: the assistant message as the client got it, then the tool's result. The
    # thinking goes back to Anthropic first in the assistant content, unchanged.
    client.chat.completions.create(
        model="claude-sonnet-4-5", tools=TOOLS, reasoning_effort="medium",
        messages=[question, message.model_dump(exclude_none=True),
                  {"role": "tool", "tool_call_id": "toolu_01", "content": "12 °C, rain"}])
    sent = last_upstream_request(mock)["body"]
    assert sent["messages"][1] == {"role": "assistant", "content": [
        THINKING, REDACTED_BLOCK, {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Oslo"}}]}
    assert sent["messages"][2]["content"][0]["type"] == "tool_result"
    assert sent["max_tokens"] == 4096 + 4096  # no max given: the budget on top of the default


def test_reasoning_effort_none_and_bad_values(gateway, mock):
    client = translating_client(gateway, mock, "anthropic", store_fixture(mock, anthropic_message(
        [{"type": "text", "text": "ok"}])), api_key="sk-ant")
    create = lambda **kw: client.chat.completions.create(model="claude-sonnet-4-5",
                                                         messages=[{"role": "user", "content": "hi"}], **kw)
    create(reasoning_effort="none", max_tokens=50)
    sent = last_upstream_request(mock)["body"]
    assert "thinking" not in sent and sent["max_tokens"] == 50
    create(reasoning_effort="high", max_tokens=20000)
    assert last_upstream_request(mock)["body"]["thinking"]["budget_tokens"] == 16384
    assert last_upstream_request(mock)["body"]["max_tokens"] == 20000  # room enough: unchanged
    with pytest.raises(openai.BadRequestError) as raised:
        create(extra_body={"reasoning_effort": "extreme"})
    assert raised.value.param == "reasoning_effort"
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="claude-sonnet-4-5", messages=[
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "x", "thinking_blocks": [{"type": "thinking", "thinking": "t"}]},
            {"role": "user", "content": "and?"}])
    assert raised.value.param == "messages[1].thinking_blocks[0].signature"


def test_claude_4_6_and_later_get_adaptive_thinking_with_an_effort(gateway, mock):
    # Opus 4.7 and Claude 5 refuse the budget form; 4.6 deprecates it: {"type": "adaptive"} and
    # output_config.effort instead. Older models keep the budget.
    client = translating_client(gateway, mock, "anthropic", store_fixture(mock, anthropic_message(
        [{"type": "text", "text": "ok"}])), api_key="sk-ant")
    for model, effort in [("claude-opus-4-7", "high"), ("claude-sonnet-4-6", "minimal"), ("claude-sonnet-5", "medium")]:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], reasoning_effort=effort,
                                       max_completion_tokens=2000)
        sent = last_upstream_request(mock)["body"]
        assert sent["thinking"] == {"type": "adaptive"}, model
        assert sent["output_config"] == {"effort": {"minimal": "low"}.get(effort, effort)}, model
        assert sent["max_tokens"] == 2000
    for model in ["claude-sonnet-4-5-20250929", "claude-3-7-sonnet-20250219", "claude-opus-4-20250514", "claude-opus-4-1"]:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], reasoning_effort="high")
        assert last_upstream_request(mock)["body"]["thinking"] == {"type": "enabled", "budget_tokens": 16384}, model
    # Structured output and an effort share output_config.
    client.chat.completions.create(model="claude-opus-4-7", messages=[{"role": "user", "content": "hi"}],
                                   reasoning_effort="low", response_format={"type": "json_schema", "json_schema": {
                                       "name": "w", "schema": Weather.model_json_schema()}})
    config = last_upstream_request(mock)["body"]["output_config"]
    assert config["effort"] == "low" and config["format"]["type"] == "json_schema"


def test_streamed_thinking_keeps_its_signature(gateway, mock):
    start = {"type": "message_start", "message": {
        "id": "msg_s", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5", "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 20, "output_tokens": 1}}}
    name = store_fixture(mock, sse(
        start,
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "The user wants "}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "the weather."}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": SIGNATURE}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": REDACTED_BLOCK},
        {"type": "content_block_stop", "index": 1},
        {"type": "content_block_start", "index": 2, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "text_delta", "text": "Checking."}},
        {"type": "content_block_stop", "index": 2},
        {"type": "content_block_start", "index": 3, "content_block": {
            "type": "tool_use", "id": "toolu_02", "name": "get_weather", "input": {}}},
        {"type": "content_block_delta", "index": 3, "delta": {"type": "input_json_delta", "partial_json": '{"city":"Oslo"}'}},
        {"type": "content_block_stop", "index": 3},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
         "usage": {"output_tokens": 90, "cache_read_input_tokens": 64}},
        {"type": "message_stop"}))
    client = translating_client(gateway, mock, "anthropic", name, api_key="sk-ant")
    chunks = list(client.chat.completions.create(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "Weather in Oslo?"}], tools=TOOLS,
        reasoning_effort="low", stream=True, stream_options={"include_usage": True}))
    assert last_upstream_request(mock)["body"]["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert "".join(extra(d, "reasoning_content") or "" for d in deltas) == "The user wants the weather."
    blocks = [b for d in deltas for b in (extra(d, "thinking_blocks") or [])]
    assert blocks == [{"type": "thinking", "thinking": "The user wants the weather.", "signature": SIGNATURE}, REDACTED_BLOCK]
    # The reasoning comes before the answer text, as Claude wrote it.
    first_text = next(i for i, d in enumerate(deltas) if d.content)
    assert all(i < first_text for i, d in enumerate(deltas) if extra(d, "reasoning_content"))
    assert "".join(d.content or "" for d in deltas) == "Checking."
    assert chunks[-1].usage.prompt_tokens == 84 and chunks[-1].usage.prompt_tokens_details.cached_tokens == 64


def test_cache_control_is_kept_for_anthropic_and_claude_on_vertex(gateway, mock):
    ephemeral = {"type": "ephemeral"}
    messages = [
        {"role": "system", "content": [{"type": "text", "text": "You are a contracts lawyer."},
                                       {"type": "text", "text": "<the whole contract>", "cache_control": ephemeral}]},
        {"role": "user", "content": [{"type": "text", "text": "Earlier question", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]},
        {"role": "assistant", "content": "Earlier answer"},
        {"role": "user", "content": "What does clause 4 say?"}]
    tools = [{**TOOLS[0], "cache_control": ephemeral}]
    usage = {"input_tokens": 12, "output_tokens": 6, "cache_read_input_tokens": 2000, "cache_creation_input_tokens": 300}
    fixture = anthropic_message([{"type": "text", "text": "Clause 4 …"}], usage=usage)
    expected_system = [{"type": "text", "text": "You are a contracts lawyer."},
                       {"type": "text", "text": "<the whole contract>", "cache_control": ephemeral}]
    for client, model in [(translating_client(gateway, mock, "anthropic", store_fixture(mock, fixture), api_key="sk-ant"),
                           "claude-sonnet-4-5"),
                          (vertex_client(gateway, mock, fixture), "claude-sonnet-4-5@20250929")]:
        completion = client.chat.completions.create(model=model, messages=messages, tools=tools)
        sent = last_upstream_request(mock)["body"]
        assert sent["system"] == expected_system
        assert sent["messages"][0]["content"] == [
            {"type": "text", "text": "Earlier question", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
        assert sent["tools"][0]["cache_control"] == ephemeral
        # OpenAI counts cached tokens inside prompt_tokens: input + cache reads + cache writes.
        assert completion.usage.prompt_tokens == 2312
        assert completion.usage.prompt_tokens_details.cached_tokens == 2000


class Weather(BaseModel):
    city: str
    celsius: int


def test_response_format_json_schema_is_structured_output(gateway, mock):
    name = store_fixture(mock, anthropic_message([{"type": "text", "text": '{"city": "Oslo", "celsius": 12}'}]))
    client = translating_client(gateway, mock, "anthropic", name, api_key="sk-ant")
    completion = client.chat.completions.parse(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "Weather in Oslo as JSON"}],
        response_format=Weather)
    assert completion.choices[0].message.parsed == Weather(city="Oslo", celsius=12)
    format_ = last_upstream_request(mock)["body"]["output_config"]["format"]
    assert format_["type"] == "json_schema" and format_["schema"]["properties"]["celsius"] == {"title": "Celsius", "type": "integer"}
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="claude-sonnet-4-5", messages=[{"role": "user", "content": "x"}],
                                       response_format={"type": "json_object"})
    assert raised.value.param == "response_format"


# MARK: chat -> Bedrock Converse

BEDROCK_CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def bedrock_sent(mock):
    return json.loads(base64.b64decode(last_upstream_request(mock)["body_base64"]))


def test_bedrock_reasoning_round_trip_cache_points_and_cached_tokens(gateway, mock):
    fixture = {"status": 200, "body": {
        "output": {"message": {"role": "assistant", "content": [
            {"reasoningContent": {"reasoningText": {"text": THINKING["thinking"], "signature": SIGNATURE}}},
            {"reasoningContent": {"redactedContent": REDACTED}},
            {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Oslo"}}}]}},
        "stopReason": "tool_use",
        "usage": {"inputTokens": 30, "outputTokens": 200, "totalTokens": 1430,
                  "cacheReadInputTokens": 1000, "cacheWriteInputTokens": 200}}}
    client = bedrock_client(gateway, mock, fixture)
    ephemeral = {"type": "ephemeral"}
    question = {"role": "user", "content": [{"type": "text", "text": "<long document>", "cache_control": ephemeral},
                                            {"type": "text", "text": "Weather in Oslo?"}]}
    system = {"role": "system", "content": [{"type": "text", "text": "Be brief.",
                                              "cache_control": {"type": "ephemeral", "ttl": "1h"}}]}
    completion = client.chat.completions.create(
        model=BEDROCK_CLAUDE, messages=[system, question], tools=[{**TOOLS[0], "cache_control": ephemeral}],
        reasoning_effort="high")
    sent = bedrock_sent(mock)
    assert sent["additionalModelRequestFields"] == {"thinking": {"type": "enabled", "budget_tokens": 16384}}
    assert sent["inferenceConfig"]["maxTokens"] == 16384 + 4096
    point = {"cachePoint": {"type": "default"}}
    assert sent["system"] == [{"text": "Be brief."}, {"cachePoint": {"type": "default", "ttl": "1h"}}]
    assert sent["messages"][0]["content"] == [{"text": "<long document>"}, point, {"text": "Weather in Oslo?"}]
    assert sent["toolConfig"]["tools"][1] == point and "toolSpec" in sent["toolConfig"]["tools"][0]

    message = completion.choices[0].message
    assert extra(message, "reasoning_content") == THINKING["thinking"]
    assert extra(message, "thinking_blocks") == [THINKING, REDACTED_BLOCK]
    assert completion.usage.prompt_tokens == 1230 and completion.usage.prompt_tokens_details.cached_tokens == 1000

    client.chat.completions.create(
        model=BEDROCK_CLAUDE, tools=TOOLS, reasoning_effort="high",
        messages=[question, message.model_dump(exclude_none=True),
                  {"role": "tool", "tool_call_id": "tooluse_1", "content": "12 °C"}])
    assert bedrock_sent(mock)["messages"][1]["content"] == [
        {"reasoningContent": {"reasoningText": {"text": THINKING["thinking"], "signature": SIGNATURE}}},
        {"reasoningContent": {"redactedContent": REDACTED}},
        {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Oslo"}}}]

    # Another model family on Bedrock has no Claude thinking: refused, not dropped.
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="amazon.nova-pro-v1:0", messages=[{"role": "user", "content": "x"}],
                                       reasoning_effort="low")
    assert raised.value.param == "reasoning_effort"


def test_bedrock_adaptive_thinking_and_structured_output(gateway, mock):
    fixture = {"status": 200, "body": {
        "output": {"message": {"role": "assistant", "content": [{"text": '{"city": "Oslo", "celsius": 12}'}]}},
        "stopReason": "end_turn", "usage": {"inputTokens": 3, "outputTokens": 9, "totalTokens": 12}}}
    completion = bedrock_client(gateway, mock, fixture).chat.completions.parse(
        model="us.anthropic.claude-opus-4-6-v1", messages=[{"role": "user", "content": "Oslo?"}],
        reasoning_effort="medium", response_format=Weather)
    assert completion.choices[0].message.parsed == Weather(city="Oslo", celsius=12)
    sent = bedrock_sent(mock)
    assert sent["additionalModelRequestFields"] == {"thinking": {"type": "adaptive"}, "output_config": {"effort": "medium"}}
    assert sent["inferenceConfig"]["maxTokens"] == 4096 + 4096
    text_format = sent["outputConfig"]["textFormat"]
    assert text_format["type"] == "json_schema" and text_format["structure"]["jsonSchema"]["name"] == "Weather"
    assert json.loads(text_format["structure"]["jsonSchema"]["schema"])["required"] == ["city", "celsius"]


def test_bedrock_streamed_reasoning(gateway, mock):
    fixture = stream_fixture(
        frame("messageStart", {"role": "assistant"}),
        frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "Think "}}}),
        frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "hard."}}}),
        frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": SIGNATURE}}}),
        frame("contentBlockStop", {"contentBlockIndex": 0}),
        frame("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "Done."}}),
        frame("contentBlockStop", {"contentBlockIndex": 1}),
        frame("messageStop", {"stopReason": "end_turn"}),
        frame("metadata", {"usage": {"inputTokens": 8, "outputTokens": 6, "totalTokens": 64, "cacheReadInputTokens": 50},
                           "metrics": {"latencyMs": 9}}))
    chunks = list(bedrock_client(gateway, mock, fixture).chat.completions.create(
        model=BEDROCK_CLAUDE, messages=[{"role": "user", "content": "x"}], reasoning_effort="minimal",
        stream=True, stream_options={"include_usage": True}))
    assert bedrock_sent(mock)["additionalModelRequestFields"]["thinking"]["budget_tokens"] == 1024
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert "".join(extra(d, "reasoning_content") or "" for d in deltas) == "Think hard."
    assert [b for d in deltas for b in (extra(d, "thinking_blocks") or [])] == [
        {"type": "thinking", "thinking": "Think hard.", "signature": SIGNATURE}]
    assert "".join(d.content or "" for d in deltas) == "Done."
    assert chunks[-1].usage.prompt_tokens_details.cached_tokens == 50


# MARK: /v1/messages -> an OpenAI-compatible provider (deepseek)


def deepseek(gateway, mock, fixture):
    headers = {"x-portkey-provider": "deepseek", "x-portkey-custom-host": mock.url,
               "x-portkey-forward-headers": "x-mock-fixture", "x-mock-fixture": store_fixture(mock, fixture)}
    return anthropic.Anthropic(base_url=gateway.url, api_key="sk-ds", max_retries=0, default_headers=headers)


def chat_completion(message, usage=None):
    return {"status": 200, "body": {
        "id": "chatcmpl-ds", "object": "chat.completion", "created": 1, "model": "deepseek-reasoner",
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": "stop"}],
        "usage": usage or {"prompt_tokens": 100, "completion_tokens": 40, "total_tokens": 140,
                           "prompt_tokens_details": {"cached_tokens": 64},
                           "completion_tokens_details": {"reasoning_tokens": 30}}}}


def test_messages_thinking_becomes_reasoning_effort_and_reasoning_content_a_thinking_block(gateway, mock):
    client = deepseek(gateway, mock, chat_completion({"reasoning_content": "Nine is 3 squared.", "content": "3"}))
    message = client.messages.create(
        model="deepseek-reasoner", max_tokens=20000, messages=[{"role": "user", "content": "sqrt(9)?"}],
        thinking={"type": "enabled", "budget_tokens": 10000})
    assert last_upstream_request(mock)["body"]["reasoning_effort"] == "high"
    assert [b.type for b in message.content] == ["thinking", "text"]
    assert message.content[0].thinking == "Nine is 3 squared." and message.content[0].signature == ""
    assert message.content[1].text == "3"
    # Cached prompt tokens: OpenAI counts them in prompt_tokens, Anthropic apart.
    assert (message.usage.input_tokens, message.usage.cache_read_input_tokens) == (36, 64)
    assert message.usage.output_tokens == 40 and message.usage.output_tokens_details.thinking_tokens == 30
    for budget, effort in [(1024, "low"), (4096, "medium")]:
        client.messages.create(model="deepseek-reasoner", max_tokens=20000, messages=[{"role": "user", "content": "x"}],
                               thinking={"type": "enabled", "budget_tokens": budget})
        assert last_upstream_request(mock)["body"]["reasoning_effort"] == effort
    client.messages.create(model="deepseek-reasoner", max_tokens=20000, messages=[{"role": "user", "content": "x"}],
                           thinking={"type": "adaptive"}, output_config={"effort": "low"})
    assert last_upstream_request(mock)["body"]["reasoning_effort"] == "low"


def test_messages_stream_reasoning_content_as_a_thinking_block(gateway, mock):
    def chunk(delta, finish=None):
        return {"data": {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "deepseek-reasoner",
                         "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}}
    events = [chunk({"role": "assistant", "content": ""}), chunk({"reasoning_content": "Nine "}),
              chunk({"reasoning_content": "is 3²."}), chunk({"content": "3"}), chunk({}, "stop"),
              {"data": {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "deepseek-reasoner",
                        "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
                                                 "completion_tokens_details": {"reasoning_tokens": 4}}}},
              {"data": "[DONE]"}]
    client = deepseek(gateway, mock, {"status": 200, "events": events})
    with client.messages.stream(model="deepseek-reasoner", max_tokens=4000, messages=[{"role": "user", "content": "x"}],
                                thinking={"type": "enabled", "budget_tokens": 2048}) as stream:
        kinds = [(e.type, getattr(getattr(e, "delta", None), "type", None)) for e in stream]
        final = stream.get_final_message()
    assert last_upstream_request(mock)["body"]["reasoning_effort"] == "medium"
    assert ("content_block_delta", "thinking_delta") in kinds
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == "Nine is 3²." and final.content[1].text == "3"
    assert final.usage.output_tokens_details.thinking_tokens == 4


def test_messages_parse_output_format_through_a_chat_provider(gateway, mock):
    client = deepseek(gateway, mock, chat_completion({"content": '{"city": "Oslo", "celsius": 12}'}))
    message = client.messages.parse(model="deepseek-chat", max_tokens=200, output_format=Weather,
                                    messages=[{"role": "user", "content": "Weather in Oslo as JSON"}])
    assert message.parsed_output == Weather(city="Oslo", celsius=12)
    sent = last_upstream_request(mock)["body"]
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["strict"] is True
    assert sent["response_format"]["json_schema"]["schema"]["required"] == ["city", "celsius"]
