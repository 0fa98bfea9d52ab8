"""The import's checks, as SQL over the staged rows: types and shapes per column kind, references between
tables, contracts and reviews, owners (rows never move to another worker); and the typed rows to store."""

from __future__ import annotations

import duckdb

from procert.facts.contract import (
    MAX_YEAR,
    MIN_YEAR,
    PLAIN_ADDRESS_MAX_LENGTH,
    PLAIN_ADDRESS_PATTERN,
    TABLES,
    Column,
    Table,
)
from procert.facts.files import MAX_FIELD_CHARS
from procert.facts.problems import (
    BLANK_PATTERN,
    OFFSET_PATTERN,
    REASON_ID,
    Collector,
    sql_ident,
    sql_quote,
    sql_reason,
)
from procert.facts.store import one


def timestamp_shape(raw: str) -> str:
    """Cheap ISO 8601 shape test (DuckDB's own parser also accepts forms such as '2024-1-1')."""
    return (
        f"(length({raw}) >= 10 AND {raw}[5] = '-' AND {raw}[8] = '-' AND (length({raw}) = 10 "
        f"OR ({raw}[11] IN ('T', ' ') AND {raw}[14] = ':')))"
    )


#: Staged column types a column of each kind is checked in as they are (any other type is checked as its text).
INTEGER_TYPES = frozenset(
    ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT")
)
TIMESTAMP_TYPES = frozenset(
    ("TIMESTAMP WITH TIME ZONE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "DATE")
)
NATIVE_TYPES: dict[str, frozenset[str]] = {
    "integer": INTEGER_TYPES,
    "rating": INTEGER_TYPES,
    "timestamp": TIMESTAMP_TYPES,
    "boolean": frozenset(("BOOLEAN",)),
}


def build_typed(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    staged_types: dict[str, str],
    *,
    row_number: str = "rowid + 1",
    database: str | None = None,
) -> None:
    """Convert ``stage_<t>`` to ``typed_<t>`` (a temporary table, or one in the attached ``database``) in one
    pass: every value parsed once and, beside each column,
    ``err_<column>``: why the value is bad, or NULL. ``staged_types`` holds the staged contract columns' types
    (VARCHAR for CSV; Parquet's own, where an integer, timestamp or boolean column is taken as it is and only its
    range is checked); ``row_number`` is the SQL of the data row number."""
    inner = [f"{row_number} AS _row"]
    outer = ["_row"]
    for col in table.columns:
        name = col.name
        if name not in staged_types:
            typed_null = {"timestamp": "TIMESTAMPTZ", "boolean": "BOOLEAN"}.get(col.kind, "VARCHAR")
            outer.append(f"CAST(NULL AS {typed_null}) AS {name}")
            continue
        c = sql_ident(name)
        staged_type = staged_types[name]
        raw, value = f"r_{name}", f"v_{name}"
        reasons = [] if col.nullable else [f"WHEN {raw} IS NULL THEN {sql_reason('import_empty')}"]
        if staged_type in NATIVE_TYPES.get(col.kind, ()):
            inner.append(f"{c} AS {raw}")
            inner.append(f"{_native_value(col, c, staged_type)} AS {value}")
            reasons += _native_reasons(col, raw, value)
        else:
            if staged_type != "VARCHAR":
                c = f"CAST({c} AS VARCHAR)"
            inner.append(f"NULLIF(trim({c}), '') AS {raw}")
            inner.append(f"{_text_value(col, c, raw)} AS {value}")
            reasons += _text_reasons(col, c, raw, value)
        outer.append(f"{value} AS {name}")
        if reasons:
            # Empty cells of nullable columns are fine; every other reason applies to non-empty cells.
            guard = "" if not col.nullable else f"WHEN {raw} IS NULL THEN NULL "
            outer.append(f"CASE {guard}{' '.join(reasons)} END AS err_{name}")
    target = f"TABLE {database}.typed_{table.name}" if database else f"TEMP TABLE typed_{table.name}"
    con.execute(
        f"CREATE OR REPLACE {target} AS "
        f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM stage_{table.name})"
    )


def _native_value(col: Column, c: str, staged_type: str) -> str:
    if col.kind == "timestamp":
        # A timestamp without a zone (or a date) is wall-clock time in the program's zone, as its text would be.
        return c if staged_type == "TIMESTAMP WITH TIME ZONE" else f"CAST(CAST({c} AS TIMESTAMP) AS TIMESTAMPTZ)"
    if col.kind == "boolean":
        return c
    return f"TRY_CAST({c} AS BIGINT)"


def _range_reasons(col: Column, number: str, got: str) -> list[str]:
    """Why an integer or rating ``number`` (SQL) is outside the column's range: one rule for typed and text values.
    ``got``: the SQL of the value as given."""
    if col.kind == "rating":
        rating = sql_reason(
            "import_rating_range", minimum=sql_quote(f"{col.minimum}"), maximum=sql_quote(f"{col.maximum}"), got=got
        )
        return [f"WHEN {number} NOT BETWEEN {col.minimum} AND {col.maximum} THEN {rating}"]
    reasons = []
    if col.minimum is not None:
        low = sql_reason("import_at_least", minimum=sql_quote(f"{col.minimum:,}"), got=got)
        reasons.append(f"WHEN {number} < {col.minimum} THEN {low}")
    if col.maximum is not None:
        high = sql_reason("import_at_most", maximum=sql_quote(f"{col.maximum:,}"), got=got)
        reasons.append(f"WHEN {number} > {col.maximum} THEN {high}")
    return reasons


def _year_reason(value: str, got: str) -> str:
    years = sql_reason("import_year_range", first=sql_quote(str(MIN_YEAR)), last=sql_quote(str(MAX_YEAR)), got=got)
    return f"WHEN NOT isfinite({value}) OR year({value}) NOT BETWEEN {MIN_YEAR} AND {MAX_YEAR} THEN {years}"


def _native_reasons(col: Column, raw: str, value: str) -> list[str]:
    """Why a value stored in the column's own type (a Parquet integer, timestamp or boolean) is bad."""
    got = f"CAST({raw} AS VARCHAR)"
    reasons: list[str] = []
    if col.kind in ("integer", "rating"):
        # Compared as stored: an unsigned or 128-bit value beyond the range is reported by its bound.
        reasons += _range_reasons(col, raw, got)
        reasons.append(f"WHEN {value} IS NULL THEN {sql_reason('import_not_int64', got=got)}")
    elif col.kind == "timestamp":
        reasons.append(_year_reason(value, got))
    return reasons


def _text_value(col: Column, c: str, raw: str) -> str:
    """A column's value parsed from its text (every CSV cell; a Parquet column of another type than its kind's)."""
    if col.kind in ("text", "line"):
        return c
    if col.kind in ("id", "enum", "email"):
        return raw
    if col.kind in ("integer", "rating"):
        # The pattern first: TRY_CAST alone would round '4.5' to 5.
        return f"CASE WHEN regexp_full_match({raw}, '[+-]?[0-9]+') THEN TRY_CAST({raw} AS BIGINT) END"
    if col.kind == "boolean":
        return f"CASE lower({raw}) WHEN 'true' THEN TRUE WHEN 'false' THEN FALSE END"
    return f"CASE WHEN {timestamp_shape(raw)} THEN TRY_CAST({raw} AS TIMESTAMPTZ) END"


def _text_reasons(col: Column, c: str, raw: str, value: str) -> list[str]:
    """Why a value given as text is bad."""
    got = f"left({raw}, 40)"
    reasons: list[str] = []
    if col.kind in ("text", "line"):
        too_long = sql_reason(
            "import_too_long", length=f"format('{{:,}}', length({c}))", limit=sql_quote(f"{MAX_FIELD_CHARS:,}")
        )
        reasons.append(f"WHEN length({c}) > {MAX_FIELD_CHARS} THEN {too_long}")
    if col.kind in ("id", "line", "email"):
        # Control characters (NUL, line breaks, ESC…) break mail headers, URLs and other databases.
        reasons.append(f"WHEN regexp_matches({c}, '[\\x00-\\x1f\\x7f]') THEN {sql_reason('import_control_character')}")
    if col.kind == "email":
        # The contract's one rule (procert.facts.contract.email_problem), called from SQL for the addresses that
        # are not of the plain shape it always accepts (a Python call per address took 3.9 s at 1M workers).
        shape = sql_quote(PLAIN_ADDRESS_PATTERN)
        plain = f"strlen({raw}) <= {PLAIN_ADDRESS_MAX_LENGTH} AND regexp_full_match({raw}, {shape})"
        reasons.append(
            f"WHEN NOT ({plain}) AND procert_email_problem({raw}) IS NOT NULL "
            f"THEN json_object('{REASON_ID}', procert_email_problem({raw}), 'got', {got})"
        )
    if col.kind == "enum":
        choices = ", ".join(sql_quote(v) for v in col.choices)
        unknown = sql_reason("import_unknown_choice", value=got, expected=sql_quote(", ".join(col.choices)))
        reasons.append(f"WHEN {raw} NOT IN ({choices}) THEN {unknown}")
    elif col.kind in ("integer", "rating"):
        reasons.append(f"WHEN {value} IS NULL THEN {sql_reason('import_not_integer', got=got)}")
        reasons += _range_reasons(col, value, got)
    elif col.kind == "boolean":
        reasons.append(f"WHEN {value} IS NULL THEN {sql_reason('import_not_boolean', got=got)}")
    elif col.kind == "timestamp":
        reasons.append(f"WHEN {value} IS NULL THEN {sql_reason('import_not_timestamp', got=got)}")
        sign, hours, minutes = (f"regexp_extract({raw}, '{OFFSET_PATTERN}', {n})" for n in (1, 2, 3))
        reasons.append(
            f"WHEN regexp_matches({raw}, '{OFFSET_PATTERN}') AND ("
            f"CAST({hours} AS INTEGER) > CASE {sign} WHEN '-' THEN 12 ELSE 14 END "
            f"OR CAST(coalesce(NULLIF({minutes}, ''), '0') AS INTEGER) > 59) "
            f"THEN {sql_reason('import_bad_offset', got=got)}"
        )
        reasons.append(_year_reason(value, got))
    return reasons


def column_checks(table: Table, file: str, con: duckdb.DuckDBPyConnection, problems: Collector) -> None:
    typed = f"typed_{table.name}"
    err_columns = {row[0] for row in con.execute(f"DESCRIBE {typed}").fetchall() if row[0].startswith("err_")}
    # One pass over the table finds which columns have bad values at all (none, in a good export); only those
    # are read again for their rows and reasons.
    flagged: set[str] = set()
    if err_columns:
        counts = ", ".join(f"count({name}) AS {name}" for name in sorted(err_columns))
        found = con.execute(f"SELECT {counts} FROM {typed}").fetchone()
        flagged = {name for name, n in zip(sorted(err_columns), found or (), strict=True) if n}
    for col in table.columns:
        if f"err_{col.name}" in flagged:
            problems.add_query(
                con,
                file,
                col.name,
                f"SELECT _row AS row, err_{col.name} AS reason FROM {typed} WHERE err_{col.name} IS NOT NULL",
            )
    # Duplicate keys: every occurrence after the first is a problem. Counting distinct keys first is cheaper
    # than grouping them with their rows, and a good export has none.
    key = table.key
    distinct, given = one(con.execute(f"SELECT count(DISTINCT {key}), count({key}) FROM {typed}").fetchone())
    if distinct == given:
        return
    problems.add_query(
        con,
        file,
        key,
        f"""SELECT t._row AS row,
                   {sql_reason("import_duplicate_key", key=sql_quote(key), value=f"t.{key}", first_row="d.first_row")}
                   AS reason
            FROM {typed} t
            JOIN (SELECT {key}, min(_row) AS first_row FROM {typed} WHERE {key} IS NOT NULL
                  GROUP BY {key} HAVING count(*) > 1) d ON d.{key} = t.{key}
            WHERE t._row <> d.first_row""",
    )


def reference_checks(
    table: Table,
    present: set[str],
    file: str,
    staged: set[str],
    replace: bool,
    con: duckdb.DuckDBPyConnection,
    problems: Collector,
) -> None:
    for col in table.columns:
        if col.references is None or col.name not in present:
            continue
        target = TABLES[col.references]
        # Anti-joins probing the staged keys against each side: no hash table of every stored key (20 million
        # contracts at 1M workers) for a delta of a few thousand rows.
        unknown = []
        if col.references in staged:
            unknown.append(f"NOT EXISTS (SELECT 1 FROM typed_{target.name} t WHERE t.{target.key} = s.{col.name})")
        if not replace:
            unknown.append(f"NOT EXISTS (SELECT 1 FROM stored_{target.name} m WHERE m.{target.key} = s.{col.name})")
        elif col.references not in staged:
            unknown.append(f"NOT EXISTS (SELECT 1 FROM main.{target.name} m WHERE m.{target.key} = s.{col.name})")
        unknown_reference = sql_reason(
            "import_unknown_reference", key=sql_quote(target.key), value=f"s.{col.name}", table=sql_quote(target.name)
        )
        problems.add_query(
            con,
            file,
            col.name,
            f"""SELECT s._row AS row,
                       {unknown_reference} AS reason
                FROM typed_{table.name} s
                WHERE s.{col.name} IS NOT NULL AND {" AND ".join(unknown)}""",
        )


def contract_checks(present: set[str], file: str, con: duckdb.DuckDBPyConnection, problems: Collector) -> None:
    if {"status", "closed_at"} <= present:
        problems.add_query(
            con,
            file,
            "closed_at",
            f"""SELECT _row AS row,
                      CASE WHEN status IN ('delivered', 'cancelled') AND closed_at IS NULL AND err_closed_at IS NULL
                           THEN {sql_reason("import_closed_needs_closed_at", status="status")}
                           WHEN status = 'active' AND closed_at IS NOT NULL
                           THEN {sql_reason("import_active_has_closed_at")} END AS reason
               FROM typed_contracts WHERE reason IS NOT NULL""",
        )
    if {"started_at", "closed_at"} <= present:
        problems.add_query(
            con,
            file,
            "closed_at",
            f"SELECT _row AS row, {sql_reason('import_before_started')} AS reason FROM typed_contracts "
            "WHERE closed_at < started_at",
        )


def inquiry_checks(present: set[str], file: str, con: duckdb.DuckDBPyConnection, problems: Collector) -> None:
    if {"received_at", "replied_at"} <= present:
        problems.add_query(
            con,
            file,
            "replied_at",
            f"SELECT _row AS row, {sql_reason('import_before_received')} AS reason FROM typed_inquiries "
            "WHERE replied_at < received_at",
        )


def review_checks(
    present: set[str],
    file: str,
    staged: set[str],
    replace: bool,
    con: duckdb.DuckDBPyConnection,
    problems: Collector,
    *,
    nothing_stored: bool = False,
) -> None:
    """A review's worker is its contract's: the staged contract's, else the stored one's."""
    if not {"contract_id", "worker_id"} <= present:
        return
    # A contract sent with the reviews counts over the stored one (which it replaces).
    sources = []
    if "contracts" in staged:
        sources.append("SELECT contract_id AS cid, worker_id AS wid, 0 AS pri FROM typed_contracts")
    if not replace and not nothing_stored:
        sources.append("SELECT contract_id AS cid, worker_id AS wid, 1 AS pri FROM stored_contracts")
    elif replace and "contracts" not in staged:
        sources.append("SELECT contract_id AS cid, worker_id AS wid, 1 AS pri FROM main.contracts")
    if not sources:
        return
    if len(sources) == 1:
        # One side (a whole export, a first import, reviews alone): a plain join, no grouping of 20M contracts.
        contracts = f"({sources[0]})"
    else:
        # Only the staged contracts the reviews name: a semi-join, not a grouping of every staged contract.
        sources[0] += " WHERE contract_id IN (SELECT contract_id FROM typed_reviews)"
        contracts = f"(SELECT cid, arg_min(wid, pri) AS wid FROM ({' UNION ALL '.join(sources)}) GROUP BY cid)"
    problems.add_query(
        con,
        file,
        "worker_id",
        f"""SELECT r._row AS row,
                   {sql_reason("import_review_worker", worker="r.worker_id", contract="c.cid", owner="c.wid")}
                   AS reason
            FROM typed_reviews r JOIN {contracts} c ON c.cid = r.contract_id
            WHERE c.wid <> r.worker_id""",
    )


def find_stored(
    table: Table,
    staged: set[str],
    present: dict[str, set[str]],
    con: duckdb.DuckDBPyConnection,
    *,
    nothing_stored: bool = False,
) -> None:
    """``stored_<t>``: the stored rows of ``table`` whose key a staged row names, its own or as a reference, in
    one scan of the stored keys: their ``row_id``, key, owner (a worker's division), a payment's month, and
    ``sent``: whether the staged table sends the row again. The reference, owner and review checks, the earnings
    and the delete of the rows being replaced read this instead of each joining every stored row (20 million
    contracts at 1M workers) for a delta of a few thousand. Into an empty store (``nothing_stored``) it is
    empty without a look at the staged keys."""
    key = table.key
    named = [f"SELECT {key} FROM typed_{table.name}"] if table.name in staged else []
    for other in sorted(staged):
        for col in TABLES[other].columns:
            if col.references == table.name and col.name in present[other]:
                named.append(f"SELECT {col.name} FROM typed_{other}")
    sent = (
        f"{key} IN (SELECT {key} FROM typed_{table.name})" if table.name in staged and not nothing_stored else "false"
    )
    carried = {"workers": "division", "payments": "worker_id, paid_month"}.get(table.name, "worker_id")
    rows = " UNION ALL ".join(named) if named and not nothing_stored else f"SELECT CAST(NULL AS VARCHAR) AS {key}"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE stored_{table.name} AS
            SELECT rowid AS row_id, {key}, {carried}, {sent} AS sent FROM main.{table.name}
            WHERE {key} IN ({rows})"""
    )


def owner_checks(table: Table, file: str, con: duckdb.DuckDBPyConnection, problems: Collector) -> None:
    """An upsert may correct a row, never hand it to another worker (its reviews and payments would follow)."""
    moved = sql_reason("import_row_moves", key=sql_quote(table.key), value=f"t.{table.key}", owner="s.worker_id")
    problems.add_query(
        con,
        file,
        "worker_id",
        f"""SELECT t._row AS row,
                   {moved} AS reason
            FROM typed_{table.name} t JOIN stored_{table.name} s ON s.{table.key} = t.{table.key}
            WHERE t.worker_id IS NOT NULL AND s.worker_id <> t.worker_id""",
    )


def match_sent_again(table: Table, present: set[str], con: duckdb.DuckDBPyConnection) -> None:
    """Prepare a delta's write of ``table`` after :func:`find_stored`: ``twins_<t>``, the stored rows it sends
    again, whole (fetched by row id: a scan of every column of the table was 2-3 times slower at 1M workers); the
    optional columns the file leaves out kept from them; and ``unchanged_<t>``, the keys of the rows it sends
    again exactly as they are stored. Those are not written: a day's facts sent again are mostly unchanged, and
    deleting and inserting a row again costs the worker index a removal at the commit (4.6 s for 385,000 scouts
    at 1M workers), while updating it in place makes the next checkpoint rewrite its string columns whole (3.4 s
    for payments' contract ids, for 438 rows)."""
    name, key = table.name, table.key
    sent = f"SELECT row_id FROM stored_{name} WHERE sent"
    if one(con.execute(f"SELECT count(*) FROM ({sent})").fetchone())[0] == 0:
        rows = f"SELECT * FROM main.{name} LIMIT 0"
    else:
        rows = f"SELECT * FROM main.{name} WHERE rowid IN ({sent})"
    con.execute(f"CREATE OR REPLACE TEMP TABLE twins_{name} AS {rows}")
    _keep_stored_values(con, table, present)
    same = " AND ".join(f"s.{column} IS NOT DISTINCT FROM n.{column}" for column, _ in stored_columns(table))
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE unchanged_{name} AS
            SELECT n.{key} FROM (SELECT {stored_select(table)} FROM typed_{name}) n
            JOIN twins_{name} s ON s.{key} = n.{key} WHERE {same}"""
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
            LEFT JOIN twins_{table.name} s ON s.{key} = t.{key}"""
    )


#: The calendar month of a payment in the program's (the session's) time zone, from the staged ``paid_at``
#: (TIMESTAMPTZ): year * 12 + month - 1.
PAID_MONTH_SQL = "year(paid_at) * 12 + month(paid_at) - 1"


def stored_columns(table: Table) -> list[tuple[str, str]]:
    """The stored columns of ``table`` as (name, SQL over its validated typed table), derived ones included."""

    def column(col: Column) -> str:
        if col.kind == "timestamp":
            # TIMESTAMPTZ -> naive UTC instant by plain arithmetic on the epoch (no time-zone lookup per row).
            return f"make_timestamp(epoch_us({col.name}))"
        if col.empty_means is not None:
            return f"coalesce({col.name}, {str(col.empty_means).upper()})"
        return col.name

    parts = [(c.name, column(c)) for c in table.columns]
    if table.name == "workers":
        parts += [
            ("has_profile_text", f"NOT regexp_full_match(coalesce(profile_text, ''), '{BLANK_PATTERN}')"),
            ("has_self_pr_text", f"NOT regexp_full_match(coalesce(self_pr_text, ''), '{BLANK_PATTERN}')"),
        ]
    elif table.name == "reviews":
        parts.append(("item_sum", "skill + quality + schedule + communication + partnership"))
    elif table.name == "payments":
        parts.append(("paid_month", PAID_MONTH_SQL))
    elif table.name == "inquiries":
        # How long the first reply took, in microseconds (NULL: never replied): response rates compare it.
        parts.append(("reply_us", "epoch_us(replied_at) - epoch_us(received_at)"))
    return parts


def stored_select(table: Table) -> str:
    """SELECT list turning a validated typed table into the stored columns (:func:`stored_columns`)."""
    return ", ".join(name if sql == name else f"{sql} AS {name}" for name, sql in stored_columns(table))
