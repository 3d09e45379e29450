"""Strict parsing of inbound JSON bodies into wire models, with problem+json errors.

A JSON object with the same key twice is refused before validation: parsers disagree on
which value wins, so a signed body could mean one thing to its signer and another to us.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from schemas.problems import field_errors
from services.errors import FieldError, ValidationFailed

Model = TypeVar("Model", bound=BaseModel)


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> None:
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise _DuplicateKey(next(k for k in keys if keys.count(k) > 1))
    # Nothing is kept: this pass only looks for repeated keys, cheaply.


def duplicate_key(key: str) -> ValidationFailed:
    """The refusal of a body with `key` twice in one object."""
    return ValidationFailed(
        [FieldError("", "duplicate_key", f"The key {key[:64]!r} appears twice in one object.")]
    )


def refuse_duplicate_keys(body: bytes) -> None:
    try:
        json.loads(body, object_pairs_hook=_refuse_duplicates)
    except _DuplicateKey as duplicate:
        raise duplicate_key(duplicate.key) from None
    except (ValueError, RecursionError):
        return  # not JSON, or absurdly deep: the model's own parser reports it precisely


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(days=1)


def is_plausible_moment(moment: datetime) -> bool:
    """Extract and as-of dates lie between 2000 and tomorrow: anything else is an error
    (and would overflow date arithmetic near year 9999)."""
    try:
        return EARLIEST <= moment.astimezone(UTC) <= datetime.now(UTC) + CLOCK_SKEW
    except OverflowError:
        return False


def parse(model: type[Model], body: bytes) -> Model:
    refuse_duplicate_keys(body)
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        raise ValidationFailed(field_errors(error)) from None
