"""Audio: wav/mp3 pass through, other formats convert in-process, durations, bad clips."""

import pytest

from helpers import (
    Attachment,
    TooLargeError,
    UnsupportedFormatError,
    audio_duration,
    audio_format,
    prepare_audio,
)

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
