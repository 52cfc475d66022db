"""pdf_pages: lazy rendering, page selection, formats and every bad PDF."""

import io
import warnings

import pymupdf
import pytest
from PIL import Image

from helpers import InputError, PdfError, pdf_pages
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
