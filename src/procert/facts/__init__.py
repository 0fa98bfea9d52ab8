"""Facts: the marketplace data contract, validated import and the embedded facts store.

The import (:func:`import_export`, :func:`atomic_import`) loads on first use: reading the facts, as every
evaluation and page does, never needs its checks (a command's start-up time, see bench/bench_startup.py)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from procert.facts.contract import RATING_ITEMS, TABLE_ORDER, TABLES, Column, Table
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

if TYPE_CHECKING:
    from procert.facts.atomic import atomic_import
    from procert.facts.importer import import_export

#: The import's functions by the module that defines them, loaded when first named.
_LAZY = {"atomic_import": "procert.facts.atomic", "import_export": "procert.facts.importer"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
