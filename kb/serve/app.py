"""The HTTP service: a FastAPI app over a `ReleaseHolder`.

FastAPI (on Starlette) with uvicorn: async request handling on uvloop/httptools, pydantic
request models (the same library as the standards' own models, STYLE habit 14), routers as the
seam other modules plug into, and a test client-free path to drive it over real HTTP.

Routes: POST /match (bearer token), GET /release, /healthz, /metrics, GET /cds-services and
POST /cds-services/{id} (CDS client JWT). Further routers (POST /fhir/match) are supplied by
`RouterFactory`s listed in `kb.serve.routers`; each gets the `ServeContext`, whose `holder`
always gives the current release.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from kb.matching.matcher import Patient, PatientError
from kb.serve import cds, metrics
from kb.serve.auth import AuthError, CdsAuth, CdsCaller, TokenCheck
from kb.serve.config import ServeConfig
from kb.serve.context import RequestError, RouterFactory, ServeContext
from kb.serve.fhir_client import FhirServerError, fetch
from kb.serve.fhir_patient import FhirError, patient_from_fhir
from kb.serve.guard import Guard
from kb.serve.models import CdsRequest, CdsResponse, OrderContext, PatientViewContext
from kb.serve.releases import LoadedRelease, NoReleaseError, ReleaseHolder, Watcher
from kb.serve.sources import ReleaseSource, source_for

log = logging.getLogger("kb.serve")


def release_sources(config: ServeConfig) -> tuple[list[ReleaseSource], list[ReleaseSource]]:
    """(initial sources, watched sources) for a configuration."""
    cache = Path(config.cache_dir or Path(config.state).parent / "release-cache")
    initial: list[ReleaseSource] = []
    watched: list[ReleaseSource] = []
    if config.release:
        initial.append(source_for(config.release, cache, max_bytes=config.max_release_bytes))
    if config.watch:
        watched.append(source_for(config.watch, cache, max_bytes=config.max_release_bytes))
    return initial, watched


def new_holder(config: ServeConfig) -> ReleaseHolder:
    def swapped(loaded: LoadedRelease) -> None:
        metrics.RELEASE_SEQUENCE.set(loaded.release_sequence)
        metrics.SWAPS.inc()

    return ReleaseHolder(
        root_file=Path(config.root),
        state_file=Path(config.state),
        on_swap=swapped,
        on_reject=lambda reason: metrics.REJECTED.labels(reason).inc(),
        min_signed_approvals=config.min_signed_approvals,
    )


def load_first(holder: ReleaseHolder, config: ServeConfig) -> Watcher:
    """Verify and load the newest release among the initial and watched sources (refusing to
    start without one) and return the watcher for the watched ones."""
    initial, watched = release_sources(config)
    candidates: list[Path] = []
    for source in [*initial, *watched]:
        candidates.extend(source.candidates())
    holder.offer(candidates)
    return Watcher(holder, watched, interval=config.poll_seconds)


def create_app(
    config: ServeConfig,
    *,
    holder: ReleaseHolder | None = None,
    routers: Sequence[RouterFactory] | None = None,
) -> FastAPI:
    """The service app. Without `holder`, the release is verified and loaded at startup, and
    the watch source polled while the app runs."""
    from kb.serve.routers import ROUTERS

    # httpx logs every request's URL at INFO, and FHIR search URLs name the patient.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    holder = holder or new_holder(config)
    context = ServeContext(
        config=config,
        holder=holder,
        tokens=TokenCheck(config.match_token_sha256),
        cds_auth=CdsAuth(
            config.cds_clients,
            max_lifetime_s=config.max_token_lifetime_s,
            replay_cache_size=config.replay_cache_size,
        ),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if holder.loaded:
            watcher = Watcher(holder, release_sources(config)[1], interval=config.poll_seconds)
        else:
            watcher = await run_in_threadpool(load_first, holder, config)
        if config.watch:
            watcher.start()
        yield
        watcher.stop()

    app = FastAPI(
        title="KB Curator matching service",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    _install_errors(app)
    app.include_router(core_router(context))
    app.include_router(cds_router(context))
    for factory in ROUTERS if routers is None else routers:
        app.include_router(factory(context))
    app.add_middleware(Guard, max_body_bytes=config.max_body_bytes)
    return app


LOG_LEVEL_ENV = "KB_SERVE_LOG_LEVEL"


def configure_logging(level: str) -> None:
    """The service's own log lines (releases loaded, swapped, refused; internal errors) on
    stderr, beside uvicorn's."""
    logging.basicConfig(
        level=level.upper(), stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )


def app_from_environment() -> FastAPI:
    """The uvicorn factory for worker processes: the configuration comes as JSON in
    KB_SERVE_CONFIG_JSON and the log level in KB_SERVE_LOG_LEVEL (see `kb serve`). A spawned
    worker starts with logging unconfigured, so it is configured here as `kb serve` does."""
    configure_logging(os.environ.get(LOG_LEVEL_ENV, "info"))
    return create_app(ServeConfig.from_environment())


def _error(status: int, reason: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": reason, "status": status}, status_code=status, headers=headers)


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(AuthError)
    async def auth_failed(_request: Request, exc: AuthError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return _error(exc.status, exc.reason, headers)

    @app.exception_handler(RequestError)
    async def refused(_request: Request, exc: RequestError) -> JSONResponse:
        return _error(exc.status, exc.reason)

    @app.exception_handler(PatientError)
    async def bad_patient(_request: Request, exc: PatientError) -> JSONResponse:
        return _error(422, f"patient: {exc}")

    @app.exception_handler(FhirError)
    async def bad_fhir(_request: Request, exc: FhirError) -> JSONResponse:
        return _error(422, f"FHIR: {exc}")

    @app.exception_handler(FhirServerError)
    async def upstream(_request: Request, exc: FhirServerError) -> JSONResponse:
        return _error(502, str(exc))

    @app.exception_handler(NoReleaseError)
    async def no_release(_request: Request, exc: NoReleaseError) -> JSONResponse:
        return _error(503, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, _first_error(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(RecursionError)
    async def too_deep(_request: Request, _exc: RecursionError) -> JSONResponse:
        return _error(400, "JSON nested too deeply")

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        # The type only: a message may quote the request, and requests hold patient data.
        log.error("internal error on %s: %s", request.url.path, type(exc).__name__)
        return _error(500, "internal error")


def _first_error(errors: Sequence[Any]) -> str:
    if not errors:
        return "invalid request"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    return f"{where or 'body'}: {first.get('msg', 'invalid')}"


# --- core routes --------------------------------------------------------------------------------


def core_router(context: ServeContext) -> APIRouter:
    router = APIRouter()
    holder = context.holder

    @router.get("/healthz")
    async def healthz() -> Response:
        release = holder.current
        return Response(
            orjson.dumps({"status": "ok", "release": release.version}),
            media_type="application/json",
        )

    @router.get("/release")
    async def release() -> Response:
        return Response(orjson.dumps(holder.current.as_json()), media_type="application/json")

    @router.get("/metrics")
    async def metrics_page() -> Response:
        body, kind = metrics.render()
        return Response(body, media_type=kind)

    @router.post("/match")
    async def match(request: Request, format: str = "json") -> Response:
        context.require_token(request)
        data = await context.json_body(request)
        patient = Patient.from_json(data)
        release = holder.current  # one release for the whole answer, even across a swap
        result = release.matcher.match(patient)
        headers = {
            "X-KB-Release-Version": release.version,
            "X-KB-Release-Digest": release.release_digest,
        }
        if format == "text":
            return PlainTextResponse(result.text(), headers=headers)
        if format != "json":
            raise RequestError(400, "format is json or text")
        return Response(
            orjson.dumps(result.as_json()), media_type="application/json", headers=headers
        )

    return router


# --- CDS Hooks --------------------------------------------------------------------------------


def cds_router(context: ServeContext) -> APIRouter:
    router = APIRouter()
    config = context.config

    @router.get("/cds-services")
    async def discovery() -> Response:
        return Response(
            cds.discovery().model_dump_json(exclude_none=True), media_type="application/json"
        )

    @router.post("/cds-services/{service_id}")
    async def call(service_id: str, request: Request) -> Response:
        service = cds.SERVICES.get(service_id)
        if service is None:
            raise RequestError(404, f"no CDS service {service_id!r}")
        audience = f"{config.base_url}/cds-services/{service_id}"
        authorization = request.headers.get("authorization")
        caller = await run_in_threadpool(context.cds_auth.verify, authorization, audience=audience)
        body = await request.body()
        try:
            hook_request = CdsRequest.model_validate_json(body)
        except ValidationError as exc:
            raise RequestError(422, _first_error(exc.errors())) from None
        if hook_request.hook != service.hook:
            raise RequestError(
                400, f"service {service_id} answers {service.hook}, not {hook_request.hook}"
            )
        answer = await run_in_threadpool(_answer, context, caller, service.hook, hook_request)
        for card in answer.cards:
            metrics.CARDS.labels(service.hook, card.indicator).inc()
        return Response(answer.model_dump_json(exclude_none=True), media_type="application/json")

    return router


def _answer(
    context: ServeContext, caller: CdsCaller, hook: str, request: CdsRequest
) -> CdsResponse:
    config = context.config
    try:
        order: OrderContext | None = None
        if hook == "patient-view":
            view = PatientViewContext.model_validate(request.context)
            patient_id = view.patientId
        else:
            order = OrderContext.model_validate(request.context)
            patient_id = order.patientId
    except ValidationError as exc:
        raise RequestError(422, "context." + _first_error(exc.errors())) from None
    release = context.holder.current
    prefetch = dict(request.prefetch or {})
    missing = [key for key in cds.PREFETCH if key not in prefetch]
    if missing:
        if not request.fhirServer or not request.fhirAuthorization:
            raise RequestError(
                412, f"prefetch lacks {', '.join(missing)} and no fhirServer/fhirAuthorization"
            )
        _check_fhir_server(caller, request.fhirServer)
        prefetch.update(
            fetch(
                request.fhirServer,
                request.fhirAuthorization.access_token,
                patient_id,
                missing,
                timeout=config.fhir_timeout_s,
                max_bytes=config.fhir_max_bytes,
            )
        )
    names = {name.lower(): code for code, name in release.matcher.tree.name.items()}
    patient = patient_from_fhir(
        [(f"prefetch.{key}", prefetch.get(key)) for key in cds.PREFETCH],
        label=f"cds:{request.hookInstance}"[:200],
        tumour_names=names,
    )
    if hook == "patient-view":
        return cds.patient_view(release, release.matcher.match(patient), config.base_url)
    assert order is not None
    try:
        requests = cds.medication_requests(
            order.draftOrders, order.selections if hook == "order-select" else None
        )
    except ValueError as exc:
        raise RequestError(422, f"context.draftOrders: {exc}") from None
    return cds.order_cards(
        release,
        patient,
        requests,
        base_url=config.base_url,
        patient_reference=f"Patient/{patient_id}",
    )


def _check_fhir_server(caller: CdsCaller, server: str) -> None:
    if not server.startswith(("https://", "http://")):
        raise RequestError(400, "fhirServer must be an http(s) URL")
    allowed = caller.client.fhir_servers
    if allowed and not any(server.rstrip("/") == a.rstrip("/") for a in allowed):
        raise RequestError(403, "fhirServer is not one this CDS client may send us to")
