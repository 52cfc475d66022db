"""Small fixtures made on the fly: images, clips and PDFs of known content."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import av
import pytest
from PIL import Image


def image_bytes(fmt: str, size: tuple[int, int] = (64, 48), color: str = "red", **save) -> bytes:
    """Encode a plain image of ``size`` in Pillow format ``fmt``."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt, **save)
    return buffer.getvalue()


def encode_audio(wav: bytes, container: str, codec: str, rate: int) -> bytes:
    """Re-encode a wav clip with PyAV (mono) into ``container`` with ``codec``."""
    out = io.BytesIO()
    with av.open(io.BytesIO(wav)) as source, av.open(out, "w", format=container) as target:
        stream = target.add_stream(codec, rate=rate, layout="mono")
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=rate)
        for frame in source.decode(audio=0):
            for chunk in resampler.resample(frame):
                target.mux(stream.encode(chunk))
        for chunk in resampler.resample(None):
            target.mux(stream.encode(chunk))
        target.mux(stream.encode(None))
    return out.getvalue()


@pytest.fixture(scope="session")
def hello_wav_path(tmp_path_factory) -> Path:
    """A file of 'Hello, how are you?' spoken by espeak-ng (22050 Hz mono wav, 1.36 s)."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is missing: sudo apt-get install espeak-ng")
    path = tmp_path_factory.mktemp("audio") / "hello.wav"
    subprocess.run(["espeak-ng", "-w", str(path), "Hello, how are you?"], check=True)
    return path


@pytest.fixture(scope="session")
def hello_wav_bytes(hello_wav_path: Path) -> bytes:
    """The bytes of ``hello_wav_path``."""
    return hello_wav_path.read_bytes()
