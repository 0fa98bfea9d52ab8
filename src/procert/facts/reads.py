"""What the later stages ask the facts for (does a worker exist, their public profile, contacts, worker search,
contract amounts and starts): written here once, so no web route, benefit or ledger flow writes facts SQL.

Mixed into :class:`~procert.facts.store.FactStore`; every read uses the calling thread's own connection
(:meth:`~procert.facts.store.FactStore.reader`), so the web's worker threads may call them at once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb

#: Worker search (the admin console) answers at most this many matches.
SEARCH_LIMIT = 20


@dataclass(frozen=True)
class WorkerFacts:
    """One worker as the facts know them now."""

    worker_id: str
    display_name: str  # the worker id when the export gave no name
    division: str
    status: str  # account status: active, suspended, withdrawn …
    email: str | None
    locale: str  # ja unless the export said otherwise
    profile_text: str
    self_pr_text: str
    display_name_kana: str = ""  # the name's reading, when the export gave one
    skills: tuple[str, ...] = ()  # the skills the worker lists (the export's ";"-separated column)

    @property
    def active(self) -> bool:
        return self.status == "active"


#: The workers columns :func:`worker_facts_of` reads, in order.
WORKER_COLUMNS = (
    "worker_id, display_name, division, status, email, locale, profile_text, self_pr_text, display_name_kana, skills"
)


def worker_facts_of(row: Sequence[object]) -> WorkerFacts:
    """A :class:`WorkerFacts` from :data:`WORKER_COLUMNS` as the store returns them."""
    w, name, division, status, email, locale, profile, self_pr, kana, skills = row
    return WorkerFacts(
        str(w),
        str(name or w),
        str(division),
        str(status),
        str(email) if email else None,
        str(locale or "ja"),
        str(profile or ""),
        str(self_pr or ""),
        str(kana or "").strip(),
        tuple(s.strip() for s in str(skills or "").split(";") if s.strip()),
    )


def _like_pattern(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@dataclass(frozen=True)
class HiringRecord:
    """What a client reads before hiring: delivered work, repeat clients, replies, the latest reviews."""

    delivered: int
    clients: int
    repeat_clients: int  # clients with two delivered contracts or more
    median_reply_hours: float | None  # None: no inquiry imported, or none answered
    recent_reviews: list[tuple[datetime, float]]  # (when, the mean of the five items), newest first

    @property
    def repeat_share(self) -> float | None:
        return self.repeat_clients / self.clients if self.clients else None


class WorkerReads(ABC):
    """The reads, over the connection :meth:`reader` gives (:class:`FactStore` implements it)."""

    @abstractmethod
    def reader(self) -> duckdb.DuckDBPyConnection:
        """This thread's own connection to the store."""

    def has_worker(self, worker_id: str) -> bool:
        return self.reader().execute("SELECT 1 FROM workers WHERE worker_id = ?", [worker_id]).fetchone() is not None

    def worker(self, worker_id: str) -> WorkerFacts | None:
        row = self.reader().execute(f"SELECT {WORKER_COLUMNS} FROM workers WHERE worker_id = ?", [worker_id]).fetchone()
        return worker_facts_of(row) if row is not None else None

    def workers(self, worker_ids: Sequence[str]) -> dict[str, WorkerFacts]:
        """The listed workers the facts hold (unknown ids are left out)."""
        if not worker_ids:
            return {}
        rows = (
            self.reader()
            .execute(f"SELECT {WORKER_COLUMNS} FROM workers WHERE worker_id IN (SELECT unnest($1))", [list(worker_ids)])
            .fetchall()
        )
        return {str(r[0]): worker_facts_of(r) for r in rows}

    def active_workers(self, *, limit: int) -> list[WorkerFacts]:
        """The first ``limit`` active workers by id (the demo's sign-in page)."""
        rows = (
            self.reader()
            .execute(
                f"SELECT {WORKER_COLUMNS} FROM workers WHERE status = 'active' ORDER BY worker_id LIMIT ?", [limit]
            )
            .fetchall()
        )
        return [worker_facts_of(r) for r in rows]

    def find_workers(self, text: str, *, limit: int = SEARCH_LIMIT) -> list[WorkerFacts]:
        """Workers whose id or name contains ``text`` (case-insensitive, wildcards taken literally), by id."""
        pattern = _like_pattern(text)
        rows = (
            self.reader()
            .execute(
                f"SELECT {WORKER_COLUMNS} FROM workers WHERE worker_id ILIKE ? ESCAPE '\\' "
                "OR display_name ILIKE ? ESCAPE '\\' ORDER BY worker_id LIMIT ?",
                [pattern, pattern, limit],
            )
            .fetchall()
        )
        return [worker_facts_of(r) for r in rows]

    def latest_imports(self, *, limit: int) -> list[tuple[int, datetime, str, str]]:
        """The latest imports, newest first: (number, when in UTC, upsert or replace, the folder imported)."""
        rows = (
            self.reader()
            .execute(
                "SELECT import_id, imported_at, mode, source FROM procert_imports ORDER BY import_id DESC LIMIT ?",
                [limit],
            )
            .fetchall()
        )
        return [(int(i), at, str(mode), str(source)) for i, at, mode, source in rows]

    def hiring_record(self, worker_id: str, *, before: datetime, with_inquiries: bool) -> HiringRecord:
        """The worker's record as of ``before`` (naive UTC): :func:`hiring_records_sql` narrowed to their rows,
        each table read through the worker index."""
        row = (
            self.reader()
            .execute(
                hiring_records_sql(_fenced_worker_rows, before="$before", with_inquiries=with_inquiries),
                {"worker": worker_id, "before": before},
            )
            .fetchone()
        )
        return hiring_record_of(row[1:] if row is not None else (None,) * len(HIRING_RECORD_COLUMNS))

    def contract_amount_quartiles(self, worker_ids: Sequence[str]) -> dict[str, tuple[float, float]]:
        """Each listed worker's usual contract amount: the 25th and 75th percentile of positive amounts."""
        if not worker_ids:
            return {}
        rows = (
            self.reader()
            .execute(
                "SELECT worker_id, quantile_cont(amount_jpy, 0.25), quantile_cont(amount_jpy, 0.75) FROM contracts "
                "WHERE worker_id IN (SELECT unnest($1)) AND amount_jpy > 0 GROUP BY worker_id",
                [list(worker_ids)],
            )
            .fetchall()
        )
        return {str(w): (float(lo), float(hi)) for w, lo, hi in rows}

    def contract_starts(self, client_ids: Sequence[str]) -> dict[str, list[datetime]]:
        """When each listed client's contracts started (UTC), for order rates."""
        starts: dict[str, list[datetime]] = {}
        if not client_ids:
            return starts
        for client, started in (
            self.reader()
            .execute(
                "SELECT client_id, started_at FROM contracts "
                "WHERE client_id IN (SELECT unnest($1)) AND started_at IS NOT NULL",
                [list(client_ids)],
            )
            .fetchall()
        ):
            starts.setdefault(str(client), []).append(started)
        return starts


#: The columns :func:`hiring_records_sql` selects after worker_id, in order (what :func:`hiring_record_of` reads).
HIRING_RECORD_COLUMNS = ("delivered", "clients", "repeat_clients", "median_reply_hours", "recent_reviews")


def _fenced_worker_rows(table: str) -> str:
    # OFFSET 0 keeps the equality the scan's only filter, which DuckDB then answers from the ART index.
    return f"(SELECT * FROM {table} WHERE worker_id = $worker OFFSET 0) {table}"


def hiring_records_sql(rows: Callable[[str], str], *, before: str, with_inquiries: bool) -> str:
    """What a client reads before hiring, one row per worker with a delivered contract, an answered inquiry or a
    review before ``before`` (an SQL expression of a naive UTC timestamp): worker_id, then
    :data:`HIRING_RECORD_COLUMNS`. Each facts table is read as ``rows(table)`` names it: all of it for every
    worker at once, or one worker's rows. The one place these figures are computed."""
    replies = (
        f"""SELECT worker_id, median(epoch(replied_at) - epoch(received_at)) / 3600 AS median_reply_hours
            FROM {rows("inquiries")} WHERE replied_at IS NOT NULL AND replied_at < {before} GROUP BY worker_id"""
        if with_inquiries
        else "SELECT NULL::VARCHAR AS worker_id, NULL::DOUBLE AS median_reply_hours WHERE false"
    )
    return f"""
        WITH per_client AS (
            SELECT worker_id, client_id, count(*) AS n FROM {rows("contracts")}
            WHERE status = 'delivered' AND closed_at < {before} GROUP BY worker_id, client_id),
        delivered AS (
            SELECT worker_id, sum(n) AS delivered, count(*) AS clients, count(*) FILTER (WHERE n >= 2) AS repeat_clients
            FROM per_client GROUP BY worker_id),
        replies AS ({replies}),
        recent AS (
            -- newest first; the review id breaks ties between reviews of the same instant
            SELECT worker_id,
                   list(struct_pack(at := created_at, score := item_sum / 5.0)
                        ORDER BY created_at DESC, review_id DESC)[1:3] AS recent_reviews
            FROM {rows("reviews")} WHERE created_at < {before} GROUP BY worker_id)
        SELECT worker_id, coalesce(d.delivered, 0), coalesce(d.clients, 0), coalesce(d.repeat_clients, 0),
               r.median_reply_hours, coalesce(v.recent_reviews, [])
        FROM delivered d FULL JOIN replies r USING (worker_id) FULL JOIN recent v USING (worker_id)"""


def hiring_record_of(columns: Sequence[object]) -> HiringRecord:
    """A :class:`HiringRecord` from :data:`HIRING_RECORD_COLUMNS` as DuckDB returns them (all None: no record)."""
    delivered, clients, repeat, median, recent = columns
    reviews = recent if isinstance(recent, list) else []
    return HiringRecord(
        int(delivered or 0),  # type: ignore[call-overload]
        int(clients or 0),  # type: ignore[call-overload]
        int(repeat or 0),  # type: ignore[call-overload]
        float(median) if median is not None else None,  # type: ignore[arg-type]
        [(review["at"], float(review["score"])) for review in reviews],
    )
