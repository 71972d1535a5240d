"""support calls: why a turn got no answer

Revision ID: support_calls_0003
Revises: support_calls_0002
Create Date: 2026-11-30 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "support_calls_0003"
down_revision: str | Sequence[str] | None = "support_calls_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing turns were all answered (unanswered ones were not kept): NULL.
    with op.batch_alter_table("support_calls_turns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unanswered", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("support_calls_turns", schema=None) as batch_op:
        batch_op.drop_column("unanswered")
