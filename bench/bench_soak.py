"""Soak test of the web: minutes of mixed traffic against one `procert serve` on 127.0.0.1 while a facts import
and a run happen, counting every request and every error (the target is zero).

Traffic, from ``--clients`` threads (each with its own keep-alive connection; ids drawn at random):
the directory page and API, profile pages, badges, the status API (an admin API key), the featured pros, and
one admin sign-in a second with a wrong password (answered 401, then 429 once the address is slowed down and
the account locked: refusals the server is meant to give, counted apart, not as errors). At a third of the time
`procert import` adds a daily delta (new workers, new reviews) and at two thirds `procert run --force`
re-records the latest run (the ledger's write lock held for its whole length). After the import the new workers
must be served: the script checks their profiles at the end.

Errors: transport failures (refused, reset, timeouts of 10 s) and any status other than the endpoint's expected
ones. Latencies per endpoint (p50, p99, max) from the client side: the client shares the 2 cores with the
server. Memory: the server process's resident set at the start and the end (psutil).

    python bench/bench_soak.py                       # 20,000 workers, 10 minutes
    python bench/bench_soak.py --workers 2000 --minutes 1

Prints a table and writes ``bench/results-soak.md`` and ``bench/results-soak.json``.
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
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import psutil

HERE = Path(__file__).resolve().parent
END = date(2026, 11, 29)
AS_OF = "2026-10-01"

#: name: (path template, expected statuses)
ENDPOINTS: dict[str, tuple[str, frozenset[int]]] = {
    "directory": ("/pros?page={page}", frozenset({200})),
    "directory_api": ("/api/v1/pros?sort=recent&page={page}", frozenset({200})),
    "profile": ("/workers/{id}", frozenset({200})),
    "badge": ("/badge/{id}.svg", frozenset({200})),
    "status_api": ("/api/v1/workers/{id}/status", frozenset({200})),
    "featured": ("/api/v1/featured-pros", frozenset({200})),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def procert(env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "procert.cli", *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"procert {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return time.perf_counter() - started


def prepare(workers: int, data: Path) -> tuple[dict[str, str], list[str], Path, str]:
    """A fresh home: generated marketplace imported, a run, featured pros, an admin API key and user."""
    from procert.demo import generate

    home = data / f"soak-{workers}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PROCERT_")},
        "PROCERT_HOME": str(home),
        "PROCERT_SECRET_KEY": secrets.token_urlsafe(48),
        "PROCERT_FACTS_RELOAD_SECONDS": "2",
    }
    generate(home / "export", workers=workers, seed=1, end=END, fmt="csv")
    procert(env, "import", str(home / "export"))
    procert(env, "run", "--as-of", AS_OF)
    procert(env, "featured", "choose")
    key = (
        subprocess.run(
            [sys.executable, "-m", "procert.cli", "api-key", "create", "soak"], env=env, capture_output=True, text=True
        )
        .stdout.strip()
        .split()[-1]
    )
    subprocess.run(
        [sys.executable, "-m", "procert.cli", "admin", "create", "soak-admin", "--password-stdin"],
        env=env,
        input="a long and correct password\n",
        capture_output=True,
        text=True,
        check=True,
    )
    import duckdb

    con = duckdb.connect(str((home / "facts.duckdb").resolve()), read_only=True)
    ids = [r[0] for r in con.execute("SELECT worker_id FROM workers WHERE status = 'active'").fetchall()]
    con.close()
    delta = home / "delta"
    delta.mkdir()
    new_ids = [f"SOAK{n:04d}" for n in range(20)]
    (delta / "workers.csv").write_text(
        "worker_id,display_name,division,registered_at,profile_text,self_pr_text,status\n"
        + "".join(f"{w},新しい人 {w},writer,2026-11-01T09:00:00+09:00,はじめまして,よろしく,active\n" for w in new_ids),
        encoding="utf-8",
    )
    return env, ids, delta, key


class Recorder:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.refusals: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()

    def record(self, name: str, seconds: float, error: str | None, refused: bool = False) -> None:
        with self.lock:
            self.latencies[name].append(seconds)
            if error:
                self.errors[name].append(error)
            if refused:
                self.refusals[name] += 1


def traffic(base: str, ids: list[str], key: str, recorder: Recorder, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    names = list(ENDPOINTS)
    with httpx.Client(base_url=base, timeout=10) as client:
        while not stop.is_set():
            name = rng.choice(names)
            template, expected = ENDPOINTS[name]
            path = template.format(id=rng.choice(ids), page=rng.randint(1, 20))
            headers = {"X-API-Key": key} if name == "status_api" else {}
            started = time.perf_counter()
            try:
                status = client.get(path, headers=headers).status_code
                error = None if status in expected else f"HTTP {status} {path}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__} {path}"
            recorder.record(name, time.perf_counter() - started, error)


def wrong_logins(base: str, recorder: Recorder, stop: threading.Event) -> None:
    """One admin sign-in a second with a wrong password; 401 or 429 (slowed down, locked) are the right answers."""
    with httpx.Client(base_url=base, timeout=10) as client:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                page = client.get("/admin/login")
                csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
                # The session cookie is Secure (production serves over HTTPS): over plain loopback HTTP the
                # client does not send it back by itself, so hand it over as a browser behind TLS would.
                cookie = page.headers["set-cookie"].split(";", 1)[0]
                status = client.post(
                    "/admin/login",
                    data={"csrf": csrf, "username": "soak-admin", "password": "wrong password"},
                    headers={"Cookie": cookie},
                ).status_code
                error = None if status in (401, 429) else f"HTTP {status} /admin/login"
            except (httpx.HTTPError, IndexError) as exc:
                error, status = f"{type(exc).__name__} /admin/login", 0
            recorder.record("admin_login_wrong", time.perf_counter() - started, error, refused=status in (401, 429))
            stop.wait(max(0.0, 1.0 - (time.perf_counter() - started)))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=20_000)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--data", type=Path, default=HERE / "data")
    args = parser.parse_args()

    print(f"preparing {args.workers:,} workers …", flush=True)
    env, ids, delta, key = prepare(args.workers, args.data)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "procert.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            sys.exit("the server did not start")
        time.sleep(0.3)
    httpx.get(f"{base}/pros", timeout=60)  # the directory's cards are built on first use
    process = psutil.Process(server.pid)
    rss_start = process.memory_info().rss

    recorder = Recorder()
    stop = threading.Event()
    threads = [
        threading.Thread(target=traffic, args=(base, ids, key, recorder, stop, n), daemon=True)
        for n in range(args.clients)
    ]
    threads.append(threading.Thread(target=wrong_logins, args=(base, recorder, stop), daemon=True))
    memory: list[tuple[float, float]] = []  # (seconds since start, RSS in MB), every 10 s

    def sample_memory() -> None:
        while not stop.is_set():
            memory.append((time.monotonic() - started, process.memory_info().rss / 2**20))
            stop.wait(10)

    threads.append(threading.Thread(target=sample_memory, daemon=True))
    total = args.minutes * 60
    events: list[str] = []
    started = time.monotonic()
    for t in threads:
        t.start()
    print(f"traffic for {args.minutes:g} min from {args.clients} clients …", flush=True)
    time.sleep(total / 3)
    seconds = procert(env, "import", str(delta))
    events.append(
        f"{time.monotonic() - started:.0f} s: `procert import` of a delta (20 new workers) took {seconds:.1f} s"
    )
    time.sleep(max(0.0, total * 2 / 3 - (time.monotonic() - started)))
    seconds = procert(env, "run", "--as-of", AS_OF, "--force", "--no-notify")
    events.append(f"{time.monotonic() - started:.0f} s: `procert run --force` took {seconds:.1f} s")
    time.sleep(max(0.0, total - (time.monotonic() - started)))
    stop.set()
    for t in threads:
        t.join(timeout=30)
    elapsed = time.monotonic() - started
    rss_end = process.memory_info().rss
    new_visible = sum(httpx.get(f"{base}/workers/SOAK{n:04d}", timeout=10).status_code == 200 for n in range(20))
    server.terminate()
    server.wait(timeout=30)

    rows = []
    for name, values in sorted(recorder.latencies.items()):
        rows.append(
            {
                "endpoint": name,
                "requests": len(values),
                "errors": len(recorder.errors.get(name, [])),
                "refused_as_meant": recorder.refusals.get(name, 0),
                "rps": round(len(values) / elapsed, 1),
                "p50_ms": round(percentile(values, 0.5) * 1000, 1),
                "p99_ms": round(percentile(values, 0.99) * 1000, 1),
                "max_ms": round(max(values) * 1000, 1),
            }
        )
    errors = sum(r["errors"] for r in rows)
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "workers": args.workers,
        "minutes": args.minutes,
        "clients": args.clients,
        "requests": sum(r["requests"] for r in rows),
        "errors": errors,
        "error_samples": [e for es in recorder.errors.values() for e in es][:20],
        "rss_mb_start": round(rss_start / 2**20, 1),
        "rss_mb_end": round(rss_end / 2**20, 1),
        "rss_mb_every_10s": [[round(t), round(mb, 1)] for t, mb in memory],
        "new_workers_served_after_import": f"{new_visible}/20",
        "events": events,
        "endpoints": rows,
    }
    (HERE / "results-soak.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    lines = [
        "# Soak: mixed traffic while an import and a run happen",
        "",
        f"{result['date']} · {result['machine']} · {args.workers:,} workers · {args.minutes:g} minutes · "
        f"{args.clients} client threads + one wrong admin sign-in a second, all on 127.0.0.1 "
        "(clients share the cores with the server). Written by `bench/bench_soak.py`.",
        "",
        f"**{result['requests']:,} requests, {errors} errors.** Server memory (RSS) {result['rss_mb_start']} MB at "
        f"the start, {result['rss_mb_end']} MB at the end. New workers from the mid-run import served at the end: "
        f"{new_visible}/20.",
        "",
        "Server memory over the run (MB, sampled every 10 s): "
        + ", ".join(f"{t:.0f} s {mb:.0f}" for t, mb in memory[:: max(1, len(memory) // 12)]),
        "",
        *[f"- {e}" for e in events],
        "",
        "| endpoint | requests | errors | refused as meant | req/s | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *[
            f"| {r['endpoint']} | {r['requests']:,} | {r['errors']} | {r['refused_as_meant']:,} | {r['rps']} | "
            f"{r['p50_ms']} | {r['p99_ms']} | {r['max_ms']} |"
            for r in rows
        ],
        "",
        "Errors are transport failures and unexpected statuses; wrong sign-ins answered 401 (wrong password) or 429",
        "(address slowed down, account locked) are the refusals the server is meant to give.",
    ]
    if result["error_samples"]:
        lines += ["", "Error samples:", "", *[f"- `{e}`" for e in result["error_samples"]]]
    (HERE / "results-soak.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
