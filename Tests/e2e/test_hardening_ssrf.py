"""Credentials stay with their host, and the SSRF policy judges the address that is connected to.

Two parts:
- stored keys and client-chosen hosts (everything on 127.0.0.1): a listener stands in for the
  attacker's host and records whatever reaches it;
- SSRF spellings of internal addresses: the gateway, the mock and the client run inside a network
  namespace that has only a loopback interface (`unshare --net`), with 10.0.0.1, 169.254.169.254 and
  192.168.1.1 added to that loopback. Code that connects where the text check did not look lands in
  the namespace's own listener (never on a real network), and the test sees it.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_helpers import CHAT, call  # noqa: E402

STORED = "sk-stored-by-the-operator-1234"


class Listener:
    """A TCP listener on every address of the namespace (or 127.0.0.1): records what it receives,
    answers nothing useful."""

    def __init__(self, host="127.0.0.1"):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.received = []
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.settimeout(2)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                body = b'{"error":{"message":"listener"}}'
                conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: "
                             + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body)
            except OSError:
                pass
            finally:
                self.received.append(data)
                conn.close()

    def everything(self):
        return b"".join(self.received)

    def close(self):
        self.sock.close()


@pytest.fixture
def listener():
    process = Listener()
    yield process
    process.close()


def virtual_keys(tmp_path, mock):
    path = tmp_path / "virtual-keys.json"
    path.write_text(json.dumps({
        # The example: no custom_host, so the key belongs to the provider's own host.
        "vk-openai": {"provider": "openai", "api_key": STORED},
        "vk-mock": {"provider": "openai", "api_key": STORED, "custom_host": mock.url + "/v1"},
        "vk-open": {"provider": "openai", "api_key": "sk-may-travel", "allow_custom_host": True},
    }))
    return path


def chat(gateway, headers):
    return call("POST", gateway.url + "/v1/chat/completions",
                headers={"content-type": "application/json", **headers}, body=CHAT)


def assert_conflict(reply, listener):
    assert reply.status == 400, reply.body
    error = reply.error()
    assert error["code"] == "custom_host_with_stored_key", error
    assert "custom host" in error["message"] and STORED not in reply.body.decode()
    assert STORED.encode() not in listener.everything()
    assert listener.connections == 0


def test_virtual_key_never_goes_to_a_client_custom_host(launch, mock, listener, tmp_path):
    gateway = launch("--virtual-keys-file", str(virtual_keys(tmp_path, mock)))
    attacker = f"http://127.0.0.1:{listener.port}/v1"
    # Header + header (the example), also when the key has a host of its own.
    for name in ["vk-openai", "vk-mock"]:
        reply = chat(gateway, {"x-portkey-virtual-key": name, "x-portkey-custom-host": attacker})
        assert_conflict(reply, listener)
        assert f"virtual key '{name}'" in reply.error()["message"]
    # Inline config, at the top, inherited from a parent, and a header key under a config host.
    configs = [
        {"virtual_key": "vk-openai", "custom_host": attacker},
        {"strategy": {"mode": "fallback"}, "custom_host": attacker, "targets": [{"virtual_key": "vk-openai"}]},
        {"strategy": {"mode": "fallback"}, "targets": [
            {"strategy": {"mode": "loadbalance"}, "custom_host": attacker, "targets": [{"virtual_key": "vk-mock"}]}]},
    ]
    for config in configs:
        assert_conflict(chat(gateway, {"x-portkey-config": json.dumps(config)}), listener)
    reply = chat(gateway, {"x-portkey-virtual-key": "vk-openai",
                           "x-portkey-config": json.dumps({"provider": "openai", "custom_host": attacker})})
    assert_conflict(reply, listener)
    # A client-supplied host with the client's own key still works, and the operator's host too.
    reply = call("POST", gateway.url + "/v1/chat/completions", body={**CHAT, "mock": {"echo": True}}, headers={
        "content-type": "application/json", "x-portkey-provider": "openai", "authorization": "Bearer sk-client-own",
        "x-portkey-custom-host": mock.url + "/v1"})
    assert reply.status == 200 and reply.json()["headers"]["authorization"] == "Bearer sk-client-own"
    reply = call("POST", gateway.url + "/v1/chat/completions", body={**CHAT, "mock": {"echo": True}},
                 headers={"content-type": "application/json", "x-portkey-virtual-key": "vk-mock"})
    assert reply.status == 200 and reply.json()["headers"]["authorization"] == f"Bearer {STORED}"


def test_a_virtual_key_can_allow_custom_hosts(launch, mock, tmp_path):
    gateway = launch("--virtual-keys-file", str(virtual_keys(tmp_path, mock)))
    reply = call("POST", gateway.url + "/v1/chat/completions", body={**CHAT, "mock": {"echo": True}}, headers={
        "content-type": "application/json", "x-portkey-virtual-key": "vk-open", "x-portkey-custom-host": mock.url + "/v1"})
    assert reply.status == 200 and reply.json()["headers"]["authorization"] == "Bearer sk-may-travel"


def test_a_named_configs_key_never_goes_to_a_client_custom_host(launch, mock, listener, tmp_path):
    configs = tmp_path / "configs"
    configs.mkdir()
    # The key belongs to the provider's own host (never contacted here: every use of it is refused).
    (configs / "prod.json").write_text(json.dumps({"provider": "openai", "api_key": STORED}))
    (configs / "local.json").write_text(json.dumps({"provider": "openai", "api_key": STORED, "custom_host": mock.url + "/v1"}))
    gateway = launch("--configs", str(configs), "--default-config", "prod")
    attacker = f"http://127.0.0.1:{listener.port}/v1"
    reply = chat(gateway, {"x-portkey-config": "prod", "x-portkey-custom-host": attacker})
    assert_conflict(reply, listener)
    assert "config 'prod'" in reply.error()["message"]
    # The default config holds the key too.
    assert_conflict(chat(gateway, {"x-portkey-custom-host": attacker}), listener)
    # A named config's own host wins over the client's: the key goes where the operator wrote.
    for extra in [{}, {"x-portkey-custom-host": attacker}]:
        reply = call("POST", gateway.url + "/v1/chat/completions", body={**CHAT, "mock": {"echo": True}},
                     headers={"content-type": "application/json", "x-portkey-config": "local", **extra})
        assert reply.status == 200 and reply.json()["headers"]["authorization"] == f"Bearer {STORED}"
    assert listener.connections == 0


def test_a_mistyped_api_key_is_not_echoed(gateway):
    for bad in [["sk-secret-typed-in-a-list"], {"key": "sk-secret-typed-in-a-list"}, 1234567890123]:
        config = {"provider": "openai", "api_key": bad}
        reply = chat(gateway, {"x-portkey-config": json.dumps(config)})
        assert reply.status == 400
        error = reply.error()
        assert error["code"] == "invalid_config" and "config.api_key" in error["message"]
        assert "sk-secret-typed" not in reply.body.decode() and "1234567890123" not in reply.body.decode()
    # A config that is not JSON (URL-encoded, a list) is not echoed as a config name either.
    for text in ["%7B%22provider%22%3A%22openai%22%2C%22api_key%22%3A%22sk-secret-typed%22%7D",
                 '["openai", "sk-secret-typed"]']:
        reply = chat(gateway, {"x-portkey-config": text})
        assert reply.status == 400 and reply.error()["param"] == "x-portkey-config"
        assert "sk-secret-typed" not in reply.body.decode()


# --- SSRF spellings, inside a loopback-only network namespace ---------------------------------

INTERNAL = ["10.0.0.1", "169.254.169.254", "192.168.1.1"]

# host as the client writes it (with {port}) → where old code connected
SPELLINGS = [
    "http://[::ffff:a9fe:a9fe]:{port}/v1",     # IPv4-mapped IPv6 in hex → 169.254.169.254
    "http://[::ffff:169.254.169.254]:{port}/v1",
    "http://[::ffff:0a00:0001]:{port}/v1",     # → 10.0.0.1
    "http://012.0.0.1:{port}/v1",              # octal → 10.0.0.1
    "http://0xa9.0xfe.0xa9.0xfe:{port}/v1",    # hex → 169.254.169.254
    "http://2852039166:{port}/v1",             # one decimal number → 169.254.169.254
    "http://10.1:{port}/v1",                   # short form → 10.0.0.1
    "http://192.168.257:{port}/v1",            # short form → 192.168.1.1
    "http://0x7f.1:{port}/v1",                 # → 127.0.0.1, a spelling nobody needs
    "http://[0::0]:{port}/v1",                 # the unspecified address → this machine
    "http://[::]:{port}/v1",
    "http://[0:0:0:0:0:0:0:0]:{port}/v1",
    "http://0.0.0.0:{port}/v1",
    "http://[::a9fe:a9fe]:{port}/v1",          # IPv4-compatible
    "http://[64:ff9b::a9fe:a9fe]:{port}/v1",   # NAT64
    "http://[2002:a9fe:a9fe::1]:{port}/v1",    # 6to4
]


def scenario(out_path):
    """Runs inside the namespace: starts the mock, a listener on every address and the gateway,
    sends every spelling, and writes what happened as JSON."""
    from conftest import start_gateway, start_mock
    interfaces = [name for _, name in socket.if_nameindex()]
    if interfaces != ["lo"]:  # never run this where a packet could leave the machine
        sys.exit(f"not in a loopback-only network namespace (interfaces: {interfaces})")
    results = {"custom_host": {}, "config": {}, "image": {}, "password": None}
    mock = start_mock()
    catch_all = Listener("::")
    gateway = start_gateway()
    try:
        port = catch_all.port
        for spelling in SPELLINGS:
            url = spelling.format(port=port)
            before = len(catch_all.received)
            reply = call("POST", gateway.url + "/v1/chat/completions", body=CHAT, headers={
                "content-type": "application/json", "x-portkey-provider": "openai", "authorization": "Bearer sk-client",
                "x-portkey-custom-host": url}, timeout=20)
            results["custom_host"][spelling] = {"status": reply.status, "body": reply.body.decode(errors="replace"),
                                           "reached": len(catch_all.received) - before}
            before = len(catch_all.received)
            config = {"strategy": {"mode": "fallback"}, "targets": [{"provider": "openai", "api_key": "sk-client",
                                                                     "custom_host": url}]}
            reply = call("POST", gateway.url + "/v1/chat/completions", body=CHAT, headers={
                "content-type": "application/json", "x-portkey-config": json.dumps(config)}, timeout=20)
            results["config"][spelling] = {"status": reply.status, "body": reply.body.decode(errors="replace"),
                                      "reached": len(catch_all.received) - before}
        # Image URLs (fetched by the gateway for providers that need inline bytes).
        for image in [f"http://[::ffff:7f00:1]:{port}/cat.png", f"http://[::ffff:a9fe:a9fe]:{port}/cat.png",
                      f"http://012.0.0.1:{port}/cat.png", f"http://[0::0]:{port}/cat.png"]:
            before = len(catch_all.received)
            content = [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": image}}]
            reply = call("POST", gateway.url + "/v1/chat/completions", timeout=20, headers={
                "content-type": "application/json", "x-portkey-provider": "google", "authorization": "Bearer gk",
                "x-portkey-custom-host": mock.url + "/v1beta"},
                body={"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": content}]})
            results["image"][image] = {"status": reply.status, "body": reply.body.decode(errors="replace"),
                                       "reached": len(catch_all.received) - before}
        # A refused custom host's password is not echoed.
        reply = call("POST", gateway.url + "/v1/chat/completions", body=CHAT, headers={
            "content-type": "application/json", "x-portkey-provider": "openai", "authorization": "Bearer sk-client",
            "x-portkey-custom-host": "https://admin:PASS-w0rd@10.0.0.1/v1"}, timeout=20)
        results["password"] = {"status": reply.status, "body": reply.body.decode(errors="replace")}
        results["log"] = gateway.output()
    finally:
        gateway.stop()
        mock.stop()
        catch_all.close()
    Path(out_path).write_text(json.dumps(results))


def namespace_command():
    """How to enter a fresh network namespace here: as root `unshare --net`, else through a user
    namespace (`--user --map-root-user`, where the kernel allows it). A string is a skip reason."""
    if not (shutil.which("unshare") and shutil.which("ip")):
        return "needs unshare and ip (util-linux, iproute2)"
    errors = []
    for prefix in (["unshare", "--net"], ["unshare", "--user", "--map-root-user", "--net"]):
        probe = subprocess.run(prefix + ["sh", "-c", "ip link set lo up && ip addr add 10.0.0.1/32 dev lo"],
                               capture_output=True, text=True)
        if probe.returncode == 0:
            return prefix
        errors.append(probe.stderr.strip())
    return "cannot create a network namespace here (needs root or user namespaces): " + "; ".join(errors)


@pytest.fixture(scope="module")
def namespace_results(tmp_path_factory):
    prefix = namespace_command()
    if isinstance(prefix, str):
        pytest.skip(prefix)
    out = tmp_path_factory.mktemp("ssrf") / "results.json"
    addresses = "; ".join(f"ip addr add {a}/32 dev lo" for a in INTERNAL)
    command = f"ip link set lo up && {addresses} && exec {sys.executable} {Path(__file__).resolve()} --scenario {out}"
    done = subprocess.run(prefix + ["sh", "-c", command], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent)})
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(out.read_text())


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_custom_host_spellings_are_refused_not_connected(namespace_results, spelling):
    for kind, param in [("custom_host", "x-portkey-custom-host"), ("config", None)]:
        result = namespace_results[kind][spelling]
        assert result["reached"] == 0, f"{kind} {spelling} reached the listener"
        assert result["status"] == 400, f"{kind} {spelling}: {result}"
        error = json.loads(result["body"])["error"]
        assert error["type"] == "invalid_request_error", error
        if param:
            assert error["param"] == param


def test_image_urls_are_judged_by_their_address(namespace_results):
    for url, result in namespace_results["image"].items():
        assert result["reached"] == 0, f"{url} was fetched"
        assert result["status"] == 400, result
        error = json.loads(result["body"])["error"]
        assert error["code"] == "image_fetch_failed" and "not public" in error["message"], error


def test_a_refused_hosts_password_is_not_echoed(namespace_results):
    result = namespace_results["password"]
    assert result["status"] == 400
    assert "PASS-w0rd" not in result["body"] and "admin" not in result["body"]
    assert "credentials in the URL" in json.loads(result["body"])["error"]["message"]
    assert "PASS-w0rd" not in namespace_results["log"]


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--scenario":
        scenario(sys.argv[2])
    else:
        sys.exit("usage: test_hardening_ssrf.py --scenario OUT.json (run inside a network namespace)")
