"""pdf_pages: lazy rendering, page selection, formats and every bad PDF."""

import functools
import io
import multiprocessing
import os
import re
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pymupdf
import pytest
from PIL import Image

from helpers import InputError, PdfError, pdf_pages, prepare_file
from helpers.pdf import parse_pages


@pytest.fixture(scope="module")
def six_pages(tmp_path_factory):
    doc = pymupdf.open()
    for n in range(1, 7):
        page = doc.new_page(width=200, height=100)  # points: 72 dpi gives 200x100 pixels
        page.insert_text((10, 50), f"Page {n}", fontsize=20)
    path = tmp_path_factory.mktemp("pdf") / "six.pdf"
    doc.save(path)
    return path


def size_of(att):
    return Image.open(io.BytesIO(att.content_bytes())).size


def test_pages_render_lazily_at_the_dpi(six_pages):
    pages = pdf_pages(six_pages, dpi=144, pages="2-3,6", progress=False)
    assert len(pages) == 3
    assert repr(pages) == "PdfPages('six', pages=3 of 6, dpi=144, fmt='png')"
    rendered = list(pages)
    assert [p.name for p in rendered] == ["six-page2.png", "six-page3.png", "six-page6.png"]
    assert {size_of(p) for p in rendered} == {(400, 200)}
    assert rendered[0].mime_type == "image/png"
    assert size_of(pages[1]) == (400, 200)


def test_jpeg_and_bytes_source(six_pages):
    page = pdf_pages(six_pages.read_bytes(), dpi=72, pages=1, fmt="jpeg")[0]
    assert page.mime_type == "image/jpeg"
    assert page.name == "document-page1.jpg"


def test_two_workers_give_the_same_bytes(six_pages):
    one = [p.content_bytes() for p in pdf_pages(six_pages, dpi=72, progress=False)]
    two = [p.content_bytes() for p in pdf_pages(six_pages, dpi=72, progress=False, workers=2)]
    assert one == two


def test_pixel_bound_lowers_the_dpi(six_pages):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        page = pdf_pages(six_pages, dpi=720, pages=1, max_pixels=20_000)[0]
    assert size_of(page) == (200, 100)
    assert str(caught[0].message) == (
        "Page 1 at 720 dpi would be 2000x1000 pixels; rendered at 72 dpi to stay under max_pixels=20000."
    )


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (None, [1, 2, 3, 4, 5, 6]),
        ("1-3,7", None),
        ("2-", [2, 3, 4, 5, 6]),
        (" 5 , 1 ", [5, 1]),
        (4, [4]),
        ([6, 1], [6, 1]),
    ],
)
def test_parse_pages(spec, expected):
    if expected is None:
        with pytest.raises(
            PdfError, match=r"pages='1-3,7': page 7 is out of range; this PDF has pages 1 to 6\."
        ):
            parse_pages(spec, 6)
    else:
        assert parse_pages(spec, 6) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("0", "pages='0': page 0 is out of range; this PDF has pages 1 to 6."),
        ("4-2", "pages='4-2': range '4-2' runs backwards; write it as '2-4'."),
        ("one", "pages='one': 'one' is not a page or range; write e.g. '1-3,7' or '5-'."),
    ],
)
def test_bad_page_specs(six_pages, spec, message):
    with pytest.raises(PdfError) as err:
        pdf_pages(six_pages, pages=spec)
    assert str(err.value) == message


def test_encrypted_pdf(tmp_path, six_pages):
    path = tmp_path / "locked.pdf"
    pymupdf.open(six_pages).save(
        path, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="open", owner_pw="owner"
    )
    with pytest.raises(
        PdfError, match=r"^'.*locked\.pdf' is encrypted; pass password='\.\.\.' to open it\.$"
    ):
        pdf_pages(path)
    with pytest.raises(
        PdfError, match=r"^The password given for '.*locked\.pdf' is wrong; check it and try again\.$"
    ):
        pdf_pages(path, password="guess")
    assert len(list(pdf_pages(path, password="open", dpi=36, progress=False))) == 6


def test_corrupt_missing_and_bad_options(tmp_path, six_pages):
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.7 this is not a pdf")
    with pytest.raises(
        PdfError, match=r"'.*bad\.pdf' is not a readable PDF \(.*\)\. Check that the file is a complete PDF\."
    ):
        pdf_pages(bad)
    with pytest.raises(PdfError, match=r"^the PDF bytes is not a readable PDF"):
        pdf_pages(b"")
    with pytest.raises(InputError, match=r"PDF file '.*nope\.pdf' does not exist; check the path\."):
        pdf_pages(tmp_path / "nope.pdf")
    with pytest.raises(InputError, match=r"fmt='gif' is not supported; use 'png' or 'jpeg'\."):
        pdf_pages(six_pages, fmt="gif")
    with pytest.raises(InputError, match=r"dpi=5 is out of range; use 18 to 1200"):
        pdf_pages(six_pages, dpi=5)


def test_stopping_early_with_workers_cancels_the_rest(six_pages):
    pages = iter(pdf_pages(six_pages, dpi=72, progress=False, workers=2))
    first = next(pages)
    pages.close()  # the pool shuts down with the queued pages cancelled, nothing hangs
    assert first.name == "six-page1.png"


REPORT = Path(__file__).resolve().parents[1] / "data" / "report.pdf"


def damaged_report(kind: str) -> bytes:
    """data/report.pdf (4 pages) with its page tree broken in one way MuPDF cannot repair."""
    data = REPORT.read_bytes()
    if kind == "cycle":  # page 2 of the page tree is the page tree itself
        return data.replace(b"Kids[4 0 R 11 0 R", b"Kids[4 0 R 2 0 R ")
    return data.replace(b"/Count 4/", b"/Count 9/")  # claims 9 pages, has 4


PAGE_1_CYCLE = (
    "Page 1 of 'report.pdf' cannot be rendered (MuPDF: format error: cycle in page tree); the PDF is "
    "damaged. Repair it (open it and save or print it to a new PDF), or leave the page out with pages='...'."
)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_page_that_cannot_be_rendered_is_a_pdf_error_naming_it(workers):
    pages = pdf_pages(damaged_report("cycle"), dpi=36, progress=False, workers=workers, name="report.pdf")
    with pytest.raises(PdfError) as err:
        list(pages)
    assert str(err.value) == PAGE_1_CYCLE


def test_a_missing_page_is_a_pdf_error_naming_it():
    pages = pdf_pages(damaged_report("count"), dpi=36, progress=False, name="report.pdf")
    assert pages.page_count == 9
    with pytest.raises(PdfError) as err:
        pages[4]
    assert str(err.value) == (
        "Page 5 of 'report.pdf' cannot be rendered (FzErrorFormat: code=7: cannot find page 5 in page "
        "tree); the PDF is "
        "damaged. Repair it (open it and save or print it to a new PDF), or leave the page out with "
        "pages='...'."
    )


def test_a_worker_that_dies_is_a_pdf_error_naming_the_page(six_pages, monkeypatch):
    def crash(*args):
        os._exit(1)  # what a MuPDF crash does to a worker process

    monkeypatch.setattr("helpers.pdf._render", crash)
    forked = functools.partial(ProcessPoolExecutor, mp_context=multiprocessing.get_context("fork"))
    monkeypatch.setattr("helpers.pdf.ProcessPoolExecutor", forked)  # workers inherit the crash
    with pytest.raises(PdfError) as err:
        list(pdf_pages(six_pages, progress=False, workers=2))
    assert re.fullmatch(
        r"Page 1 of '.*six\.pdf' cannot be rendered \(BrokenProcessPool: .*\); the PDF is damaged\. "
        r"Repair it \(open it and save or print it to a new PDF\), or leave the page out with pages='\.\.\.'\.",
        str(err.value),
    )


def cut_and_garbled() -> dict[str, bytes]:
    data = REPORT.read_bytes()
    versions = {f"cut at {n}%": data[: len(data) * n // 100] for n in (0, 2, 6, 14, 30, 50, 75, 95)}
    for n in (10, 30, 50, 70, 90):
        start = len(data) * n // 100
        versions[f"300 bytes flipped at {n}%"] = (
            data[:start] + bytes(b ^ 0x5A for b in data[start : start + 300]) + data[start + 300 :]
        )
    return versions


@pytest.mark.parametrize("workers", [1, 2])
def test_truncated_and_garbled_pdfs_render_or_raise_pdf_error(workers):
    outcomes = {}
    for label, data in cut_and_garbled().items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                count = len(list(pdf_pages(data, dpi=36, progress=False, workers=workers, name="report.pdf")))
            outcomes[label] = f"{count} pages"
        except PdfError as exc:  # anything else fails the test
            assert "'report.pdf'" in str(exc)
            outcomes[label] = str(exc)
    unreadable = (
        "'report.pdf' is not a readable PDF (Failed to open stream). Check that the file is a complete PDF."
    )
    truncated = (
        "'report.pdf' is truncated: a PDF ends with 'startxref' and '%%EOF' and this one does not (it was cut "
        "short, e.g. by an interrupted download or copy). Download or export it again."
    )
    fix = "the PDF is damaged. Repair it (open it and save or print it to a new PDF), or leave the page out with pages='...'."
    zlib = (
        f"Page 3 of 'report.pdf' cannot be rendered (MuPDF: ignoring zlib error: incorrect data check); {fix}"
    )
    assert outcomes == {
        "cut at 0%": "'report.pdf' is not a readable PDF (Cannot open empty stream.). Check that the file is a "
        "complete PDF.",
        "cut at 2%": truncated,  # MuPDF would rebuild what it can and draw the rest blank
        "cut at 6%": unreadable,
        "cut at 14%": unreadable,
        "cut at 30%": truncated,
        "cut at 50%": truncated,
        "cut at 75%": truncated,
        "cut at 95%": truncated,
        "300 bytes flipped at 10%": f"Page 2 of 'report.pdf' cannot be rendered (MuPDF: format error: object is "
        f"not a stream); {fix}",
        "300 bytes flipped at 30%": "4 pages",  # inside data no check covers: the page renders as it is
        "300 bytes flipped at 50%": zlib,
        "300 bytes flipped at 70%": zlib,
        "300 bytes flipped at 90%": zlib,
    }


@pytest.fixture(scope="module")
def long_pdf(tmp_path_factory):
    doc = pymupdf.open()
    for _ in range(2000):
        doc.new_page(width=200, height=100)
    path = tmp_path_factory.mktemp("pdf") / "long.pdf"
    doc.save(path)
    return path


def test_prepare_file_refuses_a_long_pdf_before_rendering_a_page(long_pdf, monkeypatch):
    def no_rendering(*args):
        raise AssertionError("a page was rendered")

    monkeypatch.setattr("helpers.pdf._render", no_rendering)
    with pytest.raises(PdfError) as err:
        prepare_file(str(long_pdf))
    assert str(err.value) == (
        "'long.pdf' has 2000 pages, more than max_pages=20 (each page is sent as one image). Choose the "
        "pages to send, e.g. pages='1-5', or raise max_pages."
    )
    with pytest.raises(PdfError) as err:
        prepare_file(str(long_pdf), pages="1-", max_pages=50)
    assert str(err.value) == (
        "'long.pdf' pages='1-' selects 2000 of its 2000 pages, more than max_pages=50 (each page is sent "
        "as one image). Choose the pages to send, e.g. pages='1-5', or raise max_pages."
    )
    with pytest.raises(InputError, match=r"^max_pages=0 must be at least 1\.$"):
        prepare_file(str(long_pdf), max_pages=0)


def test_prepare_file_sends_the_pages_picked(long_pdf, six_pages):
    picked = prepare_file(str(long_pdf), pages="2-4,1999")
    assert [p.name for p in picked] == [f"long-page{n}.png" for n in (2, 3, 4, 1999)]
    assert [p.name for p in prepare_file(str(six_pages))] == [f"six-page{n}.png" for n in range(1, 7)]
    assert len(prepare_file(str(long_pdf), pages="1-30", max_pages=30)) == 30
    with pytest.raises(
        PdfError, match=r"^pages='2001': page 2001 is out of range; this PDF has pages 1 to 2000\.$"
    ):
        prepare_file(str(long_pdf), pages="2001")
