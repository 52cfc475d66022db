"""Audio: wav and mp3 pass through; other formats are converted to wav in-process with PyAV.

:func:`decode_pcm` is the one audio decoder of the package: the client side uses it to check,
measure and convert clips, and the local host to feed speech recognition. PyAV is imported on
first use, so ``import helpers`` stays cheap.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass

from .attachments import Attachment
from .errors import UnsupportedFormatError
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


def decode_pcm(source: Source, *, rate: int | None = None, mono: bool = False) -> Pcm:
    """Decode every frame of a clip PyAV reads (wav, mp3, m4a, ogg, flac, webm ...) to 16-bit PCM.

    ``rate`` and ``mono`` resample (the source's rate and channels when not given). Raises
    UnsupportedFormatError naming the clip when it is not audio, is damaged, or holds no sound.
    """
    import av

    att = Attachment.coerce(source)
    where = f"{att.name!r} ({att.mime_type})"
    chunks: list[bytes] = []
    samples = source_rate = channels = out_rate = 0
    try:
        with av.open(io.BytesIO(att.content_bytes()), "r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise UnsupportedFormatError(f"{where} holds no audio stream; use a file with sound in it.")
            resampler = None
            for frame in container.decode(container.streams.audio[0]):
                if resampler is None:
                    layout = "mono" if mono else frame.layout.name
                    out_rate = rate or frame.sample_rate
                    channels = av.AudioLayout(layout).nb_channels
                    resampler = av.AudioResampler(format="s16", layout=layout, rate=out_rate)
                samples += frame.samples
                source_rate = frame.sample_rate
                chunks.extend(
                    bytes(out.planes[0])[: out.samples * 2 * channels] for out in resampler.resample(frame)
                )
            if resampler is not None:
                chunks.extend(
                    bytes(out.planes[0])[: out.samples * 2 * channels] for out in resampler.resample(None)
                )
    except UnsupportedFormatError:
        raise
    except (av.FFmpegError, ValueError, IndexError, OSError) as exc:
        raise UnsupportedFormatError(
            f"{where} is not audio PyAV can decode, or it is damaged ({exc}). "
            "Use a wav, mp3, m4a, ogg, flac or webm file, or re-export the recording."
        ) from exc
    if not samples or not source_rate:
        raise UnsupportedFormatError(
            f"{where} holds no sound (0 seconds of audio); record or export a clip with speech in it."
        )
    return Pcm(b"".join(chunks), out_rate, channels, samples / source_rate)


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


def audio_duration(source: Source) -> float:
    """Duration in seconds, from the decoded samples (exact, not the container's guess)."""
    return decode_pcm(source).duration


def to_wav(source: Source) -> Attachment:
    """Decode any audio PyAV reads and write it as 16-bit PCM wav, same rate and channels."""
    att = Attachment.coerce(source)
    pcm = decode_pcm(att)
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
        att = to_wav(att)
        att.check_size(max_bytes, "audio")
    else:
        att.check_size(max_bytes, "audio")
        decode_pcm(att)
    return att
