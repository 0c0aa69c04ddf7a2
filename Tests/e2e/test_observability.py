"""Operating Switchboard: Prometheus metrics move as requests flow (parsed with prometheus_client's
own text parser), one JSON log line per request that never holds a key, and the settings file with
its precedence (flags > environment > file > defaults)."""
import json
import subprocess
import time

import openai
from prometheus_client.parser import text_string_to_metric_families

from conftest import BIN, ROOT
from http_helpers import CHAT, call, openai_headers


def scrape(gateway):
    reply = call("GET", gateway.url + "/metrics")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    helps = {}
    for family in text_string_to_metric_families(reply.body.decode()):
        helps[family.name] = family.documentation
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples, helps


def value(samples, name, **labels):
    """Sum of the samples named `name` whose labels include `labels`."""
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


def sdk(gateway, mock, **headers):
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key="sk-test", max_retries=0,
                         default_headers={"x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1",
                                          **headers})


def test_metrics_counters_move_as_requests_flow(launch, mock, tmp_path):
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "fallback.json").write_text(json.dumps({
        "strategy": {"mode": "fallback"},
        "targets": [{"provider": "openai", "custom_host": mock.url + "/v1", "retry": {"attempts": 2},
                     "override_params": {"mock": {"status": 503}}},
                    {"provider": "google", "api_key": "g", "custom_host": mock.url + "/v1beta"}]}))
    gateway = launch("--configs", str(configs), "--retry-backoff-base", "1", "--request-log", "off")
    before, helps = scrape(gateway)
    assert value(before, "switchboard_requests_total") == 0
    client = sdk(gateway, mock)
    for _ in range(3):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                            stream=True, stream_options={"include_usage": True})
    usage = [chunk.usage for chunk in stream if chunk.usage][-1]
    # A client error (unknown provider) and a routed request: the first target fails twice more
    # after its first try (2 retries), then the fallback answers (the mock's 503 control is the
    # OpenAI target's override_params: the Gemini translation would refuse a field it does not know).
    assert call("POST", gateway.url + "/v1/chat/completions",
                headers={**openai_headers(mock), "x-portkey-provider": "nope"}, body=CHAT).status == 400
    routed = openai.OpenAI(base_url=gateway.url + "/v1", api_key="sk", max_retries=0,
                           default_headers={"x-portkey-config": "fallback"})
    routed.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    after, helps = scrape(gateway)

    chat = {"route": "/v1/chat/completions"}
    assert value(after, "switchboard_requests_total", **chat, provider="openai", status="200") == 4
    assert value(after, "switchboard_requests_total", **chat, status="400") == 1
    assert value(after, "switchboard_requests_total", **chat, provider="google", status="200") == 1
    assert value(after, "switchboard_request_duration_seconds_count", **chat, provider="openai") == 4
    # Upstream latency per attempt: 4 direct + 3 at the failing target + 1 fallback.
    assert value(after, "switchboard_upstream_duration_seconds_count") == 8
    assert value(after, "switchboard_retries_total", provider="openai") == 2
    assert value(after, "switchboard_fallbacks_total", from_provider="openai") == 1
    # Tokens as the provider reported them, streamed ones included.
    assert value(after, "switchboard_tokens_total", model="gpt-4o-mini", direction="input") == usage.prompt_tokens
    assert value(after, "switchboard_tokens_total", model="gpt-4o-mini", direction="output") == usage.completion_tokens
    assert value(after, "switchboard_tokens_total", provider="openai", model="gpt-4o", direction="input") > 0
    assert value(after, "switchboard_active_streams") == 0
    assert value(after, "switchboard_stream_first_chunk_seconds_count", provider="openai") == 1
    assert "Requests answered" in helps["switchboard_requests"]

    # A config edit is a reload; a broken one is a failed reload.
    (configs / "fallback.json").write_text(json.dumps({"provider": "openai", "custom_host": mock.url + "/v1"}))
    gateway.wait_for(r"reloaded config fallback")
    (configs / "fallback.json").write_text("{broken")
    gateway.wait_for(r"config fallback did not reload")
    final, _ = scrape(gateway)
    assert value(final, "switchboard_reloads_total", kind="configs", result="success") == 1
    assert value(final, "switchboard_reloads_total", kind="configs", result="failure") == 1


def test_active_streams_gauge_counts_a_stream_in_flight(launch, mock):
    gateway = launch("--request-log", "off")
    client = sdk(gateway, mock)
    stream = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True,
                                            extra_body={"mock": {"chunks": 20, "interval_ms": 50}})
    next(iter(stream))
    during, _ = scrape(gateway)
    assert value(during, "switchboard_active_streams") == 1
    for _ in stream:
        pass
    deadline = time.monotonic() + 5
    while value(scrape(gateway)[0], "switchboard_active_streams") != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert value(scrape(gateway)[0], "switchboard_active_streams") == 0


def test_script_errors_are_counted(launch, providers_copy, mock):
    (providers_copy / "broken.lua").write_text("return { prepare = function(ctx)\n  error('no luck')\nend }\n")
    gateway = launch("--request-log", "off", providers=providers_copy)
    for _ in range(2):
        reply = call("POST", gateway.url + "/v1/chat/completions",
                     headers={**openai_headers(mock), "x-portkey-provider": "broken"}, body=CHAT)
        assert reply.status == 500 and reply.error()["type"] == "script_error"
    samples, _ = scrape(gateway)
    assert value(samples, "switchboard_script_errors_total", kind="request") == 2
    assert value(samples, "switchboard_requests_total", provider="broken", status="500") == 2


def test_metrics_can_be_turned_off(launch):
    gateway = launch("--metrics", "false")
    assert call("GET", gateway.url + "/metrics").status == 404


def read_log(path, count, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count:
            return [json.loads(line) for line in lines]
        time.sleep(0.05)
    raise AssertionError(f"expected {count} log lines, got: {path.read_text() if path.exists() else 'no file'}")


def test_one_json_log_line_per_request_without_keys(launch, mock, tmp_path):
    log = tmp_path / "requests.log"
    keys = tmp_path / "gateway-keys"
    keys.write_text("sb-gateway-secret\n")
    virtual = tmp_path / "virtual.json"
    virtual.write_text(json.dumps({"prod": {"provider": "openai", "api_key": "sk-virtual-secret",
                                            "custom_host": mock.url + "/v1"}}))
    gateway = launch("--request-log", str(log), "--gateway-keys-file", str(keys), "--virtual-keys-file", str(virtual))
    client = sdk(gateway, mock, **{"x-portkey-api-key": "sb-gateway-secret"})
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    trace = raw.headers["x-portkey-trace-id"]
    via_virtual = openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0,
                                default_headers={"x-portkey-virtual-key": "prod", "x-portkey-api-key": "sb-gateway-secret"})
    list(via_virtual.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True,
                                             stream_options={"include_usage": True}))
    wrong = call("POST", gateway.url + "/v1/chat/completions",
                 headers={**openai_headers(mock), "x-portkey-api-key": "sb-wrong-secret"}, body=CHAT)
    assert wrong.status == 401
    first, streamed, denied = read_log(log, 3)
    assert first["trace_id"] == trace
    assert first["route"] == "/v1/chat/completions" and first["method"] == "POST"
    assert first["provider"] == "openai" and first["model"] == "gpt-4o" and first["status"] == 200
    assert first["tokens_in"] > 0 and first["tokens_out"] > 0 and first["attempts"] == 1 and first["retries"] == 0
    assert first["latency_ms"] >= first["upstream_latency_ms"] > 0
    assert first["stream"] is False and first["cache"] is None and first["error"] is None
    assert "request_body" not in first  # bodies only when an operator asks
    assert streamed["stream"] is True and streamed["tokens_out"] > 0
    assert 0 < streamed["first_chunk_ms"] <= streamed["latency_ms"] and first["first_chunk_ms"] is None
    assert denied["status"] == 401 and denied["error"] == "invalid_gateway_key"
    text = log.read_text() + gateway.output()
    for secret in ["sk-test", "sb-gateway-secret", "sk-virtual-secret", "sb-wrong-secret"]:
        assert secret not in text


def test_the_request_log_goes_to_stdout_by_default(gateway, mock):
    reply = call("POST", gateway.url + "/v1/chat/completions", headers=openai_headers(mock), body=CHAT)
    trace = reply.headers["x-portkey-trace-id"]
    line = gateway.wait_for(r'^\{"time":.*"trace_id":"' + trace + r'".*\}$', timeout=5).group(0)
    assert json.loads(line)["status"] == 200


def test_bodies_are_logged_only_when_enabled(launch, mock, tmp_path):
    log = tmp_path / "requests.log"
    gateway = launch("--request-log", str(log), "--log-bodies", "true")
    call("POST", gateway.url + "/v1/chat/completions", headers=openai_headers(mock), body=CHAT)
    (line,) = read_log(log, 1)
    assert line["request_body"] == CHAT
    assert line["response_body"]["object"] == "chat.completion"


def run_switchboard(*args, env=None, timeout=20):
    return subprocess.run([str(BIN / "switchboard"), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**__import__("os").environ, **(env or {})})


def test_settings_file_with_precedence(launch, mock, tmp_path):
    settings = tmp_path / "switchboard.yaml"
    settings.write_text("max_body_size: 200\nrequest_log: off\nvirtual_keys:\n"
                        f"  team:\n    provider: openai\n    api_key: sk-from-yaml\n    custom_host: {mock.url}/v1\n")
    gateway = launch("--config-file", str(settings))
    gateway.wait_for(r"settings file: .*switchboard\.yaml")
    big = {**CHAT, "messages": [{"role": "user", "content": "x" * 300}]}
    assert call("POST", gateway.url + "/v1/chat/completions", headers=openai_headers(mock), body=big).status == 413
    # The file's virtual keys work like the environment's.
    echo = {**CHAT, "mock": {"echo": True}}
    reply = call("POST", gateway.url + "/v1/chat/completions", headers={"x-portkey-virtual-key": "team"}, body=echo)
    assert reply.status == 200 and reply.json()["headers"]["authorization"] == "Bearer sk-from-yaml"
    # The environment overrides the file; a flag overrides both.
    env_wins = launch("--config-file", str(settings), env={"SWITCHBOARD_MAX_BODY_SIZE": "100000"})
    assert call("POST", env_wins.url + "/v1/chat/completions", headers=openai_headers(mock), body=big).status == 200
    flag_wins = launch("--config-file", str(settings), "--max-body-size", "250",
                       env={"SWITCHBOARD_MAX_BODY_SIZE": "100000"})
    assert call("POST", flag_wins.url + "/v1/chat/completions", headers=openai_headers(mock), body=big).status == 413
    # JSON works the same way.
    as_json = tmp_path / "switchboard.json"
    as_json.write_text(json.dumps({"max_body_size": 200, "request_log": "off"}))
    json_gateway = launch("--config-file", str(as_json))
    assert call("POST", json_gateway.url + "/v1/chat/completions", headers=openai_headers(mock), body=big).status == 413


def test_invalid_settings_stop_startup_naming_the_setting(tmp_path):
    typo = tmp_path / "typo.yaml"
    typo.write_text("prot: 8080\n")
    result = run_switchboard("--config-file", str(typo), "--port", "0")
    assert result.returncode != 0 and "'prot' (did you mean 'port'?)" in result.stderr
    wrong_type = tmp_path / "wrong.json"
    wrong_type.write_text(json.dumps({"upstream_timeout": "soon"}))
    result = run_switchboard("--config-file", str(wrong_type), "--port", "0")
    assert result.returncode != 0 and f"'upstream_timeout' in {wrong_type} must be a whole number" in result.stderr
    result = run_switchboard("--port", "0", env={"SWITCHBOARD_DRAIN_TIMEOUT": "-5"})
    assert result.returncode != 0 and "SWITCHBOARD_DRAIN_TIMEOUT must be between 0 and 3600, got -5" in result.stderr
    result = run_switchboard("--port", "0", "--log-level", "loud")
    assert result.returncode != 0 and "log_level" in result.stderr and "got 'loud'" in result.stderr
    # `check` validates a settings file without serving.
    assert run_switchboard("check", "--config-file", str(typo)).returncode == 1
    # Every setting is checked as `serve` would, not only the script ones.
    bad_port = tmp_path / "bad-port.yaml"
    bad_port.write_text("port: 99999\n")
    checked = run_switchboard("check", "--config-file", str(bad_port))
    assert checked.returncode == 1 and f"'port' in {bad_port} must be between 0 and 65535, got 99999" in checked.stdout
    bad_key = tmp_path / "bad-virtual.yaml"
    bad_key.write_text("virtual_keys:\n  team: {provider: nosuch, api_key: sk-very-secret}\n")
    checked = run_switchboard("check", "--config-file", str(bad_key))
    assert checked.returncode == 1 and "nosuch" in checked.stdout and "sk-very-secret" not in checked.stdout
    good = tmp_path / "good.yaml"
    good.write_text("lua_vms: 1\n")
    checked = run_switchboard("check", "--config-file", str(good))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_misspelled_variable_is_warned_about(launch):
    gateway = launch(env={"SWITCHBOARD_MAX_BODYSIZE": "10"})
    gateway.wait_for(r"SWITCHBOARD_MAX_BODYSIZE is not a setting and is ignored")


def test_admin_token_from_a_file(launch, tmp_path):
    token = tmp_path / "admin-token"
    token.write_text("adm-secret-123\n")
    gateway = launch("--admin-token-file", str(token))
    assert call("GET", gateway.url + "/admin/scripts", headers={"Authorization": "Bearer adm-secret-123"}).status == 200
    assert call("GET", gateway.url + "/admin/scripts", headers={"Authorization": "Bearer nope"}).status == 401
    assert "adm-secret-123" not in gateway.output()


def test_sighup_reopens_the_request_log_for_logrotate(launch, mock, tmp_path):
    import signal
    log = tmp_path / "requests.log"
    gateway = launch("--request-log", str(log))
    call("POST", gateway.url + "/v1/chat/completions", headers=openai_headers(mock), body=CHAT)
    read_log(log, 1)
    rotated = tmp_path / "requests.log.1"
    log.rename(rotated)
    gateway.proc.send_signal(signal.SIGHUP)
    gateway.wait_for(r"request log reopened")
    call("POST", gateway.url + "/v1/chat/completions", headers=openai_headers(mock), body=CHAT)
    assert len(read_log(log, 1)) == 1   # a fresh file with the new line
    assert len(read_log(rotated, 1)) == 1  # the old one kept what it had


def test_requests_refused_by_the_listener_are_logged_and_counted(launch, mock, tmp_path):
    log = tmp_path / "requests.log"
    gateway = launch("--request-log", str(log), "--max-body-size", "100")
    big = {**CHAT, "messages": [{"role": "user", "content": "x" * 200}]}
    assert call("POST", gateway.url + "/v1/chat/completions", headers=openai_headers(mock), body=big).status == 413
    (line,) = read_log(log, 1)
    assert line["status"] == 413 and line["route"] == "/v1/chat/completions" and line["error"]
    samples, _ = scrape(gateway)
    assert value(samples, "switchboard_requests_total", route="/v1/chat/completions", status="413") == 1
