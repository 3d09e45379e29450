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
        cell = next(
            (
                cell
                for pinned in _pinned(relations, hidden)
                for relation in relations
                if pinned in relation.cells
                and (cell := _smallest_shown(relation, counts, hidden)) is not None
            ),
            None,
        )
        if cell is None:
            return hidden
        hidden.add(cell)


def _make_every_sum_safe(
    relations: Sequence[Sum], counts: Mapping[str, int], hidden: set[str]
) -> None:
    changed = True
    while changed:
        changed = False
        for relation in relations:
            if not _safe(relation, counts, hidden):
                cell = _smallest_shown(relation, counts, hidden)
                if cell is not None:
                    hidden.add(cell)
                    changed = True


def _safe(relation: Sum, counts: Mapping[str, int], hidden: set[str]) -> bool:
    """Whether the sum gives no withheld cell, and no small group, away."""
    withheld_cells = sum(cell in hidden for cell in relation.cells)
    if not withheld_cells:
        return True
    if relation.total in hidden:
        return withheld_cells >= 2
    withheld_parts = sum(counts[cell] for cell in relation.parts if cell in hidden)
    return withheld_cells >= 2 and withheld_parts >= SMALLEST_SHOWN


def _smallest_shown(relation: Sum, counts: Mapping[str, int], hidden: set[str]) -> str | None:
    """The sum's part to withhold next: the smallest that adds something (withholding a 0
    hides no child), in the sum's order among equals; the total once every part is gone."""
    shown = [cell for cell in relation.parts if cell not in hidden]
    if shown:
        return min(shown, key=lambda cell: (counts[cell] == 0, counts[cell]))
    return None if relation.total in hidden else relation.total


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
