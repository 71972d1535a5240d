"""host: shop platforms' webhook secrets become host credentials, shared by plugins

catalog.shopify_webhook_secret -> shopify.webhook_secret
catalog.woocommerce_webhook_secret -> woocommerce.webhook_secret

Revision ID: 0003_host
Revises: 0002_host
Create Date: 2026-11-22 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_host"
down_revision: str | Sequence[str] | None = "0002_host"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RENAMED = {
    "catalog.shopify_webhook_secret": "shopify.webhook_secret",
    "catalog.woocommerce_webhook_secret": "woocommerce.webhook_secret",
}


def _rename(pairs: dict[str, str]) -> None:
    credentials = sa.table("credentials", sa.column("name", sa.String))
    for old, new in pairs.items():
        op.execute(credentials.update().where(credentials.c.name == old).values(name=new))


def upgrade() -> None:
    _rename(RENAMED)


def downgrade() -> None:
    _rename({new: old for old, new in RENAMED.items()})
