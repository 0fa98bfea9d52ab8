"""The one-way flow (written once in README.md, the package docstring and docs/architecture.md, and checked here
against each other): facts → metrics → programs → evaluation → ledger → notify → benefits → web / cli. No stage
imports a later one."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "procert"

# Lower numbers come earlier in the flow. Shared utilities (settings, i18n) sit at the bottom.
LAYERS = {
    "errors": 0,  # the root of procert's own errors
    "settings": 0,
    "signing": 0,  # the signing key's rules
    "i18n": 0,
    "locale": 0,  # data only: the message catalogues i18n reads
    "facts": 1,
    "demo": 9,  # the demo scenario (on the core object); its generators write exports in the facts contract
    "metrics": 2,
    "programs": 3,
    "evaluation": 4,
    "ledger": 5,
    "notify": 6,
    "benefits": 7,
    "core": 8,  # procert.Procert: the settings turned into every stage's objects, taken by the web and the CLI
    "web": 9,
    "cli": 10,
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m.split(".")[1] for m in found if m.startswith("procert.") and len(m.split(".")) > 1}


def test_every_stage_has_a_layer():
    stages = {
        p.stem if p.is_file() else p.name
        for p in SRC.iterdir()
        if not p.name.startswith("_") and (p.suffix == ".py" or p.is_dir())
    }
    stages.discard("py")
    assert stages <= set(LAYERS), f"unassigned stages: {stages - set(LAYERS)}"


def test_no_stage_imports_a_later_stage():
    violations = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC)
        stage = rel.parts[0].removesuffix(".py")
        if stage.startswith("_"):
            continue
        for imported in _imports(path):
            if imported in LAYERS and LAYERS[imported] > LAYERS[stage]:
                violations.append(f"{rel} imports procert.{imported}")
    assert not violations, violations


def test_demo_data_does_not_depend_on_the_rules():
    """The generated marketplace is made without looking at any program (its data would otherwise be shaped to
    pass or fail); only the scenario, which runs the programs on it like an operator, names them."""
    for path in (SRC / "demo").rglob("*.py"):
        if path.name == "scenario.py":
            continue
        assert not ({"metrics", "programs", "evaluation"} & _imports(path)), path
    assert "evaluation" not in _imports(SRC / "demo" / "scenario.py")


FLOW_LINE = "facts  →  metrics  →  programs  →  evaluation  →  ledger  →  notify  →  benefits  →  web / cli"


def test_the_flow_is_written_the_same_everywhere_and_matches_the_layers():
    root = SRC.parents[1]
    for path in (root / "README.md", SRC / "__init__.py", root / "docs" / "architecture.md"):
        assert FLOW_LINE in path.read_text(encoding="utf-8"), f"{path} does not show the flow as {FLOW_LINE!r}"
    stages = [part.strip() for step in FLOW_LINE.split("→") for part in step.split("/")]
    ordered = sorted((s for s in LAYERS if s in stages), key=lambda s: (LAYERS[s], stages.index(s)))
    assert ordered == stages, "LAYERS orders the stages differently from the written flow"
