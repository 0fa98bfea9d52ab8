"""Evaluate every worker against a program as of a date: exact pass flags, computed inside the database."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from procert.errors import ProcertError
from procert.facts import FactStore
from procert.facts.store import one
from procert.metrics import Away, Period, metrics_sql, raw_columns
from procert.programs import Criterion, Program

RESULT_TABLE = "procert_evaluation"
_SQL_OPERATORS = {">=": ">=", ">": ">", "<=": "<=", "<": "<", "==": "="}


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _compare(criterion: Criterion, threshold: Any) -> str:
    """An SQL expression that is TRUE when the criterion passes, FALSE otherwise (never NULL).

    Ratios are compared as ``num * q OP p * den`` with the threshold as the fraction p/q, so an average of
    exactly 4.8 passes ``>= 4.8`` with no floating-point drift.
    """
    op = _SQL_OPERATORS[criterion.comparison]
    c = criterion.id
    kind = criterion.metric_def.value_type
    if kind == "boolean":
        defined, holds = f"{c}__value IS NOT NULL", f"{c}__value = {'TRUE' if threshold else 'FALSE'}"
    else:
        frac = Fraction(threshold)
        p, q = frac.numerator, frac.denominator
        if kind == "ratio":
            defined, holds = f"{c}__den IS NOT NULL AND {c}__den > 0", f"{c}__num * {q} {op} {p} * {c}__den"
        else:
            defined, holds = f"{c}__value IS NOT NULL", f"{c}__value * {q} {op} {p}"
    if criterion.when_undefined == "pass":
        return f"(NOT ({defined}) OR ({holds}))"
    return f"({defined} AND {holds})"


def passed_sql(criterion: Criterion) -> str:
    if not criterion.division_thresholds:
        return _compare(criterion, criterion.threshold)
    branches = " ".join(
        f"WHEN division = {_quote(div)} THEN {_compare(criterion, t)}"
        for div, t in sorted(criterion.division_thresholds.items())
    )
    return f"(CASE {branches} ELSE {_compare(criterion, criterion.threshold)} END)"


def keep_passed_sql(criterion: Criterion) -> str:
    """Passes at the keep threshold (hysteresis), for workers already certified."""
    if criterion.keep_threshold is None:
        return passed_sql(criterion)
    return _compare(criterion, criterion.keep_threshold)


def near_miss_sql(criterion: Criterion, program: Program) -> str:
    """Passes once the grace margin is allowed for: the threshold moved by the margin in the worker's favour."""
    margin = program.grace.margins.get(criterion.id) if program.grace else None
    if margin is None:
        return keep_passed_sql(criterion)
    base = criterion.keep_threshold if criterion.keep_threshold is not None else None
    shift = -margin if criterion.comparison in (">=", ">") else margin

    def moved(threshold: Any) -> Any:
        return threshold + shift

    if base is not None:
        return _compare(criterion, moved(base))
    if not criterion.division_thresholds:
        return _compare(criterion, moved(criterion.threshold))
    branches = " ".join(
        f"WHEN division = {_quote(div)} THEN {_compare(criterion, moved(t))}"
        for div, t in sorted(criterion.division_thresholds.items())
    )
    return f"(CASE {branches} ELSE {_compare(criterion, moved(criterion.threshold))} END)"


#: The one thing the engines spell differently in the evaluation: the 64-bit float type.
DOUBLE = {"duckdb": "DOUBLE", "postgresql": "DOUBLE PRECISION", "spark": "DOUBLE"}
Dialect = Literal["duckdb", "postgresql", "spark"]
#: How a query names the one worker of a single-worker evaluation (psycopg binds named parameters).
PLACEHOLDER = {"duckdb": "$1", "postgresql": "%(worker_id)s", "spark": ":worker_id"}


def value_sql(criterion: Criterion, dialect: Dialect = "duckdb") -> str:
    c = criterion.id
    if criterion.metric_def.value_type == "ratio":
        # IEEE division of two integers is correctly rounded: equal to float(Fraction(num, den)) everywhere.
        double = DOUBLE[dialect]
        return f"CASE WHEN {c}__den > 0 THEN CAST({c}__num AS {double}) / CAST({c}__den AS {double}) END"
    return f"{c}__value"


def output_columns(program: Program) -> list[str]:
    """The result file's columns, in order: worker_id, certified, the level (programs with levels), values, then
    pass flags."""
    ids = [c.id for c in program.criteria]
    level = ["level"] if program.levels else []
    return ["worker_id", "certified", *level, *ids, *(f"{i}_passed" for i in ids)]


def level_sql(program: Program, eligible: str) -> str:
    """The highest level all of whose criteria pass, for an eligible account; NULL when none is reached."""
    branches = " ".join(
        f"WHEN {' AND '.join(f'{c}_passed' for c in level.criteria)} THEN {_quote(level.id)}"
        for level in reversed(program.levels)
    )
    return f"CASE WHEN NOT ({eligible}) THEN NULL {branches} END"


def evaluation_sql(
    program: Program, period: Period, *, worker_id_param: bool = False, dialect: Dialect = "duckdb"
) -> str:
    base = metrics_sql(
        [c.request() for c in program.criteria],
        period,
        worker_id_param=worker_id_param,
        placeholder=PLACEHOLDER[dialect],
        # DuckDB reaches one worker's rows through the ART indexes built at import only behind a fence;
        # PostgreSQL's planner combines its indexes with the other conditions by itself.
        index_fence=dialect == "duckdb",
    )
    statuses = ", ".join(_quote(s) for s in program.eligible_statuses)
    ids = [c.id for c in program.criteria]
    raws = [col for c in program.criteria for col in raw_columns(c.request())]
    # Internal columns for the ledger, only where they differ from the pass flags: at the keep threshold
    # (hysteresis) and with the grace margin. Read them with keeps() and near_miss().
    extra = {f"{c.id}__keep": keep_passed_sql(c) for c in program.criteria if c.keep_threshold is not None}
    extra |= {f"{c.id}__near": near_miss_sql(c, program) for c in program.criteria if _has_margin(c, program)}
    # Each pass condition is written once (in ``judged``); ``certified`` combines the flags.
    judged = ", ".join(
        [
            *(f"{value_sql(c, dialect)} AS {c.id}" for c in program.criteria),
            *(f"{passed_sql(c)} AS {c.id}_passed" for c in program.criteria),
            *(f"{expr} AS {name}" for name, expr in extra.items()),
        ]
    )
    eligible = f"status IN ({statuses})"
    if program.levels:
        # Certified means some level is reached; the level is decided once, in ``levelled``.
        level = level_sql(program, eligible)
        judged_sql = f"SELECT worker_id, division, status, {', '.join(raws)}, {judged} FROM ({base}) measured"
        return f"""
        SELECT worker_id, (level IS NOT NULL) AS certified, level, {", ".join(ids)},
               {", ".join(f"{i}_passed" for i in ids)}, division, status, {", ".join(raws + list(extra))}
        FROM (SELECT judged.*, {level} AS level FROM ({judged_sql}) judged) levelled"""
    certified = " AND ".join([eligible, *(f"{i}_passed" for i in ids)])
    return f"""
        SELECT worker_id, ({certified}) AS certified, {", ".join(ids)}, {", ".join(f"{i}_passed" for i in ids)},
               division, status, {", ".join(raws + list(extra))}
        FROM (SELECT worker_id, division, status, {", ".join(raws)}, {judged} FROM ({base}) measured) judged"""


_FORMATS = {".csv": "FORMAT csv, HEADER true", ".parquet": "FORMAT parquet", ".jsonl": "FORMAT json"}


def _has_margin(criterion: Criterion, program: Program) -> bool:
    return program.grace is not None and criterion.id in program.grace.margins


def keeps(row: dict[str, Any], criterion: Criterion) -> bool:
    """Does an already certified worker keep passing this criterion (the keep threshold, else the threshold)?"""
    return bool(row[f"{criterion.id}__keep"] if criterion.keep_threshold is not None else row[f"{criterion.id}_passed"])


def near_miss(row: dict[str, Any], criterion: Criterion, program: Program) -> bool:
    """Does the worker pass this criterion once the grace margin is allowed for?"""
    return bool(row[f"{criterion.id}__near"]) if _has_margin(criterion, program) else keeps(row, criterion)


@dataclass
class Summary:
    workers: int
    eligible: int
    certified: int
    passed: dict[str, int] = field(default_factory=dict)
    #: Programs with levels: workers at each level.
    levels: dict[str, int] = field(default_factory=dict)


@dataclass
class Evaluation:
    """The result of one full evaluation, held in a temporary table of the store's connection."""

    store: FactStore
    program: Program
    period: Period
    seconds: float
    table: str = RESULT_TABLE

    @property
    def columns(self) -> list[str]:
        return output_columns(self.program)

    def summary(self) -> Summary:
        ids = [c.id for c in self.program.criteria]
        statuses = ", ".join(_quote(s) for s in self.program.eligible_statuses)
        row = self.store.query(
            f"""SELECT count(*), count(*) FILTER (WHERE status IN ({statuses})),
                       count(*) FILTER (WHERE certified),
                       {", ".join(f"count(*) FILTER (WHERE {i}_passed)" for i in ids)}
                FROM {self.table}"""
        ).fetchone()
        row = one(row)
        levels: dict[str, int] = {}
        if self.program.levels:
            found = self.store.query(
                f"SELECT level, count(*) FROM {self.table} WHERE level IS NOT NULL GROUP BY level"
            ).fetchall()
            levels = {str(level): int(n) for level, n in found}
        return Summary(row[0], row[1], row[2], dict(zip(ids, row[3:], strict=True)), levels)

    def write(self, path: Path | str) -> Path:
        """Write one row per worker (sorted by worker_id) as .csv, .parquet or .jsonl."""
        path = Path(path)
        options = _FORMATS.get(path.suffix.lower())
        if options is None:
            raise ValueError(f"{path}: unsupported output format; use .csv, .parquet or .jsonl")
        path.parent.mkdir(parents=True, exist_ok=True)
        cols = ", ".join(self.columns)
        self.store.query(
            f"COPY (SELECT {cols} FROM {self.table} ORDER BY worker_id) TO {_quote(str(path))} ({options})"
        )
        return path

    def count(self) -> int:
        """How many workers were evaluated."""
        return int(one(self.store.query(f"SELECT count(*) FROM {self.table}").fetchone())[0])

    def rows(
        self, where: str = "TRUE", limit: int | None = None, *, or_among: Collection[str] = ()
    ) -> list[dict[str, Any]]:
        """Result rows (output columns plus division, status and raw metric columns) as dicts, in worker order:
        those matching ``where``, and those of the workers ``or_among`` names."""
        among = f"{self.table}__among"
        if or_among:
            self.store.query(
                f"CREATE OR REPLACE TEMP TABLE {among} AS SELECT unnest(?::VARCHAR[]) AS worker_id", [list(or_among)]
            )
            where = f"({where}) OR worker_id IN (SELECT worker_id FROM {among})"
        try:
            cursor = self.store.query(
                f"SELECT * FROM {self.table} WHERE {where} ORDER BY worker_id"
                + (f" LIMIT {int(limit)}" if limit else "")
            )
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
        finally:
            if or_among:
                self.store.query(f"DROP TABLE IF EXISTS {among}")


class MissingFacts(ProcertError, ValueError):
    """The program needs optional facts (a column, a table) the store was never given; nothing was evaluated."""


def require_facts(program: Program, provided: set[str]) -> None:
    """Refuse, before any work, a program whose criteria read optional facts no import has supplied."""
    problems = program.missing_facts(provided)
    if problems:
        raise MissingFacts(
            f"{program.label} cannot be evaluated on these facts: "
            + "; ".join(problems)
            + ". Add them to the export (see docs/data-contract.md) and import again."
        )


#: Each worker's declared leave, as the ledger holds it: worker id -> days away.
AwayByWorker = Mapping[str, Sequence[Away]]


def lengthens(program: Program, period: Period) -> bool:
    """Whether a worker's leave (``period.away``) lengthens any window the program's criteria read."""
    plain = period.without_away
    return any(
        c.metric_def.window(c.metric_params, period) != c.metric_def.window(c.metric_params, plain)
        for c in program.criteria
    )


def leave_periods(program: Program, period: Period, away: AwayByWorker | None) -> dict[str, Period]:
    """The workers whose leave lengthens a window as of ``period``, each with their own period. Everyone else is
    evaluated on the program's windows; these are evaluated again, one by one, on theirs (few workers are on
    leave, and the set-based query stays one plan for everyone)."""
    found: dict[str, Period] = {}
    for worker_id, spans in (away or {}).items():
        own = worker_period(program, period, spans)
        if own.away:
            found[worker_id] = own
    return found


def worker_period(program: Program, period: Period, away: Sequence[Away]) -> Period:
    """The period one worker is evaluated on: with their leave when it lengthens a window, else the program's."""
    own = period.with_away(away)
    return own if own.away and lengthens(program, own) else period.without_away


def evaluate(
    store: FactStore,
    program: Program,
    as_of: date,
    *,
    observed_until: date | None = None,
    table: str = RESULT_TABLE,
    away: AwayByWorker | None = None,
) -> Evaluation:
    """Evaluate every stored worker as of 00:00 of ``as_of`` in the program's time zone.

    With ``observed_until`` only facts before that date count: a forecast of ``as_of`` if nothing new happens.
    ``away``: declared leave by worker; their windows are lengthened by the leave days they overlap.
    """
    store.require_timezone(program.timezone)
    require_facts(program, store.provided())
    period = Period(as_of, program.timezone, observed_until)
    started = time.perf_counter()
    store.query(f"CREATE OR REPLACE TEMP TABLE {table} AS {evaluation_sql(program, period)}")
    for worker_id, own in leave_periods(program, period, away).items():
        store.query(f"DELETE FROM {table} WHERE worker_id = ?", [worker_id])
        store.query(f"INSERT INTO {table} {evaluation_sql(program, own, worker_id_param=True)}", [worker_id])
    return Evaluation(store, program, period, time.perf_counter() - started, table)


def with_leave(
    rows: list[dict[str, Any]],
    program: Program,
    period: Period,
    away: AwayByWorker | None,
    evaluate_one: Callable[[str, Period], dict[str, Any] | None],
) -> list[dict[str, Any]]:
    """Full-evaluation rows from another engine with the rows of workers whose leave lengthens a window replaced
    by their own evaluation (``evaluate_one(worker_id, period)``): what :func:`evaluate` does in its table."""
    own = leave_periods(program, period, away)
    if not own:
        return rows
    replaced = {w: evaluate_one(w, p) for w, p in own.items()}
    return [replaced.get(r["worker_id"]) or r for r in rows]


def evaluate_worker(
    store: FactStore,
    program: Program,
    as_of: date,
    worker_id: str,
    *,
    observed_until: date | None = None,
    away: Sequence[Away] = (),
) -> dict[str, Any] | None:
    """One worker's evaluation row (output columns, division, status and raw metric columns), or None. With
    ``observed_until`` only facts before that date count (a forecast, as :func:`evaluate` takes it); ``away``:
    the worker's declared leave."""
    store.require_timezone(program.timezone)
    require_facts(program, store.provided())
    period = worker_period(program, Period(as_of, program.timezone, observed_until), away)
    sql = evaluation_sql(program, period, worker_id_param=True)
    # Prepared once per connection: for one worker, parsing this statement costs a tenth of the call.
    cursor = store.execute_prepared(sql, [worker_id])
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cursor.description], row, strict=True))


def write_rows(rows: list[dict[str, Any]], columns: list[str], path: Path | str) -> Path:
    """Result rows from another engine, written exactly as :meth:`Evaluation.write` writes (same formats, same
    formatting: files from different engines compare byte for byte)."""
    import duckdb
    import pyarrow as pa

    target = Path(path)
    options = _FORMATS.get(target.suffix.lower())
    if options is None:
        raise ValueError(f"{target}: unsupported output format; use .csv, .parquet or .jsonl")
    target.parent.mkdir(parents=True, exist_ok=True)
    result_rows = pa.Table.from_pylist([{c: r.get(c) for c in columns} for r in rows])  # noqa: F841  (read by DuckDB)
    with duckdb.connect() as con:
        selected = f"SELECT {', '.join(columns)} FROM result_rows ORDER BY worker_id"
        con.execute(f"COPY ({selected}) TO {_quote(str(target))} ({options})")
    return target
