"""Attachments of a request: images and audio decoded, checked against helpers.limits and costed.

Images come as base64 data URLs or as http(s) URLs, which :mod:`.urls` fetches only from loopback
or from hosts that LOCAL_IMAGE_URL_ALLOW lists. Audio comes as ``input_audio`` (base64 and its
format) or as ``audio_url`` (the Foundry shape: ``{"url": ...}``, a data URL or an http(s) URL under
the same URL rules as images). Either way the clip must be wav or mp3, the formats ``input_audio``
takes, told from its bytes (an ``audio_url`` has no format field; the URL's name is not trusted):
other audio that the recogniser could decode (m4a, ogg, flac) is refused with a hint to convert it
with ``helpers.prepare_audio``, so a request the local host accepts is one the services accept too.
Token costs come from :mod:`helpers.tokens`, the one implementation.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..attachments import Attachment, human_size, parse_data_url, sniff_mime
from ..errors import InputError, UnknownModelError
from ..images import image_size, open_image
from ..limits import (
    AUDIO_FORMATS,
    AUDIO_MIME_TYPES,
    IMAGE_DETAILS,
    IMAGE_MIME_TYPES,
    MAX_AUDIO_BYTES,
)
from ..tokens import DEFAULT_TOKEN_MODEL, audio_tokens, formula_for, image_tokens
from . import errors
from .engines import digest
from .settings import Settings
from .speech import decode_audio
from .urls import fetch_image, fetch_media


@dataclass(frozen=True)
class Image:
    """An image part: its bytes, sniffed MIME type, size, detail and token cost."""

    data: bytes
    mime: str
    width: int
    height: int
    detail: str
    tokens: int

    @cached_property
    def key(self) -> str:
        """Content hash."""
        return digest(self.data)


@dataclass(frozen=True)
class Audio:
    """An audio part: bytes, format (wav/mp3), duration in seconds and estimated token cost."""

    data: bytes
    format: str
    seconds: float
    tokens: int

    @cached_property
    def key(self) -> str:
        """Content hash."""
        return digest(self.data)


def load_image(
    url: str, detail: Any, param: str, model: str, settings: Settings, url_param: str | None = None
) -> Image:
    """Decode, check and cost one image given as a data URL or an http(s) URL."""
    url_param = url_param or f"{param}.url"
    if detail is None:
        detail = "auto"
    if detail not in IMAGE_DETAILS:
        raise errors.invalid_value(f"{param}.detail", detail, IMAGE_DETAILS)
    if url.startswith("data:"):
        data = data_url_bytes(url, url_param, errors.IMAGE_URL)
    elif re.match(r"^https?://", url, re.I):
        data = fetch_image(url, url_param, settings)
    else:
        raise errors.IMAGE_URL.error(url_param, "a value without the 'data:' prefix")
    if len(data) > settings.max_image_bytes:
        why = f"it is {human_size(len(data))}; shrink it (helpers.prepare_image does)."
        raise errors.unsupported_image(url_param, settings.max_image_mb, why)
    mime = sniff_mime(data)
    if mime not in IMAGE_MIME_TYPES:
        raise errors.unsupported_image(url_param, settings.max_image_mb, _not_accepted(data, mime, url_param))
    width, height, animated = _image_header(data, url_param)
    if animated:
        why = "it is an animated GIF; send one frame (helpers.prepare_image sends the first)."
        raise errors.unsupported_image(url_param, settings.max_image_mb, why)
    return Image(data, mime, width, height, detail, image_tokens(width, height, detail, token_model(model)))


def _not_accepted(data: bytes, mime: str | None, param: str) -> str:
    """What bytes that are not a PNG, JPEG, GIF or WebP are, and the fix (the client's own words)."""
    try:
        image_size(data, param)
    except InputError as exc:  # not an image at all: a PDF, an SVG, audio, random bytes ...
        return str(exc).replace(f"'{param}' ", "it ", 1)
    return f"it is {mime}; convert it to PNG or JPEG (helpers.prepare_image does)."


def token_model(model: str) -> str:
    """The model whose image formula applies: the request's if helpers.tokens knows it, else the default."""
    try:
        formula_for(model)
    except UnknownModelError:
        return DEFAULT_TOKEN_MODEL
    return model


def data_url_bytes(url: str, param: str, kind: errors.DataUrl) -> bytes:
    """The bytes of the base64 data URL ``url`` in ``param``; a 400 in ``kind``'s words when it is
    not base64, does not decode, is empty or declares a MIME type ``kind`` does not take."""
    if not url[:200].split(",", 1)[0].endswith(";base64"):
        raise kind.error(param, "a data URL that is not base64-encoded")
    try:
        declared, data = parse_data_url(url)
    except InputError:
        raise kind.error(param, "invalid base64-encoded bytes") from None
    if not data:
        raise kind.error(param, "empty base64-encoded bytes")
    if declared is not None and not kind.accepts(declared):
        raise kind.error(param, f"unsupported MIME type '{declared}'{kind.mime_note}")
    return data


def _image_header(data: bytes, param: str) -> tuple[int, int, bool]:
    """Width, height and whether it is animated, once the image is known to decode within the pixel
    budget (the same check as the client's :func:`helpers.images.image_size`, made from the header
    before any decoding); a truncated, damaged or oversized image is a 400 naming ``param``."""
    try:
        width, height, frames = image_size(data, param)
        open_image(Attachment(content=data, name=param))  # decodes it: damage is found here, not later
    except InputError as exc:
        raise errors.bad_input(exc, param, "invalid_image") from None
    return width, height, frames > 1


def load_audio(data: Any, fmt: Any, param: str) -> Audio:
    """Decode, check and cost one ``input_audio`` part."""
    if fmt is None:
        raise errors.missing_parameter(f"{param}.format")
    if fmt not in AUDIO_FORMATS:
        raise errors.invalid_value(f"{param}.format", fmt, AUDIO_FORMATS)
    if not isinstance(data, str):
        raise (
            errors.missing_parameter(f"{param}.data")
            if data is None
            else errors.invalid_type(f"{param}.data", "a string", data)
        )
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise errors.invalid_audio(f"{param}.data", fmt) from None
    _check_audio_size(raw, f"{param}.data")
    if AUDIO_MIME_TYPES.get(sniff_mime(raw) or "") != fmt:
        raise errors.invalid_audio(f"{param}.data", fmt)
    return _decoded_audio(raw, fmt, f"{param}.data")


def load_audio_url(url: Any, param: str, settings: Settings) -> Audio:
    """Decode, check and cost one ``audio_url`` part's clip: ``url`` is ``data:audio/...;base64,...``
    or an http(s) URL fetched under the image URL rules; the bytes must be wav or mp3."""
    if not isinstance(url, str):
        raise errors.missing_parameter(param) if url is None else errors.invalid_type(param, "a string", url)
    if url.startswith("data:"):
        raw = data_url_bytes(url, param, errors.AUDIO_URL)
    elif re.match(r"^https?://", url, re.I):
        raw = fetch_media(url, param, settings, "audio", MAX_AUDIO_BYTES)
    else:
        raise errors.AUDIO_URL.error(param, "a value that is neither an http(s) URL nor a 'data:' URL")
    _check_audio_size(raw, param)
    mime = sniff_mime(raw)
    fmt = AUDIO_MIME_TYPES.get(mime or "")
    if fmt is None:
        what = f"{mime} bytes" if mime else "bytes that are not audio"
        raise errors.invalid_value(
            param,
            None,
            why=f"the clip is {what}; audio_url takes wav or mp3 (the formats of input_audio). "
            "Convert it with helpers.prepare_audio.",
        )
    return _decoded_audio(raw, fmt, param)


def _check_audio_size(raw: bytes, param: str) -> None:
    if len(raw) > MAX_AUDIO_BYTES:
        raise errors.invalid_value(
            param,
            None,
            why=f"the audio is {len(raw)} bytes; at most {MAX_AUDIO_BYTES} are allowed. Send a shorter clip.",
        )


def _decoded_audio(raw: bytes, fmt: str, param: str) -> Audio:
    try:
        seconds = decode_audio(raw).duration
    except ValueError:
        raise errors.invalid_audio(param, fmt) from None
    return Audio(raw, fmt, seconds, audio_tokens(seconds))
