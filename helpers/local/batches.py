"""The Batch API of the local host: a JSONL file of requests answered in the background.

``POST /batches`` checks its parameters (a 400 for a bad ``endpoint``, ``completion_window`` or
``metadata``) and answers with a batch in ``validating``; a worker thread checks every line as the
services do (:func:`check_lines`), and problems put the batch in ``failed`` with ``errors.data[{code,
message, param, line}]``, one per bad line. A valid batch goes ``in_progress``: each line is answered
by ``Core.answer``, the function that answers a single request (without the per-minute rate limits:
batches have their own quota), a few at a time, each appended as it finishes to the batch's partial
output or error file (4xx/5xx answers), in the services' line format. Then ``finalizing`` (the two
become Files of purpose ``batch_output``) and ``completed``. A cancelled batch finishes the lines in
flight and ends ``cancelled``; one still running when ``completion_window`` (from ``created_at``) has
passed ends ``expired``; their unanswered lines go to the error file (``batch_cancelled``,
``batch_expired``).

Restart: a line is on disk before it is counted, so a batch that was active when the server stopped
**resumes** when a server with the same LOCAL_DATA_DIR starts its store (on its first Files or
Batches request): answered lines are kept, the others run, none twice; past its window it expires. A
lock file per batch keeps two servers from running one batch at once.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from ..batch import MAX_BATCH_BYTES, MAX_BATCH_LINES, MAX_CUSTOM_ID
from ..errors import InputError
from . import errors, files, protocol, render
from .errors import ApiError, Surface, error_body
from .files import FileStore, answered, append_line, claim, public, read_json, write_json
from .settings import Settings

log = logging.getLogger("helpers.local")
MAX_LINES, MAX_BYTES = MAX_BATCH_LINES, MAX_BATCH_BYTES
#: Errors listed at most for one input file.
MAX_ERRORS = 1000
#: completion_window -> seconds; the services take 24h only.
WINDOWS = {"24h": 24 * 3600}
#: Batch endpoints per surface -> the API their lines call (Azure's lines say /chat/completions).
ENDPOINTS: dict[Surface, dict[str, str]] = {
    Surface.OPENAI: {"/v1/chat/completions": "chat", "/v1/responses": "responses"},
    Surface.AZURE: {"/chat/completions": "chat", "/responses": "responses"},
    Surface.AZURE_V1: {"/chat/completions": "chat", "/responses": "responses"},
}
ACTIVE = ("validating", "in_progress", "finalizing", "cancelling")
#: The fields of a new batch that are null until its worker fills them.
NULLS = ("model", "errors", "output_file_id", "error_file_id", "usage", "in_progress_at", "finalizing_at")
NULLS += ("completed_at", "failed_at", "expired_at", "cancelling_at", "cancelled_at")
#: Lines answered at once (OCR runs one image at a time and uses every core; the rest overlaps).
WORKERS = max(1, min(4, os.cpu_count() or 1))

Answer = Callable[..., tuple[Any, Any, dict[str, str]]]  # Core.answer
Line = tuple[int, str, dict[str, Any]]  # (line number, custom_id, body)


def _now() -> int:
    return int(time.time())


class BatchService:
    """The files and batches of ``settings.storage_dir``; the unfinished batches there resume at once."""

    def __init__(self, settings: Settings, answer: Answer) -> None:
        self.settings, self.answer = settings, answer
        self.files = FileStore(settings.storage_dir / "files")
        self.dir = settings.storage_dir / "batches"
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._threads: dict[str, threading.Thread] = {}
        for path in sorted(self.dir.glob("batch_*.json")):
            record = read_json(path)
            if record is not None and record.get("status") in ACTIVE:
                self._start(record["id"])

    # --- the API -------------------------------------------------------------------------------

    def create(self, payload: dict[str, Any], surface: Surface) -> dict[str, Any]:
        """``POST /batches``: the new batch, ``validating``, its worker started."""
        file_id = files.required_str(payload, "input_file_id")
        endpoint = files.required_str(payload, "endpoint")
        if endpoint not in ENDPOINTS[surface]:
            raise errors.invalid_value("endpoint", endpoint, tuple(ENDPOINTS[surface]))
        window = files.required_str(payload, "completion_window")
        if window not in WINDOWS:
            raise errors.invalid_value("completion_window", window, tuple(WINDOWS))
        metadata, created = files.metadata_param(payload.get("metadata")), _now()
        record: dict[str, Any] = dict.fromkeys(NULLS) | {
            "id": f"batch_{secrets.token_hex(16)}",
            "object": "batch",
            "endpoint": endpoint,
            "input_file_id": file_id,
            "completion_window": window,
            "status": "validating",
            "created_at": created,
            "expires_at": created + WINDOWS[window],
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "metadata": metadata,
            "_surface": surface.value,
            "_order": time.time_ns(),
        }
        write_json(self._path(record["id"]), record)
        self._start(record["id"])
        return public(record)

    def get(self, batch_id: str, surface: Surface) -> dict[str, Any]:
        """``GET /batches/{id}``."""
        return public(self._record(batch_id, surface))

    def listing(self, query: dict[str, str]) -> dict[str, Any]:
        """``GET /batches``: newest first, ``limit`` (20) after the batch ``after``."""
        records = [r for p in self.dir.glob("batch_*.json") if (r := read_json(p)) is not None]
        records.sort(key=lambda r: r.get("_order", 0), reverse=True)
        return files.paginate([public(r) for r in records], query, 20)

    def cancel(self, batch_id: str, surface: Surface) -> dict[str, Any]:
        """``POST /batches/{id}/cancel``: an active batch goes ``cancelling``; a finished one is a 409."""
        with self._lock:
            record = self._record(batch_id, surface)
            status = record["status"]
            if status in ("validating", "in_progress"):
                record = self._update(batch_id, status="cancelling", cancelling_at=_now())
            elif status not in ("cancelling", "cancelled"):
                message = f"Cannot cancel a batch with status '{status}'."
                raise ApiError(409, None if surface is Surface.OPENAI else "Conflict", message)
        self._start(batch_id)  # when no worker runs it (its server stopped), this one ends the cancel
        return public(record)

    def close(self, wait: bool = True) -> None:
        """Stop the workers after the lines in flight; their batches stay active and resume later."""
        self._stop.set()
        for thread in list(self._threads.values()) if wait else ():
            thread.join()

    # --- records -------------------------------------------------------------------------------

    def _path(self, batch_id: str) -> Path:
        return self.dir / f"{batch_id}.json"

    def _part(self, batch_id: str, kind: str) -> Path:
        return self.dir / f"{batch_id}.{kind}.part"

    def _record(self, batch_id: str, surface: Surface) -> dict[str, Any]:
        record = read_json(self._path(batch_id)) if batch_id.replace("_", "").isalnum() else None
        if record is None:
            raise files.not_found("batch", batch_id, surface)
        return record

    def _update(self, batch_id: str, **changes: Any) -> dict[str, Any]:
        with self._lock:
            record = read_json(self._path(batch_id)) or {}
            record.update(changes)
            write_json(self._path(batch_id), record)
            return record

    def _counts(self, batch_id: str, total: int) -> dict[str, int]:
        done, failed = answered(self._part(batch_id, "output")), answered(self._part(batch_id, "errors"))
        return {"total": total, "completed": len(done), "failed": len(failed)}

    # --- the worker ----------------------------------------------------------------------------

    def _start(self, batch_id: str) -> None:
        with self._lock:
            running = self._threads.get(batch_id)
            if self._stop.is_set() or (running is not None and running.is_alive()):
                return
            thread = threading.Thread(target=self._work, args=(batch_id,), daemon=True, name=batch_id)
            self._threads[batch_id] = thread
            thread.start()

    def _work(self, batch_id: str) -> None:
        with claim(self.dir / f"{batch_id}.lock") as claimed:
            if claimed:  # else another server (or a stopped one's worker in this process) runs it
                self._advance(batch_id)

    def _advance(self, batch_id: str) -> None:
        record = read_json(self._path(batch_id))
        if record is None or record["status"] not in ACTIVE:
            return
        surface = Surface(record["_surface"])
        lines, problems, model = self._check(record, surface)
        if problems:
            found = {"object": "list", "data": problems[:MAX_ERRORS]}
            self._update(batch_id, status="failed", failed_at=_now(), errors=found)
            return
        if record["status"] == "validating":
            counts = {"total": len(lines), "completed": 0, "failed": 0}
            self._update(
                batch_id, status="in_progress", in_progress_at=_now(), model=model, request_counts=counts
            )
        api = ENDPOINTS[surface][record["endpoint"]]
        ending = self._execute(batch_id, lines, surface, api, record["expires_at"])
        if ending is not None:
            self._finish(batch_id, lines, ending, surface)

    def _check(self, record: dict[str, Any], surface: Surface) -> tuple[list[Line], list[dict], str | None]:
        """The lines of the batch's input file, the problems found in them, and their one model."""
        file_id = record["input_file_id"]
        try:
            purpose, data = self.files.get(file_id, surface)["purpose"], self.files.content(file_id, surface)
        except ApiError:
            message = f"Cannot find file {file_id}: it does not exist or was deleted."
            return [], [problem("invalid_request", message, "input_file_id")], None
        if purpose != "batch":
            message = f"The file {file_id} has purpose '{purpose}'; a batch input file needs purpose 'batch'."
            return [], [problem("invalid_request", message, "input_file_id")], None
        return check_lines(data, record["endpoint"], surface, self.settings)

    def _execute(
        self, batch_id: str, lines: list[Line], surface: Surface, api: str, expires: int
    ) -> str | None:
        """Answer the lines not answered yet; how the batch ends, or None when the service stops."""
        done = answered(self._part(batch_id, "output")) | answered(self._part(batch_id, "errors"))
        counts = self._counts(batch_id, len(lines))
        ending: str | None = "completed"
        with ThreadPoolExecutor(WORKERS, thread_name_prefix=batch_id) as pool:
            running: set[Future] = set()
            for line in (line for line in lines if line[1] not in done):
                if stop := self._stopping(batch_id, expires):
                    ending = None if stop == "stopped" else stop
                    break
                running.add(
                    pool.submit(lambda ln: (ln[1], answer_line(self.answer, ln[2], surface, api)), line)
                )
                if len(running) >= WORKERS:
                    finished, running = wait(running, return_when=FIRST_COMPLETED)
                    self._write(batch_id, finished, counts)
            self._write(batch_id, wait(running).done, counts)
        if ending == "completed" and (stop := self._stopping(batch_id, expires)) not in (None, "stopped"):
            ending = stop  # cancelled or expired while the last lines ran
        return ending

    def _stopping(self, batch_id: str, expires: int) -> str | None:
        if self._stop.is_set():
            return "stopped"
        if (read_json(self._path(batch_id)) or {}).get("status") == "cancelling":
            return "cancelled"
        return "expired" if _now() >= expires else None

    def _write(self, batch_id: str, finished: set[Future], counts: dict[str, int]) -> None:
        for future in finished:
            custom_id, (status, request_id, body) = future.result()
            response = {"status_code": status, "request_id": request_id, "body": body}
            part = self._part(batch_id, "output" if status == 200 else "errors")
            append_line(part, files.request_line(custom_id, response))
            counts["completed" if status == 200 else "failed"] += 1
        if finished:
            self._update(batch_id, request_counts=dict(counts))

    def _finish(self, batch_id: str, lines: list[Line], ending: str, surface: Surface) -> None:
        """Write the lines never answered (cancelled, expired), make the output and error files, end."""
        output, failures = self._part(batch_id, "output"), self._part(batch_id, "errors")
        if ending != "completed":
            done = answered(output) | answered(failures)
            error = {"code": f"batch_{ending}", "message": UNANSWERED[ending]}
            for _, custom_id, _ in (line for line in lines if line[1] not in done):
                append_line(failures, files.request_line(custom_id, None, error))
        elif (read_json(self._path(batch_id)) or {}).get("status") != "finalizing":
            self._update(batch_id, status="finalizing", finalizing_at=_now())
        for kind, path in (("output", output), ("error", failures)):
            made = (read_json(self._path(batch_id)) or {}).get(f"{kind}_file_id")
            if made is None and path.exists() and path.stat().st_size:
                name = f"{batch_id}_{kind}.jsonl"
                made = self.files.add(path.read_bytes(), name, "batch_output", surface, made_here=True)["id"]
                self._update(batch_id, **{f"{kind}_file_id": made})
        counts, usage = self._counts(batch_id, len(lines)), files.usage(output)
        self._update(batch_id, status=ending, request_counts=counts, usage=usage, **{f"{ending}_at": _now()})
        output.unlink(missing_ok=True)
        failures.unlink(missing_ok=True)


#: The error of a line that never ran, by how its batch ended.
UNANSWERED = {
    "cancelled": "This request was not executed because the batch was cancelled.",
    "expired": "This request could not be executed before the completion window expired.",
}


def answer_line(answer: Answer, payload: dict[str, Any], surface: Surface, api: str) -> tuple[int, str, dict]:
    """One line's (status, request id, body): ``answer`` (Core.answer) as for a single request; an error
    becomes its body in the route's shape, as a single request's error response would carry it."""
    request_id = protocol.new_request_id()
    try:
        body = protocol.load_json(json.dumps(payload).encode())  # the checks of a request body
        parsed, reply, _ = answer(body, surface, api, request_id=request_id, limit=False)
        rendered = render.response_object if api == "responses" else render.chat_completion
        return 200, request_id, rendered(parsed, reply)
    except ApiError as error:
        return error.status, request_id, error_body(error, surface)
    except InputError as error:
        return 400, request_id, error_body(errors.bad_input(error), surface)
    except Exception:
        log.exception("The local host failed to answer a batch line")
        return 500, request_id, error_body(errors.internal_error(), surface)


def problem(code: str, message: str, param: str | None = None, line: int | None = None) -> dict:
    """One entry of a failed batch's ``errors.data``."""
    return {"code": code, "message": message, "param": param, "line": line}


def check_lines(
    data: bytes, endpoint: str, surface: Surface, settings: Settings
) -> tuple[list[Line], list[dict], str | None]:
    """Every line of a batch input file checked as the services do: (lines, problems, model)."""
    if len(data) > MAX_BYTES:
        message = (
            f"The batch input file is {len(data)} bytes; a batch takes at most {MAX_BYTES} bytes "
            f"({MAX_BYTES / (1024 * 1024):g} MB). Split the requests into several files."
        )
        return [], [problem("invalid_request", message)], None
    raw = [(n, text) for n, text in enumerate(data.split(b"\n"), start=1) if text.strip()]
    if not raw:
        return [], [problem("invalid_request", "The batch input file is empty: it holds no request.")], None
    if len(raw) > MAX_LINES:
        message = (
            f"The batch input file holds {len(raw)} requests; a batch takes at most {MAX_LINES}. "
            "Split the requests into several files."
        )
        return [], [problem("invalid_request", message)], None
    api = ENDPOINTS[surface][endpoint]
    urls = {endpoint} if surface is Surface.OPENAI else {endpoint, "/v1" + endpoint}
    lines: list[Line] = []
    problems: list[dict] = []
    seen: set[str] = set()
    model: str | None = None
    for number, text in raw:
        found, line = _check_line(number, text, urls, api, settings)
        if line is not None:
            custom_id, body = line[1], line[2]
            if custom_id in seen:
                message = (
                    f"The custom_id {custom_id!r} for this request is a duplicate of another request. The "
                    "custom_id parameter must be unique for each request in a batch."
                )
                found = problem("duplicate_custom_id", message, "custom_id", number)
            elif model is not None and body["model"] != model:
                message = (
                    f"The provided model {body['model']!r} does not match the model {model!r} of the other "
                    "requests in this batch: a batch file holds requests for one model only."
                )
                found = problem("mismatched_model", message, "body.model", number)
            seen.add(custom_id)
            model = model or body["model"]
        if found is not None:
            problems.append(found)
        elif line is not None:
            lines.append(line)
    return lines, problems, model


def _check_line(
    number: int, text: bytes, urls: set[str], api: str, settings: Settings
) -> tuple[dict | None, Line | None]:
    """(the line's problem, None) or (None, the line)."""
    try:
        item = json.loads(text)
    except (ValueError, RecursionError):
        item = None
    if not isinstance(item, dict):
        return problem("invalid_json_line", "This line is not parseable as valid JSON.", None, number), None
    for key in ("custom_id", "method", "url", "body"):
        if key not in item:
            return problem(
                "missing_required_parameter", f"Missing required parameter: '{key}'.", key, number
            ), None
    custom_id, body, model = item["custom_id"], item["body"], None
    if not isinstance(custom_id, str) or not custom_id or len(custom_id) > MAX_CUSTOM_ID:
        message = f"Invalid 'custom_id': expected a non-empty string of at most {MAX_CUSTOM_ID} characters."
        return problem("invalid_value", message, "custom_id", number), None
    if item["method"] != "POST":
        message = f"Invalid value: {json.dumps(item['method'])}. Supported values are: 'POST'."
        return problem("invalid_value", message, "method", number), None
    if item["url"] not in urls:
        message = "The URL provided for this request does not match the batch endpoint."
        return problem("invalid_url", message, "url", number), None
    if not isinstance(body, dict):
        return problem("invalid_type", "Invalid type for 'body': expected an object.", "body", number), None
    model, needed = body.get("model"), "messages" if api == "chat" else "input"
    if not isinstance(model, str) or not model:
        return problem("invalid_request", "Model parameter is required.", "body.model", number), None
    if settings.deployments and model not in settings.deployments:
        message = f"The provided model '{model}' is not supported by the Batch API."
        return problem("model_not_found", message, "body.model", number), None
    if needed not in body:
        message = f"{needed.capitalize()} parameter is required."
        return problem("invalid_request", message, f"body.{needed}", number), None
    if body.get("stream"):
        message = f"{'Chat Completions' if api == 'chat' else 'Responses'}: Streaming is not supported in the Batch API."
        return problem("streaming_unsupported", message, "body.stream", number), None
    return None, (number, custom_id, body)
