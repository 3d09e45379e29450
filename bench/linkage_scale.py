"""Linkage at Welsh scale: one authority at 10,000 and 55,000 children, then all 22.

    .venv/bin/python bench/linkage_scale.py            # sizes 10000 55000, then Wales
    .venv/bin/python bench/linkage_scale.py --sizes 55000 --no-wales

Inputs come from `services.synthetic.generate_population` (a Welsh population with ground
truth), or, where that is not available, from the linkage prior's own generator. Each
measurement runs in its own process so that its seconds and peak RSS are its own; the
seconds are `link()` alone (health and education records already in memory). "Wales" is
one process calling `link()` once per authority, with sizes proportional to population
and 440,000 health records in all, as the reconciliation worker would.

Precision and recall are of the matches `link()` accepts, against the true health ->
education pairs. Only counts are printed, never a record.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.linkage import LinkageSettings, PersonRecord, link

CARDIFF = "W06000015"
WALES_HEALTH_RECORDS = 440_000
REFERENCE_DATE = date(2025, 9, 1)
SEED = 2025
Inputs = tuple[list[PersonRecord], list[PersonRecord], dict[str, str | None]]


class _PairCounter(logging.Handler):
    """Reads the engine's own count of scored pairs from its log record (a count only)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.pairs = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.pairs += int(getattr(record, "linkage_pairs_scored", 0))


def _person(row: dict[str, Any]) -> PersonRecord:
    address = row.get("address") or {}
    born = row.get("date_of_birth")
    return PersonRecord(
        record_id=row["record_id"],
        nhs_number=row.get("nhs_number"),
        given_name=row.get("given_name") or "",
        middle_names=row.get("middle_names"),
        family_name=row.get("family_name") or "",
        former_names=tuple(
            (n.get("given_name") or "", n.get("family_name") or "")
            for n in row.get("former_names") or ()
        ),
        date_of_birth=date.fromisoformat(born) if isinstance(born, str) else born,
        sex=row.get("sex"),
        postcode=address.get("postcode"),
        address_lines=tuple(address.get("lines") or ()),
    )


def _authority_inputs(la_code: str, children: int) -> Inputs:
    try:
        from services.synthetic import generate_population
    except ImportError:
        return _prior_inputs(children, seed=SEED + int(la_code[-3:]))
    population = generate_population(
        la_codes=[la_code],
        children_per_authority=children,
        reference_date=REFERENCE_DATE,
        seed=SEED,
    )
    health = [_person(r) for r in population.health_records]
    education = [_person(r) for r in population.education_records_by_la[la_code]]
    truth = {h: t.education_record_id for h, t in population.truth.items()}
    return health, education, truth


def _prior_inputs(children: int, seed: int) -> Inputs:
    from services.linkage.prior import synthetic_population

    health, education, pairs = synthetic_population(children, seed)
    return health, education, {h.record_id: pairs.get(h.record_id) for h in health}


def _wales_sizes() -> dict[str, int]:
    from services.synthetic import LOCAL_AUTHORITY_AREAS

    weights = {code: area.population_weight for code, area in LOCAL_AUTHORITY_AREAS.items()}
    total = sum(weights.values())
    return {code: round(WALES_HEALTH_RECORDS * w / total) for code, w in sorted(weights.items())}


def _cpu_seconds() -> float:
    """User + system CPU of this process, DuckDB's threads included: on a shared machine
    a steadier measure than wall-clock seconds (which are printed as well)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _run(inputs: Inputs, counter: _PairCounter) -> dict[str, float]:
    health, education, truth = inputs
    pairs_before = counter.pairs
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    result = link(health=health, education=education, settings=LinkageSettings())
    seconds = time.perf_counter() - started
    cpu_seconds = _cpu_seconds() - cpu_before
    links = {(m.health_record_id, m.education_record_id) for m in result.matches}
    true_links = {(h, e) for h, e in truth.items() if e is not None}
    found = len(links & true_links)
    return {
        "health": len(health),
        "education": len(education),
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "pairs": counter.pairs - pairs_before,
        "links": len(links),
        "found": found,
        "true_links": len(true_links),
        "review": result.count("review"),
    }


def _measure(scenario: str) -> dict[str, Any]:
    counter = _PairCounter()
    logging.getLogger("services.linkage").addHandler(counter)
    logging.getLogger("services.linkage").setLevel(logging.INFO)
    if scenario == "wales":
        runs = [_run(_authority_inputs(code, n), counter) for code, n in _wales_sizes().items()]
    else:
        runs = [_run(_authority_inputs(CARDIFF, int(scenario)), counter)]
    totals = {key: sum(r[key] for r in runs) for key in runs[0]}
    totals["authorities"] = len(runs)
    totals["largest_seconds"] = max(r["seconds"] for r in runs)
    totals["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 55_000])
    parser.add_argument("--no-wales", action="store_true", help="skip the 22-authority run")
    args = parser.parse_args()
    scenarios = [str(size) for size in args.sizes] + ([] if args.no_wales else ["wales"])
    header = (
        f"{'scenario':<24}{'health':>8}{'educ.':>8}{'pairs':>11}{'links':>7}{'prec':>8}"
        f"{'recall':>8}{'review':>7}{'sec':>7}{'CPU s':>7}{'RSS MB':>8}"
    )
    print(header)
    print("-" * len(header))
    for scenario in scenarios:
        completed = subprocess.run(
            [sys.executable, __file__, "--measure", scenario],
            check=True,
            capture_output=True,
            text=True,
        )
        m = json.loads(completed.stdout.strip().splitlines()[-1])
        label = "22 authorities (Wales)" if scenario == "wales" else f"one authority, {scenario}"
        precision = m["found"] / m["links"] if m["links"] else 1.0
        print(
            f"{label:<24}{m['health']:>8}{m['education']:>8}{m['pairs']:>11}{m['links']:>7}"
            f"{precision:>8.4f}{m['found'] / max(m['true_links'], 1):>8.4f}{m['review']:>7}"
            f"{m['seconds']:>7.1f}{m['cpu_seconds']:>7.1f}{m['peak_rss_mb']:>8.0f}"
        )
        if scenario == "wales":
            print(f"{'  largest authority':<24}{'':>57}{m['largest_seconds']:>7.1f}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--measure":
        print(json.dumps(_measure(sys.argv[2])))
    else:
        main()
