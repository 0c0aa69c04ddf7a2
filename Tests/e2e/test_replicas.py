"""Several replicas behind a load balancer share their limits and budgets through Redis (issue 17):
Debian's redis-server and haproxy on loopback, three gateways with --redis-url. A 60-per-minute
key allows exactly 60 of 100 requests spread over the replicas; a budget spent through one replica
stops the key on the others; one replica killed under load loses no request (haproxy retries a
refused connection on another); Redis stopped mid-run leaves the gateways answering (limits fail
open by default) and started again restores the limits, without a restart."""
import json
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import Process, start_gateway
from http_helpers import CHAT, call
from test_costs_and_budgets import pricing_folder
from test_observability import scrape, value

pytestmark = pytest.mark.skipif(not (shutil.which("redis-server") and (shutil.which("haproxy") or
                                                                       shutil.which("/usr/sbin/haproxy"))),
                                reason="needs Debian's redis-server and haproxy (make test installs them)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Redis:
    def __init__(self, tmp_path):
        self.port = free_port()
        self.dir = tmp_path / "redis"
        self.dir.mkdir(exist_ok=True)
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.dir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)  # the test runner's blocked SIGTERM is inherited
            self.proc.wait()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"


class HAProxy:
    def __init__(self, tmp_path, backends):
        self.port = free_port()
        config = tmp_path / "haproxy.cfg"
        servers = "\n".join(f"    server g{i} {url.removeprefix('http://')} check inter 200ms fall 1 rise 1"
                            for i, url in enumerate(backends))
        config.write_text(f"""global
    maxconn 1000
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch
    option http-buffer-request
    retry-on conn-failure empty-response response-timeout
frontend gateways
    bind 127.0.0.1:{self.port}
    default_backend replicas
backend replicas
    balance roundrobin
    option httpchk GET /ready
{servers}
""")
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        self.proc = Process([binary, "-f", str(config), "-db"])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("haproxy did not start:\n" + self.proc.output())

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.proc.stop()


@pytest.fixture
def cluster(tmp_path, mock):
    """Redis, three replicas with the same settings, and haproxy in front."""
    started = []

    def make(keys, *extra):
        redis = Redis(tmp_path)
        settings = tmp_path / "settings.yaml"
        settings.write_text("gateway_keys:\n" + "".join(f"  - {json.dumps(k)}\n" for k in keys))
        replicas = [start_gateway("--config-file", str(settings), "--redis-url", redis.url, "--request-log", "off", *extra)
                    for _ in range(3)]
        proxy = HAProxy(tmp_path, [r.url for r in replicas])
        started.append((redis, replicas, proxy))
        return redis, replicas, proxy

    yield make
    for redis, replicas, proxy in started:
        proxy.stop()
        for replica in replicas:
            replica.stop()
        redis.stop()


def chat(proxy, mock, key, model="gpt-4"):
    return call("POST", proxy.url + "/v1/chat/completions", body={**CHAT, "model": model},
                headers={"x-portkey-provider": "openai", "Authorization": "Bearer sk-provider",
                         "x-portkey-custom-host": mock.url + "/v1", "x-portkey-api-key": key, "Content-Type": "application/json"})


def test_a_limit_holds_across_replicas(cluster, mock):
    redis, replicas, proxy = cluster([{"key": "sb-team", "name": "team", "limits": {"requests_per_minute": 60}}])
    replies = [chat(proxy, mock, "sb-team") for _ in range(100)]
    statuses = [reply.status for reply in replies]
    assert statuses.count(200) == 60 and statuses.count(429) == 40, statuses
    # The windows Redis keeps are told as OpenAI tells them, whichever replica answered.
    assert [int(r.headers["x-ratelimit-remaining-requests"]) for r in replies[:60]] == list(range(59, -1, -1))
    refused = replies[60]
    assert refused.headers["x-ratelimit-remaining-requests"] == "0" and 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.error()["code"] == "rate_limit_exceeded"
    # haproxy spread them: every replica answered some (each alone would have allowed 60).
    for replica in replicas:
        samples, _ = scrape(replica)
        assert value(samples, "switchboard_requests_total", route="/v1/chat/completions") > 0


def test_a_budget_spent_through_one_replica_stops_the_key_on_the_others(cluster, mock, tmp_path):
    prices = pricing_folder(tmp_path, {"gpt-4": {"input": 30, "output": 60}})
    redis, replicas, proxy = cluster([{"key": "sb-team", "name": "team", "budget": {"max_usd": 0.0001, "period": "1d"},
                                       "limits": {"requests_per_minute": 1000}}],
                                     "--pricing", str(prices))
    direct = replicas[0].url
    first = call("POST", direct + "/v1/chat/completions", body=CHAT,
                 headers={"x-portkey-provider": "openai", "Authorization": "Bearer sk-provider",
                          "x-portkey-custom-host": mock.url + "/v1", "x-portkey-api-key": "sb-team", "Content-Type": "application/json"})
    assert first.status == 200
    time.sleep(0.3)  # the spend is written when the request finishes
    for replica in replicas[1:]:
        refused = call("POST", replica.url + "/v1/chat/completions", body=CHAT,
                       headers={"x-portkey-provider": "openai", "Authorization": "Bearer sk-provider",
                                "x-portkey-custom-host": mock.url + "/v1", "x-portkey-api-key": "sb-team",
                                "Content-Type": "application/json"})
        assert refused.status == 429 and refused.error()["code"] == "budget_exceeded"
    # One round trip per request for a key with limits and a budget: the check script reads the
    # spend itself (no separate GET), and the limits did not count the refused requests.
    stats = subprocess.run(["redis-cli", "-p", str(redis.port), "INFO", "commandstats"], capture_output=True, text=True).stdout
    evalsha = int(stats.split("cmdstat_evalsha:calls=")[1].split(",")[0])
    assert evalsha == 4, stats  # three checks (one admitted, two refused) and one spend; nothing else from the gateways
    assert "cmdstat_get:calls=3," in stats, stats  # the three checks' own reads of the spend, inside the script
    windows = subprocess.run(["redis-cli", "-p", str(redis.port), "HVALS", "sb:{gk:team}:requests"], capture_output=True, text=True).stdout
    assert sum(int(v) for v in windows.split()) == 1, windows


def test_a_cached_answer_stored_through_one_replica_is_a_hit_through_another(cluster, mock):
    redis, replicas, proxy = cluster(["sb-plain"])
    config = json.dumps({"provider": "openai", "api_key": "sk-cache", "custom_host": mock.url + "/v1",
                         "cache": {"mode": "simple", "max_age": 60}})
    body = {**CHAT, "messages": [{"role": "user", "content": "shared-cache"}]}
    headers = {"x-portkey-config": config, "x-portkey-api-key": "sb-plain", "Content-Type": "application/json"}
    first = call("POST", replicas[0].url + "/v1/chat/completions", body=body, headers=headers)
    assert first.status == 200 and first.headers["x-portkey-cache-status"] == "MISS"
    time.sleep(0.2)  # the answer is stored as it goes out
    for replica in replicas[1:]:
        hit = call("POST", replica.url + "/v1/chat/completions", body=body, headers=headers)
        assert hit.status == 200 and hit.headers["x-portkey-cache-status"] == "HIT", hit.headers
        assert hit.json()["choices"] == first.json()["choices"]
    # Streamed from the stored answer too, through another replica.
    streamed = call("POST", replicas[2].url + "/v1/chat/completions", body={**body, "stream": True}, headers=headers)
    assert streamed.headers["x-portkey-cache-status"] == "HIT" and b"data: [DONE]" in streamed.body
    # Redis away: the cache is skipped (a miss), the request is answered.
    redis.stop()
    missed = call("POST", replicas[1].url + "/v1/chat/completions", body=body, headers=headers)
    assert missed.status == 200 and missed.headers["x-portkey-cache-status"] == "MISS"


def test_a_target_cooling_down_on_one_replica_is_skipped_by_the_others(cluster, mock):
    redis, replicas, proxy = cluster(["sb-plain"], "--cooldown-failures", "2", "--cooldown-seconds", "30")
    config = {"strategy": {"mode": "fallback"}, "targets": [
        {"provider": "openai", "api_key": "sk-a", "custom_host": mock.url + "/v1", "override_params": {"mock": {"status": 503}}},
        {"provider": "openai", "api_key": "sk-b", "custom_host": mock.url + "/v1"}]}
    headers = {"x-portkey-config": json.dumps(config), "x-portkey-api-key": "sb-plain", "Content-Type": "application/json"}

    def seen():
        return call("GET", mock.url + "/mock/stats").json()["requests"]

    for _ in range(2):  # the first target fails twice through replica 0: it cools down
        assert call("POST", replicas[0].url + "/v1/chat/completions", body=CHAT, headers=headers).status == 200
    for replica in replicas[1:]:
        before = seen()
        reply = call("POST", replica.url + "/v1/chat/completions", body=CHAT, headers=headers)
        assert reply.status == 200
        assert seen() - before == 1, "the cooling target was tried on a replica that never saw it fail"


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_a_replica_stopped_or_killed_under_load_loses_no_request(cluster, mock, how):
    """SIGTERM (an orchestrator's stop): the replica closes its listener and drains what it has
    in flight, and haproxy sends what the closed listener refuses elsewhere. SIGKILL (a crash):
    haproxy replays the requests that were in flight there on another replica (L7 retries of a
    buffered request: `option http-buffer-request`, `retry-on empty-response`)."""
    redis, replicas, proxy = cluster(["sb-plain"])
    results = []
    stop = threading.Event()

    def load():
        while not stop.is_set():
            results.append(chat(proxy, mock, "sb-plain").status)

    workers = [threading.Thread(target=load) for _ in range(4)]
    for worker in workers:
        worker.start()
    time.sleep(1.0)
    replicas[1].proc.send_signal(how)
    replicas[1].proc.wait(timeout=30)
    time.sleep(1.0)
    stop.set()
    for worker in workers:
        worker.join()
    assert len(results) > 50
    assert set(results) == {200}, {status: results.count(status) for status in set(results)}


def test_redis_stopped_mid_run_fails_open_and_recovers(cluster, mock):
    redis, replicas, proxy = cluster([{"key": "sb-team", "name": "team", "limits": {"requests_per_minute": 5}}])
    assert [chat(proxy, mock, "sb-team").status for _ in range(6)] == [200] * 5 + [429]
    redis.stop()
    # Limits fail open: answered, not refused, while Redis is away; a warning says so.
    assert [chat(proxy, mock, "sb-team").status for _ in range(6)] == [200] * 6
    assert any("limits fail open" in r.output() for r in replicas)
    redis.start()  # an empty Redis: the windows start again, and limits hold again
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        statuses = [chat(proxy, mock, "sb-team").status for _ in range(6)]
        if 429 in statuses:
            break
        time.sleep(0.5)
    assert statuses.count(429) >= 1, statuses


def test_limits_can_fail_closed(cluster, mock):
    redis, replicas, proxy = cluster([{"key": "sb-team", "name": "team", "limits": {"requests_per_minute": 5}}],
                                     "--limits-fail-closed", "true")
    redis.stop()
    reply = chat(proxy, mock, "sb-team")
    assert reply.status == 503 and reply.error()["code"] == "limit_store_unavailable"
