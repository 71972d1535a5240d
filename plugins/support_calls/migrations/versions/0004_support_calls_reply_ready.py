"""support calls: when a turn's reply was ready, before its end was certain or after

Revision ID: support_calls_0004
Revises: support_calls_0003
Create Date: 2026-12-07 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "support_calls_0004"
down_revision: str | Sequence[str] | None = "support_calls_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Earlier turns did not measure it: NULL.
    with op.batch_alter_table("support_calls_turns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_ready_ms", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("support_calls_turns", schema=None) as batch_op:
        batch_op.drop_column("reply_ready_ms")
