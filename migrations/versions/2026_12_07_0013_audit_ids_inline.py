"""audit events keep the ids they name inline

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 03:50:00

A case page's event names its 100 cases: about 4 KB of ids, past PostgreSQL's 2 KB
threshold, so each was written to the TOAST table (a second heap row and an index entry)
in the inbox, again in the chain, and deleted from the inbox's TOAST table after. Random
ids barely compress, so storage MAIN keeps them in the row itself, where they fit. Rows
already written stay as they are; SQLite has no such setting.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("audit_inbox", "audit_events")


def upgrade() -> None:
    _set_storage("MAIN")


def downgrade() -> None:
    _set_storage("EXTENDED")


def _set_storage(storage: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _TABLES:
        # A catalogue change only: no row is rewritten, so the append-only triggers of
        # audit_events are not involved.
        op.execute(f"ALTER TABLE {table} ALTER COLUMN object_ids SET STORAGE {storage}")
