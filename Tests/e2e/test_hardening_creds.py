"""Stored credentials stay with their host, continued:

- settings that decide the upstream host (a provider's `host_settings`: Azure's resource name, a
  region in the host name) cannot be chosen by a client for a key the gateway holds;
- virtual keys keep working, and stay bound to their host, after Lua middleware and in `gw.route`.

A test provider (`regional`) builds its host from the `region` setting, so a client-chosen value can
point at a listener on 127.0.0.1 that stands in for the attacker and records what reaches it.
"""
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_helpers import CHAT, call  # noqa: E402
from test_hardening_ssrf import STORED, Listener  # noqa: E402

ECHO = {**CHAT, "mock": {"echo": True}}

REGIONAL = """
-- Test provider: the host is the region setting (like Azure's {resource}.openai.azure.com).
local compat = require("openai_compatible")
local provider = compat.provider { name = "Regional", host_settings = { "region" } }
function provider.prepare(ctx)
  local region = ctx.settings.region
  if not region then error(compat.bad_request("regional needs x-portkey-region")) end
  return { url = compat.join_url("http://" .. region .. "/v1", ctx.path, ctx.query),
           headers = { authorization = "Bearer " .. (ctx.api_key or "") } }
end
return provider
"""


@pytest.fixture
def listener():
    process = Listener()
    yield process
    process.close()


@pytest.fixture
def setup(tmp_path, mock, providers_copy):
    """Providers with `regional`, virtual keys, named configs."""
    (providers_copy / "regional.lua").write_text(REGIONAL)
    mock_region = mock.url.removeprefix("http://")
    keys = tmp_path / "virtual-keys.json"
    keys.write_text(json.dumps({
        "vk-regional": {"provider": "regional", "api_key": STORED},
        "vk-regional-pinned": {"provider": "regional", "api_key": STORED, "region": mock_region},
        "vk-regional-open": {"provider": "regional", "api_key": "sk-may-travel", "allow_custom_host": True},
        "vk-openai": {"provider": "openai", "api_key": STORED},
        "vk-mock": {"provider": "openai", "api_key": STORED, "custom_host": mock.url + "/v1"},
        # Bundled providers whose host is built from a setting.
        "vk-azure": {"provider": "azure-openai", "api_key": STORED, "azure_deployment_id": "d"},
        "vk-bedrock": {"provider": "bedrock", "aws_access_key_id": "AKIASTORED", "aws_secret_access_key": STORED},
        "vk-vertex": {"provider": "vertex-ai", "api_key": STORED, "vertex_project_id": "p"},
    }))
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "prod.json").write_text(json.dumps({"provider": "regional", "api_key": STORED}))
    (configs / "pinned.json").write_text(json.dumps({"provider": "regional", "api_key": STORED, "region": mock_region}))
    return {"providers": providers_copy, "args": ["--virtual-keys-file", str(keys), "--configs", str(configs)],
            "mock_region": mock_region}


def chat(gateway, headers, body=CHAT, path="/v1/chat/completions"):
    return call("POST", gateway.url + path, headers={"content-type": "application/json", **headers}, body=body)


def assert_refused(reply, listener, setting):
    assert reply.status == 400, reply.body
    error = reply.error()
    assert error["code"] == "custom_host_with_stored_key", error
    assert error["param"] == "x-portkey-" + setting.replace("_", "-"), error
    assert f"'{setting}'" in error["message"] and STORED not in reply.body.decode()
    assert listener.connections == 0 and STORED.encode() not in listener.everything()


def test_a_client_cannot_choose_a_stored_keys_host_through_a_setting(launch, setup, listener):
    gateway = launch(*setup["args"], providers=setup["providers"])
    evil = f"127.0.0.1:{listener.port}"
    # The header, with a virtual key whose entry does not set the region.
    assert_refused(chat(gateway, {"x-portkey-virtual-key": "vk-regional", "x-portkey-region": evil}), listener, "region")
    # An inline config, at the target, inherited from a parent, over the entry's own value, and
    # under a header virtual key.
    for config, headers in [
        ({"virtual_key": "vk-regional", "region": evil}, {}),
        ({"strategy": {"mode": "fallback"}, "region": evil, "targets": [{"virtual_key": "vk-regional"}]}, {}),
        ({"virtual_key": "vk-regional-pinned", "region": evil}, {}),
        ({"provider": "regional", "region": evil}, {"x-portkey-virtual-key": "vk-regional"}),
    ]:
        assert_refused(chat(gateway, {"x-portkey-config": json.dumps(config), **headers}), listener, "region")
    # A named config's key (and the default config's) with a client's region.
    reply = chat(gateway, {"x-portkey-config": "prod", "x-portkey-region": evil})
    assert_refused(reply, listener, "region")
    assert "config 'prod'" in reply.error()["message"]


def test_the_operators_host_settings_and_allowed_keys_pass(launch, setup, listener):
    gateway = launch(*setup["args"], providers=setup["providers"])
    evil = f"127.0.0.1:{listener.port}"
    # The entry's / named config's own value wins over the client's: the key goes where the operator wrote.
    for headers in [{"x-portkey-virtual-key": "vk-regional-pinned"}, {"x-portkey-virtual-key": "vk-regional-pinned", "x-portkey-region": evil},
                    {"x-portkey-config": "pinned", "x-portkey-region": evil}]:
        reply = chat(gateway, headers, body=ECHO)
        assert reply.status == 200, reply.body
        assert reply.json()["headers"]["authorization"] == f"Bearer {STORED}"
    # allow_custom_host lets the key travel; the client's own key goes where the client says.
    reply = chat(gateway, {"x-portkey-virtual-key": "vk-regional-open", "x-portkey-region": setup["mock_region"]}, body=ECHO)
    assert reply.status == 200 and reply.json()["headers"]["authorization"] == "Bearer sk-may-travel"
    reply = chat(gateway, {"x-portkey-provider": "regional", "authorization": "Bearer sk-client-own",
                           "x-portkey-region": setup["mock_region"]}, body=ECHO)
    assert reply.status == 200 and reply.json()["headers"]["authorization"] == "Bearer sk-client-own"
    assert listener.connections == 0


@pytest.mark.parametrize("key,setting", [
    ("vk-azure", "azure_resource_name"),   # the issue's example: evil.openai.azure.com
    ("vk-azure", "resource_name"),         # its config-form alias
    ("vk-bedrock", "aws_region"),          # bedrock-runtime.<region>.amazonaws.com
    ("vk-vertex", "vertex_region"),        # <region>-aiplatform.googleapis.com
])
def test_bundled_providers_refuse_a_clients_host_setting_with_a_stored_key(launch, setup, listener, key, setting):
    gateway = launch(*setup["args"], providers=setup["providers"])
    body = {"model": "anthropic.claude-3-haiku" if key == "vk-bedrock" else "gemini-2.5-flash" if key == "vk-vertex" else "gpt-4",
            "messages": [{"role": "user", "content": "hi"}]}
    header = "x-portkey-" + setting.replace("_", "-")
    assert_refused(chat(gateway, {"x-portkey-virtual-key": key, header: "evil"}, body=body), listener, setting)
    assert_refused(chat(gateway, {"x-portkey-config": json.dumps({"virtual_key": key, setting: "evil"})}, body=body),
                   listener, setting)


MIDDLEWARE = """
return {
  on_request = function(ctx, req)
    req.headers["x-touched"] = "1"
    -- An operator's script may pick a key itself.
    if req.headers["x-team"] == "a" then req.headers["x-portkey-virtual-key"] = "vk-mock" end
  end,
}
"""

RELAY = """
local names = { "x-portkey-virtual-key", "x-portkey-custom-host", "x-portkey-region", "x-portkey-provider", "authorization" }
return { handlers = { ["POST /v1/relay"] = function(req)
  local headers = {}
  for _, name in ipairs(names) do headers[name] = req.headers[name] end
  local r = gw.route { path = "/chat/completions", headers = headers, body = req.body }
  return { status = 200, body = { status = r.status, body = r.body or gw.json.null, error = r.error or gw.json.null } }
end } }
"""


@pytest.fixture
def scripts(tmp_path):
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "touch.lua").write_text(MIDDLEWARE)
    (folder / "relay.lua").write_text(RELAY)
    return folder


def test_middleware_keeps_the_virtual_key_and_its_host(launch, setup, scripts, listener):
    gateway = launch(*setup["args"], providers=setup["providers"], scripts=scripts)
    for headers in [{"x-portkey-virtual-key": "vk-mock"}, {"x-team": "a"}]:
        reply = chat(gateway, headers, body=ECHO)
        assert reply.status == 200, reply.body
        assert reply.json()["headers"]["authorization"] == f"Bearer {STORED}"
    attacker = f"http://127.0.0.1:{listener.port}/v1"
    reply = chat(gateway, {"x-portkey-virtual-key": "vk-openai", "x-portkey-custom-host": attacker})
    assert reply.status == 400 and reply.error()["code"] == "custom_host_with_stored_key", reply.body
    assert_refused(chat(gateway, {"x-portkey-virtual-key": "vk-regional", "x-portkey-region": f"127.0.0.1:{listener.port}"}),
                   listener, "region")


def test_gw_route_keeps_the_virtual_key_and_its_host(launch, setup, scripts, listener):
    gateway = launch(*setup["args"], providers=setup["providers"], scripts=scripts)
    reply = chat(gateway, {"x-portkey-virtual-key": "vk-mock"}, body=ECHO, path="/v1/relay")
    assert reply.status == 200, reply.body
    result = reply.json()
    assert result["status"] == 200, result
    assert result["body"]["headers"]["authorization"] == f"Bearer {STORED}"
    for headers in [{"x-portkey-virtual-key": "vk-openai", "x-portkey-custom-host": f"http://127.0.0.1:{listener.port}/v1"},
                    {"x-portkey-virtual-key": "vk-regional", "x-portkey-region": f"127.0.0.1:{listener.port}"}]:
        result = chat(gateway, headers, path="/v1/relay").json()
        assert result["status"] == 400 and result["error"]["code"] == "custom_host_with_stored_key", result
    assert listener.connections == 0 and STORED.encode() not in listener.everything()


def test_a_gateway_key_in_authorization_never_goes_upstream_after_middleware(launch, setup, scripts, mock, tmp_path):
    keys = tmp_path / "gateway-keys"
    keys.write_text("sb-gateway-key-1\n")
    gateway = launch("--gateway-keys-file", str(keys), *setup["args"], providers=setup["providers"], scripts=scripts)
    headers = {"authorization": "Bearer sb-gateway-key-1", "x-portkey-provider": "openai",
               "x-portkey-custom-host": mock.url + "/v1"}
    # As without middleware: the gateway key is not the provider key, so there is none.
    reply = chat(gateway, headers, body=ECHO)
    assert reply.status == 401 and "sb-gateway-key-1" not in reply.body.decode(), reply.body
    result = chat(gateway, headers, body=ECHO, path="/v1/relay").json()
    assert "sb-gateway-key-1" not in json.dumps(result)
    # A virtual key still supplies its own.
    reply = chat(gateway, {"authorization": "Bearer sb-gateway-key-1", "x-portkey-virtual-key": "vk-mock"}, body=ECHO)
    assert reply.status == 200 and reply.json()["headers"]["authorization"] == f"Bearer {STORED}"


def test_a_named_configs_credential_settings_are_a_held_key(launch, mock, listener, tmp_path):
    """Bedrock's AWS keys written in a named config (credential_settings) stay with AWS: a client's
    custom host would receive a SigV4-signed request (replayable) with the access key id."""
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "aws.json").write_text(json.dumps({"provider": "bedrock", "aws_access_key_id": "AKIASTOREDINCONFIG",
                                                  "aws_secret_access_key": STORED}))
    gateway = launch("--configs", str(configs))
    body = {"model": "anthropic.claude-3-haiku", "messages": [{"role": "user", "content": "hi"}]}
    attacker = f"http://127.0.0.1:{listener.port}"
    reply = chat(gateway, {"x-portkey-config": "aws", "x-portkey-custom-host": attacker}, body=body)
    assert reply.status == 400 and reply.error()["code"] == "custom_host_with_stored_key", reply.body
    assert "config 'aws'" in reply.error()["message"] and "AKIASTORED" not in reply.body.decode()
    reply = chat(gateway, {"x-portkey-config": "aws", "x-portkey-aws-region": "evil"}, body=body)
    assert reply.status == 400 and reply.error()["param"] == "x-portkey-aws-region", reply.body
    assert listener.connections == 0
    # The client's own AWS keys (inline config) may go where the client says.
    own = {"provider": "bedrock", "aws_access_key_id": "AKIACLIENTOWN", "aws_secret_access_key": "own", "custom_host": attacker}
    chat(gateway, {"x-portkey-config": json.dumps(own)}, body=body)
    assert b"AKIACLIENTOWN" in listener.everything()


@pytest.mark.parametrize("config, setting, value", [
    ({"provider": "databricks", "api_key": STORED}, "databricks_workspace", "evil"),
    ({"provider": "oracle", "api_key": STORED}, "oracle_region", "evil"),
    ({"provider": "azure-ai", "api_key": STORED}, "azure_resource_name", "evil"),
    ({"provider": "azure-ai", "api_key": STORED}, "azure_foundry_url", "https://evil.example"),
    ({"provider": "sagemaker", "aws_access_key_id": "AKIASTORED", "aws_secret_access_key": STORED}, "aws_region", "evil"),
])
def test_issue_19_host_settings_are_refused_with_a_held_key(launch, listener, tmp_path, config, setting, value):
    """The providers added by issue 19 whose host comes from a setting (a workspace, a region, a
    resource) declare it in host_settings: with a key the gateway holds (a named config's), a
    client's value for it is refused before anything is sent, as a custom host is."""
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "held.json").write_text(json.dumps(config))
    gateway = launch("--configs", str(configs))
    path = "/v1/endpoints/e/invocations" if config["provider"] == "sagemaker" else "/v1/chat/completions"
    reply = chat(gateway, {"x-portkey-config": "held", "x-portkey-" + setting.replace("_", "-"): value}, path=path)
    assert_refused(reply, listener, setting)
    reply = chat(gateway, {"x-portkey-config": "held", "x-portkey-custom-host": f"http://127.0.0.1:{listener.port}/v1"},
                 path=path)
    assert reply.status == 400 and reply.error()["code"] == "custom_host_with_stored_key", reply.body
    assert listener.connections == 0
