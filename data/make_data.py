"""Regenerate the sample files in data/ that the notebooks use.

Run from the repository root::

    .venv/bin/python data/make_data.py
    .venv/bin/python data/make_data.py --photo /path/to/skimage/data/coffee.png
    .venv/bin/python data/make_data.py --check

Every generated file is byte-identical from one run to the next on the same
environment: fonts are the DejaVu files that matplotlib ships (never whatever
the system has), PNG and PDF metadata carry no software version or date, the
audio containers are written in FFmpeg's "bitexact" mode (no encoder version,
a fixed Ogg serial number) and nothing uses random numbers.

photo.jpg is only rebuilt when ``--photo`` points at the original scikit-image
picture (data/README.md says how to get it); otherwise the committed file is
kept. The audio files need the ``espeak-ng`` program and are kept as they are,
with a message, when it is missing. ``--check`` decodes every audio file with
PyAV, transcribes the speech with faster-whisper and looks for the test
sentences in report.pdf.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import av
import matplotlib
import pymupdf
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from PIL import Image, ImageDraw, ImageFont

DATA_DIR = Path(__file__).resolve().parent
FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
SANS = FONT_DIR / "DejaVuSans.ttf"
SANS_BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"

PHOTO_WIDTH = 600
PHOTO_QUALITY = 85

ESPEAK_VOICE = "en-us"
ESPEAK_SPEED = 150  # words per minute

HELLO_TEXT = "Hello, how are you?"
PARAGRAPH_TEXT = (
    "The library opens early in the morning. "
    "Many people read books and newspapers there. "
    "Children read stories in the small garden behind the building. "
    "In the afternoon the city is quiet and the sky is blue. "
    "The library closes at night."
)

ATTENDANCE = {"Jan": 42, "Feb": 38, "Mar": 55, "Apr": 61, "May": 47, "Jun": 70}

QUARTERS = ("Q1", "Q2", "Q3", "Q4")
SALES = {
    "North": (120, 135, 190, 205),
    "South": (140, 150, 158, 162),
    "East": (98, 110, 121, 130),
    "West": (160, 155, 170, 175),
}

RECEIPT_ITEMS = (
    ("Cappuccino", "3.80"),
    ("Blueberry muffin", "2.90"),
    ("Tomato soup", "5.50"),
    ("Cheese sandwich", "6.20"),
    ("Orange juice", "3.10"),
)
RECEIPT_TOTAL = "21.50"

REPORT_SENTENCES = (
    "Total sales for the year reached 2,379 thousand dollars.",
    "The northern region grew fastest in the third quarter.",
    "The eastern region had the lowest sales in every quarter.",
    "Next year the company will open a new office in the eastern region.",
)

PDF_METADATA = {
    "title": "Quarterly Sales Report 2024",
    "author": "Multimodal chat workbook",
    "subject": "Sample document for the notebooks",
    "keywords": "",
    "creator": "data/make_data.py",
    "producer": "data/make_data.py",
    "creationDate": "",
    "modDate": "",
    "trapped": "",
}


# ---------------------------------------------------------------- charts


def _font(path: Path, size: float) -> FontProperties:
    """Return a matplotlib font pinned to one font file, never a system lookup."""
    return FontProperties(fname=str(path), size=size)


def _png_bytes(fig: Figure, dpi: int) -> bytes:
    """Render a figure to PNG bytes without the Software metadata chunk."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def attendance_chart() -> bytes:
    """Draw the 'Workshop attendance by month' bar chart and return it as PNG bytes."""
    months, counts = list(ATTENDANCE), list(ATTENDANCE.values())
    fig = Figure(figsize=(8, 5))
    ax = fig.add_subplot()
    bars = ax.bar(months, counts, color="#4C72B0")
    ax.bar_label(bars, padding=3, fontproperties=_font(SANS, 12))
    ax.set_title("Workshop attendance by month", fontproperties=_font(SANS_BOLD, 16))
    ax.set_xlabel("Month (2024)", fontproperties=_font(SANS, 13))
    ax.set_ylabel("Attendees", fontproperties=_font(SANS, 13))
    ax.set_xticks(range(len(months)), months, fontproperties=_font(SANS, 12))
    ticks = list(range(0, 81, 20))
    ax.set_yticks(ticks, [str(t) for t in ticks], fontproperties=_font(SANS, 12))
    ax.set_ylim(0, 80)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _png_bytes(fig, dpi=100)


def sales_chart() -> bytes:
    """Draw the grouped bar chart of quarterly sales by region for report.pdf."""
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    width = 0.2
    for index, (region, values) in enumerate(SALES.items()):
        offsets = [q + (index - 1.5) * width for q in range(len(QUARTERS))]
        ax.bar(offsets, values, width, label=region)
    ax.set_title("Quarterly sales by region", fontproperties=_font(SANS_BOLD, 14))
    ax.set_xlabel("Quarter of 2024", fontproperties=_font(SANS, 12))
    ax.set_ylabel("Sales (thousand dollars)", fontproperties=_font(SANS, 12))
    ax.set_xticks(range(len(QUARTERS)), QUARTERS, fontproperties=_font(SANS, 11))
    ticks = list(range(0, 251, 50))
    ax.set_yticks(ticks, [str(t) for t in ticks], fontproperties=_font(SANS, 11))
    ax.legend(prop=_font(SANS, 10), ncols=4, loc="upper left")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _png_bytes(fig, dpi=150)


def make_chart(path: Path) -> None:
    """Write chart.png."""
    path.write_bytes(attendance_chart())


# ---------------------------------------------------------------- photo


def make_photo(source: Path, path: Path) -> None:
    """Convert the original photograph to a plain baseline JPEG about PHOTO_WIDTH px wide.

    Only the pixels are kept: no EXIF, ICC profile or comment from the source.
    """
    with Image.open(source) as original:
        image = original.convert("RGB")
    if image.width != PHOTO_WIDTH:
        height = round(image.height * PHOTO_WIDTH / image.width)
        image = image.resize((PHOTO_WIDTH, height), Image.Resampling.LANCZOS)
    image.save(path, "JPEG", quality=PHOTO_QUALITY, optimize=True)


# ---------------------------------------------------------------- receipt


def _receipt_lines() -> list[tuple[str, str, str]]:
    """Return the receipt as (style, left text, right text) rows; style picks font and alignment."""
    rows = [
        ("title", "GREEN LEAF CAFE", ""),
        ("center", "12 Market Street, Springfield", ""),
        ("center", "Tel. 555-0142", ""),
        ("gap", "", ""),
        ("row", "Date: 2024-03-14", "Time: 12:41"),
        ("row", "Receipt no. 10482", "Table 7"),
        ("rule", "", ""),
    ]
    rows += [("row", name, f"${price}") for name, price in RECEIPT_ITEMS]
    rows += [
        ("rule", "", ""),
        ("total", "TOTAL", f"${RECEIPT_TOTAL}"),
        ("row", "Paid by card", f"${RECEIPT_TOTAL}"),
        ("gap", "", ""),
        ("center", "Thank you for your visit!", ""),
    ]
    return rows


def make_receipt(path: Path, width: int = 800) -> None:
    """Render receipt.png: black DejaVu Sans text on white, sized for OCR."""
    heights = {"title": 72, "total": 56, "gap": 24, "rule": 28}
    image = _receipt_image(_receipt_lines(), width, (44, 34, 30), heights, margin=60, line=46, rule_at=12)
    image.save(path, "PNG", optimize=True)


def _receipt_image(
    rows: list[tuple[str, str, str]],
    width: int,
    sizes: tuple[int, int, int],
    heights: dict[str, int],
    margin: int,
    line: int,
    rule_at: int,
) -> Image.Image:
    """A receipt drawn in black on white (grey levels): ``rows`` of (style, left, right), with the title,
    total and text in DejaVu Sans at ``sizes``, each style's row ``heights`` (``line`` for the others),
    and rules ``rule_at`` pixels below their row's top."""
    basic = ImageFont.Layout.BASIC  # same glyphs with or without libraqm, and no "fi" ligatures
    title, total, text = sizes
    fonts = {
        "title": ImageFont.truetype(str(SANS_BOLD), title, layout_engine=basic),
        "total": ImageFont.truetype(str(SANS_BOLD), total, layout_engine=basic),
        "text": ImageFont.truetype(str(SANS), text, layout_engine=basic),
    }
    height = 2 * margin + sum(heights.get(style, line) for style, _, _ in rows)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    y = margin
    for style, left, right in rows:
        font = fonts.get(style, fonts["text"])
        if style == "rule":
            draw.line((margin, y + rule_at, width - margin, y + rule_at), fill=0, width=2)
        elif style in ("title", "center"):
            draw.text((width // 2, y), left, font=font, fill=0, anchor="ma")
        elif style in ("row", "total"):
            draw.text((margin, y), left, font=font, fill=0)
            draw.text((width - margin, y), right, font=font, fill=0, anchor="ra")
        y += heights.get(style, line)
    return image


# ---------------------------------------------------------------- receipts (batch_documents.ipynb)


RECEIPTS_DIR = "receipts"
RECEIPT_COUNT = 40
SHOPS = ("CORNER BAKERY", "BLUE DOOR DELI", "SUNNY SIDE DINER", "THE BOOK NOOK", "FRESH MARKET")
#: The menu the receipts draw from: name and price in cents.
MENU = (
    ("Coffee", 280),
    ("Green tea", 240),
    ("Croissant", 310),
    ("Bagel", 350),
    ("Fruit salad", 475),
    ("Pasta", 890),
    ("Veggie wrap", 725),
    ("Lemonade", 320),
    ("Notebook", 599),
    ("Pencils", 249),
    ("Apples", 360),
    ("Bread", 415),
)


def _pick(number: int, what: str, size: int) -> int:
    """A number below ``size`` fixed by the receipt's number and ``what``: SHA-256, not random numbers."""
    digest = hashlib.sha256(f"receipt {number} {what}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % size


def receipt_rows(number: int) -> tuple[str, list[tuple[str, str, str]], str]:
    """Receipt ``number`` (1-based) as (shop, rows, total): 2 to 5 items of the menu, chosen by :func:`_pick`."""
    shop = SHOPS[(number - 1) % len(SHOPS)]
    picks: list[tuple[str, int]] = []
    for k in range(2 + _pick(number, "count", 4)):
        index = _pick(number, f"item {k}", len(MENU))
        while MENU[index] in picks:  # each item once
            index = (index + 1) % len(MENU)
        picks.append(MENU[index])
    quantities = [1 + _pick(number, f"quantity {k}", 3) for k in range(len(picks))]
    cents = sum(price * quantity for (_, price), quantity in zip(picks, quantities, strict=True))
    total = f"{cents // 100}.{cents % 100:02d}"
    day = 1 + _pick(number, "day", 28)
    rows = [
        ("title", shop, ""),
        ("row", f"2024-05-{day:02d}", f"No. {2000 + number * 17}"),
        ("rule", "", ""),
    ]
    for (name, price), quantity in zip(picks, quantities, strict=True):
        label = f"{quantity} x {name}" if quantity > 1 else name
        amount = price * quantity
        rows.append(("row", label, f"${amount // 100}.{amount % 100:02d}"))
    rows += [("rule", "", ""), ("total", "TOTAL", f"${total}")]
    return shop, rows, total


def draw_receipt(rows: list[tuple[str, str, str]], width: int = 480) -> Image.Image:
    """A small receipt: DejaVu Sans on white, reduced to 4 grey levels (small PNGs that OCR reads well)."""
    heights = {"title": 48, "total": 40, "gap": 14, "rule": 20}
    image = _receipt_image(rows, width, (30, 24, 20), heights, margin=32, line=32, rule_at=9)
    return image.quantize(colors=4, dither=Image.Dither.NONE)


def make_receipts(folder: Path) -> list[Path]:
    """Write receipt-01.png ... receipt-40.png and totals.csv (file, shop, total) into ``folder``."""
    folder.mkdir(exist_ok=True)
    written, table = [], []
    for number in range(1, RECEIPT_COUNT + 1):
        shop, rows, total = receipt_rows(number)
        path = folder / f"receipt-{number:02d}.png"
        draw_receipt(rows).save(path, "PNG", optimize=True)
        written.append(path)
        table.append((path.name, shop, total))
    totals = folder / "totals.csv"
    with totals.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("file", "shop", "total"))
        writer.writerows(table)
    return [*written, totals]


# ---------------------------------------------------------------- report


PAGE_WIDTH, PAGE_HEIGHT = pymupdf.paper_size("a4")
MARGIN = 72


def _heading(page: pymupdf.Page, text: str, y: float = 100, size: float = 24) -> None:
    """Write a bold Helvetica heading at the top of a page."""
    page.insert_text((MARGIN, y), text, fontname="hebo", fontsize=size)


def _paragraph(page: pymupdf.Page, text: str, top: float, bottom: float, size: float = 12) -> None:
    """Write wrapped Helvetica text in a box across the page; fail if it does not fit."""
    box = pymupdf.Rect(MARGIN, top, PAGE_WIDTH - MARGIN, bottom)
    spare = page.insert_textbox(box, text, fontname="helv", fontsize=size, lineheight=1.4)
    if spare < 0:
        raise ValueError(f"text does not fit in {box}: {text[:40]!r}...")


def _footer(page: pymupdf.Page, number: int, count: int) -> None:
    """Write 'Page n of m' at the bottom of a page."""
    page.insert_text((MARGIN, PAGE_HEIGHT - 40), f"Page {number} of {count}", fontname="helv", fontsize=9)


def _title_page(page: pymupdf.Page) -> None:
    """Page 1: title and introduction."""
    _heading(page, "Quarterly Sales Report 2024", y=120, size=28)
    page.insert_text((MARGIN, 150), "Prepared by the finance team", fontname="helv", fontsize=13)
    _paragraph(
        page,
        "This report summarises the sales of our four regions, North, South, East and West, "
        "during the four quarters of 2024. Sales are given in thousands of dollars. "
        f"{REPORT_SENTENCES[0]} The West had the highest yearly total, just ahead of the North, "
        "and every region sold more in the fourth quarter than in the first.",
        top=190,
        bottom=400,
    )


def _table_page(page: pymupdf.Page) -> None:
    """Page 2: quarterly sales by region as a ruled table."""
    _heading(page, "Sales by region and quarter")
    header = ["Region", *QUARTERS, "Total"]
    rows = [[region, *map(str, values), str(sum(values))] for region, values in SALES.items()]
    totals = [sum(column) for column in zip(*SALES.values(), strict=True)]
    rows.append(["All regions", *map(str, totals), str(sum(totals))])
    left, top, row_height = MARGIN, 140, 28
    widths = [130, 60, 60, 60, 60, 81]
    edges = [left + sum(widths[:i]) for i in range(len(widths) + 1)]
    bottom = top + row_height * (len(rows) + 1)
    for i in range(len(rows) + 2):
        y = top + i * row_height
        page.draw_line((edges[0], y), (edges[-1], y), width=1.5 if i in (0, 1, len(rows) + 1) else 0.5)
    for x in edges:
        page.draw_line((x, top), (x, bottom), width=0.5)
    for r, cells in enumerate([header, *rows]):
        font = "hebo" if r in (0, len(rows)) else "helv"
        baseline = top + r * row_height + 19
        for c, cell in enumerate(cells):
            x = edges[c] + 8
            if c > 0:  # right-align numbers
                x = edges[c + 1] - 8 - pymupdf.get_text_length(cell, fontname=font, fontsize=12)
            page.insert_text((x, baseline), cell, fontname=font, fontsize=12)
    _paragraph(
        page,
        f"Table 1 lists the sales of each region in thousands of dollars. {REPORT_SENTENCES[1]} "
        "Its sales rose from 135 to 190 thousand dollars, an increase of about forty percent.",
        top=bottom + 30,
        bottom=bottom + 160,
    )


def _chart_page(page: pymupdf.Page, chart_png: bytes) -> None:
    """Page 3: the sales chart with a caption."""
    _heading(page, "Sales chart")
    image_width = PAGE_WIDTH - 2 * MARGIN
    image_rect = pymupdf.Rect(MARGIN, 130, MARGIN + image_width, 130 + image_width * 4 / 7)
    page.insert_image(image_rect, stream=chart_png)
    _paragraph(
        page,
        "Figure 1. Quarterly sales by region in 2024, in thousands of dollars.",
        top=image_rect.y1 + 12,
        bottom=image_rect.y1 + 40,
        size=11,
    )
    _paragraph(
        page,
        f"{REPORT_SENTENCES[2]} The West and the North sold the most.",
        top=image_rect.y1 + 60,
        bottom=image_rect.y1 + 160,
    )


def _conclusion_page(page: pymupdf.Page) -> None:
    """Page 4: the conclusion."""
    _heading(page, "Conclusion")
    _paragraph(
        page,
        "The year 2024 was a good year for all four regions. The strong third quarter in the North "
        "shows that the new shops there are working well. "
        f"{REPORT_SENTENCES[3]} We expect total sales to pass 2,500 thousand dollars in 2025.",
        top=130,
        bottom=330,
    )


def make_report(path: Path) -> None:
    """Write the 4-page report.pdf with fixed metadata and no document id or dates."""
    doc = pymupdf.open()
    pages = [_title_page, _table_page, _chart_page, _conclusion_page]
    for number, fill in enumerate(pages, start=1):
        page = doc.new_page(width=PAGE_WIDTH, height=PAGE_HEIGHT)
        if fill is _chart_page:
            _chart_page(page, sales_chart())
        else:
            fill(page)
        _footer(page, number, len(pages))
    doc.set_metadata(PDF_METADATA)
    doc.save(path, garbage=4, deflate=True, no_new_id=True)
    doc.close()


# ---------------------------------------------------------------- audio


def speak(text: str, path: Path) -> None:
    """Speak text with espeak-ng into a 16-bit PCM mono WAV file (22050 Hz)."""
    command = ["espeak-ng", "-v", ESPEAK_VOICE, "-s", str(ESPEAK_SPEED), "-w", str(path), text]
    subprocess.run(command, check=True)


def encode(source: Path, target: Path, codec: str, rate: int, bit_rate: int) -> None:
    """Re-encode a WAV file as mono audio with PyAV, in FFmpeg's bitexact mode.

    The container format follows the target's suffix (.mp3, .ogg, .m4a). PyAV
    resamples and re-chunks the frames to what the encoder takes.
    """
    bitexact = {"fflags": "+bitexact", "flags": "+bitexact"}
    with av.open(str(source)) as inp, av.open(str(target), "w", container_options=bitexact) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        stream.bit_rate = bit_rate
        stream.codec_context.flags |= av.codec.context.Flags.bitexact
        for frame in inp.decode(audio=0):
            frame.pts = None
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def make_audio(stem: str, text: str, formats: Sequence[str]) -> None:
    """Speak text to STEM.wav and encode it to the other formats; drop the WAV unless asked for."""
    wav = DATA_DIR / f"{stem}.wav"
    speak(text, wav)
    codecs = {
        "mp3": ("libmp3lame", 22050, 64_000),
        "ogg": ("libopus", 48000, 32_000),
        "m4a": ("aac", 22050, 64_000),
    }
    for suffix in formats:
        if suffix != "wav":
            codec, rate, bit_rate = codecs[suffix]
            encode(wav, DATA_DIR / f"{stem}.{suffix}", codec, rate, bit_rate)
    if "wav" not in formats:
        wav.unlink()


# ---------------------------------------------------------------- check


def _transcribe(paths: Sequence[Path]) -> None:
    """Print the local host's transcript of each file (its Whisper model, assembled from its packages)."""
    try:
        from helpers.local.engines import Missing
        from helpers.local.speech import transcribe
    except ImportError as error:
        print(f"skip transcripts: {error}")
        return
    for path in paths:
        try:
            print(f"{path.name}: {transcribe(path.read_bytes(), language='en').text}")
        except Missing as error:
            print(f"skip transcripts: {error}")
            return


def _decode_seconds(path: Path) -> float:
    """Decode an audio file completely with PyAV and return its length in seconds."""
    samples, rate = 0, 0
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            samples += frame.samples
            rate = frame.sample_rate
    return samples / rate


def check() -> None:
    """Decode and transcribe the audio files and find the test sentences in report.pdf."""
    audio = sorted(p for p in DATA_DIR.iterdir() if p.suffix in (".wav", ".mp3", ".ogg", ".m4a"))
    for path in audio:
        print(f"{path.name}: decodes to {_decode_seconds(path):.2f} s")
    _transcribe(audio)
    with pymupdf.open(DATA_DIR / "report.pdf") as doc:
        for number, (page, sentence) in enumerate(zip(doc, REPORT_SENTENCES, strict=True), start=1):
            found = sentence in " ".join(page.get_text().split())
            print(f"report.pdf page {number}: {'found' if found else 'MISSING'} {sentence!r}")


# ---------------------------------------------------------------- main


def sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def generate(photo_source: Path | None) -> list[Path]:
    """Write every generated file into data/ and return their paths."""
    written = []
    make_chart(DATA_DIR / "chart.png")
    make_receipt(DATA_DIR / "receipt.png")
    make_report(DATA_DIR / "report.pdf")
    written += [DATA_DIR / name for name in ("chart.png", "receipt.png", "report.pdf")]
    written += make_receipts(DATA_DIR / RECEIPTS_DIR)
    if photo_source is None:
        print("photo.jpg: kept as committed (pass --photo PATH/coffee.png to rebuild it, see README.md)")
    elif not photo_source.is_file():
        print(f"photo.jpg: kept as committed, original not found at {photo_source}")
    else:
        make_photo(photo_source, DATA_DIR / "photo.jpg")
        written.append(DATA_DIR / "photo.jpg")
    if shutil.which("espeak-ng") is None:
        print("audio: kept as committed, espeak-ng is not installed (apt-get install espeak-ng)")
    else:
        make_audio("hello", HELLO_TEXT, ("wav", "mp3", "ogg", "m4a"))
        make_audio("paragraph", PARAGRAPH_TEXT, ("wav", "mp3"))
        written += [DATA_DIR / f"hello.{s}" for s in ("wav", "mp3", "ogg", "m4a")]
        written += [DATA_DIR / f"paragraph.{s}" for s in ("wav", "mp3")]
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, regenerate the files and print their sizes and hashes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, help="original photo to convert (skimage/data/coffee.png)")
    parser.add_argument("--check", action="store_true", help="also decode, transcribe and search the files")
    args = parser.parse_args(argv)
    for path in generate(args.photo):
        print(f"{path.relative_to(DATA_DIR)!s:23} {path.stat().st_size:>8} bytes  sha256 {sha256(path)}")
    if args.check:
        check()
    return 0


if __name__ == "__main__":
    sys.exit(main())
