"""prepare_image: pass-through, conversion, EXIF, animated GIF, resizing, limits."""

import io
import warnings

import pytest
from PIL import Image

from helpers import Attachment, TooLargeError, UnsupportedFormatError, image_info, prepare_image

from .conftest import image_bytes


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
def test_accepted_formats_within_limits_pass_through_unchanged(fmt):
    att = Attachment(content=image_bytes(fmt, (300, 200)))
    assert prepare_image(att) is att


@pytest.mark.parametrize(("fmt", "size"), [("BMP", (64, 48)), ("TIFF", (64, 48))])
def test_other_formats_become_png(fmt, size):
    out = prepare_image(Attachment(content=image_bytes(fmt, size), name="scan.tiff"))
    assert out.mime_type == "image/png"
    assert out.name == "scan.png"
    assert Image.open(io.BytesIO(out.content_bytes())).getpixel((0, 0)) == (255, 0, 0)  # lossless


def test_resize_to_what_the_service_keeps():
    big = Attachment(content=image_bytes("PNG", (4000, 3000)), name="big.png")
    assert image_info(prepare_image(big, "high")) == image_info_of("image/png", 1024, 768)
    assert image_info(prepare_image(big, "low")) == image_info_of("image/png", 512, 384)
    assert prepare_image(big, "high", original=True) is big


def test_jpeg_stays_jpeg_with_settable_quality():
    big = Attachment(content=image_bytes("JPEG", (3000, 3000)))
    small = prepare_image(big, "high", jpeg_quality=30)
    better = prepare_image(big, "high", jpeg_quality=95)
    assert small.mime_type == better.mime_type == "image/jpeg"
    assert image_info(small).width == 768
    assert small.size < better.size


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (300, 200), "white")
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    out = prepare_image(buffer.getvalue())
    assert (image_info(out).width, image_info(out).height) == (200, 300)


def test_animated_gif_becomes_first_frame_with_warning():
    frames = [Image.new("RGB", (20, 20), c) for c in ("red", "green", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = prepare_image(Attachment(content=buffer.getvalue(), name="spin.gif"))
    assert [str(w.message) for w in caught] == [
        "'spin.gif' is an animated GIF; the services take still images, so only its first frame is sent."
    ]
    assert image_info(out) == image_info_of("image/png", 20, 20)
    assert Image.open(io.BytesIO(out.content_bytes())).convert("RGB").getpixel((5, 5)) == (255, 0, 0)


def test_size_limit():
    att = Attachment(content=image_bytes("PNG", (400, 400)), name="a.png")
    with pytest.raises(
        TooLargeError, match=r"^Image 'a.png' is 1 KB; the limit is 100 bytes. Make it smaller"
    ):
        prepare_image(att, max_bytes=100)


def test_not_an_image():
    with pytest.raises(UnsupportedFormatError) as err:
        prepare_image(Attachment(content=b"plain text", name="notes.png"))
    assert str(err.value) == (
        "'notes.png' (application/octet-stream) is not an image Pillow can read. Use a PNG, JPEG, WEBP or GIF file."
    )


def test_truncated_image():
    data = image_bytes("PNG", (200, 200))[:80]
    with pytest.raises(UnsupportedFormatError, match=r"'cut.png' looks like an image but is damaged"):
        prepare_image(Attachment(content=data, name="cut.png"))


def image_info_of(mime, width, height):
    from helpers.images import ImageInfo

    return ImageInfo(mime, width, height, 1)
