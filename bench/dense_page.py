"""The dense page of the OCR benchmark: a generated A4 page of small type with its known text, and the
scores of what OCR read from it (word recall, character accuracy)."""

from __future__ import annotations

from collections import Counter

import numpy as np

SUBJECTS, VERBS, OBJECTS, TIMES = (
    part.split("|")
    for part in (
        "The northern office|Our finance team|The harbour depot|A new supplier|The review board|"
        "Each regional manager|The spring survey|Two field engineers|The city council|Most customers",
        "reported|approved|delayed|measured|shipped|counted|questioned|recorded|planned|checked",
        "{n} crates of apples|the budget of ${n},{m:03d}|a rise of {p}% in costs|{n} new accounts|"
        "the invoice no. {n}{m:03d}|repairs to bridge {n}|{n} hours of overtime|the order for {n} pumps|"
        "a loss of ${n}.{q:02d} per unit|{n} kilometres of cable",
        "on Monday|before the audit|in the third quarter|after the storm|for the western region|"
        "at the June meeting|without further delay|during the night shift|by early March|as agreed",
    )
)


def dense_text(lines: int = 90, size: float = 7.5, width: float = 290.0) -> list[str]:
    """``lines`` lines of sentences set in Helvetica at ``size`` pt, wrapped at ``width`` pt (fixed text)."""
    import pymupdf

    words: list[str] = []
    for i in range(lines * 3):  # more sentences than the lines hold
        n, m, p, q = 3 + i * 7 % 97, i * 37 % 1000, 2 + i * 3 % 40, i * 13 % 100
        sentence = f"{SUBJECTS[i % 10]} {VERBS[i * 3 % 10]} {OBJECTS[i * 7 % 10]} {TIMES[i * 9 % 10]}."
        words += sentence.format(n=n, m=m, p=p, q=q).split()
    out, line = [], ""
    for word in words:
        longer = f"{line} {word}" if line else word
        if line and pymupdf.get_text_length(longer, fontsize=size) > width:
            out.append(line)
            if len(out) == lines:
                break
            longer = word
        line = longer
    return out


def dense_page_png(lines: list[str], size: float = 7.5, leading: float = 8.6, dpi: int = 200) -> bytes:
    """An A4 page with ``lines`` set at ``size`` pt on ``leading`` pt, rendered at ``dpi`` as PNG."""
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    for number, text in enumerate(lines):
        page.insert_text((57, 50 + number * leading), text, fontsize=size)
    return page.get_pixmap(dpi=dpi).tobytes("png")


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions), one row of the table at a time."""
    if not a or not b:
        return max(len(a), len(b))
    codes = np.frombuffer(b.encode("utf-32-le"), np.uint32)
    offsets = np.arange(len(b) + 1)
    row = offsets.copy()
    for i, char in enumerate(a, 1):
        new = np.empty_like(row)
        new[0] = i
        new[1:] = np.minimum(row[1:] + 1, row[:-1] + (codes != ord(char)))
        row = np.minimum.accumulate(new - offsets) + offsets  # insertions, left to right
    return int(row[-1])


def word_recall(truth: list[str], found: list[str]) -> float:
    """The share of the words of ``truth`` found in ``found``, each word counted as often as it occurs."""
    expected = Counter(word for line in truth for word in line.split())
    got = Counter(word for line in found for word in line.split())
    return sum((expected & got).values()) / sum(expected.values())


def char_accuracy(truth: list[str], found: list[str]) -> float:
    """1 - the edit distance from the truth to what was found (lines joined by newlines), over the truth's length."""
    text = "\n".join(truth)
    return max(0.0, 1 - edit_distance(text, "\n".join(found)) / len(text))
