"""The CLI's start-up: how long a command takes before it does any work, in fresh processes, the contenders
interleaved (A B C … A B C …) so that the machine's drift falls on all of them.

    python bench/bench_startup.py [--rounds 15]

Contenders: a bare interpreter (the floor), the libraries a reading command needs imported alone (the floor
procert's own modules add to), ``procert evaluate`` and ``procert import`` on a home without facts
(each refuses at once: start-up, settings and the program, no evaluation), ``procert programs list``, and every
module loaded as ``procert --help`` loads them (what every command cost before commands loaded lazily).
Bytecode caches are written and used, as for an installed package. Prints the figures and writes
bench/results-startup.md (and .json): medians, and each one's ratio to the floor.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
TARGET_SECONDS = 0.3

CONTENDERS: dict[str, list[str]] = {
    "python (floor)": [PYTHON, "-c", "pass"],
    # What `procert evaluate` cannot do without: the engine, the settings, the command line and its tables.
    "its libraries alone (duckdb, pydantic-settings, typer, rich)": [
        PYTHON,
        "-c",
        "import duckdb, pydantic_settings, typer, rich.console, rich.table",
    ],
    "procert evaluate": [PYTHON, "-m", "procert.cli", "evaluate"],
    "procert import": [PYTHON, "-m", "procert.cli", "import", "/nonexistent"],
    "procert programs list": [PYTHON, "-m", "procert.cli", "programs", "list"],
    "every module (as --help)": [PYTHON, "-c", "import procert.cli.main as m; m.build_app()"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="procert-startup-"))
    # As installed: bytecode cached (a machine that sets PYTHONDONTWRITEBYTECODE compiles every module every
    # time); a first round, not counted, writes the caches.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"PROCERT_HOME": str(home)}
    for command in CONTENDERS.values():
        subprocess.run(command, env=env, capture_output=True, check=False)
    times: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    for round_number in range(args.rounds):
        for name, command in CONTENDERS.items():
            started = time.perf_counter()
            subprocess.run(command, env=env, capture_output=True, check=False)
            times[name].append(time.perf_counter() - started)
        print(f"round {round_number + 1}/{args.rounds}", file=sys.stderr)
    floor = times["python (floor)"]
    rows = []
    for name, seconds in times.items():
        ratios = [s / f for s, f in zip(seconds, floor, strict=True)]
        rows.append(
            {
                "contender": name,
                "median_s": round(statistics.median(seconds), 3),
                "ratio_to_floor": round(statistics.median(ratios), 1),
            }
        )
    lines = [
        "# CLI start-up",
        "",
        f"`python bench/bench_startup.py --rounds {args.rounds}`: fresh processes, contenders interleaved, medians "
        f"(a ratio is the median of per-round ratios). Target: under {TARGET_SECONDS} s for commands that need "
        "neither the ledger nor the web.",
        "",
        "| contender | median | × bare python |",
        "|---|---:|---:|",
        *(f"| {r['contender']} | {r['median_s']:.3f} s | {r['ratio_to_floor']} |" for r in rows),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    (HERE / "results-startup.md").write_text(text, encoding="utf-8")
    (HERE / "results-startup.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
