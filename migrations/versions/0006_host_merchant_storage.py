"""each merchant's own storage quota (none: [host] merchant_storage_mb)

Revision ID: 0006_host
Revises: 0005_host
Create Date: 2026-12-01 07:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_host"
down_revision: str | Sequence[str] | None = "0005_host"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("storage_mb", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_column("storage_mb")
