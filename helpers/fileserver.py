"""A quiet static file server on loopback, so a lesson can send an image *by URL* offline."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

from .errors import InputError

_servers: dict[Path, str] = {}
_lock = threading.Lock()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Say nothing: request logs would land in notebook outputs."""


def serve_folder(folder: str | Path) -> str:
    """Serve ``folder`` read-only on a free 127.0.0.1 port in a daemon thread; return its root URL.

    Started once per folder per process; later calls return the same URL.
    """
    path = Path(folder).resolve()
    if not path.is_dir():
        raise InputError(
            f"Folder {str(folder)!r} does not exist; pass the folder that holds the files to serve."
        )
    with _lock:
        if path not in _servers:
            handler = functools.partial(_QuietHandler, directory=str(path))
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
            threading.Thread(target=server.serve_forever, name=f"files:{path.name}", daemon=True).start()
            _servers[path] = f"http://127.0.0.1:{server.server_address[1]}"
        return _servers[path]
