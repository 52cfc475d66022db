"""Turn any supported file into the attachments a chat message takes."""

from __future__ import annotations

from .attachments import Attachment
from .audio import prepare_audio
from .errors import InputError, PdfError, UnsupportedFormatError
from .images import _is_svg, prepare_image
from .limits import MAX_PDF_PAGES
from .pdf import PageSpec, pdf_pages


def prepare_file(
    source: Attachment | str | bytes,
    detail: str = "auto",
    *,
    dpi: int = 100,
    pages: PageSpec = None,
    max_pages: int = MAX_PDF_PAGES,
) -> list[Attachment]:
    """Images -> one resized image; audio -> one wav/mp3 clip; a PDF -> one image per selected page.

    The file's kind comes from its sniffed bytes, never from its name. ``pages`` selects PDF pages
    (``"1-5"``, ``"2,4"``, ``3``; all when None; other files ignore it). More than ``max_pages`` selected pages raise
    PdfError, found from the page count before any page is rendered.
    """
    if max_pages < 1:
        raise InputError(f"max_pages={max_pages} must be at least 1.")
    att = Attachment.coerce(source)
    mime = att.mime_type
    if mime == "application/pdf":
        rendered = pdf_pages(att.content_bytes(), dpi=dpi, pages=pages, progress=False, name=att.name)
        if len(rendered) > max_pages:
            chosen = (
                f"has {rendered.page_count} pages"
                if pages is None
                else f"pages={pages!r} selects {len(rendered)} of its {rendered.page_count} pages"
            )
            raise PdfError(
                f"{rendered.label} {chosen}, more than max_pages={max_pages} (each page is sent as one "
                f"image). Choose the pages to send, e.g. pages='1-{min(5, max_pages)}', or raise max_pages."
            )
        return [prepare_image(page, detail) for page in rendered]
    if mime.startswith("image/") or _is_svg(att.content_bytes()):
        return [prepare_image(att, detail)]  # an SVG or unreadable image raises, saying what to do
    if mime.startswith(("audio/", "video/")):
        return [prepare_audio(att)]
    raise UnsupportedFormatError(
        f"{att.name!r} is {mime}; attach an image (png, jpeg, gif, webp, bmp, tiff), a PDF, "
        "or audio (wav, mp3, m4a, ogg, flac, webm)."
    )
