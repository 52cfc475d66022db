"""The Files API of the local host: uploads kept on disk, so they survive a restart of the server.

Files live in ``{LOCAL_DATA_DIR}/files/`` (see :attr:`.settings.Settings.storage_dir`), two entries
each: ``{id}.json``, the file object the API answers (``id``, ``object: "file"``, ``bytes``,
``created_at``, ``filename``, ``purpose``, ``status``), and ``{id}.data``, the bytes. The object is
written after the bytes, atomically (a temporary file renamed), so a server stopped halfway leaves
no file that is listed but has no content. ``DELETE`` removes both. The OpenAI and Azure routes
share one store, as one resource does.

Purposes: an upload may be ``assistants``, ``batch``, ``fine-tune``, ``vision``, ``user_data`` or
``evals`` (the SDK's ``FilePurpose``); ``batch_output`` files are made by the Batch API (its output
and error files) and cannot be uploaded. An upload with purpose ``batch`` must be a non-empty
``.jsonl`` file, as the services require; its lines are checked when a batch is created from it
(:mod:`.batches`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import errors, protocol, render
from .errors import ApiError, Surface

if TYPE_CHECKING:
    from .app import Core
    from .batches import BatchService

#: Purposes an upload may have; the Batch API makes ``batch_output`` files itself.
UPLOAD_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
SERVICE_PURPOSES = ("batch_output",)
#: Files per page of ``GET /files`` unless ``limit`` says otherwise (OpenAI's default).
LIST_LIMIT = 10_000
#: The Files and Batches routes, (method, path); app.py adds each under every prefix of PREFIXES.
ROUTES = (
    ("POST", "/files"),
    ("GET", "/files"),
    ("GET", "/files/{file_id}"),
    ("GET", "/files/{file_id}/content"),
    ("DELETE", "/files/{file_id}"),
    ("POST", "/batches"),
    ("GET", "/batches"),
    ("GET", "/batches/{batch_id}"),
    ("POST", "/batches/{batch_id}/cancel"),
)
#: OpenAI, Azure classic (api-version required, as on its other routes) and Azure v1.
PREFIXES = (("/v1", Surface.OPENAI), ("/openai", Surface.AZURE), ("/openai/v1", Surface.AZURE_V1))


_service_lock = threading.Lock()


def service_of(core: Core) -> BatchService:
    """The files and batches of ``core``'s server, made on first use (when the unfinished batches in its
    folder resume) and kept as ``core.batch_service``."""
    from .batches import BatchService

    with _service_lock:
        if getattr(core, "batch_service", None) is None:
            core.batch_service = BatchService(core.settings, core.answer)  # type: ignore[attr-defined]
    return core.batch_service  # type: ignore[attr-defined]


async def handle(core: Core, request: Request, surface: Surface, request_id: str) -> Response:
    """Answer one request of a row of :data:`ROUTES` with the files and batches of ``core``'s server."""
    service = await run_in_threadpool(service_of, core)
    params, path, method = request.path_params, request.url.path, request.method
    query = dict(request.query_params)
    headers = render.request_headers(surface, request_id)
    result: dict[str, Any]
    if "batch_id" in params:
        act = service.cancel if path.endswith("/cancel") else service.get
        result = await run_in_threadpool(act, params["batch_id"], surface)
    elif path.endswith("/batches"):
        if method == "POST":
            payload = protocol.load_json(await request.body())
            result = await run_in_threadpool(service.create, payload, surface)
        else:
            result = await run_in_threadpool(service.listing, query)
    elif "file_id" in params and path.endswith("/content"):
        data = await run_in_threadpool(service.files.content, params["file_id"], surface)
        return Response(data, media_type="application/octet-stream", headers=headers)
    elif "file_id" in params:
        act = service.files.delete if method == "DELETE" else service.files.get
        result = await run_in_threadpool(act, params["file_id"], surface)
    elif method == "POST":
        data, filename, purpose = await read_upload(request)
        result = await run_in_threadpool(service.files.add, data, filename, purpose, surface)
    else:
        result = await run_in_threadpool(service.files.listing, query)
    return JSONResponse(result, headers=headers)


def not_found(kind: str, object_id: str, surface: Surface) -> ApiError:
    """404 for a file or batch that does not exist (or was deleted): OpenAI's wording on /v1, Azure's code."""
    message = (
        f"No such File object: {object_id}" if kind == "file" else f"No batch found with id '{object_id}'."
    )
    if surface is Surface.OPENAI:
        return ApiError(404, None, message, param="id")
    return ApiError(404, "NotFound", message, type=None)


def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as JSON to ``path`` atomically: a reader sees the old or the new file, never half."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    temporary.write_text(json.dumps(value, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    os.replace(temporary, path)


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None when it is missing or unreadable."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def public(record: dict[str, Any]) -> dict[str, Any]:
    """A stored object without its internal keys (those starting with ``_``)."""
    return {key: value for key, value in record.items() if not key.startswith("_")}


class FileStore:
    """Files under ``root``: add, read, list and delete, safe to use from several threads."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def add(
        self, data: bytes, filename: str, purpose: str, surface: Surface, made_here: bool = False
    ) -> dict:
        """Store ``data`` and return its file object; ``made_here`` allows the service's own purposes."""
        allowed = UPLOAD_PURPOSES + (SERVICE_PURPOSES if made_here else ())
        if purpose not in allowed:
            raise errors.invalid_value("purpose", purpose, UPLOAD_PURPOSES)
        if purpose == "batch" and not made_here:
            _check_batch_upload(data, filename)
        file_id = f"file-{secrets.token_hex(16)}"
        record = {
            "id": file_id,
            "object": "file",
            "bytes": len(data),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
            "status_details": None,
            "expires_at": None,
            "_order": time.time_ns(),
        }
        (self.root / f"{file_id}.data").write_bytes(data)
        write_json(self.root / f"{file_id}.json", record)
        return public(record)

    def record(self, file_id: str, surface: Surface) -> dict[str, Any]:
        """The stored object of ``file_id`` (with its internal keys); 404 when there is none."""
        record = read_json(self.root / f"{_safe(file_id)}.json") if _safe(file_id) else None
        if record is None:
            raise not_found("file", file_id, surface)
        return record

    def get(self, file_id: str, surface: Surface) -> dict[str, Any]:
        """The file object of ``file_id``."""
        return public(self.record(file_id, surface))

    def content(self, file_id: str, surface: Surface) -> bytes:
        """The bytes of ``file_id``."""
        self.record(file_id, surface)
        try:
            return (self.root / f"{file_id}.data").read_bytes()
        except OSError:
            raise not_found("file", file_id, surface) from None

    def delete(self, file_id: str, surface: Surface) -> dict[str, Any]:
        """Remove ``file_id`` (its object, then its bytes)."""
        with self._lock:
            self.record(file_id, surface)
            (self.root / f"{file_id}.json").unlink(missing_ok=True)
            (self.root / f"{file_id}.data").unlink(missing_ok=True)
        return {"id": file_id, "object": "file", "deleted": True}

    def listing(self, query: dict[str, str]) -> dict[str, Any]:
        """``GET /files``: ``purpose``, ``limit``, ``order`` (desc by default) and ``after`` (a file id)."""
        records = [r for p in self.root.glob("*.json") if (r := read_json(p)) is not None]
        purpose = query.get("purpose")
        if purpose:
            records = [r for r in records if r.get("purpose") == purpose]
        order = query.get("order", "desc")
        if order not in ("asc", "desc"):
            raise errors.invalid_value("order", order, ("asc", "desc"))
        records.sort(key=lambda r: r.get("_order", 0), reverse=order == "desc")
        return paginate([public(r) for r in records], query, LIST_LIMIT)


def paginate(items: list[dict[str, Any]], query: dict[str, str], default: int) -> dict[str, Any]:
    """One page of ``items`` (already in order): ``limit`` of them after the id ``after``."""
    raw = query.get("limit")
    try:
        limit = int(raw) if raw else default
    except ValueError:
        raise errors.invalid_type("limit", "an integer", raw) from None
    if limit < 1:
        raise errors.invalid_value("limit", limit, why=f"{limit} is below the minimum of 1.")
    after = query.get("after")
    if after:
        ids = [item["id"] for item in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    page = items[:limit]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": len(items) > limit,
    }


async def read_upload(request: Request) -> tuple[bytes, str, str]:
    """The ``file`` part (bytes and name) and the ``purpose`` field of a ``POST /files`` form."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "multipart/form-data":
        raise ApiError(
            400,
            None,
            f"POST /files takes a multipart/form-data body, not {kind or 'a body without a Content-Type'}: "
            "send the file as a 'file' part and its 'purpose' as a field (client.files.create does).",
        )
    try:
        form = await request.form()
        purpose = form.get("purpose")
        upload = form.get("file")
        data = None if upload is None or isinstance(upload, str) else await upload.read()
        filename = getattr(upload, "filename", None) or "file"
    except ApiError:  # the body is over LOCAL_MAX_BODY_MB
        raise
    except Exception:
        raise ApiError(
            400,
            None,
            "Could not parse the multipart form body (it is cut short or its boundaries are broken).",
        ) from None
    if not purpose or not isinstance(purpose, str):
        raise errors.missing_parameter("purpose")
    if data is None:
        raise errors.missing_parameter("file")
    return data, filename, purpose


def _check_batch_upload(data: bytes, filename: str) -> None:
    """A batch input file must be a non-empty .jsonl file (its lines are checked when a batch is made)."""
    if not filename.lower().endswith(".jsonl") or not data.strip():
        shown = f"{filename!r} is empty" if data.strip() == b"" else f"{filename!r} is not a .jsonl file"
        raise ApiError(
            400,
            "invalid_request",
            f"Invalid file format for Batch API. Must be .jsonl: {shown}. Write one request per line "
            "and name the file *.jsonl.",
            param="file",
        )


def _safe(file_id: str) -> str:
    """``file_id`` when it can name a stored file (no path separators or dots), else ''."""
    return file_id if file_id.replace("-", "").replace("_", "").isalnum() else ""


def required_str(payload: dict[str, Any], key: str) -> str:
    """The string ``payload[key]``: a 400 when it is missing or not a string."""
    value = payload.get(key)
    if value is None:
        raise errors.missing_parameter(key)
    if not isinstance(value, str):
        raise errors.invalid_type(key, "a string", value)
    return value


def metadata_param(value: Any) -> dict[str, str] | None:
    """``metadata``: at most 16 string values, keys up to 64 characters and values up to 512."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise errors.invalid_type("metadata", "an object", value)
    if len(value) > 16:
        raise errors.invalid_value("metadata", value, why=f"{len(value)} keys; at most 16 are allowed.")
    for key, item in value.items():
        if not isinstance(item, str):
            raise errors.invalid_type(f"metadata.{key}", "a string", item)
        if len(key) > 64 or len(item) > 512:
            why = "keys may have up to 64 characters and values up to 512."
            raise errors.invalid_value(f"metadata.{key}", item, why=why)
    return value


# --- files written a line at a time, and locks -----------------------------------------------------------------------------------


def append_line(path: Path, line: dict[str, Any]) -> None:
    """Append ``line`` as one JSON line and flush it, so it is on disk before it is counted."""
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
        out.flush()


def read_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The whole lines of a partial file (a line cut short by a crash is skipped)."""
    with contextlib.suppress(FileNotFoundError), path.open(encoding="utf-8") as lines:
        for text in lines:
            with contextlib.suppress(ValueError):
                yield json.loads(text)


def answered(path: Path) -> set[str]:
    """The custom_ids of the lines in ``path``."""
    return {line["custom_id"] for line in read_lines(path)}


@contextlib.contextmanager
def claim(path: Path) -> Iterator[bool]:
    """Hold an exclusive lock on ``path`` (True), or yield False when another worker holds it."""
    try:
        import fcntl
    except ImportError:  # not POSIX: one server per data folder
        yield True
        return
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def request_line(custom_id: str, response: dict | None, error: dict | None = None) -> dict[str, Any]:
    """A line of a batch's output or error file, with a new ``batch_req_`` id."""
    return {
        "id": f"batch_req_{secrets.token_hex(16)}",
        "custom_id": custom_id,
        "response": response,
        "error": error,
    }


def usage(output: Path) -> dict[str, Any]:
    """Tokens of the lines answered, summed (chat or Responses ``usage``)."""
    inputs = outputs = 0
    for line in read_lines(output):
        counted = ((line.get("response") or {}).get("body") or {}).get("usage") or {}
        inputs += counted.get("prompt_tokens", counted.get("input_tokens", 0))
        outputs += counted.get("completion_tokens", counted.get("output_tokens", 0))
    return {
        "input_tokens": inputs,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": outputs,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": inputs + outputs,
    }
