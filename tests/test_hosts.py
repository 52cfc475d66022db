"""Tests of helpers.hosts: each host kind's real SDK clients against a loopback recording server."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import types
import warnings
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import azure.identity
import pytest
from azure.core.credentials import AccessToken

from helpers import hosts
from helpers.errors import SettingsError
from helpers.hosts import HOSTS, SETTINGS, connect

ROOT = Path(__file__).resolve().parents[1]
SECRET = "sk-test-SECRET123"
TOKEN = "entra-token-SECRET456"
MESSAGES = [{"role": "user", "content": "hi"}]
INFERENCE_VERSION = "api-version=2024-05-01-preview"
COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "m",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}
#: Variables the SDKs read on their own; cleared so the machine's settings cannot leak in.
SDK_VARIABLES = ["OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "OPENAI_CUSTOM_HEADERS", "AZURE_OPENAI_AD_TOKEN"]


@dataclass
class Request:
    """One request the recording server received."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Server:
    url: str
    requests: list[Request]


@pytest.fixture
def server():
    """A threaded loopback server that records requests and answers a canned completion."""
    requests: list[Request] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            requests.append(Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            out = json.dumps({"text": "hi"} if "/audio/" in self.path else COMPLETION).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield Server(f"http://127.0.0.1:{httpd.server_port}", requests)
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def clean_env(tmp_path, monkeypatch):
    """No host variables from the machine; an empty .env in the cwd stops the upward search."""
    saved = dict(os.environ)
    for name in ["API_HOST", *SDK_VARIABLES, *(s.name for s in SETTINGS)]:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text("")
    monkeypatch.chdir(tmp_path)
    yield
    os.environ.clear()  # load_dotenv writes os.environ directly
    os.environ.update(saved)


@pytest.fixture
def entra(monkeypatch):
    """Fake azure-identity credentials in helpers.hosts; returns the list of those created."""
    created: list[FakeCredential] = []

    class FakeCredential:
        def __init__(self, **kwargs: Any) -> None:
            self.kwargs, self.scopes = kwargs, []
            created.append(self)

        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            self.scopes.append(scopes)
            return AccessToken(TOKEN, int(time.time()) + 3600)

    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", FakeCredential)
    monkeypatch.setattr(azure.identity, "AzureDeveloperCliCredential", FakeCredential)
    return created


def chat(host: hosts.Host, server: Server) -> Request:
    """Send one chat completion with the openai client; return what the server received."""
    answer = host.client.chat.completions.create(model=host.model, messages=MESSAGES)
    assert answer.choices[0].message.content == "ok"
    return server.requests[-1]


def infer(host: hosts.Host, server: Server, **kwargs: Any) -> Request:
    """Send one chat completion with the azure-ai-inference client; return what the server received."""
    answer = host.inference.complete(messages=MESSAGES, **kwargs)
    assert answer.choices[0].message.content == "ok"
    return server.requests[-1]


def transcribe(host: hosts.Host, server: Server) -> Request:
    host.client.audio.transcriptions.create(model=host.audio_model, file=("a.wav", b"RIFF"))
    return server.requests[-1]


def assert_no_secret(host: hosts.Host) -> None:
    for text in (repr(host), str(host), host.describe()):
        assert SECRET not in text and TOKEN not in text


@pytest.mark.parametrize("suffix", ["", "/", "/v1"])
def test_local_with_endpoint(server, monkeypatch, suffix):
    monkeypatch.setenv("LOCAL_ENDPOINT", server.url + suffix)
    host = connect()
    assert (host.name, host.model, host.token_model, host.audio_model) == (
        "local",
        "local-multimodal",
        "gpt-4o",
        "local-multimodal",
    )
    assert host.endpoint == server.url
    assert str(host) == f"local host: model local-multimodal at {server.url}"
    assert repr(host) == f"Host(name='local', model='local-multimodal', endpoint='{server.url}')"
    sent = chat(host, server)
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer local"
    assert sent.json() == {"model": "local-multimodal", "messages": MESSAGES}
    sent = infer(host, server)
    assert sent.path == f"/models/chat/completions?{INFERENCE_VERSION}"
    assert (sent.headers["api-key"], sent.headers["authorization"]) == ("local", "Bearer local")
    assert sent.json() == {"messages": MESSAGES, "model": "local-multimodal"}
    assert host.inference is host.inference
    sent = transcribe(host, server)
    assert sent.path == "/v1/audio/transcriptions"
    assert b'name="model"\r\n\r\nlocal-multimodal\r\n' in sent.body


def test_local_starts_the_server_with_the_key(server, monkeypatch):
    calls = []

    def ensure_started(api_key: str | None = None) -> str:
        calls.append(api_key)
        return server.url

    monkeypatch.setitem(
        sys.modules, "helpers.local.server", types.SimpleNamespace(ensure_started=ensure_started)
    )
    monkeypatch.setenv("LOCAL_API_KEY", SECRET)
    monkeypatch.setenv("LOCAL_MODEL", "other-model")
    host = connect("local")
    assert calls == [SECRET]
    assert (host.endpoint, host.model) == (server.url, "other-model")
    assert chat(host, server).headers["authorization"] == f"Bearer {SECRET}"
    assert_no_secret(host)


def test_local_reads_the_key_file(server, monkeypatch, tmp_path):
    key_file = tmp_path / "local.key"
    key_file.write_text(SECRET + "\n")
    monkeypatch.setenv("LOCAL_API_KEY_FILE", str(key_file))
    monkeypatch.setenv("LOCAL_ENDPOINT", server.url)
    host = connect("local")
    assert chat(host, server).headers["authorization"] == f"Bearer {SECRET}"
    assert infer(host, server).headers["api-key"] == SECRET
    assert_no_secret(host)
    monkeypatch.setenv("LOCAL_API_KEY", "other-key")
    with pytest.raises(SettingsError) as caught:
        connect("local")
    assert str(caught.value) == (
        "LOCAL_API_KEY and LOCAL_API_KEY_FILE are both set; keep one of them (the key itself, or the path "
        "of a file whose first line is the key)."
    )


def test_local_endpoint_where_nothing_answers(monkeypatch):
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    root = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("LOCAL_ENDPOINT", root + "/v1")
    monkeypatch.setenv("LOCAL_API_KEY", SECRET)
    with pytest.raises(SettingsError) as caught:
        connect("local")
    assert str(caught.value) == (
        f"Nothing answers at LOCAL_ENDPOINT={root} (GET {root}/health: connection refused). Start the local "
        f"host there with `python -m helpers serve --port {port}` in a terminal, or unset LOCAL_ENDPOINT to "
        "have connect() start one in this process."
    )
    assert SECRET not in str(caught.value)
    monkeypatch.setenv("LOCAL_ENDPOINT", f"127.0.0.1:{port}")
    with pytest.raises(SettingsError) as caught:
        connect("local")
    assert str(caught.value) == (
        f"LOCAL_ENDPOINT='127.0.0.1:{port}' is not a URL like http://127.0.0.1:8000; fix it in .env, "
        "or unset LOCAL_ENDPOINT to have connect() start a local host in this process."
    )


def test_local_starts_a_new_server_when_the_old_one_stopped():
    from helpers.local import server as local_server
    from helpers.local.model import HELP

    first = connect("local")
    running = local_server._running
    assert running is not None and first.endpoint == running.url
    running.stop()
    with pytest.warns(RuntimeWarning) as caught:
        second = connect("local")
    assert second.endpoint == local_server._running.url
    assert [str(w.message) for w in caught if w.category is RuntimeWarning] == [
        f"The local host at {first.endpoint} had stopped; started a new one at {second.endpoint}. "
        "Clients made for the old URL cannot reach it: call connect() again to get new ones."
    ]
    assert local_server._running is not running
    hello = [{"role": "user", "content": "Hello there"}]
    assert (
        second.client.chat.completions.create(model=second.model, messages=hello).choices[0].message.content
        == HELP
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert connect("local").endpoint == second.endpoint


def test_importing_hosts_does_not_import_local():
    code = "import sys, helpers.hosts; print(sorted(m for m in sys.modules if m.startswith('helpers.local')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def azure_env(monkeypatch, server: Server, **extra: str) -> None:
    monkeypatch.setenv("API_HOST", "azure")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", server.url + "/")
    monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", "dep1")
    for name, value in extra.items():
        monkeypatch.setenv(name, value)


def test_azure_v1_with_key(server, monkeypatch, entra):
    azure_env(monkeypatch, server, AZURE_OPENAI_API_KEY=SECRET)
    host = connect()
    assert (host.name, host.model, host.token_model, host.audio_model) == (
        "azure",
        "dep1",
        "gpt-4o",
        "whisper",
    )
    assert host.endpoint == server.url
    sent = chat(host, server)
    assert sent.path == "/openai/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {SECRET}"
    assert sent.json() == {"model": "dep1", "messages": MESSAGES}
    sent = infer(host, server)
    assert sent.path == "/openai/deployments/dep1/chat/completions?api-version=2024-10-21"
    assert (sent.headers["api-key"], sent.headers["authorization"]) == (SECRET, f"Bearer {SECRET}")
    sent = transcribe(host, server)
    assert sent.path == "/openai/v1/audio/transcriptions"
    assert b'name="model"\r\n\r\nwhisper\r\n' in sent.body
    assert entra == []
    assert_no_secret(host)


def test_azure_classic_with_key(server, monkeypatch):
    azure_env(
        monkeypatch,
        server,
        AZURE_OPENAI_API_KEY=SECRET,
        AZURE_OPENAI_API_VERSION="2025-01-01-preview",
        AZURE_OPENAI_WHISPER_DEPLOYMENT="whisper-dep",
        AZURE_OPENAI_TOKEN_MODEL="gpt-4.1-mini",
    )
    host = connect()
    assert (host.token_model, host.audio_model) == ("gpt-4.1-mini", "whisper-dep")
    sent = chat(host, server)
    assert sent.path == "/openai/deployments/dep1/chat/completions?api-version=2025-01-01-preview"
    assert sent.headers["api-key"] == SECRET
    assert "authorization" not in sent.headers
    assert sent.json() == {"model": "dep1", "messages": MESSAGES}
    sent = transcribe(host, server)
    assert sent.path == "/openai/deployments/whisper-dep/audio/transcriptions?api-version=2025-01-01-preview"
    sent = infer(host, server)
    assert sent.path == "/openai/deployments/dep1/chat/completions?api-version=2025-01-01-preview"


@pytest.mark.parametrize(
    ("version", "path"),
    [
        ("v1", "/openai/v1/chat/completions"),
        ("2024-10-21", "/openai/deployments/dep1/chat/completions?api-version=2024-10-21"),
    ],
)
def test_azure_keyless(server, monkeypatch, entra, version, path):
    azure_env(monkeypatch, server, AZURE_OPENAI_API_VERSION=version)
    host = connect()
    sent = chat(host, server)
    assert sent.path == path
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert "api-key" not in sent.headers
    # azure-core refuses Bearer tokens over http unless told; the loopback server is http.
    sent = infer(host, server, enforce_https=False)
    assert sent.path == "/openai/deployments/dep1/chat/completions?api-version=2024-10-21"
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert "api-key" not in sent.headers
    [credential] = entra  # one credential shared by both clients
    assert credential.kwargs == {}
    assert set(credential.scopes) == {("https://cognitiveservices.azure.com/.default",)}
    assert_no_secret(host)


def test_azure_tenant_uses_azd_credential(server, monkeypatch, entra):
    azure_env(monkeypatch, server, AZURE_TENANT_ID="tenant-1")
    chat(connect(), server)
    assert [c.kwargs for c in entra] == [{"tenant_id": "tenant-1"}]


def test_azure_bad_api_version(server, monkeypatch):
    azure_env(monkeypatch, server, AZURE_OPENAI_API_VERSION="latest")
    with pytest.raises(SettingsError) as error:
        connect()
    assert str(error.value) == (
        "The azure host needs AZURE_OPENAI_API_VERSION to be v1 (the v1 API) or a date like 2024-10-21 "
        "(the classic deployment path), not 'latest'."
    )


def test_foundry_with_key(server, monkeypatch):
    monkeypatch.setenv("AZURE_AI_ENDPOINT", server.url + "/models")
    monkeypatch.setenv("AZURE_AI_MODEL", "Phi-4-multimodal-instruct")
    monkeypatch.setenv("AZURE_AI_API_KEY", SECRET)
    monkeypatch.setenv("AZURE_AI_TOKEN_MODEL", "gpt-4o-mini")
    host = connect("foundry")
    assert (host.model, host.token_model, host.endpoint) == (
        "Phi-4-multimodal-instruct",
        "gpt-4o-mini",
        server.url + "/models",
    )
    sent = infer(host, server)
    assert sent.path == f"/models/chat/completions?{INFERENCE_VERSION}"
    assert (sent.headers["api-key"], sent.headers["authorization"]) == (SECRET, f"Bearer {SECRET}")
    assert sent.json() == {"messages": MESSAGES, "model": "Phi-4-multimodal-instruct"}
    sent = chat(host, server)
    assert sent.path == "/openai/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {SECRET}"
    with pytest.raises(SettingsError) as error:
        host.audio_model  # noqa: B018
    assert str(error.value) == (
        "The foundry host has no Whisper (audio transcription) model; hosts with one: local, azure, openai. "
        "Choose one with API_HOST in .env."
    )
    assert SECRET not in str(error.value)
    assert_no_secret(host)


def test_foundry_keyless(server, monkeypatch, entra):
    monkeypatch.setenv("AZURE_AI_ENDPOINT", server.url + "/models")
    monkeypatch.setenv("AZURE_AI_MODEL", "gpt-4o")
    sent = infer(connect("foundry"), server, enforce_https=False)
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert "api-key" not in sent.headers
    assert entra[0].scopes == [("https://cognitiveservices.azure.com/.default",)]


def test_foundry_without_models_path_has_no_openai_client(server, monkeypatch):
    monkeypatch.setenv("AZURE_AI_ENDPOINT", server.url)
    monkeypatch.setenv("AZURE_AI_MODEL", "gpt-4o")
    monkeypatch.setenv("AZURE_AI_API_KEY", SECRET)
    host = connect("foundry")
    assert infer(host, server).path == f"/chat/completions?{INFERENCE_VERSION}"
    with pytest.raises(SettingsError) as error:
        host.client  # noqa: B018
    assert str(error.value) == (
        "The foundry host has no openai client: AZURE_AI_ENDPOINT does not end in /models, so the "
        "OpenAI-compatible path of its resource cannot be derived. Use host.inference instead."
    )


def test_github(server, monkeypatch):
    monkeypatch.setenv("GITHUB_ENDPOINT", server.url + "/inference")
    monkeypatch.setenv("GITHUB_TOKEN", SECRET)
    host = connect("github")
    assert (host.model, host.token_model) == ("openai/gpt-4o", "gpt-4o")
    sent = chat(host, server)
    assert sent.path == "/inference/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {SECRET}"
    assert sent.json() == {"model": "openai/gpt-4o", "messages": MESSAGES}
    sent = infer(host, server)
    assert sent.path == f"/inference/chat/completions?{INFERENCE_VERSION}"
    assert sent.json() == {"messages": MESSAGES, "model": "openai/gpt-4o"}
    assert_no_secret(host)


def test_github_default_endpoint(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", SECRET)
    host = connect("github")
    assert host.endpoint == "https://models.github.ai/inference"
    assert str(host.client.base_url) == "https://models.github.ai/inference/"


def test_openai(server, monkeypatch):
    monkeypatch.setenv("API_HOST", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_MODEL", "gpt-4.1")
    host = connect()
    assert (host.model, host.token_model, host.audio_model) == ("gpt-4.1", "gpt-4.1", "whisper-1")
    sent = chat(host, server)
    assert (sent.path, sent.headers["authorization"]) == ("/v1/chat/completions", f"Bearer {SECRET}")
    assert transcribe(host, server).path == "/v1/audio/transcriptions"
    with pytest.raises(SettingsError) as error:
        host.inference  # noqa: B018
    assert str(error.value) == (
        "The openai host has no azure-ai-inference endpoint; hosts with one: local, azure, foundry, github. "
        "Choose one with API_HOST in .env."
    )
    assert_no_secret(host)


def test_ollama(server, monkeypatch):
    monkeypatch.setenv("API_HOST", "Ollama ")
    monkeypatch.setenv("OLLAMA_ENDPOINT", server.url + "/v1")
    host = connect()
    assert (host.name, host.model, host.token_model) == ("ollama", "llava", "gpt-4o")
    sent = chat(host, server)
    assert (sent.path, sent.headers["authorization"]) == ("/v1/chat/completions", "Bearer ollama")
    with pytest.raises(SettingsError, match=r"^The ollama host has no azure-ai-inference endpoint"):
        host.inference  # noqa: B018


def test_argument_wins_over_api_host(monkeypatch):
    monkeypatch.setenv("API_HOST", "azure")
    assert connect("ollama").endpoint == "http://localhost:11434/v1"


@pytest.mark.parametrize(
    ("host", "env", "line"),
    [
        ("azure", {"AZURE_OPENAI_ENDPOINT": "https://x"}, "AZURE_OPENAI_DEPLOYMENT=YOUR-CHAT-DEPLOYMENT"),
        (
            "foundry",
            {"AZURE_AI_MODEL": "m"},
            "AZURE_AI_ENDPOINT=https://YOUR-RESOURCE.services.ai.azure.com/models",
        ),
        ("foundry", {"AZURE_AI_ENDPOINT": "https://x/models"}, "AZURE_AI_MODEL=YOUR-MODEL-DEPLOYMENT"),
        ("github", {}, "GITHUB_TOKEN=YOUR-GITHUB-TOKEN"),
        ("openai", {"OPENAI_MODEL": " "}, "OPENAI_API_KEY=YOUR-OPENAI-KEY"),
    ],
)
def test_missing_variable(tmp_path, monkeypatch, host, env, line):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        connect(host)
    name = line.split("=")[0]
    assert str(error.value) == (
        f"The {host} host needs {name} (not set).\n"
        f"Put this line of .env.sample in {tmp_path / '.env'}, with your own value:\n"
        f"    {line}"
    )


def test_every_missing_variable_is_named_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "YOUR-AZURE-OPENAI-KEY")
    with pytest.raises(SettingsError) as error:
        connect("azure")
    assert str(error.value) == (
        "The azure host needs AZURE_OPENAI_ENDPOINT (not set), AZURE_OPENAI_DEPLOYMENT (not set) and "
        "AZURE_OPENAI_API_KEY (the placeholder of .env.sample).\n"
        f"Put these lines of .env.sample in {tmp_path / '.env'}, with your own values:\n"
        "    AZURE_OPENAI_ENDPOINT=https://YOUR-RESOURCE.openai.azure.com\n"
        "    AZURE_OPENAI_DEPLOYMENT=YOUR-CHAT-DEPLOYMENT\n"
        "    AZURE_OPENAI_API_KEY=YOUR-AZURE-OPENAI-KEY"
    )


def test_without_a_dotenv_the_message_says_to_make_one(tmp_path, monkeypatch):
    (tmp_path / ".env").unlink()
    monkeypatch.setattr("dotenv.find_dotenv", lambda **kwargs: "")  # none upward of tmp_path either
    with pytest.raises(SettingsError) as error:
        connect("foundry")
    assert str(error.value) == (
        "The foundry host needs AZURE_AI_ENDPOINT (not set) and AZURE_AI_MODEL (not set).\n"
        "Put these lines of .env.sample in .env in the repo root (cp .env.sample .env), with your own values:\n"
        "    AZURE_AI_ENDPOINT=https://YOUR-RESOURCE.services.ai.azure.com/models\n"
        "    AZURE_AI_MODEL=YOUR-MODEL-DEPLOYMENT"
    )


def test_placeholder_value_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "YOUR-GITHUB-TOKEN")
    with pytest.raises(SettingsError) as error:
        connect("github")
    assert str(error.value) == (
        "The github host needs GITHUB_TOKEN (the placeholder of .env.sample).\n"
        f"Put this line of .env.sample in {tmp_path / '.env'}, with your own value:\n"
        "    GITHUB_TOKEN=YOUR-GITHUB-TOKEN"
    )


def test_a_notebook_shows_the_message_not_the_traceback(tmp_path, monkeypatch):
    with pytest.raises(SettingsError) as error:
        connect("github")
    assert error.value._render_traceback_() == [
        "SettingsError: The github host needs GITHUB_TOKEN (not set).",
        f"Put this line of .env.sample in {tmp_path / '.env'}, with your own value:",
        "    GITHUB_TOKEN=YOUR-GITHUB-TOKEN",
    ]
    assert SettingsError("")._render_traceback_() == ["SettingsError: "]
    # the same through a real kernel, as a notebook cell runs it
    import nbclient
    import nbformat

    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("from helpers import connect\nconnect('github')")]
    )
    nbclient.NotebookClient(
        notebook, allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    [output] = notebook.cells[0].outputs
    assert (output["output_type"], output["ename"]) == ("error", "SettingsError")
    assert output["traceback"] == error.value._render_traceback_()


def test_unknown_host(monkeypatch):
    monkeypatch.setenv("API_HOST", "azure-openai")
    with pytest.raises(SettingsError) as error:
        connect()
    assert str(error.value) == (
        "Unknown API_HOST 'azure-openai'. Valid hosts: local, azure, foundry, github, openai, ollama. "
        "Set API_HOST in .env (see .env.sample) or pass connect(host=...)."
    )


def test_dotenv_found_upward_and_environment_wins(tmp_path, monkeypatch, capsys):
    (tmp_path / ".env").write_text(
        "API_HOST=openai\nOPENAI_API_KEY=" + SECRET + "\nOPENAI_MODEL=from-dotenv\n"
    )
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    monkeypatch.setenv("OPENAI_MODEL", "from-environment")
    host = connect()
    assert (host.name, host.model) == ("openai", "from-environment")
    assert host.client.api_key == SECRET
    assert capsys.readouterr() == ("", "")


def test_env_sample_has_every_variable_with_its_sample_value():
    sample = (ROOT / ".env.sample").read_text()
    assert re.search(r"^API_HOST=local$", sample, re.M)
    lines = re.findall(r"^(?:# )?([A-Z_]+)=(.*)$", sample, re.M)
    assert dict(lines) == {"API_HOST": "local", **{s.name: s.sample for s in SETTINGS}}
    assert [name for name, _ in lines] == ["API_HOST", *(s.name for s in SETTINGS)]  # same order, once each
    assert all(host in HOSTS for s in SETTINGS for host in s.hosts.split())


@pytest.mark.parametrize(
    ("name", "endpoint", "shown"),
    [
        ("azure", "https://contoso-eastus.openai.azure.com", "https://***.openai.azure.com"),
        (
            "foundry",
            "https://contoso.services.ai.azure.com/models",
            "https://***.services.ai.azure.com/models",
        ),
        ("openai", "https://api.openai.com/v1", "https://api.openai.com/v1"),
    ],
)
def test_azure_resource_names_are_masked_when_shown(name, endpoint, shown):
    host = hosts.Host(name=name, model="gpt-4o", token_model="gpt-4o", endpoint=endpoint)
    assert str(host) == f"{name} host: model gpt-4o at {shown}"
    assert repr(host) == f"Host(name={name!r}, model='gpt-4o', endpoint={shown!r})"
