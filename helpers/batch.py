"""Many documents, one question each: the requests, their cost, and their results.

The same requests go two ways:

* **here**, a few at a time (:func:`helpers.batch_run.run_concurrently`): answers in minutes, at the
  standard price, within your rate limits;
* **as a batch** (:mod:`helpers.batch_api`): a JSONL file the service works through within its
  completion window (24 hours), at about half the price.

This module makes the requests (:func:`batch_items`, :func:`batch_requests`), each with a stable
``custom_id`` (the item's name and a hash of its request body, so a rerun makes the same ids and skips
what is done), writes them as batch input files within the services' limits (:func:`write_batch_files`),
estimates what both ways cost before anything is sent (:func:`estimate_cost`), and reads the results
file both ways write (:func:`read_results`): one JSON line per answer, appended as it arrives.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .attachments import Attachment
from .errors import InputError, TooLargeError
from .limits import MB

#: Requests in one batch input file, bytes of one file, and characters of a ``custom_id`` (the services').
MAX_BATCH_LINES = 50_000
MAX_BATCH_BYTES = 200 * MB
MAX_CUSTOM_ID = 64
#: What a batch saves: about half, per the providers' batch pricing (OpenAI and Azure OpenAI both say 50%).
BATCH_DISCOUNT = 0.5
#: Characters per text token: a rough rule for English, used only to estimate the question's tokens.
CHARS_PER_TOKEN = 4
#: Reply tokens assumed per request when neither ``output_tokens`` nor ``max_tokens`` says.
DEFAULT_OUTPUT_TOKENS = 100
APIS = ("chat", "responses")

Source = Attachment | str | Path | bytes


@dataclass(frozen=True)
class BatchItem:
    """One thing to ask about: a ``name`` (a file name), its attachments, ready to send, and the question."""

    name: str
    attachments: tuple[Attachment, ...]
    question: str


@dataclass(frozen=True)
class BatchRequest:
    """One request: its ``custom_id``, the item it asks about, the API and the body sent."""

    custom_id: str
    item: BatchItem
    api: str
    body: dict[str, Any]
    detail: str = "auto"

    @property
    def model(self) -> str:
        """The model (or deployment) the body names."""
        return self.body["model"]

    def line(self, url: str) -> dict[str, Any]:
        """This request as a line of a batch input file for ``url``."""
        return {"custom_id": self.custom_id, "method": "POST", "url": url, "body": self.body}


@dataclass(frozen=True)
class BatchResult:
    """The answer to one request, from either way: ``ok`` with the reply ``text``, or the ``error``."""

    custom_id: str
    name: str
    ok: bool
    text: str | None = None
    error: str | None = None
    status_code: int | None = None
    usage: dict[str, Any] | None = None

    def as_line(self) -> dict[str, Any]:
        """This result as a line of a results file."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def batch_items(
    sources: Iterable[Source], question: str | Callable[[str], str], *, detail: str = "auto", dpi: int = 100
) -> list[BatchItem]:
    """One item per image or audio clip, and per page of a PDF, ready to send.

    Each source is prepared with :func:`helpers.prepare_file` (images resized for ``detail``, audio
    as wav or mp3, PDF pages rendered at ``dpi``). ``question`` is the same for all, with ``{name}``
    replaced by the item's name, or a function of the name that returns its question.
    """
    from .prepare import prepare_file

    items = []
    for source in sources:
        name = Attachment.coerce(source).name or "item"
        prepared = prepare_file(source, detail, dpi=dpi, max_pages=10_000)
        for att in prepared:  # a PDF gives one item per page, named by its page
            label = (att.name or name) if len(prepared) > 1 else name
            text = question(label) if callable(question) else question.replace("{name}", label)
            if not isinstance(text, str) or not text.strip():
                raise InputError(f"The question for {label!r} is empty; give each item a question.")
            items.append(BatchItem(label, (att,), text))
    return items


def batch_requests(
    items: Sequence[BatchItem],
    model: str,
    *,
    api: str = "chat",
    detail: str = "auto",
    max_tokens: int | None = None,
    system: str | None = None,
) -> list[BatchRequest]:
    """The Chat Completions (``api="chat"``) or Responses (``"responses"``) request of every item.

    ``model`` is the model, or the deployment (on Azure, a Global Batch deployment for batches).
    Each ``custom_id`` is the item's name and a hash of its body: the same item, question and options
    give the same id on every run, and a changed one a new id.
    """
    from .parts import chat_message, responses_message

    if api not in APIS:
        raise InputError(f"api={api!r} is not valid; use 'chat' (Chat Completions) or 'responses'.")
    requests: dict[str, BatchRequest] = {}
    for item in items:
        body: dict[str, Any] = {"model": model}
        if api == "chat":
            system_message = [{"role": "system", "content": system}] if system else []
            body["messages"] = [
                *system_message,
                chat_message(item.question, *item.attachments, detail=detail),
            ]
            body.update({"max_tokens": max_tokens} if max_tokens else {})
        else:
            body["input"] = [responses_message(item.question, *item.attachments, detail=detail)]
            body.update({"instructions": system} if system else {})
            body.update({"max_output_tokens": max_tokens} if max_tokens else {})
        request = BatchRequest(custom_id(item.name, body), item, api, body, detail)
        if request.custom_id in requests:
            raise InputError(
                f"Items {requests[request.custom_id].item.name!r} and {item.name!r} make the same request "
                f"(custom_id {request.custom_id}): the same content with the same question. Drop one."
            )
        requests[request.custom_id] = request
    return list(requests.values())


def custom_id(name: str, body: dict[str, Any]) -> str:
    """``{name}-{16 hex digits of the body's SHA-256}``: at most 57 characters, stable across runs."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")[:40] or "item"
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return f"{slug}-{digest[:16]}"


def batch_url(client: Any, api: str) -> str:
    """The ``url`` of the lines and the ``endpoint`` of a batch: Azure's ``/chat/completions`` (classic
    or v1 path), OpenAI's ``/v1/chat/completions`` (and ``/responses`` the same way)."""
    azure = hasattr(client, "_api_version") or "/openai/" in str(getattr(client, "base_url", ""))
    path = "/chat/completions" if api == "chat" else "/responses"
    return path if azure else "/v1" + path


@dataclass(frozen=True)
class BatchFile:
    """A written batch input file: its path, its requests' ids in line order, its size and model."""

    path: Path
    custom_ids: tuple[str, ...]
    size: int
    model: str


def write_batch_files(
    requests: Sequence[BatchRequest],
    folder: str | Path,
    url: str,
    *,
    max_lines: int = MAX_BATCH_LINES,
    max_bytes: int = MAX_BATCH_BYTES,
) -> list[BatchFile]:
    """Write ``requests`` as batch input files in ``folder``, split to keep within the services' limits:
    one model per file, at most ``max_lines`` requests and ``max_bytes`` bytes each.

    File names carry a hash of their content (``requests-1-<hash>.jsonl``), so the same requests
    write the same files. A single request over ``max_bytes`` raises TooLargeError.
    """
    if not requests:
        raise InputError("There are no requests to write; make them with batch_requests(items, model).")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for index, chunk in enumerate(plan_files(requests, url, max_lines, max_bytes), start=1):
        data = b"".join(encoded for _, encoded in chunk)
        digest = hashlib.sha256(data).hexdigest()[:12]
        path = folder / f"requests-{index}-{digest}.jsonl"
        path.write_bytes(data)
        ids = tuple(request.custom_id for request, _ in chunk)
        written.append(BatchFile(path, ids, len(data), chunk[0][0].model))
    return written


def plan_files(
    requests: Sequence[BatchRequest], url: str, max_lines: int, max_bytes: int
) -> list[list[tuple[BatchRequest, bytes]]]:
    """The requests, encoded as lines, grouped into files: by model, then within the limits, in order."""
    by_model: dict[str, list[tuple[BatchRequest, bytes]]] = {}
    for request in requests:
        encoded = (json.dumps(request.line(url), ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        if len(encoded) > max_bytes:
            raise TooLargeError(
                f"The request for {request.item.name!r} is {len(encoded)} bytes, more than a batch file may "
                f"hold ({max_bytes} bytes). Send fewer or smaller attachments (prepare_image with "
                "detail='low', fewer PDF pages) or run it here instead."
            )
        by_model.setdefault(request.model, []).append((request, encoded))
    files: list[list[tuple[BatchRequest, bytes]]] = []
    for lines in by_model.values():
        current: list[tuple[BatchRequest, bytes]] = []
        size = 0
        for request, encoded in lines:
            if current and (len(current) >= max_lines or size + len(encoded) > max_bytes):
                files.append(current)
                current, size = [], 0
            current.append((request, encoded))
            size += len(encoded)
        files.append(current)
    return files


@dataclass(frozen=True)
class CostEstimate:
    """Estimated tokens of a set of requests and what they cost sent here and as a batch."""

    requests: int
    image_tokens: int
    audio_tokens: int
    text_tokens: int
    output_tokens: int
    input_per_million: float
    output_per_million: float
    batch_discount: float

    @property
    def input_tokens(self) -> int:
        """Image, audio and text tokens together."""
        return self.image_tokens + self.audio_tokens + self.text_tokens

    @property
    def standard(self) -> float:
        """The cost sent one by one, at the prices given."""
        inputs = self.input_tokens * self.input_per_million
        return (inputs + self.output_tokens * self.output_per_million) / 1_000_000

    @property
    def batch(self) -> float:
        """The cost as a batch: the standard cost less the batch discount."""
        return self.standard * (1 - self.batch_discount)

    def __str__(self) -> str:
        return "\n".join(
            [
                f"{self.requests} requests, estimated tokens:",
                f"  input  {self.input_tokens:>9,} (images {self.image_tokens:,}, audio {self.audio_tokens:,}, "
                f"text {self.text_tokens:,})",
                f"  output {self.output_tokens:>9,}",
                f"sent here (standard price): ${self.standard:,.4f}",
                f"as a batch ({self.batch_discount:.0%} off):    ${self.batch:,.4f}",
            ]
        )


def estimate_cost(
    requests: Sequence[BatchRequest],
    *,
    input_per_million: float,
    output_per_million: float,
    output_tokens: int | None = None,
    batch_discount: float = BATCH_DISCOUNT,
    token_model: str = "gpt-4o",
) -> CostEstimate:
    """What ``requests`` cost, estimated before anything is sent.

    Prices are yours to give, in dollars per million tokens (look them up for your model and region:
    they change, so none is written here). Images are counted with :func:`helpers.image_tokens` for
    ``token_model``, audio with :func:`helpers.audio_tokens`, text at about four characters a token;
    replies as ``output_tokens`` each (default: the request's ``max_tokens``, else 100).
    ``batch_discount`` is what a batch saves: 0.5, about half, per the providers' batch pricing.
    """
    if not 0 <= batch_discount < 1:
        raise InputError(f"batch_discount={batch_discount} must be at least 0 and below 1 (0.5 is half off).")
    if input_per_million < 0 or output_per_million < 0:
        raise InputError("Prices must be dollars per million tokens, 0 or more.")
    images = audio = text = outputs = 0
    for request in requests:
        counted = request_tokens(request, token_model)
        images, audio, text = images + counted[0], audio + counted[1], text + counted[2]
        limit = request.body.get("max_tokens") or request.body.get("max_output_tokens")
        outputs += output_tokens if output_tokens is not None else (limit or DEFAULT_OUTPUT_TOKENS)
    return CostEstimate(
        len(requests), images, audio, text, outputs, input_per_million, output_per_million, batch_discount
    )


def request_tokens(request: BatchRequest, token_model: str = "gpt-4o") -> tuple[int, int, int]:
    """(image, audio, text) input tokens of one request, estimated."""
    from .audio import audio_duration
    from .images import image_info
    from .tokens import audio_tokens, image_tokens

    images = audio = 0
    for att in request.item.attachments:
        if att.mime_type.startswith("image/"):
            info = image_info(att)
            images += image_tokens(info.width, info.height, request.detail, token_model)
        else:
            audio += audio_tokens(audio_duration(att))
    text = math.ceil(len(request.item.question) / CHARS_PER_TOKEN)
    return images, audio, text


def reply_text(body: dict[str, Any]) -> str | None:
    """The reply of a Chat Completions or Responses body (its first choice, or its output text)."""
    if "choices" in body:
        choices = body.get("choices") or [{}]
        return (choices[0].get("message") or {}).get("content")
    parts = [
        part.get("text", "")
        for item in body.get("output") or []
        for part in item.get("content") or []
        if part.get("type") == "output_text"
    ]
    return "".join(parts) if parts else None


def read_results(path: str | Path) -> dict[str, BatchResult]:
    """The results file at ``path`` by custom_id (the last line of an id wins; none when it is missing).

    A line cut short (the run stopped while writing it) is skipped: that request counts as not done.
    """
    results: dict[str, BatchResult] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return results
    for text in lines:
        try:
            line = json.loads(text)
            results[line["custom_id"]] = BatchResult(**line)
        except (ValueError, KeyError, TypeError):
            continue
    return results


def append_result(path: str | Path, result: BatchResult) -> None:
    """Append ``result`` to the results file and flush it, so it survives a stop right after."""
    with Path(path).open("a", encoding="utf-8") as out:
        out.write(json.dumps(result.as_line(), ensure_ascii=False) + "\n")
        out.flush()
