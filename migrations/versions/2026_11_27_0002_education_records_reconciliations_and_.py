"""education records reconciliations and cases

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 04:58:59.924403
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "cme_cases",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("la_code", sa.String(length=9), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=48), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("do_not_contact", sa.Boolean(), nullable=False),
        sa.Column("child", sa.JSON(), nullable=False),
        sa.Column("child_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("source_lhb_code", sa.String(length=8), nullable=False),
        sa.Column("source_submission_id", sa.String(length=36), nullable=False),
        sa.Column("source_record_id", sa.String(length=64), nullable=False),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("identified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=48), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("last_reconciliation_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_cme_cases")),
        sa.UniqueConstraint(
            "la_code", "source_lhb_code", "source_record_id", name=op.f("uq_cme_cases_la_code")
        ),
    )
    with op.batch_alter_table("cme_cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cme_cases_la_status_updated", ["la_code", "status", "updated_at"], unique=False
        )

    op.create_table(
        "education_records",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("la_code", sa.String(length=9), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("middle_names", sa.String(length=200), nullable=True),
        sa.Column("family_name", sa.String(length=100), nullable=False),
        sa.Column("former_names", sa.JSON(), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=True),
        sa.Column("address_lines", sa.JSON(), nullable=True),
        sa.Column("postcode", sa.String(length=8), nullable=True),
        sa.Column("upn", sa.String(length=13), nullable=True),
        sa.Column("nhs_number", sa.String(length=10), nullable=True),
        sa.Column("provision", sa.String(length=32), nullable=False),
        sa.Column("provider_name", sa.String(length=200), nullable=True),
        sa.Column("provider_code", sa.String(length=32), nullable=True),
        sa.Column("ehe_suitability", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_education_records")),
        sa.UniqueConstraint("la_code", "record_id", name=op.f("uq_education_records_la_code")),
    )
    with op.batch_alter_table("education_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_education_records_la_code"), ["la_code"], unique=False)

    op.create_table(
        "education_sets",
        sa.Column("la_code", sa.String(length=9), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("record_count", sa.Integer(), nullable=False),
        sa.Column("records_by_provision", sa.JSON(), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("la_code", name=op.f("pk_education_sets")),
    )
    op.create_table(
        "reconciliations",
        sa.Column("reconciliation_id", sa.String(length=36), nullable=False),
        sa.Column("la_code", sa.String(length=9), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("reconciliation_id", name=op.f("pk_reconciliations")),
    )
    with op.batch_alter_table("reconciliations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reconciliations_la_code"), ["la_code"], unique=False)
        batch_op.create_index(
            "ix_reconciliations_status_created", ["status", "created_at"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("reconciliations", schema=None) as batch_op:
        batch_op.drop_index("ix_reconciliations_status_created")
        batch_op.drop_index(batch_op.f("ix_reconciliations_la_code"))

    op.drop_table("reconciliations")
    op.drop_table("education_sets")
    with op.batch_alter_table("education_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_education_records_la_code"))

    op.drop_table("education_records")
    with op.batch_alter_table("cme_cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cme_cases_la_status_updated")

    op.drop_table("cme_cases")
