"""HEAD wherever GET is (RFC 9110 section 9.3.2): the GET's status and headers, no body."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    """Answers HEAD as the GET of the same path: routed, authenticated, rate limited and
    audited exactly as the GET, with its headers (Content-Length and ETag included) and
    without its body. The OpenAPI description documents the GETs only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        # A copy: the server still reads its scope's method (a HEAD response has no body).
        as_get = {**scope, "method": "GET"}

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        try:
            await self.app(as_get, receive, send_headers_only)
        finally:
            # The route the router matched, for the metrics and access log outside.
            if "route" in as_get:
                scope["route"] = as_get["route"]
