"""Shared fixtures: a tiny export builder, a fresh facts store, the reference program."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from procert.evaluation import evaluate
from procert.facts import TABLE_ORDER, TABLES, FactStore, import_export
from procert.programs import Program, load_program


@dataclass
class Export:
    """Rows per table with sensible defaults, written as an export folder in CSV or Parquet."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {t: [] for t in TABLE_ORDER})
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def _next(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}"

    def worker(self, worker_id: str, **values: Any) -> str:
        row = {
            "worker_id": worker_id,
            "display_name": f"name {worker_id}",
            "division": "writer",
            "registered_at": "2020-01-01T00:00:00+09:00",
            "profile_text": "Profile text",
            "self_pr_text": "Self PR",
            "status": "active",
        }
        row.update(values)
        self.rows["workers"].append(row)
        return worker_id

    def contract(
        self, worker_id: str, closed_at: str | None, status: str = "delivered", kind: str = "fixed", **values: Any
    ) -> str:
        cid = values.pop("contract_id", None) or self._next("C")
        row = {
            "contract_id": cid,
            "worker_id": worker_id,
            "client_id": "K1",
            "kind": kind,
            "status": status,
            "amount_jpy": 10000,
            "started_at": "2019-01-01T00:00:00+09:00",
            "closed_at": closed_at,
        }
        row.update(values)
        self.rows["contracts"].append(row)
        return cid

    def review(
        self,
        worker_id: str,
        items: tuple[int, int, int, int, int] | int = 5,
        created_at: str = "2022-01-01T00:00:00+09:00",
        contract_id: str | None = None,
        **values: Any,
    ) -> str:
        if contract_id is None:
            contract_id = self.contract(worker_id, "2021-12-31T00:00:00+09:00")
        if isinstance(items, int):
            items = (items,) * 5
        rid = values.pop("review_id", None) or self._next("R")
        row = {
            "review_id": rid,
            "contract_id": contract_id,
            "worker_id": worker_id,
            "client_id": "K1",
            "created_at": created_at,
            **dict(zip(("skill", "quality", "schedule", "communication", "partnership"), items, strict=True)),
        }
        row.update(values)
        self.rows["reviews"].append(row)
        return rid

    def payment(self, worker_id: str, paid_at: str, amount: int, contract_id: str | None = None, **values: Any) -> str:
        pid = values.pop("payment_id", None) or self._next("P")
        row = {
            "payment_id": pid,
            "worker_id": worker_id,
            "contract_id": contract_id,
            "paid_at": paid_at,
            "amount_jpy": amount,
        }
        row.update(values)
        self.rows["payments"].append(row)
        return pid

    def scout(self, worker_id: str, sent_at: str, kind: str = "direct", **values: Any) -> str:
        sid = values.pop("scout_id", None) or self._next("S")
        row = {"scout_id": sid, "worker_id": worker_id, "client_id": "K1", "sent_at": sent_at, "kind": kind}
        row.update(values)
        self.rows["scouts"].append(row)
        return sid

    def inquiry(self, worker_id: str, received_at: str, replied_at: str | None, **values: Any) -> str:
        qid = values.pop("inquiry_id", None) or self._next("Q")
        row = {
            "inquiry_id": qid,
            "worker_id": worker_id,
            "client_id": "K1",
            "received_at": received_at,
            "replied_at": replied_at,
        }
        row.update(values)
        self.rows["inquiries"].append(row)
        return qid

    def write(self, directory: Path, fmt: str = "csv", tables: tuple[str, ...] | None = None) -> Path:
        """Write each table (by default every required one, and an optional one when it has rows)."""
        directory.mkdir(parents=True, exist_ok=True)
        if tables is None:
            tables = tuple(t for t in TABLE_ORDER if self.rows[t] or not TABLES[t].optional)
        for table in tables:
            rows = self.rows[table]
            columns = list(TABLES[table].column_names)
            for r in rows:  # keep extra columns a test adds
                columns += [k for k in r if k not in columns]
            columns = [c for c in columns if any(c in r for r in rows)] or [
                c.name for c in TABLES[table].columns if c.required
            ]
            if fmt == "csv":
                with (directory / f"{table}.csv").open("w", newline="", encoding="utf-8") as fh:
                    writer = csv.writer(fh)
                    writer.writerow(columns)
                    for r in rows:
                        writer.writerow(["" if r.get(c) is None else r.get(c) for c in columns])
            else:
                data = {
                    c: _parquet_column(table, c, [r.get(c) for r in rows], typed=fmt == "typed-parquet")
                    for c in columns
                }
                pq.write_table(pa.table(data), directory / f"{table}.parquet")
        return directory


def _parquet_column(table: str, column: str, values: list[Any], *, typed: bool) -> pa.Array:
    """A Parquet column: text, or (``typed``) in the contract column's own type as a warehouse writes it: integers
    as int64, booleans, timestamps as UTC instants (or as naive wall-clock times when every value is naive)."""
    kind = TABLES[table].column(column).kind if column in TABLES[table].column_names else "text"
    if not typed or kind not in ("integer", "rating", "boolean", "timestamp"):
        return pa.array([None if v is None else str(v) for v in values], pa.string())
    if kind in ("integer", "rating"):
        return pa.array([None if v is None else int(v) for v in values], pa.int64())
    if kind == "boolean":
        return pa.array([None if v is None else str(v).lower() == "true" for v in values], pa.bool_())
    stamps = [None if v is None else datetime.fromisoformat(str(v)) for v in values]
    naive = all(s is None or s.tzinfo is None for s in stamps)
    if naive:
        return pa.array(stamps, pa.timestamp("us"))
    return pa.array([None if s is None else s.astimezone(UTC) for s in stamps], pa.timestamp("us", tz="UTC"))


@pytest.fixture
def export() -> Export:
    return Export()


def stored_then_refused() -> tuple[Export, Export]:
    """An export that imports, and a whole export of the same keys that only a check inside the import's
    transaction refuses (its contract names an unknown worker)."""
    good = Export()
    good.worker("A")
    good.contract("A", "2025-03-10T12:00:00+09:00", contract_id="C1")
    bad = Export()
    bad.worker("A")
    bad.contract("NOBODY", "2025-03-10T12:00:00+09:00", contract_id="C1")
    return good, bad


@pytest.fixture
def program() -> Program:
    return load_program("crowdworks-pro")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FactStore]:
    with FactStore(tmp_path / "facts.duckdb") as s:
        yield s


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path: Path):
    """An upgraded, empty ledger database: a SQLite file, or a fresh schema on the machine's PostgreSQL."""
    from tests.ledger_support import ledger_url, ready_engine

    for url in ledger_url(request.param, tmp_path):
        eng = ready_engine(url)
        yield eng
        eng.dispose()


@pytest.fixture
def evaluate_export(tmp_path: Path, store: FactStore, program: Program):
    """Import an Export and evaluate it; returns {worker_id: row}."""

    def run(exp: Export, as_of: date, prog: Program | None = None) -> dict[str, dict[str, Any]]:
        prog = prog or program
        import_export(store, exp.write(tmp_path / "export"), timezone=prog.timezone)
        evaluation = evaluate(store, prog, as_of)
        return {r["worker_id"]: r for r in evaluation.rows()}

    return run
