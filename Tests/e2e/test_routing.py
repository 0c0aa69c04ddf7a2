"""Routing configs (x-portkey-config) end to end: Portkey's two documented examples, verbatim plus
custom_host, through the official openai SDK and the mock provider."""
import collections
import time
import json

import openai
import pytest

from http_helpers import call


def client(gateway, config):
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0,
                         default_headers={"x-portkey-config": json.dumps(config)})


def requests_seen(mock):
    return call("GET", mock.url + "/mock/stats").json()["requests"]


def test_fallback_example_retries_openai_then_answers_from_gemini(launch, mock):
    gateway = launch("--retry-backoff-base", "5", "--retry-backoff-cap", "20")
    config = {"retry": {"count": 5}, "strategy": {"mode": "fallback"},
              "targets": [{"provider": "openai", "api_key": "sk-***", "custom_host": mock.url + "/v1",
                           "override_params": {"mock": {"status": 503}}},
                          {"provider": "google", "api_key": "gt5***", "override_params": {"model": "gemini-pro"},
                           "custom_host": mock.url + "/v1beta"}]}
    before = requests_seen(mock)
    # The mock control (on the OpenAI target only: the Gemini translation would refuse a field it
    # does not know) makes the OpenAI-format upstream answer 503; the fallback target answers.
    raw = client(gateway, config).chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Say this is a test."}])
    completion = raw.parse()
    assert completion.choices[0].message.content
    assert raw.headers["x-portkey-last-used-option-index"] == "config.targets[1]"
    assert raw.headers["x-portkey-retry-attempt-count"] == "0"
    assert raw.headers["x-portkey-provider"] == "google"
    assert requests_seen(mock) - before == 7  # 1 + 5 retries at OpenAI, then Gemini


def test_loadbalance_example_splits_evenly(gateway, mock):
    config = {"strategy": {"mode": "loadbalance"},
              "targets": [{"provider": "openai", "api_key": "sk-***", "weight": "0.5", "custom_host": mock.url + "/v1"},
                          {"provider": "openai", "api_key": "sk-***", "weight": "0.5", "custom_host": mock.url + "/v1"}]}
    sdk = client(gateway, config)
    counts = collections.Counter()
    for _ in range(300):
        raw = sdk.chat.completions.with_raw_response.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        counts[raw.headers["x-portkey-last-used-option-index"]] += 1
    # Binomial(300, 0.5): mean 150, sd 8.7; 105..195 is more than 5 sd either way.
    assert set(counts) == {"config.targets[0]", "config.targets[1]"}
    assert all(105 <= n <= 195 for n in counts.values()), counts


def test_when_everything_fails_the_message_lists_every_attempt(launch, mock):
    gateway = launch("--retry-backoff-base", "1")
    config = {"strategy": {"mode": "fallback"},
              "targets": [{"provider": "openai", "custom_host": mock.url + "/v1", "retry": {"attempts": 1}},
                          {"provider": "groq", "custom_host": "http://127.0.0.1:1/v1"}]}
    with pytest.raises(openai.APIStatusError) as raised:
        client(gateway, config).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
                                                         extra_body={"mock": {"status": 503}})
    assert raised.value.status_code == 502
    message = raised.value.message
    assert "config.targets[0] (openai): HTTP 503 after 1 retry" in message
    assert "config.targets[1] (groq): 502 upstream_unreachable" in message
    assert raised.value.response.headers["x-portkey-last-used-option-index"] == "config.targets[1]"


def test_invalid_configs_are_refused_before_any_upstream_call(gateway, mock):
    before = requests_seen(mock)
    with pytest.raises(openai.BadRequestError) as raised:
        client(gateway, {"strategy": {"mode": "roundrobin"}, "targets": [{"provider": "nope", "weight": "abc"}]}
               ).chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert raised.value.body["code"] == "invalid_config"
    for fragment in ["config.strategy.mode: unknown mode 'roundrobin'", "config.targets[0].provider: unknown provider 'nope'",
                     'config.targets[0].weight: expected a number ≥ 0, got "abc"']:
        assert fragment in raised.value.message
    assert requests_seen(mock) == before


def write(path, config):
    path.write_text(json.dumps(config))


def test_named_configs_default_config_and_live_reload(launch, mock, tmp_path):
    configs = tmp_path / "configs"
    configs.mkdir()
    write(configs / "main.json", {"provider": "openai", "api_key": "sk-a", "custom_host": mock.url + "/v1"})
    write(configs / "gemini.json", {"provider": "google", "api_key": "gk", "custom_host": mock.url + "/v1beta"})
    gateway = launch("--configs", str(configs), "--default-config", "main")
    # A plain OpenAI SDK with only a base URL: the default config routes it.
    plain = openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0)
    raw = plain.chat.completions.with_raw_response.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert raw.headers["x-portkey-provider"] == "openai" and raw.parse().choices[0].message.content
    # By name.
    named = openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0,
                          default_headers={"x-portkey-config": "gemini"})
    assert named.chat.completions.with_raw_response.create(
        model="gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}]).headers["x-portkey-provider"] == "google"
    with pytest.raises(openai.BadRequestError) as raised:
        openai.OpenAI(base_url=gateway.url + "/v1", api_key="u", max_retries=0,
                      default_headers={"x-portkey-config": "nope"}).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}])
    assert "unknown config 'nope'; known configs: gemini, main" in raised.value.message
    # An edit takes effect within about a second; a broken edit keeps the last good version.
    write(configs / "main.json", {"provider": "google", "api_key": "gk", "custom_host": mock.url + "/v1beta"})
    deadline = time.monotonic() + 5
    while plain.chat.completions.with_raw_response.create(
            model="gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}]).headers["x-portkey-provider"] != "google":
        assert time.monotonic() < deadline, "the edited config did not take effect"
        time.sleep(0.2)
    (configs / "main.json").write_text('{"provider": "openai", "weight": ')
    gateway.wait_for(r"config main did not reload; the previous version stays live", timeout=5)
    assert plain.chat.completions.with_raw_response.create(
        model="gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}]).headers["x-portkey-provider"] == "google"


def test_an_invalid_config_file_stops_startup(tmp_path):
    from conftest import BIN, ROOT
    import subprocess
    configs = tmp_path / "configs"
    configs.mkdir()
    write(configs / "bad.json", {"strategy": {"mode": "fallback"}, "targets": [{"provider": "nope"}]})
    result = subprocess.run([BIN / "switchboard", "--port", "0", "--providers", ROOT / "providers", "--configs", configs],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 78
    assert "configs/bad.json: config.targets[0].provider: unknown provider 'nope'" in result.stderr


def test_retry_then_success_counts_the_retries(launch, mock):
    gateway = launch("--retry-backoff-base", "1")
    config = {"provider": "openai", "custom_host": mock.url + "/v1", "retry": {"attempts": 3}}
    raw = client(gateway, config).chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
        extra_body={"mock": {"fail_first": 2, "status": 503, "key": f"retry-{time.monotonic_ns()}"}})
    assert raw.parse().choices[0].message.content
    assert raw.headers["x-portkey-retry-attempt-count"] == "2"
    assert raw.headers["x-portkey-last-used-option-index"] == "config"


def test_fallback_after_a_timeout_and_on_metadata_conditions(launch, mock):
    gateway = launch("--retry-backoff-base", "1")
    slow_then_fast = {"strategy": {"mode": "fallback"}, "request_timeout": 300,
                      "targets": [{"provider": "openai", "custom_host": mock.url + "/v1",
                                   "override_params": {"mock": {"latency_ms": 3000}}},
                                  {"provider": "google", "api_key": "gk", "custom_host": mock.url + "/v1beta"}]}
    started = time.monotonic()
    raw = client(gateway, slow_then_fast).chat.completions.with_raw_response.create(
        model="gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}])
    assert raw.headers["x-portkey-last-used-option-index"] == "config.targets[1]"
    assert time.monotonic() - started < 2.5
    conditional = {"strategy": {"mode": "conditional", "default": "free",
                                "conditions": [{"query": {"metadata.plan": {"$eq": "paid"}}, "then": "paid"}]},
                   "targets": [{"name": "paid", "provider": "openai", "custom_host": mock.url + "/v1"},
                               {"name": "free", "provider": "groq", "custom_host": mock.url + "/v1"}]}
    for plan, provider in [("paid", "openai"), ("trial", "groq")]:
        raw = openai.OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0, default_headers={
            "x-portkey-config": json.dumps(conditional), "x-portkey-metadata": json.dumps({"plan": plan})}
        ).chat.completions.with_raw_response.create(model="m", messages=[{"role": "user", "content": "hi"}])
        assert raw.headers["x-portkey-provider"] == provider


def test_a_stream_that_fails_before_its_first_byte_falls_back(launch, mock):
    gateway = launch("--retry-backoff-base", "1")
    config = {"strategy": {"mode": "fallback"},
              "targets": [{"provider": "openai", "custom_host": mock.url + "/v1",
                           "override_params": {"mock": {"reset": "before"}}},
                          {"provider": "google", "api_key": "gk", "custom_host": mock.url + "/v1beta"}]}
    stream = client(gateway, config).chat.completions.create(
        model="gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}], stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text  # answered by the Gemini target after the OpenAI one dropped the connection


def test_fallback_after_connection_refused(gateway, mock):
    config = {"strategy": {"mode": "fallback"},
              "targets": [{"provider": "openai", "custom_host": "http://127.0.0.1:1/v1"},
                          {"provider": "openai", "custom_host": mock.url + "/v1"}]}
    raw = client(gateway, config).chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert raw.parse().choices[0].message.content
    assert raw.headers["x-portkey-last-used-option-index"] == "config.targets[1]"
