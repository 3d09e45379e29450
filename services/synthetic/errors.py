"""How a child's education record drifts from their health record.

The two systems are fed by different people at different times: a GP receptionist at
registration, a school office from an admission form, a parent on the phone. Each error
type below is one way they come to disagree, at a rate per child that is a judgement, not
a published statistic (record-linkage studies of UK administrative data report a few per
cent of records with a name variant or typo and more with an out-of-date address; see
Harron et al., "Challenges in administrative data linkage", 2017). The rates are set so
that together about one child in five differs somehow, a harder test than most real pairs.

This is the "classic" model, kept as one row of the linkage benchmark. Its name variants
are a fixed copy of the groups the engine was first built with, so it measures the engine
on errors it was designed for; `services.synthetic.recording_errors` is the independent
model the engine is judged on.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from random import Random
from typing import Any, Final, Literal, get_args

from services.synthetic.names import SURNAMES
from services.synthetic.places import LocalAuthorityArea, pick_address
from services.synthetic.recording_errors import fold_name as fold

ErrorType = Literal[
    "given_name_typo",
    "family_name_typo",
    "given_name_variant",
    "diacritics_dropped",
    "surname_changed",
    "double_barrelled_part_dropped",
    "day_month_swapped",
    "dob_digit_off",
    "house_move",
    "postcode_slip",
    "sex_not_known",
    "middle_names_missing",
]
ERROR_TYPES: Final[tuple[ErrorType, ...]] = get_args(ErrorType)

# Probability per child; where an error needs something to act on (a name with a known
# variant, diacritics, a day <= 12, middle names) it is the probability given that.
_RATE: Final[dict[ErrorType, float]] = {
    "given_name_typo": 0.015,
    "family_name_typo": 0.015,
    "given_name_variant": 0.04,  # Dafydd on the GP list, Dai or David at school
    "diacritics_dropped": 0.35,  # many school and GP systems still lose ô, ŷ, ï
    "surname_changed": 0.015,
    "double_barrelled_part_dropped": 0.4,
    "day_month_swapped": 0.006,  # US-style entry of a UK date
    "dob_digit_off": 0.002,
    "house_move": 0.06,  # GP addresses lag a move by months; school rolls follow sooner
    "postcode_slip": 0.01,
    "sex_not_known": 0.01,
    "middle_names_missing": 0.2,  # admission forms often ask for a first name only
}
# Children who get a double-barrelled surname at all (on top of the few SURNAMES list).
_DOUBLE_BARRELLED_SHARE: Final = 0.02
_INWARD_LETTERS: Final = "ABDEFGHJLNPQRSTUWXYZ"
# The classic model's name variants: forms of one given name, folded (see module).
_CLASSIC_VARIANT_GROUPS: tuple[tuple[str, ...], ...] = (
    ("david", "dafydd", "dai", "dave", "davey", "davy", "dewi", "deio"),
    ("john", "sion", "ioan", "jon", "johnny", "jonny", "jack", "sean", "shaun", "shane"),
    ("griffith", "gruffudd", "gruffydd", "griff", "gruff", "guto"),
    ("rhys", "rees", "reece", "reese", "rhydian"),
    ("evan", "ieuan", "ifan", "iwan", "ianto"),
    ("hugh", "huw", "hughie"),
    ("llywelyn", "llewelyn", "llewellyn", "llew", "llywel"),
    ("william", "gwilym", "wil", "will", "bill", "billy", "liam", "willie", "gwil"),
    ("jane", "sian", "jayne", "janey"),
    ("janet", "sioned"),
    (
        "catherine",
        "catrin",
        "katherine",
        "kathryn",
        "catherin",
        "kate",
        "katie",
        "cath",
        "cathy",
        "caitlin",
        "cadi",
    ),
    ("ellen", "elin", "elen", "helen", "ellie", "nell", "nellie"),
    ("margaret", "mared", "marged", "megan", "meg", "maggie", "peggy", "mali"),
    ("thomas", "tomos", "tom", "tommy", "twm"),
    ("ivor", "ifor"),
    ("owen", "owain"),
    ("joan", "siwan"),
    ("mary", "mair", "molly", "polly"),
    ("elizabeth", "elisabeth", "beth", "bethan", "liz", "lizzie", "lisa", "betsan", "libby"),
    ("justin", "iestyn"),
    ("stephen", "steffan", "steven", "steve", "stevie"),
    ("peter", "pedr", "pete"),
    ("matthew", "mathew", "mathau", "matt", "matty"),
    ("richard", "rhisiart", "rich", "richie", "rick", "dick"),
    ("robert", "robat", "rob", "robbie", "bob", "bobby"),
    ("edward", "iorwerth", "ed", "eddie", "ned", "teddy"),
    ("henry", "harri", "harry", "hal"),
    ("charles", "siarl", "charlie", "chas"),
    ("james", "iago", "jim", "jimmy", "jamie"),
    ("michael", "mihangel", "mike", "mikey", "mick"),
    ("samuel", "sam", "sammy"),
    ("benjamin", "ben", "benji", "benny"),
    ("daniel", "dan", "danny"),
    ("joseph", "joe", "joey", "jo"),
    ("christopher", "chris", "kit"),
    ("nicholas", "nick", "nicky"),
    ("alexander", "alex", "alec", "sandy"),
    ("alice", "alys"),
    ("agnes", "nest", "nesta"),
    ("gwenllian", "gwen"),
    ("anne", "ann", "annie", "anna", "nan"),
    ("rebecca", "becky", "becca"),
    ("jennifer", "jenny", "jen"),
    ("abigail", "abbie", "abby", "abi"),
    ("isabella", "isabel", "isabelle", "bella", "izzy", "issy"),
    ("oliver", "ollie", "olly"),
    ("joshua", "josh"),
    ("jacob", "jake"),
)
_KEYBOARD_NEIGHBOURS: Final = {
    "a": "sq", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj",
    "i": "uo", "j": "hk", "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o",
    "q": "w", "r": "et", "s": "ad", "t": "ry", "u": "yi", "v": "cb", "w": "qe", "x": "zc",
    "y": "tu", "z": "x",
}  # fmt: skip


def _variants() -> dict[str, tuple[str, ...]]:
    by_folded: dict[str, tuple[str, ...]] = {}
    for group in _CLASSIC_VARIANT_GROUPS:
        for variant in group:
            by_folded[variant] = tuple(other for other in group if other != variant)
    return by_folded


_VARIANTS: Final = _variants()


def same_given_name(first: str, second: str) -> bool:
    """The two are one name or forms of one name, by the classic table."""
    a, b = fold(first), fold(second)
    return a == b or b in _VARIANTS.get(a, ())


def perturb(
    rng: Random,
    *,
    health_record: dict[str, Any],
    education_record: dict[str, Any],
    area: LocalAuthorityArea,
) -> tuple[ErrorType, ...]:
    """Apply this child's errors, mostly to the education record, and name them.

    A surname change or a dropped half of a double-barrelled name may land on either side:
    either the GP or the school may be the one that was told.
    """
    applied: list[ErrorType] = []

    def roll(error: ErrorType) -> bool:
        return rng.random() < _RATE[error]

    if roll("surname_changed"):
        _change_surname(rng, health_record, education_record)
        applied.append("surname_changed")
    if "-" in health_record["family_name"] and roll("double_barrelled_part_dropped"):
        side = education_record if rng.random() < 0.7 else health_record
        parts = side["family_name"].split("-")
        side["family_name"] = rng.choice(parts)
        applied.append("double_barrelled_part_dropped")
    if fold(education_record["given_name"]) in _VARIANTS and roll("given_name_variant"):
        variant = rng.choice(_VARIANTS[fold(education_record["given_name"])])
        education_record["given_name"] = variant.title()
        applied.append("given_name_variant")
    if roll("given_name_typo"):
        education_record["given_name"] = typo(rng, education_record["given_name"])
        applied.append("given_name_typo")
    if roll("family_name_typo"):
        education_record["family_name"] = typo(rng, education_record["family_name"])
        applied.append("family_name_typo")
    if _has_diacritics(education_record) and roll("diacritics_dropped"):
        _drop_diacritics(education_record)
        applied.append("diacritics_dropped")
    applied.extend(_perturb_date_of_birth(rng, education_record))
    if roll("house_move"):
        moved = pick_address(rng, area)
        education_record["address"] = {"lines": moved["lines"], "postcode": moved["postcode"]}
        applied.append("house_move")
    elif education_record["address"] is not None and roll("postcode_slip"):
        address = education_record["address"]
        address["postcode"] = postcode_slip(rng, address["postcode"])
        applied.append("postcode_slip")
    if education_record["sex"] != "Z" and roll("sex_not_known"):
        education_record["sex"] = "Z"
        applied.append("sex_not_known")
    if education_record["middle_names"] and roll("middle_names_missing"):
        education_record["middle_names"] = None
        applied.append("middle_names_missing")
    return tuple(applied)


def maybe_double_barrel(rng: Random, health_record: dict[str, Any]) -> None:
    """Give a few more children a hyphenated surname, before their records are copied."""
    if "-" not in health_record["family_name"] and rng.random() < _DOUBLE_BARRELLED_SHARE:
        other = SURNAMES.pick(rng)
        if other != health_record["family_name"] and " " not in other:
            health_record["family_name"] = f"{health_record['family_name']}-{other}"


def _change_surname(
    rng: Random, health_record: dict[str, Any], education_record: dict[str, Any]
) -> None:
    old = health_record["family_name"]
    new = SURNAMES.pick(rng)
    while new == old:
        new = SURNAMES.pick(rng)
    # The side that was told has the new name and keeps the old one as a former name; the
    # other side still has the old name only.
    told, behind = (
        (health_record, education_record)
        if rng.random() < 0.5
        else (education_record, health_record)
    )
    told["family_name"] = new
    told["former_names"] = [
        *told["former_names"],
        {"given_name": told["given_name"], "family_name": old},
    ]
    behind["family_name"] = old


def typo(rng: Random, name: str) -> str:
    """One keyboard slip: a neighbouring key, a lost, doubled or transposed letter."""
    letters = [i for i, c in enumerate(name) if c.isalpha()]
    if len(letters) < 3:
        return name + name[-1]  # too short to lose a letter: double the last one
    while True:
        slipped = _slip(rng, name, position=rng.choice(letters[1:]))
        if slipped != name:  # swapping the two l's of "Llio" changes nothing
            return slipped


def _slip(rng: Random, name: str, *, position: int) -> str:
    # Position 0 is never chosen: first letters are rarely mistyped.
    char = name[position]
    kind = rng.randrange(4)
    if kind == 0 and char.lower() in _KEYBOARD_NEIGHBOURS:
        replacement = rng.choice(_KEYBOARD_NEIGHBOURS[char.lower()])
        return name[:position] + replacement + name[position + 1 :]
    if kind == 1:
        return name[:position] + name[position + 1 :]
    if kind == 2 and position + 1 < len(name) and name[position + 1].isalpha():
        return name[:position] + name[position + 1] + char + name[position + 2 :]
    return name[:position] + char + name[position:]


def postcode_slip(rng: Random, postcode: str) -> str:
    """One character of the inward code mistyped, still a well-formed postcode."""
    outward, inward = postcode.split(" ")
    position = rng.randrange(3)
    if position == 0:
        digit = rng.choice([d for d in "0123456789" if d != inward[0]])
        return f"{outward} {digit}{inward[1:]}"
    letter = rng.choice([c for c in _INWARD_LETTERS if c != inward[position]])
    chars = list(inward)
    chars[position] = letter
    return f"{outward} {''.join(chars)}"


def strip_diacritics(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", plain)


def _name_texts(record: dict[str, Any]) -> list[str]:
    return [
        record["given_name"],
        record["family_name"],
        record["middle_names"] or "",
        *(former["family_name"] for former in record["former_names"]),
    ]


def _has_diacritics(record: dict[str, Any]) -> bool:
    return any(strip_diacritics(text) != text for text in _name_texts(record))


def _drop_diacritics(record: dict[str, Any]) -> None:
    for field in ("given_name", "family_name", "middle_names"):
        if record[field]:
            record[field] = strip_diacritics(record[field])
    record["former_names"] = [
        {key: strip_diacritics(value) for key, value in former.items()}
        for former in record["former_names"]
    ]
    if record["address"] is not None:
        record["address"]["lines"] = [strip_diacritics(line) for line in record["address"]["lines"]]


def _perturb_date_of_birth(rng: Random, education_record: dict[str, Any]) -> list[ErrorType]:
    born = date.fromisoformat(education_record["date_of_birth"])
    if born.day <= 12 and born.day != born.month and rng.random() < _RATE["day_month_swapped"]:
        education_record["date_of_birth"] = date(born.year, born.day, born.month).isoformat()
        return ["day_month_swapped"]
    if rng.random() < _RATE["dob_digit_off"]:
        education_record["date_of_birth"] = digit_off(rng, born).isoformat()
        return ["dob_digit_off"]
    return []


def digit_off(rng: Random, born: date) -> date:
    """The same date with one digit of its ISO form changed, still a real date in the past
    decade: the year's last digit moves by one, a day digit may become any other."""
    text = born.isoformat()
    while True:
        position = rng.choice((3, 8, 9))
        if position == 3:
            digit = str(int(text[3]) + rng.choice((-1, 1)))
            if digit in ("-1", "10"):
                continue
        else:
            digit = rng.choice([d for d in "0123456789" if d != text[position]])
        candidate = text[:position] + digit + text[position + 1 :]
        try:
            return date.fromisoformat(candidate)
        except ValueError:
            continue
