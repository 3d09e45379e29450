"""a review decision keeps its candidates' probabilities as labels

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 22:30:00

An officer's answer labels each candidate the case offered: the chosen one the same
child, the others not. Each label is a match probability and a yes or no: no identifiers,
no personal data. Reconciliations estimate their precision and recall from them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("review_decisions") as batch_op:
        batch_op.add_column(
            sa.Column("labels", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("review_decisions") as batch_op:
        batch_op.drop_column("labels")
