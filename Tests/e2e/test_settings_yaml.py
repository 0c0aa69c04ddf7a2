"""Settings files in YAML as operators write them (read by YAMLReader on libyaml): lists, maps,
anchors, quoted and plain scalars, booleans; and a syntax error that names file, line and column."""
import re
import subprocess

from conftest import BIN, ROOT
from http_helpers import CHAT, call, openai_headers


def run_switchboard(*args, timeout=20):
    return subprocess.run([str(BIN / "switchboard"), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_a_yaml_settings_file_with_lists_maps_quotes_and_booleans(launch, mock, tmp_path):
    settings = tmp_path / "switchboard.yml"
    settings.write_text(f"""# Switchboard settings
max_body_size: 0x200            # hex is a number (512)
request_log: off                # a plain word: a string here, not YAML 1.1's false
metrics: false
log_bodies: no                  # a boolean setting takes YAML 1.1's yes/no too
gateway_keys:
  - "gk-quoted: one"
  - gk-plain-two
admin_token: 0123               # read as the string it is written as, leading zero kept
virtual_keys:
  team: &team
    provider: openai
    api_key: 'sk-yaml # not a comment'
    custom_host: "{mock.url}/v1"
  copy: *team
""")
    gateway = launch("--config-file", str(settings))
    gateway.wait_for(r"settings file: .*switchboard\.yml")
    echo = {**CHAT, "mock": {"echo": True}}
    # Both gateway keys from the list work, and one is required.
    for key in ("gk-quoted: one", "gk-plain-two"):
        reply = call("POST", gateway.url + "/v1/chat/completions",
                     headers={"x-portkey-virtual-key": "team", "x-portkey-api-key": key}, body=echo)
        assert reply.status == 200, reply.body
        assert reply.json()["headers"]["authorization"] == "Bearer sk-yaml # not a comment"
    assert call("POST", gateway.url + "/v1/chat/completions", headers={"x-portkey-virtual-key": "team"},
                body=echo).status == 401
    # The alias is a second virtual key with the same provider and key.
    reply = call("POST", gateway.url + "/v1/chat/completions",
                 headers={"x-portkey-virtual-key": "copy", "x-portkey-api-key": "gk-plain-two"}, body=echo)
    assert reply.status == 200 and reply.json()["headers"]["authorization"] == "Bearer sk-yaml # not a comment"
    # max_body_size 0x200 = 512 bytes.
    big = {**CHAT, "messages": [{"role": "user", "content": "x" * 600}]}
    headers = {**openai_headers(mock), "x-portkey-api-key": "gk-plain-two"}
    assert call("POST", gateway.url + "/v1/chat/completions", headers=headers, body=big).status == 413
    assert call("GET", gateway.url + "/metrics").status == 404
    assert call("GET", gateway.url + "/admin/scripts", headers={"x-admin-token": "0123"}).status == 200
    assert call("GET", gateway.url + "/admin/scripts", headers={"x-admin-token": "123"}).status == 401
    # No secret from the file reaches the output.
    assert "sk-yaml" not in gateway.output() and "gk-plain-two" not in gateway.output()


def test_a_yaml_syntax_error_names_file_line_and_column(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("port: 8080\nallow_hosts: [a.example, b.example\nmetrics: true\n")
    result = run_switchboard("--config-file", str(broken), "--port", "0")
    assert result.returncode != 0
    assert re.search(rf"not valid JSON or YAML: {re.escape(str(broken))}:3:\d+: did not find expected ',' or ']'",
                     result.stderr), result.stderr
    checked = run_switchboard("check", "--config-file", str(broken))
    assert checked.returncode == 1 and f"{broken}:3:" in checked.stdout
    # A quoted number stays a string, so a number setting refuses it, naming file and key.
    quoted = tmp_path / "quoted.yaml"
    quoted.write_text('port: "8080"\n')
    checked = run_switchboard("check", "--config-file", str(quoted))
    assert checked.returncode == 1 and f"'port' in {quoted} must be a whole number" in checked.stdout
    # A second document and a duplicate key are refused with their line.
    two = tmp_path / "two.yaml"
    two.write_text("port: 1\n---\nport: 2\n")
    checked = run_switchboard("check", "--config-file", str(two))
    assert checked.returncode == 1 and f"{two}:2:1: a second document starts here" in checked.stdout
    twice = tmp_path / "twice.yaml"
    twice.write_text("lua_vms: 1\nlua_vms: 2\n")
    checked = run_switchboard("check", "--config-file", str(twice))
    assert checked.returncode == 1 and f"{twice}:2:1: duplicate key 'lua_vms'" in checked.stdout
