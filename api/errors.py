"""One place that renders every error as problem+json (RFC 9457)."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout as ReadPoolTimeout
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from api.deps import refusal_for_revoked_grant
from schemas.problems import error_code, json_pointer
from services.access.tokens import OAuthError
from services.errors import FieldError, ServiceError
from services.logs import request_id_var

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def problem_response(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:cme-exchange:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": request_id_var.get(),
    }
    if errors is not None:
        body["errors"] = [e.as_dict() for e in errors]
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


async def _service_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ServiceError)
    error = await refusal_for_revoked_grant(request) or error
    log.info("request refused", extra={"status": error.status, "code": error.code})
    return problem_response(
        status=error.status,
        code=error.code,
        title=error.title,
        detail=error.detail,
        errors=error.errors if error.status == 422 else None,
        headers=error.headers or None,
    )


async def _oauth_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, OAuthError)
    log.info("token refused", extra={"status": error.status, "error": error.error})
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="cme-exchange"'
    return JSONResponse(
        {"error": error.error, "error_description": error.description},
        status_code=error.status,
        headers=headers,
    )


async def _request_validation(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    # A revoked token is refused as such, even with a malformed query (api/deps.py).
    revoked = await refusal_for_revoked_grant(request)
    if revoked is not None:
        return await _service_error(request, revoked)
    problems = []
    for item in error.errors():
        location = tuple(item.get("loc", ()))
        # Query and header problems are pointed at by name; body problems by JSON Pointer.
        where, rest = (location[0], location[1:]) if location else ("body", ())
        pointer = json_pointer(rest) if where == "body" else f"{where}:{'.'.join(map(str, rest))}"
        problems.append(
            FieldError(pointer, error_code(str(item.get("type"))), str(item.get("msg")))
        )
    return problem_response(
        status=422,
        code="validation_failed",
        title="Validation failed",
        detail=f"The request has {len(problems)} problem(s).",
        errors=problems,
    )


async def _http_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    phrase = HTTPStatus(error.status_code).phrase
    code = phrase.lower().replace(" ", "_").replace("-", "_")
    detail = error.detail if isinstance(error.detail, str) else phrase
    return problem_response(
        status=error.status_code,
        code=code,
        title=phrase,
        detail=detail,
        headers=dict(error.headers) if error.headers else None,
    )


async def _database_busy(_: Request, error: Exception) -> JSONResponse:
    log.warning("database connection pool exhausted")
    return problem_response(
        status=503,
        code="database_busy",
        title="Service busy",
        detail="No database connection was free in time; retry shortly.",
        headers={"Retry-After": "2"},
    )


async def _unexpected(_: Request, error: Exception) -> JSONResponse:
    log.error("unhandled error", extra={"error_type": type(error).__name__})
    request_id = request_id_var.get()
    return problem_response(
        status=500,
        code="internal_error",
        title="Internal server error",
        detail="The request failed; nothing it would have changed was stored.",
        # This handler runs outside the request-id middleware: set the header here.
        headers={"X-Request-ID": request_id} if request_id else None,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(OAuthError, _oauth_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(PoolTimeout, _database_busy)
    app.add_exception_handler(ReadPoolTimeout, _database_busy)
    app.add_exception_handler(Exception, _unexpected)
