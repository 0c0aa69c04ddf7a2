"""Vertex AI with a service account's JSON key instead of a token: the gateway signs the JWT bearer
assertion (RS256), exchanges it at the key's token_uri, caches the token, and sends it to Vertex.

The token endpoint here stands in for https://oauth2.googleapis.com/token: it verifies the
assertion's RS256 signature with the key's public half (the openssl command line, so no Python
crypto library is needed) and its claims, as Google does, before it issues a token.
"""
import base64
import json
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai
import pytest

from http_helpers import last_upstream_request, store_fixture

GEMINI_ANSWER = {"status": 200, "body": {
    "candidates": [{"content": {"role": "model", "parts": [{"text": "Signed in."}]}, "finishReason": "STOP"}],
    "usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 2, "totalTokenCount": 4}}}


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture(scope="module")
def keypair(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sa")
    private = folder / "key.pem"
    public = folder / "pub.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(private)],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", str(private), "-pubout", "-out", str(public)], check=True, capture_output=True)
    return private.read_text(), public, folder


class TokenEndpoint:
    """Google's token endpoint, as its reference describes the JWT bearer grant."""

    def __init__(self, public_key_path, folder):
        self.public_key_path = public_key_path
        self.folder = folder
        self.requests = []
        self.fail_with = None
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"])).decode()
                answer, status = endpoint.answer(self.headers, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def verify(self, jwt):
        header_b64, claims_b64, signature_b64 = jwt.split(".")
        signed = self.folder / "signed.bin"
        signature = self.folder / "sig.bin"
        signed.write_bytes(f"{header_b64}.{claims_b64}".encode())
        signature.write_bytes(b64url_decode(signature_b64))
        result = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(self.public_key_path),
                                 "-signature", str(signature), str(signed)], capture_output=True)
        return result.returncode == 0, json.loads(b64url_decode(header_b64)), json.loads(b64url_decode(claims_b64))

    def answer(self, headers, body):
        form = urllib.parse.parse_qs(body)
        self.requests.append({"content_type": headers["content-type"], "form": form})
        if self.fail_with:
            return self.fail_with, 400
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return {"error": "unsupported_grant_type"}, 400
        valid, header, claims = self.verify(form["assertion"][0])
        if not valid:
            return {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, 400
        self.requests[-1].update(header=header, claims=claims)
        now = time.time()
        if header != {"alg": "RS256", "typ": "JWT", "kid": "key-1"} or claims["aud"] != self.url \
                or claims["scope"] != "https://www.googleapis.com/auth/cloud-platform" \
                or not (claims["iat"] - 60 <= now <= claims["exp"]) or claims["exp"] - claims["iat"] > 3600:
            return {"error": "invalid_grant", "error_description": "bad claims"}, 400
        return {"access_token": f"ya29.issued-{len(self.requests)}", "expires_in": 3599, "token_type": "Bearer"}, 200


@pytest.fixture(scope="module")
def token_endpoint(keypair):
    _, public, folder = keypair
    endpoint = TokenEndpoint(public, folder)
    yield endpoint
    endpoint.server.shutdown()


@pytest.fixture(scope="module")
def allowing_gateway():
    from conftest import start_gateway
    process = start_gateway("--allow-host", "127.0.0.1")
    yield process
    process.stop()


def service_account(keypair, token_endpoint, email="gateway@proj-1.iam.gserviceaccount.com"):
    return {"type": "service_account", "project_id": "proj-1", "private_key_id": "key-1", "private_key": keypair[0],
            "client_email": email, "token_uri": token_endpoint.url}


def chat(gateway, mock, key, fixture=GEMINI_ANSWER, config=False):
    headers = {"x-portkey-custom-host": mock.url + "/v1", "x-portkey-forward-headers": "x-mock-fixture",
               "x-mock-fixture": store_fixture(mock, fixture)}
    if config:
        headers["x-portkey-config"] = json.dumps({"provider": "vertex-ai", "vertex_project_id": "proj-1",
                                                  "vertex_region": "europe-west4", "vertex_service_account_json": key})
    else:
        headers.update({"x-portkey-provider": "vertex-ai", "x-portkey-vertex-project-id": "proj-1",
                        "x-portkey-vertex-region": "europe-west4",
                        "x-portkey-vertex-service-account-json": json.dumps(key)})
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0, default_headers=headers)
    return client.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}])


def test_a_service_account_key_is_exchanged_once_and_the_token_reused(allowing_gateway, mock, keypair, token_endpoint):
    key = service_account(keypair, token_endpoint)
    before = len(token_endpoint.requests)
    assert chat(allowing_gateway, mock, key).choices[0].message.content == "Signed in."
    exchanged = token_endpoint.requests[before]
    assert exchanged["content_type"] == "application/x-www-form-urlencoded"
    assert exchanged["claims"]["iss"] == key["client_email"]
    token = f"ya29.issued-{before + 1}"
    assert last_upstream_request(mock)["headers"]["authorization"] == f"Bearer {token}"
    # The second request reuses the cached token: no second exchange.
    chat(allowing_gateway, mock, key)
    assert len(token_endpoint.requests) == before + 1
    assert last_upstream_request(mock)["headers"]["authorization"] == f"Bearer {token}"


def test_the_key_works_from_a_config_object(allowing_gateway, mock, keypair, token_endpoint):
    key = service_account(keypair, token_endpoint, email="config@proj-1.iam.gserviceaccount.com")
    before = len(token_endpoint.requests)
    chat(allowing_gateway, mock, key, config=True)
    assert token_endpoint.requests[before]["claims"]["iss"] == "config@proj-1.iam.gserviceaccount.com"
    assert last_upstream_request(mock)["headers"]["authorization"].startswith("Bearer ya29.issued-")


def test_a_refused_exchange_is_a_401_naming_google_s_reason(allowing_gateway, mock, keypair, token_endpoint):
    key = service_account(keypair, token_endpoint, email="revoked@proj-1.iam.gserviceaccount.com")
    token_endpoint.fail_with = {"error": "invalid_grant", "error_description": "Account has been deleted"}
    try:
        with pytest.raises(openai.AuthenticationError) as raised:
            chat(allowing_gateway, mock, key)
    finally:
        token_endpoint.fail_with = None
    assert "revoked@proj-1.iam.gserviceaccount.com" in raised.value.message
    assert "Account has been deleted" in raised.value.message


def test_a_bad_key_is_a_400_naming_the_field(allowing_gateway, mock, keypair, token_endpoint):
    key = service_account(keypair, token_endpoint)
    del key["client_email"]
    with pytest.raises(openai.BadRequestError) as raised:
        chat(allowing_gateway, mock, key)
    assert "has no 'client_email'" in raised.value.message
    key = service_account(keypair, token_endpoint)
    key["private_key"] = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"
    with pytest.raises(openai.BadRequestError) as raised:
        chat(allowing_gateway, mock, key)
    assert "private_key could not sign" in raised.value.message and "not a key" not in raised.value.message


def test_a_token_uri_on_a_private_address_is_refused_without_allow_host(gateway, mock, keypair, token_endpoint):
    # The key may come from a client: its token_uri must not reach the gateway's network.
    key = service_account(keypair, token_endpoint)
    before = len(token_endpoint.requests)
    with pytest.raises(openai.BadRequestError) as raised:
        chat(gateway, mock, key)
    assert "not public" in raised.value.message
    assert len(token_endpoint.requests) == before
