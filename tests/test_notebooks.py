"""The stored notebooks: conventions, and no secret in any output or metadata."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))

#: What a secret looks like. Example hosts (YOUR-RESOURCE, ***) are allowed.
SECRET_PATTERNS = {
    "OpenAI key": r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}",
    "GitHub token": r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})",
    "bearer token": r"Bearer\s+[A-Za-z0-9._~+/-]{20,}",
    "JSON web token": r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}",
    "Azure key": r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])|\b[A-Za-z0-9]{84}\b",
    "Azure endpoint": r"https://(?!YOUR-RESOURCE\b|\*\*\*)[a-z0-9-]+\.(?:openai|cognitiveservices|services\.ai)\.azure\.com",
    "key assignment": r"(?i)api[_-]?key['\"]?\s*[:=]\s*['\"](?!YOUR-|local['\"])[^'\"]{8,}",
}


def find_secrets(text: str) -> list[str]:
    """Names of the secret patterns found in ``text``."""
    return [name for name, pattern in SECRET_PATTERNS.items() if re.search(pattern, text)]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("key sk-proj-abcdefghijklmnopqrstuvwx", ["OpenAI key"]),
        ("ghp_" + "a1" * 18, ["GitHub token"]),
        ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345", ["bearer token"]),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig", ["JSON web token"]),
        ("0123456789abcdef0123456789abcdef", ["Azure key"]),
        ("at https://contoso.openai.azure.com/", ["Azure endpoint"]),
        ('{"api_key": "hunter2hunter2"}', ["key assignment"]),
        ("https://YOUR-RESOURCE.openai.azure.com and https://***.openai.azure.com", []),
        ("local host: model local-multimodal at http://127.0.0.1:PORT, api_key='local'", []),
    ],
)
def test_the_secret_scanner_finds_what_it_should(text, found):
    assert find_secrets(text) == found


def test_there_are_four_notebooks():
    assert [p.name for p in NOTEBOOKS] == [
        "audio_translation.ipynb",
        "chat_app.ipynb",
        "chat_pdf_images.ipynb",
        "chat_vision.ipynb",
    ]


WIDGET = "application/vnd.jupyter.widget-view+json"


def stored_text(notebook: dict) -> str:
    """Metadata and outputs as text, without image data, widget model ids (random hex) and base64
    data URLs: random bytes would match the key patterns by chance."""
    parts = [json.dumps(notebook["metadata"])]
    for cell in notebook["cells"]:
        parts.append(json.dumps(cell.get("metadata", {})))
        for output in cell.get("outputs", []):
            data = {
                k: v for k, v in output.get("data", {}).items() if not k.startswith("image/") and k != WIDGET
            }
            parts.append(json.dumps({**output, "data": data}))
    return re.sub(r"data:[\w/+.-]+;base64,(?:[A-Za-z0-9+/=]|\\n)+", "data:...", "".join(parts))


def test_stored_text_drops_images_and_data_urls():
    audio = '<audio src="data:audio/mpeg;base64,QUJD+/=="/>'
    notebook = {
        "metadata": {"k": 1},
        "cells": [{"outputs": [{"data": {"image/png": "QUJD", "text/html": audio}}]}],
    }
    assert stored_text(notebook) == '{"k": 1}{}{"data": {"text/html": "<audio src=\\"data:...\\"/>"}}'


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_secret_in_outputs_or_metadata(path):
    assert find_secrets(stored_text(json.loads(path.read_text()))) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_conventions(path):
    notebook = nbformat.read(path, as_version=4)
    assert notebook.metadata.kernelspec.name == "python3"
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert "host = connect()" in code[0].source and "from helpers import" in code[0].source
    for cell in code:
        assert cell.execution_count is not None, f"unexecuted cell in {path.name}: {cell.source[:40]!r}"
        lines = cell.source.splitlines()
        if "# NBVAL_IGNORE_OUTPUT" in lines:
            reason = lines[lines.index("# NBVAL_IGNORE_OUTPUT") + 1]
            assert reason.startswith("# ("), (
                f"{path.name}: say why the output is ignored: {cell.source[:60]!r}"
            )
    assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith("# ")
