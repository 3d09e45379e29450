"""The application factory and its lifespan (engine and keys are made here, not at import)."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from uvicorn.importer import import_from_string

from api import docs, errors
from api.body import inflation_threads
from api.deps import refuse_repeated_query_parameters
from api.head import HeadAsGet
from api.observability import Metrics, RequestContext
from api.responses import problems
from api.routes import (
    cases,
    local_authorities,
    operations,
    statistics,
    submissions,
    token,
    transfers,
)
from schemas.cases import CasePatch
from schemas.education import EducationRecordsIn
from schemas.problems import Problem
from schemas.submissions import SubmissionIn
from schemas.tokens import TokenForm
from services.access.rate_limit import TokenBuckets, TokenEndpointLimits
from services.access.service_key import load_service_key
from services.access.tokens import VerifiedTokens
from services.audit.chainer import AuditChainer
from services.settings import Settings, get_settings
from services.store.async_pool import open_read_pool
from services.store.db import make_engine, session_factory
from services.store.durability import check_durability

log = logging.getLogger(__name__)

DESCRIPTION = """
CME Exchange carries children's records from NHS Wales health boards to Welsh local
authorities so that each authority can find the children of compulsory school age who are
missing education, and keeps only those children.

Authentication: OAuth 2.0 client credentials with a signed client assertion (RFC 7523) at
`POST /oauth2/token`; every other endpoint takes `Authorization: Bearer <access_token>`.
Errors are `application/problem+json` (RFC 9457) with a stable `code`; the token endpoint
answers RFC 6749 error bodies.

A request body must arrive within the service's time limit (`408 request_timeout`
otherwise). Every `GET` also answers `HEAD`: the same status and headers, no body. Paths
are exact: a trailing slash is not redirected but answers `404`.
"""


CONSOLE = "console.app:install"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        check_durability(engine)
        app.state.engine = engine
        app.state.sessions = session_factory(engine, audit_chain=settings.audit_chain)
        app.state.read_pool = await open_read_pool(settings.database_url)
        app.state.service_key = load_service_key(settings)
        app.state.verified_tokens = VerifiedTokens(
            service_key=app.state.service_key, issuer=settings.public_base_url
        )
        worker = None
        if settings.reconcile_in_process:
            from services.reconciliation.worker import BackgroundWorker, linkage_settings

            worker = BackgroundWorker(
                sessions=app.state.sessions,
                settings=linkage_settings(settings),
                poll_seconds=settings.worker_poll_seconds,
            )
            worker.start()
        chainer = None
        if settings.audit_chain == "background":
            chainer = AuditChainer(sessions=app.state.sessions)
            chainer.start()
        if gc.get_freeze_count() == 0:
            # What start-up made lives as long as the process: kept out of the collector's
            # sight, a request that makes many objects (an ingest of 100,000 records makes
            # millions) no longer pays for traversing them at each full collection. Once
            # per process: objects frozen are never collected, so not once per app in tests.
            gc.collect()
            gc.freeze()
        log.info("service started", extra={"database": engine.dialect.name})
        yield
        if worker is not None:
            worker.stop()
        if chainer is not None:
            chainer.stop()
        if app.state.read_pool is not None:
            await app.state.read_pool.close()
        engine.dispose()

    app = FastAPI(
        dependencies=[Depends(refuse_repeated_query_parameters)],
        title="CME Exchange",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # Starlette's redirect to the other spelling of a path builds its Location from the
        # request's Host header; a path with a stray slash is simply not found.
        redirect_slashes=False,
        # Served by api/docs.py from the service itself, never from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.read_pool = None  # opened by the lifespan on PostgreSQL
    app.state.metrics = Metrics()
    app.state.rate_limits = TokenBuckets(
        per_minute=settings.rate_limit_per_minute, burst=settings.rate_limit_burst
    )
    app.state.token_limits = TokenEndpointLimits(
        per_minute=settings.token_failures_per_minute,
        burst=settings.token_failure_burst,
        enabled=settings.rate_limit_per_minute > 0,
    )
    app.state.inflation_threads = inflation_threads()
    # The last added runs first: the request context sees the HEAD as asked.
    app.add_middleware(HeadAsGet)
    app.add_middleware(RequestContext, metrics=app.state.metrics)
    errors.install(app)
    docs.install(app)
    app.include_router(token.router)
    app.include_router(submissions.router)
    app.include_router(local_authorities.router)
    app.include_router(cases.router)
    app.include_router(transfers.router)
    app.include_router(statistics.router)
    app.include_router(operations.router)
    # Named, not imported: the console is another edge, independent of this one
    # (pyproject.toml, [tool.importlinter]). Its pages are not in the OpenAPI document.
    import_from_string(CONSOLE)(app, settings)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _problem_json_for_validation_errors(document: dict[str, Any]) -> None:
    """FastAPI documents its 422 as `HTTPValidationError` JSON; ours are problem+json
    (routes declare theirs with `api.responses.problems`, which this leaves alone)."""
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.get("responses", {})
            if "application/json" in responses.get("422", {}).get("content", {}):
                responses["422"] = problems("validation_failed")[422]
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    # Bodies read as raw bytes (to verify signatures first) are documented explicitly.
    for model in (SubmissionIn, EducationRecordsIn, CasePatch, TokenForm, Problem):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    _problem_json_for_validation_errors(document)
    app.openapi_schema = document
    return document
