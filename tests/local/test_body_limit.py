"""LOCAL_MAX_BODY_MB: a request body over the limit is a 413 in the surface's error shape, refused unread."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import openai
import pytest

from helpers.errors import SettingsError
from helpers.local.model import HELP
from helpers.local.settings import Settings

from .conftest import API_VERSION, settings_of

LIMIT_MB = 0.5
LIMIT = int(LIMIT_MB * 1024 * 1024)
ADVICE = (
    "Send fewer or smaller attachments (helpers.prepare_image shrinks images to what the service keeps), "
    "or raise LOCAL_MAX_BODY_MB."
)
HI = [{"role": "user", "content": "Hello there"}]


def too_large(sent: str) -> str:
    return (
        f"The request body is too large: the local host accepts at most {LIMIT} bytes ({LIMIT_MB:g} MB, set by "
        f"LOCAL_MAX_BODY_MB) and {sent}. {ADVICE}"
    )


def big_image_message() -> list[dict]:
    """A chat message whose JSON is about 0.7 MB (the image data is never decoded: the body is refused first)."""
    url = "data:image/png;base64," + "A" * 700_000
    return [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]


@pytest.fixture
def small(make_server):
    return make_server(max_body_mb=LIMIT_MB)


def test_settings_default_flag_and_variable() -> None:
    assert Settings().max_body_mb == 64
    assert settings_of(["--max-body-mb", "2.5"], {"LOCAL_MAX_BODY_MB": "8"}).max_body_mb == 2.5
    assert settings_of([], {"LOCAL_MAX_BODY_MB": "8"}).max_body_mb == 8
    with pytest.raises(SettingsError, match="LOCAL_MAX_BODY_MB=0 must be a number of MB above 0"):
        Settings(max_body_mb=0)


def test_openai_sdk_gets_a_413_it_does_not_retry(small) -> None:
    client = openai.OpenAI(base_url=f"{small.url}/v1", api_key="k", max_retries=2)
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=big_image_message())
    body_size = len(caught.value.request.content)
    assert caught.value.status_code == 413
    assert caught.value.body == {
        "message": too_large(f"{body_size} bytes were sent"),
        "type": "invalid_request_error",
        "param": None,
        "code": "request_too_large",
    }
    assert small.requests == 0  # refused before any route ran, and not retried
    assert client.chat.completions.create(model="m", messages=HI).choices[0].message.content == HELP


def test_azure_shape_and_the_connection_is_kept(small) -> None:
    body = json.dumps({"messages": big_image_message()}).encode()
    with httpx.Client(base_url=small.url, timeout=30) as client:
        response = client.post(
            f"/openai/deployments/d/chat/completions?api-version={API_VERSION}",
            content=body,
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 413
        assert response.json() == {
            "error": {
                "code": "request_too_large",
                "message": too_large(f"{len(body)} bytes were sent"),
                "type": "invalid_request_error",
            }
        }
        after = client.post(
            f"/openai/deployments/d/chat/completions?api-version={API_VERSION}", json={"messages": HI}
        )  # same keep-alive connection
        assert after.status_code == 200


def chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_chunked_body_is_counted_as_it_is_read(small) -> None:
    big = json.dumps({"model": "m", "messages": big_image_message()}).encode()
    response = httpx.post(
        f"{small.url}/v1/chat/completions",
        content=chunks(big),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert "content-length" not in response.request.headers  # sent chunked
    assert response.status_code == 413
    assert response.json()["error"] == {
        "message": too_large("more than that was sent"),
        "type": "invalid_request_error",
        "param": None,
        "code": "request_too_large",
    }
    fine = json.dumps({"model": "m", "messages": HI}).encode()
    response = httpx.post(
        f"{small.url}/v1/chat/completions",
        content=chunks(fine, 7),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == HELP


def test_chunked_upload_to_whisper_is_a_413_not_a_broken_form(small) -> None:
    boundary = "limit-test"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
            "Content-Type: audio/wav\r\n\r\n"
        ).encode()
        + b"\0" * 700_000
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = httpx.post(
        f"{small.url}/v1/audio/transcriptions",
        content=chunks(body),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        timeout=30,
    )
    assert response.status_code == 413
    assert response.json()["error"]["message"] == too_large("more than that was sent")


def read_response(conn: socket.socket) -> bytes:
    """One whole HTTP response with a Content-Length body."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head = data.split(b"\r\n\r\n", 1)[0].decode().lower()
    length = int(head.split("content-length:", 1)[1].split("\r\n", 1)[0])
    while len(data) < len(head) + 4 + length:
        data += conn.recv(65536)
    return data


def test_a_huge_content_length_is_answered_without_waiting_for_the_body(small) -> None:
    url = urlsplit(small.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as conn:
        started = time.monotonic()
        conn.sendall(
            b"POST /models/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10737418240\r\n\r\n{"
        )  # 10 GB announced, one byte sent
        answer = read_response(conn)
        assert time.monotonic() - started < 5
    head, body = answer.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 413 ")
    assert json.loads(body) == {
        "error": {
            "code": "request_too_large",
            "message": too_large("10737418240 bytes were sent"),
            "type": "invalid_request_error",
        }
    }
