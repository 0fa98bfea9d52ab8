"""Validated import of a marketplace export (a folder of CSV or Parquet files) into the facts store: reading the
files (:mod:`.files`), checking every row (:mod:`.checks`), reporting problems (:mod:`.problems`).

Every file is staged and checked completely before anything is written; the write itself is one
transaction. A failed import therefore leaves the stored facts exactly as they were.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
from duckdb.func import FunctionNullHandling

from procert.facts.checks import (
    PAID_MONTH_SQL,
    build_typed,
    column_checks,
    contract_checks,
    find_stored,
    inquiry_checks,
    match_sent_again,
    owner_checks,
    reference_checks,
    review_checks,
    stored_select,
)
from procert.facts.contract import REQUIRED_TABLES, TABLE_ORDER, TABLES, email_problem, optional_facts
from procert.facts.files import (
    drop_stage,
    find_files,
    stage,
    staged_bytes,
    unreadable,
)
from procert.facts.problems import (
    Collector,
    ImportFailed,
    ImportReport,
    problem,
    sql_quote,
)
from procert.facts.store import WORKER_INDEXED, FactStore, one
from procert.i18n import Message, Progress


def import_export(
    store: FactStore,
    directory: Path | str,
    *,
    timezone: str,
    replace: bool = False,
    progress: Progress | None = None,
    encoding: str = "utf-8",
) -> ImportReport:
    """Validate every table file in ``directory`` and store it (upsert by id, or ``replace`` whole tables).
    CSV files are read in ``encoding`` (UTF-8 unless told, e.g. ``cp932`` for Japanese Excel's CSV).

    An upsert keeps the stored value of an optional column the file leaves out, and refuses to move a row to
    another worker. Raises :class:`ImportFailed` without storing anything when any file has a problem.
    """
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ImportFailed([problem("import", None, "encoding", "import_unknown_encoding", name=encoding)], 1) from None
    step = progress or (lambda _msg: None)
    directory = Path(directory)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ImportFailed([problem("program", None, "timezone", "import_unknown_timezone", name=timezone)], 1) from exc
    stored_tz = store.timezone
    if stored_tz is not None and stored_tz != timezone and not store.is_empty():
        raise ImportFailed(
            [problem("program", None, "timezone", "import_other_timezone", stored=stored_tz, given=timezone)],
            1,
        )

    con = store.con
    con.execute(f"SET TimeZone = {sql_quote(timezone)}")
    _register_functions(con)
    problems = Collector()
    files = find_files(directory, problems)
    if replace and files and not set(REQUIRED_TABLES) <= set(files):
        missing = ", ".join(t for t in REQUIRED_TABLES if t not in files)
        problems.add(problem(str(directory), None, None, "import_replace_needs_every_table", missing=missing))

    with _typed_rows_home(store, files) as database:
        batch = _Batch(store=store, files=files, replace=replace, problems=problems, step=step)
        _stage_files(batch, encoding=encoding, database=database)
        report = ImportReport(source=str(directory), timezone=timezone, replaced_tables=replace)
        # The worker indexes a bulk write replaces are dropped before its transaction and built after it: DuckDB
        # commits a transaction that dropped an index as if it rewrote the table (20M contracts: 4.9 s against 0.2 s).
        # Whatever the outcome, they are built again below.
        if problems.total == 0:
            for table_name in sorted(batch.staged & set(WORKER_INDEXED)):
                counted = con.execute(f"SELECT count(*) FROM typed_{table_name}")
                incoming = None if replace else one(counted.fetchone())[0]
                store.drop_worker_index_for(table_name, incoming=incoming)
        try:
            # The checks read the stored rows in the transaction that writes: the rows they find are the rows it
            # replaces (no checkpoint can move them in between), and a refusal rolls back to the stored facts.
            with store.transaction():
                first = store.is_empty()
                _check_staged(batch, first=first)
                _write_staged(batch, report, first=first, directory=directory)
        finally:
            _drop_stages(con)
            # The indexes dropped for the bulk write (see build_worker_indexes), after the commit or the refusal. After
            # a failure (a full disk, say) its own error is the one to report; the next opening of the store mends them.
            failing = sys.exc_info()[1] is not None
            with contextlib.suppress(*((duckdb.Error,) if failing else ())):
                if store.missing_worker_indexes():
                    step(Message("step_indexing_by_worker"))
                    store.build_worker_indexes()
    return report


@dataclass
class _Batch:
    """One import's files on their way in: what was staged of them, with which columns, and what is wrong."""

    store: FactStore
    files: dict[str, Path]
    replace: bool
    problems: Collector
    step: Progress
    staged: set[str] = field(default_factory=set)
    present_columns: dict[str, set[str]] = field(default_factory=dict)

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        return self.store.con


def _stage_files(batch: _Batch, *, encoding: str, database: str | None) -> None:
    """Read every file and build its typed rows (``typed_<table>``), noting problems as they are found."""
    con, problems = batch.con, batch.problems
    for table_name in TABLE_ORDER:
        if table_name not in batch.files:
            continue
        path = batch.files[table_name]
        batch.step(Message("step_reading_file", {"file": path.name}))
        row_number = stage(con, table_name, path, problems, encoding)
        if row_number is None:
            continue
        header = {str(row[0]): str(row[1]) for row in con.execute(f"DESCRIBE stage_{table_name}").fetchall()}
        table = TABLES[table_name]
        absent = [c.name for c in table.columns if c.required and c.name not in header]
        for name in absent:
            problems.add(problem(path.name, None, name, "import_missing_column"))
        if absent:
            drop_stage(con, table_name)
            continue
        present = set(header) & set(table.column_names)
        batch.present_columns[table_name] = present
        batch.step(Message("step_parsing_file", {"file": path.name}))
        try:
            build_typed(con, table, {c: header[c] for c in present}, row_number=row_number, database=database)
        except duckdb.Error as exc:  # a Parquet file's pages are first read here
            problems.add(unreadable(path, exc))
            continue
        finally:
            drop_stage(con, table_name)
        batch.staged.add(table_name)


def _check_staged(batch: _Batch, *, first: bool) -> None:
    """Check the typed rows against themselves and the stored facts; raises :class:`ImportFailed` with every
    problem found (of staging too)."""
    con, staged, present_columns, replace = batch.con, batch.staged, batch.present_columns, batch.replace
    if not replace:
        batch.step(Message("step_finding_stored_rows"))
        referenced = {c.references for t in staged for c in TABLES[t].columns if c.references}
        for table_name in TABLE_ORDER:
            if table_name in staged or table_name in referenced:
                find_stored(TABLES[table_name], staged, present_columns, con, nothing_stored=first)
    for table_name in TABLE_ORDER:
        if table_name not in staged:
            continue
        file, table, present = batch.files[table_name].name, TABLES[table_name], present_columns[table_name]
        batch.step(Message("step_checking_file", {"file": file}))
        column_checks(table, file, con, batch.problems)
        reference_checks(table, present, file, staged, replace, con, batch.problems)
        if table_name == "contracts":
            contract_checks(present, file, con, batch.problems)
        elif table_name == "reviews":
            review_checks(present, file, staged, replace, con, batch.problems, nothing_stored=first)
        elif table_name == "inquiries":
            inquiry_checks(present, file, con, batch.problems)
        if not replace and table_name != "workers" and "worker_id" in present:
            owner_checks(table, file, con, batch.problems)
    failure = batch.problems.result()
    if failure is not None:
        raise failure


def _write_staged(batch: _Batch, report: ImportReport, *, first: bool, directory: Path) -> None:
    """Write the checked rows (replacing the rows they send again, or whole tables), the monthly earnings they
    change and the import's record, counting what was written in ``report``."""
    con, store, staged, present_columns, replace = (
        batch.con,
        batch.store,
        batch.staged,
        batch.present_columns,
        batch.replace,
    )
    # A delta changes the monthly totals of the months it brings payments in or moves to another division, as
    # stored before it (collected here) and after it (below); a delta of scouts changes none.
    earnings_delta = not replace and not first and bool({"payments", "workers"} & staged)
    if not replace and not first:  # into an empty store there is nothing to keep or replace
        batch.step(Message("step_comparing_rows_sent_again"))
        for table_name in staged:
            match_sent_again(TABLES[table_name], present_columns[table_name], con)
    if earnings_delta:
        _earnings_months(con, staged, before=True)
    if replace:
        # A full export replaces the optional tables it leaves out too: the marketplace no longer sends them.
        for table_name in TABLE_ORDER:
            if table_name not in staged:
                con.execute(f"DELETE FROM {table_name}")
    for table_name in TABLE_ORDER:
        if table_name not in staged:
            continue
        table = TABLES[table_name]
        batch.step(Message("step_storing_table", {"table": table_name}))
        new_rows = f"typed_{table_name}"
        if replace:
            con.execute(f"DELETE FROM {table_name}")
        elif not first:
            unchanged = f"SELECT {table.key} FROM unchanged_{table_name}"
            replaced = f"SELECT row_id FROM stored_{table_name} WHERE sent AND {table.key} NOT IN ({unchanged})"
            con.execute(f"DELETE FROM {table_name} WHERE rowid IN ({replaced})")
            new_rows = f"(SELECT * FROM typed_{table_name} WHERE {table.key} NOT IN ({unchanged}))"
        # Sorted by worker so that one worker's facts sit together (fewer blocks per worker).
        con.execute(f"INSERT INTO {table_name} SELECT {stored_select(table)} FROM {new_rows} ORDER BY worker_id")
        report.rows[table_name] = one(con.execute(f"SELECT count(*) FROM typed_{table_name}").fetchone())[0]
    if earnings_delta:
        _earnings_months(con, staged, before=False)
        batch.step(Message("step_summing_touched_earnings"))
        report.earnings_rows, report.reranked_rows = store.refresh_monthly_earnings("earnings_months")
    elif replace or first:
        batch.step(Message("step_summing_earnings"))
        store.rebuild_monthly_earnings()
        report.earnings_rows = one(con.execute("SELECT count(*) FROM monthly_earnings").fetchone())[0]
        report.reranked_rows = report.earnings_rows
    store.set_meta("timezone", report.timezone)
    supplied = {t for t in staged if TABLES[t].optional} | {
        f"{t}.{c}" for t in staged for c in present_columns[t] if not TABLES[t].column(c).required
    }
    store.set_provided((supplied if replace else store.provided() | supplied) & set(optional_facts()))
    next_id = one(con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM procert_imports").fetchone())[0]
    con.execute(
        "INSERT INTO procert_imports VALUES (?, ?, ?, ?, ?, ?)",
        [
            next_id,
            datetime.now(UTC).replace(tzinfo=None),
            str(directory.resolve()),
            report.timezone,
            "replace" if replace else "upsert",
            json.dumps(report.rows),
        ],
    )


#: The name the scratch database of a large import is attached under (see :func:`_typed_rows_home`).
STAGING_DATABASE = "procert_staging"
#: An import whose files hold more than this share of its memory limit (before compression) builds its typed rows
#: in a scratch database file rather than in temporary tables.
STAGING_SHARE = 0.5


@contextlib.contextmanager
def _typed_rows_home(store: FactStore, files: dict[str, Path]) -> Iterator[str | None]:
    """Where the import builds its typed rows: in temporary tables (None), or, when the files are large for the
    store's memory limit, in a scratch database file beside the store, attached as :data:`STAGING_DATABASE` for
    the import and removed after it. Temporary tables spill to disk uncompressed once memory runs out: a
    1M-worker export (2.6 GB before compression) took 7.2 GB of spill files for a 2.1 GB store under a 2 GB limit.
    A database file is compressed, and the buffer pool drops its pages rather than writing them out: 1.5 GB, and
    the checks' joins then fit in memory. Writing it compressed costs time, so an import that fits does not."""
    limit = store.memory_limit_bytes
    # The files' sizes are read only where a scratch file could be used (a store on disk, a limit set).
    if (
        store.path is None
        or limit is None
        or sum(staged_bytes(store.con, p) for p in files.values()) <= (STAGING_SHARE * limit)
    ):
        yield None
        return
    scratch = store.path.with_name(store.path.name + ".staging")
    _remove_scratch(scratch)  # left by an import that was killed
    store.con.execute(f"ATTACH {sql_quote(str(scratch))} AS {STAGING_DATABASE}")
    # Unqualified names find the typed rows there (after the temporary tables and the store's own).
    store.con.execute(f"SET search_path = 'main,{STAGING_DATABASE}.main'")
    try:
        yield STAGING_DATABASE
    finally:
        store.con.execute("RESET search_path")
        store.con.execute(f"DETACH {STAGING_DATABASE}")
        _remove_scratch(scratch)


def _remove_scratch(scratch: Path) -> None:
    scratch.unlink(missing_ok=True)
    scratch.with_name(scratch.name + ".wal").unlink(missing_ok=True)


def _earnings_months(con: duckdb.DuckDBPyConnection, staged: set[str], *, before: bool) -> None:
    """Add to ``earnings_months`` (worker_id, paid_month) every monthly total the staged rows change: ``before``
    the write, the stored months of the payments they send again changed (a corrected date moves a payment to
    another month) and every month of the workers they move to another division; after it, the months of the staged
    payments but those sent again unchanged (rows never move to another worker)."""
    if before:
        con.execute("CREATE OR REPLACE TEMP TABLE earnings_months (worker_id VARCHAR, paid_month INTEGER)")
        if "payments" in staged:
            con.execute(
                """INSERT INTO earnings_months SELECT worker_id, paid_month FROM stored_payments
                   WHERE sent AND payment_id NOT IN (SELECT payment_id FROM unchanged_payments)"""
            )
        if "workers" in staged:
            con.execute(
                """INSERT INTO earnings_months SELECT e.worker_id, e.paid_month FROM monthly_earnings e
                   WHERE e.worker_id IN (SELECT t.worker_id FROM typed_workers t
                                         JOIN stored_workers s ON s.worker_id = t.worker_id
                                         WHERE s.division IS DISTINCT FROM t.division)"""
            )
    elif "payments" in staged:
        con.execute(
            f"""INSERT INTO earnings_months SELECT worker_id, {PAID_MONTH_SQL} FROM typed_payments
                WHERE payment_id NOT IN (SELECT payment_id FROM unchanged_payments)"""
        )


def _register_functions(con: duckdb.DuckDBPyConnection) -> None:
    def check_email(value: str | None) -> str | None:
        return None if value is None else email_problem(value)

    # Registered once per connection (DuckDB refuses a second function of the same name).
    with contextlib.suppress(duckdb.NotImplementedException, duckdb.CatalogException):
        con.create_function(
            "procert_email_problem",
            check_email,
            [duckdb.sqltype("VARCHAR")],
            duckdb.sqltype("VARCHAR"),
            null_handling=FunctionNullHandling.SPECIAL,
        )


def _drop_stages(con: duckdb.DuckDBPyConnection) -> None:
    for table_name in TABLE_ORDER:
        drop_stage(con, table_name)
        con.execute(f"DROP TABLE IF EXISTS typed_{table_name}")
        con.execute(f"DROP TABLE IF EXISTS stored_{table_name}")
        con.execute(f"DROP TABLE IF EXISTS unchanged_{table_name}")
        con.execute(f"DROP TABLE IF EXISTS twins_{table_name}")
    con.execute("DROP TABLE IF EXISTS earnings_months")
