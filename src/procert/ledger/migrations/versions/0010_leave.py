"""Declared leave, and the leave each run result took into account.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "leaves",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("program_id", sa.String(60), nullable=False),
        sa.Column("worker_id", sa.String(120), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("declared_by", sa.String(120), nullable=False),
        sa.Column("declared_at", sa.DateTime(), nullable=False),
        sa.Column("cancelled_by", sa.String(120), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_leaves_worker", "leaves", ["program_id", "worker_id", "starts_on"])
    with op.batch_alter_table("run_results") as batch:
        batch.add_column(sa.Column("leave", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("run_results") as batch:
        batch.drop_column("leave")
    op.drop_index("ix_leaves_worker", table_name="leaves")
    op.drop_table("leaves")
