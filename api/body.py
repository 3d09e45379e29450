"""Reading request bodies within limits, before anything parses them.

A body must arrive within `CME_BODY_READ_TIMEOUT_SECONDS` (408 otherwise). Routes read it
before their first query, so a slow sender holds no database connection or lock. A gzip
body is inflated incrementally with a cap on the output, in a worker thread, so a gzip
bomb is refused with 413 having used at most the cap in memory and no event-loop time.
"""

from __future__ import annotations

import functools
import zlib

import anyio
from starlette.requests import Request

from services.errors import PayloadTooLarge, ServiceError, UnsupportedMediaType

_INFLATE_STEP = 1 << 20
# Gzip bodies inflated at once, per process: each may take up to the body limit in memory.
_CONCURRENT_INFLATIONS = 2


def inflation_threads() -> anyio.CapacityLimiter:
    """The threads that inflate gzip bodies: apart from the request threads, so a stream of
    gzip bombs never takes the threads that other requests' database work needs."""
    return anyio.CapacityLimiter(_CONCURRENT_INFLATIONS)


class BodyReadTimeout(ServiceError):
    """The sender took longer than the deadline to send its body."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"The request body did not arrive within {seconds:g} seconds.",
            status=408,
            code="request_timeout",
            title="Request timeout",
            # The rest of the body is never read, so the connection cannot be reused.
            headers={"Connection": "close"},
        )


async def read_limited_body(request: Request, *, max_bytes: int) -> tuple[bytes, bytes | None]:
    """Return (body, gzip bytes as received or None). Raises 408 / 413 / 415 / 400."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise UnsupportedMediaType(
            "Content-Encoding must be gzip or absent.", "unsupported_content_encoding"
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"The body exceeds {max_bytes} bytes.")
    deadline: float = request.app.state.settings.body_read_timeout_seconds
    received = bytearray()
    with anyio.move_on_after(deadline) as reading:
        async for chunk in request.stream():
            received += chunk
            if len(received) > max_bytes:
                raise PayloadTooLarge(f"The body exceeds {max_bytes} bytes.")
    if reading.cancelled_caught:
        raise BodyReadTimeout(deadline)
    if encoding == "identity":
        return bytes(received), None
    compressed = bytes(received)
    # Inflating up to the cap is CPU work: never on the event loop, where a stream of gzip
    # bombs would slow every other request.
    body = await anyio.to_thread.run_sync(
        functools.partial(_gunzip, compressed, max_bytes=max_bytes),
        limiter=request.app.state.inflation_threads,
    )
    return body, compressed


def _gunzip(data: bytes, *, max_bytes: int) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = bytearray()
    pending = data
    try:
        while pending:
            out += inflater.decompress(pending, _INFLATE_STEP)
            if len(out) > max_bytes:
                raise PayloadTooLarge(f"The decompressed body exceeds {max_bytes} bytes.")
            pending = inflater.unconsumed_tail
            if not pending and inflater.eof and inflater.unused_data:
                raise ServiceError("Only a single gzip member is accepted.", code="malformed_gzip")
        out += inflater.flush()
    except zlib.error as error:
        raise ServiceError("The gzip body is corrupt.", code="malformed_gzip") from error
    if not inflater.eof:
        raise ServiceError("The gzip body is truncated.", code="malformed_gzip")
    if len(out) > max_bytes:
        raise PayloadTooLarge(f"The decompressed body exceeds {max_bytes} bytes.")
    return bytes(out)


def require_json(request: Request) -> None:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType("Content-Type must be application/json.")
