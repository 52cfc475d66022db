"""The languages the local model names: one table for Apertium, Whisper and the words of a request.

Apertium names a pair by ISO 639-3 codes (``eng-spa``), Whisper reports ISO 639-1 codes (``es``) and
OpenAI's ``verbose_json`` writes the language's English name in lower case (``spanish``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    """A language: ISO 639-3 code, ISO 639-1 code, English name, and words that name it in a request."""

    code: str
    iso1: str
    name: str
    words: tuple[str, ...]


LANGUAGES: tuple[Language, ...] = (
    Language("eng", "en", "English", ("english", "inglés", "ingles")),
    Language("spa", "es", "Spanish", ("spanish", "español", "espanol", "castilian")),
    Language("cat", "ca", "Catalan", ("catalan", "català")),
    Language("fra", "fr", "French", ("french", "français", "francais")),
    Language("por", "pt", "Portuguese", ("portuguese", "português", "portugues")),
    Language("ita", "it", "Italian", ("italian", "italiano")),
    Language("deu", "de", "German", ("german", "deutsch")),
    Language("glg", "gl", "Galician", ("galician", "galego")),
    Language("epo", "eo", "Esperanto", ("esperanto",)),
    Language("eus", "eu", "Basque", ("basque", "euskara")),
    Language("nld", "nl", "Dutch", ("dutch",)),
    Language("ron", "ro", "Romanian", ("romanian",)),
    Language("oci", "oc", "Occitan", ("occitan",)),
)
BY_CODE = {language.code: language for language in LANGUAGES}
BY_ISO1 = {language.iso1: language for language in LANGUAGES}
BY_WORD = {word: language for language in LANGUAGES for word in language.words}


def spoken_name(iso1: str) -> str:
    """The name ``verbose_json`` gives a language Whisper detected: ``"es"`` -> ``"spanish"``."""
    language = BY_ISO1.get(iso1)
    return language.name.lower() if language else iso1
