"""orders: webhook deliveries, and the platform's last-modified time of each order

Revision ID: orders_0002
Revises: orders_0001
Create Date: 2026-11-22 20:04:48.002884
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import merchant_voice.plugin_api

revision: str = "orders_0002"
down_revision: str | Sequence[str] | None = "orders_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "orders_webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("delivery_id", sa.String(length=100), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column(
            "received_at", merchant_voice.plugin_api.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_orders_webhook_deliveries_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders_webhook_deliveries")),
        sa.UniqueConstraint(
            "merchant_id",
            "source",
            "delivery_id",
            name=op.f("uq_orders_webhook_deliveries_merchant_id_source_delivery_id"),
        ),
    )
    with op.batch_alter_table("orders_webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_orders_webhook_deliveries_merchant_id"), ["merchant_id"], unique=False
        )
    with op.batch_alter_table("orders_orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source_updated_at", merchant_voice.plugin_api.UTCDateTime(timezone=True))
        )


def downgrade() -> None:
    with op.batch_alter_table("orders_orders", schema=None) as batch_op:
        batch_op.drop_column("source_updated_at")
    with op.batch_alter_table("orders_webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_webhook_deliveries_merchant_id"))

    op.drop_table("orders_webhook_deliveries")
