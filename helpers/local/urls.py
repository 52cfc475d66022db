"""Media URLs the local host may fetch: loopback always, other hosts only when LOCAL_IMAGE_URL_ALLOW lists them.

The same rules, the same bounded fetch and the same 400s serve every URL a request may carry: an
image (``image_url``, ``input_image``), an audio clip (``audio_url``) and a file (``input_file``'s
``file_url``); only the noun in the messages and the byte cap differ. The allow-list keeps its name,
LOCAL_IMAGE_URL_ALLOW, for all three.

A URL's host is resolved before anything is fetched, and the decision is made on the addresses as
well as the name, so a name that points at this machine counts as loopback and an allowed name that
resolves to a private, link-local or reserved address is refused (unless an allow-list entry names
that network, e.g. ``10.0.0.0/8``). Allow-list entries are host-name patterns (``*.example.org``,
fnmatch) or IP networks. Fetches use the one bounded downloader of :mod:`helpers.download` (an
overall deadline, a byte cap, no redirects) and at most :data:`FETCH_SLOTS` run at once, so slow
servers cannot take the worker threads that answer other requests.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import socket
import threading
from urllib.parse import urlsplit

from .. import download
from ..download import DEADLINE, fetch
from ..errors import DownloadError, InputError, TooLargeError
from . import errors
from .errors import ApiError
from .settings import Settings

#: URLs downloaded at once, at most; another request that needs one is answered 429.
FETCH_SLOTS = 4
_slots = threading.BoundedSemaphore(FETCH_SLOTS)
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def check_url(url: str, param: str) -> str:
    """The lower-case host of a well-formed http(s) URL (the client's own check); a 400 naming ``param``."""
    try:
        download.check_url(url)
    except InputError as exc:
        raise errors.malformed_url(param, str(exc)) from None
    return (urlsplit(url).hostname or "").lower()


def resolve(host: str) -> list[IpAddress]:
    """The addresses of ``host`` (an IP literal is its own address); empty when it does not resolve."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def refusal(host: str, addresses: list[IpAddress], allow: tuple[str, ...], what: str = "image") -> str | None:
    """Why the host may not be fetched, or None when it may; ``what`` names the media (image, audio, file)."""
    if not addresses:
        return f"The host {host} does not resolve to an address."
    if all(address.is_loopback for address in addresses):
        return None
    networks, names = [], []
    for pattern in allow:
        try:
            networks.append(ipaddress.ip_network(pattern, strict=False))
        except ValueError:
            names.append(pattern.lower())
    listed = [a for a in addresses if any(a in network for network in networks)]
    if len(listed) == len(addresses):
        return None
    if not any(fnmatch.fnmatchcase(host, name) for name in names):
        return (
            f"The local host fetches {what} URLs only from loopback (localhost, 127.0.0.1, ::1) and from "
            f"hosts that LOCAL_IMAGE_URL_ALLOW lists; {host} is neither. Send the {what} as a base64 data "
            "URL, or add the host to LOCAL_IMAGE_URL_ALLOW."
        )
    internal = [a for a in addresses if a not in listed and not a.is_global]
    if internal:
        return (
            f"{host} is allowed by LOCAL_IMAGE_URL_ALLOW but resolves to the internal address {internal[0]}; "
            "add that network to LOCAL_IMAGE_URL_ALLOW (for example 10.0.0.0/8) if it is meant."
        )
    return None


def fetch_image(url: str, param: str, settings: Settings) -> bytes:
    """GET an allowed image URL with the bounded downloader; every refusal says why, as a 400."""
    return fetch_media(url, param, settings, "image", settings.max_image_bytes)


def fetch_media(url: str, param: str, settings: Settings, what: str, max_bytes: int) -> bytes:
    """GET an allowed URL of an image, audio clip or file (``what``) with the bounded downloader, at
    most ``max_bytes``; every refusal says why, as a 400 naming ``param``."""
    host = check_url(url, param)
    why = refusal(host, resolve(host), settings.image_url_allow, what)
    if why is not None:
        raise url_not_accessible(what, param, url, why)
    if not _slots.acquire(blocking=False):
        raise errors.too_many_fetches(FETCH_SLOTS)
    try:
        return fetch(url, max_bytes, DEADLINE)
    except TooLargeError:
        if what == "image":
            why = f"{_clip(url)} is over {max_bytes} bytes; shrink it (helpers.prepare_image does)."
            raise errors.unsupported_image(param, settings.max_image_mb, why) from None
        raise errors.invalid_value(
            param,
            None,
            why=f"the {what} at {_clip(url)} is over {max_bytes} bytes, the most this part takes.",
        ) from None
    except DownloadError as exc:
        raise url_not_accessible(what, param, url, _reason(exc, url, what)) from None
    finally:
        _slots.release()


def url_not_accessible(what: str, param: str, url: str, why: str) -> ApiError:
    """The 400 for a URL that is not allowed or cannot be fetched: for an image, the services' wording
    (:func:`.errors.image_url_not_accessible`); for audio and files the same shape with their noun
    (``The provided audio url is not accessible.``; on ``/v1`` the code ``invalid_audio_url``)."""
    if what == "image":
        return errors.image_url_not_accessible(param, url, why)
    return ApiError(
        400,
        "BadRequest",
        f"The provided {what} url is not accessible. {why}",
        param=param,
        openai_wording=(f"invalid_{what}_url", f"Error while downloading {_clip(url)}. {why}"),
    )


def _reason(error: DownloadError, url: str, what: str = "image") -> str:
    """Why ``url`` could not be fetched, naming it (Azure's wording names nothing)."""
    shown = _clip(url)
    return {
        "redirect": f"{shown} answered with a redirect, which is not followed; send the final URL.",
        "status": f"{shown} did not answer 200 OK; check the URL.",
        "deadline": f"{shown} did not send the whole {what} within {DEADLINE:g} seconds.",
    }.get(error.reason, f"{shown} could not be reached; check that the server is running.")


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
