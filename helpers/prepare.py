"""Turn any supported file into the attachments a chat message takes."""

from __future__ import annotations

from .attachments import Attachment
from .audio import prepare_audio
from .errors import UnsupportedFormatError
from .images import prepare_image
from .pdf import pdf_pages


def prepare_file(
    source: Attachment | str | bytes, detail: str = "auto", *, dpi: int = 100
) -> list[Attachment]:
    """Images -> one resized image; audio -> one wav/mp3 clip; a PDF -> one image per page.

    The file's kind comes from its sniffed bytes, never from its name.
    """
    att = Attachment.coerce(source)
    mime = att.mime_type
    if mime == "application/pdf":
        return [
            prepare_image(page, detail) for page in pdf_pages(att.content_bytes(), dpi=dpi, progress=False)
        ]
    if mime.startswith("image/"):
        return [prepare_image(att, detail)]
    if mime.startswith(("audio/", "video/")):
        return [prepare_audio(att)]
    raise UnsupportedFormatError(
        f"{att.name!r} is {mime}; attach an image (png, jpeg, gif, webp, bmp, tiff), a PDF, "
        "or audio (wav, mp3, m4a, ogg, flac, webm)."
    )
