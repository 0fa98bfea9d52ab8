"""Docs are tested: every command, option, setting, table column, metric and message is documented."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from procert.cli.main import app
from procert.facts import TABLES
from procert.metrics import METRICS
from procert.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def _commands(group: Any, prefix: str = "procert") -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if hasattr(command, "commands"):
            found.update(_commands(command, path))
        else:
            found[path] = command
    return found


def test_every_command_and_option_is_documented():
    cli_doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    commands = _commands(typer.main.get_command(app))
    assert {"procert import", "procert evaluate", "procert explain", "procert demo"} <= set(commands)
    for path, command in commands.items():
        assert f"`{path}" in cli_doc, f"{path} is not documented in docs/cli.md"
        section = cli_doc.split(f"### `{path}")[1].split("\n### ")[0]
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt != "--help":
                    assert f"`{opt}`" in section, f"{path} {opt} is not documented in its section of docs/cli.md"


def test_every_setting_is_documented():
    cli_doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"`PROCERT_{name.upper()}`" in cli_doc, f"PROCERT_{name.upper()} is not documented"


def test_every_contract_column_is_documented():
    contract = (ROOT / "docs" / "data-contract.md").read_text(encoding="utf-8")
    for table in TABLES.values():
        section = contract.split(f"### `{table.name}`")[1].split("\n### ")[0]
        for column in table.columns:
            assert f"| `{column.name}` |" in section, f"{table.name}.{column.name} is not documented"
            for choice in column.choices:
                assert f"`{choice}`" in section, f"{table.name}.{column.name} value {choice} is not documented"


def test_every_metric_and_parameter_is_documented():
    programs = (ROOT / "docs" / "programs.md").read_text(encoding="utf-8")
    for name, metric in METRICS.items():
        row = next((line for line in programs.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"metric {name} is not in docs/programs.md"
        for param in metric.Params.model_fields:
            assert f"`{param}`" in row, f"{name}.{param} is not documented"


def test_readme_opens_with_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("```bash\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(block) == 2
    demo, tests = block
    assert "procert demo" in demo
    assert "pytest" in tests
    assert tests in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
