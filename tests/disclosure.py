"""A differencing attack on the published statistics (GET /v1/statistics).

The attacker knows only the response and the sums that hold exactly between its cells, for
each authority (there are no totals across authorities in the response, so no sum crosses
one):

- health records received = matched (each provision) + not matched;
- cases opened = cases open + cases closed (each outcome);
- the unmatched rate = not matched / received, rounded to 4 decimal places;

and that counts are never negative. From these it recovers what it can: any cell a linear
combination of the sums pins down (Gaussian elimination, which covers "one unknown left
in a sum" and every chain of such steps), all the unknown parts of a sum whose published
total leaves nothing over (all zero), and a count the rate and the other count pin to one
integer. It repeats until nothing more follows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

RATE_PRECISION = Fraction(1, 2 * 10**4)  # the rate is rounded to 4 decimal places


@dataclass(frozen=True)
class Sum:
    total: str
    parts: tuple[str, ...]


def cells(body: Mapping[str, Any]) -> dict[str, int | None]:
    """Every published count, by JSON Pointer (None where it is withheld)."""
    found: dict[str, int | None] = {}
    for index, entry in enumerate(body["local_authorities"]):
        at = f"/local_authorities/{index}"
        for name in ("health_records_received", "not_matched", "cases_opened", "cases_open"):
            found[f"{at}/{name}"] = entry[name]
        for group in ("matched_by_provision", "cases_closed_by_outcome"):
            for key, value in entry[group].items():
                found[f"{at}/{group}/{key}"] = value
    return found


def sums(body: Mapping[str, Any]) -> list[Sum]:
    found: list[Sum] = []
    for index, entry in enumerate(body["local_authorities"]):
        at = f"/local_authorities/{index}"
        found.append(
            Sum(
                f"{at}/health_records_received",
                (
                    *(f"{at}/matched_by_provision/{p}" for p in entry["matched_by_provision"]),
                    f"{at}/not_matched",
                ),
            )
        )
        found.append(
            Sum(
                f"{at}/cases_opened",
                (
                    f"{at}/cases_open",
                    *(
                        f"{at}/cases_closed_by_outcome/{o}"
                        for o in entry["cases_closed_by_outcome"]
                    ),
                ),
            )
        )
    return found


def derive(body: Mapping[str, Any]) -> dict[str, Fraction]:
    """Every withheld count of the response the attacker recovers, with its value."""
    return derive_cells(cells(body), sums(body), also=lambda known: _by_rate(body, known))


def derive_cells(
    values: Mapping[str, int | None],
    relations: Sequence[Sum],
    also: Callable[[Mapping[str, Fraction]], dict[str, Fraction]] = lambda _known: {},
) -> dict[str, Fraction]:
    """Every withheld cell (None in `values`) that follows from the published ones and the
    sums between them, repeating until nothing more follows."""
    known = {cell: Fraction(value) for cell, value in values.items() if value is not None}
    derived: dict[str, Fraction] = {}
    while True:
        found = _by_elimination(relations, known) | _by_non_negativity(relations, known)
        found |= also(known)
        found = {cell: value for cell, value in found.items() if cell not in known}
        if not found:
            return derived
        known |= found
        derived |= found


def small_groups(body: Mapping[str, Any]) -> dict[tuple[str, ...], Fraction]:
    """Withheld parts of a sum of the response whose combined count is 1 to 4."""
    return small_groups_in(cells(body), sums(body))


def small_groups_in(
    values: Mapping[str, int | None], relations: Sequence[Sum]
) -> dict[tuple[str, ...], Fraction]:
    """Withheld parts of a sum with a published total whose combined count follows by
    subtraction and is 1 to 4: a small group singled out, if not a single child's cell."""
    groups: dict[tuple[str, ...], Fraction] = {}
    for relation in relations:
        total = values[relation.total]
        unknown = tuple(p for p in relation.parts if values[p] is None)
        if total is None or not unknown:
            continue
        rest = Fraction(total) - sum(Fraction(values[p] or 0) for p in relation.parts)
        if 1 <= rest <= 4:
            groups[unknown] = rest
    return groups


def _equations(relations: Sequence[Sum]) -> list[dict[str, Fraction]]:
    """Each sum as `total - parts = 0`, coefficients by cell."""
    return [
        {relation.total: Fraction(1), **{part: Fraction(-1) for part in relation.parts}}
        for relation in relations
    ]


def _by_elimination(relations: Sequence[Sum], known: Mapping[str, Fraction]) -> dict[str, Fraction]:
    """Cells whose unit vector lies in the row space of the system in the unknowns."""
    rows: list[tuple[dict[str, Fraction], Fraction]] = []
    for equation in _equations(relations):
        unknown = {cell: c for cell, c in equation.items() if cell not in known}
        if unknown:
            constant = -sum(
                (c * known[cell] for cell, c in equation.items() if cell in known), Fraction(0)
            )
            rows.append((unknown, constant))
    variables = sorted({cell for row, _ in rows for cell in row})
    matrix = [[row.get(v, Fraction(0)) for v in variables] + [constant] for row, constant in rows]
    pivot_row = 0
    for column in range(len(variables)):
        pivot = next((r for r in range(pivot_row, len(matrix)) if matrix[r][column]), None)
        if pivot is None:
            continue
        matrix[pivot_row], matrix[pivot] = matrix[pivot], matrix[pivot_row]
        lead = matrix[pivot_row][column]
        matrix[pivot_row] = [x / lead for x in matrix[pivot_row]]
        for r in range(len(matrix)):
            if r != pivot_row and matrix[r][column]:
                factor = matrix[r][column]
                matrix[r] = [
                    x - factor * y for x, y in zip(matrix[r], matrix[pivot_row], strict=True)
                ]
        pivot_row += 1
    found: dict[str, Fraction] = {}
    for row in matrix:
        nonzero = [i for i, x in enumerate(row[:-1]) if x]
        if len(nonzero) == 1:
            found[variables[nonzero[0]]] = row[-1] / row[nonzero[0]]
    return found


def _by_non_negativity(
    relations: Sequence[Sum], known: Mapping[str, Fraction]
) -> dict[str, Fraction]:
    """A published total that the published parts already reach: the rest are all 0."""
    found: dict[str, Fraction] = {}
    for relation in relations:
        unknown = [p for p in relation.parts if p not in known]
        if relation.total in known and unknown:
            rest = known[relation.total] - sum(
                (known[p] for p in relation.parts if p in known), Fraction(0)
            )
            if rest == 0:
                found |= dict.fromkeys(unknown, Fraction(0))
    return found


def _by_rate(body: Mapping[str, Any], known: Mapping[str, Fraction]) -> dict[str, Fraction]:
    """not_matched = rate x received, to the rate's precision: one integer fits, it is it."""
    found: dict[str, Fraction] = {}
    for index, entry in enumerate(body["local_authorities"]):
        if entry["unmatched_rate"] is None:
            continue
        rate = Fraction(str(entry["unmatched_rate"]))
        low, high = rate - RATE_PRECISION, rate + RATE_PRECISION
        received = f"/local_authorities/{index}/health_records_received"
        not_matched = f"/local_authorities/{index}/not_matched"
        if received in known and not_matched not in known:
            candidates = _integers_between(low * known[received], high * known[received])
            if len(candidates) == 1:
                found[not_matched] = Fraction(candidates[0])
        if not_matched in known and received not in known and low > 0:
            candidates = _integers_between(known[not_matched] / high, known[not_matched] / low)
            if len(candidates) == 1:
                found[received] = Fraction(candidates[0])
        if rate == 0 and not_matched not in known:
            found[not_matched] = Fraction(0)
    return found


def _integers_between(low: Fraction, high: Fraction) -> list[int]:
    return list(range(max(math.ceil(low), 0), math.floor(high) + 1))
