"""Opaque list cursors: the position after the last item of a page, as (time, id).

Every list pages the same way: ordered by a timestamp then an id, so a row comparison on
an index serves the next page and nothing is skipped or repeated while rows change.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime

from services.errors import ServiceError
from services.intake.parsing import is_plausible_moment

_ID = re.compile(r"[0-9a-f-]{36}")


def encode_cursor(moment: datetime, item_id: str) -> str:
    position = json.dumps({"u": moment.isoformat(), "i": item_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(position.encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw)
        moment = datetime.fromisoformat(position["u"])
        item_id = position["i"]
        if not isinstance(item_id, str) or not _ID.fullmatch(item_id):
            raise ValueError("bad id")
        if moment.tzinfo is None or not is_plausible_moment(moment):
            raise ValueError("bad moment")
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as error:
        raise ServiceError(
            "The cursor is not one this service issued.", code="invalid_cursor"
        ) from error
    return moment.astimezone(UTC), item_id
