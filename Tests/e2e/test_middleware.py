"""Lua middleware (scripts/): the shipped examples, errors, and live edits."""
import json
import shutil
import time

import openai
import pytest

from conftest import ROOT
from http_helpers import CHAT, call, openai_headers


@pytest.fixture
def scripts_with_examples(tmp_path):
    folder = tmp_path / "scripts"
    folder.mkdir()
    for example in (ROOT / "scripts" / "examples").glob("*.lua"):
        shutil.copy(example, folder / example.name)
    return folder


def echo(gateway, mock, content, **extra):
    body = {"model": "gpt-4", "messages": [{"role": "user", "content": content}], "mock": {"echo": True}, **extra}
    return call("POST", gateway.url + "/v1/chat/completions", headers=openai_headers(mock), body=body)


def test_pii_is_redacted_before_the_request_leaves(launch, mock, scripts_with_examples):
    gateway = launch(scripts=scripts_with_examples)
    reply = echo(gateway, mock, "Mail jane.doe+x@example.co.uk or call +1 (555) 010-2030, order 12345.")
    assert reply.status == 200
    sent = json.loads(reply.json()["body"])
    assert sent["messages"][0]["content"] == "Mail [EMAIL] or call [PHONE], order 12345."


def test_the_word_guard_denies_with_446(launch, mock, scripts_with_examples):
    gateway = launch(scripts=scripts_with_examples)
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0, default_headers={
        "x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1"})
    with pytest.raises(openai.APIStatusError) as raised:
        client.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "About Project-X plans"}])
    assert raised.value.status_code == 446
    assert raised.value.body["code"] == "blocked_word"
    assert "blocked word 'project-x'" in raised.value.message


def test_model_aliases_pick_provider_and_model_and_answer_with_the_alias(launch, mock, scripts_with_examples):
    gateway = launch(scripts=scripts_with_examples)
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0, default_headers={
        "x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1", "x-tenant": "acme"})
    raw = client.chat.completions.with_raw_response.create(model="fast", messages=[{"role": "user", "content": "hi"}])
    assert raw.headers["x-portkey-provider"] == "groq"
    assert raw.parse().model == "fast"
    gateway.wait_for(r"tenant=acme status=200 provider=groq stream=false latency_ms=[\d.]+ prompt_tokens=\d+ completion_tokens=\d+")
    sent = json.loads(echo(gateway, mock, "hi", model="fast").json()["body"])
    assert sent["model"] == "llama-3.1-8b-instant"


def test_a_failing_middleware_fails_that_request_clearly_and_the_gateway_keeps_serving(launch, mock, tmp_path):
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "broken.lua").write_text("return { on_request = function(ctx, req)\n  local x = nil\n  return x.field\nend }\n")
    gateway = launch(scripts=folder)
    reply = call("POST", gateway.url + "/v1/chat/completions", headers=openai_headers(mock), body=CHAT)
    assert reply.status == 500
    assert reply.error()["code"] == "script_error" and "scripts/broken.lua:3" in reply.error()["message"]
    assert call("GET", gateway.url + "/health").status == 200


def test_editing_a_middleware_changes_the_next_requests(launch, mock, tmp_path):
    folder = tmp_path / "scripts"
    folder.mkdir()
    gateway = launch(scripts=folder)
    assert echo(gateway, mock, "secret").status == 200
    (folder / "deny.lua").write_text('return { on_request = function() return { status = 446, error = "no" } end }\n')
    deadline = time.monotonic() + 3
    while echo(gateway, mock, "secret").status != 446:
        assert time.monotonic() < deadline, "the new middleware did not take effect"
        time.sleep(0.1)


def test_on_chunk_rewrites_and_drops_stream_events_and_on_log_sees_stream_usage(launch, mock, tmp_path):
    folder = tmp_path / "scripts"
    folder.mkdir()
    shutil.copy(ROOT / "scripts" / "examples" / "tenant_tag.lua", folder)
    (folder / "shout.lua").write_text("""
return {
  on_chunk = function(ctx, chunk)
    if type(chunk.data) ~= "table" then return end      -- [DONE] passes as it is
    local choice = chunk.data.choices and chunk.data.choices[1]
    local delta = choice and choice.delta
    if delta and type(delta.content) == "string" and delta.content:match("^%s*a%s*$") then return false end  -- drop it
    if delta and type(delta.content) == "string" then delta.content = delta.content:upper() end
    return chunk
  end,
}
""")
    gateway = launch(scripts=folder)
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0, default_headers={
        "x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1", "x-tenant": "t1"})
    stream = client.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "hi"}], stream=True,
                                            stream_options={"include_usage": True})
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "THIS IS TEST."  # the mock says "This is a test."; "a " was dropped
    gateway.wait_for(r"tenant=t1 status=200 provider=openai stream=true latency_ms=[\d.]+ prompt_tokens=\d+ completion_tokens=\d+")


def test_scripted_compare_route_calls_two_targets_at_once(launch, mock, scripts_with_examples):
    gateway = launch(scripts=scripts_with_examples)
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0)
    request = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Say this is a test."}],
               "mock": {"latency_ms": 400}}
    targets = [{"name": "a", "headers": {"x-portkey-provider": "openai", "authorization": "Bearer k1",
                                         "x-portkey-custom-host": mock.url + "/v1"}},
               {"name": "b", "headers": {"x-portkey-config": json.dumps(
                   {"provider": "groq", "api_key": "k2", "custom_host": mock.url + "/v1"})}}]
    started = time.monotonic()
    result = client.post("/compare", body={"request": request, "targets": targets}, cast_to=object)
    took = time.monotonic() - started
    assert result["object"] == "comparison"
    assert [a["target"] for a in result["answers"]] == ["a", "b"]
    for answer in result["answers"]:
        assert answer["status"] == 200 and answer["content"] == "This is a test." and answer["error"] is None
        assert answer["latency_ms"] >= 400 and answer["usage"]["total_tokens"] > 0
    assert took < 0.78, took  # both 400 ms calls ran at the same time
    # Bad input gets a clear 400 from the script.
    reply = call("POST", gateway.url + "/v1/compare", headers={"content-type": "application/json"}, body={"targets": []})
    assert reply.status == 400 and reply.json()["error"]["code"] == "invalid_compare"


def test_gw_route_outside_a_handler_is_a_clear_error(launch, mock, tmp_path):
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "bad.lua").write_text("return { on_request = function(ctx, req) gw.route({}) end }\n")
    gateway = launch(scripts=folder)
    reply = call("POST", gateway.url + "/v1/chat/completions", headers=openai_headers(mock), body=CHAT)
    assert reply.status == 500 and "gw.route works only inside a scripted route handler" in reply.error()["message"]


def test_gw_fetch_reaches_only_allow_listed_hosts(launch, mock, tmp_path):
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "fetchy.lua").write_text("""
return { handlers = { ["GET /v1/fetchy"] = function(req)
  local r = gw.fetch { method = "GET", url = req.headers["x-target"] }
  return { status = 200, body = { status = r.status, object = type(r.body) == "table" and r.body.object or gw.json.null,
                                  error = r.error or gw.json.null } }
end } }
""")
    refused = launch(scripts=folder)
    reply = call("GET", refused.url + "/v1/fetchy", headers={"x-target": mock.url + "/v1/models"}).json()
    assert reply["status"] == 0 and reply["error"]["code"] == "host_not_allowed"
    allowed = launch("--allow-host", "127.0.0.1", scripts=folder)
    reply = call("GET", allowed.url + "/v1/fetchy", headers={"x-target": mock.url + "/v1/models"}).json()
    assert reply == {"status": 200, "object": "list", "error": None}
