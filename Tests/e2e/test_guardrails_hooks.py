"""Guardrail hooks end to end: Portkey configs with hooks, run by the Lua check plugins, through the
portkey-ai and openai SDKs — deny (446), pass, fail without deny (246), mutators on requests and
answers, streams, retries on 446, default guardrail headers, refusals before any upstream call,
hot-dropped plugins, metrics and the request log.

The gateway here serves a copy of the repository's plugins/ with three test plugins added under
`acme/` (a check that fails its first N runs, one that raises, an answer mutator)."""
import json
import shutil
import time

import openai
import pytest
import requests
from portkey_ai import Portkey

from conftest import ROOT, start_gateway

FLAKY = """
-- Fails until it has run `passes_after` times for `key` (counted in gw.store), to test retries.
return {
  parameters = { key = "string", passes_after = "integer" },
  check = function(ctx, params)
    local seen = (tonumber(gw.store.get(params.key) or "0") or 0) + 1
    gw.store.put(params.key, tostring(seen), 60)
    return { verdict = seen > params.passes_after, data = { run = seen } }
  end,
}
"""

BOOM = """
return {
  parameters = { failOnError = "boolean?" },
  check = function() error("the check broke") end,
}
"""

UPPER = """
-- An answer mutator: the assistant's text in capitals.
return {
  events = { "afterRequestHook" },
  check = function(ctx)
    local body = ctx.response.json
    body.choices[1].message.content = string.upper(body.choices[1].message.content)
    return { verdict = true, transformed = true, transformed_data = { response = { json = body } } }
  end,
}
"""


@pytest.fixture(scope="module")
def plugins_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plugins") / "plugins"
    shutil.copytree(ROOT / "plugins", folder)
    (folder / "acme").mkdir(exist_ok=True)
    (folder / "acme" / "flaky.lua").write_text(FLAKY)
    (folder / "acme" / "boom.lua").write_text(BOOM)
    (folder / "acme" / "upper.lua").write_text(UPPER)
    return folder


@pytest.fixture(scope="module")
def hooked(plugins_dir):
    process = start_gateway("--admin-token", "adm", plugins=plugins_dir)
    yield process
    process.stop()


def config(mock, **extra):
    return {"provider": "openai", "api_key": "sk-test", "custom_host": mock.url + "/v1", **extra}


CONTAINS_APPLE = {"type": "guardrail", "id": "no-apple", "deny": True,
                  "checks": [{"id": "default.contains", "parameters": {"operator": "none", "words": ["Apple"]}}]}


def chat(gateway, cfg, content="hello", headers=None, **body):
    return requests.post(gateway.url + "/v1/chat/completions",
                         headers={"x-portkey-config": json.dumps(cfg), **(headers or {})},
                         json={"model": "gpt-4o", "messages": [{"role": "user", "content": content}], **body}, timeout=30)


def test_portkey_sdk_denied_request_gets_446_with_hook_results(hooked, mock):
    client = Portkey(base_url=hooked.url + "/v1", api_key="unused",
                     config=config(mock, before_request_hooks=[CONTAINS_APPLE]))
    with pytest.raises(Exception) as raised:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "I love Apple pie"}])
    assert getattr(raised.value, "status_code", None) == 446
    body = raised.value.body if isinstance(raised.value.body, dict) else json.loads(raised.value.response.text)
    results = body.get("hook_results") or json.loads(raised.value.response.text)["hook_results"]
    check = results["before_request_hooks"][0]["checks"][0]
    assert check["id"] == "default.contains" and check["verdict"] is False

    # The same config lets a clean request through, with the verdicts beside the answer.
    answer = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "I love pears"}])
    assert answer.choices[0].message.content
    raw = chat(hooked, config(mock, before_request_hooks=[CONTAINS_APPLE]), "I love pears")
    assert raw.status_code == 200
    assert raw.json()["hook_results"]["before_request_hooks"][0]["verdict"] is True


def test_denied_request_never_reaches_the_provider(hooked, mock):
    cfg = config(mock, before_request_hooks=[CONTAINS_APPLE])
    response = chat(hooked, cfg, "Apple", headers={"x-mock-record": "true"},
                    mock={"content": "must not be asked"})
    assert response.status_code == 446
    assert response.json()["error"]["type"] == "hooks_failed"
    last = requests.get(mock.url + "/mock/last-request", timeout=5)
    assert "must not be asked" not in last.text


def test_failed_check_without_deny_answers_246_with_the_body(hooked, mock):
    cfg = config(mock, output_guardrails=[{"default.contains": {"operator": "none", "words": ["secret"]}}])
    response = chat(hooked, cfg, mock={"content": "the secret is 42"})
    assert response.status_code == 246
    body = response.json()
    assert body["choices"][0]["message"]["content"] == "the secret is 42"
    assert body["hook_results"]["after_request_hooks"][0]["verdict"] is False
    assert body["hook_results"]["after_request_hooks"][0]["deny"] is False


def test_openai_sdk_sees_denied_output_as_an_error(hooked, mock):
    client = openai.OpenAI(base_url=hooked.url + "/v1", api_key="sk-test", default_headers={
        "x-portkey-config": json.dumps(config(mock, output_guardrails=[
            {"default.contains": {"operator": "none", "words": ["secret"]}, "deny": True}]))})
    with pytest.raises(openai.APIStatusError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
                                       extra_body={"mock": {"content": "the secret is 42"}})
    assert raised.value.status_code == 446
    assert raised.value.response.json()["hook_results"]["after_request_hooks"][0]["checks"][0]["verdict"] is False


def test_request_mutator_rewrites_what_the_provider_gets(hooked, mock):
    cfg = config(mock, input_mutators=[{"default.addPrefix": {"prefix": "Be brief. "}}])
    response = chat(hooked, cfg, "hello", mock={"echo": True})
    assert response.status_code == 200
    sent = json.loads(response.json()["body"]) if "body" in response.json() else None
    assert sent is not None, response.text
    assert sent["messages"][-1]["content"].startswith("Be brief. ")
    assert sent["messages"][-1]["content"].endswith("hello")


def test_answer_mutator_rewrites_what_the_client_gets(hooked, mock):
    cfg = config(mock, output_mutators=[{"acme.upper": {}}])
    response = chat(hooked, cfg, mock={"content": "quiet words"})
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "QUIET WORDS"
    assert response.json()["hook_results"]["after_request_hooks"][0]["transformed"] is True


def test_retry_on_446_until_the_output_passes(hooked, mock):
    key = f"flaky-{time.time_ns()}"
    cfg = config(mock, retry={"attempts": 3, "on_status_codes": [446]},
                 output_guardrails=[{"acme.flaky": {"key": key, "passes_after": 2}, "deny": True}])
    response = chat(hooked, cfg)
    assert response.status_code == 200, response.text
    assert response.headers["x-portkey-retry-attempt-count"] == "2"
    assert response.json()["hook_results"]["after_request_hooks"][0]["checks"][0]["data"]["run"] == 3


def test_before_request_denial_is_not_retried(hooked, mock):
    key = f"flaky-in-{time.time_ns()}"
    cfg = config(mock, retry={"attempts": 3, "on_status_codes": [446]},
                 input_guardrails=[{"acme.flaky": {"key": key, "passes_after": 1}, "deny": True}])
    response = chat(hooked, cfg)
    assert response.status_code == 446
    assert response.headers["x-portkey-retry-attempt-count"] == "0"


def test_a_check_that_raises_passes_unless_fail_on_error(hooked, mock):
    passed = chat(hooked, config(mock, input_guardrails=[{"acme.boom": {}, "deny": True}]))
    assert passed.status_code == 200
    check = passed.json()["hook_results"]["before_request_hooks"][0]["checks"][0]
    assert check["verdict"] is True and "the check broke" in check["error"]
    failed = chat(hooked, config(mock, input_guardrails=[{"acme.boom": {"failOnError": True}, "deny": True}]))
    assert failed.status_code == 446


def test_stream_passes_when_the_output_checks_pass(hooked, mock):
    client = openai.OpenAI(base_url=hooked.url + "/v1", api_key="sk-test", default_headers={
        "x-portkey-config": json.dumps(config(mock, output_guardrails=[
            {"default.contains": {"operator": "none", "words": ["secret"]}, "deny": True}]))})
    stream = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True,
                                            extra_body={"mock": {"content": "all clear here"}})
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "all clear here"


def test_denied_stream_ends_with_an_error_event(hooked, mock):
    client = openai.OpenAI(base_url=hooked.url + "/v1", api_key="sk-test", default_headers={
        "x-portkey-config": json.dumps(config(mock, output_guardrails=[
            {"default.contains": {"operator": "none", "words": ["secret"]}, "deny": True}]))})
    stream = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True,
                                            extra_body={"mock": {"content": "the secret is 42"}})
    with pytest.raises(openai.APIError) as raised:
        for _ in stream:
            pass
    assert "output guardrails" in str(raised.value)


def test_hook_results_event_when_strict_compliance_is_off(hooked, mock):
    cfg = config(mock, output_guardrails=[{"default.contains": {"operator": "any", "words": ["clear"]}}])
    response = requests.post(hooked.url + "/v1/chat/completions", stream=True, timeout=30, headers={
        "x-portkey-config": json.dumps(cfg), "x-portkey-strict-open-ai-compliance": "false"},
        json={"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}],
              "mock": {"content": "all clear"}})
    events = [line[6:] for line in response.iter_lines(decode_unicode=True) if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    results = [json.loads(e) for e in events[:-1] if "hook_results" in e]
    assert results and results[0]["hook_results"]["after_request_hooks"][0]["verdict"] is True


def test_default_guardrail_headers_apply_without_a_config(hooked, mock):
    headers = {"x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1", "authorization": "Bearer sk",
               "x-portkey-default-input-guardrails": json.dumps([{"default.contains": {"operator": "none", "words": ["Apple"]}, "deny": True}])}
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Apple"}]}
    denied = requests.post(hooked.url + "/v1/chat/completions", headers=headers, json=body, timeout=30)
    assert denied.status_code == 446
    body["messages"][0]["content"] = "pear"
    passed = requests.post(hooked.url + "/v1/chat/completions", headers=headers, json=body, timeout=30)
    assert passed.status_code == 200
    assert passed.json()["hook_results"]["before_request_hooks"][0]["verdict"] is True


def test_missing_check_is_refused_before_any_upstream_call(hooked, mock):
    cfg = config(mock, input_guardrails=[{"default.doesNotExist": {}}])
    response = chat(hooked, cfg, headers={"x-mock-record": "true"}, mock={"content": "never asked"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_config"
    assert "config.input_guardrails[0].checks.default.doesNotExist: no check plugin" in error["message"]
    assert "never asked" not in requests.get(mock.url + "/mock/last-request", timeout=5).text


def test_messages_endpoint_denial_is_in_the_messages_shape(hooked, mock):
    cfg = config(mock, input_guardrails=[{"default.contains": {"operator": "none", "words": ["Apple"]}, "deny": True}])
    response = requests.post(hooked.url + "/v1/messages", headers={"x-portkey-config": json.dumps(cfg)},
                             json={"model": "claude-x", "max_tokens": 10, "messages": [{"role": "user", "content": "Apple"}]},
                             timeout=30)
    assert response.status_code == 446
    assert response.json()["type"] == "error"
    assert response.json()["hook_results"]["before_request_hooks"][0]["verdict"] is False


def test_metrics_and_log_line_carry_the_verdicts(hooked, mock):
    chat(hooked, config(mock, before_request_hooks=[CONTAINS_APPLE]), "Apple")
    metrics = requests.get(hooked.url + "/metrics", timeout=5).text
    assert 'switchboard_guardrail_checks_total{check="default.contains",verdict="fail"}' in metrics
    assert "switchboard_guardrail_check_duration_seconds" in metrics
    assert hooked.wait_for(r'"hooks":\[\{"id":"no-apple","verdict":false\}\]')


def test_admin_lists_the_plugins(hooked):
    listing = requests.get(hooked.url + "/admin/scripts", headers={"authorization": "Bearer adm"}, timeout=5).json()
    assert "default.contains" in listing["plugins"] and "acme.flaky" in listing["plugins"]


def test_a_dropped_plugin_is_live_within_a_second(tmp_path, mock, launch):
    folder = tmp_path / "plugins"
    shutil.copytree(ROOT / "plugins", folder)
    gateway = launch(plugins=folder)
    cfg = config(mock, input_guardrails=[{"acme.noSecrets": {}, "deny": True}])
    assert chat(gateway, cfg, "sk-live-123").status_code == 400  # not there yet: refused, not skipped
    (folder / "acme").mkdir()
    (folder / "acme" / "noSecrets.lua").write_text(
        'return { check = function(ctx) return { verdict = not ctx.request.text:find("sk%-") } end }')
    deadline = time.time() + 5
    status = None
    while time.time() < deadline:
        status = chat(gateway, cfg, "sk-live-123").status_code
        if status == 446:
            break
        time.sleep(0.1)
    assert status == 446
    assert chat(gateway, cfg, "nothing to hide").status_code == 200


def test_check_command_validates_hooks_in_the_configs_folder(tmp_path):
    import subprocess
    from conftest import BIN
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "guarded.json").write_text(json.dumps(
        {"provider": "openai", "input_guardrails": [{"default.contains": {"operator": "none", "words": ["x"]}}]}))
    ok = subprocess.run([BIN / "switchboard", "check", "--providers", ROOT / "providers", "--plugins", ROOT / "plugins",
                         "--configs", configs], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "check plugins" in ok.stdout
    (configs / "broken.json").write_text(json.dumps({"provider": "openai", "output_guardrails": [{"acme.missing": {}}]}))
    bad = subprocess.run([BIN / "switchboard", "check", "--providers", ROOT / "providers", "--plugins", ROOT / "plugins",
                          "--configs", configs], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert "configs/broken.json: config.output_guardrails[0].checks.acme.missing: no check plugin 'acme.missing'" in bad.stdout


def test_answer_mutator_rewrites_a_stream(hooked, mock):
    client = openai.OpenAI(base_url=hooked.url + "/v1", api_key="sk-test", default_headers={
        "x-portkey-config": json.dumps(config(mock, output_mutators=[{"acme.upper": {}}]))})
    stream = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True,
                                            stream_options={"include_usage": True},
                                            extra_body={"mock": {"content": "quiet streamed words"}})
    chunks = list(stream)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "QUIET STREAMED WORDS"
    assert chunks[-1].usage is not None  # the rebuilt stream keeps the usage chunk asked for
