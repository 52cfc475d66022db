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
* A dense A4 page: 90 lines (1,292 words) of 7.5 pt Helvetica on 8.6 pt lines, drawn with PyMuPDF
  and rendered at 200 dpi; the drawn text is the truth. In a fresh Python process, the local host's
  OCR function (its cache cleared before each run) and ``RapidOCR()`` with its defaults, called in
  turns on the same PNG bytes: p50/p95 time, word recall (the share of the drawn words found, each
  word as often as drawn) and character accuracy (1 - the edit distance between the drawn text and
  the OCR text, lines joined by newlines, over the drawn text's length), and their ratios.

Run it from the repository root (about four minutes on 2 cores)::

    .venv/bin/python bench/local_host.py
    .venv/bin/python bench/local_host.py --quick

Targets: a text-only reply under 15 ms (p50), an A4 page under 2 s, a dense A4 page under 2 s with
at least the word recall and character accuracy of plain RapidOCR, speech recognition at under
0.3 of real time, and at least 300 requests per second with no errors.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from dense_page import char_accuracy, dense_page_png, dense_text, word_recall  # beside this file

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CLIP_TEXT = "Good morning, the train to the city leaves from platform {n} at nine fifteen this evening."
HI = {"model": "local-multimodal", "messages": [{"role": "user", "content": "Hello there"}]}
HEADER = ("what", "p50 / p95", "alternative, same run", "ratio")

#: Times OCR of page files in a fresh process: argv = which ("defaults" or "local") and PNG paths.
OCR_CHILD = """
import json, sys, time
from pathlib import Path
from typing import Any
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

#: OCR of one page file in a fresh process, the local host's and RapidOCR()'s in turns, argv[2] times:
#: prints each one's times and the text of its last run (rows, or RapidOCR's boxes in its order).
DENSE_CHILD = """
import json, sys, time
from pathlib import Path
from typing import Any
from rapidocr_onnxruntime import RapidOCR
from helpers.local import ocr
data, runs = Path(sys.argv[1]).read_bytes(), int(sys.argv[2])
engine = RapidOCR()
def local():
    ocr.ENGINE.cache.clear()
    return [row.text for row in ocr.ocr(data)]
def defaults():
    result, _ = engine(data)
    return [text for _, text, _ in result or []]
out = {"local": {"times": []}, "defaults": {"times": []}}
for name, run in (("local", local), ("defaults", defaults)):
    run()
for _ in range(runs):
    for name, run in (("local", local), ("defaults", defaults)):
        started = time.perf_counter()
        out[name]["lines"] = run()
        out[name]["times"].append(time.perf_counter() - started)
print(json.dumps(out))
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

#: The dense page's sentences: a subject, a verb, an object and a time, from each list in turn.


@dataclass
class Report:
    """The table rows (what, p50 / p95, alternative, ratio), notes under it, and target verdicts."""

    rows: list[tuple[str, str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    verdicts: list[tuple[str, bool]] = field(default_factory=list)


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


def clip_wav(number: int, folder: Path) -> bytes:
    path = folder / f"clip{number}.wav"
    subprocess.run(["espeak-ng", "-w", str(path), CLIP_TEXT.format(n=number)], check=True)
    return path.read_bytes()


def wav_seconds(wav: bytes) -> float:
    import wave

    with wave.open(io.BytesIO(wav)) as reader:
        return reader.getnframes() / reader.getframerate()


def ask(http: httpx.Client, model: str, content: list[dict[str, Any]]) -> str:
    """The reply to one user message of ``content`` parts, posted to the local host's chat completions."""
    response = http.post(
        "/v1/chat/completions", json={"model": model, "messages": [{"role": "user", "content": content}]}
    )
    response.raise_for_status()
    return response.json()["choices"][0]["message"]["content"]


def measure_text(http: httpx.Client, base: str, runs: int, report: Report) -> None:
    """Text-only chat over HTTP and through the openai SDK, against the same answer in-process."""
    import openai

    from helpers.local import protocol, render
    from helpers.local.errors import Surface
    from helpers.local.model import answer_chat
    from helpers.local.settings import Settings

    for _ in range(20):
        http.post("/v1/chat/completions", json=HI)
    text = [timed(lambda: http.post("/v1/chat/completions", json=HI).raise_for_status()) for _ in range(runs)]
    settings = Settings()
    body = json.dumps(HI).encode()

    def in_process() -> None:
        request = protocol.parse_chat(protocol.load_json(body), Surface.OPENAI, settings)
        render.dumps(render.chat_completion(request, answer_chat(request)))

    d50, _ = percentiles([timed(in_process) for _ in range(runs)])
    t50, t95 = percentiles(text)
    report.rows.append(
        (
            f"text-only chat (n={runs})",
            f"{t50 * 1e3:.1f} ms / {t95 * 1e3:.1f} ms",
            f"same answer in-process {d50 * 1e3:.2f} ms",
            f"{t50 / d50:.0f}x",
        )
    )
    sdk = openai.OpenAI(base_url=f"{base}/v1", api_key="local")
    k50, k95 = percentiles([timed(lambda: sdk.chat.completions.create(**HI)) for _ in range(runs)])
    report.rows.append(
        (
            "  the same through the openai SDK",
            f"{k50 * 1e3:.1f} ms / {k95 * 1e3:.1f} ms",
            "",
            f"{k50 / d50:.0f}x",
        )
    )
    report.verdicts.append(("text-only p50 < 15 ms", t50 < 0.015))


def measure_page(http: httpx.Client, runs: int, folder: Path, report: Report) -> None:
    """A new A4 page each request, against RapidOCR() and the host's OCR function in fresh processes."""
    pages = [page_png(1000 + i) for i in range(2 * runs + 2)]

    def ask_page(png: bytes) -> str:
        url = "data:image/png;base64," + base64.b64encode(png).decode()
        image = {"type": "image_url", "image_url": {"url": url}}
        return ask(http, "gpt-4o", [{"type": "text", "text": "When is the budget reviewed?"}, image])

    ask_page(pages[-3])
    served = [timed(lambda png=png: ask_page(png)) for png in pages[:runs]]
    files = []
    for number, png in enumerate(pages):
        files.append(folder / f"page{number}.png")
        files[-1].write_bytes(png)
    warm = [str(files[-1])]
    direct = ocr_in_child("defaults", warm + [str(f) for f in files[:runs]])
    same_settings = ocr_in_child("local", warm + [str(f) for f in files[runs : 2 * runs]])
    cached = [timed(lambda: ask_page(pages[0])) for _ in range(5)]
    s50, s95 = percentiles(served)
    o50, _ = percentiles(direct)
    p50, _ = percentiles(same_settings)
    c50, _ = percentiles(cached)
    report.rows.append(
        (
            f"A4 page, 150 dpi, new each time (n={runs})",
            f"{s50:.2f} s / {s95:.2f} s",
            f"RapidOCR() defaults in-process {o50:.2f} s",
            f"{s50 / o50:.2f}x",
        )
    )
    report.rows.append(
        (
            "  server overhead on the same OCR settings",
            "",
            f"helpers.local.ocr.ocr in-process {p50:.2f} s",
            f"{s50 / p50:.2f}x",
        )
    )
    report.rows.append(("same page again (OCR cache)", f"{c50 * 1e3:.0f} ms", "", ""))
    report.verdicts.append(("page p50 < 2 s", s50 < 2.0))


def measure_clip(http: httpx.Client, runs: int, folder: Path, report: Report) -> None:
    """A new clip each request (recognition + translation), against faster-whisper + apertium directly."""
    from faster_whisper import WhisperModel

    from helpers.local import speech

    clips = [clip_wav(i, folder) for i in range(runs + 1)]
    seconds = statistics.mean(wav_seconds(c) for c in clips)
    model_path = speech.whisper_model_path()
    whisper = WhisperModel(model_path, device="cpu", compute_type="int8", cpu_threads=speech.THREADS)

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
        subprocess.run(["apertium", "-u", "eng-spa"], input=words, capture_output=True, text=True, check=True)
        return asr

    def ask_clip(wav: bytes) -> str:
        audio = {
            "type": "input_audio",
            "input_audio": {"data": base64.b64encode(wav).decode(), "format": "wav"},
        }
        return ask(
            http, "gpt-4o-audio-preview", [{"type": "text", "text": "Translate this to Spanish."}, audio]
        )

    direct_clip(clips[-1])
    sample_reply = ask_clip(clips[-1])
    served = [timed(lambda wav=wav: ask_clip(wav)) for wav in clips[:runs]]
    asr_times: list[float] = []
    direct = [timed(lambda wav=wav: asr_times.append(direct_clip(wav))) for wav in clips[:runs]]
    a50, a95 = percentiles(served)
    w50, _ = percentiles(direct)
    report.rows.append(
        (
            f"{seconds:.1f} s clip: ASR + translation (n={runs})",
            f"{a50:.2f} s / {a95:.2f} s",
            f"faster-whisper + apertium in-process {w50:.2f} s",
            f"{a50 / w50:.2f}x",
        )
    )
    rtf = statistics.median(asr_times) / seconds
    report.notes.append(
        f"speech recognition real-time factor: {rtf:.3f} (faster-whisper {Path(model_path).name} int8, "
        f"{speech.THREADS} threads, direct); whole served request incl. translation: {a50 / seconds:.3f}"
    )
    report.notes.append(f"sample reply: {sample_reply.splitlines()[0]}")
    report.verdicts.append(("real-time factor < 0.3", rtf < 0.3))


def measure_throughput(base: str, requests: int) -> tuple[float, int, str]:
    """Requests per second and errors of 32 concurrent text clients, and a reply body (for the bare app)."""
    rps, errors = asyncio.run(load(f"{base}/v1/chat/completions", HI, requests, 32))
    return rps, errors, httpx.post(f"{base}/v1/chat/completions", json=HI).text


def measure_bare_app(reference: str, requests: int, local: tuple[float, int], report: Report) -> None:
    """The same load against a bare FastAPI app returning ``reference``, beside the local host's ``local``."""
    port = free_port()
    bare = start([sys.executable, "-c", BARE_APP, str(port), reference], port)
    try:
        bare_rps, bare_errors = asyncio.run(
            load(f"http://127.0.0.1:{port}/v1/chat/completions", HI, requests, 32)
        )
    finally:
        bare.terminate()
        bare.wait()
    rps, errors = local
    report.rows.append(
        (
            f"32 concurrent text clients ({requests} requests)",
            f"{rps:.0f} req/s, {errors} errors",
            f"bare FastAPI constant reply {bare_rps:.0f} req/s ({bare_errors} errors)",
            f"{rps / bare_rps:.2f}x",
        )
    )
    report.verdicts.append((">= 300 req/s with 0 errors", rps >= 300 and errors == 0))


def measure_dense_page(runs: int, folder: Path, report: Report) -> None:
    """OCR of a dense A4 page: time, word recall and character accuracy, against RapidOCR() defaults."""
    truth = dense_text()
    path = folder / "dense.png"
    path.write_bytes(dense_page_png(truth))
    done = subprocess.run(
        [sys.executable, "-c", DENSE_CHILD, str(path), str(runs)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(done.stdout.strip().splitlines()[-1])
    local, plain = out["local"], out["defaults"]
    l50, l95 = percentiles(local["times"])
    d50, _ = percentiles(plain["times"])
    recall, plain_recall = word_recall(truth, local["lines"]), word_recall(truth, plain["lines"])
    accuracy, plain_accuracy = char_accuracy(truth, local["lines"]), char_accuracy(truth, plain["lines"])
    words = sum(len(line.split()) for line in truth)
    report.rows.append(
        (
            f"dense A4 page OCR, {len(truth)} lines, {words} words (n={runs})",
            f"{l50:.2f} s / {l95:.2f} s",
            f"RapidOCR() defaults in-process {d50:.2f} s",
            f"{l50 / d50:.2f}x",
        )
    )
    report.rows.append(
        (
            "  word recall",
            f"{recall:.1%}",
            f"RapidOCR() defaults {plain_recall:.1%}",
            f"{recall / plain_recall:.2f}x" if plain_recall else "",
        )
    )
    report.rows.append(
        (
            "  character accuracy",
            f"{accuracy:.1%}",
            f"RapidOCR() defaults {plain_accuracy:.1%}",
            f"{accuracy / plain_accuracy:.2f}x" if plain_accuracy else "",
        )
    )
    report.notes.append(f"dense page rows: {len(local['lines'])} for {len(truth)} lines drawn")
    report.verdicts.append(("dense page p50 < 2 s", l50 < 2.0))
    report.verdicts.append(
        (
            "dense page recall and accuracy >= RapidOCR()'s",
            recall >= plain_recall and accuracy >= plain_accuracy,
        )
    )


def print_report(report: Report) -> None:
    print(
        f"local host benchmark: {os.cpu_count()} cores, Python {platform.python_version()}, "
        "server in a child process, clients over loopback HTTP"
    )
    widths = [max(len(row[i]) for row in [*report.rows, HEADER]) for i in range(4)]
    for row in [HEADER, *report.rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    for note in report.notes:
        print(note)
    print("targets: " + "; ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in report.verdicts))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    n_text, n_pages, n_clips, n_load, n_dense = (100, 3, 2, 1000, 3) if args.quick else (300, 8, 5, 4000, 7)
    for tool in ("espeak-ng", "apertium"):
        if shutil.which(tool) is None:
            print(
                f"{tool} is missing: sudo apt-get install apertium apertium-eng-spa espeak-ng",
                file=sys.stderr,
            )
            return 2

    report = Report()
    port = free_port()
    server = start([sys.executable, "-m", "helpers", "serve", "--port", str(port)], port)
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        try:
            with httpx.Client(base_url=base, timeout=300) as http:
                measure_text(http, base, n_text, report)
                measure_page(http, n_pages, Path(tmp), report)
                measure_clip(http, n_clips, Path(tmp), report)
            rps, errors, reference = measure_throughput(base, n_load)
        finally:
            server.terminate()
            server.wait()
        measure_bare_app(reference, n_load, (rps, errors), report)
        measure_dense_page(n_dense, Path(tmp), report)
    print_report(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
