"""Aggregate statistics for the Welsh Government (SPEC.md, Statistics)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api.deps import (
    Session,
    StatisticsReader,
)
from api.responses import AUTHENTICATED, problems
from schemas.statistics import Statistics
from services.governance.statistics import statistics

router = APIRouter(tags=["statistics"])


@router.get(
    "/v1/statistics",
    response_model=Statistics,
    summary="Per-authority counts, small numbers suppressed",
    responses=problems(*AUTHENTICATED),
)
async def read_statistics(session: Session, caller: StatisticsReader) -> Statistics:
    return await run_in_threadpool(statistics, session=session, caller=caller)
