"""The three presets' full evaluation at scale, and crowdworks-pro against the commit before the wider catalogue.

Measured in fresh processes, in interleaved rounds (baseline, then this tree's three presets, again and again) so
that the machine's drift falls on all of them:

- ``crowdworks-pro`` at the baseline commit (default ``db8ab38``, before issue 13) and in this tree: the new
  metrics must not make the reference program slower;
- ``lancers-certified`` and ``coconala-rank`` in this tree, beside ``crowdworks-pro`` in the same rounds.

Both trees evaluate the same generated export: imported once by each tree into a store of its own (the baseline
reads store schema 2 and ignores the contract's version 2 facts; the results of crowdworks-pro must agree, which
is checked). Each child reports the evaluation's seconds (``CREATE TABLE AS`` of every worker's row, the whole
query executed) and its peak RSS. Prints the figures and writes bench/results-programs.md (and .json).

    python bench/bench_programs.py [--workers 1000000] [--runs 3] [--baseline db8ab38]
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
PRESETS = ("crowdworks-pro", "lancers-certified", "coconala-rank")

CHILD = r"""
import json, resource, sys, time
from datetime import date
from procert.evaluation import evaluate
from procert.facts import FactStore
from procert.programs import load_program

program_id, facts, as_of = sys.argv[1], sys.argv[2], date.fromisoformat(sys.argv[3])
program = load_program(program_id)
with FactStore(facts, read_only=True) as store:
    started = time.perf_counter()
    evaluation = evaluate(store, program, as_of)
    seconds = time.perf_counter() - started
    summary = evaluation.summary()
print(json.dumps({
    "seconds": seconds,
    "certified": summary.certified,
    "workers": summary.workers,
    "levels": getattr(summary, "levels", {}),
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""

IMPORT = r"""
import sys, time
from procert.facts import FactStore, import_export
started = time.perf_counter()
with FactStore(sys.argv[2]) as store:
    import_export(store, sys.argv[1], timezone="Asia/Tokyo")
print(time.perf_counter() - started)
"""


def tree_env(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCERT_")}
    env["PYTHONPATH"] = str(tree / "src")
    return env


def run(tree: Path, code: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code, *args], env=tree_env(tree), capture_output=True, text=True, timeout=7200
    )
    if result.returncode != 0:
        sys.exit(f"{args} in {tree} failed:\n{result.stderr}")
    return result.stdout.strip().splitlines()[-1]


def worktree(data: Path, revision: str) -> Path:
    path = data / f"programs-baseline-{revision}"
    if not path.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(path), revision], cwd=ROOT, check=True)
    return path


def prepare(data: Path, workers: int, trees: dict[str, Path]) -> dict[str, Path]:
    """One export, imported by each tree into its own store (kept between invocations)."""
    home = data / f"programs-{workers}"
    export = home / "export"
    if not (export / "inquiries.parquet").exists():
        from procert.demo import generate

        print(f"generating {workers:,} workers …", flush=True)
        generate(export, workers=workers, seed=1, end=date(2026, 11, 30), fmt="parquet")
    stores = {}
    for name, tree in trees.items():
        store = home / f"facts-{name}.duckdb"
        if not store.exists():
            print(f"importing with the {name} tree …", flush=True)
            seconds = float(run(tree, IMPORT, str(export), str(store)))
            print(f"  {seconds:.0f} s", flush=True)
        stores[name] = store
    return stores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", default="db8ab38")
    parser.add_argument("--data", type=Path, default=HERE / "data")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    trees = {"baseline": worktree(args.data, args.baseline), "after": ROOT}
    stores = prepare(args.data, args.workers, trees)
    cases = [("baseline", "crowdworks-pro")] + [("after", p) for p in PRESETS]
    figures: dict[str, list[dict]] = {f"{t}:{p}": [] for t, p in cases}
    for round_no in range(1, args.runs + 1):
        for tree, program in cases:
            figure = json.loads(run(trees[tree], CHILD, program, str(stores[tree]), AS_OF.isoformat()))
            figures[f"{tree}:{program}"].append(figure)
            print(f"round {round_no}: {tree:8} {program:18} {figure['seconds']:.2f} s, {figure['peak_mb']:.0f} MB")
    base, after = figures["baseline:crowdworks-pro"], figures["after:crowdworks-pro"]
    if {f["certified"] for f in base} != {f["certified"] for f in after}:
        sys.exit(
            f"crowdworks-pro certified differs: baseline {base[0]['certified']}, this tree {after[0]['certified']}"
        )

    def median(key: str, what: str = "seconds") -> float:
        return statistics.median(f[what] for f in figures[key])

    def ratio(key: str, against: str) -> float:
        # The median of per-round ratios: a slow round slows both sides of it.
        return statistics.median(
            a["seconds"] / b["seconds"] for a, b in zip(figures[key], figures[against], strict=True)
        )

    rows = [
        ("crowdworks-pro", "baseline", "baseline:crowdworks-pro", None),
        ("crowdworks-pro", "this tree", "after:crowdworks-pro", "baseline:crowdworks-pro"),
        ("lancers-certified", "this tree", "after:lancers-certified", "after:crowdworks-pro"),
        ("coconala-rank", "this tree", "after:coconala-rank", "after:crowdworks-pro"),
    ]
    lines = [
        f"# Full evaluation of the three presets at {args.workers:,} workers",
        "",
        f"`python bench/bench_programs.py --workers {args.workers} --runs {args.runs} --baseline {args.baseline}` "
        f"on {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}. As of {AS_OF}; {args.runs} interleaved rounds, each measurement in a fresh "
        "process. The ratio is the median of per-round ratios against the row named.",
        "",
        "| program | tree | median seconds | peak RSS (MB) | certified | ratio |",
        "|---|---|---:|---:|---:|---|",
    ]
    for program, tree, key, against in rows:
        shown = "—"
        if against is not None:
            label = "baseline crowdworks-pro" if against.startswith("baseline") else "this tree's crowdworks-pro"
            shown = f"{ratio(key, against):.2f} × {label}"
        lines.append(
            f"| `{program}` | {tree} | {median(key):.2f} | {median(key, 'peak_mb'):.0f} | "
            f"{figures[key][0]['certified']:,} | {shown} |"
        )
    levels = figures["after:coconala-rank"][0]["levels"]
    lines += [
        "",
        "coconala-rank's levels: " + ", ".join(f"{k} {v:,}" for k, v in sorted(levels.items(), key=lambda kv: -kv[1])),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    (HERE / "results-programs.md").write_text(text, encoding="utf-8")
    (HERE / "results-programs.json").write_text(json.dumps(figures, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
