"""Fixtures of the local host tests: servers on free loopback ports, real SDK clients, media made on the fly."""

from __future__ import annotations

import argparse
import base64
import io
import re
from collections.abc import Callable, Iterator

import httpx
import openai
import pytest
from azure.ai.inference import ChatCompletionsClient
from azure.core.credentials import AccessToken, AzureKeyCredential
from PIL import Image

from helpers.local.server import RunningServer, start_server
from helpers.local.settings import Settings, add_arguments

from ..conftest import encode_audio

KEY = "test-key-0123456789"
API_VERSION = "2025-01-01-preview"
SENTENCE = "The harbour ferry leaves at seven every morning."


class StaticToken:
    """A TokenCredential that returns a fixed token (the server's key), as Entra would return a JWT."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, 4102444800)


@pytest.fixture(scope="session")
def server() -> Iterator[RunningServer]:
    """The shared local host without a key."""
    running = start_server(Settings(port=0))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def keyed() -> Iterator[RunningServer]:
    """A local host that requires KEY."""
    running = start_server(Settings(port=0, api_key=KEY))
    yield running
    running.stop()


@pytest.fixture
def make_server() -> Iterator[Callable[..., RunningServer]]:
    """Start a local host with the given settings; stopped after the test."""
    started: list[RunningServer] = []

    def make(**settings: object) -> RunningServer:
        running = start_server(Settings(port=0, **settings))  # type: ignore[arg-type]
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()


@pytest.fixture
def oai(server: RunningServer) -> openai.OpenAI:
    """openai.OpenAI on /v1."""
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="anything", max_retries=0)


@pytest.fixture
def azure(server: RunningServer) -> openai.AzureOpenAI:
    """openai.AzureOpenAI on the classic deployments path."""
    return openai.AzureOpenAI(
        azure_endpoint=server.url, api_key="anything", api_version=API_VERSION, max_retries=0
    )


@pytest.fixture
def inference(server: RunningServer) -> ChatCompletionsClient:
    """azure.ai.inference.ChatCompletionsClient on /models."""
    return ChatCompletionsClient(
        endpoint=f"{server.url}/models",
        credential=AzureKeyCredential("anything"),
        model="local-multimodal",
        retry_total=0,
    )


@pytest.fixture
def raw(server: RunningServer) -> Iterator[httpx.Client]:
    """A plain HTTP client for exact bytes."""
    with httpx.Client(base_url=server.url, timeout=120) as client:
        yield client


# --- media -------------------------------------------------------------------------------------


def image_bytes(fmt: str, size: tuple[int, int] = (64, 48), color: str = "red", **save: object) -> bytes:
    """A plain image of ``size`` in Pillow format ``fmt``."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt, **save)
    return buffer.getvalue()


def data_url(data: bytes, mime: str) -> str:
    """``data:<mime>;base64,...``."""
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def b64(data: bytes) -> str:
    """Base64 text of ``data``."""
    return base64.b64encode(data).decode()


@pytest.fixture(scope="session")
def hello_mp3(hello_wav_bytes: bytes) -> bytes:
    """The same clip as mp3."""
    return encode_audio(hello_wav_bytes, "mp3", "libmp3lame", 22050)


@pytest.fixture(scope="session")
def page_png(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """An A4 page rendered at 150 dpi with PyMuPDF: a title, SENTENCE, and two other lines."""
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 90), "Travel notes", fontsize=22)
    page.insert_text((72, 150), "Breakfast is served in the garden room.", fontsize=16)
    page.insert_text((72, 190), SENTENCE, fontsize=16)
    page.insert_text((72, 230), "Bicycles can be rented at the station.", fontsize=16)
    png = page.get_pixmap(dpi=150).tobytes("png")
    (tmp_path_factory.mktemp("page") / "page.png").write_bytes(png)
    return png


def wav_seconds(wav: bytes) -> float:
    """Duration of a wav from its header (frames / rate)."""
    import wave

    with wave.open(io.BytesIO(wav)) as reader:
        return reader.getnframes() / reader.getframerate()


TABLE = [
    ("Fruit", "Boxes", "Price"),
    ("Apples", "12", "3.40"),
    ("Pears", "7", "2.95"),
    ("Plums", "30", "11.00"),
]


@pytest.fixture(scope="session")
def table_png() -> bytes:
    """An A4 page at 100 dpi: the title 'Stock count' over a ruled table of TABLE (bold header row)."""
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 90), "Stock count", fontsize=20)
    columns, top, height = (72, 250, 380, 510), 120, 28
    for r, row in enumerate(TABLE):
        y = top + r * height
        page.draw_line((72, y), (510, y))
        for x, cell in zip(columns, row, strict=False):
            page.insert_text((x + 8, y + 19), cell, fontsize=12, fontname="hebo" if r == 0 else "helv")
    bottom = top + len(TABLE) * height
    page.draw_line((72, bottom), (510, bottom))
    for x in columns:
        page.draw_line((x, top), (x, bottom))
    return page.get_pixmap(dpi=100).tobytes("png")


def settings_of(argv: list[str], environ: dict[str, str]) -> Settings:
    """Settings as ``serve`` makes them: the variables of ``environ``, overridden by the flags of ``argv``."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return Settings.from_env(environ).with_args(parser.parse_args(argv))


_IDS = re.compile(rb'"(id|created|created_at|item_id)":("[^"]*"|\d+)|(chatcmpl|resp|msg)_?-?[0-9a-f]{29,}')


def without_ids(content: bytes) -> bytes:
    """A response body with its ids and times blanked: what must be the same for the same request."""
    return _IDS.sub(b"<id>", content)
