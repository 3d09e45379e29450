"""Strict parsing of inbound JSON bodies into wire models, with problem+json errors."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from schemas.problems import field_errors
from services.errors import ValidationFailed

Model = TypeVar("Model", bound=BaseModel)


def parse(model: type[Model], body: bytes) -> Model:
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        raise ValidationFailed(field_errors(error)) from None
