"""The run's in-memory DuckDB: feature tables for both sides, and agreement labels.

Nothing here outlives a `link()` call; the connection is closed when the run ends, so no
child's details stay in memory longer than the comparison needs. Data moves between
Python and DuckDB as Arrow tables (no pandas round trips).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]

from services.linkage.comparisons import (
    FIELD_COMPARISONS,
    ONE_EDIT_COLUMNS,
    SWAP_COLUMNS,
    agreement_case_sql,
    swaps_sql,
)
from services.linkage.features import (
    FEATURE_COLUMNS,
    INTEGER_COLUMNS,
    LIST_COLUMNS,
    feature_columns,
)
from services.linkage.models import AgreementLabel, PersonRecord

Pair = tuple[str, str]
_THREADS = 2
#: Every column of a workspace table: the features, and the neighbour swaps DuckDB derives
#: from them for the one-edit tests (built once per record, not once per pair).
WORKSPACE_COLUMNS: tuple[str, ...] = (*FEATURE_COLUMNS, *SWAP_COLUMNS)


def _arrow_type(column: str) -> pa.DataType:
    if column in LIST_COLUMNS:
        return pa.list_(pa.string())
    if column in INTEGER_COLUMNS:
        return pa.int32()
    return pa.string()


def open_workspace() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    # Two threads match the service's small workers; insertion order kept for determinism.
    con.execute(f"SET threads = {_THREADS}").fetchall()
    con.execute("SET preserve_insertion_order = true").fetchall()
    # A worker has no terminal to draw on: DuckDB's bar would only fill its logs.
    con.execute("SET enable_progress_bar = false").fetchall()
    return con


def register_arrow(
    con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, pa.Array | list[object]]
) -> None:
    """Register plain Python columns (or Arrow arrays) as a view `name`."""
    con.register(name, pa.table(columns))


def load_records(
    con: duckdb.DuckDBPyConnection, table: str, records: Sequence[PersonRecord]
) -> None:
    """Create `table` holding the comparison features of `records`, ordered by id."""
    columns = feature_columns(records)
    arrow = pa.table(
        {name: pa.array(columns[name], type=_arrow_type(name)) for name in FEATURE_COLUMNS}
    )
    con.register(f"{table}_arrow", arrow)
    swaps = "".join(
        f', {swaps_sql(f"{column}")} AS "{name}"'
        for column, name in zip(ONE_EDIT_COLUMNS, SWAP_COLUMNS, strict=True)
    )
    sql = f"CREATE TABLE {table} AS SELECT *{swaps} FROM {table}_arrow ORDER BY record_id"  # noqa: S608
    con.execute(sql).fetchall()
    con.unregister(f"{table}_arrow")


def pair_sides_sql(pairs_table: str, health_table: str, education_table: str) -> str:
    """Rows of `pairs_table` (health_record_id, education_record_id) widened into the
    `_l` (health) and `_r` (education) feature columns the comparison SQL expects."""
    sides = ", ".join(f"h.{c} AS {c}_l, e.{c} AS {c}_r" for c in WORKSPACE_COLUMNS)
    return (
        f"SELECT {sides} FROM {pairs_table} p "  # noqa: S608 - our own identifiers
        f"JOIN {health_table} h ON h.record_id = p.health_record_id "
        f"JOIN {education_table} e ON e.record_id = p.education_record_id"
    )


def agreements(
    con: duckdb.DuckDBPyConnection, pairs: Iterable[Pair]
) -> dict[Pair, dict[str, AgreementLabel]]:
    """Per-field agreement labels for (health_record_id, education_record_id) pairs."""
    pair_list = sorted(set(pairs))
    if not pair_list:
        return {}
    register_arrow(
        con,
        "labelled_pairs",
        {
            "health_record_id": pa.array([h for h, _ in pair_list], type=pa.string()),
            "education_record_id": pa.array([e for _, e in pair_list], type=pa.string()),
        },
    )
    labels = ", ".join(f"{agreement_case_sql(c)} AS {c.field}" for c in FIELD_COMPARISONS)
    rows = con.execute(
        f"SELECT record_id_l, record_id_r, {labels} "  # noqa: S608 - our own identifiers
        f"FROM ({pair_sides_sql('labelled_pairs', 'health', 'education')})"
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
        register_arrow(con, "already_linked", {"record_id": pa.array(sorted(linked), pa.string())})
        con.execute(
            f"CREATE TABLE {table}_candidates AS SELECT * FROM {table} "  # noqa: S608
            "WHERE record_id NOT IN (SELECT record_id FROM already_linked) ORDER BY record_id"
        ).fetchall()
        con.unregister("already_linked")
