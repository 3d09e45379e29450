"""Liveness, readiness and metrics for operators."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from api.errors import problem_response
from api.responses import problems
from schemas.operations import Health
from services.store.schema_version import current_revision, head_revision

router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    response_model=Health,
    summary="The process is up",
    responses=problems("validation_failed"),
)
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    summary="The database answers and is at the latest migration",
    responses=problems("not_ready", "validation_failed"),
)
def readyz(request: Request) -> Response:
    try:
        current = current_revision(request.app.state.engine)
    except SQLAlchemyError:
        current = None
    if current is None or current != head_revision():
        return problem_response(
            status=503,
            code="not_ready",
            title="Not ready",
            detail="The database does not answer or is not at the latest migration.",
        )
    return Response(Health(status="ready").model_dump_json(), media_type="application/json")


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    summary="Prometheus metrics (text format)",
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        **problems("validation_failed"),
    },
)
def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
