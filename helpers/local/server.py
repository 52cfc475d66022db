"""Run the local host: in a background thread on a free loopback port, or in the foreground.

* :func:`ensure_started` starts it once per process (what ``connect()`` with API_HOST=local
  uses) and returns its root URL. Clients use ``f"{root}/v1"`` (openai.OpenAI),
  ``azure_endpoint=root`` (openai.AzureOpenAI) and ``f"{root}/models"`` (azure-ai-inference).
* :func:`serve_cli` is ``python -m helpers serve [--host 127.0.0.1] [--port 8000] [--api-key K] ...``;
  every flag is listed with its LOCAL_* variable in :mod:`helpers.local.settings`.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from ..errors import SettingsError
from .settings import MODEL_ID, Settings, add_arguments

STARTUP_TIMEOUT = 60.0


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

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        self._server.should_exit = True  # type: ignore[attr-defined]
        self._thread.join(timeout=STARTUP_TIMEOUT)


_lock = threading.Lock()
_running: RunningServer | None = None


def ensure_started(api_key: str | None = None) -> str:
    """Start the local host once per process on a free 127.0.0.1 port; return its root URL.

    Settings come from the LOCAL_* environment variables, with ``api_key`` (when given) as the
    key clients must send. Later calls return the same URL; the first call's settings stay.
    """
    global _running
    with _lock:
        if _running is None:
            settings = Settings.from_env()
            settings = replace(
                settings,
                host="127.0.0.1",
                port=0,
                api_key=api_key if api_key is not None else settings.api_key,
            )
            _running = start_server(settings)
        return _running.url


def start_server(settings: Settings) -> RunningServer:
    """Start a local host with ``settings`` in a daemon thread (port 0: a free one) and wait until it answers."""
    import uvicorn

    from .app import create_app

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
        "environment variable.",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env().with_args(args)
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


def _prepare_engines(settings: Settings) -> list[str]:
    """Point speech at LOCAL_WHISPER_MODEL and, with LOCAL_PRELOAD, load the OCR and speech models now;
    returns what could not be loaded (a missing part is also said in the replies that need it)."""
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


def _banner(settings: Settings, root: str) -> str:
    lines = [
        f"Local host: {MODEL_ID} at {root}",
        f'  openai.OpenAI(base_url="{root}/v1")',
        f'  openai.AzureOpenAI(azure_endpoint="{root}", api_version="2024-10-21")',
        f'  azure.ai.inference.ChatCompletionsClient(endpoint="{root}/models")',
        "  auth: "
        + (
            "a key is required (the one in LOCAL_API_KEY / --api-key)"
            if settings.api_key
            else "none (any key is accepted)"
        ),
    ]
    if not _is_loopback(settings.host):
        lines.append(
            f"  warning: listening on {settings.host}, reachable from other machines"
            + ("" if settings.api_key else " without a key")
        )
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


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
