"""The local model's tokenizer: how it counts and cuts text.

The local model is not a GPT, so it has its own, documented tokenizer: text is split like the
GPT pre-tokenizer splits it (a word with its leading space, up to 3 digits, a run of
punctuation, a run of spaces), and each piece is one token. That is about one token per word,
close to what GPT tokenizers give for English prose. The pieces join back to the exact text,
which is what streaming (one delta per piece) and ``max_tokens`` cutting rely on.

Chat prompts are counted as OpenAI's cookbook counts them: 3 tokens per message, plus the
role and the content, plus 3 that prime the reply. Image and audio parts add the tokens of
:mod:`helpers.tokens` (the same formulas as the client side).
"""

from __future__ import annotations

import re

_PIECE = re.compile(r"'(?:s|t|re|ve|m|ll|d)| ?[^\W\d_]+| ?\d{1,3}| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+")

TOKENS_PER_MESSAGE = 3
REPLY_PRIMING = 3


def pieces(text: str) -> list[str]:
    """Split ``text`` into token pieces; ``"".join(pieces(text)) == text``."""
    return _PIECE.findall(text)


def count(text: str) -> int:
    """Tokens of ``text``."""
    return len(_PIECE.findall(text))


def cut(text: str, limit: int) -> tuple[str, bool]:
    """The first ``limit`` tokens of ``text`` and whether anything was cut."""
    parts = pieces(text)
    if len(parts) <= limit:
        return text, False
    return "".join(parts[:limit]), True
