"""Request bodies as JSON, read strictly: what Python's json module accepts but JSON does not is a 400.

Python reads ``NaN``, ``Infinity``, numbers that overflow to infinity (``1e999``), integers of any
length up to its own 4300-digit guard, and strings holding lone UTF-16 surrogates (``"\\ud800"``);
none of them can be written back as JSON or UTF-8, so each is refused here, naming the field.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from . import errors


def load_json(body: bytes) -> dict[str, Any]:
    """The JSON object of a request body; malformed JSON is a 400."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        detail = (
            f"line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        )
        raise errors.invalid_json(detail) from None
    except RecursionError:
        raise errors.invalid_json("nested too deeply") from None
    except ValueError:  # an integer of more than 4300 digits: name its field when it has one
        field = re.search(rb'"([^"\\]{1,100})"\s*:\s*-?\d{4300}', body)
        where = f" at '{field.group(1).decode('utf-8', 'replace')}'" if field else ""
        raise errors.invalid_json(f"the number{where} has too many digits") from None
    if not isinstance(payload, dict):
        raise errors.invalid_json("expected an object at the top level")
    _check_unicode(payload)
    return payload


def _check_unicode(payload: dict[str, Any]) -> None:
    """A 400 naming the field when a key or string holds a lone surrogate (JSON allows ``"\\ud800"``,
    UTF-8 cannot encode it, and every later step would fail on it), or a number overflows to infinity."""
    stack: list[tuple[str, Any]] = [("", payload)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            if not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    raise errors.invalid_unicode(where or "body") from None
        elif isinstance(value, float) and not math.isfinite(value):  # NaN, Infinity, 1e999
            raise errors.invalid_json(f"'{where}' is {value}, which is not a JSON number")
        elif isinstance(value, dict):
            for key, item in value.items():
                shown = key.encode("utf-8", "backslashreplace").decode("utf-8")  # safe to write back
                path = f"{where}.{shown}" if where else shown
                stack.append((path, key))
                stack.append((path, item))
        elif isinstance(value, list):
            stack.extend((f"{where}[{i}]", item) for i, item in enumerate(value))
