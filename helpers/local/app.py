"""FastAPI routes of the local host: every API surface, one core.

The routes are data: each row of :data:`ROUTES` is one route (method, path, surface, handler kind),
registered by one loop in :func:`create_app`; :data:`HANDLERS` says how each kind calls the core,
passing the path parameters (deployment, model). :class:`Core` authorises, checks the route
(api-version), injects faults and latency, parses the body into the internal form
(:mod:`.protocol`), applies rate limits, asks the model (:mod:`.model`) and writes the answer in
the route's shape (:mod:`.render`). Every failure becomes an error response through the one
helper :func:`.errors.error_response`; an unexpected exception is logged with its traceback on
the server and answered with a plain 500, and the server keeps serving.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any, Literal

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response, StreamingResponse

from ..errors import InputError
from ..tokens import audio_tokens
from . import errors, files, protocol, render, uploads
from .bodylimit import BodyLimit, surface_of
from .engines import Missing
from .errors import ApiError, Surface, error_response
from .model import Answer, answer_chat, english_transcript
from .ratelimit import FaultInjector, RateLimiter
from .settings import MODEL_ID, Settings
from .speech import transcribe

log = logging.getLogger("helpers.local")


class Core:
    """The one core every route calls."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.limiter = RateLimiter(settings)
        self.faults = FaultInjector(settings)
        self._key = settings.api_key.encode() if settings.api_key else None
        self.requests = 0  # API requests seen (tests count client retries with it)
        self._count_lock = threading.Lock()

    # --- checks every API request goes through -----------------------------------------------

    def authorize(self, request: Request) -> None:
        """Accept ``api-key`` and/or ``Authorization: Bearer``; compare in constant time."""
        if self._key is None:
            return
        presented = []
        if "api-key" in request.headers:
            presented.append(request.headers["api-key"].strip())
        auth = request.headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            presented.append(auth[7:].strip())
        ok = False
        for value in presented:  # no early exit: the time taken does not depend on which one matched
            ok |= hmac.compare_digest(value.encode(), self._key)
        if not ok:
            raise errors.unauthorized()

    async def gate(self, request: Request, surface: Surface) -> None:
        """Auth, api-version (Azure classic), injected faults and latency."""
        with self._count_lock:
            self.requests += 1
        self.authorize(request)
        if surface is Surface.AZURE:
            protocol.check_api_version(request.query_params.get("api-version"))
        self.faults.check(request.headers)
        if self.settings.latency_ms:
            await asyncio.sleep(self.settings.latency_ms / 1000)

    async def guarded(self, surface: Surface, work: Callable[[str], Awaitable[Response]]) -> Response:
        """Run ``work(request_id)`` and turn every failure into an error response carrying the request id.

        The one place failures become answers: an ApiError is written as it is; an InputError (a file
        that a decoder or engine refused, with a message naming it and the fix) is a 400; anything else
        is a bug, logged with its traceback and answered with a plain 500.
        """
        request_id = protocol.new_request_id()
        try:
            return await work(request_id)
        except ApiError as error:
            return error_response(error, surface, render.request_headers(surface, request_id))
        except InputError as error:
            return error_response(
                errors.bad_input(error), surface, render.request_headers(surface, request_id)
            )
        except Exception:
            log.exception("The local host failed to answer a request")
            return error_response(
                errors.internal_error(), surface, render.request_headers(surface, request_id)
            )

    # --- the APIs ----------------------------------------------------------------------------

    async def chat(
        self,
        request: Request,
        surface: Surface,
        api: str,
        deployment: str | None = None,
        single_model: bool = False,
    ) -> Response:
        """Chat Completions or Responses, on any surface.

        A single-model endpoint (a serverless or managed-compute Azure AI Inference deployment) needs no
        ``model``: it answers as the deployment its ``azureml-model-deployment`` header names, else as
        the local model.
        """

        async def work(request_id: str) -> Response:
            await self.gate(request, surface)
            body = await request.body()
            header_model = request.headers.get("x-ms-model-mesh-model-name")
            if single_model:
                header_model = request.headers.get("azureml-model-deployment") or header_model or MODEL_ID
            return await run_in_threadpool(
                self._chat_sync, body, surface, api, deployment, header_model, request_id
            )

        return await self.guarded(surface, work)

    def _chat_sync(
        self,
        body: bytes,
        surface: Surface,
        api: str,
        deployment: str | None,
        header_model: str | None,
        request_id: str,
    ) -> Response:
        payload = protocol.load_json(body)
        parsed, answer, limits = self.answer(payload, surface, api, deployment, header_model, request_id)
        headers = {**render.surface_headers(surface, parsed.model, request_id), **limits}
        if parsed.stream:
            events = list(
                render.responses_stream(parsed, answer)
                if api == "responses"
                else render.chat_stream(parsed, answer)
            )
            delay = self.settings.stream_delay_ms / 1000
            return StreamingResponse(_replay(events, delay), media_type="text/event-stream", headers=headers)
        body_out = (
            render.response_object(parsed, answer)
            if api == "responses"
            else render.chat_completion(parsed, answer)
        )
        return Response(render.dumps(body_out), media_type="application/json", headers=headers)

    def answer(
        self,
        payload: dict[str, Any],
        surface: Surface,
        api: str,
        deployment: str | None = None,
        header_model: str | None = None,
        request_id: str = "",
        limit: bool = True,
    ) -> tuple[protocol.ChatRequest, Answer, dict[str, str]]:
        """A chat or Responses body -> (the parsed request, the model's answer, rate-limit headers): what a
        single request and a batch line (:mod:`.batches`, ``limit=False``: batches have their own quota) get."""
        if api == "responses":
            parsed = protocol.parse_responses(payload, surface, self.settings)
        else:
            parsed = protocol.parse_chat(payload, surface, self.settings, deployment, header_model)
        parsed = replace(parsed, request_id=request_id or parsed.request_id)
        tokens = parsed.prompt_tokens + (parsed.max_tokens or 0)
        return parsed, answer_chat(parsed), self.limiter.admit(parsed.model, tokens) if limit else {}

    async def storage(self, request: Request, surface: Surface) -> Response:
        """The Files and Batches APIs (:mod:`.files`, :mod:`.batches`), kept in LOCAL_DATA_DIR."""

        async def work(request_id: str) -> Response:
            await self.gate(request, surface)
            return await files.handle(self, request, surface, request_id)

        return await self.guarded(surface, work)

    async def audio(
        self, request: Request, surface: Surface, task: str, deployment: str | None = None
    ) -> Response:
        """/audio/transcriptions and /audio/translations (multipart upload)."""

        async def work(request_id: str) -> Response:
            await self.gate(request, surface)
            form = await uploads.read_form(request)
            return await run_in_threadpool(self._audio_sync, form, surface, task, deployment, request_id)

        return await self.guarded(surface, work)

    def _audio_sync(
        self,
        form: uploads.Form,
        surface: Surface,
        task: str,
        deployment: str | None,
        request_id: str,
    ) -> Response:
        parsed = uploads.parse_audio_upload(task, surface, self.settings, form, deployment)
        limits = self.limiter.admit(parsed.model, audio_tokens(parsed.seconds))
        try:
            if task == "translate":
                transcript = english_transcript(parsed.data, parsed.prompt, parsed.language, parsed.words)
            else:
                transcript = transcribe(parsed.data, task, parsed.prompt, parsed.language, parsed.words)
        except Missing as exc:  # the endpoint's whole job is speech: say what is missing, as a 503
            raise ApiError(503, "ServiceUnavailable", str(exc), type="server_error") from None
        text, media_type = render.transcription(parsed, transcript)
        headers = {**render.surface_headers(surface, parsed.model, request_id), **limits}
        return Response(text, media_type=media_type, headers=headers)

    async def models(self, request: Request, surface: Surface, model: str | None = None) -> Response:
        """GET /v1/models, /v1/models/{id} and /models/info."""

        async def work(request_id: str) -> Response:
            self.authorize(request)
            if surface is Surface.INFERENCE:
                return JSONResponse(render.model_info())
            listing = render.models_list(self.settings.deployments)
            if model is None:
                return JSONResponse(listing)
            known = [card["id"] for card in listing["data"]]
            if self.settings.deployments and model not in known:
                raise errors.model_not_found(model, surface)
            return JSONResponse(render.model_card(model))

        return await self.guarded(surface, work)


async def _replay(events: list[bytes], delay: float = 0.0) -> AsyncIterator[bytes]:
    """Yield the events one by one, ``delay`` seconds apart (LOCAL_STREAM_DELAY_MS, so a reader sees the
    reply arrive), letting the loop run in between: a client that hangs up mid-stream is noticed at
    once (otherwise every remaining write fails and asyncio logs 'socket.send() raised')."""
    for index, event in enumerate(events):
        if index and delay:
            await asyncio.sleep(delay)
        yield event
        await asyncio.sleep(0)


Kind = Literal[
    "chat", "single_chat", "responses", "transcribe", "translate", "models", "model", "info", "storage"
]

# Every API route, one row each: (HTTP method, path, surface, handler kind). A new surface is new rows.
ROUTES: tuple[tuple[str, str, Surface, Kind], ...] = (
    # OpenAI
    ("POST", "/v1/chat/completions", Surface.OPENAI, "chat"),
    ("POST", "/v1/responses", Surface.OPENAI, "responses"),
    ("POST", "/v1/audio/transcriptions", Surface.OPENAI, "transcribe"),
    ("POST", "/v1/audio/translations", Surface.OPENAI, "translate"),
    ("GET", "/v1/models", Surface.OPENAI, "models"),
    ("GET", "/v1/models/{model}", Surface.OPENAI, "model"),
    # Azure OpenAI, classic deployments path (api-version required)
    ("POST", "/openai/deployments/{deployment}/chat/completions", Surface.AZURE, "chat"),
    ("POST", "/openai/deployments/{deployment}/audio/transcriptions", Surface.AZURE, "transcribe"),
    ("POST", "/openai/deployments/{deployment}/audio/translations", Surface.AZURE, "translate"),
    # Azure OpenAI v1 path (deployment in the body)
    ("POST", "/openai/v1/chat/completions", Surface.AZURE_V1, "chat"),
    ("POST", "/openai/v1/responses", Surface.AZURE_V1, "responses"),
    ("POST", "/openai/v1/audio/transcriptions", Surface.AZURE_V1, "transcribe"),
    ("POST", "/openai/v1/audio/translations", Surface.AZURE_V1, "translate"),
    ("GET", "/openai/v1/models", Surface.AZURE_V1, "models"),
    # Azure AI Inference: Foundry Models (the model in the body), also under /api/models as the Foundry
    # how-to writes it, and a single-model endpoint at the root (no model needed)
    ("POST", "/models/chat/completions", Surface.INFERENCE, "chat"),
    ("GET", "/models/info", Surface.INFERENCE, "info"),
    ("POST", "/api/models/chat/completions", Surface.INFERENCE, "chat"),
    ("GET", "/api/models/info", Surface.INFERENCE, "info"),
    ("POST", "/chat/completions", Surface.INFERENCE, "single_chat"),
    ("GET", "/info", Surface.INFERENCE, "info"),
    # Files and Batches: the rows of files.ROUTES under /v1, /openai (api-version required) and /openai/v1
    *((method, prefix + path, s, "storage") for prefix, s in files.PREFIXES for method, path in files.ROUTES),
)

Handler = Callable[[Core, Request, Surface], Awaitable[Response]]

# How each kind calls the core; the path parameters (deployment, model) come from the matched path.
HANDLERS: dict[Kind, Handler] = {
    "chat": lambda core, r, s: core.chat(r, s, "chat", r.path_params.get("deployment")),
    "single_chat": lambda core, r, s: core.chat(r, s, "chat", single_model=True),
    "responses": lambda core, r, s: core.chat(r, s, "responses", r.path_params.get("deployment")),
    "transcribe": lambda core, r, s: core.audio(r, s, "transcribe", r.path_params.get("deployment")),
    "translate": lambda core, r, s: core.audio(r, s, "translate", r.path_params.get("deployment")),
    "models": lambda core, r, s: core.models(r, s),
    "model": lambda core, r, s: core.models(r, s, r.path_params["model"]),
    "info": lambda core, r, s: core.models(r, s),
    "storage": lambda core, r, s: core.storage(r, s),
}


def _endpoint(core: Core, surface: Surface, kind: Kind) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint of one row: the core, called for its surface and kind."""
    handler = HANDLERS[kind]

    async def endpoint(request: Request) -> Response:
        return await handler(core, request, surface)

    return endpoint


def create_app(settings: Settings) -> FastAPI:
    """The FastAPI app of the local host with ``settings``."""
    core = Core(settings)
    app = FastAPI(title="Local host", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.core = core
    app.add_middleware(BodyLimit, max_mb=settings.max_body_mb)

    @app.exception_handler(StarletteHTTPException)
    async def _routing_error(request: Request, exc: StarletteHTTPException) -> Response:
        surface = surface_of(request.url.path)
        if surface is Surface.OPENAI:
            error = errors.invalid_url(request.method, request.url.path, exc.status_code)
        else:
            error = (
                errors.resource_not_found()
                if exc.status_code == 404
                else ApiError(exc.status_code, str(exc.status_code), "Method not allowed", type=None)
            )
        return error_response(error, surface)

    @app.get("/health", include_in_schema=False)
    async def health() -> Response:
        return JSONResponse({"status": "ok", "model": MODEL_ID})

    @app.get("/", include_in_schema=False)
    async def index(request: Request) -> Response:
        """A page for people: how to point each SDK here and every route, read from the app. No key is
        needed and none is shown (the banner of ``serve`` only says whether one is required)."""
        from html import escape

        from .server import _banner

        lines = _banner(settings, str(request.base_url).rstrip("/"), page=True)
        rows = "".join(
            f"<tr><td>{method}</td><td><code>{escape(route.path)}</code></td></tr>"
            for route in app.routes
            for method in sorted(getattr(route, "methods", None) or ())
            if method != "HEAD"
        )
        page = (
            f"<!doctype html><html><head><meta charset=utf-8><title>Local host: {MODEL_ID}</title></head>"
            f"<body><pre>{escape(lines)}</pre><h2>Routes</h2><table>{rows}</table></body></html>"
        )
        return Response(page, media_type="text/html")

    for method, path, surface, kind in ROUTES:
        app.add_api_route(
            path, _endpoint(core, surface, kind), methods=[method], name=f"{surface.value}_{kind}"
        )

    return app
