"""PDF pages rendered to image attachments with PyMuPDF, lazily, one page at a time."""

from __future__ import annotations

import itertools
import math
import re
import sys
import warnings
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from types import ModuleType

from .attachments import Attachment
from .errors import InputError, PdfError


def _import_pymupdf() -> ModuleType:
    """PyMuPDF without the extras that PyMuPDF 2 imports when they are installed (its wheel requires them).

    ``pymupdf.layout`` and ``pymupdf4llm`` pull in onnxruntime, numpy and networkx for layout analysis
    this package never uses: measured on 2 cores, ``import pymupdf`` took 1.1-1.4 s and 152 MB RSS with
    them and 0.25-0.5 s and 56 MB without. A None in ``sys.modules`` makes their import fail as if they
    were absent; the entries are removed again, so code that wants them can still import them.
    """
    if "pymupdf" in sys.modules:
        return sys.modules["pymupdf"]
    blocked = [name for name in ("pymupdf.layout", "pymupdf4llm") if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import pymupdf
    finally:
        for name in blocked:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]
    return pymupdf


pymupdf = _import_pymupdf()

FORMATS = ("png", "jpeg")
#: Pages to render: ``"1-3,7"`` (1-based, inclusive), one number, a list or range; None for all.
PageSpec = str | int | list[int] | range | None
#: Pixels per rendered page at most (about 4096 x 4096); larger pages are rendered at a lower dpi.
MAX_PAGE_PIXELS = 16_777_216


def parse_pages(spec: PageSpec, count: int) -> list[int]:
    """Turn ``"1-3,7"`` (1-based, inclusive), an int or a list into page numbers of a ``count``-page PDF."""
    if spec is None:
        return list(range(1, count + 1))
    if isinstance(spec, int):
        numbers = [spec]
    elif isinstance(spec, str):
        numbers = []
        for part in (p.strip() for p in spec.split(",")):
            match = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+)?)?", part)
            if not match:
                raise PdfError(
                    f"pages={spec!r}: {part!r} is not a page or range; write e.g. '1-3,7' or '5-'."
                )
            first = int(match.group(1))
            last = first if "-" not in part else int(match.group(2) or count)
            if last < first:
                raise PdfError(
                    f"pages={spec!r}: range {part!r} runs backwards; write it as '{last}-{first}'."
                )
            numbers.extend(range(first, last + 1))
    else:
        numbers = [int(n) for n in spec]
    bad = [n for n in numbers if not 1 <= n <= count]
    if bad:
        raise PdfError(f"pages={spec!r}: page {bad[0]} is out of range; this PDF has pages 1 to {count}.")
    return numbers


def _open(source: str | Path | bytes, password: str | None, label: str) -> pymupdf.Document:
    if not isinstance(source, bytes | bytearray) and not Path(source).is_file():
        raise InputError(f"PDF file {label} does not exist; check the path.")
    try:
        doc = (
            pymupdf.open(stream=bytes(source), filetype="pdf")
            if isinstance(source, bytes | bytearray)
            else pymupdf.open(Path(source), filetype="pdf")
        )
        needs_pass = doc.needs_pass
    except Exception as exc:  # MuPDF's FzError* classes are not RuntimeErrors
        raise PdfError(
            f"{label} is not a readable PDF ({exc}). Check that the file is a complete PDF."
        ) from exc
    if b"startxref" not in _tail(source):
        doc.close()  # MuPDF rebuilds what it can and renders missing content as blank pages
        raise PdfError(
            f"{label} is truncated: a PDF ends with 'startxref' and '%%EOF' and this one does not (it was cut "
            "short, e.g. by an interrupted download or copy). Download or export it again."
        )
    if needs_pass:
        if password is None:
            doc.close()
            raise PdfError(f"{label} is encrypted; pass password='...' to open it.")
        if not doc.authenticate(password):
            doc.close()
            raise PdfError(f"The password given for {label} is wrong; check it and try again.")
    if doc.page_count == 0:
        doc.close()
        raise PdfError(f"{label} has no pages; use a PDF with at least one page.")
    return doc


def _tail(source: str | Path | bytes) -> bytes:
    """The last KB of a PDF, where its 'startxref' must be (readers look no further back)."""
    if isinstance(source, bytes | bytearray):
        return bytes(source[-1024:])
    with open(source, "rb") as file:
        file.seek(max(0, Path(source).stat().st_size - 1024))
        return file.read()


#: What MuPDF reports when it renders a page with content missing or garbled instead of failing:
#: malformed objects, streams that do not inflate, data that ends early.
_DAMAGE = re.compile(
    r"^(format error|syntax error|library error)|zlib error|premature end of data|cannot load content stream"
    r"|treating as end of file|truncated image|non-page object in page tree",
    re.MULTILINE,
)


def _page_error(label: str, number: int, why: str) -> PdfError:
    return PdfError(
        f"Page {number} of {label} cannot be rendered ({why}); the PDF is damaged. "
        "Repair it (open it and save or print it to a new PDF), or leave the page out with pages='...'."
    )


def _damage(messages: str) -> str | None:
    """The first line of MuPDF's messages that says content was lost, or None."""
    lines = [line for line in messages.splitlines() if _DAMAGE.search(line)]
    return f"MuPDF: {lines[0]}" if lines else None


def _render(
    doc: pymupdf.Document, label: str, number: int, dpi: int, fmt: str, jpeg_quality: int, max_pixels: int
) -> bytes:
    zoom = dpi / 72
    pymupdf.TOOLS.reset_mupdf_warnings()  # MuPDF's own record of what went wrong, read below
    try:
        page = doc[number - 1]
        width, height = page.rect.width * zoom, page.rect.height * zoom
    except Exception as exc:  # a page tree MuPDF cannot walk, a missing page object ...
        raise _page_error(label, number, f"{type(exc).__name__}: {exc}") from exc
    if width * height > max_pixels:
        zoom *= math.sqrt(max_pixels / (width * height))
        warnings.warn(
            f"Page {number} at {dpi} dpi would be {int(width)}x{int(height)} pixels; rendered at "
            f"{int(zoom * 72)} dpi to stay under max_pixels={max_pixels}.",
            stacklevel=4,
        )
    try:
        pixmap = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False)
        data = pixmap.tobytes("jpeg", jpg_quality=jpeg_quality) if fmt == "jpeg" else pixmap.tobytes("png")
    except Exception as exc:
        raise _page_error(label, number, f"{type(exc).__name__}: {exc}") from exc
    why = _damage(pymupdf.TOOLS.mupdf_warnings())
    if why is not None:  # MuPDF drew the page with parts missing: refuse it rather than send it
        raise _page_error(label, number, why)
    return data


#: The document a worker process renders from, or the error opening it gave (raised per page).
_worker_doc: pymupdf.Document | InputError | None = None
_worker_label = ""


def _worker_open(source: str | bytes, password: str | None, label: str) -> None:
    global _worker_doc, _worker_label
    _worker_label = label
    try:
        _worker_doc = _open(source, password, label)
    except InputError as exc:  # an initializer that raises breaks the pool; report it with the page
        _worker_doc = exc


def _worker_render(args: tuple[int, int, str, int, int]) -> bytes:
    if isinstance(_worker_doc, InputError):
        raise _worker_doc
    assert _worker_doc is not None
    return _render(_worker_doc, _worker_label, *args)


class PdfPages:
    """The pages of a PDF as image attachments, rendered only when iterated or indexed.

    ``len()`` is the number of selected pages; iterating renders one page at a time
    (memory stays flat however many pages there are); ``pages[i]`` renders one page.
    ``name`` (e.g. the file name of PDF bytes) is how errors name the PDF and what the pages are
    called. A page MuPDF cannot render raises PdfError naming the PDF and the page, also with
    ``workers`` > 1.
    """

    def __init__(
        self,
        source: str | Path | bytes,
        *,
        dpi: int = 150,
        pages: PageSpec = None,
        fmt: str = "png",
        password: str | None = None,
        jpeg_quality: int = 85,
        max_pixels: int = MAX_PAGE_PIXELS,
        progress: bool | None = None,
        workers: int = 1,
        name: str | None = None,
    ) -> None:
        if fmt not in FORMATS:
            raise InputError(f"fmt={fmt!r} is not supported; use 'png' or 'jpeg'.")
        if not 18 <= dpi <= 1200:
            raise InputError(f"dpi={dpi} is out of range; use 18 to 1200 (150 reads well, 72 is blurry).")
        if workers < 1:
            raise InputError(f"workers={workers} must be at least 1.")
        self.source = source if isinstance(source, bytes | bytearray) else str(source)
        is_bytes = isinstance(source, bytes | bytearray)
        #: How messages name the PDF, and the stem of its page attachments' names.
        self.label = repr(name) if name else ("the PDF bytes" if is_bytes else repr(str(source)))
        self.name = Path(name or ("document" if is_bytes else str(source))).stem
        self.dpi, self.fmt, self.password = dpi, fmt, password
        self.jpeg_quality, self.max_pixels = jpeg_quality, max_pixels
        self.progress, self.workers = progress, workers
        with _open(self.source, password, self.label) as doc:
            self.page_count = doc.page_count
        self.numbers = parse_pages(pages, self.page_count)

    def __len__(self) -> int:
        return len(self.numbers)

    def __repr__(self) -> str:
        return f"PdfPages({self.name!r}, pages={len(self)} of {self.page_count}, dpi={self.dpi}, fmt={self.fmt!r})"

    def _attachment(self, number: int, data: bytes) -> Attachment:
        ext = "jpg" if self.fmt == "jpeg" else "png"
        return Attachment(content=data, name=f"{self.name}-page{number}.{ext}")

    def __getitem__(self, index: int) -> Attachment:
        number = self.numbers[index]
        with _open(self.source, self.password, self.label) as doc:
            return self._attachment(number, self._render_one(doc, number))

    def _render_one(self, doc: pymupdf.Document, number: int) -> bytes:
        return _render(doc, self.label, number, self.dpi, self.fmt, self.jpeg_quality, self.max_pixels)

    def __iter__(self) -> Iterator[Attachment]:
        show = self.progress if self.progress is not None else len(self) > 3
        bar = None
        if show:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(self), desc=f"{self.name} at {self.dpi} dpi", unit="page")
        try:
            for number, data in zip(self.numbers, self._rendered(), strict=True):
                if bar is not None:
                    bar.update(1)
                yield self._attachment(number, data)
        finally:
            if bar is not None:
                bar.close()

    def _rendered(self) -> Iterator[bytes]:
        if self.workers == 1 or len(self) < 2:
            with _open(self.source, self.password, self.label) as doc:
                for number in self.numbers:
                    yield self._render_one(doc, number)
            return
        # PyMuPDF is not thread-safe: use processes, each with the document open once. At most
        # 2 * workers pages are queued, so a slow reader does not pile up rendered pages
        # (Executor.map would queue them all before Python 3.14's buffersize).
        numbers = iter(self.numbers)
        pending: deque[Future[bytes]] = deque()
        numbers_pending: deque[int] = deque()
        with ProcessPoolExecutor(
            self.workers, initializer=_worker_open, initargs=(self.source, self.password, self.label)
        ) as pool:

            def submit(count: int) -> None:
                for number in itertools.islice(numbers, count):
                    job = (number, self.dpi, self.fmt, self.jpeg_quality, self.max_pixels)
                    pending.append(pool.submit(_worker_render, job))
                    numbers_pending.append(number)

            submit(2 * self.workers)
            try:
                while pending:
                    number = numbers_pending.popleft()
                    try:
                        data = pending.popleft().result()
                    except BrokenProcessPool as exc:  # MuPDF crashed the worker process
                        raise _page_error(self.label, number, f"BrokenProcessPool: {exc}") from exc
                    submit(1)
                    yield data
            finally:
                for future in pending:  # a reader that stops early cancels what is queued
                    future.cancel()


def pdf_pages(source: str | Path | bytes, **options: object) -> PdfPages:
    """Render the pages of a PDF to image attachments, lazily. See :class:`PdfPages` for the options.

    >>> pages = pdf_pages("data/report.pdf", dpi=100, pages="1-2")  # doctest: +SKIP
    """
    return PdfPages(source, **options)  # type: ignore[arg-type]
