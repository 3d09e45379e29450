"""Aggregate statistics for the Welsh Government, with small numbers suppressed.

Counts from 1 to 4 are published as null and named in `suppressed` (StatsWales practice),
so that no small group of children can be singled out. The table's own sums (received =
matched by each provision + not matched; opened = open + closed by each outcome) would give
a lone null back by subtraction, so more cells go with it until none can be derived
(`suppression.py`); the unmatched rate is withheld with either count it is made from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schemas.codes import OUTCOMES, PROVISIONS, Outcome, Provision
from schemas.organisations import organisations
from schemas.statistics import AuthorityStatistics, Statistics
from services import audit
from services.caller import Caller
from services.governance.suppression import Sum, withheld
from services.store.tables import CmeCase, Reconciliation


@dataclass(frozen=True, slots=True)
class AuthorityCounts:
    """One authority's true counts, before anything is withheld."""

    la_code: str
    name: str
    health_records_received: int
    matched_by_provision: Mapping[Provision, int]
    cases_opened: int
    cases_open: int
    cases_closed_by_outcome: Mapping[Outcome, int]

    @property
    def not_matched(self) -> int:
        return max(self.health_records_received - sum(self.matched_by_provision.values()), 0)


def statistics(*, session: Session, caller: Caller) -> Statistics:
    published = publish(_counts(session), generated_at=datetime.now(UTC))
    audit.record(
        session=session,
        caller=caller,
        action="statistics.read",
        object_type="statistics",
        object_ids=[],
    )
    return published


def publish(authorities: Sequence[AuthorityCounts], *, generated_at: datetime) -> Statistics:
    """The published table: null wherever a count is 1 to 4 or would give one away."""
    counts: dict[str, int] = {}
    sums: list[Sum] = []
    for index, authority in enumerate(authorities):
        at = f"/local_authorities/{index}"
        counts |= _cells(at, authority)
        sums += _sums(at, authority)
    hidden = withheld(counts, sums)

    def shown(pointer: str) -> int | None:
        return None if pointer in hidden else counts[pointer]

    suppressed: list[str] = []
    published: list[AuthorityStatistics] = []
    for index, authority in enumerate(authorities):
        at = f"/local_authorities/{index}"
        suppressed += [pointer for pointer in _cells(at, authority) if pointer in hidden]
        received, not_matched = shown(f"{at}/health_records_received"), shown(f"{at}/not_matched")
        rate: float | None = None
        if authority.health_records_received:
            if received is None or not_matched is None:
                # Listed after the counts it is made from.
                suppressed.append(f"{at}/unmatched_rate")
            else:
                rate = round(not_matched / received, 4)
        published.append(
            AuthorityStatistics(
                la_code=authority.la_code,
                name=authority.name,
                health_records_received=received,
                matched_by_provision={
                    p: shown(f"{at}/matched_by_provision/{p}")
                    for p in authority.matched_by_provision
                },
                not_matched=not_matched,
                unmatched_rate=rate,
                cases_opened=shown(f"{at}/cases_opened"),
                cases_open=shown(f"{at}/cases_open"),
                cases_closed_by_outcome={
                    o: shown(f"{at}/cases_closed_by_outcome/{o}")
                    for o in authority.cases_closed_by_outcome
                },
            )
        )
    return Statistics(
        generated_at=generated_at.isoformat(),
        local_authorities=published,
        suppressed=suppressed,
    )


def _cells(at: str, authority: AuthorityCounts) -> dict[str, int]:
    """The authority's counts by JSON Pointer, in the order the response shows them."""
    return {
        f"{at}/health_records_received": authority.health_records_received,
        **{f"{at}/matched_by_provision/{p}": n for p, n in authority.matched_by_provision.items()},
        f"{at}/not_matched": authority.not_matched,
        f"{at}/cases_opened": authority.cases_opened,
        f"{at}/cases_open": authority.cases_open,
        **{
            f"{at}/cases_closed_by_outcome/{o}": n
            for o, n in authority.cases_closed_by_outcome.items()
        },
    }


def _sums(at: str, authority: AuthorityCounts) -> list[Sum]:
    """The sums a reader can form from the authority's row. None crosses authorities: the
    response has no totals for Wales."""
    return [
        Sum(
            f"{at}/health_records_received",
            (
                *(f"{at}/matched_by_provision/{p}" for p in authority.matched_by_provision),
                f"{at}/not_matched",
            ),
        ),
        # Every case of the authority is open or closed with an outcome (cases/lifecycle.py).
        Sum(
            f"{at}/cases_opened",
            (
                f"{at}/cases_open",
                *(f"{at}/cases_closed_by_outcome/{o}" for o in authority.cases_closed_by_outcome),
            ),
        ),
    ]


def _counts(session: Session) -> list[AuthorityCounts]:
    latest = _latest_summaries(session)
    by_status: dict[tuple[str, str, str | None], int] = {
        (la, status, outcome): count
        for la, status, outcome, count in session.execute(
            select(CmeCase.la_code, CmeCase.status, CmeCase.outcome, func.count()).group_by(
                CmeCase.la_code, CmeCase.status, CmeCase.outcome
            )
        )
    }
    las = sorted((o for o in organisations().values() if o.kind == "la"), key=lambda o: o.code)
    authorities: list[AuthorityCounts] = []
    for la in las:
        summary = latest.get(la.code, {})
        matched = summary.get("matched_by_provision", {})
        cases = {(s, o): n for (code, s, o), n in by_status.items() if code == la.code}
        authorities.append(
            AuthorityCounts(
                la_code=la.code,
                name=la.name,
                health_records_received=int(summary.get("health_records_considered", 0)),
                matched_by_provision={p: int(matched.get(p, 0)) for p in PROVISIONS},
                cases_opened=sum(cases.values()),
                cases_open=sum(n for (s, _), n in cases.items() if s == "open"),
                cases_closed_by_outcome={o: cases.get(("closed", o), 0) for o in OUTCOMES},
            )
        )
    return authorities


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
