"""Corrections: recorded decisions that a recomputation on corrected facts changed or would lower.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "corrections",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("program_id", sa.String(60), nullable=False),
        sa.Column("worker_id", sa.String(120), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("run_id", BigId, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("original_run_id", BigId, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("level_before", sa.String(60), nullable=True),
        sa.Column("level_after", sa.String(60), nullable=True),
        sa.Column("values_before", sa.JSON(), nullable=False),
        sa.Column("values_after", sa.JSON(), nullable=False),
        sa.Column("failed_after", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.String(120), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_index("ix_corrections_worker", "corrections", ["program_id", "worker_id", "as_of"])
    op.create_index("ix_corrections_queue", "corrections", ["program_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_corrections_queue", table_name="corrections")
    op.drop_index("ix_corrections_worker", table_name="corrections")
    op.drop_table("corrections")
