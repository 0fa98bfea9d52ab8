"""Facts: the marketplace data contract, validated import and the embedded facts store."""

from procert.facts.atomic import atomic_import
from procert.facts.contract import RATING_ITEMS, TABLE_ORDER, TABLES, Column, Table
from procert.facts.importer import import_export
from procert.facts.problems import ImportFailed, ImportReport, Problem
from procert.facts.reads import WorkerFacts
from procert.facts.store import FactStore, FactStoreError

__all__ = [
    "RATING_ITEMS",
    "TABLES",
    "TABLE_ORDER",
    "Column",
    "FactStore",
    "FactStoreError",
    "ImportFailed",
    "ImportReport",
    "Problem",
    "Table",
    "WorkerFacts",
    "atomic_import",
    "import_export",
]
