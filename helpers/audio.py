"""Audio: wav and mp3 pass through; other formats are converted to wav in-process with PyAV.

:func:`decode_pcm` is the one audio decoder of the package: the client side uses it to check,
measure and convert clips, and the local host to feed speech recognition. PyAV is imported on
first use, so ``import helpers`` stays cheap.
"""

from __future__ import annotations

import io
import struct
import wave
from dataclasses import dataclass

from .attachments import Attachment, human_size
from .errors import InputError, TooLargeError, UnsupportedFormatError
from .limits import AUDIO_MIME_TYPES, MAX_AUDIO_BYTES

Source = Attachment | str | bytes


@dataclass(frozen=True)
class Pcm:
    """Decoded audio: interleaved 16-bit little-endian samples, their rate and channel count, and the
    clip's duration in seconds (counted from the decoded samples at the source's own rate)."""

    data: bytes
    rate: int
    channels: int
    duration: float


def decode_pcm(
    source: Source, *, rate: int | None = None, mono: bool = False, max_bytes: int | None = None
) -> Pcm:
    """Decode every frame of a clip PyAV reads (wav, mp3, m4a, ogg, flac, webm ...) to 16-bit PCM.

    ``rate`` and ``mono`` resample (the source's rate and channels when not given); the duration is
    the source's either way. Raises UnsupportedFormatError naming the clip when it is empty, not
    audio, damaged, cut short (a wav, or an mp3 whose header gives its length, that ends early) or
    holds no sound, and TooLargeError when the PCM would pass ``max_bytes``.
    """
    import av

    att = Attachment.coerce(source)
    data = att.content_bytes()
    if not data:
        raise UnsupportedFormatError(
            f"{att.name!r} is empty (0 bytes), so it holds no audio; record or export the clip again."
        )
    where = f"{att.name!r} ({att.mime_type})"
    chunks: list[bytes] = []
    samples = source_rate = channels = out_rate = size = 0
    try:
        with av.open(io.BytesIO(data), "r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                what = (
                    f"{att.name!r} is a video without a sound track"
                    if container.streams.video
                    else f"{where} holds no audio stream"
                )
                raise UnsupportedFormatError(f"{what}; use a file with sound in it.")
            declared = (container.duration or 0) / av.time_base
            resampler = None
            for frame in container.decode(container.streams.audio[0]):
                if resampler is None:
                    layout = "mono" if mono else frame.layout.name
                    out_rate = rate or frame.sample_rate
                    channels = av.AudioLayout(layout).nb_channels
                    resampler = av.AudioResampler(format="s16", layout=layout, rate=out_rate)
                samples += frame.samples
                source_rate = frame.sample_rate
                for out in resampler.resample(frame):
                    chunks.append(bytes(out.planes[0])[: out.samples * 2 * channels])
                    size += len(chunks[-1])
                if max_bytes is not None and size > max_bytes:
                    raise TooLargeError(
                        f"{where} decodes to more than {human_size(max_bytes)} of 16-bit PCM at {out_rate} Hz; "
                        "cut the clip shorter and try again."
                    )
            if resampler is not None:
                chunks.extend(
                    bytes(out.planes[0])[: out.samples * 2 * channels] for out in resampler.resample(None)
                )
    except InputError:
        raise
    except (av.FFmpegError, ValueError, IndexError, OSError, EOFError) as exc:
        raise UnsupportedFormatError(_undecodable(att, exc)) from exc
    seconds = samples / source_rate if source_rate else 0.0
    promised = _wav_promises(data) if att.mime_type == "audio/wav" else None
    if promised is None and att.mime_type == "audio/mpeg" and _mp3_declares_length(data):
        promised = declared
    if promised is not None and seconds < promised - 0.1 - promised / 100:
        there = f"only {seconds:.2f} s are there" if seconds else "none is there"
        raise UnsupportedFormatError(
            f"{where} is truncated or damaged: its header promises {promised:.2f} s of audio but {there}. "
            "Re-export or re-download the recording."
        )
    if not samples:
        raise UnsupportedFormatError(
            f"{where} holds no sound (0 seconds of audio); record or export a clip with speech in it."
        )
    return Pcm(b"".join(chunks), out_rate, channels, seconds)


#: Names that say a file should be audio; used only to word an error, never to decide a format.
_AUDIO_SUFFIXES = ("wav", "mp3", "m4a", "ogg", "oga", "flac", "webm", "mp4", "aac", "opus")


def _undecodable(att: Attachment, exc: Exception) -> str:
    """Why PyAV could not decode ``att``: damaged when its bytes look like audio, else not audio."""
    reason = getattr(exc, "strerror", None) or str(exc)
    if att.mime_type.startswith(("audio/", "video/")):
        return (
            f"{att.name!r} ({att.mime_type}) is damaged: PyAV cannot decode it ({reason}). "
            "Re-export or re-download the recording."
        )
    suffix = (att.name or "").rsplit(".", 1)[-1].lower()
    if suffix in _AUDIO_SUFFIXES:
        return (
            f"{att.name!r} is named like {suffix} audio, but its bytes are not {suffix} or any other audio "
            f"PyAV reads ({reason}): the file is damaged or is not a recording. Re-export or re-download it."
        )
    return (
        f"{att.name!r} ({att.mime_type}) is not audio PyAV can decode, or it is damaged ({reason}). "
        "Use a wav, mp3, m4a, ogg, flac or webm file, or re-export the recording."
    )


def _wav_promises(data: bytes) -> float | None:
    """Seconds of sound a wav header promises (its data chunk's size), when it states one."""
    offset, byte_rate = 12, 0
    while offset + 8 <= len(data):
        kind, size = data[offset : offset + 4], struct.unpack_from("<I", data, offset + 4)[0]
        if kind == b"fmt " and offset + 20 <= len(data):
            byte_rate = struct.unpack_from("<I", data, offset + 16)[0]
        elif kind == b"data":
            # Writers that stream (a pipe, a recorder that stopped) leave 0 or ~4 GB as the size.
            return size / byte_rate if byte_rate and 0 < size < 0x7FFF0000 else None
        offset += 8 + size + size % 2
    return None


def _mp3_declares_length(data: bytes) -> bool:
    """Whether an mp3's first frame holds a Xing, Info or VBRI header, which states the frame count.

    Without one, FFmpeg guesses the length from the file size, so a cut file looks complete.
    """
    start = 0
    if data[:3] == b"ID3" and len(data) >= 10:  # skip an ID3v2 tag: 4 x 7-bit size, footer flag
        start = 10 + sum((data[6 + i] & 0x7F) << (21 - 7 * i) for i in range(4))
        start += 10 if data[5] & 0x10 else 0
    head = data[start : start + 200]
    return any(tag in head for tag in (b"Xing", b"Info", b"VBRI"))


def audio_format(source: Source) -> str:
    """The ``input_audio`` format of an attachment: ``"wav"`` or ``"mp3"``; raise for others."""
    att = Attachment.coerce(source)
    fmt = AUDIO_MIME_TYPES.get(att.mime_type)
    if fmt is None:
        raise UnsupportedFormatError(
            f"{att.name!r} is {att.mime_type}; input_audio takes wav or mp3. "
            "Pass it through prepare_audio() to convert it to wav."
        )
    return fmt


#: Decoding only to check or measure a clip keeps its PCM at this rate, mono: 16 KB per second.
_CHECK_RATE = 8000


def audio_duration(source: Source) -> float:
    """Duration in seconds, from the decoded samples (exact, not the container's guess)."""
    return decode_pcm(source, rate=_CHECK_RATE, mono=True).duration


def to_wav(source: Source, *, max_bytes: int | None = None) -> Attachment:
    """Decode any audio PyAV reads and write it as 16-bit PCM wav, same rate and channels.

    ``max_bytes`` stops the decoding (TooLargeError) once the samples pass it.
    """
    att = Attachment.coerce(source)
    pcm = decode_pcm(att, max_bytes=max_bytes)
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(pcm.channels)
        wav.setsampwidth(2)
        wav.setframerate(pcm.rate)
        wav.writeframes(pcm.data)
    stem = (att.name or "audio").rsplit(".", 1)[0]
    return Attachment(content=out.getvalue(), name=f"{stem}.wav")


def prepare_audio(source: Source, *, max_bytes: int = MAX_AUDIO_BYTES) -> Attachment:
    """Return a wav or mp3 attachment within ``max_bytes`` that ``input_audio`` accepts.

    wav and mp3 pass through unchanged once they decode; m4a, ogg, flac, webm and other formats PyAV
    can decode are converted to wav in-process (no ffmpeg binary needed).
    """
    att = Attachment.coerce(source)
    if att.mime_type not in AUDIO_MIME_TYPES:
        att = to_wav(att, max_bytes=max_bytes)
        att.check_size(max_bytes, "audio")
    else:
        att.check_size(max_bytes, "audio")
        decode_pcm(att, rate=_CHECK_RATE, mono=True)  # only to check it decodes whole
    return att
