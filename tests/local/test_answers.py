"""The local model answers what is asked, first line first, on documents the tests draw themselves.

Receipts, an invoice, a form, a sign, a table page and a chart are drawn here (PyMuPDF text, a
matplotlib chart), rendered to PNG and asked about as a learner would; each reply is compared exactly.
"""

from __future__ import annotations

import base64
import io

import pymupdf
import pytest

from helpers.local.media import load_image
from helpers.local.model import compose
from helpers.local.protocol import Message
from helpers.local.settings import Settings

Line = tuple[float, float, str, float, str]  # x, y, text, font size, PyMuPDF font name


def page(lines: list[Line], width: float = 420, height: float = 600) -> bytes:
    """A page of ``lines`` rendered at 150 dpi as PNG."""
    doc = pymupdf.open()
    drawn = doc.new_page(width=width, height=height)
    for x, y, text, size, font in lines:
        drawn.insert_text((x, y), text, fontsize=size, fontname=font)
    return drawn.get_pixmap(dpi=150).tobytes("png")


def pairs(
    rows: list[tuple[str, str]], top: float, step: float, size: float = 11, font: str = "helv"
) -> list[Line]:
    """Two-column rows (a label at the left, a value at the right)."""
    return [
        line for i, (label, value) in enumerate(rows)
        for line in ((40, top + i * step, label, size, font), (320, top + i * step, value, size, font))
    ]  # fmt: skip


def receipt() -> bytes:
    head = [
        (110, 60, "BLUE HARBOR DINER", 20, "hebo"),
        (120, 85, "4 Pier Road, Portsmouth", 10, "helv"),
        (40, 125, "Date: 2025-05-11", 10, "helv"),
        (260, 125, "Time: 19:07", 10, "helv"),
        (40, 145, "Check no. 5531", 10, "helv"),
    ]
    items = [
        ("Fish and chips", "$14.50"),
        ("Garden salad", "$7.25"),
        ("Lemonade", "$3.00"),
        ("Apple pie", "$5.75"),
    ]
    totals = [("Subtotal", "$30.50"), ("Tax", "$2.44")]
    return page(
        head + pairs(items, 185, 22) + pairs(totals, 283, 22)
        + [(40, 333, "TOTAL", 14, "hebo"), (312, 333, "$32.94", 14, "hebo")]
    )  # fmt: skip


def table_cells(
    rows: list[tuple[str, ...]], xs: tuple[int, ...], top: int, size: int
) -> list[tuple[int, int, str, int, str]]:
    """The text items of a table for :func:`page`: one row every 24 pt from ``top``, the header bold."""
    return [
        (x, top + r * 24, cell, size, "hebo" if r == 0 else "helv")
        for r, row in enumerate(rows)
        for x, cell in zip(xs, row, strict=True)
    ]


def invoice() -> bytes:
    table = [
        ("Item", "Qty", "Price", "Amount"),
        ("Paper", "10", "45.00", "450.00"),
        ("Toner", "3", "261.50", "784.50"),
    ]
    cells = table_cells(table, (40, 200, 260, 330), top=230, size=11)
    return page(
        [
            (40, 60, "NORTHWIND TRADERS", 22, "hebo"),
            (40, 82, "Invoice", 14, "helv"),
            (40, 120, "Invoice no. INV-2024-117", 11, "helv"),
            (40, 140, "Date: March 12, 2024", 11, "helv"),
            (40, 160, "Due date: April 11, 2024", 11, "helv"),
            (40, 180, "Bill to: Contoso Ltd", 11, "helv"),
            *cells,
            (40, 320, "Total due: $1,234.50", 13, "hebo"),
        ]
    )


def form() -> bytes:
    fields = ["Name: Maria Lopez", "Email: maria@example.org", "Member: yes", "Membership number: 88213"]
    return page(
        [(40, 60, "Library membership form", 18, "hebo")]
        + [(40, 110 + 25 * i, f, 12, "helv") for i, f in enumerate(fields)]
    )


def sign() -> bytes:
    return page(
        [(40, 120, "NO PARKING", 40, "hebo"), (90, 170, "Mon to Fri, 8 am to 6 pm", 14, "helv")],
        width=360,
        height=230,
    )


def rent_table() -> bytes:
    rows = [
        ("City", "2022", "2023", "2024"),
        ("Lyon", "820", "860", "905"),
        ("Nantes", "710", "745", "770"),
        ("Lille", "690", "700", "735"),
    ]
    cells = table_cells(rows, (40, 160, 230, 300), top=110, size=12)
    text = (40, 230, "Rents rose in every city. Lyon stayed the most expensive city.", 10, "helv")
    return page([(40, 60, "Average rent by city", 18, "hebo"), *cells, text])


def chart() -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.bar(["Spring", "Summer", "Autumn", "Winter"], [120, 45, 160, 210])
    ax.set_title("Rainfall by season", fontsize=16)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


DOCUMENTS = {
    "receipt": receipt,
    "invoice": invoice,
    "form": form,
    "sign": sign,
    "table": rent_table,
    "chart": chart,
}


@pytest.fixture(scope="module")
def images() -> dict[str, object]:
    return {
        name: load_image(
            f"data:image/png;base64,{base64.b64encode(draw()).decode()}", "high", "p", "gpt-4o", Settings()
        )
        for name, draw in DOCUMENTS.items()
    }


def ask(images: dict[str, object], name: str, question: str) -> list[str]:
    return compose((Message("user", (question, images[name])),)).splitlines()


@pytest.mark.parametrize(
    ("name", "question", "first_line"),
    [
        # title, heading, the name of the shop or company: the most prominent text
        ("receipt", "Which restaurant is this receipt from?", "BLUE HARBOR DINER"),
        ("invoice", "Which company issued this invoice?", "NORTHWIND TRADERS"),
        ("form", "What is the title of this form?", "Library membership form"),
        ("sign", "What is the heading of this sign?", "NO PARKING"),
        ("table", "What is the title of this page?", "Average rent by city"),
        ("chart", "What is the title of this chart?", "Rainfall by season"),
        # amounts, dates, times and numbers asked for by their label
        ("receipt", "What is the total?", "TOTAL: $32.94"),
        ("receipt", "How much was the tax?", "Tax: $2.44"),
        ("receipt", "What did the salad cost?", "Garden salad: $7.25"),
        ("receipt", "What date is on the receipt?", "Date: 2025-05-11"),
        ("receipt", "What time was it printed?", "Time: 19:07"),
        ("receipt", "What is the check number?", "Check no. 5531"),
        ("invoice", "What is the invoice number?", "Invoice no. INV-2024-117"),
        ("invoice", "What is the total due?", "Total due: $1,234.50"),
        ("invoice", "When is it due?", "Due date: April 11, 2024"),
        # labelled fields of a form
        ("invoice", "Who is the invoice billed to?", "Bill to: Contoso Ltd"),
        ("form", "What is the email address?", "Email: maria@example.org"),
        ("form", "What is the membership number?", "Membership number: 88213"),
        # a table cell by its row and column
        ("invoice", "What is the amount for toner?", "Toner, Amount: 784.50"),
        ("table", "What was the rent in Nantes in 2023?", "Nantes, 2023: 745"),
        # a sentence that answers it
        ("table", "Which city was the most expensive?", "Lyon stayed the most expensive city."),
        # nothing matches: said in one sentence
        ("receipt", "What is the capital of France?", "Nothing in the image's text answers that question."),
    ],
)
def test_a_direct_question_is_answered_in_the_first_line(
    images, name: str, question: str, first_line: str
) -> None:
    assert ask(images, name, question)[0] == first_line


def test_the_answer_says_where_it_came_from(images) -> None:
    assert ask(images, "receipt", "What is the total?") == [
        "TOTAL: $32.94",
        '(Read from the line "TOTAL $32.94".)',
    ]
    assert ask(images, "receipt", "What is the capital of France?") == [
        "Nothing in the image's text answers that question.",
        "Its most prominent lines are:",
        "BLUE HARBOR DINER",
        "TOTAL $32.94",
    ]


def test_several_values_in_one_question(images) -> None:
    assert ask(images, "receipt", "What did the fish and chips and the lemonade cost?") == [
        "Fish and chips: $14.50",
        "Lemonade: $3.00",
        '(Read from the lines "Fish and chips $14.50" and "Lemonade $3.00".)',
    ]


def test_read_gives_rows_in_order_and_tables_as_markdown(images) -> None:
    assert ask(images, "table", "Extract the table.") == [
        "Average rent by city",
        "| City | 2022 | 2023 | 2024 |",
        "|---|---|---|---|",
        "| Lyon | 820 | 860 | 905 |",
        "| Nantes | 710 | 745 | 770 |",
        "| Lille | 690 | 700 | 735 |",
        "Rents rose in every city. Lyon stayed the most expensive city.",
        "(The text of the image, 6 lines, in reading order.)",
    ]
    assert ask(images, "sign", "What does the sign say?") == [
        "NO PARKING",
        "Mon to Fri, 8 am to 6 pm",
        "(The text of the image, 2 lines, in reading order.)",
    ]


def test_describe_gives_size_colours_title_and_text(images) -> None:
    reply = ask(images, "sign", "Describe this image.")
    assert reply[0] == 'A PNG image of 750x480 pixels, mostly white (90%). Its title is "NO PARKING".'
    assert reply[1:] == ["Text found (2 lines):", "NO PARKING", "Mon to Fri, 8 am to 6 pm"]


def test_several_images_get_one_short_answer_each(images) -> None:
    reply = compose(
        (Message("user", ("What is the total?", images["receipt"], images["sign"], images["invoice"])),)
    )
    assert reply.splitlines() == [
        "Image 1: TOTAL: $32.94",
        "Image 2: Nothing in the image's text answers that question.",
        "Image 3: Total due: $1,234.50",
    ]
