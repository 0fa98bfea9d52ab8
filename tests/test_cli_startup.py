"""Commands load only what they use: the registry of lazily loaded commands matches the modules that define
them, and a command that needs neither the ledger nor the web never imports SQLAlchemy, FastAPI or the mail."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

from procert.cli.main import COMMANDS, GROUPS, _invoked, build_app


def test_the_registry_names_every_command_of_every_module():
    for module_name, names in COMMANDS.items():
        commands = importlib.import_module(f"procert.cli.{module_name}").commands
        defined = tuple(c.name or c.callback.__name__.replace("_", "-") for c in commands.registered_commands)
        assert defined == names, module_name
    for group, (module_name, attribute) in GROUPS.items():
        assert hasattr(importlib.import_module(f"procert.cli.{module_name}"), attribute), group
    whole = build_app()
    registered = {g.name for g in whole.registered_groups if g.name}
    assert registered == set(GROUPS)


@pytest.mark.parametrize(
    ("argv", "invoked"),
    [
        (["evaluate", "--as-of", "2026-12-01"], "evaluate"),
        (["jobs", "import", "x.csv"], "jobs"),
        (["--help"], None),
        ([], None),
        (["no-such-command"], None),  # everything loaded: Typer's error lists the real commands
    ],
)
def test_the_invoked_name_decides_what_loads(argv: list[str], invoked: str | None):
    assert _invoked(argv) == invoked


HEAVY = ("sqlalchemy", "alembic", "fastapi", "procert.ledger", "procert.web", "procert.notify", "numpy")
PROBE = (
    "import json, sys; import procert.cli.main as m; m.build_app({name!r}); "
    "print(json.dumps([h for h in {heavy!r} if h in sys.modules]))"
)


@pytest.mark.parametrize("name", ["evaluate", "explain", "import", "programs"])
def test_commands_without_the_ledger_do_not_import_it(name: str):
    probe = PROBE.format(name=name, heavy=HEAVY)
    loaded = json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, check=True).stdout)
    assert loaded == []


def test_a_ledger_command_loads_the_ledger():
    probe = PROBE.format(name="run", heavy=HEAVY)
    loaded = json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, check=True).stdout)
    assert "sqlalchemy" in loaded and "procert.ledger" in loaded


#: What only an import or a progress display uses: evaluating, explaining and listing programs never load it.
IMPORT_ONLY = ("procert.facts.importer", "procert.facts.checks", "procert.facts.atomic", "rich.progress")


@pytest.mark.parametrize("name", ["evaluate", "explain", "programs"])
def test_reading_commands_do_not_load_the_import(name: str):
    probe = PROBE.format(name=name, heavy=IMPORT_ONLY)
    loaded = json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, check=True).stdout)
    assert loaded == []


def test_the_import_loads_when_first_named():
    probe = (
        "import json, sys; import procert.facts as f; before = 'procert.facts.importer' in sys.modules; "
        "f.import_export; print(json.dumps([before, 'procert.facts.importer' in sys.modules]))"
    )
    loaded = json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, check=True).stdout)
    assert loaded == [False, True]
