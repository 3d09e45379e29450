"""Structured JSON logs carrying the request id. Log ids and counts, never personal data."""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Attributes every LogRecord has; anything else was passed through `extra=` and is logged.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id_var.get(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info and record.exc_info[0] is not None:
            # The exception type only: messages and tracebacks can quote request content.
            entry["exception"] = record.exc_info[0].__name__
        return json.dumps(entry, default=str)


class NoServerAccessLines(logging.Filter):
    """Drops the HTTP server's own access lines: uvicorn's quote the whole request line,
    query string included, where a client may have put a token or an NHS number. The
    service writes its own (api/observability.py: route template, status, duration)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


SERVER_ACCESS_LOGGER = "uvicorn.access"


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # /readyz asks Alembic for the schema version; its per-call chatter is noise.
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
    # However the server was started (`cme serve` turns its access log off; a bare
    # `uvicorn api.main:app` does not).
    access = logging.getLogger(SERVER_ACCESS_LOGGER)
    if not any(isinstance(f, NoServerAccessLines) for f in access.filters):
        access.addFilter(NoServerAccessLines())
