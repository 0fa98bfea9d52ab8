"""The full evaluation on Apache Spark: facts as Parquet (the data contract's tables with the derived columns),
the very same SQL as the embedded engine in Spark's dialect. ``local[*]`` on one machine, a cluster's master URL
in production (see docs/scaling.md)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from procert.evaluation.engine import AwayByWorker, evaluation_sql, require_facts, with_leave
from procert.facts.contract import TABLE_ORDER
from procert.facts.store import MONTHLY_EARNINGS_SQL, FactStore, FactStoreError
from procert.metrics import Period
from procert.programs import Program


@contextmanager
def spark_session(master: str = "local[*]", *, driver_memory: str = "2g") -> Iterator[Any]:
    """A Spark session that reads timestamps as UTC instants, as the facts store keeps them."""
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master(master)
        .appName("procert")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", driver_memory)
        .config("spark.sql.shuffle.partitions", "16" if master.startswith("local") else "400")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        yield spark
    finally:
        spark.stop()


def export_parquet(store: FactStore, directory: Path) -> Path:
    """The stored facts as one Parquet file per table (what a data lake would hold), with the time zone the
    month keys were derived in."""
    directory.mkdir(parents=True, exist_ok=True)
    for table in TABLE_ORDER:
        store.query(
            f"COPY (SELECT * FROM {table} ORDER BY worker_id) TO '{directory / table}.parquet' (FORMAT parquet)"
        )
    (directory / "TIMEZONE").write_text(store.timezone or "", encoding="utf-8")
    (directory / "PROVIDED").write_text("\n".join(sorted(store.provided())), encoding="utf-8")
    return directory


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


def register_facts(spark: Any, directory: Path) -> None:
    """Temporary views over the Parquet facts, and the monthly totals derived from them as the store does."""
    for table in TABLE_ORDER:
        path = directory / f"{table}.parquet"
        if not path.exists():
            raise FactStoreError(f"no {path}: export the facts first")
        spark.read.parquet(str(path)).createOrReplaceTempView(table)
    spark.sql(MONTHLY_EARNINGS_SQL).createOrReplaceTempView("monthly_earnings")


def provided_facts(directory: Path) -> set[str]:
    """The optional facts the exported store held (see :meth:`procert.facts.FactStore.provided`)."""
    path = directory / "PROVIDED"
    return set(path.read_text(encoding="utf-8").split()) if path.exists() else set()


def evaluate_spark(
    spark: Any,
    directory: Path,
    program: Program,
    as_of: date,
    *,
    store_path: Path | None = None,
    observed_until: date | None = None,
    away: AwayByWorker | None = None,
) -> list[dict[str, Any]]:
    """Every worker's evaluation row, ordered by worker, from the Parquet facts in ``directory`` (exported from
    the store at ``store_path`` first when given); ``away``: declared leave by worker (their windows lengthened,
    as the embedded engine does)."""
    if store_path is not None:
        with FactStore(store_path, read_only=True) as store:
            store.require_timezone(program.timezone)
            export_parquet(store, directory)
    zone = (directory / "TIMEZONE").read_text(encoding="utf-8").strip() if (directory / "TIMEZONE").exists() else ""
    if zone and zone != program.timezone:
        raise FactStoreError(f"the facts were imported with time zone {zone}, but the program uses {program.timezone}")
    require_facts(program, provided_facts(directory))
    register_facts(spark, directory)
    period = Period(as_of, program.timezone, observed_until=observed_until)
    frame = spark.sql(
        f"SELECT * FROM ({evaluation_sql(program, period, dialect='spark')}) evaluated ORDER BY worker_id"
    )
    rows = [{k: _plain(v) for k, v in row.asDict().items()} for row in frame.toLocalIterator()]

    def one_worker(worker_id: str, own: Period) -> dict[str, Any] | None:
        found = spark.sql(
            evaluation_sql(program, own, worker_id_param=True, dialect="spark"), args={"worker_id": worker_id}
        ).collect()
        return {k: _plain(v) for k, v in found[0].asDict().items()} if found else None

    return with_leave(rows, program, period, away, one_worker)
