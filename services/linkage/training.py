"""Estimating the model's parameters from a run's own data, within a fixed budget.

u (how often two different children agree at each level) comes from a seeded sample of
random pairs, counted in one DuckDB query over the same level SQL the model scores with.
m (how often the same child agrees) comes from Splink's EM, on at most `EM_MAX_PAIRS`
blocked pairs per training rule, starting from the shipped prior. Both budgets are fixed,
so training costs about the same for Cardiff as for Merthyr Tydfil.

Any level the sample cannot estimate keeps its prior value, so a rare but telling level
such as a day-month swap never collapses to "impossible".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from services.linkage.comparisons import MODEL_COMPARISONS, TRAINING_BLOCKING_RULES
from services.linkage.workspace import pair_sides_sql, register_arrow

ModelDict = dict[str, Any]
LevelKey = tuple[str, str]  # (comparison output column, level chart label)

#: Random pairs for u. The rarest level we rely on (a day-month swap between strangers)
#: turns up a few dozen times in this many pairs; a seeded sample keeps runs repeatable.
U_SAMPLE_PAIRS = 400_000
#: Below this many observations a sampled u is noisier than the prior's: keep the prior.
U_MIN_COUNT = 3
#: EM on more pairs than this moves no parameter by more than its noise.
EM_MAX_PAIRS = 250_000
# No clerical error is rarer than this between two real administrative systems; EM on
# clean data can otherwise drive an m to ~0 and make one disagreement veto a link.
M_FLOOR = 1e-4

logger = logging.getLogger(__name__)


def _level_index_sql(comparison_index: int) -> str:
    """CASE giving the index of the level a pair falls in: -1 missing, len(levels) else."""
    comparison = MODEL_COMPARISONS[comparison_index]
    branches = " ".join(f"WHEN {lv.sql} THEN {i}" for i, lv in enumerate(comparison.levels))
    return (
        f"CASE WHEN {comparison.null_sql} THEN -1 {branches} "
        f"ELSE {len(comparison.levels)} END AS level_{comparison_index}"
    )


def _sample_pairs(con: duckdb.DuckDBPyConnection, *, seed: int, pairs: int) -> int:
    """Register `u_pairs`: `pairs` seeded random (health, education) candidate pairs."""
    ids = []
    for side in ("health", "education"):
        query = f"SELECT record_id FROM {side}_candidates ORDER BY record_id"  # noqa: S608
        ids.append(con.sql(query).to_arrow_table().column(0))
    rng = np.random.default_rng(seed)
    register_arrow(
        con,
        "u_pairs",
        {
            "health_record_id": ids[0].take(pa.array(rng.integers(0, len(ids[0]), pairs))),
            "education_record_id": ids[1].take(pa.array(rng.integers(0, len(ids[1]), pairs))),
        },
    )
    return pairs


def estimate_u(con: duckdb.DuckDBPyConnection, *, seed: int) -> dict[LevelKey, float]:
    """u per level from random candidate pairs; levels seen too rarely are left out."""
    _sample_pairs(con, seed=seed, pairs=U_SAMPLE_PAIRS)
    levels = ", ".join(_level_index_sql(i) for i in range(len(MODEL_COMPARISONS)))
    rows = con.execute(
        f"SELECT {levels}, count(*) FROM "  # noqa: S608 - our own SQL, no input
        f"({pair_sides_sql('u_pairs', 'health_candidates', 'education_candidates')}) "
        "GROUP BY ALL"
    ).fetchall()
    con.unregister("u_pairs")
    estimates: dict[LevelKey, float] = {}
    for position, comparison in enumerate(MODEL_COMPARISONS):
        counts = [0] * (len(comparison.levels) + 1)
        for row in rows:
            if row[position] >= 0:
                counts[row[position]] += row[-1]
        observed = sum(counts)
        labels = [lv.chart_label for lv in comparison.levels] + ["different"]
        for label, count in zip(labels, counts, strict=True):
            if count >= U_MIN_COUNT and observed > 0:
                estimates[(comparison.field, label)] = count / observed
    return estimates


def set_u(model: ModelDict, estimates: dict[LevelKey, float]) -> ModelDict:
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            key = (comparison["output_column_name"], level["label_for_charts"])
            if key in estimates:
                level["u_probability"] = estimates[key]
    return model


def estimate_m(make_linker: Callable[[ModelDict], Any], start: ModelDict) -> ModelDict:
    """EM for m on each training rule, capped at `EM_MAX_PAIRS` blocked pairs, each rule
    starting from the previous one's result. A rule whose EM degenerates (an m driven to
    underflow, no pairs at all) leaves the parameters as they were before it."""
    from splink.internals.exceptions import SplinkException

    model = start
    for number, rule in enumerate(TRAINING_BLOCKING_RULES, start=1):
        linker = make_linker(model)
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True, max_pairs=EM_MAX_PAIRS
            )
        except (SplinkException, ValueError) as error:
            logger.warning(
                "linkage EM on training rule %d skipped: %s", number, type(error).__name__
            )
            continue
        model = linker.misc.save_model_to_json()
    return model


def floor_m(model: ModelDict) -> ModelDict:
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            m = level.get("m_probability")
            if isinstance(m, int | float) and 0.0 < float(m) <= 1.0:
                level["m_probability"] = max(float(m), M_FLOOR)
    return model
