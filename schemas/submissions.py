"""Wire models of signed health-board submissions (SPEC.md, Signed submissions)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic.dataclasses import dataclass
from pydantic_core import PydanticCustomError

from schemas.codes import Sex
from schemas.identifiers import (
    TEXT_WITHOUT_CONTROLS,
    NhsNumber,
    OptionalPersonName,
    PersonName,
    Postcode,
)
from schemas.organisations import is_health_board, is_local_authority
from schemas.problems import record_rule


def _welsh_la(code: str) -> str:
    if not is_local_authority(code):
        raise PydanticCustomError("unknown_local_authority", "Not a Welsh local authority code.")
    return code


def _health_board(code: str) -> str:
    if not is_health_board(code):
        raise PydanticCustomError("unknown_health_board", "Not an NHS Wales health board code.")
    return code


WelshLaCode = Annotated[str, AfterValidator(_welsh_la)]
HealthBoardCode = Annotated[str, AfterValidator(_health_board)]
# The board's opaque id: printable ASCII without spaces, so it is safe in URLs, logs and CSV.
RecordId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[!-~]+$")]
AddressLine = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=100, pattern=TEXT_WITHOUT_CONTROLS
    ),
]
PracticeCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{3,8}$")]


INBOUND = ConfigDict(extra="forbid", strict=True)


class Inbound(BaseModel):
    """Inbound models refuse unknown fields and never coerce types."""

    model_config = ConfigDict(**INBOUND, frozen=True)


# Records are slotted pydantic dataclasses, not models: a 100,000-record extract is held in
# memory whole while it is validated, and these take about a quarter of a model's memory.
@dataclass(config=INBOUND, slots=True, frozen=True)
class FormerName:
    family_name: PersonName
    given_name: PersonName | None = None


@dataclass(config=INBOUND, slots=True, frozen=True)
class Address:
    lines: list[AddressLine] = Field(min_length=1, max_length=6)
    postcode: Postcode = Field(description="UK postcode, normalised to e.g. `CF11 9AB`.")
    last_known: bool = False


@dataclass(config=INBOUND, slots=True, frozen=True)
class HealthRecordIn:
    record_id: RecordId
    given_name: PersonName
    family_name: PersonName
    date_of_birth: date
    local_authority_code: WelshLaCode
    nhs_number: NhsNumber | None = None
    middle_names: OptionalPersonName = None
    former_names: list[FormerName] = Field(default_factory=list, max_length=10)
    sex: Sex | None = None
    address: Address | None = Field(
        default=None, description="Required unless `sensitive`; must be absent when it is."
    )
    gp_practice_code: PracticeCode | None = None
    sensitive: bool = False
    date_of_death: date | None = None

    @model_validator(mode="after")
    def _address_and_dates_agree(self) -> HealthRecordIn:
        if self.sensitive and self.address is not None:
            raise record_rule(
                "address_not_allowed_for_sensitive",
                "address",
                "A sensitive record must not carry an address.",
            )
        if not self.sensitive and self.address is None:
            raise record_rule("required", "address", "address is required unless sensitive.")
        if self.date_of_death is not None and self.date_of_death < self.date_of_birth:
            raise record_rule(
                "date_of_death_before_birth", "date_of_death", "Before the date of birth."
            )
        return self


class SubmissionIn(Inbound):
    submission_id: UUID
    lhb_code: HealthBoardCode
    extract_type: Literal["full", "delta"]
    extracted_at: AwareDatetime
    records: list[HealthRecordIn] = Field(min_length=1)


class NotRetained(BaseModel):
    not_compulsory_school_age: int
    deceased: int


class Receipt(BaseModel):
    """What the service acknowledges, sent only once every retained record is committed."""

    submission_id: str
    lhb_code: str
    status: Literal["accepted"]
    received_at: datetime
    record_count: int = Field(description="Records in the body, retained or not.")
    body_sha256: str = Field(description="SHA-256 (hex) of the exact body bytes received.")
    records_by_local_authority: dict[str, int] = Field(
        description="Records retained as candidates, per local authority."
    )
    not_retained: NotRetained
