"""One-to-one assignment of scored pairs, and the review band.

Greedy by descending probability: the strongest pair anywhere is settled first, and both
its records leave the pool. Twins (same surname, birthday and address, different given
names) therefore each keep their own record: the pair with the agreeing given name scores
far above the cross pair, and once taken, the cross pair is no longer available.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from services.linkage.predict import ScoredPair


@dataclass(frozen=True, slots=True)
class Assignment:
    accepted: list[ScoredPair]
    review: dict[str, list[ScoredPair]]  # health_record_id -> candidates, best first


def _strongest_first(pair: ScoredPair) -> tuple[float, str, str]:
    # Rounded so that floating-point noise between runs cannot reorder near-ties; the ids
    # then settle ties the same way every time.
    return (-round(pair.match_probability, 9), pair.health_record_id, pair.education_record_id)


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
    for pair in ordered:
        if pair.health_record_id in used_health or pair.education_record_id in used_education:
            continue
        if pair.match_probability < review_lower:
            continue
        candidates = review[pair.health_record_id]
        if len(candidates) < max_review_candidates:
            candidates.append(pair)
    return Assignment(accepted=accepted, review=dict(review))
