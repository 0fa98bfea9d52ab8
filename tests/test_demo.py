"""The demo generator: valid against the contract, reproducible, skewed, and in mixed time notations."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from procert.demo import generate
from procert.evaluation import evaluate
from procert.facts import TABLE_ORDER, TABLES, FactStore, import_export
from procert.programs import load_program


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("demo")
    generate(directory, workers=3000, seed=11, end=date(2025, 3, 31))
    return directory


def test_demo_export_imports_cleanly_and_certifies_some(demo: Path, tmp_path: Path):
    with FactStore(tmp_path / "f.duckdb") as store:
        report = import_export(store, demo, timezone="Asia/Tokyo")
        assert set(report.rows) == set(TABLE_ORDER)
        summary = evaluate(store, load_program("crowdworks-pro"), date(2025, 1, 1)).summary()
    assert summary.workers == 3000
    assert 0 < summary.certified < summary.eligible < summary.workers
    assert all(0 < passed < 3000 for passed in summary.passed.values())


def test_same_seed_same_data_and_another_seed_differs(demo: Path, tmp_path: Path):
    again = generate(tmp_path / "again", workers=3000, seed=11, end=date(2025, 3, 31))
    for table in TABLE_ORDER:
        assert (demo / f"{table}.csv").read_bytes() == (again.directory / f"{table}.csv").read_bytes()
    other = generate(tmp_path / "other", workers=3000, seed=12, end=date(2025, 3, 31))
    assert (other.directory / "contracts.csv").read_bytes() != (demo / "contracts.csv").read_bytes()


def test_columns_follow_the_contract_and_timestamps_mix_notations(demo: Path):
    contracts = pacsv.read_csv(demo / "contracts.csv").to_pydict()
    workers = pacsv.read_csv(
        demo / "workers.csv",
        convert_options=pacsv.ConvertOptions(column_types={"profile_text": "string", "self_pr_text": "string"}),
    ).to_pydict()
    assert list(workers) == list(TABLES["workers"].column_names)
    started = contracts["started_at"]
    assert any(s.endswith("+09:00") for s in started)
    assert any(s.endswith("Z") for s in started)
    assert any(len(s) == 19 for s in started)  # naive: Japan time
    assert any(p == "\u3000" for p in workers["profile_text"])  # full-width blank profiles exist
    assert {"writer", "designer", "business", "engineer"} == set(workers["division"])


def test_activity_is_skewed(demo: Path):
    per_worker: dict[str, int] = {}
    for wid in pacsv.read_csv(demo / "contracts.csv").column("worker_id").to_pylist():
        per_worker[wid] = per_worker.get(wid, 0) + 1
    counts = sorted(per_worker.values())
    mean = sum(counts) / 3000
    assert 12 < mean < 30  # about 20 contracts per worker
    assert counts[-1] > 10 * counts[len(counts) // 2]  # the busiest worker does far more than the median one


def test_parquet_format(tmp_path: Path):
    summary = generate(tmp_path, workers=50, seed=1, end=date(2025, 1, 1), fmt="parquet")
    assert pq.read_table(tmp_path / "workers.parquet").num_rows == 50 == summary.rows["workers"]
    with pytest.raises(ValueError, match="format must be csv or parquet"):
        generate(tmp_path, workers=5, fmt="xlsx")


def test_the_parquet_demo_holds_typed_timestamps_and_the_same_facts_as_the_csv_demo(tmp_path: Path):
    """Parquet holds timestamps as UTC instants (as a warehouse writes them), CSV as ISO 8601 text in mixed
    offsets; both are drawn from the same random numbers, so their imports store the same facts."""
    import pyarrow as pa

    from procert.facts import FactStore, import_export

    end = date(2025, 1, 1)
    generate(tmp_path / "pq", workers=300, seed=4, end=end, fmt="parquet")
    generate(tmp_path / "csv", workers=300, seed=4, end=end, fmt="csv")
    schema = pq.read_schema(tmp_path / "pq" / "contracts.parquet")
    assert schema.field("closed_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("amount_jpy").type == pa.int64()
    tables = ("workers", "contracts", "reviews", "payments", "scouts", "inquiries", "monthly_earnings")
    facts = []
    for fmt in ("pq", "csv"):
        with FactStore(tmp_path / f"{fmt}.duckdb") as store:
            import_export(store, tmp_path / fmt, timezone="Asia/Tokyo")
            facts.append({t: store.query(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables})
    assert facts[0] == facts[1]
    assert len(facts[0]["payments"]) > 1000


def test_the_readme_demo_builds_a_marketplace_with_history_and_serves_it(tmp_path: Path):
    """`procert demo` as the README's first command runs it: generate, import, evaluate, a year of runs, then the
    site in demo mode, with the directory, the demo sign-in, a dashboard and the printed admin password working."""
    import os
    import re
    import signal
    import subprocess
    import sys
    import time

    import httpx

    from tests.test_notify import free_port
    from tests.test_web import use_login_link

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCERT_")}
    command = [sys.executable, "-m", "procert.cli", "demo", "-n", "1500", "--home", str(tmp_path / "home")]
    process = subprocess.Popen(
        [*command, "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 240
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                if httpx.get(f"{base}/pros", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the demo site did not come up"
            time.sleep(0.5)
        with httpx.Client(base_url=base, timeout=10, follow_redirects=True) as client:
            pros = client.get("/api/v1/pros").json()
            assert pros["total"] > 0
            runs_page = client.get("/demo/login").text
            link = re.search(r'href="(/login\?token=[^"]+)" data-worker="([^"]+)"', runs_page)
            assert link is not None
            dashboard = use_login_link(client, link.group(1).replace("&amp;", "&"))
            assert dashboard.status_code == 303
            dashboard = client.get(dashboard.headers["location"])
            assert dashboard.status_code == 200 and 'role="progressbar"' in dashboard.text
            history = client.get(f"/api/v1/workers/{link.group(2)}/status").json()["history"]
            assert history and history[0]["kind"] == "granted"
            # The benefits: a stream of jobs, some premium (a pro sees those in early access too), an issue.
            jobs = client.get("/api/v1/jobs?per_page=100").json()
            assert jobs["total"] > 50 and any(j["premium"] for j in jobs["items"])
            assert 'data-issue="1"' in client.get("/newsletter").text
            assert len(client.get("/api/v1/featured-pros").json()["items"]) > 0
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert "四半期ごとの 4 回の実行" in output  # the narration in the default language, Japanese
    password = re.search(r"ユーザー demo-admin、パスワード ([^）\s]+)）", output)
    assert password is not None, output[-2000:]


def test_demo_jobs_read_like_postings_of_real_companies(tmp_path: Path):
    from datetime import UTC, datetime

    from procert.benefits import read_job_rows, validate_jobs
    from procert.demo import generate_jobs

    now = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    rows = read_job_rows(generate_jobs(tmp_path / "jobs.csv", count=150, clients=1000, now=now))
    valid = validate_jobs(rows, program=load_program("crowdworks-pro"), source="demo")
    assert len(valid) == 150
    # A client is one company in every job it posts, with one tier.
    companies: dict[str, set[tuple[str, str]]] = {}
    for job in valid:
        companies.setdefault(job.client_id, set()).add((job.company_name, job.company_tier))
    assert all(len(names) == 1 for names in companies.values()) and len(companies) >= 30
    assert len({name for names in companies.values() for name, _tier in names}) >= 25
    # Titles and descriptions composed per division and client: few repeat, every description has its sections.
    assert len({j.title for j in valid}) >= 100 and len({j.description for j in valid}) == 150
    for job in valid:
        assert job.description is not None
        assert job.description.startswith("## 概要") and "## お願いしたいこと" in job.description
        assert job.company_name in job.description
    # An engineer's job asks for engineers' skills, a writer's for writers'.
    engineer = {s for j in valid if j.division == "engineer" for s in j.skills}
    writer = {s for j in valid if j.division == "writer" for s in j.skills}
    assert "Python" in engineer and "Python" not in writer and "執筆" in writer
    again = read_job_rows(generate_jobs(tmp_path / "again.csv", count=150, clients=1000, now=now))
    assert again == rows
