"""Audio: wav and mp3 pass through; other formats are converted to wav in-process with PyAV."""

from __future__ import annotations

import io

import av

from .attachments import Attachment
from .errors import UnsupportedFormatError
from .limits import AUDIO_MIME_TYPES, MAX_AUDIO_BYTES


def audio_format(source: Attachment | str | bytes) -> str:
    """The ``input_audio`` format of an attachment: ``"wav"`` or ``"mp3"``; raise for others."""
    att = Attachment.coerce(source)
    fmt = AUDIO_MIME_TYPES.get(att.mime_type)
    if fmt is None:
        raise UnsupportedFormatError(
            f"{att.name!r} is {att.mime_type}; input_audio takes wav or mp3. "
            "Pass it through prepare_audio() to convert it to wav."
        )
    return fmt


def _open(att: Attachment) -> av.container.InputContainer:
    try:
        container = av.open(io.BytesIO(att.content_bytes()), "r")
    except (av.error.FFmpegError, ValueError) as exc:
        raise UnsupportedFormatError(
            f"{att.name!r} ({att.mime_type}) is not audio PyAV can decode ({exc}). "
            "Use a wav, mp3, m4a, ogg, flac or webm file."
        ) from exc
    if not container.streams.audio:
        container.close()
        raise UnsupportedFormatError(f"{att.name!r} holds no audio stream; use a file with sound in it.")
    return container


def _check_decodes(att: Attachment) -> None:
    """Raise unless the first audio frame decodes (a truncated header passes the sniffing)."""
    with _open(att) as container:
        try:
            next(container.decode(container.streams.audio[0]))
        except (av.error.FFmpegError, StopIteration) as exc:
            raise UnsupportedFormatError(
                f"{att.name!r} starts like {att.mime_type} but holds no decodable sound; re-export it."
            ) from exc


def audio_duration(source: Attachment | str | bytes) -> float:
    """Duration in seconds, from the decoded samples (exact, not the container's guess)."""
    att = Attachment.coerce(source)
    with _open(att) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return samples / stream.codec_context.sample_rate


def to_wav(source: Attachment | str | bytes) -> Attachment:
    """Decode any audio PyAV reads and write it as 16-bit PCM wav, same rate and channels."""
    att = Attachment.coerce(source)
    out = io.BytesIO()
    with _open(att) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        layout = stream.codec_context.layout.name
        resampler = av.AudioResampler(format="s16", layout=layout, rate=rate)
        with av.open(out, "w", format="wav") as wav:
            wav_stream = wav.add_stream("pcm_s16le", rate=rate, layout=layout)
            try:
                for frame in container.decode(stream):
                    for chunk in resampler.resample(frame):
                        wav.mux(wav_stream.encode(chunk))
            except av.error.FFmpegError as exc:
                raise UnsupportedFormatError(
                    f"{att.name!r} is damaged ({exc}); re-export the recording."
                ) from exc
            for chunk in resampler.resample(None):
                wav.mux(wav_stream.encode(chunk))
            wav.mux(wav_stream.encode(None))
    stem = (att.name or "audio").rsplit(".", 1)[0]
    return Attachment(content=out.getvalue(), name=f"{stem}.wav")


def prepare_audio(source: Attachment | str | bytes, *, max_bytes: int = MAX_AUDIO_BYTES) -> Attachment:
    """Return a wav or mp3 attachment within ``max_bytes`` that ``input_audio`` accepts.

    wav and mp3 pass through unchanged; m4a, ogg, flac, webm and other formats PyAV can
    decode are converted to wav in-process (no ffmpeg binary needed).
    """
    att = Attachment.coerce(source)
    if att.mime_type not in AUDIO_MIME_TYPES:
        att = to_wav(att)
    else:
        _check_decodes(att)
    att.check_size(max_bytes, "audio")
    return att
