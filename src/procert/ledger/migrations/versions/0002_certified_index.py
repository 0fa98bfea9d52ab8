"""Index the certified rows of each run, for the directory of current pros.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("run_results", schema=None) as batch_op:
        batch_op.create_index("ix_run_results_certified", ["run_id", "certified"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("run_results", schema=None) as batch_op:
        batch_op.drop_index("ix_run_results_certified")
