"""OCR of the local model: boxes joined into visual rows, word spaces put back, answers about the samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openai
import pytest

from helpers import chat_message, pdf_pages, prepare_image
from helpers.local import ocr
from helpers.local.ocr import TextLine, restore_spaces, rows

DATA = Path(__file__).resolve().parents[2] / "data"


def line(text: str, left: int, top: int, right: int, bottom: int, score: float = 0.9) -> TextLine:
    return TextLine(text, (left, top, right, bottom), score)


def test_rows_join_the_boxes_of_one_visual_row() -> None:
    boxes = [
        line("$21.50", 580, 604, 715, 641),  # a bold amount, taller than its label
        line("TOTAL", 54, 606, 175, 639),
        line("Paid by card", 56, 655, 235, 689, 0.8),
        line("$21.50", 610, 654, 715, 688),
        line("Cappuccino", 56, 354, 230, 388),
        line("$3.80", 627, 355, 714, 387),
    ]
    joined = rows(boxes)
    assert [(r.text, r.box, r.score) for r in joined] == [
        ("Cappuccino $3.80", (56, 354, 714, 388), 0.9),
        ("TOTAL $21.50", (54, 604, 715, 641), 0.9),
        ("Paid by card $21.50", (56, 654, 715, 689), 0.8),  # the lowest score of the row
    ]
    # glyph size: the largest pixels per letter of a row's boxes, less the detector's padding of 0.3 of
    # the box height on each side (TOTAL: 121 px wide, 33 high, 5 letters)
    assert [r.size for r in joined] == [
        round((174 - 0.6 * 34) / 10, 1),
        round((121 - 0.6 * 33) / 5, 1),
        round((179 - 0.6 * 34) / 10, 1),
    ]


def test_rows_keep_lines_of_a_paragraph_and_a_vertical_title_apart() -> None:
    boxes = [
        line("increase of about forty percent.", 90, 486, 306, 506),
        line("grew fastest in the third quarter.", 91, 462, 660, 484),
        line("Sales (thousand dollars)", 100, 230, 123, 412),  # turned by 90 degrees
        line("100", 124, 340, 153, 359),
        line("150", 124, 290, 153, 310),
    ]
    assert [row.text for row in rows(boxes)] == [
        "150",
        "Sales (thousand dollars)",
        "100",
        "grew fastest in the third quarter.",
        "increase of about forty percent.",
    ]
    assert rows([]) == []


def test_restore_spaces_leaves_what_it_cannot_measure_alone() -> None:
    white = np.full((40, 200), 255, np.float32)
    box = [[10, 5], [190, 5], [190, 35], [10, 35]]
    char_boxes = [
        [[10 + 20 * i, 5], [30 + 20 * i, 5], [30 + 20 * i, 35], [10 + 20 * i, 35]] for i in range(5)
    ]
    assert restore_spaces(white, box, "Hello", list("Hello"), char_boxes) == "Hello"  # no contrast
    assert (
        restore_spaces(white, box, "Hello", list("Help"), char_boxes[:4]) == "Hello"
    )  # characters do not match
    tall = [[10, 5], [30, 5], [30, 195], [10, 195]]
    assert restore_spaces(white, tall, "Hello", list("Hello"), char_boxes) == "Hello"  # vertical text


def test_word_spaces_come_back_and_numbers_stay_whole() -> None:
    chart = [row.text for row in ocr.ocr((DATA / "chart.png").read_bytes())]
    assert chart[0] == "Workshop attendance by month"  # "Workshopattendancebymonth" without the fix
    assert "Month (2024)" in chart
    page = next(iter(pdf_pages(DATA / "report.pdf", dpi=100, pages="2")))
    lines = [row.text for row in ocr.ocr(prepare_image(page, "high").content_bytes())]
    assert lines[0] == "Sales by region and quarter"
    assert lines[-4:] == [
        "Table 1 lists the sales of each region in thousands of dollars. The northern region",
        "grew fastest in the third quarter. Its sales rose from 135 to 190 thousand dollars, an",
        "increase of about forty percent.",
        "Page 2 of 4",
    ]


@pytest.fixture(scope="module")
def receipt() -> object:
    """The receipt as the notebooks send it."""
    return prepare_image(str(DATA / "receipt.png"))


def test_receipt_total_comes_with_its_amount(oai: openai.OpenAI, receipt: object) -> None:
    reply = oai.chat.completions.create(
        model="gpt-4o", messages=[chat_message("What is the total on this receipt?", receipt)]
    )
    assert reply.choices[0].message.content.splitlines() == [
        "TOTAL: $21.50",
        '(Read from the line "TOTAL $21.50".)',
    ]


def test_follow_up_on_the_receipt_gives_the_price(oai: openai.OpenAI, receipt: object) -> None:
    reply = oai.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": "You answer questions about documents briefly."},
            chat_message("Which shop is this receipt from?", receipt),
            {"role": "assistant", "content": "..."},
            {"role": "user", "content": "What did the cappuccino cost?"},
        ],
    )
    assert reply.choices[0].message.content.splitlines() == [
        "Cappuccino: $3.80",
        '(Read from the line "Cappuccino $3.80".)',
    ]


def test_table_comes_out_one_row_per_line(oai: openai.OpenAI, table_png: bytes) -> None:
    reply = oai.chat.completions.create(
        model="gpt-4o",
        messages=[
            chat_message("Extract the table on this page, one row per line.", table_png, detail="high")
        ],
    )
    assert reply.choices[0].message.content.splitlines() == [
        "Stock count",
        "| Fruit | Boxes | Price |",
        "|---|---|---|",
        "| Apples | 12 | 3.40 |",
        "| Pears | 7 | 2.95 |",
        "| Plums | 30 | 11.00 |",
        "(The text of the image, 5 lines, in reading order.)",
    ]


def test_report_table_page_as_the_notebook_sends_it(oai: openai.OpenAI) -> None:
    page = next(iter(pdf_pages(DATA / "report.pdf", dpi=100, pages="2")))
    reply = oai.chat.completions.create(
        model="gpt-4o",
        messages=[
            chat_message(
                "Extract the table on this page, one row per line.",
                prepare_image(page, "high"),
                detail="high",
            )
        ],
    )
    assert reply.choices[0].message.content.splitlines()[:9] == [
        "Sales by region and quarter",
        "| Region | Q1 | Q2 | Q3 | Q4 | Total |",
        "|---|---|---|---|---|---|",
        "| North | 120 | 135 | 190 | 205 | 650 |",
        "| South | 140 | 150 | 158 | 162 | 610 |",
        "| East | 98 | 110 | 121 | 130 | 459 |",
        "| West | 160 | 155 | 170 | 175 | 660 |",
        "| All regions | 518 | 550 | 639 | 672 | 2379 |",
        "Table 1 lists the sales of each region in thousands of dollars. The northern region",
    ]


def test_axis_titles_turned_by_90_degrees_are_read_the_right_way_round() -> None:
    chart = [row.text for row in ocr.ocr((DATA / "chart.png").read_bytes())]
    assert "Attendees" in chart  # "s" before: the title was read sideways
    page = next(iter(pdf_pages(DATA / "report.pdf", dpi=100, pages="3")))
    lines = [row.text for row in ocr.ocr(prepare_image(page, "high").content_bytes())]
    assert "Sales (thousand dollars)" in lines  # "(seop puesnou) sales" before: read upside down
    assert lines.index("Sales (thousand dollars)") < lines.index("Q1 Q2 Q3 Q4")


def test_ocr_is_the_same_when_run_again() -> None:
    data = (DATA / "receipt.png").read_bytes()
    first = ocr.ocr(data)
    ocr.ENGINE.cache.clear()  # forget the result, so it is computed again
    assert ocr.ocr(data) == first


DENSE_TEXT = (
    "the northern office reported crates of apples on Monday, our finance team measured "
    "the order for pumps as agreed and the harbour depot questioned invoice"
)


def dense_page(count: int) -> tuple[bytes, list[str]]:
    """An A4 page at 200 dpi with ``count`` lines of 7.5 pt Helvetica on 8.6 pt lines, and its lines."""
    import pymupdf

    words = DENSE_TEXT.split()
    lines = []
    for i in range(count):
        lines.append(
            f"{i + 1}. {' '.join(words[(5 * i + k) % len(words)] for k in range(13))} {100 + 37 * i}."
        )
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    for number, text in enumerate(lines):
        page.insert_text((57, 50 + number * 8.6), text, fontsize=7.5)
    return page.get_pixmap(dpi=200).tobytes("png"), lines


def test_dense_page_comes_out_one_row_per_line_drawn() -> None:
    png, lines = dense_page(30)
    found = [row.text for row in ocr.ocr(png)]
    assert len(found) == 30
    # Boxes of lines this close also held parts of their neighbours: "ofie", "onMonday, ourfinance"
    # and "10.theharbourdepot questionedinvoicethenorthernoffiereported cratesofappleson3." before.
    for i in (4, 6, 9, 29):
        assert found[i] == lines[i]
    assert (
        found[9]
        == "10. the harbour depot questioned invoice the northern office reported crates of apples on 433."
    )
