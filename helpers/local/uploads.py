"""Uploads to the Whisper endpoints (/audio/transcriptions, /audio/translations): one AudioRequest.

The multipart form's ``file`` is checked (size, a format the endpoints read, audio that decodes)
and measured here; its text fields are the model (or the deployment of the path), the response
format, the language and the prompt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..attachments import sniff_mime
from ..limits import MB
from . import errors
from .errors import Surface
from .protocol import check_model, new_request_id
from .settings import Settings
from .speech import decode_audio

#: Formats the Whisper endpoints read (OpenAI's list); PyAV decodes them all.
WHISPER_FORMATS = ("flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm")
_WHISPER_MIME = {
    "audio/flac",
    "audio/mp4",
    "audio/mpeg",
    "audio/ogg",
    "audio/wav",
    "audio/webm",
    "video/webm",
}
TRANSCRIPT_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
#: The Whisper endpoints take files up to this size.
MAX_WHISPER_BYTES = 25 * MB


@dataclass(frozen=True)
class AudioRequest:
    """A request to /audio/transcriptions or /audio/translations."""

    task: str  # "transcribe" or "translate"
    surface: Surface
    model: str
    data: bytes
    seconds: float
    response_format: str = "json"
    language: str | None = None
    prompt: str | None = None

    request_id: str = field(default_factory=new_request_id)


def parse_audio_upload(
    task: str,
    surface: Surface,
    settings: Settings,
    fields: dict[str, Any],
    file: bytes | None,
    deployment: str | None = None,
) -> AudioRequest:
    """A multipart upload to /audio/transcriptions or /audio/translations as an AudioRequest."""
    model = deployment if deployment is not None else fields.get("model")
    if not model:
        raise errors.missing_parameter("model")
    check_model(model, surface, settings)
    if file is None:
        raise errors.missing_parameter("file")
    if len(file) > MAX_WHISPER_BYTES:
        raise errors.file_too_large(len(file), MAX_WHISPER_BYTES)
    if sniff_mime(file) not in _WHISPER_MIME:
        raise errors.invalid_file_format(WHISPER_FORMATS)
    response_format = fields.get("response_format") or "json"
    if response_format not in TRANSCRIPT_FORMATS:
        raise errors.invalid_value("response_format", response_format, TRANSCRIPT_FORMATS)
    try:
        seconds = decode_audio(file).duration
    except ValueError:
        raise errors.invalid_file_format(WHISPER_FORMATS) from None
    return AudioRequest(
        task,
        surface,
        model,
        file,
        seconds,
        response_format,
        fields.get("language") or None,
        fields.get("prompt") or None,
    )
