"""OCR of the local model: RapidOCR's text boxes joined into visual rows, with lost word spaces put back.

:func:`ocr` returns :class:`TextLine` rows in reading order (top to bottom, each row left to right),
so a receipt's ``TOTAL`` and ``$21.50`` come out as one line and a table as one line per table row.
Results are cached by content hash. The method and its measured accuracy are in this folder's README.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from .engines import Engine, Missing, digest

OCR_INSTALL = "pip install rapidocr_onnxruntime==1.4.4"
#: Text detection runs with the image's short side at this many pixels (RapidOCR's default minimum).
DET_SHORT_SIDE = 736


@dataclass(frozen=True)
class TextLine:
    """One row of text found in an image, with its box (left, top, right, bottom) in pixels.

    A row is the text boxes the detector found on one visual row, left to right, joined by a space
    (so "TOTAL" and "$21.50" on a receipt, or the cells of a table row, stay together); ``score``
    is the lowest recognition score of its boxes.
    """

    text: str
    box: tuple[int, int, int, int]
    score: float


def _load_ocr() -> Any:
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as exc:
        raise Missing(
            f"Text recognition is not available: the package rapidocr_onnxruntime is missing. "
            f"Install it with: {OCR_INSTALL}"
        ) from exc
    # ONNX Runtime's default intra-op threads (one per core): 0.9 s for an A4 page on 2 cores
    # against 1.7 s on one thread (bench/local_host.py's page, measured on a quiet machine).
    engine = RapidOCR()
    _detect_at_short_side(engine, DET_SHORT_SIDE)
    return engine


def _detect_at_short_side(engine: Any, short_side: int) -> None:
    """Run text detection with the image's short side at ``short_side`` pixels, up or down.

    RapidOCR's default only scales up (to a short side of 736) and runs large pages at full size;
    detection at 736 finds the same lines on a 150 dpi A4 page in about half the time, and the
    line crops that recognition reads are still cut from the full-size image.
    """
    try:
        import cv2
        from rapidocr_onnxruntime.ch_ppocr_det.utils import DetPreProcess
    except ImportError:  # another RapidOCR layout: keep its default
        return
    detector = getattr(engine, "text_det", None)
    if detector is None or not hasattr(detector, "get_preprocess"):
        return

    class ShortSide(DetPreProcess):  # type: ignore[misc, valid-type]
        def resize(self, img: np.ndarray) -> np.ndarray:
            h, w = img.shape[:2]
            ratio = self.limit_side_len / min(h, w)
            height = max(32, round(int(h * ratio) / 32) * 32)
            width = max(32, round(int(w * ratio) / 32) * 32)
            return cv2.resize(img, (width, height))

    detector.get_preprocess = lambda max_wh: ShortSide(short_side, "min", detector.mean, detector.std)


ENGINE = Engine(_load_ocr)


def ocr(data: bytes) -> list[TextLine]:
    """The lines of text in the image ``data`` (bytes of a PNG/JPEG/GIF/WebP), in reading order."""
    return ENGINE.run(digest(data), lambda engine: _ocr_run(engine, data))


def _ocr_run(engine: Any, data: bytes) -> list[TextLine]:
    pixels = decode_image(data)
    # RapidOCR wants BGR like OpenCV. No angle classifier: pages and photos of text are upright, and
    # the classifier turned upright lines upside down (into gibberish) on rendered test pages.
    # return_word_box adds where each recognised character is, used to put back lost word spaces.
    bgr = pixels[:, :, ::-1].copy()
    result, _ = engine(bgr, use_cls=False, return_word_box=True)
    gray = grayscale(pixels)
    boxes = []
    for box, text, score, *chars in result or []:
        if len(chars) >= 2:
            text = restore_spaces(gray, box, text, chars[1], chars[0])
        text, score = _reread_vertical(engine, bgr, box, text, score)
        xs = [round(float(p[0])) for p in box]
        ys = [round(float(p[1])) for p in box]
        if text.strip():
            boxes.append(TextLine(text.strip(), (min(xs), min(ys), max(xs), max(ys)), round(float(score), 4)))
    return rows(boxes)


def _reread_vertical(engine: Any, bgr: np.ndarray, box: Any, text: str, score: float) -> tuple[str, float]:
    """Read a tall box the other ways round too, and keep the reading the recogniser is surest of.

    RapidOCR turns the crop of a box at least 1.5 times taller than wide by 90 degrees one way, which
    reads text running top to bottom; a chart's y-axis title runs bottom to top and came out upside
    down ("(seop puesnou) sales" for "Sales (thousand dollars)"), and a lone tall character was read
    sideways. The crop is also read turned the other way and upright.
    """
    corners = np.array(box, np.float32)
    width = max(np.linalg.norm(corners[0] - corners[1]), np.linalg.norm(corners[2] - corners[3]))
    height = max(np.linalg.norm(corners[0] - corners[3]), np.linalg.norm(corners[1] - corners[2]))
    if not hasattr(engine, "get_crop_img_list") or height < 1.5 * width:
        return text, score
    turned = engine.get_crop_img_list(bgr, [corners])[0]  # RapidOCR's crop, turned a quarter left
    others = [np.ascontiguousarray(turned[::-1, ::-1]), np.ascontiguousarray(np.rot90(turned, -1))]
    readings, _ = engine.text_rec(others)
    best = (text, float(score))
    for other_text, other_score in readings:
        if other_text.strip() and float(other_score) > best[1]:
            best = (other_text, float(other_score))
    return best


def rows(boxes: list[TextLine]) -> list[TextLine]:
    """Join text boxes into visual rows, top to bottom, each row's boxes left to right, joined by a space.

    A box belongs to a row when its centre is within half the median box height of the row's mean
    centre: boxes on one line share their centre even when their heights differ (a bold total beside
    its amount), while the next line of a paragraph is at least a line height away. A vertical box
    (an axis title turned by 90 degrees: taller than wide and than two median boxes) stays a row of
    its own.
    """
    heights = sorted(b.box[3] - b.box[1] for b in boxes)
    median = heights[len(heights) // 2] if heights else 0
    vertical = [b for b in boxes if _vertical(b, median)]
    upright = [b for b in boxes if not _vertical(b, median)]
    half = median / 2
    grouped: list[list[TextLine]] = []
    for box in sorted(upright, key=lambda b: (_centre(b), b.box[0])):
        if grouped:
            row = grouped[-1]
            if abs(_centre(box) - sum(map(_centre, row)) / len(row)) <= half:
                row.append(box)
                continue
        grouped.append([box])
    grouped += [[box] for box in vertical]
    joined = []
    for row in grouped:
        row.sort(key=lambda b: (b.box[0], b.box[1]))
        left, top = min(b.box[0] for b in row), min(b.box[1] for b in row)
        right, bottom = max(b.box[2] for b in row), max(b.box[3] for b in row)
        joined.append(
            TextLine(" ".join(b.text for b in row), (left, top, right, bottom), min(b.score for b in row))
        )
    return sorted(joined, key=lambda line: ((line.box[1] + line.box[3]) / 2, line.box[0]))


def _centre(line: TextLine) -> float:
    return (line.box[1] + line.box[3]) / 2


def _vertical(line: TextLine, median_height: float) -> bool:
    """A box of vertical text: taller than wide and than two lines of the image's text."""
    left, top, right, bottom = line.box
    return bottom - top > max(1.5 * (right - left), 2 * median_height)


# --- word spaces -------------------------------------------------------------------------------

#: A gap between two recognised characters is a word space when its blank stretch is wider than
#: both of these: a share of the text box's height, and a multiple of the box's median gap between
#: neighbouring characters. Measured on the workbook's samples and held-out pages (see the README).
SPACE_OF_HEIGHT = 0.14
SPACE_OF_MEDIAN = 2.5
_NO_SPACE_BEFORE = frozenset(".,:;!?)]}%'\"-")
_NO_SPACE_AFTER = frozenset("([{$#'\"-")


def grayscale(pixels: np.ndarray) -> np.ndarray:
    """Luminance (0-255, float32) of RGB pixels."""
    return pixels.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def restore_spaces(gray: np.ndarray, box: Any, text: str, chars: list[str], char_boxes: list[Any]) -> str:
    """Put back the word spaces RapidOCR's recogniser dropped ("Salesby region" -> "Sales by region").

    The bundled recogniser (PP-OCRv4, trained mostly on Chinese) often emits no space between English
    words. For each pair of neighbouring characters (from ``return_word_box``: each character's box),
    the widest stretch of blank columns between their centres is measured in the image, with
    anti-aliased columns counting in part; a stretch clearly wider than the usual gap between letters
    of the box is a space. Never between two digits, inside a number (21.50, 2,379, 12:41), next to a
    hyphen or quote, before closing punctuation or after an opening bracket or currency sign. Boxes that
    are not horizontal, or whose characters do not match the text, are returned unchanged.
    """
    if len(chars) != len(char_boxes) or "".join(chars) != text or len(chars) < 3:
        return text
    xs = [float(p[0]) for p in box]
    ys = [float(p[1]) for p in box]
    height = max(ys) - min(ys)
    if max(xs) - min(xs) < height or abs(float(box[0][1]) - float(box[1][1])) > 0.25 * height:
        return text
    left, top = max(0, int(np.floor(min(xs)))), max(0, int(np.floor(min(ys))))
    ink = _ink(gray[top : int(np.ceil(max(ys))), left : int(np.ceil(max(xs)))])
    if ink is None:
        return text
    blank = 1.0 - ink.max(axis=0)  # per column: 0 where some pixel is fully ink, 1 where all is background
    centres = [(min(float(p[0]) for p in b) + max(float(p[0]) for p in b)) / 2 - left for b in char_boxes]
    pairs = [i for i in range(len(chars) - 1) if chars[i] != " " and chars[i + 1] != " "]
    gaps = {i: _widest_blank(blank[max(0, round(centres[i])) : max(0, round(centres[i + 1]))]) for i in pairs}
    if not gaps:
        return text
    median = max(float(np.median(list(gaps.values()))), 1.0)
    threshold = max(SPACE_OF_HEIGHT * ink.shape[0], SPACE_OF_MEDIAN * median)
    out = []
    for i, char in enumerate(chars):
        out.append(char)
        if i in gaps and gaps[i] > threshold and _may_split(chars, i):
            out.append(" ")
    return "".join(out)


def _ink(crop: np.ndarray) -> np.ndarray | None:
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


def decode_image(data: bytes) -> np.ndarray:
    """RGB pixels of the first frame of an image."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))
