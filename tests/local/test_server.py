"""Starting the local host: once per process in the background, or `python -m helpers serve` in the foreground."""

from __future__ import annotations

import html
import os
import re
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import httpx
import openai
import pytest
from azure.ai.inference import ChatCompletionsClient
from azure.ai.inference.models import UserMessage
from azure.core.credentials import AzureKeyCredential

from helpers.errors import SettingsError
from helpers.local import server as server_module
from helpers.local.app import ROUTES
from helpers.local.model import HELP
from helpers.local.server import (
    _banner,
    _bind,
    ensure_started,
    refuse_public_without_key,
    serve_cli,
    start_server,
    wait_until_answering,
)
from helpers.local.settings import KEY_IN_ARGV, Settings

from .conftest import KEY, settings_of

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_REFUSED = (
    "Refusing to listen on {host} without a key: that address is reachable from other machines, and "
    "anyone who can reach it could use the local host. Set a key (LOCAL_API_KEY, or --api-key-file PATH / "
    "LOCAL_API_KEY_FILE), or pass --allow-public (LOCAL_ALLOW_PUBLIC=1) if you mean to serve it to anyone "
    "who can reach it."
)


@pytest.fixture
def no_local_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """serve_cli reads os.environ: none of the machine's LOCAL_* variables."""
    for name in [n for n in os.environ if n.startswith("LOCAL_")]:
        monkeypatch.delenv(name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_ensure_started_once_per_process() -> None:
    first = ensure_started()
    assert first.startswith("http://127.0.0.1:") and not first.endswith("/")
    assert ensure_started() == first
    assert httpx.get(f"{first}/health").json()["status"] == "ok"


def test_ensure_started_replaces_a_stopped_server() -> None:
    first = ensure_started()
    stopped = server_module._running
    assert stopped is not None and stopped.answering()
    stopped.stop()
    assert not stopped.answering()
    with pytest.warns(RuntimeWarning) as caught:
        second = ensure_started()
    replacement = server_module._running
    assert replacement is not stopped and replacement is not None and second == replacement.url
    assert [str(w.message) for w in caught if w.category is RuntimeWarning] == [
        f"The local host at {first} had stopped; started a new one at {second}. "
        "Clients made for the old URL cannot reach it: call connect() again to get new ones."
    ]
    assert httpx.get(f"{second}/health").json()["status"] == "ok"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an answering server is returned without a warning
        assert ensure_started() == second


def test_listening_socket_is_tcp_so_nagle_is_off() -> None:
    # asyncio sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP; without it every answer
    # waited ~40 ms for the client's delayed ACK.
    sock = _bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_serve_cli_refuses_a_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert serve_cli(["--port", str(port)]) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_serve_cli_rejects_bad_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert serve_cli(["--fault-status", "418"]) == 2
    assert "LOCAL_FAULT_STATUS=418 is not one of 429, 500, 503" in capsys.readouterr().err
    with pytest.raises(SystemExit) as caught:
        serve_cli(["--rpm", "many"])
    assert caught.value.code == 2


def test_python_m_helpers_serve_with_the_unmodified_sdks(tmp_path: Path) -> None:
    port, key = free_port(), "cli-key-42"
    key_file = tmp_path / "key"
    key_file.write_text(key + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCAL_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "helpers", "serve", "--port", str(port), "--api-key-file", str(key_file)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    root = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering("127.0.0.1", port, lambda: process.poll() is None)
        client = openai.OpenAI(base_url=f"{root}/v1", api_key=key, max_retries=0)
        assert (
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hello there"}])
            .choices[0]
            .message.content
            == HELP
        )
        azure = openai.AzureOpenAI(azure_endpoint=root, api_key=key, api_version="2024-10-21", max_retries=0)
        assert (
            azure.chat.completions.create(model="d", messages=[{"role": "user", "content": "Hello there"}])
            .choices[0]
            .message.content
            == HELP
        )
        inference = ChatCompletionsClient(
            endpoint=f"{root}/models", credential=AzureKeyCredential(key), model="m"
        )
        assert inference.get_model_info().model_name == "local-multimodal"
        assert inference.complete(messages=[UserMessage("Hello there")]).choices[0].message.content == HELP
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{root}/v1", api_key="wrong", max_retries=0).models.list()
    finally:
        process.terminate()
        output, _ = process.communicate()
    assert f"Local host: local-multimodal at {root}" in output
    assert (
        "  auth: a key is required (the one in LOCAL_API_KEY, or in the file of --api-key-file / "
        "LOCAL_API_KEY_FILE)\n" in output
    )
    assert key not in output


@pytest.mark.parametrize("argv", [["--api-key", "argv-secret-1"], ["--api-key=argv-secret-1"], ["--api-key"]])
def test_serve_refuses_a_key_in_argv(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        serve_cli(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.endswith(f"error: {KEY_IN_ARGV}\n")
    assert KEY_IN_ARGV == (
        "--api-key is not accepted: a key on the command line is visible to every user of this machine "
        "(ps) and is kept in the shell history. Set LOCAL_API_KEY in the environment or in .env, or pass "
        "--api-key-file PATH (a file whose first line is the key)."
    )
    assert "argv-secret-1" not in err


def test_key_from_a_file_or_the_variable(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text("  file-key-7  \nsecond line\n")
    assert settings_of(["--api-key-file", str(path)], {}).api_key == "file-key-7"
    assert settings_of([], {"LOCAL_API_KEY_FILE": str(path)}).api_key == "file-key-7"
    assert settings_of([], {"LOCAL_API_KEY": "env-key"}).api_key == "env-key"
    # the flag wins over both variables
    assert settings_of(["--api-key-file", str(path)], {"LOCAL_API_KEY": "env-key"}).api_key == "file-key-7"
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"LOCAL_API_KEY": "env-key", "LOCAL_API_KEY_FILE": str(path)})
    assert str(caught.value) == (
        "LOCAL_API_KEY and LOCAL_API_KEY_FILE are both set; keep one of them (the key itself, or the path "
        "of a file whose first line is the key)."
    )
    assert "file-key-7" not in repr(settings_of([], {"LOCAL_API_KEY_FILE": str(path)}))


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such file; give the path of a readable text file whose first line is the key."),
        ("", "the first line of the file is empty; put the key there."),
        ("   \nkey-on-line-2\n", "the first line of the file is empty; put the key there."),
        (
            b"\xff\xfekey",
            "not UTF-8 text; give the path of a readable text file whose first line is the key.",
        ),
        (
            "dir",
            "cannot read it (Is a directory); give the path of a readable text file whose first line is the key.",
        ),
    ],
)
def test_serve_refuses_an_unusable_key_file(
    content: str | bytes | None,
    problem: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    no_local_env: None,
) -> None:
    path = tmp_path / "key"
    if content == "dir":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    assert serve_cli(["--api-key-file", str(path), "--port", "0"]) == 2
    assert capsys.readouterr().err == f"error: --api-key-file={str(path)!r}: {problem}\n"


def test_serve_refuses_a_public_address_without_a_key(
    capsys: pytest.CaptureFixture[str], no_local_env: None
) -> None:
    assert serve_cli(["--host", "0.0.0.0", "--port", "0"]) == 2
    assert capsys.readouterr().err == "error: " + PUBLIC_REFUSED.format(host="0.0.0.0") + "\n"
    with pytest.raises(SettingsError) as caught:
        start_server(Settings(host="::", port=0))
    assert str(caught.value) == PUBLIC_REFUSED.format(host="::")
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        refuse_public_without_key(Settings(host=host))
    refuse_public_without_key(Settings(host="0.0.0.0", api_key="k"))
    refuse_public_without_key(Settings(host="0.0.0.0", allow_public=True))
    assert settings_of(["--allow-public"], {}).allow_public is True
    assert settings_of([], {"LOCAL_ALLOW_PUBLIC": "1"}).allow_public is True
    assert settings_of([], {}).allow_public is False


def test_banner_warns_of_a_public_address() -> None:
    root = "http://0.0.0.0:8000"
    keyed = _banner(Settings(host="0.0.0.0", api_key="banner-key"), root).splitlines()
    assert keyed[-3:] == [
        "  auth: a key is required (the one in LOCAL_API_KEY, or in the file of --api-key-file / LOCAL_API_KEY_FILE)",
        "  warning: listening on 0.0.0.0, reachable from other machines",
        "Press Ctrl+C to stop.",
    ]
    assert "banner-key" not in "\n".join(keyed)
    public = _banner(Settings(host="0.0.0.0", allow_public=True), root).splitlines()
    assert public[-3:] == [
        "  auth: none (any key is accepted)",
        "  warning: listening on 0.0.0.0, reachable from other machines without a key (--allow-public)",
        "Press Ctrl+C to stop.",
    ]
    assert "warning" not in _banner(Settings(), "http://127.0.0.1:8000")


def test_banner_says_how_to_point_each_sdk_here() -> None:
    root = "http://127.0.0.1:8000"
    sdk_lines = [
        f"Local host: local-multimodal at {root}",
        f'  openai.OpenAI(base_url="{root}/v1")',
        f'  openai.AzureOpenAI(azure_endpoint="{root}", api_version="2024-10-21")',
        f'  azure.ai.inference.ChatCompletionsClient(endpoint="{root}/models")',
        f'  azure.ai.inference.ChatCompletionsClient(endpoint="{root}")  # as a single-model endpoint',
    ]
    assert _banner(Settings(), root).splitlines() == [
        *sdk_lines,
        f"  every route, and these lines: open {root}/ in a browser",
        "  auth: none (any key is accepted)",
        "Press Ctrl+C to stop.",
    ]
    assert _banner(Settings(), root, page=True).splitlines() == [
        *sdk_lines,
        "  auth: none (any key is accepted)",
    ]


def test_root_page_lists_the_app_routes_without_a_key(make_server) -> None:
    running = make_server(api_key=KEY)
    running.app.add_api_route("/added/later", lambda: {}, methods=["POST"])  # read from the app, per request
    response = httpx.get(f"{running.url}/")  # no key
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert KEY not in page
    pre = re.search(r"<pre>(.*)</pre>", page, re.S).group(1)
    assert pre == html.escape(_banner(running.settings, running.url, page=True))
    assert "a key is required" in pre and "Press Ctrl+C" not in pre
    rows = re.findall(r"<tr><td>(\w+)</td><td><code>([^<]+)</code></td></tr>", page)
    expected = [("GET", "/health"), ("GET", "/"), *((m, p) for m, p, *_ in ROUTES), ("POST", "/added/later")]
    assert [(m, html.unescape(p)) for m, p in rows] == expected


def test_models_load_lazily() -> None:
    code = (
        "import sys, httpx\n"
        "from helpers.local.server import start_server\n"
        "from helpers.local.settings import Settings\n"
        "running = start_server(Settings(port=0))\n"
        "httpx.post(running.url + '/v1/chat/completions', json={'model': 'm', 'messages': "
        "[{'role': 'user', 'content': 'hi'}]}).raise_for_status()\n"
        "from helpers.local import ocr, speech\n"
        "print(sorted(m for m in ('rapidocr_onnxruntime', 'faster_whisper', 'ctranslate2') if m in sys.modules),"
        " ocr.ENGINE.loaded, speech.ENGINE.loaded)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCAL_")}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[] False False"
