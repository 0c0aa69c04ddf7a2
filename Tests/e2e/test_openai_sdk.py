"""The official openai Python SDK, pointed at the gateway, reaching the mock through x-portkey-custom-host."""
import openai
import pytest
from openai import OpenAI


@pytest.fixture
def client(gateway, mock):
    return OpenAI(
        base_url=gateway.url + "/v1",
        api_key="sk-test-key",
        max_retries=0,
        default_headers={"x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1"},
    )


def test_chat_completion(client):
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4", messages=[{"role": "user", "content": "Say this is a test."}], max_tokens=20)
    completion = raw.parse()
    assert completion.choices[0].message.content == "This is a test."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "gpt-4"
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    assert raw.headers["x-portkey-provider"] == "openai"
    assert len(raw.headers["x-portkey-trace-id"]) == 36


def test_streaming_chat_with_usage(client):
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True,
        stream_options={"include_usage": True}, extra_body={"mock": {"chunks": 6}})
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(text.split()) == 6
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


def test_embeddings_match_direct_call(client, mock):
    through = client.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta", "alpha"])
    direct = OpenAI(base_url=mock.url + "/v1", api_key="x", max_retries=0).embeddings.create(
        model="text-embedding-3-small", input=["alpha", "beta", "alpha"])
    vectors = [d.embedding for d in through.data]
    assert len(vectors) == 3 and len(vectors[0]) > 0
    assert vectors[0] == vectors[2] != vectors[1]
    assert vectors == [d.embedding for d in direct.data]


def test_completions_and_models(client):
    completion = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say this is a test")
    assert completion.choices[0].text.strip() != ""
    models = client.models.list()
    assert any(m.id == "gpt-4" for m in models.data)


def test_upstream_error_surfaces_as_sdk_exception(client):
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(
            model="gpt-4", messages=[{"role": "user", "content": "x"}],
            extra_body={"mock": {"status": 429, "retry_after": 3}})
    assert caught.value.status_code == 429
    assert "mock injected status 429" in str(caught.value)
    assert caught.value.response.headers["retry-after"] == "3"


def test_gateway_error_surfaces_as_sdk_exception(gateway):
    client = OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0,
                    default_headers={"x-portkey-provider": "no-such-provider"})
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert "unknown provider 'no-such-provider'" in str(caught.value)
    assert "openai" in str(caught.value)


def test_stream_broken_mid_way_raises_in_sdk(client):
    stream = client.chat.completions.create(
        model="gpt-4", messages=[{"role": "user", "content": "x"}], stream=True,
        extra_body={"mock": {"reset": "mid", "chunks": 8, "interval_ms": 5}})
    received = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream:
            received.append(chunk)
    assert received, "events before the reset must arrive"
    assert "interrupted" in str(caught.value)
