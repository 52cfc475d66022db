"""helpers.batch, batch_run and batch_api: requests and their ids, files within the limits, cost, the
concurrent runner (resuming after an interruption without re-sending), and the batch path, against the
local host."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from helpers import (
    BatchItem,
    BatchJob,
    batch_items,
    batch_requests,
    cancel_batch,
    collect_batch,
    estimate_cost,
    image_tokens,
    read_results,
    run_concurrently,
    submit_batch,
    wait_for_batch,
    write_batch_files,
)
from helpers.attachments import Attachment
from helpers.batch import BatchResult, append_result, batch_url, plan_files
from helpers.batch_run import Budget, async_client
from helpers.errors import InputError, TooLargeError
from helpers.local.server import RunningServer, start_server
from helpers.local.settings import Settings

from .conftest import image_bytes

MODEL = "local-multimodal"


def texts(count: int, start: int = 0) -> list[BatchItem]:
    """Items without attachments, cheap for the local model to answer."""
    return [
        BatchItem(f"note-{i}", (), f"Translate to Spanish: good night {i}")
        for i in range(start, start + count)
    ]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    # 30 ms a request: a run cancelled after three answers cannot have finished all of them meanwhile
    running = start_server(Settings(port=0, latency_ms=30, data_dir=str(tmp_path / "store")))
    yield running
    running.stop()


@pytest.fixture
def client(server: RunningServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="anything", max_retries=0)


# --- requests, files, cost --------------------------------------------------------------------------


def test_custom_ids_are_stable_and_change_with_the_request(tmp_path: Path) -> None:
    (tmp_path / "red.png").write_bytes(image_bytes("PNG"))
    (tmp_path / "blue.png").write_bytes(image_bytes("PNG", color="blue"))
    paths = sorted(tmp_path.glob("*.png"))
    first = batch_requests(batch_items(paths, "What colour is {name}?"), MODEL)
    again = batch_requests(batch_items(paths, "What colour is {name}?"), MODEL)
    assert [r.custom_id for r in first] == [r.custom_id for r in again]
    assert first[0].custom_id.startswith("blue.png-") and len(first[0].custom_id) <= 64
    assert first[0].item.question == "What colour is blue.png?"
    other = batch_requests(batch_items(paths, "What colour?"), MODEL)
    low = batch_requests(batch_items(paths, "What colour is {name}?"), MODEL, detail="low")
    assert len({r.custom_id for r in first + other + low}) == 6
    responses = batch_requests(batch_items(paths, lambda name: f"Size of {name}?"), MODEL, api="responses")
    assert responses[0].body["input"][0]["content"][0] == {"type": "input_text", "text": "Size of blue.png?"}
    with pytest.raises(InputError, match="make the same request"):
        batch_requests(batch_items([paths[0], paths[0]], "Same?"), MODEL)
    with pytest.raises(InputError, match="api='completions' is not valid"):
        batch_requests(texts(1), MODEL, api="completions")


def test_items_from_pdf_pages_and_audio(tmp_path: Path, hello_wav_path: Path) -> None:
    import pymupdf

    doc = pymupdf.open()
    for text in ("One", "Two"):
        doc.new_page(width=300, height=200).insert_text((40, 80), text, fontsize=20)
    (tmp_path / "two.pdf").write_bytes(doc.tobytes())
    items = batch_items([tmp_path / "two.pdf", hello_wav_path], "What does {name} say?")
    assert [len(item.attachments) for item in items] == [1, 1, 1]
    assert items[0].name != items[1].name and items[2].name == "hello.wav"
    assert items[2].attachments[0].mime_type == "audio/wav"
    cost = estimate_cost(batch_requests(items, MODEL), input_per_million=1.0, output_per_million=1.0)
    assert cost.audio_tokens == 14 and cost.image_tokens > 0  # 1.36 s at 10 a second


def test_write_batch_files_splits_by_lines_bytes_and_model(tmp_path: Path) -> None:
    requests = batch_requests(texts(7), MODEL)
    url = "/v1/chat/completions"
    files = write_batch_files(requests, tmp_path / "a", url, max_lines=3)
    assert [len(f.custom_ids) for f in files] == [3, 3, 1]
    assert [f.custom_ids for f in write_batch_files(requests, tmp_path / "b", url, max_lines=3)] == [
        f.custom_ids for f in files
    ]  # the same requests, the same files
    lines = [json.loads(x) for f in files for x in f.path.read_text().splitlines()]
    assert [x["custom_id"] for x in lines] == [r.custom_id for r in requests]
    assert lines[0]["method"] == "POST" and lines[0]["url"] == url and lines[0]["body"]["model"] == MODEL
    size = max(len(json.dumps(x)) + 1 for x in lines)
    by_bytes = plan_files(requests, url, 50_000, 2 * size)
    assert [len(chunk) for chunk in by_bytes] == [2, 2, 2, 1]
    mixed = batch_requests(texts(2), "model-a") + batch_requests(texts(2, 5), "model-b")
    assert [f.model for f in write_batch_files(mixed, tmp_path / "c", url)] == ["model-a", "model-b"]
    with pytest.raises(TooLargeError, match="note-0"):
        plan_files(requests, url, 50_000, 100)
    with pytest.raises(InputError, match="no requests"):
        write_batch_files([], tmp_path / "d", url)


def test_batch_url_follows_the_client() -> None:
    azure = openai.AzureOpenAI(azure_endpoint="http://x", api_key="k", api_version="2024-10-21")
    v1 = openai.OpenAI(base_url="https://r.openai.azure.com/openai/v1/", api_key="k")
    plain = openai.OpenAI(base_url="https://api.openai.com/v1", api_key="k")
    assert [batch_url(c, "chat") for c in (azure, v1, plain)] == [
        "/chat/completions",
        "/chat/completions",
        "/v1/chat/completions",
    ]
    assert batch_url(plain, "responses") == "/v1/responses"


def test_cost_estimate(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(image_bytes("PNG", size=(1000, 600)))
    requests = batch_requests(batch_items([tmp_path / "a.png"], "What is the total?"), MODEL, max_tokens=50)
    cost = estimate_cost(requests, input_per_million=2.0, output_per_million=8.0)
    width, height = 1000, 600  # prepare_image keeps it: under 2048 and a short side of 600
    assert cost.image_tokens == image_tokens(width, height, "auto", "gpt-4o") == 765
    assert cost.text_tokens == 5 and cost.output_tokens == 50  # 18 characters / 4, and max_tokens
    assert cost.standard == pytest.approx((770 * 2.0 + 50 * 8.0) / 1e6)
    assert cost.batch == pytest.approx(cost.standard / 2)
    assert "as a batch (50% off)" in str(cost)
    assert (
        estimate_cost(requests, input_per_million=2, output_per_million=8, output_tokens=10).output_tokens
        == 10
    )
    with pytest.raises(InputError, match="batch_discount"):
        estimate_cost(requests, input_per_million=2, output_per_million=8, batch_discount=1.5)


def test_read_results_skips_a_line_cut_short(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    append_result(path, BatchResult("a", "a", False, error="429"))
    append_result(path, BatchResult("a", "a", True, "yes"))
    with path.open("a") as out:
        out.write('{"custom_id": "b", "name": "b", "ok": tr')
    assert read_results(path) == {"a": BatchResult("a", "a", True, "yes")}
    assert read_results(tmp_path / "none.jsonl") == {}


def test_budget_spaces_requests_and_pauses() -> None:
    now = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    async def run() -> None:
        budget = Budget(rpm=2, tpm=100, clock=lambda: now[0], sleep=sleep)
        await budget.acquire(10)
        await budget.acquire(10)
        await budget.acquire(10)  # a third request waits for the first to leave the minute
        assert now[0] == 60.0
        await budget.acquire(85)  # 10 + 10 + 85 > 100 tokens: waits for the second to leave
        budget.pause(5)
        await budget.acquire(1)

    asyncio.run(run())
    assert waits[:1] == [60.0] and now[0] >= 65.0
    with pytest.raises(InputError, match="rpm=0"):
        Budget(rpm=0)


# --- running here -------------------------------------------------------------------------------------


def test_run_resumes_after_a_cancelled_run_without_resending(
    server: RunningServer, client: openai.OpenAI, tmp_path: Path
) -> None:
    requests = batch_requests(texts(8), MODEL)
    results = tmp_path / "results.jsonl"

    async def interrupted() -> None:
        task = asyncio.ensure_future(
            run_concurrently(client, requests, results, concurrency=1, progress=False)
        )
        for _ in range(2000):  # until three answers are on disk; then cancel, as a stopped cell does
            if len(read_results(results)) >= 3:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(interrupted())
    done = read_results(results)
    assert 3 <= len(done) < 8 and all(r.ok for r in done.values())
    before = server.requests
    summary = asyncio.run(run_concurrently(client, requests, results, progress=False))
    assert server.requests - before == 8 - len(done)  # only what had no answer was sent
    assert (summary.total, summary.skipped, summary.sent, summary.failed) == (8, len(done), 8 - len(done), 0)
    final = read_results(results)
    assert set(final) == {r.custom_id for r in requests} and all(r.ok for r in final.values())
    assert final[requests[0].custom_id].text.startswith("Translation")
    before = server.requests
    assert asyncio.run(run_concurrently(client, requests, results, progress=False)).sent == 0
    assert server.requests == before


class Interrupting:
    """An async client that raises KeyboardInterrupt (Ctrl-C) on its ``after``-th request."""

    def __init__(self, inner: Any, after: int) -> None:
        self.inner, self.after, self.calls = inner, after, 0
        self.chat = self
        self.completions = self

    async def create(self, **body: Any) -> Any:
        self.calls += 1
        if self.calls == self.after:
            raise KeyboardInterrupt
        return await self.inner.chat.completions.create(**body)


def test_run_resumes_after_ctrl_c(server: RunningServer, client: openai.OpenAI, tmp_path: Path) -> None:
    requests = batch_requests(texts(6), MODEL)
    results = tmp_path / "results.jsonl"
    interrupting = Interrupting(async_client(client), after=4)
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(run_concurrently(interrupting, requests, results, concurrency=1, progress=False))  # type: ignore[arg-type]
    assert len(read_results(results)) == 3
    before = server.requests
    summary = asyncio.run(run_concurrently(client, requests, results, concurrency=3, progress=False))
    assert server.requests - before == 3 and summary.skipped == 3 and summary.answered == 3


def test_run_waits_out_429s_and_loses_nothing(tmp_path: Path) -> None:
    faulty = start_server(
        Settings(port=0, fault_every=3, fault_retry_after_ms=20, data_dir=str(tmp_path / "s"))
    )
    try:
        client = openai.OpenAI(base_url=f"{faulty.url}/v1", api_key="anything", max_retries=0)
        requests = batch_requests(texts(9), MODEL)
        results = tmp_path / "r.jsonl"
        summary = asyncio.run(run_concurrently(client, requests, results, concurrency=3, progress=False))
    finally:
        faulty.stop()
    assert summary.answered == 9 and summary.failed == 0 and summary.paused >= 3
    assert all(r.ok for r in read_results(results).values())


def test_run_with_an_azure_client_and_a_refused_request(server: RunningServer, tmp_path: Path) -> None:
    azure = openai.AzureOpenAI(
        azure_endpoint=server.url, api_key="k", api_version="2024-10-21", max_retries=0
    )
    made = async_client(azure)
    assert isinstance(made, openai.AsyncAzureOpenAI) and made._api_version == "2024-10-21"
    broken = BatchItem("broken", (Attachment(content=b"\x89PNG\r\n\x1a\n not really", name="x.png"),), "Hi?")
    requests = batch_requests([*texts(2), broken], "my-deployment")
    summary = asyncio.run(run_concurrently(azure, requests, tmp_path / "r.jsonl", progress=False))
    assert (summary.answered, summary.failed) == (2, 1)
    refused = read_results(tmp_path / "r.jsonl")[requests[2].custom_id]
    assert refused.status_code == 400 and refused.error and not refused.ok


# --- as a batch ----------------------------------------------------------------------------------------


def test_submit_wait_collect_in_several_batches(client: openai.OpenAI, tmp_path: Path) -> None:
    requests = batch_requests(texts(5), MODEL)
    job = submit_batch(client, requests, tmp_path / "job", max_lines=2)
    assert len(job.batch_ids) == 3 and [len(job.lines[b]) for b in job.batch_ids] == [2, 2, 1]
    again = BatchJob.load(tmp_path / "job")  # what a restarted kernel picks up
    assert again.batch_ids == job.batch_ids and again.lines == job.lines
    job = wait_for_batch(client, again, poll=0.02, progress=False)
    assert job.statuses == ["completed"] * 3 and job.counts == {"total": 5, "completed": 5, "failed": 0}
    outcome = collect_batch(client, job, requests, tmp_path / "batch.jsonl")
    assert str(outcome) == "5 requests: 5 answered, 0 failed" and not outcome.failed
    assert list(outcome.results) == [r.custom_id for r in requests]
    assert read_results(tmp_path / "batch.jsonl") == outcome.results
    by_ids = collect_batch(client, BatchJob(job.batch_ids), requests)  # from the ids alone
    assert by_ids.results == outcome.results


def test_a_failed_batch_fails_every_request_with_its_lines_error(
    client: openai.OpenAI, tmp_path: Path
) -> None:
    requests = batch_requests(texts(3), MODEL)
    broken = requests[1]
    del broken.body["messages"]
    job = wait_for_batch(client, submit_batch(client, requests, tmp_path / "job"), poll=0.02, progress=False)
    assert job.statuses == ["failed"]
    outcome = collect_batch(client, job, requests)
    assert len(outcome.failed) == 3
    assert outcome.results[broken.custom_id].error == "invalid_request: Messages parameter is required."
    assert "other lines" in outcome.results[requests[0].custom_id].error


def test_cancel_a_job(server: RunningServer, client: openai.OpenAI, tmp_path: Path) -> None:
    core = server.app.state.core  # type: ignore[attr-defined]
    answer, held = core.answer, threading.Event()

    def slow(*args: Any, **kwargs: Any) -> Any:
        held.wait()
        return answer(*args, **kwargs)

    core.answer = slow  # every line waits until the job is cancelled
    requests = batch_requests(texts(6), MODEL)
    job = submit_batch(client, requests, tmp_path / "job")
    job = cancel_batch(client, job)
    assert job.statuses == ["cancelling"]
    held.set()
    job = wait_for_batch(client, job, poll=0.02, progress=False)
    assert job.statuses == ["cancelled"]
    outcome = collect_batch(client, job, requests)
    assert len(outcome.results) == 6 and outcome.failed
    assert all("cancelled" in r.error for r in outcome.failed)


def test_wait_gives_up_after_its_timeout() -> None:
    job = BatchJob(["batch_0123"])

    class Running:
        status, request_counts, id = "in_progress", None, "batch_0123"

    class Batches:
        def retrieve(self, batch_id: str) -> Running:
            return Running()

    class Fake:
        batches = Batches()

    now, slept = [0.0], []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    with pytest.raises(TimeoutError, match="keep running"):
        wait_for_batch(Fake(), job, poll=1, timeout=3, progress=False, sleep=sleep, clock=lambda: now[0])
    assert slept == [1, 1.5]  # the pause grows by half; the next one would pass the timeout
