"""Service limits, accepted formats and wire patterns that both the client side and the local host use.

The values are the services' own (``docs/limits.md`` explains each); the local host's other rules
(its error wording, its Whisper upload limit, its settings) live in ``helpers/local/``.
"""

from __future__ import annotations

MB = 1024 * 1024

#: Image formats the chat APIs accept, as MIME type -> short name used in error messages.
IMAGE_MIME_TYPES: dict[str, str] = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}

#: Audio formats ``input_audio`` accepts, as MIME type -> the ``format`` field value.
AUDIO_MIME_TYPES: dict[str, str] = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
}
AUDIO_FORMATS = ("wav", "mp3")

MAX_IMAGE_BYTES = 20 * MB
MAX_AUDIO_BYTES = 20 * MB

IMAGE_DETAILS = ("auto", "low", "high")

#: A dated Azure OpenAI ``api-version``: ``2024-10-21`` or ``2025-01-01-preview``.
API_VERSION_DATE = r"\d{4}-\d{2}-\d{2}(-preview)?"

#: Pixels one image (one frame) may have, checked from its header before anything is decoded, by
#: ``helpers.images.image_size`` on the client and by the local host alike. 64 million pixels admit
#: every camera photo up to 61 MP (9504x6336), a phone's 48/50 MP mode (8160x6120) and a page
#: scanned or rendered at 600 dpi (A4: 4961x7016); decoded as RGBA that is at most 256 MB. Larger
#: images are refused with their size, so a tiny compressed "pixel bomb" (a 27 KB PNG of 15000x15000)
#: cannot take minutes and gigabytes to decode. The services shrink every image to fit 2048x2048
#: anyway, so scaling down first loses nothing that is sent.
MAX_IMAGE_PIXELS = 64_000_000

#: Pages of a PDF that ``prepare_file`` renders at most (one image each) unless told otherwise. Azure
#: documents 10 images per chat request in one place and 50 in its quota table; 20 pages at 100 dpi
#: cost about 20 x 765 = 15,300 image tokens, and they are counted from the page count before any
#: page is rendered, so a 2000-page PDF is refused at once instead of rendered in full.
MAX_PDF_PAGES = 20
