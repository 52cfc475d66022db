"""PDF files in chat requests: the ``file`` part of Chat Completions and ``input_file`` of the Responses API.

Wire shapes (``docs/wire.md``):

* Chat Completions: ``{"type": "file", "file": {"filename": "doc.pdf", "file_data":
  "data:application/pdf;base64,..."}}``. ``{"file": {"file_id": ...}}`` names a file uploaded to this
  host's Files API (``client.files.create(purpose="user_data")``); an unknown id is a 404.
* Responses: ``{"type": "input_file", "filename", "file_data"}``, or ``file_url`` (fetched under the
  URL rules of images, :mod:`.urls`), or ``file_id`` (the same uploaded files); ``detail`` (auto, low, high)
  prices the page images, as ``input_image``'s does.

A PDF is opened with :mod:`helpers.pdf`'s opener, so an encrypted, damaged, truncated or empty PDF
gets the message ``pdf_pages`` gives (the PDF named by its ``filename``), as a 400 naming the part.
Bytes of another known type (an image sent as a file) are refused as not a PDF.

Reading, as the services do for vision models (the text of each page and an image of it):

* each page's **text layer** (``page.get_text("dict")``) becomes rows shaped like OCR rows
  (``.text``, ``.box``, ``.size``; see :func:`text_rows`), which :mod:`.answers` reads as it reads
  an image's text;
* a page without a text layer (a scan) is rendered at :data:`DPI` with :mod:`helpers.pdf`'s renderer
  and read by OCR when the request is answered.

**Usage** counts, for each page, the text tokens of its text layer (the local tokenizer's count of
its rows joined by newlines; a scanned page has no text layer, so only its image counts) plus the
tokens of one image of the page: :func:`helpers.tokens.image_tokens` of the page rendered at
:data:`DPI` (150, ``pdf_pages``'s default, capped at ``MAX_PAGE_PIXELS`` as ``pdf_pages`` caps it), at
the part's detail (``auto`` for a Chat Completions file part) and the request model's formula. So a
PDF sent as a file costs its text tokens plus exactly what its pages sent as ``pdf_pages(dpi=150)``
images cost: the two ways can be compared on the same document.

Bounds: at most :data:`MAX_FILE_PAGES` pages and :data:`MAX_FILE_BYTES` bytes per file. PyMuPDF is
not thread-safe and requests are parsed on worker threads, so all PDF work here holds one lock.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..attachments import human_size, sniff_mime
from ..errors import InputError, PdfError
from ..limits import IMAGE_DETAILS, MB
from ..pdf import MAX_PAGE_PIXELS, _open, _render, pymupdf
from ..tokens import image_tokens
from . import errors, tokenizer
from .errors import Surface
from .media import data_url_bytes, token_model
from .settings import Settings
from .urls import fetch_media

#: Pages read per file at most: OpenAI documents PDF inputs of up to 100 pages (and 32 MB) per
#: request; each page costs an image and, when scanned, an OCR pass (0.5-1 s), so more is refused
#: from the page count before any page is read.
MAX_FILE_PAGES = 100
#: Bytes of one PDF at most (the services' 32 MB for PDF inputs).
MAX_FILE_BYTES = 32 * MB
#: Pages are costed, and scanned pages rendered for OCR, at this resolution (pdf_pages' default).
DPI = 150
_LOCK = threading.Lock()
_PAPER = {"A4": (210, 297), "A5": (148, 210), "A3": (297, 420), "Letter": (216, 279), "Legal": (216, 356)}


@dataclass(frozen=True)
class TextRow:
    """One row of a page's text layer, shaped like an OCR row: box (left, top, right, bottom) and
    size (its largest font size) in pixels of the page at :data:`DPI`."""

    text: str
    box: tuple[int, int, int, int]
    size: float


@dataclass(frozen=True)
class Page:
    """One page: size in points, text rows, the PNG to OCR when it has no text layer, token costs."""

    number: int
    width: float
    height: float
    rows: tuple[TextRow, ...]
    scan: bytes | None
    text_tokens: int
    image_tokens: int


@dataclass(frozen=True)
class Document:
    """A PDF of a file part: its name, size in bytes and pages."""

    name: str
    size: int
    pages: tuple[Page, ...]

    @property
    def text_tokens(self) -> int:
        """Tokens of the text layers of all pages."""
        return sum(page.text_tokens for page in self.pages)

    @property
    def image_tokens(self) -> int:
        """Tokens of one image of every page."""
        return sum(page.image_tokens for page in self.pages)

    def describe(self, page: Page) -> str:
        """What the document and ``page`` are, in place of an image's facts."""
        count = len(self.pages)
        head = f"'{self.name}' is a PDF of {count} page{'s' if count > 1 else ''} ({human_size(self.size)})."
        mm = (round(page.width * 25.4 / 72), round(page.height * 25.4 / 72))
        paper = next((f" ({n})" for n, s in _PAPER.items() if _near(mm, s) or _near(mm, s[::-1])), "")
        where = f"Page {page.number} is" if count > 1 else "Its page is"
        kind = (
            f"a text layer of {len(page.rows)} lines" if page.rows else "no text layer (scanned; read by OCR)"
        )
        return f"{head} {where} {mm[0]} x {mm[1]} mm{paper}, with {kind}."


def _near(mm: tuple[int, int], size: tuple[int, int]) -> bool:
    return abs(mm[0] - size[0]) <= 2 and abs(mm[1] - size[1]) <= 2


# --- the two wire shapes -------------------------------------------------------------------------


def load_chat_file(part: dict[str, Any], at: str, model: str, settings: Settings) -> Document:
    """The PDF of a Chat Completions ``file`` part (``at`` is the part's param path)."""
    spec = part.get("file")
    if not isinstance(spec, dict):
        raise (
            errors.missing_parameter(f"{at}.file")
            if spec is None
            else errors.invalid_type(f"{at}.file", "an object", spec)
        )
    return _load(spec, f"{at}.file", ("file_data", "file_id"), "auto", model, settings)


def load_responses_file(part: dict[str, Any], at: str, model: str, settings: Settings) -> Document:
    """The PDF of a Responses ``input_file`` part."""
    detail = part.get("detail")
    if detail is None:
        detail = "auto"
    if detail not in IMAGE_DETAILS:
        raise errors.invalid_value(f"{at}.detail", detail, IMAGE_DETAILS)
    return _load(part, at, ("file_data", "file_url", "file_id"), detail, model, settings)


def _load(
    spec: dict[str, Any], param: str, sources: tuple[str, ...], detail: str, model: str, settings: Settings
) -> Document:
    given = [key for key in sources if spec.get(key) is not None]
    if not given:
        raise errors.missing_parameter(f"{param}.file_data")
    if len(given) > 1:
        listed = " and ".join(f"'{key}'" for key in given)
        raise errors.invalid_value(param, None, why=f"both {listed} are given; send exactly one of them.")
    source = given[0]
    value = spec[source]
    if not isinstance(value, str):
        raise errors.invalid_type(f"{param}.{source}", "a string", value)
    filename = spec.get("filename")
    if filename is not None and not isinstance(filename, str):
        raise errors.invalid_type(f"{param}.filename", "a string", filename)
    if source == "file_id":  # a file uploaded to this host's Files API (client.files.create)
        from .files import FileStore

        store = FileStore(settings.storage_dir / "files")
        data = store.content(value, Surface.OPENAI)
        name = filename or store.get(value, Surface.OPENAI)["filename"]
    elif source == "file_url":
        data = fetch_media(value, f"{param}.file_url", settings, "file", MAX_FILE_BYTES)
        name = filename or value.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or param
    else:
        data = _file_data(value, f"{param}.file_data")
        name = filename or param
    if len(data) > MAX_FILE_BYTES:
        raise errors.invalid_value(
            f"{param}.{source}",
            None,
            why=f"'{name}' is {len(data)} bytes; a file part takes at most {MAX_FILE_BYTES} "
            f"({human_size(MAX_FILE_BYTES)}). Send fewer pages, or render the pages you need with pdf_pages().",
        )
    return read_pdf(data, name, f"{param}.{source}", detail, model)


def _file_data(value: str, param: str) -> bytes:
    """The bytes of a ``file_data`` data URL (``data:application/pdf;base64,...``)."""
    if not value.startswith("data:") or not value[:200].split(",", 1)[0].endswith(";base64"):
        raise errors.FILE_DATA.error(param, "a value that is not a base64 data URL")
    return data_url_bytes(value, param, errors.FILE_DATA)


# --- reading -------------------------------------------------------------------------------------


def read_pdf(data: bytes, name: str, param: str, detail: str = "auto", model: str = "") -> Document:
    """Open, bound, read and cost a PDF; every problem is a 400 naming ``param``."""
    label = repr(name)
    mime = sniff_mime(data)
    if mime is not None and mime != "application/pdf":
        raise errors.invalid_value(
            param,
            None,
            why=f"{label} is {mime}, not a PDF. A file part takes a PDF; send images as image parts.",
        )
    formula = token_model(model)
    with _LOCK:
        try:
            doc = _open(data, None, label)
        except InputError as exc:  # PdfError: encrypted, not a PDF, truncated, no pages
            raise errors.bad_input(exc, param) from None
        with doc:
            if doc.page_count > MAX_FILE_PAGES:
                raise errors.invalid_value(
                    param,
                    None,
                    why=f"{label} has {doc.page_count} pages; the local host reads at most {MAX_FILE_PAGES} "
                    "pages of a file. Split the PDF, or render the pages you need with pdf_pages().",
                )
            try:
                pages = tuple(_page(doc, label, n, detail, formula) for n in range(1, doc.page_count + 1))
            except PdfError as exc:
                raise errors.bad_input(exc, param) from None
    return Document(name, len(data), pages)


def _page(doc: Any, label: str, number: int, detail: str, model: str) -> Page:
    pymupdf.TOOLS.reset_mupdf_warnings()  # MuPDF's own record of what went wrong, read below
    try:
        page = doc[number - 1]
        rect = page.rect
        raw = page.get_text("dict", flags=pymupdf.TEXTFLAGS_TEXT)
    except Exception as exc:  # MuPDF's errors are not RuntimeErrors
        raise _unreadable(label, number, f"{type(exc).__name__}: {exc}") from exc
    damage = [line for line in pymupdf.TOOLS.mupdf_warnings().splitlines() if "error" in line.lower()]
    if damage:  # MuPDF read the text with parts missing: refused, as pdf_pages refuses such a page
        raise _unreadable(label, number, f"MuPDF: {damage[0]}")
    zoom = page_zoom(rect.width, rect.height)
    rows = tuple(text_rows(raw, zoom))
    pixels = (rect * pymupdf.Matrix(zoom, zoom)).irect
    tokens = image_tokens(max(1, pixels.width), max(1, pixels.height), detail, model)
    scan = None if rows else _render(doc, label, number, DPI, "png", 85, MAX_PAGE_PIXELS)
    text = tokenizer.count("\n".join(row.text for row in rows))
    return Page(number, rect.width, rect.height, rows, scan, text, tokens)


def _unreadable(label: str, number: int, why: str) -> PdfError:
    return PdfError(
        f"Page {number} of {label} cannot be read ({why}); the PDF is damaged. Repair it (open it and "
        "save or print it to a new PDF), or send the pages that can be read."
    )


def page_zoom(width: float, height: float) -> float:
    """The scale of a page rendered at DPI, lowered as pdf_pages lowers it for pages over MAX_PAGE_PIXELS."""
    zoom = DPI / 72
    pixels = width * zoom * height * zoom
    return zoom * math.sqrt(MAX_PAGE_PIXELS / pixels) if pixels > MAX_PAGE_PIXELS else zoom


@dataclass(frozen=True)
class _Piece:
    baseline: float
    box: tuple[float, float, float, float]
    text: str
    size: float


def text_rows(raw: dict[str, Any], zoom: float) -> list[TextRow]:
    """Rows of a page's text layer (``page.get_text("dict")``) in reading order, like OCR rows.

    A line's spans are joined as they are (they are contiguous text); lines whose baselines lie within
    half the smaller font size of each other form one row, left to right, joined by a space when a gap
    separates them (so a table's cells and a receipt's ``TOTAL`` and ``$21.50`` become one row, as OCR
    rows do). Turned text (a chart's axis title) is a row of its own. Boxes and sizes are scaled by
    ``zoom`` to pixels of the rendered page.
    """
    pieces: list[_Piece] = []
    rows: list[TextRow] = []
    for block in raw.get("blocks", ()):
        for line in block.get("lines", ()):
            spans = [span for span in line["spans"] if span["text"]]
            text = "".join(span["text"] for span in spans)
            if not text.strip():
                continue
            size = max(span["size"] for span in spans)
            piece = _Piece(spans[0]["origin"][1], tuple(line["bbox"]), text, size)
            dx, dy = line["dir"]
            if abs(dy) > 0.01 or dx < 0:
                rows.append(_row([piece], zoom))
            else:
                pieces.append(piece)
    pieces.sort(key=lambda p: (p.baseline, p.box[0]))
    groups: list[list[_Piece]] = []
    for piece in pieces:
        first = groups[-1][0] if groups else None
        if first is not None and piece.baseline - first.baseline <= 0.5 * min(piece.size, first.size):
            groups[-1].append(piece)
        else:
            groups.append([piece])
    rows += [_row(sorted(group, key=lambda p: p.box[0]), zoom) for group in groups]
    return sorted(rows, key=lambda r: (r.box[1], r.box[0]))


def _row(pieces: Sequence[_Piece], zoom: float) -> TextRow:
    text = pieces[0].text
    for before, piece in itertools.pairwise(pieces):
        text += (" " if piece.box[0] - before.box[2] > 0.1 * piece.size else "") + piece.text
    box = (
        round(min(p.box[0] for p in pieces) * zoom),
        round(min(p.box[1] for p in pieces) * zoom),
        round(max(p.box[2] for p in pieces) * zoom),
        round(max(p.box[3] for p in pieces) * zoom),
    )
    return TextRow(" ".join(text.split()), box, round(max(p.size for p in pieces) * zoom, 2))
