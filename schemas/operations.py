"""Wire models of the operators' probes."""

from __future__ import annotations

from pydantic import BaseModel


class Health(BaseModel):
    status: str
