"""What an import reports: each problem by file, row, column and reason in words, and the refusal that lists
them (nothing is stored when there is one)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import duckdb

from procert.errors import ProcertError
from procert.i18n import DEFAULT_LANG, Message, t

MAX_REPORTED_PROBLEMS = 50

#: The field of a reason's JSON (see :func:`sql_reason`) that holds its message id; the others are its values.
REASON_ID = "_message"


# Blank: empty or only white space, including the ideographic (full-width) space U+3000.
BLANK_PATTERN = r"[\s\p{Z}]*"


# A timestamp's UTC offset, when it has one: hours and minutes after the time, from -12:00 to +14:00.
OFFSET_PATTERN = r"[T ][0-9:.]+([+-])([0-9]{2}):?([0-9]{2})?$"


@dataclass(frozen=True)
class Problem:
    """One reason an export cannot be imported. ``row`` is the 1-based data row (the header is not counted);
    ``got`` the offending value as the file holds it (cut to 40 characters), when showing it helps."""

    file: str
    row: int | None
    column: str | None
    reason: Message
    got: str | None = None

    def because(self, lang: str = DEFAULT_LANG) -> str:
        """The reason in words, with the offending value."""
        said = self.reason.text(lang)
        return said if self.got is None else said + t("import_got", lang, got=self.got)

    def text(self, lang: str = DEFAULT_LANG) -> str:
        where = self.file
        if self.row is not None:
            where += t("import_at_row", lang, row=self.row)
        if self.column is not None:
            where += t("import_at_column", lang, column=self.column)
        return f"{where}: {self.because(lang)}"

    def __str__(self) -> str:
        return self.text()


def problem(file: str, row: int | None, column: str | None, message_id: str, /, **values: object) -> Problem:
    """A problem whose reason is the message ``message_id`` with ``values``."""
    return Problem(file, row, column, Message(message_id, values))


class ImportFailed(ProcertError):
    """The export has problems; nothing was stored."""

    def __init__(self, problems: list[Problem], total: int) -> None:
        self.problems = problems
        self.total = total
        super().__init__(self.report())

    def text(self, lang: str) -> str:
        return self.report(lang)

    def report(self, lang: str = DEFAULT_LANG) -> str:
        lines = [t("import_failed", lang, total=self.total)]
        lines += [f"  {p.text(lang)}" for p in self.problems]
        if self.total > len(self.problems):
            lines.append("  " + t("import_more_problems", lang, more=self.total - len(self.problems)))
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


def sql_reason(message_id: str, /, **values: str) -> str:
    """SQL of a problem's reason for :meth:`Collector.add_query`: the message ``message_id`` with ``values`` (each
    an SQL expression), as a JSON object it reads back. A value named ``got`` is the offending value (see Problem)."""
    pairs = "".join(f", '{name}', {expression}" for name, expression in values.items())
    return f"json_object('{REASON_ID}', '{message_id}'{pairs})"


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
        """``sql`` selects (row, reason) for every bad row, the reason built by :func:`sql_reason`; keep the first
        rows and count all of them."""
        rows = con.execute(
            f"SELECT row, reason, count(*) OVER () AS n FROM ({sql}) ORDER BY row LIMIT {MAX_REPORTED_PROBLEMS}"
        ).fetchall()
        if not rows:
            return
        self.total += rows[0][2]
        for row, reason, _ in rows:
            values = json.loads(reason)
            message_id, got = values.pop(REASON_ID), values.pop("got", None)
            self.problems.append(
                Problem(file, row, column, Message(message_id, values), None if got is None else str(got))
            )

    def result(self) -> ImportFailed | None:
        if self.total == 0:
            return None
        first = sorted(self.problems, key=lambda p: (p.file, p.row or 0, p.column or ""))
        return ImportFailed(first[:MAX_REPORTED_PROBLEMS], self.total)
