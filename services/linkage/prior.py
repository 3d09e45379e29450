"""Build the shipped prior model (`prior_model.json`) from a seeded synthetic population.

Small authorities have too few records for stable EM estimates, so the engine falls back on
this prior; larger runs start EM from it. Regenerate it after changing the comparisons:

    .venv/bin/python -m services.linkage.prior

The population is Welsh-shaped (very common surnames, Welsh and English given-name forms)
with the clerical errors seen between GP and school records: nicknames and Welsh/English
variants, typos, surname changes with former names, hyphenation, day-month swaps, digit
slips, house moves and missing fields. The rates are stated below so they can be argued
with; the generator is deliberately simple and separate from `cme synth`.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import date, timedelta

from services.linkage.models import PersonRecord
from services.linkage.names import _EQUIVALENT_GIVEN_NAMES
from services.linkage.scoring import PRIOR_MODEL_PATH, load_prior, quiet_splink, train
from services.linkage.workspace import create_candidate_tables, load_records, open_workspace

_COMMON_SURNAMES = (
    ("jones", 60),
    ("williams", 40),
    ("davies", 38),
    ("evans", 30),
    ("thomas", 28),
    ("roberts", 20),
    ("lewis", 16),
    ("hughes", 15),
    ("morgan", 13),
    ("griffiths", 11),
    ("edwards", 10),
    ("smith", 9),
    ("james", 9),
    ("rees", 8),
    ("jenkins", 7),
    ("owen", 7),
    ("price", 7),
    ("phillips", 6),
    ("morris", 6),
    ("lloyd", 5),
    ("parry", 5),
    ("powell", 5),
)
_EXTRA_GIVEN = (
    "cerys",
    "seren",
    "ffion",
    "osian",
    "cai",
    "macsen",
    "dylan",
    "evie",
    "olivia",
    "noah",
    "nia",
    "lowri",
    "gethin",
    "carys",
    "tomos",
    "efa",
    "elis",
    "mabli",
    "alaw",
    "ianto",
    "isla",
    "ava",
    "mia",
    "leo",
    "arthur",
    "freddie",
    "oscar",
    "poppy",
    "grace",
    "ruby",
)
_SYLLABLES = (
    "ab",
    "bry",
    "car",
    "del",
    "en",
    "fro",
    "gar",
    "hol",
    "ing",
    "ken",
    "lor",
    "mor",
    "nan",
    "ord",
    "pen",
    "rid",
    "sel",
    "tan",
    "ur",
    "wyn",
)
_STREETS = (
    "heol y bont",
    "church",
    "high",
    "station",
    "bryn",
    "park",
    "mill",
    "castle",
    "glan yr afon",
    "maes y coed",
    "victoria",
    "ffordd newydd",
)
_RATES = {  # probability of each error in the education copy of a matched child
    "variant": 0.06,
    "given_typo": 0.03,
    "family_typo": 0.03,
    "surname_change": 0.02,
    "hyphenated": 0.02,
    "transposed": 0.005,
    "half_transposed": 0.005,
    "day_month_swap": 0.01,
    "dob_digit": 0.01,
    "moved": 0.10,
    "no_sex": 0.05,
    "no_postcode": 0.03,
    "no_address": 0.05,
    "postcode_slip": 0.02,
    "sex_error": 0.005,
    # A field wholly different for the same child. Rare, but not as rare as a population
    # without them would have the prior say (m ~ 0.0003, so one such field vetoed any link
    # however well the rest agreed): a surname changed with no former name recorded, a
    # given name the child is known by that no table lists, a birth date keyed wrongly.
    "surname_unrecorded": 0.01,
    "known_as": 0.01,
    "dob_miskeyed": 0.005,
}


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 3:
        return word + rng.choice("aeiou")
    i = rng.randrange(1, len(word))
    return word[:i] + rng.choice("abcdefghijklmnoprstuwy") + word[i + 1 :]


_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
_TOWNS = (
    "cardiff",
    "penarth",
    "barry",
    "caerphilly",
    "pontypridd",
    "bridgend",
    "newport",
    "swansea",
    "neath",
    "llanelli",
    "merthyr tydfil",
    "aberdare",
)


def _postcode(rng: random.Random, sector: str | None = None) -> str:
    sector = sector or f"CF{rng.randint(1, 72)} {rng.randint(1, 9)}"
    return f"{sector}{rng.choice(_UNIT_LETTERS)}{rng.choice(_UNIT_LETTERS)}"


def _address(rng: random.Random) -> tuple[str, ...]:
    street = f"{rng.choice(_STREETS)} {rng.choice(('street', 'road', 'close', 'avenue'))}"
    return (f"{rng.randint(1, 120)} {street}", rng.choice(_TOWNS))


def _child(rng: random.Random, index: int, surnames: list[str], weights: list[int]) -> PersonRecord:
    given_pool = [g for group in _EQUIVALENT_GIVEN_NAMES for g in group[:2]] + list(_EXTRA_GIVEN)
    if rng.random() < 0.5:
        family = rng.choices(surnames, weights)[0]
    else:
        family = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3)))
    return PersonRecord(
        record_id=f"h{index:06d}",
        nhs_number=None,
        given_name=rng.choice(given_pool),
        middle_names=rng.choice(given_pool) if rng.random() < 0.3 else None,
        family_name=family,
        former_names=(),
        date_of_birth=date(2009, 9, 1) + timedelta(days=rng.randrange(12 * 365)),
        sex=rng.choice("FM"),
        postcode=_postcode(rng),
        address_lines=_address(rng),
    )


def _education_copy(rng: random.Random, child: PersonRecord, record_id: str) -> PersonRecord:
    """The same child as a school roll might hold them, with errors at `_RATES`."""
    hit = {error: rng.random() < rate for error, rate in _RATES.items()}
    given, family, dob = child.given_name, child.family_name, child.date_of_birth
    assert dob is not None
    if hit["variant"]:
        group = next((g for g in _EQUIVALENT_GIVEN_NAMES if given in g), (given,))
        given = rng.choice(group)
    if hit["given_typo"]:
        given = _typo(rng, given)
    if hit["family_typo"]:
        family = _typo(rng, family)
    if hit["hyphenated"]:
        family = f"{family}-{rng.choice(_COMMON_SURNAMES)[0]}"
    if hit["transposed"]:
        given, family = family, given
    elif hit["half_transposed"]:
        # The surname keyed into the given-name box, the surname box then holding something
        # else (a middle name, a new partner's surname).
        given, family = family, child.middle_names or rng.choice(_COMMON_SURNAMES)[0]
    if hit["day_month_swap"] and dob.day <= 12 and dob.day != dob.month:
        dob = date(dob.year, dob.day, dob.month)
    if hit["dob_digit"]:
        dob = dob.replace(day=(dob.day % 28) + 1)
    if hit["known_as"]:
        given = rng.choice(_EXTRA_GIVEN)
    if hit["dob_miskeyed"]:
        dob = date(2009, 9, 1) + timedelta(days=rng.randrange(12 * 365))
    postcode, address, sex = child.postcode or "", child.address_lines, child.sex
    if hit["moved"]:
        # Four in ten moves stay within the sector (the next street, the same estate).
        postcode = _postcode(rng, postcode[:-2] if rng.random() < 0.4 else None)
        address = _address(rng)
    if hit["postcode_slip"]:
        postcode = postcode[:-1] + rng.choice(_UNIT_LETTERS)
    if hit["sex_error"]:
        sex = "M" if sex == "F" else "F"
    copy = replace(
        child,
        record_id=record_id,
        given_name=given,
        family_name=family,
        date_of_birth=dob,
        sex=None if hit["no_sex"] else sex,
        postcode=None if hit["no_postcode"] else postcode,
        address_lines=() if hit["no_address"] else address,
    )
    if hit["surname_unrecorded"]:
        copy = replace(copy, family_name=rng.choice(_COMMON_SURNAMES)[0])
    elif hit["surname_change"]:
        # Health still knows the birth surname as a former name.
        copy = replace(
            copy,
            family_name=rng.choice(_COMMON_SURNAMES)[0],
            former_names=((child.given_name, child.family_name),),
        )
    return copy


def synthetic_population(
    size: int, seed: int
) -> tuple[list[PersonRecord], list[PersonRecord], dict[str, str]]:
    """Health records, education records and the true health -> education pairs.

    About 8% of health records have no education partner and 5% of education records no
    health partner, as in a real exchange.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible synthetic data, not a secret
    surnames = [s for s, _ in _COMMON_SURNAMES]
    weights = [w for _, w in _COMMON_SURNAMES]
    health = [_child(rng, i, surnames, weights) for i in range(size)]
    education: list[PersonRecord] = []
    truth: dict[str, str] = {}
    for child in health:
        if rng.random() < 0.92:
            record_id = f"e{len(education):06d}"
            education.append(_education_copy(rng, child, record_id))
            truth[child.record_id] = record_id
    for i in range(size // 20):
        stranger = _child(rng, size + i, surnames, weights)
        education.append(replace(stranger, record_id=f"e{len(education):06d}"))
    rng.shuffle(education)
    return health, education, truth


def build_prior(size: int = 20_000, seed: int = 440) -> dict[str, object]:
    health, education, _ = synthetic_population(size, seed)
    con = open_workspace()
    try:
        load_records(con, "health", health)
        load_records(con, "education", education)
        create_candidate_tables(con, set(), set())
        with quiet_splink():
            # EM starts from the shipped prior, whose values also stand for any level this
            # population never shows (a given/family transposition, say).
            return train(con, seed=seed, starting_point=load_prior())
    finally:
        con.close()


if __name__ == "__main__":
    model = build_prior()
    PRIOR_MODEL_PATH.write_text(json.dumps(model, indent=2, sort_keys=True) + "\n")
    print(f"wrote {PRIOR_MODEL_PATH}")
