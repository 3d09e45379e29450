"""Children who moved to England: the transfer records their English authority needs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from api.deps import (
    CaseWorker,
    CmeReader,
    LaCode,
    Session,
    own_authority,
)
from api.responses import AUTHENTICATED, OWN_AUTHORITY, problems
from schemas.transfers import EnglandTransferList, EnglandTransferOut
from services.cases import transfers
from services.cases.wire import england_transfer_out

router = APIRouter(prefix="/v1/local-authorities/{la_code}/england-transfers", tags=["cme cases"])


@router.get(
    "",
    response_model=EnglandTransferList,
    summary="Children who moved to England, for their English authority",
    description="Pending transfers carry the child's details until marked exported; "
    "`overdue` is true 28 days after the move.",
    responses=problems(*AUTHENTICATED, *OWN_AUTHORITY),
)
async def list_england_transfers(
    session: Session,
    caller: CmeReader,
    la_code: LaCode,
    pending: Annotated[bool, Query(description="Only those not yet exported.")] = True,
) -> EnglandTransferList:
    own_authority(caller, la_code)
    found = await run_in_threadpool(
        transfers.england_transfers,
        session=session,
        la_code=la_code,
        caller=caller,
        pending_only=pending,
    )
    return EnglandTransferList(items=[england_transfer_out(t) for t in found])


@router.post(
    "/{transfer_id}/exported",
    response_model=EnglandTransferOut,
    summary="Mark a transfer as sent to the English authority (its details are then deleted)",
    responses=problems(*AUTHENTICATED, *OWN_AUTHORITY),
)
async def mark_exported(
    session: Session,
    caller: CaseWorker,
    la_code: LaCode,
    transfer_id: Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")],
) -> EnglandTransferOut:
    own_authority(caller, la_code)
    transfer = await run_in_threadpool(
        transfers.mark_exported,
        session=session,
        la_code=la_code,
        caller=caller,
        transfer_id=transfer_id,
    )
    return england_transfer_out(transfer)
