"""support calls: turns, and the stream, hand-off, recording and caller-key columns of calls

Revision ID: support_calls_0002
Revises: support_calls_0001
Create Date: 2026-11-22 19:39:03.898641
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import merchant_voice.plugin_api

revision: str = "support_calls_0002"
down_revision: str | Sequence[str] | None = "support_calls_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "support_calls_turns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("transcript", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=True),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("reply_locale", sa.String(length=35), nullable=True),
        sa.Column("tool_calls", sa.JSON(), nullable=False),
        sa.Column("interrupted", sa.Boolean(), nullable=False),
        sa.Column("fallback", sa.Boolean(), nullable=False),
        sa.Column("endpoint_ms", sa.Integer(), nullable=True),
        sa.Column("asr_ms", sa.Integer(), nullable=True),
        sa.Column("llm_first_token_ms", sa.Integer(), nullable=True),
        sa.Column("first_audio_ms", sa.Integer(), nullable=True),
        sa.Column(
            "started_at", merchant_voice.plugin_api.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["support_calls_calls.id"],
            name=op.f("fk_support_calls_turns_call_id_support_calls_calls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_support_calls_turns_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_calls_turns")),
        sa.UniqueConstraint("call_id", "index", name=op.f("uq_support_calls_turns_call_id_index")),
    )
    with op.batch_alter_table("support_calls_turns", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_support_calls_turns_call_id"), ["call_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_support_calls_turns_merchant_id"), ["merchant_id"], unique=False
        )

    with op.batch_alter_table("support_calls_calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stream_sid", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("next_action", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("message", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("recording_path", sa.String(length=500), nullable=True))
        batch_op.add_column(
            sa.Column("caller_key", sa.String(length=16), nullable=False, server_default="")
        )
        batch_op.create_index(
            batch_op.f("ix_support_calls_calls_caller_key"), ["caller_key"], unique=False
        )
    calls = sa.table(
        "support_calls_calls", sa.column("id"), sa.column("caller"), sa.column("caller_key")
    )
    connection = op.get_bind()
    for call_id, caller in connection.execute(sa.select(calls.c.id, calls.c.caller)).all():
        digits = re.sub(r"\D", "", caller or "")
        key = digits[-9:] if len(digits) >= 6 else ""  # as the plugin API's phone_key
        connection.execute(calls.update().where(calls.c.id == call_id).values(caller_key=key))


def downgrade() -> None:
    with op.batch_alter_table("support_calls_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_calls_calls_caller_key"))
        batch_op.drop_column("caller_key")
        batch_op.drop_column("recording_path")
        batch_op.drop_column("message")
        batch_op.drop_column("next_action")
        batch_op.drop_column("stream_sid")

    with op.batch_alter_table("support_calls_turns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_calls_turns_merchant_id"))
        batch_op.drop_index(batch_op.f("ix_support_calls_turns_call_id"))

    op.drop_table("support_calls_turns")
