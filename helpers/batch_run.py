"""Run many requests here, a few at a time, and keep every answer as it arrives.

:func:`run_concurrently` sends :class:`~helpers.batch.BatchRequest` s with at most ``concurrency`` in
flight, within a requests-per-minute and tokens-per-minute budget you set (your deployment's or
account's limits), with the SDK's own retries and, when those give up on a 429, a pause of every
worker for the ``retry-after`` the service asked for. Each answer (or final error) is appended to a
results file and flushed at once, so a run stopped by Ctrl-C, a kernel restart or a cancelled task
loses nothing it finished: run it again and it sends only what has no answer yet.

In a notebook, ``await run_concurrently(...)`` (Jupyter runs the cell's event loop); in a script,
``asyncio.run(run_concurrently(...))``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .batch import BatchRequest, BatchResult, append_result, read_results, reply_text, request_tokens
from .errors import InputError

#: Tries of one request when the service keeps answering 429 after the SDK's own retries.
MAX_ATTEMPTS = 6
#: The rate window the budgets are per (a minute).
WINDOW = 60.0


@dataclass(frozen=True)
class RunSummary:
    """What a run did: requests in all, already done before it, sent, answered and failed, and the
    429s that made every worker pause."""

    total: int
    skipped: int
    sent: int
    answered: int
    failed: int
    paused: int

    def __str__(self) -> str:
        return (
            f"{self.total} requests: {self.skipped} already done, {self.sent} sent, "
            f"{self.answered} answered, {self.failed} failed"
        )


class Budget:
    """At most ``rpm`` request starts and ``tpm`` estimated tokens in any ``window`` seconds, and a pause
    shared by every worker (a 429's ``retry-after``). ``clock`` and ``sleep`` are for tests."""

    def __init__(
        self,
        rpm: int | None = None,
        tpm: int | None = None,
        window: float = WINDOW,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        for name, value in (("rpm", rpm), ("tpm", tpm)):
            if value is not None and value < 1:
                raise InputError(f"{name}={value} must be at least 1, or None for no limit.")
        self.rpm, self.tpm, self.window = rpm, tpm, window
        self.clock, self.sleep = clock, sleep
        self.started: deque[tuple[float, int]] = deque()
        self.paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        """Hold every start for ``seconds`` from now (a later pause already set wins)."""
        self.paused_until = max(self.paused_until, self.clock() + seconds)

    async def acquire(self, tokens: int) -> None:
        """Wait until one more request of ``tokens`` fits the budget, then count it."""
        async with self._lock:
            while True:
                now = self.clock()
                while self.started and self.started[0][0] <= now - self.window:
                    self.started.popleft()
                wait = self.paused_until - now
                if self.rpm is not None and len(self.started) >= self.rpm:
                    wait = max(wait, self.started[0][0] + self.window - now)
                used = sum(cost for _, cost in self.started)
                if self.tpm is not None and self.started and used + tokens > self.tpm:
                    freed, until = 0, now
                    for stamp, cost in self.started:
                        freed, until = freed + cost, stamp + self.window
                        if used - freed + tokens <= self.tpm:
                            break
                    wait = max(wait, until - now)
                if wait <= 0:
                    self.started.append((now, tokens))
                    return
                await self.sleep(wait)


def async_client(client: Any) -> Any:
    """An ``openai.AsyncOpenAI`` (``AsyncAzureOpenAI`` for an ``AzureOpenAI``) with ``client``'s endpoint,
    credentials, headers, timeout and retries. A sync token provider is called in a worker thread."""
    import openai

    if not isinstance(client, openai.OpenAI):
        return client  # already async (an AsyncOpenAI, or anything with the same methods)
    common: dict[str, Any] = {
        "timeout": client.timeout,
        "max_retries": client.max_retries,
        "default_headers": dict(client._custom_headers),
        "default_query": dict(client._custom_query),
    }
    provider = getattr(client, "_api_key_provider", None)
    if isinstance(client, openai.AzureOpenAI):
        token = client._azure_ad_token_provider
        auth: dict[str, Any] = (
            {"azure_ad_token_provider": token}
            if token is not None
            else {"azure_ad_token": client._azure_ad_token}
            if client._azure_ad_token
            else {"api_key": client.api_key}
        )
        where = (
            {"azure_endpoint": str(client._azure_endpoint), "azure_deployment": client._azure_deployment}
            if client._azure_endpoint is not None
            else {"base_url": str(client.base_url)}
        )
        return openai.AsyncAzureOpenAI(api_version=client._api_version, **where, **auth, **common)
    key = client.api_key if provider is None else _async_provider(provider)
    return openai.AsyncOpenAI(base_url=str(client.base_url), api_key=key, **common)


def _async_provider(provider: Callable[[], str]) -> Callable[[], Awaitable[str]]:
    """The async form of a sync key provider (an Entra token provider), called in a worker thread."""

    async def key() -> str:
        return await asyncio.to_thread(provider)

    return key


async def run_concurrently(
    client: Any,
    requests: Sequence[BatchRequest],
    results: str | Path,
    *,
    concurrency: int = 4,
    rpm: int | None = None,
    tpm: int | None = None,
    progress: bool = True,
    token_model: str = "gpt-4o",
    max_attempts: int = MAX_ATTEMPTS,
) -> RunSummary:
    """Send the requests that have no answer in ``results`` yet, ``concurrency`` at a time; return the summary.

    ``client`` is ``host.client`` (an async client is made from it) or an ``openai.AsyncOpenAI``.
    ``rpm`` and ``tpm`` are the budget per minute (``tpm`` counts each request's estimated input
    tokens plus its ``max_tokens``, as Azure does). A request the service refuses (4xx) is written
    as failed and not retried; a rerun sends it again. A progress bar (tqdm) shows while it runs.
    """
    if concurrency < 1:
        raise InputError(f"concurrency={concurrency} must be at least 1.")
    path = Path(results)
    path.parent.mkdir(parents=True, exist_ok=True)
    done = {cid for cid, result in read_results(path).items() if result.ok}
    todo = [request for request in requests if request.custom_id not in done]
    costs = {r.custom_id: _tokens(r, token_model) for r in todo} if tpm is not None else {}
    for request in todo:
        if tpm is not None and costs[request.custom_id] > tpm:
            raise InputError(
                f"The request for {request.item.name!r} needs about {costs[request.custom_id]} tokens, more "
                f"than tpm={tpm} allows in a minute: raise tpm, or lower max_tokens or the image detail."
            )
    budget = Budget(rpm, tpm)
    counts = {"answered": 0, "failed": 0, "paused": 0}
    aclient = async_client(client)
    queue: asyncio.Queue[BatchRequest] = asyncio.Queue()
    for request in todo:
        queue.put_nowait(request)
    bar = _bar(len(requests), len(requests) - len(todo), progress)

    async def worker() -> None:
        while not queue.empty():
            request = queue.get_nowait()
            result = await _send(
                aclient, request, budget, costs.get(request.custom_id, 0), max_attempts, counts
            )
            append_result(path, result)
            counts["answered" if result.ok else "failed"] += 1
            bar.update(1)

    tasks = [asyncio.ensure_future(worker()) for _ in range(min(concurrency, len(todo)))]
    try:
        await asyncio.gather(*tasks)
    finally:  # Ctrl-C, a cancelled cell, an error: stop the requests in flight (their answers are not kept)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        bar.close()
        if aclient is not client:
            await aclient.close()
    sent = counts["answered"] + counts["failed"]
    return RunSummary(
        len(requests), len(requests) - len(todo), sent, counts["answered"], counts["failed"], counts["paused"]
    )


def _tokens(request: BatchRequest, token_model: str) -> int:
    limit = request.body.get("max_tokens") or request.body.get("max_output_tokens") or 0
    return sum(request_tokens(request, token_model)) + limit


async def _send(
    aclient: Any, request: BatchRequest, budget: Budget, tokens: int, attempts: int, counts: dict[str, int]
) -> BatchResult:
    """One request, with the SDK's retries inside and, on a 429 the SDK gave up on, a shared pause."""
    import openai

    name = request.item.name
    for attempt in range(1, attempts + 1):
        await budget.acquire(tokens)
        try:
            if request.api == "chat":
                response = await aclient.chat.completions.create(**request.body)
            else:
                response = await aclient.responses.create(**request.body)
        except openai.RateLimitError as error:
            if attempt == attempts:
                return BatchResult(request.custom_id, name, False, error=_message(error), status_code=429)
            counts["paused"] += 1
            budget.pause(_retry_after(error.response.headers, attempt))
            continue
        except openai.APIStatusError as error:
            return BatchResult(
                request.custom_id, name, False, error=_message(error), status_code=error.status_code
            )
        except openai.APIConnectionError as error:
            if attempt == attempts:
                return BatchResult(request.custom_id, name, False, error=f"connection: {error}")
            await asyncio.sleep(min(2.0**attempt, 30.0))
            continue
        body = response.model_dump(mode="json")
        usage = body.get("usage")
        return BatchResult(request.custom_id, name, True, reply_text(body), status_code=200, usage=usage)
    raise AssertionError("unreachable")  # every attempt returns or continues


def _retry_after(headers: Any, attempt: int) -> float:
    """Seconds a 429 asks to wait (``retry-after-ms``, then ``retry-after``), else 1, 2, 4 ... s."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        try:
            return max(0.0, float(headers.get(name)) / scale)
        except (TypeError, ValueError):
            continue
    return min(2.0 ** (attempt - 1), 60.0)


def _message(error: Any) -> str:
    body = getattr(error, "body", None)
    inner = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(inner, dict) and inner.get("message"):
        code = inner.get("code")
        return f"{code}: {inner['message']}" if code else str(inner["message"])
    return str(error)


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(total: int, initial: int, progress: bool) -> Any:
    if not progress:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc="requests", unit="req")
