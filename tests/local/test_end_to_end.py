"""End to end: a spoken clip translated to Spanish, a rendered page asked about."""

from __future__ import annotations

import openai
import pytest
from azure.ai.inference import ChatCompletionsClient
from azure.ai.inference.models import (
    AudioContentItem,
    ImageContentItem,
    ImageDetailLevel,
    ImageUrl,
    InputAudio,
    TextContentItem,
    UserMessage,
)

from helpers.local.model import LITERAL_NOTE
from helpers.tokens import image_tokens

from .conftest import SENTENCE, b64, data_url


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_clip_translated_to_spanish(
    oai: openai.OpenAI, hello_wav_bytes: bytes, hello_mp3: bytes, fmt: str
) -> None:
    clip = hello_wav_bytes if fmt == "wav" else hello_mp3
    reply = oai.chat.completions.create(
        model="gpt-4o-audio-preview",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Translate this to Spanish."},
                    {"type": "input_audio", "input_audio": {"data": b64(clip), "format": fmt}},
                ],
            }
        ],
    )
    text = reply.choices[0].message.content
    assert "Hola" in text
    assert (
        text
        == f"Translation (English → Spanish): Hola, cómo eres?\nTranscript: Hello, how are you?\n{LITERAL_NOTE}"
    )


def test_wav_audio_tokens_follow_the_clip_length(oai: openai.OpenAI, hello_wav_bytes: bytes) -> None:
    reply = oai.chat.completions.create(
        model="m",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "input_audio", "input_audio": {"data": b64(hello_wav_bytes), "format": "wav"}}
                ],
            }
        ],
    )
    # 1.36 s at the estimate of 10 tokens a second, rounded up; the message's 3, its role's 1, the reply's 3
    assert reply.usage.prompt_tokens_details.audio_tokens == 14
    assert reply.usage.prompt_tokens == 3 + 1 + 14 + 3


def test_mp3_clip_through_azure_ai_inference(
    inference: ChatCompletionsClient, hello_mp3: bytes, tmp_path
) -> None:
    path = tmp_path / "hello.mp3"
    path.write_bytes(hello_mp3)
    reply = inference.complete(
        messages=[
            UserMessage(
                [
                    TextContentItem(text="What is said in Spanish?"),
                    AudioContentItem(input_audio=InputAudio.load(audio_file=str(path), audio_format="mp3")),
                ]
            )
        ]
    )
    assert "Hola" in reply.choices[0].message.content


def test_page_question_yields_the_sentence(oai: openai.OpenAI, page_png: bytes) -> None:
    reply = oai.chat.completions.create(
        model="gpt-4o",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "When does the harbour ferry leave?"},
                    {
                        "type": "image_url",
                        "image_url": {"url": data_url(page_png, "image/png"), "detail": "high"},
                    },
                ],
            }
        ],
    )
    text = reply.choices[0].message.content
    assert text.splitlines() == [SENTENCE, "(The passage of the text that matches the question best.)"]
    # 3 + 1 + 7 question tokens + the gpt-4o high-detail cost of 1240x1755 + 3
    assert reply.usage.prompt_tokens == 3 + 1 + 7 + image_tokens(1240, 1755, "high", "gpt-4o") + 3


def test_page_read_in_reading_order(inference: ChatCompletionsClient, page_png: bytes) -> None:
    reply = inference.complete(
        messages=[
            UserMessage(
                [
                    TextContentItem(text="Read the page."),
                    ImageContentItem(
                        image_url=ImageUrl(url=data_url(page_png, "image/png"), detail=ImageDetailLevel.LOW)
                    ),
                ]
            )
        ]
    )
    assert reply.choices[0].message.content.splitlines() == [
        "Travel notes",
        "Breakfast is served in the garden room.",
        SENTENCE,
        "Bicycles can be rented at the station.",
        "(The text of the image, 4 lines, in reading order.)",
    ]
    assert reply.usage.prompt_tokens == 3 + 1 + 4 + 85 + 3  # low detail: the gpt-4o base cost


def test_page_text_translated(oai: openai.OpenAI, page_png: bytes) -> None:
    reply = oai.responses.create(
        model="m",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Translate the page into Spanish"},
                    {"type": "input_image", "image_url": data_url(page_png, "image/png")},
                ],
            }
        ],
    )
    assert reply.output_text.splitlines() == [
        "Translation (English → Spanish) of its text:",
        "Notas de viaje",
        "El almuerzo está servido en la sala de jardín.",
        "Las hojas de transbordador del puerto en siete cada mañana.",
        "Las bicicletas pueden ser alquiladas en la canal.",  # Apertium's choice
        "Text:",
        "Travel notes",
        "Breakfast is served in the garden room.",
        SENTENCE,
        "Bicycles can be rented at the station.",
        LITERAL_NOTE,
    ]


def test_clip_through_the_responses_api(oai: openai.OpenAI, hello_mp3: bytes) -> None:
    reply = oai.responses.create(
        model="m",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Please translate into Spanish"},
                    {"type": "input_audio", "input_audio": {"data": b64(hello_mp3), "format": "mp3"}},
                ],
            }
        ],
    )
    assert (
        reply.output_text
        == f"Translation (English → Spanish): Hola, cómo eres?\nTranscript: Hello, how are you?\n{LITERAL_NOTE}"
    )
