"""Levels: the level a run gives a worker, the levels a transition moves between, the level an override locks.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("run_results") as batch:
        batch.add_column(sa.Column("level", sa.String(40), nullable=True))
    with op.batch_alter_table("transitions") as batch:
        batch.add_column(sa.Column("from_level", sa.String(40), nullable=True))
        batch.add_column(sa.Column("to_level", sa.String(40), nullable=True))
    with op.batch_alter_table("overrides") as batch:
        batch.add_column(sa.Column("level", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("overrides") as batch:
        batch.drop_column("level")
    with op.batch_alter_table("transitions") as batch:
        batch.drop_column("to_level")
        batch.drop_column("from_level")
    with op.batch_alter_table("run_results") as batch:
        batch.drop_column("level")
