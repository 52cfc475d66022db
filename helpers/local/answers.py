"""Answers about one image from its text rows: the answer first, then briefly where it came from.

By intent (:mod:`.intents`), in this order:

* describe ("describe", "what is in this image") -> size, colours, title and the text it holds;
* read, extract, transcribe -> every row in reading order, tables as Markdown;
* title, heading, name of the shop or company -> the most prominent text;
* what a document is about -> its title and its first sentence;
* a table cell named by its row and column ("North in Q3") -> that cell;
* a value asked for by its label ("the total", "what did the muffin cost", "what date") -> the
  value on the row whose label matches;
* otherwise the sentences or lines that share most of the question's words;
* when nothing matches, one sentence saying so and the most prominent lines.

:class:`Reply` keeps the answer apart from its source, so that several images get one short answer
each.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from . import reading
from .intents import Intent, question_words
from .reading import Row

MAX_LINES = 60
MAX_RELEVANT = 3
PARAGRAPH_LINE = 40
#: Question words that say what kind of value is wanted, not which one.
_NOT_LABELS = frozenset(
    {w for names in reading.KIND_WORDS.values() for w in names} - reading.LABEL_KIND_WORDS
) | {"receipt", "invoice", "bill", "chart", "table", "report", "form", "sign", "graph", "figure", "write"}


@dataclass(frozen=True)
class Reply:
    """An answer (its first line is the direct answer) and, apart, where it came from."""

    answer: str
    source: str = ""

    def full(self) -> str:
        """The answer followed by its source."""
        return f"{self.answer}\n{self.source}" if self.source else self.answer


def answer_image(rows: Sequence[Row], description: str, instruction: str, intent: Intent) -> Reply:
    """The reply to ``instruction`` about an image whose OCR rows are ``rows``."""
    lines = [row.text for row in rows]
    if not lines:
        return Reply(description, "No text was found in it.")
    if intent.describe:
        return _describe(rows, description)
    if intent.read_all or intent.transcribe or not question_words(instruction):
        return Reply(_all_text(rows), f"(The text of the image, {_n(len(lines), 'line')}, in reading order.)")
    if intent.title:
        top = reading.title(rows)
        if top is not None:
            return Reply(top.text, "(The most prominent text, at the top of the image.)")
    if intent.about:
        return _about(rows)
    return _question(rows, instruction) or _nothing(rows)


def _describe(rows: Sequence[Row], description: str) -> Reply:
    top = reading.title(rows)
    head = f'{description} Its title is "{top.text}".' if top is not None else description
    return Reply(head, f"Text found ({_n(len(rows), 'line')}):\n{_all_text(rows)}")


def _about(rows: Sequence[Row]) -> Reply:
    top = reading.title(rows)
    sentences = [p for p in passages([r.text for r in rows]) if len(p) >= PARAGRAPH_LINE]
    first = sentences[0] if sentences else None
    if top is None and first is None:
        return _nothing(rows)
    answer = " ".join(part for part in (f"{top.text}:" if top else "", first or "") if part)
    return Reply(answer, "(Its title and its first sentence.)")


def _question(rows: Sequence[Row], instruction: str) -> Reply | None:
    asked = question_words(instruction)
    kind = reading.value_kind(reading.words(instruction))
    cell = reading.table_cell(rows, asked)
    if cell is not None:
        return Reply(f"{cell.row}: {cell.value}", "(Read from the table, by its row and column.)")
    labels = [w for w in asked if w not in _NOT_LABELS]
    if kind is not None or labels:
        found = reading.labelled_values(rows, labels, kind) if labels else []
        if not found and kind in ("date", "time"):  # "when?": the first date or time on the page
            found = [
                reading.Found(value, row.text)
                for row in rows
                if (value := reading.value_in(row.text, kind)) is not None
            ][:1]
        if found:
            answer = "\n".join(_labelled(f) for f in found)
            quoted = " and ".join(f'"{f.row}"' for f in found)
            return Reply(answer, f"(Read from the line{'s' if len(found) > 1 else ''} {quoted}.)")
    units = passages([row.text for row in rows])
    best = rank_lines(units, asked, need=max(1, math.ceil(len(asked) / 2)))
    if best:
        which = (
            "passage of the text that matches"
            if len(best) == 1
            else f"{len(best)} passages of the text that match"
        )
        return Reply("\n".join(best), f"(The {which} the question best.)")
    return None


def _labelled(found: reading.Found) -> str:
    """``TOTAL: $21.50``: the row's label and the value, or the value alone when no label precedes it."""
    label = reading.label_before(found.row, found.value)
    if not label:
        return found.value
    return f"{label} {found.value}" if label.endswith((":", ".", "#")) else f"{label}: {found.value}"


def _nothing(rows: Sequence[Row]) -> Reply:
    shown = [row.text for row in reading.prominent(rows)]
    return Reply(
        "Nothing in the image's text answers that question.",
        "Its most prominent lines are:\n" + "\n".join(shown),
    )


def _all_text(rows: Sequence[Row]) -> str:
    """Every row in reading order, with each table as Markdown."""
    out: list[str] = []
    tables = {start: (end, table) for start, end, table in reading.tables(rows)}
    i = 0
    while i < len(rows) and len(out) < MAX_LINES:
        if i in tables:
            end, table = tables[i]
            out.append(table.markdown())
            i = end
            continue
        out.append(rows[i].text)
        i += 1
    if i < len(rows):
        out.append(f"(and {_n(len(rows) - i, 'more line')})")
    return "\n".join(out)


def paragraphs(lines: list[str]) -> list[str]:
    """Join OCR lines into paragraphs: a line continues the previous one unless that one ends a sentence
    (. ! ? : ;) or is short (under 40 characters, like a title). Apertium needs the sentence boundaries."""
    blocks: list[str] = []
    for line in lines:
        if blocks and len(blocks[-1]) >= PARAGRAPH_LINE and not re.search(r"[.!?:;]$", blocks[-1]):
            blocks[-1] += " " + line
        else:
            blocks.append(line)
    return blocks


def passages(lines: list[str]) -> list[str]:
    """What a question is ranked against: short lines (titles, table rows, receipt items) as they
    are, and wrapped paragraphs split into whole sentences, so an answer is not cut mid-sentence.
    A sentence ends at . ! or ? before a capital letter, but not after a figure or table number's
    word ("Figure 1." starts a caption)."""
    units: list[str] = []
    for block in paragraphs(lines):
        long = len(block) >= PARAGRAPH_LINE
        pattern = r"(?<!Figure \d\.)(?<!Table \d\.)(?<=[a-z0-9)][.!?])\s+(?=[A-Z])"
        units.extend(re.split(pattern, block) if long else [block])
    return units


def rank_lines(lines: list[str], words: list[str], top: int = MAX_RELEVANT, need: int = 1) -> list[str]:
    """The ``top`` lines sharing most question words (at least ``need``; plural -s ignored), in reading
    order. Lines are compared without spaces, because OCR sometimes drops them ("Invoicenumber4711")."""
    scored = []
    for index, line in enumerate(lines):
        compact = re.sub(r"[\W_]+", "", line.lower())
        score = sum(
            1 for w in words if w in compact or (len(w) > 4 and w.endswith("s") and w[:-1] in compact)
        )
        if score >= need:
            scored.append((-score, index))
    if not scored:
        return []
    best = scored and min(scored)[0]
    chosen = sorted(index for score, index in sorted(scored)[:top] if score == best)
    return [lines[i] for i in chosen]


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
