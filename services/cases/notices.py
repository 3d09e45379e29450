"""What a health board's submission tells every copy of a child's case, at once.

A child's cases are every authority's case with the same source (health board, the board's
record id): the own authority's and any it was handed to, and the England transfers made
from them. Both notices take effect in the submission's transaction, so they hold before
its 201 is sent.
- A reported death closes them all and stops contact: no letter or visit may reach a
  bereaved family.
- An S-flag removes the address from them all; only cleared officers see them from then on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.cases import lifecycle
from services.store.tables import CmeCase, EnglandTransfer

_BATCH = 500


def close_cases_of_deceased(*, session: Session, lhb_code: str, record_ids: Sequence[str]) -> int:
    now = datetime.now(UTC)
    closed = sum(
        lifecycle.close_for_death(case, now=now) for case in _copies(session, lhb_code, record_ids)
    )
    session.flush()
    return closed


def hide_addresses_of_sensitive(
    *, session: Session, lhb_code: str, record_ids: Sequence[str]
) -> int:
    """Returns how many cases changed."""
    now = datetime.now(UTC)
    cases = list(_copies(session, lhb_code, record_ids))
    changed = sum(lifecycle.mark_sensitive(case, now=now) for case in cases)
    case_ids = [case.case_id for case in cases]
    for start in range(0, len(case_ids), _BATCH):
        for transfer in session.scalars(
            select(EnglandTransfer)
            .where(EnglandTransfer.case_id.in_(case_ids[start : start + _BATCH]))
            .with_for_update()
        ):
            if transfer.child.get("address") is not None:
                transfer.child = dict(transfer.child) | {"address": None}
    session.flush()
    return changed


def _copies(session: Session, lhb_code: str, record_ids: Sequence[str]) -> Iterator[CmeCase]:
    for start in range(0, len(record_ids), _BATCH):
        yield from session.scalars(
            select(CmeCase)
            .where(
                CmeCase.source_lhb_code == lhb_code,
                CmeCase.source_record_id.in_(record_ids[start : start + _BATCH]),
            )
            .with_for_update()
        )
