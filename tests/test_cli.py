"""The procert command as a user runs it: a real process, exit codes, messages and files."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from procert.facts import FactStore
from tests.conftest import Export

HEADER = (
    "worker_id,certified,completion_rate,overall_rating,earnings_rank,scouts,communication_rating,profile,"
    "completion_rate_passed,overall_rating_passed,earnings_rank_passed,scouts_passed,"
    "communication_rating_passed,profile_passed"
)


def procert(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PROCERT_")}
    environment.update({"PROCERT_HOME": str(home), "COLUMNS": "200", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "procert.cli", *args], capture_output=True, text=True, env=environment, timeout=300
    )


def tiny_export() -> Export:
    exp = Export()
    exp.worker("W1")
    exp.contract("W1", "2024-06-01T00:00:00+09:00")
    exp.review("W1", 5)
    exp.payment("W1", "2024-06-10T00:00:00+09:00", 100_000)
    for _ in range(5):
        exp.scout("W1", "2024-06-01T00:00:00+09:00")
    exp.worker("W2", division="engineer")
    return exp


@pytest.fixture
def home(tmp_path: Path) -> Path:
    result = procert(tmp_path / "home", "import", str(tiny_export().write(tmp_path / "export")))
    assert result.returncode == 0, result.stderr
    return tmp_path / "home"


def test_evaluate_writes_exact_csv_and_prints_a_summary(home: Path, tmp_path: Path):
    out = tmp_path / "results.csv"
    result = procert(home, "evaluate", "--as-of", "2025-01-01", "--out", str(out), "--lang", "en")
    assert result.returncode == 0, result.stderr
    assert out.read_text().splitlines() == [
        HEADER,
        "W1,true,1.0,5.0,1,5,5.0,true,true,true,true,true,true,true",
        "W2,false,,,,0,,true,false,false,false,false,false,true",
    ]
    assert "Workers evaluated: 2" in result.stdout
    assert "Certified: 1" in result.stdout


def test_evaluate_jsonl_and_parquet(home: Path, tmp_path: Path):
    assert procert(home, "evaluate", "--as-of", "2025-01-01", "-o", str(tmp_path / "r.jsonl")).returncode == 0
    first = json.loads((tmp_path / "r.jsonl").read_text().splitlines()[0])
    assert first["worker_id"] == "W1" and first["certified"] is True and first["overall_rating"] == 5.0
    assert procert(home, "evaluate", "--as-of", "2025-01-01", "-o", str(tmp_path / "r.parquet")).returncode == 0
    table = pq.read_table(tmp_path / "r.parquet")
    assert table.column_names == HEADER.split(",")
    assert table.column("earnings_rank").to_pylist() == [1, None]


def test_evaluate_default_output_goes_under_home(home: Path):
    result = procert(home, "evaluate", "--as-of", "2025-04-01")
    assert result.returncode == 0, result.stderr
    assert (home / "results" / "crowdworks-pro_2025-04-01.csv").exists()
    assert "認定: " in result.stdout  # Japanese by default


def test_explain_in_both_languages(home: Path):
    en = procert(home, "explain", "W2", "--as-of", "2025-01-01", "--lang", "en")
    assert en.returncode == 0, en.stderr
    assert "does not meet every criterion" in en.stdout
    assert "5 more needed within the window (now 0)." in en.stdout
    ja = procert(home, "explain", "W1", "--as-of", "2025-01-01")
    assert "認定条件をすべて満たしています" in ja.stdout
    as_json = json.loads(procert(home, "explain", "W2", "--as-of", "2025-01-01", "--format", "json").stdout)
    assert as_json["certified"] is False
    assert [c["id"] for c in as_json["criteria"]][:2] == ["completion_rate", "overall_rating"]


def test_bad_import_reports_and_changes_nothing(home: Path, tmp_path: Path):
    exp = tiny_export()
    exp.rows["workers"][1]["status"] = "sleeping"
    exp.rows["reviews"][0]["quality"] = 6
    with FactStore(home / "facts.duckdb", read_only=True) as store:
        before = store.fingerprint()
    result = procert(home, "import", str(exp.write(tmp_path / "bad")))
    assert result.returncode == 1
    # In the operator's language: Japanese unless PROCERT_LANG says otherwise.
    assert "取り込めませんでした: 問題が 2 件あります。何も保存していません" in result.stderr, result.stderr
    assert "workers.csv、2 行目、列 status: 不明な値 'sleeping' です。" in result.stderr
    assert "reviews.csv、1 行目、列 quality: 1 から 5 までの整数にしてください（値: '6'）" in result.stderr
    english = procert(home, "import", str(tmp_path / "bad"), env={"PROCERT_LANG": "en"})
    assert english.returncode == 1
    assert "import failed: 2 problem(s); nothing was stored" in english.stderr
    assert "workers.csv, row 2, column status: unknown value 'sleeping'" in english.stderr
    assert "reviews.csv, row 1, column quality: must be an integer from 1 to 5 (got '6')" in english.stderr
    with FactStore(home / "facts.duckdb", read_only=True) as store:
        assert store.fingerprint() == before


def test_user_errors_exit_non_zero_with_a_message(home: Path, tmp_path: Path):
    bad_date = procert(home, "evaluate", "--as-of", "2025-13-01")
    assert bad_date.returncode == 2 and "not a date" in bad_date.stderr
    unknown = procert(home, "explain", "W404", "--as-of", "2025-01-01")
    assert unknown.returncode == 1 and "no worker 'W404'" in unknown.stderr
    empty = procert(tmp_path / "empty-home", "evaluate")
    assert empty.returncode == 1 and "procert import" in empty.stderr
    bad_out = procert(home, "evaluate", "--out", str(tmp_path / "r.xlsx"))
    assert bad_out.returncode == 2 and ".csv, .parquet or .jsonl" in bad_out.stderr


def test_programs_list_show_and_a_custom_program_by_env(home: Path, tmp_path: Path):
    listed = procert(home, "programs", "list")
    assert listed.returncode == 0 and "crowdworks-pro" in listed.stdout
    shown = procert(home, "programs", "show", "crowdworks-pro", "--lang", "en")
    assert shown.returncode == 0 and "Engineer: <= 100" in shown.stdout  # the label, never the code
    broken = tmp_path / "broken.toml"
    broken.write_text('id = "broken"\nversion = 1\n', encoding="utf-8")
    failed = procert(home, "programs", "show", str(broken))
    assert failed.returncode == 2 and "criteria: Field required" in failed.stderr
    from procert.programs.loader import _presets_dir

    lenient = tmp_path / "lenient.toml"
    lenient.write_text(
        (_presets_dir() / "crowdworks-pro.toml")
        .read_text(encoding="utf-8")
        .replace('id = "crowdworks-pro"', 'id = "lenient"')
        .replace("threshold = 5", "threshold = 0"),
        encoding="utf-8",
    )
    result = procert(
        home, "evaluate", "--as-of", "2025-01-01", "-o", str(tmp_path / "l.csv"), env={"PROCERT_PROGRAM": str(lenient)}
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader((tmp_path / "l.csv").open()))
    assert (rows[1]["worker_id"], rows[1]["scouts"], rows[1]["scouts_passed"]) == ("W2", "0", "true")


def test_demo_data_round_trips_through_import(tmp_path: Path):
    result = procert(
        tmp_path / "h", "demo-data", str(tmp_path / "demo"), "--workers", "300", "--seed", "7", "--end", "2025-01-15"
    )
    assert result.returncode == 0, result.stderr
    imported = procert(tmp_path / "h", "import", str(tmp_path / "demo"))
    assert imported.returncode == 0, imported.stderr
    assert "300" in imported.stdout


def test_the_import_runs_within_its_memory_limit_setting(tmp_path: Path):
    """PROCERT_IMPORT_MEMORY_LIMIT bounds DuckDB while an import runs (it spills beyond it); a value that is not
    a size is refused before anything is read."""
    made = procert(tmp_path / "h", "demo-data", str(tmp_path / "demo"), "--workers", "2000", "--end", "2025-01-15")
    assert made.returncode == 0, made.stderr
    tight = procert(tmp_path / "h", "import", str(tmp_path / "demo"), env={"PROCERT_IMPORT_MEMORY_LIMIT": "64MB"})
    assert tight.returncode == 0, tight.stderr
    with FactStore(tmp_path / "h" / "facts.duckdb", read_only=True) as store:
        assert store.counts()["workers"] == 2000
    bad = procert(tmp_path / "h2", "import", str(tmp_path / "demo"), env={"PROCERT_IMPORT_MEMORY_LIMIT": "lots"})
    assert bad.returncode == 2
    assert "PROCERT_IMPORT_MEMORY_LIMIT" in bad.stderr and "'lots'" in bad.stderr
    assert not (tmp_path / "h2" / "facts.duckdb").exists()


def test_facts_shows_counts_and_imports(home: Path, tmp_path: Path):
    result = procert(home, "facts")
    assert result.returncode == 0, result.stderr
    assert "タイムゾーン Asia/Tokyo" in result.stdout
    assert "取り込み #1" in result.stdout and "（追加・更新）" in result.stdout
    english = procert(home, "facts", env={"PROCERT_LANG": "en"})
    assert "time zone Asia/Tokyo" in english.stdout
    assert "import #1" in english.stdout and "(upsert)" in english.stdout
    assert procert(tmp_path / "nothing", "facts").returncode == 1


def test_version():
    result = subprocess.run([sys.executable, "-m", "procert.cli", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("procert ")


def test_a_program_needing_facts_the_store_lacks_is_refused_in_one_line(home: Path):
    """The home's store holds a version 1 export: lancers-certified refuses before any work, naming the criteria."""
    result = procert(home, "evaluate", "--program", "lancers-certified", "--as-of", "2025-01-01")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    message = result.stderr + result.stdout
    assert "criterion response_rate (response_rate) needs the table inquiries" in message
    assert "workers.identity_verified" in message and "workers.last_login_at" in message
    assert not list((home / "results").glob("lancers-certified_*"))  # nothing written


def test_appeals_are_listed_and_answered_from_the_command_line(home: Path):
    from procert.ledger import file_appeal, make_engine, session_scope
    from procert.programs import load_program

    assert procert(home, "run", "--as-of", "2025-01-01").returncode == 0
    assert "回答待ちの申し立てはありません" in procert(home, "appeals", "list").stdout
    engine = make_engine(f"sqlite:///{home / 'ledger.sqlite'}")
    with session_scope(engine, write=True) as session:
        appeal = file_appeal(
            session, program=load_program("crowdworks-pro"), worker_id="W2", run_id=1, text="My profile was filled in."
        )
        appeal_id = appeal.id
    engine.dispose()
    listed = procert(home, "appeals", "list", "--lang", "en")
    assert (
        listed.returncode == 0
        and "My profile was filled in." in listed.stdout
        and "The whole decision" in listed.stdout
    )
    refused = procert(home, "appeals", "answer", str(appeal_id), "--answer", "   ")
    assert refused.returncode == 2 and "must not be empty" in refused.stderr
    answered = procert(home, "appeals", "answer", str(appeal_id), "--answer", "The profile was blank on 2025-01-01.")
    assert answered.returncode == 0, answered.stderr
    assert f"異議申し立て #{appeal_id} に回答しました" in answered.stdout
    assert "回答済み" in procert(home, "appeals", "list", "--all").stdout
    again = procert(home, "appeals", "answer", str(appeal_id), "--answer", "twice")
    assert again.returncode == 2 and "answered already" in again.stderr
