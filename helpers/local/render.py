"""Write answers back in the shape of the route they came by: JSON bodies and SSE streams.

Deterministic but for the ids and times: every response gets ids of its own (from the request's
``request_id``) and the time it was made, as the services' do; everything else is the same for the
same request (keys keep one order, JSON is written compactly), so notebook outputs can be compared. Chat streams are written
exactly as ``data: <json>\\n\\n`` and end with ``data: [DONE]\\n\\n`` (azure-ai-inference's parser
accepts nothing else); Responses streams are written as OpenAI writes them, an ``event:`` line
and a ``data:`` line per event, with no ``[DONE]``.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from . import tokenizer
from .errors import Surface
from .languages import spoken_name
from .model import Answer
from .protocol import ChatRequest
from .settings import MODEL_ID
from .speech import Transcript
from .uploads import AudioRequest

#: 2025-01-01T00:00:00Z, when the local model was made (``created`` in the model list).
CREATED = 1735689600
SYSTEM_FINGERPRINT = "fp_local_multimodal_1"
_SAFE = {"filtered": False, "severity": "safe"}


def dumps(value: Any) -> str:
    """Compact JSON, UTF-8 kept as is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def sse(value: Any) -> bytes:
    """One chat SSE event: ``data: <json>\\n\\n``."""
    return f"data: {dumps(value)}\n\n".encode()


DONE = b"data: [DONE]\n\n"


def content_filter_results() -> dict[str, Any]:
    """Azure's per-choice filter results for content that passed every filter."""
    return {"hate": _SAFE, "self_harm": _SAFE, "sexual": _SAFE, "violence": _SAFE}


def prompt_filter_results() -> list[dict[str, Any]]:
    """Azure's prompt filter results for a prompt that passed every filter."""
    results = {**content_filter_results(), "jailbreak": {"filtered": False, "detected": False}}
    return [{"prompt_index": 0, "content_filter_results": results}]


def chat_usage(request: ChatRequest, answer: Answer) -> dict[str, Any]:
    """The ``usage`` object of a chat completion (completion tokens of all n choices)."""
    completion = answer.completion_tokens * request.n
    return {
        "prompt_tokens": request.prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": request.prompt_tokens + completion,
        "prompt_tokens_details": {
            "cached_tokens": 0,
            "audio_tokens": request.audio_tokens,
            "image_tokens": request.image_tokens,
            "text_tokens": request.prompt_tokens - request.audio_tokens - request.image_tokens,
        },
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def chat_id(request: ChatRequest) -> str:
    """``chatcmpl-`` and 29 hex digits of the request id."""
    return "chatcmpl-" + request.request_id[:29]


def chat_completion(request: ChatRequest, answer: Answer) -> dict[str, Any]:
    """A ``chat.completion`` object; Azure surfaces add the content filter results."""
    choices = []
    for index in range(request.n):
        choice: dict[str, Any] = {
            "index": index,
            "message": {"role": "assistant", "content": answer.text, "refusal": None, "annotations": []},
            "logprobs": None,
            "finish_reason": answer.finish_reason,
        }
        if request.surface.is_azure:
            choice["content_filter_results"] = content_filter_results()
        choices.append(choice)
    body: dict[str, Any] = {
        "id": chat_id(request),
        "object": "chat.completion",
        "created": request.created,
        "model": MODEL_ID,
        "choices": choices,
        "usage": chat_usage(request, answer),
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }
    if request.surface.is_azure:
        body["prompt_filter_results"] = prompt_filter_results()
    return body


def chat_stream(request: ChatRequest, answer: Answer) -> Iterator[bytes]:
    """The SSE events of a streamed chat completion, ``[DONE]`` last."""
    azure = request.surface.is_azure
    usage_field = {"usage": None} if request.include_usage else {}
    if azure:
        yield sse(
            {
                "choices": [],
                "created": 0,
                "id": "",
                "model": "",
                "object": "",
                "prompt_filter_results": prompt_filter_results(),
            }
        )

    def chunk(index: int, delta: dict[str, Any], finish: str | None, filters: dict[str, Any] | None) -> bytes:
        choice: dict[str, Any] = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
        if azure and filters is not None:
            choice["content_filter_results"] = filters
        return sse(
            {
                "id": chat_id(request),
                "object": "chat.completion.chunk",
                "created": request.created,
                "model": MODEL_ID,
                "system_fingerprint": SYSTEM_FINGERPRINT,
                "choices": [choice],
                **usage_field,
            }
        )

    for index in range(request.n):
        yield chunk(index, {"role": "assistant", "content": "", "refusal": None}, None, {})
        for piece in tokenizer.pieces(answer.text):
            yield chunk(index, {"content": piece}, None, content_filter_results())
        yield chunk(index, {}, answer.finish_reason, {})
    if request.include_usage:
        yield sse(
            {
                "id": chat_id(request),
                "object": "chat.completion.chunk",
                "created": request.created,
                "model": MODEL_ID,
                "system_fingerprint": SYSTEM_FINGERPRINT,
                "choices": [],
                "usage": chat_usage(request, answer),
            }
        )
    yield DONE


# --- Responses API -----------------------------------------------------------------------------


def _response_ids(request: ChatRequest) -> tuple[str, str]:
    return "resp_" + request.request_id, "msg_" + request.request_id[::-1]


def _output_text(answer: Answer) -> dict[str, Any]:
    return {"type": "output_text", "text": answer.text, "annotations": [], "logprobs": []}


def _message_item(request: ChatRequest, answer: Answer | None) -> dict[str, Any]:
    return {
        "id": _response_ids(request)[1],
        "type": "message",
        "status": "completed" if answer is not None else "in_progress",
        "role": "assistant",
        "content": [_output_text(answer)] if answer is not None else [],
    }


def response_object(request: ChatRequest, answer: Answer | None) -> dict[str, Any]:
    """A ``response`` object: completed (or incomplete at max_output_tokens), or in progress when no answer."""
    if answer is None:
        status, incomplete = "in_progress", None
    elif answer.finish_reason == "length":
        status, incomplete = "incomplete", {"reason": "max_output_tokens"}
    else:
        status, incomplete = "completed", None
    usage = None
    if answer is not None:
        usage = {
            "input_tokens": request.prompt_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": answer.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": request.prompt_tokens + answer.completion_tokens,
        }
    echo = request.echo
    return {
        "id": _response_ids(request)[0],
        "object": "response",
        "created_at": request.created,
        "status": status,
        "error": None,
        "incomplete_details": incomplete,
        "instructions": echo.get("instructions"),
        "max_output_tokens": request.max_tokens,
        "model": MODEL_ID,
        "output": [_message_item(request, answer)] if answer is not None else [],
        "parallel_tool_calls": echo.get("parallel_tool_calls", True),
        "previous_response_id": echo.get("previous_response_id"),
        "reasoning": echo.get("reasoning", {"effort": None, "summary": None}),
        "store": echo.get("store", True),
        "temperature": echo.get("temperature", 1.0),
        "text": echo.get("text", {"format": {"type": "text"}}),
        "tool_choice": echo.get("tool_choice", "auto"),
        "tools": echo.get("tools", []),
        "top_p": echo.get("top_p", 1.0),
        "truncation": echo.get("truncation", "disabled"),
        "usage": usage,
        "user": echo.get("user"),
        "metadata": echo.get("metadata", {}),
    }


def responses_stream(request: ChatRequest, answer: Answer) -> Iterator[bytes]:
    """The Responses API events: created, in_progress, item/part added, text deltas, done events, completed."""
    item_id = _response_ids(request)[1]
    sequence = 0

    def event(kind: str, **fields: Any) -> bytes:
        nonlocal sequence
        data = {"type": kind, "sequence_number": sequence, **fields}
        sequence += 1
        return f"event: {kind}\ndata: {dumps(data)}\n\n".encode()

    where = {"item_id": item_id, "output_index": 0, "content_index": 0}
    yield event("response.created", response=response_object(request, None))
    yield event("response.in_progress", response=response_object(request, None))
    yield event("response.output_item.added", output_index=0, item=_message_item(request, None))
    yield event(
        "response.content_part.added",
        **where,
        part={"type": "output_text", "text": "", "annotations": [], "logprobs": []},
    )
    for piece in tokenizer.pieces(answer.text):
        yield event("response.output_text.delta", **where, delta=piece, logprobs=[])
    yield event("response.output_text.done", **where, text=answer.text, logprobs=[])
    yield event("response.content_part.done", **where, part=_output_text(answer))
    yield event("response.output_item.done", output_index=0, item=_message_item(request, answer))
    final = response_object(request, answer)
    yield event(
        "response.incomplete" if final["status"] == "incomplete" else "response.completed", response=final
    )


# --- audio endpoints ---------------------------------------------------------------------------


def transcription(request: AudioRequest, transcript: Transcript) -> tuple[str, str]:
    """(body, media type) of a transcription or translation in the requested response_format."""
    fmt = request.response_format
    if fmt == "text":
        return transcript.text + "\n", "text/plain; charset=utf-8"
    if fmt in ("srt", "vtt"):
        blocks = []
        for number, segment in enumerate(transcript.segments, start=1):
            span = f"{_clock(segment.start, fmt)} --> {_clock(segment.end, fmt)}"
            blocks.append((f"{number}\n" if fmt == "srt" else "") + f"{span}\n{segment.text}\n")
        head = "WEBVTT\n\n" if fmt == "vtt" else ""
        return head + "\n".join(blocks) + ("\n" if blocks else ""), "text/plain; charset=utf-8"
    usage = {"type": "duration", "seconds": math.ceil(transcript.duration)}
    if fmt == "verbose_json":
        segments = [
            {
                "id": i,
                "seek": 0,
                "start": s.start,
                "end": s.end,
                "text": " " + s.text,
                "tokens": list(s.tokens),
                "temperature": 0.0,
                "avg_logprob": s.avg_logprob,
                "compression_ratio": s.compression_ratio,
                "no_speech_prob": s.no_speech_prob,
            }
            for i, s in enumerate(transcript.segments)
        ]
        body = {
            "task": "translate" if request.task == "translate" else "transcribe",
            "language": spoken_name(transcript.language),
            "duration": round(transcript.duration, 2),
            "text": transcript.text,
            "segments": segments,
            "usage": usage,
        }
        if request.words:
            body["words"] = [
                {"word": w.word.strip(), "start": w.start, "end": w.end}
                for segment in transcript.segments
                for w in segment.words
            ]
        return dumps(body), "application/json"
    return dumps({"text": transcript.text, "usage": usage}), "application/json"


def _clock(seconds: float, fmt: str) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    sep = "," if fmt == "srt" else "."
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{millis:03d}"


def models_list(deployments: tuple[str, ...]) -> dict[str, Any]:
    """GET /v1/models: the local model, plus configured deployment names."""
    ids = [MODEL_ID, *[d for d in deployments if d != MODEL_ID]]
    return {"object": "list", "data": [model_card(i) for i in ids]}


def model_card(model_id: str) -> dict[str, Any]:
    """One entry of GET /v1/models."""
    return {"id": model_id, "object": "model", "created": CREATED, "owned_by": "local"}


def model_info() -> dict[str, Any]:
    """GET /models/info (Azure AI Inference ``get_model_info``)."""
    return {"model_name": MODEL_ID, "model_type": "chat_completion", "model_provider_name": "Local"}


def request_headers(surface: Surface, request_id: str) -> dict[str, str]:
    """The request id every answer carries, errors included (``x-request-id``, which the openai SDK
    reads as ``request_id``; Azure also sends ``apim-request-id``, a GUID)."""
    headers = {"x-request-id": f"req_{request_id}"}
    if surface.is_azure:
        headers["apim-request-id"] = str(uuid.UUID(hex=request_id))
    return headers


def surface_headers(surface: Surface, model: str, request_id: str) -> dict[str, str]:
    """Headers of an answer: the request id, and the deployment name on Azure routes (percent-encoded
    where it is not printable ASCII, since header values cannot carry other characters)."""
    headers = request_headers(surface, request_id)
    if surface.is_azure:
        headers["x-ms-deployment-name"] = quote(model, safe=" !#$&'()*+,-./:;=?@[]^_`{|}~")
    return headers
