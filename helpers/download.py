"""The one bounded downloader: GET a URL with an overall deadline and a byte cap, no redirects.

Used by attachments given by URL (when their bytes are needed) and by the local host's image
fetch. A redirect is not followed (a fetched URL must be the one that was checked). The deadline
covers the whole download: connecting is bounded by it, and a watchdog shuts the connection down
when it passes, so a server that sends its headers or body a byte at a time is cut off on time
(only the DNS lookup, which cannot be interrupted, may add to it). :func:`check_url` refuses a
malformed URL before anything is sent.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from .errors import DownloadError, InputError, TooLargeError

#: Seconds a download may take in all.
DEADLINE = 10.0


def check_url(url: str) -> None:
    """Raise InputError naming ``url`` and the fix unless it is a well-formed http(s) URL with a host."""
    bad = next((ch for ch in url if ch.isspace() or ord(ch) < 32 or ord(ch) == 127), None)
    if bad is not None:
        raise InputError(
            f"URL {url!r} holds the character {bad!r} at position {url.index(bad)}; remove it, or "
            "percent-encode it (a space is %20)."
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number from 0 to 65535
    except ValueError as exc:
        raise InputError(
            f"URL {url!r} is malformed ({exc}); check the host and port, e.g. http://[::1]:8000/a.png."
        ) from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise InputError(f"URL {url!r} must start with http:// or https://.")
    if not parts.hostname:
        raise InputError(f"URL {url!r} has no host; write it as http://host/path.")


class _Watchdog:
    """Shuts the download's connection down when the deadline passes, waking a read that waits.

    httpcore reports each connection it opens to the request's ``trace`` extension; a duplicate of
    its socket is kept, so the shutdown works whether or not TLS wraps the original.
    """

    def __init__(self, deadline: float) -> None:
        self.fired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(deadline, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._timer.cancel()
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace callback: remember the socket of the connection just opened."""
        if event != "connection.connect_tcp.complete" or info.get("return_value") is None:
            return
        sock = info["return_value"].get_extra_info("socket")
        if sock is None:
            return
        with self._lock:
            if self._sock is not None:
                self._sock.close()
            self._sock = sock.dup()
            if self.fired:
                self._shutdown()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            self._shutdown()

    def _shutdown(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):  # already closed by the other side
                self._sock.shutdown(socket.SHUT_RDWR)


def _late(url: str, deadline: float) -> DownloadError:
    return DownloadError(
        f"{url!r} did not finish downloading within {deadline:g} s; use a faster server, or save "
        "the file and pass its path.",
        reason="deadline",
    )


def _too_large(url: str, max_bytes: int) -> TooLargeError:
    return TooLargeError(f"{url!r} is larger than {max_bytes} bytes, the limit for it; use a smaller file.")


def fetch(url: str, max_bytes: int, deadline: float = DEADLINE) -> bytes:
    """The body of ``url``; InputError for a malformed URL, else DownloadError (with a ``reason``:
    redirect, status, deadline or network) or TooLargeError, naming the URL and the fix."""
    import httpx

    check_url(url)
    chunks: list[bytes] = []
    total = 0
    watchdog = _Watchdog(deadline)
    try:
        with (
            watchdog,
            httpx.Client(timeout=deadline, follow_redirects=False) as client,
            client.stream(
                "GET",
                url,
                headers={"Accept-Encoding": "identity"},  # the cap counts the bytes as they arrive
                extensions={"trace": watchdog.trace},
            ) as response,
        ):
            if response.is_redirect:
                target = response.headers.get("location", "another address")
                raise DownloadError(
                    f"{url!r} redirects to {target!r}; redirects are not followed, pass the final URL.",
                    reason="redirect",
                )
            if response.status_code != 200:
                raise DownloadError(
                    f"{url!r} answered HTTP {response.status_code}; check the URL, or save the file and "
                    "pass its path.",
                    reason="status",
                )
            length = response.headers.get("content-length", "")
            if length.isdigit() and int(length) > max_bytes:
                raise _too_large(url, max_bytes)
            for chunk in response.iter_bytes():  # each chunk as it arrives, however small
                total += len(chunk)
                if total > max_bytes:
                    raise _too_large(url, max_bytes)
                if watchdog.fired:
                    raise _late(url, deadline)
                chunks.append(chunk)
            if watchdog.fired:  # the shutdown ends a body without a length as if it were complete
                raise _late(url, deadline)
    except httpx.TimeoutException as exc:
        raise _late(url, deadline) from exc
    except httpx.InvalidURL as exc:
        raise InputError(f"URL {url!r} is malformed ({exc}); check it and try again.") from exc
    except httpx.HTTPError as exc:
        if watchdog.fired:
            raise _late(url, deadline) from exc
        raise DownloadError(
            f"Could not download {url!r} ({type(exc).__name__}: {exc}); check the URL and that the server "
            "is running, or save the file and pass its path.",
            reason="network",
        ) from exc
    return b"".join(chunks)
