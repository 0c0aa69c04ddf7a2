"""Issue 19's other endpoints through the gateway with the official openai SDK: images, audio,
rerank, moderations, files and batches, each answered by the mock with content derived from what
the test sent (so a dropped field, a mangled upload or a buffered stream fails the test).

The mock's derivations (Sources/MockProvider): images are the PNG signature + sha256("<i>:<seed>");
speech audio is magic(format) + sha256("<format>:<i>:<input>") for i < 256, in 2 KiB chunks; uploads
are named by byte count and sha256 in the answers.
"""
import base64
import hashlib
import json
import os
import urllib.error
import urllib.request
import uuid

import openai
import pytest
from openai import OpenAI

try:  # the HTTP library under the SDK: httpx2 in recent openai releases, httpx before
    import httpx2 as transport
except ImportError:
    import httpx as transport

PNG = b"\x89PNG\r\n\x1a\n"
MAGIC = {"mp3": b"ID3\x04" + b"\0" * 6, "wav": b"RIFF\0\0\0\0WAVE", "flac": b"fLaC", "opus": b"OggS",
         "aac": b"\xff\xf1", "pcm": b""}
CONTENT_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav", "flac": "audio/flac", "opus": "audio/opus",
                 "aac": "audio/aac", "pcm": "audio/pcm"}


def image_payload(seed, index):
    return PNG + hashlib.sha256(f"{index}:{seed}".encode()).digest()


def speech_audio(text, fmt="mp3"):
    return MAGIC[fmt] + b"".join(hashlib.sha256(f"{fmt}:{i}:{text}".encode()).digest() for i in range(256))


def upload_bytes(size, seed):
    """Bytes with every byte value, CR LF runs and boundary-like dashes, so a multipart relay that
    rewrites line ends or trims anything is caught by the digest."""
    chunk = bytes(range(256)) + b"\r\n--\r\n\r\n--boundary\r\n" + seed.encode()
    data = (chunk * (size // len(chunk) + 1))[:size]
    return data


def mock_json(mock, path, method="GET"):
    request = urllib.request.Request(mock.url + path, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def client(gateway, mock):
    return OpenAI(base_url=gateway.url + "/v1", api_key="sk-test-key", max_retries=0, timeout=30,
                  default_headers={"x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1"})


def forwarding(**controls):
    """Headers that make the gateway forward x-mock-<name> controls to the mock."""
    headers = {f"x-mock-{name.replace('_', '-')}": str(value) for name, value in controls.items()}
    return {"x-portkey-forward-headers": ",".join(headers), **headers}


# ---------------------------------------------------------------- images

def test_image_generation_b64_json(client):
    prompt = f"a lighthouse in fog {uuid.uuid4()}"
    result = client.images.generate(model="gpt-image-1", prompt=prompt, n=2, size="1024x1024")
    assert [base64.b64decode(d.b64_json) for d in result.data] == [image_payload(prompt, 0), image_payload(prompt, 1)]
    assert result.usage.input_tokens > 0 and result.usage.output_tokens == 2 * 272


def test_image_generation_url_and_revised_prompt(client):
    prompt = f"a red bicycle {uuid.uuid4()}"
    result = client.images.generate(model="dall-e-3", prompt=prompt, response_format="url")
    assert len(result.data) == 1
    assert result.data[0].url.endswith(hashlib.sha256(f"0:{prompt}".encode()).hexdigest() + ".png")
    assert result.data[0].revised_prompt == f"A mock rendering of: {prompt}"
    assert result.data[0].b64_json is None


def test_image_generation_stream_with_partial_images(client):
    prompt = f"a fox at dawn {uuid.uuid4()}"
    events = list(client.images.generate(model="gpt-image-1", prompt=prompt, stream=True, partial_images=2))
    assert [e.type for e in events] == ["image_generation.partial_image"] * 2 + ["image_generation.completed"]
    assert [base64.b64decode(e.b64_json) for e in events[:2]] == [image_payload(f"partial{k}:{prompt}", 0) for k in range(2)]
    assert [e.partial_image_index for e in events[:2]] == [0, 1]
    assert base64.b64decode(events[-1].b64_json) == image_payload(prompt, 0)
    assert events[-1].usage.output_tokens == 272


def test_image_edit_stream(client):
    image = PNG + upload_bytes(20_000, "stream edit")
    events = list(client.images.edit(model="gpt-image-1", image=("s.png", image, "image/png"), prompt="sky",
                                     stream=True, partial_images=1))
    assert [e.type for e in events] == ["image_edit.partial_image", "image_edit.completed"]
    assert base64.b64decode(events[-1].b64_json) == image_payload(f"{hashlib.sha256(image).hexdigest()}:sky", 0)


def test_image_edit_multipart_upload_arrives_byte_for_byte(client):
    image = PNG + upload_bytes(200_000, "image")
    mask = PNG + upload_bytes(5_000, "mask")
    prompt = "add a small boat"
    result = client.images.edit(model="gpt-image-1", image=("harbour.png", image, "image/png"),
                                mask=("mask.png", mask, "image/png"), prompt=prompt, n=1)
    digest = hashlib.sha256(image).hexdigest()
    revised = result.data[0].revised_prompt
    assert f"image harbour.png bytes={len(image)} sha256={digest}" in revised
    assert f"mask bytes={len(mask)} sha256={hashlib.sha256(mask).hexdigest()}" in revised
    assert revised.endswith(f"prompt: {prompt}")
    assert base64.b64decode(result.data[0].b64_json) == image_payload(f"{digest}:{prompt}", 0)


def test_image_variation(client):
    image = PNG + upload_bytes(30_000, "variation")
    result = client.images.create_variation(model="dall-e-2", image=("cat.png", image, "image/png"), n=3,
                                            response_format="b64_json", size="256x256")
    digest = hashlib.sha256(image).hexdigest()
    assert [base64.b64decode(d.b64_json) for d in result.data] == [image_payload(f"{digest}:", i) for i in range(3)]
    assert f"variation of image cat.png bytes={len(image)} sha256={digest}" == result.data[0].revised_prompt


# ---------------------------------------------------------------- audio: speech

def test_speech_bytes_and_content_type(client):
    text = f"Hello from the gateway {uuid.uuid4()}"
    response = client.audio.speech.create(model="tts-1", voice="alloy", input=text, response_format="wav")
    assert response.content == speech_audio(text, "wav")
    assert response.response.headers["content-type"] == "audio/wav"


@pytest.fixture
def direct(mock):
    """The SDK pointed at the mock itself: proves the mock's side of a test, so that the same test
    failing through the gateway points at the gateway."""
    return OpenAI(base_url=mock.url + "/v1", api_key="sk-test-key", max_retries=0, timeout=30)


@pytest.mark.parametrize("target", ["gateway", "mock"])
def test_speech_is_relayed_before_the_upstream_finishes(target, request, mock):
    """The mock holds its last chunk until the test releases it: a gateway that buffers the answer
    cannot deliver the first bytes while the hold is on (the hold times out after 15 s, and the
    state then reads timed_out, so a buffering gateway fails this test instead of hanging it)."""
    client = request.getfixturevalue("client" if target == "gateway" else "direct")
    text = f"Streaming speech {uuid.uuid4()}"
    key = uuid.uuid4().hex
    expected = speech_audio(text, "mp3")
    with client.audio.speech.with_streaming_response.create(
            model="gpt-4o-mini-tts", voice="coral", input=text, extra_headers=forwarding(hold=key)) as response:
        assert response.headers["content-type"] == "audio/mpeg"
        chunks = response.iter_bytes()
        first = next(chunks)
        state = mock_json(mock, f"/mock/holds/{key}")
        assert state["state"] in ("sending", "holding"), state  # not finished: the last chunk is held
        assert "content-length" not in response.headers
        assert 0 < len(first) <= state["sent_bytes"] < len(expected)
        released = mock_json(mock, f"/mock/holds/{key}/release", method="POST")
        assert released["state"] in ("sending", "finished")
        body = first + b"".join(chunks)
    assert body == expected
    assert mock_json(mock, f"/mock/holds/{key}")["state"] == "finished"


@pytest.mark.parametrize("target", ["gateway", "mock"])
def test_speech_cut_mid_body_is_an_error_not_a_short_file(target, request):
    client = request.getfixturevalue("client" if target == "gateway" else "direct")
    text = f"Cut speech {uuid.uuid4()}"
    expected = speech_audio(text, "mp3")
    received = b""
    with pytest.raises((transport.HTTPError, openai.APIError)):
        with client.audio.speech.with_streaming_response.create(
                model="tts-1", voice="alloy", input=text, extra_headers=forwarding(cut_after=5000)) as response:
            for chunk in response.iter_bytes():
                received += chunk
    assert len(received) <= 5000 and expected.startswith(received)


def test_speech_events_are_relayed_before_the_upstream_finishes(client, mock):
    text = f"Held speech events {uuid.uuid4()}"
    key = uuid.uuid4().hex
    with client.audio.speech.with_streaming_response.create(
            model="gpt-4o-mini-tts", voice="nova", input=text, stream_format="sse",
            extra_headers=forwarding(hold=key)) as response:
        lines = response.iter_lines()
        first = next(line for line in lines if line.startswith("data: "))
        assert json.loads(first[len("data: "):])["type"] == "speech.audio.delta"
        state = mock_json(mock, f"/mock/holds/{key}")
        assert state["state"] in ("sending", "holding"), state  # the done event is still held
        mock_json(mock, f"/mock/holds/{key}/release", method="POST")
        rest = [json.loads(line[len("data: "):]) for line in lines if line.startswith("data: ")]
    assert rest[-1]["type"] == "speech.audio.done"


def test_speech_server_sent_events(client):
    text = f"Speech as events {uuid.uuid4()}"
    with client.audio.speech.with_streaming_response.create(
            model="gpt-4o-mini-tts", voice="nova", input=text, stream_format="sse") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[len("data: "):]) for line in response.iter_lines() if line.startswith("data: ")]
    assert [e["type"] for e in events] == ["speech.audio.delta"] * (len(events) - 1) + ["speech.audio.done"]
    audio = b"".join(base64.b64decode(e["audio"]) for e in events[:-1])
    assert audio == speech_audio(text, "mp3")
    assert events[-1]["usage"]["output_tokens"] == 256


# ---------------------------------------------------------------- audio: transcriptions, translations

@pytest.fixture(scope="module")
def recording():
    return upload_bytes(300_000, "recording")


def test_transcription_json_proves_the_upload_arrived_whole(client, recording):
    result = client.audio.transcriptions.create(model="whisper-1", file=("meeting.wav", recording, "audio/wav"),
                                                language="de", response_format="json")
    digest = hashlib.sha256(recording).hexdigest()
    assert result.text == f"Transcribed {len(recording)} bytes of meeting.wav sha256={digest}. Language: de."


def test_transcription_text_and_verbose_json(client, recording):
    digest = hashlib.sha256(recording).hexdigest()
    text = client.audio.transcriptions.create(model="whisper-1", file=("a.mp3", recording), response_format="text")
    assert text == f"Transcribed {len(recording)} bytes of a.mp3 sha256={digest}.\n"
    srt = client.audio.transcriptions.create(model="whisper-1", file=("a.mp3", recording), response_format="srt")
    assert srt.startswith("1\n00:00:00,000 --> 00:00:19,000\n") and digest in srt
    verbose = client.audio.transcriptions.create(
        model="whisper-1", file=("a.mp3", recording), response_format="verbose_json", timestamp_granularities=["word"])
    assert verbose.task == "transcribe" and verbose.duration == 19.0
    assert verbose.segments[0].text == verbose.text and digest in verbose.text
    assert " ".join(w.word for w in verbose.words) == verbose.text


def test_transcription_stream(client, recording):
    stream = client.audio.transcriptions.create(model="gpt-4o-transcribe", file=("s.wav", recording), stream=True)
    events = list(stream)
    deltas = [e.delta for e in events if e.type == "transcript.text.delta"]
    done = [e for e in events if e.type == "transcript.text.done"]
    assert len(done) == 1 and events[-1] is done[0] and len(deltas) > 3
    assert "".join(deltas) == done[0].text
    assert hashlib.sha256(recording).hexdigest() in done[0].text
    assert done[0].usage.output_tokens > 0


def test_translation(client):
    clip = upload_bytes(40_000, "translation")
    result = client.audio.translations.create(model="whisper-1", file=("rede.mp3", clip), prompt="formal")
    assert result.text == f"Translated {len(clip)} bytes of rede.mp3 sha256={hashlib.sha256(clip).hexdigest()}. Prompt: formal."


# ---------------------------------------------------------------- rerank, moderations

def test_rerank_through_cohere(gateway, mock):
    cohere = OpenAI(base_url=gateway.url + "/v1", api_key="co-test-key", max_retries=0, timeout=30,
                    default_headers={"x-portkey-provider": "cohere", "x-portkey-custom-host": mock.url + "/v2"})
    documents = ["The capital of France is Paris.", "Berlin is a city.", "Paris France capital of culture",
                 "Nothing to see here."]
    result = cohere.post("/rerank", cast_to=object, body={
        "model": "rerank-v3.5", "query": "capital of France", "documents": documents, "top_n": 3})
    # Overlap with {capital, of, france}: 3/3, 0, 3/3, 0; ties keep document order.
    assert [(r["index"], r["relevance_score"]) for r in result["results"]] == [(0, 1.0), (2, 1.0), (1, 0.0)]
    assert result["meta"]["billed_units"]["search_units"] == 1


def test_moderations(client):
    result = client.moderations.create(model="omni-moderation-latest",
                                       input=["I will kill the process", "a peaceful afternoon"])
    assert result.model == "omni-moderation-latest" and len(result.results) == 2
    flagged, calm = result.results
    assert flagged.flagged and flagged.categories.violence and flagged.category_scores.violence > 0.9
    assert not flagged.categories.hate
    assert not calm.flagged and calm.category_scores.violence < 0.01
    parts = client.moderations.create(input=[{"type": "text", "text": "hello"},
                                             {"type": "image_url", "image_url": {"url": "https://example.invalid/a.png"}}])
    assert len(parts.results) == 1
    assert parts.results[0].category_applied_input_types.violence == ["text", "image"]
    assert parts.results[0].category_applied_input_types.hate == ["text"]


# ---------------------------------------------------------------- files, batches

def test_files_lifecycle(client):
    data = upload_bytes(120_000, "file")
    created = client.files.create(file=("notes.jsonl", data), purpose="user_data")
    assert created.bytes == len(data) and created.filename == "notes.jsonl" and created.purpose == "user_data"
    assert client.files.retrieve(created.id).bytes == len(data)
    assert client.files.content(created.id).content == data
    listed = client.files.list(purpose="user_data")
    assert created.id in [f.id for f in listed.data]
    deleted = client.files.delete(created.id)
    assert deleted.deleted and deleted.id == created.id
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(created.id)


def test_large_upload_and_download_round_trip(client):
    data = os.urandom(8_000_000)
    created = client.files.create(file=("large.bin", data), purpose="user_data")
    assert created.bytes == len(data)
    assert client.files.content(created.id).content == data


@pytest.mark.parametrize("target", ["gateway", "mock"])
def test_file_download_is_relayed_before_the_upstream_finishes(target, request, client, mock):
    data = upload_bytes(400_000, "download")
    created = client.files.create(file=("big.bin", data), purpose="user_data")
    sdk = request.getfixturevalue("client" if target == "gateway" else "direct")
    key = uuid.uuid4().hex
    with sdk.files.with_streaming_response.content(created.id, extra_headers=forwarding(hold=key)) as response:
        chunks = response.iter_bytes()
        first = next(chunks)
        state = mock_json(mock, f"/mock/holds/{key}")
        assert state["state"] in ("sending", "holding"), state  # not finished: the last chunk is held
        assert 0 < len(first) < len(data)
        mock_json(mock, f"/mock/holds/{key}/release", method="POST")
        body = first + b"".join(chunks)
    assert body == data


@pytest.mark.parametrize("target", ["gateway", "mock"])
def test_file_download_cut_short_is_an_error(target, request, client):
    data = upload_bytes(300_000, "cut download")
    created = client.files.create(file=("cut.bin", data), purpose="user_data")
    sdk = request.getfixturevalue("client" if target == "gateway" else "direct")
    received = b""
    with pytest.raises((transport.HTTPError, openai.APIError)):
        with sdk.files.with_streaming_response.content(created.id, extra_headers=forwarding(cut_after=150_000)) as response:
            for chunk in response.iter_bytes():
                received += chunk
    assert len(received) <= 150_000 and data.startswith(received)


def test_batch_runs_and_its_output_file_holds_the_answers(client):
    lines = [
        {"custom_id": "first", "method": "POST", "url": "/v1/chat/completions",
         "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}},
        {"custom_id": "second", "method": "POST", "url": "/v1/chat/completions",
         "body": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}], "mock": {"content": "Second answer."}}},
        {"custom_id": "broken", "method": "POST", "url": "/v1/chat/completions",
         "body": {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "mock": {"status": 429}}},
    ]
    jsonl = "".join(json.dumps(line) + "\n" for line in lines).encode()
    input_file = client.files.create(file=("batch.jsonl", jsonl), purpose="batch")
    batch = client.batches.create(input_file_id=input_file.id, endpoint="/v1/chat/completions",
                                  completion_window="24h", metadata={"job": "nightly"})
    assert batch.input_file_id == input_file.id and batch.metadata == {"job": "nightly"}
    batch = client.batches.retrieve(batch.id)
    assert batch.status == "completed"
    assert (batch.request_counts.total, batch.request_counts.completed, batch.request_counts.failed) == (3, 2, 1)
    output = [json.loads(line) for line in client.files.content(batch.output_file_id).text.splitlines()]
    by_id = {line["custom_id"]: line for line in output}
    assert set(by_id) == {"first", "second"}
    assert by_id["first"]["response"]["status_code"] == 200
    assert by_id["first"]["response"]["body"]["model"] == "gpt-4o-mini"
    assert by_id["second"]["response"]["body"]["choices"][0]["message"]["content"] == "Second answer."
    errors = [json.loads(line) for line in client.files.content(batch.error_file_id).text.splitlines()]
    assert [(e["custom_id"], e["response"]["status_code"]) for e in errors] == [("broken", 429)]
    assert batch.id in [b.id for b in client.batches.list(limit=100).data]


def test_batch_cancel_and_unknown_ids(client):
    jsonl = json.dumps({"custom_id": "only", "method": "POST", "url": "/v1/embeddings",
                        "body": {"model": "text-embedding-3-small", "input": "x"}}).encode() + b"\n"
    input_file = client.files.create(file=("e.jsonl", jsonl), purpose="batch")
    batch = client.batches.create(input_file_id=input_file.id, endpoint="/v1/embeddings", completion_window="24h",
                                  extra_headers=forwarding(batch_hold="true"))
    assert batch.status == "in_progress" and batch.request_counts.total == 1
    assert client.batches.cancel(batch.id).status == "cancelling"
    assert client.batches.retrieve(batch.id).status == "cancelled"
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve("batch_does_not_exist")
    with pytest.raises(openai.NotFoundError):
        client.files.content("file-does-not-exist")


def test_embeddings_batch_output(client):
    jsonl = "".join(json.dumps({"custom_id": f"e{i}", "method": "POST", "url": "/v1/embeddings",
                                "body": {"model": "text-embedding-3-small", "input": word}}) + "\n"
                    for i, word in enumerate(["alpha", "beta"])).encode()
    input_file = client.files.create(file=("emb.jsonl", jsonl), purpose="batch")
    batch = client.batches.create(input_file_id=input_file.id, endpoint="/v1/embeddings", completion_window="24h")
    output = [json.loads(line) for line in client.files.content(batch.output_file_id).text.splitlines()]
    direct = client.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta"], encoding_format="float")
    assert [o["response"]["body"]["data"][0]["embedding"] for o in output] == [d.embedding for d in direct.data]


# ---------------------------------------------------------------- limits

def test_upload_over_max_body_size_is_refused_with_413(launch, mock):
    small = launch("--max-body-size", "65536")
    client = OpenAI(base_url=small.url + "/v1", api_key="sk-test-key", max_retries=0, timeout=30,
                    default_headers={"x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1"})
    with pytest.raises(openai.APIStatusError) as caught:
        client.audio.transcriptions.create(model="whisper-1", file=("big.wav", upload_bytes(100_000, "big")))
    assert caught.value.status_code == 413
    assert "larger than the gateway's limit of 65536 bytes" in str(caught.value)
    # Below the limit the same gateway passes the upload through.
    clip = upload_bytes(20_000, "small")
    result = client.audio.transcriptions.create(model="whisper-1", file=("small.wav", clip))
    assert hashlib.sha256(clip).hexdigest() in result.text


# ---------------------------------------------------------------- Anthropic Message Batches (passed through)

def test_anthropic_message_batches(gateway, mock):
    import anthropic
    headers = {"x-portkey-provider": "anthropic", "x-portkey-custom-host": mock.url + "/v1"}
    client = anthropic.Anthropic(base_url=gateway.url, api_key="sk-ant-test", max_retries=0, default_headers=headers)
    batch = client.messages.batches.create(requests=[
        {"custom_id": "one", "params": {"model": "claude-sonnet-4-5", "max_tokens": 50,
                                        "messages": [{"role": "user", "content": "hi"}], "mock": {"content": "First."}}},
        {"custom_id": "two", "params": {"model": "claude-sonnet-4-5", "max_tokens": 50,
                                        "messages": [{"role": "user", "content": "x"}], "mock": {"status": 529}}},
    ])
    assert batch.processing_status == "ended"
    assert (batch.request_counts.succeeded, batch.request_counts.errored) == (1, 1)
    assert client.messages.batches.retrieve(batch.id).id == batch.id
    assert batch.id in [b.id for b in client.messages.batches.list(limit=100).data]
    # The results through the gateway's own path (results_url names the upstream host).
    raw = httpx_get(gateway.url + f"/v1/messages/batches/{batch.id}/results",
                    {**headers, "x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"})
    results = {line["custom_id"]: line["result"] for line in map(json.loads, raw.splitlines())}
    assert results["one"]["type"] == "succeeded" and results["one"]["message"]["content"][0]["text"] == "First."
    assert results["two"]["type"] == "errored" and results["two"]["error"]["error"]["type"] == "overloaded_error"
    held = client.messages.batches.create(
        requests=[{"custom_id": "h", "params": {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}}],
        extra_headers=forwarding(batch_hold="true"))
    assert held.processing_status == "in_progress"
    cancelled = client.messages.batches.cancel(held.id)
    assert cancelled.request_counts.canceled == 1 and cancelled.cancel_initiated_at is not None
    assert client.messages.batches.delete(held.id).type == "message_batch_deleted"
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.retrieve(held.id)


def httpx_get(url, headers):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
        return response.read().decode()


# ---------------------------------------------------------------- the model of a multipart upload

def test_conditional_routing_sees_the_model_of_a_multipart_upload(gateway, mock):
    config = {"strategy": {"mode": "conditional", "default": "groq",
                           "conditions": [{"query": {"params.model": {"$eq": "whisper-1"}}, "then": "openai"}]},
              "targets": [{"name": "openai", "provider": "openai", "custom_host": mock.url + "/v1"},
                          {"name": "groq", "provider": "groq", "custom_host": mock.url + "/v1"}]}
    client = OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0, timeout=30,
                    default_headers={"x-portkey-config": json.dumps(config)})
    clip = upload_bytes(10_000, "routing")
    for model, provider in [("whisper-1", "openai"), ("whisper-large-v3", "groq")]:
        raw = client.audio.transcriptions.with_raw_response.create(model=model, file=("r.wav", clip))
        assert raw.headers["x-portkey-provider"] == provider, model
        assert hashlib.sha256(clip).hexdigest() in raw.parse().text


def test_malformed_multipart_is_refused_by_the_gateway(gateway, mock):
    body = b"--xyz\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\nabc"
    request = urllib.request.Request(gateway.url + "/v1/audio/transcriptions", data=body, method="POST", headers={
        "content-type": "multipart/form-data; boundary=xyz", "authorization": "Bearer k",
        "x-portkey-provider": "openai", "x-portkey-custom-host": mock.url + "/v1"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 400
    assert "x-mock-request-count" not in caught.value.headers  # the gateway refused it, not the mock
    assert "multipart/form-data" in json.loads(caught.value.read())["error"]["message"]


def test_new_endpoints_work_under_a_config_without_hooks(gateway, mock):
    """A config (here a single target) carries no guardrails, so it must not make the gateway
    refuse endpoints that guardrails cannot read."""
    config = {"provider": "openai", "custom_host": mock.url + "/v1"}
    client = OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0, timeout=30,
                    default_headers={"x-portkey-config": json.dumps(config)})
    assert client.moderations.create(input="kill it").results[0].flagged
    created = client.files.create(file=("c.txt", b"config"), purpose="user_data")
    assert client.files.content(created.id).content == b"config"


def test_a_provider_serves_only_the_endpoints_its_table_lists(gateway, mock):
    groq = OpenAI(base_url=gateway.url + "/v1", api_key="gsk-test", max_retries=0, timeout=30,
                  default_headers={"x-portkey-provider": "groq", "x-portkey-custom-host": mock.url + "/v1"})
    clip = upload_bytes(5_000, "groq")
    assert hashlib.sha256(clip).hexdigest() in groq.audio.transcriptions.create(
        model="whisper-large-v3", file=("g.wav", clip)).text
    with pytest.raises(openai.BadRequestError) as caught:
        groq.images.generate(model="dall-e-2", prompt="x")
    assert "provider 'groq' does not support /v1/images/generations" in str(caught.value)
    before = mock_json(mock, "/mock/stats")["requests"]
    with pytest.raises(openai.BadRequestError):
        groq.files.list()
    assert mock_json(mock, "/mock/stats")["requests"] == before  # refused before any upstream call
