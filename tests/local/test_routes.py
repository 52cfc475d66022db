"""Every route, driven by the real SDKs, sync and async."""

from __future__ import annotations

import asyncio
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import openai
import pytest
from azure.ai.inference import ChatCompletionsClient
from azure.ai.inference.aio import ChatCompletionsClient as AsyncChatCompletionsClient
from azure.ai.inference.models import ImageContentItem, ImageUrl, TextContentItem, UserMessage
from azure.core.credentials import AzureKeyCredential

from helpers.local.model import HELP, LITERAL_NOTE

from .conftest import API_VERSION, b64, data_url, image_bytes, without_ids

HI = [{"role": "user", "content": "Hello there"}]
# 3 per message + "user" (1) + "Hello there" (2) + 3 priming
HI_PROMPT_TOKENS = 9


def test_openai_chat_completion(oai: openai.OpenAI) -> None:
    reply = oai.chat.completions.create(model="local-multimodal", messages=HI)
    assert reply.model == "local-multimodal"
    assert reply.object == "chat.completion"
    assert abs(reply.created - time.time()) < 60  # when it was made, like the services
    assert reply.id.startswith("chatcmpl-") and len(reply.id) == len("chatcmpl-") + 29
    again = oai.chat.completions.with_raw_response.create(model="local-multimodal", messages=HI)
    assert again.parse().id != reply.id  # ids are unique per response
    assert again.request_id is not None and again.request_id.startswith("req_")
    assert reply.choices[0].message.content == HELP
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.prompt_tokens == HI_PROMPT_TOKENS
    assert reply.usage.completion_tokens == 120
    assert reply.usage.total_tokens == HI_PROMPT_TOKENS + 120
    assert reply.usage.prompt_tokens_details.text_tokens == HI_PROMPT_TOKENS
    assert reply.to_dict().get("prompt_filter_results") is None


def test_any_model_name_is_accepted_and_the_answer_names_the_local_model(oai: openai.OpenAI) -> None:
    reply = oai.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert reply.model == "local-multimodal"


def test_same_request_same_bytes(raw: httpx.Client) -> None:
    body = {"model": "local-multimodal", "messages": HI}
    first = raw.post("/v1/chat/completions", json=body)
    second = raw.post("/v1/chat/completions", json=body)
    assert first.status_code == 200
    assert without_ids(first.content) == without_ids(second.content)
    assert first.json()["id"] != second.json()["id"]
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_openai_models(oai: openai.OpenAI) -> None:
    models = oai.models.list()
    assert [m.id for m in models.data] == ["local-multimodal"]
    assert models.data[0].owned_by == "local"
    assert oai.models.retrieve("local-multimodal").id == "local-multimodal"


def test_openai_responses(oai: openai.OpenAI) -> None:
    reply = oai.responses.create(model="local-multimodal", input="Hello there", instructions="Be brief.")
    assert reply.status == "completed"
    assert reply.output_text == HELP
    assert reply.model == "local-multimodal"
    assert reply.instructions == "Be brief."
    assert reply.id.startswith("resp_")
    # system "Be brief." (3 + 1 + 3) + user "Hello there" (3 + 1 + 2) + 3 priming
    assert reply.usage.input_tokens == 16
    assert reply.usage.output_tokens == 120
    assert reply.usage.total_tokens == 136


def test_openai_responses_with_an_image(oai: openai.OpenAI) -> None:
    png = image_bytes("PNG", (64, 48), "blue")
    reply = oai.responses.create(
        model="gpt-4o",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What colour is it?"},
                    {"type": "input_image", "image_url": data_url(png, "image/png"), "detail": "low"},
                ],
            }
        ],
    )
    assert reply.output_text == "A PNG image of 64x48 pixels, mostly blue (100%).\nNo text was found in it."
    # 3 + 1 + 5 text tokens + 85 (low detail on gpt-4o) + 3
    assert reply.usage.input_tokens == 97


def test_responses_max_output_tokens_is_incomplete(oai: openai.OpenAI) -> None:
    reply = oai.responses.create(model="local-multimodal", input="Hello there", max_output_tokens=16)
    assert reply.status == "incomplete"
    assert reply.incomplete_details.reason == "max_output_tokens"
    assert reply.usage.output_tokens == 16
    assert reply.output_text == "I am local-multimodal, the offline model of this workbook's local host."


def test_chat_max_tokens_cuts_with_finish_reason_length(oai: openai.OpenAI) -> None:
    reply = oai.chat.completions.create(model="m", messages=HI, max_tokens=5, n=2)
    assert [c.message.content for c in reply.choices] == ["I am local-multimodal", "I am local-multimodal"]
    assert [c.finish_reason for c in reply.choices] == ["length", "length"]
    assert reply.usage.completion_tokens == 10


@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")  # the SDK marks audio.translations so
def test_openai_transcription_and_translation(oai: openai.OpenAI, hello_wav_bytes: bytes) -> None:
    text = oai.audio.transcriptions.create(model="whisper-1", file=("hello.wav", hello_wav_bytes))
    assert text.text == "Hello, how are you?"
    plain = oai.audio.transcriptions.create(
        model="whisper-1", file=("hello.wav", hello_wav_bytes), response_format="text"
    )
    assert plain == "Hello, how are you?\n"
    english = oai.audio.translations.create(model="whisper-1", file=("hello.wav", hello_wav_bytes))
    assert english.text == "Hello, how are you?"


def test_transcription_formats(raw: httpx.Client, hello_wav_bytes: bytes) -> None:
    files = {"file": ("hello.wav", hello_wav_bytes, "audio/wav")}
    srt = raw.post("/v1/audio/transcriptions", data={"model": "w", "response_format": "srt"}, files=files)
    assert srt.status_code == 200
    assert srt.text.startswith("1\n00:00:00,000 --> 00:00:0")
    assert srt.text.endswith(" Hello, how are you?\n\n".lstrip())
    vtt = raw.post("/v1/audio/transcriptions", data={"model": "w", "response_format": "vtt"}, files=files)
    assert vtt.text.startswith("WEBVTT\n\n00:00:00.000 --> ")
    verbose = raw.post(
        "/v1/audio/transcriptions", data={"model": "w", "response_format": "verbose_json"}, files=files
    ).json()
    assert verbose["task"] == "transcribe"
    assert verbose["language"] == "english"
    assert verbose["duration"] == 1.36
    assert verbose["text"] == "Hello, how are you?"
    assert verbose["usage"] == {"type": "duration", "seconds": 2}


def test_azure_classic_chat_echoes_deployment_and_filters(azure: openai.AzureOpenAI) -> None:
    raw = azure.chat.completions.with_raw_response.create(model="my-gpt-4o", messages=HI)
    assert raw.http_request.url.path == "/openai/deployments/my-gpt-4o/chat/completions"
    assert raw.http_request.url.params["api-version"] == API_VERSION
    assert raw.headers["x-ms-deployment-name"] == "my-gpt-4o"
    reply = raw.parse()
    assert reply.model == "local-multimodal"
    assert reply.choices[0].message.content == HELP
    data = reply.to_dict()
    safe = {"filtered": False, "severity": "safe"}
    assert data["prompt_filter_results"] == [
        {
            "prompt_index": 0,
            "content_filter_results": {
                "hate": safe,
                "self_harm": safe,
                "sexual": safe,
                "violence": safe,
                "jailbreak": {"filtered": False, "detected": False},
            },
        }
    ]
    assert data["choices"][0]["content_filter_results"] == {
        "hate": safe,
        "self_harm": safe,
        "sexual": safe,
        "violence": safe,
    }


@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")
def test_azure_classic_audio(azure: openai.AzureOpenAI, hello_wav_bytes: bytes) -> None:
    raw = azure.audio.transcriptions.with_raw_response.create(
        model="whisper", file=("hello.wav", hello_wav_bytes)
    )
    assert raw.http_request.url.path == "/openai/deployments/whisper/audio/transcriptions"
    assert raw.parse().text == "Hello, how are you?"
    assert (
        azure.audio.translations.create(model="whisper", file=("hello.wav", hello_wav_bytes)).text
        == "Hello, how are you?"
    )


def test_azure_with_deployment_in_the_client(server) -> None:
    client = openai.AzureOpenAI(
        azure_endpoint=server.url, azure_deployment="dep", api_key="k", api_version=API_VERSION, max_retries=0
    )
    raw = client.chat.completions.with_raw_response.create(model="ignored", messages=HI)
    assert raw.http_request.url.path == "/openai/deployments/dep/chat/completions"
    assert raw.headers["x-ms-deployment-name"] == "dep"


@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")
def test_azure_v1_chat_responses_audio_models(server, hello_wav_bytes: bytes) -> None:
    client = openai.OpenAI(base_url=f"{server.url}/openai/v1/", api_key="k", max_retries=0)
    raw = client.audio.transcriptions.with_raw_response.create(
        model="whisper", file=("hello.wav", hello_wav_bytes)
    )
    assert raw.http_request.url.path == "/openai/v1/audio/transcriptions"
    assert raw.headers["x-ms-deployment-name"] == "whisper"
    assert raw.parse().text == "Hello, how are you?"
    assert (
        client.audio.translations.create(model="whisper", file=("hello.wav", hello_wav_bytes)).text
        == "Hello, how are you?"
    )
    reply = client.chat.completions.create(model="my-deployment", messages=HI)
    assert reply.choices[0].message.content == HELP
    assert "prompt_filter_results" in reply.to_dict()
    response = client.responses.create(model="my-deployment", input="Hello there")
    assert response.output_text == HELP
    assert client.models.list().data[0].id == "local-multimodal"


def test_inference_chat_and_model_info(inference: ChatCompletionsClient) -> None:
    reply = inference.complete(messages=[UserMessage("Hello there")])
    assert reply.choices[0].message.content == HELP
    assert reply.model == "local-multimodal"
    assert reply.usage.prompt_tokens == HI_PROMPT_TOKENS
    assert reply.usage.completion_tokens == 120
    info = inference.get_model_info()
    assert info.model_name == "local-multimodal"
    assert info.model_type == "chat_completion"
    assert info.model_provider_name == "Local"


def test_inference_image_as_jpg(inference: ChatCompletionsClient, tmp_path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(image_bytes("JPEG", (100, 50), "green"))
    image = ImageUrl.load(image_file=str(path), image_format="jpg")
    assert image.url.startswith("data:image/jpg;base64,")
    reply = inference.complete(
        messages=[UserMessage([TextContentItem(text="Describe"), ImageContentItem(image_url=image)])]
    )
    assert (
        reply.choices[0].message.content
        == "A JPEG image of 100x50 pixels, mostly green (100%).\nNo text was found in it."
    )
    # 3 + 1 + "Describe" 1 + 255 (gpt-4o formula: one tile at auto) + 3
    assert reply.usage.prompt_tokens == 263


def test_async_openai_clients(server) -> None:
    async def run() -> tuple[str, str]:
        client = openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="k", max_retries=0)
        azure = openai.AsyncAzureOpenAI(azure_endpoint=server.url, api_key="k", api_version=API_VERSION)
        async with client, azure:
            first = await client.chat.completions.create(model="m", messages=HI)
            second = await azure.chat.completions.create(model="d", messages=HI)
        return first.choices[0].message.content, second.choices[0].message.content

    assert asyncio.run(run()) == (HELP, HELP)


def test_async_inference_client(server) -> None:
    # azure-core's async transport is aiohttp; without it the async SDK cannot send anything at all.
    pytest.importorskip("aiohttp", reason="azure-ai-inference's async client needs aiohttp")

    async def run() -> tuple[str, str]:
        inference = AsyncChatCompletionsClient(
            endpoint=f"{server.url}/models", credential=AzureKeyCredential("k"), model="m"
        )
        async with inference:
            reply = await inference.complete(messages=[UserMessage("Hello there")])
            info = await inference.get_model_info()
        return reply.choices[0].message.content, info.model_name

    assert asyncio.run(run()) == (HELP, "local-multimodal")


def test_text_translation(oai: openai.OpenAI) -> None:
    reply = oai.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Translate to Spanish: Good morning, my friend."}]
    )
    assert (
        reply.choices[0].message.content
        == f"Translation (English → Spanish): Buenos días, mi amigo.\nText: Good morning, my friend.\n{LITERAL_NOTE}"
    )


def test_input_audio_in_chat(oai: openai.OpenAI, hello_wav_bytes: bytes) -> None:
    reply = oai.chat.completions.create(
        model="gpt-4o-audio-preview",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Transcribe this."},
                    {"type": "input_audio", "input_audio": {"data": b64(hello_wav_bytes), "format": "wav"}},
                ],
            }
        ],
    )
    assert reply.choices[0].message.content == "Transcript: Hello, how are you?"
    # espeak's clip is 1.357 s: ceil(13.57) = 14 audio tokens (the 10 per second estimate)
    assert reply.usage.prompt_tokens_details.audio_tokens == 14
    # 3 + 1 + "Transcribe this." (3) + 14 + 3
    assert reply.usage.prompt_tokens == 24


def test_several_images_one_part_each(oai: openai.OpenAI) -> None:
    red, white = image_bytes("PNG", (10, 10), "red"), image_bytes("GIF", (20, 10), "white")
    reply = oai.chat.completions.create(
        model="gpt-4o",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Compare these"},
                    {"type": "image_url", "image_url": {"url": data_url(red, "image/png"), "detail": "high"}},
                    {"type": "image_url", "image_url": {"url": data_url(white, "image/gif")}},
                ],
            }
        ],
    )
    assert reply.choices[0].message.content == (
        "Image 1: A PNG image of 10x10 pixels, mostly red (100%).\n"
        "Image 2: A GIF image of 20x10 pixels, mostly white (100%)."
    )
    assert reply.usage.prompt_tokens_details.image_tokens == 255 + 255


def test_follow_up_uses_the_earlier_attachment(oai: openai.OpenAI, hello_wav_bytes: bytes) -> None:
    reply = oai.chat.completions.create(
        model="m",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "input_audio", "input_audio": {"data": b64(hello_wav_bytes), "format": "wav"}}
                ],
            },
            {"role": "assistant", "content": "Transcript: Hello, how are you?"},
            {"role": "user", "content": "Now translate it into Spanish."},
        ],
    )
    assert (
        reply.choices[0].message.content
        == f"Translation (English → Spanish): Hola, cómo eres?\nTranscript: Hello, how are you?\n{LITERAL_NOTE}"
    )


def test_image_url_from_loopback_is_fetched(oai: openai.OpenAI) -> None:
    png = image_bytes("PNG", (30, 20), "yellow")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args: object) -> None:
            pass

    files = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=files.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{files.server_address[1]}/yellow.png"
        reply = oai.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}],
        )
    finally:
        files.shutdown()
    assert (
        reply.choices[0].message.content
        == "A PNG image of 30x20 pixels, mostly yellow (100%).\nNo text was found in it."
    )


def test_health_needs_no_key(keyed) -> None:
    assert httpx.get(f"{keyed.url}/health").json() == {"status": "ok", "model": "local-multimodal"}


def test_image_tokens_use_the_request_model_when_known(oai: openai.OpenAI) -> None:
    url = data_url(image_bytes("PNG", (64, 48)), "image/png")

    def image_cost(model: str) -> int:
        reply = oai.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}],
        )
        return reply.usage.prompt_tokens_details.image_tokens

    assert image_cost("gpt-4.1-mini") == 7  # 2 x 2 patches x 1.62, rounded up
    assert image_cost("gpt-4o-mini-2024-07-18") == 2833 + 5667
    assert image_cost("my-deployment") == 85 + 170  # unknown name: gpt-4o's formula


def test_verbose_json_has_the_decoder_measures_and_word_times(
    raw: httpx.Client, hello_wav_bytes: bytes
) -> None:
    response = raw.post(
        "/v1/audio/transcriptions",
        files={"file": ("hello.wav", hello_wav_bytes, "audio/wav")},
        data={"model": "whisper-1", "response_format": "verbose_json", "timestamp_granularities[]": "word"},
    )
    body = response.json()
    assert (body["duration"], body["text"]) == (1.36, "Hello, how are you?")
    [segment] = body["segments"]
    assert set(segment) == {
        "id", "seek", "start", "end", "text", "tokens", "temperature", "avg_logprob", "compression_ratio",
        "no_speech_prob",
    }  # fmt: skip
    assert segment["end"] <= body["duration"] and segment["avg_logprob"] < 0 and segment["tokens"]
    assert [w["word"] for w in body["words"]] == ["Hello,", "how", "are", "you?"]
    assert all(0 <= w["start"] <= w["end"] <= body["duration"] for w in body["words"])


def test_audio_routes_say_what_is_wrong_with_the_upload(raw: httpx.Client, hello_wav_bytes: bytes) -> None:
    as_json = raw.post("/v1/audio/transcriptions", json={"model": "whisper-1"})
    assert (as_json.status_code, as_json.json()["error"]["message"]) == (
        400,
        "The audio endpoints take a multipart/form-data body, not application/json: send the clip as a "
        "'file' part with a 'model' field (the SDKs' audio.transcriptions.create does).",
    )
    header_only = raw.post(
        "/v1/audio/transcriptions",
        files={"file": ("empty.wav", hello_wav_bytes[:44], "audio/wav")},
        data={"model": "whisper-1"},
    )
    assert (header_only.status_code, header_only.json()["error"]["message"]) == (
        400,
        "'empty.wav' (audio/wav) is truncated or damaged: its header promises 1.36 s of audio but none is "
        "there. Re-export or re-download the recording.",
    )
    words_as_text = raw.post(
        "/v1/audio/transcriptions",
        files={"file": ("hello.wav", hello_wav_bytes, "audio/wav")},
        data={"model": "whisper-1", "timestamp_granularities[]": "word"},
    )
    assert words_as_text.json()["error"]["message"] == (
        "Invalid value for 'timestamp_granularities': timestamps come only with response_format "
        "'verbose_json'; ask for that format."
    )


def test_single_model_inference_endpoints_need_no_model(server) -> None:
    root = ChatCompletionsClient(endpoint=server.url, credential=AzureKeyCredential("k"))
    assert root.get_model_info().model_name == "local-multimodal"
    reply = root.complete(messages=[UserMessage("Hello there")])
    assert reply.choices[0].message.content == HELP
    api = ChatCompletionsClient(endpoint=f"{server.url}/api/models", credential=AzureKeyCredential("k"))
    assert api.complete(messages=[UserMessage("Hello there")], model="m").choices[0].message.content == HELP
    assert api.get_model_info().model_type == "chat_completion"
    raw = httpx.post(
        f"{server.url}/chat/completions",
        json={"messages": HI},
        headers={"azureml-model-deployment": "my-deployment"},
    )
    assert raw.headers["x-ms-deployment-name"] == "my-deployment"
    missing = httpx.post(f"{server.url}/models/chat/completions", json={"messages": HI})
    assert missing.json()["error"]["code"] == "no_model_name"


def test_tools_auto_or_none_answer_in_text_and_forced_calls_are_refused(oai: openai.OpenAI) -> None:
    tools = [{"type": "function", "function": {"name": "get_total", "parameters": {"type": "object"}}}]
    for choice in ("auto", "none"):
        reply = oai.chat.completions.create(model="m", messages=HI, tools=tools, tool_choice=choice)
        assert (reply.choices[0].message.content, reply.choices[0].message.tool_calls) == (HELP, None)
    for choice in ("required", {"type": "function", "function": {"name": "get_total"}}):
        with pytest.raises(openai.BadRequestError) as caught:
            oai.chat.completions.create(model="m", messages=HI, tools=tools, tool_choice=choice)
        assert caught.value.body["code"] == "unsupported_parameter"
        assert caught.value.body["param"] == "tool_choice"
        assert caught.value.body["message"].startswith(
            "Unsupported parameter: 'tool_choice'. The local model cannot call tools"
        )
    with pytest.raises(openai.BadRequestError, match="Unsupported parameter: 'logprobs'"):
        oai.chat.completions.create(model="m", messages=HI, logprobs=True)


def test_responses_repeat_the_request_options(oai: openai.OpenAI) -> None:
    options = {"temperature": 0.2, "top_p": 0.5, "metadata": {"lesson": "1"}, "store": False, "user": "u1"}
    reply = oai.responses.create(model="m", input="Hello there", instructions="Be brief.", **options)
    assert (reply.temperature, reply.top_p, reply.metadata, reply.store, reply.user) == (
        0.2, 0.5, {"lesson": "1"}, False, "u1",
    )  # fmt: skip
    assert reply.instructions == "Be brief."
    events = list(oai.responses.create(model="m", input="Hello there", stream=True, **options))
    assert events[0].response.temperature == 0.2 and events[-1].response.metadata == {"lesson": "1"}
    default = oai.responses.create(model="m", input="Hello there")
    assert (default.temperature, default.top_p, default.metadata, default.text.format.type) == (
        1.0,
        1.0,
        {},
        "text",
    )
