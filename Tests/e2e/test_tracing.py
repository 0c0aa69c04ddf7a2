"""OpenTelemetry traces and GenAI metrics end to end: a real gateway exports over OTLP/HTTP to a
receiver on loopback that decodes the protobuf (opentelemetry-proto), for requests sent with the
official openai SDK through the mock provider."""
import json
import re
import os
import secrets
import subprocess

import openai
import pytest

from conftest import BIN
from http_helpers import call, last_upstream_request
from otlp_receiver import Receiver, attributes

SERVER, CLIENT = 2, 3  # Span.SpanKind
STATUS_ERROR = 2


@pytest.fixture
def receiver():
    # Requested before `launch` by each test, so it stops after the gateway: a collector that
    # outlives the gateway receives its last spans at shutdown.
    r = Receiver()
    yield r
    r.stop()


def traced(launch, receiver, *extra, **env):
    # The flags; OTEL_BSP_SCHEDULE_DELAY (standard, read by swift-otel) sends spans every 100 ms.
    return launch("--otel-endpoint", receiver.url, "--otel-metric-export-interval-ms", "300", *extra,
                  env={"OTEL_BSP_SCHEDULE_DELAY": "100", **env})


def attrs(span):
    return attributes(span.attributes)


def fallback_config(mock):
    return {"strategy": {"mode": "fallback"},
            "targets": [{"provider": "openai", "api_key": "sk-a", "custom_host": mock.url + "/v1",
                         "override_params": {"mock": {"status": 503}}},
                        {"provider": "openai", "api_key": "sk-b", "custom_host": mock.url + "/v1",
                         "override_params": {"mock": {"record": True}}}]}


def test_a_fallback_request_is_one_server_span_with_a_client_span_per_attempt(receiver, launch, mock):
    gateway = traced(launch, receiver)
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0, default_headers={
        "x-portkey-config": json.dumps(fallback_config(mock)),
        "traceparent": f"00-{trace_id}-{parent_id}-01", "tracestate": "vendor=abc"})
    prompt = "a secret prompt that must not be exported"
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}])
    completion = raw.parse()
    assert raw.headers["x-portkey-last-used-option-index"] == "config.targets[1]"

    spans = receiver.wait(lambda r: len(r.trace(trace_id)) >= 3 and r.trace(trace_id))
    servers = [s for s in spans if s.kind == SERVER]
    clients = sorted((s for s in spans if s.kind == CLIENT), key=lambda s: s.start_time_unix_nano)
    assert len(servers) == 1 and len(clients) == 2, [(s.name, s.kind) for s in spans]
    server = servers[0]
    # The client's traceparent is continued: same trace, its span is the server span's parent.
    assert server.parent_span_id.hex() == parent_id
    assert server.name == "POST /v1/chat/completions"
    assert all(c.parent_span_id == server.span_id for c in clients)

    s = attrs(server)
    assert s["gen_ai.operation.name"] == "chat"
    assert s["gen_ai.provider.name"] == "openai"
    assert s["gen_ai.request.model"] == "gpt-4o-mini"
    assert s["gen_ai.response.model"] == completion.model
    assert s["gen_ai.usage.input_tokens"] == completion.usage.prompt_tokens
    assert s["gen_ai.usage.output_tokens"] == completion.usage.completion_tokens
    assert s["gen_ai.response.finish_reasons"] == [completion.choices[0].finish_reason]
    assert s["http.request.method"] == "POST" and s["http.response.status_code"] == 200
    assert s["switchboard.target"] == "config.targets[1]" and s["switchboard.attempts"] == 2
    assert s["switchboard.trace_id"] == raw.headers["x-portkey-trace-id"]

    failed, answered = (attrs(c) for c in clients)
    assert clients[0].name == clients[1].name == "chat gpt-4o-mini"
    assert failed["switchboard.target"] == "config.targets[0]" and failed["http.response.status_code"] == 503
    assert failed["error.type"] == "503" and clients[0].status.code == STATUS_ERROR
    assert answered["switchboard.target"] == "config.targets[1]" and answered["http.response.status_code"] == 200
    assert clients[1].status.code != STATUS_ERROR
    for attempt in (failed, answered):
        assert attempt["gen_ai.provider.name"] == "openai" and attempt["gen_ai.request.model"] == "gpt-4o-mini"
        assert attempt["server.address"] == "127.0.0.1"
    assert answered["gen_ai.usage.output_tokens"] == completion.usage.completion_tokens
    # Retries and fallbacks are siblings, one after the other, inside the server span.
    assert clients[0].end_time_unix_nano <= clients[1].start_time_unix_nano
    assert server.start_time_unix_nano <= clients[0].start_time_unix_nano
    assert clients[1].end_time_unix_nano <= server.end_time_unix_nano

    # The upstream request carried the answering attempt's own traceparent (a fresh span id).
    upstream = {k.lower(): v for k, v in last_upstream_request(mock)["headers"].items()}
    assert upstream["traceparent"] == f"00-{trace_id}-{clients[1].span_id.hex()}-01"
    assert upstream["traceparent"] != f"00-{trace_id}-{parent_id}-01"
    assert upstream.get("tracestate") == "vendor=abc"

    # No prompt or completion text leaves without log_bodies.
    exported = json.dumps([attrs(x) for x in spans])
    assert prompt not in exported and completion.choices[0].message.content not in exported
    assert any(r.get("service.name") == "switchboard" for r in receiver.resources)
    assert all(content_type == "application/x-protobuf" for _, content_type in receiver.requests)


def test_genai_metrics_are_exported_with_the_semantic_conventions_names(receiver, launch, mock):
    gateway = traced(launch, receiver)
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="sk-test", max_retries=0,
                           default_headers={"x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1"})
    completion = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    stream = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "count"}], stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks

    def names(r):
        # Cumulative points: wait for an export made after both requests finished.
        seen = {m[0] for m in r.metrics}
        wanted = {"gen_ai.client.token.usage", "gen_ai.client.operation.duration", "gen_ai.server.time_to_first_token",
                  "gen_ai.server.time_per_output_token"}
        both = any(m[0] == "gen_ai.client.operation.duration" and m[3].count == 2 for m in r.metrics)
        return wanted <= seen and both and seen

    receiver.wait(names, what="GenAI metrics")
    usage = [m for m in receiver.metrics if m[0] == "gen_ai.client.token.usage"]
    assert all(m[1] == "histogram" for m in usage)
    types = {m[2]["gen_ai.token.type"] for m in usage}
    assert types == {"input", "output"}
    point_attrs = usage[0][2]
    assert point_attrs["gen_ai.operation.name"] == "chat" and point_attrs["gen_ai.provider.name"] == "openai"
    assert point_attrs["gen_ai.request.model"] == "gpt-4o"
    inputs = max((m[3] for m in usage if m[2]["gen_ai.token.type"] == "input"), key=lambda p: p.count)
    assert inputs.count == 2 and inputs.sum >= completion.usage.prompt_tokens
    duration = max((m[3] for m in receiver.metrics if m[0] == "gen_ai.client.operation.duration"), key=lambda p: p.count)
    assert duration.count == 2 and 0 < duration.sum < 30  # seconds
    # The Prometheus families are still served.
    assert "switchboard_requests_total" in call("GET", gateway.url + "/metrics").body.decode()


def test_a_stream_span_ends_with_the_stream_and_bodies_go_only_with_log_bodies(receiver, launch, mock):
    gateway = traced(launch, receiver, "--log-bodies", "true")
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="sk-test", max_retries=0,
                           default_headers={"x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1"})
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "stream me"}], stream=True,
        stream_options={"include_usage": True})
    trace_header = raw.headers["x-portkey-trace-id"]
    chunks = list(raw.parse())
    usage = next(c.usage for c in chunks if c.usage)

    def server_span(r):
        return next((s for s in r.spans if s.kind == SERVER and attrs(s).get("switchboard.trace_id") == trace_header), None)

    span = receiver.wait(server_span)
    a = attrs(span)
    assert a["switchboard.stream"] is True
    # Known only when the stream ended, so the span ended with it.
    assert a["gen_ai.usage.output_tokens"] == usage.completion_tokens
    assert a["gen_ai.response.finish_reasons"] == ["stop"]
    assert a["switchboard.time_to_first_chunk_ms"] > 0
    assert "stream me" in a["switchboard.request.body"]
    attempt = next(s for s in receiver.trace(span.trace_id.hex()) if s.kind == CLIENT)
    assert attempt.end_time_unix_nano <= span.end_time_unix_nano
    assert attrs(attempt)["gen_ai.usage.output_tokens"] == usage.completion_tokens
    # The request log line names the trace.
    line = gateway.wait_for(r'"trace_id":"' + trace_header + r'".*"otel_trace_id":"([0-9a-f]{32})"')
    assert line.group(1) == span.trace_id.hex()


def test_guardrail_and_cache_verdicts_are_events_on_the_server_span(receiver, launch, mock):
    # Configured by the standard variables alone.
    gateway = launch(env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "100",
                          "OTEL_SERVICE_NAME": "gateway-under-test"})
    config = {"provider": "openai", "api_key": "sk-test", "custom_host": mock.url + "/v1", "cache": {"mode": "simple"},
              "input_guardrails": [{"id": "len", "default.wordCount": {"minWords": 1, "maxWords": 50}}]}
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0,
                           default_headers={"x-portkey-config": json.dumps(config)})
    ids = []
    for _ in range(2):
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=[{"role": "user", "content": "cache me"}])
        ids.append(raw.headers["x-portkey-trace-id"])

    def both(r):
        found = [s for s in r.spans if s.kind == SERVER and attrs(s).get("switchboard.trace_id") in ids]
        return len(found) == 2 and found

    spans = sorted(receiver.wait(both), key=lambda s: ids.index(attrs(s)["switchboard.trace_id"]))
    events = [[(e.name, attributes(e.attributes)) for e in s.events] for s in spans]
    assert ("cache", {"switchboard.cache": "MISS"}) in events[0]
    assert ("cache", {"switchboard.cache": "HIT"}) in events[1]
    guardrails = [found for name, found in events[0] if name == "guardrail"]
    assert guardrails and guardrails[0]["switchboard.hook.id"] == "len" and guardrails[0]["switchboard.hook.verdict"] is True
    assert any(r.get("service.name") == "gateway-under-test" for r in receiver.resources)
    # The cache answered the second: no upstream attempt, so no client span.
    assert not [s for s in receiver.trace(spans[1].trace_id.hex()) if s.kind == CLIENT]


def test_bad_tracing_settings_stop_startup_with_a_clear_message():
    def start(**env):
        return subprocess.run([BIN / "switchboard", "--port", "0"], env={**os.environ, **env}, capture_output=True,
                              text=True, timeout=30)

    grpc = start(SWITCHBOARD_OTEL_ENDPOINT="http://127.0.0.1:4318", SWITCHBOARD_OTEL_PROTOCOL="grpc")
    assert grpc.returncode != 0
    assert "otel_protocol must be one of http/protobuf, http/json, got 'grpc'" in grpc.stderr
    assert "OTLP/HTTP only" in grpc.stderr
    sampler = start(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318", OTEL_TRACES_SAMPLER="sometimes")
    assert sampler.returncode != 0 and "otel_traces_sampler must be one of" in sampler.stderr
    endpoint = start(SWITCHBOARD_OTEL_ENDPOINT="collector:4318")
    assert endpoint.returncode != 0 and "otel_endpoint must be an http:// or https:// URL" in endpoint.stderr


def test_without_an_endpoint_nothing_is_traced(gateway, mock):
    # No exporter: no trace of the gateway's own, so the log line has no otel_trace_id.
    parent = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"
    reply = call("POST", gateway.url + "/v1/chat/completions",
                 headers={"x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1",
                          "authorization": "Bearer sk-test", "traceparent": parent},
                 body={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "mock": {"record": True}})
    assert reply.status == 200
    trace_header = reply.headers["x-portkey-trace-id"]
    line = gateway.wait_for(r'"trace_id":"' + trace_header + '".*')
    assert "otel_trace_id" not in line.group(0)


def test_a_trace_the_sampler_leaves_out_still_carries_its_context_upstream(receiver, launch, mock):
    gateway = traced(launch, receiver, "--otel-traces-sampler", "traceidratio", "--otel-traces-sampler-arg", "0")
    trace_id = secrets.token_hex(16)
    reply = call("POST", gateway.url + "/v1/chat/completions",
                 headers={"x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1",
                          "authorization": "Bearer sk-test"},
                 body={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "mock": {"record": True}})
    assert reply.status == 200
    parent = last_upstream_request(mock)["headers"]["traceparent"]
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-00", parent), parent  # not sampled, still propagated
    # A traced request after it would have been exported by now; none of this one's spans is.
    gateway2 = traced(launch, receiver)
    call("POST", gateway2.url + "/v1/chat/completions",
         headers={"x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1", "authorization": "Bearer sk-test",
                  "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"},
         body={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
    receiver.wait(lambda r: r.trace(trace_id))
    assert not receiver.trace(parent.split("-")[1])


def test_the_console_feed_names_each_request_by_its_trace(receiver, launch, mock):
    from test_console import TOKEN, Feed

    gateway = traced(launch, receiver, "--admin-token", TOKEN)
    feed = Feed(gateway)
    events = feed.events()
    assert next(events)[0] == "hello"
    header = "feed-" + secrets.token_hex(4)
    call("POST", gateway.url + "/v1/chat/completions",
         headers={"x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1",
                  "authorization": "Bearer sk-test", "x-portkey-trace-id": header},
         body={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
    event = next(json.loads(data) for name, data in events if json.loads(data).get("trace_id") == header)
    feed.close()
    span = receiver.wait(lambda r: next((s for s in r.spans if s.kind == SERVER and attrs(s)["switchboard.trace_id"] == header), None))
    assert event["otel_trace_id"] == span.trace_id.hex()


def test_the_provider_is_named_as_the_conventions_name_it(receiver, launch, mock):
    # providers/google.lua declares semconv_name = "gcp.gemini"; the id stays in the log and metrics.
    gateway = traced(launch, receiver)
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="gt5-test", max_retries=0,
                           default_headers={"x-portkey-provider": "google", "x-portkey-custom-host": mock.url + "/v1beta"})
    raw = client.chat.completions.with_raw_response.create(model="gemini-pro", messages=[{"role": "user", "content": "hi"}])
    header = raw.headers["x-portkey-trace-id"]
    server = receiver.wait(lambda r: next((s for s in r.spans if s.kind == SERVER and attrs(s)["switchboard.trace_id"] == header), None))
    attempt = next(s for s in receiver.trace(server.trace_id.hex()) if s.kind == CLIENT)
    assert attrs(server)["gen_ai.provider.name"] == "gcp.gemini"
    assert attrs(attempt)["gen_ai.provider.name"] == "gcp.gemini"
    usage = receiver.wait(lambda r: [m for m in r.metrics if m[0] == "gen_ai.client.operation.duration"
                                     and m[2]["gen_ai.request.model"] == "gemini-pro"], what="metrics")
    assert usage[0][2]["gen_ai.provider.name"] == "gcp.gemini"
