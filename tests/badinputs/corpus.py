"""The corpus of bad inputs: each entry made in memory, deterministically, with how to send it and what
must come back.

An :class:`Entry` is one input: an id, what it is, how it is made (:attr:`Entry.make`, given a
:class:`Ctx` that knows the servers' addresses) and what must happen on each channel that can express
it:

* ``client``: the client helpers of its kind (:data:`CLIENT_HELPERS`: ``prepare_image``,
  ``image_info``, ``prepare_file``, ``pdf_pages``, ``prepare_audio``, ``Attachment(url=...)``) raise a
  subclass of :class:`helpers.errors.InputError` whose message names the input, or accept it;
* ``openai``: the openai SDK (``max_retries=0``) on ``/v1``;
* ``inference``: azure-ai-inference's ``ChatCompletionsClient`` on ``/models``;
* ``http``: raw httpx: files on the Azure classic routes (chat, and Whisper for audio), JSON bodies
  on the Azure v1 route, header entries exactly as written.

A server expectation (:class:`Expect`) is a status (4xx for a bad input, 200 for an odd input that
must be accepted, never 500), the error code when it is a known one, and a substring of the message
that names the input: the parameter path, the file name, the header or the value. Nothing is read
from disk but the committed samples ``data/photo.jpg`` and ``data/hello.wav``/``hello.mp3``.
"""

from __future__ import annotations

import base64
import io
import json
import random
import struct
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

from helpers.errors import DownloadError, InputError, PdfError, TooLargeError, UnsupportedFormatError

DATA = Path(__file__).resolve().parents[2] / "data"
MODEL = "gpt-4o"
API_VERSION = "2025-01-01-preview"
KEY = "badinputs-key-0123456789"
#: The fetch deadline the URL entries run with (seconds; the real one is 10): the slow server below
#: sends a byte a second for SLOW_SECONDS, longer than this, so a working deadline ends the download.
SHORT_DEADLINE = 2.0
SLOW_SECONDS = 6

IMAGE_PARAM = "messages[0].content[0].image_url.url"
AUDIO_PARAM = "messages[0].content[0].input_audio.data"

Kind = Literal["image", "dataurl", "url", "pdf", "audio", "json", "request"]
Channel = Literal["openai", "inference", "http"]
CHANNELS: tuple[Channel, ...] = ("openai", "inference", "http")
#: The client helpers each kind goes through.
CLIENT_HELPERS: dict[str, tuple[str, ...]] = {
    "image": ("prepare_image", "image_info", "prepare_file"),
    "dataurl": ("attachment", "prepare_image"),
    "url": ("prepare_image",),
    "pdf": ("pdf_pages", "prepare_file"),
    "audio": ("prepare_audio", "prepare_file"),
}


# --- expectations --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """What the server must answer: ``status``, ``code`` (when known) and a message naming the input."""

    status: int
    code: str | None = None
    names: str | None = None  # the message must contain it: the param path, file name, header or value
    says: str | None = None  # and this, when given: what the input is or what to do
    headers: dict[str, str] = field(default_factory=dict)  # response headers that must have these values


ACCEPTED = Expect(200)


@dataclass(frozen=True)
class Refuse:
    """What a client helper must raise: ``error`` (an InputError subclass) with ``names`` in its message."""

    error: type[InputError]
    names: str
    says: str | None = None


ClientExpect = Refuse | Literal["accept"]


@dataclass(frozen=True)
class Raw:
    """An exact HTTP request; ``keyed`` sends it to the local host that requires :data:`KEY`."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""
    keyed: bool = False


@dataclass(frozen=True)
class Payload:
    """The made input: a file (``data``, ``name``, ``fmt``), an image URL, a JSON body or a raw request."""

    data: bytes = b""
    name: str = ""
    mime: str = ""  # the MIME type a file's data URL declares
    fmt: str = ""  # the input_audio format declared for a clip
    url: str = ""
    body: bytes = b""
    route: str = "chat"  # of a JSON body: chat or responses
    request: Raw | None = None
    openai_call: Callable[[Ctx], Any] | None = None
    inference_call: Callable[[Ctx], Any] | None = None


@dataclass(frozen=True)
class Entry:
    """One bad input: how it is made and what each channel must do with it."""

    id: str
    what: str
    kind: Kind
    make: Callable[[Ctx], Payload]
    client: ClientExpect | dict[str, ClientExpect] | None = None  # by helper name; "*" for the rest
    server: dict[str, Expect] = field(default_factory=dict)  # by channel; absent: not expressible

    def client_expect(self, helper: str) -> ClientExpect | None:
        """The expectation of one client helper."""
        if isinstance(self.client, dict):
            return self.client.get(helper, self.client.get("*"))
        return self.client


def everywhere(expect: Expect, **by_channel: Expect | None) -> dict[str, Expect]:
    """``expect`` on every channel, except those given (None: not sent there)."""
    chosen = {channel: by_channel.get(channel, expect) for channel in CHANNELS}
    return {channel: value for channel, value in chosen.items() if value is not None}


# --- the servers an entry is sent to -------------------------------------------------------------


@dataclass
class Ctx:
    """Where to send: the local host, one that requires KEY, and the loopback file server."""

    root: str
    keyed_root: str
    files: str

    def openai(self, root: str | None = None, key: str = "anything") -> Any:
        import openai

        return openai.OpenAI(base_url=f"{root or self.root}/v1", api_key=key, max_retries=0, timeout=120)

    def inference(self, root: str | None = None, key: str = "anything") -> Any:
        from azure.ai.inference import ChatCompletionsClient
        from azure.core.credentials import AzureKeyCredential

        return ChatCompletionsClient(
            endpoint=f"{root or self.root}/models",
            credential=AzureKeyCredential(key),
            model="local-multimodal",
            retry_total=0,
        )


class FileServer:
    """A loopback HTTP server for the URL entries: ``/ok.png`` (a PNG), ``/missing.png`` (404),
    ``/moved.png`` (302 to /ok.png) and ``/slow.png`` (a byte a second for SLOW_SECONDS, then it hangs up)."""

    def __init__(self) -> None:
        png = tiny_png()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if self.path == "/ok.png":
                    self._send(200, png, "image/png")
                elif self.path == "/moved.png":
                    self.send_response(302)
                    self.send_header("Location", "/ok.png")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif self.path == "/slow.png":
                    self.send_response(200)
                    self.send_header("Content-Type", "image/png")
                    self.send_header("Content-Length", str(len(png)))
                    self.end_headers()
                    try:
                        for byte in png[:SLOW_SECONDS]:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(1)
                    except OSError:
                        pass  # the client gave up
                    self.close_connection = True
                else:
                    self._send(404, b"not here", "text/plain")

            def _send(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True, name="badinputs-files")
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --- makers: images ------------------------------------------------------------------------------


def _pillow(image: Any, fmt: str, **save: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def tiny_png(size: tuple[int, int] = (32, 24), colour: str = "navy") -> bytes:
    """A small plain PNG."""
    from PIL import Image

    return _pillow(Image.new("RGB", size, colour), "PNG")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@cache
def blank_png(width: int, height: int, extra: bytes = b"") -> bytes:
    """A 1-bit black PNG of any size, written row by row without holding its pixels: a 15000x15000 one
    is 27 KB, a pixel bomb. ``extra`` is put before the image data (e.g. an iTXt chunk)."""
    row = b"\0" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + extra + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


@cache
def huge_itxt_png() -> bytes:
    """A 64x48 PNG with a compressed iTXt chunk that inflates to 64 MB of spaces (a text bomb)."""
    packer = zlib.compressobj(9)
    text = b"".join(packer.compress(b" " * (1 << 20)) for _ in range(64)) + packer.flush()
    itxt = b"Comment\0" + b"\1\0" + b"\0" + b"\0" + text  # compressed, zlib, no language, no translation
    return blank_png(64, 48, _chunk(b"iTXt", itxt))


def noise_gif(cut: float | None = None) -> bytes:
    """A 64x48 GIF of seeded noise (so its LZW data is long), cut to ``cut`` of its length."""
    from PIL import Image

    rng = random.Random(7)
    image = Image.frombytes("P", (64, 48), bytes(rng.randrange(256) for _ in range(64 * 48)))
    image.putpalette([rng.randrange(256) for _ in range(768)])
    data = _pillow(image, "GIF")
    return data if cut is None else data[: int(len(data) * cut)]


def animated_gif() -> bytes:
    """Two frames: red, then blue."""
    from PIL import Image

    frames = [Image.new("RGB", (40, 30), colour) for colour in ("red", "blue")]
    return _pillow(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=200, loop=0)


def special_image(mode: str, fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    """A plain image in Pillow ``mode`` (CMYK, I;16 ...) saved as ``fmt``."""
    from PIL import Image

    return _pillow(Image.new(mode, size, 1000 if mode == "I;16" else 90), fmt)


def wide_png() -> bytes:
    """60000x8: within the pixel budget (480,000 pixels) but 7500 times wider than high."""
    from PIL import Image

    return _pillow(Image.new("L", (60000, 8), 255), "PNG")


def random_bytes(n: int = 4096, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(n)


SVG = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="64" height="48">'
    b'<rect width="64" height="48" fill="red"/><text x="4" y="30">Hi</text></svg>\n'
)


# --- makers: PDFs --------------------------------------------------------------------------------


@cache
def pdf_bytes(encrypt: bool = False) -> bytes:
    """A two-page PDF with a line of text on each page; encrypted with a user password when asked."""
    import pymupdf

    doc = pymupdf.open()
    for number in (1, 2):
        page = doc.new_page(width=300, height=200)
        page.insert_text((20, 60), f"Page {number} of the bad inputs corpus.", fontsize=12)
    options: dict[str, Any] = {"garbage": 3, "deflate": True, "no_new_id": True}
    if encrypt:
        options.update(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="user-pw", owner_pw="owner-pw")
    data = doc.tobytes(**options)
    doc.close()
    return data


def zero_page_pdf() -> bytes:
    """A well-formed PDF whose page tree is empty (MuPDF will not save one, so it is written here)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def garbled_pdf() -> bytes:
    """The two-page PDF with its middle third overwritten by seeded random bytes."""
    data = bytearray(pdf_bytes())
    third = len(data) // 3
    data[third : 2 * third] = random_bytes(third, seed=3)
    return bytes(data)


# --- makers: audio -------------------------------------------------------------------------------


def wav(frames: int, rate: int = 22050, declared_frames: int | None = None) -> bytes:
    """A 16-bit mono wav of ``frames`` frames of silence; with ``declared_frames`` the header claims
    that many frames and none follow it (a header-only file)."""
    claimed = (frames if declared_frames is None else declared_frames) * 2
    header = (
        b"RIFF"
        + struct.pack("<I", 36 + claimed)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", claimed)
    )
    return header + (b"\0\0" * frames if declared_frames is None else b"")


def video_only_mp4() -> bytes:
    """An MP4 holding ten frames of MPEG-4 video and no audio stream."""
    import av

    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(10):
            frame = av.VideoFrame(64, 48, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes([index * 20]) * plane.buffer_size)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


# --- makers: JSON bodies -------------------------------------------------------------------------


def chat_body(**fields: Any) -> dict[str, Any]:
    """A valid chat body with ``fields`` replaced."""
    return {"model": MODEL, "messages": [{"role": "user", "content": "Hello there"}], **fields}


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def with_raw(body: dict[str, Any], key: str, raw_json: str) -> bytes:
    """``body`` as JSON with ``"key": <raw_json>`` added verbatim (for what json.dumps cannot write)."""
    return dumps(body)[:-1] + f', "{key}": {raw_json}}}'.encode()


# --- makers of payloads ---------------------------------------------------------------------------


def data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _file(
    make: Callable[[], bytes], name: str, mime: str = "image/png", fmt: str = ""
) -> Callable[[Ctx], Payload]:
    return lambda ctx: Payload(data=make(), name=name, mime=mime, fmt=fmt)


def _url(url: str | Callable[[Ctx], str]) -> Callable[[Ctx], Payload]:
    return lambda ctx: Payload(url=url(ctx) if callable(url) else url)


def _json(make: Callable[[], bytes | dict[str, Any]], route: str = "chat") -> Callable[[Ctx], Payload]:
    def payload(ctx: Ctx) -> Payload:
        body = make()
        return Payload(body=body if isinstance(body, bytes) else dumps(body), route=route)

    return payload


def _photo_cut() -> bytes:
    return (DATA / "photo.jpg").read_bytes()[:28000]


def _mp3_cut() -> bytes:
    return (DATA / "hello.mp3").read_bytes()[:300]


def _hello_wav() -> bytes:
    return (DATA / "hello.wav").read_bytes()


# --- the entries ---------------------------------------------------------------------------------

UNSUPPORTED = "invalid_image_format"


def _image_entries() -> list[Entry]:
    bad_image = Expect(400, UNSUPPORTED, IMAGE_PARAM)
    damaged = Expect(400, "invalid_image", IMAGE_PARAM)
    return [
        Entry(
            "image_truncated_jpeg",
            "data/photo.jpg cut at 28000 of its 56155 bytes",
            "image",
            _file(_photo_cut, "photo-cut.jpg", "image/jpeg"),
            Refuse(UnsupportedFormatError, "photo-cut.jpg", says="truncated"),
            everywhere(damaged),
        ),
        Entry(
            "image_truncated_gif",
            "a 64x48 noise GIF cut at 60% of its bytes",
            "image",
            _file(lambda: noise_gif(0.6), "noise-cut.gif", "image/gif"),
            Refuse(UnsupportedFormatError, "noise-cut.gif", says="truncated"),
            everywhere(damaged),
        ),
        Entry(
            "image_60000x8_png",
            "a 60000x8 PNG: few pixels, extreme aspect ratio",
            "image",
            _file(wide_png, "wide.png"),
            "accept",  # the services shrink it; only the local host's text detection cannot read it
            everywhere(Expect(400, "invalid_value", "60000x8", "too elongated to read")),
        ),
        Entry(
            "image_15000x15000_png_27kb",
            "a 27 KB 1-bit PNG of 15000x15000 (225 M pixels): a pixel bomb",
            "image",
            _file(lambda: blank_png(15000, 15000), "bomb15k.png"),
            Refuse(TooLargeError, "bomb15k.png", says="pixels"),
            everywhere(Expect(400, None, IMAGE_PARAM, says="pixels")),
        ),
        Entry(
            "image_20000x20000_png_bomb",
            "a 48 KB 1-bit PNG of 20000x20000 (400 M pixels), over Pillow's own bomb limit",
            "image",
            _file(lambda: blank_png(20000, 20000), "bomb20k.png"),
            Refuse(TooLargeError, "bomb20k.png", says="pixels"),
            everywhere(Expect(400, None, IMAGE_PARAM, says="pixels")),
        ),
        Entry(
            "image_9000x9000_png",
            "a 10 KB PNG of 9000x9000 (81 M pixels): over MAX_IMAGE_PIXELS (64 M), under Pillow's limit",
            "image",
            _file(lambda: blank_png(9000, 9000), "big9k.png"),
            Refuse(TooLargeError, "big9k.png", says="pixels"),
            everywhere(Expect(400, None, IMAGE_PARAM, says="pixels")),
        ),
        Entry(
            "image_zero_bytes",
            "an empty file",
            "image",
            _file(lambda: b"", "empty.png"),
            {
                "prepare_file": Refuse(UnsupportedFormatError, "empty.png"),
                "*": Refuse(UnsupportedFormatError, "empty.png", says="empty"),
            },
            everywhere(Expect(400, "invalid_value", IMAGE_PARAM)),
        ),
        Entry(
            "image_random_bytes",
            "4096 seeded random bytes",
            "image",
            _file(random_bytes, "noise.png"),
            Refuse(UnsupportedFormatError, "noise.png"),
            everywhere(bad_image),
        ),
        Entry(
            "image_svg",
            "an SVG drawing (a vector format the services do not take)",
            "image",
            _file(lambda: SVG, "drawing.svg", "image/svg+xml"),
            Refuse(UnsupportedFormatError, "drawing.svg", says="SVG"),
            everywhere(bad_image),
        ),
        Entry(
            "image_is_pdf",
            "a PDF sent as an image (data:image/png)",
            "image",
            _file(pdf_bytes, "report.png"),
            {"prepare_file": "accept", "*": Refuse(UnsupportedFormatError, "report.png", says="PDF")},
            everywhere(bad_image),
        ),
        Entry(
            "image_animated_gif",
            "a two-frame animated GIF (the client keeps the first frame; the services refuse it)",
            "image",
            _file(animated_gif, "anim.gif", "image/gif"),
            "accept",
            everywhere(bad_image),
        ),
        Entry(
            "image_1x1_png",
            "a 1x1 PNG",
            "image",
            _file(lambda: tiny_png((1, 1)), "dot.png"),
            "accept",
            everywhere(ACCEPTED),
        ),
        Entry(
            "image_cmyk_jpeg",
            "a CMYK JPEG",
            "image",
            _file(lambda: special_image("CMYK", "JPEG"), "cmyk.jpg", "image/jpeg"),
            "accept",
            everywhere(ACCEPTED),
        ),
        Entry(
            "image_16bit_png",
            "a 16-bit greyscale PNG",
            "image",
            _file(lambda: special_image("I;16", "PNG"), "deep.png"),
            "accept",
            everywhere(ACCEPTED),
        ),
        Entry(
            "image_png_huge_itxt",
            "a 64x48 PNG with an iTXt chunk that inflates to 64 MB (a text bomb in the metadata)",
            "image",
            _file(huge_itxt_png, "itxt.png"),
            Refuse(UnsupportedFormatError, "itxt.png"),
            everywhere(damaged),
        ),
        Entry(
            "image_bmp",
            "a BMP (the client converts it to PNG; the services refuse it)",
            "image",
            _file(lambda: special_image("RGB", "BMP"), "plain.bmp", "image/bmp"),
            "accept",
            everywhere(bad_image),
        ),
    ]


def _data_url_entries() -> list[Entry]:
    png = base64.b64encode(tiny_png()).decode()
    return [
        Entry(
            "dataurl_wrong_declared_mime",
            "a data URL declaring image/gif that holds a PNG (the bytes decide)",
            "dataurl",
            _url(f"data:image/gif;base64,{png}"),
            "accept",
            everywhere(ACCEPTED),
        ),
        Entry(
            "dataurl_not_image_mime",
            "a data URL declaring text/plain that holds a PNG",
            "dataurl",
            _url(f"data:text/plain;base64,{png}"),
            "accept",
            everywhere(Expect(400, "invalid_value", IMAGE_PARAM, says="text/plain")),
        ),
        Entry(
            "dataurl_not_base64",
            "a data URL whose base64 holds characters outside the alphabet",
            "dataurl",
            _url(f"data:image/png;base64,{png[:40]}!!**{png[40:]}"),
            Refuse(InputError, "data:image/png;base64,", says="base64"),
            everywhere(Expect(400, "invalid_value", IMAGE_PARAM, says="base64")),
        ),
        Entry(
            "dataurl_without_base64",
            "a data URL without ';base64' (percent-encoded bytes)",
            "dataurl",
            _url("data:image/png,%89PNG%0D%0A%1A%0A"),
            Refuse(InputError, "data:image/png,", says="base64"),
            everywhere(Expect(400, "invalid_value", IMAGE_PARAM, says="base64")),
        ),
        Entry(
            "dataurl_empty",
            "a data URL with no data after the comma",
            "dataurl",
            _url("data:image/png;base64,"),
            {
                "attachment": "accept",
                "prepare_image": Refuse(UnsupportedFormatError, "attachment", says="empty"),
            },
            everywhere(Expect(400, "invalid_value", IMAGE_PARAM, says="empty")),
        ),
    ]


def _pdf_entries() -> list[Entry]:
    return [
        Entry(
            "pdf_truncated",
            "the two-page PDF cut at half its bytes",
            "pdf",
            _file(lambda: pdf_bytes()[: len(pdf_bytes()) // 2], "cut.pdf", "application/pdf"),
            Refuse(PdfError, "cut.pdf"),
        ),
        Entry(
            "pdf_garbled_middle",
            "the two-page PDF with its middle third overwritten by random bytes",
            "pdf",
            _file(garbled_pdf, "garbled.pdf", "application/pdf"),
            Refuse(PdfError, "garbled.pdf"),
        ),
        Entry(
            "pdf_encrypted",
            "the two-page PDF encrypted with a user password, opened without one",
            "pdf",
            _file(lambda: pdf_bytes(encrypt=True), "locked.pdf", "application/pdf"),
            Refuse(PdfError, "locked.pdf", says="password"),
        ),
        Entry(
            "pdf_zero_pages",
            "a well-formed PDF with an empty page tree",
            "pdf",
            _file(zero_page_pdf, "empty.pdf", "application/pdf"),
            Refuse(PdfError, "empty.pdf", says="no pages"),
        ),
        Entry(
            "pdf_not_a_pdf",
            "seeded random bytes named .pdf",
            "pdf",
            _file(lambda: random_bytes(2048, seed=5), "fake.pdf", "application/pdf"),
            {
                "pdf_pages": Refuse(PdfError, "fake.pdf"),
                "prepare_file": Refuse(UnsupportedFormatError, "fake.pdf"),
            },
        ),
    ]


def _audio_entries() -> list[Entry]:
    def bad_clip(name: str, says: str | None = None) -> dict[str, Expect]:
        return everywhere(
            Expect(400, "invalid_value", AUDIO_PARAM, says=says),
            http=Expect(400, "invalid_value", name),
        )

    return [
        Entry(
            "audio_wav_0_seconds",
            "a wav with a valid header and 0 frames",
            "audio",
            _file(lambda: wav(0), "silent0.wav", fmt="wav"),
            Refuse(UnsupportedFormatError, "silent0.wav", says="0 seconds"),
            bad_clip("silent0.wav"),
        ),
        Entry(
            "audio_wav_header_only",
            "a wav header claiming 2 s of samples, with none after it",
            "audio",
            _file(lambda: wav(0, declared_frames=44100), "header.wav", fmt="wav"),
            Refuse(UnsupportedFormatError, "header.wav"),
            bad_clip("header.wav"),
        ),
        Entry(
            "audio_mp3_truncated",
            "data/hello.mp3 cut at 300 bytes: the ID3 tag and part of the first frame",
            "audio",
            _file(_mp3_cut, "hello-cut.mp3", fmt="mp3"),
            Refuse(UnsupportedFormatError, "hello-cut.mp3"),
            bad_clip("hello-cut.mp3"),
        ),
        Entry(
            "audio_random_as_wav",
            "4096 seeded random bytes sent as wav",
            "audio",
            _file(lambda: random_bytes(4096, seed=2), "noise.wav", fmt="wav"),
            Refuse(UnsupportedFormatError, "noise.wav"),
            bad_clip("noise.wav"),
        ),
        Entry(
            "audio_video_only_mp4",
            "an MP4 with a video stream and no audio",
            "audio",
            _file(video_only_mp4, "video.mp4", fmt="wav"),
            Refuse(UnsupportedFormatError, "video.mp4", says="sound"),
            bad_clip("video.mp4"),
        ),
        Entry(
            "audio_wav_30mb",
            "a 30 MB wav of silence: over input_audio's 20 MB and Whisper's 25 MB",
            "audio",
            _file(lambda: wav(15 * 1024 * 1024), "long.wav", fmt="wav"),
            Refuse(TooLargeError, "long.wav"),
            everywhere(
                Expect(400, "invalid_value", AUDIO_PARAM),
                http=Expect(413, "content_too_large", "long.wav"),
            ),
        ),
        Entry(
            "audio_wav_declared_mp3",
            "data/hello.wav sent with format 'mp3' (named .mp3)",
            "audio",
            _file(_hello_wav, "hello.mp3", fmt="mp3"),
            "accept",
            everywhere(Expect(400, "invalid_value", AUDIO_PARAM, says="mp3"), http=ACCEPTED),
        ),
        Entry(
            "audio_ogg_declared_wav",
            "data/hello.ogg (Opus) sent with format 'wav'",
            "audio",
            _file(lambda: (DATA / "hello.ogg").read_bytes(), "hello.ogg", fmt="wav"),
            "accept",
            everywhere(Expect(400, "invalid_value", AUDIO_PARAM, says="wav"), http=ACCEPTED),
        ),
    ]


def _json_entries() -> list[Entry]:
    deep = "[" * 100_000 + "]" * 100_000
    return [
        Entry(
            "json_not_json",
            "a body that is not JSON",
            "json",
            _json(lambda: b"{model: gpt-4o,"),
            server=everywhere(Expect(400, None, "JSON body")),
        ),
        Entry(
            "json_array",
            "a JSON array instead of an object",
            "json",
            _json(lambda: b"[1, 2, 3]"),
            server=everywhere(Expect(400, None, "JSON body", says="object")),
        ),
        Entry(
            "json_invalid_utf8",
            "a body with bytes that are not UTF-8",
            "json",
            _json(lambda: b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "caf\xe9"}]}'),
            server=everywhere(Expect(400, None, "JSON body", says="UTF-8")),
        ),
        Entry(
            "json_max_tokens_5000_digits",
            "max_tokens with 5000 digits",
            "json",
            _json(lambda: with_raw(chat_body(), "max_tokens", "9" * 5000)),
            server=everywhere(Expect(400, None, "max_tokens")),
        ),
        Entry(
            "json_max_tokens_negative",
            "max_tokens = -5",
            "json",
            _json(lambda: chat_body(max_tokens=-5)),
            server=everywhere(Expect(400, "invalid_value", "max_tokens")),
        ),
        Entry(
            "json_max_tokens_float",
            "max_tokens = 1e400 (infinity once parsed)",
            "json",
            _json(lambda: with_raw(chat_body(), "max_tokens", "1e400")),
            server=everywhere(Expect(400, None, "max_tokens")),
        ),
        Entry(
            "json_surrogate_in_text",
            'a lone surrogate "\\ud800" in the message text',
            "json",
            _json(lambda: b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "a\\ud800b"}]}'),
            server=everywhere(Expect(400, "invalid_value", "messages[0].content")),
        ),
        Entry(
            "json_surrogate_in_model",
            "a lone surrogate in the model name",
            "json",
            _json(lambda: b'{"model": "gpt\\udfff", "messages": [{"role": "user", "content": "hi"}]}'),
            server=everywhere(Expect(400, "invalid_value", "model")),
        ),
        Entry(
            "json_surrogate_in_metadata_key",
            "a lone surrogate in a metadata key",
            "json",
            _json(lambda: with_raw(chat_body(), "metadata", '{"k\\ud800": "v"}')),
            server=everywhere(Expect(400, "invalid_value", "metadata")),
        ),
        Entry(
            "json_deeply_nested",
            "metadata nested 100,000 arrays deep",
            "json",
            _json(lambda: with_raw(chat_body(), "metadata", deep)),
            server=everywhere(Expect(400, None, "JSON body", says="nested")),
        ),
        Entry(
            "json_messages_not_list",
            "messages is a string",
            "json",
            _json(lambda: chat_body(messages="Hello there")),
            server=everywhere(Expect(400, "invalid_type", "messages")),
        ),
        Entry(
            "json_messages_empty",
            "messages is an empty array",
            "json",
            _json(lambda: chat_body(messages=[])),
            server=everywhere(Expect(400, "invalid_value", "messages")),
        ),
        Entry(
            "json_wrong_role",
            "a message with role 'wizard'",
            "json",
            _json(lambda: chat_body(messages=[{"role": "wizard", "content": "hi"}])),
            server=everywhere(Expect(400, "invalid_value", "messages[0].role")),
        ),
        Entry(
            "json_unknown_part_type",
            "a content part of type 'video_url'",
            "json",
            _json(
                lambda: chat_body(
                    messages=[{"role": "user", "content": [{"type": "video_url", "video_url": "x"}]}]
                )
            ),
            server=everywhere(Expect(400, "invalid_value", "messages[0].content[0].type")),
        ),
        Entry(
            "json_n_1000",
            "n = 1000 choices",
            "json",
            _json(lambda: chat_body(n=1000)),
            server=everywhere(Expect(400, "invalid_value", "'n'", says="128")),
        ),
        Entry(
            "json_stream_options_without_stream",
            "stream_options without stream",
            "json",
            _json(lambda: chat_body(stream_options={"include_usage": True})),
            server=everywhere(Expect(400, "invalid_value", "stream_options")),
        ),
        Entry(
            "json_tool_choice_required",
            "tools with tool_choice 'required'",
            "json",
            _json(
                lambda: chat_body(
                    tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
                    tool_choice="required",
                )
            ),
            server=everywhere(Expect(400, "unsupported_parameter", "tool_choice")),
        ),
        Entry(
            "json_response_format_json_schema",
            "response_format of type json_schema with a plain object schema (the local model answers in JSON)",
            "json",
            _json(
                lambda: chat_body(
                    response_format={
                        "type": "json_schema",
                        "json_schema": {"name": "x", "schema": {"type": "object"}},
                    }
                )
            ),
            server=everywhere(ACCEPTED),
        ),
        Entry(
            "json_response_format_strict_schema_open_object",
            "a strict json_schema whose object does not set additionalProperties to false",
            "json",
            _json(
                lambda: chat_body(
                    response_format={
                        "type": "json_schema",
                        "json_schema": {
                            "name": "x",
                            "strict": True,
                            "schema": {
                                "type": "object",
                                "properties": {"total": {"type": "number"}},
                                "required": ["total"],
                            },
                        },
                    }
                )
            ),
            server=everywhere(
                Expect(400, "invalid_json_schema", "response_format", says="additionalProperties")
            ),
        ),
        Entry(
            "json_responses_nan_temperature",
            "a Responses body with temperature NaN (Python reads it; JSON has no NaN)",
            "json",
            _json(
                lambda: with_raw({"model": MODEL, "input": "Hello there"}, "temperature", "NaN"),
                route="responses",
            ),
            server=everywhere(Expect(400, None, "temperature"), inference=None),
        ),
    ]


def _url_entries() -> list[Entry]:
    def refused(host: str, reason: str | None = None) -> dict[str, Expect]:
        return everywhere(
            Expect(400, "BadRequest", host, says=reason),
            openai=Expect(400, "invalid_image_url", host, says=reason),
        )

    def malformed() -> dict[str, Expect]:
        return everywhere(Expect(400, "invalid_value", IMAGE_PARAM))

    return [
        Entry(
            "url_tab_in_userinfo",
            "http://a\\t@127.0.0.1/ (a tab in the user part)",
            "url",
            _url("http://a\t@127.0.0.1/"),
            Refuse(InputError, "127.0.0.1"),
            malformed(),
        ),
        Entry(
            "url_broken_ipv6",
            "http://[::1/png (an unclosed IPv6 bracket)",
            "url",
            _url("http://[::1/png"),
            Refuse(InputError, "[::1/png"),
            malformed(),
        ),
        Entry(
            "url_private_address",
            "http://10.0.0.1/x.png (a private address, not on the allow-list)",
            "url",
            _url("http://10.0.0.1/x.png"),
            Refuse(DownloadError, "10.0.0.1"),
            refused("10.0.0.1", "LOCAL_IMAGE_URL_ALLOW"),
        ),
        Entry(
            "url_connection_refused",
            "http://127.0.0.1:1/x.png (nothing listens)",
            "url",
            _url("http://127.0.0.1:1/x.png"),
            Refuse(DownloadError, "127.0.0.1:1"),
            refused("127.0.0.1:1"),
        ),
        Entry(
            "url_loopback_404",
            "a loopback URL that answers 404",
            "url",
            _url(lambda ctx: f"{ctx.files}/missing.png"),
            Refuse(DownloadError, "missing.png", says="404"),
            refused("missing.png", "200"),
        ),
        Entry(
            "url_loopback_redirect",
            "a loopback URL that answers 302 to another",
            "url",
            _url(lambda ctx: f"{ctx.files}/moved.png"),
            Refuse(DownloadError, "moved.png", says="redirect"),
            refused("moved.png", "redirect"),
        ),
        Entry(
            "url_loopback_slow",
            f"a loopback URL that sends a byte a second for {SLOW_SECONDS} s "
            f"(fetch deadline shortened to {SHORT_DEADLINE:g} s)",
            "url",
            _url(lambda ctx: f"{ctx.files}/slow.png"),
            Refuse(DownloadError, "slow.png", says=f"within {SHORT_DEADLINE:g}"),
            refused("slow.png", f"within {SHORT_DEADLINE:g}"),
        ),
        Entry(
            "url_file_scheme",
            "file:///etc/passwd",
            "url",
            _url("file:///etc/passwd"),
            Refuse(InputError, "file:///etc/passwd"),
            malformed(),
        ),
        Entry(
            "url_ftp_scheme",
            "ftp://127.0.0.1/x.png",
            "url",
            _url("ftp://127.0.0.1/x.png"),
            Refuse(InputError, "ftp://127.0.0.1/x.png"),
            malformed(),
        ),
        Entry(
            "url_ok_control",
            "a loopback URL that serves a PNG (the control: it must work)",
            "url",
            _url(lambda ctx: f"{ctx.files}/ok.png"),
            "accept",
            everywhere(ACCEPTED),
        ),
    ]


def _multipart(
    fields: dict[str, str], file: tuple[str, bytes] | None, boundary: str = "corpus-boundary"
) -> bytes:
    lines = []
    for key, value in fields.items():
        lines += [f"--{boundary}", f'Content-Disposition: form-data; name="{key}"', "", value]
    out = "\r\n".join(lines).encode() + b"\r\n"
    if file is not None:
        out += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file[0]}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + file[1]
            + b"\r\n"
        )
    return out + f"--{boundary}--\r\n".encode()


def _request_entries() -> list[Entry]:
    good = dumps(chat_body())
    json_type = {"content-type": "application/json"}
    azure_chat = f"/openai/deployments/{MODEL}/chat/completions?api-version={API_VERSION}"

    def api_version_latest_openai(ctx: Ctx) -> Any:
        import openai

        client = openai.AzureOpenAI(azure_endpoint=ctx.root, api_key="k", api_version="latest", max_retries=0)
        return client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hello"}])

    def wrong_key_openai(ctx: Ctx) -> Any:
        return ctx.openai(ctx.keyed_root, key="wrong-key").chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "Hello"}]
        )

    def wrong_key_inference(ctx: Ctx) -> Any:
        from azure.ai.inference.models import UserMessage

        return ctx.inference(ctx.keyed_root, key="wrong-key").complete(messages=[UserMessage("Hello")])

    def json_on_transcription_openai(ctx: Ctx) -> Any:
        import httpx

        return ctx.openai().post("/audio/transcriptions", cast_to=httpx.Response, body={"model": "whisper-1"})

    hello = _hello_wav()
    form = _multipart({"model": "whisper-1"}, ("hello.wav", hello))
    return [
        Entry(
            "request_deployment_percent_encoded",
            "deployment name %E6%A8%A1 (模) in /openai/deployments/{d}/chat/completions",
            "request",
            lambda ctx: Payload(
                request=Raw(
                    "POST",
                    f"/openai/deployments/%E6%A8%A1/chat/completions?api-version={API_VERSION}",
                    json_type,
                    good,
                )
            ),
            server={"http": Expect(200, headers={"x-ms-deployment-name": "%E6%A8%A1"})},
        ),
        Entry(
            "request_api_version_latest",
            "api-version=latest on the classic Azure path",
            "request",
            lambda ctx: Payload(
                request=Raw(
                    "POST",
                    f"/openai/deployments/{MODEL}/chat/completions?api-version=latest",
                    json_type,
                    good,
                ),
                openai_call=api_version_latest_openai,
            ),
            server={
                "http": Expect(400, "BadRequest", "latest"),
                "openai": Expect(400, "BadRequest", "latest"),
            },
        ),
        Entry(
            "request_wrong_key",
            "a wrong api-key on a local host that requires one",
            "request",
            lambda ctx: Payload(
                request=Raw(
                    "POST", "/v1/chat/completions", {**json_type, "api-key": "wrong-key"}, good, keyed=True
                ),
                openai_call=wrong_key_openai,
                inference_call=wrong_key_inference,
            ),
            server=everywhere(Expect(401, "401", "key")),
        ),
        Entry(
            "request_no_content_type_chat",
            "a JSON chat body without a Content-Type",
            "request",
            lambda ctx: Payload(request=Raw("POST", "/v1/chat/completions", {}, good)),
            server={"http": ACCEPTED},
        ),
        Entry(
            "request_no_content_type_transcription",
            "a wav body without a Content-Type on the Whisper route",
            "request",
            lambda ctx: Payload(request=Raw("POST", "/v1/audio/transcriptions", {}, hello)),
            server={"http": Expect(400, None, "Content-Type", says="multipart/form-data")},
        ),
        Entry(
            "request_multipart_on_chat",
            "a multipart form body on the chat route",
            "request",
            lambda ctx: Payload(
                request=Raw(
                    "POST",
                    "/v1/chat/completions",
                    {"content-type": "multipart/form-data; boundary=corpus-boundary"},
                    form,
                )
            ),
            server={"http": Expect(400, None, "JSON body")},
        ),
        Entry(
            "request_json_on_transcription",
            "a JSON body on /v1/audio/transcriptions",
            "request",
            lambda ctx: Payload(
                request=Raw("POST", "/v1/audio/transcriptions", json_type, dumps({"model": "whisper-1"})),
                openai_call=json_on_transcription_openai,
            ),
            server=everywhere(
                Expect(400, None, "application/json", says="multipart/form-data"), inference=None
            ),
        ),
        Entry(
            "request_broken_multipart",
            "a multipart body cut inside the file part",
            "request",
            lambda ctx: Payload(
                request=Raw(
                    "POST",
                    "/v1/audio/transcriptions",
                    {"content-type": "multipart/form-data; boundary=corpus-boundary"},
                    form[: len(form) // 2],
                )
            ),
            server={"http": Expect(400, None, "multipart")},
        ),
        Entry(
            "request_multipart_no_boundary",
            "multipart/form-data without a boundary parameter",
            "request",
            lambda ctx: Payload(
                request=Raw("POST", "/v1/audio/transcriptions", {"content-type": "multipart/form-data"}, form)
            ),
            server={"http": Expect(400, None, "multipart")},
        ),
        Entry(
            "request_transcription_no_file",
            "a multipart form with a model and no file",
            "request",
            lambda ctx: Payload(
                request=Raw(
                    "POST",
                    "/v1/audio/transcriptions",
                    {"content-type": "multipart/form-data; boundary=corpus-boundary"},
                    _multipart({"model": "whisper-1"}, None),
                )
            ),
            server={"http": Expect(400, "missing_required_parameter", "file")},
        ),
        Entry(
            "request_azure_chat_control",
            "a good chat body on the classic Azure path (the control)",
            "request",
            lambda ctx: Payload(request=Raw("POST", azure_chat, json_type, good)),
            server={"http": ACCEPTED},
        ),
    ]


def entries() -> list[Entry]:
    """Every entry of the corpus, in a fixed order."""
    found = [
        *_image_entries(),
        *_data_url_entries(),
        *_pdf_entries(),
        *_audio_entries(),
        *_json_entries(),
        *_url_entries(),
        *_request_entries(),
    ]
    ids = [entry.id for entry in found]
    assert len(ids) == len(set(ids)), "corpus ids must be unique"
    return found


# --- sending -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What came back from one channel: the status, the ``error`` object (None on success), the
    response headers, and the SDK exception raised (None when none was)."""

    status: int
    error: dict[str, Any] | None
    headers: dict[str, str]
    raised: BaseException | None = None
    azure_shape: bool = False  # the route answers in Azure's error shape


def _error_of(text: str) -> dict[str, Any] | None:
    try:
        body = json.loads(text)
    except ValueError:
        return {"unparsed": text[:200]}
    return body.get("error") if isinstance(body, dict) else {"unparsed": text[:200]}


def image_message(url: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]


def audio_message(data: bytes, fmt: str) -> list[dict[str, Any]]:
    part = {"type": "input_audio", "input_audio": {"data": base64.b64encode(data).decode(), "format": fmt}}
    return [{"role": "user", "content": [part]}]


def _image_url(payload: Payload) -> str:
    return payload.url or data_url(payload.data, payload.mime or "image/png")


def send(entry: Entry, channel: Channel, ctx: Ctx) -> Outcome:
    """Send ``entry`` through ``channel`` and return what came back (SDK exceptions are caught)."""
    payload = entry.make(ctx)
    if channel == "openai":
        return _via_openai(entry, payload, ctx)
    if channel == "inference":
        return _via_inference(entry, payload, ctx)
    return _via_http(entry, payload, ctx)


def _via_openai(entry: Entry, payload: Payload, ctx: Ctx) -> Outcome:
    import httpx
    import openai

    client = ctx.openai()
    try:
        if entry.kind in ("image", "dataurl", "url"):
            result = client.chat.completions.with_raw_response.create(
                model=MODEL, messages=image_message(_image_url(payload))
            )
        elif entry.kind == "audio":
            result = client.chat.completions.with_raw_response.create(
                model=MODEL, messages=audio_message(payload.data, payload.fmt)
            )
        elif entry.kind == "json":
            path = "/responses" if payload.route == "responses" else "/chat/completions"
            result = client.post(
                path,
                cast_to=httpx.Response,
                content=payload.body,
                options={"headers": {"Content-Type": "application/json"}},
            )
        else:
            assert payload.openai_call is not None, f"{entry.id} has no openai call"
            result = payload.openai_call(ctx)
    except openai.APIStatusError as exc:
        path = exc.response.request.url.path
        return Outcome(
            exc.status_code,
            _error_of(exc.response.text),
            dict(exc.response.headers),
            exc,
            azure_shape=path.startswith(("/openai", "/models")),
        )
    return Outcome(getattr(result, "status_code", 200), None, dict(getattr(result, "headers", {}) or {}))


def _via_inference(entry: Entry, payload: Payload, ctx: Ctx) -> Outcome:
    from azure.ai.inference.models import (
        AudioContentItem,
        ImageContentItem,
        ImageUrl,
        InputAudio,
        UserMessage,
    )
    from azure.core.exceptions import HttpResponseError

    client = ctx.inference()
    seen: dict[str, str] = {}

    def keep(response: Any) -> None:
        seen.update(response.http_response.headers)

    try:
        if entry.kind in ("image", "dataurl", "url"):
            item = ImageContentItem(image_url=ImageUrl(url=_image_url(payload)))
            client.complete(messages=[UserMessage(content=[item])], raw_response_hook=keep)
        elif entry.kind == "audio":
            clip = InputAudio(data=base64.b64encode(payload.data).decode(), format=payload.fmt)
            client.complete(
                messages=[UserMessage(content=[AudioContentItem(input_audio=clip)])], raw_response_hook=keep
            )
        elif entry.kind == "json":
            client.complete(body=io.BytesIO(payload.body), raw_response_hook=keep)
        else:
            assert payload.inference_call is not None, f"{entry.id} has no inference call"
            payload.inference_call(ctx)
    except HttpResponseError as exc:
        response = exc.response
        return Outcome(exc.status_code or 0, _error_of(response.text()), dict(response.headers), exc, True)
    return Outcome(200, None, seen, None, True)


def _via_http(entry: Entry, payload: Payload, ctx: Ctx) -> Outcome:
    import httpx

    root = ctx.root
    if entry.kind in ("image", "dataurl", "url"):
        request = Raw(
            "POST",
            f"/openai/deployments/{MODEL}/chat/completions?api-version={API_VERSION}",
            {"content-type": "application/json"},
            dumps({"messages": image_message(_image_url(payload))}),
        )
    elif entry.kind == "audio":
        request = Raw(
            "POST",
            f"/openai/deployments/whisper/audio/transcriptions?api-version={API_VERSION}",
            {"content-type": "multipart/form-data; boundary=corpus-boundary"},
            _multipart({}, (payload.name, payload.data)),
        )
    elif entry.kind == "json":
        path = "/openai/v1/responses" if payload.route == "responses" else "/openai/v1/chat/completions"
        request = Raw("POST", path, {"content-type": "application/json"}, payload.body)
    else:
        assert payload.request is not None, f"{entry.id} has no raw request"
        request = payload.request
        root = ctx.keyed_root if request.keyed else ctx.root
    response = httpx.request(
        request.method, root + request.path, headers=request.headers, content=request.content, timeout=120
    )
    error = _error_of(response.text) if response.status_code >= 400 else None
    return Outcome(
        response.status_code,
        error,
        dict(response.headers),
        None,
        azure_shape=not request.path.startswith("/v1/"),
    )


# --- the client helpers --------------------------------------------------------------------------


def run_client(entry: Entry, helper: str, ctx: Ctx) -> Any:
    """Run one client helper on ``entry``; returns its result (raises what it raises)."""
    from helpers.attachments import Attachment
    from helpers.audio import prepare_audio
    from helpers.images import image_info, prepare_image
    from helpers.pdf import pdf_pages
    from helpers.prepare import prepare_file

    payload = entry.make(ctx)
    if entry.kind in ("dataurl", "url"):
        attachment = Attachment(url=payload.url)
        return prepare_image(attachment) if helper == "prepare_image" else attachment.content_bytes()
    attachment = Attachment(content=payload.data, name=payload.name)
    if helper == "prepare_image":
        return prepare_image(attachment)
    if helper == "image_info":
        return image_info(attachment)
    if helper == "prepare_file":
        return prepare_file(attachment)
    if helper == "pdf_pages":
        return list(pdf_pages(payload.data, name=payload.name, progress=False))
    if helper == "prepare_audio":
        return prepare_audio(attachment)
    raise ValueError(f"unknown client helper {helper!r}")
