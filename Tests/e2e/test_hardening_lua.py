"""Hostile Lua scripts (issue 12, item 5): time spent inside Lua's C functions, catastrophic
patterns and finalizers used to hold an event loop indefinitely. Each now fails its own request
with 500 script_error naming the script, within a generous bound, while /health keeps answering."""
import subprocess
import threading
import time

from conftest import BIN, ROOT
from http_helpers import CHAT, call, openai_headers

BOUND = 10  # seconds; these requests used to never answer

SLOW_C = 'for i = 1, 50000 do string.rep("x", 4e6) end'
PATTERN = 'string.find(("a"):rep(5000), (".-"):rep(6) .. "b")'
SWALLOWED = 'while true do pcall(string.rep, "x", 1e7) end'
FINALIZER = 'setmetatable({}, {__gc = function() while true do end end})'


def timed(method, url, **kwargs):
    started = time.monotonic()
    reply = call(method, url, timeout=BOUND + 5, **kwargs)
    return reply, time.monotonic() - started


def assert_script_error(reply, elapsed, script, text):
    assert elapsed < BOUND, f"{script}: answered after {elapsed:.1f} s"
    assert reply.status == 500, (script, reply.status, reply.body[:200])
    error = reply.error()
    assert error["type"] == "script_error" or error.get("code") == "script_error", error
    assert script in error["message"], error
    assert text in error["message"], error


def while_health_answers(gateway, request):
    """Runs `request` in a thread and checks /health on other connections until it finishes."""
    result = {}
    thread = threading.Thread(target=lambda: result.update(out=request()))
    thread.start()
    checks = 0
    while thread.is_alive() or checks == 0:
        started = time.monotonic()
        health = call("GET", gateway.url + "/health", timeout=BOUND)
        assert health.status == 200
        assert time.monotonic() - started < BOUND
        checks += 1
        time.sleep(0.05)
    thread.join(BOUND)
    return result["out"]


def middleware(tmp_path, body):
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "hostile.lua").write_text(f"return {{ on_request = function(ctx, req)\n  {body}\nend }}\n")
    return folder


def test_time_inside_c_functions_is_limited_in_middleware(launch, mock, tmp_path):
    gateway = launch("--lua-vms", "2", scripts=middleware(tmp_path, SLOW_C))
    reply, elapsed = while_health_answers(gateway, lambda: timed(
        "POST", gateway.url + "/v1/chat/completions", headers=openai_headers(mock), body=CHAT))
    assert_script_error(reply, elapsed, "scripts/hostile.lua", "time limit of 1000 ms exceeded")


def test_pcall_cannot_swallow_the_time_limit(launch, mock, tmp_path):
    gateway = launch("--lua-time-limit-ms", "300", scripts=middleware(tmp_path, SWALLOWED))
    reply, elapsed = timed("POST", gateway.url + "/v1/chat/completions", headers=openai_headers(mock), body=CHAT)
    assert_script_error(reply, elapsed, "scripts/hostile.lua:2", "time limit of 300 ms exceeded")


def test_catastrophic_pattern_fails_as_too_complex(launch, mock, tmp_path):
    gateway = launch("--lua-time-limit-ms", "0", scripts=middleware(tmp_path, PATTERN))  # the step budget alone
    reply, elapsed = while_health_answers(gateway, lambda: timed(
        "POST", gateway.url + "/v1/chat/completions", headers=openai_headers(mock), body=CHAT))
    assert_script_error(reply, elapsed, "scripts/hostile.lua:2", "pattern too complex")


def test_finalizers_are_refused(launch, mock, tmp_path):
    gateway = launch(scripts=middleware(tmp_path, FINALIZER))
    reply, elapsed = timed("POST", gateway.url + "/v1/chat/completions", headers=openai_headers(mock), body=CHAT)
    assert_script_error(reply, elapsed, "scripts/hostile.lua:2", "a metatable with __gc is not allowed")
    assert call("GET", gateway.url + "/health").status == 200


def test_scripted_route_is_limited(launch, tmp_path):
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "slow_route.lua").write_text(
        f'return {{ handlers = {{ ["GET /v1/slow"] = function(req)\n  {SLOW_C}\n  return {{ status = 200 }}\nend }} }}\n')
    gateway = launch(scripts=folder)
    reply, elapsed = while_health_answers(gateway, lambda: timed("GET", gateway.url + "/v1/slow"))
    assert_script_error(reply, elapsed, "scripts/slow_route.lua", "time limit of 1000 ms exceeded")


def test_provider_script_is_limited(launch, mock, providers_copy):
    (providers_copy / "patterns.lua").write_text(f"return {{ prepare = function(ctx)\n  {PATTERN}\nend }}\n")
    (providers_copy / "slowc.lua").write_text(f"return {{ prepare = function(ctx)\n  {SLOW_C}\nend }}\n")
    gateway = launch(providers=providers_copy)
    for provider, text in [("patterns", "pattern too complex"), ("slowc", "time limit of 1000 ms exceeded")]:
        reply, elapsed = while_health_answers(gateway, lambda: timed(
            "POST", gateway.url + "/v1/chat/completions",
            headers={**openai_headers(mock), "x-portkey-provider": provider}, body=CHAT))
        assert_script_error(reply, elapsed, f"providers/{provider}.lua", text)
    # The VMs keep serving ordinary requests.
    assert call("POST", gateway.url + "/v1/chat/completions", headers=openai_headers(mock), body=CHAT).status == 200


def test_time_limit_setting_is_documented_and_validated():
    help_text = subprocess.run([BIN / "switchboard", "serve", "--help"], capture_output=True, text=True).stdout
    assert "--lua-time-limit-ms" in help_text and "SWITCHBOARD_LUA_TIME_LIMIT_MS" in help_text
    refused = subprocess.run([BIN / "switchboard", "--port", "0"], env={"SWITCHBOARD_LUA_TIME_LIMIT_MS": "-5", "PATH": "/usr/bin"},
                             capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert refused.returncode != 0
    assert "SWITCHBOARD_LUA_TIME_LIMIT_MS" in refused.stderr
