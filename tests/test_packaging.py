"""pyproject.toml, environment.yml and the public API agree."""

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import helpers

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def _split(requirement: str) -> tuple[str, str]:
    match = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(.*)", requirement.strip())  # keeps markers
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(1)).lower(), match.group(2).replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(_split(r) for r in project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted.update(_split(r) for r in extra)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    have = dict(
        _split(d) for d in conda + pip if not d.startswith("-e") and _split(d)[0] not in ("python", "pip")
    )
    assert have == wanted
    assert dict(_split(d) for d in conda)["python"] == project["requires-python"]


def test_public_names_come_from_the_stub_and_resolve_to_their_modules():
    stub = (ROOT / "helpers" / "__init__.pyi").read_text()
    listed = re.findall(r"^from \.(\w+) import (\w+) as \2$", stub, re.M)
    assert sorted(name for _, name in listed) == sorted(helpers.__all__)
    for module, name in listed:
        assert getattr(helpers, name) is getattr(importlib.import_module(f"helpers.{module}"), name)
    with pytest.raises(AttributeError):
        helpers.no_such_name  # noqa: B018


def test_import_helpers_loads_no_sdk_or_engine():
    heavy = ("openai", "azure", "pymupdf", "av", "numpy", "onnxruntime", "openvino", "PIL", "httpx")
    code = f"import sys, helpers, helpers.tokens; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_pdf_pages_does_not_load_pymupdf_layout():
    code = "import sys; from helpers import pdf_pages; import helpers.pdf; print(sorted(m for m in sys.modules if m.startswith(('pymupdf.layout', 'pymupdf4llm', 'onnxruntime'))))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_console_script_is_python_m_helpers():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"] == {"workbook": "helpers.__main__:main"}
