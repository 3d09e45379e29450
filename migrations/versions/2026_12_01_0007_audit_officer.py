"""audit events name the officer

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 21:00:00

An officer signed in to the console acts as a person: the audit trail names them (their
identity provider's `sub`) beside the authority. A plain ADD COLUMN, so the append-only
triggers on `audit_events` are untouched and no row is rewritten.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("audit_events", "audit_inbox")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("officer", sa.String(length=255), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        # Plain DROP COLUMN (SQLite 3.35+): batch mode would rebuild the table and lose
        # its append-only triggers.
        op.drop_column(table, "officer")
