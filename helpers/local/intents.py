"""What the last instruction of a conversation asks the local model for, read with plain rules.

An :class:`Intent` says whether the user wants a translation (and between which languages), a
transcript, the whole text, a description, the title or name of the thing shown, or what a document
is about; anything else is a question answered from the text (:mod:`.answers`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .languages import BY_ISO1, BY_WORD

_LANG_WORDS = "|".join(sorted(map(re.escape, BY_WORD), key=len, reverse=True))
_TARGET = re.compile(rf"\b(?:to|into|in)\s+({_LANG_WORDS})\b", re.I)
_SOURCE = re.compile(rf"\bfrom\s+({_LANG_WORDS})\b", re.I)
_TRANSLATE = re.compile(r"\btranslat|\btradu[cz]", re.I)
_TRANSCRIBE = re.compile(
    r"\btranscri|\bwhat (?:is|was|are they|is being) (?:said|saying)|\bwrite (?:it )?(?:down|out)"
    r"|\bdictat|\bspeech[- ]to[- ]text",
    re.I,
)
_READ_ALL = re.compile(
    r"\b(?:read|extract|ocr|all (?:of )?the text|full text|every line|what does (?:it|this|the \w+) say"
    r"|what is written|what's written)\b",
    re.I,
)
_DESCRIBE = re.compile(
    r"\bdescribe\b|\bdescription\b|\bwhat(?:'s| is) (?:in|on) (?:this|the|it)\b|\bwhat (?:do|can) you see\b"
    r"|\bwhat does (?:this|the|it)(?: \w+)? show\b|\bwhat is (?:this|shown)\s*\??$",
    re.I,
)
_NAMED_THING = (
    r"(?:shop|store|company|restaurant|cafe|café|business|vendor|merchant|seller|supplier|hotel|bank"
    r"|organi[sz]ation|brand|firm|issuer|sender|place)"
)
_TITLE = re.compile(
    rf"\btitle\b|\bheading\b|\bheadline\b|\bname of (?:the |this |that )?{_NAMED_THING}\b|\bwhich {_NAMED_THING}\b"
    rf"|\bwhat {_NAMED_THING}\b|\bwho (?:issued|sent|wrote|made)\b|\bwhere (?:is|was) (?:this|the|it)\b.*\bfrom\b",
    re.I,
)
_ABOUT = re.compile(r"\babout\s*[?.!]*\s*$|\bsummar|\bgist\b|\boverview\b|\bmain (?:point|idea|topic)", re.I)
_STOPWORD_TEXT = """a about above after again all also am an and any are as at be been before being below between both but by
    can could did do does doing down during each few for from further had has have having he her here hers him his
    how i if in into is it its itself just me more most my no nor not now of off on once only or other our out over
    own please same she should so some such than that the their them then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your image images
    picture photo photograph page pages document text say says said show shows shown tell see look find give list
    written write there's what's it's"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@dataclass(frozen=True)
class Intent:
    """What the last user instruction asks for; ``source`` and ``target`` are ISO 639-3 codes."""

    translate: bool = False
    transcribe: bool = False
    read_all: bool = False
    source: str | None = None
    target: str | None = None
    describe: bool = False
    title: bool = False
    about: bool = False


def read_intent(instruction: str) -> Intent:
    """The wishes and languages named in an instruction."""
    target_match = _TARGET.search(instruction)
    source_match = _SOURCE.search(instruction)
    target = BY_WORD[target_match.group(1).lower()].code if target_match else None
    source = BY_WORD[source_match.group(1).lower()].code if source_match else None
    wants_translation = bool(_TRANSLATE.search(instruction)) or (
        target is not None and target != (source or "eng")
    )
    return Intent(
        translate=wants_translation,
        transcribe=bool(_TRANSCRIBE.search(instruction)),
        read_all=bool(_READ_ALL.search(instruction)),
        source=source,
        target=target,
        describe=bool(_DESCRIBE.search(instruction)),
        title=bool(_TITLE.search(instruction)),
        about=bool(_ABOUT.search(instruction)),
    )


def language_pair(intent: Intent, heard: str | None = None) -> tuple[str, str]:
    """(source, target) ISO 639-3 codes: named ones first, then what was heard, English to Spanish by default."""
    source = (
        intent.source
        or (BY_ISO1[heard].code if heard in BY_ISO1 else None)
        or ("spa" if intent.target == "eng" else "eng")
    )
    target = intent.target or ("spa" if source == "eng" else "eng")
    return source, target


def question_words(instruction: str) -> list[str]:
    """The content words of a question, lower-cased, without stop words, in order, once each."""
    seen: list[str] = []
    for word in re.findall(r"[^\W_]+", instruction.lower()):
        wanted = len(word) > 2 or word.isdigit() or re.fullmatch(r"[a-z]\d+", word)
        if wanted and word not in STOPWORDS and word not in seen:
            seen.append(word)
    return seen
