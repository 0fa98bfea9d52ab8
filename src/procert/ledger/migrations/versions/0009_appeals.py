"""Appeals: a worker contests a run's decision, an admin answers.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "appeals",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("program_id", sa.String(60), nullable=False),
        sa.Column("worker_id", sa.String(120), nullable=False),
        sa.Column("run_id", BigId, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("criterion", sa.String(40), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("filed_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(120), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_appeals_queue", "appeals", ["program_id", "status", "filed_at"])
    op.create_index("ix_appeals_worker", "appeals", ["program_id", "worker_id"])


def downgrade() -> None:
    op.drop_index("ix_appeals_worker", table_name="appeals")
    op.drop_index("ix_appeals_queue", table_name="appeals")
    op.drop_table("appeals")
