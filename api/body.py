"""Reading request bodies within limits, before anything parses them.

A body must arrive within `CME_BODY_READ_TIMEOUT_SECONDS` (408 otherwise). Routes read it
before their first query, so a slow sender holds no database connection or lock. A gzip
body is inflated incrementally with a cap on the output, in a worker thread, so a gzip
bomb is refused with 413 having used at most the cap in memory and no event-loop time.
Submissions are not read whole at all: `spool_body` streams them to a temporary file.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Iterator

import anyio
from starlette.requests import Request

from services.errors import PayloadTooLarge, ServiceError, UnsupportedMediaType
from services.intake.received import ReceivedBody

_INFLATE_STEP = 1 << 18
# Parts of a streamed body handed to a worker thread at once.
_HAND_OFF = 1 << 18
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


def _encoding(request: Request, *, max_bytes: int) -> str:
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise UnsupportedMediaType(
            "Content-Encoding must be gzip or absent.", "unsupported_content_encoding"
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"The body exceeds {max_bytes} bytes.")
    return encoding


async def read_limited_body(request: Request, *, max_bytes: int) -> tuple[bytes, bytes | None]:
    """Return (body, gzip bytes as received or None). Raises 408 / 413 / 415 / 400."""
    encoding = _encoding(request, max_bytes=max_bytes)
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


async def spool_body(request: Request, *, max_bytes: int, into: ReceivedBody) -> None:
    """Stream the body into `into` (inflating gzip up to the same cap), never holding it
    whole: parts of 256 kB are handed to a worker thread, which inflates, digests
    and spools them while the next part arrives. Raises 408 / 413 / 415 / 400."""
    inflater = _Inflater(max_bytes) if _encoding(request, max_bytes=max_bytes) == "gzip" else None
    deadline: float = request.app.state.settings.body_read_timeout_seconds
    received, pending = 0, bytearray()
    with anyio.move_on_after(deadline) as reading:
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes:
                raise PayloadTooLarge(f"The body exceeds {max_bytes} bytes.")
            pending += chunk
            if len(pending) >= _HAND_OFF:
                part, pending = bytes(pending), bytearray()
                await _spool_part(request, into, inflater, part, last=False)
        if not reading.cancel_called:
            await _spool_part(request, into, inflater, bytes(pending), last=True)
    if reading.cancelled_caught:
        raise BodyReadTimeout(deadline)


async def _spool_part(
    request: Request, into: ReceivedBody, inflater: _Inflater | None, part: bytes, *, last: bool
) -> None:
    # Inflating and digesting are CPU work: never on the event loop, where a stream of gzip
    # bombs would slow every other request.
    await anyio.to_thread.run_sync(
        functools.partial(_spool_step, into, inflater, part, last=last),
        limiter=request.app.state.inflation_threads,
    )


def _spool_step(into: ReceivedBody, inflater: _Inflater | None, part: bytes, *, last: bool) -> None:
    if inflater is None:
        into.write(part)
    else:
        into.gzip_part(part)
        for inflated in inflater.inflate(part):
            into.write(inflated)
        if last:
            into.write(inflater.finish())
    if last:
        into.finish()


class _Inflater:
    """One gzip member inflated a step at a time, refusing more than `max_bytes` of output."""

    def __init__(self, max_bytes: int) -> None:
        self._zlib = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        self._max_bytes = max_bytes
        self._out = 0

    def inflate(self, data: bytes) -> Iterator[bytes]:
        pending = data
        try:
            while pending:
                yield self._counted(self._zlib.decompress(pending, _INFLATE_STEP))
                pending = self._zlib.unconsumed_tail
                if not pending and self._zlib.eof and self._zlib.unused_data:
                    raise ServiceError(
                        "Only a single gzip member is accepted.", code="malformed_gzip"
                    )
        except zlib.error as error:
            raise ServiceError("The gzip body is corrupt.", code="malformed_gzip") from error

    def finish(self) -> bytes:
        try:
            rest = self._counted(self._zlib.flush())
        except zlib.error as error:  # pragma: no cover - flush after decompress reports none
            raise ServiceError("The gzip body is corrupt.", code="malformed_gzip") from error
        if not self._zlib.eof:
            raise ServiceError("The gzip body is truncated.", code="malformed_gzip")
        return rest

    def _counted(self, inflated: bytes) -> bytes:
        self._out += len(inflated)
        if self._out > self._max_bytes:
            raise PayloadTooLarge(f"The decompressed body exceeds {self._max_bytes} bytes.")
        return inflated


def _gunzip(data: bytes, *, max_bytes: int) -> bytes:
    inflater = _Inflater(max_bytes)
    out = bytearray()
    for inflated in inflater.inflate(data):
        out += inflated
    out += inflater.finish()
    return bytes(out)


def require_json(request: Request) -> None:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType("Content-Type must be application/json.")
