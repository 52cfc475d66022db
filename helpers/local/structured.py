"""Structured outputs of the local model: JSON that validates against the requested schema, from perception.

``response_format`` (Chat Completions) and ``text.format`` (Responses) of type ``json_schema`` or
``json_object`` become a :class:`Format` when the request is parsed, so an invalid schema, or one
the local model cannot fill, is a 400 before any work. The reply is filled from the OCR rows of the
images of the last user message that has any, else from the user's "Label: value" lines:

* an object's properties in the schema's order, each from the labelled value (:func:`.reading.pairs`)
  whose label shares the most words with the property's name (``total_amount`` -> total, amount;
  ``invoiceNumber`` -> invoice, number), else with its description; a number from a value that is a
  number; a date as YYYY-MM-DD when the printed date is unambiguous; a name-like string (shop,
  vendor, company, title, name ...) with no label of its own is the most prominent text;
* an array of objects from a table, columns mapped to properties by name, or from a receipt's item
  rows (the label to the name-like string property, the amount to the price-like number property);
* enums by the closest option, booleans from yes/no/true/false, ``$ref``/``$defs`` resolved,
  ``anyOf`` with null (Optional); a required property found nowhere is null where the schema allows
  it, else its type's empty value (0, "", [], false); ``minimum``/``maximum`` clamp a number;
* ``json_object``: the labelled values as printed, ``{label: value}``.
"""

from __future__ import annotations

import datetime
import difflib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from . import reading
from .documents import Document
from .engines import Missing
from .errors import ApiError
from .features import Format, kind_of, resolve, types_of
from .media import Image
from .ocr import ocr

#: Field names that mean the document's own name: with no label of their own, the most prominent text.
NAMES = frozenset({"shop", "store", "merchant", "vendor", "seller", "supplier", "company", "business"})
NAMES |= {"restaurant", "cafe", "brand", "title", "name"}
_STOP = frozenset({"the", "a", "an", "of", "is", "has", "in"})
_ITEM_NAMES = frozenset({"name", "description", "item", "product", "title", "label", "text", "article"})
_PRICES = frozenset({"price", "amount", "cost", "total", "value", "sum", "subtotal", "paid"})
_COUNTS = frozenset({"quantity", "qty", "count", "units", "number"})
_TRUTH = {"yes": True, "y": True, "true": True, "x": True, "✓": True, "✔": True, "checked": True, "on": True}
_TRUTH |= {"no": False, "n": False, "false": False, "unchecked": False, "off": False, "none": False}
_NUMBER = re.compile(r"\s*[-+]?\s*[$€£¥]?\s*-?\d[\d,.]*\s*(?:[$€£¥%]|USD|EUR|GBP)?\s*", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_MONTH = {m: n for n, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}  # fmt: skip


# --- perception ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    """A "Label: value" line of the user's text, as a row."""

    text: str
    box: tuple[int, int, int, int] = (0, 0, 1, 1)
    size: float = 0.0


@dataclass
class Seen:
    """What the local model perceives: the rows, the title, labelled values, receipt items and tables."""

    rows: list[Any] = field(default_factory=list)
    title: str | None = None
    pairs: list[tuple[str, str, list[str]]] = field(default_factory=list)  # label, value, label's words
    items: list[tuple[str, str, int | None]] = field(default_factory=list)
    tables: list[tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]] = field(default_factory=list)

    @classmethod
    def of(cls, rows: list[Any], title: str | None) -> Seen:
        found = reading.tables(rows)
        inside = {i for start, end, _ in found for i in range(start, end)}  # table rows are not labelled
        pairs = [
            (label, value, reading.words(label))
            for i, row in enumerate(rows)
            if i not in inside
            for label, value in reading.pairs(row.text)
        ]
        tables = [(reading.table_columns(rows, start, t), t.body) for start, _, t in found]
        return cls(rows, title, pairs, reading.item_rows(rows), tables)

    def labelled(self) -> dict[str, str]:
        """The labelled values, ``{label: value}`` (the first of a repeated label)."""
        out: dict[str, str] = {}
        for label, value, _ in self.pairs:
            if label:
                out.setdefault(label, value)
        return out


def _pages(part: Image | Document) -> list[list[Any]]:
    """The text rows of an image (OCR), or of each page of a PDF (its text layer; OCR when scanned)."""
    if isinstance(part, Image):
        return [ocr(part.data)]
    return [list(page.rows) if page.scan is None else ocr(page.scan) for page in part.pages]


def perceive(messages: Any) -> Seen:
    """The rows of the images and PDFs of the last user message that has any, titled by the first
    image or page that has a title; else the user's "Label: value" lines."""
    users = [m for m in messages if m.role == "user"]
    for message in reversed(users):
        parts = [p for p in message.parts if isinstance(p, (Image, Document))]
        if parts:
            try:
                pages = [rows for part in parts for rows in _pages(part)]
            except Missing as exc:
                raise ApiError(500, "server_error", str(exc), type="server_error") from None
            titles = [top.text for rows in pages if (top := reading.title(rows)) is not None]
            return Seen.of([row for rows in pages for row in rows], titles[0] if titles else None)
    lines = users[-1].text.splitlines() if users else []
    return Seen.of([_Line(s.strip()) for s in lines if any(label for label, _ in reading.pairs(s))], None)


def reply(fmt: Format, messages: Any) -> str:
    """The JSON text of the reply: compact, keys in the schema's order, the same for the same input."""
    seen = perceive(messages)
    value = seen.labelled() if fmt.kind == "json_object" else _Filler(fmt.schema, seen).fill(fmt.schema)[0]
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- filling a schema -----------------------------------------------------------------------------


def _closest(options: list[Any], text: str) -> Any:
    """The enum option most like ``text``: the same, a word of it, else by string similarity."""
    low, said = text.lower().strip(), set(reading.words(text))
    names = {str(o).lower(): difflib.SequenceMatcher(None, low, str(o).lower()).ratio() for o in options}
    return max(options, key=lambda o: (str(o).lower() == low, str(o).lower() in said, names[str(o).lower()]))


def number_of(text: str) -> float | None:
    """The number a value means: ``$1,234.50`` -> 1234.5, ``1.234,50 €`` -> 1234.5, ``-3`` -> -3.0."""
    match = re.search(r"(?<![\w-])-?\d[\d,.]*", text)
    digits = match.group().rstrip(".,") if match else ""
    if re.fullmatch(r"-?\d{1,3}(?:\.\d{3})+,\d{1,2}|-?\d+,\d{2}", digits):  # 1.234,50 and 3,80
        digits = digits.replace(".", "").replace(",", ".")
    try:
        return float(digits.replace(",", ""))
    except ValueError:
        return None


def iso_date(text: str) -> str | None:
    """A printed date as YYYY-MM-DD, or None when it cannot be told for sure (``12/03/2024`` may be
    March 12 or December 3; ``13/03/2024`` is March 13)."""
    low = text.lower()
    if m := re.search(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b", low):
        year, month, day = (int(g) for g in m.groups())
    elif m := re.search(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b", low):
        first, second, year = (int(g) for g in m.groups())
        if first != second and first <= 12 and second <= 12:
            return None
        day, month = (first, second) if first > 12 or first == second else (second, first)
    elif m := re.search(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]{3})[a-z]*\.?,?\s+(\d{4})\b", low):
        day, month, year = int(m[1]), _MONTH.get(m[2], 0), int(m[3])
    elif m := re.search(r"\b([a-z]{3})[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:,\s*|\s+)(\d{4})\b", low):
        month, day, year = _MONTH.get(m[1], 0), int(m[2]), int(m[3])
    else:
        return None
    try:
        return datetime.date(year, month, day).isoformat()
    except ValueError:
        return None


class _Filler:
    """Fills a schema from what was seen (the rules are in the module docstring)."""

    def __init__(self, root: dict[str, Any], seen: Seen) -> None:
        self.root, self.seen = root, seen

    def best(self, wanted: list[str], accept: Any, skip: set[int] = frozenset()) -> tuple[int, str] | None:  # type: ignore[assignment]
        """(index, value) of the labelled value whose label shares most words with ``wanted``."""
        best = None
        for index, (_, value, label) in enumerate(self.seen.pairs):
            hits = sum(1 for w in wanted if any(reading.same_word(w, x) for x in label))
            if hits and index not in skip and accept(value):
                share = sum(1 for x in label if any(reading.same_word(w, x) for w in wanted)) / len(label)
                if best is None or (hits, share) > best[0]:
                    best = ((hits, share), index, value)
        return (best[1], best[2]) if best else None

    def fill(
        self,
        node: dict[str, Any],
        own: list[str] = (),
        about: list[str] = (),
        parent: list[str] = (),  # type: ignore[assignment]
    ) -> tuple[Any, bool]:
        """(value, found): ``own`` are the words of the property's name, ``about`` of its description."""
        node = resolve(self.root, node)
        if "const" in node:
            return node["const"], True
        branches = [resolve(self.root, b) for b in node.get("anyOf", [])]
        if branches:
            others = [b for b in branches if types_of(b) != ["null"]]
            for branch in others:
                value, found = self.fill(branch, own, about, parent)
                if found:
                    return value, True
            return (
                (None, False)
                if len(others) < len(branches) or not others
                else self.fill(others[0], own, about)
            )
        kind, nullable = (
            kind_of(self.root, node),
            "null" in types_of(node) and None in node.get("enum", [None]),
        )
        if types_of(node) == ["null"]:
            return None, True
        if kind == "object" and "enum" not in node:
            value, found = self.record(node, own)
        elif kind == "array" and "enum" not in node:
            value, found = self.array(node, own, about)
        else:
            value, found = self.scalar(node, kind, own, about, parent)
        return (None, False) if not found and nullable else (value, found)

    def record(
        self, node: dict[str, Any], parent: list[str], cells: dict[str, str] | None = None
    ) -> tuple[dict[str, Any], bool]:
        """An object: each property from ``cells`` (a table row or item) when given, else by its label."""
        properties = node.get("properties")
        if properties is None and node.get("additionalProperties", True) in (True, {}) and cells is None:
            return self.seen.labelled(), bool(self.seen.labelled())  # an open object: every labelled value
        out: dict[str, Any] = {}
        found_any = False
        used: set[int] = set()
        more = node.get("additionalProperties") if isinstance(node.get("additionalProperties"), dict) else {}
        extra = {k: more for k in node.get("required", []) if k not in (properties or {})}
        for key, sub in {**(properties or {}), **extra}.items():
            own = [w for w in reading.name_words(key) if w not in _STOP]
            about = [
                w for w in reading.words(resolve(self.root, sub).get("description", "")) if w not in _STOP
            ]
            if cells is not None:
                value, found = self.coerce(sub, cells[key], "date" in own) if key in cells else (None, False)
                value = value if found else _Filler(self.root, Seen()).fill(sub)[0]
            elif (
                parent
                and (hit := self.best([*parent, *own], lambda v, s=sub: self.coerce(s, v)[1], used))
                and (
                    NAMES & set(own)
                    or any(reading.same_word(w, x) for w in own for x in self.seen.pairs[hit[0]][2])
                )
            ):  # "Bill to: Contoso" fills bill_to.name, and bill_to.address only from a label saying so
                used.add(hit[0])
                value, found = self.coerce(sub, hit[1], "date" in own)
            else:
                value, found = self.fill(sub, own, about, parent)
            if found or key in node.get("required", []):
                out[key] = value
            found_any = found_any or found
        return out, found_any

    def coerce(self, node: dict[str, Any], text: str, dated: bool = False) -> tuple[Any, bool]:
        """``text`` as a value of the schema's type, and whether it is one."""
        node = resolve(self.root, node)
        for branch in node.get("anyOf", []):
            if (
                types_of(resolve(self.root, branch)) != ["null"]
                and (value := self.coerce(branch, text, dated))[1]
            ):
                return value
        if "enum" in node:
            return _closest(node["enum"], text), True
        kind = kind_of(self.root, node)
        if kind in ("number", "integer"):
            number = number_of(text) if _NUMBER.fullmatch(text) else None
            if number is None or (kind == "integer" and not number.is_integer()):
                return None, False
            return _bounded(node, int(number) if kind == "integer" else number, kind == "integer"), True
        if kind == "boolean":
            truth = _TRUTH.get((reading.words(text) or [text.strip()])[0])
            return truth, truth is not None
        if kind in ("object", "array", "null"):
            return None, kind == "null"
        if dated or node.get("format") == "date":
            text = iso_date(text) or text
        return text[: node.get("maxLength", len(text))], True

    def scalar(
        self, node: dict[str, Any], kind: str | None, own: list[str], about: list[str], parent: list[str]
    ) -> tuple[Any, bool]:
        """A string, number, boolean or enum: from its labelled value, else what its name says to look for."""
        dated = node.get("format") == "date" or "date" in own
        emailed = node.get("format") == "email" or "email" in own
        tests = [lambda v: iso_date(v) or reading.VALUE_PATTERNS["date"].search(v)] if dated else []
        tests += [lambda v: "@" in v] if emailed else []
        for test in [*tests, lambda v: True]:
            for wanted in (own, about):
                hit = self.best(wanted, lambda v, test=test: test(v) and self.coerce(node, v, dated)[1])
                if hit:
                    return self.coerce(node, hit[1], dated)
        texts = [row.text for row in self.seen.rows]
        if "enum" in node:  # an option printed anywhere, else the first
            said = [set(reading.words(t)) for t in texts]
            option = next((o for words in said for o in node["enum"] if str(o).lower() in words), None)
            return (option, True) if option is not None else (node["enum"][0], False)
        pattern = reading.VALUE_PATTERNS["date"] if dated else _EMAIL if emailed else None
        first = next((m.group() for t in texts if (m := pattern.search(t))), None) if pattern else None
        if first is None and NAMES & {*own, *about} and (not parent or NAMES & set(parent)):
            first = self.seen.title  # the shop, vendor, title ...: the most prominent text
        if kind == "string" and first is not None:
            return self.coerce(node, first, dated)
        empty = {"string": "", "number": 0.0, "integer": 0, "boolean": False}.get(kind or "")
        return (_bounded(node, empty, kind == "integer") if kind in ("number", "integer") else empty), False

    def array(self, node: dict[str, Any], own: list[str], about: list[str]) -> tuple[list[Any], bool]:
        """An array: objects from a table or the receipt's items, other values from a labelled list."""
        item = node.get("items") if isinstance(node.get("items"), dict) else {}
        values: list[Any] = []
        if kind_of(self.root, item) == "object":
            values = self.records(resolve(self.root, item))
        else:
            hit = self.best(own, lambda v: True) or (self.best(about, lambda v: True) if about else None)
            for part in re.split(r"\s*[,;]\s*", hit[1]) if hit else []:
                value, found = self.coerce(item, part)
                values += [value] if found else []
        found = bool(values)
        if node.get("uniqueItems"):
            values = [v for i, v in enumerate(values) if v not in values[:i]]
        values = values[: node.get("maxItems", len(values))]
        values += [_Filler(self.root, Seen()).fill(item)[0]] * max(0, node.get("minItems", 0) - len(values))
        return values, found

    def records(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        """Objects from the table whose columns match most properties, else from the receipt's items."""
        properties = item.get("properties", {})
        best: tuple[int, dict[str, int], tuple[tuple[str, ...], ...]] | None = None
        for names, body in self.seen.tables:
            columns = self.columns(properties, names)
            score = sum(1 for c in columns.values() if c > 0)
            if best is None or score > best[0]:
                best = (score, columns, body)
        if best is not None and (best[0] > 0 or not self.seen.items):
            return [self.record(item, [], {k: row[c] for k, c in best[1].items()})[0] for row in best[2]]
        out = []
        for label, amount, count in self.seen.items:
            cells = {}
            strings = [k for k, s in properties.items() if kind_of(self.root, s) == "string"]
            numbers = [k for k, s in properties.items() if kind_of(self.root, s) in ("number", "integer")]
            named = [k for k in strings if _ITEM_NAMES & set(reading.name_words(k))] or strings
            cells.update({named[0]: label} if named else {})
            for key in numbers:
                said = set(reading.name_words(key))
                if said & _COUNTS:
                    cells[key] = str(count or 1)
                elif said & _PRICES or len(numbers) == 1:
                    price = number_of(amount) or 0.0
                    cells[key] = f"{price / count:.2f}" if count and said & {"unit", "each"} else amount
            out.append(self.record(item, [], cells)[0])
        return out

    def columns(self, properties: dict[str, Any], names: tuple[str, ...]) -> dict[str, int]:
        """Which column (0 is the row labels) fills each property: by name; else the labels go to the
        first string property and the last numeric column to a lone number property."""
        columns: dict[str, int] = {}
        for key in properties:
            own = reading.name_words(key)
            hits = [
                (sum(any(reading.same_word(w, x) for x in reading.words(n)) for w in own), -c)
                for c, n in enumerate(names)
            ]
            score, column = max(hits)
            if score:
                columns[key] = -column
        kinds = {k: kind_of(self.root, s) for k, s in properties.items()}
        loose = [k for k in properties if k not in columns]
        strings = [k for k in loose if kinds[k] == "string"]
        if 0 not in columns.values() and strings:
            columns[strings[0]] = 0
        numbers = [k for k in loose if kinds[k] in ("number", "integer")]
        if len(numbers) == 1 and len(names) - 1 not in columns.values():
            columns[numbers[0]] = len(names) - 1
        return columns


def _bounded(node: dict[str, Any], number: float, integer: bool) -> float:
    """``number`` moved into the schema's ``minimum``/``maximum`` (exclusive bounds by one unit)."""
    step = 1 if integer else 0.01
    low = max(node.get("minimum", -math.inf), node.get("exclusiveMinimum", -math.inf) + step)
    return min(max(number, low), node.get("maximum", math.inf), node.get("exclusiveMaximum", math.inf) - step)
