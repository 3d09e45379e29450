"""Inbound records as table rows: the person columns filled the same way for both sides.

Rows are keyed by column name, so the loaders take their column lists from the tables.
"""

from __future__ import annotations

from typing import Protocol

from schemas.education import EducationRecordIn
from schemas.submissions import HealthRecordIn
from services.store.bulk import Row


class _Name(Protocol):
    @property
    def given_name(self) -> str | None: ...
    @property
    def family_name(self) -> str: ...


def person_columns(record: HealthRecordIn | EducationRecordIn, *, with_address: bool) -> Row:
    """The PersonColumns of a record. `with_address` False keeps the address out (a
    sensitive child's never enters the system)."""
    address = record.address if with_address else None
    return {
        "nhs_number": record.nhs_number,
        "given_name": record.given_name,
        "middle_names": record.middle_names,
        "family_name": record.family_name,
        "former_names": [_former(name) for name in record.former_names],
        "date_of_birth": record.date_of_birth,
        "sex": record.sex,
        "address_lines": None if address is None or not address.lines else list(address.lines),
        "postcode": None if address is None else address.postcode,
    }


def health_record_row(lhb_code: str, submission_id: str, record: HealthRecordIn) -> Row:
    return {
        "lhb_code": lhb_code,
        "record_id": record.record_id,
        "submission_id": submission_id,
        "local_authority_code": record.local_authority_code,
        "address_last_known": None
        if record.sensitive or record.address is None
        else record.address.last_known,
        "gp_practice_code": record.gp_practice_code,
        "sensitive": record.sensitive,
        **person_columns(record, with_address=not record.sensitive),
    }


def education_record_row(la_code: str, record: EducationRecordIn) -> Row:
    return {
        "la_code": la_code,
        "record_id": record.record_id,
        "upn": record.upn,
        "provision": record.provision,
        "provider_name": record.provider_name,
        "provider_code": record.provider_code,
        "ehe_suitability": record.ehe_suitability,
        **person_columns(record, with_address=True),
    }


def _former(name: _Name) -> dict[str, str | None]:
    return {"given_name": name.given_name, "family_name": name.family_name}
