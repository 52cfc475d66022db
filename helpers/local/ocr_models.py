"""RapidOCR's models for the local host's OCR, loaded once and run on OpenVINO: text detection
sized to the image, recognition of whole boxes in RapidOCR's batches, and the line recogniser that
reads the lines cut apart on dense pages.

RapidOCR (``rapidocr_onnxruntime``) ships PP-OCRv4's detection and recognition models as ONNX files
and runs them on ONNX Runtime; here its sessions are replaced by the same files compiled by
OpenVINO, which computes them faster on a CPU (the measurements are in this folder's README).
Detection and whole boxes are computed in float32: the same boxes and text as ONNX Runtime gives
(on the notebooks' images, a few scores differ in the fourth decimal). Cut lines are read one line
per call in bfloat16 where the processor computes it (AVX-512 BF16 or AMX), float32 elsewhere.
"""

from __future__ import annotations

import queue
from typing import Any

import numpy as np

from .engines import THREADS, Missing

__all__ = ["LineRecogniser", "Session", "detection_scale", "load_engine"]

OCR_INSTALL = "pip install rapidocr_onnxruntime==1.4.4 openvino"
#: Text detection runs with the image's short side at this many pixels (RapidOCR's default minimum).
DET_SHORT_SIDE = 736
#: ... but detection never runs with the long side over this, nor enlarges an image more than this.
DET_MAX_LONG = 4096
DET_MAX_UPSCALE = 4.0
#: The line recogniser's inputs are padded to a multiple of this width, so that the lines of a page
#: share a few input shapes: OpenVINO prepares its kernels once per shape (a page of 90 lines with
#: 90 widths took about a second longer the first time).
WIDTH_STEP = 64
#: How RapidOCR's own sessions are compiled: float32 (its results), on every core, one call at a time.
EXACT = {"INFERENCE_PRECISION_HINT": "f32", "NUM_STREAMS": 1, "INFERENCE_NUM_THREADS": THREADS}


def load_engine() -> Any:
    """RapidOCR with its sessions on OpenVINO, detection sized by :func:`detection_scale`, crops cut
    from the full-size image, and ``line_session``, the :class:`LineRecogniser` for cut lines."""
    try:
        from rapidocr_onnxruntime import RapidOCR
        from rapidocr_onnxruntime.main import DEFAULT_CFG_PATH
        from rapidocr_onnxruntime.utils import read_yaml, update_model_path
    except ImportError as exc:
        raise Missing(
            f"Text recognition is not available: the package rapidocr_onnxruntime is missing. "
            f"Install it with: {OCR_INSTALL}"
        ) from exc
    core = _openvino().Core()
    paths = update_model_path(read_yaml(DEFAULT_CFG_PATH))
    engine = RapidOCR()
    engine.text_cls = None  # no angle classifier (see ocr._ocr_run): its session is not kept
    engine.text_det.infer = Session(core.read_model(paths["Det"]["model_path"]), core, EXACT)
    recogniser = core.read_model(paths["Rec"]["model_path"])
    # Compiled first: the line recogniser then extends the same graph with its top-1 step.
    engine.text_rec.session = Session(recogniser, core, EXACT)
    engine.line_session = LineRecogniser(recogniser, core)
    _detect_at_short_side(engine)
    # RapidOCR first shrinks an image to 2000 px on its long side and cuts the line crops from that;
    # detection is sized by DET_SHORT_SIDE anyway, so the crops are cut from the full-size image
    # (a dense A4 page at 200 dpi: 91% of its words read right instead of 99%).
    engine.max_side_len = 1 << 30
    return engine


def _openvino() -> Any:
    try:
        import openvino
    except ImportError as exc:
        raise Missing(
            f"Text recognition is not available: the package openvino is missing. Install it with: {OCR_INSTALL}"
        ) from exc
    return openvino


class Session:
    """A model compiled by OpenVINO, called as RapidOCR calls its ONNX Runtime sessions:
    ``session(inputs)`` returns the list of outputs (arrays of their own). It has ``requests`` infer
    requests, made once: a call takes an idle one and waits while all are busy, so calls from any
    number of threads are safe and the memory of the requests does not grow with them."""

    def __init__(self, model: Any, core: Any, config: dict[str, Any], requests: int = 1) -> None:
        self._model = core.compile_model(model, "CPU", config)
        self._idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
        for _ in range(requests):
            self._idle.put(self._model.create_infer_request())

    def __call__(self, inputs: np.ndarray) -> list[np.ndarray]:
        request = self._idle.get()
        try:
            return list(request.infer({0: inputs}).values())  # copies, not the request's memory
        finally:
            self._idle.put(request)


class LineRecogniser(Session):
    """The recognition model reading one line per call, on one stream per core (``threads``), each
    computing on its own core, in bfloat16 where the CPU computes it (float32 otherwise).

    ``recogniser(pixels)`` takes a (1, 3, height, width) float32 array normalised as RapidOCR
    normalises and returns, for each output column, the most likely class and its probability
    (two arrays of shape (1, columns)): the model is extended with that top-1 step, so the
    probabilities of all 6,625 classes never leave it. The input is padded (with the value RapidOCR
    pads with) to a multiple of ``WIDTH_STEP``, and the padding's columns are dropped.
    """

    def __init__(self, model: Any, core: Any, threads: int = THREADS) -> None:
        ov = _openvino()
        import openvino.opset11 as ops

        probabilities = model.output(0).get_node().input_value(0)  # what the model's result holds
        # Unsorted: a top-1 sorted stably (to pick the first of equal probabilities, as numpy's argmax
        # does) took 15% of the model's time; equal top probabilities do not occur in practice.
        best = ops.topk(probabilities, 1, -1, "max", "none", "i32")
        model = ov.Model([best.output(1), best.output(0)], model.get_parameters(), "line recogniser")
        # Named, not left to OpenVINO's default, which differs between processors (float16 on some).
        bf16 = "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
        config = {"NUM_STREAMS": threads, "INFERENCE_NUM_THREADS": threads}
        super().__init__(
            model, core, {**config, "INFERENCE_PRECISION_HINT": "bf16" if bf16 else "f32"}, threads
        )

    def __call__(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[override]
        width = pixels.shape[3]
        padded = -(-width // WIDTH_STEP) * WIDTH_STEP
        if padded != width:
            pixels = np.pad(pixels, ((0, 0), (0, 0), (0, 0), (0, padded - width)))
        indices, probabilities = super().__call__(pixels)
        columns = (width + 3) // 8  # the model's columns for the unpadded width (ceil(width / 4) // 2)
        return indices[:, :columns, 0], probabilities[:, :columns, 0]


def _detect_at_short_side(engine: Any) -> None:
    """Run text detection with the image's short side at ``DET_SHORT_SIDE`` pixels, up or down.

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

    detector.get_preprocess = lambda max_wh: ShortSide(DET_SHORT_SIDE, "min", detector.mean, detector.std)


def detection_scale(width: int, height: int) -> float:
    """How much text detection scales an image: its short side to DET_SHORT_SIDE, but never its long
    side over DET_MAX_LONG nor more than DET_MAX_UPSCALE times (a 160x40 label would otherwise be
    detected at 2944x736, and a 60000x8 strip at 5,520,000x736)."""
    return min(DET_SHORT_SIDE / min(width, height), DET_MAX_LONG / max(width, height), DET_MAX_UPSCALE)
