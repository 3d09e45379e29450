"""Aggregate statistics for the Welsh Government, with small numbers suppressed.

Counts from 1 to 4 are published as null and named in `suppressed` (StatsWales practice),
so that no small group of children can be singled out; a rate whose numerator is
suppressed is suppressed too.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schemas.codes import OUTCOMES, PROVISIONS
from schemas.organisations import organisations
from schemas.statistics import AuthorityStatistics, Statistics
from services import audit
from services.caller import Caller
from services.store.tables import CmeCase, Reconciliation

SMALL = range(1, 5)


def statistics(*, session: Session, caller: Caller) -> Statistics:
    latest = _latest_summaries(session)
    opened = dict(
        session.execute(select(CmeCase.la_code, func.count()).group_by(CmeCase.la_code)).all()
    )
    by_status: dict[tuple[str, str, str | None], int] = {
        (la, status, outcome): count
        for la, status, outcome, count in session.execute(
            select(CmeCase.la_code, CmeCase.status, CmeCase.outcome, func.count()).group_by(
                CmeCase.la_code, CmeCase.status, CmeCase.outcome
            )
        )
    }
    suppressed: list[str] = []
    authorities: list[AuthorityStatistics] = []
    las = sorted((o for o in organisations().values() if o.kind == "la"), key=lambda o: o.code)
    for index, la in enumerate(las):
        at = f"/local_authorities/{index}"
        summary = latest.get(la.code, {})
        considered = int(summary.get("health_records_considered", 0))
        matched = {p: int(summary.get("matched_by_provision", {}).get(p, 0)) for p in PROVISIONS}
        unmatched = max(considered - sum(matched.values()), 0)
        closed: dict[str, int] = defaultdict(int)
        for (code, status, outcome), count in by_status.items():
            if code == la.code and status == "closed" and outcome is not None:
                closed[outcome] += count
        authorities.append(
            AuthorityStatistics(
                la_code=la.code,
                name=la.name,
                health_records_received=_shown(
                    considered, f"{at}/health_records_received", suppressed
                ),
                matched_by_provision={
                    p: _shown(n, f"{at}/matched_by_provision/{p}", suppressed)
                    for p, n in matched.items()
                },
                not_matched=_shown(unmatched, f"{at}/not_matched", suppressed),
                cases_opened=_shown(int(opened.get(la.code, 0)), f"{at}/cases_opened", suppressed),
                cases_open=_shown(
                    sum(n for (c, s, _), n in by_status.items() if c == la.code and s == "open"),
                    f"{at}/cases_open",
                    suppressed,
                ),
                cases_closed_by_outcome={
                    o: _shown(closed.get(o, 0), f"{at}/cases_closed_by_outcome/{o}", suppressed)
                    for o in OUTCOMES
                },
                # Last, so that its pointer follows those of the counts it is derived from.
                unmatched_rate=_rate(unmatched, considered, f"{at}/unmatched_rate", suppressed),
            )
        )
    audit.record(
        session=session,
        caller=caller,
        action="statistics.read",
        object_type="statistics",
        object_ids=[],
    )
    return Statistics(
        generated_at=datetime.now(UTC).isoformat(),
        local_authorities=authorities,
        suppressed=suppressed,
    )


def _shown(count: int, pointer: str, suppressed: list[str]) -> int | None:
    if count in SMALL:
        suppressed.append(pointer)
        return None
    return count


def _rate(unmatched: int, considered: int, pointer: str, suppressed: list[str]) -> float | None:
    """The unmatched share, suppressed with the count it would reveal."""
    if not considered:
        return None
    if unmatched in SMALL:
        suppressed.append(pointer)
        return None
    return round(unmatched / considered, 4)


def _latest_summaries(session: Session) -> dict[str, dict[str, Any]]:
    newest = (
        select(Reconciliation.la_code, func.max(Reconciliation.finished_at).label("finished_at"))
        .where(Reconciliation.status == "succeeded")
        .group_by(Reconciliation.la_code)
        .subquery()
    )
    rows = session.execute(
        select(Reconciliation.la_code, Reconciliation.summary).join(
            newest,
            (Reconciliation.la_code == newest.c.la_code)
            & (Reconciliation.finished_at == newest.c.finished_at),
        )
    )
    return {la: summary or {} for la, summary in rows}
