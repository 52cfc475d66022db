"""Rate limits and injected faults: the 429/500/503 answers and the real SDKs retrying them."""

from __future__ import annotations

import time

import httpx
import openai
import pytest
from azure.ai.inference import ChatCompletionsClient
from azure.ai.inference.models import UserMessage
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError

from helpers.local.errors import ApiError
from helpers.local.model import HELP
from helpers.local.ratelimit import FaultInjector, RateLimiter
from helpers.local.settings import Settings

HI = [{"role": "user", "content": "Hello there"}]
BODY = {"model": "m", "messages": HI}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limiter_requests_window_exact_numbers() -> None:
    clock = Clock()
    limiter = RateLimiter(Settings(rpm=2, rate_window=10), clock)
    assert limiter.admit("d", 5) == {"x-ratelimit-remaining-requests": "1"}
    clock.now += 4
    assert limiter.admit("d", 5) == {"x-ratelimit-remaining-requests": "0"}
    assert limiter.admit("other", 5) == {"x-ratelimit-remaining-requests": "1"}  # per deployment
    clock.now += 1
    with pytest.raises(ApiError) as caught:
        limiter.admit("d", 5)
    error = caught.value
    assert error.status == 429
    assert error.headers == {
        "retry-after": "5",
        "retry-after-ms": "5000",
        "x-ratelimit-remaining-requests": "0",
    }
    assert error.message == (
        "Requests to this deployment have exceeded the call rate limit of the local host (2 "
        "requests per 10 seconds, set by LOCAL_RPM). Please retry after 5 seconds."
    )
    clock.now += 5  # the first request leaves the window
    assert limiter.admit("d", 5) == {"x-ratelimit-remaining-requests": "0"}


def test_limiter_tokens_exact_numbers() -> None:
    clock = Clock()
    limiter = RateLimiter(Settings(tpm=100, rate_window=60), clock)
    assert limiter.admit("d", 60) == {"x-ratelimit-remaining-tokens": "40"}
    clock.now += 15
    with pytest.raises(ApiError) as caught:
        limiter.admit("d", 50)
    assert caught.value.headers == {
        "retry-after": "45",
        "retry-after-ms": "45000",
        "x-ratelimit-remaining-tokens": "40",
    }
    assert "token rate limit" in caught.value.message and "LOCAL_TPM" in caught.value.message
    assert limiter.admit("d", 40) == {"x-ratelimit-remaining-tokens": "0"}


def test_fault_injector_counts() -> None:
    faults = FaultInjector(Settings(fault_every=3, fault_status=503))
    faults.check()
    faults.check()
    with pytest.raises(ApiError) as caught:
        faults.check()
    assert (caught.value.status, caught.value.code) == (503, "ServiceUnavailable")
    faults.check()


def test_rpm_429_shape_and_headers(make_server) -> None:
    running = make_server(rpm=1, rate_window=30)
    first = httpx.post(
        f"{running.url}/openai/deployments/d/chat/completions?api-version=2024-10-21", json=BODY
    )
    assert first.status_code == 200
    assert first.headers["x-ratelimit-remaining-requests"] == "0"
    second = httpx.post(
        f"{running.url}/openai/deployments/d/chat/completions?api-version=2024-10-21", json=BODY
    )
    assert second.status_code == 429
    wait_ms = int(second.headers["retry-after-ms"])
    assert 0 < wait_ms <= 30000
    assert second.headers["retry-after"] == str(-(-wait_ms // 1000))
    assert second.headers["x-ratelimit-remaining-requests"] == "0"
    assert second.json() == {
        "error": {
            "code": "429",
            "message": (
                "Requests to this deployment have exceeded the call rate limit of the local host (1 request per 30 "
                f"seconds, set by LOCAL_RPM). Please retry after {second.headers['retry-after']} seconds."
            ),
        }
    }
    other = httpx.post(
        f"{running.url}/openai/deployments/e/chat/completions?api-version=2024-10-21", json=BODY
    )
    assert other.status_code == 200  # limits are per deployment


def test_tpm_counts_prompt_and_max_tokens(make_server) -> None:
    running = make_server(tpm=30, rate_window=30)
    body = {**BODY, "max_tokens": 10}  # 9 prompt tokens + 10
    first = httpx.post(f"{running.url}/v1/chat/completions", json=body)
    assert first.headers["x-ratelimit-remaining-tokens"] == "11"
    second = httpx.post(f"{running.url}/v1/chat/completions", json=body)
    assert second.status_code == 429
    assert second.headers["x-ratelimit-remaining-tokens"] == "11"
    assert second.json()["error"]["message"].startswith(
        "Requests to this deployment have exceeded the token rate limit of the local host (30 tokens per 30 seconds"
    )


def test_openai_client_retries_a_rate_limit(make_server) -> None:
    running = make_server(rpm=1, rate_window=0.5)
    client = openai.OpenAI(base_url=f"{running.url}/v1", api_key="k", max_retries=3)
    client.chat.completions.create(model="m", messages=HI)
    raw = client.chat.completions.with_raw_response.create(model="m", messages=HI)
    assert raw.retries_taken == 1
    assert raw.parse().choices[0].message.content == HELP
    assert running.requests == 3  # 1 + the 429 + the retry


def test_azure_core_client_retries_a_rate_limit(make_server) -> None:
    running = make_server(rpm=1, rate_window=0.5)
    client = ChatCompletionsClient(
        endpoint=f"{running.url}/models", credential=AzureKeyCredential("k"), model="m"
    )
    client.complete(messages=[UserMessage("Hello there")])
    reply = client.complete(messages=[UserMessage("Hello there")])  # 429 with retry-after: 1, then retried
    assert reply.choices[0].message.content == HELP
    assert running.requests == 3


def test_injected_500_is_retried_by_openai(make_server) -> None:
    running = make_server(fault_every=2, fault_status=500)
    client = openai.OpenAI(base_url=f"{running.url}/v1", api_key="k", max_retries=2)
    assert client.chat.completions.with_raw_response.create(model="m", messages=HI).retries_taken == 0
    raw = client.chat.completions.with_raw_response.create(model="m", messages=HI)
    assert raw.retries_taken == 1
    assert running.requests == 3
    strict = openai.OpenAI(base_url=f"{running.url}/v1", api_key="k", max_retries=0)
    with pytest.raises(openai.InternalServerError) as caught:
        strict.chat.completions.create(model="m", messages=HI)
    assert caught.value.status_code == 500
    assert caught.value.body == {
        "message": "The local host failed this request on purpose: LOCAL_FAULT_EVERY=2 fails every 2nd request. "
        "Retry the request.",
        "type": "server_error",
        "param": None,
        "code": "InternalServerError",
    }


def test_injected_503_is_retried_by_azure_core(make_server) -> None:
    running = make_server(fault_every=2, fault_status=503)
    client = ChatCompletionsClient(
        endpoint=f"{running.url}/models",
        credential=AzureKeyCredential("k"),
        model="m",
        retry_backoff_factor=0.01,
    )
    client.complete(messages=[UserMessage("Hello there")])
    assert client.complete(messages=[UserMessage("Hello there")]).choices[0].message.content == HELP
    assert running.requests == 3
    strict = ChatCompletionsClient(
        endpoint=f"{running.url}/models", credential=AzureKeyCredential("k"), model="m", retry_total=0
    )
    with pytest.raises(HttpResponseError) as caught:
        strict.complete(messages=[UserMessage("Hello there")])
    assert caught.value.status_code == 503
    assert caught.value.error.code == "ServiceUnavailable"


def test_injected_429_carries_both_retry_headers(make_server) -> None:
    running = make_server(fault_every=1, fault_status=429, fault_retry_after_ms=20)
    response = httpx.post(f"{running.url}/v1/chat/completions", json=BODY)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.headers["retry-after-ms"] == "20"
    client = openai.OpenAI(base_url=f"{running.url}/v1", api_key="k", max_retries=2)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="m", messages=HI)
    assert running.requests == 1 + 3  # the raw request, then the client's first try and two retries


def test_added_latency(make_server) -> None:
    running = make_server(latency_ms=120)
    started = time.monotonic()
    assert httpx.post(f"{running.url}/v1/chat/completions", json=BODY).status_code == 200
    assert time.monotonic() - started >= 0.12
