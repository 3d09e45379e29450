"""The service's exception tree.

Every failure the domain can name is a `ServiceError` carrying the HTTP status it maps to
and a stable snake_case `code` (documented in the OpenAPI description). The HTTP edge
renders them as problem+json; the CLI prints them. Messages never carry personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# A field problem is part of the wire contract; services raise it inside ValidationFailed.
from schemas.problems import FieldError


@dataclass
class ServiceError(Exception):
    detail: str
    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


class Unauthenticated(ServiceError):
    def __init__(self, detail: str = "A valid bearer access token is required.") -> None:
        super().__init__(
            detail,
            status=401,
            code="unauthenticated",
            title="Unauthenticated",
            headers={"WWW-Authenticate": 'Bearer realm="cme-exchange"'},
        )


class Forbidden(ServiceError):
    def __init__(self, detail: str, code: str = "forbidden") -> None:
        super().__init__(detail, status=403, code=code, title="Forbidden")


class NotFound(ServiceError):
    def __init__(self, detail: str = "No such resource.", code: str = "not_found") -> None:
        super().__init__(detail, status=404, code=code, title="Not found")


class Conflict(ServiceError):
    def __init__(self, detail: str, code: str = "conflict") -> None:
        super().__init__(detail, status=409, code=code, title="Conflict")


class PayloadTooLarge(ServiceError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, status=413, code="payload_too_large", title="Payload too large")


class UnsupportedMediaType(ServiceError):
    def __init__(self, detail: str, code: str = "unsupported_media_type") -> None:
        super().__init__(detail, status=415, code=code, title="Unsupported media type")


class ValidationFailed(ServiceError):
    def __init__(self, errors: list[FieldError], detail: str | None = None) -> None:
        super().__init__(
            detail or f"The request body has {len(errors)} problem(s); nothing was stored.",
            status=422,
            code="validation_failed",
            title="Validation failed",
            errors=errors,
        )


class SignatureInvalid(ServiceError):
    """The detached JWS over a submission is missing, malformed or does not verify."""

    def __init__(self, detail: str, code: str = "signature_invalid") -> None:
        super().__init__(detail, status=401, code=code, title="Signature not accepted")


class RateLimited(ServiceError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many requests; retry after {retry_after} s.",
            status=429,
            code="rate_limited",
            title="Too many requests",
            headers={"Retry-After": str(retry_after)},
        )


__all__ = [
    "Conflict",
    "FieldError",
    "Forbidden",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "ServiceError",
    "SignatureInvalid",
    "Unauthenticated",
    "UnsupportedMediaType",
    "ValidationFailed",
]
