"""Attachment: bytes from a path, raw bytes or a URL, with the MIME type sniffed from the bytes."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from pathlib import Path

import filetype

from .download import check_url
from .errors import InputError, TooLargeError

#: filetype's names -> the names the APIs use; anything else passes through.
_MIME_NORMAL = {
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/x-flac": "audio/flac",
    "audio/m4a": "audio/mp4",
    "video/mp4": "audio/mp4",  # an .m4a is an MP4 container; filetype may name it video
    "audio/x-m4a": "audio/mp4",
}

_DATA_URL = re.compile(
    r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[\w-]+=[^;,]*)*)(?P<b64>;base64)?,(?P<data>.*)$", re.S
)

#: Bytes read from a URL when an attachment given by URL needs its content.
URL_FETCH_LIMIT = 50 * 1024 * 1024


def sniff_mime(data: bytes) -> str | None:
    """The MIME type of ``data`` from its magic numbers, or None when unknown.

    Never trusts a file name: ``photo.png`` holding JPEG bytes is ``image/jpeg``.
    """
    kind = filetype.guess(data[:8192])
    if kind is None:
        return None
    mime = _MIME_NORMAL.get(kind.mime, kind.mime)
    if mime == "video/webm" and b"\x83\x81\x01" not in data[:4096]:
        # A WebM holding only audio is still reported as video by filetype; both are WebM.
        mime = "audio/webm"
    return mime


def parse_data_url(url: str) -> tuple[str | None, bytes]:
    """Split a ``data:`` URL into its declared MIME type and its decoded bytes.

    Raises InputError for a URL that is not a base64 data URL or whose base64 is broken.
    """
    match = _DATA_URL.match(url)
    if not match or not match.group("b64"):
        raise InputError(
            f"{_shorten(url)!r} is not a base64 data URL; expected 'data:<mime type>;base64,<data>'."
        )
    try:
        data = base64.b64decode(match.group("data"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError(
            f"The base64 data in {_shorten(url)!r} is not valid ({exc}); re-encode the file."
        ) from exc
    return match.group("mime"), data


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


@dataclass
class Attachment:
    """A file to send to a model: give exactly one of ``path``, ``content`` or ``url``.

    The bytes are read lazily by :meth:`content_bytes`; :attr:`mime_type` is sniffed from
    them. A URL attachment is sent as its URL and only fetched when its bytes are needed.
    """

    path: str | Path | None = None
    content: bytes | None = field(default=None, repr=False)
    url: str | None = None
    name: str | None = None
    _mime: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        given = [n for n in ("path", "content", "url") if getattr(self, n) is not None]
        if len(given) != 1:
            raise InputError(
                f"Attachment takes exactly one of path=, content= or url=; got {given or 'none'}."
            )
        if self.path is not None:
            self.path = Path(self.path).expanduser()
            if not self.path.is_file():
                raise InputError(f"File {str(self.path)!r} does not exist or is not a file; check the path.")
            self.name = self.name or self.path.name
        if self.url is not None:
            if self.url.startswith("data:"):
                _, self.content = parse_data_url(self.url)
                self.url = None
            elif not re.match(r"^https?://", self.url):
                raise InputError(f"URL {_shorten(self.url)!r} must start with http://, https:// or data:.")
            else:
                check_url(self.url)  # a malformed URL is refused now, not when its bytes are fetched
                self.name = self.name or (self.url.rsplit("/", 1)[-1].split("?")[0] or "download")
        if self.content is not None and not isinstance(self.content, bytes | bytearray | memoryview):
            raise InputError(
                f"content= must be bytes, not {type(self.content).__name__}; read the file in 'rb' mode."
            )
        if self.content is not None:
            self.content = bytes(self.content)
            self.name = self.name or "attachment"

    @classmethod
    def from_bytes(cls, content: bytes, name: str | None = None) -> Attachment:
        """An attachment holding ``content``."""
        return cls(content=content, name=name)

    @classmethod
    def from_url(cls, url: str) -> Attachment:
        """An attachment sent by reference (http/https) or decoded at once (data URL)."""
        return cls(url=url)

    @classmethod
    def coerce(cls, value: Attachment | str | Path | bytes) -> Attachment:
        """Accept an Attachment, a path, a URL or bytes and return an Attachment."""
        if isinstance(value, Attachment):
            return value
        if isinstance(value, bytes | bytearray | memoryview):
            return cls(content=bytes(value))
        if isinstance(value, str) and re.match(r"^(https?|data):", value):
            return cls(url=value)
        if isinstance(value, str | Path):
            return cls(path=value)
        raise InputError(
            f"Cannot attach a {type(value).__name__}; pass a file path, a URL, bytes or an Attachment."
        )

    def content_bytes(self) -> bytes:
        """The bytes of the attachment, read from the path or fetched from the URL once."""
        if self.content is None:
            if self.path is not None:
                self.content = Path(self.path).read_bytes()
            else:
                from .download import fetch

                self.content = fetch(str(self.url), URL_FETCH_LIMIT)
        return self.content

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.content_bytes())

    @property
    def mime_type(self) -> str:
        """MIME type sniffed from the bytes (``application/octet-stream`` when unknown)."""
        if self._mime is None:
            self._mime = sniff_mime(self.content_bytes()) or "application/octet-stream"
        return self._mime

    def base64(self) -> str:
        """The bytes as base64 text."""
        return base64.b64encode(self.content_bytes()).decode("ascii")

    def data_url(self) -> str:
        """``data:<sniffed type>;base64,<bytes>``."""
        return f"data:{self.mime_type};base64,{self.base64()}"

    def check_size(self, limit: int, what: str = "file") -> None:
        """Raise TooLargeError when the attachment is over ``limit`` bytes."""
        if self.size > limit:
            raise TooLargeError(
                f"{what.capitalize()} {self.name!r} is {human_size(self.size)}; the limit is "
                f"{human_size(limit)}. Make it smaller (resize, lower dpi or quality, or cut it) "
                "or raise the limit if your service allows more."
            )


def human_size(size: int) -> str:
    """``20 MB``, ``3.5 MB``, ``812 KB`` or ``90 bytes``: sizes as people read them."""
    if size >= 1048576:
        return f"{size / 1048576:.1f}".removesuffix(".0") + " MB"
    return f"{size / 1024:.0f} KB" if size >= 1024 else f"{size} bytes"
