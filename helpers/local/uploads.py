"""Uploads to the Whisper endpoints (/audio/transcriptions, /audio/translations): one AudioRequest.

The multipart form's ``file`` is checked (size, a format the endpoints read, audio that decodes)
and measured here; its text fields are the model (or the deployment of the path), the response
format, the language, the prompt and the timestamp granularities.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request

from ..attachments import sniff_mime
from ..errors import InputError
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
GRANULARITIES = ("segment", "word")
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
    words: bool = False  # timestamp_granularities includes "word"
    request_id: str = field(default_factory=new_request_id)


@dataclass(frozen=True)
class Form:
    """A multipart form: every value of each text field, and the ``file`` part's bytes and name."""

    fields: dict[str, list[str]]
    file: bytes | None = None
    filename: str = "file"

    def get(self, key: str) -> str | None:
        """The first value of a text field, or None when it is absent or empty."""
        values = self.fields.get(key) or [""]
        return values[0] or None


async def read_form(request: Request) -> Form:
    """The multipart form of an upload; another content type or a broken body is a 400 that says so."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "multipart/form-data":
        raise errors.ApiError(
            400,
            None,
            f"The audio endpoints take a multipart/form-data body, not {kind or 'a body without a Content-Type'}: "
            "send the clip as a 'file' part with a 'model' field (the SDKs' audio.transcriptions.create does).",
        )
    body = await request.body()  # kept by the request, which request.form() then reads
    boundary = (
        request.headers.get("content-type", "").partition("boundary=")[2].split(";")[0].strip().strip('"')
    )
    if boundary and f"--{boundary}--".encode() not in body[-(len(boundary) + 64) :]:
        raise errors.ApiError(
            400,
            None,
            "The multipart form body is cut short: it does not end with its closing boundary "
            f"('--{boundary}--'), so its last part (often the 'file') is incomplete. Send the whole body.",
        )
    try:
        form = await request.form()
        fields: dict[str, list[str]] = {}
        file, filename = None, "file"
        for key, value in form.multi_items():
            if isinstance(value, str):
                fields.setdefault(key, []).append(value)
            elif key == "file":
                file, filename = await value.read(), value.filename or "file"
    except errors.ApiError:  # the body is over LOCAL_MAX_BODY_MB (BodyLimit)
        raise
    except Exception:  # python-multipart raises several kinds for broken bodies
        raise errors.ApiError(
            400,
            None,
            "Could not parse the multipart form body (it is cut short or its boundaries are broken); send "
            "the audio as multipart/form-data with a 'file' part and a 'model' field.",
        ) from None
    return Form(fields, file, filename)


def parse_audio_upload(
    task: str, surface: Surface, settings: Settings, form: Form, deployment: str | None = None
) -> AudioRequest:
    """A multipart upload to /audio/transcriptions or /audio/translations as an AudioRequest."""
    model = deployment if deployment is not None else form.get("model")
    if not model:
        raise errors.missing_parameter("model")
    check_model(model, surface, settings)
    if form.file is None:
        raise errors.missing_parameter("file")
    if len(form.file) > MAX_WHISPER_BYTES:
        raise errors.file_too_large(len(form.file), MAX_WHISPER_BYTES, form.filename)
    kind = sniff_mime(form.file)
    if kind not in _WHISPER_MIME:
        raise errors.invalid_file_format(WHISPER_FORMATS, form.filename, kind)
    response_format = form.get("response_format") or "json"
    if response_format not in TRANSCRIPT_FORMATS:
        raise errors.invalid_value("response_format", response_format, TRANSCRIPT_FORMATS)
    granularities = form.fields.get("timestamp_granularities[]", []) + form.fields.get(
        "timestamp_granularities", []
    )
    for granularity in granularities:
        if granularity not in GRANULARITIES:
            raise errors.invalid_value("timestamp_granularities", granularity, GRANULARITIES)
    words = "word" in granularities
    if granularities and response_format != "verbose_json":
        raise errors.invalid_value(
            "timestamp_granularities",
            granularities,
            why="timestamps come only with response_format 'verbose_json'; ask for that format.",
        )
    try:
        seconds = decode_audio(form.file, form.filename).duration
    except InputError as exc:
        raise errors.bad_input(exc, "file") from None
    return AudioRequest(
        task,
        surface,
        model,
        form.file,
        seconds,
        response_format,
        form.get("language"),
        form.get("prompt"),
        words,
    )
