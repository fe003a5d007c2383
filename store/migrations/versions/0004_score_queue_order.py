"""The background rescorer's queue in order: ``leads.score_due_since`` (when the lead first
changed since its last score) and the partial index of waiting leads on it, replacing the one
on ``needs_score``. Leads waiting when it runs wait since their last update.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

WAITING = sa.text("needs_score")


def upgrade() -> None:
    op.add_column(
        "leads",
        sa.Column(
            "score_due_since", sa.BigInteger(), nullable=True, comment="UTC epoch microseconds"
        ),
    )
    op.execute("UPDATE leads SET score_due_since = updated_at WHERE needs_score")
    op.drop_index("ix_leads_needs_score", table_name="leads")
    op.create_index(
        "ix_leads_score_due", "leads", ["score_due_since"],
        sqlite_where=WAITING, postgresql_where=WAITING,
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_leads_score_due", table_name="leads")
    op.create_index(
        "ix_leads_needs_score", "leads", ["needs_score"],
        sqlite_where=WAITING, postgresql_where=WAITING,
    )  # fmt: skip
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("score_due_since")
