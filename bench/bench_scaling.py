"""Benchmark: how daily work on the embedded DuckDB engine grows with the marketplace, from 100,000 to
10,000,000 workers, with a memory limit so that the larger sizes spill to disk instead of failing.

For each size it generates a demo marketplace (Parquet, the evaluation bench's export under ``bench/data/``,
kept for reruns) and, each in a fresh process with ``PROCERT_DUCKDB_MEMORY_LIMIT`` (default 6GB):

- imports it into a new store (timed; the disk it takes at its peak is sampled while it runs, against the
  store's final size);
- times the full evaluation ``--runs`` times;
- records a run in a fresh SQLite ledger (the run before first, not timed; then the timed one, as
  ``procert run`` records it: evaluation, forecast, decisions, results, transitions, notifications);
- with ``--spark``, evaluates the same facts on Spark in local mode (the store exported as Parquet first, as a
  data lake would hold them; the export not timed).

Peak memory is the process's VmHWM (Spark's: its JVM's). Prints a table and writes ``bench/results-scaling.md``.

    python bench/bench_scaling.py --sizes 1000000,5000000 --spark
    python bench/bench_scaling.py --sizes 100000,1000000 --memory-limit 4GB
    python bench/bench_scaling.py --sizes 5000000,10000000 --memory-limit 12GB --spark --clean
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
AS_OF = date(2026, 10, 1)


def vmhwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child_import(export: str, db: str, memory_limit: str) -> dict:
    from procert.facts import FactStore, import_export

    Path(db).unlink(missing_ok=True)
    with FactStore(db, memory_limit=memory_limit) as store:
        started = time.perf_counter()
        report = import_export(store, export, timezone="Asia/Tokyo")
        return {"seconds": time.perf_counter() - started, "rows": sum(report.rows.values()), "peak_mib": vmhwm_mib()}


def child_evaluate(db: str, memory_limit: str) -> dict:
    from procert.evaluation import evaluate
    from procert.facts import FactStore
    from procert.programs import load_program

    with FactStore(db, read_only=True, memory_limit=memory_limit) as store:
        started = time.perf_counter()
        summary = evaluate(store, load_program("crowdworks-pro"), AS_OF).summary()
        return {"seconds": time.perf_counter() - started, "certified": summary.certified, "peak_mib": vmhwm_mib()}


def child_record(db: str, ledger: str, memory_limit: str) -> dict:
    from procert.facts import FactStore
    from procert.ledger import make_engine, record_run, session_scope, upgrade
    from procert.programs import load_program

    program = load_program("crowdworks-pro")
    Path(ledger).unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{ledger}")
    upgrade(engine)
    with FactStore(db, read_only=True, memory_limit=memory_limit) as store:
        with session_scope(engine, write=True) as session:
            record_run(session, store=store, program=program, as_of=date(2026, 9, 1), actor="bench")
        started = time.perf_counter()
        with session_scope(engine, write=True) as session:
            outcome = record_run(session, store=store, program=program, as_of=AS_OF, actor="bench")
        seconds = time.perf_counter() - started
    engine.dispose()
    return {
        "seconds": seconds,
        "peak_mib": vmhwm_mib(),
        "ledger_mib": Path(ledger).stat().st_size / 2**20,
        "transitions": dict(outcome.transitions),
    }


def child_spark(db: str, parquet: str) -> dict:
    sys.path.insert(0, str(HERE))
    from bench_engines import task_spark
    from procert.evaluation.spark import export_parquet
    from procert.facts import FactStore

    if not (Path(parquet) / "TIMEZONE").exists():
        with FactStore(db, read_only=True) as store:
            export_parquet(store, Path(parquet))
    return task_spark(parquet)


def run_child(*args: str, watch_disk: Path | None = None) -> dict:
    """A task in a fresh process; with ``watch_disk``, the most disk the task took on that file system while it
    ran (sampled every 0.2 s)."""
    proc = subprocess.Popen([sys.executable, __file__, "--child", *args], stdout=subprocess.PIPE, text=True)
    before = shutil.disk_usage(watch_disk).used if watch_disk else 0
    most = 0
    while proc.poll() is None:
        if watch_disk:
            most = max(most, shutil.disk_usage(watch_disk).used - before)
        time.sleep(0.2)
    out = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        sys.exit(f"child {args[0]} failed")
    result = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
    if watch_disk:
        result["disk_peak_mib"] = most / 2**20
    return result


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        task, *args = sys.argv[2:]
        tasks = {"import": child_import, "evaluate": child_evaluate, "record": child_record, "spark": child_spark}
        print(json.dumps(tasks[task](*args)))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000,2000000,5000000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--memory-limit", default="6GB")
    parser.add_argument("--spark", action="store_true", help="also evaluate on Spark in local mode")
    parser.add_argument("--out", type=Path, default=HERE / "results-scaling.md")
    parser.add_argument(
        "--clean",
        action="store_true",
        help="remove a size's store, ledger and Spark files once measured (the export is kept): 10M needs the disk",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from bench_evaluation import ensure_export

    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        export = ensure_export(size, 1, HERE / "data")  # the evaluation bench's marketplace (same seed and end)
        root = HERE / "data" / f"scale-{size}"
        root.mkdir(parents=True, exist_ok=True)
        db = root / "facts.duckdb"
        db.unlink(missing_ok=True)
        imported = run_child("import", str(export), str(db), args.memory_limit, watch_disk=root)
        imported["store_mib"] = db.stat().st_size / 2**20
        print(
            f"{size:,}: imported {imported['rows']:,} rows in {imported['seconds']:.0f} s, store "
            f"{imported['store_mib']:,.0f} MiB, disk at peak {imported['disk_peak_mib']:,.0f} MiB",
            flush=True,
        )
        runs = [run_child("evaluate", str(db), args.memory_limit) for _ in range(args.runs)]
        seconds = [r["seconds"] for r in runs]
        row = {
            "workers": size,
            "fact_rows": imported["rows"],
            "import_s": imported["seconds"],
            "import_peak_mib": imported["peak_mib"],
            "median_s": statistics.median(seconds),
            "min_s": min(seconds),
            "max_s": max(seconds),
            "peak_mib": max(r["peak_mib"] for r in runs),
            "certified": runs[0]["certified"],
            "store_mib": imported["store_mib"],
            "import_disk_peak_mib": imported["disk_peak_mib"],
            "export_mib": sum(f.stat().st_size for f in export.iterdir()) / 2**20,
        }
        print(f"{size:,}: evaluation median {row['median_s']:.2f} s, peak {row['peak_mib']:,.0f} MiB", flush=True)
        recorded = run_child("record", str(db), str(root / "ledger.sqlite"), args.memory_limit)
        row |= {"record_s": recorded["seconds"], "record_peak_mib": recorded["peak_mib"]}
        row["ledger_mib"] = recorded["ledger_mib"]
        print(
            f"{size:,}: run recorded in {recorded['seconds']:.1f} s, peak {recorded['peak_mib']:,.0f} MiB", flush=True
        )
        if args.spark:
            spark = run_child("spark", str(db), str(root / "parquet"))
            if spark["certified"] != row["certified"]:
                sys.exit(f"Spark certified {spark['certified']:,}, DuckDB {row['certified']:,}")
            row |= {"spark_s": spark["seconds"], "spark_jvm_peak_mib": spark["jvm_peak_mib"]}
            print(f"{size:,}: Spark (local) {spark['seconds']:.1f} s", flush=True)
        rows.append(row)
        write(args, rows)  # after every size: a long run that stops early still leaves its figures
        if args.clean:
            shutil.rmtree(root)


def write(args: argparse.Namespace, rows: list[dict]) -> None:
    base = rows[0]
    lines = [
        "# Scaling of daily work on DuckDB",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} cores), "
        f"`python bench/bench_scaling.py --sizes {args.sizes} --runs {args.runs} --memory-limit {args.memory_limit}"
        + (" --spark" if args.spark else "")
        + (" --clean" if args.clean else "")
        + "`: generated marketplaces, imported, evaluated and a run recorded with DuckDB's memory limited (larger "
        "work spills to disk); evaluation median and range of the runs, each task in a fresh process.",
        "",
        "| workers | fact rows | import s | import peak MiB | evaluation s (median) | range | per million fact rows | "
        "peak MiB | certified |",
        "|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        per = r["median_s"] / (r["fact_rows"] / 1e6)
        lines.append(
            f"| {r['workers']:,} | {r['fact_rows']:,} | {r['import_s']:.0f} | {r['import_peak_mib']:,.0f} | "
            f"{r['median_s']:.2f} | {r['min_s']:.2f}–{r['max_s']:.2f} | {per:.3f} s | {r['peak_mib']:,.0f} | "
            f"{r['certified']:,} |"
        )
    lines += [
        "",
        "| workers | export MiB | store MiB | disk at the import's peak | ÷ store | run recorded s | its peak MiB | "
        "ledger MiB | Spark (local) s | Spark JVM peak MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        spark = f"{r['spark_s']:.1f} | {r['spark_jvm_peak_mib']:,.0f}" if "spark_s" in r else "— | —"
        lines.append(
            f"| {r['workers']:,} | {r['export_mib']:,.0f} | {r['store_mib']:,.0f} | {r['import_disk_peak_mib']:,.0f} | "
            f"{r['import_disk_peak_mib'] / r['store_mib']:.1f}× | {r['record_s']:.1f} | {r['record_peak_mib']:,.0f} | "
            f"{r['ledger_mib']:,.0f} | {spark} |"
        )
    lines += [
        "",
        f"Growth from {base['workers']:,} workers: "
        + ", ".join(
            f"{r['workers'] / base['workers']:.0f}× the workers → {r['median_s'] / base['median_s']:.1f}× the time"
            for r in rows[1:]
        )
        + ".",
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    print(f"→ {args.out}")


if __name__ == "__main__":
    main()
