"""Benchmark the local host's speech recognition: real-time factor and word error rate, English and Spanish.

What is measured
----------------
Clips are spoken by espeak-ng (``-v en`` and ``-v es``) from known sentences (6 per language): one
clip per sentence (2-3 s, the kind of clip a notebook or test sends), clips of three sentences (about
7 s) and one clip of all six (about 14 s) per language.

* Real-time factor (RTF) = recognition seconds / clip seconds, median over the clips of a set:
  ``helpers.local.speech.transcribe`` (wav bytes in: decoding, language detection, recognition)
  against faster-whisper called directly on the same model with the same settings (samples already
  decoded, language left to faster-whisper to detect: what a user would write). Each clip is timed
  ``--repeat`` times (3) and the fastest kept, so other work on the machine counts less; the
  transcript cache and the kept encoding are dropped before each call. Whisper encodes a 30-second
  window whatever the clip's length, so short clips have a high RTF.
* Word error rate (WER) of the transcripts against the spoken sentences (lower case, punctuation
  dropped; word-level Levenshtein distance / reference words), per language, and the detected
  language of each clip.
* Translation (``task="translate"``) of the Spanish clips: the English output beside a reference
  English sentence, and its WER against that reference (indicative only: a good translation can
  use other words).

Run it from the repository root (about two minutes on 2 cores)::

    .venv/bin/python bench/speech.py
    .venv/bin/python bench/speech.py --model /path/to/ctranslate2-whisper   # another model

Target: real-time factor under 0.3.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ENGLISH = (
    "The weather is very nice today.",
    "Please close the door when you leave the room.",
    "My brother works at the hospital in the city.",
    "We are going to the beach this weekend.",
    "Can you help me find the train station?",
    "She reads a book every night before bed.",
)
#: Spanish sentences and a reference English translation of each.
SPANISH = (
    ("Hola, ¿cómo estás? Me llamo Ana.", "Hello, how are you? My name is Ana."),
    ("El tiempo es muy agradable hoy.", "The weather is very nice today."),
    ("Por favor, cierra la puerta cuando salgas.", "Please close the door when you leave."),
    ("Mi hermano trabaja en el hospital de la ciudad.", "My brother works at the hospital in the city."),
    ("Vamos a la playa este fin de semana.", "We are going to the beach this weekend."),
    ("¿Puedes ayudarme a encontrar la estación de tren?", "Can you help me find the train station?"),
)


def words(text: str) -> list[str]:
    """Lower-case words without punctuation (accents kept): what WER compares."""
    text = unicodedata.normalize("NFC", text.lower())
    return re.sub(r"[^\w\s']|_", " ", text).split()


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate: word-level Levenshtein distance (substitutions, insertions, deletions) /
    number of reference words."""
    ref, hyp = words(reference), words(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i]
        for j, h in enumerate(hyp, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1] / max(1, len(ref))


def speak(text: str, voice: str, folder: Path, name: str) -> bytes:
    """A wav of ``text`` spoken by espeak-ng with ``voice``."""
    path = folder / f"{name}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)
    return path.read_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a CTranslate2 Whisper directory [the local host's Whisper base]")
    parser.add_argument("--repeat", type=int, default=3, help="timings per clip; the fastest is kept [3]")
    args = parser.parse_args()

    from faster_whisper import WhisperModel

    from helpers.local import speech

    speech.configure(args.model)
    path = speech.whisper_model_path(args.model)
    ours = speech.ENGINE.get()  # loaded before timing
    direct = WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=speech.THREADS)

    def run_ours(wav: bytes, task: str = "transcribe") -> tuple[str, str, float, float]:
        took = []
        for _ in range(args.repeat):
            speech.ENGINE.cache.clear()  # no transcript cache ...
            ours.encode.forget()  # ... and no encoding kept from the last call
            started = time.perf_counter()
            transcript = speech.transcribe(wav, task)
            took.append(time.perf_counter() - started)
        return transcript.text, transcript.language, min(took), transcript.duration

    def run_direct(wav: bytes) -> tuple[str, str, float]:
        samples = speech.decode_audio(wav).samples
        took = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            segments, info = direct.transcribe(
                samples, beam_size=1, temperature=0.0, condition_on_previous_text=False
            )
            text = " ".join(s.text.strip() for s in segments)
            took.append(time.perf_counter() - started)
        return text, info.language, min(took)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sets: dict[str, list[tuple[str, str, bytes]]] = {
            "one sentence": [],
            "three sentences": [],
            "six sentences": [],
        }
        for language, sentences in (("en", ENGLISH), ("es", tuple(s for s, _ in SPANISH))):
            for size, label in ((1, "one sentence"), (3, "three sentences"), (6, "six sentences")):
                for i in range(0, len(sentences), size):
                    text = " ".join(sentences[i : i + size])
                    sets[label].append(
                        (language, text, speak(text, language, folder, f"{language}{size}-{i}"))
                    )
        warm = speak("Warming up.", "en", folder, "warm")
        run_ours(warm)
        run_direct(warm)

        load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"Speech recognition on {platform.machine()}, {os.cpu_count()} cores, load average {load}")
        print(
            f"model: {path} (int8, {speech.THREADS} threads, greedy, temperature 0); "
            f"each timing the fastest of {args.repeat}\n"
        )
        results = {}
        for label, clips in sets.items():
            rows = []
            for language, text, wav in clips:
                heard, detected, ours_s, seconds = run_ours(wav)
                direct_text, direct_language, direct_s = run_direct(wav)
                rows.append((language, text, heard, detected, ours_s, direct_s, seconds))
                if len(rows) == 1:
                    print(f"== clips of {label}")
                _print_row(rows[-1])
                if heard != direct_text:
                    print(f"      faster-whisper direct heard {direct_language}: {direct_text}")
            results[label] = rows
            print()

        print("== translation (task=translate) of the Spanish clips of one sentence")
        translation_wers = []
        translate_rtf = []
        spanish_clips = [c for c in sets["one sentence"] if c[0] == "es"]
        for (said, reference), (_, _, wav) in zip(SPANISH, spanish_clips, strict=True):
            english, _, took, seconds = run_ours(wav, "translate")
            translation_wers.append(wer(reference, english))
            translate_rtf.append(took / seconds)
            print(f"  {said}\n      reference: {reference}\n      output:    {english}")
        print()

        print("== summary")
        for label, rows in results.items():
            ours_rtf = statistics.median(r[4] / r[6] for r in rows)
            direct_rtf = statistics.median(r[5] / r[6] for r in rows)
            print(
                f"  RTF, clips of {label} ({statistics.median(r[6] for r in rows):.1f} s): local host "
                f"{ours_rtf:.3f}, faster-whisper direct {direct_rtf:.3f} (median of {len(rows)}; "
                f"target < 0.3: {'met' if ours_rtf < 0.3 else 'NOT met'})"
            )
        for language, name in (("en", "English"), ("es", "Spanish")):
            for label, rows in results.items():
                mine = [r for r in rows if r[0] == language]
                errors = sum(wer(r[1], r[2]) * len(words(r[1])) for r in mine)
                total = errors / sum(len(words(r[1])) for r in mine)
                right = sum(r[3] == language for r in mine)
                print(
                    f"  WER {name}, clips of {label}: {total:.2f} (all words of {len(mine)} clips); "
                    f"language detected right in {right} of {len(mine)}"
                )
        ref_words = [len(words(reference)) for _, reference in SPANISH]
        pooled = sum(w * n for w, n in zip(translation_wers, ref_words, strict=True)) / sum(ref_words)
        print(
            f"  Spanish -> English translation, clips of one sentence: WER against the reference "
            f"{pooled:.2f} (indicative), RTF {statistics.median(translate_rtf):.3f}"
        )


def _print_row(row: tuple[str, str, str, str, float, float, float]) -> None:
    language, text, heard, detected, ours_s, direct_s, seconds = row
    print(
        f"  {language} {seconds:4.1f} s  detected {detected}  WER {wer(text, heard):4.2f}  "
        f"RTF {ours_s / seconds:.3f} (direct {direct_s / seconds:.3f})\n"
        f"      said:  {text}\n      heard: {heard}"
    )


if __name__ == "__main__":
    main()
