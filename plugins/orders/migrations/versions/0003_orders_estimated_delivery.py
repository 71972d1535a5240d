"""orders: the expected delivery date

Revision ID: orders_0003
Revises: orders_0002
Create Date: 2026-11-23 10:31:07.216940
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "orders_0003"
down_revision: str | Sequence[str] | None = "orders_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing orders: no expected delivery date (NULL), as before.
    with op.batch_alter_table("orders_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("estimated_delivery", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders_orders", schema=None) as batch_op:
        batch_op.drop_column("estimated_delivery")
