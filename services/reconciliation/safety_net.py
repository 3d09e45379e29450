"""The assured home-education safety net: no child whose home education the authority is
assured of is listed as missing because linkage missed them.

The engine honours the rule for every child it links to an assured EHE record. It can miss:
a very common name, a birth year one digit off and a house move score a true pair far below
the review band (about 0.0003 as one pair of 20,000 x 20,000), and the child would be listed
"not found" while their own EHE record stays unlinked. So before a child becomes a definite
case the run asks a narrower question than the engine: is an assured EHE record of this
authority that the run left unlinked plausibly this child? If so the child becomes
`possible_match_needs_review` with that record among its candidates, and an officer
decides. The evidence is never enough to link: a truly missing child who shares a common
name with a home-educated child must stay visible, and review keeps them so.

"Plausibly" (`plausibly_same_child`; measured on the tuning seeds, README "The assured
home-education safety net"): the same given name or a form the engine treats as the same
(nickname, Welsh/English form, middle or former given name), a surname in common (current
or former, double-barrelled words in any order), a birth date at most one slip or three
days away (`birth_dates_close`), and nothing that tells two children apart: different NHS
numbers, or different sexes. Residence is not asked: children move house.

The candidate carries the engine's own agreement labels, so an officer reads it as any
other; its match probability is 0.0 with no match weights, since the engine scored the pair
below anything it reports (the net, not the model, puts it forward).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from services.linkage import CandidateLink, HealthRecordOutcome, LinkageResult, PersonRecord
from services.linkage.features import clear_caches
from services.linkage.models import AgreementLabel
from services.linkage.names import canonical_given_name, name_tokens
from services.linkage.workspace import agreements, load_records, open_workspace
from services.reconciliation.decisions import EducationFacts

logger = logging.getLogger(__name__)

Pair = tuple[str, str]  # (health_record_id, education_record_id)
Labels = Mapping[Pair, Mapping[str, AgreementLabel]]
#: The most EHE records the net puts to an officer for one child (as the engine's list).
MAX_CANDIDATES = 5
_INFORMATIVE_SEX = frozenset({"F", "M"})
_ASSURED = EducationFacts("ehe", "assured")
_DAYS_OUT = 3


@dataclass(frozen=True, slots=True)
class _Names:
    """What the rule compares of a record's names: folded, and given names as the
    engine's equivalence keys."""

    given: str | None  # key of the first given-name word
    other_given: frozenset[str]  # keys of the other given, middle and former given words
    surnames: frozenset[frozenset[str]]  # words of the current and each former surname


def _names(person: PersonRecord) -> _Names:
    given = name_tokens(person.given_name)
    others = [*given[1:], *name_tokens(person.middle_names)]
    others += [word for former, _ in person.former_names for word in name_tokens(former)]
    surnames = [name_tokens(person.family_name)]
    surnames += [name_tokens(family) for _, family in person.former_names]
    return _Names(
        given=canonical_given_name(given[0]) if given else None,
        other_given=frozenset(c for w in others if (c := canonical_given_name(w))),
        surnames=frozenset(frozenset(words) for words in surnames if words),
    )


def same_names(a: PersonRecord, b: PersonRecord) -> bool:
    """The same given name, or a form the engine takes for it, and a surname in common."""
    ours, theirs = _names(a), _names(b)
    if ours.given is None or theirs.given is None or not ours.surnames & theirs.surnames:
        return False
    return (
        ours.given == theirs.given
        or ours.given in theirs.other_given
        or theirs.given in ours.other_given
    )


def birth_dates_close(a: date | None, b: date | None) -> bool:
    """At most one slip apart (`one_slip`), or a day to three days out: the engine's
    commonest date slip between systems (a registration or discharge date keyed for the
    birth date), which the tuning data showed is worth asking about (README)."""
    if a is None or b is None:
        return False
    return abs((a - b).days) <= _DAYS_OUT or one_slip(a, b)


def one_slip(a: date, b: date) -> bool:
    """One character of the ISO date changed, two neighbouring characters swapped, day and
    month swapped, or the same day and month a year out (a birth year keyed one off, 2014
    for 2013, or 2019 for 2020 where two digits change)."""
    if a == b or (a.year == b.year and (a.day, a.month) == (b.month, b.day)):
        return True
    if (a.month, a.day) == (b.month, b.day) and abs(a.year - b.year) == 1:
        return True
    left, right = a.isoformat(), b.isoformat()
    off = [i for i, (x, y) in enumerate(zip(left, right, strict=True)) if x != y]
    if len(off) == 1:
        return True
    return (
        len(off) == 2
        and off[1] == off[0] + 1
        and (left[off[0]], left[off[1]]) == (right[off[1]], right[off[0]])
    )


def told_apart(a: PersonRecord, b: PersonRecord) -> bool:
    """Evidence of two children that no recording slip explains."""
    if a.nhs_number and b.nhs_number and a.nhs_number != b.nhs_number:
        return True
    return a.sex in _INFORMATIVE_SEX and b.sex in _INFORMATIVE_SEX and a.sex != b.sex


def plausibly_same_child(child: PersonRecord, home_educated: PersonRecord) -> bool:
    """Whether a child the engine left unlinked may be the child of this EHE record."""
    return (
        not told_apart(child, home_educated)
        and birth_dates_close(child.date_of_birth, home_educated.date_of_birth)
        and same_names(child, home_educated)
    )


def unlinked_assured(
    result: LinkageResult,
    education: Iterable[PersonRecord],
    facts: Mapping[str, EducationFacts],
) -> list[PersonRecord]:
    """The authority's assured EHE records that no child of the run was linked to."""
    linked = {match.education_record_id for match in result.matches}
    return [
        record
        for record in education
        if facts[record.record_id] == _ASSURED and record.record_id not in linked
    ]


def safety_net_pairs(
    result: LinkageResult,
    *,
    health: Iterable[PersonRecord],
    education: Iterable[PersonRecord],
    facts: Mapping[str, EducationFacts],
) -> dict[str, list[str]]:
    """For each child the run found no record for, the unlinked assured EHE records that
    are plausibly theirs (at most `MAX_CANDIDATES`, by record id)."""
    home_educated = sorted(unlinked_assured(result, education, facts), key=lambda r: r.record_id)
    if not home_educated:  # as in almost every run: nothing to ask
        return {}
    found: dict[str, list[str]] = {}
    for child in health:
        if result.outcome_for(child.record_id).status != "no_match":
            continue
        plausible = [e.record_id for e in home_educated if plausibly_same_child(child, e)]
        if plausible:
            found[child.record_id] = plausible[:MAX_CANDIDATES]
    return found


def engine_agreement(
    pairs: Iterable[Pair], health: Iterable[PersonRecord], education: Iterable[PersonRecord]
) -> Labels:
    """The linkage engine's own per-field agreement labels for `pairs`, so the officer sees
    the net's candidates as every other."""
    wanted = sorted(set(pairs))
    health_ids, education_ids = {h for h, _ in wanted}, {e for _, e in wanted}
    con = open_workspace()
    try:
        load_records(con, "health", [p for p in health if p.record_id in health_ids])
        load_records(con, "education", [p for p in education if p.record_id in education_ids])
        return agreements(con, wanted)
    finally:
        con.close()
        clear_caches()  # no child's details outlive the comparison (as in `link()`)


def with_safety_net(
    result: LinkageResult,
    *,
    health: Sequence[PersonRecord],
    education: Sequence[PersonRecord],
    facts: Mapping[str, EducationFacts],
) -> LinkageResult:
    """`result` with each child the net catches offered their plausible EHE records for
    review; the same `result` when it catches none."""
    found = safety_net_pairs(result, health=health, education=education, facts=facts)
    if not found:
        return result
    pairs = [(h, e) for h, es in found.items() for e in es]
    labels = engine_agreement(pairs, health, education)
    logger.info(
        "assured EHE safety net: %d children put to an officer with %d EHE records",
        len(found),
        len({e for _, e in pairs}),
    )

    def offered(outcome: HealthRecordOutcome) -> HealthRecordOutcome:
        h = outcome.health_record_id
        candidates = tuple(
            CandidateLink(h, e, 0.0, labels[(h, e)], "probabilistic") for e in found[h]
        )
        return replace(outcome, review_candidates=candidates)

    return LinkageResult(
        outcomes=tuple(offered(o) if o.health_record_id in found else o for o in result.outcomes)
    )
