"""The site under load on a real server process (issue 11): cheap requests cannot take it down, imports and runs
happen while it serves with zero errors and the new facts show, an interrupted import changes nothing. Bounded
in count and time, on 127.0.0.1 only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from procert.facts import FactStore
from procert.web.auth import generate_secret
from tests.conftest import Export
from tests.test_ledger import pro
from tests.test_notify import free_port

D1 = date(2025, 1, 1)


def environment(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCERT_")}
    env.update(
        {
            "PROCERT_HOME": str(home),
            "PROCERT_SECRET_KEY": generate_secret(),
            "PROCERT_FACTS_RELOAD_SECONDS": "0.2",
            "PROCERT_LEDGER_REFRESH_SECONDS": "0.2",
            **extra,
        }
    )
    return env


def procert(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "procert.cli", *args], env=env, capture_output=True, text=True, check=check, timeout=120
    )


def marketplace(directory: Path, extra: tuple[str, ...] = (), pros: int = 30) -> Path:
    exp = Export()
    for n in range(pros):
        pro(exp, f"P{n:03d}", display_name=f"プロ {n}")
    for wid in extra:
        exp.worker(wid, display_name=f"新人 {wid}")
    return exp.write(directory)


def wait_until_serving(base: str, process: subprocess.Popen, path: str = "/healthz") -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}{path}", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.2)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Path]]:
    home = tmp_path / "home"
    env = environment(home)
    procert(env, "import", str(marketplace(tmp_path / "e0")))
    procert(env, "run", "--as-of", "2025-01-01")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "procert.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, process)
        yield base, env, tmp_path
    finally:
        process.terminate()
        process.wait(timeout=20)


class Load:
    """Threads that request paths in a loop until stopped, counting outcomes."""

    def __init__(self, base: str, paths: list[str], threads: int, pause: float = 0.0) -> None:
        self.outcomes: Counter[str] = Counter()
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(base, paths[i % len(paths)], pause), daemon=True)
            for i in range(threads)
        ]

    def _run(self, base: str, path: str, pause: float) -> None:
        with httpx.Client(base_url=base, timeout=10) as client:
            while not self._stop.is_set():
                try:
                    status = client.get(path).status_code
                    outcome = "ok" if status == 200 else f"{status}"
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                with self._lock:
                    self.outcomes[outcome] += 1
                    if outcome != "ok":
                        self.failures.append(f"{path}: {outcome}")
                if pause:
                    time.sleep(pause)

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=20)


def test_featured_pros_callers_cannot_take_profiles_down(server):
    base, env, _ = server
    procert(env, "featured", "choose")
    with Load(base, ["/api/v1/featured-pros"], threads=20) as hammer, Load(base, ["/workers/P001"], 1, 0.1) as probe:
        time.sleep(5)
    assert hammer.outcomes["ok"] > 100 and not hammer.failures, hammer.outcomes
    # Availability, not speed (bench/bench_web.py measures rates): every profile request answered, and at least
    # a few a second on two loaded cores.
    assert probe.outcomes["ok"] >= 10 and not probe.failures, probe.outcomes
    assert len(httpx.get(f"{base}/api/v1/featured-pros").json()["items"]) == 4


def test_three_imports_and_a_run_while_serving_with_zero_errors(server):
    base, env, tmp_path = server
    paths = ["/pros", "/workers/P001", "/badge/P002.svg", "/api/v1/pros", "/api/v1/featured-pros", "/healthz"]
    exports = [marketplace(tmp_path / f"e{n}", extra=tuple(f"N{m}" for m in range(1, n + 1))) for n in (1, 2, 3)]
    with Load(base, paths, threads=6) as load:
        imports = [
            subprocess.Popen(
                [sys.executable, "-m", "procert.cli", "import", str(e)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for e in exports
        ]
        results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in imports]
        run = procert(env, "run", "--as-of", "2025-01-01", "--force", check=False)
        time.sleep(1.0)
    assert all(code == 0 for code, _ in results), results
    assert run.returncode == 0, run.stderr
    assert load.outcomes["ok"] > 100 and not load.failures, (load.outcomes, load.failures[:5])
    # The new facts are served without a restart (the last import added N3).
    deadline = time.monotonic() + 5
    while httpx.get(f"{base}/workers/N3").status_code != 200:
        assert time.monotonic() < deadline, "the server never switched to the new facts"
        time.sleep(0.2)
    assert "新人 N3" in httpx.get(f"{base}/workers/N3").text


def test_a_killed_import_changes_nothing_and_the_next_one_cleans_up(tmp_path: Path):
    home = tmp_path / "home"
    env = environment(home)
    procert(env, "import", str(marketplace(tmp_path / "small", pros=3)))
    path = home / "facts.duckdb"
    with FactStore(path, read_only=True) as store:
        before = store.fingerprint()
    big = marketplace(tmp_path / "big", pros=3000)
    whole = environment(tmp_path / "reference")
    procert(whole, "import", str(big), "--replace")
    with FactStore(tmp_path / "reference" / "facts.duckdb", read_only=True) as store:
        fully_new = store.fingerprint()
    interrupted = 0
    for delay in (0.3, 0.8, 1.2, 1.6):
        process = subprocess.Popen(
            [sys.executable, "-m", "procert.cli", "import", str(big), "--replace"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        with FactStore(path, read_only=True) as store:
            now = store.fingerprint()
        # Unchanged, or the whole new import: never anything in between.
        assert now in (before, fully_new)
        interrupted += now == before
    assert interrupted >= 1
    # A large import killed while it staged its typed rows leaves a scratch file beside its copy.
    left = home / "facts.duckdb.versions" / "facts-20260101T000000-1-000000001.duckdb.staging"
    left.write_bytes(b"what a killed import left")
    left.with_name(left.name + ".wal").write_bytes(b"and its log")
    procert(env, "import", str(marketplace(tmp_path / "again", pros=4)), "--replace")
    versions = sorted(p.name for p in (home / "facts.duckdb.versions").iterdir())
    # The new version and the one before; the killed imports' copies and scratch files are gone.
    assert len(versions) == 2, versions
    assert all(name.endswith(".duckdb") for name in versions), versions
    with FactStore(path, read_only=True) as store:
        assert store.counts()["workers"] == 4


def test_serve_starts_while_an_import_runs(tmp_path: Path):
    home = tmp_path / "home"
    env = environment(home)
    procert(env, "import", str(marketplace(tmp_path / "small", pros=3)))
    big = marketplace(tmp_path / "big", pros=2000)
    importing = subprocess.Popen(
        [sys.executable, "-m", "procert.cli", "import", str(big)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    port = free_port()
    serving = subprocess.Popen(
        [sys.executable, "-m", "procert.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", serving, path="/pros")
        assert importing.wait(timeout=120) == 0, importing.stderr.read() if importing.stderr else ""
    finally:
        serving.terminate()
        serving.wait(timeout=20)


def test_a_locked_ledger_never_stalls_the_event_loop(tmp_path: Path):
    """A ledger table locked by someone else (here: PostgreSQL, ACCESS EXCLUSIVE): requests that read the ledger
    wait in worker threads; /healthz and badges (answered from the fresh snapshot) go on answering at once."""
    import psycopg

    from procert.facts import import_export
    from procert.ledger import NotifyOptions, create_api_key, record_run, session_scope
    from procert.programs import load_program
    from tests.browser_support import serve
    from tests.ledger_support import PG_URL, ledger_url, ready_engine
    from tests.web_support import web_app

    program = load_program("crowdworks-pro")
    for url in ledger_url("postgresql", tmp_path):
        engine = ready_engine(url)
        exp = Export()
        pro(exp, "A")
        with FactStore(tmp_path / "facts.duckdb") as store:
            import_export(store, exp.write(tmp_path / "e"), timezone=program.timezone)
            with session_scope(engine, write=True) as session:
                record_run(
                    session,
                    store=store,
                    program=program,
                    as_of=D1,
                    actor="t",
                    notify=NotifyOptions(enabled=False),
                )
                _row, key = create_api_key(session, name="t", actor="t")
        app = web_app(
            program=program,
            engine=engine,
            facts_path=tmp_path / "facts.duckdb",
            secret=generate_secret(),
            ledger_refresh_seconds=600,
        )
        schema = url.split("search_path%3D")[-1]
        with serve(app, free_port()) as base, httpx.Client(base_url=base, timeout=5) as client:
            assert client.get("/badge/A.svg").status_code == 200  # the snapshot is loaded
            with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://")) as locker:
                locker.execute(f"LOCK TABLE {schema}.run_results IN ACCESS EXCLUSIVE MODE")
                hung: list[int] = []

                def read_status(into: list[int] = hung, api_key: str = key) -> None:
                    response = httpx.get(f"{base}/api/v1/workers/A/status", headers={"X-API-Key": api_key}, timeout=30)
                    into.append(response.status_code)

                waiting = threading.Thread(target=read_status, daemon=True)
                waiting.start()
                time.sleep(0.5)
                assert waiting.is_alive()  # it waits for the lock…
                for _ in range(20):  # …while the loop answers everyone else
                    assert client.get("/healthz").status_code == 200
                    assert client.get("/badge/A.svg").status_code == 200
                    assert client.get("/api/v1/pros").status_code == 200
                locker.rollback()  # the lock ends
            waiting.join(timeout=30)
            assert hung == [200]
        engine.dispose()
