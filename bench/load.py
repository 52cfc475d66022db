"""Load test of the local host: concurrent SDK clients sending text, image and audio chats, without and with
injected faults.

What is measured
----------------
``python -m helpers serve`` runs as a child process on a free port (``LOCAL_*`` variables cleared). It
is run twice: once without faults, once with ``LOCAL_FAULT_EVERY=3`` (every third new request is a 429
with ``retry-after-ms: 100``). Each time ``--clients`` clients (asyncio in this process; each an
``openai.AsyncOpenAI`` with its default retries and its own HTTP client limited to one connection) send
chat requests for ``--seconds`` seconds, cycling through three kinds:

* text: "Hello there" (the local model answers what it can do);
* image: a 160x40 PNG with a line of text, a new one each request (its number changes), so OCR runs
  every time;
* audio: the espeak clip ``data/hello.wav`` (1.7 s) as ``input_audio``, the same every time, so after
  the first request speech recognition comes from the server's cache: the audio path measures
  base64, wav checks and the cache, not Whisper.

Printed per run: requests (final outcomes), errors (every error response on the wire, including the
injected faults the SDK retried), lost requests (a request whose final outcome is an error, after the
SDK's retries), p50/p95 latency per kind (whole SDK call, retries included), requests per second, and
the server's RSS (``VmRSS`` of ``/proc/<pid>/status``) after start, after a warm-up request of each
kind (OCR and Whisper loaded), and after the load, with the peak (``VmHWM``). The target under faults
is zero lost requests; the exit status is 1 when a run lost any.

Run it from the repository root::

    .venv/bin/python bench/load.py                 # 32 clients, 60 s of load per run
    .venv/bin/python bench/load.py --quick         # 10 s of load per run

A run lasts its seconds of load plus the time the requests still in flight then take (OCR runs one
image at a time, so with many clients the image requests queue); req/s counts over that whole time.
    .venv/bin/python bench/load.py --clients 8 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import os
import platform
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import openai
import serving  # bench/serving.py, beside this file
from PIL import Image, ImageDraw

try:  # the HTTP package the openai SDK is built on (httpx2 since openai 3, httpx before)
    import httpx2 as sdk_http
except ImportError:  # pragma: no cover - older openai
    sdk_http = httpx

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("text", "image", "audio")
FAULT_EVERY = 3


# --- the server ----------------------------------------------------------------------------------


start_server = serving.start_server


def rss_mb(pid: int, field_name: str = "VmRSS") -> float:
    """``VmRSS`` (or ``VmHWM``, the peak) of process ``pid`` in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- the requests --------------------------------------------------------------------------------


def text_png(number: int) -> bytes:
    """160x40, black 'Order <number>' on white."""
    image = Image.new("RGB", (160, 40), "white")
    ImageDraw.Draw(image).text((8, 12), f"Order {number}", fill="black")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def messages(kind: str, number: int, clip_b64: str) -> list[dict[str, Any]]:
    if kind == "text":
        return [{"role": "user", "content": "Hello there"}]
    if kind == "image":
        url = "data:image/png;base64," + base64.b64encode(text_png(number)).decode()
        return [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What does it say?"},
                    {"type": "image_url", "image_url": {"url": url}},
                ],
            }
        ]
    return [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Transcribe this."},
                {"type": "input_audio", "input_audio": {"data": clip_b64, "format": "wav"}},
            ],
        }
    ]


# --- the load ------------------------------------------------------------------------------------


@dataclass
class Run:
    """What one run saw."""

    name: str
    latencies: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    wire_errors: Counter[int] = field(default_factory=Counter)  # status -> error responses on the wire
    lost: Counter[str] = field(default_factory=Counter)  # final errors by kind of exception
    elapsed: float = 0.0
    rss: dict[str, float] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return sum(map(len, self.latencies.values())) + sum(self.lost.values())


def sdk_client(base: str, run: Run) -> openai.AsyncOpenAI:
    """An AsyncOpenAI with default retries, one connection, and every error response counted."""

    async def count(response: Any) -> None:
        if response.status_code >= 400:
            run.wire_errors[response.status_code] += 1

    http_client = openai.DefaultAsyncHttpxClient(
        limits=sdk_http.Limits(max_connections=1, max_keepalive_connections=1),
        event_hooks={"response": [count]},
    )
    return openai.AsyncOpenAI(base_url=f"{base}/v1", api_key="load-test", http_client=http_client)


async def load(base: str, run: Run, clients: int, seconds: float, clip_b64: str) -> None:
    """``clients`` clients send requests until ``seconds`` have passed (requests in flight then finish)."""
    numbers = iter(range(10**9))

    async def one_client(index: int) -> None:
        client = sdk_client(base, run)
        turn = index  # clients start on different kinds
        async with client:
            while time.monotonic() < stop:
                kind = KINDS[turn % len(KINDS)]
                turn += 1
                started = time.perf_counter()
                try:
                    await client.chat.completions.create(
                        model="gpt-4o", messages=messages(kind, next(numbers), clip_b64)
                    )
                except openai.APIError as exc:
                    run.lost[f"{kind}: {type(exc).__name__} {getattr(exc, 'status_code', '')}".strip()] += 1
                    continue
                run.latencies[kind].append(time.perf_counter() - started)

    stop = time.monotonic() + seconds
    started = time.monotonic()
    await asyncio.gather(*(one_client(i) for i in range(clients)))
    run.elapsed = time.monotonic() - started


async def warm_up(base: str, clip_b64: str) -> None:
    """One request of each kind, so OCR and speech recognition are loaded before the clock starts."""
    async with sdk_client(base, Run("warm-up")) as client:
        for number, kind in enumerate(KINDS):
            await client.chat.completions.create(
                model="gpt-4o", messages=messages(kind, -1 - number, clip_b64)
            )


def run_once(name: str, extra_env: dict[str, str], clients: int, seconds: float, clip_b64: str) -> Run:
    run = Run(name)
    port = serving.free_port()
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "server.log"
        server = start_server(port, extra_env, log)
        base = f"http://127.0.0.1:{port}"
        try:
            run.rss["start"] = rss_mb(server.pid)
            asyncio.run(warm_up(base, clip_b64))
            run.rss["warm"] = rss_mb(server.pid)
            asyncio.run(load(base, run, clients, seconds, clip_b64))
            run.rss["end"] = rss_mb(server.pid)
            run.rss["peak"] = rss_mb(server.pid, "VmHWM")
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if run.lost:
            tail = log.read_text(errors="replace")[-1500:]
            if tail.strip():
                print(f"server log of the run '{name}' (last lines):\n{tail}")
    return run


def percentiles(samples: list[float]) -> str:
    if not samples:
        return "-"
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered) * 1000:.0f} / {p95 * 1000:.0f} ms"


def report(runs: list[Run], clients: int, seconds: float) -> None:
    print(
        f"load test: {clients} clients x {seconds:g} s per run, python -m helpers serve in a child process, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, openai {openai.__version__} "
        "(default retries)"
    )
    header = [
        "run",
        "requests",
        "errors",
        "lost",
        "seconds",
        "req/s",
        *(f"{k} p50 / p95" for k in KINDS),
        "server RSS MB",
    ]
    rows = [header]
    for run in runs:
        rss = run.rss
        rows.append(
            [
                run.name,
                str(run.requests),
                str(sum(run.wire_errors.values())),
                str(sum(run.lost.values())),
                f"{run.elapsed:.0f}",
                f"{run.requests / run.elapsed:.1f}" if run.elapsed else "-",
                *(percentiles(run.latencies[k]) for k in KINDS),
                f"start {rss.get('start', 0):.0f}, warm {rss.get('warm', 0):.0f}, end {rss.get('end', 0):.0f} "
                f"(peak {rss.get('peak', 0):.0f})",
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    for run in runs:
        if run.wire_errors:
            shown = ", ".join(f"{count} x {status}" for status, count in sorted(run.wire_errors.items()))
            print(f"{run.name}: error responses on the wire: {shown}")
        if run.lost:
            print(f"{run.name}: LOST {dict(run.lost)}")
    print(
        "errors: every error response on the wire (retried ones included); lost: requests whose final "
        "outcome was an error after the SDK's retries; latency: the whole SDK call, retries included"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of load per run (default 60)")
    parser.add_argument("--quick", action="store_true", help="10 s per run")
    args = parser.parse_args()
    seconds = 10.0 if args.quick else args.seconds
    clip_b64 = base64.b64encode((ROOT / "data" / "hello.wav").read_bytes()).decode()
    runs = [
        run_once("no faults", {}, args.clients, seconds, clip_b64),
        run_once(
            f"LOCAL_FAULT_EVERY={FAULT_EVERY}",
            {"LOCAL_FAULT_EVERY": str(FAULT_EVERY)},
            args.clients,
            seconds,
            clip_b64,
        ),
    ]
    report(runs, args.clients, seconds)
    lost = sum(sum(run.lost.values()) for run in runs)
    print(f"target: zero lost requests under faults: {'met' if lost == 0 else 'MISSED'}")
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
