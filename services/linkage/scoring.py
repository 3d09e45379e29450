"""The probabilistic stage: Fellegi-Sunter scoring with Splink 5 on an in-memory DuckDB.

Parameters come from the shipped prior model, or, for inputs large enough to estimate them
stably, from the run's own data: u by seeded random sampling, m by EM starting from the
prior. Any level the run's data cannot estimate (never observed) keeps its prior value,
so a rare but telling level such as a day-month swap never collapses to "impossible".
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from services.linkage.comparisons import (
    PREDICTION_BLOCKING_RULES,
    TRAINING_BLOCKING_RULES,
    splink_comparisons,
)
from services.linkage.models import LinkageSettings

PRIOR_MODEL_PATH = Path(__file__).with_name("prior_model.json")
HEALTH_SOURCE = "health"
EDUCATION_SOURCE = "education"
# Share of the larger list expected to have a partner in the other: most children on a GP
# list are on some school roll. The floor stops tiny inputs inflating the prior odds.
_EXPECTED_PARTNER_SHARE = 0.9
_PRIOR_ODDS_FLOOR_RECORDS = 1_000
_U_SAMPLE_PAIRS = 5e6
# No clerical error is rarer than this between two real administrative systems; EM on
# clean data can otherwise drive an m to ~0 and make one disagreement veto a link.
_M_FLOOR = 1e-4

logger = logging.getLogger(__name__)

ModelDict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ScoredPair:
    health_record_id: str
    education_record_id: str
    match_probability: float


@contextlib.contextmanager
def quiet_splink() -> Iterator[None]:
    """Splink logs progress (and table names) at INFO; keep it out of the service's logs."""
    splink_logger = logging.getLogger("splink")
    previous = splink_logger.level
    splink_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        splink_logger.setLevel(previous)


def prior_odds(n_health: int, n_education: int) -> float:
    """Probability that two random records match, for a one-to-one link of two lists."""
    return _EXPECTED_PARTNER_SHARE / max(n_health, n_education, _PRIOR_ODDS_FLOOR_RECORDS)


def model_settings(
    probability_two_random_records_match: float, *, term_frequencies: bool = True
) -> ModelDict:
    """Splink settings for our comparisons. Term-frequency adjustment needs enough records
    for name frequencies to mean anything: in a list of ten, every name looks rare or
    common by accident, so small runs go without it."""
    comparisons = splink_comparisons()
    if not term_frequencies:
        for comparison in comparisons:
            for level in comparison["comparison_levels"]:
                level.pop("tf_adjustment_column", None)
                level.pop("tf_adjustment_weight", None)
    return {
        "link_type": "link_only",
        "unique_id_column_name": "record_id",
        "probability_two_random_records_match": probability_two_random_records_match,
        "comparisons": comparisons,
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": rule} for rule in PREDICTION_BLOCKING_RULES
        ],
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
        "em_convergence": 0.0001,
        "max_iterations": 25,
    }


def load_prior() -> ModelDict:
    loaded: ModelDict = json.loads(PRIOR_MODEL_PATH.read_text(encoding="utf-8"))
    return loaded


def _level_key(comparison: ModelDict, level: ModelDict) -> tuple[str, str]:
    return comparison["output_column_name"], level["label_for_charts"]


def _is_probability(value: object) -> bool:
    return isinstance(value, int | float) and 0.0 < float(value) <= 1.0


def with_parameters(model: ModelDict, source: ModelDict | None) -> ModelDict:
    """`model` with m and u filled in from `source` wherever `model` lacks a usable value."""
    if source is None:
        return model
    known: dict[tuple[str, str], ModelDict] = {
        _level_key(c, lv): lv for c in source["comparisons"] for lv in c["comparison_levels"]
    }
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            fallback = known.get(_level_key(comparison, level), {})
            for parameter in ("m_probability", "u_probability"):
                if not _is_probability(level.get(parameter)) and parameter in fallback:
                    level[parameter] = fallback[parameter]
    return model


def _linker(
    db_api: Any, probability: float, parameters: ModelDict | None, *, term_frequencies: bool
) -> Any:
    from splink import Linker

    settings = with_parameters(
        model_settings(probability, term_frequencies=term_frequencies), parameters
    )
    health = db_api.register(f"{HEALTH_SOURCE}_candidates", dataset_display_name=HEALTH_SOURCE)
    education = db_api.register(
        f"{EDUCATION_SOURCE}_candidates", dataset_display_name=EDUCATION_SOURCE
    )
    return Linker([health, education], settings, log_level=None)


def train(
    con: duckdb.DuckDBPyConnection, *, seed: int, starting_point: ModelDict | None
) -> ModelDict:
    """Estimate u and m on the candidate tables in `con`; returns the Splink model dict."""
    from splink import DuckDBAPI

    n_health, n_education = _candidate_counts(con)
    linker = _linker(
        DuckDBAPI(connection=con),
        prior_odds(n_health, n_education),
        starting_point,
        term_frequencies=True,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=_U_SAMPLE_PAIRS, seed=seed)
    for rule in TRAINING_BLOCKING_RULES:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    trained: ModelDict = with_parameters(linker.misc.save_model_to_json(), starting_point)
    for comparison in trained["comparisons"]:
        for level in comparison["comparison_levels"]:
            if _is_probability(level.get("m_probability")):
                level["m_probability"] = max(level["m_probability"], _M_FLOOR)
    return trained


def _candidate_counts(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    counts = []
    for source in (HEALTH_SOURCE, EDUCATION_SOURCE):
        rows = con.execute(f"SELECT count(*) FROM {source}_candidates").fetchall()  # noqa: S608
        counts.append(int(rows[0][0]))
    return counts[0], counts[1]


def score(con: duckdb.DuckDBPyConnection, *, settings: LinkageSettings) -> list[ScoredPair]:
    """Score every blocked pair of the `*_candidates` tables at or above the review band."""
    from splink import DuckDBAPI

    n_health, n_education = _candidate_counts(con)
    if n_health == 0 or n_education == 0:
        return []
    with quiet_splink():
        prior = load_prior()
        large_enough = min(n_health, n_education) >= settings.min_records_for_training
        if settings.train_by_em and large_enough:
            parameters = train(con, seed=settings.seed, starting_point=prior)
            logger.info("linkage model trained on %d x %d records", n_health, n_education)
        else:
            parameters = prior
            logger.info("linkage model: shipped prior for %d x %d records", n_health, n_education)
        linker = _linker(
            DuckDBAPI(connection=con),
            prior_odds(n_health, n_education),
            parameters,
            term_frequencies=large_enough,
        )
        predictions = linker.inference.predict(
            threshold_match_probability=settings.review_lower, warning_mode="never"
        )
        rows = (
            predictions.as_duckdbpyrelation()
            .select("record_id_l, record_id_r, source_dataset_l, match_probability")
            .fetchall()
        )
    pairs = []
    for left_id, right_id, left_source, probability in rows:
        health_id, education_id = (
            (left_id, right_id) if left_source == HEALTH_SOURCE else (right_id, left_id)
        )
        pairs.append(ScoredPair(str(health_id), str(education_id), float(probability)))
    return pairs
