"""The synthetic health-record generator: determinism and the SPEC's record rules."""

import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from schemas.identifiers import (
    NhsNumber,
    OptionalPersonName,
    PersonName,
    Postcode,
    nhs_number_is_valid,
)
from schemas.school_age import is_compulsory_school_age
from services.synthetic import (
    LOCAL_AUTHORITY_AREAS,
    build_submission,
    generate_health_records,
    local_authority_codes,
)

REFERENCE_DATE = date(2026, 1, 15)
CARDIFF, SWANSEA, ANGLESEY = "W06000015", "W06000011", "W06000001"


class FormerName(BaseModel):
    given_name: PersonName
    family_name: PersonName


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[str]
    postcode: Postcode
    last_known: bool


class HealthRecordIdentifiers(BaseModel):
    """The parts of a health record the shared validators check."""

    model_config = ConfigDict(extra="ignore")

    nhs_number: NhsNumber | None
    given_name: PersonName
    middle_names: OptionalPersonName
    family_name: PersonName
    former_names: list[FormerName]
    address: Address | None = None


def generate(count: int = 2_000, seed: int = 7, **shares: float) -> list[dict[str, Any]]:
    return generate_health_records(
        count=count,
        la_codes=local_authority_codes(),
        reference_date=REFERENCE_DATE,
        seed=seed,
        **shares,
    )


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return generate(5_000, sensitive_share=0.01, deceased_share=0.01)


def test_same_seed_same_records() -> None:
    assert generate(seed=42) == generate(seed=42)
    assert generate(seed=42) != generate(seed=43)


def test_record_ids_and_nhs_numbers_are_unique(records: list[dict[str, Any]]) -> None:
    record_ids = [record["record_id"] for record in records]
    assert len(set(record_ids)) == len(records)
    assert record_ids[0] == "syn-0000001"
    nhs_numbers = [record["nhs_number"] for record in records if record["nhs_number"]]
    assert len(set(nhs_numbers)) == len(nhs_numbers)
    assert 0.01 * len(records) < len(records) - len(nhs_numbers) < 0.03 * len(records)


def test_nhs_numbers_are_valid_and_never_issued(records: list[dict[str, Any]]) -> None:
    for record in records:
        if record["nhs_number"] is not None:
            assert nhs_number_is_valid(record["nhs_number"])
            assert "9990000000" <= record["nhs_number"] <= "9999999999"


def test_records_have_the_submission_shape(records: list[dict[str, Any]]) -> None:
    fields = [
        "record_id", "nhs_number", "given_name", "middle_names", "family_name",
        "former_names", "date_of_birth", "sex", "address", "local_authority_code",
        "gp_practice_code", "sensitive", "date_of_death",
    ]  # fmt: skip
    for record in records:
        expected = [field for field in fields if field != "address" or not record["sensitive"]]
        assert list(record) == expected
        assert record["sex"] in {"F", "M", "U", "Z"}
        assert record["local_authority_code"] in LOCAL_AUTHORITY_AREAS
        assert len(record["gp_practice_code"]) == 6
        assert record["gp_practice_code"].startswith("W9")
    json.dumps(records)  # plain JSON types only


def test_records_pass_the_shared_validators(records: list[dict[str, Any]]) -> None:
    for record in records:
        # The validators return normalised values: equal output means the generator already
        # writes NFC names and canonical postcodes.
        validated = HealthRecordIdentifiers.model_validate(record).model_dump(exclude_unset=True)
        assert validated == {field: record[field] for field in validated}


def test_every_child_is_of_compulsory_school_age(records: list[dict[str, Any]]) -> None:
    for record in records:
        date_of_birth = date.fromisoformat(record["date_of_birth"])
        assert is_compulsory_school_age(date_of_birth, REFERENCE_DATE)


def test_sensitive_records_have_no_address_key(records: list[dict[str, Any]]) -> None:
    sensitive = [record for record in records if record["sensitive"]]
    assert len(sensitive) == 50
    assert all("address" not in record for record in sensitive)
    assert all("address" in record for record in records if not record["sensitive"])


def test_deceased_children_died_after_birth_and_by_the_reference_date(
    records: list[dict[str, Any]],
) -> None:
    deceased = [record for record in records if record["date_of_death"] is not None]
    assert len(deceased) == 50
    for record in deceased:
        date_of_death = date.fromisoformat(record["date_of_death"])
        assert date.fromisoformat(record["date_of_birth"]) <= date_of_death <= REFERENCE_DATE


def test_out_of_age_children_are_just_outside_school_age() -> None:
    records = generate(1_000, out_of_age_share=0.1)
    out_of_age = [
        record
        for record in records
        if not is_compulsory_school_age(date.fromisoformat(record["date_of_birth"]), REFERENCE_DATE)
    ]
    assert len(out_of_age) == 100
    for record in out_of_age:
        assert date.fromisoformat(record["date_of_birth"]) <= REFERENCE_DATE


def test_records_stay_in_the_requested_authorities() -> None:
    records = generate_health_records(
        count=500,
        la_codes=[CARDIFF, SWANSEA],
        reference_date=REFERENCE_DATE,
        seed=1,
        sensitive_share=0.0,
    )
    assert {record["local_authority_code"] for record in records} == {CARDIFF, SWANSEA}
    for record in records:
        district = record["address"]["postcode"].split()[0]
        assert district in LOCAL_AUTHORITY_AREAS[record["local_authority_code"]].postcode_districts


def test_names_reflect_welsh_spelling() -> None:
    records = generate_health_records(
        count=3_000, la_codes=[ANGLESEY], reference_date=REFERENCE_DATE, seed=3
    )
    names = {record["given_name"] for record in records}
    assert {"Siôn", "Llŷr", "Gwenllïan"} <= names
    assert sum(record["family_name"] == "Jones" for record in records) > 100


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"la_codes": ["W06000007"]}, ValueError),  # 007 is not an LA
        ({"la_codes": []}, ValueError),
        ({"la_codes": CARDIFF}, TypeError),
        ({"count": -1}, ValueError),
        ({"sensitive_share": 1.5}, ValueError),
    ],
)
def test_bad_arguments_are_refused(arguments: dict[str, Any], error: type[Exception]) -> None:
    call: dict[str, Any] = {
        "count": 10,
        "la_codes": [CARDIFF],
        "reference_date": REFERENCE_DATE,
        "seed": 1,
    }
    with pytest.raises(error):
        generate_health_records(**(call | arguments))


def test_every_welsh_authority_is_known() -> None:
    assert len(local_authority_codes()) == 22
    assert {"W06000007", "W06000017"}.isdisjoint(local_authority_codes())
    assert local_authority_codes("7A4") == ("W06000014", CARDIFF)


def test_nhs_numbers_stay_unique_at_benchmark_scale() -> None:
    # Speed is measured by bench/ingest.py, which generates 100,000 records; this checks
    # that the 999 range does not run out of unique numbers at that scale.
    records = generate(100_000)
    numbers = [record["nhs_number"] for record in records if record["nhs_number"] is not None]
    assert len(numbers) == len(set(numbers)) > 95_000


def test_build_submission() -> None:
    records = generate(3)
    extracted_at = datetime(2026, 1, 15, 2, 0, tzinfo=UTC)
    submission = build_submission(lhb_code="7A4", records=records, extracted_at=extracted_at)
    assert list(submission) == [
        "submission_id", "lhb_code", "extract_type", "extracted_at", "records",
    ]  # fmt: skip
    assert uuid.UUID(submission["submission_id"])
    assert submission["extract_type"] == "full"
    assert submission["extracted_at"] == "2026-01-15T02:00:00Z"
    assert submission["records"] is records


def test_build_submission_keeps_a_given_id_and_offset() -> None:
    submission = build_submission(
        lhb_code="7A1",
        records=[],
        extract_type="delta",
        extracted_at=datetime(2026, 7, 1, 3, 0, tzinfo=timezone(timedelta(hours=1))),
        submission_id="3f0e9c1e-6b1a-4c1e-9f4e-2d7b8a1c0e55",
    )
    assert submission["submission_id"] == "3f0e9c1e-6b1a-4c1e-9f4e-2d7b8a1c0e55"
    assert submission["extract_type"] == "delta"
    assert submission["extracted_at"] == "2026-07-01T03:00:00+01:00"


def test_build_submission_needs_an_offset() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        build_submission(lhb_code="7A4", records=[], extracted_at=datetime(2026, 1, 15, 2, 0))
