"""clients can be disabled; submission ids are unique per board

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 22:00:00

`clients.disabled_at` and `clients.token_generation` let the service refuse a disabled
client's access tokens at every request. A submission is identified by (submission_id,
lhb_code): the id is the sender's own, so one board's id must not collide with, or reveal,
another board's. Health records refer to their board's submission by both columns.

On SQLite the tables are rebuilt (batch mode): the health records' foreign key is dropped
first, so that rebuilding `submissions` never deletes a parent row that still has children,
and put back once the new primary key exists. Downgrading fails if two boards have used the
same submission_id, which the old schema cannot hold.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = "fk_health_records_submission_id_submissions"
PK = "pk_submissions"


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch_op:
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("token_generation", sa.Integer(), server_default="0", nullable=False)
        )
    _rekey_submissions(["submission_id", "lhb_code"])


def downgrade() -> None:
    _rekey_submissions(["submission_id"])
    with op.batch_alter_table("clients") as batch_op:
        batch_op.drop_column("token_generation")
        batch_op.drop_column("disabled_at")


def _rekey_submissions(columns: list[str]) -> None:
    with op.batch_alter_table("health_records") as batch_op:
        batch_op.drop_constraint(FK, type_="foreignkey")
    with op.batch_alter_table("submissions") as batch_op:
        batch_op.drop_constraint(PK, type_="primary")
        batch_op.create_primary_key(PK, columns)
    with op.batch_alter_table("health_records") as batch_op:
        batch_op.create_foreign_key(FK, "submissions", columns, columns)
