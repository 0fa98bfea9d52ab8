"""The migrations build exactly the schema the models describe (ledger and benefits), on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import procert.benefits.models  # noqa: F401  (registers the benefits' tables)
from procert.ledger.models import Base


def test_migrated_schema_matches_the_models(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = [
            d
            for d in compare_metadata(context, Base.metadata)
            if not (isinstance(d, tuple) and "alembic_version" in str(d))
        ]
    assert differences == []
