"""Service limits, accepted formats and wire patterns that both the client side and the local host use.

The values are the services' own (``docs/limits.md`` explains each); the local host's other rules
(its error wording, its Whisper upload limit, its settings) live in ``helpers/local/``.
"""

from __future__ import annotations

MB = 1024 * 1024

#: Image formats the chat APIs accept, as MIME type -> short name used in error messages.
IMAGE_MIME_TYPES: dict[str, str] = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}

#: Audio formats ``input_audio`` accepts, as MIME type -> the ``format`` field value.
AUDIO_MIME_TYPES: dict[str, str] = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
}
AUDIO_FORMATS = ("wav", "mp3")

MAX_IMAGE_BYTES = 20 * MB
MAX_AUDIO_BYTES = 20 * MB

IMAGE_DETAILS = ("auto", "low", "high")

#: A dated Azure OpenAI ``api-version``: ``2024-10-21`` or ``2025-01-01-preview``.
API_VERSION_DATE = r"\d{4}-\d{2}-\d{2}(-preview)?"
