"""narration checked_at: when a run last read the listing for each narration (existing
rows: never, so the first hourly refresh looks at each once)

Revision ID: narration_0004
Revises: narration_0003
Create Date: 2026-12-01 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import merchant_voice.plugin_api

revision: str = "narration_0004"
down_revision: str | Sequence[str] | None = "narration_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("narration_narrations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "checked_at", merchant_voice.plugin_api.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("narration_narrations", schema=None) as batch_op:
        batch_op.drop_column("checked_at")
