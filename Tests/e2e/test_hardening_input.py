"""Hardening (issue 12): untrusted numbers, wire injection and `$regex`, against a real gateway.

Each test is one example from the issue that crashed, split the wire or hung the gateway before:
numbers out of range are refused (400 naming the path) or capped, a script's bad status or header is a
500 script_error naming the script, a line break cannot reach the wire, and a pathological `$regex`
answers at once while /health keeps answering.
"""
import json
import socket
import threading
import time

import pytest

from http_helpers import CHAT, call, openai_headers


def healthy(gateway):
    reply = call("GET", gateway.url + "/health", timeout=10)
    return reply.status == 200


def config_call(gateway, config, body=None, **headers):
    return call("POST", gateway.url + "/v1/chat/completions",
                headers={"x-portkey-config": json.dumps(config) if not isinstance(config, str) else config,
                         "content-type": "application/json", **headers},
                body=body or CHAT)


# --- 1. numbers -------------------------------------------------------------------------------

@pytest.mark.parametrize("config, path", [
    ('{"retry":{"attempts":1e300},"provider":"openai","api_key":"k"}', "config.retry.attempts"),
    ('{"retry":{"attempts":1,"on_status_codes":[1e300]},"provider":"openai","api_key":"k"}',
     "config.retry.on_status_codes[0]"),
    ('{"strategy":{"mode":"fallback","on_status_codes":[-1e300]},"targets":[{"provider":"openai","api_key":"k"}]}',
     "config.strategy.on_status_codes[0]"),
    ('{"retry":{"count":"1e19"},"provider":"openai","api_key":"k"}', "config.retry.count"),
])
def test_a_config_number_out_of_range_is_a_400_naming_its_path(launch, config, path):
    gateway = launch()
    reply = config_call(gateway, config)
    assert reply.status == 400, reply.body
    error = reply.error()
    assert error["code"] == "invalid_config"
    assert path + ":" in error["message"], error["message"]
    assert healthy(gateway)  # the process is still there (it trapped before)


def test_a_huge_request_timeout_header_is_a_400(launch, mock):
    gateway = launch()
    reply = call("POST", gateway.url + "/v1/chat/completions", body=CHAT,
                 headers=openai_headers(mock, **{"x-portkey-request-timeout": "9223372036854775807"}))
    assert reply.status == 400, reply.body
    assert reply.error()["param"] == "x-portkey-request-timeout"
    assert healthy(gateway)


@pytest.mark.parametrize("retry_after", ["1e300", "inf", "9223372036854775807"])
def test_an_upstream_retry_after_of_1e300_is_capped_not_a_crash(launch, mock, retry_after):
    # --max-retry-after 300: the absurd wait is capped to 0.3 s, then the retry answers.
    gateway = launch("--max-retry-after", "300")
    config = {"retry": {"attempts": 1, "on_status_codes": [429], "use_retry_after_header": True},
              "provider": "openai", "api_key": "k", "custom_host": mock.url + "/v1"}
    body = dict(CHAT, mock={"status": 429, "retry_after": retry_after, "fail_first": 1,
                            "key": f"ra-{retry_after}-{time.time()}"})
    started = time.monotonic()
    # Before, the conversion trapped ("Fatal error: Double value cannot be converted to Int64").
    reply = config_call_with_timeout(gateway, config, body, timeout=10)
    took = time.monotonic() - started
    assert reply.status == 200, reply.body
    assert took >= 0.25, took  # it did wait (the capped Retry-After), not the jittered backoff alone
    assert not any("Fatal error" in line for line in gateway.lines), gateway.output()
    assert healthy(gateway)


def config_call_with_timeout(gateway, config, body, timeout):
    return call("POST", gateway.url + "/v1/chat/completions", body=body, timeout=timeout,
                headers={"x-portkey-config": json.dumps(config), "content-type": "application/json"})


# --- scripts' statuses ------------------------------------------------------------------------

@pytest.mark.parametrize("status", [-7, 0, 1000, 70000, 2.5])
@pytest.mark.parametrize("shape", ["deny", "respond"])
def test_a_middleware_status_outside_100_599_is_a_script_error(launch, mock, tmp_path, status, shape):
    folder = tmp_path / "scripts"
    folder.mkdir()
    answer = f'{{status = {status}, error = "x"}}' if shape == "deny" else f'{{status = {status}, body = {{ok = true}}}}'
    (folder / "bad_status.lua").write_text(f"return {{ on_request = function(ctx, req) return {answer} end }}\n")
    gateway = launch(scripts=folder)
    reply = call("POST", gateway.url + "/v1/chat/completions", headers=openai_headers(mock), body=CHAT)
    assert reply.status == 500, (reply.status, reply.body)
    error = reply.error()
    assert error["code"] == "script_error" and "bad_status.lua" in error["message"], error
    assert healthy(gateway)


@pytest.mark.parametrize("status", [-7, 0, 1000, 70000])
def test_a_scripted_route_or_raised_error_status_outside_100_599_is_a_script_error(launch, tmp_path, status):
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "route_status.lua").write_text(f"""
return {{ handlers = {{
  ["GET /v1/answer"] = function(req) return {{ status = {status}, body = "x" }} end,
  ["GET /v1/raise"] = function(req) error({{ status = {status}, message = "no" }}) end,
}} }}
""")
    gateway = launch(scripts=folder)
    for path in ("/v1/answer", "/v1/raise"):
        reply = call("GET", gateway.url + path)
        assert reply.status == 500, (path, reply.status, reply.body)
        error = reply.error()
        assert error["code"] == "script_error" and "route_status.lua" in error["message"], error
    assert healthy(gateway)


# --- 2. the wire ------------------------------------------------------------------------------

class RawUpstream:
    """A listener on 127.0.0.1 that records whatever bytes arrive (a stand-in upstream)."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.received = b""
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            self.connections += 1
            conn.settimeout(1)
            try:
                while chunk := conn.recv(65536):
                    self.received += chunk
                    if b"\r\n\r\n" in self.received:
                        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}")
                        break
            except OSError:
                pass
            conn.close()

    def close(self):
        self.running = False
        self.thread.join(2)
        self.server.close()


def test_a_custom_host_with_crlf_in_an_inline_config_is_a_400_and_nothing_is_smuggled(launch):
    upstream = RawUpstream()
    try:
        gateway = launch()
        host = f"http://127.0.0.1:{upstream.port}/v1\r\nX-Smuggled: 1\r\nX-Pad:"
        reply = config_call(gateway, {"provider": "openai", "api_key": "k", "custom_host": host})
        assert reply.status == 400, reply.body
        error = reply.error()
        assert error["code"] == "invalid_config" and "config.custom_host" in error["message"], error
        time.sleep(0.3)
        assert b"X-Smuggled" not in upstream.received and upstream.connections == 0
        # A target's custom_host too, inherited or not.
        reply = config_call(gateway, {"strategy": {"mode": "fallback"}, "targets": [
            {"provider": "openai", "api_key": "k", "custom_host": host}]})
        assert reply.status == 400 and "config.targets[0].custom_host" in reply.error()["message"]
        assert upstream.connections == 0
    finally:
        upstream.close()


def test_a_model_name_with_crlf_is_a_400_and_does_not_reach_an_upstream_url(launch):
    # google puts the model in the upstream URL path.
    upstream = RawUpstream()
    try:
        gateway = launch()
        body = {"model": "gemini-pro:x HTTP/1.1\r\nX-Smuggled: 1\r\nX-Pad: ", "messages": [{"role": "user", "content": "hi"}]}
        reply = call("POST", gateway.url + "/v1/chat/completions", body=body, headers={
            "x-portkey-provider": "google", "authorization": "Bearer k", "content-type": "application/json",
            "x-portkey-custom-host": f"http://127.0.0.1:{upstream.port}/v1beta"})
        assert reply.status == 400, reply.body
        error = reply.error()
        assert error["param"] == "model" and error["code"] == "invalid_model", error
        time.sleep(0.3)
        assert b"X-Smuggled" not in upstream.received and upstream.connections == 0
    finally:
        upstream.close()


def test_a_scripted_route_header_with_crlf_is_a_500_and_no_header_is_injected(launch, tmp_path):
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "cookie.lua").write_text("""
return { handlers = { ["GET /v1/cookie"] = function(req)
  return { status = 200, headers = { ["x-note"] = "a\\r\\nSet-Cookie: session=stolen" }, body = { ok = true } }
end } }
""")
    gateway = launch(scripts=folder)
    reply = call("GET", gateway.url + "/v1/cookie")
    assert reply.status == 500, (reply.status, reply.headers, reply.body)
    assert "set-cookie" not in reply.headers
    error = reply.error()
    assert error["code"] == "script_error" and "cookie.lua" in error["message"], error
    assert healthy(gateway)


def test_a_middleware_header_with_crlf_does_not_reach_the_upstream(launch, tmp_path):
    upstream = RawUpstream()
    try:
        folder = tmp_path / "scripts"
        folder.mkdir()
        (folder / "inject.lua").write_text(
            'return { on_request = function(ctx, req) req.headers["x-a"] = "1\\r\\nX-Smuggled: 1" end }\n')
        gateway = launch(scripts=folder)
        reply = call("POST", gateway.url + "/v1/anything", body=CHAT, headers={
            "x-portkey-provider": "openai", "authorization": "Bearer k",
            "x-portkey-custom-host": f"http://127.0.0.1:{upstream.port}/v1", "content-type": "application/json"})
        assert reply.status == 500 and reply.error()["code"] == "script_error", reply.body
        assert "inject.lua" in reply.error()["message"]
        time.sleep(0.3)
        assert b"X-Smuggled" not in upstream.received
    finally:
        upstream.close()


@pytest.mark.parametrize("returned", [
    '"x\\n\\ndata: {\\"injected\\":true}"',
    '{ event = "x\\ndata: {\\"injected\\":true}", data = chunk.data or chunk.text }',
    '{ data = "a\\r\\rdata: {\\"injected\\":true}" }',
])
def test_on_chunk_cannot_add_events(launch, mock, tmp_path, returned):
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "adder.lua").write_text(f"return {{ on_chunk = function(ctx, chunk) return {returned} end }}\n")
    gateway = launch(scripts=folder)
    reply = call("POST", gateway.url + "/v1/chat/completions", headers=openai_headers(mock),
                 body=dict(CHAT, stream=True))
    text = reply.body.decode()
    assert '"injected"' not in text.replace('\\"injected\\"', ""), text
    # The stream ends with an error event naming the script (the head was already sent).
    assert "script_error" in text and "adder.lua" in text, text
    assert healthy(gateway)


# --- 3. $regex --------------------------------------------------------------------------------

def regex_config(mock, pattern):
    return {"strategy": {"mode": "conditional",
                         "conditions": [{"query": {"metadata.user": {"$regex": pattern}}, "then": "slow"}],
                         "default": "fast"},
            "targets": [{"name": "slow", "provider": "openai", "api_key": "k", "custom_host": mock.url + "/v1"},
                        {"name": "fast", "provider": "openai", "api_key": "k", "custom_host": mock.url + "/v1",
                         "override_params": {"model": "chosen-by-default"}}]}


def test_a_catastrophic_regex_answers_promptly_and_health_keeps_answering(launch, mock):
    gateway = launch()
    config = regex_config(mock, "^(a+)+$")
    results = {}

    def request(name, metadata):
        started = time.monotonic()
        try:
            reply = call("POST", gateway.url + "/v1/chat/completions", timeout=10, body=dict(CHAT, mock={"echo": True}),
                         headers={"x-portkey-config": json.dumps(config), "content-type": "application/json",
                                  "x-portkey-metadata": json.dumps({"user": metadata})})
            results[name] = (reply.status, reply.body, time.monotonic() - started)
        except OSError as error:
            results[name] = (None, str(error), time.monotonic() - started)

    threads = [threading.Thread(target=request, args=(f"r{i}", "a" * 22 + "!")) for i in range(4)]
    threads.append(threading.Thread(target=request, args=("match", "a" * 22)))
    for thread in threads:
        thread.start()
    health = [healthy(gateway) for _ in range(5)]
    for thread in threads:
        thread.join(15)
    assert all(health)
    for name, (status, body, _) in results.items():
        assert status == 200, (name, status, body)
    assert len(results) == 5
    # No match → the default target (its override); a match → the condition's target.
    assert "chosen-by-default" in json.loads(results["r0"][1])["body"]
    assert "chosen-by-default" not in json.loads(results["match"][1])["body"]


@pytest.mark.parametrize("pattern, reason", [
    (r"(a)\1", "backreferences"), ("(?=a)b", "lookahead"), ("(?<n>a)", "named groups"), ("a{5000}", "above 1000"),
])
def test_an_unsupported_regex_is_a_400_naming_its_path(launch, mock, pattern, reason):
    gateway = launch()
    reply = config_call(gateway, regex_config(mock, pattern), **{"x-portkey-metadata": '{"user":"a"}'})
    assert reply.status == 400, reply.body
    error = reply.error()
    assert error["code"] == "invalid_config"
    assert "config.strategy.conditions[0].query.metadata.user.$regex: unsupported pattern" in error["message"], error
    assert reason in error["message"]
