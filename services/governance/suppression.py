"""Small-number suppression that survives subtraction. Pure: no database.

Counts from 1 to 4 are withheld (primary suppression, StatsWales practice). A table also
publishes the sums between its cells (received = matched by each provision + not matched;
opened = open + closed by each outcome), and a withheld cell that is the only unknown of a
sum is recovered by subtraction. So more cells are withheld (secondary suppression), the
smallest first, until every sum with a withheld cell is safe:

- it has at least two withheld cells, so no one of them follows from it alone;
- when its total is published, its withheld parts add up to at least 5: their combined
  count, which subtraction does reveal, is then neither a small group of 1 to 4 children
  nor 0 (which would reveal every one of them as 0).

The rule is public, so a reader also knows that a withheld count was 1 to 4, or no larger
than the counts left standing beside it. Three more conditions keep those bounds from
closing on a single value:

- a part tied with the one withheld goes with it (else "no larger than the count beside
  it" would be "equal to it");
- withheld parts must not add up to exactly 1 or 4 for each of them (all 1s, all 4s);
- a withheld total takes every part with it, 0s included: four withheld 1s beside
  published 0s would be four 1s under a 4. (A total withheld for being 1 to 4 has only
  parts of 1 to 4 and 0s, so this costs little.)

A cell may take part in several sums, so the rule repeats until nothing changes; and since
sums that share cells can together pin a cell that none pins alone, a final check solves
the sums for the withheld cells (linear algebra) and withholds more while any is pinned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

SMALL = range(1, 5)
SMALLEST_SHOWN = 5


@dataclass(frozen=True, slots=True)
class Sum:
    """`total` equals the sum of `parts` exactly, all of them published cells."""

    total: str
    parts: tuple[str, ...]

    @property
    def cells(self) -> tuple[str, ...]:
        return (self.total, *self.parts)


def withheld(counts: Mapping[str, int], sums: Iterable[Sum]) -> set[str]:
    """The cells of `counts` to publish as null: the small ones, and as many more as the
    sums between the cells need so that none of them can be derived."""
    relations = tuple(sums)
    hidden = {cell for cell, count in counts.items() if count in SMALL}
    while True:
        _make_every_sum_safe(relations, counts, hidden)
        more = _to_unpin(relations, counts, hidden)
        if not more:
            return hidden
        hidden |= more


def _make_every_sum_safe(
    relations: Sequence[Sum], counts: Mapping[str, int], hidden: set[str]
) -> None:
    changed = True
    while changed:
        changed = False
        for relation in relations:
            if not _safe(relation, counts, hidden):
                more = _next_to_withhold(relation, counts, hidden)
                hidden |= more
                changed = changed or bool(more)


def _to_unpin(relations: Sequence[Sum], counts: Mapping[str, int], hidden: set[str]) -> set[str]:
    """More cells to withhold in a sum of a withheld cell that the sums together still pin."""
    for pinned in _pinned(relations, hidden):
        for relation in relations:
            if pinned in relation.cells and (more := _next_to_withhold(relation, counts, hidden)):
                return more
    return set()


def _safe(relation: Sum, counts: Mapping[str, int], hidden: set[str]) -> bool:
    """Whether the sum gives no withheld cell, and no small group, away."""
    withheld_parts = [cell for cell in relation.parts if cell in hidden]
    if relation.total in hidden:
        return len(withheld_parts) == len(relation.parts)
    if not withheld_parts:
        return True
    combined = sum(counts[cell] for cell in withheld_parts)
    return (
        len(withheld_parts) >= 2
        and combined >= SMALLEST_SHOWN
        and combined not in (len(withheld_parts), 4 * len(withheld_parts))
    )


def _next_to_withhold(relation: Sum, counts: Mapping[str, int], hidden: set[str]) -> set[str]:
    """The sum's smallest shown part that adds something (withholding a 0 hides no child
    but another 0), with every shown part tied with it; the total once every part is gone;
    every part once the total is gone."""
    shown = [cell for cell in relation.parts if cell not in hidden]
    if relation.total in hidden:
        return set(shown)
    if not shown:
        return {relation.total}
    smallest = min(shown, key=lambda cell: (counts[cell] == 0, counts[cell]))
    if counts[smallest] == 0:
        return {smallest}
    return {cell for cell in shown if counts[cell] == counts[smallest]}


def _pinned(relations: Sequence[Sum], hidden: set[str]) -> list[str]:
    """Withheld cells that the sums together determine: those whose unit vector lies in the
    span of the sums' coefficients on withheld cells (Gauss-Jordan elimination)."""
    columns = sorted(hidden)
    position = {cell: i for i, cell in enumerate(columns)}
    rows: list[list[Fraction]] = []
    for relation in relations:
        row = [Fraction(0)] * len(columns)
        for cell, coefficient in ((relation.total, 1), *((part, -1) for part in relation.parts)):
            if cell in position:
                row[position[cell]] += coefficient
        if any(row):
            rows.append(row)
    rank = 0
    for column in range(len(columns)):
        pivot = next((r for r in range(rank, len(rows)) if rows[r][column]), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        lead = rows[rank][column]
        rows[rank] = [x / lead for x in rows[rank]]
        for r, row in enumerate(rows):
            if r != rank and row[column]:
                factor = row[column]
                rows[r] = [x - factor * y for x, y in zip(row, rows[rank], strict=True)]
        rank += 1
    pinned: list[str] = []
    for row in rows[:rank]:
        nonzero = [i for i, x in enumerate(row) if x]
        if len(nonzero) == 1:
            pinned.append(columns[nonzero[0]])
    return pinned
