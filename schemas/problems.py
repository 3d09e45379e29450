"""problem+json (RFC 9457) documents and the translation of validation errors into them."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, Field, ValidationError
from pydantic_core import PydanticCustomError


@dataclass(frozen=True)
class FieldError:
    """One problem in a request body, located by a JSON Pointer (RFC 6901)."""

    pointer: str
    code: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"pointer": self.pointer, "code": self.code, "detail": self.detail}


# pydantic's error types mapped onto our stable, documented codes. Our own validators raise
# PydanticCustomError with the code as the type, so those pass through unchanged.
_CODES = {
    "missing": "required",
    "missing_argument": "required",
    "extra_forbidden": "unknown_field",
    "unexpected_keyword_argument": "unknown_field",
    "dataclass_type": "wrong_type",
    "dataclass_exact_type": "wrong_type",
    "json_invalid": "malformed_json",
    "json_type": "malformed_json",
    "recursion_loop": "too_deeply_nested",
    "literal_error": "not_allowed_value",
    "enum": "not_allowed_value",
    "string_too_short": "too_short",
    "string_too_long": "too_long",
    "too_short": "too_short",
    "too_long": "too_long",
    "string_pattern_mismatch": "invalid_format",
    "uuid_parsing": "invalid_uuid",
    "uuid_type": "invalid_uuid",
    "date_parsing": "invalid_date",
    "date_from_datetime_parsing": "invalid_date",
    "date_from_datetime_inexact": "invalid_date",
    "date_type": "invalid_date",
    "datetime_parsing": "invalid_timestamp",
    "datetime_from_date_parsing": "invalid_timestamp",
    "datetime_type": "invalid_timestamp",
    "timezone_aware": "timestamp_without_offset",
}
_WRONG_TYPE_SUFFIXES = ("_type", "_parsing")


def error_code(pydantic_type: str) -> str:
    if pydantic_type in _CODES:
        return _CODES[pydantic_type]
    if pydantic_type.endswith(_WRONG_TYPE_SUFFIXES):
        return "wrong_type"
    return pydantic_type


def json_pointer(location: tuple[int | str, ...]) -> str:
    """RFC 6901: '~' becomes '~0' and '/' becomes '~1' in each reference token."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in location)


RULE_FIELD = "field"


def record_rule(code: str, field: str, detail: str) -> PydanticCustomError:
    """A rule across a record's fields, reported at the field it is about: raised from a
    record's model validator, so every record's problems come in the same answer."""
    return PydanticCustomError(code, detail, {RULE_FIELD: field})


def field_errors(error: ValidationError, limit: int = 1000) -> list[FieldError]:
    """One FieldError per problem, never echoing the offending value (it may be personal)."""
    problems = []
    for item in error.errors(include_url=False, include_input=False)[:limit]:
        location = tuple(p for p in item["loc"] if not str(p).startswith("function-"))
        # A record's own rules (see `record_rule`) name the field they are about.
        field = item.get("ctx", {}).get(RULE_FIELD)
        if isinstance(field, str):
            location = (*location, field)
        code = error_code(item["type"])
        problems.append(FieldError(json_pointer(location), code, _detail(code, item["msg"])))
    return problems


def _detail(code: str, message: str) -> str:
    # pydantic's JSON error messages can quote the input; keep the generic part only.
    if code == "malformed_json":
        return "The body is not valid JSON."
    return message


class FieldProblem(BaseModel):
    """One problem in a request body."""

    pointer: str = Field(description="JSON Pointer (RFC 6901) into the request body.")
    code: str = Field(description="Stable snake_case error code.")
    detail: str = Field(description="What is wrong, in English; never the value sent.")


class Problem(BaseModel):
    """An `application/problem+json` error (RFC 9457)."""

    type: str = Field(description="URI naming the error code, `urn:cme-exchange:problem:{code}`.")
    title: str = Field(description="Short summary of the error code, the same every time.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong in this request; never personal data.")
    code: str = Field(description="Stable snake_case error code.")
    request_id: str | None = Field(
        default=None,
        description="The request's id (also in the `X-Request-ID` header), to quote to the "
        "service's operators; null when none was assigned.",
    )
    errors: list[FieldProblem] | None = Field(
        default=None, description="Validation errors, one per problem (422 only)."
    )


class OAuthProblem(BaseModel):
    """An RFC 6749 section 5.2 error from the token endpoint."""

    error: str = Field(
        description="`invalid_client`, `invalid_request`, `invalid_scope` or "
        "`unsupported_grant_type`."
    )
    error_description: str = Field(description="What is wrong, in English.")
