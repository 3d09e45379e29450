"""Request ids, request metrics and the access log, as a pure ASGI middleware (streams
bodies untouched)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.logs import request_id_var

log = logging.getLogger(__name__)

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "cme_http_requests_total",
            "HTTP requests by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "cme_http_request_seconds",
            "HTTP request latency by route template.",
            ["method", "route"],
            registry=self.registry,
        )


class RequestContext:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        # Not reset afterwards: each request runs in its own context, and the 500 handler,
        # which runs outside this middleware, still needs the id.
        request_id_var.set(request_id)
        method = scope["method"]  # as asked: a HEAD is answered as its GET further in
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            # Route templates, never raw paths or query strings: ids in paths must not become
            # label values, and what a client puts in a path or query (a token, an NHS
            # number) must not reach the log.
            route: Any = scope.get("route")
            template = getattr(route, "path", "unmatched")
            elapsed = time.perf_counter() - started
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(elapsed)
            log.info(
                "request",
                extra={
                    "method": method,
                    "route": template,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                },
            )
