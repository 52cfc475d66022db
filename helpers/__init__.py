"""Shared helpers of the multimodal chat workbook: hosts, attachments, encoders, token estimates."""

from .attachments import Attachment, sniff_mime
from .audio import audio_duration, audio_format, prepare_audio, to_wav
from .errors import (
    InputError,
    PdfError,
    SettingsError,
    TooLargeError,
    UnknownModelError,
    UnsupportedFormatError,
    WorkbookError,
)
from .hosts import Host, connect
from .images import image_info, prepare_image
from .parts import (
    chat_content,
    chat_message,
    inference_content,
    inference_message,
    responses_content,
    responses_message,
)
from .pdf import PdfPages, pdf_pages
from .prepare import prepare_file
from .tokens import audio_tokens, image_tokens, service_size

__all__ = [
    "Attachment",
    "Host",
    "InputError",
    "PdfError",
    "PdfPages",
    "SettingsError",
    "TooLargeError",
    "UnknownModelError",
    "UnsupportedFormatError",
    "WorkbookError",
    "audio_duration",
    "audio_format",
    "audio_tokens",
    "chat_content",
    "chat_message",
    "connect",
    "image_info",
    "image_tokens",
    "inference_content",
    "inference_message",
    "pdf_pages",
    "prepare_audio",
    "prepare_file",
    "prepare_image",
    "responses_content",
    "responses_message",
    "service_size",
    "sniff_mime",
    "to_wav",
]
