"""A request body over LOCAL_MAX_BODY_MB is a 413 in the route's error shape, refused before it is read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..limits import MB
from . import errors
from .errors import Surface, error_response


class BodyLimit:
    """ASGI middleware: a request body over LOCAL_MAX_BODY_MB is a 413, refused before it is read.

    A Content-Length over the limit is answered at once, without reading the body (uvicorn discards
    it and keeps the connection). A body without a Content-Length (chunked) is counted as the route
    reads it: the read that goes over the limit raises the 413 as an :class:`ApiError`, which the
    route's :meth:`Core.guarded` writes like every other error, so at most the limit plus one chunk
    is ever held.
    """

    def __init__(self, app: Any, max_mb: float) -> None:
        self.app = app
        self.max_mb = max_mb
        self.limit = int(max_mb * MB)

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[[], Any], send: Callable[..., Any]
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        if length is not None and length > self.limit:
            response = error_response(errors.body_too_large(self.max_mb, length), surface_of(scope["path"]))
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise errors.body_too_large(self.max_mb)
            return message

        await self.app(scope, counted, send)


def _content_length(scope: dict[str, Any]) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # uvicorn refuses a malformed Content-Length before the app sees it
    return None


def surface_of(path: str) -> Surface:
    """The API surface a path belongs to (it decides the shape of an error answered before routing)."""
    if path.startswith("/openai/v1"):
        return Surface.AZURE_V1
    if path.startswith("/openai"):
        return Surface.AZURE
    if path.startswith(("/models", "/api/models")) or path in ("/chat/completions", "/info"):
        return Surface.INFERENCE
    return Surface.OPENAI
