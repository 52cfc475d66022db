"""Pure mapping from text and attachments to the wire parts of each API.

Three shapes of the same message:

* Chat Completions content parts: ``text``, ``image_url`` (with ``detail``), ``input_audio``,
  ``audio_url`` (an audio clip by URL, the Foundry shape) and ``file`` (a PDF as ``file_data``).
* Responses API input items: ``input_text``, ``input_image``, ``input_audio``, ``input_file``
  (a PDF as ``file_data``, or by ``file_url``).
* azure-ai-inference model objects: ``TextContentItem``, ``ImageContentItem`` with ``ImageUrl``,
  ``AudioContentItem`` with ``InputAudio``; an audio URL as a plain ``ContentItem`` holding the
  ``audio_url`` dict (azure-ai-inference 1.0.0b9 has no class for it).

Attachments are sent as they are: run :func:`helpers.prepare_image` or
:func:`helpers.prepare_audio` first to convert and resize. A PDF goes as a file part (the service
extracts its text and looks at an image of each page); :func:`helpers.pdf_pages` sends it as page
images instead, so both ways can be compared on the same document.

An attachment given by http(s) URL is sent by reference and never downloaded here, so its kind comes
from the extension of the URL's path (:data:`AUDIO_EXTENSIONS`, ``.pdf``); any other URL is sent as an
image. Name the file's kind in its URL, or attach its bytes, for anything else.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from .attachments import Attachment
from .errors import UnsupportedFormatError
from .limits import AUDIO_MIME_TYPES, IMAGE_MIME_TYPES
from .tokens import check_detail

Source = Attachment | str | bytes

#: Extensions of a URL's path that make it an audio clip (sent as ``audio_url``), not an image.
AUDIO_EXTENSIONS = (".wav", ".mp3", ".m4a", ".ogg", ".oga", ".opus", ".flac", ".aac", ".weba")
PDF_MIME = "application/pdf"


@dataclass(frozen=True)
class Part:
    """One part in a neutral form: ``kind`` is text, image, audio, audio_url, file or file_url."""

    kind: str
    value: str  # the text, the image URL (http(s) or data URL), the base64 audio, the audio or PDF URL,
    # or the PDF as a data URL
    audio_format: str = ""
    filename: str = ""  # a file part's name


def url_kind(url: str) -> str:
    """What an http(s) URL is sent as, from the extension of its path (never downloaded to find
    out): ``audio_url`` for :data:`AUDIO_EXTENSIONS`, ``file_url`` for ``.pdf``, otherwise ``image``."""
    ext = posixpath.splitext(unquote(urlsplit(url).path))[1].lower()
    if ext in AUDIO_EXTENSIONS:
        return "audio_url"
    return "file_url" if ext == ".pdf" else "image"


def to_parts(text: str | None, attachments: Iterable[Source]) -> list[Part]:
    """Text first (when given), then one part per attachment: bytes classified by their sniffed type,
    http(s) URLs by the extension of their path (:func:`url_kind`)."""
    parts = [Part("text", text)] if text else []
    for source in attachments:
        att = Attachment.coerce(source)
        if att.url is not None:  # sent by reference; the service fetches it
            parts.append(Part(url_kind(att.url), att.url, filename=att.name or ""))
        elif att.mime_type in IMAGE_MIME_TYPES:
            parts.append(Part("image", att.data_url()))
        elif att.mime_type in AUDIO_MIME_TYPES:
            parts.append(Part("audio", att.base64(), AUDIO_MIME_TYPES[att.mime_type]))
        elif att.mime_type == PDF_MIME:
            parts.append(Part("file", att.data_url(), filename=att.name or "document.pdf"))
        else:
            raise UnsupportedFormatError(
                f"{att.name!r} is {att.mime_type}; chat messages take images "
                f"({', '.join(IMAGE_MIME_TYPES.values())}), audio (wav, mp3) and PDFs: convert it with "
                "prepare_image() or prepare_audio()."
            )
    if not parts:
        raise UnsupportedFormatError("A message needs text or at least one attachment; both are empty.")
    return parts


def chat_content(text: str | None, *attachments: Source, detail: str = "auto") -> list[dict[str, Any]]:
    """Chat Completions ``content`` list for a user message."""
    check_detail(detail)
    out: list[dict[str, Any]] = []
    for part in to_parts(text, attachments):
        if part.kind == "text":
            out.append({"type": "text", "text": part.value})
        elif part.kind == "image":
            out.append({"type": "image_url", "image_url": {"url": part.value, "detail": detail}})
        elif part.kind == "audio_url":
            out.append({"type": "audio_url", "audio_url": {"url": part.value}})
        elif part.kind == "file":
            out.append({"type": "file", "file": {"filename": part.filename, "file_data": part.value}})
        elif part.kind == "file_url":
            raise UnsupportedFormatError(
                f"{part.value!r} is a PDF by URL; a Chat Completions file part takes the PDF's bytes "
                "(file_data) or an uploaded file's id, not a URL. Download it and attach the bytes "
                "(Attachment(path=...) or Attachment(content=...)), or use responses_content(), whose "
                "input_file takes a file_url."
            )
        else:
            out.append(_input_audio(part))
    return out


def _input_audio(part: Part) -> dict[str, Any]:
    """The ``input_audio`` part (the same in Chat Completions and the Responses API)."""
    return {"type": "input_audio", "input_audio": {"data": part.value, "format": part.audio_format}}


def chat_message(text: str | None, *attachments: Source, detail: str = "auto") -> dict[str, Any]:
    """A Chat Completions user message: ``{"role": "user", "content": [...]}``."""
    return {"role": "user", "content": chat_content(text, *attachments, detail=detail)}


def responses_content(text: str | None, *attachments: Source, detail: str = "auto") -> list[dict[str, Any]]:
    """Responses API ``content`` list for a user input message."""
    check_detail(detail)
    out: list[dict[str, Any]] = []
    for part in to_parts(text, attachments):
        if part.kind == "text":
            out.append({"type": "input_text", "text": part.value})
        elif part.kind == "image":
            out.append({"type": "input_image", "image_url": part.value, "detail": detail})
        elif part.kind == "file":
            out.append({"type": "input_file", "filename": part.filename, "file_data": part.value})
        elif part.kind == "file_url":
            out.append({"type": "input_file", "file_url": part.value})
        elif part.kind == "audio_url":
            raise UnsupportedFormatError(
                f"{part.value!r} is audio by URL, and the Responses API has no audio URL part. Send the "
                "clip's bytes: prepare_audio(url) downloads it (and converts it to wav or mp3) for an "
                "input_audio part; chat_content() sends it as audio_url."
            )
        else:
            out.append(_input_audio(part))
    return out


def responses_message(text: str | None, *attachments: Source, detail: str = "auto") -> dict[str, Any]:
    """A Responses API input message: ``{"role": "user", "content": [...]}``."""
    return {"role": "user", "content": responses_content(text, *attachments, detail=detail)}


def inference_content(text: str | None, *attachments: Source, detail: str = "auto") -> list[Any]:
    """azure-ai-inference content items for a ``UserMessage``."""
    from azure.ai.inference.models import (
        AudioContentItem,
        ContentItem,
        ImageContentItem,
        ImageUrl,
        InputAudio,
        TextContentItem,
    )

    check_detail(detail)
    out: list[Any] = []
    for part in to_parts(text, attachments):
        if part.kind == "text":
            out.append(TextContentItem(text=part.value))
        elif part.kind == "image":
            out.append(ImageContentItem(image_url=ImageUrl(url=part.value, detail=detail)))
        elif part.kind == "audio_url":
            # No AudioUrlContentItem in azure-ai-inference 1.0.0b9: the generic item serialises the
            # Foundry documentation's {"type": "audio_url", "audio_url": {"url": U}} as it is.
            out.append(ContentItem({"type": "audio_url", "audio_url": {"url": part.value}}))
        elif part.kind in ("file", "file_url"):
            name = part.filename or part.value
            raise UnsupportedFormatError(
                f"{name!r} is a PDF, and azure-ai-inference has no file content item. Render its pages "
                "with pdf_pages() and attach them as images (or send the PDF as a file part with "
                "chat_content() to an OpenAI-compatible endpoint)."
            )
        else:
            out.append(AudioContentItem(input_audio=InputAudio(data=part.value, format=part.audio_format)))
    return out


def inference_message(text: str | None, *attachments: Source, detail: str = "auto") -> Any:
    """An azure-ai-inference ``UserMessage`` holding the text and attachments."""
    from azure.ai.inference.models import UserMessage

    return UserMessage(content=inference_content(text, *attachments, detail=detail))
