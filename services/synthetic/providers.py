"""Who educates a synthetic child: made-up schools, units and tutors for one authority.

Codes follow the Welsh LAEstab shape: the LA's education number (660-681) then a
four-digit establishment number, 2xxx for primary, 4xxx for secondary, 6xxx independent,
1xxx for a pupil referral unit. Schools in England carry an English LA number of a
neighbouring county. Names are invented from each area's localities.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from random import Random
from typing import Final

from schemas.identifiers import upn_check_letter
from schemas.organisations import organisation
from services.synthetic.places import LocalAuthorityArea

# Roughly one primary school per 220 children of compulsory school age and one secondary
# per 1,000, which is about the Welsh ratio (some 1,200 primaries and 180 secondaries).
_CHILDREN_PER_PRIMARY: Final = 220
_CHILDREN_PER_SECONDARY: Final = 1_000
_PRIMARY_LEAVING_AGE: Final = 11
# English LA numbers of the counties over the border, and towns to name schools after.
_ENGLISH_NEIGHBOURS: Final = (
    ("884", "Hereford"),
    ("893", "Oswestry"),
    ("896", "Chester"),
    ("916", "Gloucester"),
    ("801", "Bristol"),
    ("893", "Ludlow"),
)


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    code: str


@dataclass
class AuthorityProviders:
    """The schools and units of one authority, and the UPNs its primaries have issued."""

    la_number: str
    primaries: tuple[Provider, ...]
    secondaries: tuple[Provider, ...]
    independents: tuple[Provider, ...]
    pupil_referral_unit: Provider
    english_schools: tuple[Provider, ...]
    _next_serial: dict[tuple[str, int], int] = field(default_factory=dict)

    def maintained_school(self, rng: Random, *, born: date, reference_date: date) -> Provider:
        age = (
            reference_date.year
            - born.year
            - ((reference_date.month, reference_date.day) < (born.month, born.day))
        )
        pool = self.primaries if age < _PRIMARY_LEAVING_AGE else self.secondaries
        return rng.choice(pool)

    def provider_for(
        self,
        rng: Random,
        *,
        provision: str,
        born: date,
        reference_date: date,
        school: Provider | None = None,
    ) -> Provider | None:
        """Who provides this education; `school` keeps twins together. None for EHE."""
        if provision == "maintained_school":
            return school or self.maintained_school(rng, born=born, reference_date=reference_date)
        if provision == "independent_school":
            return rng.choice(self.independents)
        if provision == "eotas":
            return self.pupil_referral_unit
        if provision == "school_in_england":
            return rng.choice(self.english_schools)
        return None

    def issue_upn(self, rng: Random, *, born: date) -> str:
        """A permanent UPN as a primary school issues it on admission to reception: LA
        number, that school's establishment number, the two-digit year, a serial."""
        for _ in range(len(self.primaries) * 2):
            school = rng.choice(self.primaries)
            establishment = school.code[3:]
            year = (born.year + 5) % 100
            serial = self._next_serial.get((establishment, year), 0)
            if serial < 1000:
                self._next_serial[(establishment, year)] = serial + 1
                body = f"{self.la_number}{establishment}{year:02d}{serial:03d}"
                return upn_check_letter(body) + body
        raise ValueError("ran out of UPN serial numbers: too many children for the schools")


def authority_providers(area: LocalAuthorityArea, *, children: int) -> AuthorityProviders:
    """Deterministic for an area and a population size: no randomness needed."""
    found = organisation(area.gss_code)
    if found is None or found.education_la_number is None:
        raise ValueError(f"no education LA number for {area.gss_code}")
    la_number = found.education_la_number
    localities = area.localities
    primaries = tuple(
        Provider(
            name=_school_name(localities[i % len(localities)], i // len(localities), primary=True),
            code=f"{la_number}{2000 + i + 1:04d}",
        )
        for i in range(max(1, children // _CHILDREN_PER_PRIMARY))
    )
    secondaries = tuple(
        Provider(
            name=_school_name(localities[i % len(localities)], i // len(localities), primary=False),
            code=f"{la_number}{4000 + i + 1:04d}",
        )
        for i in range(max(1, children // _CHILDREN_PER_SECONDARY))
    )
    independents = tuple(
        Provider(name=f"{locality} {kind}", code=f"{la_number}{6000 + i + 1:04d}")
        for i, (locality, kind) in enumerate(
            zip(
                localities[:3],
                ("Independent School", "Preparatory School", "Steiner School"),
                strict=True,
            )
        )
    )
    english = tuple(
        Provider(name=f"{town} {kind}", code=f"{number}{4000 + i + 1:04d}")
        for i, ((number, town), kind) in enumerate(
            zip(_ENGLISH_NEIGHBOURS, ("Academy", "High School", "Primary Academy") * 2, strict=True)
        )
    )
    return AuthorityProviders(
        la_number=la_number,
        primaries=primaries,
        secondaries=secondaries,
        independents=independents,
        pupil_referral_unit=Provider(
            name=f"{area.name} Pupil Referral Unit", code=f"{la_number}1100"
        ),
        english_schools=english,
    )


def _school_name(locality: str, round_: int, *, primary: bool) -> str:
    # Several schools in one locality are told apart as Welsh-medium and numbered ones.
    if round_ == 0:
        return f"Ysgol Gynradd {locality}" if primary else f"Ysgol Gyfun {locality}"
    kind = "Primary School" if primary else "High School"
    return f"{locality} {kind} {round_}" if round_ > 1 else f"{locality} {kind}"
