"""Reasoning on the Responses API through translated providers (issue 14, item 3 for /v1/responses).

The official openai SDK's responses.create / responses.stream with reasoning.effort and
include=["reasoning.encrypted_content"] (as Codex sends them) against provider anthropic: Claude's
thinking comes back as a `reasoning` output item (summary_text + encrypted_content) before the
message and calls, and the signed thinking block goes back to Anthropic, first in the assistant
turn and unchanged, on the next turn — whether the client sends the output items back (Codex,
store false) or names the previous response (previous_response_id). Anthropic rejects a tool-use
continuation whose thinking is missing when thinking is on. Fixtures follow Anthropic's Messages
reference (thinking / redacted_thinking blocks, thinking_delta and signature_delta events) and
DeepSeek's reasoning_content.
"""
import base64
import json

import openai
import pytest

from http_helpers import last_upstream_request, store_fixture
from test_responses import check_sequence, collapse, events_of, sdk

SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds+/=="
REDACTED = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"
THINKING = {"type": "thinking", "thinking": "The user wants the weather in Oslo; I should call the tool.",
            "signature": SIGNATURE}
REDACTED_BLOCK = {"type": "redacted_thinking", "data": REDACTED}
TOOL_USE = {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Oslo"}}
WEATHER = {"type": "function", "name": "get_weather", "description": "Weather in a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
QUESTION = {"role": "user", "content": "Weather in Oslo?"}
CODEX = {"reasoning": {"effort": "medium"}, "include": ["reasoning.encrypted_content"]}


def anthropic_message(content, stop_reason="end_turn", usage=None):
    return {"status": 200, "body": {
        "id": "msg_think_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
        "content": content, "stop_reason": stop_reason, "stop_sequence": None,
        "usage": usage or {"input_tokens": 10, "output_tokens": 5}}}


THINKING_AND_CALL = anthropic_message(
    [THINKING, REDACTED_BLOCK, TOOL_USE], stop_reason="tool_use",
    usage={"input_tokens": 40, "output_tokens": 300, "output_tokens_details": {"thinking_tokens": 250}})
ANSWER = anthropic_message([{"type": "text", "text": "12 °C and rain in Oslo."}])


def assistant_turn(sent):
    turns = [m for m in sent["messages"] if m["role"] == "assistant"]
    assert len(turns) == 1, sent["messages"]
    return turns[0]["content"]


def check_reasoning_item(item, text=THINKING["thinking"]):
    assert item.type == "reasoning" and item.id.startswith("rs_")
    assert [(part.type, part.text) for part in item.summary] == [("summary_text", text)]
    # Opaque to the client, but it carries the signed blocks.
    assert isinstance(item.encrypted_content, str) and item.encrypted_content.startswith("sb1:")


def test_reasoning_item_and_its_thinking_back_codex_style(gateway, mock):
    first = sdk(gateway, mock, "anthropic", THINKING_AND_CALL).responses.create(
        model="claude-sonnet-4-5", input=[QUESTION], tools=[WEATHER], store=False, **CODEX)
    sent = last_upstream_request(mock)["body"]
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 4096}

    # The reasoning first, then the call; reasoning tokens in the usage.
    assert [item.type for item in first.output] == ["reasoning", "function_call"]
    check_reasoning_item(first.output[0])
    assert first.output[1].call_id == "toolu_01"
    assert first.usage.output_tokens_details.reasoning_tokens == 250

    # Codex's next turn: the output items as they came, then the tool's output. The thinking
    # reaches Anthropic first in the assistant turn, signature intact, redacted block too.
    client = sdk(gateway, mock, "anthropic", ANSWER)
    second = client.responses.create(
        model="claude-sonnet-4-5", tools=[WEATHER], store=False, **CODEX,
        input=[QUESTION, *[item.model_dump(exclude_none=True) for item in first.output],
               {"type": "function_call_output", "call_id": "toolu_01", "output": "12 °C, rain"}])
    assert second.output_text == "12 °C and rain in Oslo."
    sent = last_upstream_request(mock)["body"]
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    assert assistant_turn(sent) == [THINKING, REDACTED_BLOCK, TOOL_USE]
    assert sent["messages"][2]["content"][0]["type"] == "tool_result"


def test_previous_response_id_carries_the_thinking(gateway, mock):
    # The Agents SDK's way: only the function_call_output and the previous id. The stored
    # conversation keeps the reasoning item whole, so the thinking goes back too.
    first = sdk(gateway, mock, "anthropic", THINKING_AND_CALL).responses.create(
        model="claude-sonnet-4-5", input="Weather in Oslo?", tools=[WEATHER], reasoning={"effort": "medium"})
    assert [item.type for item in first.output] == ["reasoning", "function_call"]
    sdk(gateway, mock, "anthropic", ANSWER).responses.create(
        model="claude-sonnet-4-5", tools=[WEATHER], reasoning={"effort": "medium"}, previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": "toolu_01", "output": "12 °C, rain"}])
    sent = last_upstream_request(mock)["body"]
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    assert assistant_turn(sent) == [THINKING, REDACTED_BLOCK, TOOL_USE]


def sse(*events):
    return {"status": 200, "events": [{"event": e["type"], "data": e} for e in events]}


STREAMED = sse(
    {"type": "message_start", "message": {
        "id": "msg_s", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5", "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 20, "output_tokens": 1}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "The user wants the weather"}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": " in Oslo; I should call the tool."}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": SIGNATURE}},
    {"type": "content_block_stop", "index": 0},
    {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Checking."}},
    {"type": "content_block_stop", "index": 1},
    {"type": "content_block_start", "index": 2, "content_block": {**TOOL_USE, "input": {}}},
    {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": '{"city":"Oslo"}'}},
    {"type": "content_block_stop", "index": 2},
    {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
     "usage": {"output_tokens": 90, "output_tokens_details": {"thinking_tokens": 60}}},
    {"type": "message_stop"})

REASONING_EVENTS = ["response.output_item.added", "response.reasoning_summary_part.added",
                    "response.reasoning_summary_text.delta", "response.reasoning_summary_text.done",
                    "response.reasoning_summary_part.done", "response.output_item.done"]


def test_streamed_reasoning_events_in_openai_order(gateway, mock):
    client = sdk(gateway, mock, "anthropic", STREAMED)
    with client.responses.stream(model="claude-sonnet-4-5", input=[QUESTION], tools=[WEATHER], store=False,
                                 **CODEX) as stream:
        events = events_of(stream)
        final = stream.get_final_response()
    kinds = collapse(check_sequence(events))
    assert kinds == ["response.created", "response.in_progress", *REASONING_EVENTS,
                     "response.output_item.added", "response.content_part.added", "response.output_text.delta",
                     "response.output_text.done", "response.content_part.done", "response.output_item.done",
                     "response.output_item.added", "response.function_call_arguments.delta",
                     "response.function_call_arguments.done", "response.output_item.done", "response.completed"]
    rs_id = events[2].item.id
    summary_events = [e for e in events if e.type.startswith("response.reasoning_summary")]
    assert all((e.item_id, e.output_index, e.summary_index) == (rs_id, 0, 0) for e in summary_events)
    deltas = [e.delta for e in events if e.type == "response.reasoning_summary_text.delta"]
    assert "".join(deltas) == THINKING["thinking"] and len(deltas) == 2
    done = next(e for e in events if e.type == "response.reasoning_summary_text.done")
    assert done.text == THINKING["thinking"]
    part_done = next(e for e in events if e.type == "response.reasoning_summary_part.done")
    assert (part_done.part.type, part_done.part.text) == ("summary_text", THINKING["thinking"])
    # The item is added without the blocks (they are not complete yet) and done with them.
    assert events[2].item.type == "reasoning" and events[2].item.encrypted_content is None
    item_done = next(e for e in events if e.type == "response.output_item.done")
    assert item_done.output_index == 0 and item_done.item.id == rs_id
    check_reasoning_item(item_done.item)

    # The SDK's accumulated response has the reasoning item first, and the usage its tokens.
    assert [item.type for item in final.output] == ["reasoning", "message", "function_call"]
    check_reasoning_item(final.output[0])
    assert final.output[0].encrypted_content == item_done.item.encrypted_content
    assert final.usage.output_tokens_details.reasoning_tokens == 60
    assert [e.output_index for e in events if e.type == "response.output_item.done"] == [0, 1, 2]

    # Back on the next turn, the streamed thinking block arrives whole, signature intact.
    sdk(gateway, mock, "anthropic", ANSWER).responses.create(
        model="claude-sonnet-4-5", tools=[WEATHER], store=False, **CODEX,
        input=[QUESTION, *[item.model_dump(exclude_none=True) for item in final.output],
               {"type": "function_call_output", "call_id": "toolu_01", "output": "12 °C, rain"}])
    sent = last_upstream_request(mock)["body"]
    assert assistant_turn(sent) == [THINKING, {"type": "text", "text": "Checking."}, TOOL_USE]


def test_streamed_reasoning_is_kept_for_previous_response_id(gateway, mock):
    with sdk(gateway, mock, "anthropic", STREAMED).responses.stream(
            model="claude-sonnet-4-5", input=[QUESTION], tools=[WEATHER], reasoning={"effort": "medium"}) as stream:
        final = stream.get_final_response()
    sdk(gateway, mock, "anthropic", ANSWER).responses.create(
        model="claude-sonnet-4-5", tools=[WEATHER], reasoning={"effort": "medium"}, previous_response_id=final.id,
        input=[{"type": "function_call_output", "call_id": "toolu_01", "output": "12 °C, rain"}])
    assert assistant_turn(last_upstream_request(mock)["body"])[0] == THINKING


def test_reasoning_content_of_a_chat_provider_is_a_reasoning_item(gateway, mock):
    # DeepSeek's reasoning_content (no signed blocks): a reasoning item with its summary and no
    # encrypted_content; sent back, it is dropped like any reasoning item the gateway did not seal.
    fixture = {"status": 200, "body": {
        "id": "chatcmpl-r", "object": "chat.completion", "created": 1, "model": "deepseek-reasoner",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {
            "role": "assistant", "content": "42.", "reasoning_content": "Six times seven is 42."}}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 20, "total_tokens": 29,
                  "completion_tokens_details": {"reasoning_tokens": 12}}}}
    response = sdk(gateway, mock, "deepseek", fixture).responses.create(
        model="deepseek-reasoner", input="6*7?", **CODEX)
    assert [item.type for item in response.output] == ["reasoning", "message"]
    item = response.output[0]
    assert [(p.type, p.text) for p in item.summary] == [("summary_text", "Six times seven is 42.")]
    assert item.encrypted_content is None
    assert response.output_text == "42." and response.usage.output_tokens_details.reasoning_tokens == 12
    sdk(gateway, mock, "deepseek", fixture).responses.create(
        model="deepseek-reasoner", input=[{"role": "user", "content": "6*7?"},
                                          *[i.model_dump(exclude_none=True) for i in response.output],
                                          {"role": "user", "content": "And 6*8?"}])
    sent = last_upstream_request(mock)["body"]
    assert sent["messages"] == [{"role": "user", "content": "6*7?"}, {"role": "assistant", "content": "42."},
                                {"role": "user", "content": "And 6*8?"}]


def test_foreign_reasoning_items_are_dropped_and_a_broken_seal_is_refused(gateway, mock):
    client = sdk(gateway, mock, "anthropic", ANSWER)
    call_item = {"type": "function_call", "call_id": "toolu_01", "name": "get_weather", "arguments": '{"city":"Oslo"}'}
    output = {"type": "function_call_output", "call_id": "toolu_01", "output": "12 °C"}
    # OpenAI's own encrypted reasoning (a conversation that began on OpenAI): left out, as before.
    client.responses.create(model="claude-sonnet-4-5", tools=[WEATHER], input=[
        QUESTION, {"type": "reasoning", "id": "rs_openai", "summary": [], "encrypted_content": "gAAAAABpF0x"},
        call_item, output])
    assert assistant_turn(last_upstream_request(mock)["body"]) == [TOOL_USE]
    # Something that claims to be ours but is not: a 400 naming the field, nothing sent.
    broken = "sb1:" + base64.urlsafe_b64encode(json.dumps({"not": "blocks"}).encode()).decode()
    for content in [broken, "sb1:%%%"]:
        with pytest.raises(openai.BadRequestError) as raised:
            client.responses.create(model="claude-sonnet-4-5", tools=[WEATHER], input=[
                QUESTION, {"type": "reasoning", "id": "rs_x", "summary": [], "encrypted_content": content},
                call_item, output])
        assert raised.value.body["param"] == "input[1].encrypted_content"


def test_streamed_reasoning_content_of_a_chat_provider(gateway, mock):
    # A DeepSeek-style stream: reasoning_content deltas, then the answer. One reasoning item with
    # the whole text as its summary and nothing sealed (no signed blocks).
    def chunk(delta, finish=None):
        return {"data": {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "model": "deepseek-reasoner",
                         "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}}
    events = [chunk({"role": "assistant", "content": None, "reasoning_content": "Six times"}),
              chunk({"content": None, "reasoning_content": " seven is 42."}),
              chunk({"content": "42."}), chunk({}, finish="stop"),
              {"data": {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "model": "deepseek-reasoner",
                        "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 20, "total_tokens": 29,
                                                 "completion_tokens_details": {"reasoning_tokens": 12}}}},
              {"data": "[DONE]"}]
    with sdk(gateway, mock, "deepseek", {"status": 200, "events": events}).responses.stream(
            model="deepseek-reasoner", input="6*7?", reasoning={"effort": "high"}) as stream:
        seen = events_of(stream)
        final = stream.get_final_response()
    assert collapse(check_sequence(seen)) == ["response.created", "response.in_progress", *REASONING_EVENTS,
                                              "response.output_item.added", "response.content_part.added",
                                              "response.output_text.delta", "response.output_text.done",
                                              "response.content_part.done", "response.output_item.done",
                                              "response.completed"]
    assert [item.type for item in final.output] == ["reasoning", "message"]
    assert [(p.type, p.text) for p in final.output[0].summary] == [("summary_text", "Six times seven is 42.")]
    assert final.output[0].encrypted_content is None
    assert final.output_text == "42." and final.usage.output_tokens_details.reasoning_tokens == 12
