"""A run's linkage precision and recall, estimated from officers' review decisions.

Every answered review case labels the candidates it offered: the chosen education record
the same child, every other candidate (all of them for "none of these") a different
child. Each label is a match probability the model gave and a yes or no.

The estimate recalibrates the model on those labels and applies it to the run:
1. One shift `c` of the log-odds, fitted by maximum likelihood on the labels: the `c`
   with sum(sigmoid(logit(p) + c)) = the number of labelled matches (that count is kept
   half a label inside 0 and the total, so all-yes or all-no labels give a finite
   shift). A model that officers overturn more often than it expects gets `c` < 0.
2. Each probabilistic link and review candidate of the run gets q = sigmoid(logit(p) + c),
   the recalibrated chance that it is the same child.
3. precision = sum(q) over the links made / the links made: the expected share of the
   run's probabilistic links that are right.
   recall = sum(q) over the links made / (that + the expected matches left for review,
   per child min(1, sum(q)) over its candidates): the expected share of the true matches
   among the pairs the run scored that it linked without an officer.

Bias: labels exist only for the review band, so the shift fitted there is assumed to hold
for the accepted links above it; pairs scored below the band are never seen, so recall
counts only the matches the model could find (an upper bound). NHS-number links are left
out of both: they are not scored. Too few labels give null, with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.linkage import LinkageResult
from services.store.tables import ReviewDecision

#: Fewer labelled pairs than this give too wide a spread to report.
MIN_LABELS = 30
METHOD = (
    "match probabilities recalibrated on officers' review decisions (one log-odds shift, "
    "maximum likelihood), then precision = expected right links / probabilistic links, "
    "recall = expected right links / expected matches among links and review candidates; "
    "labels come from the review band only, NHS-number links are left out"
)
_PROBABILITY_CLAMP = 1e-9
_SHIFT_BOUND = 30.0
_BISECTIONS = 60

Scope = Literal["authority", "all_authorities"]


@dataclass(frozen=True, slots=True)
class Label:
    match_probability: float
    match: bool


@dataclass(frozen=True, slots=True)
class QualityEstimate:
    precision: float | None
    recall: float | None
    labels_used: int
    label_scope: Scope | None
    method: str = METHOD
    reason: str | None = None


def _logit(p: float) -> float:
    p = min(max(p, _PROBABILITY_CLAMP), 1.0 - _PROBABILITY_CLAMP)
    return math.log(p / (1.0 - p))


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    odds = math.exp(x)
    return odds / (1.0 + odds)


def calibration_shift(labels: Sequence[Label]) -> float:
    """The log-odds shift that makes the model expect as many matches as were labelled."""
    logits = [_logit(label.match_probability) for label in labels]
    matches = sum(label.match for label in labels)
    target = min(max(matches, 0.5), len(labels) - 0.5)
    low, high = -_SHIFT_BOUND, _SHIFT_BOUND
    for _ in range(_BISECTIONS):
        middle = (low + high) / 2
        if sum(_sigmoid(x + middle) for x in logits) < target:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def estimate(result: LinkageResult, labels: Sequence[Label], scope: Scope) -> QualityEstimate:
    """Precision and recall of `result`'s probabilistic stage, recalibrated on `labels`."""
    if len(labels) < MIN_LABELS:
        return QualityEstimate(
            None, None, len(labels), None, reason=f"fewer than {MIN_LABELS} labelled pairs"
        )
    shift = calibration_shift(labels)

    def recalibrated(p: float) -> float:
        return _sigmoid(_logit(p) + shift)

    linked = [
        recalibrated(o.match.match_probability)
        for o in result.outcomes
        if o.match is not None and o.match.method == "probabilistic"
    ]
    left_for_review = sum(
        min(1.0, sum(recalibrated(c.match_probability) for c in o.review_candidates))
        for o in result.outcomes
        if o.match is None
    )
    if not linked:
        return QualityEstimate(
            None, None, len(labels), scope, reason="no probabilistic links in this run"
        )
    right = sum(linked)
    return QualityEstimate(
        precision=round(right / len(linked), 4),
        recall=round(right / (right + left_for_review), 4),
        labels_used=len(labels),
        label_scope=scope,
    )


def labels_for(*, session: Session, la_code: str) -> tuple[list[Label], Scope]:
    """The authority's own labels when it has enough; otherwise every authority's."""
    mine = select(ReviewDecision.labels).where(ReviewDecision.la_code == la_code)
    own = _labels(session.scalars(mine))
    if len(own) >= MIN_LABELS:
        return own, "authority"
    return _labels(session.scalars(select(ReviewDecision.labels))), "all_authorities"


def _labels(rows: Iterable[list[dict[str, Any]]]) -> list[Label]:
    return [
        Label(float(label["match_probability"]), bool(label["match"]))
        for row in rows
        for label in row
    ]
