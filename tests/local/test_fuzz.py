"""A seeded fuzzer for every request surface of the local host.

For each surface (OpenAI chat, Responses, Azure classic chat, Azure v1 chat, Azure AI Inference chat
and a multipart Whisper transcription) a few valid bodies (text, a small PNG with text, a short espeak
clip) are mutated by ``random.Random(seed)``: keys deleted, replaced, duplicated or added, types
changed, huge, negative and non-finite numbers, unicode junk (lone surrogates, NUL, bidi, 100 KB
strings), deep nesting, and the serialised bytes truncated or flipped; multipart bodies lose, repeat
and garble parts, file names, boundaries and file bytes. Each surface stops after FUZZ_BODIES bodies
or FUZZ_SECONDS seconds, whichever comes first (the sequence of bodies is the same on every run; how
far it gets depends on the machine).

Every response must be: never 5xx; each 4xx JSON in the surface's error shape (OpenAI: ``message``,
``type``, ``param`` and ``code``; Azure and inference: ``code`` and ``message``) with an
``x-request-id`` header; each 200 JSON body strict JSON (no NaN or Infinity). Failures are collected;
the assertion lists each kind with its first bodies, shortened, and the first one shrunk to a
minimal body that still fails the same way.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import math
import os
import random
import shutil
import subprocess
import time
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, ImageDraw

from helpers.local.server import RunningServer, start_server
from helpers.local.settings import Settings

SEED = 20240611
FUZZ_BODIES = int(os.environ.get("FUZZ_BODIES", "3000"))
FUZZ_SECONDS = float(os.environ.get("FUZZ_SECONDS", "20"))
SHOWN = 3  # failing bodies shown per kind
SHRINK_REQUESTS = 300  # requests the shrinker may send per failure kind

# --- the valid inputs --------------------------------------------------------------------------


def small_png() -> bytes:
    """120x40, black 'Hi 42' on white: OCR finds one line, fast."""
    image = Image.new("RGB", (120, 40), "white")
    ImageDraw.Draw(image).text((6, 12), "Hi 42", fill="black")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def short_clip(tmp: Path) -> bytes:
    """espeak-ng saying 'Hi', as 8 kHz mono 16-bit wav (about 10 KB)."""
    from helpers.audio import decode_pcm

    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is missing: sudo apt-get install espeak-ng")
    path = tmp / "hi.wav"
    subprocess.run(["espeak-ng", "-w", str(path), "Hi"], check=True)
    pcm = decode_pcm(path.read_bytes(), rate=8000, mono=True)
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(pcm.data)
    return out.getvalue()


# --- JSON with what json.dumps will not write: raw text, duplicate keys, NaN ----------------------


@dataclass(frozen=True)
class RawJson:
    """JSON text put in verbatim (a 5000-digit number, 3000 nested arrays)."""

    text: str


@dataclass
class Pairs:
    """A JSON object written from its (key, value) pairs, so a key can appear twice."""

    items: list[tuple[str, Any]]


def encode(value: Any, ascii_only: bool) -> str:
    """JSON text of ``value``; NaN and Infinity are written as Python writes them (not JSON)."""
    if isinstance(value, RawJson):
        return value.text
    if isinstance(value, Pairs):
        return (
            "{" + ",".join(f"{encode(k, ascii_only)}:{encode(v, ascii_only)}" for k, v in value.items) + "}"
        )
    if isinstance(value, dict):
        return encode(Pairs(list(value.items())), ascii_only)
    if isinstance(value, list):
        return "[" + ",".join(encode(item, ascii_only) for item in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


def to_bytes(value: Any, rng: random.Random) -> bytes:
    """Serialised ``value``: ASCII-escaped or raw UTF-8 (lone surrogates then become invalid UTF-8)."""
    ascii_only = rng.random() < 0.5
    return encode(value, ascii_only).encode("utf-8", "surrogatepass")


# --- mutations -----------------------------------------------------------------------------------

UNICODE_JUNK = [
    "\ud800",
    "a\udfffb",
    "\x00",
    "\u202eevil",
    "\ufeff",
    "e\u0301\u0301\u0301",
    "\uffff",
    "\U0010ffff",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀",
    "模型",
    "\r\n\t",
    "%E6%A8%A1",
    "../../etc/passwd",
]
NUMBERS: list[Any] = [
    0,
    -1,
    1,
    -(2**63),
    2**63,
    2**64 + 1,
    10**30,
    1e308,
    -1e-308,
    0.5,
    -0.0,
    math.nan,
    math.inf,
    -math.inf,
    RawJson("9" * 5000),
    RawJson("1e400"),
    RawJson("-0"),
]
KNOWN_KEYS = [
    "model",
    "messages",
    "input",
    "instructions",
    "stream",
    "stream_options",
    "n",
    "max_tokens",
    "max_completion_tokens",
    "max_output_tokens",
    "temperature",
    "top_p",
    "seed",
    "stop",
    "user",
    "tools",
    "tool_choice",
    "functions",
    "function_call",
    "response_format",
    "text",
    "logprobs",
    "top_logprobs",
    "modalities",
    "audio",
    "metadata",
    "store",
    "background",
    "previous_response_id",
    "reasoning",
    "truncation",
    "parallel_tool_calls",
    "role",
    "content",
    "type",
    "image_url",
    "url",
    "detail",
    "input_audio",
    "data",
    "format",
    "include_usage",
]
WORDS = [
    "auto",
    "none",
    "required",
    "text",
    "image_url",
    "input_image",
    "input_text",
    "input_audio",
    "json_object",
    "json_schema",
    "user",
    "system",
    "assistant",
    "tool",
    "developer",
    "wav",
    "mp3",
    "low",
    "high",
    "data:image/png;base64,AAAA",
    "data:image/png;base64,",
    "data:,",
    "http://127.0.0.1:1/x.png",
    "http://10.0.0.1/x.png",
    "file:///etc/passwd",
    "gpt-4o",
    "",
]


def junk(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON-ish value."""
    kind = rng.randrange(9 if depth < 2 else 6)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.choice(NUMBERS)
    if kind == 2:
        return rng.choice(WORDS)
    if kind == 3:
        return rng.choice(UNICODE_JUNK) * rng.choice([1, 1, 3])
    if kind == 4:
        return "x" * rng.choice([1000, 100_000])
    if kind == 5:
        depth_n = rng.choice([50, 900, 3000])
        return RawJson("[" * depth_n + "]" * depth_n)
    if kind == 6:
        return [junk(rng, depth + 1) for _ in range(rng.randrange(3))]
    if kind == 7:
        return {rng.choice(KNOWN_KEYS): junk(rng, depth + 1) for _ in range(rng.randrange(3))}
    return {"type": rng.choice(WORDS), rng.choice(KNOWN_KEYS): junk(rng, depth + 1)}


def _slots(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into ``value`` (dict keys and list indexes), the root included."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _slots(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _slots(item, (*path, index))


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def _retype(value: Any, rng: random.Random) -> Any:
    if isinstance(value, str):
        return rng.choice([[value], {"text": value}, len(value), value.encode("utf-8", "replace").hex()])
    if isinstance(value, bool):
        return rng.choice([str(value).lower(), int(value), [value]])
    if isinstance(value, int | float):
        return rng.choice([str(value), [value], value is not None])
    if isinstance(value, list):
        return rng.choice(
            [{str(i): v for i, v in enumerate(value)}, value[0] if value else None, encode(value, True)]
        )
    if isinstance(value, dict):
        return rng.choice([list(value.values()), list(value), encode(value, True)])
    return rng.choice(["null", 0, []])


def mutate_tree(body: Any, rng: random.Random) -> Any:
    """One structural mutation of a copy of ``body``."""
    body = copy.deepcopy(body)
    paths = list(_slots(body))
    path = rng.choice(paths)
    op = rng.randrange(9)
    if not path:  # the root: replace it or wrap it
        twice = Pairs([*body.items(), *body.items()]) if isinstance(body, dict) else body * 2
        return rng.choice([junk(rng), [body], twice])
    parent, last = _get(body, path[:-1]), path[-1]
    current = parent[last]
    if op == 0:  # delete
        del parent[last]
    elif op == 1:  # replace with junk
        parent[last] = junk(rng)
    elif op == 2:  # change the type
        parent[last] = _retype(current, rng)
    elif op == 3:  # a number, huge, negative or not finite
        parent[last] = rng.choice(NUMBERS)
    elif op == 4:  # unicode junk in or instead of a string
        text = rng.choice(UNICODE_JUNK)
        parent[last] = current + text if isinstance(current, str) and rng.random() < 0.5 else text
    elif op == 5 and isinstance(parent, dict):  # the key twice (the second value wins in Python)
        pairs = [*parent.items(), (last, junk(rng))]
        rng.shuffle(pairs)
        parent.clear()
        grand = _get(body, path[:-2]) if len(path) > 1 else None
        if grand is None:
            return Pairs(pairs)
        grand[path[-2]] = Pairs(pairs)
    elif op == 6:  # an extra key or item
        target = current if isinstance(current, dict | list) else parent
        if isinstance(target, dict):
            target[rng.choice(KNOWN_KEYS)] = junk(rng)
        else:
            target.insert(rng.randrange(len(target) + 1), junk(rng))
    elif op == 7 and isinstance(parent, dict):  # rename the key: unicode junk or another known key
        value = parent.pop(last)
        parent[rng.choice([*UNICODE_JUNK, *KNOWN_KEYS])] = value
    else:  # duplicate a list item / repeat a value
        if isinstance(parent, list):
            parent.insert(last, copy.deepcopy(current))
        else:
            parent[last] = [current, current]
    return body


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """Truncate, flip bytes in, or splice junk into serialised bytes."""
    if not data:
        return data
    op = rng.randrange(3)
    if op == 0:
        return data[: rng.randrange(len(data))]
    out = bytearray(data)
    if op == 1:
        for _ in range(rng.randint(1, 8)):
            out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out)
    at = rng.randrange(len(out))
    return bytes(out[:at]) + rng.randbytes(rng.randint(1, 16)) + bytes(out[at:])


def json_body(bases: list[Any], rng: random.Random) -> bytes:
    """A mutated JSON body: 1 to 3 structural mutations, then sometimes a byte-level one."""
    body = rng.choice(bases)
    for _ in range(rng.randint(1, 3)):
        if isinstance(body, RawJson | Pairs) or not isinstance(body, dict | list):
            break
        body = mutate_tree(body, rng)
    data = to_bytes(body, rng)
    if rng.random() < 0.15:
        data = mutate_bytes(data, rng)
    return data


# --- multipart -----------------------------------------------------------------------------------

FIELD_NAMES = [
    "model",
    "file",
    "response_format",
    "language",
    "prompt",
    "temperature",
    "timestamp_granularities[]",
    "timestamp_granularities",
    "stream",
    "include[]",
]
FIELD_VALUES = [
    "json",
    "text",
    "srt",
    "verbose_json",
    "vtt",
    "word",
    "segment",
    "en",
    "xx",
    "whisper-1",
    "",
    "-1",
]


@dataclass
class Part:
    name: str
    value: bytes
    filename: str | None = None
    content_type: str | None = None


@dataclass
class Form:
    parts: list[Part]
    boundary: str = "fuzz-boundary-7d3"
    header: str = field(default="")  # the Content-Type header; empty: multipart with the boundary

    def encode(self) -> tuple[bytes, dict[str, str]]:
        out = b""
        for part in self.parts:
            disposition = f'form-data; name="{part.name}"'
            if part.filename is not None:
                disposition += f'; filename="{part.filename}"'
            head = f"--{self.boundary}\r\nContent-Disposition: {disposition}\r\n"
            if part.content_type is not None:
                head += f"Content-Type: {part.content_type}\r\n"
            out += head.encode("utf-8", "surrogatepass") + b"\r\n" + part.value + b"\r\n"
        out += f"--{self.boundary}--\r\n".encode()
        header = self.header or f"multipart/form-data; boundary={self.boundary}"
        return out, {"content-type": header} if header != "-" else {}


def mutate_form(base: Form, rng: random.Random, other_files: list[bytes]) -> tuple[bytes, dict[str, str]]:
    """A mutated multipart upload: parts, names, file names, file bytes, boundary or header garbled."""
    form = Form([Part(p.name, p.value, p.filename, p.content_type) for p in base.parts], base.boundary)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(9)
        part = rng.choice(form.parts) if form.parts else None
        if op == 0 and form.parts:
            form.parts.remove(part)
        elif op == 1 and part:
            form.parts.insert(rng.randrange(len(form.parts) + 1), Part(part.name, part.value, part.filename))
        elif op == 2:
            value = junk(rng)
            text = value if isinstance(value, str) else rng.choice(FIELD_VALUES)
            form.parts.append(Part(rng.choice(FIELD_NAMES), text.encode("utf-8", "surrogatepass")))
        elif op == 3 and part:
            part.name = rng.choice([*FIELD_NAMES, rng.choice(UNICODE_JUNK), ""])
        elif op == 4 and part:
            part.filename = rng.choice(["", "clip", "a.wav", "x" * 300, *UNICODE_JUNK, 'q"uote.wav', None])
        elif op == 5:
            file = next((p for p in form.parts if p.name == "file"), None)
            if file is not None:
                file.value = rng.choice(
                    [mutate_bytes(file.value[:200], rng) + file.value[200:], b"", rng.choice(other_files)]
                )
        elif op == 6 and part:
            part.content_type = rng.choice(
                ["audio/wav", "image/png", "text/plain", "", "\u202e", "multipart/mixed"]
            )
        elif op == 7:
            form.header = rng.choice(
                [
                    "multipart/form-data",
                    "multipart/form-data; boundary=other",
                    "multipart/form-data; boundary=",
                    "application/json",
                    "text/plain",
                    "-",
                    f'multipart/form-data; boundary="{form.boundary}"; charset=utf-16',
                ]
            )
        elif op == 8 and part:
            part.value = rng.choice(FIELD_VALUES).encode() if part.name != "file" else part.value[:10]
    data, headers = form.encode()
    if rng.random() < 0.2:
        data = mutate_bytes(data, rng)
    return data, headers


# --- the surfaces --------------------------------------------------------------------------------


@dataclass
class Surface:
    """One route: where to send, its error shape, and how to make the next fuzzed request."""

    name: str
    path: str
    azure_shape: bool
    make: Callable[[random.Random], tuple[bytes, dict[str, str]]]
    valid: list[tuple[bytes, dict[str, str]]]


@dataclass
class Failure:
    kind: str
    status: int
    body: bytes
    headers: dict[str, str]
    answer: bytes


def problem(surface: Surface, response: httpx.Response) -> str | None:
    """What is wrong with one response, or None."""
    status = response.status_code
    if status >= 500:
        try:
            code = json.loads(response.content)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return f"status {status}, plain text (the error answer itself failed)"
        return f"status {status} {code}"
    kind = response.headers.get("content-type", "")
    if 400 <= status < 500:
        if "x-request-id" not in response.headers:
            return f"{status} without x-request-id"
        try:
            error = json.loads(response.content, parse_constant=_refuse)["error"]
        except (ValueError, KeyError, TypeError):
            return f"{status} body is not a JSON error object"
        keys = {"code", "message"} if surface.azure_shape else {"message", "type", "param", "code"}
        if not isinstance(error, dict) or not keys <= set(error):
            return f"{status} error lacks {sorted(keys - set(error or {}))}"
        if not isinstance(error.get("message"), str) or not error["message"]:
            return f"{status} error message is empty"
    elif status == 200 and kind.startswith("application/json"):
        try:
            json.loads(response.content, parse_constant=_refuse)
        except ValueError as exc:
            return f"200 body is not strict JSON ({str(exc)[:40]})"
    return None


def _refuse(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def shorten(data: bytes, limit: int = 300) -> str:
    text = repr(data[:limit])
    return text + (f"... ({len(data)} bytes)" if len(data) > limit else "")


def shrink(failure: Failure, send: Callable[[bytes, dict[str, str]], tuple[str | None, int, bytes]]) -> bytes:
    """A smaller body that fails the same way: JSON bodies lose keys and items and get simpler values;
    other bodies lose chunks. At most SHRINK_REQUESTS requests."""
    budget = [SHRINK_REQUESTS]

    def still_fails(candidate: bytes) -> bool:
        if budget[0] <= 0:
            return False
        budget[0] -= 1
        return send(candidate, failure.headers)[0] == failure.kind

    best = failure.body
    try:
        tree = json.loads(best)
    except (ValueError, RecursionError):
        tree = None
    if isinstance(tree, dict):
        changed = True
        while changed and budget[0] > 0:
            changed = False
            for path in sorted(_slots(tree), key=len):
                if not path:
                    continue
                for simpler in ("delete", "scalar"):
                    trial = json.loads(json.dumps(tree))
                    parent = _get(trial, path[:-1]) if path[:-1] else trial
                    try:
                        if simpler == "delete":
                            del parent[path[-1]]
                        elif isinstance(parent[path[-1]], dict | list) or (
                            isinstance(parent[path[-1]], str) and len(parent[path[-1]]) > 20
                        ):
                            parent[path[-1]] = "x"
                        else:
                            continue
                    except (KeyError, IndexError, TypeError):
                        continue
                    try:
                        candidate = json.dumps(trial).encode()
                    except (ValueError, RecursionError):
                        continue
                    if still_fails(candidate):
                        tree, best, changed = trial, candidate, True
                        break
                if changed:
                    break
        return best
    size = max(1, len(best) // 2)
    while size >= 1 and budget[0] > 0:
        start, cut = 0, False
        while start < len(best) and budget[0] > 0:
            candidate = best[:start] + best[start + size :]
            if candidate and still_fails(candidate):
                best, cut = candidate, True
            else:
                start += size
        if not cut:
            size //= 2
    return best


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_host() -> Iterator[RunningServer]:
    """A local host of its own (no key), so the fuzz shares nothing with other tests."""
    running = start_server(Settings(port=0))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return {"png": small_png(), "wav": short_clip(tmp_path_factory.mktemp("fuzz"))}


def _chat_bases(media: dict[str, bytes], model: str | None) -> list[dict[str, Any]]:
    png = "data:image/png;base64," + base64.b64encode(media["png"]).decode()
    wav = base64.b64encode(media["wav"]).decode()
    head = {"model": model} if model else {}
    image = [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What does it say?"},
                {"type": "image_url", "image_url": {"url": png, "detail": "low"}},
            ],
        },
    ]
    audio = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Transcribe this."},
                {"type": "input_audio", "input_audio": {"data": wav, "format": "wav"}},
            ],
        }
    ]
    return [
        {**head, "messages": image, "max_tokens": 50, "temperature": 0.2},
        {**head, "messages": audio, "n": 2, "stop": ["zzz"]},
        {
            **head,
            "messages": [{"role": "user", "content": "Hello"}],
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    ]


def _responses_bases(media: dict[str, bytes]) -> list[dict[str, Any]]:
    png = "data:image/png;base64," + base64.b64encode(media["png"]).decode()
    wav = base64.b64encode(media["wav"]).decode()
    return [
        {
            "model": "gpt-4o",
            "instructions": "Be brief.",
            "input": [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "What does it say?"},
                        {"type": "input_image", "image_url": png, "detail": "auto"},
                    ],
                }
            ],
            "max_output_tokens": 50,
            "metadata": {"run": "fuzz"},
            "text": {"format": {"type": "text"}},
        },
        {
            "model": "gpt-4o",
            "input": [
                {
                    "role": "user",
                    "content": [{"type": "input_audio", "input_audio": {"data": wav, "format": "wav"}}],
                }
            ],
            "temperature": 0.5,
            "top_p": 0.9,
        },
        {"model": "gpt-4o", "input": "Hello", "stream": True},
    ]


def _surfaces(media: dict[str, bytes]) -> dict[str, Surface]:
    json_type = {"content-type": "application/json"}

    def json_surface(name: str, path: str, azure: bool, bases: list[Any]) -> Surface:
        def make(rng: random.Random) -> tuple[bytes, dict[str, str]]:
            return json_body(bases, rng), dict(json_type)

        return Surface(name, path, azure, make, [(json.dumps(b).encode(), dict(json_type)) for b in bases])

    base_form = Form(
        [
            Part("model", b"whisper-1"),
            Part("response_format", b"verbose_json"),
            Part("timestamp_granularities[]", b"word"),
            Part("file", media["wav"], "hi.wav", "audio/wav"),
        ]
    )
    others = [
        media["png"],
        b"{}",
        media["wav"][:44],
        media["wav"] + media["wav"],
        random.Random(1).randbytes(512),
    ]
    return {
        "openai_chat": json_surface(
            "openai_chat", "/v1/chat/completions", False, _chat_bases(media, "gpt-4o")
        ),
        "responses": json_surface("responses", "/v1/responses", False, _responses_bases(media)),
        "azure_classic_chat": json_surface(
            "azure_classic_chat",
            "/openai/deployments/gpt-4o/chat/completions?api-version=2025-01-01-preview",
            True,
            _chat_bases(media, None),
        ),
        "azure_v1_chat": json_surface(
            "azure_v1_chat", "/openai/v1/chat/completions", True, _chat_bases(media, "gpt-4o")
        ),
        "inference_chat": json_surface(
            "inference_chat", "/models/chat/completions", True, _chat_bases(media, "local-multimodal")
        ),
        "transcription": Surface(
            "transcription",
            "/v1/audio/transcriptions",
            False,
            lambda rng: mutate_form(base_form, rng, others),
            [base_form.encode()],
        ),
    }


SURFACES = [
    "openai_chat",
    "responses",
    "azure_classic_chat",
    "azure_v1_chat",
    "inference_chat",
    "transcription",
]

PLAIN_500 = "status 500, plain text (the error answer itself failed)"
DROPPED = "the server closed the kept-alive connection after answering this body"
NOT_JSON = "200 body is not strict JSON"
SURROGATE_KEY = (
    "a lone surrogate in an object key ('{\"\\ud800\": true}', or its UTF-8-encoded bytes, which "
    "json.loads reads with surrogatepass) is refused with a 400 whose message repeats the key; encoding that "
    "message as UTF-8 raises UnicodeEncodeError in errors.error_response, so the answer is a plain-text 500 "
    "'Internal Server Error' without x-request-id, and uvicorn then closes the kept-alive connection"
)
NAN_ECHO = (
    "'temperature' (or 'top_p') NaN, Infinity or -Infinity is accepted and echoed in the response object, "
    "which is then not JSON ('\"temperature\":Infinity')"
)


class KnownFuzzFailure(AssertionError):
    """Raised when every failure found is of a kind KNOWN lists for the surface (any other kind fails)."""


#: Surface -> (the failure kinds (prefixes) the current code is known to have there, why).
KNOWN: dict[str, tuple[tuple[str, ...], str]] = {}


def _marks(name: str) -> list[pytest.MarkDecorator]:
    if name not in KNOWN:
        return []
    return [pytest.mark.xfail(strict=True, raises=KnownFuzzFailure, reason=KNOWN[name][1])]


@pytest.mark.parametrize("name", [pytest.param(name, marks=_marks(name)) for name in SURFACES])
def test_fuzz(name: str, fuzz_host: RunningServer, media: dict[str, bytes]) -> None:
    surface = _surfaces(media)[name]
    rng = random.Random(f"{SEED}-{name}")
    failures: dict[str, list[Failure]] = {}

    with httpx.Client(base_url=fuzz_host.url, timeout=60) as client:
        dropped: list[bytes] = []  # bodies after whose answer the server closed the kept-alive connection
        previous = [b""]

        def send(body: bytes, headers: dict[str, str]) -> tuple[str | None, int, bytes]:
            try:
                response = client.post(surface.path, content=body, headers=headers)
            except httpx.TransportError:  # the connection kept alive after the previous answer was closed
                dropped.append(previous[0])
                try:
                    response = httpx.post(
                        fuzz_host.url + surface.path, content=body, headers=headers, timeout=60
                    )
                except httpx.TransportError as exc:
                    return f"no answer ({type(exc).__name__})", 0, b""
            previous[0] = body
            return problem(surface, response), response.status_code, response.content

        for body, headers in surface.valid:  # the bases work (and load the engines before the clock starts)
            kind, status, answer = send(body, headers)
            assert status == 200 and kind is None, (kind, answer[:500])

        started, sent = time.monotonic(), 0
        while sent < FUZZ_BODIES and time.monotonic() - started < FUZZ_SECONDS:
            body, headers = surface.make(rng)
            kind, status, answer = send(body, headers)
            sent += 1
            if kind is not None:
                failures.setdefault(kind, []).append(Failure(kind, status, body, headers, answer))
        elapsed = time.monotonic() - started
        if dropped:
            kind = "the server closed the kept-alive connection after answering this body"
            failures[kind] = [Failure(kind, 0, body, {}, b"") for body in dropped]
        print(f"\n{name}: {sent} bodies in {elapsed:.1f} s, {sum(map(len, failures.values()))} failing")

        if failures:
            lines = []
            for kind, found in failures.items():
                first = found[0]
                minimal = shrink(first, send) if first.status else first.body
                lines.append(f"{kind}: {len(found)} bodies; minimal ({first.headers}): {shorten(minimal)}")
                lines.append(f"  answer: {shorten(first.answer, 200)}")
                lines += [f"  body: {shorten(f.body)}" for f in found[:SHOWN]]
            known = KNOWN.get(name, ((), ""))[0]
            only_known = all(kind.startswith(known) for kind in failures) if known else False
            error = KnownFuzzFailure if only_known else AssertionError
            raise error(f"{name}: {sent} bodies, failures by kind:\n" + "\n".join(lines))
