"""Wire models of signed health-board submissions (SPEC.md, Signed submissions)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
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
    """A name the child was known by before, e.g. before adoption or a change of name."""

    family_name: PersonName = Field(description="Former family name, 1-100 characters (NFC).")
    given_name: PersonName | None = Field(
        default=None, description="Former given name; null or absent when it did not change."
    )


# The fields both sides record about a child, described once for every record model.
# Required ones are still declared `= Field()`: in a dataclass they follow fields that
# carry a Field(...), which the standard library counts as defaults.
GivenName = Annotated[PersonName, Field(description="Given name, 1-100 characters, stored in NFC.")]
FamilyName = Annotated[
    PersonName, Field(description="Family name, 1-100 characters, stored in NFC.")
]
DateOfBirth = Annotated[date, Field(description="ISO 8601 date, e.g. `2015-03-02`.")]
MiddleNames = Annotated[
    OptionalPersonName,
    Field(description="Middle names, space-separated; null (or blank) for none."),
]
FormerNames = Annotated[
    list[FormerName],
    Field(max_length=10, description="Up to 10 former names; empty for none."),
]
KnownNhsNumber = Annotated[
    NhsNumber | None,
    Field(description="10 digits without spaces, passing the modulus-11 check; null if unknown."),
]


@dataclass(config=INBOUND, slots=True, frozen=True)
class Address:
    """The child's address, or last known address, as the health board holds it."""

    lines: list[AddressLine] = Field(
        min_length=1,
        max_length=6,
        description="1 to 6 address lines without the postcode, each 1-100 characters.",
    )
    postcode: Postcode = Field(description="UK postcode, normalised to e.g. `CF11 9AB`.")
    last_known: bool = Field(
        default=False,
        description="True when this is the last known address, not a confirmed current one.",
    )


@dataclass(config=INBOUND, slots=True, frozen=True)
class HealthRecordIn:
    """One child on the health board's list (Schedule 2 of the pilot regulations)."""

    record_id: RecordId = Field(
        description="The board's stable opaque id for the child: 1-64 printable ASCII "
        "characters without spaces, unique within the submission."
    )
    given_name: GivenName = Field()
    family_name: FamilyName = Field()
    date_of_birth: DateOfBirth = Field()
    local_authority_code: WelshLaCode = Field(
        description="ONS GSS code of the Welsh local authority the child usually lives in "
        "(`W06000001`..`W06000024`)."
    )
    nhs_number: KnownNhsNumber = None
    middle_names: MiddleNames = None
    former_names: FormerNames = Field(default_factory=list)
    sex: Sex | None = Field(
        default=None,
        description="NHS Wales code: `F`, `M`, `U` (indeterminate), `Z` (not known or not "
        "disclosed); null if not sent.",
    )
    address: Address | None = Field(
        default=None, description="Required unless `sensitive`; must be absent when it is."
    )
    gp_practice_code: PracticeCode | None = Field(
        default=None,
        description="ODS code of the child's GP practice (3-8 capital letters or digits, "
        "e.g. `W97001`); null if not sent.",
    )
    sensitive: bool = Field(
        default=False,
        description="The NHS S-flag: the child's address must never be disclosed. The case "
        "is shown only to officers with `cme:sensitive`.",
    )
    date_of_death: date | None = Field(
        default=None,
        description="Set when the child has died: the record is not kept as a candidate and "
        "any open case closes at once with `do_not_contact`. Null otherwise.",
    )

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


_SUBMISSION_ID = "3f0e9c1e-6b1a-4c1e-9f4e-2d7b8a1c0e55"


# The child the examples follow from a board's extract to a case (synthetic: the NHS number
# is from the never-issued 999 range, with a valid modulus-11 check digit).
EXAMPLE_CHILD: dict[str, Any] = {
    "given_name": "Cerys",
    "middle_names": "Mair",
    "family_name": "Jones",
    "former_names": [{"given_name": "Cerys", "family_name": "Price"}],
    "date_of_birth": "2015-03-02",
    "sex": "F",
    "address": {
        "lines": ["12 Heol y Bont", "Treganna"],
        "postcode": "CF11 9AB",
        "last_known": False,
    },
    "nhs_number": "9990001847",
}


class SubmissionEnvelope(Inbound):
    """A submission's fields other than its records: validated on their own while a large
    submission's records are read a part at a time."""

    submission_id: UUID = Field(
        description="Chosen by the sender; makes the call idempotent: the same id with the "
        "same body answers 200 with the original receipt, with a different body 409."
    )
    lhb_code: HealthBoardCode = Field(
        description="NHS Wales ODS code of the sending board (`7A1`..`7A7`); must be the "
        "calling client's organisation."
    )
    extract_type: Literal["full", "delta"] = Field(
        description="`full` replaces everything the board sent before for the local "
        "authorities in it; `delta` adds or updates records by `record_id`."
    )
    extracted_at: AwareDatetime = Field(
        description="When the extract was taken, with offset; compulsory school age is "
        "judged on its date."
    )


class SubmissionIn(SubmissionEnvelope):
    """A health board's extract of the children who usually live in Welsh local authorities,
    sent with a detached JWS in `X-JWS-Signature`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "submission_id": _SUBMISSION_ID,
                    "lhb_code": "7A4",
                    "extract_type": "full",
                    "extracted_at": "2026-01-15T02:00:00Z",
                    "records": [
                        {
                            "record_id": "cav-000184",
                            **EXAMPLE_CHILD,
                            "local_authority_code": "W06000015",
                            "gp_practice_code": "W97001",
                            "sensitive": False,
                            "date_of_death": None,
                        },
                        {
                            "record_id": "cav-000185",
                            "given_name": "Oliver",
                            "family_name": "Smith",
                            "date_of_birth": "2013-11-20",
                            "sex": "M",
                            "local_authority_code": "W06000015",
                            "sensitive": True,
                        },
                    ],
                }
            ]
        }
    )

    records: list[HealthRecordIn] = Field(
        min_length=1, description="The children, at least one; all valid or none is stored."
    )


class NotRetained(BaseModel):
    """Records accepted but not kept as candidates, by reason."""

    not_compulsory_school_age: int = Field(
        description="Children not of compulsory school age on the extract date."
    )
    deceased: int = Field(description="Records carrying a `date_of_death`.")


class Receipt(BaseModel):
    """What the service acknowledges, sent only once every retained record is committed."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "submission_id": _SUBMISSION_ID,
                    "lhb_code": "7A4",
                    "status": "accepted",
                    "received_at": "2026-01-15T02:05:12Z",
                    "record_count": 2,
                    "body_sha256": "9f86d081884c7d659a2feaa0c55ad015"
                    "a3bf4f1b2b0b822cd15d6c15b0f00a08",
                    "records_by_local_authority": {"W06000015": 2},
                    "not_retained": {"not_compulsory_school_age": 0, "deceased": 0},
                }
            ]
        }
    )

    submission_id: str = Field(description="The submission's UUID, as sent.")
    lhb_code: str = Field(description="NHS Wales ODS code of the board that sent it.")
    status: Literal["accepted"] = Field(description="Always `accepted`.")
    received_at: datetime = Field(description="When the service received it, with offset.")
    record_count: int = Field(description="Records in the body, retained or not.")
    body_sha256: str = Field(description="SHA-256 (hex) of the exact body bytes received.")
    records_by_local_authority: dict[str, int] = Field(
        description="Records retained as candidates, per local authority."
    )
    not_retained: NotRetained = Field(description="Records accepted but not kept, by reason.")
