"""Synthetic population speed: `generate_population` (what `cme synth` writes and the
population tests build) against the plain health extract for as many children.

    .venv/bin/python bench/synthetic.py                        # 10,000 and 55,000 children
    .venv/bin/python bench/synthetic.py --sizes 10000 --repeat 5

The baseline, measured in the same run, is `generate_health_records` for the same number
of children: the population is built on it, so the ratio shows what the education copies,
their errors and the ground truth add. Each time is the best of --repeat runs, the one
least disturbed by whatever else the machine is doing. No database; only counts and
seconds are printed. Target: 10,000 children in <= 2.5 s, 55,000 (Cardiff) in a few.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.synthetic import generate_health_records, generate_population

CARDIFF = "W06000015"
REFERENCE_DATE = date(2026, 1, 15)
SEED = 1
TARGET_CHILDREN, TARGET_SECONDS = 10_000, 2.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 55_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measure; best is kept")
    args = parser.parse_args()

    print(f"{'children':>10}{'baseline s':>12}{'population s':>14}{'children/s':>12}{'ratio':>8}")
    for children in args.sizes:
        baseline = best_of(args.repeat, partial(health_extract, children))
        population = best_of(args.repeat, partial(whole_population, children))
        print(
            f"{children:>10,}{baseline:>12.2f}{population:>14.2f}"
            f"{children / population:>12,.0f}{population / baseline:>8.2f}"
        )
        if children == TARGET_CHILDREN:
            verdict = "met" if population <= TARGET_SECONDS else "MISSED"
            print(f"{'':>10}target: <= {TARGET_SECONDS} s for {children:,} children: {verdict}")


def best_of(repeat: int, work: Callable[[], object]) -> float:
    """The shortest of `repeat` timings of `work`, in seconds."""
    timings = []
    for _ in range(max(repeat, 1)):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return min(timings)


def health_extract(children: int) -> object:
    return generate_health_records(
        count=children, la_codes=[CARDIFF], reference_date=REFERENCE_DATE, seed=SEED
    )


def whole_population(children: int) -> object:
    return generate_population(
        la_codes=[CARDIFF],
        children_per_authority=children,
        reference_date=REFERENCE_DATE,
        seed=SEED,
    )


if __name__ == "__main__":
    main()
