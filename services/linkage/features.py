"""Turn `PersonRecord`s into the flat comparison features both the model and the agreement
labels use. Everything fuzzy about names is decided here, once, in Python; SQL only
compares the prepared columns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields

import jellyfish

from services.linkage.models import PersonRecord
from services.linkage.names import canonical_given_name, fold, name_tokens, standard_name

# Sex codes that carry no evidence: U indeterminate, Z not known.
_INFORMATIVE_SEX = frozenset({"F", "M"})
# Street-type words shared by half of all addresses: agreeing on them proves nothing.
_ADDRESS_STOPWORDS = frozenset(
    {
        "road",
        "rd",
        "street",
        "st",
        "lane",
        "ln",
        "avenue",
        "ave",
        "close",
        "cl",
        "drive",
        "dr",
        "way",
        "place",
        "pl",
        "court",
        "ct",
        "crescent",
        "cres",
        "terrace",
        "flat",
        "the",
        "heol",
        "ffordd",
        "stryd",
        "lon",
        "y",
        "yr",
        "and",
    }
)
_UK_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][0-9A-Z]?) ([0-9])([A-Z]{2})$")
_ADDRESS_WORDS = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class PersonFeatures:
    """Comparison-ready view of one record; list-valued fields are sorted for stability."""

    record_id: str
    nhs_number: str | None  # deterministic stage only, never compared fuzzily
    given_name: str | None  # first given-name word
    given_canon: str | None  # its Welsh/English/nickname group key
    given_alt_canons: tuple[str, ...]  # other given words, middle and former given names
    family_name: str | None  # whole surname, words joined by one space
    family_tokens: tuple[str, ...]  # words of the current surname
    family_former: tuple[str, ...]  # former surnames, standardised
    family_phonetic: str | None  # for blocking only
    date_of_birth: str | None  # ISO yyyy-mm-dd
    dob_year: int | None
    dob_month: int | None
    dob_day: int | None
    sex: str | None
    postcode: str | None
    postcode_sector: str | None
    postcode_district: str | None
    address_tokens: tuple[str, ...]
    address_text: str | None


def _postcode_parts(postcode: str | None) -> tuple[str | None, str | None, str | None]:
    """Full postcode, sector ("CF11 9") and district ("CF11"); non-UK shapes keep only
    the full string, so foreign test data (FEBRL's 4-digit codes) still compares exactly.
    """
    if not postcode:
        return None, None, None
    compact = " ".join(postcode.upper().split())
    parsed = _UK_POSTCODE.match(compact)
    if parsed is None:
        return compact, None, None
    district, sector_digit, _unit = parsed.groups()
    return compact, f"{district} {sector_digit}", district


def person_features(record: PersonRecord) -> PersonFeatures:
    given_words = name_tokens(record.given_name)
    first_given = given_words[0] if given_words else None
    alternative_given = [
        *given_words[1:],
        *name_tokens(record.middle_names),
        *(w for former_given, _ in record.former_names for w in name_tokens(former_given)[:1]),
    ]
    alt_canons = {c for w in alternative_given if (c := canonical_given_name(w)) is not None}
    family = standard_name(record.family_name)
    former = {f for _, former_family in record.former_names if (f := standard_name(former_family))}
    former.discard(family or "")
    dob = record.date_of_birth
    postcode, sector, district = _postcode_parts(record.postcode)
    address_words = sorted(
        {
            w
            for line in record.address_lines
            for w in _ADDRESS_WORDS.split(fold(line))
            if w and w not in _ADDRESS_STOPWORDS
        }
    )
    sex = record.sex.upper() if record.sex else None
    return PersonFeatures(
        record_id=record.record_id,
        nhs_number="".join(record.nhs_number.split()) or None if record.nhs_number else None,
        given_name=first_given,
        given_canon=canonical_given_name(first_given),
        given_alt_canons=tuple(sorted(alt_canons)),
        family_name=family,
        family_tokens=tuple(sorted(set(name_tokens(record.family_name)))),
        family_former=tuple(sorted(former)),
        family_phonetic=jellyfish.metaphone(family.replace(" ", "")) if family else None,
        date_of_birth=dob.isoformat() if dob else None,
        dob_year=dob.year if dob else None,
        dob_month=dob.month if dob else None,
        dob_day=dob.day if dob else None,
        sex=sex if sex in _INFORMATIVE_SEX else None,
        postcode=postcode,
        postcode_sector=sector,
        postcode_district=district,
        address_tokens=tuple(address_words),
        address_text=" ".join(address_words) or None,
    )


#: Columns handed to DuckDB; list-valued ones travel as "|"-joined text and are split in
#: SQL, because type inference on Python lists in object columns is unreliable.
LIST_COLUMNS: tuple[str, ...] = (
    "given_alt_canons",
    "family_tokens",
    "family_former",
    "address_tokens",
)


def feature_rows(records: Sequence[PersonRecord]) -> dict[str, list[object]]:
    """Column-oriented features, ready for a pandas frame."""
    rows = [person_features(r) for r in records]
    names = [f.name for f in fields(PersonFeatures)]
    columns: dict[str, list[object]] = {name: [] for name in names}
    for row in rows:
        for name in names:
            value = getattr(row, name)
            columns[name].append("|".join(value) if name in LIST_COLUMNS else value)
    return columns
