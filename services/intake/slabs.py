"""The records array of a compactly written upload, cut into slabs of whole records.

The exact scanner (`scan.py`) decodes every record in Python to find where it ends and to
look for repeated keys: as costly as validating it. Most bodies are written by a program,
with records separated by `},{"` (or `}, {"`): here the array is cut at those separators
by `bytes.find` (C), and each slab of records is checked whole by jiter's parser (Rust)
for repeated keys and the constants NaN and Infinity, then handed on as the exact bytes of
a JSON array for pydantic to validate strictly, with no copy per record.

A separator can also occur inside a string, so a cut is only a guess: a slab that jiter
refuses, or that pydantic does not accept whole (the reader sets `Slab.records` only when
it does), sends the rest of the array back to the exact scanner from that slab's first
record. Whatever the exact scanner would refuse is therefore refused by it, worded as
before; a slab accepted here is a run of whole, valid records, because it starts at a
record and parses as a JSON array on its own.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass

import jiter

# A record is at most a few kilobytes: a longer run without a separator means the body is
# not written as expected (pretty-printed, say), so the exact scanner takes over before
# more than this is held.
_GAP = 1 << 16
_SEPARATORS = (b'},{"', b'}, {"')
_SPACE = b" \t\n\r"


@dataclass(slots=True)
class Slab:
    """Consecutive records: `first` is the index of its first, `text` a JSON array of them."""

    first: int
    text: bytes
    # Set by the reader once pydantic accepts the slab: how many records it held.
    records: int | None = None


@dataclass(frozen=True, slots=True)
class Resume:
    """Where the exact scanner takes over: `rest` (then `parts`) starts at the record with
    index `index` when `in_array`, else just after the array's closing bracket."""

    rest: bytes
    parts: Iterator[bytes]
    index: int
    in_array: bool


def cut_slabs(
    head: bytes, parts: Iterator[bytes], *, first: int, size: int
) -> Generator[Slab, None, Resume]:
    """Slabs of `size` records from an array whose elements start at `head` (the body from
    there on is `head` then `parts`), for as long as the guesses hold."""
    buffer, at, index = head, 0, first
    separator: bytes | None = None
    while buffer[at : at + 1] == b"{":
        search, found, end = at, 0, -1
        while found < size:
            separator = separator or _first_separator(buffer, search)
            end = buffer.find(separator, search) if separator else -1
            if end < 0 or end - search > _GAP:
                if len(buffer) - search > _GAP:
                    return Resume(buffer[at:], parts, index, in_array=True)
                part = next(parts, None)
                if part is None:
                    # The last slab: up to the array's end.
                    return (yield from _last(buffer[at:], parts, index))
                # Search again from a little before the old end: a separator may straddle.
                search = max(search, len(buffer) - len(_SEPARATORS[1])) - at
                buffer, at = buffer[at:] + part, 0
                continue
            found += 1
            search = end + len(separator or b"")
        # `end` is the separator after the slab's last record; the next starts at its `{`.
        slab = Slab(index, b"[" + buffer[at : end + 1] + b"]")
        if not _well_formed(slab.text):
            break
        yield slab
        if slab.records is None:
            break
        index += slab.records
        at = search - 2
    return Resume(buffer[at:], parts, index, in_array=True)


def _last(rest: bytes, parts: Iterator[bytes], index: int) -> Generator[Slab, None, Resume]:
    """The records up to the array's end, when the array closes the body's object: `rest`
    ends `}]}` (give or take whitespace). Otherwise, or if that guess fails, exact reading."""
    whole = rest.rstrip(_SPACE)
    inner = whole[:-1].rstrip(_SPACE)
    if whole.endswith(b"}") and inner.endswith(b"]"):
        slab = Slab(index, b"[" + inner[:-1] + b"]")
        if _well_formed(slab.text):
            yield slab
            if slab.records is not None:
                return Resume(b"}", parts, index + slab.records, in_array=False)
    return Resume(rest, parts, index, in_array=True)


def _first_separator(buffer: bytes, search: int) -> bytes | None:
    found = [(at, s) for s in _SEPARATORS if (at := buffer.find(s, search)) >= 0]
    return min(found)[1] if found else None


def _well_formed(text: bytes) -> bool:
    """JSON, with no repeated key in any object and no NaN or Infinity."""
    try:
        jiter.from_json(text, allow_inf_nan=False, cache_mode="keys", catch_duplicate_keys=True)
    except ValueError:
        return False
    return True
