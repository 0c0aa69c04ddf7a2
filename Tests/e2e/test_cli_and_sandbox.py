"""Command line, startup log, offline check, and runaway scripts in a running gateway."""
import subprocess

from conftest import BIN, ROOT
from http_helpers import CHAT, call, openai_headers


def test_help_documents_every_option():
    text = subprocess.run([BIN / "switchboard", "serve", "--help"], capture_output=True, text=True).stdout
    for option, env in [("--host", "SWITCHBOARD_HOST"), ("--port", "SWITCHBOARD_PORT"),
                        ("--providers", "SWITCHBOARD_PROVIDERS"), ("--scripts", "SWITCHBOARD_SCRIPTS"),
                        ("--log-level", "SWITCHBOARD_LOG_LEVEL"), ("--max-body-size", "SWITCHBOARD_MAX_BODY_SIZE"),
                        ("--upstream-timeout", "SWITCHBOARD_UPSTREAM_TIMEOUT"), ("--allow-host", "SWITCHBOARD_ALLOW_HOSTS"),
                        ("--lua-vms", "SWITCHBOARD_LUA_VMS"), ("--lua-memory-mb", "SWITCHBOARD_LUA_MEMORY_MB"),
                        ("--lua-instruction-budget", "SWITCHBOARD_LUA_INSTRUCTION_BUDGET")]:
        assert option in text and env in text, option


def test_startup_logs_address_and_every_provider(gateway):
    log = gateway.output()
    for provider in (ROOT / "providers").glob("*.lua"):
        assert f"loaded provider {provider.stem} from providers/{provider.name}" in log
    assert "switchboard listening on http://127.0.0.1:" in log


def test_environment_sets_options_and_bad_values_are_named(launch, mock):
    via_env = launch(env={"SWITCHBOARD_LOG_LEVEL": "debug"})
    assert call("GET", via_env.url + "/health").status == 200
    result = subprocess.run([BIN / "switchboard", "--port", "0"], env={"SWITCHBOARD_LUA_VMS": "many", "PATH": "/usr/bin"},
                            capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert result.returncode != 0
    assert "SWITCHBOARD_LUA_VMS" in result.stderr


def test_check_command(tmp_path, providers_copy):
    ok = subprocess.run([BIN / "switchboard", "check", "--providers", ROOT / "providers", "--scripts", ROOT / "scripts"],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "ok:" in ok.stdout
    (providers_copy / "broken.lua").write_text("local x = \nreturn {")
    bad = subprocess.run([BIN / "switchboard", "check", "--providers", providers_copy],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert "providers/broken.lua:2" in bad.stdout


def test_broken_provider_stops_startup_with_file_and_line(providers_copy):
    (providers_copy / "broken.lua").write_text("return { prepare = function( }")
    result = subprocess.run([BIN / "switchboard", "--port", "0", "--providers", providers_copy],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "providers/broken.lua:1" in result.stderr


def test_runaway_scripts_fail_one_request_and_gateway_keeps_serving(launch, providers_copy, mock):
    (providers_copy / "loop.lua").write_text(
        "return { prepare = function(ctx)\n  local n = 0\n  while true do n = n + 1 end\nend }\n")
    (providers_copy / "hog.lua").write_text(
        "return { prepare = function(ctx)\n  local t = {}\n"
        "  for i = 1, 1e12 do t[i] = string.rep('x', 100) .. i end\nend }\n")
    gateway = launch("--lua-memory-mb", "16", "--lua-instruction-budget", "2000000", providers=providers_copy)
    for provider, expected in [("loop", "providers/loop.lua:3"), ("hog", "providers/hog.lua")]:
        reply = call("POST", gateway.url + "/v1/chat/completions",
                     headers={**openai_headers(mock), "x-portkey-provider": provider}, body=CHAT)
        assert reply.status == 500, provider
        error = reply.error()
        assert error["type"] == "script_error"
        assert expected in error["message"], error
    reply = call("POST", gateway.url + "/v1/chat/completions", headers=openai_headers(mock), body=CHAT)
    assert reply.status == 200
