"""Benchmark the three ways of sending many page images: one by one, here a few at a time, and as a batch.

What is measured
----------------
``python -m helpers serve`` runs as a child process on a free port (``LOCAL_*`` variables cleared,
``LOCAL_STREAM_DELAY_MS=0``, its Files and Batches in a temporary folder). ``--pages`` page images
(420x200 PNG: a bold title "Page N of run R" and a reference line) are asked "What is the title?",
through:

* (a) a sequential loop: ``client.chat.completions.create`` for each, one after the other;
* (b) ``helpers.run_concurrently`` with ``--concurrency`` requests in flight;
* (c) a batch on the local host: ``submit_batch``, ``wait_for_batch`` (polling every 0.2 s) and
  ``collect_batch``.

Every way gets pages of its own (the run's letter is in the title), so the server's OCR cache never
answers for another way: each page is read once. Printed per way: seconds, items per second, items
lost (no answer, or an error after the retries) and items answered for the wrong page (the page
number in the answer is not the item's, after undoing OCR's l-for-1 misreading of the bold title).
Then the same three ways against a second server with ``LOCAL_FAULT_EVERY=5`` (every fifth new
request is a 429 with ``retry-after-ms: 100``): items lost must be 0 (the SDK's retries, and
``run_concurrently``'s pause on a 429, recover every one); the exit status is 1 when any way lost
an item or answered one for the wrong page.

OCR reads one image at a time and uses every core, so the ways differ by what overlaps with it
(HTTP, JSON, base64, the client's own work), not by OCR time.

Run it from the repository root::

    .venv/bin/python bench/batch.py            # 200 pages per way (several minutes on 2 cores)
    .venv/bin/python bench/batch.py --quick    # 20 pages per way
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import openai
import serving  # bench/serving.py, beside this file
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers import (  # noqa: E402 - after the path is set
    Attachment,
    BatchItem,
    batch_requests,
    collect_batch,
    read_results,
    run_concurrently,
    submit_batch,
    wait_for_batch,
)
from helpers.batch import BatchRequest, reply_text  # noqa: E402

MODEL = "local-multimodal"
FAULT_EVERY = 5


# --- the server ----------------------------------------------------------------------------------


def start_server(port: int, extra_env: dict[str, str], folder: Path) -> subprocess.Popen[bytes]:
    """The local host with its files and batches under ``folder``."""
    return serving.start_server(
        port, {"LOCAL_DATA_DIR": str(folder / "store"), **extra_env}, folder / "server.log"
    )


# --- the pages -----------------------------------------------------------------------------------


def page_png(run: str, number: int) -> bytes:
    """420x200 grey PNG: 'Page <number> of run <run>' in bold and a reference line (DejaVu, as data/ uses)."""
    import matplotlib

    fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    image = Image.new("L", (420, 200), 255)
    draw = ImageDraw.Draw(image)
    draw.text(
        (24, 24),
        f"Page {number} of run {run}",
        font=ImageFont.truetype(str(fonts / "DejaVuSans-Bold.ttf"), 24),
        fill=0,
    )
    draw.text(
        (24, 90),
        f"Reference {run}-{number:04d}",
        font=ImageFont.truetype(str(fonts / "DejaVuSans.ttf"), 18),
        fill=0,
    )
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def requests_for(run: str, count: int) -> list[BatchRequest]:
    items = [
        BatchItem(
            f"{run}-{n}", (Attachment(content=page_png(run, n), name=f"{run}-{n}.png"),), "What is the title?"
        )
        for n in range(1, count + 1)
    ]
    return batch_requests(items, MODEL)


def page_of(text: str | None) -> int | None:
    """The page number an answer names, with OCR's usual digit confusions (l and I for 1, O for 0) undone:
    a misread digit is not an answer for another page."""
    found = re.search(r"Page ([\dlIO]+) of", text or "")
    return int(found.group(1).translate(str.maketrans("lIO", "110"))) if found else None


# --- the three ways ------------------------------------------------------------------------------


def sequential(client: openai.OpenAI, requests: list[BatchRequest], work: Path) -> dict[str, str | None]:
    answers: dict[str, str | None] = {}
    for request in requests:
        try:
            body = client.chat.completions.create(**request.body).model_dump(mode="json")
            answers[request.custom_id] = reply_text(body)
        except openai.APIError:
            answers[request.custom_id] = None
    return answers


def concurrent(
    client: openai.OpenAI, requests: list[BatchRequest], work: Path, concurrency: int
) -> dict[str, str | None]:
    results = work / "here.jsonl"
    asyncio.run(run_concurrently(client, requests, results, concurrency=concurrency, progress=False))
    return {cid: r.text if r.ok else None for cid, r in read_results(results).items()}


def batch(client: openai.OpenAI, requests: list[BatchRequest], work: Path) -> dict[str, str | None]:
    job = wait_for_batch(
        client, submit_batch(client, requests, work / "batch"), poll=0.2, max_poll=0.2, progress=False
    )
    outcome = collect_batch(client, job, requests)
    return {cid: r.text if r.ok else None for cid, r in outcome.results.items()}


def measure(
    name: str, way: Callable[[], dict[str, str | None]], requests: list[BatchRequest]
) -> tuple[float, int, int]:
    start = time.perf_counter()
    answers = way()
    seconds = time.perf_counter() - start
    lost = sum(1 for r in requests if not answers.get(r.custom_id))
    wrong = sum(
        1
        for n, r in enumerate(requests, start=1)
        if answers.get(r.custom_id) and page_of(answers[r.custom_id]) != n
    )
    print(
        f"  {name:<28}{seconds:>8.1f} s{len(requests) / seconds:>9.2f} items/s{lost:>7} lost{wrong:>7} wrong",
        flush=True,
    )
    return seconds, lost, wrong


def run_all(label: str, extra_env: dict[str, str], pages: int, concurrency: int, runs: str) -> int:
    """The three ways against one server; returns the items lost or answered wrongly."""
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        folder = Path(tmp)
        port = serving.free_port()
        server = start_server(port, extra_env, folder)
        try:
            client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="local")
            client.chat.completions.create(  # load OCR before timing anything
                **requests_for("warm", 1)[0].body
            )
            print(f"{label}:", flush=True)
            bad = 0
            ways = (
                ("(a) sequential loop", lambda reqs, work: sequential(client, reqs, work)),
                (
                    f"(b) run_concurrently x{concurrency}",
                    lambda reqs, work: concurrent(client, reqs, work, concurrency),
                ),
                ("(c) local batch", lambda reqs, work: batch(client, reqs, work)),
            )
            for (name, way), run in zip(ways, runs, strict=True):
                requests = requests_for(run, pages)
                work = folder / run
                work.mkdir()
                _, lost, wrong = measure(name, lambda w=way, q=requests, d=work: w(q, d), requests)
                bad += lost + wrong
            return bad
        finally:
            server.terminate()
            server.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200, help="page images per way (default 200)")
    parser.add_argument(
        "--concurrency", type=int, default=4, help="requests in flight for run_concurrently (4)"
    )
    parser.add_argument("--quick", action="store_true", help="20 pages per way")
    args = parser.parse_args(argv)
    pages = 20 if args.quick else args.pages
    print(
        f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, openai {openai.__version__}"
    )
    print(f"{pages} page images per way, each read once (no OCR cache hits)\n")
    bad = run_all("no faults", {}, pages, args.concurrency, "ABC")
    print()
    bad += run_all(
        f"LOCAL_FAULT_EVERY={FAULT_EVERY} (429s)",
        {"LOCAL_FAULT_EVERY": str(FAULT_EVERY)},
        pages,
        args.concurrency,
        "DEF",
    )
    print(
        "\nall items answered, none lost"
        if bad == 0
        else f"\n{bad} items lost or answered for the wrong page"
    )
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
