"""The run's in-memory DuckDB: feature tables for both sides, and agreement labels.

Nothing here outlives a `link()` call; the connection is closed when the run ends, so no
child's details stay in memory longer than the comparison needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields

import duckdb
import pandas as pd  # type: ignore[import-untyped]

from services.linkage.comparisons import FIELD_COMPARISONS, agreement_case_sql
from services.linkage.features import LIST_COLUMNS, PersonFeatures, feature_rows
from services.linkage.models import AgreementLabel, PersonRecord

_FEATURE_COLUMNS = tuple(f.name for f in fields(PersonFeatures))
_INTEGER_COLUMNS = frozenset({"dob_year", "dob_month", "dob_day"})
Pair = tuple[str, str]


def open_workspace() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    # Two threads match the service's small workers; insertion order kept for determinism.
    con.execute("SET threads = 2").fetchall()
    con.execute("SET preserve_insertion_order = true").fetchall()
    return con


def load_records(
    con: duckdb.DuckDBPyConnection, table: str, records: Sequence[PersonRecord]
) -> None:
    """Create `table` holding the comparison features of `records`."""
    columns = feature_rows(records)
    frame = pd.DataFrame(
        {
            name: pd.array(values, dtype="Int64" if name in _INTEGER_COLUMNS else "string")
            for name, values in columns.items()
        }
    )
    con.register(f"{table}_frame", frame)
    select = ", ".join(
        f"coalesce(string_split(nullif({c}, ''), '|'), []::VARCHAR[]) AS {c}"
        if c in LIST_COLUMNS
        else c
        for c in _FEATURE_COLUMNS
    )
    sql = f"CREATE TABLE {table} AS SELECT {select} FROM {table}_frame"  # noqa: S608
    con.execute(sql).fetchall()
    con.unregister(f"{table}_frame")


def agreements(
    con: duckdb.DuckDBPyConnection, pairs: Iterable[Pair]
) -> dict[Pair, dict[str, AgreementLabel]]:
    """Per-field agreement labels for (health_record_id, education_record_id) pairs."""
    pair_list = sorted(set(pairs))
    if not pair_list:
        return {}
    frame = pd.DataFrame(
        {
            "health_record_id": pd.array([h for h, _ in pair_list], dtype="string"),
            "education_record_id": pd.array([e for _, e in pair_list], dtype="string"),
        }
    )
    con.register("labelled_pairs", frame)
    sides = ", ".join(f"h.{c} AS {c}_l, e.{c} AS {c}_r" for c in _FEATURE_COLUMNS)
    labels = ", ".join(f"{agreement_case_sql(c)} AS {c.field}" for c in FIELD_COMPARISONS)
    rows = con.execute(
        f"""
        SELECT record_id_l, record_id_r, {labels}
        FROM (
            SELECT {sides}
            FROM labelled_pairs p
            JOIN health h ON h.record_id = p.health_record_id
            JOIN education e ON e.record_id = p.education_record_id
        )
        """  # noqa: S608 - column names come from our own dataclass, not from input
    ).fetchall()
    con.unregister("labelled_pairs")
    field_names = [c.field for c in FIELD_COMPARISONS]
    return {
        (str(row[0]), str(row[1])): dict(zip(field_names, row[2:], strict=True)) for row in rows
    }


def create_candidate_tables(
    con: duckdb.DuckDBPyConnection, linked_health: set[str], linked_education: set[str]
) -> None:
    """`health_candidates` / `education_candidates`: records left for the probabilistic
    stage once the deterministic stage has taken its links."""
    for table, linked in (("health", linked_health), ("education", linked_education)):
        frame = pd.DataFrame({"record_id": pd.array(sorted(linked), dtype="string")})
        con.register("already_linked", frame)
        con.execute(
            f"CREATE TABLE {table}_candidates AS SELECT * FROM {table} "  # noqa: S608
            "WHERE record_id NOT IN (SELECT record_id FROM already_linked) ORDER BY record_id"
        ).fetchall()
        con.unregister("already_linked")
