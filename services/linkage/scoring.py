"""The probabilistic stage: Fellegi-Sunter scoring with Splink 5 on an in-memory DuckDB.

Parameters come from the shipped prior model, or, for inputs large enough to estimate them
stably, from the run's own data: u by seeded random sampling, m by EM starting from the
prior. Any level the run's data cannot estimate (never observed) keeps its prior value,
so a rare but telling level such as a day-month swap never collapses to "impossible".
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from services.linkage.assignment import COMPETITOR_FLOOR, EXPECTED_PARTNER_SHARE
from services.linkage.comparisons import (
    PREDICTION_BLOCKING_RULES,
    splink_comparisons,
)
from services.linkage.models import LinkageSettings
from services.linkage.predict import ScoredPair, predict
from services.linkage.training import (
    EM_MAX_PAIRS,
    M_FLOOR,
    U_MIN_COUNT,
    U_SAMPLE_PAIRS,
    ModelDict,
    estimate_m,
    estimate_u,
    floor_m,
    set_u,
)

PRIOR_MODEL_PATH = Path(__file__).with_name("prior_model.json")
HEALTH_SOURCE = "health"
EDUCATION_SOURCE = "education"
# The floor stops tiny inputs inflating the prior odds.
_PRIOR_ODDS_FLOOR_RECORDS = 1_000

logger = logging.getLogger(__name__)


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
    return EXPECTED_PARTNER_SHARE / max(n_health, n_education, _PRIOR_ODDS_FLOOR_RECORDS)


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
    db_api: Any,
    probability: float,
    parameters: ModelDict | None,
    *,
    term_frequencies: bool,
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
    start = with_parameters(set_u(model_settings(1.0), estimate_u(con, seed=seed)), starting_point)

    def make_linker(parameters: ModelDict) -> Any:
        db_api = DuckDBAPI(connection=con)  # one per linker: table names register once
        return _linker(db_api, prior_odds(n_health, n_education), parameters, term_frequencies=True)

    trained = estimate_m(make_linker, start)
    return floor_m(with_parameters(trained, starting_point))


def _candidate_counts(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    counts = []
    for source in (HEALTH_SOURCE, EDUCATION_SOURCE):
        rows = con.execute(f"SELECT count(*) FROM {source}_candidates").fetchall()  # noqa: S608
        counts.append(int(rows[0][0]))
    return counts[0], counts[1]


def model_version(settings: LinkageSettings) -> str:
    """What trained parameters depend on besides the records: the comparisons, the shipped
    prior, the seed and the training budgets. Parameters of another version are never
    reused (`sharing`)."""
    basis = {
        "settings": model_settings(1.0),
        "prior": load_prior(),
        "seed": settings.seed,
        "budgets": [U_SAMPLE_PAIRS, U_MIN_COUNT, EM_MAX_PAIRS, M_FLOOR],
    }
    encoded = json.dumps(basis, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


def run_model(con: duckdb.DuckDBPyConnection, *, settings: LinkageSettings) -> ModelDict:
    """The run's parameters: shared ones trained by an earlier run (`settings.shared`),
    else trained on its own candidates when they are large enough, else the shipped prior."""
    n_health, n_education = _candidate_counts(con)
    prior = load_prior()
    if settings.train_by_em and _large_enough(n_health, n_education, settings):
        version = model_version(settings) if settings.shared is not None else ""
        shared = settings.shared.get(version) if settings.shared is not None else None
        if shared is not None:
            logger.info(
                "linkage model: shared parameters for %d x %d records", n_health, n_education
            )
            return copy.deepcopy(dict(shared))
        with quiet_splink():
            parameters = train(con, seed=settings.seed, starting_point=prior)
        logger.info("linkage model trained on %d x %d records", n_health, n_education)
        if settings.shared is not None:
            settings.shared.put(version, copy.deepcopy(parameters))
        return parameters
    logger.info("linkage model: shipped prior for %d x %d records", n_health, n_education)
    return prior


def _large_enough(n_health: int, n_education: int, settings: LinkageSettings) -> bool:
    return min(n_health, n_education) >= settings.min_records_for_training


def score(con: duckdb.DuckDBPyConnection, *, settings: LinkageSettings) -> list[ScoredPair]:
    """Score every blocked pair of the `*_candidates` tables at or above the review band."""
    n_health, n_education = _candidate_counts(con)
    if n_health == 0 or n_education == 0:
        return []
    pairs, scored = predict(
        con,
        run_model(con, settings=settings),
        probability_two_random_records_match=prior_odds(n_health, n_education),
        # Pairs below the review band still count as rivals for sole candidates.
        review_lower=min(settings.review_lower, COMPETITOR_FLOOR),
        term_frequencies=_large_enough(n_health, n_education, settings),
    )
    logger.info(
        "linkage: %d blocked pairs scored, %d at or above the review band",
        scored,
        len(pairs),
        extra={"linkage_pairs_scored": scored},
    )
    return pairs


def splink_predict(
    con: duckdb.DuckDBPyConnection, parameters: ModelDict, *, settings: LinkageSettings
) -> list[ScoredPair]:
    """Splink's own `predict()` on the same model: the reference `predict` is held to."""
    from splink import DuckDBAPI

    n_health, n_education = _candidate_counts(con)
    with quiet_splink():
        linker = _linker(
            DuckDBAPI(connection=con),
            prior_odds(n_health, n_education),
            parameters,
            term_frequencies=_large_enough(n_health, n_education, settings),
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
