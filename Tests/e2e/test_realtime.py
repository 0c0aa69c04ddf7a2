"""The /v1/realtime WebSocket proxy: the official openai SDK's realtime client and raw `websockets`
clients through the gateway to the mock's Realtime WebSocket (RealtimeMock.swift)."""
import asyncio
import base64
import json
import socket
import time

import openai
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from http_helpers import call


def ws_url(gateway, query="model=gpt-realtime"):
    return gateway.url.replace("http://", "ws://") + "/v1/realtime" + ("?" + query if query else "")


def openai_ws_headers(mock, **extra):
    headers = {"x-portkey-provider": "openai", "Authorization": "Bearer sk-test", "x-portkey-custom-host": mock.url + "/v1"}
    headers.update(extra)
    return headers


def upgrade_headers(**extra):
    """A WebSocket handshake's headers, for plain HTTP calls that check the refusals."""
    headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
               "Sec-WebSocket-Version": "13"}
    headers.update(extra)
    return headers


def last_session(mock, until=None, timeout=5):
    """What the mock's last realtime session saw; waits until `until(session)` holds."""
    deadline = time.monotonic() + timeout
    while True:
        session = call("GET", mock.url + "/mock/realtime-last").json()
        if until is None or until(session) or time.monotonic() > deadline:
            return session
        time.sleep(0.05)


def recv_json(ws, timeout=5):
    return json.loads(ws.recv(timeout=timeout))


def test_session_flow_with_the_openai_sdk(gateway, mock):
    """session.update, audio appended (one event of 6 MiB of audio: frames above 16 KiB pass), commit,
    a response's events, and a clean close by the client."""
    chunks = [bytes([i]) * 16000 for i in range(3)] + [b"\x07" * (6 * 1024 * 1024)]
    total = sum(len(c) for c in chunks)

    async def run():
        client = openai.AsyncOpenAI(base_url=gateway.url + "/v1", api_key="sk-test", max_retries=0)
        headers = {"x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1", "x-portkey-trace-id": "rt-sdk-flow"}
        async with client.realtime.connect(model="gpt-realtime", extra_headers=headers) as conn:
            created = await conn.recv()
            assert created.type == "session.created" and created.session.model == "gpt-realtime"
            await conn.session.update(session={"type": "realtime", "instructions": "answer briefly"})
            updated = await conn.recv()
            assert updated.type == "session.updated" and updated.session.instructions == "answer briefly"
            for chunk in chunks:
                await conn.input_audio_buffer.append(audio=base64.b64encode(chunk).decode())
            await conn.input_audio_buffer.commit()
            committed = await conn.recv()
            assert committed.type == "input_audio_buffer.committed"
            await conn.response.create()
            types, transcript, audio = [], "", 0
            while True:
                event = await conn.recv()
                types.append(event.type)
                if event.type == "response.output_audio.delta":
                    audio += len(base64.b64decode(event.delta))
                elif event.type == "response.output_audio_transcript.delta":
                    transcript += event.delta
                elif event.type == "response.done":
                    break
            return types, transcript, audio

    types, transcript, audio = asyncio.run(run())
    assert types[0] == "response.created" and types[-1] == "response.done"
    assert types.count("response.output_audio.delta") == 5 and audio == 5 * 480
    # The mock's transcript counts the decoded audio it received: every byte arrived.
    assert transcript == f"heard {total} bytes of audio"
    session = last_session(mock, until=lambda s: s["ended"] != "open")
    assert session["ended"] == "closed" and session["client_close_code"] == 1000
    assert session["authorization"] == "Bearer sk-test" and session["audio_bytes"] == total
    assert session["uri"] == "/v1/realtime?model=gpt-realtime"
    assert session["events"] == ["session.update"] + ["input_audio_buffer.append"] * 4 + ["input_audio_buffer.commit", "response.create"]
    assert session["openai_beta"] is None  # never added by the gateway
    # One log line for the session, with its status 101, provider and frame counts.
    line = json.loads(gateway.wait_for(r'^\{"time":.*"trace_id":"rt-sdk-flow".*\}$', timeout=5).group(0))
    assert line["status"] == 101 and line["route"] == "/v1/realtime" and line["provider"] == "openai"
    assert line["frames_to_upstream"] == 8 and line["frames_to_client"] == 1 + 1 + 1 + 1 + 5 * 2 + 1 + 1  # + the close
    assert line["realtime_outcome"] == "client_closed" and line["close_code"] == 1000


def test_upstream_close_code_reaches_the_client(gateway, mock):
    with connect(ws_url(gateway, "model=gpt-realtime&mock_close=4001&mock_close_reason=bye"),
                 additional_headers=openai_ws_headers(mock)) as ws:
        assert recv_json(ws)["type"] == "session.created"
        ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime"}}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd.code == 4001 and closed.value.rcvd.reason == "bye"
    assert last_session(mock)["ended"] == "server_closed"


def test_upstream_drop_gives_the_client_1011(gateway, mock):
    with connect(ws_url(gateway, "model=gpt-realtime&mock_drop=1"), additional_headers=openai_ws_headers(mock)) as ws:
        assert recv_json(ws)["type"] == "session.created"
        ws.send(json.dumps({"type": "response.create"}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd.code == 1011
    assert "upstream connection lost" in closed.value.rcvd.reason and "openai" in closed.value.rcvd.reason


def test_client_close_code_reaches_the_upstream(gateway, mock):
    with connect(ws_url(gateway), additional_headers=openai_ws_headers(mock)) as ws:
        assert recv_json(ws)["type"] == "session.created"
        ws.close(code=4002, reason="done here")
    session = last_session(mock, until=lambda s: s["ended"] != "open")
    assert session["ended"] == "closed" and session["client_close_code"] == 4002
    assert session["client_close_reason"] == "done here"


def test_client_drop_gives_the_upstream_1001(gateway, mock):
    with connect(ws_url(gateway), additional_headers=openai_ws_headers(mock)) as ws:
        assert recv_json(ws)["type"] == "session.created"
        ws.socket.shutdown(socket.SHUT_RDWR)  # TCP gone without a close frame
    session = last_session(mock, until=lambda s: s["ended"] != "open")
    assert session["client_close_code"] == 1001 and session["client_close_reason"] == "client went away"


def test_ping_and_binary_frames_are_relayed(gateway, mock):
    with connect(ws_url(gateway), additional_headers=openai_ws_headers(mock)) as ws:
        assert recv_json(ws)["type"] == "session.created"
        ws.ping(b"are-you-there").wait(5)  # answered by the mock, relayed back
        ws.send(json.dumps({"type": "no.such.event"}))
        event = recv_json(ws)
        assert event["type"] == "error" and event["error"]["code"] == "unknown_event"


def test_refused_handshake_is_an_http_error(gateway, mock):
    # The upstream refuses the key: the client gets the upstream's 401 as HTTP, not a 101 and a close.
    reply = call("GET", gateway.url + "/v1/realtime?model=gpt-realtime",
                 headers=upgrade_headers(**openai_ws_headers(mock, Authorization="Bearer sk-bad-key")))
    assert reply.status == 401
    assert reply.error()["code"] == "invalid_api_key"
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(gateway), additional_headers=openai_ws_headers(mock, Authorization="Bearer sk-bad-key"))
    assert refused.value.response.status_code == 401
    # Unreachable upstream: 502.
    reply = call("GET", gateway.url + "/v1/realtime?model=gpt-realtime",
                 headers=upgrade_headers(**openai_ws_headers(mock, **{"x-portkey-custom-host": "http://127.0.0.1:1/v1"})))
    assert reply.status == 502 and reply.error()["type"]


def test_provider_without_realtime_is_refused(gateway, mock):
    reply = call("GET", gateway.url + "/v1/realtime?model=x",
                 headers=upgrade_headers(**openai_ws_headers(mock, **{"x-portkey-provider": "groq"})))
    assert reply.status == 400 and reply.error()["code"] == "unsupported_endpoint"


def test_plain_get_needs_the_upgrade(gateway, mock):
    reply = call("GET", gateway.url + "/v1/realtime?model=x", headers=openai_ws_headers(mock))
    assert reply.status == 426 and reply.error()["code"] == "websocket_upgrade_required"


def test_azure_openai_url_and_api_key(gateway, mock):
    headers = {"x-portkey-provider": "azure-openai", "Authorization": "Bearer az-key",
               "x-portkey-custom-host": mock.url + "/openai"}
    with connect(ws_url(gateway, "model=my-realtime-deployment"), additional_headers=headers) as ws:
        assert recv_json(ws)["session"]["model"] == "my-realtime-deployment"
    session = last_session(mock)
    assert session["uri"] == "/openai/v1/realtime?model=my-realtime-deployment"  # GA: no api-version
    assert session["api_key"] == "az-key" and session["authorization"] is None
    # The deployment from the header when the query names no model.
    with connect(ws_url(gateway, ""), additional_headers={**headers, "x-portkey-azure-deployment-id": "dep-2"}) as ws:
        assert recv_json(ws)["session"]["model"] == "dep-2"


def test_openai_beta_is_forwarded_only_when_asked(gateway, mock):
    with connect(ws_url(gateway), additional_headers=openai_ws_headers(mock, **{"OpenAI-Beta": "realtime=v1"})) as ws:
        recv_json(ws)
    assert last_session(mock)["openai_beta"] is None
    headers = openai_ws_headers(mock, **{"OpenAI-Beta": "realtime=v1", "x-portkey-forward-headers": "openai-beta"})
    with connect(ws_url(gateway), additional_headers=headers) as ws:
        recv_json(ws)
    assert last_session(mock)["openai_beta"] == "realtime=v1"


def test_subprotocol_is_negotiated_through(gateway, mock):
    with connect(ws_url(gateway), additional_headers=openai_ws_headers(mock), subprotocols=["realtime"]) as ws:
        assert ws.subprotocol == "realtime"
        recv_json(ws)
    assert last_session(mock)["subprotocol"] == "realtime"


def test_fallback_config_moves_to_the_next_target(gateway, mock):
    config = {"strategy": {"mode": "fallback"}, "targets": [
        {"provider": "openai", "api_key": "sk-test", "custom_host": "http://127.0.0.1:1/v1"},  # unreachable
        {"provider": "openai", "api_key": "sk-bad-first", "custom_host": mock.url + "/v1"},  # 401
        {"provider": "openai", "api_key": "sk-good", "custom_host": mock.url + "/v1"},
    ]}
    with connect(ws_url(gateway), additional_headers={"x-portkey-config": json.dumps(config)}) as ws:
        assert recv_json(ws)["type"] == "session.created"
    assert last_session(mock)["authorization"] == "Bearer sk-good"


def test_gateway_key_is_enforced(launch, mock, tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("sb-realtime-key\n")
    gateway = launch("--gateway-keys-file", str(keys))
    reply = call("GET", gateway.url + "/v1/realtime?model=gpt-realtime", headers=upgrade_headers(**openai_ws_headers(mock)))
    assert reply.status == 401 and reply.error()["code"] == "invalid_gateway_key"
    with connect(ws_url(gateway), additional_headers=openai_ws_headers(mock, **{"x-portkey-api-key": "sb-realtime-key"})) as ws:
        assert recv_json(ws)["type"] == "session.created"
    assert "sb-realtime-key" not in json.dumps(last_session(mock))


def test_metrics_count_sessions_frames_and_bytes(launch, mock):
    gateway = launch()
    with connect(ws_url(gateway), additional_headers=openai_ws_headers(mock)) as ws:
        recv_json(ws)
        ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(b"x" * 3000).decode()}))
        ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
        recv_json(ws)
        metrics = call("GET", gateway.url + "/metrics").body.decode()
        assert "switchboard_realtime_active_sessions 1" in metrics
    call("GET", gateway.url + "/v1/realtime?model=x", headers=upgrade_headers(**openai_ws_headers(mock, Authorization="Bearer sk-bad")))

    def value(metrics, prefix):
        found = [line for line in metrics.splitlines() if line.startswith(prefix)]
        return float(found[0].rsplit(" ", 1)[1]) if found else None

    deadline = time.monotonic() + 5
    while True:
        metrics = call("GET", gateway.url + "/metrics").body.decode()
        if value(metrics, 'switchboard_realtime_sessions_total{provider="openai",outcome="client_closed"}') or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert value(metrics, 'switchboard_realtime_sessions_total{provider="openai",outcome="client_closed"}') == 1
    assert value(metrics, 'switchboard_realtime_sessions_total{provider="openai",outcome="refused"}') == 1
    assert value(metrics, "switchboard_realtime_active_sessions") == 0
    assert value(metrics, 'switchboard_realtime_frames_total{provider="openai",direction="to_upstream"}') == 3  # 2 events + close
    assert value(metrics, 'switchboard_realtime_frames_total{provider="openai",direction="to_client"}') == 3
    assert value(metrics, 'switchboard_realtime_bytes_total{provider="openai",direction="to_upstream"}') > 4000


def test_guardrails_are_refused_not_skipped(gateway, mock):
    reply = call("GET", gateway.url + "/v1/realtime?model=gpt-realtime",
                 headers=upgrade_headers(**openai_ws_headers(mock, **{"x-portkey-default-input-guardrails": '[{"default.contains": {"words": ["x"], "operator": "none"}}]'})))
    assert reply.status == 400 and "realtime" in reply.error()["message"]


def test_loadbalance_config_picks_a_target(gateway, mock):
    config = {"strategy": {"mode": "loadbalance"}, "targets": [
        {"provider": "openai", "api_key": "sk-lb-a", "custom_host": mock.url + "/v1", "weight": 1},
        {"provider": "openai", "api_key": "sk-lb-b", "custom_host": mock.url + "/v1", "weight": 1},
    ]}
    seen = set()
    for _ in range(6):
        with connect(ws_url(gateway), additional_headers={"x-portkey-config": json.dumps(config)}) as ws:
            assert recv_json(ws)["type"] == "session.created"
        seen.add(last_session(mock)["authorization"])
    assert seen <= {"Bearer sk-lb-a", "Bearer sk-lb-b"} and seen


def test_shutdown_closes_both_sides_with_1001(launch, mock):
    gateway = launch()
    with connect(ws_url(gateway), additional_headers=openai_ws_headers(mock)) as ws:
        assert recv_json(ws)["type"] == "session.created"
        gateway.proc.terminate()  # SIGTERM: drain
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd.code == 1001 and "shutting down" in closed.value.rcvd.reason
    session = last_session(mock, until=lambda s: s["ended"] != "open")
    assert session["client_close_code"] == 1001 and "shutting down" in session["client_close_reason"]
    assert gateway.proc.wait(15) == 0  # the drain ended: both sockets closed


def test_virtual_key_holds_the_provider_key(launch, mock, tmp_path):
    keys = tmp_path / "virtual-keys.json"
    keys.write_text(json.dumps({"rt-prod": {"provider": "openai", "api_key": "sk-held-realtime",
                                            "custom_host": mock.url + "/v1", "openai_project": "proj-rt"}}))
    gateway = launch("--virtual-keys-file", str(keys))
    with connect(ws_url(gateway), additional_headers={"x-portkey-virtual-key": "rt-prod"}) as ws:
        assert recv_json(ws)["type"] == "session.created"
    assert last_session(mock)["authorization"] == "Bearer sk-held-realtime"
    # Unknown names are refused as HTTP.
    reply = call("GET", gateway.url + "/v1/realtime?model=x", headers=upgrade_headers(**{"x-portkey-virtual-key": "nope"}))
    assert reply.status == 401 and reply.error()["code"] == "unknown_virtual_key"
    assert "sk-held-realtime" not in gateway.output()


def test_backpressure_holds_the_upstream_while_the_client_reads_nothing(gateway, mock):
    """The mock sends 120 frames of 1 MiB at once; while the client reads nothing the gateway stops
    reading from the mock, so most of them stay unwritten at the mock (a proxy that buffered would
    have taken them all); then the client reads every one."""
    count, size = 120, 1 << 20
    with connect(ws_url(gateway, f"model=gpt-realtime&mock_flood={count}"), additional_headers=openai_ws_headers(mock),
                 max_size=None, max_queue=2) as ws:
        time.sleep(2)
        held = last_session(mock)["flood_written_bytes"]
        assert held < count * size // 2, f"{held} bytes left the mock while the client read nothing"
        assert recv_json(ws)["type"] == "session.created"
        for _ in range(count):
            assert len(ws.recv(timeout=20)) == size
    assert last_session(mock)["flood_written_bytes"] == count * size
