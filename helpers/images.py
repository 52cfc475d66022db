"""Images: check the pixel budget from the header, normalise and resize to what the service keeps.

:func:`image_size` reads only an image's header and refuses one over :data:`MAX_IMAGE_PIXELS`
before anything is decoded; :func:`open_image` (and so :func:`image_info` and :func:`prepare_image`)
decodes only after that check. Pillow's process-wide ``Image.MAX_IMAGE_PIXELS`` is left alone.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, ImageFile, ImageOps

from .attachments import Attachment, sniff_mime
from .errors import TooLargeError, UnsupportedFormatError
from .limits import IMAGE_MIME_TYPES, MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS
from .tokens import check_detail, service_size

#: What Pillow raises on bytes that are cut short or garbled, while reading a header or decoding.
_DAMAGE = (OSError, EOFError, SyntaxError, ValueError, IndexError, TypeError, struct.error)
#: Formats Pillow reads, by the MIME type :func:`sniff_mime` gives them.
_PILLOW_KINDS = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/bmp": "BMP",
    "image/tiff": "TIFF",
}


@dataclass(frozen=True)
class ImageInfo:
    """What an image is: its sniffed MIME type, pixel size and frame count."""

    mime_type: str
    width: int
    height: int
    frames: int = 1


def image_size(data: bytes, name: str) -> tuple[int, int, int]:
    """Width, height and frame count of the image ``data``, read from its header; nothing is decoded.

    Raises TooLargeError naming ``name`` when a frame has more than :data:`MAX_IMAGE_PIXELS` pixels,
    and UnsupportedFormatError naming ``name`` when the bytes are not an image Pillow reads (saying
    what they are instead: a PDF, an SVG, audio ...) or when the header or frame list is cut short.
    """
    image, frames = _read_header(data, name)
    return image.width, image.height, frames


def open_image(att: Attachment) -> Image.Image:
    """Decode an attachment with Pillow once :func:`image_size` has checked its header and pixel budget.

    Raises TooLargeError over the budget and UnsupportedFormatError, naming the attachment, when it is
    not an image or is truncated or damaged.
    """
    name = att.name or "image"
    image, _ = _read_header(att.content_bytes(), name)
    try:
        image.load()
    except Image.DecompressionBombError as exc:
        raise TooLargeError(_over_pillow_limit(name, exc)) from exc
    except _DAMAGE as exc:
        raise UnsupportedFormatError(_damaged(name, image.format, exc)) from exc
    return image


def _read_header(data: bytes, name: str) -> tuple[ImageFile.ImageFile, int]:
    """The unloaded image and its frame count, once the bytes are known to be an image within budget."""
    try:
        image = _identify(data)
    except Image.DecompressionBombError as exc:
        raise TooLargeError(_over_pillow_limit(name, exc)) from exc
    except _DAMAGE as exc:
        raise UnsupportedFormatError(_damaged(name, sniff_mime(data), exc)) from exc
    if image is None:
        raise UnsupportedFormatError(_not_an_image(data, name))
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        raise TooLargeError(
            f"{name!r} is {width}x{height} = {width * height:,} pixels; the limit is "
            f"{MAX_IMAGE_PIXELS:,} pixels per image (MAX_IMAGE_PIXELS). Scale it down (the services "
            "shrink every image to fit 2048x2048 anyway) and try again."
        )
    try:
        frames = getattr(image, "n_frames", 1)
    except _DAMAGE as exc:
        raise UnsupportedFormatError(_damaged(name, image.format, exc)) from exc
    if image.format == "GIF" and not data.rstrip(b"\0\r\n ").endswith(b"\0;"):
        # Pillow takes a GIF cut inside a frame for a complete one; every GIF ends in a block
        # terminator and the ';' trailer, so one that does not was cut short.
        raise UnsupportedFormatError(_damaged(name, "GIF", "it ends before its trailer"))
    return image, frames


def _identify(data: bytes) -> ImageFile.ImageFile | None:
    """Pillow's own format detection, as ``Image.open`` does it, without its process-wide pixel check.

    ``Image.open`` raises or warns by ``Image.MAX_IMAGE_PIXELS`` (a global shared by every Pillow user)
    before the caller learns the size; here the budget is :data:`MAX_IMAGE_PIXELS`, checked by the
    caller with the size in hand, so the plugins Pillow registers are asked directly. None when no
    plugin recognises the bytes.
    """
    prefix = data[:16]
    tried: set[str] = set()
    for load_plugins in (Image.preinit, Image.init):
        load_plugins()
        for fmt in [f for f in Image.ID if f not in tried]:
            tried.add(fmt)
            factory, accept = Image.OPEN[fmt]
            try:
                verdict = accept(prefix) if accept else True
                if verdict and not isinstance(verdict, str):
                    return factory(io.BytesIO(data), "")
            except (SyntaxError, IndexError, TypeError, struct.error):
                continue  # as Image.open: not this format, try the next one
    return None


def _damaged(name: str, kind: str | None, why: object) -> str:
    """``kind`` is Pillow's format name (JPEG) or a sniffed MIME type (image/jpeg), when known."""
    fmt = _PILLOW_KINDS.get(kind or "", kind)
    what = f"{fmt} image" if fmt and "/" not in fmt else "image"
    return f"{name!r} is a truncated or damaged {what} ({why}); re-export or re-download it, or use another file."


def _over_pillow_limit(name: str, exc: Exception) -> str:
    return f"{name!r} has too many pixels to decode safely ({exc}). Scale it down and try again."


def _not_an_image(data: bytes, name: str) -> str:
    """Why ``data`` is no image, and what to do with what it is instead."""
    mime = sniff_mime(data) or "application/octet-stream"
    if not data:
        return f"{name!r} is empty (0 bytes); attach the image file itself."
    if mime == "application/pdf":
        return (
            f"{name!r} is a PDF, not an image; render its pages with pdf_pages() "
            "(or pass it to prepare_file(), which does)."
        )
    if _is_svg(data):
        return (
            f"{name!r} is an SVG drawing; the services take only raster images. Rasterise it first "
            "(e.g. export it as PNG from your editor, or with Inkscape or cairosvg) and attach the PNG."
        )
    if mime.startswith(("audio/", "video/")):
        return (
            f"{name!r} is {mime}, not an image; pass it to prepare_audio() "
            "(or prepare_file(), which picks the helper by content)."
        )
    if mime in _PILLOW_KINDS:
        return _damaged(name, mime, "its header cannot be read")
    if mime.startswith("image/"):
        return (
            f"{name!r} is {mime}, an image format that cannot be read here; convert it to PNG or JPEG first."
        )
    return f"{name!r} ({mime}) is not an image Pillow can read. Use a PNG, JPEG, WEBP or GIF file."


def _is_svg(data: bytes) -> bool:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<") and b"<svg" in head.lower()


def image_info(source: Attachment | str | bytes) -> ImageInfo:
    """MIME type, width, height and frame count of an image (decoded, so damage is found)."""
    att = Attachment.coerce(source)
    image = open_image(att)
    return ImageInfo(att.mime_type, image.width, image.height, getattr(image, "n_frames", 1))


def prepare_image(
    source: Attachment | str | bytes,
    detail: str = "auto",
    *,
    original: bool = False,
    max_bytes: int = MAX_IMAGE_BYTES,
    jpeg_quality: int = 85,
) -> Attachment:
    """Return an attachment the chat APIs accept, holding no pixels the service throws away.

    * PNG, JPEG, WEBP and still GIF pass through unchanged when they need no resizing,
      no EXIF rotation and are within ``max_bytes``.
    * Other formats (BMP, TIFF, ...) are converted to PNG (lossless).
    * EXIF orientation is applied; an animated GIF becomes its first frame, with a warning.
    * The image is resized to :func:`helpers.tokens.service_size` for ``detail``
      (``low`` fits 512x512; ``high``/``auto`` fit 2048x2048 then a short side of 768),
      unless ``original=True``. PNG stays PNG; JPEG is written at ``jpeg_quality``.
    """
    check_detail(detail)
    if not 1 <= jpeg_quality <= 100:
        raise UnsupportedFormatError(f"jpeg_quality={jpeg_quality} is out of range; use 1 to 100.")
    att = Attachment.coerce(source)
    image = open_image(att)
    mime = att.mime_type
    changed = mime not in IMAGE_MIME_TYPES

    if getattr(image, "is_animated", False):
        warnings.warn(
            f"{att.name!r} is an animated GIF; the services take still images, so only its first "
            "frame is sent.",
            stacklevel=2,
        )
        image.seek(0)
        image = image.convert("RGBA")
        changed = True
    if _has_rotation(image):
        image, changed = ImageOps.exif_transpose(image), True

    if not original:
        target = service_size(image.width, image.height, detail)
        if target != image.size:
            image = image.resize(target, Image.Resampling.LANCZOS)
            changed = True

    if not changed:
        att.check_size(max_bytes, "image")
        return att
    out_format = "JPEG" if mime == "image/jpeg" else ("WEBP" if mime == "image/webp" else "PNG")
    result = Attachment(content=_encode(image, out_format, jpeg_quality), name=_renamed(att.name, out_format))
    result.check_size(max_bytes, "image")
    return result


def _has_rotation(image: Image.Image) -> bool:
    orientation = image.getexif().get(0x0112, 1)
    return orientation not in (None, 1)


def _encode(image: Image.Image, fmt: str, jpeg_quality: int) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(buffer, "JPEG", quality=jpeg_quality, optimize=True)
    elif fmt == "WEBP":
        image.save(buffer, "WEBP", quality=jpeg_quality)
    else:
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P", "1", "I;16"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        image.save(buffer, "PNG", optimize=False)
    return buffer.getvalue()


def _renamed(name: str | None, fmt: str) -> str:
    stem = (name or "image").rsplit(".", 1)[0]
    return f"{stem}.{ {'JPEG': 'jpg', 'WEBP': 'webp', 'PNG': 'png'}[fmt] }"
