"""Raw HTTP through the gateway: the README example, headers, passthrough, and every gateway error."""
import json
import socket
import subprocess
import time

from http_helpers import CHAT, call, openai_headers


def read_until_closed(conn):
    received = bytearray()
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            return bytes(received)
        received += chunk


def test_readme_curl_example_verbatim(gateway, mock):
    # The example, plus the custom host that points it at the mock.
    command = [
        "curl", "-s", "-i", gateway.url + "/v1/chat/completions",
        "-H", "x-portkey-provider: openai", "-H", "Authorization: Bearer sk-example",
        "-H", "Content-Type: application/json",
        "-H", f"x-portkey-custom-host: {mock.url}/v1",
        "-d", '{"messages":[{"role":"user","content":"Say this is test."}],"max_tokens":20,"model":"gpt-4"}',
    ]
    output = subprocess.run(command, capture_output=True, text=True, timeout=30).stdout
    head, _, body = output.replace("\r\n", "\n").partition("\n\n")
    assert head.startswith("HTTP/1.1 200")
    assert json.loads(body)["choices"][0]["message"]["content"] == "This is a test."


def test_liveness(gateway):
    for path in ["/", "/health"]:
        reply = call("GET", gateway.url + path)
        assert reply.status == 200 and reply.json() == {"status": "ok"}


def test_what_reaches_upstream(gateway, mock):
    body = '{"model":"gpt-4",  "messages":[{"role":"user","content":"caf\\u00e9 \u00e9"}], "mock":{"echo":true}, "z":1.50}'
    reply = call("POST", gateway.url + "/v1/chat/completions?api-version=1", headers=openai_headers(
        mock, **{"x-portkey-forward-headers": "x-tenant, x-portkey-provider", "X-Tenant": "acme",
                 "X-Not-Forwarded": "no", "x-portkey-trace-id": "trace-abc", "x-portkey-openai-project": "proj"}),
        body=body)
    assert reply.status == 200
    echo = reply.json()
    assert echo["path"] == "/v1/chat/completions"
    assert echo["query"] == "api-version=1"
    assert echo["body"] == body, "the body must pass through byte for byte"
    upstream = echo["headers"]
    assert upstream["authorization"] == "Bearer sk-test"
    assert upstream["x-tenant"] == "acme"
    assert upstream["openai-project"] == "proj"
    assert "x-not-forwarded" not in upstream
    assert not [h for h in upstream if h.startswith("x-portkey-")], upstream
    assert reply.headers["x-portkey-trace-id"] == "trace-abc"
    assert reply.headers["x-portkey-provider"] == "openai"


def test_passthrough_forwards_method_query_body_and_headers(gateway, mock):
    reply = call("PUT", gateway.url + "/v1/echo/files/abc?limit=2&order=desc", headers={
        "x-portkey-provider": "openai", "Authorization": "Bearer sk-pass", "x-portkey-custom-host": mock.url + "/v1",
        "Content-Type": "text/plain", "X-Extra": "1"}, body="plain text, not JSON")
    assert reply.status == 200
    echo = reply.json()
    assert echo["method"] == "PUT"
    assert echo["path"] == "/v1/echo/files/abc"
    assert echo["query"] == "limit=2&order=desc"
    assert echo["body"] == "plain text, not JSON"
    assert echo["headers"]["x-extra"] == "1"
    assert echo["headers"]["authorization"] == "Bearer sk-pass"
    assert echo["headers"]["content-type"] == "text/plain"


def test_missing_provider_header(gateway):
    reply = call("POST", gateway.url + "/v1/chat/completions", body=CHAT)
    assert reply.status == 400
    assert "x-portkey-provider" in reply.error()["message"]


def test_unknown_provider_lists_known_ids(gateway):
    reply = call("POST", gateway.url + "/v1/chat/completions", headers={"x-portkey-provider": "nope"}, body=CHAT)
    assert reply.status == 400
    message = reply.error()["message"]
    for known in ["openai", "groq", "azure-openai", "ollama"]:
        assert known in message


def test_invalid_json_gets_position(gateway, mock):
    reply = call("POST", gateway.url + "/v1/chat/completions", headers=openai_headers(mock),
                 body='{"model": "gpt-4",\n "messages": [}')
    assert reply.status == 400
    error = reply.error()
    assert error["code"] == "invalid_json"
    assert "line 2, column 15" in error["message"]


def test_non_object_and_empty_bodies(gateway, mock):
    assert call("POST", gateway.url + "/v1/chat/completions", headers=openai_headers(mock), body="[1]").status == 400
    assert call("POST", gateway.url + "/v1/embeddings", headers=openai_headers(mock), body="").status == 400


def test_body_over_limit_is_413(launch, mock):
    small = launch(env={"SWITCHBOARD_MAX_BODY_SIZE": "4096"})
    big = {"model": "gpt-4", "messages": [{"role": "user", "content": "x" * 5000}]}
    reply = call("POST", small.url + "/v1/chat/completions", headers=openai_headers(mock), body=big)
    assert reply.status == 413
    assert "4096" in reply.error()["message"]
    assert call("POST", small.url + "/v1/chat/completions", headers=openai_headers(mock), body=CHAT).status == 200


def test_unknown_route_and_wrong_method(gateway):
    reply = call("GET", gateway.url + "/nope")
    assert reply.status == 404 and reply.error()["code"] == "unknown_route"
    reply = call("GET", gateway.url + "/v1/chat/completions")
    assert reply.status == 405 and reply.headers["allow"] == "POST"
    reply = call("DELETE", gateway.url + "/v1/models")
    assert reply.status == 405 and reply.headers["allow"] == "GET"
    assert call("POST", gateway.url + "/health").status == 405


def test_upstream_unreachable_is_502(gateway):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    reply = call("POST", gateway.url + "/v1/chat/completions", headers={
        "x-portkey-provider": "openai", "Authorization": "Bearer k",
        "x-portkey-custom-host": f"http://127.0.0.1:{port}/v1"}, body=CHAT)
    assert reply.status == 502
    error = reply.error()
    assert error["code"] == "upstream_unreachable"
    assert f"127.0.0.1:{port}" in error["message"]


def test_request_timeout_header_is_408(gateway, mock):
    started = time.monotonic()
    reply = call("POST", gateway.url + "/v1/chat/completions",
                 headers=openai_headers(mock, **{"x-portkey-request-timeout": "300"}),
                 body={**CHAT, "mock": {"latency_ms": 5000}})
    assert reply.status == 408
    assert reply.error()["type"] == "timeout_error"
    assert time.monotonic() - started < 4.5


def test_upstream_timeout_is_504(launch, mock):
    impatient = launch("--upstream-timeout", "1")
    reply = call("POST", impatient.url + "/v1/chat/completions", headers=openai_headers(mock),
                 body={**CHAT, "mock": {"latency_ms": 3000}})
    assert reply.status == 504
    assert reply.error()["code"] == "upstream_timeout"


def test_upstream_errors_keep_status_and_become_openai_shaped(gateway, mock):
    reply = call("POST", gateway.url + "/v1/chat/completions", headers=openai_headers(mock),
                 body={**CHAT, "mock": {"status": 503, "error_format": "text"}})
    assert reply.status == 503
    assert "returned HTTP 503" in reply.error()["message"]
    reply = call("POST", gateway.url + "/v1/chat/completions", headers=openai_headers(mock),
                 body={**CHAT, "mock": {"status": 400}})
    assert reply.status == 400
    assert reply.error()["code"] == "mock_400", "OpenAI-shaped upstream errors pass through unchanged"


def test_custom_host_refusals(gateway):
    for host in ["http://169.254.169.254/v1", "http://10.1.2.3/v1", "file:///etc/passwd", "http://u:p@example.com"]:
        reply = call("POST", gateway.url + "/v1/chat/completions", headers={
            "x-portkey-provider": "openai", "Authorization": "Bearer k", "x-portkey-custom-host": host}, body=CHAT)
        assert reply.status == 400, host
        assert reply.error()["param"] == "x-portkey-custom-host"


def test_operator_allow_list(gateway, launch, mock):
    # 0.0.0.0 is refused by default; on Linux connecting to it reaches this machine, so the allowed
    # case still only talks to the local mock.
    host = "http://0.0.0.0:" + mock.url.rsplit(":", 1)[1] + "/v1"
    headers = {"x-portkey-provider": "openai", "Authorization": "Bearer k", "x-portkey-custom-host": host}
    assert call("POST", gateway.url + "/v1/chat/completions", headers=headers, body=CHAT).status == 400
    allowing = launch("--allow-host", "0.0.0.0")
    reply = call("POST", allowing.url + "/v1/chat/completions", headers=headers, body=CHAT)
    assert reply.status == 200, reply.body


def test_missing_key_is_401(gateway, mock):
    reply = call("POST", gateway.url + "/v1/chat/completions", headers={
        "x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1"}, body=CHAT)
    assert reply.status == 401
    assert "Authorization: Bearer" in reply.error()["message"]


def test_unsupported_endpoint_for_provider(gateway, mock):
    reply = call("POST", gateway.url + "/v1/embeddings", headers={
        **openai_headers(mock), "x-portkey-provider": "groq"}, body={"model": "m", "input": "x"})
    assert reply.status == 400
    assert "does not support /v1/embeddings" in reply.error()["message"]


def test_stream_events_arrive_as_they_are_produced(gateway, mock):
    """The first event must reach the client long before the paced upstream stream ends."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", int(gateway.url.rsplit(":", 1)[1]), timeout=30)
    body = json.dumps({**CHAT, "stream": True, "mock": {"chunks": 5, "interval_ms": 400}})
    started = time.monotonic()
    conn.request("POST", "/v1/chat/completions", body=body, headers=openai_headers(mock))
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("content-type").startswith("text/event-stream")
    first = response.readline()
    first_at = time.monotonic() - started
    rest = response.read().decode()
    total = time.monotonic() - started
    conn.close()
    assert first.startswith(b"data: {")
    assert rest.rstrip().endswith("data: [DONE]")
    # The upstream needs >= 2 s for its paced events; a buffering gateway would deliver at the end.
    assert total >= 2.0
    assert first_at < total - 1.0, (first_at, total)


def abandoned_upstream_requests(mock):
    """How many exchanges the mock saw its client (the gateway) abandon before the reply ended."""
    return call("GET", mock.url + "/mock/stats").json()["abandoned"]


def wait_for_abandoned(mock, at_least, timeout):
    deadline = time.monotonic() + timeout
    while abandoned_upstream_requests(mock) < at_least:
        assert time.monotonic() < deadline, "the gateway kept the upstream request running after the client left"
        time.sleep(0.05)


def raw_request(gateway, mock, body):
    """Sends a chat request on a raw socket, so the test decides when the client hangs up."""
    conn = socket.create_connection(("127.0.0.1", int(gateway.url.rsplit(":", 1)[1])), timeout=10)
    headers = "".join(f"{k}: {v}\r\n" for k, v in openai_headers(mock).items())
    conn.sendall(f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n{headers}Content-Length: {len(body)}\r\n\r\n{body}".encode())
    return conn


def test_client_disconnect_cancels_the_upstream_stream(launch, mock):
    """A client that hangs up mid-stream must not leave the upstream request running."""
    gateway = launch()
    before = abandoned_upstream_requests(mock)
    conn = raw_request(gateway, mock, json.dumps({**CHAT, "stream": True, "mock": {"chunks": 200, "interval_ms": 50}}))
    received = b""
    while b"data: {" not in received:
        chunk = conn.recv(4096)
        assert chunk, "the stream ended before its first event"
        received += chunk
    conn.close()
    gateway.wait_for(r"client disconnected mid-stream; upstream request cancelled", timeout=10)
    # 200 events x 50 ms would run 10 s; the mock must see the gateway hang up long before.
    wait_for_abandoned(mock, before + 1, timeout=3)


def test_client_disconnect_cancels_a_pending_upstream_request(gateway, mock):
    """A client that hangs up while the provider is still thinking cancels the upstream call."""
    before = abandoned_upstream_requests(mock)
    conn = raw_request(gateway, mock, json.dumps({**CHAT, "mock": {"latency_ms": 8000}}))
    time.sleep(0.3)
    conn.close()
    wait_for_abandoned(mock, before + 1, timeout=3)
    # The gateway is unharmed and its pool still works.
    reply = call("POST", gateway.url + "/v1/chat/completions", headers=openai_headers(mock), body=json.dumps(CHAT))
    assert reply.status == 200


def test_malformed_http_gets_a_400_in_openai_shape(gateway):
    conn = socket.create_connection(("127.0.0.1", int(gateway.url.rsplit(":", 1)[1])), timeout=10)
    conn.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
    received = read_until_closed(conn)
    conn.close()
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"connection: close" in head.lower()
    error = json.loads(body)["error"]
    assert error["code"] == "bad_http_request" and "malformed HTTP request" in error["message"]


def test_head_passthrough_then_reuse_of_the_pooled_connection(gateway, mock):
    """A HEAD answer has headers but no body; the pooled upstream connection must stay usable."""
    headers = {"x-portkey-provider": "openai", "Authorization": "Bearer k", "x-portkey-custom-host": mock.url + "/v1"}
    for _ in range(3):
        head = call("HEAD", gateway.url + "/v1/echo", headers=headers, timeout=5)
        assert head.status == 200 and head.body == b""
        after = call("GET", gateway.url + "/v1/models", headers=headers, timeout=5)
        assert after.status == 200 and after.json()["object"] == "list"


def test_pipelined_requests_are_answered_in_order(gateway, mock):
    """Requests sent back to back before any answer (HTTP/1.1 pipelining) get their answers in order."""
    bodies = [json.dumps({**CHAT, "mock": {"echo": True, "latency_ms": latency}, "n": index})
              for index, latency in enumerate([300, 0, 100, 0])]
    headers = "".join(f"{k}: {v}\r\n" for k, v in openai_headers(mock).items())
    wire = "".join(f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n{headers}Content-Length: {len(b)}\r\n\r\n{b}"
                   for b in bodies)
    wire += "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    conn = socket.create_connection(("127.0.0.1", int(gateway.url.rsplit(":", 1)[1])), timeout=10)
    conn.sendall(wire.encode())
    received = read_until_closed(conn)
    conn.close()
    answers = []
    rest = received
    while rest:
        head, _, rest = rest.partition(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
        answers.append((head.split(b"\r\n")[0], json.loads(rest[:length])))
        rest = rest[length:]
    assert [status for status, _ in answers] == [b"HTTP/1.1 200 OK"] * 5
    assert [json.loads(echo["body"])["n"] for _, echo in answers[:4]] == [0, 1, 2, 3]
    assert answers[4][1] == {"status": "ok"}


def test_idle_and_stalled_connections_are_closed(launch, mock):
    gateway = launch("--idle-timeout", "1", "--request-log", "off")
    port = int(gateway.url.rsplit(":", 1)[1])
    # A keep-alive connection that goes quiet after its answer is closed after about a second.
    idle = socket.create_connection(("127.0.0.1", port), timeout=10)
    idle.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    started = time.monotonic()
    received = read_until_closed(idle)
    assert received.startswith(b"HTTP/1.1 200") and received.count(b"HTTP/1.1") == 1
    assert 0.9 <= time.monotonic() - started < 5
    # One that stops sending in the middle of a body gets 408 and is closed.
    stalled = socket.create_connection(("127.0.0.1", port), timeout=10)
    stalled.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"model\":")
    head, _, body = read_until_closed(stalled).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408") and b"connection: close" in head.lower()
    assert json.loads(body)["error"]["code"] == "client_timeout"
    # A request waiting on a slow provider is not idle: it is answered after 2 s.
    reply = call("POST", gateway.url + "/v1/chat/completions", headers=openai_headers(mock),
                 body={**CHAT, "mock": {"latency_ms": 2000}})
    assert reply.status == 200


def dechunk(data):
    """The body of an HTTP/1.1 chunked transfer."""
    out = bytearray()
    at = 0
    while True:
        end = data.index(b"\r\n", at)
        size = int(data[at:end].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += data[end + 2:end + 2 + size]
        at = end + 2 + size + 2


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def test_a_slow_reader_does_not_make_the_gateway_buffer_the_stream(launch, mock):
    """Backpressure end to end: while the client reads nothing, the gateway stops reading from the
    provider instead of holding the whole stream in memory; then every event arrives."""
    gateway = launch("--request-log", "off")
    port = int(gateway.url.rsplit(":", 1)[1])
    events = 100_000  # ~15 MB of chat.completion.chunk events, sent by the mock as fast as it can
    body = json.dumps({**CHAT, "stream": True, "mock": {"chunks": events}})
    headers = "".join(f"{k}: {v}\r\n" for k, v in openai_headers(mock).items())
    request = f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n{headers}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}"
    call("POST", gateway.url + "/v1/chat/completions", headers=openai_headers(mock), body=CHAT)  # warm up
    before = rss_kb(gateway.proc.pid)
    conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)  # no receive-window autotuning
    conn.settimeout(30)
    conn.connect(("127.0.0.1", port))
    conn.sendall(request.encode())
    first = conn.recv(4096)
    assert first.startswith(b"HTTP/1.1 200")
    time.sleep(3)  # the mock has long finished writing; the gateway must not have read it all
    grown = rss_kb(gateway.proc.pid) - before
    received = first + read_until_closed(conn)
    head, _, chunked = received.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    payload = dechunk(chunked)
    assert payload.count(b"chat.completion.chunk") == events + 2  # role, every piece, finish
    assert payload.rstrip().endswith(b"data: [DONE]")
    assert grown < 8 * 1024, f"gateway RSS grew {grown} KB while the client was not reading"


def test_a_custom_host_name_is_resolved_checked_and_used(gateway, mock):
    """A name (not an IP literal) is resolved before connecting. This machine's own name is
    resolved by the system as the gateway would; what it points at decides the expected answer."""
    import ipaddress
    name = socket.gethostname()
    port = int(mock.url.rsplit(":", 1)[1])
    addresses = {info[4][0] for info in socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)}
    private = [a for a in addresses if not ipaddress.ip_address(a).is_loopback
               and (ipaddress.ip_address(a).is_private or ipaddress.ip_address(a).is_link_local)]
    headers = {**openai_headers(mock), "x-portkey-custom-host": f"http://{name}:{port}/v1"}
    reply = call("POST", gateway.url + "/v1/chat/completions", headers=headers, body={**CHAT, "mock": {"echo": True}})
    if private:
        assert reply.status == 400 and f"'{name.lower()}' resolves to" in reply.error()["message"]
    elif all(ipaddress.ip_address(a).is_loopback for a in addresses):
        assert reply.status == 200, reply.body
        assert reply.json()["headers"]["host"] == f"{name}:{port}"
    unknown = {**openai_headers(mock), "x-portkey-custom-host": "http://no-such-host.invalid:9/v1"}
    reply = call("POST", gateway.url + "/v1/chat/completions", headers=unknown, body=CHAT)
    assert reply.status == 502 and reply.error()["code"] == "upstream_unreachable"
    assert "no-such-host.invalid" in reply.error()["message"]
