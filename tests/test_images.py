"""prepare_image: pass-through, conversion, EXIF, animated GIF, resizing, limits."""

import io
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageFile

from helpers import Attachment, TooLargeError, UnsupportedFormatError, image_info, prepare_file, prepare_image
from helpers.images import image_size
from helpers.limits import MAX_IMAGE_PIXELS

from .conftest import image_bytes

DATA = Path(__file__).resolve().parents[1] / "data"


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
    with pytest.raises(UnsupportedFormatError) as err:
        prepare_image(Attachment(content=data, name="cut.png"))
    assert str(err.value) == (
        "'cut.png' is a truncated or damaged PNG image (image file is truncated); "
        "re-export or re-download it, or use another file."
    )


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` 1-bit pixels and holds no pixel data at all."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")


def two_frame_gif() -> bytes:
    noise = Image.frombytes("L", (120, 80), (bytes(range(256)) * 38)[:9600]).convert("RGB")
    buffer = io.BytesIO()
    noise.save(buffer, "GIF", save_all=True, append_images=[noise.rotate(180)])
    return buffer.getvalue()


def test_image_size_reads_the_header_only(monkeypatch):
    def no_decoding(self):
        raise AssertionError("image_size decoded pixels")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    assert image_size(image_bytes("JPEG", (300, 200)), "a.jpg") == (300, 200, 1)
    assert image_size(two_frame_gif(), "spin.gif") == (120, 80, 2)
    assert image_size(png_header(8000, 8000), "big.png") == (8000, 8000, 1)  # exactly the budget


@pytest.mark.parametrize("source", ["bytes", "prepare_image", "image_info"])
def test_pixel_budget_is_checked_before_decoding(monkeypatch, source):
    def no_decoding(self):
        raise AssertionError("a pixel bomb was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    bomb = png_header(20000, 20000)
    with pytest.raises(TooLargeError) as err:
        if source == "bytes":
            image_size(bomb, "bomb.png")
        else:
            {"prepare_image": prepare_image, "image_info": image_info}[source](
                Attachment(content=bomb, name="bomb.png")
            )
    assert str(err.value) == (
        "'bomb.png' is 20000x20000 = 400,000,000 pixels; the limit is 64,000,000 pixels per image "
        "(MAX_IMAGE_PIXELS). Scale it down (the services shrink every image to fit 2048x2048 anyway) "
        "and try again."
    )
    assert MAX_IMAGE_PIXELS == 64_000_000
    with pytest.raises(TooLargeError, match=r"^'wide.png' is 8001x8000 = 64,008,000 pixels; the limit"):
        image_size(png_header(8001, 8000), "wide.png")


def test_the_budget_does_not_depend_on_pillows_global(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # another library switched Pillow's check off
    with pytest.raises(TooLargeError, match=r"^'bomb.png' is 15000x15000 = 225,000,000 pixels;"):
        image_size(png_header(15000, 15000), "bomb.png")


def test_importing_helpers_images_leaves_pillows_global_alone():
    code = (
        "from PIL import Image; before = Image.MAX_IMAGE_PIXELS; import helpers.images; "
        "print(before == Image.MAX_IMAGE_PIXELS)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout == "True\n"


@pytest.mark.parametrize("check", [prepare_image, image_info])
def test_truncated_jpeg(check):
    data = (DATA / "photo.jpg").read_bytes()[:28000]
    with pytest.raises(UnsupportedFormatError) as err:
        check(Attachment(content=data, name="photo.jpg"))
    assert str(err.value) == (
        "'photo.jpg' is a truncated or damaged JPEG image (image file is truncated (15 bytes not "
        "processed)); re-export or re-download it, or use another file."
    )


@pytest.mark.parametrize("check", [prepare_image, image_info])
@pytest.mark.parametrize("keep", [0.3, 0.8])  # inside the first frame; inside the second one
def test_truncated_gif(check, keep):
    data = two_frame_gif()
    with pytest.raises(UnsupportedFormatError) as err:
        check(Attachment(content=data[: int(len(data) * keep)], name="spin.gif"))
    assert str(err.value) == (
        "'spin.gif' is a truncated or damaged GIF image (it ends before its trailer); re-export or "
        "re-download it, or use another file."
    )


SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>\n'


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "report.pdf",
            "'report.pdf' is a PDF, not an image; render its pages with pdf_pages() "
            "(or pass it to prepare_file(), which does).",
        ),
        (
            "logo.svg",
            "'logo.svg' is an SVG drawing; the services take only raster images. Rasterise it first "
            "(e.g. export it as PNG from your editor, or with Inkscape or cairosvg) and attach the PNG.",
        ),
        (
            "hello.wav",
            "'hello.wav' is audio/wav, not an image; pass it to prepare_audio() "
            "(or prepare_file(), which picks the helper by content).",
        ),
        ("empty.png", "'empty.png' is empty (0 bytes); attach the image file itself."),
        (
            "header.png",
            "'header.png' is a truncated or damaged PNG image (Truncated File Read); "
            "re-export or re-download it, or use another file.",
        ),
        (
            "photo.heic",
            "'photo.heic' is image/heic, an image format that cannot be read here; convert it to PNG "
            "or JPEG first.",
        ),
    ],
)
def test_other_kinds_say_what_they_are_and_what_to_do(name, message):
    data = {
        "report.pdf": (DATA / "report.pdf").read_bytes(),
        "logo.svg": SVG,
        "hello.wav": (DATA / "hello.wav").read_bytes(),
        "empty.png": b"",
        "header.png": image_bytes("PNG")[:20],
        "photo.heic": b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + bytes(64),
    }[name]
    for check in (prepare_image, image_info):
        with pytest.raises(UnsupportedFormatError) as err:
            check(Attachment(content=data, name=name))
        assert str(err.value) == message
    with pytest.raises(UnsupportedFormatError) as err:
        image_size(data, name)
    assert str(err.value) == message


def image_info_of(mime, width, height):
    from helpers.images import ImageInfo

    return ImageInfo(mime, width, height, 1)


def test_prepare_file_says_the_same_of_an_svg():
    with pytest.raises(UnsupportedFormatError) as err:
        prepare_file(Attachment(content=SVG, name="logo.svg"))
    assert str(err.value) == (
        "'logo.svg' is an SVG drawing; the services take only raster images. Rasterise it first "
        "(e.g. export it as PNG from your editor, or with Inkscape or cairosvg) and attach the PNG."
    )
