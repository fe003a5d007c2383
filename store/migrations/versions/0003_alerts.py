"""Alerts: webhook subscriptions, alert events, the delivery outbox, per-lead alert state,
champion changes being rescored.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

MICROS = "UTC epoch microseconds"
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("min_tier", sa.String(1), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("disabled_reason", sa.String(200), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False, comment=MICROS),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_subscriptions"),
    )
    op.create_table(
        "alert_events",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("lead_id", sa.String(128), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False, comment=MICROS),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_events"),
        sa.UniqueConstraint("event_id", name="uq_alert_events_event_id"),
    )
    op.create_index("ix_alert_events_event_type_id", "alert_events", ["event_type", "id"])
    op.create_index("ix_alert_events_lead_id", "alert_events", ["lead_id"])
    op.create_table(
        "alert_outbox",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("event_row", ROW_ID, nullable=False),
        sa.Column("subscription_id", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False, comment=MICROS),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False, comment=MICROS),
        sa.Column("claimed_by", sa.String(40), nullable=True),
        sa.Column("claimed_until", sa.BigInteger(), nullable=True, comment=MICROS),
        sa.Column("last_status", sa.Integer(), nullable=True, comment="the receiver's last HTTP status"),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.Column("delivered_at", sa.BigInteger(), nullable=True, comment=MICROS),
        sa.ForeignKeyConstraint(
            ["event_row"], ["alert_events.id"], name="fk_alert_outbox_event_row",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"], ["webhook_subscriptions.id"],
            name="fk_alert_outbox_subscription_id", ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_alert_outbox"),
    )  # fmt: skip
    op.create_index(
        "ix_alert_outbox_status_next_attempt_at", "alert_outbox", ["status", "next_attempt_at"]
    )
    op.create_index("ix_alert_outbox_subscription_id_id", "alert_outbox", ["subscription_id", "id"])
    op.create_index("ix_alert_outbox_event_row", "alert_outbox", ["event_row"])
    op.create_table(
        "lead_alert_states",
        sa.Column("lead_id", sa.String(128), nullable=False),
        sa.Column("armed", sa.Boolean(), nullable=False),
        sa.Column("ready_floor", sa.Integer(), nullable=True),
        sa.Column("last_ready_at", sa.BigInteger(), nullable=True, comment=MICROS),
        sa.Column("episode", sa.BigInteger(), nullable=True, comment=MICROS),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.lead_id"], name="fk_lead_alert_states_lead_id",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("lead_id", name="pk_lead_alert_states"),
    )  # fmt: skip
    op.create_table(
        "model_changes",
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("previous_version", sa.String(64), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False, comment=MICROS),
        sa.Column("rescored", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("tallies", sa.JSON(), nullable=False),
        sa.Column("announced", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("model_version", name="pk_model_changes"),
    )


def downgrade() -> None:
    for table in (
        "model_changes", "lead_alert_states", "alert_outbox", "alert_events",
        "webhook_subscriptions",
    ):  # fmt: skip
        op.drop_table(table)
