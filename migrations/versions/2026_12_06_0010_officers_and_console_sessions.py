"""officers and their console sessions

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 22:30:00

Council officers registered to sign in to the console (`cme officers add`), and their
sessions, kept server-side so that removing an officer ends every open session at once.
A session row holds the SHA-256 of the cookie's token, never the token. A review decision
taken in the console names the officer's `sub`, which may be longer than a client id.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "officers",
        sa.Column("officer_id", sa.String(length=36), nullable=False),
        sa.Column("la_code", sa.String(length=9), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("officer_id", name=op.f("pk_officers")),
        sa.UniqueConstraint("subject", name=op.f("uq_officers_subject")),
    )
    op.create_index(op.f("ix_officers_la_code"), "officers", ["la_code"])
    op.create_table(
        "console_sessions",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("officer_id", sa.String(length=36), nullable=False),
        sa.Column("csrf_secret", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["officer_id"],
            ["officers.officer_id"],
            name=op.f("fk_console_sessions_officer_id_officers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_sha256", name=op.f("pk_console_sessions")),
    )
    op.create_index(op.f("ix_console_sessions_officer_id"), "console_sessions", ["officer_id"])
    op.create_index(op.f("ix_console_sessions_expires_at"), "console_sessions", ["expires_at"])
    with op.batch_alter_table("review_decisions") as batch_op:
        batch_op.alter_column(
            "decided_by", existing_type=sa.String(length=64), type_=sa.String(length=255)
        )


def downgrade() -> None:
    with op.batch_alter_table("review_decisions") as batch_op:
        batch_op.alter_column(
            "decided_by", existing_type=sa.String(length=255), type_=sa.String(length=64)
        )
    op.drop_index(op.f("ix_console_sessions_expires_at"), table_name="console_sessions")
    op.drop_index(op.f("ix_console_sessions_officer_id"), table_name="console_sessions")
    op.drop_table("console_sessions")
    op.drop_index(op.f("ix_officers_la_code"), table_name="officers")
    op.drop_table("officers")
