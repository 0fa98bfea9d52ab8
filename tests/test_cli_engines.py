"""The engines from the command line: `procert import` copies the facts to PROCERT_FACTS_URL, and
`procert evaluate --engine postgresql|spark` writes a result file identical, byte for byte, to the embedded one."""

from __future__ import annotations

from pathlib import Path

from tests.ledger_support import ledger_url
from tests.test_cli_ledger import environment, procert


def test_every_engine_writes_the_same_result_file(tmp_path: Path):
    for url in ledger_url("postgresql", tmp_path):
        env = environment(tmp_path / "home", None, PROCERT_FACTS_URL=url, PROCERT_SPARK_MASTER="local[2]")
        assert procert(env, "demo-data", str(tmp_path / "export"), "-n", "800", "--seed", "3").returncode == 0
        imported = procert(env, "import", str(tmp_path / "export"))
        assert imported.returncode == 0, imported.stderr
        files = {}
        for engine in ("duckdb", "postgresql", "spark"):
            target = tmp_path / f"{engine}.csv"
            run = procert(env, "evaluate", "--as-of", "2026-10-01", "--engine", engine, "--out", str(target))
            assert run.returncode == 0, run.stderr
            files[engine] = target.read_bytes()
        assert files["duckdb"].count(b"\n") == 801
        assert files["postgresql"] == files["duckdb"] and files["spark"] == files["duckdb"]
        refused = procert({**env, "PROCERT_FACTS_URL": ""}, "evaluate", "--engine", "postgresql")
        assert refused.returncode == 1 and "PROCERT_FACTS_URL" in refused.stderr
        assert procert(env, "evaluate", "--engine", "oracle").returncode == 2
