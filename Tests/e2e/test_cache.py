"""The response cache (config `cache: {"mode": "simple", "max_age": seconds}`): hits, misses and
refreshes seen by the official SDKs and by the mock's request counter; key-order insensitivity; a
cached answer replayed as a stream; streamed answers stored; errors never stored; LRU eviction at
the byte bound; expiry by max_age."""
import json
import time

import anthropic
import openai

from http_helpers import call
from test_observability import scrape, value


def seen(mock):
    return call("GET", mock.url + "/mock/stats").json()["requests"]


def config(mock, max_age=60, provider="openai", base="/v1"):
    return json.dumps({"provider": provider, "api_key": "sk-cache", "custom_host": mock.url + base,
                       "cache": {"mode": "simple", "max_age": max_age}})


def client(gateway, mock, **headers):
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0,
                         default_headers={"x-portkey-config": config(mock), **headers})


def ask(sdk, content, **extra):
    return sdk.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": content}], extra_body={"mock": {"content": content}},
        **extra)


def test_miss_then_hit_without_an_upstream_call(gateway, mock):
    sdk = client(gateway, mock)
    first = ask(sdk, "cache-basic")
    assert first.headers["x-portkey-cache-status"] == "MISS"
    before = seen(mock)
    second = ask(sdk, "cache-basic")
    assert second.headers["x-portkey-cache-status"] == "HIT"
    assert seen(mock) == before  # answered from memory
    assert second.parse().choices[0].message.content == first.parse().choices[0].message.content == "cache-basic"
    assert second.parse().id == first.parse().id
    # Without a cache config the status says so.
    plain = openai.OpenAI(base_url=gateway.url + "/v1", api_key="sk", max_retries=0,
                          default_headers={"x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1"})
    raw = plain.chat.completions.with_raw_response.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert raw.headers["x-portkey-cache-status"] == "DISABLED"


def test_key_order_and_whitespace_do_not_matter(gateway, mock):
    headers = {"x-portkey-config": config(mock), "content-type": "application/json"}
    body = '{"model":"gpt-4o","temperature":0.5,"messages":[{"role":"user","content":"order"}],"mock":{"content":"order"}}'
    reordered = ('{ "mock": {"content": "order"},\n  "messages": [{"content": "order", "role": "user"}],'
                 ' "temperature": 0.5, "model": "gpt-4o" }')
    first = call("POST", gateway.url + "/v1/chat/completions", headers=headers, body=body)
    second = call("POST", gateway.url + "/v1/chat/completions", headers=headers, body=reordered)
    assert first.headers["x-portkey-cache-status"] == "MISS"
    assert second.headers["x-portkey-cache-status"] == "HIT" and second.json() == first.json()
    # A different value is a different key.
    changed = call("POST", gateway.url + "/v1/chat/completions", headers=headers, body=body.replace("0.5", "0.7"))
    assert changed.headers["x-portkey-cache-status"] == "MISS"


def test_force_refresh_goes_upstream_and_replaces_the_entry(gateway, mock):
    sdk = client(gateway, mock)
    ask(sdk, "cache-refresh")
    before = seen(mock)
    refreshed = client(gateway, mock, **{"x-portkey-cache-force-refresh": "true"})
    raw = ask(refreshed, "cache-refresh")
    assert raw.headers["x-portkey-cache-status"] == "REFRESH" and seen(mock) == before + 1
    again = ask(sdk, "cache-refresh")
    assert again.headers["x-portkey-cache-status"] == "HIT" and again.parse().id == raw.parse().id


def test_errors_are_never_cached(gateway, mock):
    sdk = client(gateway, mock)
    before = seen(mock)
    for _ in range(2):
        try:
            sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "err"}],
                                        extra_body={"mock": {"status": 500, "content": "err"}})
            raise AssertionError("expected an error")
        except openai.InternalServerError as error:
            assert error.response.headers["x-portkey-cache-status"] == "MISS"
    assert seen(mock) == before + 2


def test_cached_answer_replays_as_a_stream_and_streams_are_stored(gateway, mock):
    sdk = client(gateway, mock)
    stored = ask(sdk, "cache-replay").parse()
    stream = sdk.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "cache-replay"}], stream=True,
        stream_options={"include_usage": True}, extra_body={"mock": {"content": "cache-replay"}})
    assert stream.headers["x-portkey-cache-status"] == "HIT"
    assert stream.headers["content-type"].startswith("text/event-stream")
    chunks = list(stream.parse())
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == stored.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].usage.total_tokens == stored.usage.total_tokens
    # The other way round: a streamed MISS is stored once it completes, and answers a plain request.
    streamed = sdk.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "cache-streamed"}], stream=True,
        stream_options={"include_usage": True}, extra_body={"mock": {"content": "cache-streamed"}})
    text = "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
    before = seen(mock)
    plain = ask(sdk, "cache-streamed")
    assert plain.headers["x-portkey-cache-status"] == "HIT" and seen(mock) == before
    assert plain.parse().choices[0].message.content == text


def test_messages_endpoint_replays_anthropic_events(gateway, mock):
    sdk = anthropic.Anthropic(base_url=gateway.url, api_key="unused", max_retries=0,
                              default_headers={"x-portkey-config": config(mock, provider="anthropic")})
    messages = [{"role": "user", "content": "Say this is a test."}]
    first = sdk.messages.with_raw_response.create(model="claude-test", max_tokens=50, messages=messages)
    assert first.headers["x-portkey-cache-status"] == "MISS"
    with sdk.messages.stream(model="claude-test", max_tokens=50, messages=messages) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == first.parse().content[0].text
    assert final.stop_reason == first.parse().stop_reason and final.usage.output_tokens == first.parse().usage.output_tokens


def test_lru_eviction_at_the_byte_bound(launch, mock):
    # One entry here is ~550 bytes (canonical request + answer + 128 overhead): two fit in 1300.
    gateway = launch("--cache-max-bytes", "1300", "--request-log", "off")
    sdk = client(gateway, mock)
    status = lambda content: ask(sdk, content).headers["x-portkey-cache-status"]
    assert status("lru-a") == "MISS" and status("lru-b") == "MISS"
    assert status("lru-a") == "HIT"      # a is now the most recently used
    assert status("lru-c") == "MISS"     # stores c, evicting b
    assert status("lru-a") == "HIT"
    assert status("lru-b") == "MISS"     # was evicted
    metrics, _ = scrape(gateway)
    assert value(metrics, "switchboard_cache_evictions_total") >= 1
    assert 0 < value(metrics, "switchboard_cache_bytes") <= 1300
    assert value(metrics, "switchboard_cache_requests_total", status="hit") == 2
    assert value(metrics, "switchboard_cache_requests_total", status="miss") == 4


def test_entries_expire_after_max_age(gateway, mock):
    sdk = openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0,
                        default_headers={"x-portkey-config": config(mock, max_age=1)})
    assert ask(sdk, "cache-expiry").headers["x-portkey-cache-status"] == "MISS"
    assert ask(sdk, "cache-expiry").headers["x-portkey-cache-status"] == "HIT"
    time.sleep(1.2)
    assert ask(sdk, "cache-expiry").headers["x-portkey-cache-status"] == "MISS"


def test_semantic_mode_is_refused_with_the_path(gateway, mock):
    bad = json.dumps({"provider": "openai", "cache": {"mode": "semantic"}})
    reply = call("POST", gateway.url + "/v1/chat/completions", headers={"x-portkey-config": bad},
                 body={"model": "m", "messages": []})
    assert reply.status == 400 and "config.cache.mode: semantic caching is not supported" in reply.error()["message"]
