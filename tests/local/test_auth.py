"""Auth: api-key and/or Bearer, Azure's 401 shape, every SDK's way of sending a key or a token."""

from __future__ import annotations

import httpx
import openai
import pytest
from azure.ai.inference import ChatCompletionsClient
from azure.ai.inference.models import UserMessage
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ClientAuthenticationError

from helpers.local.model import HELP

from .conftest import API_VERSION, KEY, StaticToken

HI = [{"role": "user", "content": "Hello there"}]
DENIED = {
    "error": {
        "code": "401",
        "message": (
            "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an "
            "active subscription and use a correct regional API endpoint for your resource."
        ),
    }
}
BODY = {"model": "m", "messages": HI}


@pytest.mark.parametrize(
    "path",
    [
        "/v1/chat/completions",
        f"/openai/deployments/d/chat/completions?api-version={API_VERSION}",
        "/openai/v1/chat/completions",
        "/models/chat/completions",
    ],
)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"api-key": "wrong"},
        {"Authorization": "Bearer wrong"},
        {"Authorization": KEY},  # not a Bearer token
        {"api-key": ""},
    ],
)
def test_missing_or_wrong_key_is_azure_401(keyed, path: str, headers: dict[str, str]) -> None:
    response = httpx.post(f"{keyed.url}{path}", json=BODY, headers=headers)
    assert (response.status_code, response.json()) == (401, DENIED)
    assert KEY not in response.text


def test_get_routes_need_the_key_too(keyed) -> None:
    for path in ("/v1/models", "/models/info"):
        assert httpx.get(f"{keyed.url}{path}").status_code == 401
        assert httpx.get(f"{keyed.url}{path}", headers={"api-key": KEY}).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"api-key": KEY},
        {"Authorization": f"Bearer {KEY}"},
        {"authorization": f"bearer {KEY}"},
        {"api-key": KEY, "Authorization": f"Bearer {KEY}"},  # what azure-ai-inference sends
        {"api-key": "wrong", "Authorization": f"Bearer {KEY}"},
    ],
)
def test_right_key_in_either_header(keyed, headers: dict[str, str]) -> None:
    response = httpx.post(f"{keyed.url}/v1/chat/completions", json=BODY, headers=headers)
    assert response.status_code == 200


def test_openai_sdk_key(keyed) -> None:
    good = openai.OpenAI(base_url=f"{keyed.url}/v1", api_key=KEY, max_retries=0)
    assert good.chat.completions.create(model="m", messages=HI).choices[0].message.content == HELP
    bad = openai.OpenAI(base_url=f"{keyed.url}/v1", api_key="nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        bad.chat.completions.create(model="m", messages=HI)
    assert caught.value.status_code == 401
    assert caught.value.code == "401"


def test_azure_openai_key_and_token_provider(keyed) -> None:
    by_key = openai.AzureOpenAI(azure_endpoint=keyed.url, api_key=KEY, api_version=API_VERSION, max_retries=0)
    assert by_key.chat.completions.create(model="d", messages=HI).choices[0].message.content == HELP
    calls = []

    def provider() -> str:
        calls.append(1)
        return KEY

    by_token = openai.AzureOpenAI(
        azure_endpoint=keyed.url, azure_ad_token_provider=provider, api_version=API_VERSION, max_retries=0
    )
    raw = by_token.chat.completions.with_raw_response.create(model="d", messages=HI)
    assert raw.http_request.headers["authorization"] == f"Bearer {KEY}"
    assert "api-key" not in raw.http_request.headers
    assert raw.parse().choices[0].message.content == HELP
    assert calls
    wrong = openai.AzureOpenAI(
        azure_endpoint=keyed.url,
        azure_ad_token_provider=lambda: "expired",
        api_version=API_VERSION,
        max_retries=0,
    )
    with pytest.raises(openai.AuthenticationError):
        wrong.chat.completions.create(model="d", messages=HI)


def test_inference_key_and_token_credential(keyed) -> None:
    by_key = ChatCompletionsClient(
        endpoint=f"{keyed.url}/models", credential=AzureKeyCredential(KEY), model="m"
    )
    assert by_key.complete(messages=[UserMessage("Hello there")]).choices[0].message.content == HELP
    token = StaticToken(KEY)
    by_token = ChatCompletionsClient(
        endpoint=f"{keyed.url}/models",
        credential=token,
        model="m",
        credential_scopes=["https://cognitiveservices.azure.com/.default"],
    )
    # azure-core refuses Bearer tokens over plain http unless told this once per call.
    reply = by_token.complete(messages=[UserMessage("Hello there")], enforce_https=False)
    assert reply.choices[0].message.content == HELP
    assert token.scopes[0] == ("https://cognitiveservices.azure.com/.default",)
    assert by_token.get_model_info(enforce_https=False).model_name == "local-multimodal"
    wrong = ChatCompletionsClient(
        endpoint=f"{keyed.url}/models", credential=AzureKeyCredential("nope"), model="m", retry_total=0
    )
    with pytest.raises(ClientAuthenticationError) as caught:
        wrong.complete(messages=[UserMessage("Hello there")])
    assert caught.value.status_code == 401
    assert caught.value.error.code == "401"


def test_no_key_configured_accepts_anything(server) -> None:
    for headers in ({}, {"api-key": "whatever"}, {"Authorization": "Bearer x"}):
        assert httpx.post(f"{server.url}/v1/chat/completions", json=BODY, headers=headers).status_code == 200
