"""Servers of the bad-inputs corpus: a local host in this process (its RSS is this process's), one that
requires a key, and the loopback file server of the URL entries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpers.local.server import RunningServer, start_server
from helpers.local.settings import Settings

from .corpus import KEY, Ctx, FileServer


@pytest.fixture(scope="session")
def local_host() -> Iterator[RunningServer]:
    """The local host every entry is sent to (no key)."""
    running = start_server(Settings(port=0))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def keyed_host() -> Iterator[RunningServer]:
    """A local host that requires KEY (for the wrong-key entry)."""
    running = start_server(Settings(port=0, api_key=KEY))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def file_server() -> Iterator[FileServer]:
    """The loopback server of the URL entries (ok, 404, redirect, slow)."""
    server = FileServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ctx(local_host: RunningServer, keyed_host: RunningServer, file_server: FileServer) -> Ctx:
    """Where the entries are sent."""
    return Ctx(local_host.url, keyed_host.url, file_server.url)
