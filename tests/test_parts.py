"""The three wire shapes, as exact dicts."""

import base64

import pytest

from helpers import (
    Attachment,
    UnsupportedFormatError,
    chat_content,
    chat_message,
    inference_content,
    inference_message,
    responses_content,
    responses_message,
)

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PNG_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()
WAV = b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x22\x56\x00\x00D\xac\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00"
WAV_B64 = base64.b64encode(WAV).decode()


def test_chat_content():
    assert chat_content("What is this?", PNG, WAV, detail="low") == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": PNG_URL, "detail": "low"}},
        {"type": "input_audio", "input_audio": {"data": WAV_B64, "format": "wav"}},
    ]
    assert chat_message("Hi", "https://example.com/a.jpg") == {
        "role": "user",
        "content": [
            {"type": "text", "text": "Hi"},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg", "detail": "auto"}},
        ],
    }


def test_responses_content():
    assert responses_content("Describe", PNG, WAV) == [
        {"type": "input_text", "text": "Describe"},
        {"type": "input_image", "image_url": PNG_URL, "detail": "auto"},
        {"type": "input_audio", "input_audio": {"data": WAV_B64, "format": "wav"}},
    ]
    assert responses_message(None, PNG, detail="high") == {
        "role": "user",
        "content": [{"type": "input_image", "image_url": PNG_URL, "detail": "high"}],
    }


def test_inference_items_serialise_to_the_same_parts():
    items = inference_content("Describe", PNG, WAV, detail="high")
    assert [type(i).__name__ for i in items] == ["TextContentItem", "ImageContentItem", "AudioContentItem"]
    assert [i.as_dict() for i in items] == chat_content("Describe", PNG, WAV, detail="high")
    assert inference_message("Hi").as_dict() == {"role": "user", "content": [{"type": "text", "text": "Hi"}]}


def test_unsupported_attachments():
    with pytest.raises(UnsupportedFormatError) as err:
        chat_content("x", Attachment(content=b"%PDF-1.4\n%...", name="r.pdf"))
    assert str(err.value) == (
        "'r.pdf' is application/pdf; chat messages take images (png, jpeg, gif, webp) and audio (wav, mp3): "
        "render its pages with pdf_pages()."
    )
    with pytest.raises(
        UnsupportedFormatError, match=r"'attachment' is application/octet-stream; .*convert it with"
    ):
        responses_content("x", b"????")
    with pytest.raises(UnsupportedFormatError, match="A message needs text or at least one attachment"):
        chat_content("")
    with pytest.raises(ValueError, match="detail='max' is not valid"):
        inference_content("x", detail="max")
