"""Wire models of the operators' probes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Health(BaseModel):
    """The answer of a probe that passed."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: str = Field(description="`ok` from `/healthz`, `ready` from `/readyz`.")
