"""The one bounded downloader: GET a URL with an overall deadline and a byte cap, no redirects.

Used by attachments given by URL (when their bytes are needed) and by the local host's image
fetch. A redirect is not followed (a fetched URL must be the one that was checked); the whole
download must finish within ``deadline`` seconds, checked between chunks and bounded per read by
the same deadline, so it never takes more than twice ``deadline``.
"""

from __future__ import annotations

import time

from .errors import DownloadError, TooLargeError

#: Seconds a download may take in all.
DEADLINE = 10.0
_CHUNK = 64 * 1024


def fetch(url: str, max_bytes: int, deadline: float = DEADLINE) -> bytes:
    """The body of ``url``; DownloadError (with a ``reason``) or TooLargeError naming the URL and the fix."""
    import httpx

    started = time.monotonic()
    chunks: list[bytes] = []
    total = 0
    try:
        with httpx.stream("GET", url, timeout=deadline, follow_redirects=False) as response:
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
            for chunk in response.iter_bytes(_CHUNK):
                total += len(chunk)
                if total > max_bytes:
                    raise TooLargeError(
                        f"{url!r} is larger than {max_bytes} bytes, the limit for it; use a smaller file."
                    )
                if time.monotonic() - started > deadline:
                    raise DownloadError(
                        f"{url!r} did not finish downloading within {deadline:g} seconds; use a faster "
                        "server, or save the file and pass its path.",
                        reason="deadline",
                    )
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise DownloadError(
            f"Could not download {url!r} ({type(exc).__name__}); check the URL, or save the file and "
            "pass its path.",
            reason="network",
        ) from exc
    return b"".join(chunks)
