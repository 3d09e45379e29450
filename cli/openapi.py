"""`cme openapi`: print the OpenAPI document the service publishes."""

from __future__ import annotations

import json
import sys

from api.app import create_app


def openapi() -> None:
    """Print the OpenAPI document (what openapi/openapi.json must equal)."""
    sys.stdout.write(render() + "\n")


def render() -> str:
    return json.dumps(create_app().openapi(), indent=2, ensure_ascii=False, sort_keys=False)
