"""a case keeps its history

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 21:00:00

What happened to a case, in order: opened, updated, closed with an outcome, reopened,
handed over, received from another authority, marked sensitive. Event codes and authority
codes only: no personal data.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cme_cases") as batch_op:
        batch_op.add_column(
            sa.Column("history", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("cme_cases") as batch_op:
        batch_op.drop_column("history")
