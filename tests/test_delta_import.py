"""Delta imports cost what changed and give what a full import gives: a delta imported onto a store equals the
merged export imported whole (the monthly totals and their ranks, and every program's evaluation), a delta
that cannot change earnings leaves them alone, and a full re-export starts a fresh store file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

import procert.facts.store
from procert.demo import generate
from procert.evaluation import evaluate
from procert.facts import TABLES, FactStore, atomic_import, import_export
from procert.facts.atomic import current_version
from procert.facts.store import MONTHLY_EARNINGS_SQL
from procert.programs import load_program

TZ = "Asia/Tokyo"
CUTOFF = "2025-03-01 00:00:00"  # naive UTC: the delta brings what happened since
MOVED = 15  # workers whose division the delta corrects


def dump(store: FactStore, directory: Path, where: dict[str, str]) -> Path:
    """The stored facts as an export (CSV, times in UTC with their offset), each table filtered by ``where``."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, table in TABLES.items():
        if name not in where:
            continue
        columns = ", ".join(
            f"strftime({c.name}, '%Y-%m-%dT%H:%M:%S.%f') || '+00:00' AS {c.name}" if c.kind == "timestamp" else c.name
            for c in table.columns
        )
        target = directory / f"{name}.csv"
        store.con.execute(f"COPY (SELECT {columns} FROM {name} WHERE {where[name]}) TO '{target}' (HEADER)")
    return directory


def earnings(store: FactStore) -> list[tuple]:
    return store.con.execute("SELECT * FROM monthly_earnings ORDER BY ALL").fetchall()


def rebuilt(store: FactStore) -> list[tuple]:
    """The monthly totals as their definition gives them from the store's facts now."""
    return store.con.execute(f"SELECT * FROM ({MONTHLY_EARNINGS_SQL}) ORDER BY ALL").fetchall()


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, Path]:
    """The demo marketplace whole, and split into a base (before the cutoff, some divisions wrong, one payment
    wrong) and a delta (since the cutoff, the divisions and the payment corrected)."""
    root = tmp_path_factory.mktemp("delta")
    demo = generate(root / "demo", workers=800, seed=5, end=date(2025, 3, 31)).directory
    with FactStore(root / "whole.duckdb") as whole:
        import_export(whole, demo, timezone=TZ)
        moved = [
            w
            for (w,) in whole.con.execute(f"SELECT worker_id FROM workers ORDER BY worker_id LIMIT {MOVED}").fetchall()
        ]
        paid = whole.con.execute(
            f"SELECT payment_id FROM payments WHERE paid_at < '{CUTOFF}' ORDER BY payment_id LIMIT 1"
        ).fetchone()
        assert paid is not None
        quoted = ", ".join(f"'{w}'" for w in moved)
        everything = {
            name: "true" for name in TABLES if whole.con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        }
        dump(whole, root / "merged", everything)
        base = dump(
            whole,
            root / "base",
            {
                **everything,
                "payments": f"paid_at < '{CUTOFF}'",
                "scouts": f"sent_at < '{CUTOFF}'",
            },
        )
        # The base has the wrong division for some workers and a payment of the wrong amount in the wrong month.
        whole.con.execute(
            f"COPY (SELECT * FROM read_csv('{base}/workers.csv', all_varchar=true)) TO '{root}/w.csv' (HEADER)"
        )
        wrong_division = "CASE division WHEN 'writer' THEN 'engineer' ELSE 'writer' END"
        whole.con.execute(
            f"""COPY (SELECT * REPLACE (CASE WHEN worker_id IN ({quoted}) THEN {wrong_division}
                                             ELSE division END AS division)
                      FROM read_csv('{root}/w.csv', all_varchar=true)) TO '{base}/workers.csv' (HEADER)"""
        )
        wrong = f"payment_id = '{paid[0]}'"
        whole.con.execute(
            f"""COPY (SELECT * REPLACE (CASE WHEN {wrong} THEN '2024-06-15T03:00:00+00:00' ELSE paid_at END AS paid_at,
                                        CASE WHEN {wrong} THEN '987654' ELSE amount_jpy END AS amount_jpy)
                      FROM read_csv('{root}/merged/payments.csv', all_varchar=true)
                      WHERE CAST(paid_at AS TIMESTAMPTZ) < TIMESTAMPTZ '{CUTOFF}+00:00' OR {wrong})
                  TO '{base}/payments.csv' (HEADER)"""
        )
        delta = dump(
            whole,
            root / "delta",
            {
                "payments": f"paid_at >= '{CUTOFF}' OR payment_id = '{paid[0]}'",
                "scouts": f"sent_at >= '{CUTOFF}'",
            },
        )
        moves = dump(whole, root / "moves", {"workers": f"worker_id IN ({quoted})"})
        scouts = dump(whole, root / "scouts", {"scouts": f"sent_at >= '{CUTOFF}'"})
    return {"merged": root / "merged", "base": base, "delta": delta, "moves": moves, "scouts": scouts}


@pytest.mark.parametrize("partial_share", [0.3, 0.0])  # 0.0: every refresh rebuilds the whole table
def test_a_delta_onto_the_base_equals_the_merged_export_imported_whole(
    exports, tmp_path: Path, monkeypatch, partial_share
):
    monkeypatch.setattr(procert.facts.store, "PARTIAL_REFRESH_SHARE", partial_share)
    partial = partial_share > 0
    with FactStore(tmp_path / "whole.duckdb") as whole, FactStore(tmp_path / "delta.duckdb") as patched:
        full = import_export(whole, exports["merged"], timezone=TZ)
        import_export(patched, exports["base"], timezone=TZ)
        assert earnings(patched) != earnings(whole)  # the base really differs
        report = import_export(patched, exports["delta"], timezone=TZ)
        # The totals the delta changes: the months of its payments, and the month the corrected payment was in.
        corrected = f"""SELECT payment_id FROM read_csv('{exports["delta"]}/payments.csv')
                         WHERE CAST(paid_at AS TIMESTAMPTZ) < TIMESTAMPTZ '{CUTOFF}+00:00'"""
        touched = patched.con.execute(
            f"""SELECT DISTINCT worker_id, paid_month FROM payments WHERE paid_at >= '{CUTOFF}'
                    OR payment_id IN ({corrected})
                UNION SELECT worker_id, paid_month FROM payments WHERE payment_id IN ({corrected})"""
        ).fetchall()
        assert len(touched) > 100
        if partial:
            # Only the totals of the months the payments touch were recomputed (the corrected payment's old month
            # among them), far fewer rows than the whole table; ranks moved beyond them.
            assert report.earnings_rows == len(touched) and report.earnings_rows < full.earnings_rows / 5
            assert report.earnings_rows < report.reranked_rows < full.earnings_rows
        else:
            assert report.earnings_rows == report.reranked_rows == full.earnings_rows
        assert earnings(patched) == rebuilt(patched)
        # Workers moving division move all their months: whichever way it is recomputed, it is exact.
        movers = f"SELECT worker_id FROM read_csv('{exports['moves']}/workers.csv')"
        moved_months = patched.con.execute(
            f"SELECT count(*) FROM monthly_earnings WHERE worker_id IN ({movers})"
        ).fetchone()[0]
        moved = import_export(patched, exports["moves"], timezone=TZ)
        assert moved.earnings_rows == (moved_months if partial else full.earnings_rows)
        assert earnings(patched) == earnings(whole)
        for preset in ("crowdworks-pro", "lancers-certified", "coconala-rank"):
            program = load_program(preset)
            for as_of in (date(2025, 3, 1), date(2025, 4, 1)):
                got = evaluate(patched, program, as_of).rows()
                want = evaluate(whole, program, as_of).rows()
                assert got == want, (preset, as_of)
        # The worker indexes survive the delta (kept, not rebuilt) and still answer lookups.
        indexes = {r[0] for r in patched.con.execute("SELECT index_name FROM duckdb_indexes()").fetchall()}
        assert {"payments_by_worker", "workers_by_worker", "monthly_earnings_by_worker"} <= indexes


@pytest.mark.parametrize("partial_share", [1.0, 0.0])  # refreshed month by month; rebuilt whole
def test_a_delta_re_ranks_a_month_by_hand(tmp_path: Path, export, monkeypatch, partial_share):
    """One division, one month (JST): A 100, B 200, C 200, D 50 yen ranks B, C 1st, A 3rd, D 4th. The delta pays
    A 150 more (250: 1st), refunds all of B's 200 (0: not ranked) and moves a payment of D's to the next month
    (D has no total left in the first month; 50 in the next, ranked 1st there alone). The other division and
    month stay as they were."""
    monkeypatch.setattr(procert.facts.store, "PARTIAL_REFRESH_SHARE", partial_share)
    for w in "ABCD":
        export.worker(w)
    export.worker("E", division="engineer")
    export.payment("A", "2025-05-10T12:00:00+09:00", 100)
    export.payment("B", "2025-05-11T12:00:00+09:00", 200)
    export.payment("C", "2025-05-12T12:00:00+09:00", 200)
    moved = export.payment("D", "2025-05-31T23:30:00+09:00", 50)  # 14:30 UTC: still May in Tokyo
    export.payment("E", "2025-05-12T12:00:00+09:00", 70)
    export.payment("A", "2025-04-01T00:00:00+09:00", 10)
    export.write(tmp_path / "base")
    delta = type(export)()
    delta.payment("A", "2025-05-20T12:00:00+09:00", 150, payment_id="new-A")
    delta.payment("B", "2025-05-21T12:00:00+09:00", -200, payment_id="refund-B")
    delta.payment("D", "2025-06-01T00:30:00+09:00", 50, payment_id=moved)
    delta.write(tmp_path / "delta", tables=("payments",))
    may, june, april = 2025 * 12 + 4, 2025 * 12 + 5, 2025 * 12 + 3
    with FactStore(tmp_path / "s.duckdb") as store:
        import_export(store, tmp_path / "base", timezone=TZ)
        assert earnings(store) == [
            ("A", "writer", april, 10, 1),
            ("A", "writer", may, 100, 3),
            ("B", "writer", may, 200, 1),
            ("C", "writer", may, 200, 1),
            ("D", "writer", may, 50, 4),
            ("E", "engineer", may, 70, 1),
        ]
        report = import_export(store, tmp_path / "delta", timezone=TZ)
        assert earnings(store) == [
            ("A", "writer", april, 10, 1),
            ("A", "writer", may, 250, 1),
            ("B", "writer", may, 0, None),
            ("C", "writer", may, 200, 2),
            ("D", "writer", june, 50, 1),
            ("E", "engineer", may, 70, 1),
        ]
        assert earnings(store) == rebuilt(store)
        # Month by month: A's, B's and D's June total written (D's May total is gone); ranked again: the writers'
        # May (A, B, C) and June (D), not the engineers' May or April.
        assert (report.earnings_rows, report.reranked_rows) == ((3, 4) if partial_share else (6, 6))


def test_a_delta_that_cannot_change_earnings_leaves_them_alone(exports, tmp_path: Path):
    with FactStore(tmp_path / "s.duckdb") as store:
        import_export(store, exports["base"], timezone=TZ)
        before = earnings(store)
        report = import_export(store, exports["scouts"], timezone=TZ)
        assert report.rows == {"scouts": report.rows["scouts"]} and report.rows["scouts"] > 0
        assert report.earnings_rows == 0 and earnings(store) == before


def test_a_full_re_export_starts_a_fresh_store_file_that_does_not_grow(exports, tmp_path: Path):
    path = tmp_path / "facts.duckdb"
    atomic_import(path, exports["merged"], timezone=TZ, replace=True)
    first = current_version(path)
    assert first is not None
    size = first.stat().st_size
    with FactStore(path) as store:
        want = earnings(store)
    for _ in range(2):
        atomic_import(path, exports["merged"], timezone=TZ, replace=True)
    latest = current_version(path)
    assert latest is not None and latest != first
    assert latest.stat().st_size <= size * 1.05
    with FactStore(path) as store:
        assert earnings(store) == want
        # The import history carries over to the fresh file.
        modes = [m for (m,) in store.con.execute("SELECT mode FROM procert_imports ORDER BY import_id").fetchall()]
        assert modes == ["replace", "replace", "replace"]


def test_rows_sent_again_unchanged_are_not_written_and_a_changed_one_is(exports, tmp_path: Path):
    """A day's facts are often sent again as they are: those rows stay where they are stored and change no monthly
    total; among them, the one payment raised by 1,000 yen is replaced and its one month recomputed."""
    with FactStore(tmp_path / "s.duckdb") as store:
        import_export(store, exports["merged"], timezone=TZ)
        ids = [
            p for (p,) in store.con.execute("SELECT payment_id FROM payments ORDER BY payment_id LIMIT 200").fetchall()
        ]
        quoted = ", ".join(f"'{p}'" for p in ids)
        placed = store.con.execute("SELECT payment_id, rowid FROM payments ORDER BY rowid").fetchall()
        before = earnings(store)
        again = dump(store, tmp_path / "again", {"payments": f"payment_id IN ({quoted})"})
        report = import_export(store, again, timezone=TZ)
        assert report.rows == {"payments": 200}
        assert report.earnings_rows == 0 and report.reranked_rows == 0 and earnings(store) == before
        # Nothing deleted or inserted: every payment keeps its place.
        assert store.con.execute("SELECT payment_id, rowid FROM payments ORDER BY rowid").fetchall() == placed

        changed = ids[0]
        worker, month, amount = store.con.execute(
            "SELECT worker_id, paid_month, amount_jpy FROM payments WHERE payment_id = ?", [changed]
        ).fetchone()
        total = store.con.execute(
            "SELECT total_jpy FROM monthly_earnings WHERE worker_id = ? AND paid_month = ?", [worker, month]
        ).fetchone()[0]
        raised = tmp_path / "raised"
        raised.mkdir()
        store.con.execute(
            f"""COPY (SELECT * REPLACE (CASE WHEN payment_id = '{changed}' THEN CAST(amount_jpy AS BIGINT) + 1000
                                             ELSE CAST(amount_jpy AS BIGINT) END AS amount_jpy)
                      FROM read_csv('{again}/payments.csv', all_varchar=true)) TO '{raised}/payments.csv' (HEADER)"""
        )
        report = import_export(store, raised, timezone=TZ)
        assert report.rows == {"payments": 200} and report.earnings_rows == 1
        assert store.con.execute("SELECT amount_jpy FROM payments WHERE payment_id = ?", [changed]).fetchone() == (
            amount + 1000,
        )
        assert store.con.execute(
            "SELECT total_jpy FROM monthly_earnings WHERE worker_id = ? AND paid_month = ?", [worker, month]
        ).fetchone() == (total + 1000,)
        assert store.con.execute("SELECT count(*) FROM payments").fetchone()[0] == len(placed)
        assert earnings(store) == rebuilt(store)
