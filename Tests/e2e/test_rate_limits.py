"""Per-key rate limits (issue 17): gateway keys given as objects and virtual keys carry
`limits` (requests and tokens per minute); over a limit the client gets OpenAI's 429 with
Retry-After and the x-ratelimit-* headers, through the official SDKs. These run in one process
(the in-process store); the shared store is tested with Redis."""
import json
import subprocess

import anthropic
import openai
import pytest

from conftest import BIN
from http_helpers import CHAT, call


def settings_file(tmp_path, keys):
    path = tmp_path / "settings.yaml"
    lines = ["gateway_keys:"]
    for key in keys:
        lines.append("  - " + json.dumps(key))  # a JSON object is a YAML flow mapping
    path.write_text("\n".join(lines) + "\n")
    return path


def client(gateway, mock, key, **kwargs):
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key="sk-provider", max_retries=0,
                         default_headers={"x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1",
                                          "x-portkey-api-key": key}, **kwargs)


def test_requests_per_minute_admit_exactly_the_limit(launch, mock, tmp_path):
    path = settings_file(tmp_path, ["sb-plain", {"key": "sb-team-a", "name": "team-a", "limits": {"requests_per_minute": 5}}])
    gateway = launch("--config-file", str(path))
    limited = client(gateway, mock, "sb-team-a")
    remaining = []
    refused = []
    for _ in range(8):
        try:
            raw = limited.chat.completions.with_raw_response.create(model="gpt-4", messages=CHAT["messages"])
            assert raw.http_response.status_code == 200
            assert raw.headers["x-ratelimit-limit-requests"] == "5"
            remaining.append(int(raw.headers["x-ratelimit-remaining-requests"]))
        except openai.RateLimitError as error:
            refused.append(error)
    assert remaining == [4, 3, 2, 1, 0]
    assert len(refused) == 3
    error = refused[0]
    assert error.status_code == 429
    body = error.response.json()["error"]
    assert body["code"] == "rate_limit_exceeded" and body["type"] == "requests"
    assert "gateway key 'team-a'" in body["message"] and "5 requests per minute" in body["message"]
    assert "sb-team-a" not in error.response.text, "the key itself is never echoed"
    retry_after = int(error.response.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert error.response.headers["x-ratelimit-remaining-requests"] == "0"
    assert error.response.headers["x-ratelimit-reset-requests"].endswith("s")
    # A key without limits is not limited, and has no x-ratelimit headers.
    plain = client(gateway, mock, "sb-plain")
    for _ in range(8):
        raw = plain.chat.completions.with_raw_response.create(model="gpt-4", messages=CHAT["messages"])
        assert raw.http_response.status_code == 200 and "x-ratelimit-limit-requests" not in raw.headers
    # The Messages dialect gets the refusal in its own shape: the Anthropic SDK raises RateLimitError.
    messages = anthropic.Anthropic(base_url=gateway.url, api_key="sk-provider", max_retries=0,
                                   default_headers={"x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1",
                                                    "x-portkey-api-key": "sb-team-a"})
    with pytest.raises(anthropic.RateLimitError) as raised:
        messages.messages.create(model="gpt-4", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert raised.value.response.json()["error"]["type"] == "rate_limit_error"


def test_tokens_per_minute_count_what_the_provider_reported_streams_included(launch, mock, tmp_path):
    keys = tmp_path / "keys.txt"
    keys.write_text("# one object per line\n" + json.dumps({"key": "sb-tokens", "name": "tokens", "limits": {"tokens_per_minute": 10}}) + "\n")
    gateway = launch("--gateway-keys-file", str(keys))
    limited = client(gateway, mock, "sb-tokens")
    # A stream with usage in its last event: its tokens are charged when it ends.
    stream = limited.chat.completions.create(model="gpt-4", messages=CHAT["messages"], stream=True,
                                             stream_options={"include_usage": True})
    used = [chunk.usage.total_tokens for chunk in stream if chunk.usage]
    assert used and used[-1] > 10, "the mock's answer must use more than the limit for this test"
    with pytest.raises(openai.RateLimitError) as raised:
        limited.chat.completions.create(model="gpt-4", messages=CHAT["messages"])
    body = raised.value.response.json()["error"]
    assert body["type"] == "tokens" and "10 tokens per minute" in body["message"]
    assert raised.value.response.headers["x-ratelimit-remaining-tokens"] == "0"


def test_virtual_keys_carry_limits(launch, mock, tmp_path):
    virtual = tmp_path / "virtual-keys.json"
    virtual.write_text(json.dumps({"prod": {"provider": "openai", "api_key": "sk-held", "custom_host": mock.url + "/v1",
                                            "limits": {"requests_per_minute": 2}}}))
    gateway = launch("--virtual-keys-file", str(virtual), "--allow-host", "127.0.0.1")
    statuses = [call("POST", gateway.url + "/v1/chat/completions",
                     headers={"x-portkey-virtual-key": "prod", "Content-Type": "application/json"}, body=CHAT).status
                for _ in range(3)]
    assert statuses == [200, 200, 429]


@pytest.mark.parametrize("entry, says", [
    ({"key": "k", "name": "n", "limits": {"requests_per_hour": 5}}, "unknown limit 'requests_per_hour'"),
    ({"key": "k", "limits": {"requests_per_minute": 5}}, "no 'name'"),
    ({"key": "k", "name": "n", "quota": {"max_usd": 5}}, "unknown field 'quota'"),
    ({"key": "k", "name": "n", "budget": {"max_usd": 5, "period": "1mo"}}, "hours, days or weeks"),
    ({"key": "k", "name": "n", "limits": {"requests_per_minute": 0}}, "whole number from 1"),
])
def test_a_limit_the_gateway_cannot_honour_stops_startup(tmp_path, entry, says):
    """Map or refuse: a limits object the gateway cannot honour stops `serve` and fails `check`."""
    path = settings_file(tmp_path, [entry])
    served = subprocess.run([BIN / "switchboard", "--config-file", str(path), "--port", "0"],
                            capture_output=True, text=True, timeout=30)
    assert served.returncode != 0 and says in served.stderr, served.stderr
    checked = subprocess.run([BIN / "switchboard", "check", "--config-file", str(path)], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 1 and says in checked.stdout, checked.stdout


def test_limits_per_metadata_value(launch, mock, tmp_path):
    """metadata_limits: each value of a metadata field (here `_user`) has its own windows."""
    path = tmp_path / "settings.yaml"
    path.write_text('metadata_limits:\n  field: _user\n  limits: {"requests_per_minute": 2}\n')
    gateway = launch("--config-file", str(path))

    def send(metadata=None):
        headers = {"x-portkey-provider": "openai", "Authorization": "Bearer sk-provider",
                   "x-portkey-custom-host": mock.url + "/v1", "Content-Type": "application/json"}
        if metadata is not None:
            headers["x-portkey-metadata"] = json.dumps(metadata)
        return call("POST", gateway.url + "/v1/chat/completions", headers=headers, body=CHAT)

    assert [send({"_user": "alice"}).status for _ in range(3)] == [200, 200, 429]
    refused = send({"_user": "alice", "team": "x"})
    assert refused.status == 429 and "_user 'alice'" in refused.error()["message"]
    assert [send({"_user": "bob"}).status for _ in range(2)] == [200, 200]
    assert [send().status for _ in range(3)] == [200] * 3, "no metadata: not limited by it"
    assert [send({"team": "x"}).status for _ in range(3)] == [200] * 3, "no such field: not limited by it"
    wrong = send({"_user": 42})
    assert wrong.status == 400 and "x-portkey-metadata" in wrong.error()["message"]
    checked = subprocess.run([BIN / "switchboard", "check", "--config-file", str(path)], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stdout
    broken = tmp_path / "broken.yaml"
    broken.write_text('metadata_limits:\n  field: _user\n  limits: {"requests_per_second": 2}\n')
    checked = subprocess.run([BIN / "switchboard", "check", "--config-file", str(broken)], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 1 and "unknown limit 'requests_per_second'" in checked.stdout


def test_a_bad_redis_url_stops_startup_without_showing_its_password(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text('redis_url: "redis://user:s3cret@redis.example:99999"\n')
    checked = subprocess.run([BIN / "switchboard", "check", "--config-file", str(path)], capture_output=True, text=True, timeout=30)
    served = subprocess.run([BIN / "switchboard", "--config-file", str(path), "--port", "0"], capture_output=True, text=True, timeout=30)
    for result in (checked, served):
        text = result.stdout + result.stderr
        assert result.returncode != 0 and "redis_url" in text and "port" in text, text
        assert "s3cret" not in text
