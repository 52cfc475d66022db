"""The languages the local model names: one table for Apertium, Whisper and the words of a request.

Apertium names a pair by ISO 639-3 codes (``eng-spa``), Whisper reports ISO 639-1 codes (``es``) and
OpenAI's ``verbose_json`` writes the language's English name in lower case (``spanish``).

The table holds every language Whisper hears, in the order of its language tokens, named as OpenAI's
Whisper names them (``whisper/tokenizer.py``, MIT; faster-whisper carries the codes but not the
names), so :func:`spoken_name` gives ``verbose_json`` the name OpenAI's API would. Whisper's codes are
ISO 639-1 except ``haw`` (Hawaiian), ``jw`` (Javanese, ISO ``jv``) and ``yue`` (Cantonese, large-v3
only). ``words`` are the words that name a language in a chat request: given only for the languages
the project translates with Apertium, so naming another language does not change what a request asks.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    """A language: ISO 639-3 code, Whisper's (ISO 639-1) code, English name, the words that name it in a
    request, and whether Whisper hears it."""

    code: str
    iso1: str
    name: str
    words: tuple[str, ...] = ()
    whisper: bool = True


LANGUAGES: tuple[Language, ...] = (
    Language("eng", "en", "English", ("english", "inglés", "ingles")),
    Language("zho", "zh", "Chinese"),
    Language("deu", "de", "German", ("german", "deutsch")),
    Language("spa", "es", "Spanish", ("spanish", "español", "espanol", "castilian")),
    Language("rus", "ru", "Russian"),
    Language("kor", "ko", "Korean"),
    Language("fra", "fr", "French", ("french", "français", "francais")),
    Language("jpn", "ja", "Japanese"),
    Language("por", "pt", "Portuguese", ("portuguese", "português", "portugues")),
    Language("tur", "tr", "Turkish"),
    Language("pol", "pl", "Polish"),
    Language("cat", "ca", "Catalan", ("catalan", "català")),
    Language("nld", "nl", "Dutch", ("dutch",)),
    Language("ara", "ar", "Arabic"),
    Language("swe", "sv", "Swedish"),
    Language("ita", "it", "Italian", ("italian", "italiano")),
    Language("ind", "id", "Indonesian"),
    Language("hin", "hi", "Hindi"),
    Language("fin", "fi", "Finnish"),
    Language("vie", "vi", "Vietnamese"),
    Language("heb", "he", "Hebrew"),
    Language("ukr", "uk", "Ukrainian"),
    Language("ell", "el", "Greek"),
    Language("msa", "ms", "Malay"),
    Language("ces", "cs", "Czech"),
    Language("ron", "ro", "Romanian", ("romanian",)),
    Language("dan", "da", "Danish"),
    Language("hun", "hu", "Hungarian"),
    Language("tam", "ta", "Tamil"),
    Language("nor", "no", "Norwegian"),
    Language("tha", "th", "Thai"),
    Language("urd", "ur", "Urdu"),
    Language("hrv", "hr", "Croatian"),
    Language("bul", "bg", "Bulgarian"),
    Language("lit", "lt", "Lithuanian"),
    Language("lat", "la", "Latin"),
    Language("mri", "mi", "Maori"),
    Language("mal", "ml", "Malayalam"),
    Language("cym", "cy", "Welsh"),
    Language("slk", "sk", "Slovak"),
    Language("tel", "te", "Telugu"),
    Language("fas", "fa", "Persian"),
    Language("lav", "lv", "Latvian"),
    Language("ben", "bn", "Bengali"),
    Language("srp", "sr", "Serbian"),
    Language("aze", "az", "Azerbaijani"),
    Language("slv", "sl", "Slovenian"),
    Language("kan", "kn", "Kannada"),
    Language("est", "et", "Estonian"),
    Language("mkd", "mk", "Macedonian"),
    Language("bre", "br", "Breton"),
    Language("eus", "eu", "Basque", ("basque", "euskara")),
    Language("isl", "is", "Icelandic"),
    Language("hye", "hy", "Armenian"),
    Language("nep", "ne", "Nepali"),
    Language("mon", "mn", "Mongolian"),
    Language("bos", "bs", "Bosnian"),
    Language("kaz", "kk", "Kazakh"),
    Language("sqi", "sq", "Albanian"),
    Language("swa", "sw", "Swahili"),
    Language("glg", "gl", "Galician", ("galician", "galego")),
    Language("mar", "mr", "Marathi"),
    Language("pan", "pa", "Punjabi"),
    Language("sin", "si", "Sinhala"),
    Language("khm", "km", "Khmer"),
    Language("sna", "sn", "Shona"),
    Language("yor", "yo", "Yoruba"),
    Language("som", "so", "Somali"),
    Language("afr", "af", "Afrikaans"),
    Language("oci", "oc", "Occitan", ("occitan",)),
    Language("kat", "ka", "Georgian"),
    Language("bel", "be", "Belarusian"),
    Language("tgk", "tg", "Tajik"),
    Language("snd", "sd", "Sindhi"),
    Language("guj", "gu", "Gujarati"),
    Language("amh", "am", "Amharic"),
    Language("yid", "yi", "Yiddish"),
    Language("lao", "lo", "Lao"),
    Language("uzb", "uz", "Uzbek"),
    Language("fao", "fo", "Faroese"),
    Language("hat", "ht", "Haitian Creole"),
    Language("pus", "ps", "Pashto"),
    Language("tuk", "tk", "Turkmen"),
    Language("nno", "nn", "Nynorsk"),
    Language("mlt", "mt", "Maltese"),
    Language("san", "sa", "Sanskrit"),
    Language("ltz", "lb", "Luxembourgish"),
    Language("mya", "my", "Myanmar"),
    Language("bod", "bo", "Tibetan"),
    Language("tgl", "tl", "Tagalog"),
    Language("mlg", "mg", "Malagasy"),
    Language("asm", "as", "Assamese"),
    Language("tat", "tt", "Tatar"),
    Language("haw", "haw", "Hawaiian"),
    Language("lin", "ln", "Lingala"),
    Language("hau", "ha", "Hausa"),
    Language("bak", "ba", "Bashkir"),
    Language("jav", "jw", "Javanese"),
    Language("sun", "su", "Sundanese"),
    Language("yue", "yue", "Cantonese"),
    Language("epo", "eo", "Esperanto", ("esperanto",), whisper=False),
)
BY_CODE = {language.code: language for language in LANGUAGES}
BY_ISO1 = {language.iso1: language for language in LANGUAGES}
BY_WORD = {word: language for language in LANGUAGES for word in language.words}
BY_NAME = {language.name.lower(): language for language in LANGUAGES}
#: The codes Whisper knows, in the order of its language tokens.
WHISPER_CODES = tuple(language.iso1 for language in LANGUAGES if language.whisper)


def spoken_name(iso1: str) -> str:
    """The name ``verbose_json`` gives a language Whisper detected: ``"es"`` -> ``"spanish"``."""
    language = BY_ISO1.get(iso1)
    return language.name.lower() if language else iso1


def whisper_code(value: str) -> str | None:
    """Whisper's code for the ``language`` of a request (an ISO 639-1 code, any case), or None."""
    code = value.strip().lower()
    return code if code in WHISPER_CODES else None
