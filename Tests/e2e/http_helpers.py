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
