"""Audio: wav/mp3 pass through, other formats convert in-process, durations, bad clips."""

import io
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from helpers import (
    Attachment,
    TooLargeError,
    UnsupportedFormatError,
    audio_duration,
    audio_format,
    prepare_audio,
)
from helpers.audio import decode_pcm

from .conftest import encode_audio


@pytest.fixture(scope="module")
def clips(hello_wav_path):
    wav = hello_wav_path.read_bytes()
    return {
        "wav": wav,
        "mp3": encode_audio(wav, "mp3", "libmp3lame", 22050),
        "ogg": encode_audio(wav, "ogg", "libopus", 48000),
        "m4a": encode_audio(wav, "mp4", "aac", 22050),
        "flac": encode_audio(wav, "flac", "flac", 22050),
    }


def test_sniffed_types(clips):
    assert {k: Attachment(content=v).mime_type for k, v in clips.items()} == {
        "wav": "audio/wav",
        "mp3": "audio/mpeg",
        "ogg": "audio/ogg",
        "m4a": "audio/mp4",
        "flac": "audio/flac",
    }


@pytest.mark.parametrize("kind", ["wav", "mp3"])
def test_wav_and_mp3_pass_through(clips, kind):
    att = Attachment(content=clips[kind])
    assert prepare_audio(att) is att
    assert audio_format(att) == kind


@pytest.mark.parametrize("kind", ["ogg", "m4a", "flac"])
def test_other_formats_convert_to_wav(clips, kind):
    out = prepare_audio(Attachment(content=clips[kind], name=f"hello.{kind}"))
    assert (out.name, out.mime_type, audio_format(out)) == ("hello.wav", "audio/wav", "wav")
    assert audio_duration(out) == pytest.approx(audio_duration(clips["wav"]), abs=0.06)


def test_duration_of_espeak_clip(clips):
    samples = (len(clips["wav"]) - 44) // 2  # espeak-ng writes a 44-byte header, 16-bit mono
    assert audio_duration(clips["wav"]) == samples / 22050


def test_bad_audio():
    with pytest.raises(
        UnsupportedFormatError,
        match=r"^'notes.txt' \(application/octet-stream\) is not audio PyAV can decode",
    ):
        prepare_audio(Attachment(content=b"hello there", name="notes.txt"))
    with pytest.raises(UnsupportedFormatError) as err:
        audio_format(Attachment(content=b"fLaC\0\0\0\x22" + b"\0" * 40, name="x.flac"))
    assert str(err.value) == (
        "'x.flac' is audio/flac; input_audio takes wav or mp3. Pass it through prepare_audio() to convert it to wav."
    )


def test_size_limit(clips):
    with pytest.raises(TooLargeError, match=r"^Audio 'hello.wav' is \d+ KB; the limit is 1 KB\."):
        prepare_audio(Attachment(content=clips["wav"], name="hello.wav"), max_bytes=1024)


DATA = Path(__file__).resolve().parents[1] / "data"


def silent_wav() -> bytes:
    """A well-formed wav holding 0 frames."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
    return out.getvalue()


def video_without_sound() -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _ in range(3):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


def bad_clip(kind: str) -> bytes:
    wav, mp3 = (DATA / "hello.wav").read_bytes(), (DATA / "hello.mp3").read_bytes()
    return {
        "silent.wav": silent_wav,
        "empty.wav": lambda: b"",
        "header.wav": lambda: wav[:44],
        "cut.wav": lambda: wav[: len(wav) // 2],
        "cut.mp3": lambda: mp3[: len(mp3) // 2],
        "stub.mp3": lambda: mp3[:300],
        "random.wav": lambda: bytes((i * 7919 + 13) % 251 for i in range(5000)),
        "video.mp4": video_without_sound,
    }[kind]()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "silent.wav",
            "'silent.wav' (audio/wav) holds no sound (0 seconds of audio); record or export a clip with "
            "speech in it.",
        ),
        (
            "empty.wav",
            "'empty.wav' is empty (0 bytes), so it holds no audio; record or export the clip again.",
        ),
        (
            "header.wav",
            "'header.wav' (audio/wav) is truncated or damaged: its header promises 1.71 s of audio but none "
            "is there. Re-export or re-download the recording.",
        ),
        (
            "cut.wav",
            "'cut.wav' (audio/wav) is truncated or damaged: its header promises 1.71 s of audio but only "
            "0.86 s are there. Re-export or re-download the recording.",
        ),
        (
            "cut.mp3",
            "'cut.mp3' (audio/mpeg) is truncated or damaged: its header promises 1.71 s of audio but only "
            "0.84 s are there. Re-export or re-download the recording.",
        ),
        (
            "stub.mp3",
            "'stub.mp3' (audio/mpeg) is damaged: PyAV cannot decode it (Invalid data found when processing "
            "input). Re-export or re-download the recording.",
        ),
        (
            "random.wav",
            "'random.wav' is named like wav audio, but its bytes are not wav or any other audio PyAV reads "
            "(Invalid data found when processing input): the file is damaged or is not a recording. "
            "Re-export or re-download it.",
        ),
        ("video.mp4", "'video.mp4' is a video without a sound track; use a file with sound in it."),
    ],
)
def test_broken_clips_name_the_file_and_what_is_wrong(name, message):
    data = bad_clip(name)
    for check in (decode_pcm, prepare_audio, audio_duration):
        with pytest.raises(UnsupportedFormatError) as err:
            check(Attachment(content=data, name=name))
        assert str(err.value) == message


def test_the_data_clips_are_whole():
    for name in ("hello.wav", "hello.mp3", "paragraph.wav", "paragraph.mp3"):
        assert prepare_audio(DATA / name).name == name


def test_conversion_stops_at_the_byte_limit(clips):
    with pytest.raises(TooLargeError) as err:
        prepare_audio(Attachment(content=clips["ogg"], name="hello.ogg"), max_bytes=20_000)
    assert str(err.value) == (
        "'hello.ogg' (audio/ogg) decodes to more than 20 KB of 16-bit PCM at 48000 Hz; cut the clip "
        "shorter and try again."
    )
