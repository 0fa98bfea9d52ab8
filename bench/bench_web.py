"""Load benchmark of the web app: throughput and latency of the badge, the status API, the profile page and the
directory, with wrk against `procert serve` on 127.0.0.1, at 1,000,000 workers by default.

Set-up (kept in ``bench/data/web-<workers>/`` and reused): a generated marketplace, imported, with two scheduled
runs recorded in the embedded SQLite ledger and an admin API key for the status API. Then, for each endpoint and
each of ``--runs`` rounds, wrk runs for ``--duration`` seconds with ``--connections`` connections, each request
asking for a worker drawn uniformly at random from all of them (so caches do not flatter the figures). The
``healthz`` endpoint (no work at all) is the baseline: the framework's own ceiling on this machine, measured in the
same run. wrk shares the 2 cores with the server, as a load balancer would not; figures are for orientation.

    python bench/bench_web.py                        # 1M workers, 3 rounds of 10 s per endpoint
    python bench/bench_web.py --workers 100000 --duration 5 --runs 1

Prints a table and writes ``bench/results-web.md`` and ``bench/results-web.json``. Needs wrk (Debian package
``wrk``; installed with apt-get when missing).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUN_DATES = (date(2026, 7, 1), date(2026, 10, 1))

LUA = """
local ids = {}
for line in io.lines("%(ids)s") do ids[#ids + 1] = line end
local pages = %(pages)d
local headers = %(headers)s
math.randomseed(os.time() + tonumber(tostring({}):match("0x(%%x+)") or "0", 16) %% 100000)
request = function()
  local id = ids[math.random(#ids)]
  local page = math.random(pages)
  local path = string.gsub(string.gsub("%(path)s", "{id}", id), "{page}", tostring(page))
  return wrk.format("GET", path, headers)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.stderr:write(string.format(
    '{"requests":%%d,"duration_us":%%d,"errors":%%d,"non2xx":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,"max_us":%%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""

ENDPOINTS = {
    # name: (path template, needs the API key, what it does)
    "healthz": ("/healthz", False, "baseline: no work"),
    "badge": ("/badge/{id}.svg", False, "SVG badge of a random worker"),
    "status_api": ("/api/v1/workers/{id}/status", True, "status JSON of a random worker (admin API key)"),
    "profile": ("/workers/{id}", False, "profile page (HTML) of a random worker"),
    "profile_live": ("/workers/{id}", False, "the same, read live (`PROCERT_PROFILE_SNAPSHOT=false`, a 2nd server)"),
    "status_live": (
        "/api/v1/workers/{id}/status",
        True,
        "status JSON, the clocks evaluated live (`PROCERT_CLOCK_SNAPSHOT=false`, the 2nd server)",
    ),
    "directory": ("/pros?page={page}", False, "directory page (HTML), a random one of the first 50"),
    "directory_api": ("/api/v1/pros?division=writer&sort=recent&page={page}", False, "directory JSON, filtered"),
}


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        sys.exit("wrk is needed: apt-get install wrk")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(workers: int, data: Path) -> dict:
    """Generate, import and record two runs once; reuse them afterwards."""
    home = data / f"web-{workers}"
    ready = home / "ready.json"
    if ready.exists():
        return json.loads(ready.read_text())
    from bench_evaluation import ensure_export
    from procert.facts import FactStore, import_export
    from procert.ledger import NotifyOptions, create_api_key, make_engine, record_run, session_scope, upgrade
    from procert.programs import load_program

    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    program = load_program("crowdworks-pro")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    export = ensure_export(workers, 1, data)  # the evaluation bench's export (same seed and end), made once
    timings["generate"] = time.perf_counter() - started
    engine = make_engine(f"sqlite:///{home / 'ledger.sqlite'}")
    upgrade(engine)
    with FactStore(home / "facts.duckdb") as store:
        started = time.perf_counter()
        import_export(store, export, timezone=program.timezone)
        timings["import"] = time.perf_counter() - started
        for as_of in RUN_DATES:
            started = time.perf_counter()
            with session_scope(engine, write=True) as session:
                record_run(
                    session,
                    store=store,
                    program=program,
                    as_of=as_of,
                    actor="bench",
                    notify=NotifyOptions(enabled=False),
                )
            timings[f"record_run {as_of}"] = time.perf_counter() - started
        ids = [r[0] for r in store.con.execute("SELECT worker_id FROM workers").fetchall()]
    with session_scope(engine, write=True) as session:
        _row, key = create_api_key(session, name="bench", actor="bench")
    engine.dispose()
    rng = random.Random(7)
    (home / "ids.txt").write_text("\n".join(rng.sample(ids, min(len(ids), 200_000))) + "\n")
    info = {"home": str(home), "api_key": key, "setup_seconds": {k: round(v, 1) for k, v in timings.items()}}
    ready.write_text(json.dumps(info))
    return info


def start_server(home: Path, port: int, *, snapshot: bool = True) -> subprocess.Popen:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PROCERT_")},
        "PROCERT_HOME": str(home),
        "PROCERT_SECRET_KEY": secrets.token_urlsafe(48),
        "PROCERT_PROFILE_SNAPSHOT": "true" if snapshot else "false",
        "PROCERT_CLOCK_SNAPSHOT": "true" if snapshot else "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "procert.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    import urllib.request

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the server stopped: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    sys.exit("the server did not start in 120 s")


def warm(port: int, *, snapshot: bool = True) -> float:
    """One request per endpoint kind first (the directory's cache of current pros is built on first use), then
    wait for the profile and clock snapshots the server builds at start-up; returns the seconds waited for them."""
    import urllib.request

    for path in ("/pros", "/api/v1/pros", "/badge/W0000001.svg", "/workers/W0000001"):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=300) as response:
            response.read()
    started = time.perf_counter()
    while snapshot and time.perf_counter() - started < 600:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30) as response:
            health = json.loads(response.read())
            if health.get("profiles_ready") and health.get("clocks_ready"):
                return time.perf_counter() - started
        time.sleep(0.5)
    if snapshot:
        sys.exit("the profile and clock snapshots were not ready in 600 s")
    return 0.0


def wrk_round(wrk: str, port: int, path: str, headers: dict[str, str], ids: Path, args: argparse.Namespace) -> dict:
    lua_headers = "{" + ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items()) + "}"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % {"ids": ids, "pages": 50, "headers": lua_headers, "path": path})
    result = subprocess.run(
        [
            wrk,
            f"-t{args.threads}",
            f"-c{args.connections}",
            f"-d{args.duration}s",
            "--timeout",
            "10s",
            "-s",
            script.name,
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
    )
    os.unlink(script.name)
    line = next((x for x in result.stderr.splitlines() if x.startswith("{")), None)
    if line is None:
        sys.exit(f"wrk failed: {result.stdout}\n{result.stderr}")
    figures = json.loads(line)
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    return figures


def rss_peak_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk round")
    parser.add_argument("--runs", type=int, default=3, help="rounds per endpoint (medians are reported)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS), help="comma-separated subset")
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--out", type=Path, default=HERE / "results-web.md")
    args = parser.parse_args()
    wrk = ensure_wrk()
    print(f"preparing {args.workers:,} workers (reused when present) …", flush=True)
    info = prepare(args.workers, args.data)
    home = Path(info["home"])
    port = free_port()
    names = args.endpoints.split(",")
    server = start_server(home, port)
    live_port = free_port() if {"profile_live", "status_live"} & set(names) else None
    live = start_server(home, live_port, snapshot=False) if live_port else None
    rounds: dict[str, list[dict]] = {name: [] for name in names}
    try:
        info["setup_seconds"]["profile and clock snapshots (server start)"] = round(warm(port), 1)
        if live_port:
            warm(live_port, snapshot=False)
        for _round in range(args.runs):  # the endpoints interleaved round by round
            for name in names:
                path, keyed, _what = ENDPOINTS[name]
                headers = {"X-API-Key": info["api_key"]} if keyed else {}
                target = live_port if name.endswith("_live") and live_port else port
                rounds[name].append(wrk_round(wrk, target, path, headers, home / "ids.txt", args))
        peak = rss_peak_mb(server.pid)
    finally:
        for process in (server, live):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
    base = rounds.get("healthz")
    results: dict[str, dict] = {}
    for name, measured in rounds.items():
        results[name] = r = {
            "rounds": measured,
            "rps": statistics.median(x["rps"] for x in measured),
            "rps_spread": [round(min(x["rps"] for x in measured)), round(max(x["rps"] for x in measured))],
            "p50_ms": statistics.median(x["p50_us"] for x in measured) / 1000,
            "p99_ms": statistics.median(x["p99_us"] for x in measured) / 1000,
            "errors": sum(x["errors"] + x["non2xx"] for x in measured),
            # the median of per-round ratios to the baseline measured in the same round
            "ratio": statistics.median(x["rps"] / b["rps"] for x, b in zip(measured, base, strict=True))
            if base
            else None,
        }
        print(
            f"{name:14s} {r['rps']:8.0f} req/s (runs {r['rps_spread'][0]}–{r['rps_spread'][1]})  "
            f"p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  errors {r['errors']}",
            flush=True,
        )
    write_report(args, info, results, peak)


def write_report(args: argparse.Namespace, info: dict, results: dict[str, dict], peak_mb: float | None) -> None:
    lines = [
        "# Web load benchmark",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} cores, "
        f"Python {platform.python_version()}) with `python bench/bench_web.py --workers {args.workers} "
        f"--duration {args.duration} --runs {args.runs} --connections {args.connections}`: "
        f"{args.workers:,} workers, two runs recorded in the embedded SQLite ledger, one `procert serve` process "
        "(uvicorn), wrk on the same 2 cores, each request for a uniformly random worker. Medians of the rounds; "
        "the spread is the slowest and fastest round; a ratio is the median of per-round ratios to the baseline, the "
        "endpoints interleaved round by round.",
        "",
        "| endpoint | what | req/s (median) | spread | p50 ms | p99 ms | vs. baseline | errors |",
        "|---|---|---:|---|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        ratio = f"{r['ratio']:.2f}×" if r["ratio"] is not None else "—"
        lines.append(
            f"| `{name}` | {ENDPOINTS[name][2]} | {r['rps']:,.0f} | {r['rps_spread'][0]:,}–{r['rps_spread'][1]:,} | "
            f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {ratio} | {r['errors']} |"
        )
    lines += [
        "",
        f"Server peak memory (VmHWM): {peak_mb:,.0f} MB." if peak_mb else "",
        "Set-up (once, reused): " + ", ".join(f"{k} {v:,} s" for k, v in info["setup_seconds"].items()) + ".",
        "",
        "Targets on this 2-core machine: the badge and the status API ≥ 1,000 req/s with p99 ≤ 50 ms; profile pages",
        "≥ 0.15× the no-work baseline with p99 ≤ 50 ms (issue #16).",
        "",
        "Where the time goes: a badge is a lookup in the server's in-memory snapshot of the current pros; a status",
        "is two indexed lookups in the ledger (the latest result and the history); directory pages filter a list",
        "sorted once per ledger version. A profile page is one point lookup in the server's profile snapshot (an",
        "SQLite copy of every worker's profile facts as of the rated date, built at start-up and after each import",
        "or run); read live it is five DuckDB queries of most of a millisecond each (`profile_live`). Building",
        "the snapshot is most of the server's peak memory: DuckDB takes up to 80 % of RAM unless",
        "`PROCERT_DUCKDB_MEMORY_LIMIT` caps it (with `1GB` the build took as long and peaked at 1.2 GB). A status",
        "also shows the live and forecast clocks: taken from the server's clock snapshot (every worker evaluated",
        "today and at the next date, built at start-up and per day, import and change of leave); evaluated live",
        "per worker on the 2nd server (`status_live`). Errors are non-2xx answers: profiles of workers who left",
        "the marketplace are 410 by design. The server looks at the ledger (one statement; the snapshot is read",
        "again only after a change) in a thread of its own, twice a second; wrk shares the two cores.",
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    args.out.with_suffix(".json").write_text(
        json.dumps(
            {
                "args": {k: str(v) for k, v in vars(args).items()},
                "setup": info["setup_seconds"],
                "peak_mb": peak_mb,
                "results": results,
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    print(f"→ {args.out}")


if __name__ == "__main__":
    main()
