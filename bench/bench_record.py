"""Recording a run against a bare bulk insert of the same rows on the same kind of ledger: ``executemany`` on
SQLite, ``COPY`` on PostgreSQL, in fresh processes, the contenders interleaved round by round.

    python bench/bench_record.py --facts bench/data/import-1000000/base.duckdb [--rounds 2] [--baseline COMMIT]

Each round records, into a fresh ledger, crowdworks-pro as of 2026-09-01 (not timed: it gives the run before a
previous state) and then as of 2026-10-01 (timed: evaluation, forecast, decisions, results, transitions, audit
and notifications, committed). The bare insert then writes that timed run's result rows, read back as they are
stored, into a fresh ledger with the same schema and indexes that holds the run before (its rows inserted
first, not timed, as record_run's ledger holds them), in one transaction (timed: the insert and the commit).
``--memory-limit 1GB`` also times ``record_run`` on SQLite with DuckDB's memory limited (as
``PROCERT_DUCKDB_MEMORY_LIMIT`` sets it; unset, DuckDB keeps what it read cached up to 80 % of RAM).
``--baseline`` also times an earlier commit's ``record_run`` (checked out in a git worktree) on SQLite.
Prints the figures and writes bench/results-record.md (and .json).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PG = os.environ.get("PROCERT_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")

CHILD = r"""
import json, sys, time
from datetime import date
from pathlib import Path

from procert.facts import FactStore
from procert.ledger import NotifyOptions, make_engine, record_run, session_scope, upgrade
from procert.programs import load_program

what, facts, url = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
program = load_program("crowdworks-pro")
out = {}
engine = make_engine(url)
upgrade(engine)
if what == "record":
    with FactStore(facts, read_only=True, memory_limit=sys.argv[4] if len(sys.argv) > 4 else None) as store:
        with session_scope(engine, write=True) as session:
            out["previous_id"] = record_run(
                session, store=store, program=program, as_of=date(2026, 9, 1), actor="bench"
            ).run_id
        started = time.perf_counter()
        with session_scope(engine, write=True) as session:
            outcome = record_run(
                session, store=store, program=program, as_of=date(2026, 10, 1), actor="bench", notify=NotifyOptions()
            )
        out["seconds"] = time.perf_counter() - started
        out["run_id"] = outcome.run_id
        out["transitions"] = dict(outcome.transitions)
        out["notifications"] = outcome.notifications
elif what == "bare":
    source = make_engine(sys.argv[4])
    run_id = int(sys.argv[5])
    columns = ('run_id, worker_id, division, status, evaluated, certified, certified_since, level, grace_cycles, '
               'at_risk, "values", passed, forecast, "leave"')
    previous_id = int(sys.argv[6])
    cast = "CAST({} AS TEXT)" if url.startswith("postgresql") else "{}"
    select = columns.replace('"values"', cast.format('"values"')).replace("passed", cast.format("passed"))
    select = select.replace("forecast", cast.format("forecast")).replace('"leave"', cast.format('"leave"'))

    def insert(run, as_of, timed):
        with source.connect() as conn:
            rows = conn.exec_driver_sql(f"SELECT {select} FROM run_results WHERE run_id = {run}").fetchall()
        # The run row the results point at (not timed).
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO runs (id, program_id, program_version, as_of, facts_fingerprint, started_at, "
                "finished_at, evaluation_seconds, workers, certified, counts, forced, backfill, actor) VALUES "
                f"({run}, 'p', 1, '{as_of}', 'f', '2026-10-01', '2026-10-01', 0, 0, 0, '{{}}', false, false, 'b')"
            )
        raw = engine.raw_connection()
        started = time.perf_counter()
        cursor = raw.cursor()
        if url.startswith("postgresql"):
            with cursor.copy(f"COPY run_results ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.execute("BEGIN")  # the ledger's SQLite connections leave transactions to the caller
            cursor.executemany(f"INSERT INTO run_results ({columns}) VALUES ({', '.join('?' * 14)})", rows)
        raw.commit()
        if timed:
            out["seconds"] = time.perf_counter() - started
            out["rows"] = len(rows)
        raw.close()

    # The ledger holds the run before, as record_run's does when it writes the timed run (not timed).
    insert(previous_id, "2026-09-01", False)
    insert(run_id, "2026-10-01", True)
    source.dispose()
engine.dispose()
out["peak_mib"] = next(int(l.split()[1]) / 1024 for l in Path("/proc/self/status").read_text().splitlines()
                       if l.startswith("VmHWM:"))
print(json.dumps(out))
"""


def run_child(tree: Path, *args: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCERT_")}
    env["PYTHONPATH"] = str(tree / "src")
    result = subprocess.run([sys.executable, "-c", CHILD, *args], env=env, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        sys.exit(f"{args[0]} in {tree} failed:\n{result.stderr}")
    return json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])


def pg_schema() -> str:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return schema


def drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def pg_url(schema: str) -> str:
    return f"{PG}?options=-csearch_path%3D{schema}"


def worktree(data: Path, revision: str) -> Path:
    path = data / f"record-baseline-{revision}"
    if not path.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(path), revision], cwd=ROOT, check=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--facts", type=Path, required=True, help="an imported facts store (read only)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--baseline", help="an earlier commit whose record_run to time as well (SQLite)")
    parser.add_argument("--memory-limit", help="also record on SQLite with this DuckDB memory limit, e.g. 1GB")
    parser.add_argument("--data-dir", type=Path, default=HERE / "data")
    args = parser.parse_args()
    work = args.data_dir / "record"
    work.mkdir(parents=True, exist_ok=True)
    baseline = worktree(args.data_dir, args.baseline) if args.baseline else None
    runs: dict[str, list[dict]] = {}
    for round_number in range(args.rounds):
        print(f"round {round_number + 1}/{args.rounds}", flush=True)
        for name in ("sqlite", "postgresql"):
            if name == "sqlite":
                ledger, bare = work / "ledger.sqlite", work / "bare.sqlite"
                for path in (ledger, bare):
                    for suffix in ("", "-wal", "-shm"):
                        Path(str(path) + suffix).unlink(missing_ok=True)
                url, bare_url = f"sqlite:///{ledger}", f"sqlite:///{bare}"
                schemas: list[str] = []
            else:
                schemas = [pg_schema(), pg_schema()]
                url, bare_url = pg_url(schemas[0]), pg_url(schemas[1])
            recorded = run_child(ROOT, "record", str(args.facts), url)
            runs.setdefault(f"record ({name})", []).append(recorded)
            plain = run_child(
                ROOT, "bare", str(args.facts), bare_url, url, str(recorded["run_id"]), str(recorded["previous_id"])
            )
            runs.setdefault(f"bare insert ({name})", []).append(plain)
            print(f"  {name}: record {recorded['seconds']:.1f} s, bare {plain['seconds']:.1f} s", flush=True)
            for schema in schemas:
                drop_schema(schema)
            if name == "sqlite" and args.memory_limit:
                for suffix in ("", "-wal", "-shm"):
                    Path(str(ledger) + suffix).unlink(missing_ok=True)
                limited = run_child(ROOT, "record", str(args.facts), url, args.memory_limit)
                runs.setdefault(f"record, limited ({name})", []).append(limited)
                print(f"  {name}, DuckDB limited to {args.memory_limit}: record {limited['seconds']:.1f} s", flush=True)
        if baseline is not None:
            ledger = work / "baseline.sqlite"
            ledger.unlink(missing_ok=True)
            result = run_child(baseline, "record", str(args.facts), f"sqlite:///{ledger}")
            runs.setdefault(f"record at {args.baseline} (sqlite)", []).append(result)
            print(f"  baseline {args.baseline}: record {result['seconds']:.1f} s", flush=True)

    def median(name: str, key: str = "seconds") -> float:
        return float(statistics.median(r[key] for r in runs[name]))

    lines = [
        "# Recording a run",
        "",
        f"`python bench/bench_record.py --facts {args.facts} --rounds {args.rounds}"
        + (f" --memory-limit {args.memory_limit}" if args.memory_limit else "")
        + (f" --baseline {args.baseline}" if args.baseline else "")
        + "`: fresh processes, contenders interleaved, medians; a ratio is the median of per-round ratios. "
        f"Rows per run: {runs['bare insert (sqlite)'][0]['rows']:,}; transitions in the timed run: "
        f"{runs['record (sqlite)'][0]['transitions']}.",
        "",
        "| ledger | record_run | peak | bare bulk insert | record ÷ bare (target ≤ 2×) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in ("sqlite", "postgresql"):
        ratios = [
            r["seconds"] / b["seconds"]
            for r, b in zip(runs[f"record ({name})"], runs[f"bare insert ({name})"], strict=True)
        ]
        lines.append(
            f"| {name} | {median(f'record ({name})'):.1f} s | "
            f"{max(r['peak_mib'] for r in runs[f'record ({name})']):.0f} MiB | "
            f"{median(f'bare insert ({name})'):.1f} s | {statistics.median(ratios):.2f}× |"
        )
    if args.memory_limit:
        ratios = [
            r["seconds"] / b["seconds"]
            for r, b in zip(runs["record, limited (sqlite)"], runs["bare insert (sqlite)"], strict=True)
        ]
        lines.append(
            f"| sqlite, DuckDB memory_limit {args.memory_limit} | {median('record, limited (sqlite)'):.1f} s | "
            f"{max(r['peak_mib'] for r in runs['record, limited (sqlite)']):.0f} MiB | "
            f"{median('bare insert (sqlite)'):.1f} s | {statistics.median(ratios):.2f}× |"
        )
    if baseline is not None:
        key = f"record at {args.baseline} (sqlite)"
        ratios = [n["seconds"] / b["seconds"] for n, b in zip(runs["record (sqlite)"], runs[key], strict=True)]
        lines += [
            "",
            f"Against {args.baseline} on SQLite: {median(key):.1f} s "
            f"(peak {max(r['peak_mib'] for r in runs[key]):.0f} MiB); "
            f"this tree ÷ it: {statistics.median(ratios):.2f}×.",
        ]
    text = "\n".join([*lines, ""])
    print(text)
    (HERE / "results-record.md").write_text(text, encoding="utf-8")
    (HERE / "results-record.json").write_text(json.dumps(runs, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
