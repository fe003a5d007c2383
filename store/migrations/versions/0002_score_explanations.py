"""Score explanations: each stored and served score keeps its compact explanation, and the
current score what changed since the previous one.

``explanation`` (score history and current scores) is the compact JSON of
``models.reason_changes.ScoredExplanation``: reason group keys and numbers only, no attribute
value or event. ``changes`` (current scores) is the ``changes`` field the score was served
with. Both are NULL on rows written before this revision (their "what changed" is unknown).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns without defaults: an instant catalogue change on both databases.
    op.add_column("score_history", sa.Column("explanation", sa.Text(), nullable=True))
    op.add_column("current_scores", sa.Column("explanation", sa.Text(), nullable=True))
    op.add_column("current_scores", sa.Column("changes", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("current_scores") as batch:
        batch.drop_column("changes")
        batch.drop_column("explanation")
    with op.batch_alter_table("score_history") as batch:
        batch.drop_column("explanation")
