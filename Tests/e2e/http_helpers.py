"""A tiny raw HTTP client on the standard library, so tests see exactly what crossed the wire."""
import http.client
import json
from urllib.parse import urlsplit


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    def json(self):
        return json.loads(self.body)

    def error(self):
        payload = self.json()
        assert set(payload) == {"error"}, payload
        assert set(payload["error"]) >= {"message", "type", "param", "code"}, payload
        return payload["error"]


def call(method, url, headers=None, body=None, timeout=30):
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    path = parts.path + ("?" + parts.query if parts.query else "")
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return Reply(response.status, response.getheaders(), data)


def openai_headers(mock, **extra):
    headers = {
        "x-portkey-provider": "openai",
        "Authorization": "Bearer sk-test",
        "x-portkey-custom-host": mock.url + "/v1",
        "Content-Type": "application/json",
    }
    headers.update(extra)
    return headers


CHAT = {"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]}


def store_fixture(mock, fixture):
    """Stores a canned upstream answer in the mock and returns its name (for x-mock-fixture)."""
    import uuid
    name = uuid.uuid4().hex
    reply = call("POST", f"{mock.url}/mock/fixtures/{name}", body=fixture)
    assert reply.status == 200, reply.body
    return name


def last_upstream_request(mock):
    """What the mock received for the last fixture-answered request: method, uri, headers, body."""
    return call("GET", mock.url + "/mock/last-request").json()


def translating_client(gateway, mock, provider, fixture_name, base_path="/v1", api_key="sk-test"):
    """The official openai SDK against the gateway, routed to `provider` at the mock, answered by a fixture."""
    from openai import OpenAI
    return OpenAI(
        base_url=gateway.url + "/v1", api_key=api_key, max_retries=0,
        default_headers={
            "x-portkey-provider": provider, "x-portkey-custom-host": mock.url + base_path,
            "x-portkey-forward-headers": "x-mock-fixture", "x-mock-fixture": fixture_name,
        })


def chat_chunk(delta, finish=None, usage=None, model="gpt-4o"):
    """One streamed chat.completion.chunk event for a mock fixture (a usage chunk has no choices)."""
    event = {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "model": model,
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if usage:
        event = {**event, "choices": [], "usage": usage}
    return {"data": event}


def gemini_chunk(parts=None, finish=None, usage=None, model="gemini-2.5-flash", response_id="resp-s1"):
    """One streamGenerateContent event (its JSON) for a mock fixture."""
    candidate = {"content": {"role": "model", "parts": parts or []}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    event = {"candidates": [candidate], "modelVersion": model, "responseId": response_id}
    if usage:
        event["usageMetadata"] = usage
    return event
