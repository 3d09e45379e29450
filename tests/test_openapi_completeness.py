"""Every schema and property of the OpenAPI document is described, and every JSON body an
integrator sends or receives on success comes with an example that the model accepts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from api.app import create_app
from schemas import (
    cases,
    education,
    operations,
    problems,
    reconciliations,
    statistics,
    submissions,
    tokens,
    transfers,
)
from services.settings import Settings

_SCHEMA_MODULES = (
    cases,
    education,
    operations,
    problems,
    reconciliations,
    statistics,
    submissions,
    tokens,
    transfers,
)


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("completeness")
    settings = Settings(
        database_url=f"sqlite:///{tmp / 'unused.db'}",
        public_base_url="http://testserver",
        dev_key_dir=tmp / "keys",
        reconcile_in_process=False,
    )
    return create_app(settings).openapi()


def _undescribed(document: dict[str, Any]) -> Iterator[str]:
    for name, schema in document["components"]["schemas"].items():
        if not schema.get("description"):
            yield name
        for field, spec in schema.get("properties", {}).items():
            if not spec.get("description"):
                yield f"{name}.{field}"


def _has_example(media: dict[str, Any], document: dict[str, Any]) -> bool:
    if media.get("example") is not None or media.get("examples"):
        return True
    schema = media.get("schema", {})
    ref = schema.get("$ref")
    if ref is not None:
        schema = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return bool(schema.get("examples") or schema.get("example") is not None)


def _bodies_without_examples(document: dict[str, Any]) -> Iterator[str]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            body = operation.get("requestBody", {}).get("content", {})
            for media_type, media in body.items():
                if media_type.endswith("json") and not _has_example(media, document):
                    yield f"{where} request {media_type}"
            for status, response in operation.get("responses", {}).items():
                if not status.startswith("2"):
                    continue
                for media_type, media in response.get("content", {}).items():
                    if media_type.endswith("json") and not _has_example(media, document):
                        yield f"{where} {status} {media_type}"


def test_every_schema_and_property_has_a_description(document: dict[str, Any]) -> None:
    assert list(_undescribed(document)) == []


def test_every_json_body_has_an_example(document: dict[str, Any]) -> None:
    assert list(_bodies_without_examples(document)) == []


def _models_with_examples() -> Iterator[tuple[str, type[Any], Any]]:
    for module in _SCHEMA_MODULES:
        for name, value in vars(module).items():
            if not isinstance(value, type) or value.__module__ != module.__name__:
                continue
            schema = TypeAdapter(value).json_schema() if _is_schema_type(value) else None
            for index, example in enumerate((schema or {}).get("examples", [])):
                yield f"{module.__name__}.{name}[{index}]", value, example


def _is_schema_type(value: type[Any]) -> bool:
    return issubclass(value, BaseModel) or hasattr(value, "__pydantic_fields__")


def test_some_models_carry_examples() -> None:
    assert len(list(_models_with_examples())) >= 10


@pytest.mark.parametrize(
    ("model", "example"),
    [pytest.param(model, example, id=where) for where, model, example in _models_with_examples()],
)
def test_each_model_accepts_its_own_examples(model: type[Any], example: Any) -> None:
    # As the service reads a body: JSON bytes, with the model's own strictness.
    TypeAdapter(model).validate_json(json.dumps(example))
