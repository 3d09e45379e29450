"""A synthetic Welsh population with ground truth: GP lists, the LAs' education records,
and what each child's real situation is, so linkage quality can be measured against it.

Rates, as shares of the children on an authority's GP list (all of compulsory school age):

| category             | share   | source or assumption                                     |
|----------------------|---------|----------------------------------------------------------|
| independent_school   | 1.7%    | ADR Wales 2024: ~8,000 of ~440,000 (1.8%)                 |
| ehe (assured)        | 0.63%   | ADR Wales 2024: ~4,000 EHE (0.9%); 70% assured is assumed |
| ehe (not assured)    | 0.27%   |                                                          |
| eotas                | 0.3%    | Welsh Government EOTAS statistics: roughly 1,300 pupils   |
| school_in_england    | 0.2%    | assumed; 3% in border LAs (Monmouthshire, Powys,          |
|                      | (3%)    | Flintshire, Wrexham), where English schools are nearby    |
| moved_away           | 2%      | GP list over-coverage: children who left but were never   |
|                      |         | de-registered (ADR Wales 2024 names it; 2% is assumed)    |
| missing (true CME)   | 0.3%    | assumed: the small residue                               |
| maintained_school    | rest    |                                                          |

Together the non-maintained categories are about 5-6% of the GP list, in line with ADR
Wales's finding that about 6% of GP-registered children are not on state-school or EOTAS
records. Counts are exact (round(share * children)), so the benchmark's truth is stable.

Besides the children on the GP list, each authority's education records hold about 2% more
children with no health record in the extract (registered with a GP in another area).
About 1.4% of children are twins: same surname, birthday and address, different given
names, both at the same school. The errors between a child's two records are described in
`services.synthetic.errors` (the "classic" model) and `services.synthetic.recording_errors`
(the "independent" one, which also adds twins with similar names, twins of whom one is
missing education, and namesakes whose dates of birth differ in one digit).
"""

from __future__ import annotations

import copy
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, Literal, get_args

from schemas.identifiers import nhs_number_check_digit
from services.synthetic import errors as classic_errors
from services.synthetic import recording_errors
from services.synthetic.health import generate_health_records
from services.synthetic.places import LOCAL_AUTHORITY_AREAS, LocalAuthorityArea, pick_address
from services.synthetic.providers import AuthorityProviders, Provider, authority_providers
from services.synthetic.twins import make_twins

TruthCategory = Literal[
    "maintained_school",
    "independent_school",
    "eotas",
    "school_in_england",
    "ehe_assured",
    "ehe_not_assured",
    "moved_away",
    "missing",
]
TRUTH_CATEGORIES: Final[tuple[TruthCategory, ...]] = get_args(TruthCategory)
#: How the two records of a child come to differ: "classic" (`errors`, the model the
#: engine was first built against) or "independent" (`recording_errors`).
ErrorModel = Literal["classic", "independent"]
ERROR_MODELS: Final[tuple[ErrorModel, ...]] = get_args(ErrorModel)
#: Children the service should list: no suitable education known to the authority. A
#: child who moved away is not found either, and listing them is right (the officer then
#: closes the case as `moved_to_another_authority`), but the bench reports them apart.
TRULY_MISSING: Final[frozenset[TruthCategory]] = frozenset(
    {"missing", "ehe_not_assured", "moved_away"}
)

_SHARES: Final[dict[TruthCategory, float]] = {
    "independent_school": 0.017,
    "ehe_assured": 0.0063,
    "ehe_not_assured": 0.0027,
    "eotas": 0.003,
    "school_in_england": 0.002,
    "moved_away": 0.02,
    "missing": 0.003,
}
BORDER_AUTHORITIES: Final = frozenset({"W06000021", "W06000023", "W06000005", "W06000006"})
_BORDER_SCHOOL_IN_ENGLAND_SHARE: Final = 0.03
_EDUCATION_ONLY_SHARE: Final = 0.02
_TWIN_SHARE: Final = 0.014  # of children; half as many pairs
# Independent model only: twins with alike names, and pairs of which one is missing
# education (the other at school); namesakes (same names and sex, date of birth one digit
# apart, half of them involving a truly missing child).
_SIMILAR_TWIN_NAMES_SHARE: Final = 0.3
_TWIN_ONE_MISSING_SHARE: Final = 0.25
_NAMESAKE_SHARE: Final = 0.005
# Schools seldom hold a child's NHS number; a few do, from health-visitor or ALN work.
_EDUCATION_NHS_NUMBER_SHARE: Final = 0.04
_MAX_CHILDREN: Final = 800_000  # the test NHS number range holds about 909,000 valid ones

_PROVISION: Final[dict[TruthCategory, str]] = {
    "maintained_school": "maintained_school",
    "independent_school": "independent_school",
    "eotas": "eotas",
    "school_in_england": "school_in_england",
    "ehe_assured": "ehe",
    "ehe_not_assured": "ehe",
}

_EHE_SUITABILITY: Final[dict[TruthCategory, str]] = {
    "ehe_assured": "assured",
    "ehe_not_assured": "not_assured",
}


@dataclass(frozen=True, slots=True)
class ChildTruth:
    """What is really true of one child on the GP list."""

    category: TruthCategory
    local_authority_code: str
    education_record_id: str | None  # None when the authority holds no record of them
    errors: tuple[str, ...] = ()  # how their records differ (and "namesake", "twin_missing")
    twin_record_id: str | None = None  # the health record of their twin


@dataclass(frozen=True, slots=True)
class Population:
    reference_date: date
    health_records: list[dict[str, Any]]
    education_records_by_la: dict[str, list[dict[str, Any]]]
    truth: dict[str, ChildTruth]  # by health record_id


def generate_population(
    *,
    la_codes: Sequence[str],
    children_per_authority: int,
    reference_date: date,
    seed: int,
    error_model: ErrorModel = "classic",
) -> Population:
    """GP-registered children and education records for each LA, with the truth linking
    them. Deterministic: the same arguments give the same population on every run."""
    if error_model not in ERROR_MODELS:
        raise ValueError(f"error model must be one of {', '.join(ERROR_MODELS)}")
    if isinstance(la_codes, str):
        raise TypeError("la_codes is a sequence of GSS codes, not one string")
    unknown = sorted(set(la_codes) - LOCAL_AUTHORITY_AREAS.keys())
    if unknown or not la_codes or len(set(la_codes)) != len(la_codes):
        raise ValueError(f"expected distinct Welsh LA GSS codes, unknown: {unknown}")
    total = len(la_codes) * round(children_per_authority * (1 + _EDUCATION_ONLY_SHARE))
    if children_per_authority < 1 or total > _MAX_CHILDREN:
        raise ValueError(f"need 1 to {_MAX_CHILDREN} children in all")
    health_records: list[dict[str, Any]] = []
    education_records_by_la: dict[str, list[dict[str, Any]]] = {}
    truth: dict[str, ChildTruth] = {}
    issued_nhs_numbers: set[str] = set()
    for la_code in la_codes:
        authority = _generate_authority(
            LOCAL_AUTHORITY_AREAS[la_code],
            children=children_per_authority,
            reference_date=reference_date,
            # Each authority its own stream, so adding an LA leaves the others unchanged.
            seed=seed * 1_000 + int(la_code[-3:]),
            issued_nhs_numbers=issued_nhs_numbers,
            independent=error_model == "independent",
        )
        health_records.extend(authority.health_records)
        education_records_by_la[la_code] = authority.education_records_by_la[la_code]
        truth |= authority.truth
    return Population(reference_date, health_records, education_records_by_la, truth)


def _generate_authority(
    area: LocalAuthorityArea,
    *,
    children: int,
    reference_date: date,
    seed: int,
    issued_nhs_numbers: set[str],
    independent: bool,
) -> Population:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    providers = authority_providers(area, children=children)
    extra = round(children * _EDUCATION_ONLY_SHARE)
    people = generate_health_records(
        count=children + extra, la_codes=[area.gss_code], reference_date=reference_date, seed=seed
    )
    for index, person in enumerate(people):
        person["record_id"] = f"gp-{providers.la_number}-{index + 1:06d}"
        _keep_nhs_number_unique(rng, person, issued_nhs_numbers)
    health_records, education_only = people[:children], people[children:]
    categories = _categories(rng, area, children)
    model = recording_errors if independent else classic_errors
    for health_record in health_records:
        model.maybe_double_barrel(rng, health_record)
    twins = make_twins(
        rng,
        health_records,
        at_school=[i for i, category in enumerate(categories) if category == "maintained_school"],
        share=_TWIN_SHARE,
        similar_names=_SIMILAR_TWIN_NAMES_SHARE if independent else 0.0,
    )
    errors: dict[str, tuple[str, ...]] = {}
    if independent:
        errors |= _one_twin_missing(rng, health_records, categories, twins)
        errors |= _namesakes(rng, health_records, categories, twins)

    education: list[tuple[dict[str, Any], str | None]] = []  # (record, health record_id)
    school_of: dict[str, Provider] = {}
    for health_record, category in zip(health_records, categories, strict=True):
        if category not in _PROVISION:
            continue
        education_record = _education_record(
            rng,
            health_record,
            category,
            providers,
            reference_date,
            area,
            # Twins go to the same school.
            school=school_of.get(twins.get(health_record["record_id"], "")),
        )
        if health_record["record_id"] in twins:  # twins are all at maintained schools
            school_of[health_record["record_id"]] = Provider(
                education_record["provider_name"], education_record["provider_code"]
            )
        errors[health_record["record_id"]] = errors.get(
            health_record["record_id"], ()
        ) + model.perturb(
            rng, health_record=health_record, education_record=education_record, area=area
        )
        education.append((education_record, health_record["record_id"]))
    for person in education_only:
        category = "independent_school" if rng.random() < 0.02 else "maintained_school"
        education.append(
            (_education_record(rng, person, category, providers, reference_date, area), None)
        )

    # Shuffled and numbered afterwards, so neither order nor id gives the truth away.
    rng.shuffle(education)
    education_record_ids: dict[str, str] = {}
    for number, (education_record, health_record_id) in enumerate(education, start=1):
        education_record["record_id"] = f"la-{providers.la_number}-{number:06d}"
        if health_record_id is not None:
            education_record_ids[health_record_id] = education_record["record_id"]
    truth = {
        record["record_id"]: ChildTruth(
            category=category,
            local_authority_code=area.gss_code,
            education_record_id=education_record_ids.get(record["record_id"]),
            errors=errors.get(record["record_id"], ()),
            twin_record_id=twins.get(record["record_id"]),
        )
        for record, category in zip(health_records, categories, strict=True)
    }
    return Population(
        reference_date, health_records, {area.gss_code: [r for r, _ in education]}, truth
    )


def _one_twin_missing(
    rng: random.Random,
    health_records: list[dict[str, Any]],
    categories: list[TruthCategory],
    twins: dict[str, str],
) -> dict[str, tuple[str, ...]]:
    """For a share of twin pairs, one twin swaps categories with a missing child: the
    other twin's school record must not be taken for theirs. Counts stay exact."""
    index = {r["record_id"]: i for i, r in enumerate(health_records)}
    missing = [i for i, c in enumerate(categories) if c == "missing"]
    rng.shuffle(missing)
    traits: dict[str, tuple[str, ...]] = {}
    for first, second in sorted(twins.items()):
        if first > second or not missing or rng.random() >= _TWIN_ONE_MISSING_SHARE:
            continue
        swap_with, twin = missing.pop(), index[second]
        categories[swap_with], categories[twin] = categories[twin], "missing"
        traits[second] = ("twin_missing",)
    return traits


def _namesakes(
    rng: random.Random,
    health_records: list[dict[str, Any]],
    categories: list[TruthCategory],
    twins: dict[str, str],
) -> dict[str, tuple[str, ...]]:
    """Children given another child's names and sex, with a date of birth one digit away
    from theirs; half of them truly missing, so that a school record of the namesake
    is the trap."""
    free = [i for i, r in enumerate(health_records) if r["record_id"] not in twins]
    at_school = [i for i in free if categories[i] == "maintained_school"]
    missing = [i for i in free if categories[i] in TRULY_MISSING]
    traits: dict[str, tuple[str, ...]] = {}
    for _ in range(round(len(health_records) * _NAMESAKE_SHARE)):
        pool = missing if rng.random() < 0.5 and missing else at_school
        if len(at_school) < 2 or not pool:
            break
        # Neither is drawn again, so no later namesake renames either of them.
        namesake = pool.pop(rng.randrange(len(pool)))
        model_index = at_school.pop(rng.randrange(len(at_school)))
        child, model = health_records[namesake], health_records[model_index]
        for field in ("given_name", "family_name", "sex"):
            child[field] = model[field]
        born = date.fromisoformat(model["date_of_birth"])
        child["date_of_birth"] = recording_errors.digit_mistyped(rng, born).isoformat()
        traits[child["record_id"]] = ("namesake",)
    return traits


def _categories(rng: random.Random, area: LocalAuthorityArea, children: int) -> list[TruthCategory]:
    shares = dict(_SHARES)
    if area.gss_code in BORDER_AUTHORITIES:
        shares["school_in_england"] = _BORDER_SCHOOL_IN_ENGLAND_SHARE
    categories: list[TruthCategory] = []
    for category, share in shares.items():
        categories.extend([category] * round(children * share))
    categories.extend(["maintained_school"] * (children - len(categories)))
    rng.shuffle(categories)
    return categories


def _education_record(
    rng: random.Random,
    person: dict[str, Any],
    category: TruthCategory,
    providers: AuthorityProviders,
    reference_date: date,
    area: LocalAuthorityArea,
    school: Provider | None = None,
) -> dict[str, Any]:
    """The authority's record of this child, before any errors."""
    born = date.fromisoformat(person["date_of_birth"])
    provision = _PROVISION[category]
    provider = providers.provider_for(
        rng, provision=provision, born=born, reference_date=reference_date, school=school
    )
    # Only maintained schools' pupils are counted here as holding a UPN.
    upn = providers.issue_upn(rng, born=born) if provision == "maintained_school" else None
    address = person.get("address")
    if address is None:
        # A sensitive child's GP record has no address; the school still knows one.
        address = pick_address(rng, area)
    with_nhs_number = rng.random() < _EDUCATION_NHS_NUMBER_SHARE
    return {
        "record_id": "",
        "given_name": person["given_name"],
        "middle_names": person["middle_names"],
        "family_name": person["family_name"],
        "former_names": copy.deepcopy(person["former_names"]),
        "date_of_birth": person["date_of_birth"],
        "sex": person["sex"],
        "address": {"lines": list(address["lines"]), "postcode": address["postcode"]},
        "upn": upn,
        "nhs_number": person["nhs_number"] if with_nhs_number else None,
        "provision": provision,
        "provider_name": provider.name if provider else None,
        "provider_code": provider.code if provider else None,
        "ehe_suitability": _EHE_SUITABILITY.get(category),
    }


def _keep_nhs_number_unique(rng: random.Random, person: dict[str, Any], issued: set[str]) -> None:
    """Authorities are generated separately; redraw any number another one already used."""
    nhs_number: str | None = person["nhs_number"]
    if nhs_number is None:
        return
    while nhs_number in issued:
        first_nine = f"999{rng.randrange(1_000_000):06d}"
        check_digit = nhs_number_check_digit(first_nine)
        if check_digit is not None:  # about 1 in 11 bodies has no valid check digit
            nhs_number = f"{first_nine}{check_digit}"
    issued.add(nhs_number)
    person["nhs_number"] = nhs_number
