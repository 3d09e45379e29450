"""Wire models of an authority's education records (SPEC.md, Education records)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.dataclasses import dataclass

from schemas.codes import EheSuitability, Provision, Sex
from schemas.identifiers import (
    TEXT_WITHOUT_CONTROLS,
    Postcode,
    Upn,
)
from schemas.problems import record_rule
from schemas.submissions import (
    INBOUND,
    AddressLine,
    DateOfBirth,
    FamilyName,
    FormerNames,
    GivenName,
    Inbound,
    KnownNhsNumber,
    MiddleNames,
    RecordId,
)

ProviderText = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=TEXT_WITHOUT_CONTROLS
    ),
]


@dataclass(config=INBOUND, slots=True, frozen=True)
class EducationAddress:
    """The child's address as the authority's education records hold it."""

    lines: list[AddressLine] = Field(
        default_factory=list,
        max_length=6,
        description="Up to 6 address lines without the postcode, each 1-100 characters.",
    )
    postcode: Postcode | None = Field(
        default=None, description="UK postcode, normalised to e.g. `CF11 9AB`; null if unknown."
    )


@dataclass(config=INBOUND, slots=True, frozen=True)
class EducationRecordIn:
    """One child the authority knows to be educated: on a roll, in EOTAS, at an independent
    school or a school in England, or on the elective home education register."""

    record_id: RecordId = Field(
        description="The authority's stable opaque id for the record: 1-64 printable ASCII "
        "characters without spaces, unique within the upload."
    )
    given_name: GivenName = Field()
    family_name: FamilyName = Field()
    date_of_birth: DateOfBirth = Field()
    provision: Provision = Field(
        description="Who educates the child: `maintained_school`, `independent_school`, "
        "`eotas` (education otherwise than at school), `school_in_england` or `ehe` "
        "(elective home education)."
    )
    middle_names: MiddleNames = None
    former_names: FormerNames = Field(default_factory=list)
    sex: Sex | None = Field(
        default=None,
        description="`F`, `M`, `U` (indeterminate) or `Z` (not known); null if not held.",
    )
    address: EducationAddress | None = Field(default=None, description="Null if not held.")
    upn: Upn | None = Field(
        default=None,
        description="Unique Pupil Number: 13 characters with a mod-23 check letter; null if "
        "the child has none.",
    )
    nhs_number: KnownNhsNumber = None
    provider_name: ProviderText | None = Field(
        default=None, description="Name of the school or provider, 1-200 characters; or null."
    )
    provider_code: ProviderText | None = Field(
        default=None,
        description="The provider's code (e.g. the school's LA and establishment number "
        "`6812345`), 1-200 characters; or null.",
    )
    ehe_suitability: EheSuitability | None = Field(
        default=None,
        description="Required when `provision` is `ehe`, absent otherwise: `assured` (the "
        "authority is assured the education is suitable) or `not_assured`.",
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


MAX_EDUCATION_RECORDS = 500_000


class EducationRecordsEnvelope(Inbound):
    """An upload's fields other than its records: validated on their own while a large
    upload's records are read a part at a time."""

    as_of: date = Field(description="The date the records describe, ISO 8601.")


class EducationRecordsIn(EducationRecordsEnvelope):
    """The authority's whole set of education records; replaces the set sent before."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "as_of": "2026-01-20",
                    "records": [
                        {
                            "record_id": "upn-W681000012345",
                            "given_name": "Cerys",
                            "middle_names": None,
                            "family_name": "Jones",
                            "former_names": [],
                            "date_of_birth": "2015-03-02",
                            "sex": "F",
                            "address": {"lines": ["12 Heol y Bont"], "postcode": "CF11 9AB"},
                            "upn": None,
                            "nhs_number": None,
                            "provision": "maintained_school",
                            "provider_name": "Ysgol Treganna",
                            "provider_code": "6812345",
                            "ehe_suitability": None,
                        },
                        {
                            "record_id": "ehe-000042",
                            "given_name": "Dafydd",
                            "family_name": "Llŷr",
                            "date_of_birth": "2014-07-19",
                            "sex": "M",
                            "nhs_number": "9990000018",
                            "provision": "ehe",
                            "ehe_suitability": "assured",
                        },
                    ],
                }
            ]
        }
    )

    records: list[EducationRecordIn] = Field(
        max_length=MAX_EDUCATION_RECORDS,
        description="Every record, up to 500,000; all valid or none is stored. Empty clears "
        "the authority's set.",
    )


class EducationRecordsReceipt(BaseModel):
    """What the service acknowledges once the records are stored."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "la_code": "W06000015",
                    "as_of": "2026-01-20",
                    "record_count": 2,
                    "records_by_provision": {"maintained_school": 1, "ehe": 1},
                    "reconciliation_id": "5b2e7c44-0d1f-4a7e-9c3b-8e6f2a1d9b07",
                }
            ]
        }
    )

    la_code: str = Field(description="ONS GSS code of the authority.")
    as_of: date = Field(description="The `as_of` date sent.")
    record_count: int = Field(description="Records stored.")
    records_by_provision: dict[str, int] = Field(
        description="Records stored per `provision` code; codes with none are left out."
    )
    reconciliation_id: str | None = Field(
        description="The reconciliation this upload queued, or joined if one was already "
        "queued; null when none was queued (no health records are waiting for the authority)."
    )
