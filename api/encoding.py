"""JSON bodies encoded with orjson, for the hot reads whose documents services shape as
plain values (services/cases/wire.py `case_document`). Byte for byte what the pydantic
models would write: UTC as `Z`, microseconds only when present, UTF-8 unescaped."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response


def json_response(document: Any, *, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(document, option=orjson.OPT_UTC_Z),
        media_type="application/json",
        headers=headers,
    )
