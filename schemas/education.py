"""Wire models of an authority's education records (SPEC.md, Education records)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator
from pydantic.dataclasses import dataclass

from schemas.codes import EheSuitability, Provision, Sex
from schemas.identifiers import (
    TEXT_WITHOUT_CONTROLS,
    NhsNumber,
    OptionalPersonName,
    PersonName,
    Postcode,
    Upn,
)
from schemas.problems import record_rule
from schemas.submissions import INBOUND, AddressLine, FormerName, Inbound, RecordId

ProviderText = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=TEXT_WITHOUT_CONTROLS
    ),
]


@dataclass(config=INBOUND, slots=True, frozen=True)
class EducationAddress:
    lines: list[AddressLine] = Field(default_factory=list, max_length=6)
    postcode: Postcode | None = None


@dataclass(config=INBOUND, slots=True, frozen=True)
class EducationRecordIn:
    record_id: RecordId
    given_name: PersonName
    family_name: PersonName
    date_of_birth: date
    provision: Provision
    middle_names: OptionalPersonName = None
    former_names: list[FormerName] = Field(default_factory=list, max_length=10)
    sex: Sex | None = None
    address: EducationAddress | None = None
    upn: Upn | None = None
    nhs_number: NhsNumber | None = None
    provider_name: ProviderText | None = None
    provider_code: ProviderText | None = None
    ehe_suitability: EheSuitability | None = Field(
        default=None, description="Required when `provision` is `ehe`, absent otherwise."
    )

    @model_validator(mode="after")
    def _suitability_only_for_home_education(self) -> EducationRecordIn:
        if self.provision == "ehe" and self.ehe_suitability is None:
            raise record_rule(
                "ehe_suitability_required", "ehe_suitability", "Required when provision is ehe."
            )
        if self.provision != "ehe" and self.ehe_suitability is not None:
            raise record_rule(
                "ehe_suitability_not_allowed",
                "ehe_suitability",
                "Only home-educated children carry ehe_suitability.",
            )
        return self


class EducationRecordsIn(Inbound):
    as_of: date
    records: list[EducationRecordIn] = Field(max_length=500_000)


class EducationRecordsReceipt(BaseModel):
    la_code: str
    as_of: date
    record_count: int
    records_by_provision: dict[str, int]
    reconciliation_id: str | None = Field(
        description="The reconciliation this upload queued, or joined if one was already "
        "queued; null when none was queued (no health records are waiting for the authority)."
    )
