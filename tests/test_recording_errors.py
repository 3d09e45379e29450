"""The independent error model (`services.synthetic.recording_errors`): every kind of
error occurs, populations are deterministic by seed, and the model knows nothing of the
linkage engine it is used to judge."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from random import Random

import pytest
import typer
from typer.testing import CliRunner

from cli.synth import synth
from schemas.education import EducationRecordsIn
from services.synthetic import (
    RECORDING_ERRORS,
    TEST_SEEDS,
    TUNING_SEEDS,
    Population,
    generate_population,
)
from services.synthetic.recording_errors import (
    GIVEN_NAME_FORMS,
    days_slipped,
    digit_mistyped,
    fold_name,
    misspell,
    postcode_typo,
)

REFERENCE_DATE = date(2026, 1, 15)
CARDIFF, NEWPORT = "W06000015", "W06000022"
# Forms the linkage engine's equivalence table has never listed: the model must not be
# limited to what the engine already knows.
OUTSIDE_THE_ENGINE_TABLE = {("lowri", "Laura"), ("olivia", "Livvy"), ("ava", "Eva")}


@pytest.fixture(scope="module")
def population() -> Population:
    return generate_population(
        la_codes=[CARDIFF],
        children_per_authority=10_000,
        reference_date=REFERENCE_DATE,
        seed=TUNING_SEEDS[0],
        error_model="independent",
    )


def _edits(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment)."""
    rows = [list(range(len(b) + 1))]
    for i, ca in enumerate(a, start=1):
        row = [i]
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            best = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                best = min(best, rows[-2][j - 2] + 1)
            row.append(best)
        rows.append(row)
    return rows[-1][-1]


def test_every_kind_of_error_occurs(population: Population) -> None:
    seen = Counter(e for truth in population.truth.values() for e in truth.errors)
    assert set(RECORDING_ERRORS) <= set(seen), set(RECORDING_ERRORS) - set(seen)
    assert seen["namesake"] > 0
    assert seen["twin_missing"] > 0


def test_tuning_and_test_seeds_are_disjoint() -> None:
    assert TUNING_SEEDS
    assert TEST_SEEDS
    assert not set(TUNING_SEEDS) & set(TEST_SEEDS)


def test_same_seed_same_population_and_models_differ() -> None:
    def make(seed: int, model: str = "independent") -> Population:
        return generate_population(
            la_codes=[NEWPORT],
            children_per_authority=600,
            reference_date=REFERENCE_DATE,
            seed=seed,
            error_model=model,  # type: ignore[arg-type]
        )

    assert make(5) == make(5)
    assert make(5).health_records != make(6).health_records
    assert make(5).education_records_by_la != make(5, "classic").education_records_by_la


def test_an_unknown_error_model_is_refused() -> None:
    with pytest.raises(ValueError, match="error model"):
        generate_population(
            la_codes=[NEWPORT],
            children_per_authority=10,
            reference_date=REFERENCE_DATE,
            seed=1,
            error_model="gentle",  # type: ignore[arg-type]
        )


def test_the_model_never_imports_the_linkage_engine() -> None:
    code = (
        "import sys, services.synthetic, services.synthetic.recording_errors;"
        "print([m for m in sys.modules if m.startswith('services.linkage')])"
    )
    completed = subprocess.run(  # noqa: S603 - our own interpreter, our own code
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    )
    assert completed.stdout.strip() == "[]"


def test_its_name_table_reaches_beyond_the_engines() -> None:
    assert all(form in GIVEN_NAME_FORMS[name] for name, form in OUTSIDE_THE_ENGINE_TABLE)


def test_typos_are_one_or_two_edits_never_none() -> None:
    rng = Random(1)
    for name in ("Gwenllian", "Rhys", "Ffion", "Evans-Smith", "Li"):
        for edits in (1, 2):
            for _ in range(50):
                slipped = misspell(rng, name, edits=edits)
                assert slipped != name
                # A transposition then a deletion may count as three simple edits.
                assert 1 <= _edits(name, slipped) <= 2 * edits


def test_date_slips_are_small_or_one_digit() -> None:
    rng = Random(2)
    born = date(2015, 3, 30)
    for _ in range(100):
        assert 1 <= abs((days_slipped(rng, born) - born).days) <= 3
        typed = digit_mistyped(rng, born).isoformat()
        assert sum(a != b for a, b in zip(typed, born.isoformat(), strict=True)) == 1


def test_a_postcode_typo_changes_one_character() -> None:
    rng = Random(3)
    for _ in range(100):
        typed = postcode_typo(rng, "CF11 9AB")
        assert len(typed) == len("CF11 9AB")
        assert sum(a != b for a, b in zip(typed, "CF11 9AB", strict=True)) == 1


def test_errors_are_what_they_say(population: Population) -> None:
    health = {r["record_id"]: r for r in population.health_records}
    education = {r["record_id"]: r for r in population.education_records_by_la[CARDIFF]}
    checked: Counter[str] = Counter()
    for record_id, truth in population.truth.items():
        if truth.education_record_id is None:
            continue
        h, e = health[record_id], education[truth.education_record_id]
        errors = set(truth.errors)
        if errors & {"surname_changed_unrecorded"} and not errors & {
            "family_name_typo",
            "family_name_two_typos",
        }:
            assert h["family_name"] != e["family_name"]
            # Neither side records the other's surname as a former one.
            assert e["family_name"] not in [f["family_name"] for f in h["former_names"]]
            assert h["family_name"] not in [f["family_name"] for f in e["former_names"]]
            checked["unrecorded"] += 1
        if errors == {"dob_days_slipped"}:
            gap = date.fromisoformat(h["date_of_birth"]) - date.fromisoformat(e["date_of_birth"])
            assert 1 <= abs(gap.days) <= 3
            checked["slipped"] += 1
        if errors == {"dob_day_month_swapped"}:
            y, m, d = h["date_of_birth"].split("-")
            assert e["date_of_birth"] == f"{y}-{d}-{m}"
            checked["swapped"] += 1
        if errors == {"double_barrel_reordered"}:
            names = sorted([h["family_name"], e["family_name"]])
            first, second = names[0].split("-")
            assert names[1] == f"{second}-{first}"
            checked["reordered"] += 1
    assert checked["unrecorded"]
    assert checked["slipped"]
    assert checked["swapped"]


def test_twins_include_alike_names_and_one_missing_education(population: Population) -> None:
    health = {r["record_id"]: r for r in population.health_records}
    pairs = {
        tuple(sorted((record_id, truth.twin_record_id)))
        for record_id, truth in population.truth.items()
        if truth.twin_record_id
    }
    alike = 0
    for first, second in pairs:
        a, b = fold_name(health[first]["given_name"]), fold_name(health[second]["given_name"])
        assert a != b
        alike += _edits(a, b) <= 2 or a[:2] == b[:2]
    assert alike > 0
    one_missing = [
        (first, second)
        for first, second in pairs
        if {population.truth[first].category, population.truth[second].category}
        == {"missing", "maintained_school"}
    ]
    assert one_missing


def test_namesakes_share_names_and_a_date_one_digit_apart(population: Population) -> None:
    health = population.health_records
    by_name: dict[tuple[str, str], list[str]] = {}
    for record in health:
        by_name.setdefault((record["given_name"], record["family_name"]), []).append(
            record["date_of_birth"]
        )
    namesakes = [r for r in health if "namesake" in population.truth[r["record_id"]].errors]
    assert namesakes

    def has_a_namesake(record: dict[str, str]) -> bool:
        others = by_name[(record["given_name"], record["family_name"])]
        born = record["date_of_birth"]
        return any(sum(a != b for a, b in zip(o, born, strict=True)) == 1 for o in others)

    # Later recording errors may still change a surname on the health side.
    assert sum(map(has_a_namesake, namesakes)) >= 0.8 * len(namesakes)
    assert any(population.truth[r["record_id"]].education_record_id is None for r in namesakes)


def test_cme_synth_writes_the_independent_model(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(synth)
    arguments = ["--la", NEWPORT, "--children", "300", "--seed", "9", "--as-of", "2026-01-15"]
    classic, independent = tmp_path / "classic", tmp_path / "independent"
    assert CliRunner().invoke(app, [*arguments, "--out", str(classic)]).exit_code == 0
    result = CliRunner().invoke(
        app, [*arguments, "--errors", "independent", "--out", str(independent)]
    )
    assert result.exit_code == 0, result.output
    name = f"education-{NEWPORT}.json"
    EducationRecordsIn.model_validate_json((independent / name).read_bytes())
    assert json.loads((classic / name).read_text()) != json.loads((independent / name).read_text())
    refused = CliRunner().invoke(app, [*arguments, "--errors", "gentle", "--out", str(tmp_path)])
    assert refused.exit_code == 2
