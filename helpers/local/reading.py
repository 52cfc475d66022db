"""Reading a page's text rows the way a question needs them: its title, a labelled value, a table cell.

The rows come from OCR (:mod:`.ocr`) in reading order, each with its box and the size of its
largest glyphs. Everything here is plain rules on those rows, no model:

* the **title** is the most prominent text: the row with the largest glyphs among the rows of the
  top third of the page (ties go to the higher row);
* a **labelled value** is found on the row whose label shares the question's words (``TOTAL
  $21.50`` for "the total", ``Blueberry muffin $2.90`` for "the muffin"), and is the first value of
  the wanted kind (an amount, a date, a time, a number) after the label on that row;
* a **table** is a run of rows that each end in the same number (two or more) of numeric cells,
  under a header row naming those columns; a cell is found by its row label and column name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class Row(Protocol):
    """A row of text: what the OCR gives (:class:`.ocr.TextLine`)."""

    text: str
    box: tuple[int, int, int, int]
    size: float


_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
#: What each kind of value looks like in text.
VALUE_PATTERNS: dict[str, re.Pattern[str]] = {
    "amount": re.compile(
        r"(?<![\w.])(?:[$€£¥]\s?-?\d[\d,]*(?:\.\d{1,2})?|-?\d[\d,]*\.\d{2}(?:\s?(?:€|USD|EUR|GBP))?)(?![\w.])"
    ),
    "date": re.compile(
        rf"\b(?:\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}[/.]\d{{1,2}}[/.]\d{{2,4}}|\d{{1,2}}\s+{_MONTHS}\s+\d{{4}}"
        rf"|{_MONTHS}\s+\d{{1,2}},?\s*\d{{4}})\b",
        re.I,
    ),
    "time": re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s?[ap]\.?m\.?)?(?!\d)", re.I),
    "number": re.compile(
        r"(?<![\w.$€£¥-])(?:[A-Z]{1,6}-)?\d[\d,./-]*\d(?!\w)|(?<![\w.$€£¥-])\d(?![\w.,:/-])"
    ),
}
#: Words that name the kind of value a question asks for.
KIND_WORDS: dict[str, tuple[str, ...]] = {
    "amount": (
        "cost", "costs", "price", "prices", "total", "amount", "pay", "paid", "spend", "spent",
        "charge", "charged", "much", "subtotal", "tax", "tip", "due", "balance", "fee", "sum", "owe",
    ),
    "date": ("date", "day", "when", "dated", "issued"),
    "time": ("time", "hour", "clock"),
    "number": ("number", "no", "nr", "num", "id", "code", "reference", "ref", "many", "count", "quantity"),
}  # fmt: skip
#: Kind words that are also labels printed on documents ("TOTAL", "Date:", "Invoice no.").
LABEL_KIND_WORDS = frozenset(
    {"total", "subtotal", "tax", "tip", "due", "balance", "fee", "date", "time", "number", "no", "id", "code"}
)
#: How a label word may be printed: "number" as "no." or "#".
LABEL_SPELLINGS: dict[str, tuple[str, ...]] = {"number": ("no", "nr", "num", "#"), "no": ("number", "#")}
_WORD = re.compile(r"[^\W_]+|#", re.U)


@dataclass(frozen=True)
class Found:
    """A value found for a question: the value, and the row it was read from."""

    value: str
    row: str


def words(text: str) -> list[str]:
    """Lower-case words (letters or digits) of ``text``, in order."""
    return [w.lower() for w in _WORD.findall(text)]


def value_kind(question_words: Sequence[str]) -> str | None:
    """The kind of value a question asks for (amount, date, time, number), or None."""
    joined = " ".join(question_words)
    if re.search(r"\bwhat time\b|\bat what time\b", joined):
        return "time"
    if "when" in question_words or "date" in question_words:  # "when is it due?" asks for a date
        return "date"
    for kind, names in KIND_WORDS.items():
        if any(w in names for w in question_words):
            return kind
    return None


def title(rows: Sequence[Row]) -> Row | None:
    """The most prominent row: the largest glyphs among the rows in the top third of the text."""
    upright = [r for r in rows if r.box[2] - r.box[0] >= r.box[3] - r.box[1] and words(r.text)]
    if not upright:
        return None
    top = min(r.box[1] for r in upright)
    bottom = max(r.box[3] for r in upright)
    third = top + (bottom - top) / 3
    candidates = [r for r in upright if r.box[1] <= third and any(c.isalpha() for c in r.text)] or upright
    return max(candidates, key=lambda r: (round(r.size, 1), -r.box[1]))


def prominent(rows: Sequence[Row], count: int = 3) -> list[Row]:
    """Up to ``count`` rows set clearly larger than the body text (glyphs 15% above the median), the
    largest first, shown in reading order; the first rows when none stands out."""
    worded = [r for r in rows if any(c.isalpha() for c in r.text)]
    if not worded:
        return list(rows[:count])
    sizes = sorted(r.size for r in worded)
    median = sizes[len(sizes) // 2]
    large = sorted((r for r in worded if r.size >= 1.15 * median), key=lambda r: (-r.size, r.box[1]))[:count]
    chosen = {id(r) for r in large} or {id(r) for r in worded[:count]}
    return [r for r in rows if id(r) in chosen]


def _matches(label: str, token: str) -> bool:
    """A question word and a printed word name the same thing: equal, a known spelling ("number" as
    "no."), or one is the other with a short ending (muffin/muffins, tax/taxes, date/dated)."""
    if token == label or token in LABEL_SPELLINGS.get(label, ()):
        return True
    short, long = sorted((label, token), key=len)
    return len(short) >= 4 and long.startswith(short) and len(long) - len(short) <= 2


def label_positions(text: str, labels: Sequence[str]) -> dict[str, int]:
    """Where each of ``labels`` appears among the words of ``text`` (character offsets of their ends)."""
    found: dict[str, int] = {}
    for match in _WORD.finditer(text):
        token = match.group().lower()
        for label in labels:
            if label not in found and _matches(label, token):
                found[label] = match.end()
    return found


def label_before(text: str, value: str) -> str:
    """The words just before ``value`` in ``text``, back to the previous value: its label ("Time:" in
    "Date: 2024-03-14 Time: 12:41")."""
    end = text.find(value)
    if end < 0:
        return ""
    start = 0
    for pattern in VALUE_PATTERNS.values():
        for match in pattern.finditer(text, 0, end):
            start = max(start, match.end())
    return text[start:end].strip()


def value_in(text: str, kind: str | None, after: int = 0) -> str | None:
    """The first value of ``kind`` in ``text`` at or after offset ``after`` (the rest of the row when
    ``kind`` is None), or None."""
    if kind is None:
        rest = text[after:].strip(" :-–—\t")
        return rest or None
    for match in VALUE_PATTERNS[kind].finditer(text, after):
        return match.group().strip()
    return None


def labelled_values(rows: Sequence[Row], labels: Sequence[str], kind: str | None) -> list[Found]:
    """The values that ``labels`` point at: one row when a row carries all of them, else one row per
    label (the question named several things: "the cappuccino and the muffin")."""
    scored = []
    for index, row in enumerate(rows):
        positions = label_positions(row.text, labels)
        if not positions:
            continue
        after = max(positions.values())
        if kind is None:  # with no kind of value asked for, only a "Label: value" row answers
            colon = re.match(r"(?:\s*\w+\.?){0,2}\s*:", row.text[after:])  # "Bill to:", "Name:"
            if colon is None:
                continue
            after += colon.end()
        value = value_in(row.text, kind, after)
        if value is None and kind is not None:
            value = value_in(row.text, kind)
        if value is not None:
            scored.append((len(positions), index, row, value, positions))
    if not scored:
        return []
    best = max(scored, key=lambda s: (s[0], -s[1]))
    if best[0] == len(labels) or len(labels) == 1:
        return [Found(best[3], best[2].text)]
    found: list[Found] = []
    covered: set[str] = set()
    for _, _, row, value, positions in sorted(scored, key=lambda s: (-s[0], s[1])):
        new = set(positions) - covered
        if new and not any(f.row == row.text for f in found):
            found.append(Found(value, row.text))
            covered |= new
    order = {row.text: i for i, row in enumerate(rows)}
    return sorted(found, key=lambda f: order[f.row])


# --- tables --------------------------------------------------------------------------------------

_CELL = re.compile(r"^[-+]?[$€£¥]?\d[\d,.]*%?$")


@dataclass(frozen=True)
class Table:
    """Rows that line up in columns: a header (column names, the first one naming the row labels)
    and body rows (a label, then one cell per column)."""

    header: tuple[str, ...]
    body: tuple[tuple[str, ...], ...]

    def markdown(self) -> str:
        """The table as Markdown."""
        lines = ["| " + " | ".join(self.header) + " |", "|" + "---|" * len(self.header)]
        lines += ["| " + " | ".join(row) + " |" for row in self.body]
        return "\n".join(lines)


def _split_cells(text: str) -> tuple[str, list[str]]:
    """A row's label (leading words) and its trailing numeric cells."""
    tokens = text.split()
    cells: list[str] = []
    while tokens and _CELL.match(tokens[-1]):
        cells.insert(0, tokens.pop())
    return " ".join(tokens), cells


def tables(rows: Sequence[Row]) -> list[tuple[int, int, Table]]:
    """Each table as (index of its first row, index after its last row, the table)."""
    found = []
    i = 0
    while i < len(rows):
        width = len(_split_cells(rows[i].text)[1])
        j = i
        while j < len(rows) and width >= 2 and len(_split_cells(rows[j].text)[1]) == width:
            j += 1
        if j - i >= 3 and _years(rows[i].text) and not _years(rows[i + 1].text):
            i += 1  # a header of years ("City 2022 2023 2024") over the body's numbers
            continue
        if j - i >= 2:
            above = rows[i - 1].text if i > 0 else ""
            header = above.split()
            names_only = bool(header) and (not _split_cells(above)[1] or _years(above))
            if len(header) == width + 1 and names_only:
                start, names = i - 1, tuple(header)
            elif len(header) == width and names_only:
                start, names = i - 1, ("", *header)
            else:
                start, names = i, ("", *(f"Column {n}" for n in range(1, width + 1)))
            body = tuple((lab, *cells) for lab, cells in (_split_cells(r.text) for r in rows[i:j]))
            found.append((start, j, Table(names, body)))
            i = j
        else:
            i += 1
    return found


def _years(text: str) -> bool:
    cells = _split_cells(text)[1]
    return bool(cells) and all(re.fullmatch(r"(?:19|20)\d\d", cell) for cell in cells)


def table_cell(rows: Sequence[Row], question_words: Sequence[str]) -> Found | None:
    """The cell of a table whose row label and column name both appear in the question."""
    for _, _, table in tables(rows):
        columns = [c for c, name in enumerate(table.header) if c and name and _named(name, question_words)]
        matching = [row for row in table.body if _named(row[0], question_words)]
        if len(columns) == 1 and len(matching) == 1:
            row = matching[0]
            return Found(row[columns[0]], f"{row[0]}, {table.header[columns[0]]}")
    return None


def _named(name: str, question_words: Sequence[str]) -> bool:
    wanted = words(name)
    return bool(wanted) and all(any(_matches(w, q) or _matches(q, w) for q in question_words) for w in wanted)


# --- labelled pairs, items, dates and numbers (structured outputs) -------------------------------

#: Other spellings of a word in labels and column names ("Qty" for quantity).
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "quantity": ("qty", "pcs", "units"), "amount": ("amt",), "description": ("desc",),
    "number": ("no", "nr", "num", "#"), "telephone": ("tel", "phone"), "phone": ("tel", "telephone"),
}  # fmt: skip
#: Words of a receipt row that is not an item: totals, taxes, payment; the first four end the items.
NOT_ITEMS = ("total", "subtotal", "balance", "due", "sub", "tax", "vat", "gst", "tip", "paid", "change", "cash", "card")  # fmt: skip
#: Header words that belong to the next word of a column name ("Unit price", "Line total").
_MODIFIERS = frozenset({"unit", "line", "net", "gross", "item", "list", "sale", "per", "total", "tax"})
_COLON = re.compile(r"(?<=[^\W_]|[.#)])\s?:(?=\s|$)")
_QUANTITY = re.compile(r"^(\d{1,4})\s?[x×]\s+|\s+[x×]\s?(\d{1,4})$", re.I)


def same_word(a: str, b: str) -> bool:
    """Two lower-case words name the same thing (see ``_matches``), abbreviations included."""
    return _matches(a, b) or _matches(b, a) or b in ABBREVIATIONS.get(a, ()) or a in ABBREVIATIONS.get(b, ())


def name_words(name: str) -> list[str]:
    """The words of a field name: ``total_amount`` -> total, amount; ``invoiceNumber`` -> invoice, number."""
    return words(re.sub(r"(?<=[a-z0-9])(?=[A-Z])|[_\-]", " ", name))


def _value_spans(text: str) -> list[tuple[int, int]]:
    """Where the values (amounts, dates, times, numbers) of ``text`` are: the longest at each place."""
    found = sorted(
        (m.span() for p in VALUE_PATTERNS.values() for m in p.finditer(text)), key=lambda s: (s[0], -s[1])
    )
    spans: list[tuple[int, int]] = []
    for start, end in found:
        if not spans or start >= spans[-1][1]:
            spans.append((start, end))
    return spans


def pairs(text: str) -> list[tuple[str, str]]:
    """The (label, value) pairs of a row ("" for no label): ``Date: 2024-03-14 Time: 12:41``, ``Receipt no.
    10482 Table 7``, ``Bill to: Contoso``. A colon's value is the value after it, else its text up to the
    next colon's one-word label; without a colon, a label is the words before a value."""
    spans = _value_spans(text)
    colons = [m for m in _COLON.finditer(text) if not any(s <= m.start() < e for s, e in spans)]
    starts = []
    for i, colon in enumerate(colons):
        floor = colons[i - 1].end() if i else 0
        before = [e for s, e in spans if s >= floor and e <= colon.start()]
        starts.append(
            before[-1] if before else max(floor, text.rfind(" ", floor, colon.start()) + 1) if i else 0
        )
    out: list[tuple[str, str]] = []
    cursor = 0
    for i, colon in enumerate(colons):
        out += _plain(text, cursor, starts[i], spans)
        end = starts[i + 1] if i + 1 < len(colons) else len(text)
        after = len(text) - len(text[colon.end() :].lstrip())
        first = next((e for s, e in spans if s == after), None)
        out.append((text[starts[i] : colon.start()], text[after : first or end]))
        cursor = first or end
    out += _plain(text, cursor, len(text), spans)
    return [(label.strip(" \t-–—:|"), value.strip()) for label, value in out if value.strip()]


def _plain(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> list[tuple[str, str]]:
    """The pairs of ``text[start:end]``, where no colon is: each value with the words before it."""
    out = []
    for s, e in spans:
        if s >= start and e <= end:
            out.append((text[start:s], text[s:e]))
            start = e
    return out


def item_rows(rows: Sequence[Row]) -> list[tuple[str, str, int | None]]:
    """A receipt's items as (label, amount, quantity or None): rows of a label and one amount at the
    end ("2 x Tea $5.00" has quantity 2), up to the total; totals, taxes and payment are not items."""
    items: list[tuple[str, str, int | None]] = []
    for row in rows:
        match = re.fullmatch(rf"(.*?[^\W\d_].*?)\s+({VALUE_PATTERNS['amount'].pattern})", row.text.strip())
        quantity = _QUANTITY.search(match[1]) if match else None
        label = _QUANTITY.sub("", match[1]).strip() if match else ""
        if match is None or _value_spans(label):
            continue
        if set(words(label)) & set(NOT_ITEMS):
            if items and set(words(label)) & set(NOT_ITEMS[:4]):
                break
            continue
        items.append((label, match[2], int(quantity[1] or quantity[2]) if quantity else None))
    return items


def table_columns(rows: Sequence[Row], start: int, table: Table) -> tuple[str, ...]:
    """A table's column names, from the header row above it when :func:`tables` could not split it:
    a modifier word joins the next ("Unit price"), other extra words join the first column."""
    if not table.header[1].startswith("Column ") or start == 0 or _split_cells(rows[start - 1].text)[1]:
        return table.header
    groups = [[w] for w in rows[start - 1].text.split()]
    i = 0
    while len(groups) > len(table.header) and i < len(groups) - 1:
        if len(groups[i]) == 1 and groups[i][0].lower() in _MODIFIERS:
            groups[i : i + 2] = [groups[i] + groups[i + 1]]
        i += 1
    while len(groups) > len(table.header):
        groups[0:2] = [groups[0] + groups[1]]
    return tuple(" ".join(g) for g in groups) if len(groups) == len(table.header) else table.header
