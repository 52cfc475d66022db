"""JupyterLab on a loopback port and Debian's chromium driven by Playwright, for tests/browser.

The server serves a temporary copy of ``notebooks/`` and ``data/`` laid out as in the repository (so the
notebooks' ``../data/receipt.png`` resolves), with its own token and its own Jupyter config, data,
settings and workspace folders: nothing of the developer's own JupyterLab set-up leaks in, and the
notebooks open untrusted, as they do for a learner who has just cloned the repository.

Chromium is Debian's package (``apt-get install chromium``), never a browser that Playwright downloads.
Without it the tests are skipped, except in CI (``CI`` set), where they fail. A failing test leaves a
screenshot in ``build/browser-<test>.png``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"

# Chromium's own background connections (updates, sync, QUIC probes) are refused on a closed network
# and only slow it down; --headless and --no-sandbox let it run as root in a container.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# JupyterLab user settings for the test server: every cell in the DOM (no windowing, so the whole
# notebook can be read), no autosave (the stored notebooks stay as stored), no news toast over the page.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}


def missing(reason: str) -> None:
    """Skip for a developer without the tool; fail in CI, where the browser tests must run."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab: where it is, its token and the folder it serves."""

    url: str
    token: str
    root: Path
    log: Path

    def notebook_url(self, path: str, workspace: str) -> str:
        """Open ``path`` (relative to the root) in a workspace of its own, reset, so tests do not
        see each other's tabs."""
        return f"{self.url}/lab/workspaces/{workspace}/tree/{path}?reset&token={self.token}"

    def api(self, path: str, method: str = "GET") -> object:
        request = urllib.request.Request(
            f"{self.url}/api/{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _log_tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


@pytest.fixture(scope="package")
def chromium() -> str:
    """The path of Debian's chromium."""
    path = shutil.which("chromium")
    if path is None:
        missing("chromium is not installed (apt-get install chromium); the browser tests need it")
    return path


@pytest.fixture(scope="package")
def lab(chromium, tmp_path_factory) -> Iterator[Lab]:
    """JupyterLab serving a copy of notebooks/ and data/, with API_HOST=local (not started at all when
    there is no browser to look at it)."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    shutil.copytree(
        ROOT / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints")
    )
    shutil.copytree(ROOT / "data", root / "data")
    settings = base / "settings"
    for plugin, values in LAB_SETTINGS.items():
        target = settings / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    env = dict(os.environ)
    for name in ("LOCAL_STREAM_DELAY_MS", "LOCAL_ENDPOINT", "JUPYTER_PATH", "JUPYTER_TOKEN"):
        env.pop(name, None)  # connect() paces streamed chunks by itself; nothing else may redirect it
    env.update(
        API_HOST="local",
        JUPYTER_CONFIG_DIR=str(base / "config"),
        JUPYTER_DATA_DIR=str(base / "data"),  # its own notary too: the notebooks open untrusted
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
        IPYTHONDIR=str(base / "ipython"),
    )
    token = secrets.token_hex(24)
    port = free_port()
    log = base / "jupyter.log"
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    with log.open("w") as out:
        server = subprocess.Popen(
            command, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
    found = Lab(url=f"http://127.0.0.1:{port}", token=token, root=root, log=log)
    try:
        deadline = time.monotonic() + 90
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited with {server.returncode}:\n{_log_tail(log)}", pytrace=False)
            try:
                found.api("status")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer on port {port}:\n{_log_tail(log)}", pytrace=False)
                time.sleep(0.25)
        yield found
    finally:
        try:  # shut the kernels (and the local hosts they started) down before the server
            for kernel in found.api("kernels") if server.poll() is None else []:
                found.api(f"kernels/{kernel['id']}", method="DELETE")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="package")
def browser_context(chromium, tmp_path_factory):
    """One headless Chromium with a fresh profile for the session."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "playwright is missing: pip install -e '.[dev]' (never `playwright install`)", pytrace=False
        )
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=chromium,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 800},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so the ``page`` fixture knows whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def screenshot_path(name: str) -> Path:
    BUILD.mkdir(exist_ok=True)
    return BUILD / f"browser-{re.sub(r'[^A-Za-z0-9_.-]+', '-', name).strip('-')}.png"


@pytest.fixture
def page(browser_context, request):
    """A fresh tab; on failure (or an expected failure) its screenshot goes to build/."""
    tab = browser_context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    report = getattr(request.node, "report_call", None)
    if report is not None and (report.failed or hasattr(report, "wasxfail")):
        try:
            tab.screenshot(path=screenshot_path(request.node.name))
        except Exception as exc:  # the screenshot must not hide the test's own failure
            print(f"screenshot failed: {exc}", file=sys.stderr)
    tab.close()
