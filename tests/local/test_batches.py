"""The Files and Batch APIs of the local host, driven by the real SDKs: end to end on every surface,
every bad line's error, the limits, cancel, expiry, and files and batches that outlive the server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from helpers.local import batches, files
from helpers.local.server import RunningServer, start_server
from helpers.local.settings import Settings

from .conftest import API_VERSION, data_url, image_bytes

MODEL = "local-multimodal"
FINAL = ("completed", "failed", "expired", "cancelled")


def line(custom_id: str, text: str = "Hello there", url: str = "/v1/chat/completions", **body: Any) -> dict:
    """One batch input line asking ``text``."""
    content = {"model": MODEL, "messages": [{"role": "user", "content": text}], **body}
    return {"custom_id": custom_id, "method": "POST", "url": url, "body": content}


def jsonl(*lines: Any) -> bytes:
    """Lines as a JSONL file (a str is written as it is)."""
    return "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines).encode()


def wait_until(check: Callable[[], Any], tries: int = 2000, pause: float = 0.02) -> Any:
    """Poll ``check`` until it returns something truthy (the server has no wait call); a bounded number of tries."""
    for _ in range(tries):
        if value := check():
            return value
        time.sleep(pause)
    raise AssertionError(f"not reached after {tries} polls")


def finished(client: openai.OpenAI, batch_id: str) -> Any:
    """The batch once it has ended."""
    return wait_until(lambda: (b := client.batches.retrieve(batch_id)).status in FINAL and b)


def submit(client: openai.OpenAI, data: bytes, endpoint: str = "/v1/chat/completions", **options: Any) -> Any:
    """Upload ``data`` and create a batch of it."""
    uploaded = client.files.create(file=("input.jsonl", data), purpose="batch")
    return client.batches.create(
        input_file_id=uploaded.id, endpoint=endpoint, completion_window="24h", **options
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunningServer]:
    """A local host whose Files and Batches live in a fresh folder."""
    running = start_server(Settings(port=0, data_dir=str(tmp_path / "store")))
    yield running
    running.stop()


@pytest.fixture
def client(store: RunningServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{store.url}/v1", api_key="anything", max_retries=0)


class Gate:
    """Wraps a server's ``Core.answer`` to count the lines answered and hold them until opened."""

    def __init__(self, server: RunningServer, open_after: int | None = None) -> None:
        core = server.app.state.core  # type: ignore[attr-defined]
        self.answer, self.calls, self.open_after = core.answer, 0, open_after
        self.opened = threading.Event()
        self._lock = threading.Lock()
        core.answer = self  # before the first Files or Batches request: the store takes it then

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.calls += 1
            hold = self.open_after is not None and self.calls > self.open_after
        if hold:
            self.opened.wait()
        return self.answer(*args, **kwargs)


# --- end to end with the SDKs ---------------------------------------------------------------------


def test_openai_sdk_files_and_batches_end_to_end(client: openai.OpenAI) -> None:
    questions = {f"q{i}": f"Translate to Spanish: good morning {i}" for i in range(5)}
    batch = submit(
        client, jsonl(*(line(cid, text) for cid, text in questions.items())), metadata={"job": "t"}
    )
    assert batch.status == "validating" and batch.metadata == {"job": "t"} and batch.id.startswith("batch_")
    assert batch.expires_at == batch.created_at + 24 * 3600
    done = finished(client, batch.id)
    assert done.status == "completed", done.errors
    assert done.request_counts.total == 5 and done.request_counts.completed == 5
    assert done.request_counts.failed == 0 and done.error_file_id is None
    assert done.in_progress_at and done.finalizing_at and done.completed_at and done.model == MODEL
    assert done.usage.input_tokens > 0 and done.usage.total_tokens > done.usage.input_tokens
    output = client.files.retrieve(done.output_file_id)
    assert output.purpose == "batch_output" and output.filename == f"{batch.id}_output.jsonl"
    lines = [json.loads(x) for x in client.files.content(done.output_file_id).text.splitlines()]
    by_id = {x["custom_id"]: x for x in lines}
    assert set(by_id) == set(questions)
    for custom_id, text in questions.items():
        got = by_id[custom_id]
        assert got["id"].startswith("batch_req_") and got["error"] is None
        assert got["response"]["status_code"] == 200 and len(got["response"]["request_id"]) == 32
        body = got["response"]["body"]
        assert (
            body["object"] == "chat.completion"
            and text.rsplit(" ", 1)[1] in body["choices"][0]["message"]["content"]
        )
    assert client.batches.list(limit=1).data[0].id == batch.id


def test_azure_sdk_classic_and_v1_paths(store: RunningServer) -> None:
    azure = openai.AzureOpenAI(
        azure_endpoint=store.url, api_key="anything", api_version=API_VERSION, max_retries=0
    )
    v1 = openai.OpenAI(base_url=f"{store.url}/openai/v1/", api_key="anything", max_retries=0)
    for client, url in (
        (azure, "/chat/completions"),
        (v1, "/chat/completions"),
        (v1, "/v1/chat/completions"),
    ):
        batch = submit(client, jsonl(line("a", url=url), line("b", url=url)), endpoint="/chat/completions")
        done = finished(client, batch.id)
        assert done.status == "completed" and done.request_counts.completed == 2
        lines = [json.loads(x) for x in client.files.content(done.output_file_id).text.splitlines()]
        assert {x["custom_id"] for x in lines} == {"a", "b"}
        assert "content_filter_results" in lines[0]["response"]["body"]["choices"][0]  # Azure's shape
    with httpx.Client(base_url=store.url) as raw:
        assert raw.get("/openai/batches").status_code == 404  # classic routes need api-version
        assert raw.get("/openai/files", params={"api-version": API_VERSION}).status_code == 200


def test_responses_batches(client: openai.OpenAI) -> None:
    body = {"model": MODEL, "input": "Hello there"}
    data = jsonl({"custom_id": "r", "method": "POST", "url": "/v1/responses", "body": body})
    done = finished(client, submit(client, data, endpoint="/v1/responses").id)
    got = json.loads(client.files.content(done.output_file_id).text)
    assert done.status == "completed" and got["response"]["body"]["object"] == "response"


def test_a_line_the_model_refuses_goes_to_the_error_file(client: openai.OpenAI) -> None:
    broken = [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]
    bad = line("bad")
    bad["body"]["messages"][0]["content"] = broken
    image = line("good")
    image["body"]["messages"][0]["content"] = [
        {"type": "text", "text": "What colour is it?"},
        {"type": "image_url", "image_url": {"url": data_url(image_bytes("PNG"), "image/png")}},
    ]
    done = finished(client, submit(client, jsonl(image, bad)).id)
    assert done.status == "completed"
    assert (done.request_counts.completed, done.request_counts.failed) == (1, 1)
    failed = json.loads(client.files.content(done.error_file_id).text)
    assert failed["custom_id"] == "bad" and failed["error"] is None
    assert failed["response"]["status_code"] == 400 and failed["response"]["body"]["error"]["message"]


# --- what is checked ------------------------------------------------------------------------------


def test_every_bad_line_gets_the_services_error(client: openai.OpenAI) -> None:
    no = {key: line("x") for key in ("custom_id", "method", "url", "body")}
    for key, value in no.items():
        del value[key]
    no_model, no_messages = line("nm"), line("nmsg")
    del no_model["body"]["model"], no_messages["body"]["messages"]
    data = jsonl(
        line("ok"),
        "{not json",
        "[1, 2]",
        *no.values(),
        {**line("m"), "method": "GET"},
        line("u", url="/v1/embeddings"),
        {**line("b"), "body": "text"},
        no_model,
        no_messages,
        line("s", stream=True),
        line("ok"),
        {**line("other"), "body": {**line("other")["body"], "model": "gpt-4o"}},
        {**line("long"), "custom_id": "x" * 65},
    )
    done = finished(client, submit(client, data).id)
    assert done.status == "failed" and done.failed_at and done.output_file_id is None
    found = [(e.line, e.code, e.param) for e in done.errors.data]
    assert found == [
        (2, "invalid_json_line", None),
        (3, "invalid_json_line", None),
        (4, "missing_required_parameter", "custom_id"),
        (5, "missing_required_parameter", "method"),
        (6, "missing_required_parameter", "url"),
        (7, "missing_required_parameter", "body"),
        (8, "invalid_value", "method"),
        (9, "invalid_url", "url"),
        (10, "invalid_type", "body"),
        (11, "invalid_request", "body.model"),
        (12, "invalid_request", "body.messages"),
        (13, "streaming_unsupported", "body.stream"),
        (14, "duplicate_custom_id", "custom_id"),
        (15, "mismatched_model", "body.model"),
        (16, "invalid_value", "custom_id"),
    ]
    messages = {e.code: e.message for e in done.errors.data}
    assert messages["invalid_json_line"] == "This line is not parseable as valid JSON."
    assert messages["invalid_url"] == "The URL provided for this request does not match the batch endpoint."
    assert (
        messages["streaming_unsupported"] == "Chat Completions: Streaming is not supported in the Batch API."
    )
    assert "'ok'" in messages["duplicate_custom_id"] and "unique" in messages["duplicate_custom_id"]
    assert "'gpt-4o'" in messages["mismatched_model"] and "one model" in messages["mismatched_model"]


def test_unknown_deployment_and_missing_or_wrong_input_file(make_server, tmp_path: Path) -> None:
    server = make_server(deployments=("gpt-4o-batch",), data_dir=str(tmp_path))
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="anything", max_retries=0)
    done = finished(client, submit(client, jsonl(line("a"))).id)
    assert [(e.code, e.param, e.line) for e in done.errors.data] == [("model_not_found", "body.model", 1)]
    assert done.errors.data[0].message == f"The provided model '{MODEL}' is not supported by the Batch API."
    missing = client.batches.create(
        input_file_id="file-nothere", endpoint="/v1/chat/completions", completion_window="24h"
    )
    done = finished(client, missing.id)
    assert done.status == "failed" and done.errors.data[0].code == "invalid_request"
    assert "file-nothere" in done.errors.data[0].message and done.errors.data[0].line is None
    other = client.files.create(file=("notes.txt", b"hello"), purpose="user_data")
    wrong = client.batches.create(
        input_file_id=other.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert "purpose 'batch'" in finished(client, wrong.id).errors.data[0].message


def test_limits_of_a_batch_file(client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    small = b'{"custom_id":"%d","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[]}}\n'
    too_many = b"".join(small % i for i in range(batches.MAX_LINES + 1))
    done = finished(client, submit(client, too_many).id)
    assert [(e.code, e.line) for e in done.errors.data] == [("invalid_request", None)]
    assert "50001 requests" in done.errors.data[0].message and "at most 50000" in done.errors.data[0].message
    monkeypatch.setattr(batches, "MAX_BYTES", 1000)
    done = finished(client, submit(client, jsonl(*(line(str(i)) for i in range(20)))).id)
    assert "at most 1000 bytes" in done.errors.data[0].message


def test_bad_uploads_and_parameters_are_400s(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match=r"Must be \.jsonl"):
        client.files.create(file=("input.jsonl", b"\n"), purpose="batch")
    with pytest.raises(openai.BadRequestError, match=r"Must be \.jsonl"):
        client.files.create(file=("input.csv", jsonl(line("a"))), purpose="batch")
    with pytest.raises(openai.BadRequestError, match="Supported values are"):
        client.files.create(file=("input.jsonl", jsonl(line("a"))), purpose="batch_output")  # type: ignore[arg-type]
    uploaded = client.files.create(file=("input.jsonl", jsonl(line("a"))), purpose="batch")
    cases = [
        (
            {"endpoint": "/v1/invalid/endpoint"},
            "Invalid value for 'endpoint': '/v1/invalid/endpoint'. Supported values are: '/v1/chat/completions' "
            "and '/v1/responses'.",
        ),
        (
            {"completion_window": "48h"},
            "Invalid value for 'completion_window': '48h'. Supported values are: '24h'.",
        ),
        (
            {"metadata": {"tags": ["a"]}},
            "Invalid type for 'metadata.tags': expected a string, but got an array instead.",
        ),
    ]
    for change, message in cases:
        options = {
            "input_file_id": uploaded.id,
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
        }
        with pytest.raises(openai.BadRequestError) as raised:
            client.batches.create(**{**options, **change})
        assert raised.value.body["message"] == message
    with pytest.raises(openai.NotFoundError, match="No batch found with id 'batch_nothere'"):
        client.batches.retrieve("batch_nothere")


def test_files_list_retrieve_delete(client: openai.OpenAI) -> None:
    first = client.files.create(file=("a.jsonl", jsonl(line("a"))), purpose="batch")
    second = client.files.create(file=("b.txt", b"notes"), purpose="user_data")
    assert [f.id for f in client.files.list().data] == [second.id, first.id]
    assert [f.id for f in client.files.list(purpose="batch").data] == [first.id]
    page = client.files.list(limit=1)
    assert [f.id for f in page.data] == [second.id] and page.has_more
    assert client.files.retrieve(first.id).bytes == len(jsonl(line("a")))
    assert client.files.content(second.id).content == b"notes"
    assert client.files.delete(first.id).deleted
    with pytest.raises(openai.NotFoundError, match=f"No such File object: {first.id}"):
        client.files.content(first.id)


# --- cancel, expiry, restart -----------------------------------------------------------------------


def test_cancel(store: RunningServer, client: openai.OpenAI) -> None:
    gate = Gate(store, open_after=2)
    batch = submit(client, jsonl(*(line(f"c{i}") for i in range(12))))
    wait_until(lambda: gate.calls > 2)  # two answered, the next ones held
    cancelling = client.batches.cancel(batch.id)
    assert cancelling.status == "cancelling" and cancelling.cancelling_at
    gate.opened.set()
    done = finished(client, batch.id)
    assert done.status == "cancelled" and done.cancelled_at
    answered = [json.loads(x) for x in client.files.content(done.output_file_id).text.splitlines()]
    unanswered = [json.loads(x) for x in client.files.content(done.error_file_id).text.splitlines()]
    assert len(answered) == gate.calls and len(answered) + len(unanswered) == 12
    assert {x["error"]["code"] for x in unanswered} == {"batch_cancelled"}
    assert done.request_counts.completed == len(answered) and done.request_counts.failed == len(unanswered)
    assert client.batches.cancel(batch.id).status == "cancelled"  # again: as it is
    completed = finished(client, submit(client, jsonl(line("x"))).id)
    with pytest.raises(openai.ConflictError, match=r"Cannot cancel a batch with status .completed.\."):
        client.batches.cancel(completed.id)


def stop_midway(tmp_path: Path, count: int) -> tuple[str, Gate, Path]:
    """A batch of ``count`` lines stopped (store closed, server stopped) after 2 were answered."""
    folder = tmp_path / "store"
    first = start_server(Settings(port=0, data_dir=str(folder)))
    gate = Gate(first, open_after=2)
    client = openai.OpenAI(base_url=f"{first.url}/v1", api_key="anything", max_retries=0)
    batch = submit(client, jsonl(*(line(f"r{i}") for i in range(count))))
    wait_until(lambda: gate.calls > 2)
    service = files.service_of(first.app.state.core)  # type: ignore[attr-defined]
    service.close(wait=False)  # no new line starts; the ones held finish once opened
    gate.opened.set()
    service.close()
    first.stop()
    return batch.id, gate, folder


def test_a_batch_resumes_after_a_restart_without_answering_a_line_twice(tmp_path: Path) -> None:
    batch_id, before, folder = stop_midway(tmp_path, 8)
    record = json.loads((folder / "batches" / f"{batch_id}.json").read_text())
    assert record["status"] == "in_progress" and before.calls < 8
    second = start_server(Settings(port=0, data_dir=str(folder)))
    try:
        after = Gate(second)
        client = openai.OpenAI(base_url=f"{second.url}/v1", api_key="anything", max_retries=0)
        done = finished(client, batch_id)
        assert done.status == "completed" and done.request_counts.completed == 8
        assert before.calls + after.calls == 8  # every line answered once, across the two servers
        ids = [
            json.loads(x)["custom_id"] for x in client.files.content(done.output_file_id).text.splitlines()
        ]
        assert sorted(ids) == sorted(f"r{i}" for i in range(8))
    finally:
        second.stop()


def test_a_batch_past_its_window_expires_on_restart(tmp_path: Path) -> None:
    batch_id, before, folder = stop_midway(tmp_path, 8)
    path = folder / "batches" / f"{batch_id}.json"
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "expires_at": record["created_at"] - 1}))
    second = start_server(Settings(port=0, data_dir=str(folder)))
    try:
        client = openai.OpenAI(base_url=f"{second.url}/v1", api_key="anything", max_retries=0)
        done = finished(client, batch_id)
        assert done.status == "expired" and done.expired_at
        expired = [json.loads(x) for x in client.files.content(done.error_file_id).text.splitlines()]
        assert len(expired) == 8 - before.calls and {x["error"]["code"] for x in expired} == {"batch_expired"}
        assert done.request_counts.completed == before.calls
    finally:
        second.stop()


def test_files_survive_a_restart(tmp_path: Path) -> None:
    settings = Settings(port=0, data_dir=str(tmp_path / "store"))
    first = start_server(settings)
    client = openai.OpenAI(base_url=f"{first.url}/v1", api_key="anything", max_retries=0)
    uploaded = client.files.create(file=("kept.jsonl", jsonl(line("k"))), purpose="batch")
    done = finished(
        client,
        client.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        ).id,
    )
    first.stop()
    second = start_server(settings)
    try:
        client = openai.OpenAI(base_url=f"{second.url}/v1", api_key="anything", max_retries=0)
        assert client.files.retrieve(uploaded.id).filename == "kept.jsonl"
        assert client.files.content(uploaded.id).content == jsonl(line("k"))
        assert client.batches.retrieve(done.id).output_file_id == done.output_file_id
        assert client.files.delete(uploaded.id).deleted
        with pytest.raises(openai.NotFoundError):
            client.files.retrieve(uploaded.id)
    finally:
        second.stop()
