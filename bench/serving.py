"""What the benchmarks share: the local host as a child process (``python -m helpers serve``), as a
workshop runs it, started on a free loopback port with the LOCAL_* variables a run asks for."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, extra_env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``python -m helpers serve --port PORT`` with only ``extra_env`` among the LOCAL_* variables (and
    streams unpaced); returns once ``GET /health`` answers, or exits with the server's log."""
    sys.path.insert(0, str(ROOT))
    from helpers.local.server import wait_until_answering

    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCAL_")}
    env |= {"LOCAL_STREAM_DELAY_MS": "0", **extra_env}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "helpers", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    try:
        wait_until_answering("127.0.0.1", port, lambda: process.poll() is None)
    except RuntimeError as exc:
        process.kill()
        raise SystemExit(f"{exc}\n{log.read_text()[-2000:]}") from None
    return process
