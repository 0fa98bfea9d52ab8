"""The embedded facts store: one DuckDB database file holding the imported marketplace facts.

Timestamps are stored as naive UTC instants. Keys that depend on the program's time zone (the calendar month
of each payment) are derived once, at import time, so evaluation queries never convert time zones and stay
portable to other engines.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from procert.errors import ProcertError
from procert.facts.contract import TABLE_ORDER, TABLES, optional_facts
from procert.facts.reads import WorkerReads

#: 2: monthly_earnings.month_rank; 3: workers.identity_verified/last_login_at, inquiries; 4: workers'
#: display_name_kana and skills.
SCHEMA_VERSION = "4"

#: Stored tables. Derived columns (after the contract's columns) are computed at import.
STORED_SCHEMA: dict[str, str] = {
    "workers": """
        worker_id VARCHAR NOT NULL, display_name VARCHAR, division VARCHAR NOT NULL, registered_at TIMESTAMP,
        profile_text VARCHAR, self_pr_text VARCHAR, status VARCHAR NOT NULL, email VARCHAR, locale VARCHAR,
        identity_verified BOOLEAN NOT NULL, last_login_at TIMESTAMP, display_name_kana VARCHAR, skills VARCHAR,
        has_profile_text BOOLEAN NOT NULL, has_self_pr_text BOOLEAN NOT NULL
    """,
    "contracts": """
        contract_id VARCHAR NOT NULL, worker_id VARCHAR NOT NULL, client_id VARCHAR, kind VARCHAR NOT NULL,
        status VARCHAR NOT NULL, amount_jpy BIGINT, started_at TIMESTAMP, closed_at TIMESTAMP
    """,
    "reviews": """
        review_id VARCHAR NOT NULL, contract_id VARCHAR, worker_id VARCHAR NOT NULL, client_id VARCHAR,
        created_at TIMESTAMP NOT NULL, skill SMALLINT NOT NULL, quality SMALLINT NOT NULL,
        schedule SMALLINT NOT NULL, communication SMALLINT NOT NULL, partnership SMALLINT NOT NULL,
        item_sum SMALLINT NOT NULL
    """,
    "payments": """
        payment_id VARCHAR NOT NULL, worker_id VARCHAR NOT NULL, contract_id VARCHAR, paid_at TIMESTAMP NOT NULL,
        amount_jpy BIGINT NOT NULL, paid_month INTEGER NOT NULL
    """,
    "scouts": """
        scout_id VARCHAR NOT NULL, worker_id VARCHAR NOT NULL, client_id VARCHAR, sent_at TIMESTAMP NOT NULL,
        kind VARCHAR NOT NULL
    """,
    "inquiries": """
        inquiry_id VARCHAR NOT NULL, worker_id VARCHAR NOT NULL, client_id VARCHAR, received_at TIMESTAMP NOT NULL,
        replied_at TIMESTAMP, reply_us BIGINT
    """,
}


#: Derived at import from payments and workers (rebuilt whole by every import, inside its transaction): each
#: worker's payments summed per calendar month of the program's time zone, with the worker's current division.
#: Rankings read ~5x fewer rows than from payments, and need no join.
MONTHLY_EARNINGS_SCHEMA = (
    "worker_id VARCHAR NOT NULL, division VARCHAR NOT NULL, paid_month INTEGER NOT NULL, total_jpy BIGINT NOT NULL, "
    "month_rank BIGINT"
)


def month_rank_sql(*, positive_only: bool = False) -> str:
    """A monthly total's rank within its division and month, among the positive totals (ties share the best
    rank; NULL for a total that is not positive), over rows that are ``positive_only`` or not. A month's ranks
    depend on the facts alone, not on the evaluation date, so they are computed once per import and every
    evaluation (one worker or everyone) just reads them."""
    if positive_only:
        return "RANK() OVER (PARTITION BY division, paid_month ORDER BY total_jpy DESC)"
    return """CASE WHEN total_jpy > 0 THEN RANK() OVER (
                  PARTITION BY division, paid_month, CASE WHEN total_jpy > 0 THEN 1 ELSE 0 END
                  ORDER BY total_jpy DESC) END"""


def monthly_totals_sql(where: str = "") -> str:
    """Each worker's payments summed per calendar month, with the worker's current division, of the payments
    that meet ``where`` (a condition on ``p`` and ``w``; all of them by default)."""
    condition = f"WHERE {where}" if where else ""
    return f"""SELECT p.worker_id, w.division, p.paid_month, CAST(SUM(p.amount_jpy) AS BIGINT) AS total_jpy
               FROM payments p JOIN workers w ON w.worker_id = p.worker_id {condition}
               GROUP BY p.worker_id, w.division, p.paid_month"""


#: How the monthly totals derive from the stored facts, with their ranks: portable SQL, also run by Spark on
#: Parquet facts.
def monthly_earnings_sql() -> str:
    return (
        f"SELECT worker_id, division, paid_month, total_jpy, {month_rank_sql()} AS month_rank "
        f"FROM ({monthly_totals_sql()}) totals"
    )


MONTHLY_EARNINGS_SQL = monthly_earnings_sql()


#: Tables that carry an ART index on worker_id, read through it by single-worker evaluation (the dashboard's live
#: preview): DuckDB answers ``worker_id = ?`` from the index instead of scanning a row group per table.
WORKER_INDEXED = ("workers", "contracts", "reviews", "payments", "scouts", "inquiries", "monthly_earnings")
#: The most rows of one table DuckDB fetches for a worker through the worker index; beyond it a scan of the
#: row group is cheaper (indexed rows are fetched one by one: a busy worker's 2,000 contracts took 7 ms so, a row
#: group's scan about 1 ms). DuckDB's own default also allows 0.1 % of the table, 20,000 rows at 1M workers.
INDEX_SCAN_MAX_ROWS = 256
#: A delta up to this share of a table's rows is written with the table's worker index kept (see
#: :meth:`FactStore.drop_worker_index_for`); the monthly totals are refreshed (worker, month) by (worker, month)
#: up to this share of their rows, and rebuilt whole beyond it.
KEEP_INDEX_SHARE = 0.1
PARTIAL_REFRESH_SHARE = 0.3
#: Prepared statements kept per connection (see :meth:`FactStore.execute_prepared`); the oldest are released.
PREPARED_PER_CONNECTION = 16
#: How long a connection to a replaced file stays open at least, for the requests that began on it.
RETIRED_SECONDS = 60.0
#: A memory limit as DuckDB reads it: a number and a unit, decimal (``GB``: 10^9 bytes) or binary (``GiB``: 2^30).
MEMORY_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT])(i?)B\s*$", re.IGNORECASE)


def worker_index(table: str) -> str:
    return f"{table}_by_worker"


def sql_literal(value: str) -> str:
    """A string as an SQL literal: standard SQL strings know one escape, the doubled quote (no backslashes)."""
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return "'" + value.replace("'", "''") + "'"


def one(row: tuple[Any, ...] | None) -> tuple[Any, ...]:
    """The row an aggregate query always returns (a missing one is a broken store, not a case to handle)."""
    if row is None:
        raise FactStoreError("the facts store answered no row to an aggregate query")
    return row


class FactStoreError(ProcertError, RuntimeError):
    """The facts store cannot be used as asked (wrong time zone, newer schema, locked file...)."""


class FactStore(WorkerReads):
    """A DuckDB database of marketplace facts. Use as a context manager or call :meth:`close`."""

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        memory_limit: str | None = None,
        threads: int | None = None,
        read_only: bool = False,
    ) -> None:
        self.path = Path(path) if path is not None else None
        if self.path is not None and not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        if read_only and self.path is not None and not self.path.exists():
            raise FactStoreError(f"no facts database at {self.path}: run `procert import DIR` first")
        config: dict[str, Any] = {}
        if memory_limit:
            config["memory_limit"] = memory_limit
        if threads:
            config["threads"] = threads
        self._prepared: OrderedDict[str, None] = OrderedDict()
        self._local = threading.local()
        # Nothing can import into a store opened read-only (imports write a new file and rename it over this
        # one, see procert.facts.atomic), so the meta data of the open file is fixed.
        self.read_only = read_only
        self._timezone: str | None = None
        self._provided: set[str] | None = None
        self._config = config
        #: Bumped whenever :meth:`reopen_if_replaced` switches to a newer file: caches keyed on it rebuild.
        self.generation = 0
        self._retired: list[tuple[float, duckdb.DuckDBPyConnection]] = []
        self._checked_at = time.monotonic()
        self._swap_lock = threading.Lock()
        self._identity = self._file_identity()
        self.con = self._connect()
        if not read_only:
            self._ensure_schema()
        elif self._has_meta() and self.meta("schema_version") not in (None, SCHEMA_VERSION):
            version = self.meta("schema_version")
            self.con.close()
            raise FactStoreError(
                f"facts database {self.path} has schema version {version}; this procert expects {SCHEMA_VERSION}: "
                "run `procert import` once (any export, even an empty re-import) to upgrade it"
            )

    def _connect(self) -> duckdb.DuckDBPyConnection:
        # Readers open the file the store's link points to now (see procert.facts.atomic): a newer version has
        # another name, so DuckDB opens it afresh instead of handing back the database it has open already.
        target = self.path.resolve() if self.path is not None and self.read_only else self.path
        try:
            con = duckdb.connect(str(target) if target else ":memory:", read_only=self.read_only, config=self._config)
        except duckdb.Error as exc:
            raise FactStoreError(f"cannot open facts database {self.path}: {exc}") from exc
        # DuckDB draws a progress bar on standard output for queries over two seconds: it would corrupt what
        # procert prints there (JSON, CSV) and the CLI shows progress of its own.
        con.execute("SET enable_progress_bar = false")
        con.execute(f"SET index_scan_max_count = {INDEX_SCAN_MAX_ROWS}")
        con.execute("SET index_scan_percentage = 0")
        return con

    def _file_identity(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        try:
            stat = self.path.stat()  # of the version the link points to
        except FileNotFoundError:
            return None
        return (stat.st_dev, stat.st_ino)

    def reload_due(self, every_seconds: float) -> bool:
        """Whether :meth:`reopen_if_replaced` would look at the file system now."""
        return self.read_only and self.path is not None and time.monotonic() - self._checked_at >= every_seconds

    def reopen_if_replaced(self, *, every_seconds: float = 0.0) -> bool:
        """For a read-only store: if an import has switched a newer file in at :attr:`path` (checked at most every
        ``every_seconds``), open it and serve from it from now on. Queries already running finish on the old
        file, which stays open until two switches later and at least :data:`RETIRED_SECONDS`. Returns whether it
        switched."""
        if not self.read_only or self.path is None:
            return False
        now = time.monotonic()
        if now - self._checked_at < every_seconds:
            return False
        self._checked_at = now
        identity = self._file_identity()
        if identity is None or identity == self._identity:
            return False
        with self._swap_lock:
            if identity == self._identity:
                return False
            fresh = self._connect()
            old, self.con = self.con, fresh
            self._identity, self._timezone, self._provided = identity, None, None
            self._prepared = OrderedDict()
            self._local = threading.local()
            self.generation += 1
            # Closing a connection closes its cursors, and a request that began on one may still be reading: a
            # retired connection closes only when it is two switches old *and* has been retired a while (three
            # quick imports used to close one under a request still reading it).
            self._retired.append((now, old))
            while len(self._retired) > 2 and now - self._retired[0][0] >= RETIRED_SECONDS:
                self._retired.pop(0)[1].close()
        return True

    def cursor(self) -> FactStore:
        """A store on a new cursor of the same database: what each thread of a web server must use, since one
        DuckDB connection must not be used by several threads at once."""
        clone = object.__new__(FactStore)
        clone.path, clone.con = self.path, self.con.cursor()
        clone._prepared, clone._local = OrderedDict(), threading.local()
        clone.read_only, clone._timezone, clone._provided = self.read_only, self._timezone, self._provided
        clone.generation, clone._retired = self.generation, []
        return clone

    def thread_cursor(self) -> FactStore:
        """This thread's own cursor, kept for the thread's lifetime: what keeps prepared statements between the
        requests a web server thread handles (see :meth:`execute_prepared`)."""
        local = self._local  # replaced whole when the store switches to a newer file
        cursor = getattr(local, "cursor", None)
        if cursor is None:
            cursor = local.cursor = self.cursor()
        return cursor

    def reader(self) -> duckdb.DuckDBPyConnection:
        """This thread's own connection to the store, for short reads (fetch the rows before the next query).
        Reused for the thread's lifetime: a new DuckDB cursor per query costs memory that is never all given
        back (about 1.5 KB each, measured), which a web server doing it per request leaks steadily."""
        return self.thread_cursor().con

    # -- lifecycle -------------------------------------------------------------------------------------
    def close(self) -> None:
        for _retired_at, old in self._retired:
            old.close()
        self.con.close()

    def __enter__(self) -> FactStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _has_meta(self) -> bool:
        found = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'procert_meta'"
        ).fetchone()
        return bool(found and found[0])

    def _ensure_schema(self) -> None:
        self.con.execute("CREATE TABLE IF NOT EXISTS procert_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        version = self.meta("schema_version")
        if version == "1":
            # Version 2 only adds the monthly ranks, derived from the stored facts: upgrade in place.
            self.con.execute("ALTER TABLE monthly_earnings ADD COLUMN IF NOT EXISTS month_rank BIGINT")
            self.rebuild_monthly_earnings()
            self.set_meta("schema_version", "2")
            version = "2"
        if version == "2":
            self._rebuild_workers(provided={"workers.email", "workers.locale"})
            version = SCHEMA_VERSION
        if version == "3":
            self._rebuild_workers()
            version = SCHEMA_VERSION
        if version is not None and version != SCHEMA_VERSION:
            raise FactStoreError(
                f"facts database {self.path} has schema version {version}; this procert expects "
                f"{SCHEMA_VERSION}. Re-import into a new PROCERT_HOME."
            )
        for table in TABLE_ORDER:
            self.con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({STORED_SCHEMA[table]})")
        self.con.execute(f"CREATE TABLE IF NOT EXISTS monthly_earnings ({MONTHLY_EARNINGS_SCHEMA})")
        # Stores imported before the indexes existed get them here, once (seconds per million workers).
        self.build_worker_indexes()
        self.con.execute(
            """CREATE TABLE IF NOT EXISTS procert_imports (
                   import_id INTEGER, imported_at TIMESTAMP, source VARCHAR, timezone VARCHAR,
                   mode VARCHAR, rows_json VARCHAR)"""
        )
        if version is None:
            self.set_meta("schema_version", SCHEMA_VERSION)

    def _rebuild_workers(self, *, provided: set[str] | None = None) -> None:
        """Versions 3 and 4 add optional worker columns (3: identity_verified, last_login_at, and the optional
        inquiries table; 4: display_name_kana, skills): the table is rebuilt in the contract's column order, which
        the PostgreSQL and Parquet copies keep, the new columns empty. The facts the store had stay recorded as
        provided; the new ones are not (a program needing them refuses until an import brings them). From version
        2, ``provided`` names what the store held."""
        have = {str(row[0]) for row in self.con.execute("SELECT column_name FROM (DESCRIBE workers)").fetchall()}
        columns = [c.name for c in TABLES["workers"].columns] + ["has_profile_text", "has_self_pr_text"]
        empty = {"identity_verified": "FALSE", "last_login_at": "CAST(NULL AS TIMESTAMP)"}
        values = [name if name in have else empty.get(name, "CAST(NULL AS VARCHAR)") for name in columns]
        with self.transaction():
            self.con.execute(f"DROP INDEX IF EXISTS {worker_index('workers')}")
            self.con.execute(f"CREATE TABLE workers_next ({STORED_SCHEMA['workers']})")
            self.con.execute(f"INSERT INTO workers_next SELECT {', '.join(values)} FROM workers")
            self.con.execute("DROP TABLE workers")
            self.con.execute("ALTER TABLE workers_next RENAME TO workers")
            if provided is not None:
                self.set_provided(provided)
            self.set_meta("schema_version", SCHEMA_VERSION)

    # -- metadata --------------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        row = self.con.execute("SELECT value FROM procert_meta WHERE key = ?", [key]).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        self.con.execute("INSERT OR REPLACE INTO procert_meta VALUES (?, ?)", [key, value])

    def provided(self) -> set[str]:
        """The optional facts (``table`` or ``table.column``, see :func:`procert.facts.contract.optional_facts`)
        that some import supplied: what a program may rely on."""
        if self.read_only and self._provided is not None:
            return self._provided
        stored = self.meta("provided")
        provided = set(json.loads(stored)) if stored else set()
        if self.read_only:  # a read-only file never changes (imports switch in a new one)
            self._provided = provided
        return provided

    def set_provided(self, facts: set[str]) -> None:
        self.set_meta("provided", json.dumps(sorted(facts)))

    def missing_facts(self, needed: set[str]) -> set[str]:
        """Which of ``needed`` (optional facts) no import has supplied."""
        return {f for f in needed if f in optional_facts()} - self.provided()

    @property
    def timezone(self) -> str | None:
        """The time zone naive timestamps and month keys were interpreted in at import, if any import ran."""
        if self._timezone is not None:
            return self._timezone
        stored = self.meta("timezone")
        if self.read_only:
            self._timezone = stored
        return stored

    def require_timezone(self, timezone: str) -> None:
        """Refuse to evaluate a program whose time zone differs from the one the facts were keyed in."""
        stored = self.timezone
        if stored is not None and stored != timezone:
            raise FactStoreError(
                f"the facts were imported with time zone {stored}, but the program uses {timezone}; "
                f"re-import the export into a fresh PROCERT_HOME with this program"
            )

    def rebuild_monthly_earnings(self) -> None:
        """Recompute the derived monthly totals from the stored payments and workers, as a new table: replacing
        the table is several times cheaper than deleting millions of rows and committing their deletion. Its
        worker index is left to :meth:`build_worker_indexes`."""
        self.con.execute("DROP INDEX IF EXISTS " + worker_index("monthly_earnings"))
        self.con.execute(f"CREATE TABLE monthly_earnings_rebuilt ({MONTHLY_EARNINGS_SCHEMA})")
        # Sorted by worker: a worker's months sit together, for the full evaluation's scans too.
        self.con.execute(
            f"INSERT INTO monthly_earnings_rebuilt SELECT * FROM ({MONTHLY_EARNINGS_SQL}) m ORDER BY worker_id"
        )
        self.con.execute("DROP TABLE monthly_earnings")
        self.con.execute("ALTER TABLE monthly_earnings_rebuilt RENAME TO monthly_earnings")

    def refresh_monthly_earnings(self, months: str) -> tuple[int, int]:
        """Recompute the monthly totals listed in the table ``months`` (worker_id, paid_month) from the stored
        payments and divisions, and re-rank the (division, month) partitions those totals were in or are in now:
        a month's ranks depend on its own partition alone, so the others stay exact. What is written is what
        changed: the listed totals, and the ranks that moved. Rebuilds the whole table instead when the list
        holds a large share of its rows. Returns (totals recomputed, rows re-ranked)."""
        con = self.con
        con.execute(f"CREATE OR REPLACE TEMP TABLE refreshed AS SELECT DISTINCT worker_id, paid_month FROM {months}")

        def listed(t: str) -> str:
            return (
                f"{t}.worker_id IN (SELECT worker_id FROM refreshed) AND EXISTS (SELECT 1 FROM refreshed k "
                f"WHERE k.worker_id = {t}.worker_id AND k.paid_month = {t}.paid_month)"
            )

        stored = one(con.execute("SELECT count(*) FROM monthly_earnings").fetchone())[0]
        affected = one(con.execute(f"SELECT count(*) FROM monthly_earnings e WHERE {listed('e')}").fetchone())[0]
        if stored == 0 or affected > PARTIAL_REFRESH_SHARE * stored:
            con.execute("DROP TABLE refreshed")
            self.rebuild_monthly_earnings()
            rebuilt = int(one(con.execute("SELECT count(*) FROM monthly_earnings").fetchone())[0])
            return rebuilt, rebuilt
        partitions = f"SELECT DISTINCT division, paid_month FROM monthly_earnings e WHERE {listed('e')}"
        con.execute(f"CREATE OR REPLACE TEMP TABLE reranked AS {partitions}")
        con.execute(f"DELETE FROM monthly_earnings e WHERE {listed('e')}")
        totals = monthly_totals_sql(listed("p"))
        inserted = con.execute(f"INSERT INTO monthly_earnings SELECT *, NULL FROM ({totals}) t ORDER BY worker_id")
        count = int(one(inserted.fetchone())[0])
        con.execute(f"INSERT INTO reranked {partitions}")
        # One window over the positive totals of those partitions (the recomputed totals were written unranked,
        # and a total that is not positive has no rank), compared with the stored ranks in the same pass: only the
        # ranks that moved are written, an UPDATE of one column, no rewrite of the table or its index. Joined as a
        # subquery, DuckDB probes it with the table's scan and updates in row order: from a table of the moved
        # ranks it updated in their order instead, 60x slower after the deletes above (measured at 1M workers).
        in_partitions = "FROM monthly_earnings e SEMI JOIN reranked r USING (division, paid_month)"
        con.execute(
            f"""UPDATE monthly_earnings SET month_rank = n.month_rank
                FROM (SELECT e.rowid AS row_id, e.month_rank AS stored_rank,
                             {month_rank_sql(positive_only=True)} AS month_rank
                      {in_partitions} WHERE e.total_jpy > 0) n
                WHERE monthly_earnings.rowid = n.row_id AND n.stored_rank IS DISTINCT FROM n.month_rank"""
        )
        reranked = int(one(con.execute(f"SELECT count(*) {in_partitions}").fetchone())[0])
        con.execute("DROP TABLE reranked")
        con.execute("DROP TABLE refreshed")
        return count, reranked

    def drop_worker_index_for(self, table: str, *, incoming: int | None = None) -> bool:
        """Drop ``table``'s worker index before a bulk change (``incoming`` rows; None: the table is rewritten),
        for :meth:`build_worker_indexes` to build again: building an index once over millions of rows is several
        times faster than maintaining it row by row. A small delta (at most a tenth of the table's rows) keeps
        the index: rebuilding it would cost as much as the table. Returns whether it dropped it."""
        if incoming is not None:
            stored = one(self.con.execute(f"SELECT count(*) FROM {table}").fetchone())[0]
            if stored and incoming <= KEEP_INDEX_SHARE * stored:
                return False
        self.con.execute(f"DROP INDEX IF EXISTS {worker_index(table)}")
        return True

    def missing_worker_indexes(self) -> list[str]:
        """The tables whose worker index is missing (dropped for a bulk write and not built again yet)."""
        present = {row[0] for row in self.con.execute("SELECT index_name FROM duckdb_indexes()").fetchall()}
        return [t for t in WORKER_INDEXED if worker_index(t) not in present]

    def build_worker_indexes(self) -> None:
        """Build the worker indexes that are missing (after an import, and on opening a store from before them
        or left without them by a crash between an import's commit and this). Imports call it after their
        commit: DuckDB committed a 1M-worker import that had built them in the transaction in 43 s, against
        21 s without them and 8 s to build them afterwards."""
        for table in WORKER_INDEXED:
            self.con.execute(f"CREATE INDEX IF NOT EXISTS {worker_index(table)} ON {table} (worker_id)")

    # -- reading -------------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        return {t: one(self.con.execute(f"SELECT count(*) FROM {t}").fetchone())[0] for t in TABLE_ORDER}

    @property
    def memory_limit_bytes(self) -> int | None:
        """The memory limit the store was opened with, in bytes; None when it has none (DuckDB's default of 80 % of
        the machine's memory) or when the limit is not a plain size."""
        found = MEMORY_SIZE.match(str(self._config.get("memory_limit") or ""))
        if found is None:
            return None
        number, unit, binary = found.groups()
        power = "KMGT".index(unit.upper()) + 1
        return int(float(number) * (1024 if binary else 1000) ** power)

    def is_empty(self) -> bool:
        return bool(one(self.con.execute("SELECT count(*) FROM workers").fetchone())[0] == 0)

    def fingerprint(self) -> str:
        """A digest of every stored fact: equal fingerprints mean an evaluation would see equal inputs."""
        digest = hashlib.sha256()
        for table in TABLE_ORDER:
            row = one(self.con.execute(f"SELECT count(*), coalesce(bit_xor(hash(t)), 0) FROM {table} AS t").fetchone())
            digest.update(f"{table}:{row[0]}:{row[1]};".encode())
        return digest.hexdigest()[:16]

    def query(self, sql: str, params: list[Any] | None = None) -> duckdb.DuckDBPyConnection:
        return self.con.execute(sql, params or [])

    def arrow_batches(self, sql: str, params: list[Any] | None = None, *, rows: int = 50_000) -> Any:
        """The result of ``sql`` as a stream of Arrow record batches of up to ``rows`` rows (a
        ``pyarrow.RecordBatchReader``), read as it is consumed, with no Python object per value."""
        return self.con.sql(sql, params=params or []).to_arrow_reader(rows)

    def execute_prepared(self, sql: str, args: Sequence[str]) -> duckdb.DuckDBPyConnection:
        """Run ``sql`` (parameters ``$1``..``$n``, strings) as a statement prepared once on this connection.

        DuckDB then parses the query once rather than on every call (it still plans it again with the
        arguments' values): about a tenth of a single-worker evaluation at 1M workers, bench/results-engines.md.
        ``EXECUTE`` takes no bound parameters, so the arguments go in as quoted
        literals (:func:`sql_literal`). Statements are named by their text; the least recently used beyond
        :data:`PREPARED_PER_CONNECTION` are released (a new evaluation date means a new statement).
        """
        name = "procert_" + hashlib.sha256(sql.encode()).hexdigest()[:20]
        if name in self._prepared:
            self._prepared.move_to_end(name)
        else:
            self.con.execute(f"PREPARE {name} AS {sql}")
            self._prepared[name] = None
            while len(self._prepared) > PREPARED_PER_CONNECTION:
                oldest, _ = self._prepared.popitem(last=False)
                self.con.execute(f"DEALLOCATE {oldest}")
        literals = ", ".join(sql_literal(a) for a in args)
        return self.con.execute(f"EXECUTE {name}({literals})")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")
