"""host: job_schedules, when each periodic job kind is next due per merchant

Revision ID: 0004_host
Revises: 0003_host
Create Date: 2026-11-22 20:06:23.016314
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import merchant_voice.orm

revision: str = "0004_host"
down_revision: str | Sequence[str] | None = "0003_host"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("next_run_at", merchant_voice.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_job_schedules_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_schedules")),
        sa.UniqueConstraint("kind", "merchant_id", name=op.f("uq_job_schedules_kind_merchant_id")),
    )
    with op.batch_alter_table("job_schedules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_job_schedules_merchant_id"), ["merchant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("job_schedules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_schedules_merchant_id"))

    op.drop_table("job_schedules")
