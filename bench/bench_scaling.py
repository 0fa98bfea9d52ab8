"""Benchmark: how the full evaluation on the embedded DuckDB engine grows with the marketplace, from 100,000 to
5,000,000 workers, with a memory limit so that the larger sizes spill to disk instead of failing.

For each size it generates a demo marketplace (Parquet, under ``bench/data/scale-<n>/``, kept for reruns),
imports it with ``PROCERT_DUCKDB_MEMORY_LIMIT`` (default 6GB), then times the full evaluation ``--runs`` times in
fresh processes (peak memory is the process's VmHWM). Prints a table and writes ``bench/results-scaling.md``.

    python bench/bench_scaling.py                                   # 100k, 1M, 2M, 5M
    python bench/bench_scaling.py --sizes 100000,1000000 --memory-limit 4GB
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
AS_OF = date(2026, 10, 1)
END = date(2026, 11, 29)


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


def run_child(*args: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", *args], stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"child {args[0]} failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        task, *args = sys.argv[2:]
        print(json.dumps({"import": child_import, "evaluate": child_evaluate}[task](*args)))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000,2000000,5000000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--memory-limit", default="6GB")
    parser.add_argument("--out", type=Path, default=HERE / "results-scaling.md")
    args = parser.parse_args()
    from procert.demo import generate

    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        root = HERE / "data" / f"scale-{size}"
        export, db = root / "export", root / "facts.duckdb"
        if not (export / "workers.parquet").exists():
            started = time.perf_counter()
            generate(export, workers=size, seed=1, end=END, fmt="parquet")
            print(f"{size:,}: generated in {time.perf_counter() - started:.0f} s", flush=True)
        imported = run_child("import", str(export), str(db), args.memory_limit)
        print(f"{size:,}: imported {imported['rows']:,} rows in {imported['seconds']:.0f} s", flush=True)
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
        }
        rows.append(row)
        print(f"{size:,}: evaluation median {row['median_s']:.2f} s, peak {row['peak_mib']:,.0f} MiB", flush=True)
        write(args, rows)  # after every size: a long run that stops early still leaves its figures


def write(args: argparse.Namespace, rows: list[dict]) -> None:
    base = rows[0]
    lines = [
        "# Scaling of the full evaluation on DuckDB",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} cores), "
        f"`python bench/bench_scaling.py --sizes {args.sizes} --runs {args.runs} --memory-limit {args.memory_limit}`: "
        "generated marketplaces, imported and evaluated with DuckDB's memory limited (larger work spills to disk); "
        "evaluation median and range of the runs, each in a fresh process.",
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
