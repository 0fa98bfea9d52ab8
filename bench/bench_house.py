"""The rebuilt house against an earlier commit, on the paths the rebuild touched: the full evaluation, one
worker's live preview (evaluate one worker, explain it) and recording a run (the decision, the results, the
outbox), each in fresh processes, the baseline and this tree alternating (A B A B …) so that the machine's drift
falls on both.

    python bench/bench_house.py --baseline 8c3513d [--workers 100000] [--runs 3]

The baseline is checked out in a git worktree under bench/data/; both trees read the same imported facts store
(read-only) and record into fresh SQLite ledgers of their own. Prints the figures and writes
bench/results-house.md (and .json): medians, and the ratio this tree ÷ baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
AS_OF = date(2026, 10, 1)

CHILD = r"""
import json, random, sys, tempfile, time
from datetime import date
from pathlib import Path

from procert.evaluation import evaluate, evaluate_worker, explain_rows
from procert.facts import FactStore
from procert.ledger import NotifyOptions, make_engine, record_run, session_scope, upgrade
from procert.metrics import Period
from procert.programs import load_program

what, facts, as_of, samples = sys.argv[1], Path(sys.argv[2]), date.fromisoformat(sys.argv[3]), int(sys.argv[4])
program = load_program("crowdworks-pro")
out = {}
with FactStore(facts, read_only=True) as store:
    if what == "evaluate":
        started = time.perf_counter()
        evaluation = evaluate(store, program, as_of)
        out["seconds"] = time.perf_counter() - started
        out["certified"] = evaluation.summary().certified
    elif what == "preview":
        ids = [r[0] for r in store.con.execute("SELECT worker_id FROM workers ORDER BY worker_id").fetchall()]
        picked = random.Random(11).sample(ids, samples)
        cursor = store.thread_cursor()
        evaluate_worker(cursor, program, as_of, picked[0])  # prepare once, as a web thread does
        times = []
        for w in picked:
            started = time.perf_counter()
            row = evaluate_worker(cursor, program, as_of, w)
            explain_rows(cursor, program, Period(as_of, program.timezone), [row], {w: "ja"})
            times.append(time.perf_counter() - started)
        times.sort()
        out["p50_ms"] = times[len(times) // 2] * 1000
        out["p99_ms"] = times[int(len(times) * 0.99) - 1] * 1000
    elif what == "record":
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{tmp}/ledger.sqlite")
            upgrade(engine)
            started = time.perf_counter()
            with session_scope(engine, write=True) as session:
                outcome = record_run(
                    session, store=store, program=program, as_of=as_of, actor="bench", notify=NotifyOptions()
                )
            out["seconds"] = time.perf_counter() - started
            out["notifications"] = outcome.notifications
            engine.dispose()
print(json.dumps(out))
"""


def run_child(tree: Path, what: str, facts: Path, samples: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCERT_")}
    env["PYTHONPATH"] = str(tree / "src")
    result = subprocess.run(
        [sys.executable, "-c", CHILD, what, str(facts), AS_OF.isoformat(), str(samples)],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if result.returncode != 0:
        sys.exit(f"{what} in {tree} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def prepare(data: Path, workers: int) -> Path:
    home = data / f"house-{workers}"
    facts = home / "facts.duckdb"
    if facts.exists():
        return facts
    from procert.demo import generate
    from procert.facts import FactStore, import_export

    home.mkdir(parents=True, exist_ok=True)
    generate(home / "export", workers=workers, seed=1, end=date(2026, 11, 30), fmt="parquet")
    with FactStore(facts) as store:
        import_export(store, home / "export", timezone="Asia/Tokyo")
    return facts


def worktree(data: Path, revision: str) -> Path:
    path = data / f"house-baseline-{revision}"
    if not path.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(path), revision], cwd=ROOT, check=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, help="the commit to compare with")
    parser.add_argument("--workers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=500, help="workers previewed per run")
    parser.add_argument("--evaluate-runs", type=int, default=9, help="runs of the full evaluation (it is short)")
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--out", type=Path, default=HERE / "results-house.md")
    args = parser.parse_args()
    facts = prepare(args.data, args.workers)
    trees = {"baseline": worktree(args.data, args.baseline), "after": ROOT}
    figures: dict[str, dict[str, list[dict]]] = {name: {} for name in trees}
    for what in ("evaluate", "preview", "record"):
        for i in range(args.evaluate_runs if what == "evaluate" else args.runs):
            for name, tree in trees.items():
                started = time.perf_counter()
                result = run_child(tree, what, facts, args.samples)
                figures[name].setdefault(what, []).append(result)
                print(f"{what} {name} #{i + 1}: {result} ({time.perf_counter() - started:.1f} s)", flush=True)
    for what in ("evaluate", "record"):
        counts = {
            name: {json.dumps({k: v for k, v in r.items() if k not in ("seconds",)}) for r in figures[name][what]}
            for name in trees
        }
        if counts["baseline"] != counts["after"]:
            sys.exit(f"{what}: the trees disagree: {counts}")
    rows = []
    for what, key in (("evaluate", "seconds"), ("preview", "p50_ms"), ("preview", "p99_ms"), ("record", "seconds")):
        before = statistics.median(r[key] for r in figures["baseline"][what])
        after = statistics.median(r[key] for r in figures["after"][what])
        rows.append((what, key, before, after, after / before))
    lines = [
        f"# The house rebuilt (issue 12): this tree against `{args.baseline}`",
        "",
        f"`python bench/bench_house.py --baseline {args.baseline} --workers {args.workers} --runs {args.runs}` on "
        f"{date.today()}: {args.workers:,} generated workers (seed 1), crowdworks-pro as of {AS_OF}; each figure the "
        f"median of {args.runs} fresh processes ({args.evaluate_runs} for the full evaluation), the two trees "
        "alternating. Lower is better; ratio = this tree ÷ baseline.",
        "",
        "| measurement | baseline | this tree | ratio |",
        "|---|---:|---:|---:|",
    ]
    names = {
        ("evaluate", "seconds"): "full evaluation (s)",
        ("preview", "p50_ms"): f"one worker's live preview, p50 of {args.samples} (ms)",
        ("preview", "p99_ms"): f"one worker's live preview, p99 of {args.samples} (ms)",
        ("record", "seconds"): "recording a run with its notifications (s)",
    }
    for what, key, before, after, ratio in rows:
        lines.append(f"| {names[(what, key)]} | {before:.3f} | {after:.3f} | {ratio:.2f} |")
        print(f"{names[(what, key)]}: baseline {before:.3f}, this tree {after:.3f}, ratio {ratio:.2f}")
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(figures, indent=1), encoding="utf-8")
    print(f"→ {args.out}")


if __name__ == "__main__":
    main()
