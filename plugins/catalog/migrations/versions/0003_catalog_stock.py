"""catalog stock: in_stock and stock_quantity on listings

Revision ID: catalog_0003
Revises: catalog_0002
Create Date: 2026-11-22 19:34:07.142271
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "catalog_0003"
down_revision: str | Sequence[str] | None = "catalog_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("catalog_listings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("in_stock", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("stock_quantity", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("catalog_listings", schema=None) as batch_op:
        batch_op.drop_column("stock_quantity")
        batch_op.drop_column("in_stock")
