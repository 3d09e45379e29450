"""One-to-one assignment of scored pairs, and the review band.

Greedy by descending probability: the strongest pair anywhere is settled first, and both
its records leave the pool. Twins (same surname, birthday and address, different given
names) therefore each keep their own record: the pair with the agreeing given name scores
far above the cross pair, and once taken, the cross pair is no longer available.

Sole candidates. Splink scores each pair as one of n x n, with prior odds of about 1/n, and
says nothing about the other pairs: a child who moved house, with exact name and date of
birth, scores 0.3-0.9 in Cardiff. But the two lists hold (almost) the same closed
population, and the other scored pairs carry evidence the pair alone cannot. When a pair
is the only candidate of both its records (no rival at or above `RIVAL_FLOOR`, nor at or
above the pair's own score, among the records still unlinked), it is wrong only if the
health child's own education record is absent (else it would be a rival) AND the
education record's own child is absent from the GP list (likewise), yet the two strangers
look alike. With shares `s_h` and `s_e` of
the lists having a partner in the other, the two absences are (1 - s_h) and (1 - s_e), so
the odds that the pair is a match rise by 1 / ((1 - s_h)(1 - s_e))
(`sole_candidate_bayes_factor`). The shares are taken as those already linked above the
threshold, a lower bound, so the factor errs low; and capped at `MAX_PARTNER_SHARE`
(a factor of at most 400), since no real exchange is complete. A sole candidate is
accepted when its odds times that factor clear the accept threshold AND names, date of
birth and sex leave little doubt on their own (`clear_identity`), so residence alone never
settles a pair. Anything short of that (two candidates for one child, a second child for
one record, two name or date slips, a sex disagreement) still goes to an officer. Accepted
this way, a link carries the adjusted probability.

The same evidence sends a sole candidate to an officer when it lifts the pair into the
review band but not to acceptance (`review_sole`): a child who moved house AND whose
surname changed with no former name recorded, or who is known by a nickname no table
lists, scores far below the band as one pair of n x n, yet is very likely the only record
that could be theirs. Listing such a child as "not found" outright would send an officer
looking for a child who is at school; showing the one candidate costs a glance.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from services.linkage.models import AgreementLabel
from services.linkage.predict import ScoredPair

#: A pair scoring this much counts as a rival candidate when deciding whether a pair is the
#: sole candidate on both sides. Well below the review band, so a rival an officer would
#: never be shown still keeps the pair in review.
RIVAL_FLOOR = 0.01
#: The least a pair may score to be weighed at all, as a sole candidate or as a rival.
#: Below `RIVAL_FLOOR` on purpose: a child who moved house and whose date of birth slipped
#: a digit scores about 0.002-0.01 as one pair of n x n, and uniqueness (a factor of up to
#: 400) is what lifts them into review; a pair this weak has a rival only in a stronger
#: pair of its own records.
COMPETITOR_FLOOR = 0.001
#: The least a sole candidate's adjusted probability may be for it to be shown rather than
#: the child listed "not found" outright. Lower than the review band: it is the only record
#: that could be theirs, and one chance in ten that a child listed as missing is on a
#: school roll is worth an officer's glance before anyone goes looking for them.
SOLE_REVIEW_LOWER = 0.1
#: Share of the larger list expected to have a partner in the other: most children on a GP
#: list are on some school roll. The prior odds of a pair assume it.
EXPECTED_PARTNER_SHARE = 0.9
#: The most of either list taken to have a partner when weighing a sole candidate.
MAX_PARTNER_SHARE = 0.95
#: The key of the sole-candidate evidence in a pair's match weights.
SOLE_CANDIDATE_WEIGHT = "sole_candidate"
_IDENTITY_FIELDS = ("given_name", "family_name", "date_of_birth")
_CLEAR: frozenset[AgreementLabel] = frozenset({"exact", "equivalent"})
_NEAR: frozenset[AgreementLabel] = frozenset({"fuzzy", "partial", "swapped"})
_CLEAR_ADDRESS: frozenset[AgreementLabel] = frozenset({"exact", "fuzzy"})
_SAME_POSTCODE: frozenset[AgreementLabel] = frozenset({"exact", "fuzzy", "missing"})


@dataclass(frozen=True, slots=True)
class Assignment:
    accepted: list[ScoredPair]
    review: dict[str, list[ScoredPair]]  # health_record_id -> candidates, best first
    #: Pairs that are the only candidate of both their records (see module), not yet
    #: accepted; those in the review band are also in `review`.
    sole: list[ScoredPair]


def _strongest_first(pair: ScoredPair) -> tuple[float, str, str]:
    # By match weight, not probability: above ~30 bits every probability is 1.0, and a
    # twin's exact pair must still beat the cross pair with a slipped given name. Rounded
    # so that floating-point noise cannot reorder near-ties; the ids then settle ties the
    # same way every time.
    return (-round(pair.match_weight, 6), pair.health_record_id, pair.education_record_id)


def assign(
    pairs: Iterable[ScoredPair],
    *,
    accept_threshold: float,
    review_lower: float,
    max_review_candidates: int,
    taken_health: set[str],
    taken_education: set[str],
) -> Assignment:
    """Accept one-to-one above the threshold; collect review candidates in the band.

    Education records already accepted for another child are not offered for review: an
    officer would only be shown a record that is accounted for.
    """
    ordered = sorted(pairs, key=_strongest_first)
    used_health, used_education = set(taken_health), set(taken_education)
    accepted: list[ScoredPair] = []
    for pair in ordered:
        if pair.match_probability < accept_threshold:
            break
        if pair.health_record_id in used_health or pair.education_record_id in used_education:
            continue
        accepted.append(pair)
        used_health.add(pair.health_record_id)
        used_education.add(pair.education_record_id)

    review: dict[str, list[ScoredPair]] = defaultdict(list)
    open_pairs = [
        p
        for p in ordered
        if p.health_record_id not in used_health
        and p.education_record_id not in used_education
        and p.match_probability >= min(review_lower, COMPETITOR_FLOOR)
    ]
    for pair in open_pairs:
        if pair.match_probability < review_lower:
            continue
        candidates = review[pair.health_record_id]
        if len(candidates) < max_review_candidates:
            candidates.append(pair)
    sole = _sole_candidates(open_pairs)
    return Assignment(accepted=accepted, review=dict(review), sole=sole)


def _sole_candidates(pairs: list[ScoredPair]) -> list[ScoredPair]:
    """Pairs with no rival on either side: no other pair of either record scoring at least
    `RIVAL_FLOOR` or at least the pair's own probability. Disjoint: of two pairs sharing a
    record, the weaker always has the stronger as its rival."""
    best: dict[tuple[str, str], list[float]] = defaultdict(list)  # (side, id) -> top two
    for pair in pairs:
        for key in (("h", pair.health_record_id), ("e", pair.education_record_id)):
            top = best[key]
            top.append(pair.match_probability)
            top.sort(reverse=True)
            del top[2:]

    def rival(key: tuple[str, str], probability: float) -> float:
        first, *rest = best[key]
        return (rest[0] if rest else 0.0) if first == probability else first

    return [
        p
        for p in pairs
        if all(
            rival(key, p.match_probability) < min(RIVAL_FLOOR, p.match_probability)
            for key in (("h", p.health_record_id), ("e", p.education_record_id))
        )
    ]


def _same_residence(agreement: Mapping[str, AgreementLabel]) -> bool:
    # The address agreeing with the postcode one character off, or absent on one side, is
    # still the same home: the residence comparison scores it so too.
    return (
        agreement.get("postcode") in _SAME_POSTCODE and agreement.get("address") in _CLEAR_ADDRESS
    )


def clear_identity(agreement: Mapping[str, AgreementLabel]) -> bool:
    """Names and date of birth leave little doubt on their own: each exact or an equivalent
    form (nickname, Welsh/English, middle name, former surname), except at most one that
    is near (a typo, half of a double-barrelled surname, one digit off, day and month
    swapped, a name in the other name's box); and sex not contradicted. A different address
    never counts against: children move house. An unchanged home buys a little more room
    (`_explained_at_home`), never for the given name."""
    if agreement.get("sex") == "different":
        return False
    home = _same_residence(agreement)
    off = [field for field in _IDENTITY_FIELDS if agreement.get(field) not in _CLEAR]
    for field in off:
        label = agreement.get(field)
        if label not in _NEAR and not (home and _explained_at_home(field, label, agreement)):
            return False
    return len(off) <= (2 if home else 1)


def _explained_at_home(
    field: str, label: AgreementLabel | None, agreement: Mapping[str, AgreementLabel]
) -> bool:
    """What a pair at the same home may lack and still be one child: a surname changed with
    no former name recorded; a field one side never recorded (missing is no evidence either
    way); a date of birth keyed wrongly when both names agree, since no two children of one
    household share a name. Never the given name: it is what tells twins apart."""
    if field == "given_name":
        return False
    if label == "missing":
        return True
    if field == "family_name":
        return label == "different"
    return label == "different" and all(
        agreement.get(name) in _CLEAR for name in ("given_name", "family_name")
    )


def sole_candidate_bayes_factor(*, linked: int, n_health: int, n_education: int) -> float:
    """How much more likely a match is for being the only candidate of both its records,
    given `linked` pairs already accepted between lists of these sizes (see module)."""
    if n_health <= 0 or n_education <= 0:
        return 1.0
    share_health = min(linked / n_health, MAX_PARTNER_SHARE)
    share_education = min(linked / n_education, MAX_PARTNER_SHARE)
    return 1.0 / ((1.0 - share_health) * (1.0 - share_education))


def sole_candidate_probability(match_probability: float, bayes_factor: float) -> float:
    """Match probability of a sole candidate: its odds times `bayes_factor`."""
    if match_probability >= 1.0:
        return 1.0
    odds = match_probability / (1.0 - match_probability) * bayes_factor
    return odds / (1.0 + odds)


def accept_sole(
    assignment: Assignment,
    *,
    accept_threshold: float,
    bayes_factor: float,
    accept: Callable[[ScoredPair], bool],
) -> Assignment:
    """`assignment` with every sole candidate whose probability, adjusted by `bayes_factor`,
    clears `accept_threshold` and that `accept` approves moved to the accepted links (leaving the
    review band if it was there). Sole candidates are disjoint, so one-to-one holds."""
    promoted = [
        _with_sole_evidence(p, adjusted, bayes_factor)
        for p in assignment.sole
        if (adjusted := sole_candidate_probability(p.match_probability, bayes_factor))
        >= accept_threshold
        and accept(p)
    ]
    if not promoted:
        return assignment
    promoted_health = {p.health_record_id for p in promoted}
    return Assignment(
        accepted=[*assignment.accepted, *promoted],
        review={h: ps for h, ps in assignment.review.items() if h not in promoted_health},
        sole=[p for p in assignment.sole if p.health_record_id not in promoted_health],
    )


def _with_sole_evidence(pair: ScoredPair, adjusted: float, bayes_factor: float) -> ScoredPair:
    weights = dict(pair.match_weights)
    if weights:
        weights[SOLE_CANDIDATE_WEIGHT] = math.log2(bayes_factor)
    return ScoredPair(pair.health_record_id, pair.education_record_id, adjusted, weights)


def review_sole(assignment: Assignment, *, review_lower: float, bayes_factor: float) -> Assignment:
    """`assignment` with every sole candidate not accepted, whose probability adjusted by
    `bayes_factor` reaches `review_lower` (or `SOLE_REVIEW_LOWER`, whichever is lower),
    offered for review (see module), carrying the adjusted probability. A child already
    with review candidates keeps those."""
    review_lower = min(review_lower, SOLE_REVIEW_LOWER)
    added = {
        p.health_record_id: [_with_sole_evidence(p, adjusted, bayes_factor)]
        for p in assignment.sole
        if p.health_record_id not in assignment.review
        and (adjusted := sole_candidate_probability(p.match_probability, bayes_factor))
        >= review_lower
    }
    if not added:
        return assignment
    return Assignment(
        accepted=assignment.accepted, review={**assignment.review, **added}, sole=assignment.sole
    )
