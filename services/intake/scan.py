"""Reading a large JSON upload a part at a time: the envelope's members, then its records.

The body is decoded a window at a time, and each value is read by the standard library's
C scanner (`json.JSONDecoder.raw_decode`), which tells where the value ends: the records
are handed on one by one as their exact JSON text, for pydantic to validate strictly. The
same pass refuses a repeated key in any object (see `parsing.py` for why) and the
non-standard constants NaN and Infinity, which pydantic's parser refuses too. Numbers are
not converted (nothing here needs them), so a gigantic integer costs nothing.

Memory is the window (a part of the body, 256 kB) plus the record being read, whatever
the body's size; only a single value larger than the window widens it, up to that
value's size.
When asked (`slab_size`), the array's records come instead as Slabs of whole records cut
by `slabs.py`, far more cheaply, for as long as the body is written as that expects; the
scanner here reads whatever it hands back.
Our own small scanner on the stdlib's C one, rather than a streaming-parser dependency:
it needs the exact text of each record (pydantic validates JSON text strictly, and would
coerce nothing from Python values), which event-based parsers such as ijson do not give.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any

from services.errors import FieldError, ValidationFailed
from services.intake.parsing import duplicate_key
from services.intake.slabs import Slab, cut_slabs


@dataclass(frozen=True, slots=True)
class Member:
    """A member of the envelope other than the records array, as its JSON text."""

    key: str
    text: str


@dataclass(frozen=True, slots=True)
class Record:
    """One element of the records array: its index, its JSON text and, when it is an
    object, its members as plain values (numbers left out)."""

    index: int
    text: str
    raw: Any


class NotAnObject(Exception):
    """The body is not a JSON object: no streaming to do, only a refusal to word."""


def malformed() -> ValidationFailed:
    return ValidationFailed([FieldError("", "malformed_json", "The body is not valid JSON.")])


class _DuplicateKey(ValueError):
    pass


class _Constant(ValueError):
    pass


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        keys = [key for key, _ in pairs]
        raise _DuplicateKey(next(key for key in keys if keys.count(key) > 1))
    return members


def _constant(name: str) -> None:
    raise _Constant(name)


def _number(_text: str) -> None:
    return None


_DECODER = json.JSONDecoder(
    object_pairs_hook=_object, parse_constant=_constant, parse_int=_number, parse_float=_number
)
_SPACE = re.compile(r"[ \t\n\r]*")


class _Window:
    """The decoded body from the current position to the end of the last part read."""

    def __init__(self, parts: Iterable[bytes]) -> None:
        self._parts: Iterator[bytes] = iter(parts)
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._text = ""
        self._at = 0
        self._ended = False

    def _more(self) -> bool:
        """Read the next part; False at the end of the body."""
        if self._ended:
            return False
        part = next(self._parts, None)
        try:
            decoded = self._utf8.decode(part or b"", final=part is None)
        except UnicodeDecodeError:
            raise malformed() from None
        self._ended = part is None
        self._text = self._text[self._at :] + decoded
        self._at = 0
        return True

    def hand_over(self) -> tuple[bytes, Iterator[bytes]]:
        """The body from the current position on, as its bytes and the parts not yet read:
        for another reader to go on with (this window is done with)."""
        pending, _ = self._utf8.getstate()
        return self._text[self._at :].encode() + pending, self._parts

    def peek(self) -> str:
        """The next character after whitespace ('' at the end of the body)."""
        while True:
            self._at = _SPACE.match(self._text, self._at).end()  # type: ignore[union-attr]
            if self._at < len(self._text):
                return self._text[self._at]
            if not self._more():
                return ""

    def take(self, expected: str) -> None:
        if self.peek() != expected:
            raise malformed()
        self._at += 1

    def after_element(self) -> bool:
        """Past the ',' that another element follows (True) or the array's ']' (False)."""
        text, at = self._text, self._at
        following = text[at] if at < len(text) else self.peek()  # compact JSON: no spaces
        if following in " \t\n\r":
            following = self.peek()
        if following not in ",]":
            raise malformed()
        self._at += 1
        return following == ","

    def value(self) -> tuple[Any, str]:
        """The next JSON value and its exact text."""
        if self._at >= len(self._text) or self._text[self._at] in " \t\n\r":
            self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self._text, self._at)
            except _DuplicateKey as duplicate:
                raise duplicate_key(str(duplicate)) from None
            except (_Constant, RecursionError):
                raise malformed() from None
            except ValueError:  # perhaps only cut short by the window's end
                if self._more():
                    continue
                raise malformed() from None
            # A number at the window's end may go on in the next part.
            if end == len(self._text) and self._more():
                continue
            text = self._text[self._at : end]
            self._at = end
            return value, text


def scan_upload(
    parts: Iterable[bytes], *, array: str, slab_size: int = 0
) -> Iterator[Member | Record | Slab]:
    """The members of the top-level object in order, the `array` member's elements as
    Records (an `array` member that is not a non-empty array comes as a Member); with a
    `slab_size`, as many of them as can be as Slabs of that many records (see `slabs.py`:
    the reader sets each Slab's `records`). Raises ValidationFailed for malformed JSON or a
    repeated key, NotAnObject for another value."""
    window = _Window(parts)
    if window.peek() != "{":
        raise NotAnObject
    window.take("{")
    keys: set[str] = set()
    if window.peek() == "}":
        window.take("}")
    else:
        while True:
            if window.peek() != '"':
                raise malformed()
            key, _ = window.value()
            if key in keys:
                raise duplicate_key(key)
            keys.add(key)
            window.take(":")
            if key == array and window.peek() == "[":
                window = yield from _elements(window, key, slab_size)
            else:
                yield Member(key, window.value()[1])
            if window.peek() == ",":
                window.take(",")
                continue
            window.take("}")
            break
    if window.peek() != "":
        raise malformed()


def _elements(
    window: _Window, key: str, slab_size: int
) -> Generator[Member | Record | Slab, None, _Window]:
    """The array's elements; returns the window to read the rest of the body from."""
    window.take("[")
    if window.peek() == "]":
        window.take("]")
        yield Member(key, "[]")
        return window
    index = 0
    if slab_size > 0:
        head, parts = window.hand_over()
        resume = yield from cut_slabs(head, parts, first=0, size=slab_size)
        window = _Window(chain([resume.rest], resume.parts))
        if not resume.in_array:
            return window
        index = resume.index
    while True:
        raw, text = window.value()
        yield Record(index, text, raw)
        index += 1
        if not window.after_element():
            return window
