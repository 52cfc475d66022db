"""Service limits and accepted formats: the one place both the client side and the local host read."""

from __future__ import annotations

MB = 1024 * 1024

#: Image formats the chat APIs accept, as MIME type -> short name used in error messages.
IMAGE_MIME_TYPES: dict[str, str] = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
#: azure-ai-inference's ``ImageUrl.load(..., "jpg")`` writes this non-standard type verbatim.
IMAGE_MIME_ALIASES: dict[str, str] = {"image/jpg": "image/jpeg"}

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
#: Whisper endpoints (/audio/transcriptions, /audio/translations) take files up to this size.
MAX_WHISPER_BYTES = 25 * MB
#: Azure documents 10 images per chat call in one place and 50 in its quota table.
MAX_IMAGES_PER_REQUEST = 50

IMAGE_DETAILS = ("auto", "low", "high")

#: Messages the services answer with; shared so the local host says what Azure says.
UNSUPPORTED_IMAGE_MESSAGE = (
    "You uploaded an unsupported image. Please make sure your image is below {mb} MB in size "
    "and is of one the following formats: ['png', 'jpeg', 'gif', 'webp']."
)
IMAGE_URL_NOT_ACCESSIBLE = "The provided image url is not accessible."
