"""The identifier validators, as pure functions and as pydantic types."""

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from schemas.identifiers import (
    IDENTIFIER_ERROR_CODES,
    NhsNumber,
    OptionalPersonName,
    PersonName,
    Postcode,
    Upn,
    nhs_number_check_digit,
    nhs_number_is_valid,
    normalise_postcode,
    upn_check_letter,
    upn_is_valid,
)


class Identified(BaseModel):
    """A stand-in for an inbound wire model using every identifier type."""

    model_config = ConfigDict(extra="forbid")

    nhs_number: NhsNumber | None = None
    postcode: Postcode | None = None
    upn: Upn | None = None
    given_name: PersonName = "Cerys"
    middle_names: OptionalPersonName = None


def error_types(**fields: object) -> list[str]:
    with pytest.raises(ValidationError) as raised:
        Identified.model_validate(fields)
    return [error["type"] for error in raised.value.errors()]


# --- NHS number ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "nhs_number",
    [
        "9434765919",  # the well-known NHS example: 299 mod 11 = 2, check digit 9
        "9990000018",
        "9990000050",  # 11 - 0 = 11, which becomes check digit 0
        "0000000000",
    ],
)
def test_valid_nhs_numbers(nhs_number: str) -> None:
    assert nhs_number_is_valid(nhs_number)
    assert Identified(nhs_number=nhs_number).nhs_number == nhs_number


@pytest.mark.parametrize(
    "nhs_number",
    [
        "9434765918",  # wrong check digit
        "9990000019",
        *(f"999000000{digit}" for digit in range(10)),  # 243 mod 11 = 1: check digit 10
    ],
)
def test_nhs_numbers_failing_the_check_digit(nhs_number: str) -> None:
    assert not nhs_number_is_valid(nhs_number)
    assert error_types(nhs_number=nhs_number) == ["nhs_number_checksum"]


@pytest.mark.parametrize(
    "nhs_number",
    [
        "",
        "943476591",
        "94347659190",
        "943 476 5919",
        " 9434765919",
        "943476591X",
        "٩٤٣٤٧٦٥٩١٩",  # Arabic-Indic digits: str.isdigit() says yes, the NHS says no
        "９４３４７６５９１９",  # fullwidth digits
        "9434765919\n",
    ],
)
def test_nhs_numbers_of_the_wrong_format(nhs_number: str) -> None:
    assert not nhs_number_is_valid(nhs_number)
    assert error_types(nhs_number=nhs_number) == ["nhs_number_format"]


def test_nhs_number_must_be_a_string_not_an_integer() -> None:
    assert error_types(nhs_number=9434765919) == ["string_type"]


def test_nine_digits_ending_in_check_digit_ten_have_no_check_digit() -> None:
    assert nhs_number_check_digit("999000000") is None
    assert nhs_number_check_digit("943476591") == 9


def test_check_digit_needs_nine_ascii_digits() -> None:
    with pytest.raises(ValueError, match="nine ASCII digits"):
        nhs_number_check_digit("٩٩٩٠٠٠٠٠٠")


# --- Postcode -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("CF11 9AB", "CF11 9AB"),
        ("cf119ab", "CF11 9AB"),
        (" CF11  9AB ", "CF11 9AB"),
        ("cF11\t9aB", "CF11 9AB"),
        ("LL58 8AA", "LL58 8AA"),  # AA99
        ("sa11ab", "SA1 1AB"),  # AA9
        ("M1 1AE", "M1 1AE"),  # A9
        ("B33 8TH", "B33 8TH"),  # A99
        ("W1A 0AX", "W1A 0AX"),  # A9A
        ("ec1a1bb", "EC1A 1BB"),  # AA9A
        ("gir0aa", "GIR 0AA"),
    ],
)
def test_postcodes_are_normalised(raw: str, normalised: str) -> None:
    assert normalise_postcode(raw) == normalised
    assert Identified(postcode=raw).postcode == normalised


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "CF11",
        "CF11 9A",
        "CF11 9ABC",
        "CF111 9AB",
        "1F11 9AB",
        "CFF1 9AB",
        "CF11 AAB",
        "CF11-9AB",
        "ＣＦ１１ ９ＡＢ",  # fullwidth
        "CF11\u00a09AB",  # no-break space: not ASCII
        "CF11\n9AB",
    ],
)
def test_invalid_postcodes_are_refused(raw: str) -> None:
    assert normalise_postcode(raw) is None
    assert error_types(postcode=raw) == ["postcode_invalid"]


# --- Unique Pupil Number ------------------------------------------------------------------

# Check letters worked by hand: for J681000012345 the weighted sum 2*6 + 3*8 + 4*1 + 9*1 +
# 10*2 + 11*3 + 12*4 + 13*5 = 215, and 215 mod 23 = 8, the ninth letter of the alphabet
# without I, O and S.
WELSH_UPNS = [
    "J681000012345",  # Cardiff (681)
    "Z660400118001",  # Isle of Anglesey (660): sum 160, 160 mod 23 = 22
    "N67020011900A",  # Swansea (670), temporary: final A counts 0; sum 150, mod 23 = 12
]


@pytest.mark.parametrize("upn", WELSH_UPNS)
def test_welsh_upns_are_valid(upn: str) -> None:
    assert upn_is_valid(upn)
    assert upn_check_letter(upn[1:]) == upn[0]
    assert Identified(upn=upn).upn == upn


@pytest.mark.parametrize("la_number", range(660, 682))
def test_every_welsh_la_number_is_accepted(la_number: int) -> None:
    establishment, year, serial = "2001", "25", "007"
    body = f"{la_number}{establishment}{year}{serial}"
    assert upn_is_valid(upn_check_letter(body) + body)
    assert upn_is_valid(upn_check_letter(body[:-1] + "T") + body[:-1] + "T")  # temporary


@pytest.mark.parametrize(
    "upn",
    [
        "A681000012345",  # wrong check letter
        "K681000012345",
        "I681000012345",  # I is not in the check alphabet
        "j681000012345",  # lower case
        "J68100001234",  # 12 characters
        "J6810000123456",
        "J68100001234I",  # temporary UPN letters come from the check alphabet too
        "J6810000123A5",  # only the 13th character may be a letter
        "J٦٨١000012345",  # Arabic-Indic digits
        "",
    ],
)
def test_invalid_upns(upn: str) -> None:
    assert not upn_is_valid(upn)
    assert error_types(upn=upn) == ["upn_invalid"]


def test_check_letter_needs_a_well_formed_body() -> None:
    with pytest.raises(ValueError, match="11 ASCII digits"):
        upn_check_letter("68100001234")


# --- Person names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("Siôn", "Siôn"),
        ("Sio\u0302n", "Siôn"),  # decomposed o + combining circumflex becomes NFC
        ("Lly\u0302r", "Llŷr"),
        ("Gwenlli\u0308an", "Gwenllïan"),
        ("  Cerys ", "Cerys"),
        ("ap Gruffudd", "ap Gruffudd"),
        ("O'Brien", "O'Brien"),
        ("Jones-Pritchard", "Jones-Pritchard"),
        ("St. John", "St. John"),
        ("Ŵyn Ŷr Âi", "Ŵyn Ŷr Âi"),
        ("X" * 100, "X" * 100),
        (" " + "X" * 100 + " ", "X" * 100),  # the limit counts after stripping
    ],
)
def test_person_names_are_normalised(raw: str, normalised: str) -> None:
    assert Identified(given_name=raw).given_name == normalised


@pytest.mark.parametrize(
    "raw",
    [
        "Cerys\nJones",
        "Cerys\rJones",
        "Cerys\x00",
        "Ce\x1brys",
        "Cer\u200bys",  # zero-width space (Cf)
        "Cerys\u202e",  # right-to-left override (Cf)
        "Cerys\u2028Jones",  # line separator
        "Cerys\ue000",  # private use
        "Cerys\u0378",  # unassigned
    ],
)
def test_names_with_control_characters_are_refused(raw: str) -> None:
    assert error_types(given_name=raw) == ["name_invalid_characters"]


@pytest.mark.parametrize("raw", ["", "   ", "X" * 101])
def test_name_length_is_limited(raw: str) -> None:
    assert error_types(given_name=raw) == ["name_length"]


def test_name_length_counts_characters_after_normalisation() -> None:
    decomposed = "Sio\u0302n" * 25  # 125 code points, 100 once composed
    assert Identified(given_name=decomposed).given_name == "Siôn" * 25


def test_names_must_be_strings() -> None:
    assert error_types(given_name=42) == ["string_type"]


@pytest.mark.parametrize(
    ("raw", "expected"), [("", None), ("  ", None), (None, None), (" Mair ", "Mair")]
)
def test_blank_optional_names_are_absent(raw: str | None, expected: str | None) -> None:
    assert Identified(middle_names=raw).middle_names == expected


def test_every_error_type_is_documented() -> None:
    raised = {
        *error_types(nhs_number="1"),
        *error_types(nhs_number="9990000019"),
        *error_types(postcode="x"),
        *error_types(upn="x"),
        *error_types(given_name=""),
        *error_types(given_name="\x00"),
    }
    assert raised == set(IDENTIFIER_ERROR_CODES)
