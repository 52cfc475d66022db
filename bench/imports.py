"""Benchmark what ``import helpers`` costs a fresh Python process, in wall time and peak memory.

What is measured
----------------
Each measurement runs in its own fresh Python process (the venv's interpreter, started from the
repository root so the working tree's ``helpers`` is the one imported). "Cold" here means a fresh
interpreter, not an empty OS page cache: every case runs once unmeasured first, so bytecode is
compiled and files are cached, then ``--runs`` times (default 5); the table gives the medians of

* wall time of the whole child process, interpreter start-up included, timed by this script;
* peak RSS of the child, as ``/usr/bin/time -f %M`` reports it (``wait4``'s ``ru_maxrss``).

The cases:

1. ``python -c pass``: the floor, what any Python script costs;
2. ``import helpers``;
3. ``import helpers.tokens`` (token estimates, wanted without the rest);
4. ``import openai``: what a user of the workbook would have loaded anyway;
5. a one-shot script: ``from helpers import pdf_pages``, then render every page of a 50-page PDF
   at 100 dpi, iterating with the defaults (progress bar included) and taking each page's PNG
   bytes (``content_bytes()``);
6. the same with plain PyMuPDF: ``pymupdf.open(path)``, then ``page.get_pixmap(dpi=100).tobytes("png")``
   for each page.

The 50-page PDF (a line of text per page) is built deterministically with PyMuPDF in a temporary
directory. Import rows are compared with ``python -c pass``, the PDF script with the plain PyMuPDF
loop. Then come the 10 largest cumulative times of one ``python -X importtime -c "import helpers"``
run, and which heavy modules ``import helpers`` loads (``sys.modules`` in a child).

Targets, printed beside the numbers: ``import helpers`` under 0.3 s and under 60 MB peak RSS, and
``import helpers.tokens`` the same or less. A missed target is printed as "target missed"; the
script still exits with status 0.

Without GNU ``/usr/bin/time`` the peak RSS comes from ``os.wait4`` in this process; on Linux it
then includes at least this script's own peak (the child is forked from it), and the script says so.

Run it from the repository root (under a minute on 2 cores with the default 5 runs)::

    .venv/bin/python bench/imports.py
    .venv/bin/python bench/imports.py --runs 9
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PDF_PAGES = 50
DPI = 100
TARGET_SECONDS = 0.3
TARGET_MB = 60.0
HEAVY_MODULES = ("openai", "azure", "pymupdf", "av", "numpy", "onnxruntime", "openvino", "PIL")
GNU_TIME = "/usr/bin/time"

BUILD_PDF = """
import sys, pymupdf
doc = pymupdf.open()
for number in range(1, {pages} + 1):
    page = doc.new_page(width=595, height=842)
    page.insert_text((56, 72), f"Page {{number}}: a line of text to render.", fontsize=14)
doc.save(sys.argv[1], no_new_id=True)
"""

HELPERS_PDF = """
import sys
from helpers import pdf_pages
for page in pdf_pages(sys.argv[1], dpi={dpi}):
    page.content_bytes()
"""

PLAIN_PDF = """
import sys, pymupdf
doc = pymupdf.open(sys.argv[1])
for page in doc:
    page.get_pixmap(dpi={dpi}).tobytes("png")
"""

CHECK_MODULES = """
import json, sys
import helpers
print(json.dumps({{name: name in sys.modules for name in {names!r}}}))
"""


@dataclass
class Case:
    """One thing to measure: a label and the Python code the child runs."""

    label: str
    code: str
    baseline: str | None = None


@dataclass
class Result:
    """Medians over the runs of one case."""

    case: Case
    seconds: float
    rss_mb: float


def gnu_time_available() -> bool:
    """Whether ``/usr/bin/time`` is GNU time: it understands ``-f %M`` and prints a number."""
    if not os.access(GNU_TIME, os.X_OK):
        return False
    probe = subprocess.run([GNU_TIME, "-f", "%M", "true"], capture_output=True, text=True, check=False)
    return probe.returncode == 0 and probe.stderr.strip().isdigit()


def _maxrss_to_kib(maxrss: int) -> int:
    return maxrss // 1024 if sys.platform == "darwin" else maxrss  # bytes on macOS, KiB on Linux


def run_child(args: list[str], use_gnu_time: bool) -> tuple[float, float]:
    """Run ``python args`` once from the repository root; return wall seconds and peak RSS in MB."""
    with tempfile.TemporaryDirectory() as tmp:
        rss_path, err_path = Path(tmp) / "rss", Path(tmp) / "stderr"
        command = [sys.executable, *args]
        if use_gnu_time:
            command = [GNU_TIME, "-f", "%M", "-o", str(rss_path), *command]
        with err_path.open("w") as err:
            start = time.perf_counter()
            proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
            _, wait_status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(wait_status)
        if proc.returncode != 0:
            stderr = err_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"python {' '.join(args)} failed with status {proc.returncode}:\n{stderr}")
        kib = int(rss_path.read_text().split()[-1]) if use_gnu_time else _maxrss_to_kib(usage.ru_maxrss)
    return seconds, kib / 1024


def measure(case: Case, extra_args: list[str], runs: int, use_gnu_time: bool) -> Result:
    """Run a case once to warm up, then ``runs`` times; return the medians."""
    args = ["-c", case.code, *extra_args]
    run_child(args, use_gnu_time)
    samples = [run_child(args, use_gnu_time) for _ in range(runs)]
    return Result(
        case,
        statistics.median(s for s, _ in samples),
        statistics.median(mb for _, mb in samples),
    )


def build_pdf(path: Path) -> None:
    """Write the ``PDF_PAGES``-page PDF in a child process, so this process stays small."""
    subprocess.run([sys.executable, "-c", BUILD_PDF.format(pages=PDF_PAGES), str(path)], check=True, cwd=ROOT)


def print_table(results: list[Result]) -> None:
    """Print the medians and each row's ratios against its baseline row."""
    by_label = {r.case.label: r for r in results}
    width = max(len(r.case.label) for r in results)
    print(f"{'what':<{width}}  {'median s':>8}  {'peak RSS MB':>11}  {'time x':>6}  {'RSS x':>5}  against")
    for r in results:
        base = by_label.get(r.case.baseline or "")
        ratios = (
            f"{r.seconds / base.seconds:>6.1f}  {r.rss_mb / base.rss_mb:>5.1f}  {base.case.label}"
            if base
            else f"{'':>6}  {'':>5}"
        )
        print(f"{r.case.label:<{width}}  {r.seconds:>8.3f}  {r.rss_mb:>11.1f}  {ratios}".rstrip())


def target_line(result: Result, what: str) -> str:
    """Say in words whether a result is under the time and memory targets."""
    verdict = "met" if result.seconds < TARGET_SECONDS and result.rss_mb < TARGET_MB else "target missed"
    return (
        f"target: {what} under {TARGET_SECONDS} s and under {TARGET_MB:.0f} MB peak RSS: "
        f"{result.seconds:.3f} s, {result.rss_mb:.1f} MB -> {verdict}"
    )


def import_times(module: str, top: int = 10) -> list[tuple[int, int, str]]:
    """The ``top`` largest (cumulative us, self us, module) of one ``-X importtime`` run."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        fields = line.removeprefix("import time:").split("|")
        if len(fields) != 3 or not fields[0].strip().isdigit():
            continue  # the header line
        rows.append((int(fields[1]), int(fields[0]), fields[2].strip()))
    return sorted(rows, reverse=True)[:top]


def heavy_modules_loaded() -> dict[str, bool]:
    """Which of ``HEAVY_MODULES`` are in ``sys.modules`` after ``import helpers`` in a child."""
    proc = subprocess.run(
        [sys.executable, "-c", CHECK_MODULES.format(names=HEAVY_MODULES)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs per case (default 5)")
    options = parser.parse_args()
    if options.runs < 1:
        parser.error("--runs must be at least 1")

    use_gnu_time = gnu_time_available()
    floor = "python -c pass"
    plain = "plain PyMuPDF loop"
    imports = [
        Case(floor, "pass"),
        Case("import helpers", "import helpers", floor),
        Case("import helpers.tokens", "import helpers.tokens", floor),
        Case("import openai", "import openai", floor),
    ]
    pdf_cases = [
        Case(f"pdf_pages script, {PDF_PAGES} pages", HELPERS_PDF.format(dpi=DPI), plain),
        Case(plain, PLAIN_PDF.format(dpi=DPI)),
    ]

    print(f"Python {sys.version.split()[0]} ({sys.executable}), {os.cpu_count()} CPUs")
    print(f"Median of {options.runs} fresh processes per row, after one warm-up run.")
    if not use_gnu_time:
        print("GNU /usr/bin/time not found: peak RSS from os.wait4 includes this script's own peak.")
    print()

    results = [measure(case, [], options.runs, use_gnu_time) for case in imports]
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / f"{PDF_PAGES}-pages.pdf"
        build_pdf(pdf)
        results += [measure(case, [str(pdf)], options.runs, use_gnu_time) for case in pdf_cases]

    print_table(results)
    print()
    print(target_line(results[1], "import helpers"))
    print(target_line(results[2], "import helpers.tokens (the same or less)"))

    print()
    print('Top 10 cumulative of `python -X importtime -c "import helpers"` (one run):')
    print(f"{'cumulative ms':>13}  {'self ms':>7}  module")
    for cumulative, own, module in import_times("helpers"):
        print(f"{cumulative / 1000:>13.1f}  {own / 1000:>7.1f}  {module}")

    print()
    loaded = heavy_modules_loaded()
    words = ", ".join(f"{name} {'yes' if hit else 'no'}" for name, hit in loaded.items())
    print(f"Heavy modules imported by `import helpers`: {words}")


if __name__ == "__main__":
    main()
