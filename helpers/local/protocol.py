"""Parse and validate requests of every route into one internal form.

Chat Completions (OpenAI, Azure classic, Azure v1, Azure AI Inference) and the Responses API
become a :class:`ChatRequest` (the body is read by :mod:`.jsonbody`, the Whisper endpoints' uploads
are parsed in :mod:`.uploads`). Each
attachment is handed to :mod:`.media`, which decodes, checks and costs it, so the model and the
writers never see an invalid request. Errors are raised as :class:`~helpers.local.errors.ApiError`
with the service's status, code and message.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..limits import API_VERSION_DATE
from . import errors, features, tokenizer
from .documents import Document, load_chat_file, load_responses_file
from .errors import ApiError, Surface
from .jsonbody import load_json
from .media import Audio, Image, load_audio, load_audio_url, load_image
from .settings import Settings

Part = str | Image | Audio | Document


def new_request_id() -> str:
    """A fresh request id: 32 random hex digits."""
    return secrets.token_hex(16)


@dataclass(frozen=True)
class Message:
    """One message: role and its parts in order (text, images, audio)."""

    role: str
    parts: tuple[Part, ...]

    @property
    def text(self) -> str:
        """The text parts joined by newlines."""
        return "\n".join(p for p in self.parts if isinstance(p, str))


@dataclass(frozen=True)
class ChatRequest:
    """A chat request from any route, in one form."""

    api: str  # "chat" or "responses"
    surface: Surface
    model: str  # what the client asked for: model or deployment name
    messages: tuple[Message, ...]
    stream: bool = False
    include_usage: bool = False
    max_tokens: int | None = None
    n: int = 1
    prompt_tokens: int = 0
    audio_tokens: int = 0
    image_tokens: int = 0
    echo: dict[str, Any] = field(default_factory=dict)  # Responses fields its response repeats
    output_format: features.Format | None = None  # a JSON format asked for (structured outputs)

    request_id: str = field(default_factory=new_request_id)  # unique per request, as the services'
    created: int = field(default_factory=lambda: int(time.time()))


# --- route-level checks ----------------------------------------------------------------------------


def check_api_version(value: str | None) -> None:
    """Azure classic routes need ``?api-version=``: absent is Azure's 404, malformed a 400."""
    if value is None or value == "":
        raise errors.resource_not_found()
    if not re.fullmatch(API_VERSION_DATE, value):
        raise errors.unsupported_api_version(value)


def check_model(model: str, surface: Surface, settings: Settings) -> None:
    """Reject a model/deployment that LOCAL_DEPLOYMENTS does not list (any name when unset)."""
    if settings.deployments and model not in settings.deployments:
        raise errors.model_not_found(model, surface)


# --- chat completions --------------------------------------------------------------------------


def parse_chat(
    payload: dict[str, Any],
    surface: Surface,
    settings: Settings,
    deployment: str | None = None,
    header_model: str | None = None,
) -> ChatRequest:
    """A Chat Completions body (any surface) as a ChatRequest; ``deployment`` comes from the path."""
    model = _model_of(payload, surface, deployment, header_model)
    check_model(model, surface, settings)
    output_format = features.check_chat_options(payload)
    raw_messages = payload.get("messages")
    if raw_messages is None:
        raise errors.missing_parameter("messages")
    if not isinstance(raw_messages, list):
        raise errors.invalid_type("messages", "an array", raw_messages)
    if not raw_messages:
        raise errors.invalid_value(
            "messages", raw_messages, why="the array is empty; send at least one message."
        )
    _check_image_count(raw_messages, "image_url", settings)
    messages = tuple(_chat_message(m, f"messages[{i}]", model, settings) for i, m in enumerate(raw_messages))
    features.require_json_word(output_format, [m.text for m in messages])
    stream = _bool(payload, "stream")
    options = payload.get("stream_options")
    if options is not None and not stream:
        raise errors.invalid_value(
            "stream_options", options, why="'stream_options' is only allowed when 'stream' is true."
        )
    if options is not None and not isinstance(options, dict):
        raise errors.invalid_type("stream_options", "an object", options)
    include_usage = bool(options and options.get("include_usage"))
    max_tokens = _positive_int(payload, "max_completion_tokens") or _positive_int(payload, "max_tokens")
    n = _positive_int(payload, "n") or 1
    if n > 128:
        raise errors.invalid_value("n", n, why=f"{n} is above the maximum of 128.")
    request = ChatRequest("chat", surface, model, messages, stream, include_usage, max_tokens, n)
    return _costed(replace(request, output_format=output_format))


def _chat_message(raw: Any, where: str, model: str, settings: Settings) -> Message:
    if not isinstance(raw, dict):
        raise errors.invalid_type(where, "an object", raw)
    role = _role(raw, where, ("system", "developer", "user", "assistant", "tool", "function"))
    content = raw.get("content")
    if content is None:
        if role in ("assistant", "function"):
            return Message(role, ())
        raise errors.missing_parameter(f"{where}.content")
    if isinstance(content, str):
        return Message(role, (content,))
    if not isinstance(content, list):
        raise errors.invalid_type(f"{where}.content", "a string or an array", content)

    def part_of(part: dict[str, Any], kind: Any, at: str) -> Part:
        if kind == "text":
            return _str(part, "text", at)
        if kind == "refusal" and role == "assistant":
            return _str(part, "refusal", at)
        if kind == "image_url":
            spec = part.get("image_url")
            if isinstance(spec, str):  # some clients send the URL directly
                spec = {"url": spec}
            if not isinstance(spec, dict):
                raise errors.invalid_type(f"{at}.image_url", "an object", spec)
            url = _field(spec, "url", f"{at}.image_url.url", str, "a string")
            return load_image(url, spec.get("detail"), f"{at}.image_url", model, settings)
        if kind == "input_audio":
            return _audio_part(part, at)
        if kind == "audio_url":  # the Foundry shape: {"url": an http(s) or data URL}, like image_url
            spec = _field(part, "audio_url", f"{at}.audio_url", dict, "an object")
            return load_audio_url(spec.get("url"), f"{at}.audio_url.url", settings)
        if kind == "file":  # a PDF (file_data); file_id needs the Files API, which is a 400 here
            return load_chat_file(part, at, model, settings)
        kinds = ("text", "image_url", "input_audio", "audio_url", "file") + (
            ("refusal",) if role == "assistant" else ()
        )
        raise errors.invalid_value(f"{at}.type", kind, kinds)

    return Message(role, _content_parts(content, where, part_of))


def _role(raw: dict[str, Any], where: str, roles: tuple[str, ...]) -> str:
    """The message's role, or the service's 400 when it is absent or not one of ``roles``."""
    role = raw.get("role")
    if role is None:
        raise errors.missing_parameter(f"{where}.role")
    if role not in roles:
        raise errors.invalid_value(f"{where}.role", role, roles)
    return role


def _content_parts(
    content: list[Any], where: str, part_of: Callable[[dict[str, Any], Any, str], Part]
) -> tuple[Part, ...]:
    """Each object of a content array, parsed by ``part_of(part, its type, its param path)``."""
    parts: list[Part] = []
    for j, part in enumerate(content):
        at = f"{where}.content[{j}]"
        if not isinstance(part, dict):
            raise errors.invalid_type(at, "an object", part)
        parts.append(part_of(part, part.get("type"), at))
    return tuple(parts)


def _audio_part(part: dict[str, Any], at: str) -> Part:
    """An ``input_audio`` part (the same shape in Chat Completions and Responses)."""
    spec = _field(part, "input_audio", f"{at}.input_audio", dict, "an object")
    return load_audio(spec.get("data"), spec.get("format"), f"{at}.input_audio")


# --- responses ---------------------------------------------------------------------------------


def parse_responses(payload: dict[str, Any], surface: Surface, settings: Settings) -> ChatRequest:
    """A Responses API body as a ChatRequest (``instructions`` becomes a system message)."""
    model = _model_of(payload, surface, None, None)
    check_model(model, surface, settings)
    echo = features.responses_echo(payload)
    raw = payload.get("input")
    if raw is None:
        raise errors.missing_parameter("input")
    messages: list[Message] = []
    instructions = payload.get("instructions")
    if instructions is not None:
        if not isinstance(instructions, str):
            raise errors.invalid_type("instructions", "a string", instructions)
        messages.append(Message("system", (instructions,)))
    if isinstance(raw, str):
        messages.append(Message("user", (raw,)))
    elif isinstance(raw, list):
        _check_image_count(raw, "input_image", settings)
        for i, item in enumerate(raw):
            message = _responses_item(item, f"input[{i}]", model, settings)
            if message is not None:
                messages.append(message)
    else:
        raise errors.invalid_type("input", "a string or an array", raw)
    if not any(m.role == "user" for m in messages):
        raise errors.invalid_value(
            "input", raw, why="no user message; send at least one message with role 'user'."
        )
    output_format = features.text_format(payload)  # JSON mode wants the word in the input, not instructions
    features.require_json_word(output_format, [m.text for m in messages[instructions is not None :]])
    max_tokens = _positive_int(payload, "max_output_tokens")
    request = ChatRequest(
        "responses",
        surface,
        model,
        tuple(messages),
        _bool(payload, "stream"),
        False,
        max_tokens,
        1,
        echo=echo,
        output_format=output_format,
    )
    return _costed(request)


def _responses_item(item: Any, where: str, model: str, settings: Settings) -> Message | None:
    if not isinstance(item, dict):
        raise errors.invalid_type(where, "an object", item)
    if item.get("type", "message") != "message":
        return None  # tool calls and their outputs: the local model uses no tools
    role = _role(item, where, ("user", "assistant", "system", "developer"))
    content = item.get("content")
    if isinstance(content, str):
        return Message(role, (content,))
    if not isinstance(content, list):
        raise (
            errors.missing_parameter(f"{where}.content")
            if content is None
            else errors.invalid_type(f"{where}.content", "a string or an array", content)
        )

    def part_of(part: dict[str, Any], kind: Any, at: str) -> Part:
        if kind in ("input_text", "output_text"):
            return _str(part, "text", at)
        if kind == "refusal":
            return _str(part, "refusal", at)
        if kind == "input_image":
            url = _field(part, "image_url", f"{at}.image_url", str, "a string")
            return load_image(url, part.get("detail"), at, model, settings, url_param=f"{at}.image_url")
        if kind == "input_audio":
            return _audio_part(part, at)
        if kind == "input_file":
            return load_responses_file(part, at, model, settings)
        raise errors.invalid_value(
            f"{at}.type", kind, ("input_text", "input_image", "input_audio", "input_file", "output_text")
        )

    return Message(role, _content_parts(content, where, part_of))


# --- attachments -------------------------------------------------------------------------------


def _check_image_count(raw_messages: list[Any], kind: str, settings: Settings) -> None:
    """More images than LOCAL_MAX_IMAGES is a 400, found before any image is decoded."""
    count = sum(
        1
        for message in raw_messages
        if isinstance(message, dict) and isinstance(message.get("content"), list)
        for part in message["content"]
        if isinstance(part, dict) and part.get("type") == kind
    )
    if count > settings.max_images:
        raise errors.too_many_images(count, settings.max_images)


# --- small helpers -----------------------------------------------------------------------------


def _model_of(
    payload: dict[str, Any], surface: Surface, deployment: str | None, header_model: str | None
) -> str:
    if deployment is not None:
        return deployment
    model = payload.get("model")
    if surface is Surface.INFERENCE and not model:
        model = header_model
        if not model:
            raise errors.no_model_name()
    if model is None:
        raise errors.missing_parameter("model")
    if not isinstance(model, str) or not model:
        raise errors.invalid_type("model", "a non-empty string", model)
    return model


def _costed(request: ChatRequest) -> ChatRequest:
    """Fill in the prompt token counts (see helpers.local.tokenizer for the text rule)."""
    text = images = audio = 0
    for message in request.messages:
        text += tokenizer.TOKENS_PER_MESSAGE + tokenizer.count(message.role)
        for part in message.parts:
            if isinstance(part, str):
                text += tokenizer.count(part)
            elif isinstance(part, Image):
                images += part.tokens
            elif isinstance(part, Document):  # its text layer and one image per page (see .documents)
                text += part.text_tokens
                images += part.image_tokens
            else:
                audio += part.tokens
    text += tokenizer.REPLY_PRIMING
    return replace(request, prompt_tokens=text + images + audio, image_tokens=images, audio_tokens=audio)


def _str(part: dict[str, Any], key: str, at: str) -> str:
    return _field(part, key, f"{at}.{key}", str, "a string")


def _field(obj: dict[str, Any], key: str, param: str, kind: type, expected: str) -> Any:
    """``obj[key]``, or the service's 400 naming ``param`` when it is absent or not a ``kind``."""
    value = obj.get(key)
    if value is None:
        raise errors.missing_parameter(param)
    if not isinstance(value, kind):
        raise errors.invalid_type(param, expected, value)
    return value


def _bool(payload: dict[str, Any], key: str) -> bool:
    value = payload.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise errors.invalid_type(key, "a boolean", value)
    return value


def _positive_int(payload: dict[str, Any], key: str) -> int | None:
    value = payload.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.invalid_type(key, "an integer", value)
    if value < 1:
        raise errors.invalid_value(key, value, why=f"{value} is below the minimum of 1.")
    return value


__all__ = [
    "ApiError",
    "ChatRequest",
    "Message",
    "check_api_version",
    "load_json",
    "parse_chat",
    "parse_responses",
]
