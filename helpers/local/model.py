"""The local model: deterministic answers composed from real perception.

The reply follows the last user instruction:

* translate (``translate``, ``in Spanish``, ``into French`` ...) -> the translation, and the
  transcript or text it came from;
* transcribe -> the transcript of each clip;
* a question about an image -> a short description and the OCR lines that share the most words
  with the question (all lines when the question asks to read the text or names nothing);
* several attachments -> one part per attachment, headed ``Image 1``, ``Audio 1`` ...;
* text only -> what the local model can do (or the translation of the quoted text).

Attachments are taken from the last user message, or, when it has none, from the latest
earlier user message that has some (so "now translate it" works as a follow-up).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import tokenizer
from .engines import Missing
from .imagefacts import image_facts
from .languages import BY_CODE, BY_ISO1, BY_WORD
from .media import Audio, Image
from .ocr import ocr
from .protocol import ChatRequest, Message
from .settings import MODEL_ID
from .speech import transcribe
from .translate import translate

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
    r"\b(?:read|extract|transcribe|ocr|all (?:of )?the text|full text|every line|what does "
    r"(?:it|this|the \w+) say|what is written|what's written)\b",
    re.I,
)
_QUOTED = re.compile(r"[\"“«](.+?)[\"”»]|(?<!\w)'(.+?)'(?!\w)", re.S)
_STOPWORD_TEXT = """a about above after again all also am an and any are as at be been before being below between both but by
    can could did do does doing down during each few for from further had has have having he her here hers him his
    how i if in into is it its itself just me more most my no nor not now of off on once only or other our out over
    own please same she should so some such than that the their them then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your image images
    picture photo photograph page pages document text say says said show shows shown tell see look find give list
    written write there's what's it's"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
MAX_LINES = 60
MAX_RELEVANT = 3
PARAGRAPH_LINE = 40

HELP = (
    f"I am {MODEL_ID}, the offline model of this workbook's local host. I do not chat freely, but I can read "
    "the text in images and PDF pages (OCR) and answer with the lines most relevant to your question, describe an "
    "image's size, format and main colours, transcribe speech in wav or mp3 audio, and translate with Apertium "
    "(English to Spanish with the project's packages): a clip, the text of an image, or text in quotes or after "
    'a colon, as in "Translate to Spanish: Good morning". Attach an image or a clip and ask about it.'
)


@dataclass(frozen=True)
class Answer:
    """The reply text, why it ended (stop or length) and its token count."""

    text: str
    finish_reason: str
    completion_tokens: int


@dataclass(frozen=True)
class Intent:
    """What the last user instruction asks for."""

    translate: bool
    transcribe: bool
    read_all: bool
    source: str | None
    target: str | None


def answer_chat(request: ChatRequest) -> Answer:
    """The local model's answer to a chat or responses request (cut at max_tokens)."""
    text = compose(request.messages)
    cut = False
    if request.max_tokens is not None:
        text, cut = tokenizer.cut(text, request.max_tokens)
    return Answer(text, "length" if cut else "stop", tokenizer.count(text))


def compose(messages: tuple[Message, ...]) -> str:
    """The reply to a conversation, from its last user instruction and attachments."""
    users = [m for m in messages if m.role == "user"]
    instruction = users[-1].text.strip() if users else ""
    intent = read_intent(instruction)
    attachments: list[Image | Audio] = []
    for message in reversed(users):
        attachments = [p for p in message.parts if not isinstance(p, str)]
        if attachments:
            break
    if not attachments:
        return _text_only(instruction, intent)
    sections, counts = [], {"Image": 0, "Audio": 0}
    for item in attachments:
        kind = "Image" if isinstance(item, Image) else "Audio"
        counts[kind] += 1
        body = _image(item, instruction, intent) if isinstance(item, Image) else _audio(item, intent)
        sections.append((f"{kind} {counts[kind]}", body))
    if len(sections) == 1:
        return sections[0][1]
    return "\n\n".join(f"{title}:\n{body}" for title, body in sections)


def read_intent(instruction: str) -> Intent:
    """Find translate/transcribe/read-all wishes and languages in an instruction."""
    target_match = _TARGET.search(instruction)
    source_match = _SOURCE.search(instruction)
    target = BY_WORD[target_match.group(1).lower()].code if target_match else None
    source = BY_WORD[source_match.group(1).lower()].code if source_match else None
    wants_translation = bool(_TRANSLATE.search(instruction)) or (
        target is not None and target != (source or "eng")
    )
    return Intent(
        wants_translation,
        bool(_TRANSCRIBE.search(instruction)),
        bool(_READ_ALL.search(instruction)),
        source,
        target,
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


def _translated(text: str, intent: Intent, heard: str | None = None) -> tuple[str, str]:
    """(heading, translation) of ``text``; a missing pair gives its install hint as the translation."""
    source, target = language_pair(intent, heard)
    heading = f"Translation ({BY_CODE[source].name} → {BY_CODE[target].name})"
    if source == target:
        return heading, text
    try:
        return heading, translate(text, f"{source}-{target}")
    except Missing as exc:
        return heading, str(exc)


def _audio(clip: Audio, intent: Intent) -> str:
    try:
        transcript = transcribe(clip.data)
    except Missing as exc:
        return str(exc)
    if not transcript.text:
        return f"No speech was recognised in the clip ({clip.seconds:.1f} seconds)."
    if intent.translate:
        heading, translation = _translated(transcript.text, intent, transcript.language)
        return f"{heading}: {translation}\nTranscript: {transcript.text}"
    return f"Transcript: {transcript.text}"


def _image(image: Image, instruction: str, intent: Intent) -> str:
    description = image_facts(image.data).describe()
    try:
        lines = [line.text for line in ocr(image.data)]
    except Missing as exc:
        return f"{description}\n{exc}"
    except (OSError, ValueError):
        return f"{description}\nIts pixels could not be decoded, so no text could be read."
    if not lines:
        return f"{description}\nNo text was found in it."
    if intent.translate:
        blocks = paragraphs(lines)
        heading, translation = _translated("\n\n".join(blocks), intent)
        translated = [block for block in re.split(r"\n\s*\n", translation) if block.strip()]
        return (
            f"{description}\n{heading} of its text:\n"
            + "\n".join(translated)
            + "\nText:\n"
            + "\n".join(blocks)
        )
    words = question_words(instruction)
    if intent.read_all or intent.transcribe or not words:
        shown = lines[:MAX_LINES]
        more = f"\n(and {len(lines) - MAX_LINES} more lines)" if len(lines) > MAX_LINES else ""
        return f"{description}\nText found ({_n(len(lines), 'line')}):\n" + "\n".join(shown) + more
    units = passages(lines)
    best = rank_lines(units, words)
    if not best:
        return (
            f"{description}\nNone of its {_n(len(lines), 'line')} of text shares a word with your question; "
            "the text begins:\n" + "\n".join(lines[:MAX_RELEVANT])
        )
    return f"{description}\nMost relevant text ({len(best)} of {_n(len(units), 'passage')}):\n" + "\n".join(
        best
    )


def paragraphs(lines: list[str]) -> list[str]:
    """Join OCR lines into paragraphs: a line continues the previous one unless that one ends a sentence
    (. ! ? : ;) or is short (under 40 characters, like a title). Apertium needs the sentence boundaries."""
    blocks: list[str] = []
    for line in lines:
        if blocks and len(blocks[-1]) >= PARAGRAPH_LINE and not re.search(r"[.!?:;]$", blocks[-1]):
            blocks[-1] += " " + line
        else:
            blocks.append(line)
    return blocks


def passages(lines: list[str]) -> list[str]:
    """What a question is ranked against: short lines (titles, table rows, receipt items) as they
    are, and wrapped paragraphs split into whole sentences, so an answer is not cut mid-sentence."""
    units: list[str] = []
    for block in paragraphs(lines):
        long = len(block) >= PARAGRAPH_LINE
        units.extend(re.split(r"(?<=[a-z0-9)][.!?])\s+(?=[A-Z])", block) if long else [block])
    return units


def question_words(instruction: str) -> list[str]:
    """The content words of a question, lower-cased, without stop words, in order, once each."""
    seen: list[str] = []
    for word in re.findall(r"[^\W_]+", instruction.lower()):
        if (len(word) > 2 or word.isdigit()) and word not in STOPWORDS and word not in seen:
            seen.append(word)
    return seen


def rank_lines(lines: list[str], words: list[str], top: int = MAX_RELEVANT) -> list[str]:
    """The ``top`` lines sharing most question words (plural -s ignored), in reading order.

    Lines are compared without spaces, because OCR sometimes drops them ("Invoicenumber4711").
    """
    scored = []
    for index, line in enumerate(lines):
        compact = re.sub(r"[\W_]+", "", line.lower())
        score = sum(
            1 for w in words if w in compact or (len(w) > 4 and w.endswith("s") and w[:-1] in compact)
        )
        if score:
            scored.append((-score, index))
    chosen = sorted(index for _, index in sorted(scored)[:top])
    return [lines[i] for i in chosen]


def _text_only(instruction: str, intent: Intent) -> str:
    if not intent.translate:
        return HELP
    text = _text_to_translate(instruction)
    if not text:
        return (
            "Tell me what to translate: put the text in quotes or after a colon, as in "
            '"Translate to Spanish: Good morning", or attach an audio clip or an image.'
        )
    heading, translation = _translated(text, intent)
    return f"{heading}: {translation}\nText: {text}"


def _text_to_translate(instruction: str) -> str:
    quoted = [double or single for double, single in _QUOTED.findall(instruction)]
    if quoted:
        return " ".join(q.strip() for q in quoted)
    if ":" in instruction:
        return instruction.split(":", 1)[1].strip()
    _, _, rest = instruction.partition("\n")
    return rest.strip()


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
