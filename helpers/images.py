"""Images: check, normalise and resize to what the service keeps, before upload."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from .attachments import Attachment
from .errors import TooLargeError, UnsupportedFormatError
from .limits import IMAGE_MIME_TYPES, MAX_IMAGE_BYTES
from .tokens import check_detail, service_size

#: Refuse images whose pixel count would make decoding a memory bomb (about 180 MP).
Image.MAX_IMAGE_PIXELS = 180_000_000


@dataclass(frozen=True)
class ImageInfo:
    """What an image is: its sniffed MIME type, pixel size and frame count."""

    mime_type: str
    width: int
    height: int
    frames: int = 1


def open_image(att: Attachment) -> Image.Image:
    """Decode an attachment with Pillow, raising UnsupportedFormatError when it is not an image."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(att.content_bytes()))
            image.load()
    except UnidentifiedImageError as exc:
        raise UnsupportedFormatError(
            f"{att.name!r} ({att.mime_type}) is not an image Pillow can read. "
            "Use a PNG, JPEG, WEBP or GIF file."
        ) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooLargeError(
            f"{att.name!r} has too many pixels to open safely ({exc}). Scale it down first."
        ) from exc
    except OSError as exc:
        raise UnsupportedFormatError(
            f"{att.name!r} looks like an image but is damaged ({exc}). Re-export it or use another file."
        ) from exc
    return image


def image_info(source: Attachment | str | bytes) -> ImageInfo:
    """MIME type, width, height and frame count of an image."""
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
