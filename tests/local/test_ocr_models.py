"""RapidOCR's models on OpenVINO: the same results as RapidOCR's ONNX Runtime sessions, and the line
recogniser's inputs, outputs and heights."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.local import ocr, ocr_models

pytest.importorskip("openvino")


@pytest.fixture(scope="module")
def engine() -> object:
    return ocr.ENGINE.get()


@pytest.fixture(scope="module")
def onnx_runtime() -> dict[str, object]:
    """RapidOCR's own ONNX Runtime sessions of its detection and recognition models."""
    from rapidocr_onnxruntime.main import DEFAULT_CFG_PATH
    from rapidocr_onnxruntime.utils import OrtInferSession, read_yaml, update_model_path

    config = update_model_path(read_yaml(DEFAULT_CFG_PATH))
    return {"det": OrtInferSession(config["Det"]), "rec": OrtInferSession(config["Rec"])}


def line_crop(text: str, size: int = 22) -> np.ndarray:
    """A BGR crop of one line of dark text on white, about as a detector's box cuts it."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("RGB", (right - left + 2 * size, bottom - top + size), "white")
    ImageDraw.Draw(image).text((size - left, size // 2 - top), text, fill=(20, 20, 20), font=font)
    return np.asarray(image)[:, :, ::-1].copy()


def test_engine_sessions_are_openvino_in_float32(engine: object) -> None:
    assert isinstance(engine.text_det.infer, ocr_models.Session)
    assert isinstance(engine.text_rec.session, ocr_models.Session)
    assert isinstance(engine.line_session, ocr_models.LineRecogniser)
    for session in (engine.text_det.infer, engine.text_rec.session):
        assert str(session._model.get_property("INFERENCE_PRECISION_HINT")) == "<Type: 'float32'>"


def test_detection_and_batches_give_what_onnx_runtime_gives(engine: object, onnx_runtime: dict) -> None:
    rng = np.random.default_rng(7)
    image = rng.random((1, 3, 96, 160), dtype=np.float32)
    ours, theirs = engine.text_det.infer(image), onnx_runtime["det"](image)
    assert [a.shape for a in ours] == [b.shape for b in theirs] == [(1, 1, 96, 160)]
    np.testing.assert_allclose(ours[0], theirs[0], atol=1e-4)
    batch = rng.random((2, 3, 48, 320), dtype=np.float32) * 2 - 1
    ours, theirs = engine.text_rec.session(batch), onnx_runtime["rec"](batch)
    assert ours[0].shape == theirs[0].shape == (2, 40, 6625)
    np.testing.assert_allclose(ours[0], theirs[0], atol=1e-4)


@pytest.mark.parametrize("width", [321, 1001, 1024])
def test_line_recogniser_gives_one_class_per_column_of_the_unpadded_width(
    engine: object, onnx_runtime: dict, width: int
) -> None:
    pixels = np.zeros((1, 3, 33, width), np.float32)  # a blank line (RapidOCR's padding value)
    indices, probabilities = engine.line_session(pixels)
    theirs = onnx_runtime["rec"](pixels)[0]
    assert theirs.shape[1] == (width + 3) // 8  # 40, 125 and 128 columns
    assert indices.shape == probabilities.shape == (1, theirs.shape[1])
    assert indices.dtype == np.int32
    assert set(indices.ravel().tolist()) == set(theirs.argmax(axis=2).ravel().tolist()) == {0}  # CTC blanks
    assert 0 < float(probabilities.min()) <= float(probabilities.max()) <= 1


def test_a_line_reads_as_onnx_runtime_reads_it(engine: object, onnx_runtime: dict) -> None:
    text = "Two field engineers shipped 47 crates of apples on Monday."
    crop = line_crop(text)
    height = ocr._read_height(crop)
    pixels, ratio, most = ocr._line_pixels(engine.text_rec, crop, height)
    ours = ocr._decode(engine.text_rec, *engine.line_session(pixels), ratio, most)
    probabilities = onnx_runtime["rec"](pixels)[0]
    theirs = ocr._decode(
        engine.text_rec, probabilities.argmax(axis=2), probabilities.max(axis=2), ratio, most
    )
    assert ours[0] == theirs[0] == text
    assert abs(ours[1] - theirs[1]) < 0.01  # the score: bfloat16 on CPUs that have it
    assert ours[2][0] == pytest.approx(theirs[2][0])  # the column count the character boxes use


def test_cut_lines_are_read_at_least_33_pixels_high() -> None:
    crop = line_crop("minimum", size=40)
    assert ocr._read_height(crop) == 62  # with its margins, its x-height scaled to 16 px
    ink_rows = np.flatnonzero(crop.min(axis=(1, 2)) < 128)
    tight = crop[ink_rows[0] : ink_rows[-1] + 1]  # cut to its ink (28 rows): 22 px at that scale
    assert ocr._read_height(tight) == ocr.READ_MIN_HEIGHT == 33


def test_sessions_serve_any_number_of_threads_with_their_own_requests(engine: object) -> None:
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(11)
    batches = [rng.random((1, 3, 48, 320), dtype=np.float32) * 2 - 1 for _ in range(4)]
    alone = [engine.text_rec.session(batch)[0] for batch in batches]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda i: engine.text_rec.session(batches[i % 4])[0], range(16)))
    for i, result in enumerate(together):
        np.testing.assert_array_equal(result, alone[i % 4])
    assert engine.text_rec.session._idle.qsize() == 1  # one request, made once, back when idle
    assert engine.line_session._idle.qsize() == ocr.READ_WORKERS
