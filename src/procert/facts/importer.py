"""Validated import of a marketplace export (a folder of CSV or Parquet files) into the facts store.

Every file is staged and checked completely before anything is written; the write itself is one
transaction. A failed import therefore leaves the stored facts exactly as they were.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import io
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from procert.errors import ProcertError
from procert.facts.contract import MAX_YEAR, MIN_YEAR, TABLE_ORDER, TABLES, Column, Table, email_problem
from procert.facts.store import WORKER_INDEXED, FactStore

MAX_REPORTED_PROBLEMS = 50
SUPPORTED_SUFFIXES = (".csv", ".parquet")

# Blank: empty or only white space, including the ideographic (full-width) space U+3000.
BLANK_PATTERN = r"[\s\p{Z}]*"
# A timestamp's UTC offset, when it has one: hours and minutes after the time, from -12:00 to +14:00.
_OFFSET = r"[T ][0-9:.]+([+-])([0-9]{2}):?([0-9]{2})?$"

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


class ImportFailed(ProcertError):
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


def _table_of(path: Path) -> tuple[str, str] | None:
    """The (table, format) a file name stands for: ``workers.csv``, ``workers.csv.gz``, ``workers.parquet``."""
    name = path.name.lower()
    for suffix, fmt in ((".csv.gz", "csv"), (".csv", "csv"), (".parquet", "parquet")):
        if name.endswith(suffix):
            return name[: -len(suffix)], fmt
    return None


def _find_files(directory: Path, problems: _Collector) -> dict[str, Path]:
    if not directory.is_dir():
        problems.add(Problem(str(directory), None, None, "not a folder"))
        return {}
    found: dict[str, Path] = {}
    for path in sorted(directory.iterdir()):
        named = _table_of(path)
        stem = named[0] if named else path.name.split(".", 1)[0].lower()
        if stem not in TABLES:
            continue
        if path.is_dir():
            problems.add(Problem(path.name, None, None, "is a folder; expected a CSV or Parquet file"))
            continue
        if named is None:
            problems.add(
                Problem(path.name, None, None, "not a CSV or Parquet file (expected .csv, .csv.gz or .parquet)")
            )
            continue
        expected = path.name[: len(stem)]
        if expected != stem:
            problems.add(
                Problem(
                    path.name, None, None, f"file names are lower case: rename it to {stem}{path.name[len(stem) :]}"
                )
            )
            continue
        if stem in found:
            problems.add(Problem(path.name, None, None, f"{found[stem].name} holds the same table; keep one of them"))
            continue
        found[stem] = path
    if not found and problems.total == 0:
        expected_files = ", ".join(f"{t}.csv" for t in TABLE_ORDER)
        problems.add(Problem(str(directory), None, None, f"no table files found (expected {expected_files})"))
    return found


#: Longest value one CSV cell may hold (a profile of a million characters is an export error, not a profile).
MAX_FIELD_CHARS = 1_000_000


def _is_csv(path: Path) -> bool:
    return path.name.lower().endswith((".csv", ".csv.gz"))


def _open_text(path: Path, encoding: str) -> io.TextIOWrapper:
    raw: IO[bytes] = gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")  # noqa: SIM115 (the caller closes the wrapper)
    return io.TextIOWrapper(raw, encoding=encoding, newline="", errors="strict")


def _encoding_problem(path: Path, encoding: str) -> Problem | None:
    """Whether the file decodes in ``encoding``; if not, where it stops and which encoding it looks like."""
    try:
        with _open_text(path, encoding) as text:
            line = 1
            while chunk := text.read(1 << 20):
                line += chunk.count("\n")
    except UnicodeDecodeError:
        likely = ""
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rb") as fh:
            head = fh.read(1 << 20)
        for guess, label in (("cp932", "Shift_JIS (CP932), Japanese Excel's default"), ("euc_jp", "EUC-JP")):
            try:
                head.decode(guess)
                likely = f"; it looks like {label}"
                break
            except UnicodeDecodeError:
                continue
        return Problem(
            path.name,
            None,
            None,
            f'not {encoding.upper()} text (near line {line}){likely}. Save it as "CSV UTF-8" or convert it '
            f"(iconv -f CP932 -t UTF-8 {path.name} > utf8.csv), or import with --encoding cp932",
        )
    return None


def _csv_problems(path: Path, encoding: str) -> list[Problem]:
    """Find where a CSV file breaks the format, for a clear report (DuckDB's own errors name no row): the
    encoding, a duplicate header, a row with a different number of fields, broken quoting, a huge cell."""
    problem = _encoding_problem(path, encoding)
    if problem is not None:
        return [problem]
    found: list[Problem] = []
    csv.field_size_limit(sys.maxsize)
    with _open_text(path, encoding) as text:
        reader = csv.reader(text, strict=True)
        try:
            header = next(reader, [])
            header[:1] = [h.lstrip("\ufeff") for h in header[:1]]
            row_number = 0
            seen: set[str] = set()
            for name in header:
                if name in seen:
                    found.append(Problem(path.name, None, name, "appears twice in the header"))
                seen.add(name)
            row_number = 0
            for row in reader:
                row_number += 1
                if len(row) != len(header):
                    found.append(
                        Problem(path.name, row_number, None, f"has {len(row)} fields; the header has {len(header)}")
                    )
                for name, value in zip(header, row, strict=False):
                    if len(value) > MAX_FIELD_CHARS:
                        found.append(
                            Problem(
                                path.name,
                                row_number,
                                name,
                                f"a value of {len(value):,} characters (at most {MAX_FIELD_CHARS:,})",
                            )
                        )
                if len(found) >= MAX_REPORTED_PROBLEMS:
                    break
        except csv.Error as exc:
            found.append(Problem(path.name, row_number + 1, None, f"broken quoting near line {reader.line_num}: {exc}"))
    return found


def _stage(
    con: duckdb.DuckDBPyConnection, table: str, path: Path, problems: _Collector, encoding: str = "utf-8"
) -> bool:
    """Load one file, every column as text, into ``stage_<table>``; rowid + 1 is the data row number."""
    stage = f"stage_{table}"
    con.execute(f"DROP TABLE IF EXISTS {stage}")
    source = path
    try:
        if _is_csv(path):
            opener = gzip.open if path.name.lower().endswith(".gz") else open
            with opener(path, "rb") as fh:
                head = fh.read(65536)
            if b"\x00" in head:
                problems.add(Problem(path.name, None, None, "binary content: not a UTF-8 CSV file"))
                return False
            header_problems = [p for p in _csv_header_problems(path, encoding)]
            if header_problems:
                for p in header_problems:
                    problems.add(p)
                return False
            if encoding.lower().replace("-", "_") not in ("utf_8", "utf8"):
                source = _transcoded(path, encoding)
            con.execute(
                f"""CREATE TEMP TABLE {stage} AS SELECT * FROM read_csv({_quote(str(source))},
                    header = true, all_varchar = true, delim = ',', quote = '"', escape = '"',
                    encoding = 'utf-8', null_padding = false, strict_mode = true,
                    max_line_size = {4 * MAX_FIELD_CHARS + 1024})"""
            )
        else:
            described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_quote(str(path))})").fetchall()
            nested = [c[0] for c in described if re.search(r"\[|STRUCT|MAP|UNION", str(c[1]))]
            for name in nested:
                problems.add(Problem(path.name, None, name, "holds lists or structures; expected one plain value"))
            names = [c[0] for c in described]
            for name in sorted({n for n in names if names.count(n) > 1}):
                problems.add(Problem(path.name, None, name, "appears twice in the schema"))
            if nested or len(set(names)) != len(names):
                return False
            casts = ", ".join(f"CAST({_ident(c[0])} AS VARCHAR) AS {_ident(c[0])}" for c in described)
            con.execute(f"CREATE TEMP TABLE {stage} AS SELECT {casts} FROM read_parquet({_quote(str(path))})")
    except duckdb.Error as exc:
        if _is_csv(path):
            found = _csv_problems(path, encoding)
            if found:
                for p in found:
                    problems.add(p)
                return False
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        kind = "CSV" if _is_csv(path) else "Parquet"
        problems.add(Problem(path.name, None, None, f"cannot be read as {kind}: {message}"))
        return False
    finally:
        if source != path:
            source.unlink(missing_ok=True)
    return True


def _csv_header_problems(path: Path, encoding: str) -> list[Problem]:
    """The header alone, read before DuckDB (which renames a repeated column silently)."""
    try:
        with _open_text(path, encoding) as text:
            header = next(csv.reader(text), [])
    except (UnicodeDecodeError, csv.Error):
        return _csv_problems(path, encoding)
    header[:1] = [h.lstrip("\ufeff") for h in header[:1]]
    return [
        Problem(path.name, None, name, "appears twice in the header")
        for name in sorted({n for n in header if header.count(n) > 1})
    ]


def _transcoded(path: Path, encoding: str) -> Path:
    """A UTF-8 copy of a CSV file in another encoding (``--encoding cp932``), beside the temporary files."""
    problem = _encoding_problem(path, encoding)
    if problem is not None:
        raise duckdb.InvalidInputException(problem.reason)
    handle, name = tempfile.mkstemp(suffix=".csv", prefix="procert-utf8-")
    with os.fdopen(handle, "w", encoding="utf-8", newline="") as out, _open_text(path, encoding) as text:
        shutil.copyfileobj(text, out, 1 << 20)
    return Path(name)


def _timestamp_shape(raw: str) -> str:
    """Cheap ISO 8601 shape test (DuckDB's own parser also accepts forms such as '2024-1-1')."""
    return (
        f"(length({raw}) >= 10 AND {raw}[5] = '-' AND {raw}[8] = '-' AND (length({raw}) = 10 "
        f"OR ({raw}[11] IN ('T', ' ') AND {raw}[14] = ':')))"
    )


def _build_typed(con: duckdb.DuckDBPyConnection, table: Table, present: set[str]) -> None:
    """Convert ``stage_<t>`` to ``typed_<t>`` in one pass: every value parsed once and, beside each column,
    ``err_<column>``: why the value is bad, or NULL. The raw stage table is dropped afterwards."""
    inner = ["rowid + 1 AS _row"]
    outer = ["_row"]
    for col in table.columns:
        name = col.name
        if name not in present:
            outer.append(f"NULL AS {name}")
            continue
        c = _ident(name)
        raw, value = f"r_{name}", f"v_{name}"
        inner.append(f"NULLIF(trim({c}), '') AS {raw}")
        shown = f"' (got ''' || left({raw}, 40) || ''')'"
        reasons = [] if col.nullable else [f"WHEN {raw} IS NULL THEN 'is empty'"]
        if col.kind in ("text", "line"):
            inner.append(f"{c} AS {value}")
        elif col.kind in ("id", "enum", "email"):
            inner.append(f"{raw} AS {value}")
        elif col.kind in ("integer", "rating"):
            # The pattern first: TRY_CAST alone would round '4.5' to 5.
            inner.append(
                f"CASE WHEN regexp_full_match({raw}, '[+-]?[0-9]+') THEN TRY_CAST({raw} AS BIGINT) END AS {value}"
            )
        else:
            inner.append(f"CASE WHEN {_timestamp_shape(raw)} THEN TRY_CAST({raw} AS TIMESTAMPTZ) END AS {value}")
        if col.kind in ("text", "line"):
            reasons.append(
                f"WHEN length({c}) > {MAX_FIELD_CHARS} "
                f"THEN 'a value of ' || format('{{:,}}', length({c})) || ' characters (at most {MAX_FIELD_CHARS:,})'"
            )
        if col.kind in ("id", "line", "email"):
            # Control characters (NUL, line breaks, ESC…) break mail headers, URLs and other databases.
            reasons.append(
                f"WHEN regexp_matches({c}, '[\\x00-\\x1f\\x7f]') "
                "THEN 'contains a control character (such as a line break, tab, NUL or ESC)'"
            )
        if col.kind == "email":
            # The contract's one rule (procert.facts.contract.email_problem), called from SQL.
            reasons.append(
                f"WHEN procert_email_problem({raw}) IS NOT NULL THEN procert_email_problem({raw}) || {shown}"
            )
        if col.kind == "enum":
            choices = ", ".join(_quote(v) for v in col.choices)
            expected = ", ".join(col.choices)
            reasons.append(
                f"WHEN {raw} NOT IN ({choices}) "
                f"THEN 'unknown value ' || chr(39) || left({raw}, 40) || chr(39) || '; expected one of {expected}'"
            )
        elif col.kind in ("integer", "rating"):
            reasons.append(f"WHEN {value} IS NULL THEN 'not an integer' || {shown}")
            if col.kind == "rating":
                reasons.append(
                    f"WHEN {value} NOT BETWEEN {col.minimum} AND {col.maximum} "
                    f"THEN 'must be an integer from {col.minimum} to {col.maximum}' || {shown}"
                )
            else:
                if col.minimum is not None:
                    reasons.append(f"WHEN {value} < {col.minimum} THEN 'must be ≥ {col.minimum:,}' || {shown}")
                if col.maximum is not None:
                    reasons.append(f"WHEN {value} > {col.maximum} THEN 'must be ≤ {col.maximum:,}' || {shown}")
        elif col.kind == "timestamp":
            reasons.append(f"WHEN {value} IS NULL THEN 'not an ISO 8601 timestamp' || {shown}")
            sign, hours, minutes = (f"regexp_extract({raw}, '{_OFFSET}', {n})" for n in (1, 2, 3))
            reasons.append(
                f"WHEN regexp_matches({raw}, '{_OFFSET}') AND ("
                f"CAST({hours} AS INTEGER) > CASE {sign} WHEN '-' THEN 12 ELSE 14 END "
                f"OR CAST(coalesce(NULLIF({minutes}, ''), '0') AS INTEGER) > 59) "
                f"THEN 'has an impossible UTC offset (from -12:00 to +14:00)' || {shown}"
            )
            reasons.append(
                f"WHEN year({value}) NOT BETWEEN {MIN_YEAR} AND {MAX_YEAR} "
                f"THEN 'the year must be from {MIN_YEAR} to {MAX_YEAR}' || {shown}"
            )
        outer.append(f"{value} AS {name}")
        if reasons:
            # Empty cells of nullable columns are fine; every other reason applies to non-empty cells.
            guard = "" if not col.nullable else f"WHEN {raw} IS NULL THEN NULL "
            outer.append(f"CASE {guard}{' '.join(reasons)} END AS err_{name}")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE typed_{table.name} AS "
        f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM stage_{table.name})"
    )
    con.execute(f"DROP TABLE stage_{table.name}")


def _column_checks(table: Table, file: str, con: duckdb.DuckDBPyConnection, problems: _Collector) -> None:
    typed = f"typed_{table.name}"
    err_columns = {row[0] for row in con.execute(f"DESCRIBE {typed}").fetchall() if row[0].startswith("err_")}
    for col in table.columns:
        if f"err_{col.name}" in err_columns:
            problems.add_query(
                con,
                file,
                col.name,
                f"SELECT _row AS row, err_{col.name} AS reason FROM {typed} WHERE err_{col.name} IS NOT NULL",
            )
    # Duplicate keys: every occurrence after the first is a problem.
    key = table.key
    problems.add_query(
        con,
        file,
        key,
        f"""SELECT t._row AS row,
                   'duplicate {key} ' || chr(39) || t.{key} || chr(39) || ' (first on row ' || d.first_row || ')'
                   AS reason
            FROM {typed} t
            JOIN (SELECT {key}, min(_row) AS first_row FROM {typed} WHERE {key} IS NOT NULL
                  GROUP BY {key} HAVING count(*) > 1) d ON d.{key} = t.{key}
            WHERE t._row <> d.first_row""",
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
    for col in table.columns:
        if col.references is None or col.name not in present:
            continue
        target = TABLES[col.references]
        sources = []
        if col.references in staged:
            sources.append(f"SELECT {target.key} AS k FROM typed_{target.name}")
        if not (replace and col.references in staged):
            sources.append(f"SELECT {target.key} AS k FROM main.{target.name}")
        known = " UNION ALL ".join(sources)
        problems.add_query(
            con,
            file,
            col.name,
            f"""SELECT s._row AS row,
                       'unknown {target.key} ' || chr(39) || s.{col.name} || chr(39)
                       || ': no such row in {target.name}' AS reason
                FROM typed_{table.name} s
                WHERE s.{col.name} IS NOT NULL
                  AND s.{col.name} NOT IN (SELECT k FROM ({known}) WHERE k IS NOT NULL)""",
        )


def _contract_checks(present: set[str], file: str, con: duckdb.DuckDBPyConnection, problems: _Collector) -> None:
    if {"status", "closed_at"} <= present:
        problems.add_query(
            con,
            file,
            "closed_at",
            """SELECT _row AS row,
                      CASE WHEN status IN ('delivered', 'cancelled') AND closed_at IS NULL AND err_closed_at IS NULL
                           THEN 'is empty but status is ' || status || ' (a closed contract needs closed_at)'
                           WHEN status = 'active' AND closed_at IS NOT NULL
                           THEN 'must be empty while status is active' END AS reason
               FROM typed_contracts WHERE reason IS NOT NULL""",
        )
    if {"started_at", "closed_at"} <= present:
        problems.add_query(
            con,
            file,
            "closed_at",
            "SELECT _row AS row, 'is before started_at' AS reason FROM typed_contracts WHERE closed_at < started_at",
        )


def _review_checks(
    present: set[str],
    file: str,
    staged: set[str],
    replace: bool,
    con: duckdb.DuckDBPyConnection,
    problems: _Collector,
) -> None:
    if not {"contract_id", "worker_id"} <= present:
        return
    sources = []
    if "contracts" in staged:
        sources.append("SELECT contract_id AS cid, worker_id AS wid, 0 AS pri FROM typed_contracts")
    if not (replace and "contracts" in staged):
        sources.append("SELECT contract_id AS cid, worker_id AS wid, 1 AS pri FROM main.contracts")
    problems.add_query(
        con,
        file,
        "worker_id",
        f"""SELECT r._row AS row,
                   'worker ' || chr(39) || r.worker_id || chr(39) || ' is not the worker of contract '
                   || chr(39) || c.cid || chr(39) || ' (' || c.wid || ')' AS reason
            FROM typed_reviews r
            JOIN (SELECT cid, arg_min(wid, pri) AS wid FROM ({" UNION ALL ".join(sources)}) GROUP BY cid) c
              ON c.cid = r.contract_id
            WHERE c.wid <> r.worker_id""",
    )


def _owner_checks(table: Table, file: str, con: duckdb.DuckDBPyConnection, problems: _Collector) -> None:
    """An upsert may correct a row, never hand it to another worker (its reviews and payments would follow)."""
    problems.add_query(
        con,
        file,
        "worker_id",
        f"""SELECT t._row AS row,
                   '{table.key} ' || chr(39) || t.{table.key} || chr(39) || ' belongs to worker ' || chr(39)
                   || s.worker_id || chr(39) || ' in the stored facts; a row cannot move to another worker '
                   || '(use a new id, or --replace with a full export)' AS reason
            FROM typed_{table.name} t JOIN main.{table.name} s ON s.{table.key} = t.{table.key}
            WHERE t.worker_id IS NOT NULL AND s.worker_id <> t.worker_id""",
    )


def _keep_stored_values(con: duckdb.DuckDBPyConnection, table: Table, present: set[str]) -> None:
    """Optional columns the file leaves out keep their stored values for the rows it updates (new rows get
    none): re-importing workers without ``email`` must not erase every address."""
    absent = [c.name for c in table.columns if c.name not in present and not c.required]
    if not absent:
        return
    key = table.key
    replaced = ", ".join(f"s.{name} AS {name}" for name in absent)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE typed_{table.name} AS
            SELECT t.* REPLACE ({replaced}) FROM typed_{table.name} t
            LEFT JOIN main.{table.name} s ON s.{key} = t.{key}"""
    )


def _stored_select(table: Table) -> str:
    """SELECT list turning a validated typed table into the stored columns, derived ones included."""

    def column(col: Column) -> str:
        if col.kind == "timestamp":
            # TIMESTAMPTZ -> naive UTC instant by plain arithmetic on the epoch (no time-zone lookup per row).
            return f"make_timestamp(epoch_us({col.name})) AS {col.name}"
        return col.name

    parts = [column(c) for c in table.columns]
    if table.name == "workers":
        parts += [
            f"NOT regexp_full_match(coalesce(profile_text, ''), '{BLANK_PATTERN}') AS has_profile_text",
            f"NOT regexp_full_match(coalesce(self_pr_text, ''), '{BLANK_PATTERN}') AS has_self_pr_text",
        ]
    elif table.name == "reviews":
        parts.append("skill + quality + schedule + communication + partnership AS item_sum")
    elif table.name == "payments":
        # The calendar month of the payment in the program's (the session's) time zone: year * 12 + month - 1.
        parts.append("year(paid_at) * 12 + month(paid_at) - 1 AS paid_month")
    return ", ".join(parts)


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
        raise ImportFailed([Problem("import", None, "encoding", f"unknown encoding {encoding!r}")], 1) from None
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
    _register_functions(con)
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
        if not _stage(con, table_name, path, problems, encoding):
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
        step(f"parsing {path.name}")
        _build_typed(con, table, present_columns[table_name])

    for table_name in TABLE_ORDER:
        if table_name not in staged:
            continue
        file, table, present = files[table_name].name, TABLES[table_name], present_columns[table_name]
        step(f"checking {file}")
        _column_checks(table, file, con, problems)
        _reference_checks(table, present, file, staged, replace, con, problems)
        if table_name == "contracts":
            _contract_checks(present, file, con, problems)
        elif table_name == "reviews":
            _review_checks(present, file, staged, replace, con, problems)
        if not replace and table_name != "workers" and "worker_id" in present:
            _owner_checks(table, file, con, problems)

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
            indexed = table_name in WORKER_INDEXED
            with store.worker_index_dropped(table_name) if indexed else nullcontext():
                if replace:
                    con.execute(f"DELETE FROM {table_name}")
                else:
                    _keep_stored_values(con, table, present_columns[table_name])
                    con.execute(
                        f"DELETE FROM {table_name} WHERE {table.key} IN (SELECT {table.key} FROM typed_{table_name})"
                    )
                # Sorted by worker so that one worker's facts sit together (fewer blocks per worker).
                con.execute(
                    f"INSERT INTO {table_name} SELECT {_stored_select(table)} FROM typed_{table_name} "
                    "ORDER BY worker_id"
                )
            report.rows[table_name] = con.execute(f"SELECT count(*) FROM typed_{table_name}").fetchone()[0]
        step("summing monthly earnings")
        store.rebuild_monthly_earnings()
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
            null_handling="special",
        )


def _drop_stages(con: duckdb.DuckDBPyConnection) -> None:
    for table_name in TABLE_ORDER:
        con.execute(f"DROP TABLE IF EXISTS stage_{table_name}")
        con.execute(f"DROP TABLE IF EXISTS typed_{table_name}")
