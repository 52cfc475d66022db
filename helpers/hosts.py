"""API_HOST -> a ready client and model name, for every host the notebooks run against.

``connect()`` reads ``API_HOST`` and that host's variables from the environment and the nearest
``.env`` (searched from the current directory upward; variables already set win). Every variable,
its ``.env.sample`` value and its default live in one table, :data:`SETTINGS`. Azure hosts are
keyless unless a key is set (Entra tokens from azure-identity). No key or token appears in a repr
or a message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .errors import SettingsError
from .limits import API_VERSION_DATE
from .tokens import DEFAULT_TOKEN_MODEL

if TYPE_CHECKING:  # the SDKs load when a host is built, not when helpers is imported
    import openai
    from azure.ai.inference import ChatCompletionsClient

SCOPE = "https://cognitiveservices.azure.com/.default"
#: The api-version of the classic Azure OpenAI path, and of azure's inference client on the v1 API.
CLASSIC_API_VERSION = "2024-10-21"


@dataclass(frozen=True)
class Setting:
    """A row of :data:`SETTINGS`: the hosts (space-separated) that read a variable, its name, its
    ``.env.sample`` value, and what unset means: SettingsError (``required``), the sample value
    (``default``) or None (``optional``)."""

    hosts: str
    name: str
    sample: str
    need: Literal["required", "default", "optional"] = "default"

    @property
    def sample_line(self) -> str:
        """This variable's line in ``.env.sample`` (where it is commented out)."""
        return f"{self.name}={self.sample}"


#: The one table of host variables, in .env.sample order.
SETTINGS: tuple[Setting, ...] = (
    Setting("local", "LOCAL_ENDPOINT", "http://127.0.0.1:8000", "optional"),
    Setting("local", "LOCAL_API_KEY", "YOUR-LOCAL-KEY", "optional"),
    Setting("local", "LOCAL_MODEL", "local-multimodal"),
    Setting("azure", "AZURE_OPENAI_ENDPOINT", "https://YOUR-RESOURCE.openai.azure.com", "required"),
    Setting("azure", "AZURE_OPENAI_DEPLOYMENT", "YOUR-CHAT-DEPLOYMENT", "required"),
    Setting("azure", "AZURE_OPENAI_API_VERSION", "v1"),
    Setting("azure", "AZURE_OPENAI_WHISPER_DEPLOYMENT", "whisper"),
    Setting("azure", "AZURE_OPENAI_TOKEN_MODEL", DEFAULT_TOKEN_MODEL),
    Setting("azure", "AZURE_OPENAI_API_KEY", "YOUR-AZURE-OPENAI-KEY", "optional"),
    Setting("azure foundry", "AZURE_TENANT_ID", "YOUR-TENANT-ID", "optional"),
    Setting("foundry", "AZURE_AI_ENDPOINT", "https://YOUR-RESOURCE.services.ai.azure.com/models", "required"),
    Setting("foundry", "AZURE_AI_MODEL", "YOUR-MODEL-DEPLOYMENT", "required"),
    Setting("foundry", "AZURE_AI_TOKEN_MODEL", DEFAULT_TOKEN_MODEL),
    Setting("foundry", "AZURE_AI_API_KEY", "YOUR-AZURE-AI-KEY", "optional"),
    Setting("github", "GITHUB_TOKEN", "YOUR-GITHUB-TOKEN", "required"),
    Setting("github", "GITHUB_MODEL", "openai/gpt-4o"),
    Setting("github", "GITHUB_ENDPOINT", "https://models.github.ai/inference"),
    Setting("openai", "OPENAI_API_KEY", "YOUR-OPENAI-KEY", "required"),
    Setting("openai", "OPENAI_MODEL", DEFAULT_TOKEN_MODEL),
    Setting("openai", "OPENAI_BASE_URL", "https://api.openai.com/v1"),
    Setting("ollama", "OLLAMA_ENDPOINT", "http://localhost:11434/v1"),
    Setting("ollama", "OLLAMA_MODEL", "llava"),
)
#: Hosts with an azure-ai-inference endpoint, and hosts with a Whisper (transcription) model.
INFERENCE_HOSTS = ("local", "azure", "foundry", "github")
AUDIO_HOSTS = ("local", "azure", "openai")


@dataclass(repr=False, eq=False)
class Host:
    """A ready connection to one host, as returned by :func:`connect`.

    ``name`` is the host kind, ``model`` the model or deployment to pass as ``model=``,
    ``token_model`` the model family for ``helpers.tokens.image_tokens``, ``endpoint`` the base
    URL. The properties ``client``, ``audio_model`` and ``inference`` raise SettingsError on a host
    without one; the other fields are for :func:`connect`.
    """

    name: str
    model: str
    token_model: str
    endpoint: str
    openai_client: openai.OpenAI | None = None
    whisper: str | None = None
    make_inference: Callable[[], ChatCompletionsClient] | None = None
    no_client: str = ""
    _inference: ChatCompletionsClient | None = None

    @property
    def client(self) -> openai.OpenAI:
        """An ``openai.OpenAI`` (or ``AzureOpenAI``) for chat completions, responses and audio."""
        if self.openai_client is None:
            raise SettingsError(self.no_client)
        return self.openai_client

    @property
    def audio_model(self) -> str:
        """The Whisper model or deployment to pass as ``model=`` to ``client.audio``."""
        if self.whisper is None:
            raise SettingsError(_lacks(self.name, "Whisper (audio transcription) model", AUDIO_HOSTS))
        return self.whisper

    @property
    def inference(self) -> ChatCompletionsClient:
        """An azure-ai-inference ``ChatCompletionsClient`` for this host, created on first use."""
        if self.make_inference is None:
            raise SettingsError(_lacks(self.name, "azure-ai-inference endpoint", INFERENCE_HOSTS))
        if self._inference is None:
            self._inference = self.make_inference()
        return self._inference

    def describe(self) -> str:
        """One line naming the host, the model and the endpoint (never a key; Azure resource names masked)."""
        return f"{self.name} host: model {self.model} at {self.shown_endpoint}"

    @property
    def shown_endpoint(self) -> str:
        """The endpoint as it may be printed: an Azure resource's name is replaced by ``***``."""
        if self.name in ("azure", "foundry"):
            return re.sub(r"^(https?://)[^./]+", r"\1***", self.endpoint)
        return self.endpoint

    __str__ = describe

    def __repr__(self) -> str:
        return f"Host(name={self.name!r}, model={self.model!r}, endpoint={self.shown_endpoint!r})"


def _lacks(host: str, what: str, hosts: tuple[str, ...]) -> str:
    others = ", ".join(hosts)
    return f"The {host} host has no {what}; hosts with one: {others}. Choose one with API_HOST in .env."


def _auth(key: str | None, v: dict[str, Any]) -> tuple[str | Callable[[], str], dict[str, Any]]:
    """(openai ``api_key``, ChatCompletionsClient auth kwargs) for ``key``, or keyless Entra if None."""
    from azure.core.credentials import AzureKeyCredential, TokenCredential
    from azure.identity import AzureDeveloperCliCredential, DefaultAzureCredential, get_bearer_token_provider

    if key:
        return key, {"credential": AzureKeyCredential(key)}
    tenant = v["AZURE_TENANT_ID"]
    cred: TokenCredential = (
        AzureDeveloperCliCredential(tenant_id=tenant) if tenant else DefaultAzureCredential()
    )
    return get_bearer_token_provider(cred, SCOPE), {"credential": cred, "credential_scopes": [SCOPE]}


def _lazy(endpoint: str, model: str, **auth: Any) -> Callable[[], ChatCompletionsClient]:
    def make() -> ChatCompletionsClient:
        from azure.ai.inference import ChatCompletionsClient

        return ChatCompletionsClient(endpoint=endpoint, model=model, **auth)

    return make


def _key_credential(key: str) -> Any:
    from azure.core.credentials import AzureKeyCredential

    return AzureKeyCredential(key)


def _local(v: dict[str, Any]) -> Host:
    """The local host: LOCAL_ENDPOINT (SettingsError when nothing answers there), else the one this
    process runs (:func:`helpers.local.server.ensure_started`, restarted when it has stopped). The key
    is LOCAL_API_KEY or the first line of the file LOCAL_API_KEY_FILE names (as ``serve`` reads it)."""
    import openai

    key = v["LOCAL_API_KEY"]
    if os.environ.get("LOCAL_API_KEY_FILE", "").strip():
        from helpers.local.settings import api_key_from_env

        key = api_key_from_env()  # SettingsError when both are set or the file is unusable
    if v["LOCAL_ENDPOINT"]:
        from helpers.local.server import check_endpoint  # GET /health, 1 s at most

        root = v["LOCAL_ENDPOINT"].rstrip("/").removesuffix("/v1")
        check_endpoint(root)
    else:
        from helpers.local.server import ensure_started  # starts the local host in this process

        root = ensure_started(api_key=key)
    key, model = key or "local", v["LOCAL_MODEL"]
    client = openai.OpenAI(base_url=f"{root}/v1", api_key=key)
    make = _lazy(f"{root}/models", model, credential=_key_credential(key))
    return Host("local", model, DEFAULT_TOKEN_MODEL, root, client, model, make)


def _azure(v: dict[str, Any]) -> Host:
    import openai

    endpoint, deployment = v["AZURE_OPENAI_ENDPOINT"].rstrip("/"), v["AZURE_OPENAI_DEPLOYMENT"]
    version = v["AZURE_OPENAI_API_VERSION"]
    if version != "v1" and not re.fullmatch(API_VERSION_DATE, version):
        raise SettingsError(
            f"The azure host needs AZURE_OPENAI_API_VERSION to be v1 (the v1 API) or a date like "
            f"{CLASSIC_API_VERSION} (the classic deployment path), not {version!r}."
        )
    api_key, auth = _auth(v["AZURE_OPENAI_API_KEY"], v)
    client: openai.OpenAI
    if version == "v1":
        client = openai.OpenAI(base_url=f"{endpoint}/openai/v1/", api_key=api_key)
        version = CLASSIC_API_VERSION  # for the inference client, which always sends a date
    else:  # no azure_deployment=: AzureOpenAI puts /deployments/{model=} in the path, so audio works too
        cred = {"api_key": api_key} if isinstance(api_key, str) else {"azure_ad_token_provider": api_key}
        client = openai.AzureOpenAI(azure_endpoint=endpoint, api_version=version, **cred)
    make = _lazy(f"{endpoint}/openai/deployments/{deployment}", deployment, api_version=version, **auth)
    whisper = v["AZURE_OPENAI_WHISPER_DEPLOYMENT"]
    return Host("azure", deployment, v["AZURE_OPENAI_TOKEN_MODEL"], endpoint, client, whisper, make)


def _foundry(v: dict[str, Any]) -> Host:
    import openai

    endpoint, model = v["AZURE_AI_ENDPOINT"].rstrip("/"), v["AZURE_AI_MODEL"]
    api_key, auth = _auth(v["AZURE_AI_API_KEY"], v)
    client, why = None, ""
    if endpoint.endswith("/models"):  # https://NAME.services.ai.azure.com/models -> .../openai/v1/
        client = openai.OpenAI(base_url=f"{endpoint.removesuffix('/models')}/openai/v1/", api_key=api_key)
    else:
        why = (
            "The foundry host has no openai client: AZURE_AI_ENDPOINT does not end in /models, so the "
            "OpenAI-compatible path of its resource cannot be derived. Use host.inference instead."
        )
    make = _lazy(endpoint, model, **auth)
    return Host("foundry", model, v["AZURE_AI_TOKEN_MODEL"], endpoint, client, None, make, why)


def _github(v: dict[str, Any]) -> Host:
    import openai

    endpoint, model, token = v["GITHUB_ENDPOINT"].rstrip("/"), v["GITHUB_MODEL"], v["GITHUB_TOKEN"]
    client = openai.OpenAI(base_url=endpoint, api_key=token)
    make = _lazy(endpoint, model, credential=_key_credential(token))
    return Host("github", model, model.rsplit("/", 1)[-1], endpoint, client, None, make)  # openai/gpt-4o


def _openai(v: dict[str, Any]) -> Host:
    import openai

    endpoint, model = v["OPENAI_BASE_URL"].rstrip("/"), v["OPENAI_MODEL"]
    client = openai.OpenAI(base_url=endpoint, api_key=v["OPENAI_API_KEY"])
    return Host("openai", model, model, endpoint, client, "whisper-1")


def _ollama(v: dict[str, Any]) -> Host:
    import openai

    endpoint, model = v["OLLAMA_ENDPOINT"].rstrip("/"), v["OLLAMA_MODEL"]
    return Host(
        "ollama", model, DEFAULT_TOKEN_MODEL, endpoint, openai.OpenAI(base_url=endpoint, api_key="ollama")
    )


#: API_HOST -> the function that builds its Host from its variables.
HOSTS: dict[str, Callable[[dict[str, Any]], Host]] = {
    "local": _local,
    "azure": _azure,
    "foundry": _foundry,
    "github": _github,
    "openai": _openai,
    "ollama": _ollama,
}


def _read(setting: Setting) -> tuple[str | None, str | None]:
    """The value of ``setting`` and what is wrong with it (None when nothing is): ``not set`` when it
    is required and unset, ``the placeholder of .env.sample`` when it still has a YOUR-... sample value."""
    value = os.environ.get(setting.name, "").strip() or None
    if value is not None and value == setting.sample and "YOUR-" in value:
        return value, "the placeholder of .env.sample"
    if value is None and setting.need == "required":
        return None, "not set"
    return (setting.sample if value is None and setting.need == "default" else value), None


def _missing(host: str, problems: list[tuple[Setting, str]], dotenv_path: str) -> str:
    """One message naming every missing or placeholder variable of ``host``, with the lines to put in .env."""
    named = [f"{setting.name} ({problem})" for setting, problem in problems]
    needs = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    where = dotenv_path or ".env in the repo root (cp .env.sample .env)"
    lines = "\n".join(f"    {setting.sample_line}" for setting, _ in problems)
    these, values = ("this line", "value") if len(problems) == 1 else ("these lines", "values")
    return (
        f"The {host} host needs {needs}.\n"
        f"Put {these} of .env.sample in {where}, with your own {values}:\n{lines}"
    )


def connect(host: str | None = None) -> Host:
    """Return a ready :class:`Host` for ``host`` (default: API_HOST from the environment, else local).

    Loads the nearest ``.env`` first, from the current directory upward; variables already in the
    environment win. Raises SettingsError for an unknown host, or one SettingsError naming every
    missing or placeholder variable of the host with the ``.env.sample`` lines to copy.
    """
    from dotenv import find_dotenv, load_dotenv

    if dotenv_path := find_dotenv(usecwd=True):
        load_dotenv(dotenv_path, override=False)
    name = (host or os.environ.get("API_HOST") or "local").strip().lower()
    if name not in HOSTS:
        raise SettingsError(
            f"Unknown API_HOST {name!r}. Valid hosts: {', '.join(HOSTS)}. "
            "Set API_HOST in .env (see .env.sample) or pass connect(host=...)."
        )
    values: dict[str, str | None] = {}
    problems: list[tuple[Setting, str]] = []
    for setting in SETTINGS:
        if name in setting.hosts.split():
            values[setting.name], problem = _read(setting)
            if problem:
                problems.append((setting, problem))
    if problems:
        raise SettingsError(_missing(name, problems, dotenv_path))
    return HOSTS[name](values)


__all__ = ["AUDIO_HOSTS", "HOSTS", "INFERENCE_HOSTS", "SETTINGS", "Host", "Setting", "connect"]
