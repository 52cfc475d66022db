"""What the local model does with a request's options: each one is used, echoed, or refused with a 400.

A real deployment answers 400 naming the parameter when its model lacks a feature; the local model
does the same, so no option is ever ignored silently:

* ``tools`` with ``tool_choice`` ``"auto"`` or ``"none"`` are accepted and the reply calls no tool
  (the local model never decides to call one); ``"required"`` or a named tool is a 400.
* ``response_format`` / Responses ``text.format``: ``text``, ``json_object`` and ``json_schema``
  are accepted (:class:`Format`, filled by :mod:`.structured`); a schema the services would refuse
  is their 400, and a schema feature the local model cannot fill (``oneOf``, a ``$ref`` cycle,
  ``pattern`` ...: ``UNSUPPORTED``) a 400 naming it.
* ``logprobs``, audio output (``modalities``/``audio``) and the legacy ``function_call`` that forces
  a call are a 400.
* Sampling options (``temperature``, ``top_p``, ``seed``, ``stop`` ...) are accepted: the local
  model is deterministic, so they change nothing, and the Responses API echoes them back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
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


def check_chat_options(payload: dict[str, Any]) -> Format | None:
    """Refuse the Chat Completions options the local model cannot honour (see the module docstring);
    the JSON format asked for, if any."""
    _check_tools(payload.get("tools"), payload.get("tool_choice"), chat=True)
    if payload.get("functions") is not None and payload.get("function_call") not in (None, "none", "auto"):
        raise unsupported("function_call", "call functions")
    fmt = _check_format(payload.get("response_format"), "response_format")
    if payload.get("logprobs") is True:
        raise unsupported("logprobs", "return log probabilities")
    modalities = payload.get("modalities")
    if payload.get("audio") is not None or (isinstance(modalities, list) and "audio" in modalities):
        raise unsupported("modalities" if payload.get("audio") is None else "audio", "answer with audio")
    return fmt


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


def text_format(payload: dict[str, Any]) -> Format | None:
    """The JSON format of a Responses request's ``text.format`` (checked by :func:`responses_echo`)."""
    text = payload.get("text")
    return _check_format(text.get("format"), "text.format") if isinstance(text, dict) else None


def _check_tools(tools: Any, choice: Any, *, chat: bool) -> None:
    if tools is not None and not isinstance(tools, list):
        raise errors.invalid_type("tools", "an array", tools)
    if choice is None or choice in ("auto", "none"):
        return
    if choice == "required" or isinstance(choice, dict):
        raise unsupported("tool_choice", "call tools (it answers in text; 'auto' and 'none' work)")
    raise errors.invalid_value("tool_choice", choice, ("none", "auto", "required"))


def _check_format(value: Any, param: str) -> Format | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise errors.invalid_type(param, "an object", value)
    kind = value.get("type")
    if kind in ("text", "json_object", "json_schema"):
        return parse_format(value, param)
    raise errors.invalid_value(f"{param}.type", kind, ("text", "json_object", "json_schema"))


# --- structured outputs ----------------------------------------------------------------------------

JSON_WORD = {
    "response_format": "'messages' must contain the word 'json' in some form, to use 'response_format' of "
    "type 'json_object'.",
    "text.format": "Response input messages must contain the word 'json' in some form to use 'text.format' "
    "of type 'json_object'.",
}
#: Schema keywords the local model cannot honour, and why.
UNSUPPORTED = {
    "oneOf": "it cannot choose between alternative shapes",
    "not": "it cannot exclude shapes",
    "if": "it cannot follow conditional schemas",
    "patternProperties": "it fills named properties only",
    "propertyNames": "it fills named properties only",
    "dependentSchemas": "it cannot follow conditional schemas",
    "dependentRequired": "it cannot follow conditional schemas",
    "prefixItems": "it fills arrays of one item schema",
    "contains": "it fills arrays of one item schema",
    "pattern": "it cannot make text match a regular expression",
    "minLength": "it cannot lengthen the text it finds",
    "multipleOf": "it cannot round a number to a multiple",
    "minProperties": "it fills the properties it finds",
    "maxProperties": "it fills the properties it finds",
    "unevaluatedProperties": "it fills named properties only",
    "dependencies": "it cannot follow conditional schemas",
}
#: The JSON types of the schema keywords the local model reads (a wrong one is an invalid schema).
SHAPES: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(("properties", "$defs", "definitions", "items"), (dict,)),
    **dict.fromkeys(("required", "enum", "anyOf", "allOf"), (list,)),
    **dict.fromkeys(("description", "title", "format", "$ref"), (str,)),
    **dict.fromkeys(("minItems", "maxItems", "maxLength", "minLength"), (int,)),
    **dict.fromkeys(("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"), (int, float)),
    "type": (str, list),
    "additionalProperties": (bool, dict),
    "uniqueItems": (bool,),
}
JSON_TYPES = ("object", "array", "string", "number", "integer", "boolean", "null")
#: How deep a schema may nest (levels of properties, items, anyOf and $ref), and how many items
#: ``minItems`` may ask for when fewer are found (each an empty one).
MAX_DEPTH = 32
MAX_MIN_ITEMS = 100


@dataclass(frozen=True)
class Format:
    """A requested JSON format: ``json_object``, or ``json_schema`` with its name, schema and strictness."""

    kind: str
    param: str  # "response_format" (Chat Completions) or "text.format" (Responses)
    name: str = ""
    schema: dict[str, Any] = field(default_factory=dict)
    strict: bool = False


def parse_format(value: dict[str, Any], param: str) -> Format | None:
    """The JSON format of a ``response_format`` / ``text.format`` object (None for text); 400s as the services'."""
    if value.get("type") == "json_object":
        return Format("json_object", param)
    if value.get("type") != "json_schema":
        return None
    spec, where = value, param  # Responses: name and schema beside the type
    if param == "response_format":
        spec, where = value.get("json_schema"), f"{param}.json_schema"
        if spec is None:
            raise errors.missing_parameter(where)
        if not isinstance(spec, dict):
            raise errors.invalid_type(where, "an object", spec)
    name, schema, strict = spec.get("name"), spec.get("schema"), spec.get("strict")
    for key, item, kind, expected in (("name", name, str, "a string"), ("schema", schema, dict, "an object")):
        if item is None:
            raise errors.missing_parameter(f"{where}.{key}")
        if not isinstance(item, kind):
            raise errors.invalid_type(f"{where}.{key}", expected, item)
    if not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", name):
        raise errors.invalid_value(
            f"{where}.name", name, why="the name must be 1 to 64 letters, digits, underscores or dashes."
        )
    if strict is not None and not isinstance(strict, bool):
        raise errors.invalid_type(f"{where}.strict", "a boolean", strict)
    fmt = Format("json_schema", param, name, schema, bool(strict))
    _SchemaCheck(fmt).check(schema, (), ())
    return fmt


def require_json_word(fmt: Format | None, texts: list[str]) -> None:
    """``json_object`` needs the word JSON in the messages (the services' 400 otherwise)."""
    if fmt is not None and fmt.kind == "json_object" and not any("json" in t.lower() for t in texts):
        raise ApiError(
            400, None, JSON_WORD[fmt.param], param="messages" if fmt.param == "response_format" else fmt.param
        )


class _SchemaCheck:
    """Walks a schema: the services' strict-mode rules, and the features the local model lacks."""

    def __init__(self, fmt: Format) -> None:
        self.fmt = fmt
        self.param = "response_format" if fmt.param == "response_format" else "text.format.schema"
        self.done: set[str] = set()  # $ref targets checked whole (so no cycle runs through them)

    def fail(self, path: tuple[str, ...], problem: str) -> ApiError:
        return ApiError(
            400,
            "invalid_json_schema",
            f"Invalid schema for response_format '{self.fmt.name}': In context={path!r}, {problem}",
            param=self.param,
        )

    def unsupported(self, path: tuple[str, ...], keyword: str, why: str) -> ApiError:
        return self.fail(
            path,
            f"'{keyword}' is not supported by the local model: {why}. Remove it, or use a cloud host "
            "(API_HOST=azure, openai, github or foundry).",
        )

    def check(self, node: Any, path: tuple[str, ...], refs: tuple[str, ...]) -> None:
        if not isinstance(node, dict):
            raise self.fail(path, "schema must be an object.")
        for key, kinds in SHAPES.items():
            value = node.get(key)
            if key in node and (
                not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)
            ):
                raise self.fail(path, f"'{key}' must be a JSON {'/'.join(k.__name__ for k in kinds)}.")
        if not all(isinstance(k, str) for k in node.get("required", [])):
            raise self.fail(path, "'required' must be an array of property names.")
        if any(t not in JSON_TYPES for t in types_of(node)) or not node.get("enum", [None]):
            raise self.fail(path, f"'type' must be one of {', '.join(JSON_TYPES)}, and 'enum' not empty.")
        if len(path) + 2 * len(refs) > 2 * MAX_DEPTH:
            raise self.unsupported(path, "nesting", f"it reads schemas up to {MAX_DEPTH} levels deep")
        if node.get("minItems", 0) > MAX_MIN_ITEMS:
            raise self.unsupported(path, "minItems", f"it makes up at most {MAX_MIN_ITEMS} empty items")
        if not path and self.fmt.strict and types_of(node) != ["object"]:
            got = node.get("type")
            raise self.fail(
                path, f"schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{got}\"'."
            )
        for keyword, why in UNSUPPORTED.items():
            if keyword in node and not (keyword == "minLength" and node[keyword] == 0):
                raise self.unsupported(path, keyword, why)
        for key in ("$defs", "definitions"):  # each definition as the $ref that names it
            for name, sub in node.get(key, {}).items():
                self.check(sub, (*path, key, name), (*refs, "#/" + "/".join((*path, key, name))))
        if "$ref" in node:
            ref = node["$ref"]
            if ref in refs:
                raise self.unsupported(path, "$ref", f"'{ref}' refers back to itself, and a cycle has no end")
            target = pointer(self.fmt.schema, ref)
            if target is None:
                raise self.fail(path, f"reference '{ref}' can't be resolved (only '#/...' references are).")
            if ref not in self.done:
                self.check(target, path, (*refs, ref))
                self.done.add(ref)
        if len(node.get("allOf", [None])) != 1:
            raise self.unsupported(path, "allOf", "it fills one schema at a time (allOf of one schema works)")
        for sub in node.get("allOf", []):
            self.check(sub, (*path, "allOf"), refs)
        branches = node.get("anyOf", [])
        for i, sub in enumerate(branches):
            self.check(sub, (*path, "anyOf", str(i)), refs)
        if sum(1 for b in branches if kind_of(self.fmt.schema, b) in ("object", "array")) > 1:
            raise self.unsupported(
                path, "anyOf", "it cannot decide between objects or arrays of different shapes"
            )
        keys = ("type", "$ref", "anyOf", "allOf", "enum", "const")
        if self.fmt.strict and not any(k in node for k in keys):
            raise self.fail(path, "schema must have a 'type' key.")
        properties = node.get("properties", {})
        if self.fmt.strict and "object" in types_of(node):
            if node.get("additionalProperties") is not False:
                raise self.fail(path, "'additionalProperties' is required to be supplied and to be false.")
            missing = [k for k in properties if k not in node.get("required", [])]
            if missing:
                raise self.fail(
                    path,
                    "'required' is required to be supplied and to be an array including every key in "
                    f"properties. Missing '{missing[0]}'.",
                )
        if node.get("additionalProperties") is False and (
            extra := set(node.get("required", [])) - set(properties)
        ):
            raise self.fail(
                path, f"'required' names '{sorted(map(str, extra))[0]}', which is not in properties."
            )
        for key, sub in properties.items():
            self.check(sub, (*path, "properties", key), refs)
        if isinstance(node.get("items"), dict):
            self.check(node["items"], (*path, "items"), refs)


def pointer(root: dict[str, Any], ref: Any) -> dict[str, Any] | None:
    """The schema a local ``$ref`` ("#", "#/$defs/Item") points at, or None."""
    if not isinstance(ref, str) or not ref.startswith("#"):
        return None
    node: Any = root
    for part in filter(None, ref[1:].split("/")):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def resolve(root: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """``node`` with its ``$ref`` and single ``allOf`` merged in (the check has ruled out cycles)."""
    while "$ref" in node or "allOf" in node:
        target = pointer(root, node.get("$ref")) if "$ref" in node else node["allOf"][0]
        node = {**(target or {}), **{k: v for k, v in node.items() if k not in ("$ref", "allOf")}}
    return node


def types_of(node: dict[str, Any]) -> list[str]:
    kind = node.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)


def kind_of(root: dict[str, Any], node: Any) -> str | None:
    """The JSON type a schema asks for, null only when nothing else (anyOf: its first branch not null)."""
    if not isinstance(node, dict):
        return None
    node = resolve(root, node)
    for branch in node.get("anyOf", []):
        if (kind := kind_of(root, branch)) not in (None, "null"):
            return kind
    kinds = [t for t in types_of(node) if t != "null"] or types_of(node)
    if kinds:
        return kinds[0]
    return "object" if "properties" in node else "array" if "items" in node else None
