"""catalog variant stock: in_stock, stock_quantity and the platform's id on variants

Revision ID: catalog_0004
Revises: catalog_0003
Create Date: 2026-11-23 10:12:41.503118
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "catalog_0004"
down_revision: str | Sequence[str] | None = "catalog_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing variants: stock unknown (NULL), as before.
    with op.batch_alter_table("catalog_variants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("in_stock", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("stock_quantity", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("catalog_variants", schema=None) as batch_op:
        batch_op.drop_column("stock_quantity")
        batch_op.drop_column("in_stock")
        batch_op.drop_column("external_id")
