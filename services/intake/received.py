"""A submission body as it arrives: spooled to a temporary file, digested on the way.

Nothing keeps the body whole in memory: its SHA-256, the detached signature's signing
input and the gzip copy kept as proof are all fed a part at a time, and the body itself
waits in a file (in memory only while it is small) until it is parsed a part at a time.
"""

from __future__ import annotations

import hashlib
import tempfile
import zlib
from collections.abc import Iterator
from typing import IO

from services.access.signatures import SigningInput

# Bodies up to this size never touch the disk.
_IN_MEMORY = 1 << 18
_READ_STEP = 1 << 18


class ReceivedBody:
    """`compressed`: the body arrives gzip-encoded, and the gzip as received is kept as the
    stored copy (`gzip_part`); otherwise the copy is compressed here as the body arrives.
    `keep_copy` False: no copy at all (for a body that is not kept once read)."""

    def __init__(self, *, signature: str | None, compressed: bool, keep_copy: bool = True) -> None:
        self.signed = SigningInput.for_signature(signature)
        self.size = 0
        # Both closed (and so deleted) by `close`, whatever the request's outcome.
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(_IN_MEMORY)  # noqa: SIM115
        self._copy: IO[bytes] = tempfile.SpooledTemporaryFile(_IN_MEMORY)  # noqa: SIM115
        self._sha256 = hashlib.sha256()
        self._keep_copy = keep_copy
        self._compressor = (
            zlib.compressobj(1, wbits=16 + zlib.MAX_WBITS) if keep_copy and not compressed else None
        )

    def gzip_part(self, received: bytes) -> None:
        """Keep part of the gzip as received (a gzip-encoded body only)."""
        if self._keep_copy:
            self._copy.write(received)

    def write(self, body_part: bytes) -> None:
        """Take in the next part of the (inflated) body."""
        self.size += len(body_part)
        self._file.write(body_part)
        self._sha256.update(body_part)
        if self.signed is not None:
            self.signed.update(body_part)
        if self._compressor is not None:
            self._copy.write(self._compressor.compress(body_part))

    def finish(self) -> None:
        """The whole body is in: close the digests."""
        if self.signed is not None:
            self.signed.finish()
        if self._compressor is not None:
            self._copy.write(self._compressor.flush())
            self._compressor = None

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    def parts(self) -> Iterator[bytes]:
        """The body from its start, a bounded part at a time."""
        self._file.seek(0)
        while part := self._file.read(_READ_STEP):
            yield part

    def read_all(self) -> bytes:
        """The whole body at once: for shapes only a refusal can follow (see callers)."""
        self._file.seek(0)
        return self._file.read()

    def gzip_copy(self) -> bytes:
        """The stored copy: about a fifth of the body, read once, to be stored."""
        self._copy.seek(0)
        return self._copy.read()

    def close(self) -> None:
        self._file.close()
        self._copy.close()
        if self.signed is not None:
            self.signed.close()
