"""Identifier and name validators shared by every inbound schema.

The pure functions work without pydantic (the generator and the matching code use them too).
The `Annotated` types wrap them for the wire models: they take strict strings only and raise
`PydanticCustomError`s whose `type` is the stable API error code listed in
`IDENTIFIER_ERROR_CODES`. No message template contains the offending value, so errors never
echo personal data.
"""

import re
import unicodedata
from collections.abc import Mapping
from operator import mul
from typing import Annotated, Final

from pydantic import AfterValidator, BeforeValidator, Strict
from pydantic_core import PydanticCustomError

IDENTIFIER_ERROR_CODES: Final[Mapping[str, str]] = {
    "nhs_number_format": "An NHS number is exactly 10 digits 0-9, without spaces.",
    "nhs_number_checksum": "The NHS number fails the modulus-11 check digit.",
    "postcode_invalid": "Not a UK postcode.",
    "upn_invalid": "Not a Unique Pupil Number (13 characters with a mod-23 check letter).",
    "name_length": "A name has 1 to 100 characters once surrounding spaces are removed.",
    "name_invalid_characters": "A name contains control, format or line-break characters.",
}

# Free text on one line (address lines, provider names): no C0 or C1 controls, no line or
# paragraph separators and no bidirectional overrides (they make text display misleadingly).
TEXT_WITHOUT_CONTROLS: Final = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+$"

# --- NHS number ---------------------------------------------------------------------------

# [0-9], not \d: \d also matches Arabic-Indic, fullwidth and other Unicode digits.
_NHS_NUMBER = re.compile(r"[0-9]{10}")
_NHS_NINE_DIGITS = re.compile(r"[0-9]{9}")
_NHS_WEIGHTS: Final = (10, 9, 8, 7, 6, 5, 4, 3, 2)
_ASCII_ZERO_TOTAL: Final = 48 * sum(_NHS_WEIGHTS)


def nhs_number_check_digit(first_nine: str) -> int | None:
    """The modulus-11 check digit for the first nine digits, or None when there is none.

    Weights 10..2 multiply the digits; the check digit is 11 minus the remainder mod 11,
    where 11 becomes 0 and 10 means no NHS number is ever issued with these nine digits.
    """
    if _NHS_NINE_DIGITS.fullmatch(first_nine) is None:
        raise ValueError("expected nine ASCII digits")
    return _check_digit(first_nine.encode("ascii"))


def _check_digit(digits: bytes) -> int | None:
    """For nine ASCII digit codes already checked: each digit is its code minus 48."""
    total = sum(map(mul, _NHS_WEIGHTS, digits)) - _ASCII_ZERO_TOTAL
    check = 11 - total % 11
    if check == 10:
        return None
    return 0 if check == 11 else check


def nhs_number_is_valid(value: str) -> bool:
    """True for exactly 10 ASCII digits whose last digit is the modulus-11 check digit."""
    if _NHS_NUMBER.fullmatch(value) is None:
        return False
    digits = value.encode("ascii")
    return _check_digit(digits[:9]) == digits[9] - 48


def _validate_nhs_number(value: str) -> str:
    if _NHS_NUMBER.fullmatch(value) is None:
        raise PydanticCustomError(
            "nhs_number_format", "An NHS number is exactly 10 digits 0-9, without spaces"
        )
    digits = value.encode("ascii")
    if _check_digit(digits[:9]) != digits[9] - 48:
        raise PydanticCustomError("nhs_number_checksum", "The NHS number's check digit is wrong")
    return value


# --- Postcode -----------------------------------------------------------------------------

# Outward code A9, A99, AA9, AA99, A9A or AA9A, then inward code 9AA. Shape only: whether
# the postcode exists is a matter for address data, not for the wire contract.
_POSTCODE = re.compile(r"([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})")
_POSTCODE_SPACING = re.compile(r"[ \t]+")
_GIROBANK = "GIR0AA"  # the one historic postcode that fits none of the shapes


def normalise_postcode(value: str) -> str | None:
    """The canonical form (`CF11 9AB`) of a UK postcode in any case and spacing, else None."""
    if not value.isascii():
        return None
    compact = _POSTCODE_SPACING.sub("", value).upper()
    if compact == _GIROBANK:
        return "GIR 0AA"
    match = _POSTCODE.fullmatch(compact)
    if match is None:
        return None
    return f"{match[1]} {match[2]}"


def _validate_postcode(value: str) -> str:
    postcode = normalise_postcode(value)
    if postcode is None:
        raise PydanticCustomError("postcode_invalid", "Not a UK postcode")
    return postcode


# --- Unique Pupil Number ------------------------------------------------------------------

# The check alphabet leaves out I, O and S, which are too easily read as 1, 0 and 5.
UPN_CHECK_LETTERS: Final = "ABCDEFGHJKLMNPQRTUVWXYZ"
# LA number (3), establishment (4), year (2), serial (3). Any LA number of the right shape is
# accepted: Welsh LAs are 660-681, which validators written for England often refuse. A
# temporary UPN ends in a check-alphabet letter instead of a digit.
_UPN_BODY = re.compile(rf"[0-9]{{11}}[0-9{UPN_CHECK_LETTERS}]")


def upn_check_letter(body12: str) -> str:
    """The mod-23 check letter for characters 2-13 of a UPN.

    Each character is weighted by its position (2..13); a letter in position 13 counts as
    its index in `UPN_CHECK_LETTERS`. The sum mod 23 indexes `UPN_CHECK_LETTERS`.
    """
    if _UPN_BODY.fullmatch(body12) is None:
        raise ValueError("expected 11 ASCII digits then a digit or a check-alphabet letter")
    total = sum(
        position * (int(char) if char.isdigit() else UPN_CHECK_LETTERS.index(char))
        for position, char in enumerate(body12, start=2)
    )
    return UPN_CHECK_LETTERS[total % 23]


def upn_is_valid(value: str) -> bool:
    """True for a 13-character UPN, permanent or temporary, with the right check letter."""
    if len(value) != 13 or _UPN_BODY.fullmatch(value[1:]) is None:
        return False
    return value[0] == upn_check_letter(value[1:])


def _validate_upn(value: str) -> str:
    if not upn_is_valid(value):
        raise PydanticCustomError("upn_invalid", "Not a Unique Pupil Number")
    return value


# --- Person names -------------------------------------------------------------------------

NAME_MAX_LENGTH: Final = 100
# Control (Cc, which includes CR, LF and NEL), format (Cf: zero-width and bidi controls that
# make two names look equal), surrogate, private-use and unassigned code points, and the
# Unicode line and paragraph separators. Everything else is left to the family: names are
# whatever people are called, and one refused record refuses a whole extract.
_REFUSED_NAME_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def normalise_person_name(value: str) -> str:
    """NFC-normalise (so `Sio\\u0302n` and `Siôn` compare equal) and strip surrounding spaces."""
    return unicodedata.normalize("NFC", value).strip()


def _validate_person_name(value: str) -> str:
    name = normalise_person_name(value)
    # Printable ASCII cannot hold a refused character: skip the per-character look-up.
    plain = name.isascii() and name.isprintable()
    if not plain and any(unicodedata.category(c) in _REFUSED_NAME_CATEGORIES for c in name):
        raise PydanticCustomError(
            "name_invalid_characters", "A name cannot contain control or line-break characters"
        )
    if not 1 <= len(name) <= NAME_MAX_LENGTH:
        raise PydanticCustomError(
            "name_length",
            "A name has 1 to {max_length} characters",
            {"max_length": NAME_MAX_LENGTH},
        )
    return name


def _blank_as_none(value: object) -> object:
    # Extracts often carry "" or "  " for "no middle names"; that is absence, not a name.
    if isinstance(value, str) and not value.strip():
        return None
    return value


# --- Annotated types for the wire models --------------------------------------------------

NhsNumber = Annotated[str, Strict(), AfterValidator(_validate_nhs_number)]
Postcode = Annotated[str, Strict(), AfterValidator(_validate_postcode)]
Upn = Annotated[str, Strict(), AfterValidator(_validate_upn)]
PersonName = Annotated[str, Strict(), AfterValidator(_validate_person_name)]
OptionalPersonName = Annotated[PersonName | None, BeforeValidator(_blank_as_none)]
