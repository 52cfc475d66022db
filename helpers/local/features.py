"""What the local model does with a request's options: each one is used, echoed, or refused with a 400.

A real deployment answers 400 naming the parameter when its model lacks a feature; the local model
does the same, so no option is ever ignored silently:

* ``tools`` with ``tool_choice`` ``"auto"`` or ``"none"`` are accepted and the reply calls no tool
  (the local model never decides to call one); ``"required"`` or a named tool is a 400.
* ``response_format`` / Responses ``text.format``: ``text`` is accepted; JSON formats are a 400.
* ``logprobs``, audio output (``modalities``/``audio``) and the legacy ``function_call`` that forces
  a call are a 400.
* Sampling options (``temperature``, ``top_p``, ``seed``, ``stop`` ...) are accepted: the local
  model is deterministic, so they change nothing, and the Responses API echoes them back.
"""

from __future__ import annotations

from typing import Any

from . import errors
from .errors import ApiError

#: Fields of a Responses request that its response object repeats, with the service's defaults.
RESPONSES_ECHO: dict[str, Any] = {
    "instructions": None,
    "max_output_tokens": None,
    "metadata": {},
    "parallel_tool_calls": True,
    "previous_response_id": None,
    "reasoning": {"effort": None, "summary": None},
    "store": True,
    "temperature": 1.0,
    "text": {"format": {"type": "text"}},
    "tool_choice": "auto",
    "tools": [],
    "top_p": 1.0,
    "truncation": "disabled",
    "user": None,
}


def unsupported(param: str, what: str) -> ApiError:
    """400 for an option the local model does not have, naming it and where it exists."""
    return ApiError(
        400,
        "unsupported_parameter",
        f"Unsupported parameter: '{param}'. The local model cannot {what}; remove the parameter, or use "
        "a cloud host (API_HOST=azure, openai, github or foundry), whose models can.",
        param=param,
    )


def check_chat_options(payload: dict[str, Any]) -> None:
    """Refuse the Chat Completions options the local model cannot honour (see the module docstring)."""
    _check_tools(payload.get("tools"), payload.get("tool_choice"), chat=True)
    if payload.get("functions") is not None and payload.get("function_call") not in (None, "none", "auto"):
        raise unsupported("function_call", "call functions")
    _check_format(payload.get("response_format"), "response_format")
    if payload.get("logprobs") is True:
        raise unsupported("logprobs", "return log probabilities")
    modalities = payload.get("modalities")
    if payload.get("audio") is not None or (isinstance(modalities, list) and "audio" in modalities):
        raise unsupported("modalities" if payload.get("audio") is None else "audio", "answer with audio")


def responses_echo(payload: dict[str, Any]) -> dict[str, Any]:
    """Check a Responses request's options and return the fields its response object repeats."""
    _check_tools(payload.get("tools"), payload.get("tool_choice"), chat=False)
    if payload.get("background") is True:
        raise unsupported("background", "run a response in the background (it answers at once)")
    text = payload.get("text")
    if text is not None and not isinstance(text, dict):
        raise errors.invalid_type("text", "an object", text)
    _check_format((text or {}).get("format"), "text.format")
    if payload.get("metadata") is not None and not isinstance(payload["metadata"], dict):
        raise errors.invalid_type("metadata", "an object", payload["metadata"])
    echo = {key: payload.get(key, default) for key, default in RESPONSES_ECHO.items()}
    for key, default in RESPONSES_ECHO.items():
        if echo[key] is None and default is not None:
            echo[key] = default
    return echo


def _check_tools(tools: Any, choice: Any, *, chat: bool) -> None:
    if tools is not None and not isinstance(tools, list):
        raise errors.invalid_type("tools", "an array", tools)
    if choice is None or choice in ("auto", "none"):
        return
    if choice == "required" or isinstance(choice, dict):
        raise unsupported("tool_choice", "call tools (it answers in text; 'auto' and 'none' work)")
    raise errors.invalid_value("tool_choice", choice, ("none", "auto", "required"))


def _check_format(value: Any, param: str) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise errors.invalid_type(param, "an object", value)
    kind = value.get("type")
    if kind == "text":
        return
    if kind in ("json_object", "json_schema"):
        raise unsupported(param, f"produce structured outputs ({kind})")
    raise errors.invalid_value(f"{param}.type", kind, ("text", "json_object", "json_schema"))
