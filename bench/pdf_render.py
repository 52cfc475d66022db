"""Benchmark PDF pages -> PNG: ``helpers.pdf_pages`` (PyMuPDF) against poppler's ``pdftoppm``.

What is measured
----------------
The script builds a PDF deterministically with PyMuPDF in a temporary directory: A4 pages,
each with a heading, text paragraphs, a table drawn with lines and some vector shapes.

Speed (``--pages`` pages, default 60): the PDF is rendered to PNG at the same dpi (150) by

* ``pdf_pages(pdf, dpi=150, workers=1)`` and ``workers=2`` (a process pool), iterating the
  pages as a user would and taking the PNG bytes of each (``content_bytes()``);
* ``pdftoppm -png -r 150`` (what pdf2image, the cookbook's choice, runs), once as one process
  and once as two processes that render half of the pages each (``-f``/``-l``) at the same time.

pdf_pages returns the PNG bytes in memory while pdftoppm writes PNG files, so the pdftoppm
timings include reading every file back: both end with each page's PNG bytes in hand. Each
run is timed by the wall clock, after a short warm-up of each tool; the table gives seconds,
pages per second and pages per second relative to pdftoppm as one process. It also gives the
share of the CPUs that other processes took meanwhile (Linux, from /proc/stat) and warns when
the machine was busy: the 2-worker rows need both cores.

Memory: the peak RSS of a fresh child process that converts a 30-page and a 300-page PDF (pages
built the same way) with pdf_pages, iterating as a user would and writing each PNG to a temporary
directory; the ratio 300/30 should stay close to 1, as rendering is lazy, one page at a time. A
small launcher process starts the child and reads ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` once
it has ended (a child started straight from this large benchmark would report at least the
benchmark's own RSS). With ``workers=2`` the pool's processes are the child's children, so the
peak is the larger of the child's and its workers' peaks; the table also gives how much the
child's own peak grew while iterating. ``workers=2`` is measured twice: with a consumer that keeps
up, and with one that pauses a few seconds after the first page (as when each page goes to a
model): rendered pages must not pile up in memory meanwhile. pdftoppm is measured the same way
for reference.

Run it from the repository root (under two minutes on 2 cores; ``--quick`` takes
under a minute)::

    .venv/bin/python bench/pdf_render.py
    .venv/bin/python bench/pdf_render.py --pages 120 --dpi 200
    .venv/bin/python bench/pdf_render.py --quick

It exits with status 2 and says so when ``pdftoppm`` is not installed (Debian/Ubuntu:
``sudo apt-get install poppler-utils``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Page counts of the two PDFs whose conversion's peak memory is compared.
MEMORY_PAGES = (30, 300)
QUICK_MEMORY_PAGES = (10, 100)
QUICK_PAGES = 16
#: Seconds the slow consumer waits after the first page: long enough for a pool to render
#: most of 300 pages meanwhile, even next to pdftoppm.
MEMORY_PAUSE = 8.0
#: More growth with the large PDF than with the small one than this is reported as a leak.
GROWTH_LIMIT_KIB = 12 * 1024
A4 = (595, 842)  # points
_VOCABULARY = (
    "render page model image table figure revenue quarter margin report chart budget region forecast "
    "summary growth customer product market cost value total average share annual review method "
    "sample result analysis data source note line column row"
)
WORDS = _VOCABULARY.split()


@dataclass
class Run:
    """One timed conversion: which tool, how many workers, how long and how many PNG bytes."""

    tool: str
    workers: int
    pages: int
    seconds: float
    png_bytes: int

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds


@dataclass
class Memory:
    """Peak resident set sizes in KiB of one conversion in a fresh child process."""

    pages: int
    #: The peak of the child and its descendants (pool workers), as the launcher saw it.
    peak_kib: int
    #: For pdf_pages: the child's own peak before the first page and at the end, and the peak
    #: of its pool workers (0 without a pool).
    before_kib: int = 0
    main_kib: int = 0
    workers_kib: int = 0
    png_bytes: int = 0

    @property
    def growth_kib(self) -> int:
        """How much the child's own peak grew while it iterated the pages."""
        return self.main_kib - self.before_kib


# --- the PDF ---------------------------------------------------------------------------------


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 16))]
    return " ".join(words).capitalize() + "."


def build_pdf(path: Path, pages: int) -> None:
    """Write a ``pages``-page A4 PDF to ``path``; page n is the same in every PDF built here."""
    import pymupdf

    doc = pymupdf.open()
    for number in range(1, pages + 1):
        rng = random.Random(number)
        page = doc.new_page(width=A4[0], height=A4[1])
        page.insert_text((56, 64), f"Quarterly review, page {number}", fontname="hebo", fontsize=18)
        text = "\n\n".join(" ".join(_sentence(rng) for _ in range(4)) for _ in range(3))
        page.insert_textbox(pymupdf.Rect(56, 84, 539, 330), text, fontname="helv", fontsize=10)

        # A 6 x 5 table drawn with lines, numbers in the cells.
        shape = page.new_shape()
        left, top, width, height, rows, cols = 56, 345, 483, 150, 6, 5
        for row in range(rows + 1):
            y = top + row * height / rows
            shape.draw_line((left, y), (left + width, y))
        for col in range(cols + 1):
            x = left + col * width / cols
            shape.draw_line((x, top), (x, top + height))
        shape.finish(color=(0, 0, 0), width=0.6)
        shape.commit()
        for row in range(rows):
            for col in range(cols):
                label = f"Region {row}" if col == 0 and row else f"{rng.uniform(0, 9999):,.1f}"
                if row == 0:
                    label = "Name" if col == 0 else f"Q{col}"
                x = left + col * width / cols + 5
                y = top + row * height / rows + 16
                page.insert_text((x, y), label, fontname="hebo" if row == 0 else "helv", fontsize=9)

        # Vector shapes: a bar chart, a line chart, circles and a curve.
        shape = page.new_shape()
        for bar in range(8):
            bar_height = rng.uniform(20, 110)
            shape.draw_rect(pymupdf.Rect(66 + bar * 28, 640 - bar_height, 86 + bar * 28, 640))
            shape.finish(fill=(rng.random(), rng.random(), 0.7), color=(0, 0, 0), width=0.4)
        points = [(310 + i * 24, 640 - rng.uniform(10, 110)) for i in range(10)]
        shape.draw_polyline(points)
        shape.finish(color=(0.8, 0.1, 0.1), width=1.5)
        for _ in range(5):
            center = (rng.uniform(80, 520), rng.uniform(680, 770))
            shape.draw_circle(center, rng.uniform(8, 30))
            shape.finish(fill=(0.2, rng.random(), rng.random()), color=(0, 0, 0), fill_opacity=0.6)
        shape.draw_bezier((56, 800), (200, 700), (400, 860), (539, 780))
        shape.finish(color=(0.1, 0.3, 0.8), width=2)
        shape.commit()
        page.insert_text((56, 820), _sentence(rng), fontname="tiit", fontsize=8)
    doc.save(path, garbage=3, deflate=True, no_new_id=True)
    doc.close()


# --- speed -----------------------------------------------------------------------------------


def time_pdf_pages(pdf: Path, dpi: int, workers: int) -> Run:
    """Render every page of ``pdf`` with pdf_pages and take each page's PNG bytes."""
    from helpers.pdf import pdf_pages

    start = time.perf_counter()
    pages = pdf_pages(pdf, dpi=dpi, workers=workers, progress=False)
    count = png_bytes = 0
    for attachment in pages:
        png_bytes += len(attachment.content_bytes())
        count += 1
    return Run("pdf_pages", workers, count, time.perf_counter() - start, png_bytes)


def _pdftoppm_command(pdftoppm: str, pdf: Path, dpi: int, first: int, last: int, prefix: Path) -> list[str]:
    return [pdftoppm, "-png", "-r", str(dpi), "-f", str(first), "-l", str(last), str(pdf), str(prefix)]


def time_pdftoppm(pdftoppm: str, pdf: Path, pages: int, dpi: int, processes: int, out_dir: Path) -> Run:
    """Render pages 1..``pages`` with ``processes`` pdftoppm processes, then read the PNG files back."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir()
    bounds = [round(pages * i / processes) for i in range(processes + 1)]
    start = time.perf_counter()
    running = [
        subprocess.Popen(
            _pdftoppm_command(pdftoppm, pdf, dpi, bounds[i] + 1, bounds[i + 1], out_dir / f"part{i}"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for i in range(processes)
    ]
    for process in running:
        _, stderr = process.communicate()
        if process.returncode != 0:
            sys.exit(f"error: pdftoppm failed ({process.returncode}): {stderr.decode(errors='replace')}")
    files = sorted(out_dir.glob("*.png"))
    png_bytes = sum(len(file.read_bytes()) for file in files)
    seconds = time.perf_counter() - start
    if len(files) != pages:
        sys.exit(f"error: pdftoppm wrote {len(files)} PNG files for {pages} pages.")
    return Run("pdftoppm", processes, len(files), seconds, png_bytes)


def cpu_seconds() -> tuple[float, float] | None:
    """CPU-seconds used so far by the whole machine and by this process with its ended children.

    None where /proc/stat is missing (not Linux). The difference over the timed runs is what
    other processes took: with it, a slow row can be told from a busy machine.
    """
    try:
        ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    machine = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait
    usages = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return machine, sum(usage.ru_utime + usage.ru_stime for usage in usages)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


# --- memory ----------------------------------------------------------------------------------


def _kib(maxrss: int) -> int:
    """ru_maxrss in KiB (Linux reports KiB, macOS bytes)."""
    return maxrss // 1024 if sys.platform == "darwin" else maxrss


#: Run by a fresh, small Python: run the command given as arguments, pass its output through,
#: then print the peak RSS of it and its descendants. The measured process must not be started
#: by the benchmark itself: a child started with vfork/fork by a large process reports at least
#: its parent's RSS as its own peak.
_PROBE = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdin=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, flush=True)
"""


def _start_probe(command: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", _PROBE, *command], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )


def _finish_probe(process: subprocess.Popen[str]) -> tuple[list[str], int]:
    """Wait for a probe; return the measured command's output lines and its peak RSS in KiB."""
    output, _ = process.communicate()
    if process.returncode != 0:
        sys.exit(f"error: memory probe {process.args[5:]} exited with status {process.returncode}.")
    *lines, peak = output.strip().splitlines()
    return lines, _kib(int(peak))


def memory_child(pdf: Path, dpi: int, workers: int, pause: float) -> None:
    """In the fresh child: convert ``pdf``, writing each PNG to a temp dir; print peaks as JSON.

    ``pause`` seconds are slept after the first page, as a slow consumer (a model call) would.
    """
    from helpers.pdf import pdf_pages

    pages = pdf_pages(pdf, dpi=dpi, workers=workers, progress=False)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    count = png_bytes = 0
    with tempfile.TemporaryDirectory(prefix="pdf-render-mem-") as out_dir:
        for attachment in pages:
            png_bytes += (Path(out_dir) / str(attachment.name)).write_bytes(attachment.content_bytes())
            count += 1
            if count == 1 and pause:
                time.sleep(pause)
    report = {
        "pages": count,
        "before_kib": _kib(before),
        "main_kib": _kib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss),
        "workers_kib": _kib(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss),
        "png_bytes": png_bytes,
    }
    print(json.dumps(report))


def measure_pdf_pages(pdf: Path, dpi: int, workers: int, pause: float = 0.0) -> Memory:
    """Peak RSS of a fresh Python process that converts ``pdf`` with pdf_pages."""
    command = [sys.executable, str(Path(__file__).resolve()), "--dpi", str(dpi)]
    command += ["--memory-child", str(pdf), "--memory-workers", str(workers), "--memory-pause", str(pause)]
    lines, peak = _finish_probe(_start_probe(command))
    report = json.loads(lines[-1])
    keys = ("before_kib", "main_kib", "workers_kib", "png_bytes")
    return Memory(report["pages"], peak, *(report[key] for key in keys))


def start_pdftoppm_probe(
    pdftoppm: str, pdf: Path, pages: int, dpi: int, out_dir: Path
) -> subprocess.Popen[str]:
    """Start measuring the peak RSS of one pdftoppm process converting pages 1..``pages``."""
    out_dir.mkdir()
    return _start_probe(_pdftoppm_command(pdftoppm, pdf, dpi, 1, pages, out_dir / "page"))


# --- output ----------------------------------------------------------------------------------


def print_table(header: list[str], rows: list[list[str]], left: int = 2) -> None:
    """Print rows under a header, the first ``left`` columns left-aligned and the rest right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [
            cell.ljust(w) if i < left else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def run_speed(pdftoppm: str, work: Path, pages: int, dpi: int) -> None:
    """Time both tools on one ``pages``-page PDF and print the table."""
    from helpers.pdf import pdf_pages

    pdf = work / f"bench-{pages}.pdf"
    build_pdf(pdf, pages)
    print(
        f"PDF: {pages} A4 pages ({pdf.stat().st_size / 1024:.0f} KiB), PNG at {dpi} dpi, "
        f"{os.cpu_count()} CPUs, {pdftoppm} ({_pdftoppm_version(pdftoppm)})"
    )
    # Warm-up: load the libraries and fonts, fill the page cache, start a pool once.
    warm = work / "warm.pdf"
    build_pdf(warm, 2)
    time_pdf_pages(warm, dpi, 1)
    time_pdf_pages(warm, dpi, 2)
    time_pdftoppm(pdftoppm, warm, 2, dpi, 1, work / "out")

    cpu_before, start = cpu_seconds(), time.perf_counter()
    runs = [
        time_pdftoppm(pdftoppm, pdf, pages, dpi, 1, work / "out"),
        time_pdftoppm(pdftoppm, pdf, pages, dpi, 2, work / "out"),
        time_pdf_pages(pdf, dpi, 1),
        time_pdf_pages(pdf, dpi, 2),
    ]
    cpu_after, wall = cpu_seconds(), time.perf_counter() - start
    baseline = runs[0].pages_per_second
    print()
    print_table(
        ["tool", "workers", "pages", "seconds", "pages/s", "ratio", "PNG MiB"],
        [
            [
                run.tool,
                str(run.workers),
                str(run.pages),
                f"{run.seconds:.2f}",
                f"{run.pages_per_second:.1f}",
                f"{run.pages_per_second / baseline:.2f}",
                f"{run.png_bytes / 2**20:.1f}",
            ]
            for run in runs
        ],
    )
    ours = png_size(next(iter(pdf_pages(pdf, dpi=dpi, pages=1, progress=False))).content_bytes())
    theirs = png_size(min((work / "out").glob("part0-*.png")).read_bytes())
    print(
        "ratio: pages/s relative to pdftoppm as 1 process; pdftoppm's workers are processes that "
        "render half the pages each (-f/-l).\n"
        "pdf_pages hands back PNG bytes in memory; pdftoppm writes PNG files and its seconds "
        "include reading them back.\n"
        f"page 1: {ours[0]}x{ours[1]} px from pdf_pages, {theirs[0]}x{theirs[1]} px from pdftoppm."
    )
    if cpu_before and cpu_after:
        others = (cpu_after[0] - cpu_before[0]) - (cpu_after[1] - cpu_before[1])
        share = max(others, 0.0) / (wall * (os.cpu_count() or 1))
        print(f"other processes took {share:.0%} of the CPUs during the timed runs.")
        if share > 0.05:
            print("WARNING: the machine was busy: the timings are low, the 2-worker rows most; run again.")


def run_memory(pdftoppm: str, work: Path, sizes: tuple[int, int], dpi: int, pause: float) -> None:
    """Measure peak RSS converting a small and a large PDF, in fresh processes, and print it."""
    small, large = sizes
    pdfs = {n: work / f"memory-{n}.pdf" for n in sizes}
    for n, path in pdfs.items():
        build_pdf(path, n)
    # pdftoppm runs alongside the pdf_pages conversions whose peak does not hinge on timing:
    # workers=1, and the paused consumer, whose pool renders ahead during the pause. This saves
    # most of a minute. The pool with a consumer that keeps up runs alone: whether rendered
    # pages pile up then depends on the consumer getting its share of the CPUs.
    probes = [start_pdftoppm_probe(pdftoppm, pdfs[n], n, dpi, work / f"mem-{n}") for n in sizes]
    one = [measure_pdf_pages(pdfs[n], dpi, 1) for n in sizes]
    two_paused = [measure_pdf_pages(pdfs[n], dpi, 2, pause) for n in sizes]
    poppler = [Memory(n, _finish_probe(probe)[1]) for n, probe in zip(sizes, probes, strict=True)]
    two = [measure_pdf_pages(pdfs[n], dpi, 2) for n in sizes]
    measured = [
        ("pdf_pages", 1, "writes each PNG", *one),
        ("pdf_pages", 2, "writes each PNG", *two),
        ("pdf_pages", 2, f"pauses {pause:g} s at page 1", *two_paused),
        ("pdftoppm", 1, "(writes files)", *poppler),
    ]

    print()
    print(f"peak RSS of a fresh process converting a {small}-page and a {large}-page PDF:")
    print_table(
        ["tool", "workers", "consumer", f"{small} pages", f"{large} pages", "ratio", "grew while iterating"],
        [
            [
                tool,
                str(workers),
                consumer,
                mib(a.peak_kib),
                mib(b.peak_kib),
                f"{b.peak_kib / a.peak_kib:.2f}",
                f"+{mib(a.growth_kib)} / +{mib(b.growth_kib)}" if tool == "pdf_pages" else "",
            ]
            for tool, workers, consumer, a, b in measured
        ],
        left=3,
    )
    print(
        "grew while iterating: the child's own peak after the last page minus before the first "
        f"({small} / {large} pages); pool workers peaked at "
        + ", ".join(mib(b.workers_kib) for tool, w, _, _, b in measured if tool == "pdf_pages" and w > 1)
        + f" ({large} pages)."
    )
    # A page held in memory costs about its PNG. Without that, the growth still varies by up to
    # ~8 MiB: MuPDF caches the objects it loads (a few KiB a page) and the C heap grows in steps.
    for tool, workers, consumer, a, b in measured:
        extra = b.growth_kib - a.growth_kib
        if tool == "pdf_pages" and extra > GROWTH_LIMIT_KIB:
            png_per_page = b.png_bytes / b.pages / 1024
            print(
                f"NOTE: pdf_pages workers={workers} ({consumer}) grew {mib(extra)} more with {large} "
                f"pages than with {small}, about {extra / png_per_page:.0f} pages' PNGs of "
                f"{png_per_page:.0f} KiB: rendered pages pile up, so memory grows with the page count."
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pages", type=int, help=f"pages for the speed part (default 60, {QUICK_PAGES} with --quick)"
    )
    parser.add_argument("--dpi", type=int, default=150, help="resolution of both tools (default 150)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_PAGES} pages for speed and {QUICK_MEMORY_PAGES[0]}/{QUICK_MEMORY_PAGES[1]} for memory",
    )
    parser.add_argument("--memory-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--memory-workers", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--memory-pause", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    if args.memory_child is not None:
        memory_child(args.memory_child, args.dpi, args.memory_workers, args.memory_pause)
        return

    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        sys.stderr.write(
            "error: pdftoppm was not found on PATH; install poppler-utils "
            "(Debian/Ubuntu: sudo apt-get install poppler-utils, macOS: brew install poppler).\n"
        )
        sys.exit(2)
    pages = args.pages or (QUICK_PAGES if args.quick else 60)
    if pages < 2:
        parser.error("--pages must be at least 2 (two workers each render half).")

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pdf-render-bench-") as tmp:
        run_speed(pdftoppm, Path(tmp), pages, args.dpi)
        sizes = QUICK_MEMORY_PAGES if args.quick else MEMORY_PAGES
        run_memory(pdftoppm, Path(tmp), sizes, args.dpi, MEMORY_PAUSE / 2 if args.quick else MEMORY_PAUSE)
    print(f"\ntotal time {time.perf_counter() - started:.0f} s")


def _pdftoppm_version(pdftoppm: str) -> str:
    result = subprocess.run([pdftoppm, "-v"], capture_output=True, text=True, check=False)
    first = (result.stderr or result.stdout).strip().splitlines()
    return first[0] if first else "unknown version"


if __name__ == "__main__":
    main()
