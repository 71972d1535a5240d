"""support calls: the sentences of a model's reply withheld as unsupported by the call's facts

Revision ID: support_calls_0005
Revises: support_calls_0004
Create Date: 2026-12-07 22:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "support_calls_0005"
down_revision: str | Sequence[str] | None = "support_calls_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Earlier turns were not checked: an empty list.
    with op.batch_alter_table("support_calls_turns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("withheld", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("support_calls_turns", schema=None) as batch_op:
        batch_op.drop_column("withheld")
