"""Word spaces of the local model's OCR: where each recognised character is, and the lost spaces put back.

RapidOCR's bundled recogniser (PP-OCRv4, trained mostly on Chinese) often emits no space between
English words. :func:`char_boxes` places each character of a text box (what RapidOCR 1.4.4's
``return_word_box`` computes, without its per-point Python loops), and :func:`restore_spaces`
measures the ink between neighbouring characters to put the spaces back. The method and its measured
accuracy are in this folder's README.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

#: A gap between two recognised characters is a word space when its blank stretch is wider than
#: both of these: a share of the text box's height, and a multiple of the box's median gap between
#: neighbouring characters. Measured on the workbook's samples and held-out pages (see the README).
SPACE_OF_HEIGHT = 0.14
SPACE_OF_MEDIAN = 2.5
_NO_SPACE_BEFORE = frozenset(".,:;!?)]}%'\"-")
_NO_SPACE_AFTER = frozenset("([{$#'\"-")


def char_boxes(
    box: np.ndarray, crop_width: int, crop_height: int, info: list[Any]
) -> list[list[list[float]]]:
    """Where each character of a horizontal text box is, in the coordinates of ``box``.

    ``info`` is what RapidOCR's CTC decoder returns with ``return_word_box`` (the number of output
    columns, scaled to the crop's share of the padded input; the characters grouped in words; the
    column of each character), for the crop of ``box`` of ``crop_width`` x ``crop_height`` pixels.
    The result is RapidOCR 1.4.4's (``CalRecBoxes`` for a box that is wider than tall): a cell of
    the words' mean character pitch around each character's column, neighbouring cells trimmed so
    they do not overlap, mapped back through the inverse of the crop's perspective transform.
    """
    import cv2

    columns, words, word_columns, states, _ = info
    pitch = crop_width / columns
    spans: dict[bool, tuple[list[float], list[int]]] = {True: ([], []), False: ([], [])}
    for cols, state in zip(word_columns, states, strict=False):
        widths, positions = spans[state == "cn"]
        if len(cols) > 1:
            widths.append((cols[-1] - cols[0]) * pitch / (len(cols) - 1))
        positions += cols
    cells: list[list[float]] = []
    for widths, positions in (spans[True], spans[False]):
        if positions:
            size = float(np.mean(widths)) if widths else crop_width / sum(len(w) for w in words)
            for column in positions:
                centre = (column + 0.5) * pitch
                cells.append([max(int(centre - size / 2), 0), min(int(centre + size / 2), crop_width)])
    cells.sort(key=lambda cell: cell[0])
    for cell, after in itertools.pairwise(cells):
        if cell[1] > after[0]:
            overlap = abs(cell[1] - after[0])
            cell[1] -= overlap / 2
            after[0] += overlap - overlap / 2
    corners = np.float32(box)
    left, top = int(np.min(corners[:, 0])), int(np.min(corners[:, 1]))
    corners = corners - np.float32([left, top])
    width = int(np.linalg.norm(corners[0] - corners[1]))
    height = int(np.linalg.norm(corners[0] - corners[3]))
    upright = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    _, inverse = cv2.invert(cv2.getPerspectiveTransform(corners, upright))
    xs = np.float32([[start, end, end, start] for start, end in cells]).astype(np.float64)
    ys = np.broadcast_to(np.float64([0, 0, crop_height, crop_height]), xs.shape)
    scale = inverse[2, 0] * xs + inverse[2, 1] * ys + inverse[2, 2]
    out_x = np.trunc((inverse[0, 0] * xs + inverse[0, 1] * ys + inverse[0, 2]) / scale + left)
    out_y = np.trunc((inverse[1, 0] * xs + inverse[1, 1] * ys + inverse[1, 2]) / scale + top)
    return np.stack([out_x, out_y], axis=2).tolist()


def grayscale(pixels: np.ndarray) -> np.ndarray:
    """Luminance (0-255, float32) of RGB pixels."""
    return pixels.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def horizontal(box: Any) -> bool:
    """A box of horizontal text: at least as wide as tall, its top edge level within a quarter height."""
    xs = [float(p[0]) for p in box]
    ys = [float(p[1]) for p in box]
    height = max(ys) - min(ys)
    return max(xs) - min(xs) >= height and abs(float(box[0][1]) - float(box[1][1])) <= 0.25 * height


def restore_spaces(gray: np.ndarray, box: Any, text: str, chars: list[str], char_boxes: list[Any]) -> str:
    """Put back the word spaces RapidOCR's recogniser dropped ("Salesby region" -> "Sales by region").

    For each pair of neighbouring characters (``char_boxes``: each character's box), the widest
    stretch of blank columns between their centres is measured in the image, with anti-aliased
    columns counting in part; a stretch clearly wider than the usual gap between letters of the box
    is a space. Never between two digits, inside a number (21.50, 2,379, 12:41), next to a hyphen or
    quote, before closing punctuation or after an opening bracket or currency sign. Boxes that are
    not horizontal, or whose characters do not match the text, are returned unchanged.
    """
    if len(chars) != len(char_boxes) or "".join(chars) != text or len(chars) < 3 or not horizontal(box):
        return text
    xs = [float(p[0]) for p in box]
    ys = [float(p[1]) for p in box]
    left, top = max(0, int(np.floor(min(xs)))), max(0, int(np.floor(min(ys))))
    shares = ink(gray[top : int(np.ceil(max(ys))), left : int(np.ceil(max(xs)))])
    if shares is None:
        return text
    blank = 1.0 - shares.max(axis=0)  # per column: 0 where some pixel is fully ink, 1 where all is background
    centres = [(min(float(p[0]) for p in b) + max(float(p[0]) for p in b)) / 2 - left for b in char_boxes]
    pairs = [i for i in range(len(chars) - 1) if chars[i] != " " and chars[i + 1] != " "]
    gaps = {i: _widest_blank(blank[max(0, round(centres[i])) : max(0, round(centres[i + 1]))]) for i in pairs}
    if not gaps:
        return text
    median = max(float(np.median(list(gaps.values()))), 1.0)
    threshold = max(SPACE_OF_HEIGHT * shares.shape[0], SPACE_OF_MEDIAN * median)
    out = []
    for i, char in enumerate(chars):
        out.append(char)
        if i in gaps and gaps[i] > threshold and _may_split(chars, i):
            out.append(" ")
    return "".join(out)


def ink(crop: np.ndarray) -> np.ndarray | None:
    """How much ink (0-1) each pixel of a text box holds; None when the box has no contrast."""
    import cv2

    if crop.size == 0 or float(crop.max() - crop.min()) < 32:
        return None
    threshold, _ = cv2.threshold(crop.astype(np.uint8), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    dark = crop <= threshold
    # Text is the smaller class: dark text on light, or light text on dark.
    text, background = (crop[dark], crop[~dark]) if dark.mean() <= 0.5 else (crop[~dark], crop[dark])
    ink = np.clip(
        (float(background.mean()) - crop) / (float(background.mean()) - float(text.mean())), 0.0, 1.0
    )
    ink[(ink > 0.5).mean(axis=1) > 0.8] = 0.0  # rows that are rules (table borders, underlines), not text
    return ink


def _widest_blank(blank: np.ndarray) -> float:
    """The widest run of blank columns (blankness above a half), in pixels, counting partial columns in part."""
    mask = blank > 0.5
    if not mask.any():
        return 0.0
    runs = np.cumsum(~mask)[mask]
    return float(np.bincount(runs, weights=blank[mask]).max())


def _may_split(chars: list[str], i: int) -> bool:
    before, after = chars[i], chars[i + 1]
    if before.isdigit() and after.isdigit():
        return False
    if after in _NO_SPACE_BEFORE or before in _NO_SPACE_AFTER:
        return False
    return not (before in ".,:" and i > 0 and chars[i - 1].isdigit() and after.isdigit())
