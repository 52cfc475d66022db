"""Starting the local host: once per process in the background, or `python -m helpers serve` in the foreground."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import openai
import pytest
from azure.ai.inference import ChatCompletionsClient
from azure.ai.inference.models import UserMessage
from azure.core.credentials import AzureKeyCredential

from helpers.local.model import HELP
from helpers.local.server import _bind, ensure_started, serve_cli, wait_until_answering

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_ensure_started_once_per_process() -> None:
    first = ensure_started()
    assert first.startswith("http://127.0.0.1:") and not first.endswith("/")
    assert ensure_started() == first
    assert httpx.get(f"{first}/health").json()["status"] == "ok"


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
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCAL_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "helpers", "serve", "--port", str(port), "--api-key", key],
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
    assert key not in output


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
