"""Streaming: exact SSE framing, include_usage, Azure's filter chunk, Responses events, both SDKs."""

from __future__ import annotations

import asyncio
import json

import httpx
import openai
import pytest
from azure.ai.inference import ChatCompletionsClient
from azure.ai.inference.models import UserMessage

from helpers.local import tokenizer
from helpers.local.model import HELP
from helpers.local.settings import Settings

from .conftest import API_VERSION, settings_of, without_ids

HI = [{"role": "user", "content": "Hello there"}]


def events(body: bytes) -> list[str]:
    """Split an SSE body on blank lines, checking every event is exactly 'data: ...\\n\\n'."""
    assert body.endswith(b"\n\n")
    assert b"\r" not in body
    chunks = body.decode().split("\n\n")
    assert chunks[-1] == ""
    for chunk in chunks[:-1]:
        assert chunk.startswith("data: ")
        assert "\n" not in chunk
    return [chunk[len("data: ") :] for chunk in chunks[:-1]]


def test_openai_stream_exact_framing_and_usage(raw: httpx.Client) -> None:
    body = {"model": "m", "messages": HI, "stream": True, "stream_options": {"include_usage": True}}
    response = raw.post("/v1/chat/completions", json=body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    data = events(response.content)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    pieces = tokenizer.pieces(HELP)
    # role chunk, one chunk per token piece, finish chunk, usage chunk
    assert len(chunks) == 1 + len(pieces) + 1 + 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks[:-1]) == HELP
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["prompt_tokens"] == 9
    assert chunks[-1]["usage"]["completion_tokens"] == 120
    assert all("content_filter_results" not in c["choices"][0] for c in chunks[:-1])
    assert len({c["id"] for c in chunks}) == 1


def test_stream_without_include_usage_has_no_usage_key(raw: httpx.Client) -> None:
    response = raw.post("/v1/chat/completions", json={"model": "m", "messages": HI, "stream": True})
    chunks = [json.loads(d) for d in events(response.content)[:-1]]
    assert all("usage" not in c for c in chunks)


def test_azure_stream_first_chunk_and_choice_filters(raw: httpx.Client) -> None:
    response = raw.post(
        f"/openai/deployments/dep/chat/completions?api-version={API_VERSION}",
        json={"messages": HI, "stream": True},
    )
    assert response.status_code == 200
    data = events(response.content)
    first = json.loads(data[0])
    assert first["choices"] == []
    assert first["prompt_filter_results"][0]["prompt_index"] == 0
    assert first["prompt_filter_results"][0]["content_filter_results"]["jailbreak"] == {
        "filtered": False,
        "detected": False,
    }
    content = json.loads(data[2])
    assert content["choices"][0]["content_filter_results"]["violence"] == {
        "filtered": False,
        "severity": "safe",
    }
    assert data[-1] == "[DONE]"


def test_streams_are_byte_stable(raw: httpx.Client) -> None:
    body = {"model": "m", "messages": HI, "stream": True}
    first = raw.post("/v1/chat/completions", json=body).content
    second = raw.post("/v1/chat/completions", json=body).content
    assert first != second  # each stream has its own id
    assert without_ids(first) == without_ids(second)


def test_openai_sdk_stream(oai: openai.OpenAI) -> None:
    stream = oai.chat.completions.create(
        model="m", messages=HI, stream=True, stream_options={"include_usage": True}
    )
    text, usage = "", None
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
        if chunk.usage:
            usage = chunk.usage
    assert text == HELP
    assert usage is not None and usage.total_tokens == 129


def test_azure_openai_sdk_stream(azure: openai.AzureOpenAI) -> None:
    stream = azure.chat.completions.create(model="dep", messages=HI, stream=True)
    chunks = list(stream)
    assert chunks[0].choices == []  # Azure's prompt filter chunk, as the real service sends it
    assert "".join(c.choices[0].delta.content or "" for c in chunks[1:]) == HELP


def test_inference_sdk_stream_sync(inference: ChatCompletionsClient) -> None:
    stream = inference.complete(
        messages=[UserMessage("Hello there")],
        stream=True,
        model_extras={"stream_options": {"include_usage": True}},
    )
    text, usage = "", None
    for update in stream:
        if update.choices:
            text += update.choices[0].delta.content or ""
        if update.usage:
            usage = update.usage
    assert text == HELP
    assert usage is not None and usage.prompt_tokens == 9 and usage.completion_tokens == 120


def test_inference_sdk_stream_async(server) -> None:
    pytest.importorskip("aiohttp", reason="azure-ai-inference's async client needs aiohttp")
    from azure.ai.inference.aio import ChatCompletionsClient as AsyncClient
    from azure.core.credentials import AzureKeyCredential

    async def run() -> str:
        async with AsyncClient(
            endpoint=f"{server.url}/models", credential=AzureKeyCredential("k"), model="m"
        ) as c:
            stream = await c.complete(messages=[UserMessage("Hello there")], stream=True)
            return "".join([u.choices[0].delta.content or "" async for u in stream if u.choices])

    assert asyncio.run(run()) == HELP


def test_async_openai_stream(server) -> None:
    async def run() -> str:
        async with openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="k") as client:
            stream = await client.chat.completions.create(model="m", messages=HI, stream=True)
            return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    assert asyncio.run(run()) == HELP


def test_responses_stream_events(raw: httpx.Client, oai: openai.OpenAI) -> None:
    response = raw.post("/v1/responses", json={"model": "m", "input": "Hello there", "stream": True})
    blocks = response.content.decode().split("\n\n")
    assert blocks[-1] == ""
    kinds = []
    for number, block in enumerate(blocks[:-1]):
        event_line, data_line = block.split("\n")
        kind = event_line.removeprefix("event: ")
        data = json.loads(data_line.removeprefix("data: "))
        assert data["type"] == kind
        assert data["sequence_number"] == number
        kinds.append(kind)
    pieces = len(tokenizer.pieces(HELP))
    assert kinds == (
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
        ]
        + ["response.output_text.delta"] * pieces
        + [
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    )

    deltas, final = [], None
    for event in oai.responses.create(model="m", input="Hello there", stream=True):
        if event.type == "response.output_text.delta":
            deltas.append(event.delta)
        if event.type == "response.completed":
            final = event.response
    assert "".join(deltas) == HELP
    assert final is not None and final.output_text == HELP and final.usage.output_tokens == 120


def test_client_hanging_up_mid_stream_is_quiet(server, caplog: pytest.LogCaptureFixture) -> None:
    import socket
    import time

    host, port = server.url.removeprefix("http://").split(":")
    body = json.dumps({"model": "m", "messages": HI, "stream": True}).encode()
    for _ in range(3):
        with socket.create_connection((host, int(port))) as conn:
            conn.sendall(
                b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            conn.recv(200)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST
    time.sleep(0.3)  # let the server write into the closed connections
    assert (
        httpx.post(f"{server.url}/v1/chat/completions", json={"model": "m", "messages": HI}).status_code
        == 200
    )
    assert not [r for r in caplog.records if "socket.send() raised" in r.getMessage()]


def test_streamed_chunks_are_paced_and_whole_replies_are_not(monkeypatch: pytest.MonkeyPatch) -> None:
    from helpers.local import app

    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def record(seconds: float) -> None:
        slept.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(app.asyncio, "sleep", record)

    async def collect() -> list[bytes]:
        return [event async for event in app._replay([b"a", b"b", b"c"], 0.04)]

    assert asyncio.run(collect()) == [b"a", b"b", b"c"]
    assert slept == [0, 0.04, 0, 0.04, 0]  # a pause before every event but the first


def test_reading_pace_is_the_default_of_serve_and_connect_only() -> None:
    from helpers.local.settings import INTERACTIVE_STREAM_DELAY_MS, for_reading

    assert Settings().stream_delay_ms == 0  # tests and benchmarks
    assert for_reading(Settings(), delay_given=False).stream_delay_ms == INTERACTIVE_STREAM_DELAY_MS == 25
    assert for_reading(Settings(stream_delay_ms=0), delay_given=True).stream_delay_ms == 0
    assert settings_of(["--stream-delay-ms", "60"], {}).stream_delay_ms == 60
