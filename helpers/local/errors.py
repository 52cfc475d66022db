"""The one error helper of the local host: every error response is built here.

Routes raise :class:`ApiError` (usually through one of the small constructors below) and
:func:`error_response` writes it in the shape of the API surface the request came by:

* OpenAI (``/v1/...``): ``{"error": {"message", "type", "param", "code"}}``, all four keys.
* Azure (``/openai/...`` and ``/models/...``): ``{"error": {"code", "message"}}`` plus
  ``param``/``type``/``details`` only when they carry a value (Azure's platform errors such as
  401 or DeploymentNotFound have just code and message; request validation errors also carry
  param and type, as the models behind Azure answer them).

Messages follow the services' wording where it is known (``docs/errors.md``) and otherwise name
the input and the fix. No exception text or traceback ever goes into a response.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from enum import Enum

from starlette.responses import Response

from ..limits import MB

#: Azure's wording for an image it will not take (format or size).
UNSUPPORTED_IMAGE_MESSAGE = (
    "You uploaded an unsupported image. Please make sure your image is below {mb} MB in size "
    "and is of one the following formats: ['png', 'jpeg', 'gif', 'webp']."
)
IMAGE_URL_NOT_ACCESSIBLE = "The provided image url is not accessible."


class Surface(str, Enum):
    """The API a request came by; it decides the error shape and the Azure extras."""

    OPENAI = "openai"
    AZURE = "azure"  # /openai/deployments/{d}/... (classic, api-version required)
    AZURE_V1 = "azure_v1"  # /openai/v1/...
    INFERENCE = "inference"  # /models/... (Azure AI Inference)

    @property
    def is_azure(self) -> bool:
        """True for every Azure surface (content filter results, Azure error shape)."""
        return self is not Surface.OPENAI


@dataclass
class ApiError(Exception):
    """An error answer: HTTP status, error code and message, optional param/type/headers."""

    status: int
    code: str | None
    message: str
    param: str | None = None
    type: str | None = "invalid_request_error"
    headers: dict[str, str] = field(default_factory=dict)
    details: str | None = None
    azure_shape: bool = False  # written in Azure's shape on every surface (the 401, as Azure's gateway does)
    openai_wording: tuple[str, str] | None = None  # (code, message) where OpenAI words it otherwise

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


def error_body(error: ApiError, surface: Surface) -> dict[str, object]:
    """The JSON body of ``error`` in the shape of ``surface``."""
    if surface is Surface.OPENAI and not error.azure_shape:
        code, message = error.openai_wording or (error.code, error.message)
        inner: dict[str, object] = {
            "message": message,
            "type": error.type,
            "param": error.param,
            "code": code,
        }
    else:
        inner = {"code": error.code, "message": error.message}
        for key in ("param", "type", "details"):
            value = getattr(error, key)
            if value is not None:
                inner[key] = value
    return {"error": inner}


def error_response(
    error: ApiError, surface: Surface, extra_headers: dict[str, str] | None = None
) -> Response:
    """The HTTP response for ``error``: the one place error responses are made."""
    body = json.dumps(error_body(error, surface), ensure_ascii=False, separators=(",", ":"))
    headers = {**(extra_headers or {}), **error.headers}
    return Response(body, status_code=error.status, media_type="application/json", headers=headers)


# --- the errors, one constructor each ------------------------------------------------------------

AZURE_ACCESS_DENIED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid "
    "key for an active subscription and use a correct regional API endpoint for your resource."
)
DEPLOYMENT_NOT_FOUND = (
    "The API deployment for this resource does not exist. If you created the deployment within the last "
    "5 minutes, please wait a moment and try again."
)
NO_MODEL_NAME = (
    "No model specified in request. Please provide a model name in the request body or as a "
    "x-ms-model-mesh-model-name header."
)


def unauthorized() -> ApiError:
    """401 in Azure's shape (used on every surface), never echoing the key."""
    return ApiError(401, "401", AZURE_ACCESS_DENIED, type=None, azure_shape=True)


def resource_not_found() -> ApiError:
    """404 as Azure answers a missing api-version or an unknown path."""
    return ApiError(404, "404", "Resource not found", type=None)


def invalid_url(method: str, path: str, status: int = 404) -> ApiError:
    """404/405 as OpenAI answers an unknown path or method."""
    return ApiError(status, None, f"Invalid URL ({method} {path})")


def unsupported_api_version(version: str) -> ApiError:
    """400 for an api-version that is not a date like 2024-10-21 or 2025-01-01-preview."""
    return ApiError(
        400,
        "BadRequest",
        f"API version not supported: {version!r}. Use a version like 2024-10-21 or 2025-01-01-preview.",
        type=None,
    )


def invalid_json(detail: str) -> ApiError:
    """400 for a body that is not JSON."""
    return ApiError(
        400,
        None,
        "We could not parse the JSON body of your request. The local host expects a JSON payload, "
        f"but what was sent was not valid JSON ({detail}).",
    )


def missing_parameter(param: str) -> ApiError:
    """400 for a required field that is absent."""
    return ApiError(400, "missing_required_parameter", f"Missing required parameter: '{param}'.", param=param)


def invalid_type(param: str, expected: str, value: object) -> ApiError:
    """400 for a field of the wrong JSON type."""
    return ApiError(
        400,
        "invalid_type",
        f"Invalid type for '{param}': expected {expected}, but got {_json_type(value)} instead.",
        param=param,
    )


def invalid_value(
    param: str, value: object, allowed: tuple[str, ...] | None = None, why: str = ""
) -> ApiError:
    """400 for a field whose value is not one of the allowed ones (or out of range: ``why``)."""
    if allowed is not None:
        listed = (
            ", ".join(f"'{a}'" for a in allowed[:-1]) + f", and '{allowed[-1]}'"
            if len(allowed) > 2
            else " and ".join(f"'{a}'" for a in allowed)
        )
        message = f"Invalid value for '{param}': {_short(value)}. Supported values are: {listed}."
    else:
        message = f"Invalid value for '{param}': {why}"
    return ApiError(400, "invalid_value", message, param=param)


@dataclass(frozen=True)
class DataUrl:
    """A kind of base64 data URL a request carries: how its errors name it, what it must be (with an
    example), and the MIME type it declares (``mime``, or any type under it when it ends in "/")."""

    what: str
    expected: str
    mime: str
    mime_note: str = ""

    def accepts(self, declared: str) -> bool:
        """Whether a declared MIME type is one this kind takes."""
        return declared == self.mime or (self.mime.endswith("/") and declared.startswith(self.mime))

    def error(self, param: str, reason: str) -> ApiError:
        """400 for a value of ``param`` that is not such a data URL, saying what it got (``reason``)."""
        return ApiError(
            400,
            "invalid_value",
            f"Invalid {self.what}: '{param}'. Expected {self.expected}, but got {reason}.",
            param=param,
        )


# Any image/* type passes, image/jpg included (azure-ai-inference's ImageUrl.load writes "jpg"
# verbatim); the bytes themselves are sniffed afterwards.
IMAGE_URL = DataUrl(
    "image URL",
    "a base64-encoded data URL with an image MIME type (e.g. 'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU=')",
    "image/",
)
AUDIO_URL = DataUrl(
    "audio URL",
    "an http(s) URL or a base64-encoded data URL with an audio MIME type "
    "(e.g. 'data:audio/wav;base64,UklGRiQAAABXQVZF')",
    "audio/",
)
FILE_DATA = DataUrl(
    "file data",
    "a base64-encoded data URL with the MIME type application/pdf (e.g. 'data:application/pdf;base64,JVBERi0xLjcK...')",
    "application/pdf",
    " (the local host reads PDF files)",
)


def unsupported_image(param: str, max_mb: float, why: str) -> ApiError:
    """400 ``invalid_image_format``: wrong format or too many bytes, in Azure's wording followed by what
    the image in ``param`` is and the fix (``why``)."""
    mb = int(max_mb) if float(max_mb).is_integer() else max_mb
    message = f"{UNSUPPORTED_IMAGE_MESSAGE.format(mb=mb)} The image in '{param}': {why}"
    return ApiError(400, "invalid_image_format", message, param=param)


def image_url_not_accessible(param: str, url: str, why: str) -> ApiError:
    """400 for an http(s) image URL that is not allowed or cannot be fetched, saying ``why``: Azure's
    wording on Azure routes, OpenAI's on ``/v1``, each followed by the reason and the fix."""
    return ApiError(
        400,
        "BadRequest",
        f"{IMAGE_URL_NOT_ACCESSIBLE} {why}",
        param=param,
        openai_wording=("invalid_image_url", f"Error while downloading {_clip(url)}. {why}"),
    )


def malformed_url(param: str, why: str) -> ApiError:
    """400 for a value that is not a well-formed http(s) URL; ``why`` names it and the fix."""
    return ApiError(400, "invalid_value", f"Invalid URL in '{param}': {why}", param=param)


def too_many_fetches(slots: int) -> ApiError:
    """429 when every image-URL download slot is busy (slow servers cannot starve other requests)."""
    return ApiError(
        429,
        "429",
        f"The local host is already downloading {slots} image URLs, its limit; retry in a second, or send "
        "the image as a base64 data URL.",
        type=None,
        headers={"retry-after": "1", "retry-after-ms": "1000"},
    )


def bad_input(error: Exception, param: str | None = None, code: str = "invalid_value") -> ApiError:
    """400 for an input that a decoder or engine refused; the message (naming the input and the fix)
    comes from the typed error of :mod:`helpers.errors`."""
    return ApiError(400, code, str(error), param=param)


def invalid_unicode(param: str) -> ApiError:
    """400 for a string holding a lone UTF-16 surrogate, which cannot be encoded as UTF-8."""
    return ApiError(
        400,
        "invalid_value",
        f"Invalid text in '{param}': it holds an unpaired UTF-16 surrogate (an escape such as \\ud800 "
        "without its partner), which is not valid Unicode. Send the text as valid UTF-8.",
        param=param,
    )


def too_many_images(count: int, limit: int) -> ApiError:
    """400 when a request holds more images than allowed."""
    return ApiError(
        400,
        "too_many_images",
        f"Too many images in request: {count} images were sent and at most {limit} are allowed. "
        "Send fewer images per request, or raise LOCAL_MAX_IMAGES.",
    )


def invalid_audio(param: str, fmt: str) -> ApiError:
    """400 for audio data that is not valid base64 or not in the declared format."""
    return ApiError(
        400,
        "invalid_value",
        f"The audio in '{param}' is not valid {fmt} data. Send base64 of a whole .{fmt} file, "
        "with format set to what the bytes are ('wav' or 'mp3').",
        param=param,
    )


def invalid_file_format(formats: tuple[str, ...], filename: str, kind: str | None) -> ApiError:
    """400 for an upload to /audio/* in a format the endpoint cannot read, naming the file and what it is."""
    what = f"its bytes are {kind}" if kind else "its bytes are not a known audio format"
    return ApiError(
        400,
        "invalid_value",
        f"Invalid file format of '{filename}' ({what}). Supported formats: {list(formats)}",
        param="file",
    )


def file_too_large(size: int, limit: int, filename: str) -> ApiError:
    """413 for an upload over the Whisper endpoints' limit, naming the file."""
    return ApiError(
        413,
        "content_too_large",
        f"Maximum content size limit ({limit}) exceeded ({size} bytes read): '{filename}' is too large. Cut "
        "the audio into shorter parts.",
        param="file",
    )


def body_too_large(max_mb: float, size: int | None = None) -> ApiError:
    """413 for a request body over LOCAL_MAX_BODY_MB (``size`` when the Content-Length said it)."""
    sent = f"{size} bytes were sent" if size is not None else "more than that was sent"
    return ApiError(
        413,
        "request_too_large",
        f"The request body is too large: the local host accepts at most {int(max_mb * MB)} bytes "
        f"({max_mb:g} MB, set by LOCAL_MAX_BODY_MB) and {sent}. Send fewer or smaller attachments "
        "(helpers.prepare_image shrinks images to what the service keeps), or raise LOCAL_MAX_BODY_MB.",
    )


def model_not_found(model: str, surface: Surface) -> ApiError:
    """404 for a model/deployment that is not in LOCAL_DEPLOYMENTS, worded per surface."""
    if surface is Surface.INFERENCE:
        message = f"Unknown model: {model}"
        return ApiError(404, "unknown_model", message, type=None, details=message)
    if surface is Surface.OPENAI:
        return ApiError(
            404, "model_not_found", f"The model `{model}` does not exist or you do not have access to it."
        )
    return ApiError(404, "DeploymentNotFound", DEPLOYMENT_NOT_FOUND, type=None)


def no_model_name() -> ApiError:
    """400 on /models/chat/completions without a model."""
    return ApiError(400, "no_model_name", NO_MODEL_NAME, type=None)


def rate_limited(
    kind: str, limit: int, window: float, retry_after_ms: int, remaining: dict[str, str]
) -> ApiError:
    """429 with both retry headers, so openai and azure-core clients both retry."""
    seconds = max(1, math.ceil(retry_after_ms / 1000))
    unit = ("request" if kind == "call" else "token") + ("" if limit == 1 else "s")
    variable = "LOCAL_RPM" if kind == "call" else "LOCAL_TPM"
    return ApiError(
        429,
        "429",
        f"Requests to this deployment have exceeded the {kind} rate limit of the local host "
        f"({limit} {unit} per {window:g} seconds, set by {variable}). Please retry after {seconds} "
        f"second{'s' if seconds != 1 else ''}.",
        type=None,
        headers={"retry-after": str(seconds), "retry-after-ms": str(retry_after_ms), **remaining},
    )


def injected_fault(status: int, every: int, retry_after_ms: int) -> ApiError:
    """The failure LOCAL_FAULT_EVERY asks for (429, 500 or 503)."""
    why = (
        f"The local host failed this request on purpose: LOCAL_FAULT_EVERY={every} fails every "
        f"{_ordinal(every)} request."
    )
    if status == 429:
        seconds = max(1, math.ceil(retry_after_ms / 1000))
        return ApiError(
            429,
            "429",
            f"{why} Please retry after {seconds} second{'s' if seconds != 1 else ''}.",
            type=None,
            headers={"retry-after": str(seconds), "retry-after-ms": str(retry_after_ms)},
        )
    if status == 503:
        return ApiError(503, "ServiceUnavailable", f"{why} Retry the request.", type="server_error")
    return ApiError(500, "InternalServerError", f"{why} Retry the request.", type="server_error")


def internal_error() -> ApiError:
    """500 for a bug in the local host; the details go to the server log only."""
    return ApiError(
        500,
        "InternalServerError",
        "The local host failed to answer this request; the server log has the details. The server keeps "
        "running: retry, or report the request that caused it.",
        type="server_error",
    )


def _ordinal(number: int) -> str:
    if number == 1:
        return "single"
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _short(value: object, limit: int = 40) -> str:
    text = repr(value) if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
