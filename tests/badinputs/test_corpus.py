"""Every entry of the bad-inputs corpus through the client helpers and the local host, then the host's health.

* ``test_client[<entry>-<helper>]``: a client helper raises a subclass of InputError whose message names
  the input (or accepts an odd input it should take).
* ``test_server[<entry>-<channel>]``: the openai SDK, azure-ai-inference and raw HTTP get the expected
  status (never 500), the surface's error shape, the error code when known, and a message naming the
  input; the SDKs raise their status's exception.
* ``test_after_the_corpus``: the same local host (in this process) answers a normal request, and this
  process's RSS grew by less than RSS_GROWTH_BOUND_MB since the warm-up (printed with ``-s``).

Known failures of the current code are strict xfails (KNOWN): each reason says what is wrong.
"""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from azure.core.exceptions import HttpResponseError

import helpers.download
import helpers.local.urls
from helpers.errors import InputError

from .corpus import (
    CHANNELS,
    CLIENT_HELPERS,
    DATA,
    MODEL,
    SHORT_DEADLINE,
    Ctx,
    Entry,
    Expect,
    Outcome,
    audio_message,
    data_url,
    entries,
    run_client,
    send,
    tiny_png,
)

ENTRIES = entries()

#: RSS this process may gain over one pass of the corpus, after a warm-up that loads OCR, speech,
#: PyAV and PyMuPDF. Measured on 2 cores (Python 3.11), nine passes: +76 to +203 MB, and a second and
#: third pass in the same process added 0 MB, so it is one-off growth, not a leak. Most of it is glibc's
#: per-thread malloc arenas: OCR runs on whichever worker thread took the request, and each thread's
#: arena keeps the detection buffers (16 OCR calls on 16 threads: +430 to +670 MB; with
#: MALLOC_ARENA_MAX=2, +100 MB). 300 MB is about 1.5 times the worst pass; a leak of the 30 MB wav on
#: each of its 4 sends would add 120 MB more.
RSS_GROWTH_BOUND_MB = 300

AZURE_WORDING = (
    "the message is Azure's fixed wording ('You uploaded an unsupported image ...'): it names neither the "
    "field nor the file; only 'param' does"
)
URL_AZURE_WORDING = (
    "on Azure surfaces the message is 'The provided image url is not accessible. <reason>': it names "
    "neither the URL nor its host (the openai wording does); only 'param' does"
)
ENUM_WORDING = (
    "the message is 'Invalid value: <value>. Supported values are: ...': it names the value but not "
    "the parameter (only 'param' does)"
)


def _each(entry_id: str, wheres: tuple[str, ...], reason: str) -> dict[tuple[str, str], str]:
    return {(entry_id, where): reason for where in wheres}


EVERY = CHANNELS
AZURE_SIDE = ("inference", "http")

#: (entry id, helper or channel) -> what is wrong with the current code (strict xfails: a fix makes them
#: XPASS, and the mark must then go). None today.
KNOWN: dict[tuple[str, str], str] = {}


def _cases(pairs: list[tuple[Entry, str]]) -> list[object]:
    cases = []
    for entry, where in pairs:
        reason = KNOWN.get((entry.id, where))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        cases.append(pytest.param(entry, where, id=f"{entry.id}-{where}", marks=marks))
    return cases


CLIENT_CASES = _cases(
    [
        (entry, helper)
        for entry in ENTRIES
        for helper in CLIENT_HELPERS.get(entry.kind, ())
        if entry.client_expect(helper) is not None
    ]
)
SERVER_CASES = _cases(
    [(entry, channel) for entry in ENTRIES for channel in CHANNELS if channel in entry.server]
)


def rss_mb() -> float:
    """VmRSS of this process (which runs the local host) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.fixture(scope="module")
def warm(ctx: Ctx) -> float:
    """Load what normal requests load (OCR, speech recognition, PyAV, PyMuPDF), then the RSS in MB."""
    from helpers.audio import prepare_audio
    from helpers.images import prepare_image
    from helpers.pdf import pdf_pages

    hello = (DATA / "hello.wav").read_bytes()
    prepare_image(tiny_png())
    prepare_audio(hello)
    list(pdf_pages((DATA / "report.pdf").read_bytes(), dpi=50, progress=False))
    client = ctx.openai()
    for messages in (
        [{"role": "user", "content": "Hello there"}],
        [
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": data_url(tiny_png(), "image/png")}}],
            }
        ],
        audio_message(hello, "wav"),
    ):
        client.chat.completions.create(model=MODEL, messages=messages)
    client.audio.transcriptions.create(model="whisper-1", file=("hello.wav", hello))
    gc.collect()
    return rss_mb()


@pytest.fixture
def short_deadline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """URL fetches give up after SHORT_DEADLINE seconds (client and local host), so the slow URL is quick."""
    monkeypatch.setattr(helpers.local.urls, "DEADLINE", SHORT_DEADLINE)
    fetch = helpers.download.fetch
    assert fetch.__defaults__ == (helpers.download.DEADLINE,), "fetch(url, max_bytes, deadline=...) changed"
    monkeypatch.setattr(fetch, "__defaults__", (SHORT_DEADLINE,))
    yield


def test_corpus_has_at_least_60_entries() -> None:
    assert len(ENTRIES) >= 60, len(ENTRIES)


@pytest.mark.parametrize(("entry", "helper"), CLIENT_CASES)
def test_client(entry: Entry, helper: str, ctx: Ctx, warm: float, short_deadline: None) -> None:
    expect = entry.client_expect(helper)
    if expect == "accept":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an animated GIF's first-frame warning
            run_client(entry, helper, ctx)
        return
    assert expect is not None
    with pytest.raises(Exception) as info:  # the class is checked below, with the message
        run_client(entry, helper, ctx)
    error = info.value
    where = f"{helper} on {entry.id} ({entry.what}) raised {type(error).__name__}: {error}"
    assert isinstance(error, InputError), f"not an InputError: {where}"
    assert isinstance(error, expect.error), f"expected {expect.error.__name__}: {where}"
    assert expect.names in str(error), f"the message does not name {expect.names!r}: {where}"
    if expect.says:
        assert expect.says in str(error), f"the message does not say {expect.says!r}: {where}"


#: The exception the openai SDK raises for each status.
OPENAI_ERRORS = {
    400: openai.BadRequestError,
    401: openai.AuthenticationError,
    404: openai.NotFoundError,
    429: openai.RateLimitError,
}


def check(outcome: Outcome, expect: Expect, channel: str, what: str) -> None:
    """The assertions of one sent entry; every message says what came back."""
    seen = f"{channel}: {what} -> {outcome.status} {outcome.error}"
    assert outcome.status != 500, f"500: {seen}"
    assert outcome.status == expect.status, f"expected {expect.status}: {seen}"
    for header, value in expect.headers.items():
        assert outcome.headers.get(header) == value, (
            f"header {header}={outcome.headers.get(header)!r}: {seen}"
        )
    if expect.status < 400:
        return
    error = outcome.error or {}
    azure = outcome.azure_shape or outcome.status == 401  # the 401 has Azure's shape everywhere
    keys = {"code", "message"} if azure else {"message", "type", "param", "code"}
    assert keys <= set(error), f"error shape lacks {sorted(keys - set(error))}: {seen}"
    if expect.code is not None:
        assert error.get("code") == expect.code, f"expected code {expect.code!r}: {seen}"
    message = str(error.get("message"))
    if expect.names:
        assert expect.names in message, f"the message does not name {expect.names!r}: {seen}"
    if expect.says:
        assert expect.says in message, f"the message does not say {expect.says!r}: {seen}"
    if channel == "openai":
        wanted = OPENAI_ERRORS.get(outcome.status, openai.APIStatusError)
        assert isinstance(outcome.raised, wanted), f"openai raised {type(outcome.raised).__name__}: {seen}"
    if channel == "inference":
        assert isinstance(outcome.raised, HttpResponseError), f"raised {outcome.raised!r}: {seen}"
        assert outcome.raised.status_code == expect.status


@pytest.mark.parametrize(("entry", "channel"), SERVER_CASES)
def test_server(entry: Entry, channel: str, ctx: Ctx, warm: float, short_deadline: None) -> None:
    check(send(entry, channel, ctx), entry.server[channel], channel, f"{entry.id} ({entry.what})")


def test_after_the_corpus(ctx: Ctx, warm: float) -> None:
    """The same server still answers, and memory did not run away."""
    png = data_url(tiny_png(), "image/png")
    reply = httpx.post(
        f"{ctx.root}/v1/chat/completions",
        json={
            "model": MODEL,
            "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": png}}]}],
        },
        timeout=120,
    )
    assert reply.status_code == 200, reply.text
    gc.collect()
    after = rss_mb()
    growth = after - warm
    print(
        f"\nRSS after warm-up {warm:.0f} MB, after the corpus {after:.0f} MB: grew {growth:.0f} MB "
        f"(bound {RSS_GROWTH_BOUND_MB} MB)"
    )
    assert growth < RSS_GROWTH_BOUND_MB, f"RSS grew {growth:.0f} MB over the corpus"
