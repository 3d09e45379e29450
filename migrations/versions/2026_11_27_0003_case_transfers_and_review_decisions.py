"""case transfers and review decisions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 05:06:40.480508
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "review_decisions",
        sa.Column("la_code", sa.String(length=9), nullable=False),
        sa.Column("lhb_code", sa.String(length=8), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("education_record_id", sa.String(length=64), nullable=True),
        sa.Column("child_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint(
            "la_code", "lhb_code", "record_id", name=op.f("pk_review_decisions")
        ),
    )
    op.create_table(
        "england_transfers",
        sa.Column("transfer_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("la_code", sa.String(length=9), nullable=False),
        sa.Column("child", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cme_cases.case_id"], name=op.f("fk_england_transfers_case_id_cme_cases")
        ),
        sa.PrimaryKeyConstraint("transfer_id", name=op.f("pk_england_transfers")),
    )
    with op.batch_alter_table("england_transfers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_england_transfers_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_england_transfers_la_code"), ["la_code"], unique=False)

    with op.batch_alter_table("cme_cases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("transferred_from_la_code", sa.String(length=9), nullable=True)
        )
        batch_op.add_column(
            sa.Column("transfer_started_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("transfer_acknowledged_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:

    with op.batch_alter_table("cme_cases", schema=None) as batch_op:
        batch_op.drop_column("transfer_acknowledged_at")
        batch_op.drop_column("transfer_started_at")
        batch_op.drop_column("transferred_from_la_code")

    with op.batch_alter_table("england_transfers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_england_transfers_la_code"))
        batch_op.drop_index(batch_op.f("ix_england_transfers_case_id"))

    op.drop_table("england_transfers")
    op.drop_table("review_decisions")
