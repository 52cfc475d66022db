"""Rate limits and fault injection, for teaching and testing retries.

* :class:`RateLimiter`: per deployment, at most ``rpm`` requests and ``tpm`` tokens in any
  sliding window of ``rate_window`` seconds (60 by default, so the names mean "per minute").
  A request costs its prompt tokens plus its ``max_tokens`` (Azure estimates the same way).
  Over a limit: 429 with ``retry-after`` (whole seconds, for azure-core), ``retry-after-ms``
  (for openai) and ``x-ratelimit-remaining-requests``/``-tokens``; every answer carries the
  remaining counts when a limit is set.
* :class:`FaultInjector`: every Nth *new* API request fails with 429, 500 or 503, and a client's
  retry of a request is never failed, so the SDKs' own retries recover every injected fault.
  A retry is known by its headers: the openai SDK sends ``x-stainless-retry-count`` (0 on the
  first attempt, 1, 2... on its retries); azure-core sends the same ``x-ms-client-request-id`` on
  every attempt of one call (its RequestIdPolicy runs before its RetryPolicy). A request with
  neither header (plain HTTP) is new every time.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping

from . import errors
from .settings import Settings


class RateLimiter:
    """Sliding-window request and token limits per deployment."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.rpm = settings.rpm
        self.tpm = settings.tpm
        self.window = settings.rate_window
        self._clock = clock
        self._log: dict[str, deque[tuple[float, int]]] = {}
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        """True when a request or token limit is set."""
        return self.rpm is not None or self.tpm is not None

    def admit(self, deployment: str, tokens: int) -> dict[str, str]:
        """Record a request costing ``tokens`` or raise a 429; returns the remaining-count headers."""
        if not self.active:
            return {}
        with self._lock:
            now = self._clock()
            log = self._log.setdefault(deployment, deque())
            while log and log[0][0] <= now - self.window:
                log.popleft()
            used = sum(cost for _, cost in log)
            if self.rpm is not None and len(log) + 1 > self.rpm:
                wait = log[0][0] + self.window - now
                raise errors.rate_limited(
                    "call", self.rpm, self.window, _ms(wait), self._remaining(log, used)
                )
            if self.tpm is not None and used + tokens > self.tpm:
                wait = self._wait_for_tokens(log, used + tokens - self.tpm, now)
                raise errors.rate_limited(
                    "token", self.tpm, self.window, _ms(wait), self._remaining(log, used)
                )
            log.append((now, tokens))
            return self._remaining(log, used + tokens)

    def _wait_for_tokens(self, log: deque[tuple[float, int]], excess: int, now: float) -> float:
        """Seconds until enough old requests leave the window to free ``excess`` tokens."""
        freed = 0
        for stamp, cost in log:
            freed += cost
            if freed >= excess:
                return stamp + self.window - now
        return self.window  # a single request over the whole limit: it can never pass; say a window

    def _remaining(self, log: deque[tuple[float, int]], used: int) -> dict[str, str]:
        headers = {}
        if self.rpm is not None:
            headers["x-ratelimit-remaining-requests"] = str(max(0, self.rpm - len(log)))
        if self.tpm is not None:
            headers["x-ratelimit-remaining-tokens"] = str(max(0, self.tpm - used))
        return headers


class FaultInjector:
    """Fails every Nth new request on purpose (LOCAL_FAULT_EVERY / LOCAL_FAULT_STATUS); retries pass.

    ``count`` is the number of new requests seen. The ``x-ms-client-request-id`` values of the
    last :attr:`MEMORY` new requests are remembered, so a retry of one is known even when other
    clients' requests came in between.
    """

    RETRY_COUNT = "x-stainless-retry-count"
    REQUEST_ID = "x-ms-client-request-id"
    MEMORY = 10_000

    def __init__(self, settings: Settings) -> None:
        self.every = settings.fault_every
        self.status = settings.fault_status
        self.retry_after_ms = settings.fault_retry_after_ms
        self.count = 0
        self._seen: OrderedDict[str, None] = OrderedDict()  # request ids, oldest first
        self._lock = threading.Lock()

    def check(self, headers: Mapping[str, str] | None = None) -> None:
        """Count a new request and raise the injected error when it is the Nth; let a retry through.

        ``headers`` are the request's (case-insensitive, as Starlette's; lower-case keys otherwise).
        """
        if self.every is None:
            return
        headers = headers or {}
        with self._lock:
            if self._is_retry(headers):
                return
            self.count += 1
            fail = self.count % self.every == 0
        if fail:
            raise errors.injected_fault(self.status, self.every, self.retry_after_ms)

    def _is_retry(self, headers: Mapping[str, str]) -> bool:
        """True for a retry; remembers the request id of a new request (call under the lock)."""
        attempt = headers.get(self.RETRY_COUNT)
        if attempt is not None:  # the openai SDK: the attempt number says it all
            return attempt.strip().isdigit() and int(attempt) > 0
        request_id = headers.get(self.REQUEST_ID)
        if not request_id:
            return False
        if request_id in self._seen:
            self._seen.move_to_end(request_id)
            return True
        self._seen[request_id] = None
        if len(self._seen) > self.MEMORY:
            self._seen.popitem(last=False)
        return False


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))
