"""How the assured-EHE safety net's "plausibly this child" was chosen: TUNING seeds only.

    .venv/bin/python bench/safety_net_tuning.py     # about 3 minutes on 2 busy cores

Assured-EHE children the engine misses are too rare in the tuning populations to choose a
rule on (none at 10,000 children), so each population is stressed: every assured-EHE
child's GP record gets a house move (another child's address) and one birth-date slip,
in turn a year out, one digit mistyped, one to three days out, or 40-300 days out (a date
the net is not meant to bridge). Then `link()` and, for each rule, the children it would
send to review: those whose EHE record it offers is truly theirs (`right`), and those it
offers someone else's (`wrong`: a truly missing or other child who would be reviewed
rather than listed). Rules, each also requiring no different NHS number or sex:
- `names + one slip`: `same_names` and `one_slip` (one edit, day and month swapped, a
  year out);
- `+ three days` (chosen): also a birth date one to three days out (`birth_dates_close`);
- `names + same year`: `same_names` and the same birth year, or one slip;
- `names alone`: `same_names`.
Unstressed, the same populations have no unlinked assured EHE record, so the net adds no
review case there (`bench/linkage.py --tuning`, column `net`).
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.linkage import Case, run_ours, synth_case
from services.linkage import LinkageResult, PersonRecord
from services.reconciliation.decisions import decide
from services.reconciliation.safety_net import (
    birth_dates_close,
    one_slip,
    same_names,
    told_apart,
    unlinked_assured,
)
from services.synthetic import ERROR_MODELS, TUNING_SEEDS

CHILDREN = 10_000
SLIPS = ("a year out", "one digit", "days out", "far out")
Rule = Callable[[PersonRecord, PersonRecord], bool]
ADOPTED = "+ three days"


def _close(a: PersonRecord, b: PersonRecord) -> bool:
    return birth_dates_close(a.date_of_birth, b.date_of_birth)


def _one_slip(a: PersonRecord, b: PersonRecord) -> bool:
    return (
        a.date_of_birth is not None
        and b.date_of_birth is not None
        and one_slip(a.date_of_birth, b.date_of_birth)
    )


def _same_year(a: PersonRecord, b: PersonRecord) -> bool:
    return (
        a.date_of_birth is not None
        and b.date_of_birth is not None
        and (a.date_of_birth.year == b.date_of_birth.year)
    )


RULES: dict[str, Rule] = {
    "names + one slip": lambda h, e: same_names(h, e) and _one_slip(h, e),
    "+ three days": lambda h, e: same_names(h, e) and _close(h, e),
    "names + same year": lambda h, e: same_names(h, e) and (_close(h, e) or _same_year(h, e)),
    "names alone": same_names,
}


def _slipped(rng: random.Random, born: date, slip: str) -> date:
    if slip == "a year out":
        year = born.year + rng.choice((-1, 1))
        return born.replace(year=year, day=min(born.day, 28) if born.month == 2 else born.day)
    if slip == "one digit":
        for _ in range(100):
            text = list(born.isoformat())
            text[rng.choice((3, 6, 8, 9))] = rng.choice("0123456789")
            try:
                slipped = date.fromisoformat("".join(text))
            except ValueError:
                continue
            if slipped != born:
                return slipped
        return born
    if slip == "days out":
        return born + timedelta(days=rng.choice((-3, -2, -1, 1, 2, 3)))
    return born + timedelta(days=rng.randint(40, 300))


def stressed(case: Case, seed: int) -> tuple[Case, dict[str, str]]:
    """`case` with each assured-EHE child's GP record moved house and its birth date
    slipped (see module), and the slip of each."""
    rng = random.Random(seed)
    others = [p for p in case.health if p.record_id not in case.ehe_assured]
    health = []
    slips: dict[str, str] = {}
    for n, person in enumerate(case.health):
        if person.record_id not in case.ehe_assured or person.date_of_birth is None:
            health.append(person)
            continue
        home = rng.choice(others)
        slips[person.record_id] = SLIPS[n % len(SLIPS)]
        born = _slipped(rng, person.date_of_birth, slips[person.record_id])
        health.append(
            replace(
                person, date_of_birth=born, postcode=home.postcode, address_lines=home.address_lines
            )
        )
    return replace(case, health=health), slips


def measure(case: Case, slips: dict[str, str]) -> Counter[str]:
    outcomes = run_ours(case, sole=True)
    result = LinkageResult(outcomes=tuple(outcomes))
    unlinked = unlinked_assured(result, case.education, case.facts)
    by_id = {p.record_id: p for p in case.health}
    unfound = [
        by_id[o.health_record_id]
        for o in outcomes
        if decide(o, case.facts).reason == "not_found_in_education_records"
    ]
    counts: Counter[str] = Counter(
        unlinked=len(unlinked),
        listed_without_net=sum(1 for h in unfound if h.record_id in case.ehe_assured),
    )
    for name, rule in RULES.items():
        for child in unfound:
            offered = [e for e in unlinked if not told_apart(child, e) and rule(child, e)]
            right = any(case.partner[child.record_id] == e.record_id for e in offered)
            if offered:
                counts[f"{name}: {'right' if right else 'wrong'}"] += 1
            if name == ADOPTED and not right and child.record_id in slips:
                counts[f"left: {slips[child.record_id]}"] += 1
    return counts


def main() -> None:
    print("Assured-EHE safety net, TUNING seeds, stressed (see module); children per rule")
    left: Counter[str] = Counter()
    print(f"{'population':<24}{'unlinked':>9}{'listed':>7}" + "".join(f"{r:>22}" for r in RULES))
    for model in ERROR_MODELS:
        for seed in TUNING_SEEDS:
            case, slips = stressed(
                synth_case(error_model=model, children=CHILDREN, seed=seed), seed
            )
            m = measure(case, slips)
            left.update({k: v for k, v in m.items() if k.startswith("left: ")})
            cells = "".join(f"{m[f'{r}: right']:>15} / {m[f'{r}: wrong']:<4}" for r in RULES)
            population = f"{model} {seed}"
            print(f"{population:<24}{m['unlinked']:>9}{m['listed_without_net']:>7}{cells}")
    print("listed: assured-EHE children listed 'not found' without the net; cells: right / wrong")
    print(f"still listed under '{ADOPTED}', by slip: {dict(sorted(left.items()))}")


if __name__ == "__main__":
    main()
