"""Wire models of the transfer records of children who moved to England."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class EnglandTransferOut(BaseModel):
    transfer_id: str
    case_id: str
    child: dict[str, Any]
    note: str | None
    started_at: datetime
    due_by: datetime
    overdue: bool
    exported_at: datetime | None


class EnglandTransferList(BaseModel):
    items: list[EnglandTransferOut]
