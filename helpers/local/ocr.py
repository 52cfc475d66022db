"""OCR of the local model: RapidOCR's text boxes joined into visual rows, with lost word spaces put back.

:func:`ocr` returns :class:`TextLine` rows in reading order (top to bottom, each row left to right),
so a receipt's ``TOTAL`` and ``$21.50`` come out as one line and a table as one line per table row.
Results are cached by content hash. The method and its measured accuracy are in this folder's README.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from .engines import THREADS, Engine, Missing, digest
from .wordspaces import char_boxes, grayscale, horizontal, ink, restore_spaces

__all__ = ["ENGINE", "TextLine", "decode_image", "ocr", "restore_spaces", "rows"]

OCR_INSTALL = "pip install rapidocr_onnxruntime==1.4.4"
#: Text detection runs with the image's short side at this many pixels (RapidOCR's default minimum).
DET_SHORT_SIDE = 736
#: ... but detection never runs with the long side over this, nor enlarges an image more than this.
DET_MAX_LONG = 4096
DET_MAX_UPSCALE = 4.0
#: A box overlapping the box of the line above or below by more than this share of its height is cut.
CUT_OVERLAP = 0.25
#: A cut line is read with the x-height of its letters (the middle 80% of its ink) at this many pixels.
CUT_X_HEIGHT = 16
#: Recognition threads, each running ONNX Runtime on one core.
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


def _load_ocr() -> Any:
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as exc:
        raise Missing(
            f"Text recognition is not available: the package rapidocr_onnxruntime is missing. "
            f"Install it with: {OCR_INSTALL}"
        ) from exc
    # ONNX Runtime's default intra-op threads (one per core) for detection and for recognition in
    # RapidOCR's batches; cut lines are read on a one-thread session, READ_WORKERS at a time.
    engine = RapidOCR()
    _detect_at_short_side(engine, DET_SHORT_SIDE)
    # RapidOCR first shrinks an image to 2000 px on its long side and cuts the line crops from that;
    # detection is sized by DET_SHORT_SIDE anyway, so the crops are cut from the full-size image
    # (a dense A4 page at 200 dpi: 91% of its words read right instead of 99%).
    engine.max_side_len = 1 << 30
    engine.line_session = _one_thread_recogniser()
    return engine


def _one_thread_recogniser() -> Any:
    """A session of RapidOCR's recognition model that computes on the calling thread only (or None)."""
    try:
        from rapidocr_onnxruntime.main import DEFAULT_CFG_PATH
        from rapidocr_onnxruntime.utils import OrtInferSession, read_yaml, update_model_path
    except ImportError:  # another RapidOCR layout: cut lines are read on its own session
        return None
    config = update_model_path(read_yaml(DEFAULT_CFG_PATH))["Rec"]
    return OrtInferSession({**config, "intra_op_num_threads": 1, "inter_op_num_threads": 1})


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
            ratio = detection_scale(w, h)
            height = max(32, round(int(h * ratio) / 32) * 32)
            width = max(32, round(int(w * ratio) / 32) * 32)
            return cv2.resize(img, (width, height))

    detector.get_preprocess = lambda max_wh: ShortSide(short_side, "min", detector.mean, detector.std)


def detection_scale(width: int, height: int) -> float:
    """How much text detection scales an image: its short side to DET_SHORT_SIDE, but never its long
    side over DET_MAX_LONG nor more than DET_MAX_UPSCALE times (a 160x40 label would otherwise be
    detected at 2944x736, and a 60000x8 strip at 5,520,000x736)."""
    return min(DET_SHORT_SIDE / min(width, height), DET_MAX_LONG / max(width, height), DET_MAX_UPSCALE)


ENGINE = Engine(_load_ocr)


def ocr(data: bytes) -> list[TextLine]:
    """The lines of text in the image ``data`` (bytes of a PNG/JPEG/GIF/WebP), in reading order."""
    return ENGINE.run(digest(data), lambda engine: _ocr_run(engine, data))


def _ocr_run(engine: Any, data: bytes) -> list[TextLine]:
    """RapidOCR's steps (as ``engine(bgr, use_cls=False, return_word_box=True)`` runs them), with dense
    lines cut apart, recognition spread over the cores, and character boxes only where spaces are put back.

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
    crops = engine.get_crop_img_list(img, boxes)
    heights = [_read_height(crop) if cut_apart else None for crop, cut_apart in zip(crops, cut, strict=True)]
    readings = _read_all(engine, crops, heights)
    raw_h, raw_w = bgr.shape[:2]
    gray = grayscale(pixels)
    lines = []
    for img_box, box, crop, (text, score, info) in zip(
        boxes, engine._get_origin_points(boxes, record, raw_h, raw_w).tolist(), crops, readings, strict=True
    ):
        if float(score) < engine.text_score:  # RapidOCR drops what it is unsure of
            continue
        if len(text) >= 3 and horizontal(box):
            chars = char_boxes(img_box, crop.shape[1], crop.shape[0], info)
            chars = engine._get_origin_points(chars, record, raw_h, raw_w).astype(np.int32).tolist()
            text = restore_spaces(gray, box, text, list(text), chars)
        text, score = _reread_vertical(engine, bgr, box, text, score)
        xs = [round(float(p[0])) for p in box]
        ys = [round(float(p[1])) for p in box]
        if text.strip():
            lines.append(TextLine(text.strip(), (min(xs), min(ys), max(xs), max(ys)), round(float(score), 4)))
    return rows(lines)


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
    """
    shares = ink(crop.astype(np.float32).mean(axis=2))
    if shares is None:
        return 48
    mass = np.cumsum(shares.sum(axis=1))
    low, high = np.searchsorted(mass, [0.1 * mass[-1], 0.9 * mass[-1]])
    return int(np.clip(round(crop.shape[0] * CUT_X_HEIGHT / (high - low + 1)), 16, 64))


def _read_all(
    engine: Any, crops: list[np.ndarray], heights: list[int | None]
) -> list[tuple[str, float, Any]]:
    """Recognise every crop: (text, score, CTC columns of the characters) each.

    Boxes left whole are read as ``engine(...)`` reads them: in RapidOCR's batches (sorted by aspect
    ratio, ``rec_batch_num`` at a time, each padded to its widest crop; what a crop is read as
    depends on its batch) on ONNX Runtime's threads. Cut lines are read one at a time, each at its
    own height, ``READ_WORKERS`` at once on a one-thread session: per pixel read, that is half the
    work of batches of 6, and two one-thread calls at once beat one call on two threads (see the
    README). Each cut line's reading depends on its crop only, not on which thread finishes first.
    """
    recogniser = engine.text_rec
    readings: list[Any] = [None] * len(crops)
    whole = [i for i, height in enumerate(heights) if height is None]
    if whole:
        for i, reading in zip(whole, recogniser([crops[i] for i in whole], True)[0], strict=True):
            readings[i] = reading
    cut = [i for i, height in enumerate(heights) if height is not None]
    cut.sort(key=lambda i: -crops[i].shape[1] / crops[i].shape[0])  # longest first: the threads end together
    session = getattr(engine, "line_session", None) or recogniser.session

    def read(i: int) -> tuple[str, float, Any]:
        return _read_at(recogniser, session, crops[i], heights[i] or 48)

    with ThreadPoolExecutor(READ_WORKERS) as pool:
        for i, reading in zip(cut, pool.map(read, cut), strict=True):
            readings[i] = reading
    return readings


def _read_at(recogniser: Any, session: Any, crop: np.ndarray, height: int) -> tuple[str, float, Any]:
    """Read one crop resized to ``height`` pixels, as RapidOCR reads a crop at its usual height (48).

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
    return recogniser.postprocess_op(session(pixels)[0], True, wh_ratio_list=[ratio], max_wh_ratio=most)[0]


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
