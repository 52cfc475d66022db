"""Run the local host: in a background thread on a free loopback port, or in the foreground.

* :func:`ensure_started` starts it once per process (what ``connect()`` with API_HOST=local
  uses) and returns its root URL; when that server has stopped, the next call starts a new one
  and warns. Clients use ``f"{root}/v1"`` (openai.OpenAI), ``azure_endpoint=root``
  (openai.AzureOpenAI) and ``f"{root}/models"`` (azure-ai-inference).
* :func:`check_endpoint` is what ``connect()`` does with LOCAL_ENDPOINT: a SettingsError when
  nothing answers there.
* :func:`serve_cli` is ``python -m helpers serve [--host 127.0.0.1] [--port 8000] [--api-key-file PATH]
  ...``; every flag is listed with its LOCAL_* variable in :mod:`helpers.local.settings`. The key
  comes from LOCAL_API_KEY or a file, never from argv; a non-loopback ``--host`` needs a key or
  ``--allow-public``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import http.client
import ipaddress
import os
import socket
import sys
import threading
import time
import urllib.parse
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace

from ..errors import SettingsError
from .settings import MODEL_ID, Settings, add_arguments, for_reading

STARTUP_TIMEOUT = 60.0
#: Seconds ``GET /health`` may take before a server counts as not answering.
HEALTH_TIMEOUT = 1.0


@dataclass
class RunningServer:
    """A local host running in a daemon thread."""

    url: str
    settings: Settings
    app: object
    _server: object
    _thread: threading.Thread

    @property
    def requests(self) -> int:
        """API requests the server has seen (each retry of a client counts)."""
        return self.app.state.core.requests  # type: ignore[attr-defined]

    def stop(self, wait: bool = True) -> None:
        """Ask uvicorn to exit and (with ``wait``) wait for the thread."""
        self._server.should_exit = True  # type: ignore[attr-defined]
        if wait:
            self._thread.join(timeout=STARTUP_TIMEOUT)

    def answering(self) -> bool:
        """True when the server thread is alive and ``GET /health`` answers 200 within HEALTH_TIMEOUT."""
        if not self._thread.is_alive():
            return False
        parts = urllib.parse.urlsplit(self.url)
        return _health_status(parts.hostname or "", parts.port or 80) == 200


_lock = threading.Lock()
_running: RunningServer | None = None


def ensure_started(api_key: str | None = None) -> str:
    """Start the local host once per process on a free 127.0.0.1 port; return its root URL.

    Settings come from the LOCAL_* environment variables, with ``api_key`` (when given) as the
    key clients must send. Later calls return the same URL while that server answers (its thread
    alive, ``GET /health`` within HEALTH_TIMEOUT); the first call's settings stay. When it has
    stopped, a new one is started with this call's settings, on a new port, and a RuntimeWarning
    says so: clients made for the old URL fail with "Connection error." and must be made again.
    """
    global _running
    with _lock:
        if _running is not None and _running.answering():
            return _running.url
        previous = _running
        if previous is not None:
            previous.stop(wait=False)  # a thread that is alive but not answering is told to exit
        settings = for_reading(Settings.from_env(), "LOCAL_STREAM_DELAY_MS" in os.environ)
        settings = replace(
            settings,
            host="127.0.0.1",
            port=0,
            api_key=api_key if api_key is not None else settings.api_key,
        )
        _running = start_server(settings)
        if previous is not None:
            warnings.warn(
                f"The local host at {previous.url} had stopped; started a new one at {_running.url}. "
                "Clients made for the old URL cannot reach it: call connect() again to get new ones.",
                RuntimeWarning,
                stacklevel=2,
            )
        return _running.url


def check_endpoint(root: str, timeout: float = HEALTH_TIMEOUT) -> None:
    """Raise SettingsError unless something answers ``GET {root}/health`` within ``timeout`` seconds.

    ``root`` is LOCAL_ENDPOINT without ``/v1``: a local host the user started. Any HTTP answer
    counts (the check is about reachability); nothing is sent but the GET, no key.
    """
    parts = urllib.parse.urlsplit(root)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = None
    if parts.scheme not in ("http", "https") or not parts.hostname or port is None:
        raise SettingsError(
            f"LOCAL_ENDPOINT={root!r} is not a URL like http://127.0.0.1:8000; fix it in .env, "
            "or unset LOCAL_ENDPOINT to have connect() start a local host in this process."
        )
    status = _health_status(parts.hostname, port, timeout, https=parts.scheme == "https")
    if isinstance(status, str):
        raise SettingsError(
            f"Nothing answers at LOCAL_ENDPOINT={root} (GET {root}/health: {status}). Start the local "
            f"host there with `python -m helpers serve --port {port}` in a terminal, or unset "
            "LOCAL_ENDPOINT to have connect() start one in this process."
        )


def start_server(settings: Settings) -> RunningServer:
    """Start a local host with ``settings`` in a daemon thread (port 0: a free one) and wait until it answers."""
    import uvicorn

    from .app import create_app

    refuse_public_without_key(settings)
    _prepare_engines(settings)
    sock = _bind(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    app = create_app(settings)
    config = uvicorn.Config(app, log_level=settings.log_level, access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"local-host-{port}"
    )
    thread.start()
    url = f"http://{_url_host(host)}:{port}"
    wait_until_answering(host, port, thread.is_alive)
    return RunningServer(url, settings, app, server, thread)


def serve_cli(argv: list[str]) -> int:
    """``python -m helpers serve``: run the local host in the foreground until Ctrl+C; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers serve",
        description="Serve the OpenAI, Azure OpenAI and Azure AI Inference APIs offline, answered by the "
        "local model (OCR, speech recognition, translation). Every flag can also be set as a LOCAL_* "
        "environment variable. The key clients must send is LOCAL_API_KEY or the first line of "
        "--api-key-file, never a flag.",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env().with_args(args)
        settings = for_reading(
            settings, "LOCAL_STREAM_DELAY_MS" in os.environ or args.stream_delay_ms is not None
        )
        refuse_public_without_key(settings)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        sock = _bind(settings.host, settings.port)
    except OSError as exc:
        print(
            f"error: cannot listen on {settings.host}:{settings.port} ({exc.strerror}); "
            "pick another port with --port.",
            file=sys.stderr,
        )
        return 1
    import uvicorn

    from .app import create_app

    for problem in _prepare_engines(settings):
        print(f"warning: {problem}", file=sys.stderr)
    host, port = sock.getsockname()[:2]
    print(_banner(settings, f"http://{_url_host(host)}:{port}"), flush=True)
    config = uvicorn.Config(
        create_app(settings), log_level=settings.log_level, access_log=False, lifespan="off"
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def refuse_public_without_key(settings: Settings) -> None:
    """SettingsError when ``settings.host`` is not loopback, no key is set and LOCAL_ALLOW_PUBLIC is off."""
    if _is_loopback(settings.host) or settings.api_key or settings.allow_public:
        return
    raise SettingsError(
        f"Refusing to listen on {settings.host} without a key: that address is reachable from other "
        "machines, and anyone who can reach it could use the local host. Set a key (LOCAL_API_KEY, or "
        "--api-key-file PATH / LOCAL_API_KEY_FILE), or pass --allow-public (LOCAL_ALLOW_PUBLIC=1) if "
        "you mean to serve it to anyone who can reach it."
    )


def _fewer_malloc_arenas() -> None:
    """Keep glibc to two malloc arenas in this process. Each worker thread that runs OCR otherwise gets an
    arena of its own that keeps the detector's buffers: under 32 concurrent clients the server's RSS grew
    by about 1 GB (+430 to +670 MB for OCR on 16 threads), and by about 100 MB with two arenas."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX


def _prepare_engines(settings: Settings) -> list[str]:
    """Point speech at LOCAL_WHISPER_MODEL and, with LOCAL_PRELOAD, load the OCR and speech models now;
    returns what could not be loaded (a missing part is also said in the replies that need it)."""
    _fewer_malloc_arenas()
    from . import ocr, speech
    from .engines import Missing

    speech.configure(settings.whisper_model)
    missing = []
    for engine in (ocr.ENGINE, speech.ENGINE) if settings.preload else ():
        try:
            engine.get()
        except Missing as exc:
            missing.append(str(exc))
    return missing


def _banner(settings: Settings, root: str, page: bool = False) -> str:
    """What ``serve`` prints when it starts, and (``page``) the top of the page ``GET /`` answers:
    how to point each SDK at ``root``, and whether a key is required (never the key)."""
    lines = [
        f"Local host: {MODEL_ID} at {root}",
        f'  openai.OpenAI(base_url="{root}/v1")',
        f'  openai.AzureOpenAI(azure_endpoint="{root}", api_version="2024-10-21")',
        f'  azure.ai.inference.ChatCompletionsClient(endpoint="{root}/models")',
        f'  azure.ai.inference.ChatCompletionsClient(endpoint="{root}")  # as a single-model endpoint',
        *([] if page else [f"  every route, and these lines: open {root}/ in a browser"]),
        "  auth: "
        + (
            "a key is required (the one in LOCAL_API_KEY, or in the file of --api-key-file / "
            "LOCAL_API_KEY_FILE)"
            if settings.api_key
            else "none (any key is accepted)"
        ),
    ]
    if not _is_loopback(settings.host):
        lines.append(
            f"  warning: listening on {settings.host}, reachable from other machines"
            + ("" if settings.api_key else " without a key (--allow-public)")
        )
    if not page:
        lines.append("Press Ctrl+C to stop.")
    return "\n".join(lines)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP: asyncio turns Nagle off (TCP_NODELAY) only on such sockets, and with
    # Nagle on every response waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def wait_until_answering(host: str, port: int, alive: Callable[[], bool]) -> None:
    """Return once ``GET /health`` on ``host:port`` answers; raise RuntimeError when ``alive()`` turns
    False first (the server stopped) or after STARTUP_TIMEOUT seconds."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"The local host on port {port} stopped while starting; see the log above.")
        try:
            connection = http.client.HTTPConnection(host, port, timeout=2)
            connection.request("GET", "/health")
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"The local host on port {port} did not answer within {STARTUP_TIMEOUT:.0f} seconds.")


def _health_status(host: str, port: int, timeout: float = HEALTH_TIMEOUT, https: bool = False) -> int | str:
    """The status of ``GET /health`` on ``host:port``, or why there was none (a short reason)."""
    kind = http.client.HTTPSConnection if https else http.client.HTTPConnection
    connection = kind(host, port, timeout=timeout)
    try:
        connection.request("GET", "/health")
        response = connection.getresponse()
        response.read()
        return response.status
    except TimeoutError:
        return f"no answer within {timeout:g} s"
    except ConnectionRefusedError:
        return "connection refused"
    except (OSError, http.client.HTTPException) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
