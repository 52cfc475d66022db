"""Every error answer: exact status, code, message and shape; the server keeps serving after each."""

from __future__ import annotations

import io
import ipaddress
import json
import random
from collections.abc import Iterator

import httpx
import openai
import pytest
from azure.ai.inference import ChatCompletionsClient
from azure.ai.inference.models import UserMessage
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from PIL import Image

from helpers.attachments import human_size
from helpers.local.errors import UNSUPPORTED_IMAGE_MESSAGE
from helpers.local.model import HELP
from helpers.local.urls import refusal

from .conftest import API_VERSION, b64, data_url, image_bytes

IMAGE_PARAM = "messages[0].content[0].image_url.url"
UNSUPPORTED_20MB = UNSUPPORTED_IMAGE_MESSAGE.format(mb=20)


def chat_with(part: dict) -> dict:
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": [part]}]}


def image_part(url: str, detail: str | None = None) -> dict:
    spec = {"url": url} if detail is None else {"url": url, "detail": detail}
    return {"type": "image_url", "image_url": spec}


def openai_error(response: httpx.Response) -> tuple[int, dict]:
    return response.status_code, response.json()


@pytest.fixture(autouse=True)
def still_serving(server) -> Iterator[None]:
    """After every error test, the shared server still answers a good request."""
    yield
    reply = httpx.post(
        f"{server.url}/v1/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": "Hello there"}]},
        timeout=60,
    )
    assert reply.status_code == 200
    assert reply.json()["choices"][0]["message"]["content"] == HELP


def test_malformed_json_is_400(raw: httpx.Client) -> None:
    response = raw.post(
        "/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert openai_error(response) == (
        400,
        {
            "error": {
                "message": "We could not parse the JSON body of your request. The local host expects a JSON payload, "
                "but what was sent was not valid JSON (line 1 column 2).",
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        },
    )
    array = raw.post("/v1/chat/completions", content=b"[1, 2]")
    assert array.status_code == 400
    assert array.json()["error"]["message"].endswith("(expected an object at the top level).")


def test_missing_and_mistyped_fields(raw: httpx.Client) -> None:
    missing = raw.post("/v1/chat/completions", json={"model": "m"})
    assert openai_error(missing) == (
        400,
        {
            "error": {
                "message": "Missing required parameter: 'messages'.",
                "type": "invalid_request_error",
                "param": "messages",
                "code": "missing_required_parameter",
            }
        },
    )
    mistyped = raw.post("/v1/chat/completions", json={"model": "m", "messages": "hi"})
    assert mistyped.json()["error"] == {
        "message": "Invalid type for 'messages': expected an array, but got a string instead.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "invalid_type",
    }
    no_model = raw.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "x"}]})
    assert no_model.json()["error"]["message"] == "Missing required parameter: 'model'."
    usage_without_stream = raw.post(
        "/v1/chat/completions",
        json={
            "model": "m",
            "messages": [{"role": "user", "content": "x"}],
            "stream_options": {"include_usage": True},
        },
    )
    assert usage_without_stream.status_code == 400
    assert (
        usage_without_stream.json()["error"]["message"]
        == "Invalid value for 'stream_options': 'stream_options' is only allowed when 'stream' is true."
    )


def test_unsupported_image_format(raw: httpx.Client) -> None:
    bmp = image_bytes("BMP")
    response = raw.post("/v1/chat/completions", json=chat_with(image_part(data_url(bmp, "image/png"))))
    assert openai_error(response) == (
        400,
        {
            "error": {
                "message": f"{UNSUPPORTED_20MB} The image in '{IMAGE_PARAM}': it is image/bmp; convert it to PNG or "
                "JPEG (helpers.prepare_image does).",
                "type": "invalid_request_error",
                "param": IMAGE_PARAM,
                "code": "invalid_image_format",
            }
        },
    )


def test_animated_gif_is_unsupported(raw: httpx.Client) -> None:
    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100)
    response = raw.post(
        "/v1/chat/completions", json=chat_with(image_part(data_url(buffer.getvalue(), "image/gif")))
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_image_format"
    assert response.json()["error"]["message"] == (
        f"{UNSUPPORTED_20MB} The image in '{IMAGE_PARAM}': it is an animated GIF; send one frame "
        "(helpers.prepare_image sends the first)."
    )


def test_every_accepted_format(raw: httpx.Client) -> None:
    for fmt, mime in (
        ("PNG", "image/png"),
        ("JPEG", "image/jpeg"),
        ("GIF", "image/gif"),
        ("WEBP", "image/webp"),
        ("JPEG", "image/jpg"),
    ):
        response = raw.post(
            "/v1/chat/completions", json=chat_with(image_part(data_url(image_bytes(fmt), mime)))
        )
        assert response.status_code == 200, (fmt, mime, response.text)


def test_image_over_the_byte_limit(make_server) -> None:
    running = make_server(max_image_mb=0.01)  # about 10 kB
    noise = Image.frombytes("RGB", (100, 100), random.Random(0).randbytes(30000))
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")
    assert len(buffer.getvalue()) > 0.01 * 1024 * 1024
    response = httpx.post(
        f"{running.url}/v1/chat/completions",
        json=chat_with(image_part(data_url(buffer.getvalue(), "image/png"))),
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_image_format"
    assert response.json()["error"]["message"] == (
        f"{UNSUPPORTED_IMAGE_MESSAGE.format(mb=0.01)} The image in '{IMAGE_PARAM}': it is "
        f"{human_size(len(buffer.getvalue()))}; shrink it (helpers.prepare_image does)."
    )


def test_too_many_images(make_server) -> None:
    running = make_server(max_images=2)
    part = image_part(data_url(image_bytes("PNG"), "image/png"))
    body = {"model": "m", "messages": [{"role": "user", "content": [part, part, part]}]}
    response = httpx.post(f"{running.url}/v1/chat/completions", json=body)
    assert openai_error(response) == (
        400,
        {
            "error": {
                "message": "Too many images in request: 3 images were sent and at most 2 are allowed. Send fewer images "
                "per request, or raise LOCAL_MAX_IMAGES.",
                "type": "invalid_request_error",
                "param": None,
                "code": "too_many_images",
            }
        },
    )
    two = {"model": "m", "messages": [{"role": "user", "content": [part, part]}]}
    assert httpx.post(f"{running.url}/v1/chat/completions", json=two).status_code == 200


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("data:image/png;base64,@@@not-base64@@@", "invalid base64-encoded bytes"),
        ("data:image/png,rawbytes", "a data URL that is not base64-encoded"),
        ("data:image/png;base64,", "empty base64-encoded bytes"),
        ("data:text/plain;base64,aGVsbG8=", "unsupported MIME type 'text/plain'"),
        ("file:///etc/passwd", "a value without the 'data:' prefix"),
    ],
)
def test_bad_data_urls(raw: httpx.Client, url: str, reason: str) -> None:
    response = raw.post("/v1/chat/completions", json=chat_with(image_part(url)))
    assert openai_error(response) == (
        400,
        {
            "error": {
                "message": f"Invalid image URL: '{IMAGE_PARAM}'. Expected a base64-encoded data URL with an image MIME "
                f"type (e.g. 'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU='), but got {reason}.",
                "type": "invalid_request_error",
                "param": IMAGE_PARAM,
                "code": "invalid_value",
            }
        },
    )


def test_corrupt_image(raw: httpx.Client) -> None:
    png = image_bytes("PNG", (50, 50))
    broken = png[:40] + bytes(len(png) - 40)
    response = raw.post("/v1/chat/completions", json=chat_with(image_part(data_url(broken, "image/png"))))
    assert response.status_code == 400
    assert response.json()["error"] == {
        "message": f"'{IMAGE_PARAM}' is a truncated or damaged PNG image (its header cannot be read); "
        "re-export or re-download it, or use another file.",
        "type": "invalid_request_error",
        "param": IMAGE_PARAM,
        "code": "invalid_image",
    }


def test_bad_detail(raw: httpx.Client) -> None:
    response = raw.post(
        "/v1/chat/completions",
        json=chat_with(image_part(data_url(image_bytes("PNG"), "image/png"), detail="ultra")),
    )
    assert openai_error(response) == (
        400,
        {
            "error": {
                "message": "Invalid value for 'messages[0].content[0].image_url.detail': 'ultra'. Supported values "
                "are: 'auto', 'low', and 'high'.",
                "type": "invalid_request_error",
                "param": "messages[0].content[0].image_url.detail",
                "code": "invalid_value",
            }
        },
    )


OFF_LOOPBACK = (
    "The local host fetches image URLs only from loopback (localhost, 127.0.0.1, ::1) and from hosts "
    "that LOCAL_IMAGE_URL_ALLOW lists; 10.0.0.1 is neither. Send the image as a base64 data URL, or add "
    "the host to LOCAL_IMAGE_URL_ALLOW."
)


def test_image_url_off_loopback_says_why_in_each_surface_wording(raw: httpx.Client) -> None:
    body = chat_with(image_part("http://10.0.0.1/cat.png"))
    response = raw.post("/v1/chat/completions", json=body)
    assert openai_error(response) == (
        400,
        {
            "error": {
                "message": f"Error while downloading http://10.0.0.1/cat.png. {OFF_LOOPBACK}",
                "type": "invalid_request_error",
                "param": IMAGE_PARAM,
                "code": "invalid_image_url",
            }
        },
    )
    azure = raw.post("/openai/v1/chat/completions", json=body)
    assert azure.json()["error"] == {
        "code": "BadRequest",
        "message": f"The provided image url is not accessible. {OFF_LOOPBACK}",
        "param": IMAGE_PARAM,
        "type": "invalid_request_error",
    }
    missing = raw.post(
        "/openai/v1/chat/completions", json=chat_with(image_part("http://127.0.0.1:9/none.png"))
    )
    assert missing.json()["error"]["message"] == (
        "The provided image url is not accessible. http://127.0.0.1:9/none.png could not be reached; check "
        "that the server is running."
    )


@pytest.mark.parametrize(
    ("url", "why"),
    [
        (
            "http://a\t@127.0.0.1/",
            "URL 'http://a\\t@127.0.0.1/' holds the character '\\t' at position 8; remove it",
        ),
        ("http://[::1/png", "URL 'http://[::1/png' is malformed (Invalid IPv6 URL); check the host and port"),
        (
            "http://127.0.0.1:99999/a.png",
            "URL 'http://127.0.0.1:99999/a.png' is malformed (Port out of range",
        ),
    ],
)
def test_malformed_image_urls_are_400(raw: httpx.Client, url: str, why: str) -> None:
    response = raw.post("/v1/chat/completions", json=chat_with(image_part(url)))
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(f"Invalid URL in '{IMAGE_PARAM}': {why}")


def test_url_allow_list_decides_on_names_and_resolved_addresses() -> None:
    ip = ipaddress.ip_address
    assert refusal("127.0.0.1", [ip("127.0.0.1")], ()) is None
    assert refusal("localhost", [ip("127.0.0.1"), ip("::1")], ()) is None
    assert refusal("myname.test", [ip("127.0.1.1")], ()) is None  # a name that points at this machine
    assert refusal("10.0.0.1", [ip("10.0.0.1")], ()) == OFF_LOOPBACK
    assert refusal("10.0.0.1", [ip("10.0.0.1")], ("10.0.0.0/8",)) is None
    assert refusal("169.254.169.254", [ip("169.254.169.254")], ("*.wikimedia.org",)) is not None
    assert refusal("upload.wikimedia.org", [ip("198.35.26.112")], ("*.wikimedia.org",)) is None
    assert refusal("wikimedia.org.evil.com", [ip("198.35.26.112")], ("*.wikimedia.org",)) is not None
    assert refusal("cdn.wikimedia.org", [ip("10.1.2.3")], ("*.wikimedia.org",)) == (
        "cdn.wikimedia.org is allowed by LOCAL_IMAGE_URL_ALLOW but resolves to the internal address 10.1.2.3; "
        "add that network to LOCAL_IMAGE_URL_ALLOW (for example 10.0.0.0/8) if it is meant."
    )
    assert refusal("nowhere.invalid", [], ()) == "The host nowhere.invalid does not resolve to an address."


def test_audio_format_and_data(raw: httpx.Client, hello_wav_bytes: bytes) -> None:
    where = "messages[0].content[0].input_audio"
    bad_format = raw.post(
        "/v1/chat/completions",
        json=chat_with(
            {"type": "input_audio", "input_audio": {"data": b64(hello_wav_bytes), "format": "ogg"}}
        ),
    )
    assert openai_error(bad_format) == (
        400,
        {
            "error": {
                "message": f"Invalid value for '{where}.format': 'ogg'. Supported values are: 'wav' and 'mp3'.",
                "type": "invalid_request_error",
                "param": f"{where}.format",
                "code": "invalid_value",
            }
        },
    )
    mismatch = raw.post(
        "/v1/chat/completions",
        json=chat_with(
            {"type": "input_audio", "input_audio": {"data": b64(hello_wav_bytes), "format": "mp3"}}
        ),
    )
    assert openai_error(mismatch) == (
        400,
        {
            "error": {
                "message": f"The audio in '{where}.data' is not valid mp3 data. Send base64 of a whole .mp3 file, with "
                "format set to what the bytes are ('wav' or 'mp3').",
                "type": "invalid_request_error",
                "param": f"{where}.data",
                "code": "invalid_value",
            }
        },
    )
    not_base64 = raw.post(
        "/v1/chat/completions",
        json=chat_with({"type": "input_audio", "input_audio": {"data": "%%%", "format": "wav"}}),
    )
    assert not_base64.json()["error"]["message"].startswith(
        f"The audio in '{where}.data' is not valid wav data."
    )


def test_unknown_part_type(raw: httpx.Client) -> None:
    response = raw.post("/v1/chat/completions", json=chat_with({"type": "video", "video": {}}))
    assert response.json()["error"] == {
        "message": "Invalid value for 'messages[0].content[0].type': 'video'. Supported values are: 'text', "
        "'image_url', 'input_audio', 'audio_url', and 'file'.",
        "type": "invalid_request_error",
        "param": "messages[0].content[0].type",
        "code": "invalid_value",
    }


def test_whisper_endpoint_rejects_non_audio(raw: httpx.Client) -> None:
    response = raw.post(
        "/v1/audio/transcriptions",
        data={"model": "w"},
        files={"file": ("notes.txt", b"just text", "text/plain")},
    )
    assert openai_error(response) == (
        400,
        {
            "error": {
                "message": "Invalid file format of 'notes.txt' (its bytes are not a known audio format). "
                "Supported formats: ['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', 'oga', "
                "'ogg', 'wav', 'webm']",
                "type": "invalid_request_error",
                "param": "file",
                "code": "invalid_value",
            }
        },
    )
    no_file = raw.post("/v1/audio/transcriptions", data={"model": "w"}, files={"other": ("x", b"1")})
    assert no_file.json()["error"]["message"] == "Missing required parameter: 'file'."


def test_azure_api_version(raw: httpx.Client) -> None:
    body = {"messages": [{"role": "user", "content": "x"}]}
    missing = raw.post("/openai/deployments/dep/chat/completions", json=body)
    assert (missing.status_code, missing.json()) == (
        404,
        {"error": {"code": "404", "message": "Resource not found"}},
    )
    malformed = raw.post("/openai/deployments/dep/chat/completions?api-version=latest", json=body)
    assert (malformed.status_code, malformed.json()) == (
        400,
        {
            "error": {
                "code": "BadRequest",
                "message": "API version not supported: 'latest'. Use a version like 2024-10-21 or 2025-01-01-preview.",
            }
        },
    )


def test_unknown_deployment_per_surface(make_server) -> None:
    running = make_server(deployments=("gpt-4o", "whisper"))
    body = {"messages": [{"role": "user", "content": "x"}]}
    azure = httpx.post(
        f"{running.url}/openai/deployments/nope/chat/completions?api-version={API_VERSION}", json=body
    )
    assert (azure.status_code, azure.json()) == (
        404,
        {
            "error": {
                "code": "DeploymentNotFound",
                "message": "The API deployment for this resource does not exist. If you created the deployment within "
                "the last 5 minutes, please wait a moment and try again.",
            }
        },
    )
    v1 = httpx.post(f"{running.url}/openai/v1/chat/completions", json={**body, "model": "nope"})
    assert v1.json()["error"]["code"] == "DeploymentNotFound"
    plain = openai.OpenAI(base_url=f"{running.url}/v1", api_key="k", max_retries=0)
    with pytest.raises(openai.NotFoundError) as caught:
        plain.chat.completions.create(model="nope", messages=body["messages"])
    assert caught.value.code == "model_not_found"
    assert caught.value.body["message"] == "The model `nope` does not exist or you do not have access to it."
    assert (
        plain.chat.completions.create(model="gpt-4o", messages=body["messages"]).model == "local-multimodal"
    )
    assert [m.id for m in plain.models.list().data] == ["local-multimodal", "gpt-4o", "whisper"]
    inference = ChatCompletionsClient(
        endpoint=f"{running.url}/models", credential=AzureKeyCredential("k"), retry_total=0
    )
    with pytest.raises(ResourceNotFoundError) as not_found:
        inference.complete(messages=[UserMessage("x")], model="nope")
    assert not_found.value.error.code == "unknown_model"
    assert not_found.value.error.message == "Unknown model: nope"
    raw_inference = httpx.post(f"{running.url}/models/chat/completions", json={**body, "model": "nope"})
    assert raw_inference.json() == {
        "error": {"code": "unknown_model", "message": "Unknown model: nope", "details": "Unknown model: nope"}
    }


def test_no_model_name_on_models_route(server) -> None:
    client = ChatCompletionsClient(
        endpoint=f"{server.url}/models", credential=AzureKeyCredential("k"), retry_total=0
    )
    with pytest.raises(HttpResponseError) as caught:
        client.complete(messages=[UserMessage("Hello")])
    assert caught.value.status_code == 400
    assert caught.value.error.code == "no_model_name"
    assert caught.value.error.message == (
        "No model specified in request. Please provide a model name in the "
        "request body or as a x-ms-model-mesh-model-name header."
    )
    by_header = httpx.post(
        f"{server.url}/models/chat/completions",
        json={"messages": [{"role": "user", "content": "Hello there"}]},
        headers={"x-ms-model-mesh-model-name": "m"},
    )
    assert by_header.status_code == 200


def test_unknown_routes(raw: httpx.Client) -> None:
    openai_404 = raw.post("/v1/nothing", json={})
    assert (openai_404.status_code, openai_404.json()) == (
        404,
        {
            "error": {
                "message": "Invalid URL (POST /v1/nothing)",
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        },
    )
    azure_404 = raw.post("/openai/deployments/d/embeddings?api-version=2024-10-21", json={})
    assert (azure_404.status_code, azure_404.json()) == (
        404,
        {"error": {"code": "404", "message": "Resource not found"}},
    )
    wrong_method = raw.get("/v1/chat/completions")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["message"] == "Invalid URL (GET /v1/chat/completions)"


def test_a_bug_is_a_plain_500_without_traceback(raw: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(request: object) -> object:
        raise KeyError("secret internal detail")

    monkeypatch.setattr("helpers.local.app.answer_chat", broken)
    response = raw.post(
        "/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "x"}]}
    )
    assert openai_error(response) == (
        500,
        {
            "error": {
                "message": "The local host failed to answer this request; the server log has the details. The server keeps "
                "running: retry, or report the request that caused it.",
                "type": "server_error",
                "param": None,
                "code": "InternalServerError",
            }
        },
    )
    assert "secret" not in response.text and "Traceback" not in response.text


def _mutations(seed: int, count: int) -> list[object]:
    """Bodies made by replacing one node of valid requests with a value of another JSON type."""
    rng = random.Random(seed)
    png = data_url(image_bytes("PNG", (8, 8)), "image/png")
    valid: list[object] = [
        {
            "model": "m",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "hi"},
                        {"type": "image_url", "image_url": {"url": png, "detail": "low"}},
                        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
                    ],
                }
            ],
            "stream": False,
            "max_tokens": 5,
            "n": 1,
            "stream_options": None,
        },
        {
            "model": "m",
            "input": [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "hi"},
                        {"type": "input_image", "image_url": png, "detail": "auto"},
                    ],
                }
            ],
            "instructions": "x",
            "max_output_tokens": 3,
        },
    ]
    odd = [None, True, 0, -1, 1.5, "", "x", [], [None], {}, {"a": 1}, "data:image/png;base64,", "\u0000"]

    def paths(node: object, prefix: tuple) -> list[tuple]:
        found = [prefix]
        if isinstance(node, dict):
            for key, value in node.items():
                found += paths(value, (*prefix, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                found += paths(value, (*prefix, index))
        return found

    bodies = []
    for _ in range(count):
        body = json.loads(json.dumps(rng.choice(valid)))
        path = rng.choice(paths(body, ()))
        replacement = rng.choice(odd)
        if not path:
            bodies.append(replacement)
            continue
        target = body
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = replacement
        bodies.append(body)
    return bodies


def test_no_mutated_body_gets_a_500(raw: httpx.Client) -> None:
    statuses = set()
    for number, body in enumerate(_mutations(seed=3, count=300)):
        path = "/v1/responses" if isinstance(body, dict) and "input" in body else "/v1/chat/completions"
        response = raw.post(
            path, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
        )
        assert response.status_code < 500, (number, body, response.text)
        if response.status_code >= 400:
            error = response.json()["error"]
            assert set(error) == {"message", "type", "param", "code"}
            assert "Traceback" not in error["message"]
        statuses.add(response.status_code)
    assert 400 in statuses and 200 in statuses


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("data:audio/wav,RIFF", "a data URL that is not base64-encoded"),
        ("data:audio/wav;base64,", "empty base64-encoded bytes"),
        ("data:text/plain;base64,aGVsbG8=", "unsupported MIME type 'text/plain'"),
    ],
)
def test_audio_url_data_urls_are_refused_in_the_audio_wording(url: str, reason: str) -> None:
    from helpers.local.errors import AUDIO_URL, ApiError
    from helpers.local.media import data_url_bytes

    with pytest.raises(ApiError) as caught:
        data_url_bytes(url, "messages[0].content[1].audio_url.url", AUDIO_URL)
    assert (caught.value.status, caught.value.param) == (400, "messages[0].content[1].audio_url.url")
    assert caught.value.message == (
        "Invalid audio URL: 'messages[0].content[1].audio_url.url'. Expected an http(s) URL or a "
        "base64-encoded data URL with an audio MIME type (e.g. 'data:audio/wav;base64,UklGRiQAAABXQVZF'), "
        f"but got {reason}."
    )
