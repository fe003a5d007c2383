"""The lead store: leads, events, deals, current scores, score history.

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MICROS = "UTC epoch microseconds"
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _lead_ref(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["lead_id"], ["leads.lead_id"], name=f"fk_{table}_lead_id", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "leads",
        sa.Column("lead_id", sa.String(128), nullable=False),
        sa.Column("account_id", sa.String(128), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False, comment=MICROS),
        sa.Column("created_at_given", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("field_times", sa.JSON(), nullable=False),
        sa.Column("revision", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("needs_score", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False, comment=MICROS),
        sa.PrimaryKeyConstraint("lead_id", name="pk_leads"),
    )
    op.create_index("ix_leads_account_id", "leads", ["account_id"])
    op.create_index(
        "ix_leads_needs_score",
        "leads",
        ["needs_score"],
        sqlite_where=sa.text("needs_score"),
        postgresql_where=sa.text("needs_score"),
    )
    op.create_table(
        "events",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("lead_id", sa.String(128), nullable=False),
        sa.Column("occurred_at", sa.BigInteger(), nullable=False, comment=MICROS),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("campaign", sa.String(128), nullable=True),
        sa.Column("channel", sa.String(128), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        _lead_ref("events"),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("idempotency_key", name="uq_events_idempotency_key"),
    )
    op.create_index("ix_events_lead_id_occurred_at", "events", ["lead_id", "occurred_at"])
    op.create_index("ix_events_event_type", "events", ["event_type"])
    op.create_table(
        "deals",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("lead_id", sa.String(128), nullable=False),
        sa.Column("deal_id", sa.String(128), nullable=True, comment="the CRM's id"),
        sa.Column("opened_at", sa.BigInteger(), nullable=True, comment=MICROS),
        sa.Column("closed_at", sa.BigInteger(), nullable=True, comment=MICROS),
        sa.Column("won", sa.Boolean(), nullable=True),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        _lead_ref("deals"),
        sa.PrimaryKeyConstraint("id", name="pk_deals"),
        sa.UniqueConstraint("deal_id", name="uq_deals_deal_id"),
        sa.UniqueConstraint("idempotency_key", name="uq_deals_idempotency_key"),
    )
    op.create_index("ix_deals_lead_id", "deals", ["lead_id"])
    op.create_table(
        "current_scores",
        sa.Column("lead_id", sa.String(128), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("as_of", sa.BigInteger(), nullable=False, comment=MICROS),
        sa.Column("scored_at", sa.BigInteger(), nullable=False, comment=MICROS),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(1), nullable=False),
        sa.Column("sales_ready", sa.Boolean(), nullable=False),
        sa.Column("fit", sa.Float(), nullable=False),
        sa.Column("engagement", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        _lead_ref("current_scores"),
        sa.PrimaryKeyConstraint("lead_id", name="pk_current_scores"),
    )
    op.create_index("ix_current_scores_model_version", "current_scores", ["model_version"])
    op.create_index("ix_current_scores_scored_at", "current_scores", ["scored_at"])
    op.create_table(
        "score_history",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("lead_id", sa.String(128), nullable=False),
        sa.Column("as_of", sa.BigInteger(), nullable=False, comment=MICROS),
        sa.Column("scored_at", sa.BigInteger(), nullable=False, comment=MICROS),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(1), nullable=False),
        sa.Column("cause", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_score_history"),
    )
    op.create_index("ix_score_history_lead_id_id", "score_history", ["lead_id", "id"])


def downgrade() -> None:
    for table in ("score_history", "current_scores", "deals", "events", "leads"):
        op.drop_table(table)
