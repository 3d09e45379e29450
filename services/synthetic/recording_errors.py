"""An independent model of how a child's two records come to disagree.

Written from how real extracts go wrong, not from the linkage engine's tables: this module
never imports `services.linkage` (an import-linter contract holds it to that), and its name
variants come from its own table below, which deliberately includes forms the engine has
never been told about (Welsh/English pairs, diminutives, spelling variants). The engine is
judged on it, so it must not be able to "know" the answers.

What goes wrong, from the ways GP and school systems are fed (a receptionist typing from a
registration form, a school office from an admission form, a parent on the phone):

- given names: a nickname or the other language's form ("Ifan" at the GP, "Evan" at
  school), a spelling variant ("Cerys"/"Ceris"), the middle name used as the first name,
  diacritics lost, and typos of one or two edits, transpositions included;
- surnames: typos, a change (new partner, adoption) that one side never hears of and, half
  of the time, records with no former name; double-barrelled names split, reordered or
  cut to one half;
- dates of birth: a day or two slipped (a registration or discharge date taken for the
  birth date), day and month swapped, one digit mistyped;
- addresses: a house move that one side has not caught up with, postcode typos, and both
  together with any of the above.

Rates are judgements stated so they can be argued with, set a little harsher than the
few-per-cent of records with a name variant or typo that UK linkage studies report, with
more out-of-date addresses (Harron et al., "Challenges in administrative data linkage",
2017). Population-level hazards (twins with similar names, one twin missing education,
namesakes one digit apart in date of birth) are made by `population`, using the helpers
here.

Tuning and testing use disjoint seeds (`TUNING_SEEDS`, `TEST_SEEDS`): the engine's
parameters may be tuned on populations from the first only; quality is reported on the
second.
"""

from __future__ import annotations

import unicodedata
from datetime import date, timedelta
from random import Random
from typing import Any, Final, Literal, get_args

from services.synthetic.names import SURNAMES
from services.synthetic.places import LocalAuthorityArea, pick_address

#: Seeds whose populations may be used to tune the engine (thresholds, levels, rates).
TUNING_SEEDS: Final[tuple[int, ...]] = (7101, 7102, 7103)
#: Seeds whose populations report quality: never looked at while tuning.
TEST_SEEDS: Final[tuple[int, ...]] = (9301, 9302, 9303)

RecordingError = Literal[
    "given_name_variant",
    "given_name_typo",
    "given_name_two_typos",
    "known_by_middle_name",
    "diacritics_lost",
    "family_name_typo",
    "family_name_two_typos",
    "surname_changed_unrecorded",
    "surname_changed_recorded",
    "double_barrel_split",
    "double_barrel_reordered",
    "double_barrel_half",
    "dob_days_slipped",
    "dob_day_month_swapped",
    "dob_digit_mistyped",
    "house_move",
    "postcode_typo",
    "sex_not_recorded",
    "middle_names_missing",
]
RECORDING_ERRORS: Final[tuple[RecordingError, ...]] = get_args(RecordingError)

_RATE: Final[dict[RecordingError, float]] = {
    "given_name_variant": 0.05,  # given a variant in the table below
    "given_name_typo": 0.02,
    "given_name_two_typos": 0.006,
    "known_by_middle_name": 0.05,  # given a middle name
    "diacritics_lost": 0.5,  # given a diacritic anywhere
    "family_name_typo": 0.02,
    "family_name_two_typos": 0.005,
    "surname_changed_unrecorded": 0.008,
    "surname_changed_recorded": 0.008,
    "double_barrel_split": 0.25,  # given a double-barrelled surname
    "double_barrel_reordered": 0.1,
    "double_barrel_half": 0.3,
    "dob_days_slipped": 0.004,
    "dob_day_month_swapped": 0.004,  # given day <= 12 and day != month
    "dob_digit_mistyped": 0.003,
    "house_move": 0.10,
    "postcode_typo": 0.015,
    "sex_not_recorded": 0.01,
    "middle_names_missing": 0.3,
}
#: Double-barrelled surnames are commoner than the base name list makes them.
DOUBLE_BARRELLED_SHARE: Final = 0.03

# Other forms of a given name that a parent, a school or a GP may use for the same child.
# Keys and values are as written; lookups fold case and diacritics.
GIVEN_NAME_FORMS: Final[dict[str, tuple[str, ...]]] = {
    # Welsh girls' names: English forms, spellings, diminutives.
    "ffion": ("Fion", "Ffi"),
    "elin": ("Ellen", "Elen", "Elinor"),
    "cerys": ("Ceris", "Kerys", "Cerys-Mai"),
    "catrin": ("Catherine", "Cat", "Katrin"),
    "mali": ("Molly", "Mollie", "Mari"),
    "nia": ("Niah", "Nea"),
    "bethan": ("Beth", "Bethany"),
    "gwenllian": ("Gwen", "Gwenlian"),
    "seren": ("Serena", "Sera"),
    "megan": ("Meg", "Meagan", "Megs"),
    "lowri": ("Laura", "Lowrie", "Lori"),
    "alaw": ("Alawn",),
    "eira": ("Eyra", "Ira"),
    "heledd": ("Hel", "Helen"),
    "sian": ("Shan", "Jane", "Sioned"),
    "anwen": ("Annwen", "Anw"),
    "efa": ("Eva", "Eve"),
    "nansi": ("Nancy", "Nans"),
    "lili": ("Lily", "Lilly"),
    "tegan": ("Teagan", "Tegen"),
    "begw": ("Bego",),
    "mererid": ("Margaret", "Mered"),
    "llio": ("Lio", "Lleucu"),
    "gwenno": ("Gwen", "Gweno"),
    # English girls' names.
    "olivia": ("Liv", "Livvy", "Olivea"),
    "amelia": ("Millie", "Emilia", "Amelie"),
    "isla": ("Isler", "Islay"),
    "ava": ("Eva", "Avah"),
    "lily": ("Lili", "Lillie"),
    "freya": ("Freja", "Freyja"),
    "grace": ("Gracie",),
    "sophie": ("Sophia", "Soph", "Sofie"),
    "emily": ("Emmy", "Emilie", "Em"),
    "ruby": ("Rubie",),
    "poppy": ("Poppie",),
    "evie": ("Eve", "Evelyn"),
    "ella": ("Ellie", "Ela"),
    "chloe": ("Cloe", "Khloe"),
    "zoe": ("Zoey", "Zoie"),
    "aisha": ("Ayesha", "Aysha"),
    "maja": ("Maya", "Maia"),
    # Welsh boys' names.
    "sion": ("Shaun", "John", "Sean"),
    "rhodri": ("Rhod", "Roderick"),
    "llyr": ("Lear", "Llir"),
    "dafydd": ("Dafyd", "Davydd", "David", "Dai"),
    "tomos": ("Thomas", "Twm", "Tom"),
    "aneurin": ("Nye", "Nyrin"),
    "osian": ("Ossian", "Osh"),
    "gruffudd": ("Griffith", "Gruff", "Gruffydd"),
    "iestyn": ("Justin", "Iestin"),
    "cai": ("Kai", "Kay"),
    "ifan": ("Evan", "Ifann"),
    "rhys": ("Reece", "Rees", "Reese"),
    "dylan": ("Dillon", "Dilan"),
    "owain": ("Owen", "Owian"),
    "gethin": ("Geth", "Gethyn"),
    "ioan": ("Ian", "Iwan"),
    "steffan": ("Stephen", "Stefan"),
    "guto": ("Griff", "Gutto"),
    "tudur": ("Tudor",),
    "emrys": ("Ambrose", "Emris"),
    "gwion": ("Gwyon",),
    "elis": ("Ellis", "Elliss"),
    "macsen": ("Max", "Maxen"),
    "harri": ("Harry", "Hari"),
    # English boys' names.
    "oliver": ("Ollie", "Olly", "Olivier"),
    "noah": ("Noa",),
    "george": ("Georgie",),
    "jack": ("Jac", "Jak"),
    "harry": ("Harri", "Harrison"),
    "leo": ("Leon", "Leonardo"),
    "oscar": ("Ozzie", "Osker"),
    "charlie": ("Charles", "Charly"),
    "jacob": ("Jakob", "Jake"),
    "thomas": ("Tom", "Tomos", "Tommy"),
    "alfie": ("Alfred", "Alf"),
    "freddie": ("Frederick", "Fred", "Freddy"),
    "theo": ("Theodore", "Teo"),
    "mason": ("Mayson",),
    "mohammed": ("Muhammad", "Mohamed", "Mohammad"),
    "zain": ("Zayn", "Zane"),
    "jakub": ("Jacob", "Kuba"),
    "ronan": ("Ronin",),
}

# Twins are often given names that look or sound alike, or two forms of one name: the
# engine must still keep them apart. Keyed by folded name, values as written.
SIMILAR_TWIN_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "ffion": ("Fflur",),
    "elin": ("Elen", "Eleri"),
    "mali": ("Mai", "Mari"),
    "ella": ("Ellie", "Elsa"),
    "lily": ("Lola", "Lucy"),
    "osian": ("Owain", "Oisin"),
    "cai": ("Kai",),
    "dylan": ("Dyfan",),
    "harri": ("Harry",),
    "jack": ("Jake", "Jac"),
    "leo": ("Leon",),
    "noah": ("Noa",),
    "ioan": ("Iwan",),
    "tomos": ("Twm",),
    "evie": ("Eve",),
    "freddie": ("Frankie",),
}

_TYPO_NEIGHBOURS: Final = {
    "a": "sqz", "b": "vn", "c": "xv", "d": "sfe", "e": "wrd", "f": "dg", "g": "fh", "h": "gj",
    "i": "uok", "j": "hk", "k": "jl", "l": "kp", "m": "n", "n": "bm", "o": "ip", "p": "ol",
    "q": "w", "r": "et", "s": "adz", "t": "ry", "u": "yi", "v": "cb", "w": "qe", "x": "zc",
    "y": "tu", "z": "xs",
}  # fmt: skip
_INWARD_LETTERS: Final = "ABDEFGHJLNPQRSTUWXYZ"


def fold_name(text: str) -> str:
    """Lower case without diacritics: the key for the tables above."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def misspell(rng: Random, name: str, *, edits: int = 1) -> str:
    """`edits` keyboard or hearing slips (substitution, deletion, insertion, transposition),
    never on the first letter, each leaving a different string."""
    slipped = name
    while slipped == name:  # a second slip may undo the first: Rhys -> Rhsy -> Rhys
        slipped = name
        for _ in range(edits):
            slipped = _one_slip(rng, slipped)
    return slipped


def _one_slip(rng: Random, name: str) -> str:
    positions = [i for i, c in enumerate(name) if c.isalpha() and i > 0]
    if not positions:
        return name + "e"
    for _ in range(20):
        position = rng.choice(positions)
        char = name[position]
        kind = rng.randrange(4)
        if kind == 0:
            neighbours = _TYPO_NEIGHBOURS.get(char.lower(), "e")
            slipped = name[:position] + rng.choice(neighbours) + name[position + 1 :]
        elif kind == 1 and len(positions) > 2:
            slipped = name[:position] + name[position + 1 :]
        elif kind == 2 and position + 1 < len(name) and name[position + 1].isalpha():
            slipped = name[:position] + name[position + 1] + char + name[position + 2 :]
        else:
            slipped = name[:position] + char + name[position:]
        if slipped != name:
            return slipped
    return name + "e"


def days_slipped(rng: Random, born: date) -> date:
    """One to three days either side."""
    return born + timedelta(days=rng.choice((-3, -2, -1, 1, 2, 3)))


def digit_mistyped(rng: Random, born: date) -> date:
    """One digit of the day, month or year's last digit changed, still a real date."""
    text = born.isoformat()
    candidates = []
    for position in (3, 6, 8, 9):
        for digit in "0123456789":
            if digit == text[position]:
                continue
            try:
                slipped = date.fromisoformat(text[:position] + digit + text[position + 1 :])
            except ValueError:
                continue
            if abs(slipped.year - born.year) <= 1:
                candidates.append(slipped)
    return rng.choice(candidates)


def postcode_typo(rng: Random, postcode: str) -> str:
    """One character of the postcode mistyped: mostly the inward code, sometimes the
    district number, still postcode-shaped."""
    outward, inward = postcode.split(" ")
    if rng.random() < 0.2 and outward[-1].isdigit():
        digit = rng.choice([d for d in "0123456789" if d != outward[-1]])
        return f"{outward[:-1]}{digit} {inward}"
    position = rng.randrange(3)
    chars = list(inward)
    pool = "0123456789" if position == 0 else _INWARD_LETTERS
    chars[position] = rng.choice([c for c in pool if c != inward[position]])
    return f"{outward} {''.join(chars)}"


def other_surname(rng: Random, current: str) -> str:
    new = SURNAMES.pick(rng)
    while new == current:
        new = SURNAMES.pick(rng)
    return new


def similar_twin_name(rng: Random, given_name: str) -> str | None:
    forms = SIMILAR_TWIN_NAMES.get(fold_name(given_name)) or GIVEN_NAME_FORMS.get(
        fold_name(given_name)
    )
    return rng.choice(forms) if forms else None


def maybe_double_barrel(rng: Random, health_record: dict[str, Any]) -> None:
    """Give a few more children a hyphenated surname, before their records are copied."""
    if "-" not in health_record["family_name"] and rng.random() < DOUBLE_BARRELLED_SHARE:
        other = SURNAMES.pick(rng)
        if other != health_record["family_name"] and " " not in other and "-" not in other:
            health_record["family_name"] = f"{health_record['family_name']}-{other}"


def perturb(
    rng: Random,
    *,
    health_record: dict[str, Any],
    education_record: dict[str, Any],
    area: LocalAuthorityArea,
) -> tuple[RecordingError, ...]:
    """Apply this child's recording errors and name them. Most land on the education
    record; a surname change or double-barrel handling lands on either side, since either
    the GP or the school may be the one that was told."""
    applied: list[RecordingError] = []

    def roll(error: RecordingError) -> bool:
        hit = rng.random() < _RATE[error]
        if hit:
            applied.append(error)
        return hit

    _surname_errors(rng, health_record, education_record, roll)
    _given_name_errors(rng, education_record, roll)
    _date_errors(rng, education_record, roll)
    moved = roll("house_move")
    if moved:
        home = pick_address(rng, area)
        education_record["address"] = {"lines": home["lines"], "postcode": home["postcode"]}
    # A postcode typo may come on top of a move: the new address is the one keyed in.
    if education_record["address"] is not None and roll("postcode_typo"):
        address = education_record["address"]
        address["postcode"] = postcode_typo(rng, address["postcode"])
    if education_record["sex"] in ("F", "M") and roll("sex_not_recorded"):
        education_record["sex"] = "Z"
    if education_record["middle_names"] and roll("middle_names_missing"):
        education_record["middle_names"] = None
    return tuple(applied)


def _surname_errors(
    rng: Random, health_record: dict[str, Any], education_record: dict[str, Any], roll: Any
) -> None:
    family = health_record["family_name"]
    if "-" in family:
        parts = family.split("-")
        side = education_record if rng.random() < 0.7 else health_record
        if roll("double_barrel_split"):
            side["family_name"] = " ".join(parts)
        elif roll("double_barrel_reordered"):
            side["family_name"] = "-".join(reversed(parts))
        elif roll("double_barrel_half"):
            side["family_name"] = rng.choice(parts)
    if roll("surname_changed_unrecorded"):
        told = education_record if rng.random() < 0.5 else health_record
        told["family_name"] = other_surname(rng, family)
    elif roll("surname_changed_recorded"):
        told = education_record if rng.random() < 0.5 else health_record
        new = other_surname(rng, family)
        told["former_names"] = [
            *told["former_names"],
            {"given_name": told["given_name"], "family_name": told["family_name"]},
        ]
        told["family_name"] = new
    if roll("family_name_two_typos"):
        education_record["family_name"] = misspell(rng, education_record["family_name"], edits=2)
    elif roll("family_name_typo"):
        education_record["family_name"] = misspell(rng, education_record["family_name"])


def _given_name_errors(rng: Random, education_record: dict[str, Any], roll: Any) -> None:
    forms = GIVEN_NAME_FORMS.get(fold_name(education_record["given_name"]))
    if education_record["middle_names"] and roll("known_by_middle_name"):
        # Known at school by the middle name, the first name kept as a middle one.
        middle = education_record["middle_names"].split(" ")
        education_record["given_name"], education_record["middle_names"] = (
            middle[0],
            " ".join([education_record["given_name"], *middle[1:]]),
        )
    elif forms and roll("given_name_variant"):
        education_record["given_name"] = rng.choice(forms)
    if roll("given_name_two_typos"):
        education_record["given_name"] = misspell(rng, education_record["given_name"], edits=2)
    elif roll("given_name_typo"):
        education_record["given_name"] = misspell(rng, education_record["given_name"])
    texts = [education_record["given_name"], education_record["family_name"]]
    if any(strip_accents(t) != t for t in texts) and roll("diacritics_lost"):
        for field in ("given_name", "family_name", "middle_names"):
            if education_record[field]:
                education_record[field] = strip_accents(education_record[field])


def _date_errors(rng: Random, education_record: dict[str, Any], roll: Any) -> None:
    born = date.fromisoformat(education_record["date_of_birth"])
    if born.day <= 12 and born.day != born.month and roll("dob_day_month_swapped"):
        education_record["date_of_birth"] = date(born.year, born.day, born.month).isoformat()
    elif roll("dob_days_slipped"):
        education_record["date_of_birth"] = days_slipped(rng, born).isoformat()
    elif roll("dob_digit_mistyped"):
        education_record["date_of_birth"] = digit_mistyped(rng, born).isoformat()
