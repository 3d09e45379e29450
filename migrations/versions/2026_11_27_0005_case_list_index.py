"""case list index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 06:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_cme_cases_la_updated_id", "cme_cases", ["la_code", "updated_at", "case_id"])


def downgrade() -> None:
    op.drop_index("ix_cme_cases_la_updated_id", table_name="cme_cases")
