"""case restriction

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 05:14:46.472977
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("cme_cases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("restricted", sa.Boolean(), server_default="0", nullable=False)
        )


def downgrade() -> None:

    with op.batch_alter_table("cme_cases", schema=None) as batch_op:
        batch_op.drop_column("restricted")
