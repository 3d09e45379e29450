"""`cme openapi`: print the OpenAPI document the service publishes."""

from __future__ import annotations

import json
import sys

from uvicorn.importer import import_from_string

# Named, as `cme serve` names the app to uvicorn: the `cme` command starts and describes
# the HTTP edge without importing it, so the two edges stay independent (pyproject.toml,
# [tool.importlinter]).
APP_FACTORY = "api.app:create_app"


def openapi() -> None:
    """Print the OpenAPI document (what openapi/openapi.json must equal)."""
    sys.stdout.write(render() + "\n")


def render() -> str:
    document = import_from_string(APP_FACTORY)().openapi()
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False)
