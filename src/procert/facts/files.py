"""Reading an export's files: finding them, diagnosing CSV text (encoding, quoting, control characters) in
Python with the file, row and column of each problem, and staging them into DuckDB."""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import duckdb

from procert.facts.contract import TABLE_ORDER, TABLES
from procert.facts.problems import (
    MAX_REPORTED_PROBLEMS,
    Collector,
    Problem,
    problem,
    sql_quote,
)

SUPPORTED_SUFFIXES = (".csv", ".parquet")


def table_of(path: Path) -> tuple[str, str] | None:
    """The (table, format) a file name stands for: ``workers.csv``, ``workers.csv.gz``, ``workers.parquet``."""
    name = path.name.lower()
    for suffix, fmt in ((".csv.gz", "csv"), (".csv", "csv"), (".parquet", "parquet")):
        if name.endswith(suffix):
            return name[: -len(suffix)], fmt
    return None


def find_files(directory: Path, problems: Collector) -> dict[str, Path]:
    if not directory.is_dir():
        problems.add(problem(str(directory), None, None, "import_not_a_folder"))
        return {}
    found: dict[str, Path] = {}
    for path in sorted(directory.iterdir()):
        named = table_of(path)
        stem = named[0] if named else path.name.split(".", 1)[0].lower()
        if stem not in TABLES:
            continue
        if path.is_dir():
            problems.add(problem(path.name, None, None, "import_is_a_folder"))
            continue
        if named is None:
            problems.add(problem(path.name, None, None, "import_not_a_table_file"))
            continue
        expected = path.name[: len(stem)]
        if expected != stem:
            problems.add(
                problem(path.name, None, None, "import_rename_lower_case", name=f"{stem}{path.name[len(stem) :]}")
            )
            continue
        if stem in found:
            problems.add(problem(path.name, None, None, "import_same_table_twice", other=found[stem].name))
            continue
        found[stem] = path
    if not found and problems.total == 0:
        expected_files = ", ".join(f"{t}.csv" for t in TABLE_ORDER)
        problems.add(problem(str(directory), None, None, "import_no_table_files", expected=expected_files))
    return found


#: Longest value one CSV cell may hold (a profile of a million characters is an export error, not a profile).
MAX_FIELD_CHARS = 1_000_000


def is_csv(path: Path) -> bool:
    return path.name.lower().endswith((".csv", ".csv.gz"))


def open_text(path: Path, encoding: str) -> io.TextIOWrapper:
    raw: gzip.GzipFile | io.BufferedReader = (
        gzip.GzipFile(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")
    )
    return io.TextIOWrapper(raw, encoding=encoding, newline="", errors="strict")


def encoding_problem(path: Path, encoding: str) -> Problem | None:
    """Whether the file decodes in ``encoding``; if not, where it stops and which encoding it looks like."""
    try:
        with open_text(path, encoding) as text:
            line = 1
            while chunk := text.read(1 << 20):
                line += chunk.count("\n")
    except UnicodeDecodeError:
        likely = None
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rb") as fh:
            head = fh.read(1 << 20)
        for guess in ("cp932", "euc_jp"):
            try:
                head.decode(guess)
                likely = guess
                break
            except UnicodeDecodeError:
                continue
        key = {"cp932": "import_not_encoding_cp932", "euc_jp": "import_not_encoding_euc_jp"}.get(
            likely or "", "import_not_encoding"
        )
        return problem(path.name, None, None, key, encoding=encoding.upper(), line=line, file=path.name)
    return None


def csv_problems(path: Path, encoding: str) -> list[Problem]:
    """Find where a CSV file breaks the format, for a clear report (DuckDB's own errors name no row): the
    encoding, a duplicate header, a row with a different number of fields, broken quoting, a huge cell."""
    undecodable = encoding_problem(path, encoding)
    if undecodable is not None:
        return [undecodable]
    found: list[Problem] = []
    csv.field_size_limit(sys.maxsize)
    with open_text(path, encoding) as text:
        reader = csv.reader(text, strict=True)
        try:
            header = next(reader, [])
            header[:1] = [h.lstrip("\ufeff") for h in header[:1]]
            row_number = 0
            seen: set[str] = set()
            for name in header:
                if name in seen:
                    found.append(problem(path.name, None, name, "import_header_twice"))
                seen.add(name)
            row_number = 0
            for row in reader:
                row_number += 1
                if len(row) != len(header):
                    found.append(
                        problem(path.name, row_number, None, "import_field_count", fields=len(row), header=len(header))
                    )
                for name, value in zip(header, row, strict=False):
                    if len(value) > MAX_FIELD_CHARS:
                        found.append(
                            problem(
                                path.name,
                                row_number,
                                name,
                                "import_too_long",
                                length=f"{len(value):,}",
                                limit=f"{MAX_FIELD_CHARS:,}",
                            )
                        )
                if len(found) >= MAX_REPORTED_PROBLEMS:
                    break
        except csv.Error as exc:
            found.append(
                problem(path.name, row_number + 1, None, "import_broken_quoting", line=reader.line_num, detail=str(exc))
            )
    return found


#: The data row number (1 for the first row after a CSV header) in a staged table, and in a staged Parquet view.
TABLE_ROW_NUMBER = "rowid + 1"
PARQUET_ROW_NUMBER = "file_row_number + 1"


def stage(
    con: duckdb.DuckDBPyConnection, table: str, path: Path, problems: Collector, encoding: str = "utf-8"
) -> str | None:
    """Stage one file as ``stage_<table>`` and return the SQL of its data row number, or None (with the problems
    added) when the file cannot be read. A CSV file is loaded with every column as text. A Parquet file is a view
    over the file in its own column types (an integer stays an integer, a timestamp a timestamp): the import reads
    it once, and checks each column in its type rather than parsing it back from text."""
    stage = f"stage_{table}"
    drop_stage(con, table)
    source = path
    row_number = TABLE_ROW_NUMBER
    try:
        if is_csv(path):
            opener = gzip.open if path.name.lower().endswith(".gz") else open
            with opener(path, "rb") as fh:
                head = fh.read(65536)
            if b"\x00" in head:
                problems.add(problem(path.name, None, None, "import_binary_content"))
                return None
            header_problems = [p for p in csv_header_problems(path, encoding)]
            if header_problems:
                for p in header_problems:
                    problems.add(p)
                return None
            if encoding.lower().replace("-", "_") not in ("utf_8", "utf8"):
                source = transcoded(path, encoding)
            con.execute(
                f"""CREATE TEMP TABLE {stage} AS SELECT * FROM read_csv({sql_quote(str(source))},
                    header = true, all_varchar = true, delim = ',', quote = '"', escape = '"',
                    encoding = 'utf-8', null_padding = false, strict_mode = true,
                    max_line_size = {4 * MAX_FIELD_CHARS + 1024})"""
            )
        else:
            described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({sql_quote(str(path))})").fetchall()
            nested = [c[0] for c in described if re.search(r"\[|STRUCT|MAP|UNION", str(c[1]))]
            for name in nested:
                problems.add(problem(path.name, None, name, "import_nested_values"))
            names = [c[0] for c in described]
            for name in sorted({n for n in names if names.count(n) > 1}):
                problems.add(problem(path.name, None, name, "import_schema_twice"))
            if nested or len(set(names)) != len(names):
                return None
            if "file_row_number" in names:  # the file's own column: DuckDB cannot add its row number beside it
                con.execute(f"CREATE TEMP TABLE {stage} AS SELECT * FROM read_parquet({sql_quote(str(path))})")
            else:
                con.execute(
                    f"CREATE TEMP VIEW {stage} AS SELECT * FROM read_parquet({sql_quote(str(path))}, "
                    "file_row_number = true)"
                )
                row_number = PARQUET_ROW_NUMBER
    except duckdb.Error as exc:
        if is_csv(path):
            found = csv_problems(path, encoding)
            if found:
                for p in found:
                    problems.add(p)
                return None
        problems.add(unreadable(path, exc))
        return None
    finally:
        if source != path:
            source.unlink(missing_ok=True)
    return row_number


def staged_bytes(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """About how many bytes the rows of ``path`` take before compression: a Parquet file's own figure (from its
    footer, nothing else is read), a CSV file's size (four times that, gzipped). Zero if the file cannot tell."""
    try:
        if is_csv(path):
            return path.stat().st_size * (4 if path.name.lower().endswith(".gz") else 1)
        found = con.execute(
            f"SELECT sum(total_uncompressed_size) FROM parquet_metadata({sql_quote(str(path))})"
        ).fetchone()
    except (OSError, duckdb.Error):  # the import reports an unreadable file when it stages it
        return 0
    return int(found[0] or 0) if found else 0


def unreadable(path: Path, exc: duckdb.Error) -> Problem:
    """The problem of a file DuckDB cannot read (for a Parquet file, possibly only when its rows are read)."""
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    kind = "CSV" if is_csv(path) else "Parquet"
    return problem(path.name, None, None, "import_unreadable", kind=kind, detail=message)


def drop_stage(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Drop ``stage_<table>``, a table or a view."""
    try:
        con.execute(f"DROP VIEW IF EXISTS stage_{table}")
    except duckdb.CatalogException:
        con.execute(f"DROP TABLE IF EXISTS stage_{table}")


def csv_header_problems(path: Path, encoding: str) -> list[Problem]:
    """The header alone, read before DuckDB (which renames a repeated column silently)."""
    try:
        with open_text(path, encoding) as text:
            header = next(csv.reader(text), [])
    except (UnicodeDecodeError, csv.Error):
        return csv_problems(path, encoding)
    header[:1] = [h.lstrip("\ufeff") for h in header[:1]]
    return [
        problem(path.name, None, name, "import_header_twice")
        for name in sorted({n for n in header if header.count(n) > 1})
    ]


def transcoded(path: Path, encoding: str) -> Path:
    """A UTF-8 copy of a CSV file in another encoding (``--encoding cp932``), beside the temporary files."""
    undecodable = encoding_problem(path, encoding)
    if undecodable is not None:
        raise duckdb.InvalidInputException(undecodable.because("en"))
    handle, name = tempfile.mkstemp(suffix=".csv", prefix="procert-utf8-")
    with os.fdopen(handle, "w", encoding="utf-8", newline="") as out, open_text(path, encoding) as text:
        shutil.copyfileobj(text, out, 1 << 20)
    return Path(name)
