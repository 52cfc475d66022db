"""Benchmark the local host against what a user would otherwise run, measured in the same run.

What is measured
----------------
The local host runs as ``python -m helpers serve`` in a child process (as in a workshop); the
clients run in this process over real HTTP with keep-alive (httpx, no SDK parsing on top).

* Text-only chat: latency p50/p95 of sequential requests, against the same answer computed
  in-process (parse + model + JSON) -> the server overhead.
* One A4 page at 150 dpi (PNG data URL, a title and 18 lines of 12 pt text): latency p50/p95,
  each request a page never seen before (a different number on each page, so the OCR cache cannot
  help), against ``RapidOCR()`` with its defaults called in a fresh Python process on PNG bytes
  of the same kind of page (what a user would write), and against the local host's own OCR
  function called the same way (the server overhead); and the same page again (cache hit).
* A 5-second clip spoken by espeak-ng, asked to be translated to Spanish: latency p50/p95 (speech
  recognition + Apertium), each clip new, against faster-whisper (same model and settings) plus
  ``apertium eng-spa`` called directly. The real-time factor of speech recognition is
  recognition time / clip duration, taken from the direct faster-whisper calls and from the
  server's end-to-end latency.
* Throughput: requests per second with 32 concurrent text clients (asyncio, one connection
  each), with the error count, against a bare FastAPI app on uvicorn that returns a constant
  JSON of the same size (the framework floor of any Python server a user would write).

Run it from the repository root (about two minutes on 2 cores)::

    .venv/bin/python bench/local_host.py
    .venv/bin/python bench/local_host.py --quick

Targets (issue 3): text-only p50 under 15 ms, a page under 2 s, real-time factor under 0.3,
at least 300 requests/s with zero errors.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CLIP_TEXT = "Good morning, the train to the city leaves from platform {n} at nine fifteen this evening."
HI = {"model": "local-multimodal", "messages": [{"role": "user", "content": "Hello there"}]}

#: Times OCR of page files in a fresh process: argv = which ("defaults" or "local") and PNG paths.
OCR_CHILD = """
import json, sys, time
from pathlib import Path
which, paths = sys.argv[1], sys.argv[2:]
if which == "defaults":
    from rapidocr_onnxruntime import RapidOCR
    engine = RapidOCR()
    run = lambda data: engine(data)
else:
    from helpers.local.ocr import ocr
    run = ocr
pages = [Path(p).read_bytes() for p in paths]
run(pages[0])
times = []
for data in pages[1:]:
    started = time.perf_counter()
    run(data)
    times.append(time.perf_counter() - started)
print(json.dumps(times))
"""

BARE_APP = """
import sys, uvicorn
from fastapi import FastAPI
from starlette.responses import Response
app = FastAPI()
BODY = sys.argv[2].encode()
@app.post("/v1/chat/completions")
async def chat() -> Response:
    return Response(BODY, media_type="application/json")
@app.get("/health")
async def health() -> Response:
    return Response(b"{}", media_type="application/json")
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(args: list[str], port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCAL_")}
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(600):
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
            return process
        except httpx.TransportError:
            if process.poll() is not None:
                error = process.stderr.read().decode() if process.stderr else ""
                raise SystemExit(f"server failed to start: {error}") from None
            time.sleep(0.05)
    raise SystemExit("server did not start")


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def ocr_in_child(which: str, paths: list[str]) -> list[float]:
    """OCR timings from a fresh Python process (no server, no other engine in it)."""
    done = subprocess.run(
        [sys.executable, "-c", OCR_CHILD, which, *paths], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def page_png(number: int) -> bytes:
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 90), f"Meeting notes {number}", fontsize=22)
    y = 140
    for line in range(18):
        page.insert_text(
            (72, y), f"Item {line + 1}: the budget for project {number} is reviewed on Monday.", fontsize=12
        )
        y += 30
    return page.get_pixmap(dpi=150).tobytes("png")


def clip_wav(number: int, folder: Path) -> bytes:
    path = folder / f"clip{number}.wav"
    subprocess.run(["espeak-ng", "-w", str(path), CLIP_TEXT.format(n=number)], check=True)
    return path.read_bytes()


def wav_seconds(wav: bytes) -> float:
    import wave

    with wave.open(io.BytesIO(wav)) as reader:
        return reader.getnframes() / reader.getframerate()


async def load(url: str, body: dict, total: int, concurrency: int) -> tuple[float, int]:
    """Send ``total`` requests from ``concurrency`` clients; returns (requests per second, errors)."""
    errors = 0
    remaining = total
    payload = json.dumps(body).encode()

    async def client() -> None:
        nonlocal errors, remaining
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=1)) as http:
            while remaining > 0:
                remaining -= 1
                try:
                    response = await http.post(
                        url, content=payload, headers={"content-type": "application/json"}
                    )
                    if response.status_code != 200:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return total / (time.perf_counter() - started), errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    n_text, n_pages, n_clips, n_load = (100, 3, 2, 1000) if args.quick else (300, 8, 5, 4000)
    for tool in ("espeak-ng", "apertium"):
        if shutil.which(tool) is None:
            print(
                f"{tool} is missing: sudo apt-get install apertium apertium-eng-spa espeak-ng",
                file=sys.stderr,
            )
            return 2

    import openai
    from faster_whisper import WhisperModel

    from helpers.local import protocol, render, speech
    from helpers.local.errors import Surface
    from helpers.local.model import answer_chat
    from helpers.local.settings import Settings

    port = free_port()
    server = start([sys.executable, "-m", "helpers", "serve", "--port", str(port)], port)
    base = f"http://127.0.0.1:{port}"
    rows: list[tuple[str, str, str, str]] = []
    notes: list[str] = []
    try:
        with httpx.Client(base_url=base, timeout=300) as http, tempfile.TemporaryDirectory() as tmp:
            # --- text-only ------------------------------------------------------------------
            for _ in range(20):
                http.post("/v1/chat/completions", json=HI)
            text = [
                timed(lambda: http.post("/v1/chat/completions", json=HI).raise_for_status())
                for _ in range(n_text)
            ]
            settings = Settings()
            body = json.dumps(HI).encode()

            def in_process() -> None:
                request = protocol.parse_chat(protocol.load_json(body), Surface.OPENAI, settings)
                render.dumps(render.chat_completion(request, answer_chat(request)))

            direct_text = [timed(in_process) for _ in range(n_text)]
            t50, t95 = percentiles(text)
            d50, _ = percentiles(direct_text)
            rows.append(
                (
                    f"text-only chat (n={n_text})",
                    f"{t50 * 1e3:.1f} ms / {t95 * 1e3:.1f} ms",
                    f"same answer in-process {d50 * 1e3:.2f} ms",
                    f"{t50 / d50:.0f}x",
                )
            )
            sdk = openai.OpenAI(base_url=f"{base}/v1", api_key="local")
            sdk_times = [timed(lambda: sdk.chat.completions.create(**HI)) for _ in range(n_text)]
            k50, k95 = percentiles(sdk_times)
            rows.append(
                (
                    "  the same through the openai SDK",
                    f"{k50 * 1e3:.1f} ms / {k95 * 1e3:.1f} ms",
                    "",
                    f"{k50 / d50:.0f}x",
                )
            )

            # --- one A4 page ----------------------------------------------------------------
            pages = [page_png(1000 + i) for i in range(2 * n_pages + 2)]
            question = "When is the budget reviewed?"

            def ask_page(png: bytes) -> str:
                url = "data:image/png;base64," + base64.b64encode(png).decode()
                response = http.post(
                    "/v1/chat/completions",
                    json={
                        "model": "gpt-4o",
                        "messages": [
                            {
                                "role": "user",
                                "content": [
                                    {"type": "text", "text": question},
                                    {"type": "image_url", "image_url": {"url": url}},
                                ],
                            }
                        ],
                    },
                )
                response.raise_for_status()
                return response.json()["choices"][0]["message"]["content"]

            ask_page(pages[-3])
            served = [timed(lambda png=png: ask_page(png)) for png in pages[:n_pages]]
            files = []
            for number, png in enumerate(pages):
                files.append(Path(tmp) / f"page{number}.png")
                files[-1].write_bytes(png)
            warm = [str(files[-1])]
            direct = ocr_in_child("defaults", warm + [str(f) for f in files[:n_pages]])
            same_settings = ocr_in_child("local", warm + [str(f) for f in files[n_pages : 2 * n_pages]])
            cached = [timed(lambda: ask_page(pages[0])) for _ in range(5)]
            s50, s95 = percentiles(served)
            o50, _ = percentiles(direct)
            p50, _ = percentiles(same_settings)
            c50, _ = percentiles(cached)
            rows.append(
                (
                    f"A4 page, 150 dpi, new each time (n={n_pages})",
                    f"{s50:.2f} s / {s95:.2f} s",
                    f"RapidOCR() defaults in-process {o50:.2f} s",
                    f"{s50 / o50:.2f}x",
                )
            )
            rows.append(
                (
                    "  server overhead on the same OCR settings",
                    "",
                    f"helpers.local.ocr.ocr in-process {p50:.2f} s",
                    f"{s50 / p50:.2f}x",
                )
            )
            rows.append(("same page again (OCR cache)", f"{c50 * 1e3:.0f} ms", "", ""))

            # --- 5-second clip --------------------------------------------------------------
            clips = [clip_wav(i, Path(tmp)) for i in range(n_clips + 1)]
            seconds = statistics.mean(wav_seconds(c) for c in clips)
            whisper = WhisperModel(
                speech.whisper_model_path(),
                device="cpu",
                compute_type="int8",
                cpu_threads=speech.THREADS,
            )

            def direct_clip(wav: bytes) -> float:
                audio = speech.decode_audio(wav).samples
                started = time.perf_counter()
                segments, _ = whisper.transcribe(
                    audio,
                    language="en",
                    beam_size=1,
                    temperature=0.0,
                    condition_on_previous_text=False,
                    vad_filter=False,
                )
                words = " ".join(s.text.strip() for s in segments)
                asr = time.perf_counter() - started
                subprocess.run(
                    ["apertium", "-u", "eng-spa"], input=words, capture_output=True, text=True, check=True
                )
                return asr

            def ask_clip(wav: bytes) -> str:
                response = http.post(
                    "/v1/chat/completions",
                    json={
                        "model": "gpt-4o-audio-preview",
                        "messages": [
                            {
                                "role": "user",
                                "content": [
                                    {"type": "text", "text": "Translate this to Spanish."},
                                    {
                                        "type": "input_audio",
                                        "input_audio": {
                                            "data": base64.b64encode(wav).decode(),
                                            "format": "wav",
                                        },
                                    },
                                ],
                            }
                        ],
                    },
                )
                response.raise_for_status()
                return response.json()["choices"][0]["message"]["content"]

            direct_clip(clips[-1])
            sample_reply = ask_clip(clips[-1])
            served_clips = [timed(lambda wav=wav: ask_clip(wav)) for wav in clips[:n_clips]]
            asr_times: list[float] = []
            direct_clips = [
                timed(lambda wav=wav: asr_times.append(direct_clip(wav))) for wav in clips[:n_clips]
            ]
            a50, a95 = percentiles(served_clips)
            w50, _ = percentiles(direct_clips)
            rows.append(
                (
                    f"{seconds:.1f} s clip: ASR + translation (n={n_clips})",
                    f"{a50:.2f} s / {a95:.2f} s",
                    f"faster-whisper + apertium in-process {w50:.2f} s",
                    f"{a50 / w50:.2f}x",
                )
            )
            rtf_direct = statistics.median(asr_times) / seconds
            notes.append(
                f"speech recognition real-time factor: {rtf_direct:.3f} (faster-whisper tiny.en int8, "
                f"{speech.THREADS} threads, direct); whole served request incl. translation: "
                f"{a50 / seconds:.3f}"
            )
            notes.append(f"sample reply: {sample_reply.splitlines()[0]}")

        # --- throughput ---------------------------------------------------------------------
        rps, errors = asyncio.run(load(f"{base}/v1/chat/completions", HI, n_load, 32))
        reference = httpx.post(f"{base}/v1/chat/completions", json=HI).text
    finally:
        server.terminate()
        server.wait()
    bare_port = free_port()
    bare = start([sys.executable, "-c", BARE_APP, str(bare_port), reference], bare_port)
    try:
        bare_rps, bare_errors = asyncio.run(
            load(f"http://127.0.0.1:{bare_port}/v1/chat/completions", HI, n_load, 32)
        )
    finally:
        bare.terminate()
        bare.wait()
    rows.append(
        (
            f"32 concurrent text clients ({n_load} requests)",
            f"{rps:.0f} req/s, {errors} errors",
            f"bare FastAPI constant reply {bare_rps:.0f} req/s ({bare_errors} errors)",
            f"{rps / bare_rps:.2f}x",
        )
    )

    print(
        f"local host benchmark: {os.cpu_count()} cores, Python {platform.python_version()}, "
        "server in a child process, clients over loopback HTTP"
    )
    widths = [
        max(len(r[i]) for r in [*rows, ("what", "p50 / p95", "alternative, same run", "ratio")])
        for i in range(4)
    ]
    header = ("what", "p50 / p95", "alternative, same run", "ratio")
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    for note in notes:
        print(note)
    verdicts = [
        ("text-only p50 < 15 ms", t50 < 0.015),
        ("page p50 < 2 s", s50 < 2.0),
        ("real-time factor < 0.3", rtf_direct < 0.3),
        (">= 300 req/s with 0 errors", rps >= 300 and errors == 0),
    ]
    print("targets: " + "; ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in verdicts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
