"""Readiness and graceful drain: SIGTERM lets streams finish, up to the drain timeout."""
import json
import signal
import socket
import threading
import time

import openai
import pytest

from http_helpers import call


def stream_client(gateway, mock):
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0, default_headers={
        "x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1"})


def test_ready_reports_the_generation(gateway):
    reply = call("GET", gateway.url + "/ready")
    assert reply.status == 200 and reply.json()["status"] == "ready" and reply.json()["generation"] >= 1


def test_sigterm_lets_a_stream_finish_then_exits_zero(launch, mock):
    gateway = launch()
    stream = stream_client(gateway, mock).chat.completions.create(
        model="gpt-4", messages=[{"role": "user", "content": "hi"}], stream=True,
        extra_body={"mock": {"chunks": 40, "interval_ms": 25}})
    first = next(iter(stream))
    gateway.proc.send_signal(signal.SIGTERM)
    gateway.wait_for(r"shutting down: no new connections")
    # Not ready any more: the listener no longer accepts connections.
    port = int(gateway.url.rsplit(":", 1)[1])
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).sendall(b"GET /ready HTTP/1.1\r\nHost: x\r\n\r\n")
        raise OSError("connected")  # pragma: no cover - a refused connect raises before this
    rest = list(stream)
    assert first.choices[0].delta.role == "assistant"
    assert rest[-1].choices[0].finish_reason == "stop"
    assert gateway.proc.wait(10) == 0


def test_the_drain_deadline_ends_streams_with_an_error_event(launch, mock):
    gateway = launch("--drain-timeout", "1")
    stream = stream_client(gateway, mock).chat.completions.create(
        model="gpt-4", messages=[{"role": "user", "content": "hi"}], stream=True,
        extra_body={"mock": {"chunks": 200, "interval_ms": 50}})
    next(iter(stream))
    started = time.monotonic()
    gateway.proc.send_signal(signal.SIGTERM)
    with pytest.raises(openai.APIError) as raised:
        list(stream)
    assert "drain deadline passed" in str(raised.value)
    assert 0.8 < time.monotonic() - started < 5
    gateway.wait_for(r"connections=1 streams_ended_with_error=1 \[GatewayServer\] drain deadline passed")
    assert gateway.proc.wait(10) == 0
