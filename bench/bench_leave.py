"""What declared leave costs a full evaluation: the same store evaluated with nobody on leave (the baseline), and
with 100 and with 1,000 workers whose leave lengthens their windows (each evaluated again on its own windows).

Interleaved rounds (baseline, 100, 1,000, again and again), each measurement in a fresh process, so the machine's
drift falls on all of them; the ratio is the median of per-round ratios against the baseline of the same round.
The leave: 20 days in the spring before the as-of date, for the first N workers by id. Prints the figures and
writes bench/results-leave.md (and .json).

    python bench/bench_leave.py [--workers 200000] [--runs 3]
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
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
AS_OF = date(2026, 10, 1)
PROGRAMS = ("crowdworks-pro", "lancers-certified")
AWAY = (0, 100, 1000)

CHILD = r"""
import json, resource, sys, time
from datetime import date
from procert.evaluation import evaluate
from procert.facts import FactStore
from procert.programs import load_program

program_id, facts, as_of, away_count = sys.argv[1], sys.argv[2], date.fromisoformat(sys.argv[3]), int(sys.argv[4])
program = load_program(program_id)
with FactStore(facts, read_only=True) as store:
    ids = [w for (w,) in store.query(f"SELECT worker_id FROM workers ORDER BY worker_id LIMIT {away_count}").fetchall()]
    away = {w: [(date(2026, 4, 1), date(2026, 4, 20))] for w in ids}
    started = time.perf_counter()
    evaluation = evaluate(store, program, as_of, away=away)
    seconds = time.perf_counter() - started
    summary = evaluation.summary()
print(json.dumps({
    "seconds": seconds,
    "certified": summary.certified,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def run(code: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCERT_")}
    result = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=7200)
    if result.returncode != 0:
        sys.exit(f"{args} failed:\n{result.stderr}")
    return result.stdout.strip().splitlines()[-1]


def prepare(data: Path, workers: int) -> Path:
    home = data / f"leave-{workers}"
    store = home / "facts.duckdb"
    if not store.exists():
        from procert.demo import generate
        from procert.facts import FactStore, import_export

        print(f"generating and importing {workers:,} workers …", flush=True)
        generate(home / "export", workers=workers, seed=1, end=date(2026, 11, 30), fmt="parquet")
        with FactStore(store) as facts:
            import_export(facts, home / "export", timezone="Asia/Tokyo")
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=HERE / "data")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    store = prepare(args.data, args.workers)
    figures: dict[str, list[dict]] = {f"{p}:{n}": [] for p in PROGRAMS for n in AWAY}
    for round_no in range(1, args.runs + 1):
        for program in PROGRAMS:
            for count in AWAY:
                figure = json.loads(run(CHILD, program, str(store), AS_OF.isoformat(), str(count)))
                figures[f"{program}:{count}"].append(figure)
                print(f"round {round_no}: {program:18} away {count:5,} {figure['seconds']:.2f} s", flush=True)
    lines = [
        f"# Declared leave's cost in a full evaluation at {args.workers:,} workers",
        "",
        f"`python bench/bench_leave.py --workers {args.workers} --runs {args.runs}` on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}. As of {AS_OF}; "
        f"{args.runs} interleaved rounds, each measurement in a fresh process. Leave: 2026-04-01 to 2026-04-20 for "
        "the first N workers by id. The ratio is the median of per-round ratios against nobody on leave.",
        "",
        "| program | workers on leave | median seconds | peak RSS (MB) | per worker on leave (ms) | ratio |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for program in PROGRAMS:
        base = figures[f"{program}:0"]
        for count in AWAY:
            got = figures[f"{program}:{count}"]
            seconds = statistics.median(f["seconds"] for f in got)
            ratio = statistics.median(a["seconds"] / b["seconds"] for a, b in zip(got, base, strict=True))
            extra = f"{(seconds - statistics.median(f['seconds'] for f in base)) / count * 1000:.1f}" if count else "—"
            shown = "—" if count == 0 else f"{ratio:.2f} ×"
            peak = statistics.median(f["peak_mb"] for f in got)
            lines.append(f"| `{program}` | {count:,} | {seconds:.2f} | {peak:.0f} | {extra} | {shown} |")
    text = "\n".join(lines) + "\n"
    print(text)
    (HERE / "results-leave.md").write_text(text, encoding="utf-8")
    (HERE / "results-leave.json").write_text(json.dumps(figures, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
