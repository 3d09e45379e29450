"""Suppression that survives subtraction: the differencing attack of tests/disclosure.py on
published tables of synthetic counts, random and adversarial, and a reader who also knows
the rule and that a null was 1 to 4 or no larger than the counts beside it. Pure: no
database."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.codes import OUTCOMES, PROVISIONS
from services.governance.statistics import AuthorityCounts, publish
from services.governance.suppression import Sum, withheld
from tests import disclosure
from tests.disclosure import derive, derive_cells, small_groups, small_groups_in

# Derandomized, so that every run tries the same tables; no example database.
EXHAUSTIVE = settings(max_examples=400, derandomize=True, database=None, deadline=None)

# Small counts are where the danger is: draw them often, and 0 (a genuine value) too.
count = st.one_of(
    st.just(0), st.integers(1, 4), st.integers(5, 9), st.integers(10, 60), st.integers(0, 60_000)
)


@st.composite
def authority_counts(draw: st.DrawFn, la_code: str = "W06000015") -> AuthorityCounts:
    matched = {p: draw(count) for p in PROVISIONS}
    closed = {o: draw(count) for o in OUTCOMES}
    cases_open = draw(count)
    return AuthorityCounts(
        la_code=la_code,
        name="Caerdydd",
        health_records_received=sum(matched.values()) + draw(count),
        matched_by_provision=matched,
        cases_opened=cases_open + sum(closed.values()),
        cases_open=cases_open,
        cases_closed_by_outcome=closed,
    )


authorities = st.lists(authority_counts(), min_size=1, max_size=3)


def authority(
    matched: Mapping[str, int], not_matched: int, cases_open: int, closed: Mapping[str, int]
) -> AuthorityCounts:
    provisions = {p: matched.get(p, 0) for p in PROVISIONS}
    outcomes = {o: closed.get(o, 0) for o in OUTCOMES}
    return AuthorityCounts(
        la_code="W06000015",
        name="Caerdydd",
        health_records_received=sum(provisions.values()) + not_matched,
        matched_by_provision=provisions,
        cases_opened=cases_open + sum(outcomes.values()),
        cases_open=cases_open,
        cases_closed_by_outcome=outcomes,
    )


ADVERSARIAL = {
    # The examples: one small outcome, one small provision.
    "not_traced": authority({"maintained_school": 930}, 50, 7, {"not_traced": 1, "other": 40}),
    "eotas": authority({"maintained_school": 930, "eotas": 3, "ehe": 60}, 50, 0, {}),
    # The only other part is small too, or 0, or the smallest other part is just 5.
    "two_small_parts": authority({"maintained_school": 2, "ehe": 3}, 0, 4, {"deceased": 1}),
    "others_zero": authority({"eotas": 3}, 0, 0, {"not_traced": 4}),
    "small_sum_of_two": authority({"maintained_school": 900, "ehe": 1}, 1, 0, {"other": 2}),
    "smallest_other_is_five": authority({"maintained_school": 5, "ehe": 4}, 5, 5, {"other": 4}),
    "all_small": authority(dict.fromkeys(PROVISIONS, 1), 1, 1, dict.fromkeys(OUTCOMES, 1)),
    "nothing": authority({}, 0, 0, {}),
    "small_total": authority({"ehe": 3}, 0, 0, {"other": 2}),
    # not_matched = rate x received: the rate must not give a withheld count back.
    "small_not_matched": authority({"maintained_school": 4_000, "ehe": 7}, 3, 0, {}),
    "large_not_matched_only_unknown": authority({"maintained_school": 9_000, "eotas": 2}, 9, 0, {}),
}


def published(counts: list[AuthorityCounts]) -> dict[str, Any]:
    return publish(counts, generated_at=datetime.now(UTC)).model_dump(mode="json")


def assert_nothing_given_away(counts: list[AuthorityCounts]) -> None:
    body = published(counts)

    assert derive(body) == {}
    assert small_groups(body) == {}
    truth = disclosure.cells(published_without_suppression(counts))
    shown = disclosure.cells(body)
    for cell, value in truth.items():
        assert value is not None
        if value in range(1, 5):
            assert shown[cell] is None, cell
        assert shown[cell] in (None, value), cell
    rates = [
        f"/local_authorities/{i}/unmatched_rate"
        for i, entry in enumerate(body["local_authorities"])
        if entry["unmatched_rate"] is None and counts[i].health_records_received
    ]
    nulls = [cell for cell, value in shown.items() if value is None]
    assert sorted(body["suppressed"]) == sorted(nulls + rates)


def published_without_suppression(counts: list[AuthorityCounts]) -> dict[str, Any]:
    """The table with every true count, for comparison."""
    return {
        "local_authorities": [
            {
                "health_records_received": a.health_records_received,
                "matched_by_provision": dict(a.matched_by_provision),
                "not_matched": a.not_matched,
                "cases_opened": a.cases_opened,
                "cases_open": a.cases_open,
                "cases_closed_by_outcome": dict(a.cases_closed_by_outcome),
            }
            for a in counts
        ]
    }


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_adversarial_tables_give_nothing_away(name: str) -> None:
    assert_nothing_given_away([ADVERSARIAL[name]])


@EXHAUSTIVE
@given(counts=authorities)
def test_random_tables_give_nothing_away(counts: list[AuthorityCounts]) -> None:
    assert_nothing_given_away(counts)


def test_without_small_numbers_everything_is_published() -> None:
    counts = [authority({"maintained_school": 930, "ehe": 20}, 50, 7, {"other": 5})]

    body = published(counts)

    assert body["suppressed"] == []
    assert body["local_authorities"][0]["unmatched_rate"] == 0.05


def test_the_smallest_other_part_goes_with_a_small_one() -> None:
    counts = [
        authority(
            {"maintained_school": 930, "independent_school": 17, "ehe": 3, "eotas": 12},
            50,
            7,
            {"registered_at_school": 6, "not_traced": 1},
        )
    ]

    entry = published(counts)["local_authorities"][0]

    assert entry["matched_by_provision"] == {
        "maintained_school": 930,
        "independent_school": 17,
        "eotas": None,
        "school_in_england": 0,
        "ehe": None,
    }
    assert entry["cases_open"] == 7
    assert entry["cases_closed_by_outcome"]["registered_at_school"] is None
    assert entry["cases_closed_by_outcome"]["not_traced"] is None
    assert (entry["health_records_received"], entry["not_matched"]) == (1012, 50)


# Sums that share cells: a table with row and column totals and a grand total, as totals
# across Wales would make it. No one sum pins a cell, yet together they can.
@st.composite
def two_way_tables(draw: st.DrawFn) -> tuple[dict[str, int], list[Sum]]:
    rows, columns = draw(st.integers(2, 4)), draw(st.integers(2, 4))
    counts = {f"{r},{c}": draw(count) for r in range(rows) for c in range(columns)}
    for r in range(rows):
        counts[f"{r},+"] = sum(counts[f"{r},{c}"] for c in range(columns))
    for c in range(columns):
        counts[f"+,{c}"] = sum(counts[f"{r},{c}"] for r in range(rows))
    counts["+,+"] = sum(counts[f"{r},+"] for r in range(rows))
    sums = [Sum(f"{r},+", tuple(f"{r},{c}" for c in range(columns))) for r in range(rows)]
    sums += [Sum(f"+,{c}", tuple(f"{r},{c}" for r in range(rows))) for c in range(columns)]
    sums += [
        Sum("+,+", tuple(f"{r},+" for r in range(rows))),
        Sum("+,+", tuple(f"+,{c}" for c in range(columns))),
    ]
    return counts, sums


@EXHAUSTIVE
@given(table=two_way_tables())
def test_sums_that_share_cells_give_nothing_away(table: tuple[dict[str, int], list[Sum]]) -> None:
    counts, sums = table
    hidden = withheld(counts, sums)
    shown = {cell: None if cell in hidden else n for cell, n in counts.items()}
    relations = [disclosure.Sum(s.total, s.parts) for s in sums]

    assert {cell for cell, n in counts.items() if n in range(1, 5)} <= hidden
    assert derive_cells(shown, relations) == {}
    assert small_groups_in(shown, relations) == {}


def test_a_cell_pinned_only_by_sums_together_is_withheld_too() -> None:
    """Two 2x2 blocks of small cells joined by a third small cell: every row and column
    has two or more withheld cells adding up to 5 or more, yet the joining cell follows
    from the rows and columns of either block (b3 = a+ + b+ - +1 - +2)."""
    rows = {"a": ("a1", "a2"), "b": ("b1", "b2", "b3"), "c": ("c3", "c4"), "d": ("d3", "d4")}
    columns = {"1": ("a1", "b1"), "2": ("a2", "b2"), "3": ("b3", "c3", "d3"), "4": ("c4", "d4")}
    counts = dict.fromkeys(("a1", "a2", "b1", "b2", "b3", "c3", "c4", "d3", "d4"), 3)
    counts |= {f"{r}+": sum(counts[c] for c in cells) for r, cells in rows.items()}
    counts |= {f"+{k}": sum(counts[c] for c in cells) for k, cells in columns.items()}
    sums = [Sum(f"{r}+", cells) for r, cells in rows.items()]
    sums += [Sum(f"+{k}", cells) for k, cells in columns.items()]

    hidden = withheld(counts, sums)
    shown = {cell: None if cell in hidden else n for cell, n in counts.items()}

    assert hidden > {cell for cell, n in counts.items() if n in range(1, 5)}
    assert derive_cells(shown, [disclosure.Sum(s.total, s.parts) for s in sums]) == {}


# A reader who knows the rule as well as the sums: every way the withheld cells of one sum
# could be filled so that the same rule withholds exactly the same cells. Enumerated, so
# kept to tables where that is quick; seeded, so every run tries the same ones.
def fillings(counts: dict[str, int], relation: Sum, hidden: set[str]) -> list[dict[str, int]]:
    """Every table the reader cannot tell from `counts` (a withheld total is tried up to 8
    over the parts shown: missing a filling can only make the test stricter)."""
    unknown = [cell for cell in relation.cells if cell in hidden]
    beside = sum(counts[cell] for cell in relation.parts if cell not in hidden)
    if relation.total in hidden:
        totals = range(beside, beside + 9)
        unknown.remove(relation.total)
    else:
        totals = range(counts[relation.total], counts[relation.total] + 1)
    found: list[dict[str, int]] = []
    for total in totals:
        for parts in compositions(total - beside, len(unknown)):
            candidate = counts | dict(zip(unknown, parts, strict=True)) | {relation.total: total}
            if withheld(candidate, [relation]) == hidden:
                found.append(candidate)
    return found


def compositions(total: int, size: int) -> Iterator[tuple[int, ...]]:
    if size == 0:
        if total == 0:
            yield ()
        return
    for first in range(total + 1):
        for rest in compositions(total - first, size - 1):
            yield (first, *rest)


def small_sums(seed: int, tables: int) -> Iterator[tuple[dict[str, int], Sum]]:
    """One sum each, with counts near the threshold, where the bounds bite: small counts,
    counts just above 4, and near ties."""
    rng = random.Random(seed)
    while tables:
        near = rng.randint(5, 12)
        values = [
            rng.choice(
                [0, 0, rng.randint(1, 4), rng.randint(1, 4), near, near + 1, rng.randint(5, 9)]
            )
            for _ in range(rng.randint(2, 6))
        ]
        counts = {f"p{i}": v for i, v in enumerate(values)} | {"t": sum(values)}
        relation = Sum("t", tuple(f"p{i}" for i in range(len(values))))
        hidden = withheld(counts, [relation])
        withheld_sum = sum(counts[c] for c in relation.parts if c in hidden)
        if hidden and len(hidden) <= 5 and withheld_sum <= 30:
            tables -= 1
            yield counts, relation


@pytest.mark.parametrize("seed", range(4))
def test_knowing_the_rule_pins_no_small_count(seed: int) -> None:
    for counts, relation in small_sums(seed, tables=150):
        hidden = withheld(counts, [relation])
        possible = fillings(counts, relation, hidden)
        for cell in hidden:
            if counts[cell] in range(1, 5):
                values = {filling[cell] for filling in possible}
                assert len(values) > 1, (counts, cell)


PINNED_BY_BOUNDS = {
    # "No larger than the count beside it": a tie made that "equal to it".
    "tie": [9, 9, 4, 10],
    # Two withheld 1-4s adding up to 8 are two 4s (no 3 and 5: the 5 beside them would have
    # gone first); five adding up to 5 are five 1s.
    "two_fours": [5, 4, 4, 50],
    "five_ones": [1, 1, 1, 1, 1, 9],
    # Four withheld 1s under a withheld total of at most 4: the total is 4, each part 1.
    "four_ones_under_a_small_total": [1, 1, 1, 1, 0, 0],
}


@pytest.mark.parametrize("name", PINNED_BY_BOUNDS)
def test_knowing_the_rule_pins_no_small_count_at_the_edges(name: str) -> None:
    values = PINNED_BY_BOUNDS[name]
    counts = {f"p{i}": v for i, v in enumerate(values)} | {"t": sum(values)}
    relation = Sum("t", tuple(f"p{i}" for i in range(len(values))))
    hidden = withheld(counts, [relation])

    possible = fillings(counts, relation, hidden)

    for cell in hidden:
        if counts[cell] in range(1, 5):
            assert len({filling[cell] for filling in possible}) > 1, cell
