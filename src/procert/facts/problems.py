"""What an import reports: each problem by file, row, column and reason in words, and the refusal that lists
them (nothing is stored when there is one)."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from procert.errors import ProcertError

MAX_REPORTED_PROBLEMS = 50


# Blank: empty or only white space, including the ideographic (full-width) space U+3000.
BLANK_PATTERN = r"[\s\p{Z}]*"


# A timestamp's UTC offset, when it has one: hours and minutes after the time, from -12:00 to +14:00.
OFFSET_PATTERN = r"[T ][0-9:.]+([+-])([0-9]{2}):?([0-9]{2})?$"


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
    #: Monthly-total rows recomputed: all of them for a full import, those of the workers whose payments or
    #: division it brings for a delta, 0 for a delta that cannot change earnings (scouts, reviews, …).
    earnings_rows: int = 0
    #: Monthly totals ranked again (all of them for a full import; for a delta, every total of the (division,
    #: month) partitions whose totals it changes: one worker's total moves the others' ranks).
    reranked_rows: int = 0


def sql_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Collector:
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
