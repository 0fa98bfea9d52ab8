"""Facts: the marketplace data contract, validated import and the embedded facts store."""

from procert.facts.atomic import atomic_import
from procert.facts.contract import RATING_ITEMS, TABLE_ORDER, TABLES, Column, Table
from procert.facts.importer import import_export
from procert.facts.problems import ImportFailed, ImportReport, Problem
from procert.facts.reads import (
    HIRING_RECORD_COLUMNS,
    WORKER_COLUMNS,
    HiringRecord,
    WorkerFacts,
    hiring_record_of,
    hiring_records_sql,
    worker_facts_of,
)
from procert.facts.store import FactStore, FactStoreError

__all__ = [
    "HIRING_RECORD_COLUMNS",
    "RATING_ITEMS",
    "TABLES",
    "TABLE_ORDER",
    "WORKER_COLUMNS",
    "Column",
    "FactStore",
    "FactStoreError",
    "HiringRecord",
    "ImportFailed",
    "ImportReport",
    "Problem",
    "Table",
    "WorkerFacts",
    "atomic_import",
    "hiring_record_of",
    "hiring_records_sql",
    "import_export",
    "worker_facts_of",
]
