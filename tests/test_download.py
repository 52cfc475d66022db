"""The bounded downloader against a loopback HTTP server: files, refusals, slow servers, bad URLs."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpers import Attachment, InputError, TooLargeError
from helpers.download import fetch
from helpers.errors import DownloadError

BODY = b"0123456789" * 200  # 2000 bytes


class Handler(BaseHTTPRequestHandler):
    """One behaviour per path."""

    def do_GET(self) -> None:
        if self.path == "/file":
            self.reply(200, BODY)
        elif self.path == "/missing":
            self.reply(404, b"no such file")
        elif self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/file")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/no-length":  # a body that ends when the connection closes
            self.send_response(200)
            self.end_headers()
            self.wfile.write(BODY)
        elif self.path == "/trickle":  # the headers at once, then a byte every 0.3 s
            self.send_response(200)
            self.send_header("Content-Length", "10000")
            self.end_headers()
            self.trickle(b"x" * 10_000)  # 50 minutes: it ends when the client gives up
        elif self.path == "/trickle-headers":  # even the status line a byte at a time
            self.trickle(
                b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\nX-Padding: " + b"p" * 100 + b"\r\n\r\nhello"
            )

    def reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def trickle(self, data: bytes) -> None:
        for byte in data:
            try:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            except OSError:  # the client gave up: that is the point
                return
            time.sleep(0.3)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_file(server):
    assert fetch(f"{server}/file", max_bytes=10_000) == BODY
    assert fetch(f"{server}/no-length", max_bytes=10_000) == BODY
    assert Attachment(url=f"{server}/file").content_bytes() == BODY


def test_a_404(server):
    with pytest.raises(DownloadError) as err:
        fetch(f"{server}/missing", max_bytes=10_000)
    assert err.value.reason == "status"
    assert str(err.value) == (
        f"'{server}/missing' answered HTTP 404; check the URL, or save the file and pass its path."
    )


def test_a_redirect_is_not_followed(server):
    with pytest.raises(DownloadError) as err:
        fetch(f"{server}/moved", max_bytes=10_000)
    assert err.value.reason == "redirect"
    assert str(err.value) == (
        f"'{server}/moved' redirects to '/file'; redirects are not followed, pass the final URL."
    )


@pytest.mark.parametrize("path", ["/file", "/no-length"])  # refused by its length; counted as it arrives
def test_an_oversize_body(server, path):
    with pytest.raises(TooLargeError) as err:
        fetch(f"{server}{path}", max_bytes=1000)
    assert str(err.value) == (
        f"'{server}{path}' is larger than 1000 bytes, the limit for it; use a smaller file."
    )


@pytest.mark.parametrize("path", ["/trickle", "/trickle-headers"])
def test_a_server_that_sends_a_byte_at_a_time_meets_the_deadline(server, path):
    with pytest.raises(DownloadError) as err:
        fetch(f"{server}{path}", max_bytes=10_000, deadline=1.0)
    assert err.value.reason == "deadline"
    assert str(err.value) == (
        f"'{server}{path}' did not finish downloading within 1 s; use a faster server, or save "
        "the file and pass its path."
    )


def test_a_refused_connection():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DownloadError) as err:
        fetch(f"http://127.0.0.1:{port}/x.png", max_bytes=10_000)
    assert err.value.reason == "network"
    assert str(err.value) == (
        f"Could not download 'http://127.0.0.1:{port}/x.png' (ConnectError: [Errno 111] Connection "
        "refused); check the URL and that the server is running, or save the file and pass its path."
    )


MALFORMED = [
    (
        "http://a\t@127.0.0.1/",
        "URL 'http://a\\t@127.0.0.1/' holds the character '\\t' at position 8; remove it, or "
        "percent-encode it (a space is %20).",
    ),
    (
        "http://[::1/png",
        "URL 'http://[::1/png' is malformed (Invalid IPv6 URL); check the host and port, e.g. "
        "http://[::1]:8000/a.png.",
    ),
    (
        "http://127.0.0.1:99999/a.png",
        "URL 'http://127.0.0.1:99999/a.png' is malformed (Port out of range 0-65535); check the host "
        "and port, e.g. http://[::1]:8000/a.png.",
    ),
    ("http:///a.png", "URL 'http:///a.png' has no host; write it as http://host/path."),
]


@pytest.mark.parametrize(("url", "message"), MALFORMED)
def test_malformed_urls_are_input_errors(url, message):
    with pytest.raises(InputError) as err:
        fetch(url, max_bytes=10_000)
    assert type(err.value) is InputError
    assert str(err.value) == message
    with pytest.raises(InputError) as err:
        Attachment(url=url)
    assert str(err.value) == message
