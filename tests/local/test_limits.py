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
from azure.core.pipeline.transport import RequestsTransport

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
    assert faults.count == 4


def test_fault_injector_lets_retries_through() -> None:
    faults = FaultInjector(Settings(fault_every=2, fault_status=500))
    faults.check({"x-stainless-retry-count": "0"})  # openai: new request 1
    with pytest.raises(ApiError):
        faults.check({"x-stainless-retry-count": "0"})  # new request 2 fails
    faults.check({"x-stainless-retry-count": "1"})  # its retry passes, and is not counted
    faults.check({"x-stainless-retry-count": "2"})
    assert faults.count == 2
    faults.check({"x-ms-client-request-id": "call-a"})  # azure-core: new request 3
    with pytest.raises(ApiError):
        faults.check({"x-ms-client-request-id": "call-b"})  # new request 4 fails
    faults.check({"x-ms-client-request-id": "call-b"})  # every attempt of one call has its id
    faults.check({"x-ms-client-request-id": "call-b"})
    faults.check({"x-ms-client-request-id": "call-a"})
    assert faults.count == 4
    # with both headers, openai's decides: attempt 0 is new whatever its request id
    faults.check({"x-stainless-retry-count": "0", "x-ms-client-request-id": "call-a"})
    assert faults.count == 5


def test_fault_injector_remembers_the_last_ids_only() -> None:
    faults = FaultInjector(Settings(fault_every=100))
    faults.MEMORY = 2
    for request_id in ("a", "b", "a", "c"):  # "a" seen again moves to the newest end; "b" is forgotten
        faults.check({"x-ms-client-request-id": request_id})
    assert faults.count == 3
    faults.check({"x-ms-client-request-id": "b"})
    assert faults.count == 4
    faults.check({"x-ms-client-request-id": "c"})
    assert faults.count == 4


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


def test_injected_500_is_retried_by_openai(make_server, monkeypatch) -> None:
    monkeypatch.setattr("openai._base_client.INITIAL_RETRY_DELAY", 0.0)  # no backoff sleep before a retry
    running = make_server(fault_every=2, fault_status=500)
    client = openai.OpenAI(base_url=f"{running.url}/v1", api_key="k", max_retries=2)
    assert client.chat.completions.with_raw_response.create(model="m", messages=HI).retries_taken == 0
    raw = client.chat.completions.with_raw_response.create(model="m", messages=HI)
    assert raw.retries_taken == 1
    assert running.requests == 3
    strict = openai.OpenAI(base_url=f"{running.url}/v1", api_key="k", max_retries=0)
    # the 3rd new request passes, the 4th fails and this client does not retry
    assert strict.chat.completions.create(model="m", messages=HI).choices[0].message.content == HELP
    with pytest.raises(openai.InternalServerError) as caught:
        strict.chat.completions.create(model="m", messages=HI)
    assert running.requests == 5
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
    # the 3rd new request passes, the 4th fails and this client does not retry
    assert strict.complete(messages=[UserMessage("Hello there")]).choices[0].message.content == HELP
    with pytest.raises(HttpResponseError) as caught:
        strict.complete(messages=[UserMessage("Hello there")])
    assert running.requests == 5
    assert caught.value.status_code == 503
    assert caught.value.error.code == "ServiceUnavailable"


def test_injected_429_carries_both_retry_headers(make_server) -> None:
    running = make_server(fault_every=1, fault_status=429, fault_retry_after_ms=20)
    response = httpx.post(f"{running.url}/v1/chat/completions", json=BODY)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.headers["retry-after-ms"] == "20"
    client = openai.OpenAI(base_url=f"{running.url}/v1", api_key="k", max_retries=2)
    raw = client.chat.completions.with_raw_response.create(model="m", messages=HI)
    assert raw.retries_taken == 1  # every new request fails, its retry passes
    assert running.requests == 1 + 2  # the raw request, then the client's first try and one retry
    strict = openai.OpenAI(base_url=f"{running.url}/v1", api_key="k", max_retries=0)
    with pytest.raises(openai.RateLimitError):
        strict.chat.completions.create(model="m", messages=HI)
    assert running.requests == 4


@pytest.mark.parametrize("status", [429, 500])
def test_openai_default_retries_recover_every_injected_fault(make_server, monkeypatch, status) -> None:
    monkeypatch.setattr("openai._base_client.INITIAL_RETRY_DELAY", 0.0)  # a 500 has no retry-after
    running = make_server(fault_every=3, fault_status=status, fault_retry_after_ms=1)
    client = openai.OpenAI(base_url=f"{running.url}/v1", api_key="k")
    assert client.max_retries == 2
    retries = []
    for _ in range(30):
        raw = client.chat.completions.with_raw_response.create(model="m", messages=HI)
        assert raw.parse().choices[0].message.content == HELP
        retries.append(raw.retries_taken)
    assert retries == [0, 0, 1] * 10
    assert running.requests == 40  # 30 first attempts and 10 retries
    assert running.app.state.core.faults.count == 30


class NoSleepTransport(RequestsTransport):
    """azure-core's default transport, recording the waits its retry policy asks for instead of sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def sleep(self, duration: float) -> None:
        self.waits.append(duration)


@pytest.mark.parametrize(("status", "waits"), [(429, [1.0] * 10), (500, [])])
def test_azure_core_default_retries_recover_every_injected_fault(make_server, status, waits) -> None:
    running = make_server(fault_every=3, fault_status=status, fault_retry_after_ms=1)
    transport = NoSleepTransport()
    client = ChatCompletionsClient(
        endpoint=f"{running.url}/models", credential=AzureKeyCredential("k"), model="m", transport=transport
    )
    attempts: list[int] = []  # the hook runs inside the retry loop: once per attempt
    for _ in range(30):
        reply = client.complete(
            messages=[UserMessage("Hello there")],
            raw_response_hook=lambda response: attempts.append(response.http_response.status_code),
        )
        assert reply.choices[0].message.content == HELP
    assert attempts == [200, 200, status, 200] * 10
    assert running.requests == 40
    assert running.app.state.core.faults.count == 30
    # azure-core reads retry-after (whole seconds) before retry-after-ms; its first retry of a 500 is at once
    assert transport.waits == waits


def test_raw_http_requests_are_all_new(make_server) -> None:
    running = make_server(fault_every=3, fault_status=500)
    statuses = [httpx.post(f"{running.url}/v1/chat/completions", json=BODY).status_code for _ in range(30)]
    assert statuses == [200, 200, 500] * 10
    same_call = {"x-ms-client-request-id": "one-call"}  # new 31st, then its retries
    statuses = [
        httpx.post(f"{running.url}/v1/chat/completions", json=BODY, headers=same_call).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 200]
    assert httpx.post(f"{running.url}/v1/chat/completions", json=BODY).status_code == 200  # new 32nd
    assert httpx.post(f"{running.url}/v1/chat/completions", json=BODY).status_code == 500  # new 33rd
    assert running.requests == 35


def test_added_latency(make_server) -> None:
    running = make_server(latency_ms=120)
    started = time.monotonic()
    assert httpx.post(f"{running.url}/v1/chat/completions", json=BODY).status_code == 200
    assert time.monotonic() - started >= 0.12
