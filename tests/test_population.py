"""The synthetic population with ground truth (`cme synth`): pure, no database."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cli.synth import synth
from schemas.education import EducationRecordsIn
from schemas.identifiers import nhs_number_is_valid, upn_is_valid
from schemas.school_age import is_compulsory_school_age
from schemas.submissions import SubmissionIn
from services.linkage.names import canonical_given_name, fold
from services.synthetic import (
    ERROR_TYPES,
    TRUTH_CATEGORIES,
    Population,
    build_submission,
    generate_population,
)

REFERENCE_DATE = date(2026, 1, 15)
CARDIFF, MONMOUTHSHIRE, NEWPORT = "W06000015", "W06000021", "W06000022"


@pytest.fixture(scope="module")
def population() -> Population:
    return generate_population(
        la_codes=[CARDIFF, MONMOUTHSHIRE],
        children_per_authority=10_000,
        reference_date=REFERENCE_DATE,
        seed=3,
    )


def test_same_seed_same_population() -> None:
    def make(seed: int) -> Population:
        return generate_population(
            la_codes=[NEWPORT], children_per_authority=500, reference_date=REFERENCE_DATE, seed=seed
        )

    assert make(5) == make(5)
    assert make(5).health_records != make(6).health_records


@pytest.mark.parametrize(
    ("la_code", "category", "share"),
    [
        (CARDIFF, "independent_school", 0.017),
        (CARDIFF, "ehe_assured", 0.0063),
        (CARDIFF, "ehe_not_assured", 0.0027),
        (CARDIFF, "eotas", 0.003),
        (CARDIFF, "school_in_england", 0.002),
        (MONMOUTHSHIRE, "school_in_england", 0.03),  # a border authority
        (CARDIFF, "moved_away", 0.02),
        (CARDIFF, "missing", 0.003),
        (CARDIFF, "maintained_school", 0.946),
    ],
)
def test_rates(population: Population, la_code: str, category: str, share: float) -> None:
    counts = Counter[str](
        truth.category
        for truth in population.truth.values()
        if truth.local_authority_code == la_code
    )
    assert counts[category] / 10_000 == pytest.approx(share, abs=0.0015)


def test_ehe_is_about_seventy_percent_assured(population: Population) -> None:
    counts = Counter(truth.category for truth in population.truth.values())
    assured = counts["ehe_assured"] / (counts["ehe_assured"] + counts["ehe_not_assured"])
    assert assured == pytest.approx(0.7, abs=0.02)


def test_truth_is_complete_and_points_at_real_records(population: Population) -> None:
    assert set(population.truth) == {r["record_id"] for r in population.health_records}
    education = {
        record["record_id"]: record
        for records in population.education_records_by_la.values()
        for record in records
    }
    provision = {
        "maintained_school": "maintained_school",
        "independent_school": "independent_school",
        "eotas": "eotas",
        "school_in_england": "school_in_england",
        "ehe_assured": "ehe",
        "ehe_not_assured": "ehe",
    }
    linked = [t.education_record_id for t in population.truth.values() if t.education_record_id]
    assert len(linked) == len(set(linked))  # one child, one education record
    for truth in population.truth.values():
        assert truth.category in TRUTH_CATEGORIES
        if truth.category in ("moved_away", "missing"):
            assert truth.education_record_id is None
            continue
        assert truth.education_record_id is not None
        record = education[truth.education_record_id]
        assert record["provision"] == provision[truth.category]
        assert record["record_id"].startswith(
            f"la-{'681' if truth.local_authority_code == CARDIFF else '679'}"
        )
    ehe_suitability = {
        t.category: education[t.education_record_id]["ehe_suitability"]
        for t in population.truth.values()
        if t.education_record_id and t.category.startswith("ehe")
    }
    assert ehe_suitability == {"ehe_assured": "assured", "ehe_not_assured": "not_assured"}
    # About 2% more children are at school here but registered with a GP elsewhere.
    education_only = len(education) - len(linked)
    assert education_only == pytest.approx(0.02 * 20_000, rel=0.05)


def test_health_records_make_valid_submissions(population: Population) -> None:
    submission = build_submission(
        lhb_code="7A4",
        records=population.health_records,
        extracted_at=datetime(2026, 1, 15, 2, tzinfo=UTC),
    )
    parsed = SubmissionIn.model_validate_json(json.dumps(submission))
    assert len(parsed.records) == 20_000
    assert all(is_compulsory_school_age(r.date_of_birth, REFERENCE_DATE) for r in parsed.records)
    nhs_numbers = [r.nhs_number for r in parsed.records if r.nhs_number is not None]
    assert len(nhs_numbers) == len(set(nhs_numbers))
    assert all(n.startswith("999") and nhs_number_is_valid(n) for n in nhs_numbers)


def test_education_records_are_valid_bodies_with_valid_upns(population: Population) -> None:
    for la_code, records in population.education_records_by_la.items():
        body = {"as_of": REFERENCE_DATE.isoformat(), "records": records}
        EducationRecordsIn.model_validate_json(json.dumps(body))
        la_number = "681" if la_code == CARDIFF else "679"
        for record in records:
            if record["provision"] == "maintained_school":
                assert upn_is_valid(record["upn"])
                assert record["upn"][1:4] == la_number
            else:
                assert record["upn"] is None
        upns = [r["upn"] for r in records if r["upn"]]
        assert len(upns) == len(set(upns))
        with_nhs_number = sum(1 for r in records if r["nhs_number"]) / len(records)
        assert 0.01 < with_nhs_number < 0.1  # mostly null, occasionally present


def test_twins_share_surname_birthday_and_address_not_name(population: Population) -> None:
    health = {record["record_id"]: record for record in population.health_records}
    twins = [(i, t.twin_record_id) for i, t in population.truth.items() if t.twin_record_id]
    assert len(twins) == pytest.approx(0.014 * 20_000, abs=2)
    for record_id, twin_id in twins:
        assert twin_id is not None
        one, other = health[record_id], health[twin_id]
        assert population.truth[twin_id].twin_record_id == record_id
        # A surname error may land on the GP side of one twin only.
        renamed = {"surname_changed", "double_barrelled_part_dropped"}
        if not renamed & {*population.truth[record_id].errors, *population.truth[twin_id].errors}:
            assert one["family_name"] == other["family_name"]
        assert one["date_of_birth"] == other["date_of_birth"]
        assert one.get("address") == other.get("address")
        assert canonical_given_name(fold(one["given_name"])) != canonical_given_name(
            fold(other["given_name"])
        )
        assert population.truth[record_id].category == "maintained_school"


def test_every_error_type_occurs(population: Population) -> None:
    errors = Counter(error for truth in population.truth.values() for error in truth.errors)
    assert set(errors) == set(ERROR_TYPES)
    assert all(errors[error] >= 5 for error in ERROR_TYPES), errors


def test_errors_do_what_they_say(population: Population) -> None:
    health = {record["record_id"]: record for record in population.health_records}
    education = {
        record["record_id"]: record
        for records in population.education_records_by_la.values()
        for record in records
    }
    for record_id, truth in population.truth.items():
        if truth.education_record_id is None:
            continue
        one, other = health[record_id], education[truth.education_record_id]
        if "day_month_swapped" in truth.errors:
            born, recorded = (date.fromisoformat(r["date_of_birth"]) for r in (one, other))
            assert (recorded.day, recorded.month) == (born.month, born.day)
        if "surname_changed" in truth.errors and "family_name_typo" not in truth.errors:
            assert one["family_name"] != other["family_name"]
            former = [f["family_name"] for r in (one, other) for f in r["former_names"]]
            assert one["family_name"] in former or other["family_name"] in former
        if "house_move" in truth.errors and "address" in one:
            assert one["address"]["lines"] != other["address"]["lines"]
        if not truth.errors and "address" in one:
            assert (one["given_name"], one["family_name"], one["date_of_birth"]) == (
                other["given_name"],
                other["family_name"],
                other["date_of_birth"],
            )


def test_very_common_surnames_dominate(population: Population) -> None:
    surnames = Counter(record["family_name"] for record in population.health_records)
    assert surnames.most_common(1)[0][0] == "Jones"
    assert surnames["Jones"] / len(population.health_records) > 0.08


def test_refuses_unknown_or_repeated_authorities() -> None:
    for la_codes in (["W06000007"], [CARDIFF, CARDIFF], []):
        with pytest.raises(ValueError, match="GSS"):
            generate_population(
                la_codes=la_codes, children_per_authority=10, reference_date=REFERENCE_DATE, seed=1
            )


def test_cme_synth_writes_extracts_education_and_truth(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(synth)
    arguments = ["--la", CARDIFF, "--la", NEWPORT, "--children", "300", "--seed", "9"]
    arguments += ["--as-of", "2026-01-15", "--out", str(tmp_path)]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    assert "moved_away" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"education-{CARDIFF}.json",
        f"education-{NEWPORT}.json",
        "health-extract-7A4.json",
        "health-extract-7A6.json",
        f"truth-{CARDIFF}.csv",
        f"truth-{NEWPORT}.csv",
    ]
    cardiff_extract = SubmissionIn.model_validate_json(
        (tmp_path / "health-extract-7A4.json").read_bytes()
    )
    assert cardiff_extract.lhb_code == "7A4"
    assert {r.local_authority_code for r in cardiff_extract.records} == {CARDIFF}
    education = EducationRecordsIn.model_validate_json(
        (tmp_path / f"education-{CARDIFF}.json").read_bytes()
    )
    assert education.as_of == REFERENCE_DATE
    with (tmp_path / f"truth-{CARDIFF}.csv").open(encoding="utf-8") as handle:
        truth = list(csv.DictReader(handle))
    assert {row["record_id"] for row in truth} == {r.record_id for r in cardiff_extract.records}
    education_ids = {r.record_id for r in education.records}
    assert all(
        row["education_record_id"] in education_ids
        for row in truth
        if row["category"] not in ("moved_away", "missing")
    )
    # The same seed writes the same files, submission ids included.
    first = (tmp_path / "health-extract-7A4.json").read_bytes()
    assert CliRunner().invoke(app, arguments).exit_code == 0
    assert (tmp_path / "health-extract-7A4.json").read_bytes() == first


def test_cme_synth_refuses_an_unknown_authority(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(synth)
    result = CliRunner().invoke(app, ["--la", "W99999999", "--out", str(tmp_path)])
    assert result.exit_code == 2
