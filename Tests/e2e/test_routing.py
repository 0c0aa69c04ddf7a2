"""Routing configs (x-portkey-config) end to end: Portkey's two documented examples, verbatim plus
custom_host, through the official openai SDK and the mock provider."""
import collections
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
              "targets": [{"provider": "openai", "api_key": "sk-***", "custom_host": mock.url + "/v1"},
                          {"provider": "google", "api_key": "gt5***", "override_params": {"model": "gemini-pro"},
                           "custom_host": mock.url + "/v1beta"}]}
    before = requests_seen(mock)
    # The body's mock control makes the OpenAI-format upstream answer 503; the Gemini translation
    # does not carry it, so the fallback target answers normally.
    raw = client(gateway, config).chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Say this is a test."}],
        extra_body={"mock": {"status": 503}})
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
