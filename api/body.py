"""Reading request bodies within limits, before anything parses them.

A gzip body is inflated incrementally with a cap on the output, so a gzip bomb is refused
with 413 having used at most the cap in memory.
"""

from __future__ import annotations

import zlib

from starlette.requests import Request

from services.errors import PayloadTooLarge, ServiceError, UnsupportedMediaType

_INFLATE_STEP = 1 << 20


async def read_limited_body(request: Request, *, max_bytes: int) -> tuple[bytes, bytes | None]:
    """Return (body, gzip bytes as received or None). Raises 413 / 415 / 400."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise UnsupportedMediaType(
            "Content-Encoding must be gzip or absent.", "unsupported_content_encoding"
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"The body exceeds {max_bytes} bytes.")
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > max_bytes:
            raise PayloadTooLarge(f"The body exceeds {max_bytes} bytes.")
    if encoding == "identity":
        return bytes(received), None
    compressed = bytes(received)
    return _gunzip(compressed, max_bytes=max_bytes), compressed


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
