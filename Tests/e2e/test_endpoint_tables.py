"""Each provider's endpoint table decides how an endpoint is served: translated, native, passed
through untouched, or refused naming the provider and the path — never translated as chat.

The official anthropic SDK's count_tokens, batches and files calls and Cohere's /v1/rerank reach
the mock upstream byte for byte (it records what arrived); answers are fixtures written from each
provider's API reference (Anthropic: Messages count tokens, Message Batches list, Files; Cohere:
v2 rerank).
"""
import json

import anthropic
import pytest

from http_helpers import call, last_upstream_request, store_fixture


def anthropic_client(gateway, mock, fixture=None, provider="anthropic", key="sk-ant-test", **extra):
    headers = {"x-portkey-provider": provider, "x-portkey-custom-host": mock.url + "/v1", **extra}
    if fixture:
        headers["x-mock-fixture"] = fixture
    return anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0, default_headers=headers)


COUNT_REQUEST = {"model": "claude-sonnet-4-5", "system": "Be brief.",
                 "messages": [{"role": "user", "content": "How many tokens is this?"}],
                 "tools": [{"name": "get_weather", "description": "Weather by city",
                            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]}


def test_count_tokens_reaches_anthropic_unchanged(gateway, mock):
    fixture = store_fixture(mock, {"status": 200, "body": {"input_tokens": 421}})
    client = anthropic_client(gateway, mock, fixture, **{"anthropic-beta": "token-counting-2024-11-01"})
    counted = client.messages.count_tokens(**COUNT_REQUEST)
    assert counted.input_tokens == 421
    seen = last_upstream_request(mock)
    # The same call, not a generation: path, method and body as the SDK sent them.
    assert seen["method"] == "POST" and seen["uri"] == "/v1/messages/count_tokens"
    assert seen["body"] == COUNT_REQUEST and "max_tokens" not in seen["body"]
    assert seen["headers"]["x-api-key"] == "sk-ant-test"
    assert seen["headers"]["anthropic-version"] == "2023-06-01"
    assert seen["headers"]["anthropic-beta"] == "token-counting-2024-11-01"
    assert "x-portkey-provider" not in seen["headers"]


def test_count_tokens_answer_from_the_upstream_not_a_chat_completion(gateway, mock):
    # The mock's own count_tokens (no fixture): the answer is Anthropic's shape, relayed as is.
    reply = call("POST", gateway.url + "/v1/messages/count_tokens", headers={
        "x-portkey-provider": "anthropic", "x-api-key": "sk-ant", "x-portkey-custom-host": mock.url + "/v1",
        "content-type": "application/json"}, body=COUNT_REQUEST)
    assert reply.status == 200, reply.body
    body = reply.json()
    assert set(body) == {"input_tokens"} and body["input_tokens"] > 0
    assert reply.headers.get("x-portkey-provider") == "anthropic"


def test_message_batches_list_and_files_reach_anthropic(gateway, mock):
    batches = store_fixture(mock, {"status": 200, "body": {
        "data": [{"id": "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF", "type": "message_batch", "processing_status": "ended",
                  "request_counts": {"processing": 0, "succeeded": 2, "errored": 0, "canceled": 0, "expired": 0},
                  "ended_at": "2026-11-20T18:37:24.100435Z", "created_at": "2026-11-20T18:37:24.100435Z",
                  "expires_at": "2026-11-21T18:37:24.100435Z", "archived_at": None, "cancel_initiated_at": None,
                  "results_url": None}],
        "has_more": False, "first_id": "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF", "last_id": "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF"}})
    page = anthropic_client(gateway, mock, batches).messages.batches.list(limit=5)
    assert [b.id for b in page.data] == ["msgbatch_013Zva2CMHLNnXjNJJKqJ2EF"]
    seen = last_upstream_request(mock)
    assert seen["method"] == "GET" and seen["uri"] == "/v1/messages/batches?limit=5"

    uploaded = store_fixture(mock, {"status": 200, "body": {
        "id": "file_011CNha8iCJcU1wXNR6q4V8w", "type": "file", "filename": "notes.txt", "mime_type": "text/plain",
        "size_bytes": 11, "created_at": "2026-11-20T18:37:24.100435Z", "downloadable": False}})
    client = anthropic_client(gateway, mock, uploaded)
    file = client.beta.files.upload(file=("notes.txt", b"hello files", "text/plain"), betas=["files-api-2025-04-14"])
    assert file.id == "file_011CNha8iCJcU1wXNR6q4V8w"
    seen = last_upstream_request(mock)
    assert seen["method"] == "POST" and seen["uri"] == "/v1/files"
    # The multipart upload arrives as the SDK built it: its boundary, its bytes.
    assert seen["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    assert b"hello files" in __import__("base64").b64decode(seen["body_base64"])
    assert seen["headers"]["anthropic-beta"] == "files-api-2025-04-14"


def test_cohere_rerank_reaches_v2(gateway, mock):
    answer = {"id": "07734bd2-2473-4f07-94e1-0d9f0e6843cf",
              "results": [{"index": 1, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.1}],
              "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}}
    fixture = store_fixture(mock, {"status": 200, "body": answer})
    request = {"model": "rerank-v3.5", "query": "capital of France?", "documents": ["Berlin", "Paris"], "top_n": 2}
    reply = call("POST", gateway.url + "/v1/rerank", headers={
        "x-portkey-provider": "cohere", "Authorization": "Bearer co-key", "x-portkey-custom-host": mock.url + "/v2",
        "x-mock-fixture": fixture, "x-portkey-forward-headers": "x-mock-fixture", "content-type": "application/json"},
        body=request)
    assert reply.status == 200, reply.body
    assert reply.json() == answer
    seen = last_upstream_request(mock)
    assert seen["uri"] == "/v2/rerank" and seen["body"] == request
    assert seen["headers"]["authorization"] == "Bearer co-key"


def test_a_provider_that_does_not_serve_a_path_says_so(gateway, mock):
    # Cohere has no Messages API and no count_tokens: count_tokens must not become a generation
    # (google translates it to Gemini's :countTokens: Tests/e2e/test_gemini_agents.py).
    client = anthropic_client(gateway, mock, provider="cohere", key="co-key")
    with pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.count_tokens(**COUNT_REQUEST)
    message = raised.value.body["error"]["message"]
    assert "provider 'cohere' does not support /v1/messages/count_tokens" in message
    assert "/v1/chat/completions" in message and "/v1/embeddings" in message
    assert raised.value.body["error"]["type"] == "invalid_request_error"  # the Messages error shape
    # Cohere serves chat only through its own translation: /v1/completions is refused, not translated.
    reply = call("POST", gateway.url + "/v1/completions", headers={
        "x-portkey-provider": "cohere", "Authorization": "Bearer k", "content-type": "application/json"},
        body={"model": "command-r", "prompt": "hi"})
    assert reply.status == 400
    assert reply.error()["code"] == "unsupported_endpoint"
    assert "provider 'cohere' does not support /v1/completions" in reply.error()["message"]


def test_count_tokens_is_refused_by_chat_providers_not_sent_upstream(gateway, mock):
    # An OpenAI-compatible provider passes other /v1 paths through, but count_tokens is an endpoint
    # of the Messages dialect it does not serve: a clear 400 in that dialect's shape, nothing sent.
    marker = "count-tokens-must-not-arrive"
    # Had it gone upstream, the mock would answer from this fixture and record the request.
    fixture = store_fixture(mock, {"status": 200, "body": {"input_tokens": 7}})
    client = anthropic_client(gateway, mock, fixture, provider="groq", key="gsk-test")
    with pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.count_tokens(**{**COUNT_REQUEST, "system": marker})
    assert raised.value.body["type"] == "error"
    assert "provider 'groq' does not support /v1/messages/count_tokens" in raised.value.body["error"]["message"]
    assert marker not in json.dumps(last_upstream_request(mock) or {})


def test_passthrough_errors_are_the_providers_own(gateway, mock):
    # A client of a passthrough path speaks the provider's API, so its errors are relayed as they are.
    error = {"type": "error", "error": {"type": "not_found_error", "message": "File not found: file_x"}}
    fixture = store_fixture(mock, {"status": 404, "body": error})
    with pytest.raises(anthropic.NotFoundError) as raised:
        anthropic_client(gateway, mock, fixture).beta.files.retrieve_metadata("file_x")
    assert raised.value.body == error
