"""Issue 12, items 6 and 7: linear buffering of large answers, and the limits on client connections
(head deadline, body minimum rate, pipelined answers for a client that does not read, connection cap).

Raw sockets against a real gateway and MockProvider. Times are printed, never asserted; the bounds
below only detect what used to hang (a connection kept open forever, a minute of CPU per answer).
"""
import json
import socket
import threading
import time

from http_helpers import CHAT, call, openai_headers


def port_of(process):
    return int(process.url.rsplit(":", 1)[1])


def read_until_closed(conn, limit=None):
    received = bytearray()
    while True:
        try:
            chunk = conn.recv(65536)
        except ConnectionResetError:
            return bytes(received)
        if not chunk:
            return bytes(received)
        received += chunk
        if limit and len(received) >= limit:
            return bytes(received)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    import os
    return ticks / os.sysconf("SC_CLK_TCK")


def drip(conn, data, interval, until):
    """Sends `data` one byte per `interval` seconds; returns the bytes the gateway sent back once it
    closed the connection, or None if it was still open at `until` (monotonic)."""
    conn.settimeout(interval)
    received = bytearray()
    for byte in data:
        if time.monotonic() > until:
            return None
        try:
            conn.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            break
        try:
            chunk = conn.recv(65536)
            if not chunk:
                return bytes(received)
            received += chunk
        except socket.timeout:
            pass
        except ConnectionResetError:
            return bytes(received)
    conn.settimeout(10)
    return bytes(received) + read_until_closed(conn)


def test_slowloris_head_is_cut_at_the_head_deadline(launch):
    # The example: one byte every 0.5 s kept a connection open forever despite
    # --idle-timeout 3, since the idle timer restarted at every byte.
    gateway = launch("--idle-timeout", "3", "--head-timeout", "2", "--request-log", "off")
    conn = socket.create_connection(("127.0.0.1", port_of(gateway)), timeout=10)
    started = time.monotonic()
    head = b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200 + b"\r\n\r\n"
    received = drip(conn, head, 0.5, until=started + 20)
    elapsed = time.monotonic() - started
    print(f"slowloris head cut after {elapsed:.1f} s")
    assert received is not None, "the connection was still open after 20 s of a dripped head"
    status, _, body = received.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 408"), received[:200]
    assert json.loads(body)["error"]["code"] == "client_timeout"
    # A connection that sends nothing at all is closed at the same deadline, without an answer.
    silent = socket.create_connection(("127.0.0.1", port_of(gateway)), timeout=20)
    assert read_until_closed(silent) == b""


def test_slow_body_gets_408(launch, mock):
    # 2 bytes/s against a minimum of 1000 bytes/s after a 2 s grace; the idle timeout (3 s) never
    # fires since a byte arrives every half second.
    gateway = launch("--idle-timeout", "3", "--head-timeout", "2", "--body-min-rate", "1000", "--request-log", "off")
    conn = socket.create_connection(("127.0.0.1", port_of(gateway)), timeout=10)
    body = json.dumps({**CHAT, "padding": "x" * 400}).encode()
    headers = "".join(f"{name}: {value}\r\n" for name, value in openai_headers(mock).items())
    conn.sendall(f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n{headers}Content-Length: {len(body)}\r\n\r\n".encode())
    started = time.monotonic()
    received = drip(conn, body, 0.5, until=started + 30)
    print(f"slow body cut after {time.monotonic() - started:.1f} s")
    assert received is not None, "a body dripped at 2 bytes/s was still being accepted after 30 s"
    status, _, rest = received.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 408") and b"connection: close" in status.lower(), received[:300]
    error = json.loads(rest)["error"]
    assert error["code"] == "client_timeout" and "bytes/s" in error["message"]
    # A body sent at a normal pace is not affected.
    assert call("POST", gateway.url + "/v1/chat/completions", headers=openai_headers(mock), body=CHAT).status == 200


def test_a_client_that_pipelines_and_never_reads_is_not_buffered_without_bound(launch):
    # The example: 80 MB of pipelined `GET /health` from a client that reads nothing grew
    # the gateway by 780 MB. Now it stops reading that client once its answers back up.
    gateway = launch("--request-log", "off")
    pid = gateway.proc.pid
    before = rss_kib(pid)
    conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the client reads nothing
    conn.connect(("127.0.0.1", port_of(gateway)))
    request = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    batch = request * (65536 // len(request))
    total = 80 * 1024 * 1024
    sent = 0
    conn.settimeout(3)  # a send blocked this long means the gateway stopped reading
    try:
        while sent < total:
            sent += conn.send(batch)
    except socket.timeout:
        pass
    peak = rss_kib(pid)
    time.sleep(1)
    peak = max(peak, rss_kib(pid))
    print(f"pipelined {sent / 1e6:.1f} MB before the gateway stopped reading; RSS {before // 1024} -> {peak // 1024} MiB")
    assert sent < total, "the gateway read all 80 MB of a pipeline whose answers nobody read"
    assert peak - before < 150 * 1024, f"RSS grew by {(peak - before) // 1024} MiB"
    # The answers are all there, in order, for a client that reads them after all.
    conn.settimeout(10)
    first = conn.recv(4096)
    assert first.startswith(b"HTTP/1.1 200"), first[:100]
    conn.close()
    # The gateway still serves others.
    assert call("GET", gateway.url + "/health").status == 200


def test_answers_are_not_queued_for_a_client_that_does_not_read(launch, mock):
    # 100 pipelined requests for 1 MB answers from a client that reads nothing: the gateway used to
    # fetch all 100 and queue 100 MB of answers for it. Now it serves the next request only when
    # the client has taken the previous answer, so it stops after the first few.
    gateway = launch("--request-log", "off")
    pid = gateway.proc.pid
    before = rss_kib(pid)
    upstream_before = call("GET", mock.url + "/mock/stats").json()["requests"]
    conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    conn.connect(("127.0.0.1", port_of(gateway)))
    body = json.dumps({**CHAT, "mock": {"body_bytes": 1_000_000}}).encode()
    headers = "".join(f"{name}: {value}\r\n" for name, value in openai_headers(mock).items())
    request = f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n{headers}Content-Length: {len(body)}\r\n\r\n".encode() + body
    count = 100
    conn.sendall(request * count)
    # Wait until the gateway stops asking the upstream for more (or has asked for everything).
    seen, stable_since, deadline = -1, time.monotonic(), time.monotonic() + 60
    while time.monotonic() < deadline:
        fetched = call("GET", mock.url + "/mock/stats").json()["requests"] - upstream_before
        if fetched != seen:
            seen, stable_since = fetched, time.monotonic()
        elif time.monotonic() - stable_since > 3 or fetched >= count:
            break
        time.sleep(0.2)
    peak = rss_kib(pid)
    print(f"{seen} of {count} answers fetched for a client reading none; RSS {before // 1024} -> {peak // 1024} MiB")
    assert seen < 10, f"{seen} answers of 1 MB fetched and queued for a client that reads none"
    assert peak - before < 60 * 1024, f"RSS grew by {(peak - before) // 1024} MiB"
    # Once the client reads, every answer arrives, complete and in order.
    conn.settimeout(30)
    received = read_until_closed_after(conn, count)
    assert received == count
    conn.close()


def read_until_closed_after(conn, count):
    """Reads `count` HTTP responses with content-length bodies; returns how many were 200 with 1 MB."""
    buffer = bytearray()
    good = 0
    for _ in range(count):
        while b"\r\n\r\n" not in buffer:
            chunk = conn.recv(1 << 20)
            assert chunk, "closed early"
            buffer += chunk
        head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
        buffer = bytearray(rest)
        while len(buffer) < length:
            chunk = conn.recv(1 << 20)
            assert chunk, "closed early"
            buffer += chunk
        if head.startswith(b"HTTP/1.1 200") and length == 1_000_000:
            good += 1
        buffer = buffer[length:]
    return good


def test_a_client_that_neither_reads_nor_sends_is_closed_at_the_idle_timeout(launch, mock):
    # Held-back pipelined requests must not keep a connection open forever: with answers waiting
    # and nothing read or sent for --idle-timeout, the connection closes.
    gateway = launch("--idle-timeout", "2", "--request-log", "off")
    conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    conn.connect(("127.0.0.1", port_of(gateway)))
    body = json.dumps({**CHAT, "mock": {"body_bytes": 1_000_000}}).encode()
    headers = "".join(f"{name}: {value}\r\n" for name, value in openai_headers(mock).items())
    request = f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n{headers}Content-Length: {len(body)}\r\n\r\n".encode() + body
    conn.sendall(request * 20)
    time.sleep(6)
    conn.settimeout(20)
    received = read_until_closed(conn)  # what was already on its way, then the close
    print(f"closed after {len(received) / 1e6:.1f} MB of 20 MB of answers")
    assert received.startswith(b"HTTP/1.1 200") and len(received) < 20_000_000


def test_a_stream_whose_client_reads_nothing_is_closed_at_the_idle_timeout(launch, mock):
    # A long stream (8 MB in 80 events) to a client that reads none of it: the gateway waits for
    # the client, holding the connection, the upstream connection and the task; after
    # --idle-timeout without progress it gives up and closes.
    gateway = launch("--idle-timeout", "2", "--request-log", "off")
    conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    conn.connect(("127.0.0.1", port_of(gateway)))
    body = json.dumps({**CHAT, "stream": True, "mock": {"content": "x" * 8_000_000, "chunks": 80}}).encode()
    headers = "".join(f"{name}: {value}\r\n" for name, value in openai_headers(mock).items())
    conn.sendall(f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n{headers}Content-Length: {len(body)}\r\n\r\n".encode() + body)
    time.sleep(10)  # the socket buffers (a few MB) fill first, then the 2 s start
    conn.settimeout(20)
    started = time.monotonic()
    received = read_until_closed(conn, limit=40_000_000)
    print(f"stream to a non-reader: {len(received) / 1e6:.1f} MB delivered, closed {time.monotonic() - started:.1f} s after reading began")
    assert received.startswith(b"HTTP/1.1 200")
    assert b"data: [DONE]" not in received[-200:], "the whole stream was kept for a client that read none of it"


def test_connections_over_max_connections_get_503(launch):
    gateway = launch("--max-connections", "3", "--request-log", "off")
    port = port_of(gateway)
    held = []
    for _ in range(3):
        conn = socket.create_connection(("127.0.0.1", port), timeout=10)
        conn.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert conn.recv(65536).startswith(b"HTTP/1.1 200")
        held.append(conn)
    extra = socket.create_connection(("127.0.0.1", port), timeout=10)
    extra.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    received = read_until_closed(extra)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503"), received[:200]
    assert b"connection: close" in head.lower()
    assert json.loads(body)["error"]["code"] == "too_many_connections"
    # When one closes, a new connection is served again, and the refusal was counted.
    held.pop().close()
    deadline = time.monotonic() + 10
    while True:
        reply = call("GET", gateway.url + "/metrics")
        if reply.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert reply.status == 200
    assert 'switchboard_client_connections_cut_total{reason="too_many_connections"}' in reply.body.decode()
    assert "refusing client connections: max_connections reached" in gateway.output()
    for conn in held:
        conn.close()


def timed_call(gateway, mock, size, chunked, timeout):
    pid = gateway.proc.pid
    cpu = cpu_seconds(pid)
    started = time.monotonic()
    reply = call("POST", gateway.url + "/v1/chat/completions", headers=openai_headers(mock),
                 body={**CHAT, "mock": {"body_bytes": size, "body_chunked": chunked}}, timeout=timeout)
    return reply, time.monotonic() - started, cpu_seconds(pid) - cpu


def test_a_100mb_upstream_answer_is_refused_quickly(launch, mock):
    # It used to take about a minute of CPU (the buffer was copied at every read) before the
    # 64 MiB limit's 502. With content-length it is refused at the head; chunked, at the limit.
    gateway = launch("--request-log", "off")
    for chunked in (False, True):
        reply, elapsed, cpu = timed_call(gateway, mock, 100_000_000, chunked, timeout=60)
        print(f"100 MB answer ({'chunked' if chunked else 'content-length'}): {reply.status} in {elapsed:.2f} s, gateway CPU {cpu:.2f} s")
        assert reply.status == 502, reply.body[:300]
        assert "larger than" in reply.error()["message"]


def test_a_20mb_upstream_answer_passes_intact(launch, mock):
    gateway = launch("--request-log", "off")
    for chunked in (False, True):
        reply, elapsed, cpu = timed_call(gateway, mock, 20_000_000, chunked, timeout=60)
        print(f"20 MB answer ({'chunked' if chunked else 'content-length'}): {reply.status} in {elapsed:.2f} s, gateway CPU {cpu:.2f} s")
        assert reply.status == 200, reply.body[:300]
        assert len(reply.body) == 20_000_000
        content = reply.json()["choices"][0]["message"]["content"]
        assert content == "x" * len(content) and len(content) > 19_999_000
