"""Our scoring SQL against Splink's own: same pairs, same probabilities."""

from __future__ import annotations

import duckdb
import pytest

from services.linkage import LinkageSettings
from services.linkage.comparisons import _one_edit, swaps_sql
from services.linkage.predict import predict
from services.linkage.prior import synthetic_population
from services.linkage.scoring import _candidate_counts, load_prior, prior_odds, splink_predict
from services.linkage.workspace import create_candidate_tables, load_records, open_workspace


@pytest.mark.parametrize("size", [300, 2_500])  # without and with term frequencies
def test_predict_gives_splinks_probabilities(size: int) -> None:
    health, education, _ = synthetic_population(size, seed=5)
    con = open_workspace()
    load_records(con, "health", health)
    load_records(con, "education", education)
    create_candidate_tables(con, set(), set())
    settings = LinkageSettings()
    model = load_prior()
    n_health, n_education = _candidate_counts(con)

    ours, scored = predict(
        con,
        model,
        probability_two_random_records_match=prior_odds(n_health, n_education),
        review_lower=settings.review_lower,
        term_frequencies=min(n_health, n_education) >= settings.min_records_for_training,
    )
    reference = splink_predict(con, model, settings=settings)

    mine = {(p.health_record_id, p.education_record_id): p.match_probability for p in ours}
    theirs = {(p.health_record_id, p.education_record_id): p.match_probability for p in reference}
    assert scored >= len(mine) > 0
    assert mine.keys() == theirs.keys()
    assert max(abs(mine[k] - theirs[k]) for k in mine) < 1e-9


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("CF11 9AB", "CF11 9AB"),
        ("CF11 9AB", "CF11 9AD"),
        ("CF11 9AB", "CF11 9BA"),
        ("CF11 9AB", "CF1 9AB"),
        ("CF11 9AB", "CF1 19AB"),
        ("CF11 9AB", "CF5 1AB"),
        ("2015-03-12", "2015-03-21"),
        ("2015-03-12", "2015-04-12"),
        ("2015-03-12", "2016-04-12"),
        ("2015-03-12", "2051-03-12"),
        ("4000", "4001"),
        ("4000", "400"),
        ("4000", "40000"),
    ],
)
def test_one_edit_is_damerau_levenshtein_within_one(left: str, right: str) -> None:
    con = duckdb.connect(":memory:")
    expected, ours = con.execute(
        f"SELECT damerau_levenshtein(postcode_l, postcode_r) <= 1, {_one_edit('postcode')} "  # noqa: S608
        f"FROM (SELECT *, {swaps_sql('postcode_l')} AS postcode_swaps_l"
        " FROM (SELECT ? AS postcode_l, ? AS postcode_r))",
        [left, right],
    ).fetchall()[0]
    assert ours == expected
