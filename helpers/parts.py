"""Pure mapping from text and attachments to the wire parts of each API.

Three shapes of the same message:

* Chat Completions content parts: ``text``, ``image_url`` (with ``detail``), ``input_audio``.
* Responses API input items: ``input_text``, ``input_image``, ``input_audio``.
* azure-ai-inference model objects: ``TextContentItem``, ``ImageContentItem`` with ``ImageUrl``,
  ``AudioContentItem`` with ``InputAudio``.

Attachments are sent as they are: run :func:`helpers.prepare_image` or
:func:`helpers.prepare_audio` first to convert and resize.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .attachments import Attachment
from .errors import UnsupportedFormatError
from .limits import AUDIO_MIME_TYPES, IMAGE_MIME_TYPES
from .tokens import check_detail

Source = Attachment | str | bytes


@dataclass(frozen=True)
class Part:
    """One part in a neutral form: ``kind`` is text, image or audio."""

    kind: str
    value: str  # the text, the image URL (http(s) or data URL), or the base64 audio
    audio_format: str = ""


def to_parts(text: str | None, attachments: Iterable[Source]) -> list[Part]:
    """Text first (when given), then one part per attachment, classified by its sniffed type."""
    parts = [Part("text", text)] if text else []
    for source in attachments:
        att = Attachment.coerce(source)
        if att.url is not None:
            parts.append(Part("image", att.url))  # sent by reference; the service fetches it
        elif att.mime_type in IMAGE_MIME_TYPES:
            parts.append(Part("image", att.data_url()))
        elif att.mime_type in AUDIO_MIME_TYPES:
            parts.append(Part("audio", att.base64(), AUDIO_MIME_TYPES[att.mime_type]))
        else:
            hint = (
                "render its pages with pdf_pages()"
                if att.mime_type == "application/pdf"
                else "convert it with prepare_image() or prepare_audio()"
            )
            raise UnsupportedFormatError(
                f"{att.name!r} is {att.mime_type}; chat messages take images "
                f"({', '.join(IMAGE_MIME_TYPES.values())}) and audio (wav, mp3): {hint}."
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
        else:
            out.append(
                {"type": "input_audio", "input_audio": {"data": part.value, "format": part.audio_format}}
            )
    return out


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
        else:
            out.append(
                {"type": "input_audio", "input_audio": {"data": part.value, "format": part.audio_format}}
            )
    return out


def responses_message(text: str | None, *attachments: Source, detail: str = "auto") -> dict[str, Any]:
    """A Responses API input message: ``{"role": "user", "content": [...]}``."""
    return {"role": "user", "content": responses_content(text, *attachments, detail=detail)}


def inference_content(text: str | None, *attachments: Source, detail: str = "auto") -> list[Any]:
    """azure-ai-inference content items for a ``UserMessage``."""
    from azure.ai.inference.models import (
        AudioContentItem,
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
        else:
            out.append(AudioContentItem(input_audio=InputAudio(data=part.value, format=part.audio_format)))
    return out


def inference_message(text: str | None, *attachments: Source, detail: str = "auto") -> Any:
    """An azure-ai-inference ``UserMessage`` holding the text and attachments."""
    from azure.ai.inference.models import UserMessage

    return UserMessage(content=inference_content(text, *attachments, detail=detail))
