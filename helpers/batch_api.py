"""Send requests as a batch: upload, create, poll, collect, cancel, and pick up again after a restart.

:func:`submit_batch` writes the requests as JSONL files within the services' limits (50,000 lines,
200 MB, one model per file; more make several batches), uploads each with ``files.create(purpose=
"batch")`` and creates its batch. The :class:`BatchJob` it returns is also saved as ``job.json`` in
the folder, so after a kernel restart :meth:`BatchJob.load` (or ``BatchJob(["batch_..."])`` from the
ids alone) picks the batches up again. :func:`wait_for_batch` polls them with a growing pause and a
progress bar until each has ended; :func:`collect_batch` downloads the output and error files and maps
every line back to its request by ``custom_id``, listing the requests that failed with their errors
(a batch that failed validation fails every request of its file, each with its line's error).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .batch import (
    MAX_BATCH_BYTES,
    MAX_BATCH_LINES,
    BatchRequest,
    BatchResult,
    append_result,
    batch_url,
    reply_text,
    write_batch_files,
)
from .errors import InputError

#: The statuses a batch ends in.
FINAL = ("completed", "failed", "expired", "cancelled")
JOB_FILE = "job.json"


@dataclass
class BatchJob:
    """Batches submitted together: their ids, each one's custom_ids in line order (when known), the
    folder of their files, and their latest state (the ``openai`` Batch objects) once polled."""

    batch_ids: list[str]
    lines: dict[str, list[str]] = field(default_factory=dict)
    folder: Path | None = None
    batches: list[Any] = field(default_factory=list, repr=False)

    @classmethod
    def load(cls, folder: str | Path) -> BatchJob:
        """The job :func:`submit_batch` saved in ``folder`` (to poll or collect it after a restart)."""
        path = Path(folder) / JOB_FILE
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(
                f"No batch job is saved in {str(folder)!r} ({JOB_FILE} is missing): give the folder "
                "submit_batch wrote to, or make the job from its ids: BatchJob(['batch_...'])."
            ) from None
        return cls(saved["batch_ids"], saved.get("lines", {}), Path(folder))

    def save(self) -> None:
        """Write the ids (and line order) to ``folder/job.json``."""
        if self.folder is not None:
            data = {"batch_ids": self.batch_ids, "lines": self.lines}
            (self.folder / JOB_FILE).write_text(json.dumps(data, indent=1), encoding="utf-8")

    @property
    def counts(self) -> dict[str, int]:
        """Requests in all, answered and failed so far, over the batches as last polled."""
        totals = {"total": 0, "completed": 0, "failed": 0}
        for batch in self.batches:
            counts = batch.request_counts
            for key in totals:
                totals[key] += getattr(counts, key, 0) if counts is not None else 0
        return totals

    @property
    def statuses(self) -> list[str]:
        """Each batch's status as last polled."""
        return [batch.status for batch in self.batches]


def submit_batch(
    client: Any,
    requests: Sequence[BatchRequest],
    folder: str | Path,
    *,
    completion_window: str = "24h",
    metadata: dict[str, str] | None = None,
    max_lines: int = MAX_BATCH_LINES,
    max_bytes: int = MAX_BATCH_BYTES,
) -> BatchJob:
    """Write, upload and create the batches of ``requests``; the job is saved in ``folder``."""
    apis = {request.api for request in requests}
    if len(apis) > 1:
        raise InputError(
            "A batch calls one API: make the requests all with api='chat' or all with 'responses'."
        )
    url = batch_url(client, apis.pop() if apis else "chat")
    files = write_batch_files(requests, folder, url, max_lines=max_lines, max_bytes=max_bytes)
    job = BatchJob([], {}, Path(folder))
    for written in files:
        with written.path.open("rb") as handle:
            uploaded = client.files.create(file=(written.path.name, handle), purpose="batch")
        options = {"metadata": metadata} if metadata else {}
        batch = client.batches.create(
            input_file_id=uploaded.id, endpoint=url, completion_window=completion_window, **options
        )
        job.batch_ids.append(batch.id)
        job.lines[batch.id] = list(written.custom_ids)
        job.batches.append(batch)
        job.save()  # after each batch: a stop between two still leaves the first one's id
    return job


def wait_for_batch(
    client: Any,
    job: BatchJob,
    *,
    poll: float = 2.0,
    max_poll: float = 60.0,
    timeout: float | None = None,
    progress: bool = True,
    sleep: Callable[[float], Any] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> BatchJob:
    """Poll the job's batches until each has ended (completed, failed, expired, cancelled); return the job.

    The pause between polls starts at ``poll`` seconds and grows by half each time up to ``max_poll``
    (a batch takes minutes to hours on the services). With ``timeout`` seconds passed it raises
    TimeoutError and the batches keep running: call it again later, after a restart with
    ``BatchJob.load(folder)``. ``sleep`` and ``clock`` are for tests.
    """
    start, delay, bar = clock(), poll, None
    try:
        while True:
            job.batches = [client.batches.retrieve(batch_id) for batch_id in job.batch_ids]
            counts = job.counts
            if progress:
                bar = bar or _bar(counts["total"])
                bar.total = max(bar.total or 0, counts["total"])
                bar.n = counts["completed"] + counts["failed"]
                bar.set_postfix_str(", ".join(sorted(set(job.statuses))), refresh=True)
            if all(status in FINAL for status in job.statuses):
                return job
            if timeout is not None and clock() - start + delay > timeout:
                raise TimeoutError(
                    f"The batches {', '.join(job.batch_ids)} are still running ({', '.join(job.statuses)}) "
                    f"after {timeout:g} s; they keep running: call wait_for_batch again later."
                )
            sleep(delay)
            delay = min(delay * 1.5, max_poll)
    finally:
        if bar is not None:
            bar.close()


def cancel_batch(client: Any, job: BatchJob) -> BatchJob:
    """Ask each batch of the job that has not ended to stop; the answers so far are kept (collect them)."""
    batches = []
    for batch_id in job.batch_ids:
        batch = client.batches.retrieve(batch_id)
        batches.append(batch if batch.status in FINAL else client.batches.cancel(batch_id))
    job.batches = batches
    return job


@dataclass
class BatchOutcome:
    """Every request's result by custom_id, and the requests that failed, with their errors."""

    results: dict[str, BatchResult]
    failed: list[BatchResult]

    def __str__(self) -> str:
        answered = len(self.results) - len(self.failed)
        return f"{len(self.results)} requests: {answered} answered, {len(self.failed)} failed"


def collect_batch(
    client: Any, job: BatchJob, requests: Sequence[BatchRequest], results: str | Path | None = None
) -> BatchOutcome:
    """Download the job's output and error files and map each line to its request by custom_id.

    Requests with no line (their batch failed validation, was cancelled or expired before them) are
    failed, with the batch's reason. With ``results``, every result is also appended to that file,
    in the same format :func:`helpers.batch_run.run_concurrently` writes.
    """
    by_id = {request.custom_id: request for request in requests}
    found: dict[str, BatchResult] = {}
    batches = job.batches or [client.batches.retrieve(batch_id) for batch_id in job.batch_ids]
    for batch in batches:
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id:
                for text in client.files.content(file_id).text.splitlines():
                    if text.strip():
                        result = _result(json.loads(text), by_id)
                        found[result.custom_id] = result
        for custom_id, why in _unanswered(batch, job.lines.get(batch.id, [])):
            if custom_id not in found:
                found[custom_id] = BatchResult(custom_id, _name(custom_id, by_id), False, error=why)
    ended = [b for b in batches if b.status in ("failed", "cancelled", "expired") and b.id not in job.lines]
    error = (  # the job was made from ids alone: which request was in the batch that ended is not known
        f"no result: batch {ended[0].id} {ended[0].status} before answering it"
        if ended
        else "no result: the request is in none of the job's batches"
    )
    for custom_id in by_id:
        if custom_id not in found:
            found[custom_id] = BatchResult(custom_id, by_id[custom_id].item.name, False, error=error)
    ordered = {cid: found[cid] for cid in by_id} | {c: r for c, r in found.items() if c not in by_id}
    if results is not None:
        Path(results).parent.mkdir(parents=True, exist_ok=True)
        for result in ordered.values():
            append_result(results, result)
    return BatchOutcome(ordered, [result for result in ordered.values() if not result.ok])


def _result(line: dict[str, Any], by_id: dict[str, BatchRequest]) -> BatchResult:
    """A line of an output or error file as a result."""
    custom_id = line.get("custom_id", "")
    name = _name(custom_id, by_id)
    response, error = line.get("response") or {}, line.get("error")
    status, body = response.get("status_code"), response.get("body") or {}
    if status == 200 and not error:
        return BatchResult(custom_id, name, True, reply_text(body), None, 200, body.get("usage"))
    detail = error or body.get("error") or {}
    message = (
        f"{detail.get('code')}: {detail.get('message')}" if detail.get("code") else detail.get("message")
    )
    return BatchResult(custom_id, name, False, None, message or f"status {status}", status)


def _unanswered(batch: Any, custom_ids: list[str]) -> list[tuple[str, str]]:
    """Why the requests of a batch that ended without answering them have no line."""
    if batch.status == "failed":
        problems = (batch.errors.data or []) if batch.errors else []
        by_line = {p.line: f"{p.code}: {p.message}" for p in problems if p.line}
        whole = "; ".join(f"{p.code}: {p.message}" for p in problems if not p.line)
        other = (
            f"not run: the batch failed ({whole})"
            if whole
            else "not run: other lines of its file are invalid"
        )
        return [(cid, by_line.get(n, other)) for n, cid in enumerate(custom_ids, start=1)]
    if batch.status in ("cancelled", "expired"):
        return [(cid, f"batch {batch.status} before this request ran") for cid in custom_ids]
    return []


def _name(custom_id: str, by_id: dict[str, BatchRequest]) -> str:
    request = by_id.get(custom_id)
    return request.item.name if request is not None else custom_id


def _bar(total: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="batch", unit="req")
