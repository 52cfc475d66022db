"""OCR of the local model: RapidOCR's text boxes joined into visual rows, with lost word spaces put back.

:func:`ocr` returns :class:`TextLine` rows in reading order (top to bottom, each row left to right),
so a receipt's ``TOTAL`` and ``$21.50`` come out as one line and a table as one line per table row.
Results are cached by content hash. The method and its measured accuracy are in this folder's README.
"""

from __future__ import annotations

import io
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from .engines import THREADS, Engine, digest
from .ocr_models import DET_MAX_LONG, detection_scale, load_engine
from .wordspaces import char_boxes, grayscale, horizontal, ink, restore_spaces

__all__ = ["ENGINE", "TextLine", "decode_image", "ocr", "restore_spaces", "rows"]

#: A box overlapping the box of the line above or below by more than this share of its height is cut.
CUT_OVERLAP = 0.25
#: A cut line is read with the x-height of its letters (the middle 80% of its ink) at this many pixels.
CUT_X_HEIGHT = 16
#: ... and at least this many pixels high: the recogniser's last pooling takes three rows of its
#: feature map (a sixteenth of the height); below 33 px ONNX Runtime averages two rows instead (the
#: benchmark's dense page: 99.5% of its words instead of 99.9%) and OpenVINO refuses the input.
READ_MIN_HEIGHT = 33
#: Threads calling the line recogniser, one per stream of it (see ocr_models.LineRecogniser).
READ_WORKERS = THREADS


@dataclass(frozen=True)
class TextLine:
    """One row of text found in an image, with its box (left, top, right, bottom) in pixels.

    A row is the text boxes the detector found on one visual row, left to right, joined by a space
    (so "TOTAL" and "$21.50" on a receipt, or the cells of a table row, stay together); ``score``
    is the lowest recognition score of its boxes, and ``size`` the glyph size of its largest text:
    the widest pixels per character of its boxes (a horizontal box's width over its letters; a
    vertical box's height), which tells a heading from body text better than box heights do.
    """

    text: str
    box: tuple[int, int, int, int]
    score: float
    size: float = 0.0


ENGINE = Engine(load_engine)


def ocr(data: bytes) -> list[TextLine]:
    """The lines of text in the image ``data`` (bytes of a PNG/JPEG/GIF/WebP), in reading order."""
    return ENGINE.run(digest(data), lambda engine: _ocr_run(engine, data))


def _ocr_run(engine: Any, data: bytes) -> list[TextLine]:
    """RapidOCR's steps (as ``engine(bgr, use_cls=False, return_word_box=True)`` runs them), with dense
    lines cut apart and read on the line recogniser, and character boxes only where spaces are put back.

    No angle classifier: pages and photos of text are upright, and the classifier turned upright
    lines upside down (into gibberish) on rendered test pages.
    """
    pixels = decode_image(data)
    height, width = pixels.shape[:2]
    if min(width, height) * DET_MAX_LONG < 8 * max(width, height):  # elongated past what detection reads
        raise InputError(
            f"An image of {width}x{height} pixels is too elongated to read: with its long side at "
            f"{DET_MAX_LONG} pixels for text detection, its short side would be under 8 pixels. Crop it "
            "into pieces and send them as several images."
        )
    if min(width, height) * detection_scale(width, height) < 8:  # too small to hold readable text
        return []
    bgr = pixels[:, :, ::-1].copy()  # RapidOCR wants BGR like OpenCV
    img, ratio_h, ratio_w = engine.preprocess(bgr)
    img, record = engine.maybe_add_letterbox(img, {"preprocess": {"ratio_h": ratio_h, "ratio_w": ratio_w}})
    found, _ = engine.auto_text_det(img)
    if found is None:
        return []
    boxes, cut = _cut_overlaps(found)
    origin = engine._get_origin_points(boxes, record, *bgr.shape[:2]).tolist()
    gray = grayscale(pixels)
    # Boxes left whole are read as ``engine(...)`` reads them: in RapidOCR's batches (sorted by aspect
    # ratio, ``rec_batch_num`` at a time, each padded to its widest crop; what a crop is read as
    # depends on its batch), on RapidOCR's recognition session (OpenVINO, float32: see ocr_models.py).
    whole = [i for i, cut_apart in enumerate(cut) if not cut_apart]
    read: dict[int, tuple[np.ndarray, Any]] = {}
    if whole:
        crops = engine.get_crop_img_list(img, [boxes[i] for i in whole])
        for i, crop, reading in zip(whole, crops, engine.text_rec(crops, True)[0], strict=True):
            read[i] = (crop, reading)

    lines: list[TextLine | None] = [None] * len(boxes)
    for i, (crop, reading) in read.items():
        lines[i] = _text_line(engine, bgr, gray, record, boxes[i], origin[i], crop, reading)
    # Cut lines are read on their own, at their letters' size, longest first. This thread prepares
    # each line's pixels and finishes each reading while the line recogniser computes the next ones
    # on READ_WORKERS threads; each line's result depends on its crop alone.
    recogniser = engine.text_rec
    pending: deque[tuple[int, np.ndarray, float, float, Future[Any]]] = deque()

    def finish_oldest() -> None:
        i, crop, ratio, most, future = pending.popleft()
        reading = _decode(recogniser, *future.result(), ratio, most)
        lines[i] = _text_line(engine, bgr, gray, record, boxes[i], origin[i], crop, reading)

    with ThreadPoolExecutor(READ_WORKERS) as pool:
        for i in sorted((i for i in range(len(boxes)) if cut[i]), key=lambda i: -_length_ratio(boxes[i])):
            crop = engine.get_crop_img_list(img, [boxes[i]])[0]
            pixels, ratio, most = _line_pixels(recogniser, crop, _read_height(crop))
            pending.append((i, crop, ratio, most, pool.submit(engine.line_session, pixels)))
            while len(pending) > 2 * READ_WORKERS or (pending and pending[0][-1].done()):
                finish_oldest()
        while pending:
            finish_oldest()
    return rows([line for line in lines if line is not None])


def _text_line(
    engine: Any,
    bgr: np.ndarray,
    gray: np.ndarray,
    record: Any,
    img_box: Any,
    box: Any,
    crop: Any,
    reading: Any,
) -> TextLine | None:
    """The box's text line from its reading (text, score, CTC columns), with word spaces put back and
    tall boxes read the other ways round; None when RapidOCR would drop it (unsure, or blank)."""
    text, score, info = reading
    if float(score) < engine.text_score:  # RapidOCR drops what it is unsure of
        return None
    if len(text) >= 3 and horizontal(box):
        raw_h, raw_w = bgr.shape[:2]
        chars = char_boxes(img_box, crop.shape[1], crop.shape[0], info)
        chars = engine._get_origin_points(chars, record, raw_h, raw_w).astype(np.int32).tolist()
        text = restore_spaces(gray, box, text, list(text), chars)
    text, score = _reread_vertical(engine, bgr, box, text, score)
    xs = [round(float(p[0])) for p in box]
    ys = [round(float(p[1])) for p in box]
    if not text.strip():
        return None
    return TextLine(text.strip(), (min(xs), min(ys), max(xs), max(ys)), round(float(score), 4))


def _length_ratio(box: np.ndarray) -> float:
    """A box's length over its height (the width a crop is read at, per pixel of height)."""
    corners = np.asarray(box, np.float64)
    return float(np.linalg.norm(corners[0] - corners[1]) / max(1e-6, np.linalg.norm(corners[0] - corners[3])))


def _cut_overlaps(boxes: list[np.ndarray]) -> tuple[list[np.ndarray], list[bool]]:
    """Cut the boxes of dense lines apart, so each crop holds one line of text.

    The detector's boxes are about 1.7 times the height of their letters; when lines are set closer
    than that (a dense page: 7.5 pt type on 8.6 pt lines), a box also takes in the lower or upper
    part of the neighbouring lines, and the recogniser reads those as well (letters dropped,
    "nightshitThreviwoard"). A box of horizontal text that overlaps the box of a line above or below
    (a box across it, whose centre is more than half a height away) by more than ``CUT_OVERLAP`` of
    its height is cut at the middle between the two centres. Returns the boxes, and whether each was
    cut (a box left whole is read as RapidOCR reads it).
    """
    corners = np.array(boxes, np.float32)
    left, right = corners[:, :, 0].min(axis=1), corners[:, :, 0].max(axis=1)
    centre = corners[:, :, 1].mean(axis=1)
    height = np.maximum(_length(corners[:, 0] - corners[:, 3]), _length(corners[:, 1] - corners[:, 2]))
    wide = np.maximum(_length(corners[:, 0] - corners[:, 1]), _length(corners[:, 3] - corners[:, 2])) > height
    apart = np.abs(np.subtract.outer(centre, centre))
    smaller = np.minimum.outer(height, height)
    cut = (
        np.outer(wide, wide)
        & (np.minimum.outer(right, right) > np.maximum.outer(left, left))
        & (np.add.outer(height, height) / 2 - apart > CUT_OVERLAP * smaller)
        & (apart > smaller / 2)
    )
    above = np.where(cut & (centre[None, :] < centre[:, None]), apart / 2, np.inf).min(axis=1)
    below = np.where(cut & (centre[None, :] > centre[:, None]), apart / 2, np.inf).min(axis=1)
    out = [box.copy() for box in boxes]
    for i, box in enumerate(out):
        box[:2, 1] += max(0.0, height[i] / 2 - above[i])  # top corners down to the middle line
        box[2:, 1] -= max(0.0, height[i] / 2 - below[i])  # bottom corners up to it
    return out, cut.any(axis=1).tolist()


def _length(vectors: np.ndarray) -> np.ndarray:
    return np.sqrt((vectors.astype(np.float64) ** 2).sum(axis=-1))


def _read_height(crop: np.ndarray) -> int:
    """The recogniser's input height for a cut line: its letters' x-height at ``CUT_X_HEIGHT`` pixels.

    A cut crop has lost the blank margins the recogniser is used to, and the detector's boxes grow
    relative to their letters when the type is small; the letters themselves are measured instead,
    as the rows holding the middle 80% of the crop's ink (for Latin text, about half the type size).
    The height is at least ``READ_MIN_HEIGHT``.
    """
    shares = ink(crop.astype(np.float32).mean(axis=2))
    if shares is None:
        return 48
    mass = np.cumsum(shares.sum(axis=1))
    low, high = np.searchsorted(mass, [0.1 * mass[-1], 0.9 * mass[-1]])
    return int(np.clip(round(crop.shape[0] * CUT_X_HEIGHT / (high - low + 1)), READ_MIN_HEIGHT, 64))


def _line_pixels(recogniser: Any, crop: np.ndarray, height: int) -> tuple[np.ndarray, float, float]:
    """The line recogniser's input for a crop resized to ``height`` pixels, laid out as RapidOCR lays
    out a crop read at its usual height (48), with the crop's and the input's width over height.

    The crop is scaled with bicubic interpolation (RapidOCR's is bilinear): small type scaled up
    stays sharper (7.5 pt at 150 dpi: 98.4% of the words read right instead of 95.1%).
    """
    import cv2

    _, base_height, base_width = recogniser.rec_image_shape
    ratio = crop.shape[1] / crop.shape[0]
    most = max(base_width / base_height, ratio)
    width = int(height * most)
    size = (min(width, int(np.ceil(height * ratio))), height)
    resized = cv2.resize(crop, size, interpolation=cv2.INTER_CUBIC).astype(np.float32)
    pixels = np.zeros((1, 3, height, width), np.float32)
    pixels[0, :, :, : resized.shape[1]] = resized.transpose(2, 0, 1) / 127.5 - 1.0
    return pixels, ratio, most


def _decode(
    recogniser: Any, indices: np.ndarray, probabilities: np.ndarray, ratio: float, most: float
) -> tuple[str, float, Any]:
    """A line's (text, score, CTC columns of the characters) from the recogniser's top-1 classes
    and probabilities, decoded as RapidOCR decodes its crops."""
    text, score, info = recogniser.postprocess_op.decode(
        indices, probabilities, True, is_remove_duplicate=True
    )[0]
    info[0] *= ratio / most  # as RapidOCR's decoding scales the column count to the crop's own width
    return text, score, info


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
        size = max(b.size or _glyph_size(b) for b in row)
        text = " ".join(b.text for b in row)
        joined.append(TextLine(text, (left, top, right, bottom), min(b.score for b in row), round(size, 1)))
    return sorted(joined, key=lambda line: ((line.box[1] + line.box[3]) / 2, line.box[0]))


def _glyph_size(box: TextLine) -> float:
    """Pixels per letter along the text's direction, a proxy of its font size. The detector pads each
    box by about 0.3 of its thickness on every side, which is taken off first, else short words
    ("Tax", "80") would look as large as headings."""
    left, top, right, bottom = box.box
    length, thickness = max(right - left, bottom - top), min(right - left, bottom - top)
    return max(1.0, length - 0.6 * thickness) / max(1, len(box.text.replace(" ", "")))


def _centre(line: TextLine) -> float:
    return (line.box[1] + line.box[3]) / 2


def _vertical(line: TextLine, median_height: float) -> bool:
    """A box of vertical text: taller than wide and than two lines of the image's text."""
    left, top, right, bottom = line.box
    return bottom - top > max(1.5 * (right - left), 2 * median_height)


def decode_image(data: bytes) -> np.ndarray:
    """RGB pixels of the first frame of an image."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))
