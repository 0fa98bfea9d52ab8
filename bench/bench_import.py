"""Imports against what they change: a full import beside a plain DuckDB load of the same files, and deltas
(every row of 1,000 workers; a scouts-only delta) into a store of the full size, in fresh processes with the
contenders interleaved round by round.

    python bench/bench_import.py [--workers 1000000] [--delta-workers 1000] [--rounds 3] [--full-rounds 1]

The export is the demo marketplace bench/bench_evaluation.py generates (Parquet, reused from bench/data/). It is
split into a base (every worker but the delta's) and the delta (all rows of ``--delta-workers`` workers drawn at
random); the day's delta is the base's contracts, reviews, payments and scouts of its last day, sent again (as
they are stored: nothing to write); the next day's is the same rows one day later under new ids (all new rows); the
scouts delta is the base's scouts of its last month, sent again (it cannot change earnings). Each delta round
imports into a fresh copy of the base store (the copy is not timed); ``atomic`` is the 1,000 workers' delta
through ``atomic_import`` as ``procert import`` runs it (its copy of the store timed). procert's imports run with
the memory limit ``procert import`` uses (``PROCERT_IMPORT_MEMORY_LIMIT``); the full import is timed again with
its typed rows kept in temporary tables (no scratch file) and without a limit, and the disk each takes at its
peak is sampled against the store's final size. Prints the figures and writes bench/results-import.md (and .json).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_evaluation import ensure_export  # noqa: E402

TZ = "Asia/Tokyo"
TABLES = ("workers", "contracts", "reviews", "payments", "scouts", "inquiries")


# ---- measured tasks (child processes) -----------------------------------------------------------------------


def task_plain_load(export: str, db: str) -> dict:
    """The baseline of a full import: each file loaded as it is (``CREATE TABLE AS SELECT * FROM read_parquet``)."""
    import duckdb

    Path(db).unlink(missing_ok=True)
    started = time.perf_counter()
    con = duckdb.connect(db)
    con.execute("SET enable_progress_bar = false")
    for table in TABLES:
        source = Path(export) / f"{table}.parquet"
        if source.exists():
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet('{source}')")
    con.execute("CHECKPOINT")
    con.close()
    return {"seconds": time.perf_counter() - started}


def import_memory_limit(limit: str) -> str | None:
    """The memory limit a task imports with: ``default``, what `procert import` uses; ``none``, DuckDB's own."""
    from procert.settings import Settings

    return Settings().import_memory_limit if limit == "default" else None


class StepClock:
    """The import's progress messages as a clock: each step's time runs until the next message (the last one's
    includes the commit), so a delta shows where its seconds go."""

    def __init__(self) -> None:
        self.steps: dict[str, float] = {}
        self._current = "opening the store"
        self._since = time.perf_counter()

    def __call__(self, message: str) -> None:
        now = time.perf_counter()
        # Steps named per file ("checking contracts.parquet") are kept apart; repeated ones add up.
        self.steps[self._current] = self.steps.get(self._current, 0.0) + now - self._since
        self._current, self._since = message, now


def task_full(export: str, db: str, limit: str = "default", staging: str = "auto") -> dict:
    """A whole export into a new store; ``staging`` ``off`` keeps the typed rows in temporary tables whatever
    their size (what every import did before the scratch file, see procert.facts.importer._typed_rows_home)."""
    import procert.facts.importer as importer
    from procert.facts import FactStore, import_export

    if staging == "off":
        importer.STAGING_SHARE = float("inf")
    Path(db).unlink(missing_ok=True)
    started = time.perf_counter()
    clock = StepClock()
    with FactStore(db, memory_limit=import_memory_limit(limit)) as store:
        report = import_export(store, export, timezone=TZ, progress=clock)
        clock("checkpoint")
        store.con.execute("CHECKPOINT")
        clock("closing the store")
    clock("")
    return {
        "seconds": time.perf_counter() - started,
        "rows": report.rows,
        "size_mib": Path(db).stat().st_size / 2**20,
        "steps": clock.steps,
    }


def task_delta(export: str, db: str) -> dict:
    from procert.facts import FactStore, import_export

    started = time.perf_counter()
    clock = StepClock()
    with FactStore(db, memory_limit=import_memory_limit("default")) as store:
        report = import_export(store, export, timezone=TZ, progress=clock)
        clock("checkpoint")
        store.con.execute("CHECKPOINT")
        clock("closing the store")
    clock("")
    return {
        "seconds": time.perf_counter() - started,
        "rows": report.rows,
        "earnings_rows": report.earnings_rows,
        "reranked_rows": report.reranked_rows,
        "steps": clock.steps,
    }


def task_atomic(export: str, path: str) -> dict:
    from procert.facts import atomic_import

    started = time.perf_counter()
    report = atomic_import(Path(path), export, timezone=TZ, memory_limit=import_memory_limit("default"))
    return {"seconds": time.perf_counter() - started, "earnings_rows": report.earnings_rows}


TASKS = {"plain_load": task_plain_load, "full": task_full, "delta": task_delta, "atomic": task_atomic}


def disk_used(directory: Path) -> int:
    """Bytes the files under ``directory`` take on disk (allocated blocks, as spill files grow sparse)."""
    total = 0
    for path in directory.rglob("*"):
        with contextlib.suppress(FileNotFoundError):  # a spill file can go between listing and reading
            if path.is_file():
                total += path.stat().st_blocks * 512
    return total


def run_child(task: str, *args: str, watch_disk: Path | None = None) -> dict:
    """A task in a fresh process; with ``watch_disk``, also the most disk the files under that directory took
    beyond what they took before (sampled every 0.2 s), as ``disk_peak_mib``."""
    before = disk_used(watch_disk) if watch_disk else 0
    most = 0
    proc = subprocess.Popen([sys.executable, __file__, "--child", task, *args], stdout=subprocess.PIPE, text=True)
    while proc.poll() is None:
        if watch_disk:
            most = max(most, disk_used(watch_disk) - before)
        time.sleep(0.2)
    if proc.returncode:
        raise SystemExit(f"{task} failed with status {proc.returncode}")
    out = proc.stdout.read() if proc.stdout else ""
    result: dict = json.loads(out.strip().splitlines()[-1])
    if watch_disk:
        result["disk_peak_mib"] = most / 2**20
    return result


def child_main(task: str, args: list[str]) -> None:
    result = TASKS[task](*args)
    result["peak_mib"] = next(
        int(line.split()[1]) / 1024
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("VmHWM:")
    )
    print(json.dumps(result))


# ---- preparing the exports ----------------------------------------------------------------------------------


def split(export: Path, out: Path, delta_workers: int) -> dict[str, Path]:
    """base/, delta/ and scouts/ beside each other under ``out`` (made once)."""
    import duckdb

    marker = out / ".complete"
    paths = {name: out / name for name in ("base", "delta", "scouts", "day")}
    if marker.exists():
        return paths
    for path in paths.values():
        path.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(
        f"""CREATE TABLE chosen AS SELECT worker_id FROM read_parquet('{export}/workers.parquet')
            USING SAMPLE {delta_workers} ROWS (reservoir, 42)"""
    )
    for table in TABLES:
        source = export / f"{table}.parquet"
        if not source.exists():
            continue
        rows = f"SELECT * FROM read_parquet('{source}')"
        con.execute(
            f"COPY ({rows} WHERE worker_id NOT IN (SELECT worker_id FROM chosen)) TO '{paths['base']}/{table}.parquet'"
        )
        con.execute(
            f"COPY ({rows} WHERE worker_id IN (SELECT worker_id FROM chosen)) TO '{paths['delta']}/{table}.parquet'"
        )
    base_scouts = f"read_parquet('{paths['base']}/scouts.parquet')"
    con.execute(
        f"""COPY (SELECT * FROM {base_scouts} WHERE CAST(sent_at AS TIMESTAMPTZ) >= (
                SELECT max(CAST(sent_at AS TIMESTAMPTZ)) - INTERVAL 30 DAY FROM {base_scouts}))
            TO '{paths["scouts"]}/scouts.parquet'"""
    )
    # A day's facts (the daily delta an operator sends): the base's contracts closed, reviews written, payments
    # and scouts of its last day, sent again.
    for table, column in (
        ("contracts", "closed_at"),
        ("reviews", "created_at"),
        ("payments", "paid_at"),
        ("scouts", "sent_at"),
    ):
        rows = f"read_parquet('{paths['base']}/{table}.parquet')"
        con.execute(
            f"""COPY (SELECT * FROM {rows} WHERE CAST({column} AS TIMESTAMPTZ) >= (
                    SELECT max(CAST({column} AS TIMESTAMPTZ)) - INTERVAL 1 DAY FROM {rows}))
                TO '{paths["day"]}/{table}.parquet'"""
        )
    marker.write_text("ok")
    return paths


def next_day(paths: dict[str, Path]) -> Path:
    """The next day's facts (made once): the day's contracts, their reviews, its payments and scouts one day
    later under new ids, so that every row is new and the newest months' totals change."""
    import duckdb

    out = paths["day"].parent / "next"
    marker = out / ".complete"
    if marker.exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")

    def day(table: str) -> str:
        return f"read_parquet('{paths['day']}/{table}.parquet')"

    renamed = f"(SELECT contract_id FROM {day('contracts')})"
    moved_contract = f"CASE WHEN contract_id IN {renamed} THEN contract_id || 'n' ELSE contract_id END"
    for table, rows in (
        (
            "contracts",
            f"""SELECT * REPLACE (contract_id || 'n' AS contract_id, started_at + INTERVAL 1 DAY AS started_at,
                                  closed_at + INTERVAL 1 DAY AS closed_at) FROM {day("contracts")}""",
        ),
        (
            "reviews",
            f"""SELECT * REPLACE (review_id || 'n' AS review_id, contract_id || 'n' AS contract_id,
                                  created_at + INTERVAL 1 DAY AS created_at)
                FROM {day("reviews")} WHERE contract_id IN {renamed}""",
        ),
        (
            "payments",
            f"""SELECT * REPLACE (payment_id || 'n' AS payment_id, {moved_contract} AS contract_id,
                                  paid_at + INTERVAL 1 DAY AS paid_at) FROM {day("payments")}""",
        ),
        (
            "scouts",
            f"""SELECT * REPLACE (scout_id || 'n' AS scout_id, sent_at + INTERVAL 1 DAY AS sent_at)
                FROM {day("scouts")}""",
        ),
    ):
        con.execute(f"COPY ({rows}) TO '{out}/{table}.parquet'")
    marker.write_text("ok")
    return out


def median(runs: list[dict], key: str = "seconds") -> float:
    return float(statistics.median(r[key] for r in runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1_000_000)
    parser.add_argument("--delta-workers", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--full-rounds", type=int, default=1, help="rounds that also time a full import")
    parser.add_argument("--data-dir", type=Path, default=HERE / "data")
    parser.add_argument("--out", type=Path, default=HERE / "results-import.md")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child[0], args.child[1:])
        return
    export = ensure_export(args.workers, 1, args.data_dir)
    work = args.data_dir / f"import-{args.workers}"
    paths = split(export, work, args.delta_workers)
    paths["next"] = next_day(paths)
    base_db = work / "base.duckdb"
    if not base_db.exists():
        print("importing the base store (once)", flush=True)
        run_child("full", str(paths["base"]), str(base_db))
    names = (
        "plain_load",
        *("full", "full_temp_tables", "full_unlimited"),
        *("delta", "day", "next", "scouts", "atomic", "delta_load"),
    )
    runs: dict[str, list[dict]] = {k: [] for k in names}
    for round_number in range(args.rounds):
        print(f"round {round_number + 1}/{args.rounds}", flush=True)
        runs["plain_load"].append(run_child("plain_load", str(paths["base"]), str(work / "plain.duckdb")))
        if round_number < args.full_rounds:
            for name, options in (
                ("full", ()),
                ("full_temp_tables", ("default", "off")),
                ("full_unlimited", ("none",)),
            ):
                # Each into an empty directory: the disk it takes is all its own.
                full = work / "full"
                shutil.rmtree(full, ignore_errors=True)
                full.mkdir()
                runs[name].append(
                    run_child("full", str(paths["base"]), str(full / "facts.duckdb"), *options, watch_disk=full)
                )
        runs["delta_load"].append(run_child("plain_load", str(paths["delta"]), str(work / "plain-delta.duckdb")))
        for name in ("delta", "day", "next", "scouts"):
            source = paths[name]
            copy = work / f"{name}.duckdb"
            shutil.copyfile(base_db, copy)
            runs[name].append(run_child("delta", str(source), str(copy)))
        store = work / "atomic" / "facts.duckdb"
        shutil.rmtree(store.parent, ignore_errors=True)
        store.parent.mkdir(parents=True)
        shutil.copyfile(base_db, store)
        runs["atomic"].append(run_child("atomic", str(paths["delta"]), str(store)))
        for name, result in runs.items():
            if len(result) == round_number + 1:
                last = result[-1]
                print(f"  {name:10s} {last['seconds']:7.2f} s  peak {last['peak_mib']:6.0f} MiB", flush=True)
    delta_rows = sum(runs["delta"][0]["rows"].values())
    scout_rows = sum(runs["scouts"][0]["rows"].values())
    per_round = [d["seconds"] / p["seconds"] for d, p in zip(runs["delta"], runs["delta_load"], strict=True)]
    full_ratio = [f["seconds"] / p["seconds"] for f, p in zip(runs["full"], runs["plain_load"], strict=False)]
    lines = [
        f"# Imports at {args.workers:,} workers",
        "",
        f"`python bench/bench_import.py --workers {args.workers} --delta-workers {args.delta_workers} "
        f"--rounds {args.rounds} --full-rounds {args.full_rounds}`: fresh processes, contenders interleaved, "
        "medians; a ratio is the median of per-round ratios.",
        "",
        "| import | rows | median | peak | against |",
        "|---|---:|---:|---:|---|",
        f"| plain load of the base files (`CREATE TABLE AS`) | | {median(runs['plain_load']):.1f} s | "
        f"{max(r['peak_mib'] for r in runs['plain_load']):.0f} MiB | |",
    ]
    if runs["full"]:

        def on_disk(name: str) -> str:
            peak = max(r["disk_peak_mib"] for r in runs[name])
            store = max(r["size_mib"] for r in runs[name])
            return f"disk at its peak {peak:,.0f} MiB, {peak / store:.1f}× the store's {store:,.0f} MiB"

        lines.append(
            f"| full import of the base (procert) | {sum(runs['full'][0]['rows'].values()):,} | "
            f"{median(runs['full']):.1f} s | {max(r['peak_mib'] for r in runs['full']):.0f} MiB | "
            f"{statistics.median(full_ratio):.2f}× the plain load (target ≤ 1.5×, under 3 GB); with "
            f"`PROCERT_IMPORT_MEMORY_LIMIT`'s default; {on_disk('full')} (target under 3×) |"
        )
        for name, label in (
            ("full_temp_tables", "the same with the typed rows in temporary tables (no scratch file)"),
            ("full_unlimited", "the same with no memory limit (DuckDB's 80 % of RAM)"),
        ):
            ratio = [f["seconds"] / p["seconds"] for f, p in zip(runs[name], runs["plain_load"], strict=False)]
            lines.append(
                f"| {label} | | {median(runs[name]):.1f} s | {max(r['peak_mib'] for r in runs[name]):.0f} MiB | "
                f"{statistics.median(ratio):.2f}× the plain load; {on_disk(name)} |"
            )
    lines += [
        f"| delta: every row of {args.delta_workers:,} workers | {delta_rows:,} | {median(runs['delta']):.2f} s | "
        f"{max(r['peak_mib'] for r in runs['delta']):.0f} MiB | {statistics.median(per_round):.1f}× a plain load "
        f"of the delta files ({median(runs['delta_load']):.2f} s); target ≤ 5 s; monthly totals recomputed: "
        f"{runs['delta'][0]['earnings_rows']:,}, ranked again: {runs['delta'][0]['reranked_rows']:,} |",
        f"| the same delta through `procert import` (copy of the store + switch) | {delta_rows:,} | "
        f"{median(runs['atomic']):.2f} s | {max(r['peak_mib'] for r in runs['atomic']):.0f} MiB | |",
        f"| a day's facts sent again as stored (contracts closed, reviews, payments, scouts of the last day) | "
        f"{sum(runs['day'][0]['rows'].values()):,} | {median(runs['day']):.2f} s | "
        f"{max(r['peak_mib'] for r in runs['day']):.0f} MiB | monthly totals recomputed: "
        f"{runs['day'][0]['earnings_rows']:,} (nothing changed), ranked again: "
        f"{runs['day'][0]['reranked_rows']:,} |",
        f"| the next day's facts (the same one day later, new ids: every row new) | "
        f"{sum(runs['next'][0]['rows'].values()):,} | {median(runs['next']):.2f} s | "
        f"{max(r['peak_mib'] for r in runs['next']):.0f} MiB | monthly totals recomputed: "
        f"{runs['next'][0]['earnings_rows']:,} (the workers' months the day touches), ranked again: "
        f"{runs['next'][0]['reranked_rows']:,} |",
        f"| scouts only (last month's, sent again) | {scout_rows:,} | {median(runs['scouts']):.2f} s | "
        f"{max(r['peak_mib'] for r in runs['scouts']):.0f} MiB | monthly totals recomputed: "
        f"{runs['scouts'][0]['earnings_rows']:,} rows |",
        "",
        "Where the time goes (median seconds per step over the rounds; a step runs until the next one starts, so "
        "the last step inside the import's transaction includes its commit):",
        "",
    ]
    kinds = tuple(k for k in ("full", "delta", "day", "next", "scouts") if runs[k])
    lines += [f"| step | {' | '.join(kinds)} |", "|---|" + "---:|" * len(kinds)]
    step_names = list(dict.fromkeys(step for kind in kinds for r in runs[kind] for step in r["steps"]))
    for step in step_names:
        cells = [
            f"{statistics.median(r['steps'].get(step, 0.0) for r in runs[kind]):.2f}"
            if any(step in r["steps"] for r in runs[kind])
            else ""
            for kind in kinds
        ]
        lines.append(f"| {step} | {' | '.join(cells)} |")
    lines.append("")
    text = "\n".join(lines)
    print(text)
    args.out.write_text(text, encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(runs, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
