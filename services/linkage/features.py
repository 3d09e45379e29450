"""Turn `PersonRecord`s into the flat comparison features both the model and the agreement
labels use. Everything fuzzy about names is decided here, once, in Python; SQL only
compares the prepared columns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date
from functools import lru_cache

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
# Names, postcodes and address lines repeat heavily across a population (a few thousand
# distinct names among tens of thousands of children), so each distinct string is
# normalised once per run. `clear_caches` empties them when the run ends, so no child's
# details outlive the `link()` call that needed them.
_CACHE_SIZE = 1 << 16
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
    given_phonetic: str | None  # metaphone of the first given word: Ava/Eva, Lowri/Laura
    middle_tokens: tuple[str, ...]  # words of the middle names
    given_words: tuple[str, ...]  # every given and middle name word
    family_name: str | None  # whole surname, words joined by one space
    family_tokens: tuple[str, ...]  # words of the current surname
    family_former: tuple[str, ...]  # former surnames, standardised
    family_phonetic: str | None  # for blocking only
    date_of_birth: str | None  # ISO yyyy-mm-dd
    dob_year: int | None
    dob_month: int | None
    dob_day: int | None
    dob_ordinal: int | None  # days since 1 Jan of year 1, so slips are a subtraction
    sex: str | None
    postcode: str | None
    postcode_sector: str | None
    postcode_district: str | None
    address_tokens: tuple[str, ...]
    address_text: str | None


@lru_cache(maxsize=_CACHE_SIZE)
def _postcode_parts(postcode: str) -> tuple[str | None, str | None, str | None]:
    """Full postcode, sector ("CF11 9") and district ("CF11"); non-UK shapes keep only
    the full string, so foreign test data (FEBRL's 4-digit codes) still compares exactly.
    """
    compact = " ".join(postcode.upper().split())
    if not compact:
        return None, None, None
    parsed = _UK_POSTCODE.match(compact)
    if parsed is None:
        return compact, None, None
    district, sector_digit, _unit = parsed.groups()
    return compact, f"{district} {sector_digit}", district


@lru_cache(maxsize=_CACHE_SIZE)
def _given_parts(
    given_name: str,
) -> tuple[str | None, str | None, tuple[str, ...], str | None]:
    """First given-name word, its canonical key, the sorted distinct canonical keys of the
    others, and the first word's phonetic code."""
    words = name_tokens(given_name)
    if not words:
        return None, None, (), None
    return (
        words[0],
        canonical_given_name(words[0]),
        tuple(sorted(set(_canons(words[1:])))),
        jellyfish.metaphone(words[0]) or None,
    )


def _canons(words: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(c for w in words if (c := canonical_given_name(w)) is not None)


@lru_cache(maxsize=_CACHE_SIZE)
def _family_parts(family_name: str) -> tuple[str | None, tuple[str, ...], str | None]:
    """Standard surname, its sorted distinct words, and its phonetic code."""
    family = standard_name(family_name)
    tokens = tuple(sorted(set(name_tokens(family_name))))
    phonetic = jellyfish.metaphone(family.replace(" ", "")) if family else None
    return family, tokens, phonetic


@lru_cache(maxsize=_CACHE_SIZE)
def _address_words(line: str) -> frozenset[str]:
    return frozenset(
        w for w in _ADDRESS_WORDS.split(fold(line)) if w and w not in _ADDRESS_STOPWORDS
    )


@lru_cache(maxsize=_CACHE_SIZE)
def _address(lines: tuple[str, ...]) -> tuple[tuple[str, ...], str | None]:
    """Sorted distinct address words (street types and the like dropped), and their text."""
    words = tuple(sorted(frozenset().union(*map(_address_words, lines))))
    return words, " ".join(words) or None


@lru_cache(maxsize=_CACHE_SIZE)
def _middle_canons(middle_names: str) -> tuple[str, ...]:
    return _canons(name_tokens(middle_names))


@lru_cache(maxsize=_CACHE_SIZE)
def _distinct_words(name: str) -> tuple[str, ...]:
    """The sorted distinct words of a name (folding them is most of a record's cost)."""
    return tuple(sorted(set(name_tokens(name))))


@lru_cache(maxsize=_CACHE_SIZE)
def _date_parts(
    dob: date | None,
) -> tuple[str | None, int | None, int | None, int | None, int | None]:
    if dob is None:
        return None, None, None, None, None
    return dob.isoformat(), dob.year, dob.month, dob.day, dob.toordinal()


def _feature_values(record: PersonRecord) -> tuple[object, ...]:
    """The fields of `PersonFeatures` for `record`, in order (a plain tuple is what
    the Arrow columns need, and building 100,000 dataclasses would cost more than this)."""
    first_given, given_canon, alt_canons, given_phonetic = _given_parts(record.given_name or "")
    if record.middle_names or record.former_names:
        alternatives = {*alt_canons, *_middle_canons(record.middle_names or "")}
        alternatives.update(
            c for former, _ in record.former_names if (c := _given_parts(former or "")[1])
        )
        alt_canons = tuple(sorted(alternatives))
    middle_tokens = _distinct_words(record.middle_names or "")
    given_words = _distinct_words(record.given_name or "")
    if middle_tokens:
        given_words = tuple(sorted({*given_words, *middle_tokens}))
    family, family_tokens, phonetic = _family_parts(record.family_name or "")
    former: tuple[str, ...] = ()
    if record.former_names:
        former_set = {f for _, name in record.former_names if (f := standard_name(name))}
        former_set.discard(family or "")
        former = tuple(sorted(former_set))
    postcode, sector, district = _postcode_parts(record.postcode or "")
    address_words, address_text = _address(record.address_lines)
    sex = record.sex.upper() if record.sex else None
    nhs_number = "".join(record.nhs_number.split()) if record.nhs_number else ""
    return (
        record.record_id,
        nhs_number or None,
        first_given,
        given_canon,
        alt_canons,
        given_phonetic,
        middle_tokens,
        given_words,
        family,
        family_tokens,
        former,
        phonetic,
        *_date_parts(record.date_of_birth),
        sex if sex in _INFORMATIVE_SEX else None,
        postcode,
        sector,
        district,
        address_words,
        address_text,
    )


FEATURE_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(PersonFeatures))
#: List-valued columns (DuckDB `VARCHAR[]`); integer ones are `INTEGER`; the rest `VARCHAR`.
LIST_COLUMNS: frozenset[str] = frozenset(
    {
        "given_alt_canons",
        "middle_tokens",
        "given_words",
        "family_tokens",
        "family_former",
        "address_tokens",
    }
)
INTEGER_COLUMNS: frozenset[str] = frozenset({"dob_year", "dob_month", "dob_day", "dob_ordinal"})


def feature_columns(records: Sequence[PersonRecord]) -> dict[str, list[object]]:
    """Column-oriented features in `FEATURE_COLUMNS` order, ready for an Arrow table."""
    rows = [_feature_values(r) for r in records]
    if not rows:
        return {name: [] for name in FEATURE_COLUMNS}
    return {
        name: list(values)
        for name, values in zip(FEATURE_COLUMNS, zip(*rows, strict=True), strict=True)
    }


def clear_caches() -> None:
    for cached in (
        _date_parts,
        _postcode_parts,
        _given_parts,
        _family_parts,
        _address_words,
        _middle_canons,
        _distinct_words,
    ):
        cached.cache_clear()
