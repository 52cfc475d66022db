"""pyproject.toml, environment.yml and the public API agree."""

import re
import sys
from pathlib import Path

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


def test_public_names_are_explicit_and_importable():
    assert len(helpers.__all__) == len(set(helpers.__all__))
    for name in helpers.__all__:
        assert getattr(helpers, name) is not None
    for needed in ("connect", "Attachment", "image_tokens", "pdf_pages", "prepare_audio", "chat_content"):
        assert needed in helpers.__all__


def test_console_script_is_python_m_helpers():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"] == {"workbook": "helpers.__main__:main"}
