"""Attachment: sniffed MIME types, data URLs, bad inputs."""

import base64

import pytest

from helpers import Attachment, InputError, TooLargeError, sniff_mime
from helpers.attachments import parse_data_url

from .conftest import image_bytes


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [
        ("PNG", "image/png"),
        ("JPEG", "image/jpeg"),
        ("GIF", "image/gif"),
        ("WEBP", "image/webp"),
        ("BMP", "image/bmp"),
        ("TIFF", "image/tiff"),
    ],
)
def test_sniff_images(fmt, mime):
    assert sniff_mime(image_bytes(fmt)) == mime


def test_name_is_never_trusted(tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(image_bytes("JPEG"))
    att = Attachment(path)
    assert att.mime_type == "image/jpeg"
    assert att.data_url().startswith("data:image/jpeg;base64,/9j/")
    assert att.name == "photo.png"


def test_data_url_round_trip():
    data = image_bytes("PNG")
    att = Attachment.from_bytes(data)
    assert att.data_url() == "data:image/png;base64," + base64.b64encode(data).decode()
    assert parse_data_url(att.data_url()) == ("image/png", data)
    again = Attachment.from_url(att.data_url())
    assert again.content_bytes() == data and again.url is None


def test_unknown_bytes_are_octet_stream():
    assert Attachment(content=b"just some text").mime_type == "application/octet-stream"


def test_coerce_kinds(tmp_path):
    path = tmp_path / "a.gif"
    path.write_bytes(image_bytes("GIF"))
    assert Attachment.coerce(str(path)).mime_type == "image/gif"
    assert Attachment.coerce(path.read_bytes()).mime_type == "image/gif"
    assert Attachment.coerce("https://example.com/cat.jpg").url == "https://example.com/cat.jpg"
    with pytest.raises(
        InputError, match=r"Cannot attach a int; pass a file path, a URL, bytes or an Attachment\."
    ):
        Attachment.coerce(3)


def test_bad_inputs(tmp_path):
    with pytest.raises(
        InputError, match=r"File '.*missing\.png' does not exist or is not a file; check the path\."
    ):
        Attachment(tmp_path / "missing.png")
    with pytest.raises(InputError, match=r"exactly one of path=, content= or url=; got \['content', 'url'\]"):
        Attachment(content=b"x", url="https://example.com/x")
    with pytest.raises(
        InputError, match=r"URL 'ftp://x/y\.png' must start with http://, https:// or data:\."
    ):
        Attachment(url="ftp://x/y.png")
    with pytest.raises(
        InputError, match=r"is not a base64 data URL; expected 'data:<mime type>;base64,<data>'"
    ):
        Attachment(url="data:image/png,rawtext")
    with pytest.raises(InputError, match=r"The base64 data in 'data:image/png;base64,@@@' is not valid"):
        Attachment(url="data:image/png;base64,@@@")
    with pytest.raises(InputError, match=r"content= must be bytes, not str; read the file in 'rb' mode\."):
        Attachment(content="text")


def test_size_limit_message():
    att = Attachment(content=b"\0" * 3 * 1048576, name="big.png")
    with pytest.raises(TooLargeError) as err:
        att.check_size(2 * 1048576, "image")
    assert str(err.value) == (
        "Image 'big.png' is 3 MB; the limit is 2 MB. Make it smaller (resize, lower dpi or quality, "
        "or cut it) or raise the limit if your service allows more."
    )
