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


AUDIO_URL = "https://example.com/clips/hello.wav?sig=abc"
PDF = b"%PDF-1.4\n%...\n"
PDF_URL = "data:application/pdf;base64," + base64.b64encode(PDF).decode()


def test_audio_by_url_is_audio_url_in_chat_completions():
    """An http(s) URL whose path ends in an audio extension is audio, not an image; nothing is fetched."""
    assert chat_content(
        "Transcribe", AUDIO_URL, "https://example.com/a.jpg", "https://example.com/a.MP3"
    ) == [
        {"type": "text", "text": "Transcribe"},
        {"type": "audio_url", "audio_url": {"url": AUDIO_URL}},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg", "detail": "auto"}},
        {"type": "audio_url", "audio_url": {"url": "https://example.com/a.MP3"}},
    ]
    # A data URL is bytes: sniffed, and sent as input_audio like any clip.
    assert chat_content(None, "data:audio/wav;base64," + WAV_B64) == [
        {"type": "input_audio", "input_audio": {"data": WAV_B64, "format": "wav"}}
    ]


def test_audio_by_url_in_inference_is_the_same_dict_and_refused_by_responses():
    items = inference_content("Transcribe", AUDIO_URL)
    assert [type(i).__name__ for i in items] == ["TextContentItem", "ContentItem"]
    assert [i.as_dict() for i in items] == [
        {"type": "text", "text": "Transcribe"},
        {"type": "audio_url", "audio_url": {"url": AUDIO_URL}},
    ]
    assert inference_message(None, AUDIO_URL).as_dict() == {
        "role": "user",
        "content": [{"type": "audio_url", "audio_url": {"url": AUDIO_URL}}],
    }
    with pytest.raises(UnsupportedFormatError) as err:
        responses_content("Transcribe", AUDIO_URL)
    assert str(err.value) == (
        f"{AUDIO_URL!r} is audio by URL, and the Responses API has no audio URL part. Send the clip's bytes: "
        "prepare_audio(url) downloads it (and converts it to wav or mp3) for an input_audio part; "
        "chat_content() sends it as audio_url."
    )


def test_pdf_is_a_file_part():
    att = Attachment(content=PDF, name="r.pdf")
    assert chat_message("Summarise", att) == {
        "role": "user",
        "content": [
            {"type": "text", "text": "Summarise"},
            {"type": "file", "file": {"filename": "r.pdf", "file_data": PDF_URL}},
        ],
    }
    assert responses_message("Summarise", att) == {
        "role": "user",
        "content": [
            {"type": "input_text", "text": "Summarise"},
            {"type": "input_file", "filename": "r.pdf", "file_data": PDF_URL},
        ],
    }
    assert chat_content(None, PDF) == [
        {"type": "file", "file": {"filename": "attachment", "file_data": PDF_URL}}
    ]
    with pytest.raises(UnsupportedFormatError) as err:
        inference_content("Summarise", att)
    assert str(err.value) == (
        "'r.pdf' is a PDF, and azure-ai-inference has no file content item. Render its pages with "
        "pdf_pages() and attach them as images (or send the PDF as a file part with chat_content() to an "
        "OpenAI-compatible endpoint)."
    )


def test_pdf_by_url_is_input_file_in_responses_only():
    url = "https://example.com/docs/report.pdf"
    assert responses_content(None, url) == [{"type": "input_file", "file_url": url}]
    with pytest.raises(UnsupportedFormatError) as err:
        chat_content("x", url)
    assert str(err.value) == (
        f"{url!r} is a PDF by URL; a Chat Completions file part takes the PDF's bytes (file_data) or an "
        "uploaded file's id, not a URL. Download it and attach the bytes (Attachment(path=...) or "
        "Attachment(content=...)), or use responses_content(), whose input_file takes a file_url."
    )
    with pytest.raises(UnsupportedFormatError, match="azure-ai-inference has no file content item"):
        inference_content("x", url)


def test_unsupported_attachments():
    with pytest.raises(UnsupportedFormatError) as err:
        responses_content("x", b"????")
    assert str(err.value) == (
        "'attachment' is application/octet-stream; chat messages take images (png, jpeg, gif, webp), audio "
        "(wav, mp3) and PDFs: convert it with prepare_image() or prepare_audio()."
    )
    with pytest.raises(UnsupportedFormatError, match="A message needs text or at least one attachment"):
        chat_content("")
    with pytest.raises(ValueError, match="detail='max' is not valid"):
        inference_content("x", detail="max")
