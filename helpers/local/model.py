"""The local model: deterministic answers composed from real perception.

The reply follows the last user instruction (:mod:`.intents`):

* translate (``translate``, ``in Spanish``, ``into French`` ...) -> the translation, said to come
  from a literal rule-based translator, and the transcript or text it came from;
* transcribe -> the transcript of each clip;
* a question about an image -> the answer first, from the image's text (:mod:`.answers`), then
  briefly where it came from;
* a PDF (a file part) -> answered as images are, from each page's text layer (OCR for a scanned
  page), one answer per page headed ``Page 1``, ``Page 2`` ... when it has several;
* several attachments -> one short answer per attachment, headed ``Image 1``, ``Audio 1`` ...;
* text only -> what the local model can do (or the translation of the quoted text).

Attachments are taken from the last user message, or, when it has none, from the latest
earlier user message that has some (so "now translate it" works as a follow-up).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from . import structured, tokenizer
from .answers import Reply, answer_image, paragraphs
from .documents import Document
from .engines import Missing
from .imagefacts import image_facts
from .intents import Intent, language_pair, read_intent
from .languages import BY_CODE, BY_ISO1
from .media import Audio, Image
from .ocr import ocr
from .protocol import ChatRequest, Message
from .reading import Row
from .settings import MODEL_ID
from .speech import Transcript, transcribe
from .translate import translate

_QUOTED = re.compile(r"[\"“«](.+?)[\"”»]|(?<!\w)'(.+?)'(?!\w)", re.S)
#: Said with every translation: Apertium translates word by word with rules, not from context.
LITERAL_NOTE = "(Apertium, a rule-based translator: literal, word by word; check it before you rely on it.)"

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


def answer_chat(request: ChatRequest) -> Answer:
    """The local model's answer to a chat or responses request (cut at max_tokens): JSON filled from
    perception when a JSON format was asked for (:mod:`.structured`), else the composed reply."""
    fmt = request.output_format
    text = structured.reply(fmt, request.messages) if fmt is not None else compose(request.messages)
    cut = False
    if request.max_tokens is not None:
        text, cut = tokenizer.cut(text, request.max_tokens)
    return Answer(text, "length" if cut else "stop", tokenizer.count(text))


def compose(messages: tuple[Message, ...]) -> str:
    """The reply to a conversation, from its last user instruction and attachments."""
    users = [m for m in messages if m.role == "user"]
    instruction = users[-1].text.strip() if users else ""
    intent = read_intent(instruction)
    attachments: list[Image | Audio | Document] = []
    for message in reversed(users):
        attachments = [p for p in message.parts if not isinstance(p, str)]
        if attachments:
            break
    if not attachments:
        return _text_only(instruction, intent)
    replies, counts = [], {"Image": 0, "Audio": 0, "Document": 0}
    for item in attachments:
        if isinstance(item, Document):
            counts["Document"] += 1
            replies += _document(item, instruction, intent, counts["Document"], len(attachments) == 1)
            continue
        kind = "Image" if isinstance(item, Image) else "Audio"
        counts[kind] += 1
        reply = _image(item, instruction, intent) if isinstance(item, Image) else _audio(item, intent)
        replies.append((f"{kind} {counts[kind]}", reply))
    if len(replies) == 1:
        return replies[0][1].full()
    return "\n".join(f"{title}: {reply.answer}" for title, reply in replies)


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


def _audio(clip: Audio, intent: Intent) -> Reply:
    try:
        transcript = transcribe(clip.data)
    except Missing as exc:
        return Reply(str(exc))
    if not transcript.text:
        return Reply(f"No speech was recognised in the clip ({clip.seconds:.1f} seconds).")
    if intent.translate:
        heading, translation = _translated(transcript.text, intent, transcript.language)
        return Reply(f"{heading}: {translation}", f"Transcript: {transcript.text}\n{LITERAL_NOTE}")
    return Reply(f"Transcript: {transcript.text}")


def _image(image: Image, instruction: str, intent: Intent) -> Reply:
    description = image_facts(image.data).describe()
    try:
        rows = ocr(image.data)
    except Missing as exc:
        return Reply(description, str(exc))
    return _read(rows, description, instruction, intent)


def _document(
    doc: Document, instruction: str, intent: Intent, index: int, alone: bool
) -> list[tuple[str, Reply]]:
    """One titled reply per page of a PDF, read from its text layer (OCR for a scanned page): ``Page 2``
    when the PDF is the only attachment, else ``Document 1`` or ``Document 1, page 2``."""
    replies = []
    for page in doc.pages:
        description = doc.describe(page)
        if len(doc.pages) == 1:
            title = "Page 1" if alone else f"Document {index}"
        else:
            title = f"Page {page.number}" if alone else f"Document {index}, page {page.number}"
        try:
            rows: Sequence[Row] = page.rows if page.scan is None else ocr(page.scan)
        except Missing as exc:
            replies.append((title, Reply(description, str(exc))))
            continue
        replies.append((title, _read(rows, description, instruction, intent)))
    return replies


def _read(rows: Sequence[Row], description: str, instruction: str, intent: Intent) -> Reply:
    """The reply from text rows (OCR rows or a PDF page's text layer): a translation or an answer."""
    if intent.translate and rows:
        blocks = paragraphs([row.text for row in rows])
        heading, translation = _translated("\n\n".join(blocks), intent)
        translated = [block for block in re.split(r"\n\s*\n", translation) if block.strip()]
        source = "Text:\n" + "\n".join(blocks) + f"\n{LITERAL_NOTE}"
        return Reply(f"{heading} of its text:\n" + "\n".join(translated), source)
    return answer_image(rows, description, instruction, intent)


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
    return f"{heading}: {translation}\nText: {text}\n{LITERAL_NOTE}"


def _text_to_translate(instruction: str) -> str:
    quoted = [double or single for double, single in _QUOTED.findall(instruction)]
    if quoted:
        return " ".join(q.strip() for q in quoted)
    if ":" in instruction:
        return instruction.split(":", 1)[1].strip()
    _, _, rest = instruction.partition("\n")
    return rest.strip()


def english_transcript(
    data: bytes, prompt: str | None = None, language: str | None = None, words: bool = False
) -> Transcript:
    """The speech of a clip in English, for ``/audio/translations``.

    Whisper base's own translate task is weak (on espeak-ng Spanish it gave "Now, as you are, let's
    see" for "Hola, ¿cómo estás? Me llamo Ana."), and Apertium is faithful where it has the pair: so
    the clip is transcribed in its language and each segment translated by Apertium when the pair to
    English is installed, keeping the segments' times (word times do not carry over a translation);
    otherwise Whisper's translate task answers. English speech is returned as heard.
    """
    heard = transcribe(data, "transcribe", prompt, language, words)
    source = BY_ISO1.get(heard.language)
    if heard.language == "en" or not heard.text or source is None:
        return transcribe(data, "translate", prompt, language, words) if heard.language != "en" else heard
    try:
        texts = [translate(segment.text, f"{source.code}-eng") for segment in heard.segments]
    except Missing:
        return transcribe(data, "translate", prompt, language, words)
    segments = tuple(
        replace(segment, text=text, words=()) for segment, text in zip(heard.segments, texts, strict=True)
    )
    return Transcript(" ".join(t for t in texts if t), segments, "en", heard.duration)
