"""Validated import of a marketplace export (a folder of CSV or Parquet files) into the facts store.

Every file is staged and checked completely before anything is written; the write itself is one
transaction. A failed import therefore leaves the stored facts exactly as they were.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from procert.facts.contract import TABLE_ORDER, TABLES, Column, Table
from procert.facts.store import FactStore

MAX_REPORTED_PROBLEMS = 50
SUPPORTED_SUFFIXES = (".csv", ".parquet")

# ISO 8601 date or date-time, optional fraction and offset. DuckDB's own parser is more lenient
# (it accepts "2024-1-1"), so the shape is checked first.
_ISO_TIMESTAMP = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]{1,9})?)?)?"
    r"(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)?"
)
# Blank: empty or only white space, including the ideographic (full-width) space U+3000.
BLANK_PATTERN = r"[\s\p{Z}]*"

Progress = Callable[[str], None]


@dataclass(frozen=True, order=True)
class Problem:
    """One reason an export cannot be imported. ``row`` is the 1-based data row (the header is not counted)."""

    file: str
    row: int | None
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        return f"{where}: {self.reason}"


class ImportFailed(Exception):
    """The export has problems; nothing was stored."""

    def __init__(self, problems: list[Problem], total: int) -> None:
        self.problems = problems
        self.total = total
        super().__init__(self.report())

    def report(self) -> str:
        lines = [f"import failed: {self.total} problem(s); nothing was stored"]
        lines += [f"  {p}" for p in self.problems]
        if self.total > len(self.problems):
            lines.append(f"  ... and {self.total - len(self.problems)} more")
        return "\n".join(lines)


@dataclass
class ImportReport:
    source: str
    rows: dict[str, int] = field(default_factory=dict)
    timezone: str = ""
    replaced_tables: bool = False


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _Collector:
    """Keeps the first problems in (file, row) order and counts all of them."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.total = 0

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)
        self.total += 1

    def add_query(self, con: duckdb.DuckDBPyConnection, file: str, column: str | None, sql: str) -> None:
        """``sql`` selects (row, reason) for every bad row; keep the first rows and count all of them."""
        rows = con.execute(
            f"SELECT row, reason, count(*) OVER () AS n FROM ({sql}) ORDER BY row LIMIT {MAX_REPORTED_PROBLEMS}"
        ).fetchall()
        if not rows:
            return
        self.total += rows[0][2]
        self.problems.extend(Problem(file, row, column, reason) for row, reason, _ in rows)

    def result(self) -> ImportFailed | None:
        if self.total == 0:
            return None
        first = sorted(self.problems, key=lambda p: (p.file, p.row or 0, p.column or ""))
        return ImportFailed(first[:MAX_REPORTED_PROBLEMS], self.total)


def _find_files(directory: Path, problems: _Collector) -> dict[str, Path]:
    if not directory.is_dir():
        problems.add(Problem(str(directory), None, None, "not a folder"))
        return {}
    found: dict[str, Path] = {}
    for path in sorted(directory.iterdir()):
        stem, suffix = path.stem, path.suffix.lower()
        if stem not in TABLES or path.is_dir():
            continue
        if suffix not in SUPPORTED_SUFFIXES:
            problems.add(Problem(path.name, None, None, "not a CSV or Parquet file (expected .csv or .parquet)"))
            continue
        if stem in found:
            problems.add(Problem(path.name, None, None, f"{found[stem].name} holds the same table; keep one of them"))
            continue
        found[stem] = path
    if not found and problems.total == 0:
        expected = ", ".join(f"{t}.csv" for t in TABLE_ORDER)
        problems.add(Problem(str(directory), None, None, f"no table files found (expected {expected})"))
    return found


def _stage(con: duckdb.DuckDBPyConnection, table: str, path: Path, problems: _Collector) -> bool:
    """Load one file, every column as text, into ``stage_<table>``; rowid + 1 is the data row number."""
    stage = f"stage_{table}"
    con.execute(f"DROP TABLE IF EXISTS {stage}")
    try:
        if path.suffix.lower() == ".csv":
            with path.open("rb") as fh:
                head = fh.read(65536)
            if b"\x00" in head:
                problems.add(Problem(path.name, None, None, "binary content: not a UTF-8 CSV file"))
                return False
            con.execute(
                f"""CREATE TEMP TABLE {stage} AS SELECT * FROM read_csv({_quote(str(path))},
                    header = true, all_varchar = true, delim = ',', quote = '"', escape = '"',
                    encoding = 'utf-8', null_padding = false, strict_mode = true)"""
            )
        else:
            described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_quote(str(path))})").fetchall()
            casts = ", ".join(f"CAST({_ident(c[0])} AS VARCHAR) AS {_ident(c[0])}" for c in described)
            con.execute(f"CREATE TEMP TABLE {stage} AS SELECT {casts} FROM read_parquet({_quote(str(path))})")
    except duckdb.Error as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        kind = "CSV" if path.suffix.lower() == ".csv" else "Parquet"
        problems.add(Problem(path.name, None, None, f"cannot be read as {kind}: {message}"))
        return False
    return True


def _column_checks(
    table: Table, present: set[str], file: str, con: duckdb.DuckDBPyConnection, problems: _Collector
) -> None:
    stage = f"stage_{table.name}"
    for col in table.columns:
        if col.name not in present:
            continue
        c = _ident(col.name)
        value = f"trim({c})"
        empty = f"({c} IS NULL OR {value} = '')"
        reasons: list[str] = []
        if not col.nullable:
            reasons.append(f"WHEN {empty} THEN 'is empty'")
        shown = f"' (got ''' || left({c}, 40) || ''')'"
        if col.kind == "enum":
            choices = ", ".join(_quote(v) for v in col.choices)
            expected = ", ".join(col.choices)
            reasons.append(
                f"WHEN NOT {empty} AND {value} NOT IN ({choices}) "
                f"THEN 'unknown value ''' || left({c}, 40) || '''; expected one of {expected}'"
            )
        elif col.kind in ("integer", "rating"):
            reasons.append(
                f"WHEN NOT {empty} AND (NOT regexp_full_match({value}, '[+-]?[0-9]+') "
                f"OR TRY_CAST({value} AS BIGINT) IS NULL) THEN 'not an integer' || {shown}"
            )
            number = f"TRY_CAST({value} AS BIGINT)"
            if col.minimum is not None and col.maximum is not None:
                reasons.append(
                    f"WHEN {number} NOT BETWEEN {col.minimum} AND {col.maximum} "
                    f"THEN 'must be an integer from {col.minimum} to {col.maximum}' || {shown}"
                )
            elif col.minimum is not None:
                reasons.append(f"WHEN {number} < {col.minimum} THEN 'must be ≥ {col.minimum}' || {shown}")
        elif col.kind == "timestamp":
            reasons.append(
                f"WHEN NOT {empty} AND (NOT regexp_full_match({value}, {_quote(_ISO_TIMESTAMP)}) "
                f"OR TRY_CAST({value} AS TIMESTAMPTZ) IS NULL) "
                f"THEN 'not an ISO 8601 timestamp' || {shown}"
            )
        if not reasons:
            continue
        reason = "CASE " + " ".join(reasons) + " END"
        problems.add_query(
            con,
            file,
            col.name,
            f"SELECT rowid + 1 AS row, {reason} AS reason FROM {stage} WHERE ({reason}) IS NOT NULL",
        )

    # Duplicate keys: every occurrence after the first is a problem.
    key = _ident(table.key)
    problems.add_query(
        con,
        file,
        table.key,
        f"""SELECT row, 'duplicate {table.key} ''' || k || ''' (first on row ' || first_row || ')' AS reason
            FROM (SELECT rowid + 1 AS row, trim({key}) AS k,
                         min(rowid + 1) OVER (PARTITION BY trim({key})) AS first_row FROM {stage}
                  WHERE trim({key}) <> '')
            WHERE row <> first_row""",
    )


def _reference_checks(
    table: Table,
    present: set[str],
    file: str,
    staged: set[str],
    replace: bool,
    con: duckdb.DuckDBPyConnection,
    problems: _Collector,
) -> None:
    stage = f"stage_{table.name}"
    for col in table.columns:
        if col.references is None or col.name not in present:
            continue
        target = TABLES[col.references]
        c = f"trim(s.{_ident(col.name)})"
        sources = []
        if col.references in staged:
            sources.append(f"SELECT trim({_ident(target.key)}) AS k FROM stage_{target.name}")
        if not (replace and col.references in staged):
            sources.append(f"SELECT {target.key} AS k FROM main.{target.name}")
        known = " UNION ALL ".join(sources)
        problems.add_query(
            con,
            file,
            col.name,
            f"""SELECT s.rowid + 1 AS row,
                       'unknown {target.key} ''' || {c} || ''': no such row in {target.name}' AS reason
                FROM {stage} s WHERE {c} <> '' AND {c} NOT IN (SELECT k FROM ({known}))""",
        )


def _contract_checks(present: set[str], file: str, con: duckdb.DuckDBPyConnection, problems: _Collector) -> None:
    if {"status", "closed_at"} <= present:
        problems.add_query(
            con,
            file,
            "closed_at",
            """SELECT rowid + 1 AS row,
                      CASE WHEN trim(status) IN ('delivered', 'cancelled')
                                AND (closed_at IS NULL OR trim(closed_at) = '')
                           THEN 'is empty but status is ' || trim(status) || ' (a closed contract needs closed_at)'
                           WHEN trim(status) = 'active' AND trim(closed_at) <> ''
                           THEN 'must be empty while status is active' END AS reason
               FROM stage_contracts WHERE reason IS NOT NULL""",
        )
    if {"started_at", "closed_at"} <= present:
        problems.add_query(
            con,
            file,
            "closed_at",
            """SELECT rowid + 1 AS row, 'is before started_at' AS reason FROM stage_contracts
               WHERE TRY_CAST(trim(closed_at) AS TIMESTAMPTZ) < TRY_CAST(trim(started_at) AS TIMESTAMPTZ)""",
        )


def _review_checks(
    present: set[str], file: str, staged: set[str], replace: bool, con: duckdb.DuckDBPyConnection, problems: _Collector
) -> None:
    if not {"contract_id", "worker_id"} <= present:
        return
    sources = []
    if "contracts" in staged:
        sources.append("SELECT trim(contract_id) AS cid, trim(worker_id) AS wid, 0 AS pri FROM stage_contracts")
    if not (replace and "contracts" in staged):
        sources.append("SELECT contract_id, worker_id, 1 FROM main.contracts")
    problems.add_query(
        con,
        file,
        "worker_id",
        f"""SELECT r.rowid + 1 AS row,
                   'worker ''' || trim(r.worker_id) || ''' is not the worker of contract '''
                   || c.cid || ''' (' || c.wid || ')' AS reason
            FROM stage_reviews r
            JOIN (SELECT cid, arg_min(wid, pri) AS wid FROM ({" UNION ALL ".join(sources)}) GROUP BY cid) c
              ON c.cid = trim(r.contract_id)
            WHERE c.wid <> trim(r.worker_id)""",
    )


def _typed_select(table: Table, present: set[str]) -> str:
    """SELECT list converting a validated stage table to the stored types."""

    def conv(col: Column) -> str:
        if col.name not in present:
            return f"NULL AS {col.name}"
        c = _ident(col.name)
        if col.kind == "text":
            return f"{c} AS {col.name}"
        if col.kind in ("id", "enum"):
            return f"NULLIF(trim({c}), '') AS {col.name}"
        if col.kind in ("integer", "rating"):
            return f"CAST(NULLIF(trim({c}), '') AS BIGINT) AS {col.name}"
        # timestamp: parse in the session time zone (the program's), store as a naive UTC instant
        return f"timezone('UTC', CAST(NULLIF(trim({c}), '') AS TIMESTAMPTZ)) AS {col.name}"

    parts = [conv(col) for col in table.columns]
    if table.name == "workers":
        parts += [
            f"NOT regexp_full_match(coalesce(profile_text, ''), '{BLANK_PATTERN}') AS has_profile_text",
            f"NOT regexp_full_match(coalesce(self_pr_text, ''), '{BLANK_PATTERN}') AS has_self_pr_text",
        ]
    elif table.name == "reviews":
        parts.append(
            "CAST("
            + " + ".join(
                f"CAST(trim({i}) AS SMALLINT)" for i in ("skill", "quality", "schedule", "communication", "partnership")
            )
            + " AS SMALLINT) AS item_sum"
        )
    elif table.name == "payments":
        # The calendar month of the payment in the program's time zone, as year * 12 + month - 1.
        ts = "CAST(trim(paid_at) AS TIMESTAMPTZ)"
        parts.append(f"CAST(year({ts}) * 12 + month({ts}) - 1 AS INTEGER) AS paid_month")
    return ", ".join(parts)


def import_export(
    store: FactStore,
    directory: Path | str,
    *,
    timezone: str,
    replace: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Validate every table file in ``directory`` and store it (upsert by id, or ``replace`` whole tables).

    Raises :class:`ImportFailed` without storing anything when any file has a problem.
    """
    step = progress or (lambda _msg: None)
    directory = Path(directory)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ImportFailed([Problem("program", None, "timezone", f"unknown time zone {timezone!r}")], 1) from exc
    stored_tz = store.timezone
    if stored_tz is not None and stored_tz != timezone and not store.is_empty():
        raise ImportFailed(
            [
                Problem(
                    "program",
                    None,
                    "timezone",
                    f"the stored facts were imported with time zone {stored_tz}, not {timezone}; "
                    "use a fresh PROCERT_HOME or a program with the same time zone",
                )
            ],
            1,
        )

    con = store.con
    con.execute(f"SET TimeZone = {_quote(timezone)}")
    problems = _Collector()
    files = _find_files(directory, problems)
    if replace and files and set(files) != set(TABLE_ORDER):
        missing = ", ".join(t for t in TABLE_ORDER if t not in files)
        problems.add(Problem(str(directory), None, None, f"--replace needs every table; missing: {missing}"))

    staged: set[str] = set()
    present_columns: dict[str, set[str]] = {}
    for table_name in TABLE_ORDER:
        if table_name not in files:
            continue
        path = files[table_name]
        step(f"reading {path.name}")
        if not _stage(con, table_name, path, problems):
            continue
        header = {row[0] for row in con.execute(f"DESCRIBE stage_{table_name}").fetchall()}
        table = TABLES[table_name]
        missing = [c.name for c in table.columns if c.required and c.name not in header]
        for name in missing:
            problems.add(Problem(path.name, None, name, "required column is missing from the header"))
        if missing:
            continue
        staged.add(table_name)
        present_columns[table_name] = header & set(table.column_names)

    for table_name in TABLE_ORDER:
        if table_name not in staged:
            continue
        file, table, present = files[table_name].name, TABLES[table_name], present_columns[table_name]
        step(f"checking {file}")
        _column_checks(table, present, file, con, problems)
        _reference_checks(table, present, file, staged, replace, con, problems)
        if table_name == "contracts":
            _contract_checks(present, file, con, problems)
        elif table_name == "reviews":
            _review_checks(present, file, staged, replace, con, problems)

    failure = problems.result()
    if failure is not None:
        _drop_stages(con)
        raise failure

    report = ImportReport(source=str(directory), timezone=timezone, replaced_tables=replace)
    with store.transaction():
        for table_name in TABLE_ORDER:
            if table_name not in staged:
                continue
            table = TABLES[table_name]
            step(f"storing {table_name}")
            if replace:
                con.execute(f"DELETE FROM {table_name}")
            else:
                con.execute(
                    f"DELETE FROM {table_name} WHERE {table.key} IN "
                    f"(SELECT trim({_ident(table.key)}) FROM stage_{table_name})"
                )
            # Sorted by worker so that one worker's facts sit together (cheap single-worker reads later).
            con.execute(
                f"INSERT INTO {table_name} SELECT {_typed_select(table, present_columns[table_name])} "
                f"FROM stage_{table_name} ORDER BY worker_id"
            )
            report.rows[table_name] = con.execute(f"SELECT count(*) FROM stage_{table_name}").fetchone()[0]
        store.set_meta("timezone", timezone)
        next_id = con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM procert_imports").fetchone()[0]
        con.execute(
            "INSERT INTO procert_imports VALUES (?, ?, ?, ?, ?, ?)",
            [
                next_id,
                datetime.now(UTC).replace(tzinfo=None),
                str(directory.resolve()),
                timezone,
                "replace" if replace else "upsert",
                json.dumps(report.rows),
            ],
        )
    _drop_stages(con)
    return report


def _drop_stages(con: duckdb.DuckDBPyConnection) -> None:
    for table_name in TABLE_ORDER:
        con.execute(f"DROP TABLE IF EXISTS stage_{table_name}")
