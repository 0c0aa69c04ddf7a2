"""Gateway keys: every /v1 request presents one (x-portkey-api-key, or Authorization when the
provider key comes from a config); the key never goes upstream."""
import json
import os

import openai
import pytest

from http_helpers import CHAT, call, openai_headers


def test_gateway_keys(launch, mock, tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("# team keys\nsb-key-one\nsb-key-two\n")
    gateway = launch("--gateway-keys-file", str(keys))
    # Missing or wrong: 401 in OpenAI's shape.
    for extra in [{}, {"x-portkey-api-key": "sb-key-three"}]:
        reply = call("POST", gateway.url + "/v1/chat/completions", headers={**openai_headers(mock), **extra}, body=CHAT)
        assert reply.status == 401 and reply.error()["code"] == "invalid_gateway_key"
        assert "sb-key" not in reply.body.decode()
    # The right key in x-portkey-api-key; the provider key still comes from Authorization.
    echo = {**CHAT, "mock": {"echo": True}}
    reply = call("POST", gateway.url + "/v1/chat/completions",
                 headers={**openai_headers(mock), "x-portkey-api-key": "sb-key-two"}, body=echo)
    assert reply.status == 200
    sent = reply.json()["headers"]
    assert sent["authorization"] == "Bearer sk-test" and "x-portkey-api-key" not in sent
    # A plain OpenAI SDK whose api_key is the gateway key, with the provider key in a config.
    config = {"provider": "openai", "api_key": "sk-from-config", "custom_host": mock.url + "/v1"}
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="sb-key-one", max_retries=0,
                           default_headers={"x-portkey-config": json.dumps(config)})
    raw = client.chat.completions.with_raw_response.create(model="gpt-4", messages=[{"role": "user", "content": "hi"}],
                                                           extra_body={"mock": {"echo": True}})
    assert raw.http_response.json()["headers"]["authorization"] == "Bearer sk-from-config"
    # Health and readiness stay open for probes.
    assert call("GET", gateway.url + "/health").status == 200


def test_virtual_keys(launch, mock, tmp_path):
    keys = tmp_path / "virtual-keys.json"
    keys.write_text(json.dumps({
        "openai-prod": {"provider": "openai", "api_key": "sk-held-by-gateway", "custom_host": mock.url + "/v1",
                        "openai_project": "proj-9"},
        "groq-team": {"provider": "groq", "api_key": "gsk-held", "custom_host": mock.url + "/v1"}}))
    gateway = launch("--virtual-keys-file", str(keys))
    gateway.wait_for(r"virtual keys loaded: groq-team, openai-prod")
    # The client holds no provider key.
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0,
                           default_headers={"x-portkey-virtual-key": "openai-prod"})
    raw = client.chat.completions.with_raw_response.create(model="gpt-4", messages=[{"role": "user", "content": "hi"}],
                                                           extra_body={"mock": {"echo": True}})
    sent = raw.http_response.json()["headers"]
    assert sent["authorization"] == "Bearer sk-held-by-gateway" and sent["openai-project"] == "proj-9"
    # In a config target.
    config = {"strategy": {"mode": "fallback"}, "targets": [{"virtual_key": "groq-team"}]}
    routed = openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0,
                           default_headers={"x-portkey-config": json.dumps(config)})
    raw = routed.chat.completions.with_raw_response.create(model="m", messages=[{"role": "user", "content": "hi"}],
                                                           extra_body={"mock": {"echo": True}})
    assert raw.http_response.json()["headers"]["authorization"] == "Bearer gsk-held"
    # Unknown names are refused without echoing anything secret.
    reply = call("POST", gateway.url + "/v1/chat/completions", headers={"x-portkey-virtual-key": "nope",
                                                                     "content-type": "application/json"}, body=CHAT)
    assert reply.status == 401 and reply.error()["code"] == "unknown_virtual_key"
    assert "sk-held" not in gateway.output() and "gsk-held" not in gateway.output()


def test_keys_rotate_on_sighup_without_a_restart(launch, mock, tmp_path):
    import signal
    keys = tmp_path / "keys"
    keys.write_text("sb-old-key\n")
    virtual = tmp_path / "virtual.json"
    virtual.write_text(json.dumps({"team": {"provider": "openai", "api_key": "sk-first", "custom_host": mock.url + "/v1"}}))
    (tmp_path / "admin").write_text("adm-token\n")
    gateway = launch("--gateway-keys-file", str(keys), "--virtual-keys-file", str(virtual),
                     "--admin-token-file", str(tmp_path / "admin"))
    echo = {**CHAT, "mock": {"echo": True}}

    def ask(gateway_key):
        return call("POST", gateway.url + "/v1/chat/completions", body=echo,
                    headers={"x-portkey-api-key": gateway_key, "x-portkey-virtual-key": "team"})

    assert ask("sb-old-key").json()["headers"]["authorization"] == "Bearer sk-first"
    keys.write_text("sb-new-key\n")
    virtual.write_text(json.dumps({"team": {"provider": "openai", "api_key": "sk-second", "custom_host": mock.url + "/v1"}}))
    gateway.proc.send_signal(signal.SIGHUP)
    gateway.wait_for(r"access keys reloaded \(SIGHUP\): 1 gateway keys, 1 virtual keys")
    assert ask("sb-old-key").status == 401
    assert ask("sb-new-key").json()["headers"]["authorization"] == "Bearer sk-second"
    # A broken file keeps the keys in force and says why (without key values).
    virtual.write_text("{not json")
    reply = call("POST", gateway.url + "/admin/reload", headers={"Authorization": "Bearer adm-token"})
    assert reply.status == 200 and reply.json()["keys_error"]
    assert ask("sb-new-key").json()["headers"]["authorization"] == "Bearer sk-second"
    assert "sk-second" not in gateway.output() and "sb-new-key" not in gateway.output()


def test_a_reload_names_the_changed_settings_it_cannot_apply(launch, mock, tmp_path):
    import signal
    settings = tmp_path / "switchboard.yaml"
    settings.write_text("gateway_keys: [sb-first]\nmax_body_size: 100000\nretry_backoff_base: 250\n")
    gateway = launch("--config-file", str(settings))
    headers = {**openai_headers(mock), "x-portkey-api-key": "sb-first"}
    assert call("POST", gateway.url + "/v1/chat/completions", headers=headers, body=CHAT).status == 200

    # Only the keys changed: reloaded, and no warning.
    settings.write_text("gateway_keys: [sb-second]\nmax_body_size: 100000\nretry_backoff_base: 250\n")
    gateway.proc.send_signal(signal.SIGHUP)
    gateway.wait_for(r"access keys reloaded \(SIGHUP\): 1 gateway keys")
    gateway.wait_for(r"scripts reloaded \(SIGHUP\)")
    assert "take effect only at a restart" not in gateway.output()

    # Settings a reload does not apply: named, never silently left as they were.
    settings.write_text("gateway_keys: [sb-third]\nmax_body_size: 200000\nretry_backoff_base: 100\n")
    gateway.proc.send_signal(signal.SIGHUP)
    line = gateway.wait_for(r"take effect only at a restart, not on reload \(SIGHUP\): (.*)")
    assert line.group(1) == "max_body_size, retry_backoff_base"
    third = {**openai_headers(mock), "x-portkey-api-key": "sb-third"}
    assert call("POST", gateway.url + "/v1/chat/completions", headers=third, body=CHAT).status == 200
