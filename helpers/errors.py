"""The few typed errors of the workbook; each message names the input and the fix."""

from __future__ import annotations


class WorkbookError(Exception):
    """Base class of every error raised on purpose by ``helpers``."""

    def _render_traceback_(self) -> list[str]:
        """What IPython (a notebook, JupyterLab, the ipython shell) shows instead of the traceback: the
        class name and the message. The message names the input and the fix; dozens of lines of
        frames above it would only hide it. ``traceback.print_exc()`` still shows the frames."""
        first, *rest = str(self).splitlines() or [""]
        return [f"{type(self).__name__}: {first}", *rest]


class SettingsError(WorkbookError):
    """A host is unknown or a variable it needs is missing."""


class InputError(WorkbookError, ValueError):
    """A file or value given to an encoder cannot be used as it is."""


class UnsupportedFormatError(InputError):
    """The bytes are not in a format that can be sent or converted."""


class TooLargeError(InputError):
    """The input is over a size limit of the service."""


class DownloadError(InputError):
    """A URL could not be fetched; ``reason`` is redirect, status, deadline or network."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class PdfError(InputError):
    """A PDF is encrypted, corrupt, empty, or a page is out of range."""


class UnknownModelError(WorkbookError, ValueError):
    """No token formula is known for a model name."""


__all__ = [
    "DownloadError",
    "InputError",
    "PdfError",
    "SettingsError",
    "TooLargeError",
    "UnknownModelError",
    "UnsupportedFormatError",
    "WorkbookError",
]
