"""Synthetic health records and submissions in the SPEC's wire shape.

Everything is drawn from one `random.Random(seed)`, so the same arguments give the same
records on every run and platform. NHS numbers come from 999 000 0000 - 999 999 9999, the
range never issued to a real patient.
"""

import random
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, Final

from schemas.identifiers import nhs_number_check_digit
from schemas.school_age import compulsory_school_age_birth_dates
from services.synthetic.names import SURNAMES, pick_former_names, pick_given_name, pick_middle_names
from services.synthetic.places import area_weights, gp_practice_codes, pick_address
from services.synthetic.sampling import WeightedChoice, chosen_indices

_SEX: Final = WeightedChoice({"F": 4880, "M": 5100, "U": 4, "Z": 16})
_WITHOUT_NHS_NUMBER_SHARE: Final = 0.02
# Children just outside compulsory school age: up to two years either side of it.
_OUT_OF_AGE_MARGIN_DAYS: Final = 730
# 999 followed by six digits; about 1 in 11 of these has no valid check digit.
_TEST_NHS_NUMBER_BODIES: Final = 1_000_000
_MAX_UNIQUE_NHS_NUMBERS: Final = 800_000  # keeps rejection sampling quick


def generate_health_records(
    *,
    count: int,
    la_codes: Sequence[str],
    reference_date: date,
    seed: int,
    sensitive_share: float = 0.002,
    deceased_share: float = 0.0,
    out_of_age_share: float = 0.0,
) -> list[dict[str, Any]]:
    """`count` synthetic health records of children living in the given LAs.

    Children are of compulsory school age on `reference_date` except exactly
    round(count * out_of_age_share) of them; likewise exact shares are sensitive (no
    address key at all) and deceased (date of death in the year before `reference_date`).
    LAs are weighted by population. About 2% of records have no NHS number.
    """
    if isinstance(la_codes, str):
        raise TypeError("la_codes is a sequence of GSS codes, not one string")
    if count < 0 or count > _MAX_UNIQUE_NHS_NUMBERS:
        raise ValueError(f"count must be between 0 and {_MAX_UNIQUE_NHS_NUMBERS}")
    for share in (sensitive_share, deceased_share, out_of_age_share):
        if not 0.0 <= share <= 1.0:
            raise ValueError("shares are fractions between 0 and 1")
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    areas = area_weights(tuple(la_codes))
    practices = {area.gss_code: gp_practice_codes(area) for area in areas.values}
    in_age_births, out_of_age_births = _birth_date_pools(reference_date)
    sensitive = chosen_indices(rng, count=count, share=sensitive_share)
    deceased = chosen_indices(rng, count=count, share=deceased_share)
    out_of_age = chosen_indices(rng, count=count, share=out_of_age_share)
    issued_nhs_numbers: set[str] = set()

    records: list[dict[str, Any]] = []
    for index in range(count):
        area = areas.pick(rng)
        sex = _SEX.pick(rng)
        welsh = rng.random() < area.welsh_share
        given_name = pick_given_name(rng, sex=sex, welsh=welsh)
        family_name = SURNAMES.pick(rng)
        date_of_birth = rng.choice(out_of_age_births if index in out_of_age else in_age_births)
        record: dict[str, Any] = {
            "record_id": f"syn-{index + 1:07d}",
            "nhs_number": _pick_nhs_number(rng, issued_nhs_numbers),
            "given_name": given_name,
            "middle_names": pick_middle_names(rng, sex=sex),
            "family_name": family_name,
            "former_names": pick_former_names(rng, given_name=given_name, family_name=family_name),
            "date_of_birth": date_of_birth.isoformat(),
            "sex": sex,
            "address": pick_address(rng, area),
            "local_authority_code": area.gss_code,
            "gp_practice_code": rng.choice(practices[area.gss_code]),
            "sensitive": index in sensitive,
            "date_of_death": None,
        }
        if index in sensitive:
            # An S-flagged child's address must never reach the service, not even as null.
            del record["address"]
        if index in deceased:
            record["date_of_death"] = _pick_date_of_death(rng, date_of_birth, reference_date)
        records.append(record)
    return records


def build_submission(
    *,
    lhb_code: str,
    records: list[dict[str, Any]],
    extract_type: str = "full",
    extracted_at: datetime,
    submission_id: str | None = None,
) -> dict[str, Any]:
    """The body of `POST /v1/submissions` around these records (not copied).

    Nothing is checked beyond what formatting needs, so tests can build invalid
    submissions on purpose; a new random submission_id is chosen when none is given.
    """
    if extracted_at.utcoffset() is None:
        raise ValueError("extracted_at must carry a UTC offset")
    timestamp = extracted_at.isoformat()
    if timestamp.endswith("+00:00"):
        timestamp = timestamp.removesuffix("+00:00") + "Z"
    return {
        "submission_id": submission_id if submission_id is not None else str(uuid.uuid4()),
        "lhb_code": lhb_code,
        "extract_type": extract_type,
        "extracted_at": timestamp,
        "records": records,
    }


def _birth_date_pools(reference_date: date) -> tuple[list[date], list[date]]:
    """Dates of birth of children of compulsory school age on the reference date, and of
    children within two years either side of it."""
    earliest, latest = compulsory_school_age_birth_dates(reference_date)
    in_age = _days(earliest, latest)
    older = _days(earliest - timedelta(days=_OUT_OF_AGE_MARGIN_DAYS), earliest - timedelta(1))
    younger = _days(
        latest + timedelta(1),
        min(latest + timedelta(days=_OUT_OF_AGE_MARGIN_DAYS), reference_date),
    )
    return in_age, older + younger


def _days(first: date, last: date) -> list[date]:
    return [date.fromordinal(day) for day in range(first.toordinal(), last.toordinal() + 1)]


def _pick_nhs_number(rng: random.Random, issued: set[str]) -> str | None:
    if rng.random() < _WITHOUT_NHS_NUMBER_SHARE:
        return None
    while True:
        first_nine = f"999{rng.randrange(_TEST_NHS_NUMBER_BODIES):06d}"
        check_digit = nhs_number_check_digit(first_nine)
        if check_digit is None:
            continue
        nhs_number = f"{first_nine}{check_digit}"
        if nhs_number not in issued:
            issued.add(nhs_number)
            return nhs_number


def _pick_date_of_death(rng: random.Random, date_of_birth: date, reference_date: date) -> str:
    first = max(date_of_birth, reference_date - timedelta(days=365))
    return (first + timedelta(days=rng.randrange((reference_date - first).days + 1))).isoformat()
